//! The polling front end for game loops: no async in sight.

use bytes::Bytes;
use transport::codec::Value;
use transport::runtime::ClientConfig;

use super::client::LoadBalancingClient;
use super::error::LbError;
use super::event::{LbEvent, RequestId};
use super::options::{
    JoinRandomOptions, LbConfig, LeaveOptions, RaiseEventOptions, RawSendOptions, RoomOptions,
};
use super::room::{Properties, Room, RoomInfo};
use super::state::ClientState;

/// The load-balancing client for a game loop (Photon's "call `Service()` once
/// per frame" model).
///
/// It owns a private tokio runtime with one worker thread (named
/// `lb-driver`) that keeps the connections alive (ACKs, pings, resends)
/// between frames. Every method returns at once: commands that take a
/// round trip return a [`RequestId`] and their outcome arrives as events
/// ([`LbEvent::Joined`], [`LbEvent::StateChanged`], [`LbEvent::Error`],
/// [`LbEvent::Disconnected`]). Call [`service`](Self::service) (or
/// [`poll_event`](Self::poll_event) in a loop) once per frame.
///
/// Do not create it inside an async context (it owns a runtime). Call
/// [`disconnect`](Self::disconnect) and service until [`LbEvent::Disconnected`]
/// for a clean exit; dropping it also tries, for at most [`DROP_GRACE`].
pub struct PolledClient {
    client: LoadBalancingClient,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for PolledClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolledClient")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl PolledClient {
    /// A disconnected client with its background runtime (fails only if the
    /// thread cannot be started).
    pub fn new(config: LbConfig, transport: ClientConfig) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("lb-driver")
            .enable_all()
            .build()?;
        let client = {
            let _guard = runtime.enter();
            LoadBalancingClient::with_handle(config, transport, runtime.handle())
        };
        Ok(Self {
            client,
            runtime: Some(runtime),
        })
    }

    /// Every event that happened since the last call. Call once per frame.
    pub fn service(&mut self) -> Vec<LbEvent> {
        std::iter::from_fn(|| self.client.try_next_event()).collect()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<LbEvent> {
        self.client.try_next_event()
    }

    /// Connects and authenticates (ends on the master).
    pub fn connect(&self) -> Result<RequestId, LbError> {
        self.client.command(|core, now| core.connect(now))
    }

    /// Joins a lobby (`None` = default).
    pub fn join_lobby(&self, lobby: Option<String>) -> Result<RequestId, LbError> {
        self.client.command(|core, now| core.join_lobby(now, lobby))
    }

    /// Creates a room (connecting first when disconnected).
    pub fn create_room(
        &self,
        name: Option<String>,
        options: RoomOptions,
    ) -> Result<RequestId, LbError> {
        self.client
            .command(|core, now| core.create_room(now, name, options))
    }

    /// Joins a room by name.
    pub fn join_room(&self, name: &str) -> Result<RequestId, LbError> {
        self.client.command(|core, now| core.join_room(now, name))
    }

    /// Joins or creates a room.
    pub fn join_or_create_room(
        &self,
        name: &str,
        options: RoomOptions,
    ) -> Result<RequestId, LbError> {
        self.client
            .command(|core, now| core.join_or_create_room(now, name, options))
    }

    /// Joins a random matching room.
    pub fn join_random_room(&self, filter: JoinRandomOptions) -> Result<RequestId, LbError> {
        self.client
            .command(|core, now| core.join_random_room(now, filter))
    }

    /// Rejoins a room as this user's inactive actor.
    pub fn rejoin_room(&self, name: &str) -> Result<RequestId, LbError> {
        self.client.command(|core, now| core.rejoin_room(now, name))
    }

    /// After a drop: back into the last room as the same actor.
    pub fn reconnect_and_rejoin(&self) -> Result<RequestId, LbError> {
        self.client
            .command(|core, now| core.reconnect_and_rejoin(now))
    }

    /// Leaves the room (back to the master).
    pub fn leave_room(&self, options: LeaveOptions) -> Result<RequestId, LbError> {
        self.client
            .command(|core, now| core.leave_room(now, options))
    }

    /// Disconnects.
    pub fn disconnect(&self) -> Result<RequestId, LbError> {
        self.client.command(|core, now| Ok(core.disconnect(now)))
    }

    /// Sets room properties (compare-and-set with `expected`).
    pub fn set_room_properties(
        &self,
        properties: Properties,
        expected: Option<Properties>,
    ) -> Result<RequestId, LbError> {
        self.client
            .command(|core, now| core.set_room_properties(now, properties, expected))
    }

    /// Sets actor properties (compare-and-set with `expected`).
    pub fn set_actor_properties(
        &self,
        actor: i32,
        properties: Properties,
        expected: Option<Properties>,
    ) -> Result<RequestId, LbError> {
        self.client
            .command(|core, now| core.set_actor_properties(now, actor, properties, expected))
    }

    /// Raises a custom event.
    pub fn raise_event(
        &self,
        code: u8,
        data: impl Into<Value>,
        options: &RaiseEventOptions,
    ) -> Result<(), LbError> {
        self.client.raise_event(code, data, options)
    }

    /// Sends a raw frame.
    pub fn send_raw(&self, payload: Bytes, options: &RawSendOptions) -> Result<(), LbError> {
        self.client.send_raw(payload, options)
    }

    /// Changes interest groups.
    pub fn change_groups(&self, remove: Option<&[u8]>, add: Option<&[u8]>) -> Result<(), LbError> {
        self.client.change_groups(remove, add)
    }

    /// The current state.
    pub fn state(&self) -> ClientState {
        self.client.state()
    }

    /// A copy of the room.
    pub fn room(&self) -> Option<Room> {
        self.client.room()
    }

    /// A copy of the lobby's room list.
    pub fn room_list(&self) -> Vec<RoomInfo> {
        self.client.room_list()
    }

    /// The async client inside (shares the same connection).
    pub fn client(&self) -> &LoadBalancingClient {
        &self.client
    }
}

impl Drop for PolledClient {
    /// Disconnects gracefully (the server sees a disconnect, not a timeout),
    /// waiting at most [`DROP_GRACE`] for it, then stops the runtime. Inside an
    /// async context it cannot wait and only stops the runtime.
    fn drop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        let connected = !self.client.state().is_disconnected();
        if connected && tokio::runtime::Handle::try_current().is_err() {
            let _ = self.client.command(|core, now| Ok(core.disconnect(now)));
            let client = &self.client;
            runtime.block_on(async {
                let deadline = tokio::time::Instant::now() + DROP_GRACE;
                while !client.state().is_disconnected() && tokio::time::Instant::now() < deadline {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            });
        }
        runtime.shutdown_background();
    }
}

/// Longest a dropped [`PolledClient`] waits for its graceful disconnect: 250 ms.
pub const DROP_GRACE: std::time::Duration = std::time::Duration::from_millis(250);
