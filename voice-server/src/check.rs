//! `check-config`: parse a TOML file and report EVERY problem with its line.
//!
//! serde stops at the first error. To find them all, each parse error's span is
//! mapped to its key path (with toml_edit's spans), recorded with the line in the
//! original file, the offending key is removed, and parsing is retried. Once
//! the file parses, [`Config::validate`]'s semantic problems are located the
//! same way by their key paths.

use crate::config::{Config, ConfigError, LocatedProblem, Problem, Role};
use std::net::IpAddr;
use std::path::Path;
use toml_edit::{ImDocument, Item, Table};
use transport::Protocol;

/// Most parse errors collected before giving up (each costs a re-parse).
const MAX_PARSE_ERRORS: usize = 64;

/// Loads and checks a configuration file.
pub fn load_file(path: &std::path::Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    check_str(&text, dir)
}

/// Parses and checks configuration text: the config, or every problem found.
/// `config_dir` resolves relative certificate paths.
pub fn check_str(text: &str, config_dir: &std::path::Path) -> Result<Config, ConfigError> {
    let original = match ImDocument::parse(text.to_owned()) {
        Ok(doc) => doc,
        Err(e) => {
            let line = e.span().map(|s| line_of(text, s.start));
            return Err(ConfigError::Invalid(vec![LocatedProblem {
                line,
                problem: Problem {
                    path: "(syntax)".into(),
                    message: e.message().trim().to_owned(),
                    fix: "fix the TOML syntax at that line (quotes, brackets, `key = value`)"
                        .into(),
                },
            }]));
        }
    };
    let mut problems = Vec::new();
    let mut removed_paths: Vec<Vec<Segment>> = Vec::new();
    let mut current = text.to_owned();
    let config = loop {
        match toml::from_str::<Config>(&current) {
            Ok(config) => break Some(config),
            Err(e) => {
                let Ok(doc) = ImDocument::parse(current.clone()) else {
                    break None;
                };
                let path = e
                    .span()
                    .and_then(|span| path_at(doc.as_table(), span.start));
                let message = e.message().trim().to_owned();
                let fix = fix_for(&message);
                let line = path.as_ref().and_then(|p| line_of_path(&original, text, p));
                let shown = path
                    .as_ref()
                    .map(|p| join_path(p))
                    .unwrap_or_else(|| "(file)".into());
                // A required key we removed ourselves (its value was wrong) is
                // reported once, not again as missing.
                let consequence = message
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.split('`').next())
                    .zip(path.as_ref())
                    .is_some_and(|(field, p)| {
                        removed_paths
                            .contains(&[p.clone(), vec![Segment::Key(field.to_owned())]].concat())
                    });
                if !consequence {
                    problems.push(LocatedProblem {
                        line,
                        problem: Problem {
                            path: shown,
                            message,
                            fix,
                        },
                    });
                }
                if let Some(p) = &path {
                    removed_paths.push(p.clone());
                }
                let removed = match &path {
                    Some(p) if removed_paths.len() < MAX_PARSE_ERRORS => remove_path(&current, p),
                    _ => None,
                };
                match removed {
                    Some(next) => current = next,
                    None => break None,
                }
            }
        }
    };
    if let Some(config) = &config {
        for problem in config.validate(config_dir) {
            let path = parse_path(&problem.path);
            let line = line_of_path(&original, text, &path);
            problems.push(LocatedProblem { line, problem });
        }
    }
    problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    match config {
        Some(config) if problems.is_empty() => Ok(config),
        _ => Err(ConfigError::Invalid(problems)),
    }
}

