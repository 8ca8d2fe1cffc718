//! Server configuration: plain structs with serde defaults.
//!
//! Every field documents its meaning, default and cost. The embedded default
//! ([`DEFAULT_TOML`]) starts a complete deployment on localhost; the annotated
//! `config/example.toml` documents every key. [`Config::validate`] reports every
//! semantic problem at once, each with its key path and the fix;
//! [`crate::check`] adds the line numbers.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use transport::runtime::tls::ServerTlsSettings;
use transport::Protocol;

/// The embedded default configuration used by `voice-server run` without `--config`.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Photon's default ports: (role, protocol, port), plus this project's
/// TLS-over-TCP (`tls://`) ports, 10000 above the TCP ones (Photon has no
/// TLS-over-TCP listener).
pub const PHOTON_PORTS: &[(Role, Protocol, u16)] = &[
    (Role::Name, Protocol::Udp, 5058),
    (Role::Name, Protocol::Tcp, 4533),
    (Role::Name, Protocol::Ws, 9093),
    (Role::Name, Protocol::Wss, 19093),
    (Role::Name, Protocol::Tls, 14533),
    (Role::Master, Protocol::Udp, 5055),
    (Role::Master, Protocol::Tcp, 4530),
    (Role::Master, Protocol::Ws, 9090),
    (Role::Master, Protocol::Wss, 19090),
    (Role::Master, Protocol::Tls, 14530),
    (Role::Game, Protocol::Udp, 5056),
    (Role::Game, Protocol::Tcp, 4531),
    (Role::Game, Protocol::Ws, 9091),
    (Role::Game, Protocol::Wss, 19091),
    (Role::Game, Protocol::Tls, 14531),
];

/// Photon's default port of a role and protocol.
pub fn default_port(role: Role, protocol: Protocol) -> u16 {
    PHOTON_PORTS
        .iter()
        .find(|(r, p, _)| *r == role && *p == protocol)
        .map(|(_, _, port)| *port)
        .unwrap_or(0)
}

/// The three server roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Name server: authentication, hands out the master's address and a token.
    Name,
    /// Master server: lobbies, matchmaking, picks a game server.
    Master,
    /// Game server: rooms, events, voice relay.
    Game,
}

impl Role {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Name => "name",
            Role::Master => "master",
            Role::Game => "game",
        }
    }
    /// Default WebSocket path of the role (`/NameServer`, `/Master`, `/Game`).
    pub fn default_ws_path(self) -> &'static str {
        match self {
            Role::Name => "/NameServer",
            Role::Master => "/Master",
            Role::Game => "/Game",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Complete configuration of a deployment (all three roles; a process runs one or all).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Name server.
    pub name: RoleConfig,
    /// Master server.
    pub master: RoleConfig,
    /// Game server.
    pub game: RoleConfig,
    /// Applications served. Empty: any application id and version.
    pub apps: Vec<AppConfig>,
    /// Token settings.
    pub token: TokenConfig,
    /// Custom authentication against an HTTP endpoint. Off by default.
    pub auth: AuthConfig,
    /// Limits against abuse.
    pub limits: LimitsConfig,
    /// Room defaults and bounds.
    pub rooms: RoomsConfig,
    /// Prometheus metrics endpoint. Off by default.
    pub metrics: MetricsConfig,
    /// Game server workers, load reports, and the link to a remote master.
    pub cluster: ClusterConfig,
    /// The voice relay's datagram batching.
    pub relay: RelayConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            name: RoleConfig::photon_default(Role::Name),
            master: RoleConfig::photon_default(Role::Master),
            game: RoleConfig::photon_default(Role::Game),
            apps: Vec::new(),
            token: TokenConfig::default(),
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            rooms: RoomsConfig::default(),
            metrics: MetricsConfig::default(),
            cluster: ClusterConfig::default(),
            relay: RelayConfig::default(),
        }
    }
}

/// Settings of one role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    /// Host name or address this role announces to clients (in the addresses the
    /// name server and master hand out). Defaults to `127.0.0.1`: set it to the
    /// public name or address for clients on other machines.
    #[serde(default = "default_public_host")]
    pub public_host: String,
    /// Listeners. Defaults to UDP, TCP, WS and WSS on Photon's ports of the role,
    /// and TLS over TCP on 14533 (name), 14530 (master), 14531 (game); WSS and
    /// TLS only when `certs/server.pem` exists.
    #[serde(default)]
    pub listeners: Vec<ListenerSpec>,
}

