//! The thin layer between transport's driver and a role's logic: decodes
//! messages, applies per-peer rate limits, counts metrics, and implements
//! [`Outbox`] on the `Endpoint` (each message encoded once into a reused buffer).

use crate::config::{LimitsConfig, Role};
use crate::limits::{PeerLimiter, Verdict};
use crate::logic::RoleLogic;
use crate::metrics::Metrics;
use crate::outbox::{respond_error, MessageMeta, Outbox};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;
use transport::codec::{Limits, Message, RawSendView};
use transport::lb::{error, op};
use transport::runtime::ServerHandler;
use transport::{
    ConnectionEvent, Endpoint, EndpointEvent, PeerHandle, Protocol, SendError, SendOptions,
};

/// [`Outbox`] on an [`Endpoint`].
pub struct EndpointOutbox<'a> {
    endpoint: &'a mut Endpoint,
    buf: &'a mut Vec<u8>,
    limits: &'a Limits,
    metrics: &'a Metrics,
}

impl<'a> EndpointOutbox<'a> {
    /// Wraps an endpoint with a reusable encode buffer.
    pub fn new(
        endpoint: &'a mut Endpoint,
        buf: &'a mut Vec<u8>,
        limits: &'a Limits,
        metrics: &'a Metrics,
    ) -> Self {
        Self {
            endpoint,
            buf,
            limits,
            metrics,
        }
    }
}

impl Outbox for EndpointOutbox<'_> {
    fn send_many(
        &mut self,
        now: Instant,
        peers: &[PeerHandle],
        message: &Message,
        options: SendOptions,
    ) {
        self.buf.clear();
        if let Err(e) = message.encode(self.buf, self.limits) {
            tracing::warn!(%e, "message not encodable; not sent");
            return;
        }
        for &peer in peers {
            match self.endpoint.send(now, peer, self.buf, options) {
                Ok(()) => {
                    self.metrics.messages_out.fetch_add(1, Relaxed);
                    self.metrics
                        .bytes_out
                        .fetch_add(self.buf.len() as u64, Relaxed);
                }
                Err(SendError::EncryptionNotEstablished) => {
                    Metrics::inc(&self.metrics.encryption_failures);
                    tracing::debug!(?peer, "encrypted send to a peer without keys skipped");
                }
                Err(e) => tracing::debug!(?peer, %e, "send failed"),
            }
        }
    }

    fn send_parts(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        parts: &[&[u8]],
        options: SendOptions,
    ) -> Result<(), SendError> {
        self.endpoint.send_parts(now, peer, parts, options)?;
        self.metrics.messages_out.fetch_add(1, Relaxed);
        self.metrics
            .bytes_out
            .fetch_add(parts.iter().map(|p| p.len() as u64).sum(), Relaxed);
        Ok(())
    }

    fn disconnect(&mut self, now: Instant, peer: PeerHandle) {
        self.endpoint.disconnect(now, peer);
    }
}

/// What the handler keeps per peer.
struct HandlerPeer {
    protocol: Protocol,
    limiter: PeerLimiter,
    /// Came in through a server-to-server listener.
    on_server_listener: bool,
}

/// Why `code` is refused from a peer that came in through (`on_server_listener`)
/// or outside the master's server-to-server listeners bound to
/// `server_listeners`; `None` when it is served (always, without them).
fn listener_refusal(
    server_listeners: &[SocketAddr],
    on_server_listener: bool,
    code: u8,
) -> Option<String> {
    if server_listeners.is_empty() {
        return None;
    }
    match (on_server_listener, code == op::GAME_SERVER_REPORT) {
        (true, false) => Some(format!(
            "{} ({code}) refused: this is the master's server-to-server listener (game servers only); clients connect through the name server",
            op::name(code)
        )),
        (false, true) => {
            let ports: Vec<String> = server_listeners.iter().map(|a| a.port().to_string()).collect();
            Some(format!(
                "game server reports are accepted on the master's server-to-server listeners only (port {}): set cluster.master_url to one of them (tls://master:4521 or tcp://master:4520 by default)",
                ports.join(", ")
            ))
        }
        _ => None,
    }
}

/// Runs one role's logic inside transport's server driver.
pub struct RoleHandler<L: RoleLogic> {
    role: Role,
    logic: L,
    metrics: Arc<Metrics>,
    limits: LimitsConfig,
    codec_limits: Limits,
    peers: HashMap<PeerHandle, HandlerPeer>,
    /// Bound addresses of the master's server-to-server listeners.
    server_listeners: Vec<SocketAddr>,
    /// Peers being disconnected for abuse: (when, peer). Their messages are
    /// ignored; the disconnect waits so that the error response goes out first.
    closing: std::collections::VecDeque<(Instant, PeerHandle)>,
    buf: Vec<u8>,
}