impl Config {
    /// Every semantic problem (types and unknown keys are caught while parsing).
    pub fn validate(&self, config_dir: &Path) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut push = |path: String, message: String, fix: &str| {
            problems.push(Problem {
                path,
                message,
                fix: fix.to_owned(),
            })
        };
        let mut bound: Vec<(String, bool, IpAddr, u16)> = Vec::new();
        for role in [Role::Name, Role::Master, Role::Game] {
            if self.role(role).public_host.trim().is_empty() {
                push(
                    format!("{role}.public_host"),
                    "is empty".into(),
                    "set the host name or address clients reach this role at, e.g. \"127.0.0.1\"",
                );
            }
        }
        // (path, listeners, for game servers only)
        let groups = [
            ("name.listeners", &self.name.listeners, false),
            ("master.listeners", &self.master.listeners, false),
            ("game.listeners", &self.game.listeners, false),
            ("cluster.listeners", &self.cluster.listeners, true),
        ];
        for (group, listeners, for_servers) in groups {
            for (i, l) in listeners.iter().enumerate() {
                let at = format!("{group}[{i}]");
                if for_servers && l.protocol.0 == Protocol::Udp {
                    push(
                        format!("{at}.protocol"),
                        "server-to-server listeners are TCP-based: udp is not offered there".into(),
                        "use protocol = \"tls\" (or \"tcp\" on a private network); game servers link with cluster.master_url = \"tls://master:4521\"",
                    );
                }
                if l.secure && l.protocol.0 == Protocol::Udp {
                    push(
                        format!("{at}.secure"),
                        "secure = true is not supported for udp: DTLS is not offered".into(),
                        "remove `secure`: UDP clients encrypt with the protocol's per-message encryption \
                         (establish encryption, then send with encrypt = true); for TLS use protocol = \"tls\" \
                         (TCP) or \"wss\" (WebSocket)",
                    );
                }
                let udp = l.protocol.0 == Protocol::Udp;
                if !(l.needs_tls() || udp && l.secure) {
                    if let Some(key) = l.tls_keys_set().first() {
                        let fix = if udp {
                            "remove the TLS keys: UDP has no TLS (clients use the per-message encryption)"
                        } else {
                            "set `secure = true` (tcp becomes tls://, ws becomes wss://), or remove the TLS keys"
                        };
                        push(
                            format!("{at}.{key}"),
                            format!(
                                "`{key}` is a TLS setting, but this {} listener has no TLS: it would be ignored",
                                l.protocol.0
                            ),
                            fix,
                        );
                    }
                }
                if let Some(path) = &l.path {
                    if !path.starts_with('/') {
                        push(
                            format!("{at}.path"),
                            format!("{path:?} does not start with '/'"),
                            "write the path like \"/Master\"",
                        );
                    }
                    if !matches!(l.effective_protocol(), Protocol::Ws | Protocol::Wss) {
                        push(
                            format!("{at}.path"),
                            "a path only applies to ws/wss listeners".into(),
                            "remove `path` or change the protocol",
                        );
                    }
                }
                if l.port != 0 {
                    let datagram = l.effective_protocol() == Protocol::Udp;
                    for (other, other_dgram, addr, port) in &bound {
                        let overlap = *addr == l.address
                            || addr.is_unspecified()
                            || l.address.is_unspecified();
                        if *port == l.port && *other_dgram == datagram && overlap {
                            push(
                                format!("{at}.port"),
                                format!("port {} is already used by {other}", l.port),
                                "give every listener of the same kind (udp or stream) its own port",
                            );
                        }
                    }
                    bound.push((at.clone(), datagram, l.address, l.port));
                }
                if l.needs_tls() {
                    if let Err(e) = l.tls_settings() {
                        push(
                            at.clone(),
                            format!("TLS settings: {e}"),
                            "correct the TLS keys (config/example.toml lists them)",
                        );
                    }
                    let file = l.certificate_file(config_dir);
                    if !l.skip_without_certificate && l.certificates.is_none() && !file.exists() {
                        push(format!("{at}.certificate"), format!("certificate file {} does not exist", file.display()), "run `voice-server gen-cert` (self-signed, for development) or point certificate_path/certificate at your certificate");
                    }
                }
            }
        }
        if self.name.listeners.is_empty()
            && self.master.listeners.is_empty()
            && self.game.listeners.is_empty()
        {
            push("listeners".into(), "no role has a listener".into(), "add [[name.listeners]], [[master.listeners]] and [[game.listeners]] tables, or remove them all to get Photon's defaults");
        }
        for (i, app) in self.apps.iter().enumerate() {
            if app.id.trim().is_empty() {
                push(
                    format!("apps[{i}].id"),
                    "is empty".into(),
                    "set the application id clients send",
                );
            }
        }
        if !self.token.secret.is_empty() && self.token.secret.len() < 16 {
            push(
                "token.secret".into(),
                format!(
                    "is {} characters long; at least 16 are needed",
                    self.token.secret.len()
                ),
                "use a long random string, e.g. the output of `openssl rand -hex 32`",
            );
        }
        if self.token.lifetime_secs < 60 {
            push(
                "token.lifetime_secs".into(),
                format!("{} s is too short", self.token.lifetime_secs),
                "use at least 60 (3600 is the default)",
            );
        }
        if self.token.refresh_interval_secs == 0
            || self.token.refresh_interval_secs >= self.token.lifetime_secs
        {
            push(
                "token.refresh_interval_secs".into(),
                "must be above 0 and below lifetime_secs".into(),
                "use 300 (the default)",
            );
        }
        if !self.auth.url.is_empty() && !self.auth.url.starts_with("http://") {
            push("auth.url".into(), format!("{:?} is not an http:// URL", self.auth.url), "use http://host:port/path (put a TLS-terminating proxy in front of an https provider)");
        }
        if self.auth.timeout_ms == 0 {
            push(
                "auth.timeout_ms".into(),
                "is 0".into(),
                "use a timeout above 0 (5000 is the default)",
            );
        }
        let l = &self.limits;
        for (key, value) in [
            ("max_peers", l.max_peers as u64),
            ("max_rooms", l.max_rooms as u64),
            ("max_actors_per_room", l.max_actors_per_room as u64),
            ("operations_per_second", l.operations_per_second.into()),
            ("operations_burst", l.operations_burst.into()),
            ("bytes_per_second", l.bytes_per_second.into()),
            ("bytes_burst", l.bytes_burst.into()),
        ] {
            if value == 0 {
                push(
                    format!("limits.{key}"),
                    "is 0, which refuses everything".into(),
                    "use a value above 0 (see example.toml for the default)",
                );
            }
        }
        if l.max_message_size < 1024 {
            push(
                "limits.max_message_size".into(),
                format!("{} bytes is too small", l.max_message_size),
                "use at least 1024 (524288 is the default)",
            );
        }
        if l.max_reliable_backlog < l.max_message_size {
            push(
                "limits.max_reliable_backlog".into(),
                "is smaller than max_message_size: a maximum-size reliable message would disconnect its receiver".into(),
                "raise max_reliable_backlog to at least max_message_size (2097152 is the default)",
            );
        }
        if (l.bytes_burst as usize) < l.max_message_size.min(u32::MAX as usize)
            && l.bytes_burst != 0
        {
            push(
                "limits.bytes_burst".into(),
                "is smaller than max_message_size: a maximum-size message could never pass".into(),
                "raise bytes_burst to at least max_message_size",
            );
        }
        if self.rooms.lobby_update_interval_ms == 0 {
            push(
                "rooms.lobby_update_interval_ms".into(),
                "is 0".into(),
                "use a value above 0 (1000 is the default)",
            );
        }
        if !self.metrics.listen.is_empty()
            && self.metrics.listen.parse::<std::net::SocketAddr>().is_err()
        {
            push(
                "metrics.listen".into(),
                format!("{:?} is not an address:port", self.metrics.listen),
                "write it like \"127.0.0.1:9100\", or leave it empty to turn metrics off",
            );
        }
        problems.extend(self.cluster_problems());
        problems
    }
}