fn default_public_host() -> String {
    "127.0.0.1".into()
}

impl RoleConfig {
    /// UDP, TCP, WS and WSS listeners on Photon's ports and a TLS-over-TCP one
    /// (14533, 14530, 14531), binding 0.0.0.0; the WSS and TLS listeners are
    /// skipped when their certificate is missing.
    pub fn photon_default(role: Role) -> Self {
        let all = [
            Protocol::Udp,
            Protocol::Tcp,
            Protocol::Ws,
            Protocol::Wss,
            Protocol::Tls,
        ];
        let listeners = all
            .into_iter()
            .map(|protocol| {
                ListenerSpec::on_every_interface(protocol, default_port(role, protocol))
            })
            .collect();
        Self {
            public_host: default_public_host(),
            listeners,
        }
    }
}

/// A protocol name in the configuration (`udp`, `tcp`, `ws`, `wss`, `tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolName(pub Protocol);

impl Serialize for ProtocolName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.scheme())
    }
}

impl<'de> Deserialize<'de> for ProtocolName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Protocol::from_scheme(&text)
            .map(ProtocolName)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown protocol {text:?}; use \"udp\", \"tcp\", \"ws\", \"wss\" or \"tls\""
                ))
            })
    }
}

/// One listener of a role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerSpec {
    /// `udp`, `tcp`, `ws`, `wss` or `tls` (TCP inside TLS, the same as `tcp`
    /// with `secure = true`). Required.
    pub protocol: ProtocolName,
    /// Address to bind. Defaults to `0.0.0.0` (every interface); `127.0.0.1`
    /// keeps the listener local.
    #[serde(default = "default_bind")]
    pub address: IpAddr,
    /// Port to bind; 0 picks a free port (tests), which is then announced.
    /// Defaults to 0.
    #[serde(default)]
    pub port: u16,
    /// Port announced to clients when it differs from the bound one (port
    /// forwarding, proxies). Defaults to the bound port.
    #[serde(default)]
    pub public_port: Option<u16>,
    /// Wrap the stream in TLS: `ws` + `secure = true` is `wss`, `tcp` +
    /// `secure = true` is `tls` (clients connect with `tls://host:port`). Not
    /// available for `udp` (no DTLS; UDP uses the per-message encryption).
    /// Defaults to false.
    #[serde(default)]
    pub secure: bool,
    /// WebSocket path. Defaults to the role's (`/NameServer`, `/Master`, `/Game`).
    #[serde(default)]
    pub path: Option<String>,
    /// Skip this listener, with a log line, when its certificate file is missing
    /// (used by the embedded default for WSS). Defaults to false: a missing
    /// certificate is an error.
    #[serde(default)]
    pub skip_without_certificate: bool,
    // TLS keys of transport's `ServerTlsSettings`, flattened (secure listeners).
    // Each is optional here; absent keys take ServerTlsSettings' defaults.
    /// TLS: folder of the files below, relative to the config file's folder.
    /// Defaults to `certs`.
    #[serde(default)]
    pub certificate_path: Option<String>,
    /// TLS: certificate chain (PEM), holding the key too unless `key` is set.
    /// Defaults to `server.pem` (what `voice-server gen-cert` writes).
    #[serde(default)]
    pub certificate: Option<String>,
    /// TLS: separate private key file (PEM). Defaults to none.
    #[serde(default)]
    pub key: Option<String>,
    /// TLS: password of an encrypted PKCS#8 key. Defaults to none.
    #[serde(default)]
    pub password: Option<String>,
    /// TLS: extra CA certificates appended to the chain. Defaults to `root.pem` (skipped if missing).
    #[serde(default)]
    pub root_certificates: Option<String>,
    /// TLS: lowest version, `TLS12` or `TLS13`. Defaults to `TLS12`.
    #[serde(default)]
    pub min_protocol_version: Option<String>,
    /// TLS: highest version. Defaults to none (TLS 1.3).
    #[serde(default)]
    pub max_protocol_version: Option<String>,
    /// TLS: cipher suites (rustls names) or `DEFAULT`. Defaults to `DEFAULT`.
    #[serde(default)]
    pub cipher_list: Option<String>,
    /// TLS: one certificate per domain (SNI): tables with `domain`, `certificate`,
    /// `key`, `password`. Defaults to none.
    #[serde(default)]
    pub certificates: Option<Vec<toml::Table>>,
    /// TLS: domain served to clients without SNI (required with `certificates`).
    #[serde(default)]
    pub default_domain: Option<String>,
}

