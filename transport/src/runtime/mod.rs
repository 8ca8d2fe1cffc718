//! tokio drivers around the sans-IO core (feature `tokio`).
//!
//! - [`Client`]: one connection, chosen by URL (`udp://`, `tcp://`, `tls://`,
//!   `ws://`, `wss://host:port/path`), events as an async stream or polled
//!   without blocking.
//! - [`Server`]: one sans-IO [`Endpoint`](crate::Endpoint) fed by any number of
//!   listeners of any protocol; the application's [`ServerHandler`] runs inside the
//!   driver task, so relaying a message costs no channel hop. [`ChannelHandler`]
//!   is a ready-made handler for applications that prefer events as a stream.
//! - [`tls`]: certificates, rustls configurations and errors that say what to do
//!   (for `wss://` and `tls://`).
//!
//! Links: UDP uses one socket per endpoint with batched I/O (`quinn-udp`); TCP
//! carries frames prefixed by a `u32` big-endian length, and TLS (`tls://`) the
//! same frames inside TLS; WS/WSS carry one binary WebSocket message per frame.
//!
//! # Tasks
//! - Client: one driver task per connection (plus, for streams, one reader and
//!   one writer task). [`Client`] handles talk to it over a bounded channel.
//! - Server: the task calling [`Server::run`] owns the endpoint and the handler
//!   and receives UDP itself; each stream listener has an accept task, and each
//!   stream a reader task (frames to the driver over one bounded channel) and a
//!   writer task (bounded queue; a full queue disconnects that peer).
//!
//! # Example
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use transport::runtime::{Client, ClientConfig};
//! use transport::{ConnectionEvent, SendOptions};
//! let (client, mut events) = Client::connect("udp://127.0.0.1:5058", ClientConfig::default()).await?;
//! client.send(bytes::Bytes::from_static(b"hello"), SendOptions::RELIABLE)?;
//! client.establish_encryption();
//! while let Some(event) = events.recv().await {
//!     match event {
//!         ConnectionEvent::EncryptionEstablished => {
//!             client.send(bytes::Bytes::from_static(b"secret"), SendOptions::RELIABLE.encrypted(true))?;
//!         }
//!         ConnectionEvent::Message(message) => println!("{:?}", message.payload),
//!         ConnectionEvent::Disconnected(reason) => println!("gone: {reason:?}"),
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```

mod client;
mod client_driver;
mod events;
mod precise_timer;
mod server;
mod server_driver;
pub mod stream;
pub mod tls;
mod udp;
pub mod url;
mod ws;

pub use client::{Client, ClientConfig, ClientEvents, ConnectError};
pub use events::{ChannelHandler, ServerCommand, ServerEvents, ServerHandle};
pub use server::{ListenerConfig, Server, ServerControl, ServerHandler};
pub use url::ServerUrl;

/// The drivers' clock: tokio's, so that tests with a paused runtime clock see
/// the same time in the sans-IO core as in the timers.
pub(crate) fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}