/// How long an abusive peer's error response may take before the disconnect.
const DISCONNECT_LINGER: std::time::Duration = std::time::Duration::from_millis(250);

impl<L: RoleLogic> std::fmt::Debug for RoleHandler<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleHandler")
            .field("role", &self.role)
            .field("peers", &self.peers.len())
            .finish()
    }
}

impl<L: RoleLogic> RoleHandler<L> {
    /// A handler for `logic`.
    pub fn new(role: Role, logic: L, metrics: Arc<Metrics>, limits: LimitsConfig) -> Self {
        let codec_limits = Limits {
            max_message_size: limits.max_message_size,
            ..Limits::default()
        };
        Self {
            role,
            logic,
            metrics,
            limits,
            codec_limits,
            peers: HashMap::new(),
            server_listeners: Vec::new(),
            closing: Default::default(),
            buf: Vec::with_capacity(2048),
        }
    }

    /// Gives the listeners bound to `addresses` to game servers alone: there
    /// only [`op::GAME_SERVER_REPORT`] is served, and elsewhere it is refused
    /// (while `addresses` is not empty). Each refusal names the right listener.
    pub fn with_server_listeners(mut self, addresses: Vec<SocketAddr>) -> Self {
        self.server_listeners = addresses;
        self
    }

    /// The role's logic (diagnostics, tests).
    pub fn logic(&self) -> &L {
        &self.logic
    }

    fn message(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        received: transport::ReceivedMessage,
        endpoint: &mut Endpoint,
    ) {
        let size = received.payload.len();
        self.metrics.messages_in.fetch_add(1, Relaxed);
        self.metrics.bytes_in.fetch_add(size as u64, Relaxed);
        let meta = MessageMeta {
            delivery: received.delivery,
            channel: received.channel,
            // Over WSS, TLS encrypts everything: a message is encrypted
            // whether or not the sender asked for AES on top.
            encrypted: received.encrypted
                || self
                    .peers
                    .get(&peer)
                    .is_some_and(|p| p.protocol.is_secure()),
            size,
        };
        let mut out =
            EndpointOutbox::new(endpoint, &mut self.buf, &self.codec_limits, &self.metrics);
        let limited = !self.logic.is_rate_limit_exempt(peer);
        if let Some(limiter) = self
            .peers
            .get_mut(&peer)
            .filter(|_| limited)
            .map(|p| &mut p.limiter)
        {
            match limiter.check(now, size, &self.limits) {
                Verdict::Allow => {}
                Verdict::Refuse { notify } => {
                    Metrics::inc(&self.metrics.rate_limit_hits);
                    if notify {
                        let text = format!(
                            "rate limit reached ({} operations/s, {} bytes/s): message dropped; slow down",
                            self.limits.operations_per_second, self.limits.bytes_per_second
                        );
                        respond_error(
                            &mut out,
                            now,
                            peer,
                            &meta,
                            0,
                            error::OPERATION_LIMIT_REACHED,
                            text,
                        );
                    }
                    return;
                }
                Verdict::Disconnect => {
                    Metrics::inc(&self.metrics.rate_limit_hits);
                    Metrics::inc(&self.metrics.abuse_disconnects);
                    tracing::warn!(role = %self.role, ?peer, "peer disconnected: over the rate limits for {} messages in a row", self.limits.violations_before_disconnect);
                    respond_error(
                        &mut out,
                        now,
                        peer,
                        &meta,
                        0,
                        error::OPERATION_LIMIT_REACHED,
                        "disconnected: rate limits exceeded repeatedly",
                    );
                    self.closing.push_back((now + DISCONNECT_LINGER, peer));
                    return;
                }
            }
        }
        match RawSendView::parse(&received.payload) {
            Ok(Some(view)) => return self.logic.handle_raw(now, peer, view, meta, &mut out),
            Ok(None) => {}
            Err(e) => {
                Metrics::inc(&self.metrics.bad_requests);
                respond_error(
                    &mut out,
                    now,
                    peer,
                    &meta,
                    0,
                    error::INVALID_OPERATION,
                    format!("malformed raw frame: {e}"),
                );
                return;
            }
        }
        match Message::decode(&received.payload, &self.codec_limits) {
            Ok(Message::Request(request)) => {
                let on_server_listener =
                    self.peers.get(&peer).is_some_and(|p| p.on_server_listener);
                let refusal =
                    listener_refusal(&self.server_listeners, on_server_listener, request.code);
                if let Some(refusal) = refusal {
                    tracing::info!(role = %self.role, ?peer, "{refusal}");
                    respond_error(
                        &mut out,
                        now,
                        peer,
                        &meta,
                        request.code,
                        error::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE,
                        refusal,
                    );
                    return;
                }
                self.logic
                    .handle_request(now, peer, request, meta, &mut out)
            }
            Ok(other) => {
                Metrics::inc(&self.metrics.bad_requests);
                let kind = match other {
                    Message::Response(_) => "an operation response",
                    Message::Event(_) => "an event",
                    _ => "a server-to-client message",
                };
                respond_error(
                    &mut out,
                    now,
                    peer,
                    &meta,
                    0,
                    error::INVALID_OPERATION,
                    format!("clients send operation requests or raw frames, not {kind}"),
                );
            }
            Err(e) => {
                Metrics::inc(&self.metrics.bad_requests);
                respond_error(
                    &mut out,
                    now,
                    peer,
                    &meta,
                    0,
                    error::INVALID_OPERATION,
                    format!("malformed message: {e}"),
                );
            }
        }
    }
}

