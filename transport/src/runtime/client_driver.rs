//! The client's driver task: one per connection.
//!
//! Each turn: feed one input (a datagram or frame, a command, the timer), then
//! drain the connection — transmits to the link, events to the application — and
//! re-arm the single timer from `poll_timeout`, comparing the deadline with the
//! clock before sleeping (a due deadline is handled at once).

use super::stream::{FrameArena, LinkTasks, StreamInput, CLOSE_FLUSH_TIMEOUT};
use crate::config::TransportConfig;
use crate::connection::{Connection, ConnectionState};
use crate::event::{ConnectionEvent, DisconnectReason};
use crate::stats::ConnectionStats;
use crate::types::{Protocol, SendOptions};
use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, Notify};

/// Datagrams read from the UDP socket per turn before timers and commands get a look.
const UDP_BUDGET: usize = 64;

/// State shared by the [`Client`](super::Client) handles and the driver.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) protocol: Protocol,
    pub(crate) remote: SocketAddr,
    pub(crate) max_message_size: usize,
    pub(crate) channel_count: u8,
    pub(crate) connected: AtomicBool,
    pub(crate) encryption: AtomicBool,
    pub(crate) establish: AtomicBool,
    pub(crate) disconnect: AtomicBool,
    pub(crate) wake: Notify,
    pub(crate) stats: Mutex<ConnectionStats>,
    /// Set once anything arrived from the server (tells a silent server from a
    /// server speaking another protocol when connecting times out).
    pub(crate) heard: Arc<AtomicBool>,
}

impl Shared {
    pub(crate) fn new(
        protocol: Protocol,
        remote: SocketAddr,
        config: &TransportConfig,
        heard: Arc<AtomicBool>,
    ) -> Self {
        Self {
            heard,
            protocol,
            remote,
            max_message_size: config.max_message_size,
            channel_count: config.channel_count,
            connected: AtomicBool::new(false),
            encryption: AtomicBool::new(false),
            establish: AtomicBool::new(false),
            disconnect: AtomicBool::new(false),
            wake: Notify::new(),
            stats: Mutex::new(ConnectionStats::default()),
        }
    }
}

/// Messages from the handles to the driver.
#[derive(Debug)]
pub(crate) enum Command {
    Send(Bytes, SendOptions),
}

/// The link under the connection.
#[derive(Debug)]
pub(crate) enum ClientLink {
    Udp {
        socket: UdpSocket,
        buf: Vec<u8>,
    },
    Stream {
        tasks: LinkTasks,
        inbound: mpsc::Receiver<StreamInput>,
    },
}

impl ClientLink {
    pub(crate) fn udp(socket: UdpSocket) -> Self {
        ClientLink::Udp {
            socket,
            buf: vec![0; u16::MAX as usize],
        }
    }
}

/// What the link delivered.
enum LinkInput {
    /// A datagram of this length is in the UDP buffer.
    Datagram(usize),
    Frame(Bytes),
    Closed(String),
}

impl ClientLink {
    /// Waits for the next input (cancel-safe).
    async fn recv(&mut self) -> LinkInput {
        match self {
            ClientLink::Udp { socket, buf } => match socket.recv(buf).await {
                Ok(length) => LinkInput::Datagram(length),
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                    LinkInput::Closed("connection refused: nothing listens on that port".into())
                }
                Err(error) => LinkInput::Closed(format!("UDP receive error: {error}")),
            },
            ClientLink::Stream { inbound, .. } => match inbound.recv().await {
                Some(StreamInput::Frame { data, .. }) => LinkInput::Frame(data),
                Some(StreamInput::Closed { reason, .. }) => LinkInput::Closed(reason),
                None => LinkInput::Closed("the stream reader stopped".into()),
            },
        }
    }
}

/// The driver task's state.
pub(crate) struct ClientDriver {
    connection: Connection,
    link: ClientLink,
    shared: std::sync::Arc<Shared>,
    commands: mpsc::Receiver<Command>,
    commands_open: bool,
    events: mpsc::UnboundedSender<ConnectionEvent>,
    ready: Option<oneshot::Sender<Result<(), DisconnectReason>>>,
    transmit: Vec<u8>,
    arena: FrameArena,
    disconnect_requested: bool,
}

