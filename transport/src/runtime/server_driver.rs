//! The server's driver loop: one task owns the [`Endpoint`] and the handler.
//!
//! Each turn handles one kind of input — the timer, a control message, an
//! accepted stream, a batch of stream frames (at most [`WORK_BUDGET`]) or a batch
//! of UDP datagrams (at most [`WORK_BUDGET`]) — then drains the endpoint:
//! transmits to sockets and writer tasks, events to the handler (whose sends
//! produce more transmits, drained in the same turn), and re-arms the one timer.

use super::server::ServerHandler;
use super::stream::{
    spawn_link, AbortOnDrop, FrameArena, LinkTasks, StreamInput, StreamLink, FRAME_HEADER_ALLOWANCE,
};
use super::udp::UdpIo;
use super::ws;
use crate::endpoint::{Destination, Endpoint, EndpointConfig, PeerHandle};
use crate::event::ConnectionEvent;
use crate::types::Protocol;
use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Datagrams or frames handled per turn before timers and other inputs get a look.
pub const WORK_BUDGET: usize = 64;
/// How long shutdown waits for peers to hear their disconnect.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
/// How long a new stream may take for TLS and the WebSocket upgrade.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Frames from all reader tasks waiting for the driver.
const STREAM_INBOUND: usize = 1024;
/// Opened streams waiting for the driver to register them.
const ACCEPT_QUEUE: usize = 128;

/// A bound listener, before `run`.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // a handful per server, built once
pub(crate) enum BoundListener {
    Udp(UdpIo),
    Stream {
        protocol: Protocol,
        listener: TcpListener,
        path: Option<String>,
        tls: Option<Arc<rustls::ServerConfig>>,
    },
}

/// Messages from [`ServerControl`](super::ServerControl) handles.
pub(crate) enum ControlMessage {
    Command(Box<dyn Any + Send>),
    Shutdown,
}

impl std::fmt::Debug for ControlMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ControlMessage::Command(_) => f.write_str("Command"),
            ControlMessage::Shutdown => f.write_str("Shutdown"),
        }
    }
}

/// A stream opened (TLS and upgrade done) by an accept task.
struct Accepted {
    from: SocketAddr,
    /// The listener's bound address.
    listener: SocketAddr,
    protocol: Protocol,
    link: StreamLink,
}

struct StreamPeer {
    stream: u64,
    tasks: LinkTasks,
}

pub(crate) struct ServerDriver<H: ServerHandler> {
    endpoint: Endpoint,
    handler: H,
    udp: Vec<UdpIo>,
    stream_listeners: Vec<BoundListener>,
    control: mpsc::UnboundedReceiver<ControlMessage>,
    control_open: bool,
    frame_limit: usize,
    /// Stream id → peer, and peer → its link tasks.
    streams: HashMap<u64, PeerHandle>,
    stream_peers: HashMap<PeerHandle, StreamPeer>,
    next_stream: u64,
    /// Peers that are connected (for the graceful shutdown).
    connected: HashSet<PeerHandle>,
    /// Writer tasks of removed streams, flushing their last frames.
    closing: Vec<JoinHandle<()>>,
    transmit: Vec<u8>,
    arena: FrameArena,
}

impl<H: ServerHandler> ServerDriver<H> {
    pub(crate) fn new(
        endpoint: Endpoint,
        handler: H,
        listeners: Vec<BoundListener>,
        control: mpsc::UnboundedReceiver<ControlMessage>,
        config: &EndpointConfig,
    ) -> Self {
        let (udp, stream_listeners): (Vec<_>, Vec<_>) = listeners
            .into_iter()
            .partition(|listener| matches!(listener, BoundListener::Udp(_)));
        let udp = udp
            .into_iter()
            .filter_map(|listener| match listener {
                BoundListener::Udp(io) => Some(io),
                BoundListener::Stream { .. } => None,
            })
            .collect();
        Self {
            endpoint,
            handler,
            udp,
            stream_listeners,
            control,
            control_open: true,
            frame_limit: config.transport.max_message_size + FRAME_HEADER_ALLOWANCE,
            streams: HashMap::new(),
            stream_peers: HashMap::new(),
            next_stream: 1,
            connected: HashSet::new(),
            closing: Vec::new(),
            transmit: Vec::with_capacity(64 * 1024),
            arena: FrameArena::default(),
        }
    }

