//! The async front end: the core plus one driver task on tokio.
//!
//! Commands run the core under a short-lived lock and hand sends straight to
//! the transport (no channel hop for events or voice frames); the driver task
//! connects, feeds transport events and timeouts, and forwards events.

use bytes::Bytes;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot, Notify};
use transport::codec::Value;
use transport::runtime::{Client, ClientConfig, ClientEvents, ConnectError};
use transport::{ConnectionEvent, ConnectionStats, DisconnectReason};

use super::core::LoadBalancingCore;
use super::error::LbError;
use super::event::{Action, ConnectionId, LbEvent, Outcome, RequestId};
use super::options::{
    JoinRandomOptions, LbConfig, LeaveOptions, RaiseEventOptions, RawSendOptions, RoomOptions,
};
use super::room::{Properties, Room, RoomInfo};
use super::state::ClientState;

type Waiter = oneshot::Sender<Result<Outcome, LbError>>;

struct Inner {
    core: LoadBalancingCore,
    client: Option<(ConnectionId, Client)>,
    to_connect: Option<(ConnectionId, String)>,
    waiters: HashMap<RequestId, Waiter>,
    /// The connection the driver is opening.
    connecting: Option<ConnectionId>,
    /// Connections dropped by the core while the driver was still opening them.
    abandoned: Vec<ConnectionId>,
    events: mpsc::UnboundedSender<LbEvent>,
    closed: bool,
}

impl Inner {
    /// Performs the core's actions and forwards its events and completions.
    /// Returns true when the driver must look at something (a connect).
    fn flush(&mut self) -> bool {
        let mut wake = false;
        let mut never_opened = Vec::new();
        loop {
            while let Some(action) = self.core.poll_action() {
                match action {
                    Action::Connect {
                        connection, url, ..
                    } => {
                        self.to_connect = Some((connection, url));
                        wake = true;
                    }
                    Action::EstablishEncryption { connection } => {
                        if let Some((_, client)) =
                            self.client.as_ref().filter(|(id, _)| *id == connection)
                        {
                            client.establish_encryption();
                        }
                    }
                    Action::Send {
                        connection,
                        payload,
                        options,
                    } => {
                        if let Some((_, client)) =
                            self.client.as_ref().filter(|(id, _)| *id == connection)
                        {
                            if let Err(error) = client.send(payload, options) {
                                let _ = self
                                    .events
                                    .send(LbEvent::Error(LbError::SendFailed(error.to_string())));
                            }
                        }
                    }
                    Action::Disconnect { connection } => {
                        if self
                            .client
                            .as_ref()
                            .is_some_and(|(id, _)| *id == connection)
                        {
                            if let Some((_, client)) = self.client.take() {
                                client.disconnect();
                            }
                        } else if self
                            .to_connect
                            .as_ref()
                            .is_some_and(|(id, _)| *id == connection)
                        {
                            // Never opened: it is over at once.
                            self.to_connect = None;
                            never_opened.push(connection);
                        } else if self.connecting == Some(connection) {
                            // Still connecting in the driver: close it when it opens.
                            self.abandoned.push(connection);
                        }
                    }
                }
            }
            if never_opened.is_empty() {
                break;
            }
            for connection in never_opened.drain(..) {
                self.core
                    .handle_disconnected(Instant::now(), connection, DisconnectReason::Local);
            }
        }
        while let Some(event) = self.core.poll_event() {
            let _ = self.events.send(event);
        }
        while let Some(completion) = self.core.poll_completion() {
            if let Some(waiter) = self.waiters.remove(&completion.request) {
                let _ = waiter.send(completion.result);
            }
        }
        wake
    }
}

struct Shared {
    inner: Mutex<Inner>,
    wake: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock only happens on a broken invariant;
        // the state is still consistent enough to keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The load-balancing client for async code (tokio).
///
/// Every `async` method returns once the server answered (or an error
/// happened); state changes and room events arrive through
/// [`next_event`](Self::next_event). Methods that start a flow (create, join,
/// join lobby) connect first when the client is disconnected. The event
/// queue is unbounded: drain it. Dropping the client disconnects it.
pub struct LoadBalancingClient {
    shared: Arc<Shared>,
    events: mpsc::UnboundedReceiver<LbEvent>,
}

impl std::fmt::Debug for LoadBalancingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadBalancingClient")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl LoadBalancingClient {
    /// A disconnected client; its driver task is spawned on the current tokio
    /// runtime (panics outside one, like `tokio::spawn`).
    pub fn new(config: LbConfig, transport: ClientConfig) -> Self {
        Self::with_handle(config, transport, &Handle::current())
    }