fn default_bind() -> IpAddr {
    IpAddr::from([0, 0, 0, 0])
}

impl ListenerSpec {
    /// A listener of `protocol` on `0.0.0.0:port` with every other key at its
    /// default; secure protocols are skipped while their certificate is missing.
    pub fn on_every_interface(protocol: Protocol, port: u16) -> Self {
        ListenerSpec {
            protocol: ProtocolName(protocol),
            address: IpAddr::from([0, 0, 0, 0]),
            port,
            public_port: None,
            secure: false,
            path: None,
            skip_without_certificate: protocol.is_secure(),
            certificate_path: None,
            certificate: None,
            key: None,
            password: None,
            root_certificates: None,
            min_protocol_version: None,
            max_protocol_version: None,
            cipher_list: None,
            certificates: None,
            default_domain: None,
        }
    }

    /// The effective protocol (`ws` + `secure` is `wss`, `tcp` + `secure` is
    /// `tls`; `udp` + `secure` stays `udp` and is refused by validation).
    pub fn effective_protocol(&self) -> Protocol {
        match (self.protocol.0, self.secure) {
            (p @ (Protocol::Ws | Protocol::Tcp), true) => p.with_tls(),
            (p, _) => p,
        }
    }
    /// True if TLS is needed (`wss`, or `tls` = TCP inside TLS).
    pub fn needs_tls(&self) -> bool {
        self.effective_protocol().is_secure()
    }

    /// The TLS-only keys this listener sets (`certificate_path`, `cipher_list`,
    /// `skip_without_certificate`...), in file order: on a listener without TLS
    /// they would be ignored, which validation reports.
    pub fn tls_keys_set(&self) -> Vec<&'static str> {
        let keys = [
            ("skip_without_certificate", self.skip_without_certificate),
            ("certificate_path", self.certificate_path.is_some()),
            ("certificate", self.certificate.is_some()),
            ("key", self.key.is_some()),
            ("password", self.password.is_some()),
            ("root_certificates", self.root_certificates.is_some()),
            ("min_protocol_version", self.min_protocol_version.is_some()),
            ("max_protocol_version", self.max_protocol_version.is_some()),
            ("cipher_list", self.cipher_list.is_some()),
            ("certificates", self.certificates.is_some()),
            ("default_domain", self.default_domain.is_some()),
        ];
        keys.into_iter()
            .filter(|(_, set)| *set)
            .map(|(key, _)| key)
            .collect()
    }

    /// The TLS keys as transport's settings (defaults for absent keys).
    pub fn tls_settings(&self) -> Result<ServerTlsSettings, String> {
        let mut table = toml::Table::new();
        let strings = [
            ("certificate_path", &self.certificate_path),
            ("certificate", &self.certificate),
            ("key", &self.key),
            ("password", &self.password),
            ("root_certificates", &self.root_certificates),
            ("min_protocol_version", &self.min_protocol_version),
            ("max_protocol_version", &self.max_protocol_version),
            ("cipher_list", &self.cipher_list),
            ("default_domain", &self.default_domain),
        ];
        for (k, v) in strings {
            if let Some(v) = v {
                table.insert(k.into(), toml::Value::String(v.clone()));
            }
        }
        if let Some(list) = &self.certificates {
            table.insert(
                "certificates".into(),
                toml::Value::Array(list.iter().cloned().map(toml::Value::Table).collect()),
            );
        }
        ServerTlsSettings::deserialize(toml::Value::Table(table))
            .map_err(|e| e.message().to_owned())
    }

    /// The certificate file this listener would load (single-certificate form),
    /// resolved against the configuration's folder.
    pub fn certificate_file(&self, config_dir: &Path) -> PathBuf {
        let folder = self
            .certificate_path
            .as_deref()
            .unwrap_or("certs")
            .replace("{config_dir}", &config_dir.to_string_lossy());
        let folder = config_dir.join(folder);
        folder.join(self.certificate.as_deref().unwrap_or("server.pem"))
    }
}

