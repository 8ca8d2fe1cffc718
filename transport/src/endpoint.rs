//! The server side: many connections behind one sans-IO endpoint.
//!
//! UDP datagrams are demultiplexed by connection id; the connect handshake is
//! stateless (a cookie) so that no state is kept, and no answer larger than the
//! request is sent, before the client proves it receives at its address.
//! Stream peers (TCP, WS, WSS) are accepted by the driver and then fed frames.

use crate::config::{TransportConfig, MIN_MTU};
use crate::connection::{Connection, ConnectionState};
use crate::event::{ConnectionEvent, SendError};
use crate::netsim::Simulator;
use crate::stats::ConnectionStats;
use crate::types::{Protocol, SendOptions};
use crate::wire::{self, Reader};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Lifetime of one cookie time bucket; a cookie is valid for one to two buckets.
const COOKIE_BUCKET: Duration = Duration::from_secs(10);
/// Most stateless answers queued; beyond, connect requests are dropped unanswered.
const MAX_STATELESS_QUEUED: usize = 1024;

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
        Self {
            transport: Arc::default(),
            max_peers: 10_000,
            cookie_secret,
            rng_seed: None,
        }
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
    /// The bound address of the listener a stream peer was accepted on (so a
    /// server can give listeners different duties); `None` for UDP peers and
    /// for a client's own connection.
    pub listener: Option<SocketAddr>,
    /// Traffic statistics.
    pub stats: ConnectionStats,
    /// True once encrypted messages can be exchanged.
    pub encryption_established: bool,
}

/// Many connections behind one socket (UDP) and any number of streams.
///
/// # Driving loop
/// Same rules as [`Connection`]: feed inputs (`handle_datagram`,
/// `handle_stream_frame`, `handle_timeout`, `send`, ...), then drain
/// `poll_transmit` until `None` (send each datagram/frame to its
/// [`Destination`]), then `poll_event` until `None`, then re-arm one timer at
/// `poll_timeout`. Time must never go backwards (an earlier `now` counts as the
/// latest one seen). Peers with output wait in a ready queue, so
/// `poll_transmit` never scans idle peers; timers sit in a heap.
///
/// The UDP handshake is stateless until the client echoes a cookie: a flood of
/// CONNECT datagrams from spoofed addresses allocates nothing and every answer
/// is at most as large as the datagram that caused it. A peer is forgotten
/// once it is disconnected and its last datagrams are out.
///
/// A UDP peer is bound to the address it connected from: datagrams carrying
/// its connection id from any other address are dropped (anti-spoofing; NAT
/// rebinding is therefore not followed). The built-in network simulation of
/// `EndpointConfig::transport` applies to UDP datagrams only (a stream cannot
/// lose frames).
pub struct Endpoint {
    config: EndpointConfig,
    epoch: Option<Instant>,
    now: Option<Instant>,
    peers: HashMap<u32, Peer>,
    by_connection_id: HashMap<u32, u32>,
    by_address: HashMap<SocketAddr, u32>,
    /// The listener each stream peer came in on (kept out of `Peer`, which
    /// the relay touches per frame).
    stream_listeners: HashMap<u32, SocketAddr>,
    next_handle: u32,
    ready: VecDeque<u32>,
    timers: BinaryHeap<Reverse<(Instant, u32)>>,
    events: VecDeque<EndpointEvent>,
    stateless: VecDeque<(SocketAddr, [u8; 32], usize)>,
    rng: StdRng,
    simulation: Option<Simulator<Destination, SocketAddr>>,
}

struct Peer {
    /// Boxed: the peer map over-allocates slots (hash tables keep spare
    /// capacity), and a spare slot should cost a pointer, not a connection
    /// (about 4 KB).
    connection: Box<Connection>,
    address: SocketAddr,
    queued: bool,
    armed: Option<Instant>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("peers", &self.peers.len())
            .field("max_peers", &self.config.max_peers)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// A new endpoint.
    pub fn new(config: EndpointConfig) -> Self {
        let rng = match config.rng_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        let simulation = Simulator::new(&config.transport.simulation);
        Self {
            config,
            epoch: None,
            now: None,
            peers: HashMap::new(),
            by_connection_id: HashMap::new(),
            by_address: HashMap::new(),
            stream_listeners: HashMap::new(),
            next_handle: 1,
            ready: VecDeque::new(),
            timers: BinaryHeap::new(),
            events: VecDeque::new(),
            stateless: VecDeque::new(),
            rng,
            simulation,
        }
    }

