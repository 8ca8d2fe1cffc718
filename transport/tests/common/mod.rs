//! Deterministic simulated-network harness: one server `Endpoint`, any number
//! of client `Connection`s, a virtual clock and a seeded network emulator
//! (latency, jitter, loss, reordering, duplication). It always steps to the
//! earliest event and never sleeps. Global invariant checked on every
//! datagram: UDP datagrams never exceed the negotiated MTU.
#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use transport::config::TransportConfig;
use transport::{
    Connection, ConnectionEvent, Destination, Endpoint, EndpointConfig, EndpointEvent, Protocol,
};

/// Direction of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Client to server.
    Up,
    /// Server to client.
    Down,
}

/// Emulated link properties (per direction).
#[derive(Debug, Clone, Default)]
pub struct Netem {
    /// Fixed one-way delay.
    pub latency: Duration,
    /// Uniform extra delay 0..=jitter (reorders datagrams).
    pub jitter: Duration,
    /// Drop probability, 0..1.
    pub loss: f64,
    /// Duplicate probability, 0..1.
    pub duplicate: f64,
}

struct Packet {
    at: Instant,
    order: u64,
    dir: Dir,
    client: usize,
    bytes: Vec<u8>,
}

impl PartialEq for Packet {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}
impl Eq for Packet {}
impl PartialOrd for Packet {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Packet {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.order).cmp(&(other.at, other.order))
    }
}

/// One simulated client.
pub struct Client {
    /// The connection under test.
    pub connection: Connection,
    /// Its address as the server sees it.
    pub address: SocketAddr,
    /// Every event it produced, in order.
    pub events: Vec<ConnectionEvent>,
    /// False: its datagrams are not delivered (a peer that stopped answering).
    pub alive: bool,
}

/// Decides the fate of a datagram: `false` drops it. May modify the bytes.
pub type Filter = Box<dyn FnMut(Dir, &mut Vec<u8>) -> bool>;

/// The simulated world.
pub struct Sim {
    /// Virtual clock.
    pub now: Instant,
    /// Clock origin.
    pub start: Instant,
    /// The server.
    pub server: Endpoint,
    /// The server's address.
    pub server_address: SocketAddr,
    /// The clients.
    pub clients: Vec<Client>,
    /// Every server event, in order.
    pub server_events: Vec<EndpointEvent>,
    /// Link client → server.
    pub up: Netem,
    /// Link server → client.
    pub down: Netem,
    /// Every datagram sent (before loss), when `capture` is on.
    pub captured: Vec<(Dir, Vec<u8>)>,
    /// Record datagrams in `captured`.
    pub capture: bool,
    /// Optional hook on every datagram.
    pub filter: Option<Filter>,
    /// Largest datagram allowed (the negotiated MTU; UDP only).
    pub mtu_limit: usize,
    /// Largest datagram seen.
    pub largest_datagram: usize,
    /// Datagrams handed to the emulator.
    pub datagrams: u64,
    server_config: Arc<TransportConfig>,
    rng: ChaCha8Rng,
    queue: BinaryHeap<Reverse<Packet>>,
    order: u64,
    buf: Vec<u8>,
}

impl Sim {
    /// A server with `server_config`, no clients yet, seeded emulator.
    pub fn new(server_config: TransportConfig, seed: u64) -> Self {
        let server_config = Arc::new(server_config);
        let mtu_limit = usize::from(server_config.mtu);
        let endpoint = EndpointConfig {
            transport: server_config.clone(),
            max_peers: 100,
            cookie_secret: [42; 32],
            rng_seed: Some(seed),
        };
        Self::with_endpoint(endpoint, seed, mtu_limit)
    }

    /// A server with a full endpoint configuration.
    pub fn with_endpoint(endpoint: EndpointConfig, seed: u64, mtu_limit: usize) -> Self {
        let start = Instant::now();
        Self {
            now: start,
            start,
            server_config: endpoint.transport.clone(),
            server: Endpoint::new(endpoint),
            server_address: "10.0.0.1:5055".parse().unwrap(),
            clients: Vec::new(),
            server_events: Vec::new(),
            up: Netem::default(),
            down: Netem::default(),
            captured: Vec::new(),
            capture: false,
            filter: None,
            mtu_limit,
            largest_datagram: 0,
            datagrams: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
            queue: BinaryHeap::new(),
            order: 0,
            buf: Vec::new(),
        }
    }

