//! One peer-to-peer connection: the sans-IO core.
//!
//! The wire format is described in `wire.rs`. Private submodules: `send`
//! (queues, ACK processing, datagram assembly), `recv` (parsing, ordering,
//! delivery), `fragment` (reassembly), `rtt` (resend timeout), `secure`
//! (key exchange).

use crate::config::TransportConfig;
use crate::crypto::{KeyExchange, SessionKeys};
use crate::event::{ConnectionEvent, DisconnectReason, SendError};
use crate::netsim::Simulator;
use crate::stats::ConnectionStats;
use crate::types::{Protocol, SendOptions};
use crate::wire::{self, Hello, Reader};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

mod fragment;
mod handshake;
mod recv;
mod rtt;
mod secure;
mod send;

use fragment::Reassembly;
use recv::RecvChannel;
use rtt::RttEstimator;
use send::{Outbox, SendChannel};

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

/// Which end of the connection this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Server,
}

#[derive(Debug)]
enum Handshake {
    /// UDP client: CONNECT, then CONNECT_COOKIE once a cookie came back.
    ClientUdp {
        nonce: u64,
        cookie: Option<[u8; wire::COOKIE_LEN]>,
        attempts: u32,
        next_send: Instant,
        last_sent: Instant,
    },
    /// Stream client: STREAM_CONNECT sent once.
    ClientStream {
        nonce: u64,
        sent: bool,
        sent_at: Instant,
    },
    /// Server waiting for the stream hello.
    ServerStream,
    /// Server: ACCEPT to (re)send.
    ServerAccept { nonce: u64, send_accept: bool },
    /// Nothing left to do.
    Done,
}

/// Key exchange progress.
#[derive(Debug)]
enum KeyState {
    Idle,
    /// We sent our public key and wait for the answer until `deadline`.
    Initiated {
        exchange: KeyExchange,
        public: [u8; 32],
        deadline: Instant,
    },
    /// We answered; encrypted sends wait until the peer acknowledged the answer.
    AwaitingAck,
    Established,
    Failed,
}

/// One connection, client or server side, over any protocol.
///
/// # Driving loop
/// 1. Feed inputs: [`handle_datagram`](Self::handle_datagram) for every datagram
///    or frame received, [`handle_timeout`](Self::handle_timeout) when the
///    instant from `poll_timeout` is reached, and application calls (`send`,
///    `disconnect`, `establish_encryption`).
/// 2. After every input, drain the outputs until each returns `None`, in this
///    order: [`poll_transmit`](Self::poll_transmit) (send each datagram/frame),
///    [`poll_event`](Self::poll_event), then read [`poll_timeout`](Self::poll_timeout)
///    and re-arm the single timer.
/// 3. Time is passed in and must never go backwards: an earlier `now` than a
///    previous call is treated as the previous one. The core never reads the clock,
///    and calling `handle_timeout` early is harmless.
///
/// Nothing on the network can make these calls panic; malformed datagrams are
/// dropped. After `Disconnected(..)` no further event is produced.
pub struct Connection {
    config: Arc<TransportConfig>,
    protocol: Protocol,
    side: Side,
    state: ConnectionState,
    handshake: Handshake,
    connection_id: u32,
    /// Base of this side's millisecond clock (the endpoint's on a server).
    epoch: Instant,
    /// Latest `now` seen (time never goes backwards).
    now: Instant,
    mtu: u16,
    channel_count: u8,
    window: u16,
    send: Vec<SendChannel>,
    recv: Vec<RecvChannel>,
    next_channel: usize,
    outbox: Outbox,
    resend_timers: BinaryHeap<Reverse<(Instant, u8, u64)>>,
    retransmit: VecDeque<(u8, u64)>,
    reassembly: Reassembly,
    rtt: RttEstimator,
    last_lost_datagram: u64,
    datagram_number: u64,
    last_receive: Instant,
    last_ping: Instant,
    ping_pending: bool,
    ping_clock: u32,
    pong_pending: Option<u32>,
    disconnect_sends: u8,
    /// Why the connection is disconnecting when it was not asked to
    /// (`None`: `disconnect()` was called, the reason is `Local`).
    closing_reason: Option<DisconnectReason>,
    /// Bytes of reliable message payload queued or unacknowledged.
    reliable_backlog: usize,
    /// (local instant, server ms at that instant).
    server_time: Option<(Instant, u64)>,
    keys: Option<SessionKeys>,
    key_state: KeyState,
    peer_sealed_seen: bool,
    events: VecDeque<ConnectionEvent>,
    stats: ConnectionStats,
    timeout: Option<Instant>,
    simulation: Option<Simulator<(), ()>>,
    rng: StdRng,
    scratch: Vec<u8>,
    open_scratch: Vec<u8>,
    sealed_scratch: Vec<u8>,
    /// Next check for idleness (`None`: buffers released, nothing since).
    idle_check_at: Option<Instant>,
    /// Messages sent and received at the last idleness check.
    messages_at_check: u64,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("protocol", &self.protocol)
            .field("side", &self.side)
            .field("state", &self.state)
            .field("connection_id", &self.connection_id)
            .field("mtu", &self.mtu)
            .field("channel_count", &self.channel_count)
            .finish_non_exhaustive()
    }
}