/// One application allowed to connect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// Application id clients send. Required.
    pub id: String,
    /// Versions allowed. Empty (the default): any version. Different versions
    /// never meet in the same room or lobby.
    #[serde(default)]
    pub versions: Vec<String>,
}

/// Token settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenConfig {
    /// Secret shared by every server of the deployment; tokens are sealed with a
    /// key derived from it. At least 16 characters. Defaults to empty: a random
    /// secret per process (fine when all roles run in one process).
    pub secret: String,
    /// Token lifetime in seconds. Defaults to 3600 (1 hour, Photon's).
    pub lifetime_secs: u64,
    /// Least time in seconds between two refreshed tokens sent to a client
    /// raising events in a room. Defaults to 300. Cost: one small event.
    pub refresh_interval_secs: u64,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            secret: String::new(),
            lifetime_secs: 3600,
            refresh_interval_secs: 300,
        }
    }
}

/// What to do when the custom authentication endpoint cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum WhenUnavailable {
    /// Refuse the client with CustomAuthenticationFailed (default; safe).
    #[default]
    Reject,
    /// Let the client in with the user id it sent.
    Allow,
}

/// HTTP method of custom authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    /// GET with the client's parameters in the query (default).
    #[default]
    Get,
    /// POST with the client's auth data as a JSON body (query kept).
    Post,
}

/// Custom authentication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `http://host:port/path` of the provider. Empty (the default): off.
    pub url: String,
    /// `get` (default) or `post`.
    pub method: AuthMethod,
    /// `reject` (default) or `allow` when the provider is down or answers garbage.
    pub when_unavailable: WhenUnavailable,
    /// Request timeout in milliseconds. Defaults to 5000.
    pub timeout_ms: u64,
    /// Require every client to use custom authentication (type 0). Defaults to
    /// true when `url` is set.
    pub required: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            method: AuthMethod::Get,
            when_unavailable: WhenUnavailable::Reject,
            timeout_ms: 5000,
            required: true,
        }
    }
}

/// Limits against abuse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Most connected peers per role. Defaults to 10 000. Cost: ~2 KiB each.
    pub max_peers: usize,
    /// Most rooms on the game server. Defaults to 10 000.
    pub max_rooms: usize,
    /// Most actors (active and inactive) per room, and the cap on a room's
    /// MaxPlayers. Defaults to 256.
    pub max_actors_per_room: usize,
    /// Largest message in bytes. Defaults to 512 KiB. Cost: reassembly memory.
    pub max_message_size: usize,
    /// Most bytes of reliable messages waiting for one peer (queued, or sent
    /// and unacknowledged); a peer that falls further behind is disconnected
    /// (status 1030) instead of growing the server's memory. Defaults to
    /// 2 MiB; at least max_message_size. Cost: up to this much per slow peer.
    pub max_reliable_backlog: usize,
    /// Operations (and voice frames) per second per peer, sustained. Defaults to 200.
    pub operations_per_second: u32,
    /// Burst of operations above the sustained rate. Defaults to 400.
    pub operations_burst: u32,
    /// Bytes per second per peer, sustained. Defaults to 262 144 (256 KiB).
    pub bytes_per_second: u32,
    /// Burst of bytes. Defaults to 1 048 576 (1 MiB).
    pub bytes_burst: u32,
    /// Over-limit messages in a row after which the peer is disconnected.
    /// Defaults to 50.
    pub violations_before_disconnect: u32,
    /// Most cached events per room. Defaults to 1000.
    pub max_cached_events: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_peers: 10_000,
            max_rooms: 10_000,
            max_actors_per_room: 256,
            max_message_size: 512 * 1024,
            max_reliable_backlog: 2 * 1024 * 1024,
            operations_per_second: 200,
            operations_burst: 400,
            bytes_per_second: 256 * 1024,
            bytes_burst: 1024 * 1024,
            violations_before_disconnect: 50,
            max_cached_events: 1000,
        }
    }
}