impl<L: RoleLogic> ServerHandler for RoleHandler<L> {
    type Command = L::Command;

    fn handle_event(&mut self, now: Instant, event: EndpointEvent, endpoint: &mut Endpoint) {
        let peer = event.peer;
        match event.event {
            ConnectionEvent::Connected => {
                let info = endpoint.peer_info(peer);
                let protocol = info.as_ref().map_or(Protocol::Udp, |i| i.protocol);
                let on_server_listener = info
                    .and_then(|i| i.listener)
                    .is_some_and(|l| self.server_listeners.contains(&l));
                self.metrics.add_peers(self.role, protocol, 1);
                self.peers.insert(
                    peer,
                    HandlerPeer {
                        protocol,
                        limiter: PeerLimiter::new(now, &self.limits),
                        on_server_listener,
                    },
                );
                let mut out =
                    EndpointOutbox::new(endpoint, &mut self.buf, &self.codec_limits, &self.metrics);
                self.logic.handle_connected(now, peer, protocol, &mut out);
                if protocol.is_secure() {
                    self.logic.handle_encryption_established(now, peer);
                }
            }
            ConnectionEvent::EncryptionEstablished => {
                self.logic.handle_encryption_established(now, peer)
            }
            ConnectionEvent::EncryptionFailedToEstablish(reason) => {
                Metrics::inc(&self.metrics.encryption_failures);
                tracing::debug!(role = %self.role, ?peer, %reason, "key exchange failed");
            }
            ConnectionEvent::Message(received) => self.message(now, peer, received, endpoint),
            ConnectionEvent::Disconnected(reason) => {
                if let Some(p) = self.peers.remove(&peer) {
                    self.metrics.add_peers(self.role, p.protocol, -1);
                    let mut out = EndpointOutbox::new(
                        endpoint,
                        &mut self.buf,
                        &self.codec_limits,
                        &self.metrics,
                    );
                    self.logic.handle_disconnected(now, peer, &mut out);
                }
                if reason == transport::DisconnectReason::SendBacklogFull {
                    tracing::warn!(role = %self.role, ?peer, limit = self.limits.max_reliable_backlog, "peer disconnected: too far behind on reliable messages (limits.max_reliable_backlog); it receives too slowly or stopped acknowledging");
                } else {
                    tracing::trace!(role = %self.role, ?peer, ?reason, "peer disconnected");
                }
            }
            _ => {}
        }
    }

    fn handle_command(&mut self, now: Instant, command: Self::Command, endpoint: &mut Endpoint) {
        let mut out =
            EndpointOutbox::new(endpoint, &mut self.buf, &self.codec_limits, &self.metrics);
        self.logic.handle_command(now, command, &mut out);
    }

    fn handle_timeout(&mut self, now: Instant, endpoint: &mut Endpoint) {
        while let Some(&(at, peer)) = self.closing.front() {
            if at > now {
                break;
            }
            self.closing.pop_front();
            endpoint.disconnect(now, peer);
        }
        let mut out =
            EndpointOutbox::new(endpoint, &mut self.buf, &self.codec_limits, &self.metrics);
        self.logic.handle_timeout(now, &mut out);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let closing = self.closing.front().map(|(t, _)| *t);
        match (self.logic.poll_timeout(), closing) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
