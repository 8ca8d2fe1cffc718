//! The server side: many connections behind one sans-IO endpoint.
//!
//! CONTRACT (skeleton): public signatures are what drivers and the server
//! build against; the core owner implements them.
//!
//! UDP datagrams are demultiplexed by connection id; the connect handshake is
//! stateless (a cookie) so that no state is kept, and no answer larger than the
//! request is sent, before the client proves it receives at its address.
//! Stream peers (TCP, WS, WSS) are accepted by the driver and then fed frames.

use crate::config::TransportConfig;
use crate::event::{ConnectionEvent, SendError};
use crate::stats::ConnectionStats;
use crate::types::{Protocol, SendOptions};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// Handle of one peer of an [`Endpoint`]. Not reused while the peer exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerHandle(pub u32);

/// Settings of a server endpoint.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Settings applied to every accepted connection.
    pub transport: Arc<TransportConfig>,
    /// Most connected peers; further connects are refused with `ServerFull`.
    /// Defaults to 10 000.
    pub max_peers: usize,
    /// Secret keying the stateless connect cookies. Defaults to random.
    pub cookie_secret: [u8; 32],
    /// Seed for connection ids and key exchanges (tests). Defaults to random.
    pub rng_seed: Option<u64>,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        let mut cookie_secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut cookie_secret);
        Self { transport: Arc::default(), max_peers: 10_000, cookie_secret, rng_seed: None }
    }
}

/// Where a transmit goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// A UDP datagram to this address.
    Udp(SocketAddr),
    /// A frame on this stream peer's connection.
    Stream(PeerHandle),
}

/// One datagram or frame written into the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub destination: Destination,
    /// Bytes written to the buffer.
    pub size: usize,
}

/// Something that happened to one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointEvent {
    /// The peer.
    pub peer: PeerHandle,
    /// What happened (`Connected` first, `Disconnected` last).
    pub event: ConnectionEvent,
}

/// What is known about one peer.
#[derive(Debug, Clone)]
pub struct PeerInfo {
    /// Remote address.
    pub address: SocketAddr,
    /// Transport.
    pub protocol: Protocol,
    /// Traffic statistics.
    pub stats: ConnectionStats,
    /// True once encrypted messages can be exchanged.
    pub encryption_established: bool,
}

/// Many connections behind one socket (UDP) and any number of streams.
#[derive(Debug)]
pub struct Endpoint {
    _private: (),
}

impl Endpoint {
    /// A new endpoint.
    pub fn new(config: EndpointConfig) -> Self {
        let _ = config;
        todo!("core owner")
    }

    /// Feeds one UDP datagram.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        let _ = (now, from, data);
        todo!("core owner")
    }

    /// Registers a stream peer whose transport (and TLS) the driver opened.
    /// Returns `None` when the endpoint is full (the driver closes the stream).
    pub fn accept_stream(&mut self, now: Instant, from: SocketAddr, protocol: Protocol) -> Option<PeerHandle> {
        let _ = (now, from, protocol);
        todo!("core owner")
    }

    /// Feeds one frame received on a stream peer.
    pub fn handle_stream_frame(&mut self, now: Instant, peer: PeerHandle, data: &[u8]) {
        let _ = (now, peer, data);
        todo!("core owner")
    }

    /// The stream closed underneath the peer.
    pub fn handle_stream_closed(&mut self, now: Instant, peer: PeerHandle) {
        let _ = (now, peer);
        todo!("core owner")
    }

    /// Runs all due timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
        todo!("core owner")
    }

    /// Writes the next datagram/frame into `buf` (cleared first).
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        let _ = (now, buf);
        todo!("core owner")
    }

    /// The next event of any peer.
    pub fn poll_event(&mut self) -> Option<EndpointEvent> {
        todo!("core owner")
    }

    /// The earliest timer of any peer.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        todo!("core owner")
    }

    /// Queues a message to one peer.
    pub fn send(&mut self, now: Instant, peer: PeerHandle, payload: &[u8], options: SendOptions) -> Result<(), SendError> {
        self.send_parts(now, peer, &[payload], options)
    }

    /// Queues a message made of parts written back to back (relay fast path: no
    /// allocation for unreliable messages).
    pub fn send_parts(&mut self, now: Instant, peer: PeerHandle, parts: &[&[u8]], options: SendOptions) -> Result<(), SendError> {
        let _ = (now, peer, parts, options);
        todo!("core owner")
    }

    /// Gracefully disconnects a peer (it is told; `Disconnected(Local)` follows).
    pub fn disconnect(&mut self, now: Instant, peer: PeerHandle) {
        let _ = (now, peer);
        todo!("core owner")
    }

    /// Information about a peer.
    pub fn peer_info(&self, peer: PeerHandle) -> Option<PeerInfo> {
        let _ = peer;
        todo!("core owner")
    }

    /// Number of connected peers.
    pub fn peer_count(&self) -> usize {
        todo!("core owner")
    }
}