impl ClientDriver {
    pub(crate) fn new(
        connection: Connection,
        link: ClientLink,
        shared: std::sync::Arc<Shared>,
        commands: mpsc::Receiver<Command>,
        events: mpsc::UnboundedSender<ConnectionEvent>,
        ready: oneshot::Sender<Result<(), DisconnectReason>>,
    ) -> Self {
        Self {
            connection,
            link,
            shared,
            commands,
            commands_open: true,
            events,
            ready: Some(ready),
            transmit: Vec::with_capacity(64 * 1024),
            arena: FrameArena::default(),
            disconnect_requested: false,
        }
    }

    /// Runs until the connection is disconnected and its last event forwarded.
    pub(crate) async fn run(mut self) {
        let timer = tokio::time::sleep(std::time::Duration::from_secs(3600));
        tokio::pin!(timer);
        let mut due_in_a_row: u32 = 0;
        loop {
            // Outputs, in the documented order: transmits, events, then the timer.
            if self.drain().await {
                break;
            }
            let deadline = self.connection.poll_timeout();
            if let Some(deadline) = deadline {
                if deadline <= super::now() {
                    self.connection.handle_timeout(super::now());
                    // A core whose deadline does not move would spin here: stay polite.
                    due_in_a_row += 1;
                    if due_in_a_row & 63 == 0 {
                        tokio::task::yield_now().await;
                    }
                    continue;
                }
                timer
                    .as_mut()
                    .reset(tokio::time::Instant::from_std(deadline));
            }
            due_in_a_row = 0;
            tokio::select! {
                () = &mut timer, if deadline.is_some() => {
                    self.connection.handle_timeout(super::now());
                }
                () = self.shared.wake.notified() => self.handle_flags(),
                command = self.commands.recv(), if self.commands_open => match command {
                    Some(command) => self.handle_command(command),
                    None => {
                        // Every Client handle was dropped: close gracefully.
                        self.commands_open = false;
                        self.shared.disconnect.store(true, Ordering::Release);
                        self.handle_flags();
                    }
                },
                input = self.link.recv() => {
                    if self.handle_input(input) {
                        break;
                    }
                }
            }
        }
        self.finish().await;
    }

    fn handle_flags(&mut self) {
        let now = super::now();
        // Each request is served (a failed key exchange may be retried).
        if self.shared.establish.swap(false, Ordering::AcqRel) {
            self.connection.establish_encryption(now);
        }
        if !self.disconnect_requested && self.shared.disconnect.load(Ordering::Acquire) {
            self.disconnect_requested = true;
            tracing::debug!(remote = %self.shared.remote, "disconnect requested");
            self.connection.disconnect(now);
        }
    }

    fn handle_command(&mut self, command: Command) {
        match command {
            Command::Send(payload, options) => {
                if let Err(error) = self.connection.send(super::now(), &payload, options) {
                    tracing::debug!(remote = %self.shared.remote, %error, "send refused by the connection");
                }
            }
        }
        // Take whatever else is queued, bounded, so one turn covers a burst of sends.
        for _ in 0..UDP_BUDGET {
            match self.commands.try_recv() {
                Ok(Command::Send(payload, options)) => {
                    if let Err(error) = self.connection.send(super::now(), &payload, options) {
                        tracing::debug!(remote = %self.shared.remote, %error, "send refused by the connection");
                    }
                }
                Err(_) => break,
            }
        }
    }