    /// A disconnected client whose driver task runs on `handle`'s runtime.
    pub fn with_handle(config: LbConfig, transport: ClientConfig, handle: &Handle) -> Self {
        let (events_tx, events) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                core: LoadBalancingCore::new(config),
                client: None,
                to_connect: None,
                waiters: HashMap::new(),
                connecting: None,
                abandoned: Vec::new(),
                events: events_tx,
                closed: false,
            }),
            wake: Notify::new(),
        });
        handle.spawn(drive(Arc::clone(&shared), transport));
        Self { shared, events }
    }

    /// Runs a command on the core without waiting for its outcome.
    pub(crate) fn command<T>(
        &self,
        f: impl FnOnce(&mut LoadBalancingCore, Instant) -> Result<T, LbError>,
    ) -> Result<T, LbError> {
        let mut inner = self.shared.lock();
        if inner.closed {
            return Err(LbError::Closed);
        }
        let result = f(&mut inner.core, Instant::now());
        inner.flush();
        drop(inner);
        self.shared.wake.notify_one();
        result
    }

    /// Runs a command and waits for its completion.
    async fn request(
        &self,
        f: impl FnOnce(&mut LoadBalancingCore, Instant) -> Result<RequestId, LbError>,
    ) -> Result<Outcome, LbError> {
        let (tx, rx) = oneshot::channel();
        {
            let mut inner = self.shared.lock();
            if inner.closed {
                return Err(LbError::Closed);
            }
            let request = f(&mut inner.core, Instant::now())?;
            inner.waiters.insert(request, tx);
            inner.flush();
        }
        self.shared.wake.notify_one();
        rx.await.unwrap_or(Err(LbError::Closed))
    }

    fn joined(outcome: Outcome) -> Result<(String, i32), LbError> {
        match outcome {
            Outcome::Joined { room, actor } => Ok((room, actor)),
            other => Err(LbError::Protocol(format!(
                "expected to join a room, got {other:?}"
            ))),
        }
    }

    /// Connects and authenticates; returns on the master.
    pub async fn connect(&self) -> Result<(), LbError> {
        self.request(|core, now| core.connect(now)).await.map(drop)
    }

    /// Joins a lobby (`None` = default) to receive the room list.
    pub async fn join_lobby(&self, lobby: Option<String>) -> Result<(), LbError> {
        self.request(|core, now| core.join_lobby(now, lobby))
            .await
            .map(drop)
    }

    /// Creates a room; returns its name and this client's actor number.
    pub async fn create_room(
        &self,
        name: Option<String>,
        options: RoomOptions,
    ) -> Result<(String, i32), LbError> {
        self.request(|core, now| core.create_room(now, name, options))
            .await
            .and_then(Self::joined)
    }

    /// Joins an existing room.
    pub async fn join_room(&self, name: &str) -> Result<(String, i32), LbError> {
        self.request(|core, now| core.join_room(now, name))
            .await
            .and_then(Self::joined)
    }

    /// Joins a room, creating it when it does not exist.
    pub async fn join_or_create_room(
        &self,
        name: &str,
        options: RoomOptions,
    ) -> Result<(String, i32), LbError> {
        self.request(|core, now| core.join_or_create_room(now, name, options))
            .await
            .and_then(Self::joined)
    }

    /// Connects (if needed) and joins or creates `room`: the one call most applications need.
    pub async fn connect_and_join(
        &self,
        room: &str,
        options: RoomOptions,
    ) -> Result<(String, i32), LbError> {
        self.join_or_create_room(room, options).await
    }

    /// Joins a random matching room.
    pub async fn join_random_room(
        &self,
        filter: JoinRandomOptions,
    ) -> Result<(String, i32), LbError> {
        self.request(|core, now| core.join_random_room(now, filter))
            .await
            .and_then(Self::joined)
    }

    /// Rejoins a room as this user's inactive actor.
    pub async fn rejoin_room(&self, name: &str) -> Result<(String, i32), LbError> {
        self.request(|core, now| core.rejoin_room(now, name))
            .await
            .and_then(Self::joined)
    }

    /// After a drop: back into the last room as the same actor.
    pub async fn reconnect_and_rejoin(&self) -> Result<(String, i32), LbError> {
        self.request(|core, now| core.reconnect_and_rejoin(now))
            .await
            .and_then(Self::joined)
    }

    /// After a drop: back to the master.
    pub async fn reconnect_to_master(&self) -> Result<(), LbError> {
        self.request(|core, now| core.reconnect_to_master(now))
            .await
            .map(drop)
    }

    /// Leaves the room; returns back on the master.
    pub async fn leave_room(&self, options: LeaveOptions) -> Result<(), LbError> {
        self.request(|core, now| core.leave_room(now, options))
            .await
            .map(drop)
    }

    /// Disconnects.
    pub async fn disconnect(&self) -> Result<(), LbError> {
        self.request(|core, now| Ok(core.disconnect(now)))
            .await
            .map(drop)
    }

    /// Sets room properties (compare-and-set with `expected`).
    pub async fn set_room_properties(
        &self,
        properties: Properties,
        expected: Option<Properties>,
    ) -> Result<(), LbError> {
        self.request(|core, now| core.set_room_properties(now, properties, expected))
            .await
            .map(drop)
    }

    /// Sets an actor's properties (compare-and-set with `expected`).
    pub async fn set_actor_properties(
        &self,
        actor: i32,
        properties: Properties,
        expected: Option<Properties>,
    ) -> Result<(), LbError> {
        self.request(|core, now| core.set_actor_properties(now, actor, properties, expected))
            .await
            .map(drop)
    }

    /// Raises a custom event (code below 200). Returns once queued.
    pub fn raise_event(
        &self,
        code: u8,
        data: impl Into<Value>,
        options: &RaiseEventOptions,
    ) -> Result<(), LbError> {
        let data = data.into();
        self.command(|core, _| core.raise_event(code, data, options))
    }

    /// Raises an event with a reserved code (Photon Voice's 202...).
    pub fn raise_protocol_event(
        &self,
        code: u8,
        data: impl Into<Value>,
        options: &RaiseEventOptions,
    ) -> Result<(), LbError> {
        let data = data.into();
        self.command(|core, _| core.raise_protocol_event(code, data, options))
    }

    /// Sends a raw frame (the voice fast path).
    pub fn send_raw(&self, payload: Bytes, options: &RawSendOptions) -> Result<(), LbError> {
        self.command(|core, _| core.send_raw(payload, options))
    }

    /// Sends a raw frame from a borrowed slice (one copy into the message).
    pub fn send_raw_slice(&self, payload: &[u8], options: &RawSendOptions) -> Result<(), LbError> {
        self.command(|core, _| core.send_raw_slice(payload, options))
    }

    /// Changes interest groups (`remove` first; `None` = no change; empty = all).
    pub fn change_groups(&self, remove: Option<&[u8]>, add: Option<&[u8]>) -> Result<(), LbError> {
        self.command(|core, _| core.change_groups(remove, add))
    }

    /// The next event; `None` once the client is dropped.
    pub async fn next_event(&mut self) -> Option<LbEvent> {
        self.events.recv().await
    }

    /// The next event if one is queued.
    pub fn try_next_event(&mut self) -> Option<LbEvent> {
        self.events.try_recv().ok()
    }

    /// The current state.
    pub fn state(&self) -> ClientState {
        self.shared.lock().core.state()
    }

    /// A copy of the room this client is in.
    pub fn room(&self) -> Option<Room> {
        self.shared.lock().core.room().cloned()
    }

    /// This client's actor number in the room.
    pub fn local_actor(&self) -> Option<i32> {
        self.shared.lock().core.local_actor()
    }

    /// A copy of the lobby's room list.
    pub fn room_list(&self) -> Vec<RoomInfo> {
        self.shared
            .lock()
            .core
            .room_list()
            .values()
            .cloned()
            .collect()
    }

    /// The user id (configured or assigned by the name server).
    pub fn user_id(&self) -> Option<String> {
        self.shared.lock().core.user_id().map(str::to_owned)
    }

    /// Traffic statistics of the current connection.
    pub fn stats(&self) -> Option<ConnectionStats> {
        self.shared
            .lock()
            .client
            .as_ref()
            .map(|(_, client)| client.stats())
    }

    /// Reads the core under the lock (for anything the accessors above lack).
    pub fn with_core<R>(&self, f: impl FnOnce(&LoadBalancingCore) -> R) -> R {
        f(&self.shared.lock().core)
    }
}