impl Connection {
    fn new(
        now: Instant,
        config: Arc<TransportConfig>,
        protocol: Protocol,
        side: Side,
        seed: u64,
    ) -> Self {
        let channel_count = config.channel_count.max(1);
        let mtu = config.mtu.max(crate::config::MIN_MTU);
        let mut connection = Self {
            protocol,
            side,
            state: ConnectionState::Connecting,
            handshake: Handshake::Done,
            connection_id: 0,
            epoch: now,
            now,
            mtu,
            channel_count,
            window: config.reliable_window.max(1),
            send: Vec::new(),
            recv: Vec::new(),
            next_channel: 0,
            outbox: Outbox::default(),
            resend_timers: BinaryHeap::new(),
            retransmit: VecDeque::new(),
            reassembly: Reassembly::new(config.max_reassembly_bytes),
            rtt: RttEstimator::default(),
            last_lost_datagram: u64::MAX,
            datagram_number: 0,
            last_receive: now,
            last_ping: now,
            ping_pending: false,
            ping_clock: 0,
            pong_pending: None,
            disconnect_sends: 0,
            closing_reason: None,
            reliable_backlog: 0,
            server_time: None,
            keys: None,
            key_state: KeyState::Idle,
            peer_sealed_seen: false,
            events: VecDeque::new(),
            stats: ConnectionStats::default(),
            timeout: None,
            simulation: None,
            rng: StdRng::seed_from_u64(seed),
            scratch: Vec::new(),
            open_scratch: Vec::new(),
            sealed_scratch: Vec::new(),
            idle_check_at: Some(now + config.ping_interval),
            messages_at_check: 0,
            config,
        };
        connection.setup_channels();
        connection
    }

    fn setup_channels(&mut self) {
        self.send = (0..self.channel_count)
            .map(|_| SendChannel::default())
            .collect();
        self.recv = (0..self.channel_count)
            .map(|_| RecvChannel::default())
            .collect();
        self.outbox.budget = self.budget();
    }

    /// Starts a client connection over `protocol`. For UDP the first
    /// `poll_transmit` yields the connect request; for stream protocols the
    /// driver has already opened the stream (and TLS for WSS).
    pub fn connect(
        now: Instant,
        config: Arc<TransportConfig>,
        protocol: Protocol,
        rng_seed: u64,
    ) -> Self {
        let simulation = Simulator::new(&config.simulation);
        let mut connection = Self::new(now, config, protocol, Side::Client, rng_seed);
        connection.simulation = simulation;
        let nonce = connection.rng.next_u64();
        connection.handshake = if protocol.is_stream() {
            Handshake::ClientStream {
                nonce,
                sent: false,
                sent_at: now,
            }
        } else {
            Handshake::ClientUdp {
                nonce,
                cookie: None,
                attempts: 0,
                next_send: now,
                last_sent: now,
            }
        };
        connection.update_timeout();
        connection
    }