    /// Same emulation both ways.
    pub fn set_link(&mut self, netem: Netem) {
        self.up = netem.clone();
        self.down = netem;
    }

    /// Adds a UDP client (connect starts at once). Returns its index.
    pub fn add_client(&mut self, config: TransportConfig) -> usize {
        let index = self.clients.len();
        self.mtu_limit = self.mtu_limit.min(usize::from(config.mtu));
        let connection = Connection::connect(
            self.now,
            Arc::new(config),
            Protocol::Udp,
            1000 + index as u64,
        );
        let address = SocketAddr::from(([10, 0, 1, index as u8 + 1], 40_000 + index as u16));
        self.clients.push(Client {
            connection,
            address,
            events: Vec::new(),
            alive: true,
        });
        index
    }

    /// Time elapsed since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    fn emit(&mut self, dir: Dir, client: usize, mut bytes: Vec<u8>) {
        if self.capture {
            self.captured.push((dir, bytes.clone()));
        }
        self.datagrams += 1;
        if let Some(filter) = &mut self.filter {
            if !filter(dir, &mut bytes) {
                return;
            }
        }
        let netem = match dir {
            Dir::Up => self.up.clone(),
            Dir::Down => self.down.clone(),
        };
        if netem.loss > 0.0 && self.rng.gen_bool(netem.loss) {
            return;
        }
        let copies = if netem.duplicate > 0.0 && self.rng.gen_bool(netem.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let jitter = if netem.jitter.is_zero() {
                Duration::ZERO
            } else {
                Duration::from_micros(self.rng.gen_range(0..=netem.jitter.as_micros() as u64))
            };
            self.order += 1;
            let at = self.now + netem.latency + jitter;
            self.queue.push(Reverse(Packet {
                at,
                order: self.order,
                dir,
                client,
                bytes: bytes.clone(),
            }));
        }
    }

    fn check_size(&mut self, len: usize) {
        assert!(
            len <= self.mtu_limit,
            "datagram of {len} bytes exceeds the negotiated MTU {}",
            self.mtu_limit
        );
        self.largest_datagram = self.largest_datagram.max(len);
    }

    /// Drains every output of every party (transmits into the emulator, events into the logs).
    pub fn flush(&mut self) {
        let mut buf = std::mem::take(&mut self.buf);
        loop {
            let mut progress = false;
            while let Some(transmit) = self.server.poll_transmit(self.now, &mut buf) {
                progress = true;
                assert_eq!(transmit.size, buf.len());
                self.check_size(transmit.size);
                let Destination::Udp(to) = transmit.destination else {
                    panic!("stream destination in a UDP test")
                };
                if let Some(index) = self.clients.iter().position(|c| c.address == to) {
                    self.emit(Dir::Down, index, buf.clone());
                }
            }
            for index in 0..self.clients.len() {
                while let Some(len) = self.clients[index]
                    .connection
                    .poll_transmit(self.now, &mut buf)
                {
                    progress = true;
                    assert_eq!(len, buf.len());
                    self.check_size(len);
                    if self.clients[index].alive {
                        self.emit(Dir::Up, index, buf.clone());
                    }
                }
                while let Some(event) = self.clients[index].connection.poll_event() {
                    self.clients[index].events.push(event);
                }
            }
            while let Some(event) = self.server.poll_event() {
                self.server_events.push(event);
            }
            if !progress {
                break;
            }
        }
        self.buf = buf;
    }

    /// Earliest pending event of the world.
    pub fn next_event(&mut self) -> Option<Instant> {
        let mut next = self.queue.peek().map(|p| p.0.at);
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n: Instant| n.min(t)));
            }
        };
        consider(self.server.poll_timeout());
        for client in &self.clients {
            if client.alive {
                consider(client.connection.poll_timeout());
            }
        }
        next
    }

    /// Advances to the next event and processes it. False when nothing is left.
    pub fn step(&mut self) -> bool {
        self.step_before(None)
    }

    /// Like [`Sim::step`], but never moves the clock past `limit` (stops there).
    pub fn step_before(&mut self, limit: Option<Instant>) -> bool {
        self.flush();
        let Some(next) = self.next_event() else {
            if let Some(limit) = limit {
                self.now = self.now.max(limit);
            }
            return false;
        };
        if let Some(limit) = limit {
            if next > limit {
                self.now = self.now.max(limit);
                return true;
            }
        }
        if next > self.now {
            self.now = next;
        }
        while self.queue.peek().is_some_and(|p| p.0.at <= self.now) {
            let Reverse(packet) = self.queue.pop().unwrap();
            match packet.dir {
                Dir::Up => {
                    let from = self.clients[packet.client].address;
                    self.server.handle_datagram(self.now, from, &packet.bytes);
                }
                Dir::Down => {
                    let client = &mut self.clients[packet.client];
                    if client.alive {
                        client.connection.handle_datagram(self.now, &packet.bytes);
                    }
                }
            }
        }
        if self.server.poll_timeout().is_some_and(|t| t <= self.now) {
            self.server.handle_timeout(self.now);
        }
        for client in &mut self.clients {
            if client.alive
                && client
                    .connection
                    .poll_timeout()
                    .is_some_and(|t| t <= self.now)
            {
                client.connection.handle_timeout(self.now);
            }
        }
        self.flush();
        true
    }

    /// Steps until `done` holds or `limit` of virtual time passed. Returns `done`'s last value.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Sim) -> bool) -> bool {
        let deadline = self.now + limit;
        for _ in 0..50_000_000u64 {
            if done(self) {
                return true;
            }
            if self.now >= deadline || !self.step_before(Some(deadline)) {
                return done(self);
            }
        }
        panic!("the simulation did not make progress (timer stuck in the past?)");
    }

    /// Runs for `duration` of virtual time.
    pub fn run_for(&mut self, duration: Duration) {
        let deadline = self.now + duration;
        self.run_until(duration, |sim| sim.now >= deadline);
    }

    /// Connects every client; panics if one fails within 10 s of virtual time.
    pub fn connect_all(&mut self) {
        let ok = self.run_until(Duration::from_secs(10), |sim| {
            sim.clients
                .iter()
                .all(|c| c.events.contains(&ConnectionEvent::Connected))
        });
        assert!(
            ok,
            "clients did not connect: {:?}",
            self.clients.iter().map(|c| &c.events).collect::<Vec<_>>()
        );
    }

    /// The handle of the server-side peer of client `index` (by address).
    pub fn server_peer(&self, index: usize) -> transport::PeerHandle {
        let address = self.clients[index].address;
        self.server
            .peers()
            .find(|&peer| {
                self.server
                    .peer_info(peer)
                    .is_some_and(|info| info.address == address)
            })
            .expect("client is connected to the server")
    }

    /// Messages client `index` received, as payloads.
    pub fn client_messages(&self, index: usize) -> Vec<transport::ReceivedMessage> {
        self.clients[index]
            .events
            .iter()
            .filter_map(|e| match e {
                ConnectionEvent::Message(m) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }

    /// Messages the server received from any peer.
    pub fn server_messages(&self) -> Vec<transport::ReceivedMessage> {
        self.server_events
            .iter()
            .filter_map(|e| match &e.event {
                ConnectionEvent::Message(m) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }

    /// Why the server's peers disconnected, in order.
    pub fn server_disconnects(&self) -> Vec<transport::DisconnectReason> {
        self.server_events
            .iter()
            .filter_map(|e| match &e.event {
                ConnectionEvent::Disconnected(reason) => Some(reason.clone()),
                _ => None,
            })
            .collect()
    }

    /// The server config.
    pub fn server_config(&self) -> &TransportConfig {
        &self.server_config
    }
}