impl Drop for LoadBalancingClient {
    fn drop(&mut self) {
        let mut inner = self.shared.lock();
        inner.closed = true;
        if let Some((_, client)) = inner.client.take() {
            client.disconnect();
        }
        drop(inner);
        self.shared.wake.notify_one();
    }
}

type Connecting =
    Pin<Box<dyn Future<Output = Result<(Client, ClientEvents), ConnectError>> + Send>>;

/// The driver task: connects, feeds transport events and timeouts to the core.
async fn drive(shared: Arc<Shared>, transport: ClientConfig) {
    let mut connecting: Option<(ConnectionId, Connecting)> = None;
    let mut events: Option<(ConnectionId, ClientEvents)> = None;
    loop {
        let deadline = {
            let mut inner = shared.lock();
            if inner.closed {
                return;
            }
            // A connection the core gave up while it was opening: stop now.
            if let Some((id, _)) = connecting.as_ref() {
                let id = *id;
                if let Some(index) = inner
                    .abandoned
                    .iter()
                    .position(|abandoned| *abandoned == id)
                {
                    inner.abandoned.swap_remove(index);
                    inner.connecting = None;
                    connecting = None;
                    inner
                        .core
                        .handle_disconnected(Instant::now(), id, DisconnectReason::Local);
                    inner.flush();
                }
            }
            if let Some((id, url)) = inner.to_connect.take() {
                inner.connecting = Some(id);
                let config = transport.clone();
                connecting = Some((
                    id,
                    Box::pin(async move { Client::connect(&url, config).await }),
                ));
            }
            inner.core.poll_timeout()
        };
        let sleep = async {
            match deadline {
                Some(deadline) => {
                    tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shared.wake.notified() => {}
            result = async { connecting.as_mut().map(|(_, future)| future.as_mut()).expect("guarded").await }, if connecting.is_some() => {
                let Some((id, _)) = connecting.take() else { continue };
                let mut inner = shared.lock();
                inner.connecting = None;
                if let Some(index) = inner.abandoned.iter().position(|abandoned| *abandoned == id) {
                    inner.abandoned.swap_remove(index);
                    if let Ok((client, _)) = result {
                        client.disconnect();
                    }
                    inner.core.handle_disconnected(Instant::now(), id, DisconnectReason::Local);
                    inner.flush();
                    continue;
                }
                match result {
                    Ok((client, client_events)) => {
                        inner.client = Some((id, client));
                        events = Some((id, client_events));
                        inner.core.handle_connected(Instant::now(), id);
                    }
                    Err(error) => inner.core.handle_connect_failed(Instant::now(), id, error.to_string()),
                }
                inner.flush();
            }
            event = async { events.as_mut().map(|(_, e)| e).expect("guarded").recv().await }, if events.is_some() => {
                let Some(id) = events.as_ref().map(|(id, _)| *id) else { continue };
                let mut inner = shared.lock();
                let mut next = event;
                loop {
                    match next {
                        Some(event) => {
                            let ended = matches!(event, ConnectionEvent::Disconnected(_));
                            inner.core.handle_connection_event(Instant::now(), id, event);
                            if ended {
                                events = None;
                                break;
                            }
                        }
                        None => {
                            inner.core.handle_disconnected(Instant::now(), id, DisconnectReason::Transport("the connection's driver stopped".into()));
                            events = None;
                            break;
                        }
                    }
                    // Drain what else is ready under the same lock.
                    match events.as_mut().and_then(|(_, e)| e.try_recv()) {
                        Some(event) => next = Some(event),
                        None => break,
                    }
                }
                inner.flush();
            }
            _ = sleep => {
                let mut inner = shared.lock();
                inner.core.handle_timeout(Instant::now());
                inner.flush();
            }
        }
    }
}