/// Room defaults and bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoomsConfig {
    /// Empty room TTL (ms) when the client asks for none. Defaults to 0 (closed
    /// as soon as the last actor left).
    pub default_empty_room_ttl_ms: u64,
    /// Largest empty room TTL (ms) a client may ask for. Defaults to 300 000 (Photon's cloud cap).
    pub max_empty_room_ttl_ms: u64,
    /// Largest player TTL (ms) a client may ask for; -1 (forever) is capped to it.
    /// Defaults to 300 000.
    pub max_player_ttl_ms: u64,
    /// Interval (ms) of lobby room-list updates and game-server reports.
    /// Defaults to 1000. Cost: one update per interval per lobby when rooms change.
    pub lobby_update_interval_ms: u64,
}

impl Default for RoomsConfig {
    fn default() -> Self {
        Self {
            default_empty_room_ttl_ms: 0,
            max_empty_room_ttl_ms: 300_000,
            max_player_ttl_ms: 300_000,
            lobby_update_interval_ms: 1000,
        }
    }
}

/// Prometheus metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address of the `/metrics` HTTP endpoint, e.g. `127.0.0.1:9100`. Empty
    /// (the default): off.
    pub listen: String,
}

/// One problem found in a configuration: where, what, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `game.listeners[1].port`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

/// Why a configuration could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}; check the path and permissions")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        reason: String,
    },
    /// One or more problems (each with its line when known).
    #[error("{}", format_problems(.0))]
    Invalid(Vec<LocatedProblem>),
}

/// A problem with its line in the file (1-based), when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedProblem {
    /// Line number (1-based), if known.
    pub line: Option<usize>,
    /// The problem.
    pub problem: Problem,
}

impl std::fmt::Display for LocatedProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        write!(
            f,
            "{}: {}; fix: {}",
            self.problem.path, self.problem.message, self.problem.fix
        )
    }
}

fn format_problems(problems: &[LocatedProblem]) -> String {
    let mut out = format!("{} problem(s) in the configuration:", problems.len());
    for p in problems {
        out.push_str("\n  ");
        out.push_str(&p.to_string());
    }
    out
}

impl Config {
    /// The roles in order with their settings.
    pub fn role(&self, role: Role) -> &RoleConfig {
        match role {
            Role::Name => &self.name,
            Role::Master => &self.master,
            Role::Game => &self.game,
        }
    }

    /// Mutable settings of a role.
    pub fn role_mut(&mut self, role: Role) -> &mut RoleConfig {
        match role {
            Role::Name => &mut self.name,
            Role::Master => &mut self.master,
            Role::Game => &mut self.game,
        }
    }