    fn advance_clock(&mut self, now: Instant) -> Instant {
        let now = match self.now {
            Some(latest) if latest > now => latest,
            _ => now,
        };
        self.now = Some(now);
        self.epoch.get_or_insert(now);
        now
    }

    /// Feeds one UDP datagram.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        let now = self.advance_clock(now);
        match &mut self.simulation {
            Some(simulation) => {
                simulation.push_incoming(now, from, data);
            }
            None => self.receive(now, from, data),
        }
    }

    fn receive(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        let Some(&flags) = data.first() else { return };
        let mut reader = Reader::new(data);
        let _ = reader.u8();
        match flags >> 4 {
            wire::packet::DATA => {
                let Ok(connection_id) = reader.u32() else {
                    return;
                };
                let Some(&handle) = self.by_connection_id.get(&connection_id) else {
                    return;
                };
                let Some(peer) = self.peers.get_mut(&handle) else {
                    return;
                };
                if peer.address != from {
                    return; // spoofed or migrated source: not this peer
                }
                peer.connection.handle_datagram(now, data);
                self.after_input(handle, now, true);
            }
            wire::packet::CONNECT if data.len() >= wire::CONNECT_PADDED_LEN => {
                let Ok((hello, _)) = wire::read_hello(&mut reader, false) else {
                    return;
                };
                if hello.version != wire::PROTOCOL_VERSION {
                    self.refuse(from, hello.nonce, wire::refuse::VERSION);
                } else if self.peers.len() >= self.config.max_peers {
                    self.refuse(from, hello.nonce, wire::refuse::SERVER_FULL);
                } else {
                    let cookie = self.cookie(from, self.bucket(now), hello.nonce);
                    let mut answer = [0u8; 32];
                    answer[0] = wire::packet::COOKIE << 4;
                    answer[1..9].copy_from_slice(&hello.nonce.to_be_bytes());
                    answer[9..9 + wire::COOKIE_LEN].copy_from_slice(&cookie);
                    self.queue_stateless(from, answer, 9 + wire::COOKIE_LEN);
                }
            }
            wire::packet::CONNECT_COOKIE if data.len() >= wire::CONNECT_PADDED_LEN => {
                let Ok((hello, Some(cookie))) = wire::read_hello(&mut reader, true) else {
                    return;
                };
                self.receive_cookie_hello(now, from, hello, cookie);
            }
            _ => {}
        }
    }

    fn receive_cookie_hello(
        &mut self,
        now: Instant,
        from: SocketAddr,
        hello: wire::Hello,
        cookie: [u8; wire::COOKIE_LEN],
    ) {
        if let Some(&handle) = self.by_address.get(&from) {
            if let Some(peer) = self.peers.get_mut(&handle) {
                if peer.connection.client_nonce() == Some(hello.nonce) {
                    // Our ACCEPT was lost: send it again.
                    peer.connection.resend_accept(hello.nonce);
                    self.after_input(handle, now, true);
                    return;
                }
            }
        }
        let bucket = self.bucket(now);
        let valid = [bucket, bucket.wrapping_sub(1)]
            .iter()
            .any(|&b| constant_time_eq(&self.cookie(from, b, hello.nonce), &cookie));
        if !valid {
            self.refuse(from, hello.nonce, wire::refuse::BAD_COOKIE);
            return;
        }
        if hello.version != wire::PROTOCOL_VERSION {
            self.refuse(from, hello.nonce, wire::refuse::VERSION);
            return;
        }
        if hello.channels == 0 || hello.mtu < MIN_MTU || hello.window == 0 {
            self.refuse(from, hello.nonce, wire::refuse::PARAMETERS);
            return;
        }
        if self.peers.len() >= self.config.max_peers {
            self.refuse(from, hello.nonce, wire::refuse::SERVER_FULL);
            return;
        }
        let handle = self.allocate_handle();
        let connection_id = self.allocate_connection_id();
        let epoch = self.epoch.unwrap_or(now);
        let seed = self.rng.next_u64();
        let connection = Connection::accept_udp(
            now,
            self.config.transport.clone(),
            connection_id,
            &hello,
            epoch,
            seed,
        );
        self.peers.insert(
            handle,
            Peer {
                connection: Box::new(connection),
                address: from,
                queued: false,
                armed: None,
            },
        );
        self.by_connection_id.insert(connection_id, handle);
        self.by_address.insert(from, handle);
        self.after_input(handle, now, true);
    }

    fn bucket(&self, now: Instant) -> u64 {
        let epoch = self.epoch.unwrap_or(now);
        now.saturating_duration_since(epoch).as_secs() / COOKIE_BUCKET.as_secs()
    }

    /// HMAC-SHA256(secret, address | bucket | nonce), truncated.
    fn cookie(&self, from: SocketAddr, bucket: u64, nonce: u64) -> [u8; wire::COOKIE_LEN] {
        let mut input = [0u8; 16 + 2 + 8 + 8];
        let ip = match from.ip() {
            std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            std::net::IpAddr::V6(v6) => v6.octets(),
        };
        input[..16].copy_from_slice(&ip);
        input[16..18].copy_from_slice(&from.port().to_be_bytes());
        input[18..26].copy_from_slice(&bucket.to_be_bytes());
        input[26..34].copy_from_slice(&nonce.to_be_bytes());
        let (mac, _) =
            hkdf::Hkdf::<sha2::Sha256>::extract(Some(&self.config.cookie_secret), &input);
        let mut cookie = [0u8; wire::COOKIE_LEN];
        cookie.copy_from_slice(&mac[..wire::COOKIE_LEN]);
        cookie
    }

    fn refuse(&mut self, to: SocketAddr, nonce: u64, reason: u8) {
        let mut answer = [0u8; 32];
        answer[0] = wire::packet::REFUSE << 4;
        answer[1..9].copy_from_slice(&nonce.to_be_bytes());
        answer[9] = reason;
        self.queue_stateless(to, answer, 10);
    }

    fn queue_stateless(&mut self, to: SocketAddr, bytes: [u8; 32], len: usize) {
        if self.stateless.len() < MAX_STATELESS_QUEUED {
            self.stateless.push_back((to, bytes, len));
        }
    }

    fn allocate_handle(&mut self) -> u32 {
        loop {
            let handle = self.next_handle;
            self.next_handle = self.next_handle.wrapping_add(1).max(1);
            if !self.peers.contains_key(&handle) {
                return handle;
            }
        }
    }

    fn allocate_connection_id(&mut self) -> u32 {
        loop {
            let id = self.rng.next_u32();
            if id != 0 && !self.by_connection_id.contains_key(&id) {
                return id;
            }
        }
    }

    /// Collects a peer's events, queues it for transmit, re-arms its timer,
    /// forgets it once finished.
    fn after_input(&mut self, handle: u32, now: Instant, requeue: bool) {
        let Some(peer) = self.peers.get_mut(&handle) else {
            return;
        };
        while let Some(event) = peer.connection.poll_event() {
            self.events.push_back(EndpointEvent {
                peer: PeerHandle(handle),
                event,
            });
        }
        let wants = peer.connection.wants_transmit(now);
        if requeue && wants && !peer.queued {
            peer.queued = true;
            self.ready.push_back(handle);
        }
        let timeout = peer.connection.poll_timeout();
        if timeout != peer.armed {
            peer.armed = timeout;
            if let Some(at) = timeout {
                self.timers.push(Reverse((at, handle)));
            }
        }
        if peer.connection.is_drained() && !wants {
            self.remove(handle);
        }
        if self.timers.len() > 2 * self.peers.len() + 1024 {
            self.timers = self
                .peers
                .iter()
                .filter_map(|(&handle, peer)| peer.armed.map(|at| Reverse((at, handle))))
                .collect();
        }
    }

    fn remove(&mut self, handle: u32) {
        let Some(peer) = self.peers.remove(&handle) else {
            return;
        };
        self.stream_listeners.remove(&handle);
        let id = peer.connection.connection_id();
        if self.by_connection_id.get(&id) == Some(&handle) {
            self.by_connection_id.remove(&id);
        }
        if self.by_address.get(&peer.address) == Some(&handle) {
            self.by_address.remove(&peer.address);
        }
    }

    /// Registers a stream peer whose transport (and TLS) the driver opened on
    /// the listener bound to `listener`. Returns `None` when the endpoint is
    /// full (the driver closes the stream).
    pub fn accept_stream(
        &mut self,
        now: Instant,
        from: SocketAddr,
        listener: SocketAddr,
        protocol: Protocol,
    ) -> Option<PeerHandle> {
        let now = self.advance_clock(now);
        if self.peers.len() >= self.config.max_peers || !protocol.is_stream() {
            return None;
        }
        let handle = self.allocate_handle();
        let connection_id = self.allocate_connection_id();
        let epoch = self.epoch.unwrap_or(now);
        let seed = self.rng.next_u64();
        let connection = Connection::accept_stream(
            now,
            self.config.transport.clone(),
            protocol,
            connection_id,
            epoch,
            seed,
        );
        self.peers.insert(
            handle,
            Peer {
                connection: Box::new(connection),
                address: from,
                queued: false,
                armed: None,
            },
        );
        self.stream_listeners.insert(handle, listener);
        self.after_input(handle, now, true);
        Some(PeerHandle(handle))
    }

    /// Feeds one frame received on a stream peer.
    pub fn handle_stream_frame(&mut self, now: Instant, peer: PeerHandle, data: &[u8]) {
        let now = self.advance_clock(now);
        if let Some(slot) = self.peers.get_mut(&peer.0) {
            slot.connection.handle_datagram(now, data);
            self.after_input(peer.0, now, true);
        }
    }

    /// The stream closed underneath the peer.
    pub fn handle_stream_closed(&mut self, now: Instant, peer: PeerHandle) {
        let now = self.advance_clock(now);
        if let Some(slot) = self.peers.get_mut(&peer.0) {
            slot.connection.handle_transport_closed(now);
            self.after_input(peer.0, now, false);
            self.remove_if_finished(peer.0);
        }
    }

    fn remove_if_finished(&mut self, handle: u32) {
        if self
            .peers
            .get(&handle)
            .is_some_and(|peer| peer.connection.state() == ConnectionState::Disconnected)
        {
            self.remove(handle);
        }
    }

    /// Runs all due timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance_clock(now);
        while let Some((from, bytes)) = self.simulation.as_mut().and_then(|s| s.pop_incoming(now)) {
            self.receive(now, from, &bytes);
            if let Some(simulation) = &mut self.simulation {
                simulation.recycle(bytes);
            }
        }
        while let Some(&Reverse((at, handle))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(peer) = self.peers.get_mut(&handle) else {
                continue;
            };
            if peer.armed != Some(at) {
                continue;
            }
            peer.armed = None;
            peer.connection.handle_timeout(now);
            self.after_input(handle, now, true);
        }
    }

    /// Writes the next datagram/frame into `buf` (cleared first).
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        let now = self.advance_clock(now);
        if self.simulation.is_none() {
            return self.transmit(now, buf);
        }
        while let Some(transmit) = self.transmit(now, buf) {
            let simulation = self.simulation.as_mut().expect("checked above");
            simulation.push_outgoing(now, transmit.destination, &buf[..transmit.size]);
        }
        let simulation = self.simulation.as_mut().expect("checked above");
        let destination = simulation.pop_outgoing(now, buf)?;
        Some(Transmit {
            destination,
            size: buf.len(),
        })
    }

    fn transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        buf.clear();
        if let Some((to, bytes, len)) = self.stateless.pop_front() {
            buf.extend_from_slice(&bytes[..len]);
            return Some(Transmit {
                destination: Destination::Udp(to),
                size: len,
            });
        }
        while let Some(handle) = self.ready.pop_front() {
            let Some(peer) = self.peers.get_mut(&handle) else {
                continue;
            };
            peer.queued = false;
            match peer.connection.poll_transmit(now, buf) {
                Some(size) => {
                    let destination = match peer.connection.protocol() {
                        Protocol::Udp => Destination::Udp(peer.address),
                        _ => Destination::Stream(PeerHandle(handle)),
                    };
                    self.after_input(handle, now, true);
                    return Some(Transmit { destination, size });
                }
                None => self.after_input(handle, now, false),
            }
        }
        None
    }

    /// The next event of any peer.
    pub fn poll_event(&mut self) -> Option<EndpointEvent> {
        self.events.pop_front()
    }

    /// The earliest timer of any peer.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, handle))) = self.timers.peek() {
            if self
                .peers
                .get(&handle)
                .is_some_and(|peer| peer.armed == Some(at))
            {
                break;
            }
            self.timers.pop();
        }
        let peer = self.timers.peek().map(|Reverse((at, _))| *at);
        let simulated = self.simulation.as_ref().and_then(|s| s.next_release());
        match (peer, simulated) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Queues a message to one peer.
    pub fn send(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        payload: &[u8],
        options: SendOptions,
    ) -> Result<(), SendError> {
        self.send_parts(now, peer, &[payload], options)
    }

    /// Queues a message made of parts written back to back (relay fast path: no
    /// allocation for unreliable messages).
    pub fn send_parts(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        parts: &[&[u8]],
        options: SendOptions,
    ) -> Result<(), SendError> {
        let now = self.advance_clock(now);
        let slot = self.peers.get_mut(&peer.0).ok_or(SendError::UnknownPeer)?;
        slot.connection.send_parts(now, parts, options)?;
        if !slot.queued {
            slot.queued = true;
            self.ready.push_back(peer.0);
        }
        if slot.connection.poll_timeout() != slot.armed {
            self.after_input(peer.0, now, true);
        }
        Ok(())
    }

    /// Gracefully disconnects a peer (it is told; `Disconnected(Local)` follows).
    pub fn disconnect(&mut self, now: Instant, peer: PeerHandle) {
        let now = self.advance_clock(now);
        if let Some(slot) = self.peers.get_mut(&peer.0) {
            slot.connection.disconnect(now);
            self.after_input(peer.0, now, true);
        }
    }

    /// Starts the key exchange with a peer (usually the client does this).
    pub fn establish_encryption(&mut self, now: Instant, peer: PeerHandle) {
        let now = self.advance_clock(now);
        if let Some(slot) = self.peers.get_mut(&peer.0) {
            slot.connection.establish_encryption(now);
            self.after_input(peer.0, now, true);
        }
    }

    /// Information about a peer.
    pub fn peer_info(&self, peer: PeerHandle) -> Option<PeerInfo> {
        let slot = self.peers.get(&peer.0)?;
        Some(PeerInfo {
            address: slot.address,
            protocol: slot.connection.protocol(),
            listener: self.stream_listeners.get(&peer.0).copied(),
            stats: slot.connection.stats().clone(),
            encryption_established: slot.connection.is_encryption_established(),
        })
    }

    /// Read access to a peer's connection (negotiated MTU, stats, reassembly memory...).
    pub fn connection(&self, peer: PeerHandle) -> Option<&Connection> {
        self.peers.get(&peer.0).map(|slot| &*slot.connection)
    }

    /// Handles of every peer.
    pub fn peers(&self) -> impl Iterator<Item = PeerHandle> + '_ {
        self.peers.keys().map(|&handle| PeerHandle(handle))
    }

    /// Number of connected peers.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }
}

/// Compares two cookies without an early exit.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