    pub(crate) async fn run(
        mut self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let (accepted_tx, mut accepted) = mpsc::channel::<Accepted>(ACCEPT_QUEUE);
        let (stream_tx, mut stream_rx) = mpsc::channel::<StreamInput>(STREAM_INBOUND);
        let mut accept_tasks = Vec::new();
        for listener in std::mem::take(&mut self.stream_listeners) {
            if let BoundListener::Stream {
                protocol,
                listener,
                path,
                tls,
            } = listener
            {
                let task = accept_loop(
                    protocol,
                    listener,
                    path,
                    tls,
                    self.frame_limit,
                    accepted_tx.clone(),
                );
                accept_tasks.push(AbortOnDrop(tokio::spawn(task)));
            }
        }
        drop(accepted_tx);
        tokio::pin!(shutdown);
        let mut timer = super::precise_timer::PreciseTimer::new();
        let mut stopping: Option<Instant> = None;

        let mut due_in_a_row: u32 = 0;
        loop {
            if self.drain().await {
                // Still busy after the drain budget: let other tasks run, then go on.
                tokio::task::yield_now().await;
                continue;
            }
            if let Some(until) = stopping {
                if self.connected.is_empty() || super::now() >= until {
                    break;
                }
            }
            let mut deadline = earliest(self.endpoint.poll_timeout(), self.handler.poll_timeout());
            if let Some(until) = stopping {
                deadline = earliest(deadline, Some(until));
            }
            if let Some(deadline) = deadline {
                // Compare with the clock before sleeping: a due deadline runs now.
                if deadline <= super::now() {
                    self.handle_timeout();
                    // A core whose deadline does not move would spin here: stay polite.
                    due_in_a_row += 1;
                    if due_in_a_row & 63 == 0 {
                        tokio::task::yield_now().await;
                    }
                    continue;
                }
                timer.reset(deadline);
            }
            let udp = &self.udp;
            let udp_ready = std::future::poll_fn(|cx| {
                for (index, socket) in udp.iter().enumerate() {
                    if socket.poll_recv_ready(cx).is_ready() {
                        return Poll::Ready(index);
                    }
                }
                Poll::Pending
            });
            due_in_a_row = 0;
            tokio::select! {
                () = &mut shutdown, if stopping.is_none() => stopping = Some(self.begin_shutdown()),
                () = timer.wait(), if deadline.is_some() => self.handle_timeout(),
                message = self.control.recv(), if self.control_open => match message {
                    Some(ControlMessage::Command(command)) => self.handle_command(command),
                    Some(ControlMessage::Shutdown) => {
                        if stopping.is_none() {
                            stopping = Some(self.begin_shutdown());
                        }
                    }
                    None => self.control_open = false,
                },
                Some(opened) = accepted.recv() => {
                    if stopping.is_none() {
                        self.register_stream(opened, &stream_tx);
                    }
                }
                Some(input) = stream_rx.recv() => {
                    self.handle_stream_input(input);
                    for _ in 1..WORK_BUDGET {
                        match stream_rx.try_recv() {
                            Ok(input) => self.handle_stream_input(input),
                            Err(_) => break,
                        }
                    }
                }
                index = udp_ready => self.receive_udp(index),
            }
        }

        // Graceful end: writers flush what they hold (the disconnects) and close.
        for task in &accept_tasks {
            task.abort();
        }
        let peers: Vec<PeerHandle> = self.stream_peers.keys().copied().collect();
        for peer in peers {
            self.remove_stream(peer);
        }
        let closing = std::mem::take(&mut self.closing);
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, futures_util::future::join_all(closing)).await;
        tracing::debug!("server stopped");
        Ok(())
    }

    fn begin_shutdown(&mut self) -> Instant {
        let now = super::now();
        tracing::info!(
            peers = self.connected.len(),
            "server shutting down; disconnecting every peer"
        );
        let mut peers: Vec<PeerHandle> = self.connected.iter().copied().collect();
        peers.sort();
        for peer in peers {
            self.endpoint.disconnect(now, peer);
        }
        now + SHUTDOWN_GRACE
    }

    fn handle_timeout(&mut self) {
        let now = super::now();
        self.endpoint.handle_timeout(now);
        if self
            .handler
            .poll_timeout()
            .is_some_and(|deadline| deadline <= now)
        {
            self.handler.handle_timeout(now, &mut self.endpoint);
        }
    }

    fn handle_command(&mut self, command: Box<dyn Any + Send>) {
        match command.downcast::<H::Command>() {
            Ok(command) => self
                .handler
                .handle_command(super::now(), *command, &mut self.endpoint),
            Err(_) => tracing::error!(
                "a ServerControl of another command type was used; the command was dropped"
            ),
        }
    }

    fn receive_udp(&mut self, index: usize) {
        let now = super::now();
        let Self { udp, endpoint, .. } = self;
        if let Some(socket) = udp.get_mut(index) {
            socket.recv_batch(WORK_BUDGET, |from, datagram| {
                endpoint.handle_datagram(now, from, datagram)
            });
        }
    }

    fn register_stream(&mut self, opened: Accepted, inbound: &mpsc::Sender<StreamInput>) {
        let now = super::now();
        let Some(peer) =
            self.endpoint
                .accept_stream(now, opened.from, opened.listener, opened.protocol)
        else {
            tracing::warn!(from = %opened.from, "endpoint full; closing the new stream");
            return;
        };
        let stream = self.next_stream;
        self.next_stream += 1;
        let tasks = spawn_link(opened.link, stream, self.frame_limit, inbound.clone());
        tracing::debug!(from = %opened.from, protocol = %opened.protocol, ?peer, stream, "stream peer accepted");
        self.streams.insert(stream, peer);
        self.stream_peers.insert(peer, StreamPeer { stream, tasks });
    }

    fn handle_stream_input(&mut self, input: StreamInput) {
        let now = super::now();
        match input {
            StreamInput::Frame { stream, data } => {
                if let Some(&peer) = self.streams.get(&stream) {
                    self.endpoint.handle_stream_frame(now, peer, &data);
                }
            }
            StreamInput::Closed { stream, reason } => {
                if let Some(&peer) = self.streams.get(&stream) {
                    tracing::debug!(?peer, %reason, "stream closed");
                    self.remove_stream(peer);
                    self.endpoint.handle_stream_closed(now, peer);
                }
            }
        }
    }

    /// Forgets a stream peer's link: its writer flushes and closes, its reader stops.
    fn remove_stream(&mut self, peer: PeerHandle) {
        if let Some(StreamPeer { stream, tasks }) = self.stream_peers.remove(&peer) {
            self.streams.remove(&stream);
            let LinkTasks {
                writer,
                writer_task,
                reader_task,
            } = tasks;
            drop(writer);
            reader_task.abort();
            self.closing.retain(|task| !task.is_finished());
            self.closing.push(writer_task);
        }
    }

    /// Drains transmits and events until both are empty (bounded rounds); true
    /// if work is left over.
    async fn drain(&mut self) -> bool {
        for _ in 0..16 {
            let mut busy = false;
            let now = super::now();
            while let Some(transmit) = self.endpoint.poll_transmit(now, &mut self.transmit) {
                busy = true;
                let data = &self.transmit[..transmit.size];
                match transmit.destination {
                    Destination::Udp(address) => {
                        let socket = match self
                            .udp
                            .iter()
                            .position(|s| s.is_ipv4() == address.is_ipv4())
                        {
                            Some(index) => self.udp.get_mut(index),
                            None => self.udp.first_mut(),
                        };
                        if let Some(socket) = socket {
                            socket.send(address, data).await;
                        }
                    }
                    Destination::Stream(peer) => {
                        let Some(stream_peer) = self.stream_peers.get(&peer) else {
                            continue;
                        };
                        if stream_peer
                            .tasks
                            .writer
                            .try_send(self.arena.copy(data))
                            .is_err()
                        {
                            tracing::warn!(
                                ?peer,
                                "stream peer's write queue is full; disconnecting it"
                            );
                            self.remove_stream(peer);
                            self.endpoint.handle_stream_closed(now, peer);
                        }
                    }
                }
            }
            for socket in &mut self.udp {
                socket.flush().await;
            }
            while let Some(event) = self.endpoint.poll_event() {
                busy = true;
                let peer = event.peer;
                let ended = matches!(event.event, ConnectionEvent::Disconnected(_));
                match &event.event {
                    ConnectionEvent::Connected => {
                        self.connected.insert(peer);
                    }
                    ConnectionEvent::Disconnected(reason) => {
                        tracing::debug!(?peer, ?reason, "peer disconnected");
                        self.connected.remove(&peer);
                    }
                    _ => {}
                }
                self.handler.handle_event(now, event, &mut self.endpoint);
                if ended {
                    // Frames queued before the event (the disconnect) are still written.
                    self.flush_peer_transmits(now).await;
                    self.remove_stream(peer);
                }
            }
            if !busy {
                return false;
            }
        }
        true
    }

    /// Sends pending transmits before a stream peer's link is dropped.
    async fn flush_peer_transmits(&mut self, now: Instant) {
        while let Some(transmit) = self.endpoint.poll_transmit(now, &mut self.transmit) {
            let data = &self.transmit[..transmit.size];
            match transmit.destination {
                Destination::Udp(address) => {
                    if let Some(socket) = self
                        .udp
                        .iter_mut()
                        .find(|s| s.is_ipv4() == address.is_ipv4())
                    {
                        socket.send(address, data).await;
                    }
                }
                Destination::Stream(peer) => {
                    if let Some(stream_peer) = self.stream_peers.get(&peer) {
                        let _ = stream_peer.tasks.writer.try_send(self.arena.copy(data));
                    }
                }
            }
        }
        for socket in &mut self.udp {
            socket.flush().await;
        }
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Accepts streams on one listener; each new stream gets its own task for TLS and
/// the WebSocket upgrade, so a slow handshake never holds up the others.
async fn accept_loop(
    protocol: Protocol,
    listener: TcpListener,
    path: Option<String>,
    tls: Option<Arc<rustls::ServerConfig>>,
    frame_limit: usize,
    accepted: mpsc::Sender<Accepted>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let path: Option<Arc<str>> = path.map(Arc::from);
    let Ok(bound) = listener.local_addr() else {
        tracing::error!(%protocol, "listener has no local address; not accepting");
        return;
    };
    loop {
        let (tcp, from) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait a little, keep serving.
                tracing::warn!(%error, %protocol, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let path = path.clone();
        let accepted = accepted.clone();
        tokio::spawn(async move {
            let opening = open_stream(protocol, tcp, acceptor, path.as_deref(), frame_limit, from);
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, opening).await {
                Ok(Ok(link)) => {
                    let _ = accepted
                        .send(Accepted {
                            from,
                            listener: bound,
                            protocol,
                            link,
                        })
                        .await;
                }
                Ok(Err(reason)) => tracing::debug!(%from, %protocol, %reason, "stream refused"),
                Err(_) => tracing::debug!(%from, %protocol, "stream handshake timed out"),
            }
        });
    }
}

async fn open_stream(
    protocol: Protocol,
    tcp: tokio::net::TcpStream,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    path: Option<&str>,
    frame_limit: usize,
    from: SocketAddr,
) -> Result<StreamLink, String> {
    if acceptor.is_none() {
        match protocol {
            Protocol::Ws => refuse_non_http(&tcp, path).await?,
            Protocol::Tcp => refuse_tls(&tcp, from).await?,
            _ => {}
        }
    }
    let io: super::stream::BoxedIo = match acceptor {
        Some(acceptor) => Box::new(acceptor.accept(tcp).await.map_err(|e| {
            let line =
                super::tls::describe_server_handshake_error_for(&e, protocol, &from.to_string());
            // One line per failed handshake naming the problem (the listener keeps serving).
            tracing::info!(%protocol, "{line}");
            format!("TLS handshake failed: {e}")
        })?),
        None => Box::new(tcp),
    };
    match protocol {
        Protocol::Ws | Protocol::Wss => Ok(StreamLink::WebSocket(
            ws::accept(io, path, frame_limit).await?,
        )),
        _ => Ok(StreamLink::Framed(io)),
    }
}

/// On a plain TCP port, refuses a TLS client (`tls://` or `wss://` by mistake)
/// with one log line saying so, instead of a "frame too long" later. Waits for
/// the client's first bytes (a TCP client speaks first).
async fn refuse_tls(tcp: &tokio::net::TcpStream, from: SocketAddr) -> Result<(), String> {
    let mut head = [0u8; 2];
    let seen = tcp
        .peek(&mut head)
        .await
        .map_err(|e| format!("read error: {e}"))?;
    if !super::tls::request_looks_like_tls(&head[..seen]) {
        return Ok(());
    }
    let line = super::tls::describe_tls_client_on_plain_port(Protocol::Tcp, &from.to_string());
    tracing::info!(protocol = %Protocol::Tcp, "{line}");
    Err("a TLS client on a plain TCP port".into())
}

/// On a plain WebSocket port, answers anything that is not an HTTP request (a
/// `tcp://` client, a typo'd tool) with a readable HTTP 400 instead of silence.
async fn refuse_non_http(tcp: &tokio::net::TcpStream, path: Option<&str>) -> Result<(), String> {
    let mut head = [0u8; 4];
    let seen = tcp
        .peek(&mut head)
        .await
        .map_err(|e| format!("read error: {e}"))?;
    if seen == 0 || b"GET ".starts_with(&head[..seen]) {
        return Ok(());
    }
    let path = path.unwrap_or("/");
    let body = format!(
        "this port serves WebSocket at {path}: connect with ws://host:port{path} (binary messages), \
         or use the server's TCP port for tcp://\n"
    );
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tcp.try_write(response.as_bytes());
    Err("not an HTTP request; answered 400".into())
}