    /// The embedded default configuration.
    pub fn embedded_default() -> Config {
        // The embedded file is tested (`embedded_default_parses`); a failure here
        // is a build defect, not user input.
        toml::from_str(DEFAULT_TOML).expect("embedded default.toml is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_parses_and_uses_photon_ports() {
        let config = Config::embedded_default();
        assert!(
            config.validate(Path::new(".")).is_empty(),
            "{:?}",
            config.validate(Path::new("."))
        );
        for role in [Role::Name, Role::Master, Role::Game] {
            let rc = config.role(role);
            assert_eq!(rc.public_host, "127.0.0.1");
            for protocol in [
                Protocol::Udp,
                Protocol::Tcp,
                Protocol::Ws,
                Protocol::Wss,
                Protocol::Tls,
            ] {
                let l = rc
                    .listeners
                    .iter()
                    .find(|l| l.effective_protocol() == protocol)
                    .unwrap();
                assert_eq!(l.port, default_port(role, protocol), "{role} {protocol}");
                assert_eq!(l.address, IpAddr::from([0, 0, 0, 0]));
                assert_eq!(l.skip_without_certificate, protocol.is_secure());
            }
        }
        assert_eq!(config.token.lifetime_secs, 3600);
        assert!(config.metrics.listen.is_empty());
        let servers: Vec<_> = config
            .cluster
            .listeners
            .iter()
            .map(|l| (l.effective_protocol(), l.port, l.skip_without_certificate))
            .collect();
        assert_eq!(
            servers,
            [
                (Protocol::Tcp, SERVER_LINK_PORT, false),
                (Protocol::Tls, SERVER_LINK_TLS_PORT, true)
            ]
        );
    }

    #[test]
    fn server_to_server_listeners_are_validated_like_the_others() {
        let mut config = Config::default();
        config.cluster.listeners[0].protocol = ProtocolName(Protocol::Udp);
        config.cluster.listeners[1].port = config.master.listeners[1].port; // tls vs master tcp 4530
        let problems = config.validate(Path::new("."));
        let udp = problems
            .iter()
            .find(|p| p.path == "cluster.listeners[0].protocol")
            .expect("udp refused");
        assert!(udp.message.contains("TCP-based"), "{udp:?}");
        assert!(udp.fix.contains("tls"), "{udp:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.path == "cluster.listeners[1].port"),
            "{problems:?}"
        );
        // `listeners = []` is allowed: game servers then link on client listeners.
        let config: Config = toml::from_str("[cluster]\nlisteners = []\n").unwrap();
        assert!(config.cluster.listeners.is_empty());
        assert!(config.validate(Path::new(".")).is_empty());
        let loopback = Config::loopback();
        assert_eq!(loopback.cluster.listeners.len(), 1, "no TLS on loopback");
        assert_eq!(loopback.cluster.listeners[0].port, 0);
    }

    #[test]
    fn struct_default_equals_embedded_default() {
        assert_eq!(Config::default(), Config::embedded_default());
    }

    #[test]
    fn photon_ports() {
        assert_eq!(default_port(Role::Name, Protocol::Udp), 5058);
        assert_eq!(default_port(Role::Master, Protocol::Wss), 19090);
        assert_eq!(default_port(Role::Game, Protocol::Tcp), 4531);
        assert_eq!(default_port(Role::Game, Protocol::Ws), 9091);
        assert_eq!(default_port(Role::Name, Protocol::Tls), 14533);
        assert_eq!(default_port(Role::Master, Protocol::Tls), 14530);
    }

    #[test]
    fn worker_ports_are_checked_against_every_listener() {
        let mut config = Config::default();
        config.cluster.game_workers = 3;
        assert!(
            config.cluster_problems().is_empty(),
            "step 100 is clear of Photon's ports"
        );
        assert_eq!(config.cluster.worker_port(5056, 2), Some(5256));
        assert_eq!(config.cluster.worker_port(0, 2), Some(0));
        config.cluster.worker_port_step = 1;
        // Worker 2's UDP port 5056 + 2 is the name server's 5058.
        let problems = config.cluster_problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "game.listeners[0].port");
        assert!(
            problems[0].message.contains("5058"),
            "{}",
            problems[0].message
        );
        assert!(problems[0].fix.contains("worker_port_step"));
        config.cluster.worker_port_step = 30_000;
        let problems = config.cluster_problems();
        assert!(problems[0].message.contains("above 65535"), "{problems:?}");
        let mut config = Config::default();
        config.cluster.report_interval_ms = 1000;
        config.cluster.game_server_timeout_ms = 1500;
        config.cluster.master_url = "carrier-pigeon://x".into();
        config.relay.flush_window_us = 100_000;
        let paths: Vec<String> = config
            .cluster_problems()
            .into_iter()
            .map(|p| p.path)
            .collect();
        assert_eq!(
            paths,
            [
                "cluster.game_server_timeout_ms",
                "cluster.master_url",
                "relay.flush_window_us"
            ]
        );
        assert!(config
            .validate(Path::new("."))
            .iter()
            .any(|p| p.path == "relay.flush_window_us"));
    }

    #[test]
    fn validate_reports_every_problem() {
        let mut config = Config::default();
        config.token.secret = "short".into();
        config.limits.max_peers = 0;
        config.limits.max_reliable_backlog = config.limits.max_message_size - 1;
        config.metrics.listen = "nonsense".into();
        config.game.listeners[1].port = config.game.listeners[0].port; // tcp vs udp: fine
        config.game.listeners[2].port = config.game.listeners[1].port; // ws vs tcp: clash
        let problems = config.validate(Path::new("."));
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"token.secret"), "{paths:?}");
        assert!(paths.contains(&"limits.max_peers"), "{paths:?}");
        assert!(paths.contains(&"limits.max_reliable_backlog"), "{paths:?}");
        assert!(paths.contains(&"metrics.listen"), "{paths:?}");
        assert!(paths.contains(&"game.listeners[2].port"), "{paths:?}");
        assert!(!paths.contains(&"game.listeners[1].port"), "{paths:?}");
        assert!(problems.iter().all(|p| !p.fix.is_empty()));
    }
}