/// A key path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

fn join_path(path: &[Segment]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Parses `a.b[2].c` into segments.
fn parse_path(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    for part in text.split('.') {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            out.push(Segment::Key(rest[..open].to_owned()));
            rest = &rest[open..];
            while let Some(close) = rest.find(']') {
                if let Ok(i) = rest[1..close].parse() {
                    out.push(Segment::Index(i));
                }
                rest = &rest[close + 1..];
            }
        } else {
            out.push(Segment::Key(rest.to_owned()));
        }
    }
    out
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn contains(span: Option<std::ops::Range<usize>>, at: usize) -> bool {
    span.is_some_and(|s| s.start <= at && at < s.end.max(s.start + 1))
}

/// The deepest key path whose key or value span contains `at`.
fn path_at(table: &Table, at: usize) -> Option<Vec<Segment>> {
    for (key, item) in table.iter() {
        let key_span = table.key(key).and_then(|k| k.span());
        let here = vec![Segment::Key(key.to_owned())];
        if let Some(deeper) = item_path_at(item, at) {
            return Some([here, deeper].concat());
        }
        if contains(key_span, at) || contains(item.span(), at) {
            return Some(here);
        }
    }
    None
}

fn item_path_at(item: &Item, at: usize) -> Option<Vec<Segment>> {
    match item {
        Item::Table(t) => path_at(t, at),
        Item::ArrayOfTables(array) => array.iter().enumerate().find_map(|(i, t)| {
            let inner = path_at(t, at);
            match inner {
                Some(p) => Some([vec![Segment::Index(i)], p].concat()),
                None if contains(t.span(), at) => Some(vec![Segment::Index(i)]),
                None => None,
            }
        }),
        Item::Value(toml_edit::Value::InlineTable(t)) => {
            for (key, value) in t.iter() {
                if contains(t.key(key).and_then(|k| k.span()), at) || contains(value.span(), at) {
                    return Some(vec![Segment::Key(key.to_owned())]);
                }
            }
            None
        }
        Item::Value(toml_edit::Value::Array(a)) => a
            .iter()
            .position(|v| contains(v.span(), at))
            .map(|i| vec![Segment::Index(i)]),
        _ => None,
    }
}

/// The line of a key path in the original document (the key's line, or the
/// closest existing parent's).
fn line_of_path(doc: &ImDocument<String>, text: &str, path: &[Segment]) -> Option<usize> {
    let mut best: Option<usize> = None;
    let mut item: Option<&Item> = None;
    let mut table: Option<&Table> = Some(doc.as_table());
    for seg in path {
        match seg {
            Segment::Key(k) => {
                let inner = match item {
                    Some(Item::Table(t)) => Some(t),
                    None => table,
                    _ => None,
                };
                let Some(t) = inner else { break };
                let Some((key, next)) = t.get_key_value(k) else {
                    if let Some(s) = t.span() {
                        best = Some(line_of(text, s.start));
                    }
                    break;
                };
                if let Some(s) = key.span().or_else(|| next.span()) {
                    best = Some(line_of(text, s.start));
                }
                item = Some(next);
                table = None;
            }
            Segment::Index(i) => match item {
                Some(Item::ArrayOfTables(a)) => {
                    let Some(t) = a.get(*i) else { break };
                    if let Some(s) = t.span() {
                        best = Some(line_of(text, s.start));
                    }
                    table = Some(t);
                    item = None;
                }
                _ => break,
            },
        }
    }
    best
}

/// The document text with the item at `path` removed, or `None` if not found.
fn remove_path(text: &str, path: &[Segment]) -> Option<String> {
    let mut doc: toml_edit::DocumentMut = text.parse().ok()?;
    remove_at(doc.as_item_mut(), path)?;
    Some(doc.to_string())
}

fn remove_at(item: &mut Item, path: &[Segment]) -> Option<()> {
    match (item, path) {
        (_, []) => None,
        (Item::Table(t), [Segment::Key(k)]) => t.remove(k).map(|_| ()),
        (Item::Table(t), [Segment::Key(k), rest @ ..]) => remove_at(t.get_mut(k)?, rest),
        (Item::ArrayOfTables(a), [Segment::Index(i)]) if *i < a.len() => {
            a.remove(*i);
            Some(())
        }
        (Item::ArrayOfTables(a), [Segment::Index(i), Segment::Key(k), rest @ ..]) => {
            let t = a.get_mut(*i)?;
            if rest.is_empty() {
                t.remove(k).map(|_| ())
            } else {
                remove_at(t.get_mut(k)?, rest)
            }
        }
        (Item::Value(toml_edit::Value::InlineTable(t)), [Segment::Key(k)]) => {
            t.remove(k).map(|_| ())
        }
        (Item::Value(toml_edit::Value::Array(a)), [Segment::Index(i)]) if *i < a.len() => {
            a.remove(*i);
            Some(())
        }
        _ => None,
    }
}

fn fix_for(message: &str) -> String {
    if message.starts_with("unknown field") {
        "remove the key or correct its spelling (config/example.toml lists every key)".into()
    } else if message.starts_with("invalid type") {
        "give the value the expected type (config/example.toml shows each key's type)".into()
    } else if message.starts_with("unknown variant") || message.contains("unknown protocol") {
        "use one of the listed values".into()
    } else if message.starts_with("missing field") {
        "add the required key".into()
    } else if message.contains("invalid IP address") || message.contains("invalid socket address") {
        "write an IP address such as \"0.0.0.0\" or \"127.0.0.1\"".into()
    } else {
        "correct the value (config/example.toml documents every key)".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<LocatedProblem> {
        match check_str(text, std::path::Path::new(".")) {
            Ok(_) => Vec::new(),
            Err(ConfigError::Invalid(p)) => p,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn example_file_is_valid_except_missing_certificates_are_skipped() {
        let text = include_str!("../config/example.toml");
        let config = check_str(text, std::path::Path::new(".")).unwrap();
        assert_eq!(config.apps[0].id, "my-voice-app");
    }

    #[test]
    fn reports_several_problems_with_lines() {
        let text = "\
[token]
secret = \"short\"
lifetime_secs = \"an hour\"

[limits]
max_peers = 0
bogus_key = 1

[[game.listeners]]
protocol = \"udp\"
port = 70000

[[game.listeners]]
protocol = \"smoke\"
port = 1
";
        let found = problems(text);
        let lines: Vec<(Option<usize>, String)> = found
            .iter()
            .map(|p| (p.line, p.problem.path.clone()))
            .collect();
        assert!(
            lines.contains(&(Some(3), "token.lifetime_secs".into())),
            "{lines:?}"
        );
        assert!(
            lines.contains(&(Some(7), "limits.bogus_key".into())),
            "{lines:?}"
        );
        assert!(
            lines.contains(&(Some(11), "game.listeners[0].port".into())),
            "{lines:?}"
        );
        assert!(
            lines.contains(&(Some(14), "game.listeners[1].protocol".into())),
            "{lines:?}"
        );
        // Semantic problems found once the rest parses:
        assert!(
            lines.contains(&(Some(2), "token.secret".into())),
            "{lines:?}"
        );
        assert!(
            lines.contains(&(Some(6), "limits.max_peers".into())),
            "{lines:?}"
        );
        for p in &found {
            assert!(!p.problem.fix.is_empty());
            assert!(p.to_string().contains("fix:"));
        }
    }

    #[test]
    fn secure_tcp_is_tls_and_secure_udp_or_stray_tls_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let text = "\
[[name.listeners]]
protocol = \"tcp\"
secure = true
skip_without_certificate = true

[[name.listeners]]
protocol = \"udp\"
secure = true

[[name.listeners]]
protocol = \"tcp\"
port = 4533
cipher_list = \"DEFAULT\"
";
        let found = match check_str(text, dir.path()) {
            Err(ConfigError::Invalid(found)) => found,
            other => panic!("{other:?}"),
        };
        let paths: Vec<(Option<usize>, &str)> = found
            .iter()
            .map(|p| (p.line, p.problem.path.as_str()))
            .collect();
        assert_eq!(
            paths,
            [
                (Some(8), "name.listeners[1].secure"),
                (Some(13), "name.listeners[2].cipher_list")
            ],
            "{found:?}"
        );
        assert!(found[0].problem.message.contains("DTLS is not offered"));
        assert!(found[1].problem.fix.contains("secure = true"));
        let config = check_str(
            "[[name.listeners]]\nprotocol = \"tcp\"\nsecure = true\nskip_without_certificate = true\n",
            dir.path(),
        )
        .unwrap();
        assert_eq!(config.name.listeners[0].effective_protocol(), Protocol::Tls);
    }

    #[test]
    fn syntax_error_has_a_line() {
        let found = problems("[token]\nsecret = \"unterminated\n");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, Some(2));
    }

    #[test]
    fn path_round_trip() {
        let p = parse_path("game.listeners[2].port");
        assert_eq!(join_path(&p), "game.listeners[2].port");
    }
}
