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
//! The core never reads the clock: time comes in with every call.

pub mod codec;
pub mod config;
pub mod connection;
pub mod crypto;
pub mod endpoint;
pub mod event;
pub mod lb;
pub mod stats;
pub mod types;
pub mod wire;
mod netsim;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
#[cfg(feature = "tokio")]
pub mod runtime;

pub use config::{ConfigError, NetworkSimulation, TransportConfig};
pub use connection::{Connection, ConnectionState};
pub use endpoint::{Destination, Endpoint, EndpointConfig, EndpointEvent, PeerHandle, PeerInfo, Transmit};
pub use event::{ConnectionEvent, DisconnectReason, ReceivedMessage, SendError};
pub use stats::ConnectionStats;
pub use types::{Delivery, Protocol, SendOptions};
