//! The client: one connection chosen by URL, driven by one task.
//!
//! [`Client::connect`] resolves the host, opens the link (UDP socket, TCP stream,
//! WebSocket upgrade, TLS for WSS and `tls://`), runs the protocol handshake and returns once
//! `Connected` happened; `Connected` is also the first event on [`ClientEvents`].
//! Afterwards one driver task (see `client_driver`) feeds the [`Connection`],
//! writes its transmits, re-arms its timer and forwards its events. Nothing in
//! [`Client`] blocks: sends go through a bounded channel to that task.

use super::client_driver::{ClientDriver, ClientLink, Command, Shared};
use super::stream::{spawn_link, FirstBytes, StreamLink, FRAME_HEADER_ALLOWANCE};
use super::tls::ClientTlsConfig;
use super::url::ServerUrl;
use super::ws;
use crate::config::{ConfigError, TransportConfig};
use crate::connection::Connection;
use crate::event::{ConnectionEvent, DisconnectReason, SendError};
use crate::stats::ConnectionStats;
use crate::types::{Protocol, SendOptions};
use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Protocol settings. Defaults to [`TransportConfig::default`].
    pub transport: Arc<TransportConfig>,
    /// TLS trust for `wss://` and `tls://` (system roots, extra CA files or PEM,
    /// pinned SHA-256 fingerprints). Defaults to the system roots.
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
    /// The address is not a `udp|tcp|tls|ws|wss://host:port[/path]` URL.
    #[error("invalid server address {url:?}: {reason}; use udp://host:port, tcp://host:port, tls://host:port, ws://host:port/path or wss://host:port/path")]
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
    #[error("connection to {address} refused: nothing listens on that port; check the port (defaults: name server udp 5058, tcp 4533, ws 9093, wss 19093, tls 14533) and that the server runs")]
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
    /// The server answered the handshake but turned the connection down (full,
    /// or it closed the connection).
    #[error("{address} turned the connection down: {reason}")]
    Rejected {
        /// The address.
        address: SocketAddr,
        /// Why, as far as known.
        reason: String,
    },
    /// The transport settings are invalid.
    #[error("invalid client settings: {0}")]
    Config(#[from] ConfigError),
    /// Any other I/O error.
    #[error("I/O error connecting to {address}: {source}")]
    Io {
        /// The address.
        address: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Commands queued to the driver before `send` reports [`SendError::QueueFull`].
const COMMAND_QUEUE: usize = 4096;

/// Events of one client connection.
///
/// Events queue without bound until read: read them regularly (`recv` in a task,
/// or `try_recv` once per game-loop frame). Dropping this only stops delivery.
#[derive(Debug)]
pub struct ClientEvents {
    events: mpsc::UnboundedReceiver<ConnectionEvent>,
}

impl ClientEvents {
    /// Waits for the next event; `None` after `Disconnected` was delivered.
    pub async fn recv(&mut self) -> Option<ConnectionEvent> {
        self.events.recv().await
    }
    /// The next event if one is ready; never blocks (for game loops).
    pub fn try_recv(&mut self) -> Option<ConnectionEvent> {
        self.events.try_recv().ok()
    }
}

/// A connected client. Cheap to clone; nothing in it blocks the caller.
///
/// When the last clone is dropped the connection is closed gracefully.
#[derive(Debug, Clone)]
pub struct Client {
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
}

impl Client {
    /// Connects to `url` and completes the protocol handshake. Must run inside a
    /// tokio runtime; the driver task is spawned on it.
    pub async fn connect(
        url: &str,
        config: ClientConfig,
    ) -> Result<(Client, ClientEvents), ConnectError> {
        let parsed = ServerUrl::parse(url).map_err(|reason| ConnectError::InvalidUrl {
            url: url.to_string(),
            reason,
        })?;
        config.transport.validate()?;
        let started = tokio::time::Instant::now();
        let deadline = started + config.connect_timeout;
        let resolved =
            tokio::time::timeout_at(deadline, tokio::net::lookup_host(parsed.authority())).await;
        let addresses: Vec<SocketAddr> = match resolved {
            Ok(Ok(addresses)) => addresses.collect(),
            Ok(Err(source)) => {
                return Err(ConnectError::Resolve {
                    host: parsed.host.clone(),
                    source,
                })
            }
            Err(_) => {
                let source =
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "name resolution timed out");
                return Err(ConnectError::Resolve {
                    host: parsed.host.clone(),
                    source,
                });
            }
        };
        if addresses.is_empty() {
            let source = std::io::Error::new(std::io::ErrorKind::NotFound, "no addresses");
            return Err(ConnectError::Resolve {
                host: parsed.host.clone(),
                source,
            });
        }
        let mut last_error = None;
        for address in addresses {
            let heard = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let attempt = connect_to(&parsed, address, &config, heard.clone());
            match tokio::time::timeout_at(deadline, attempt).await {
                Ok(Ok(connected)) => return Ok(connected),
                // Another address of the same name may answer (e.g. ::1, then 127.0.0.1).
                Ok(Err(error @ ConnectError::Refused { .. })) => last_error = Some(error),
                Ok(Err(error)) => return Err(error),
                Err(_) if heard.load(Ordering::Acquire) => {
                    return Err(ConnectError::Protocol {
                        address,
                        reason: format!(
                        "it sent data but did not complete this protocol's handshake within {:?}",
                        config.connect_timeout
                    ),
                    })
                }
                Err(_) => {
                    return Err(ConnectError::Timeout {
                        address,
                        timeout: config.connect_timeout,
                    })
                }
            }
        }
        Err(last_error.expect("at least one address was tried"))
    }

    /// Queues a message.
    ///
    /// Checked here, at once: connected, size, channel, and that `encrypt` is
    /// possible (keys agreed, or WSS/TLS). The driver sends it on its next turn.
    pub fn send(&self, payload: Bytes, options: SendOptions) -> Result<(), SendError> {
        let shared = &self.shared;
        if !shared.connected.load(Ordering::Acquire) {
            return Err(SendError::NotConnected);
        }
        if payload.len() > shared.max_message_size {
            return Err(SendError::TooLarge(payload.len(), shared.max_message_size));
        }
        if options.channel >= shared.channel_count {
            return Err(SendError::NoSuchChannel(
                options.channel,
                shared.channel_count,
            ));
        }
        if options.encrypt
            && !shared.protocol.is_secure()
            && !shared.encryption.load(Ordering::Acquire)
        {
            return Err(SendError::EncryptionNotEstablished);
        }
        self.commands
            .try_send(Command::Send(payload, options))
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => SendError::QueueFull,
                mpsc::error::TrySendError::Closed(_) => SendError::NotConnected,
            })
    }
    /// Starts the key exchange (no-op success over WSS and TLS).
    pub fn establish_encryption(&self) {
        self.shared.establish.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
    /// True once encrypted sends are possible.
    pub fn is_encryption_established(&self) -> bool {
        self.shared.encryption.load(Ordering::Acquire)
    }
    /// A snapshot of the traffic statistics.
    pub fn stats(&self) -> ConnectionStats {
        self.shared
            .stats
            .lock()
            .map(|stats| stats.clone())
            .unwrap_or_default()
    }
    /// The protocol in use.
    pub fn protocol(&self) -> Protocol {
        self.shared.protocol
    }
    /// The server's address.
    pub fn remote_address(&self) -> SocketAddr {
        self.shared.remote
    }
    /// Starts a graceful disconnect.
    pub fn disconnect(&self) {
        self.shared.disconnect.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
    /// True while connected (after `Connected`, before `Disconnected`).
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }
}