    /// Server side of a UDP connection whose cookie verified. The endpoint
    /// applies the network simulation itself, so the connection does not.
    pub(crate) fn accept_udp(
        now: Instant,
        config: Arc<TransportConfig>,
        connection_id: u32,
        hello: &Hello,
        epoch: Instant,
        rng_seed: u64,
    ) -> Self {
        let mut connection = Self::new(now, config, Protocol::Udp, Side::Server, rng_seed);
        connection.epoch = epoch;
        connection.connection_id = connection_id;
        connection.mtu = connection.mtu.min(hello.mtu).max(crate::config::MIN_MTU);
        connection.channel_count = connection.channel_count.min(hello.channels).max(1);
        connection.window = connection.window.min(hello.window).max(1);
        connection.setup_channels();
        connection.handshake = Handshake::ServerAccept {
            nonce: hello.nonce,
            send_accept: true,
        };
        connection.state = ConnectionState::Connected;
        connection.events.push_back(ConnectionEvent::Connected);
        connection.update_timeout();
        connection
    }

    /// Server side of a stream peer; waits for the stream hello.
    pub(crate) fn accept_stream(
        now: Instant,
        config: Arc<TransportConfig>,
        protocol: Protocol,
        connection_id: u32,
        epoch: Instant,
        rng_seed: u64,
    ) -> Self {
        let mut connection = Self::new(now, config, protocol, Side::Server, rng_seed);
        connection.epoch = epoch;
        connection.connection_id = connection_id;
        connection.handshake = Handshake::ServerStream;
        if protocol.is_secure() {
            connection.key_state = KeyState::Established;
        }
        connection.update_timeout();
        connection
    }

    /// Feeds one received datagram (UDP) or frame (TCP/WS/WSS).
    pub fn handle_datagram(&mut self, now: Instant, data: &[u8]) {
        let now = self.advance_clock(now);
        if let Some(simulation) = &mut self.simulation {
            if !simulation.push_incoming(now, (), data) {
                self.stats.simulated_losses += 1;
            }
        } else {
            self.receive(now, data);
        }
        self.update_timeout();
    }