    /// Feeds one link input; true when the link is gone and the driver must stop.
    fn handle_input(&mut self, input: LinkInput) -> bool {
        if self.ready.is_some() && matches!(input, LinkInput::Datagram(_) | LinkInput::Frame(_)) {
            self.shared.heard.store(true, Ordering::Release);
        }
        match input {
            LinkInput::Datagram(length) => {
                let now = super::now();
                if let ClientLink::Udp { socket, buf } = &mut self.link {
                    self.connection.handle_datagram(now, &buf[..length]);
                    // Drain what else is waiting, within the per-turn budget.
                    for _ in 1..UDP_BUDGET {
                        match socket.try_recv(buf) {
                            Ok(length) => self.connection.handle_datagram(now, &buf[..length]),
                            Err(_) => break,
                        }
                    }
                }
                false
            }
            LinkInput::Frame(data) => {
                self.connection.handle_datagram(super::now(), &data);
                false
            }
            LinkInput::Closed(reason) => {
                if self.connection.state() == ConnectionState::Disconnected {
                    return true;
                }
                tracing::debug!(remote = %self.shared.remote, %reason, "link closed");
                let reason = if self.connection.state() == ConnectionState::Disconnecting
                    && self.disconnect_requested
                {
                    DisconnectReason::Local
                } else {
                    DisconnectReason::Transport(reason)
                };
                // Flush whatever the connection still has, then report the end.
                while let Some(event) = self.connection.poll_event() {
                    if self.deliver(event) {
                        return true;
                    }
                }
                self.deliver(ConnectionEvent::Disconnected(reason));
                true
            }
        }
    }

    /// Sends transmits and forwards events; true once `Disconnected` was delivered.
    async fn drain(&mut self) -> bool {
        let now = super::now();
        while let Some(size) = self.connection.poll_transmit(now, &mut self.transmit) {
            let datagram = &self.transmit[..size];
            match &mut self.link {
                ClientLink::Udp { socket, .. } => {
                    if let Err(error) = socket.send(datagram).await {
                        tracing::debug!(remote = %self.shared.remote, %error, "UDP send failed");
                    }
                }
                ClientLink::Stream { tasks, .. } => {
                    if tasks.writer.try_send(self.arena.copy(datagram)).is_err() {
                        tracing::warn!(remote = %self.shared.remote, "write queue full; closing the connection");
                        self.deliver(ConnectionEvent::Disconnected(DisconnectReason::Transport(
                            "the connection could not keep up with the data sent (write queue full)".into(),
                        )));
                        return true;
                    }
                }
            }
        }
        if let Ok(mut stats) = self.shared.stats.lock() {
            stats.clone_from(self.connection.stats());
        }
        while let Some(event) = self.connection.poll_event() {
            if self.deliver(event) {
                return true;
            }
        }
        false
    }

    /// Forwards one event; true if it was the last (`Disconnected`).
    fn deliver(&mut self, event: ConnectionEvent) -> bool {
        match &event {
            ConnectionEvent::Connected => {
                self.shared.connected.store(true, Ordering::Release);
                if self.shared.protocol.is_secure() {
                    self.shared.encryption.store(true, Ordering::Release);
                }
                if let Some(ready) = self.ready.take() {
                    let _ = ready.send(Ok(()));
                }
            }
            ConnectionEvent::EncryptionEstablished => {
                self.shared.encryption.store(true, Ordering::Release)
            }
            ConnectionEvent::Disconnected(reason) => {
                self.shared.connected.store(false, Ordering::Release);
                if let Some(ready) = self.ready.take() {
                    let _ = ready.send(Err(reason.clone()));
                    return true;
                }
                tracing::debug!(remote = %self.shared.remote, ?reason, "disconnected");
                let _ = self.events.send(event);
                return true;
            }
            _ => {}
        }
        let _ = self.events.send(event);
        false
    }

    /// Lets a stream writer flush the last frames (the disconnect) before closing.
    async fn finish(self) {
        if let Ok(mut stats) = self.shared.stats.lock() {
            stats.clone_from(self.connection.stats());
        }
        if let ClientLink::Stream { tasks, .. } = self.link {
            let LinkTasks {
                writer,
                writer_task,
                reader_task,
            } = tasks;
            drop(writer);
            let _ = tokio::time::timeout(CLOSE_FLUSH_TIMEOUT, writer_task).await;
            reader_task.abort();
        }
    }
}