impl Config {
    /// The embedded default bound to 127.0.0.1 with every port chosen by the
    /// OS (0) and no TLS listeners: a complete deployment for tests and local
    /// experiments that cannot collide with anything else on the machine.
    pub fn loopback() -> Self {
        let mut config = Config::embedded_default();
        for role in [Role::Name, Role::Master, Role::Game] {
            let rc = config.role_mut(role);
            rc.listeners.retain(|l| !l.needs_tls());
            for l in &mut rc.listeners {
                l.address = IpAddr::from([127, 0, 0, 1]);
                l.port = 0;
            }
        }
        let servers = &mut config.cluster.listeners;
        servers.retain(|l| !l.needs_tls());
        for l in servers {
            l.address = IpAddr::from([127, 0, 0, 1]);
            l.port = 0;
        }
        config
    }
}

/// Game server workers, load reports, and the link to a remote master.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// Game server workers in this process. Each worker is a complete game
    /// server on its own thread, with its own sockets, peers and rooms
    /// (nothing shared, so no locks); the master places rooms on the least
    /// loaded. Worker `i` binds every `[[game.listeners]]` port plus
    /// `i × worker_port_step` (port 0 stays 0). Defaults to 0: one per CPU core.
    /// Cost: a thread and a set of sockets each.
    pub game_workers: usize,
    /// Port distance between workers. Defaults to 100 (the second worker's UDP
    /// port is 5156 with Photon's 5056), clear of Photon's other default ports.
    pub worker_port_step: u16,
    /// Interval (ms) of each game server's load report (peers, rooms, CPU) to
    /// the master. Defaults to 1000. Cost: one small message per interval.
    pub report_interval_ms: u64,
    /// The master retires a game server it has not heard from for this long
    /// (ms): no new rooms go to it and its rooms leave the lobbies. Defaults to
    /// 5000. Lower finds a dead server sooner; keep it several report intervals.
    pub game_server_timeout_ms: u64,
    /// The master's server-to-server listeners: game servers in other
    /// processes link here, and nothing else is served (client operations are
    /// refused, the name server never announces them). While any is
    /// configured, the master refuses game server reports on its client
    /// listeners, so a firewall can keep servers' traffic apart. TCP-based
    /// protocols only (`tcp`, `tls`, `ws`, `wss`; `secure = true` makes `tcp`
    /// TLS). Defaults to TCP on 4520 (Photon's game server → master port) and
    /// TLS over TCP on 4521 (only when `certs/server.pem` exists), on 0.0.0.0;
    /// bind them to an internal address where servers have one. An empty list
    /// (`listeners = []`) lets game servers link on the client listeners.
    /// Cost: a socket each.
    #[serde(default = "default_server_listeners")]
    pub listeners: Vec<ListenerSpec>,
    /// For game servers in another process than the master: the master's URL
    /// (`tls://master.example.com:4521`, `tcp://…:4520`, `wss://…/Master`).
    /// Defaults to empty: the `[cluster] listeners` of this configuration
    /// (at the master's `public_host`), TLS first, else the
    /// `[[master.listeners]]`, TLS-TCP first, then TCP, WS, UDP, WSS.
    pub master_url: String,
    /// CA certificate file (PEM) the link trusts for a `tls://` or `wss://`
    /// master (e.g. the `server-ca.pem` of `voice-server gen-cert`), relative
    /// to the configuration's folder. Defaults to empty: the system roots.
    pub master_ca_file: String,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            game_workers: 0,
            worker_port_step: 100,
            report_interval_ms: 1000,
            game_server_timeout_ms: 5000,
            listeners: default_server_listeners(),
            master_url: String::new(),
            master_ca_file: String::new(),
        }
    }
}

/// Photon's game server → master port.
pub const SERVER_LINK_PORT: u16 = 4520;
/// The TLS server-to-server port (TLS over TCP).
pub const SERVER_LINK_TLS_PORT: u16 = 4521;

fn default_server_listeners() -> Vec<ListenerSpec> {
    vec![
        ListenerSpec::on_every_interface(Protocol::Tcp, SERVER_LINK_PORT),
        ListenerSpec::on_every_interface(Protocol::Tls, SERVER_LINK_TLS_PORT),
    ]
}

