//! tokio drivers around the sans-IO core (feature `tokio`).
//!
//! CONTRACT (skeleton): public signatures below are what the server, the client
//! library and the examples build against. The driver owner implements them.
//!
//! - [`Client`]: one connection, chosen by URL (`udp://`, `tcp://`, `ws://`,
//!   `wss://host:port/path`), events as an async stream or polled without blocking.
//! - [`Server`]: one sans-IO [`Endpoint`](crate::Endpoint) fed by any number of
//!   listeners of any protocol; the application's [`ServerHandler`] runs inside the
//!   driver task, so relaying a message costs no channel hop.
//! - [`tls`]: certificates, rustls configurations and errors that say what to do.

mod client;
mod server;
pub mod tls;

pub use client::{Client, ClientConfig, ClientEvents, ConnectError};
pub use server::{ListenerConfig, Server, ServerControl, ServerHandler};
