//! One peer-to-peer connection: the sans-IO core.
//!
//! CONTRACT (skeleton): the public signatures below are what drivers, the
//! server and the client build against. The core owner implements them and
//! may add private modules under `connection/`.
//!
//! # Driving a connection
//! Feed inputs (`handle_datagram`, `handle_timeout`, application calls such as
//! `send`), then drain outputs until each returns `None`, in this order:
//! `poll_transmit` (write datagrams/frames to the link), `poll_event`, and last
//! `poll_timeout` (when to call `handle_timeout` next). Time is passed in and
//! must never go backwards; the core never reads the clock.

use crate::config::TransportConfig;
use crate::event::{ConnectionEvent, SendError};
use crate::stats::ConnectionStats;
use crate::types::{Protocol, SendOptions};
use std::sync::Arc;
use std::time::Instant;

/// Lifecycle of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Handshake under way.
    Connecting,
    /// Messages flow.
    Connected,
    /// Graceful disconnect under way.
    Disconnecting,
    /// Ended.
    Disconnected,
}

/// One connection, client or server side, over any protocol.
#[derive(Debug)]
pub struct Connection {
    _private: (),
}

impl Connection {
    /// Starts a client connection over `protocol`. For UDP the first
    /// `poll_transmit` yields the connect request; for stream protocols the
    /// driver has already opened the stream (and TLS for WSS).
    pub fn connect(now: Instant, config: Arc<TransportConfig>, protocol: Protocol, rng_seed: u64) -> Self {
        let _ = (now, config, protocol, rng_seed);
        todo!("core owner")
    }

    /// Feeds one received datagram (UDP) or frame (TCP/WS/WSS).
    pub fn handle_datagram(&mut self, now: Instant, data: &[u8]) {
        let _ = (now, data);
        todo!("core owner")
    }

    /// Runs timers (resends, pings, timeouts, delayed simulated datagrams).
    /// Calling it early is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
        todo!("core owner")
    }

    /// Writes the next datagram or frame into `buf` (cleared first) and returns
    /// its length, or `None` when there is nothing to send now.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<usize> {
        let _ = (now, buf);
        todo!("core owner")
    }

    /// The next status change or message.
    pub fn poll_event(&mut self) -> Option<ConnectionEvent> {
        todo!("core owner")
    }

    /// When `handle_timeout` must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!("core owner")
    }

    /// Queues one message. Never sends a message marked `encrypt` in the clear.
    pub fn send(&mut self, now: Instant, payload: &[u8], options: SendOptions) -> Result<(), SendError> {
        self.send_parts(now, &[payload], options)
    }

    /// Queues one message made of several parts written back to back (the relay
    /// sends `[header, payload]` without concatenating them first).
    pub fn send_parts(&mut self, now: Instant, parts: &[&[u8]], options: SendOptions) -> Result<(), SendError> {
        let _ = (now, parts, options);
        todo!("core owner")
    }

    /// Starts the X25519 key exchange; ends in `EncryptionEstablished` or
    /// `EncryptionFailedToEstablish`. Over WSS it succeeds at once (TLS).
    pub fn establish_encryption(&mut self, now: Instant) {
        let _ = now;
        todo!("core owner")
    }

    /// True once encrypted sends are possible.
    pub fn is_encryption_established(&self) -> bool {
        todo!("core owner")
    }

    /// Starts a graceful disconnect: the peer is told, then `Disconnected(Local)`.
    pub fn disconnect(&mut self, now: Instant) {
        let _ = now;
        todo!("core owner")
    }

    /// The current state.
    pub fn state(&self) -> ConnectionState {
        todo!("core owner")
    }

    /// Traffic statistics.
    pub fn stats(&self) -> &ConnectionStats {
        todo!("core owner")
    }

    /// The server's clock in milliseconds as estimated by this client (time sync),
    /// or `None` before the first sync.
    pub fn server_time_ms(&self, now: Instant) -> Option<u64> {
        let _ = now;
        todo!("core owner")
    }
}