    /// Runs timers (resends, pings, timeouts, delayed simulated datagrams).
    /// Calling it early is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance_clock(now);
        while let Some(((), bytes)) = self.simulation.as_mut().and_then(|s| s.pop_incoming(now)) {
            self.receive(now, &bytes);
            if let Some(simulation) = &mut self.simulation {
                simulation.recycle(bytes);
            }
        }
        self.run_timers(now);
        self.update_timeout();
    }

    /// Writes the next datagram or frame into `buf` (cleared first) and returns
    /// its length, or `None` when there is nothing to send now.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<usize> {
        let now = self.advance_clock(now);
        let result = if self.simulation.is_some() {
            while let Some(len) = self.transmit(now, buf) {
                let simulation = self.simulation.as_mut().expect("checked above");
                if !simulation.push_outgoing(now, (), &buf[..len]) {
                    self.stats.simulated_losses += 1;
                }
            }
            let simulation = self.simulation.as_mut().expect("checked above");
            simulation.pop_outgoing(now, buf).map(|()| buf.len())
        } else {
            self.transmit(now, buf)
        };
        if result.is_none() {
            buf.clear();
        }
        self.update_timeout();
        result
    }

    /// The next status change or message.
    pub fn poll_event(&mut self) -> Option<ConnectionEvent> {
        self.events.pop_front()
    }

    /// When `handle_timeout` must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timeout
    }

    /// Queues one message. Never sends a message marked `encrypt` in the clear.
    pub fn send(
        &mut self,
        now: Instant,
        payload: &[u8],
        options: SendOptions,
    ) -> Result<(), SendError> {
        self.send_parts(now, &[payload], options)
    }

    /// Queues one message made of several parts written back to back (the relay
    /// sends `[header, payload]` without concatenating them first).
    pub fn send_parts(
        &mut self,
        now: Instant,
        parts: &[&[u8]],
        options: SendOptions,
    ) -> Result<(), SendError> {
        let now = self.advance_clock(now);
        let result = self.queue_message(now, parts, options);
        self.update_timeout();
        result
    }

    /// Starts the X25519 key exchange; ends in `EncryptionEstablished` or
    /// `EncryptionFailedToEstablish`. Over WSS it succeeds at once (TLS).
    /// Calling it again while the exchange runs does nothing; once established
    /// it reports `EncryptionEstablished` again; after a failure it retries.
    pub fn establish_encryption(&mut self, now: Instant) {
        let now = self.advance_clock(now);
        self.start_key_exchange(now);
        self.update_timeout();
    }

    /// True once encrypted sends are possible.
    pub fn is_encryption_established(&self) -> bool {
        matches!(self.key_state, KeyState::Established)
    }

    /// Starts a graceful disconnect: the peer is told, then `Disconnected(Local)`.
    pub fn disconnect(&mut self, now: Instant) {
        self.advance_clock(now);
        match self.state {
            ConnectionState::Connected => {
                self.state = ConnectionState::Disconnecting;
                self.disconnect_sends = if self.protocol.is_stream() { 1 } else { 2 };
            }
            ConnectionState::Connecting => self.finish(DisconnectReason::Local),
            ConnectionState::Disconnecting | ConnectionState::Disconnected => {}
        }
        self.update_timeout();
    }

    /// The current state.
    pub fn state(&self) -> ConnectionState {
        self.state
    }

    /// Traffic statistics.
    pub fn stats(&self) -> &ConnectionStats {
        &self.stats
    }

    /// The server's clock in milliseconds as estimated by this client (time sync),
    /// or `None` before the first sync. On a server connection: its own clock.
    pub fn server_time_ms(&self, now: Instant) -> Option<u64> {
        if self.side == Side::Server {
            return Some(self.clock_ms(now));
        }
        let (at, server_ms) = self.server_time?;
        Some(server_ms + now.saturating_duration_since(at).as_millis() as u64)
    }

    /// The negotiated MTU (datagram payload bytes).
    pub fn mtu(&self) -> u16 {
        self.mtu
    }

    /// The negotiated channel count.
    pub fn channel_count(&self) -> u8 {
        self.channel_count
    }

    /// The connection id the server assigned (0 before the handshake completed).
    pub fn connection_id(&self) -> u32 {
        self.connection_id
    }

    /// The transport this connection runs over.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Bytes currently held for incomplete fragmented messages.
    pub fn reassembly_bytes(&self) -> usize {
        self.reassembly.reserved()
    }

    /// Largest message that is sent in one datagram without fragmentation
    /// (unencrypted); larger ones are fragmented and travel reliably.
    pub fn max_unfragmented_payload(&self) -> usize {
        self.budget().saturating_sub(wire::MAX_MESSAGE_HEADER)
    }

    // ----- internals shared by the submodules -----

    fn advance_clock(&mut self, now: Instant) -> Instant {
        if now > self.now {
            self.now = now;
        }
        self.now
    }

    fn clock_ms(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_millis() as u64
    }

    /// Command bytes one datagram carries (worst case: CRC and whole-datagram
    /// sealing as configured).
    fn budget(&self) -> usize {
        let mut budget = usize::from(self.mtu) - wire::DATA_HEADER_LEN;
        if self.config.crc {
            budget -= wire::CRC_LEN;
        }
        if self.config.encrypt_all && !self.protocol.is_secure() {
            budget -= crate::crypto::SEAL_OVERHEAD;
        }
        budget
    }

    /// Ends the connection with `reason` (once).
    fn finish(&mut self, reason: DisconnectReason) {
        if self.state == ConnectionState::Disconnected {
            return;
        }
        self.state = ConnectionState::Disconnected;
        self.handshake = Handshake::Done;
        for channel in &mut self.send {
            *channel = SendChannel::default();
        }
        self.reliable_backlog = 0;
        self.retransmit.clear();
        self.resend_timers.clear();
        self.outbox.clear();
        self.ping_pending = false;
        self.pong_pending = None;
        self.events.push_back(ConnectionEvent::Disconnected(reason));
    }

    /// True when the connection ended and every datagram it owes is out.
    pub(crate) fn is_drained(&self) -> bool {
        let simulation_idle = match &self.simulation {
            Some(simulation) => simulation.next_release().is_none(),
            None => true,
        };
        self.state == ConnectionState::Disconnected && simulation_idle
    }

    /// The stream under the connection closed.
    pub(crate) fn handle_transport_closed(&mut self, now: Instant) {
        self.advance_clock(now);
        self.finish(DisconnectReason::Transport("the stream closed".into()));
        self.update_timeout();
    }

    /// The client sent its cookie hello again: the ACCEPT was lost.
    pub(crate) fn resend_accept(&mut self, nonce: u64) -> bool {
        match &mut self.handshake {
            Handshake::ServerAccept {
                nonce: ours,
                send_accept,
            } if *ours == nonce => {
                *send_accept = true;
                true
            }
            _ => false,
        }
    }

    /// The client nonce of a server-side UDP connection.
    pub(crate) fn client_nonce(&self) -> Option<u64> {
        match self.handshake {
            Handshake::ServerAccept { nonce, .. } => Some(nonce),
            _ => None,
        }
    }

    fn run_timers(&mut self, now: Instant) {
        self.check_idle(now);
        match &mut self.handshake {
            Handshake::ClientUdp { .. }
            | Handshake::ClientStream { .. }
            | Handshake::ServerStream
                if now >= self.last_receive + self.config.disconnect_timeout =>
            {
                let timeout = self.config.disconnect_timeout;
                self.finish(DisconnectReason::ConnectFailed(format!(
                    "no answer from the server within {timeout:?}; check the address and that the server runs"
                )));
                return;
            }
            _ => {}
        }
        if matches!(
            self.state,
            ConnectionState::Connected | ConnectionState::Disconnecting
        ) {
            if now >= self.last_receive + self.config.disconnect_timeout {
                self.finish(DisconnectReason::Timeout);
                return;
            }
            if self.state == ConnectionState::Connected && now >= self.ping_due() {
                self.ping_pending = true;
                self.last_ping = now;
            }
            if !self.run_resend_timers(now) {
                return;
            }
        }
        self.check_key_deadline(now);
        self.outbox.close_if_due(now, self.config.flush_window);
    }

    /// Releases buffers after a ping interval without messages. Runs first in
    /// every timer pass, before anything that may return early, so its
    /// deadline always moves once due.
    fn check_idle(&mut self, now: Instant) {
        let Some(at) = self.idle_check_at else {
            return;
        };
        if now < at {
            return;
        }
        let total = self.message_total();
        if self.state == ConnectionState::Connected && total != self.messages_at_check {
            self.messages_at_check = total;
            self.idle_check_at = Some(now + self.config.ping_interval);
        } else {
            // Idle for a ping interval (or no longer connected): keep nothing spare.
            self.messages_at_check = total;
            self.release_idle_buffers();
            self.idle_check_at = None;
        }
    }

    fn message_total(&self) -> u64 {
        self.stats.messages_out.iter().sum::<u64>() + self.stats.messages_in.iter().sum::<u64>()
    }

    /// Frees buffers an idle peer does not need (scratch space, spare
    /// datagram bodies, empty queues' capacity): an idle connection keeps only
    /// its state. Active peers never get here, so the send path stays
    /// allocation-free while traffic flows.
    fn release_idle_buffers(&mut self) {
        self.scratch = Vec::new();
        self.open_scratch = Vec::new();
        self.sealed_scratch = Vec::new();
        self.outbox.release_spare();
        self.send.iter_mut().for_each(SendChannel::release_spare);
        self.recv.iter_mut().for_each(RecvChannel::release_spare);
        if self.retransmit.is_empty() {
            self.retransmit = VecDeque::new();
        }
        if self.resend_timers.is_empty() {
            self.resend_timers = BinaryHeap::new();
        }
        if self.events.is_empty() {
            self.events = VecDeque::new();
        }
    }

    fn ping_due(&self) -> Instant {
        self.last_receive.max(self.last_ping) + self.config.ping_interval
    }

    fn update_timeout(&mut self) {
        let mut earliest: Option<Instant> = None;
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                earliest = Some(earliest.map_or(t, |e: Instant| e.min(t)));
            }
        };
        consider(self.simulation.as_ref().and_then(|s| s.next_release()));
        if self.idle_check_at.is_none()
            && self.state == ConnectionState::Connected
            && self.message_total() != self.messages_at_check
        {
            // Traffic again after a release: watch for the next idle spell.
            self.idle_check_at = Some(self.now + self.config.ping_interval);
        }
        consider(self.idle_check_at);
        if self.state != ConnectionState::Disconnected {
            consider(Some(self.last_receive + self.config.disconnect_timeout));
            if let Handshake::ClientUdp { next_send, .. } = self.handshake {
                consider(Some(next_send));
            }
            if self.state == ConnectionState::Connected {
                consider(Some(self.ping_due()));
            }
            while let Some(Reverse((at, channel, sequence))) = self.resend_timers.peek().copied() {
                let live = self.send[usize::from(channel)]
                    .get(sequence)
                    .is_some_and(|sent| sent.resend_at == at);
                if live {
                    consider(Some(at));
                    break;
                }
                self.resend_timers.pop();
            }
            if let KeyState::Initiated { deadline, .. } = self.key_state {
                consider(Some(deadline));
            }
            if !self.config.flush_window.is_zero() {
                consider(
                    self.outbox
                        .open_since()
                        .map(|t| t + self.config.flush_window),
                );
            }
        }
        self.timeout = earliest;
    }

    /// True when `poll_transmit` may have something to send at `now` (false
    /// positives are allowed: the endpoint's ready queue uses it).
    pub(crate) fn wants_transmit(&self, now: Instant) -> bool {
        let handshake = match &self.handshake {
            Handshake::ClientUdp { next_send, .. } => *next_send <= now,
            Handshake::ClientStream { sent, .. } => !sent,
            Handshake::ServerAccept { send_accept, .. } => *send_accept,
            _ => false,
        };
        handshake
            || self
                .simulation
                .as_ref()
                .is_some_and(|s| s.has_due_outgoing(now))
            || (matches!(
                self.state,
                ConnectionState::Connected | ConnectionState::Disconnecting
            ) && (self.disconnect_sends > 0
                || self.ping_pending
                || self.pong_pending.is_some()
                || !self.retransmit.is_empty()
                || self.recv.iter().any(|c| c.ack_pending)
                || self.send.iter().any(|c| !c.queue.is_empty())
                || self.outbox.is_due(now, self.config.flush_window)))
    }

    /// Entry point for a datagram (after the simulation).
    fn receive(&mut self, now: Instant, data: &[u8]) {
        if self.state == ConnectionState::Disconnected {
            return;
        }
        let Some(&flags) = data.first() else { return };
        let mut reader = Reader::new(data);
        let _ = reader.u8();
        match flags >> 4 {
            wire::packet::DATA => self.receive_data(now, data),
            wire::packet::COOKIE => self.receive_cookie(now, &mut reader),
            wire::packet::ACCEPT => self.receive_accept(now, &mut reader),
            wire::packet::REFUSE => self.receive_refuse(now, &mut reader),
            wire::packet::STREAM_CONNECT => self.receive_stream_hello(now, &mut reader),
            _ => {}
        }
    }

    fn count_out(&mut self, len: usize) {
        self.stats.datagrams_out += 1;
        self.stats.bytes_out += len as u64;
        self.datagram_number += 1;
    }
}

#[cfg(test)]
mod tests;