/// Aborts the driver task if connecting is abandoned (timeout or error).
struct AbortOnDrop(Option<tokio::task::AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
        }
    }
}

/// Opens the link to one address, then runs the handshake in the driver task.
async fn connect_to(
    url: &ServerUrl,
    address: SocketAddr,
    config: &ClientConfig,
    heard: Arc<std::sync::atomic::AtomicBool>,
) -> Result<(Client, ClientEvents), ConnectError> {
    let frame_limit = config.transport.max_message_size + FRAME_HEADER_ALLOWANCE;
    let io_error = |source: std::io::Error| ConnectError::Io {
        address: address.to_string(),
        source,
    };
    let mut first_bytes = None;
    let link = match url.protocol {
        Protocol::Udp => {
            let local: SocketAddr = if address.is_ipv4() {
                (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
            } else {
                (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
            };
            let socket = UdpSocket::bind(local).await.map_err(io_error)?;
            // A connected socket reports ICMP "port unreachable" as ConnectionRefused.
            socket.connect(address).await.map_err(io_error)?;
            ClientLink::udp(socket)
        }
        Protocol::Tcp | Protocol::Ws | Protocol::Wss | Protocol::Tls => {
            let tcp = match TcpStream::connect(address).await {
                Ok(tcp) => tcp,
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Err(ConnectError::Refused { address })
                }
                Err(error) => return Err(io_error(error)),
            };
            let _ = tcp.set_nodelay(true);
            let ws_error = |reason: String| -> ConnectError {
                ConnectError::WebSocket {
                    url: url.to_string(),
                    reason,
                }
            };
            let stream = match url.protocol {
                Protocol::Ws => {
                    let (tcp, seen) = FirstBytes::new(tcp);
                    let result = ws::connect(Box::new(tcp), &url.to_string(), frame_limit).await;
                    let socket = result.map_err(|reason| {
                        plain_to_tls(url, address, &seen).unwrap_or_else(|| ws_error(reason))
                    })?;
                    StreamLink::WebSocket(socket)
                }
                Protocol::Wss => {
                    let tls = super::tls::connect_stream(
                        &config.tls,
                        url.protocol,
                        &url.host,
                        url.port,
                        // As browsers do: a tls:// port refuses it by ALPN, with a clear error.
                        &["http/1.1"],
                        tcp,
                    )
                    .await?;
                    let socket = ws::connect(Box::new(tls), &url.to_string(), frame_limit)
                        .await
                        .map_err(ws_error)?;
                    StreamLink::WebSocket(socket)
                }
                Protocol::Tls => {
                    let tls = super::tls::connect_stream(
                        &config.tls,
                        url.protocol,
                        &url.host,
                        url.port,
                        &[super::tls::TLS_TCP_ALPN],
                        tcp,
                    )
                    .await?;
                    StreamLink::Framed(Box::new(tls))
                }
                _ => {
                    let (tcp, seen) = FirstBytes::new(tcp);
                    first_bytes = Some(seen);
                    StreamLink::Framed(Box::new(tcp))
                }
            };
            let (inbound_tx, inbound) = mpsc::channel(256);
            let tasks = spawn_link(stream, 0, frame_limit, inbound_tx);
            ClientLink::Stream { tasks, inbound }
        }
    };

    let seed: u64 = rand::random();
    let connection =
        Connection::connect(super::now(), config.transport.clone(), url.protocol, seed);
    let shared = Arc::new(Shared::new(url.protocol, address, &config.transport, heard));
    let (commands, command_rx) = mpsc::channel(COMMAND_QUEUE);
    let (event_tx, events) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = oneshot::channel();
    let driver = ClientDriver::new(
        connection,
        link,
        shared.clone(),
        command_rx,
        event_tx,
        ready_tx,
    );
    let span = tracing::debug_span!("client", remote = %address, protocol = %url.protocol);
    let task = tokio::spawn(tracing::Instrument::instrument(driver.run(), span));
    let guard = AbortOnDrop(Some(task.abort_handle()));
    let outcome = ready_rx.await;
    match outcome {
        Ok(Ok(())) => {
            std::mem::forget(guard);
            Ok((Client { shared, commands }, ClientEvents { events }))
        }
        Ok(Err(reason)) => Err(first_bytes
            .and_then(|seen| plain_to_tls(url, address, &seen))
            .unwrap_or_else(|| {
                handshake_error(url.protocol, address, reason, config.connect_timeout)
            })),
        Err(_) => Err(ConnectError::Protocol {
            address,
            reason: "the connection driver stopped".into(),
        }),
    }
}

/// What the first bytes of a failed plain connection say about the port: TLS
/// (use wss:// or tls://) or HTTP (a web or WebSocket port).
fn plain_to_tls(
    url: &ServerUrl,
    address: SocketAddr,
    seen: &std::sync::Mutex<Vec<u8>>,
) -> Option<ConnectError> {
    let seen = seen.lock().ok()?;
    if super::tls::response_looks_like_tls(&seen) {
        return Some(ConnectError::Tls(
            super::tls::TlsError::PlainClientToTlsPort {
                host: url.host.clone(),
                port: url.port,
                scheme: url.protocol,
            },
        ));
    }
    if seen.starts_with(b"HTTP/") && url.protocol == Protocol::Tcp {
        return Some(ConnectError::Protocol {
            address,
            reason: "it answered with HTTP: this is a web or WebSocket port; connect with \
                     ws://host:port/path (or wss://), or use the server's TCP port"
                .into(),
        });
    }
    None
}

/// Maps a disconnect before `Connected` to a [`ConnectError`].
fn handshake_error(
    protocol: Protocol,
    address: SocketAddr,
    reason: DisconnectReason,
    timeout: Duration,
) -> ConnectError {
    match reason {
        DisconnectReason::Transport(text)
            if protocol == Protocol::Udp && text.contains("refused") =>
        {
            ConnectError::Refused { address }
        }
        DisconnectReason::Transport(text) => ConnectError::Protocol {
            address,
            reason: format!("the connection closed during the handshake: {text}"),
        },
        DisconnectReason::ProtocolViolation(text) => ConnectError::Protocol {
            address,
            reason: text,
        },
        DisconnectReason::Timeout | DisconnectReason::ResendLimit => {
            ConnectError::Timeout { address, timeout }
        }
        DisconnectReason::ServerFull => ConnectError::Rejected {
            address,
            reason: "the server is full (status 1042); try again later or another server".into(),
        },
        DisconnectReason::ConnectFailed(text) => ConnectError::Rejected {
            address,
            reason: text,
        },
        other => ConnectError::Rejected {
            address,
            reason: format!("{other:?}"),
        },
    }
}
