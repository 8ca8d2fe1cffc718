//! The shared encrypted realtime protocol.
//!
//! Layers, bottom up:
//! - [`codec`]: typed values and messages (operation requests, responses,
//!   events, raw voice messages) and their binary encoding.
//! - [`crypto`]: X25519 key agreement and AES-256-GCM per-message sealing.
//! - [`Connection`] / [`Endpoint`]: the sans-IO protocol core — reliable and
//!   unreliable delivery over UDP (channels, sequencing, fragmentation,
//!   ACK/resend, ping, timeouts) and the same message layer over streams.
//! - `runtime` (feature `tokio`): drivers for UDP, TCP, WS and WSS.
//!
//! - [`wire`]: the datagram format (documented at the top of the module).
//!
//! The core never reads the clock: time comes in with every call.
//!
//! # Driving loop
//! Feed every input (`handle_datagram`, `handle_timeout`, `send`, ...), then
//! drain `poll_transmit` until `None`, then `poll_event` until `None`, then
//! re-arm one timer at `poll_timeout`. Time never goes backwards.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Instant;
//! use transport::{Connection, ConnectionEvent, Protocol, SendOptions, TransportConfig};
//!
//! let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
//! socket.connect("127.0.0.1:5055").unwrap();
//! let mut connection = Connection::connect(Instant::now(), Arc::new(TransportConfig::default()), Protocol::Udp, 7);
//! let (mut buf, mut received) = (Vec::new(), [0u8; 2048]);
//! loop {
//!     let now = Instant::now();
//!     while let Some(len) = connection.poll_transmit(now, &mut buf) {
//!         socket.send(&buf[..len]).unwrap();
//!     }
//!     while let Some(event) = connection.poll_event() {
//!         match event {
//!             ConnectionEvent::Connected => {
//!                 connection.send(now, b"hello", SendOptions::RELIABLE).unwrap();
//!             }
//!             ConnectionEvent::Disconnected(_) => return,
//!             _ => {}
//!         }
//!     }
//!     let wait = connection.poll_timeout().map(|t| t.saturating_duration_since(now));
//!     socket.set_read_timeout(wait.filter(|w| !w.is_zero())).unwrap();
//!     match socket.recv(&mut received) {
//!         Ok(len) => connection.handle_datagram(Instant::now(), &received[..len]),
//!         Err(_) => connection.handle_timeout(Instant::now()),
//!     }
//! }
//! ```

pub mod codec;
pub mod config;
pub mod connection;
pub mod crypto;
pub mod endpoint;
pub mod event;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod lb;
mod netsim;
#[cfg(feature = "tokio")]
pub mod runtime;
pub mod stats;
pub mod types;
pub mod wire;

pub use config::{ConfigError, NetworkSimulation, TransportConfig};
pub use connection::{Connection, ConnectionState};
pub use endpoint::{
    Destination, Endpoint, EndpointConfig, EndpointEvent, PeerHandle, PeerInfo, Transmit,
};
pub use event::{ConnectionEvent, DisconnectReason, ReceivedMessage, SendError};
pub use stats::ConnectionStats;
pub use types::{Delivery, Protocol, SendOptions};
