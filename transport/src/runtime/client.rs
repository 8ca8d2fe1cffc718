//! The client driver. CONTRACT (skeleton): signatures fixed, bodies by the driver owner.

use super::tls::ClientTlsConfig;
use crate::config::TransportConfig;
use crate::event::{ConnectionEvent, SendError};
use crate::stats::ConnectionStats;
use crate::types::{Protocol, SendOptions};
use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Protocol settings. Defaults to [`TransportConfig::default`].
    pub transport: Arc<TransportConfig>,
    /// TLS trust for `wss://`. Defaults to the system roots.
    pub tls: ClientTlsConfig,
    /// How long connecting (resolve, TCP, TLS, WebSocket upgrade, handshake) may take.
    /// Defaults to 5 s.
    pub connect_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            transport: Arc::default(),
            tls: ClientTlsConfig::default(),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Why connecting failed, worded so that a person can act on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The address is not a `udp|tcp|ws|wss://host:port[/path]` URL.
    #[error("invalid server address {url:?}: {reason}; use udp://host:port, tcp://host:port, ws://host:port/path or wss://host:port/path")]
    InvalidUrl {
        /// What was given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The host name did not resolve.
    #[error("could not resolve {host:?}: {source}; check the name, or add it to /etc/hosts for a development domain")]
    Resolve {
        /// The host.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// Nothing listens there (TCP refused or ICMP port unreachable).
    #[error("connection to {address} refused: nothing listens on that port; check the port (defaults: name server udp 5058, tcp 4533, ws 9093, wss 19093) and that the server runs")]
    Refused {
        /// The address tried.
        address: SocketAddr,
    },
    /// No answer in time.
    #[error("no answer from {address} within {timeout:?}: check the address, port and firewall, or try another protocol")]
    Timeout {
        /// The address tried.
        address: SocketAddr,
        /// The limit.
        timeout: Duration,
    },
    /// TLS failed; the inner error says why and what to do.
    #[error(transparent)]
    Tls(#[from] super::tls::TlsError),
    /// The WebSocket upgrade failed.
    #[error("WebSocket upgrade to {url} failed: {reason}")]
    WebSocket {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The peer answered but not with this protocol's greeting.
    #[error(
        "{address} answered but does not speak this protocol ({reason}); check the port and scheme"
    )]
    Protocol {
        /// The address.
        address: SocketAddr,
        /// Details.
        reason: String,
    },
    /// Any other I/O error.
    #[error("I/O error connecting to {address}: {source}")]
    Io {
        /// The address.
        address: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Events of one client connection.
#[derive(Debug)]
pub struct ClientEvents {
    _private: (),
}

impl ClientEvents {
    /// Waits for the next event; `None` after `Disconnected` was delivered.
    pub async fn recv(&mut self) -> Option<ConnectionEvent> {
        todo!("driver owner")
    }
    /// The next event if one is ready; never blocks (for game loops).
    pub fn try_recv(&mut self) -> Option<ConnectionEvent> {
        todo!("driver owner")
    }
}

/// A connected client. Cheap to clone; nothing in it blocks the caller.
#[derive(Debug, Clone)]
pub struct Client {
    _private: (),
}

impl Client {
    /// Connects to `url` and completes the protocol handshake. Must run inside a
    /// tokio runtime; the driver task is spawned on it.
    pub async fn connect(
        url: &str,
        config: ClientConfig,
    ) -> Result<(Client, ClientEvents), ConnectError> {
        let _ = (url, config);
        todo!("driver owner")
    }
    /// Queues a message.
    pub fn send(&self, payload: Bytes, options: SendOptions) -> Result<(), SendError> {
        let _ = (payload, options);
        todo!("driver owner")
    }
    /// Starts the key exchange (no-op success over WSS).
    pub fn establish_encryption(&self) {
        todo!("driver owner")
    }
    /// True once encrypted sends are possible.
    pub fn is_encryption_established(&self) -> bool {
        todo!("driver owner")
    }
    /// A snapshot of the traffic statistics.
    pub fn stats(&self) -> ConnectionStats {
        todo!("driver owner")
    }
    /// The protocol in use.
    pub fn protocol(&self) -> Protocol {
        todo!("driver owner")
    }
    /// The server's address.
    pub fn remote_address(&self) -> SocketAddr {
        todo!("driver owner")
    }
    /// Starts a graceful disconnect.
    pub fn disconnect(&self) {
        todo!("driver owner")
    }
}