impl ClusterConfig {
    /// The number of game server workers (0 resolved to the CPU count).
    pub fn worker_count(&self) -> usize {
        match self.game_workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// A port of worker `index` (`None` past 65535).
    pub fn worker_port(&self, port: u16, index: usize) -> Option<u16> {
        if port == 0 {
            return Some(0);
        }
        let port = port as usize + index * self.worker_port_step as usize;
        u16::try_from(port).ok()
    }
}

/// The voice relay's datagram batching.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayConfig {
    /// How long (µs) an unreliable message (a voice frame) may wait for others
    /// bound for the same peer, so that several travel in one datagram. Bounded:
    /// no frame waits longer. Defaults to 0 (send at once).
    /// Cost: adds up to this much latency; saves a datagram (≈3 µs of kernel
    /// time on loopback) per frame it batches.
    pub flush_window_us: u64,
}

impl Config {
    /// Problems of the `[cluster]` and `[relay]` sections, with worker ports
    /// checked against every other listener.
    pub fn cluster_problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut push = |path: &str, message: String, fix: &str| {
            problems.push(Problem {
                path: path.into(),
                message,
                fix: fix.into(),
            })
        };
        let c = &self.cluster;
        let workers = c.worker_count();
        if c.game_workers > 256 {
            push(
                "cluster.game_workers",
                format!("{} workers is more than 256", c.game_workers),
                "use at most one worker per CPU core (0 picks that)",
            );
        }
        if workers > 1 && c.worker_port_step == 0 {
            push(
                "cluster.worker_port_step",
                "is 0 with several workers: they would share ports".into(),
                "use a step above 0 (100 is the default)",
            );
        }
        if c.report_interval_ms == 0 {
            push(
                "cluster.report_interval_ms",
                "is 0".into(),
                "use a value above 0 (1000 is the default)",
            );
        }
        if c.game_server_timeout_ms < 2 * c.report_interval_ms {
            push(
                "cluster.game_server_timeout_ms",
                format!(
                    "{} ms is less than two report intervals: healthy servers would be retired",
                    c.game_server_timeout_ms
                ),
                "use several report intervals (5000 is the default)",
            );
        }
        if !c.master_url.is_empty() && transport::runtime::ServerUrl::parse(&c.master_url).is_err()
        {
            push(
                "cluster.master_url",
                format!("{:?} is not a server URL", c.master_url),
                "write it like tls://master.example.com:4521 or tcp://10.0.0.2:4520",
            );
        }
        if self.relay.flush_window_us > 20_000 {
            push(
                "relay.flush_window_us",
                format!(
                    "{} µs delays every voice frame by up to that",
                    self.relay.flush_window_us
                ),
                "use at most a few hundred µs (0 turns batching off)",
            );
        }
        if workers > 1 && c.worker_port_step > 0 {
            let mut others: Vec<(&str, &ListenerSpec)> = [Role::Name, Role::Master, Role::Game]
                .into_iter()
                .flat_map(|r| self.role(r).listeners.iter().map(move |l| (r.as_str(), l)))
                .collect();
            others.extend(c.listeners.iter().map(|l| ("server-to-server", l)));
            'workers: for index in 1..workers {
                for (i, l) in self.game.listeners.iter().enumerate() {
                    if l.port == 0 {
                        continue;
                    }
                    let at = format!("game.listeners[{i}].port");
                    let Some(port) = c.worker_port(l.port, index) else {
                        push(
                            &at,
                            format!(
                                "worker {index}'s port {} + {index} × {} is above 65535",
                                l.port, c.worker_port_step
                            ),
                            "lower the port, the worker_port_step or cluster.game_workers",
                        );
                        break 'workers;
                    };
                    let datagram = l.effective_protocol() == Protocol::Udp;
                    if let Some((role, other)) = others.iter().find(|(_, o)| {
                        o.port == port && (o.effective_protocol() == Protocol::Udp) == datagram
                    }) {
                        push(&at, format!("game worker {index} would bind port {port}, already used by a {role} {} listener", other.effective_protocol()), "change cluster.worker_port_step (default 100) or the ports, or set cluster.game_workers");
                        break 'workers;
                    }
                }
            }
        }
        problems
    }
}
