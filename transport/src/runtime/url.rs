//! Server addresses as URLs: `udp://host:port`, `tcp://host:port`,
//! `tls://host:port` (TCP inside TLS), `ws://host:port/path`, `wss://host:port/path`.

use crate::types::Protocol;
use std::fmt;

/// A parsed server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    /// The transport, from the scheme.
    pub protocol: Protocol,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Port (required: there is no default port per scheme).
    pub port: u16,
    /// Path for WebSocket (`/` when none was given); empty for UDP, TCP and TLS.
    pub path: String,
}

impl ServerUrl {
    /// Parses `scheme://host:port[/path]`. The error text says what is wrong.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| "missing scheme (the part before ://)".to_string())?;
        let protocol =
            Protocol::from_scheme(scheme).ok_or_else(|| format!("unknown scheme {scheme:?}"))?;
        let (authority, path) = match rest.find('/') {
            Some(index) => (&rest[..index], &rest[index..]),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err("missing host".into());
        }
        if authority.contains('@') {
            return Err("user names and passwords are not supported in the address".into());
        }
        let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
            let (host, after) = inner
                .split_once(']')
                .ok_or_else(|| "unclosed '[' around an IPv6 address".to_string())?;
            let port = after.strip_prefix(':').ok_or_else(|| {
                "missing port after the IPv6 address (write [::1]:5055)".to_string()
            })?;
            (host, port)
        } else {
            let (host, port) = authority
                .rsplit_once(':')
                .ok_or_else(|| "missing port (write host:port, e.g. localhost:5055)".to_string())?;
            if host.contains(':') {
                return Err("an IPv6 address must be written in brackets, e.g. [::1]:5055".into());
            }
            (host, port)
        };
        if host.is_empty() {
            return Err("missing host".into());
        }
        let port: u16 = port
            .parse()
            .map_err(|_| format!("port {port:?} is not a number from 1 to 65535"))?;
        if port == 0 {
            return Err("port 0 cannot be connected to".into());
        }
        let path = match protocol {
            Protocol::Ws | Protocol::Wss if path.is_empty() => "/".to_string(),
            Protocol::Ws | Protocol::Wss => path.to_string(),
            Protocol::Udp | Protocol::Tcp | Protocol::Tls if path.is_empty() || path == "/" => {
                String::new()
            }
            Protocol::Udp | Protocol::Tcp | Protocol::Tls => {
                return Err(format!(
                    "a path ({path}) is only meaningful for ws:// and wss://"
                ));
            }
        };
        Ok(Self {
            protocol,
            host: host.to_string(),
            port,
            path,
        })
    }

    /// `host:port` with brackets around IPv6 addresses (for resolving and Host headers).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}{}",
            self.protocol.scheme(),
            self.authority(),
            self.path
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_scheme() {
        let cases = [
            ("udp://127.0.0.1:5058", Protocol::Udp, "127.0.0.1", 5058, ""),
            (
                "tcp://example.com:4533",
                Protocol::Tcp,
                "example.com",
                4533,
                "",
            ),
            (
                "TCP://example.com:4533/",
                Protocol::Tcp,
                "example.com",
                4533,
                "",
            ),
            (
                "ws://localhost:9093/Master",
                Protocol::Ws,
                "localhost",
                9093,
                "/Master",
            ),
            ("ws://localhost:9093", Protocol::Ws, "localhost", 9093, "/"),
            (
                "wss://[::1]:19093/Game?x=1",
                Protocol::Wss,
                "::1",
                19093,
                "/Game?x=1",
            ),
            ("udp://[::1]:5055", Protocol::Udp, "::1", 5055, ""),
            (
                "tls://voice.example.test:14533",
                Protocol::Tls,
                "voice.example.test",
                14533,
                "",
            ),
        ];
        for (text, protocol, host, port, path) in cases {
            let url = ServerUrl::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                (url.protocol, url.host.as_str(), url.port, url.path.as_str()),
                (protocol, host, port, path)
            );
        }
    }

    #[test]
    fn rejects_with_reason() {
        let cases = [
            ("localhost:5055", "missing scheme"),
            ("http://localhost:80", "unknown scheme"),
            ("udp://localhost", "missing port"),
            ("udp://:5055", "missing host"),
            ("udp://localhost:70000", "not a number"),
            ("udp://localhost:0", "port 0"),
            ("udp://::1:5055", "brackets"),
            ("udp://[::1:5055", "unclosed"),
            ("tcp://host:1/Master", "only meaningful"),
            ("tls://host:1/Master", "only meaningful"),
            ("ws://user@host:1/", "not supported"),
        ];
        for (text, expected) in cases {
            let error = ServerUrl::parse(text).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn displays_round_trip() {
        for text in [
            "udp://127.0.0.1:5058",
            "wss://[::1]:19093/Game",
            "ws://h:1/",
            "tls://[::1]:14533",
        ] {
            assert_eq!(ServerUrl::parse(text).unwrap().to_string(), text);
        }
    }
}
