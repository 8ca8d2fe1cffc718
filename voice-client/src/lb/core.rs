//! The sans-IO load-balancing state machine: commands and accessors. The
//! handlers of transport input are in `flow.rs`.

use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;
use transport::codec::{
    Message, OperationRequest, Parameters, RawRouting, RawSend, TypedArray, Value,
};
use transport::lb::{join_mode, op, param};
use transport::{Protocol, SendOptions};

use super::error::LbError;
use super::event::{Action, Completion, ConnectionId, LbEvent, Outcome, RequestId, ServerKind};
use super::options::{
    JoinRandomOptions, LbConfig, LeaveOptions, RaiseEventOptions, RawSendOptions, Receivers,
    RoomOptions,
};
use super::request::{self, RoomOp};
use super::room::{Properties, Room, RoomInfo};
use super::state::ClientState;

/// What the client works towards; kept across server switches and
/// re-authentication so that it "continues what it was doing".
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Goal {
    /// Be on the master (optionally in the lobby, see `lobby`).
    Master,
    /// Be in the lobby.
    Lobby,
    /// Get into a room.
    Room(RoomOp),
    /// Stay in the room joined.
    InRoom,
    /// Back to the master after leaving a room.
    Left,
    /// Disconnect.
    Disconnect,
}

/// The answer the flow waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepKind {
    /// The transport handshake or the key exchange.
    Connect,
    /// `Authenticate`.
    Authenticate,
    /// `JoinLobby`.
    JoinLobby,
    /// The room operation.
    RoomOp,
    /// `Leave`.
    Leave,
    /// The transport's `Disconnected` after a requested disconnect.
    Disconnect,
}

impl StepKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            StepKind::Connect => "connecting",
            StepKind::Authenticate => "Authenticate",
            StepKind::JoinLobby => "JoinLobby",
            StepKind::RoomOp => "the room operation",
            StepKind::Leave => "Leave",
            StepKind::Disconnect => "disconnecting",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Step {
    pub(crate) kind: StepKind,
    pub(crate) deadline: Instant,
}

/// The current transport connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Conn {
    pub(crate) id: ConnectionId,
    pub(crate) server: ServerKind,
    pub(crate) phase: ConnPhase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnPhase {
    Connecting,
    Encrypting,
    Ready,
}

/// A user operation whose answer is awaited (SetProperties...).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingOp {
    pub(crate) code: u8,
    pub(crate) request: RequestId,
    pub(crate) deadline: Instant,
}

/// The load-balancing client as a sans-IO state machine (Photon's
/// `LoadBalancingClient` without the peer): it consumes transport events and
/// application commands and produces [`Action`]s for a driver, [`LbEvent`]s
/// for the application and [`Completion`]s of requests.
///
/// # Driving it
///
/// - Commands (`connect`, `create_room`, `raise_event`...) and inputs
///   (`handle_connected`, `handle_message`, `handle_disconnected`,
///   `handle_timeout`...) take the current time; time never goes backwards
///   (an earlier `now` is treated as the latest seen).
/// - After every command or input, drain [`poll_action`](Self::poll_action)
///   (perform them in order: connect, encrypt, send, disconnect), then
///   [`poll_event`](Self::poll_event) and [`poll_completion`](Self::poll_completion),
///   until each returns `None`, and re-arm one timer at
///   [`poll_timeout`](Self::poll_timeout).
/// - Transport events carry the [`ConnectionId`] of the [`Action::Connect`]
///   that opened the connection; events of older connections are ignored.
///
/// The two front ends ([`LoadBalancingClient`](super::LoadBalancingClient),
/// [`PolledClient`](super::PolledClient)) do exactly this over the tokio transport.
pub struct LoadBalancingCore {
    pub(crate) config: LbConfig,
    pub(crate) state: ClientState,
    pub(crate) conn: Option<Conn>,
    next_connection: u64,
    next_request: u64,
    pub(crate) last_now: Option<Instant>,
    // Session.
    pub(crate) user_id: Option<String>,
    pub(crate) token: Option<Value>,
    pub(crate) master_url: Option<String>,
    pub(crate) game_url: Option<String>,
    // Intent.
    pub(crate) goal: Goal,
    pub(crate) goal_request: Option<RequestId>,
    pub(crate) lobby_wanted: Option<Option<String>>,
    pub(crate) room_name: Option<String>,
    pub(crate) room: Option<Room>,
    /// Room and actor of the last room, for `reconnect_and_rejoin`.
    pub(crate) last_room: Option<(String, i32)>,
    pub(crate) room_list: BTreeMap<String, RoomInfo>,
    pub(crate) step: Option<Step>,
    pub(crate) pending_ops: VecDeque<PendingOp>,
    pub(crate) reauthentications: u8,
    // Outputs.
    pub(crate) actions: VecDeque<Action>,
    pub(crate) events: VecDeque<LbEvent>,
    pub(crate) completions: VecDeque<Completion>,
}

impl std::fmt::Debug for LoadBalancingCore {
    /// The state, never the token or authentication values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadBalancingCore")
            .field("state", &self.state)
            .field("connection", &self.conn)
            .field("goal", &self.goal)
            .field(
                "room",
                &self
                    .room
                    .as_ref()
                    .map(|room| (&room.name, room.local_actor)),
            )
            .field("has_token", &self.token.is_some())
            .finish_non_exhaustive()
    }
}

impl LoadBalancingCore {
    /// A client in state [`ClientState::PeerCreated`].
    pub fn new(config: LbConfig) -> Self {
        Self {
            user_id: config.user_id.clone(),
            config,
            state: ClientState::PeerCreated,
            conn: None,
            next_connection: 0,
            next_request: 0,
            last_now: None,
            token: None,
            master_url: None,
            game_url: None,
            goal: Goal::Master,
            goal_request: None,
            lobby_wanted: None,
            room_name: None,
            room: None,
            last_room: None,
            room_list: BTreeMap::new(),
            step: None,
            pending_ops: VecDeque::new(),
            reauthentications: 0,
            actions: VecDeque::new(),
            events: VecDeque::new(),
            completions: VecDeque::new(),
        }
    }

    // ----- accessors -----

    /// The current state.
    pub fn state(&self) -> ClientState {
        self.state
    }
    /// The settings.
    pub fn config(&self) -> &LbConfig {
        &self.config
    }
    /// The room this client is in (while [`ClientState::Joined`]).
    pub fn room(&self) -> Option<&Room> {
        self.room.as_ref()
    }
    /// This client's actor number in the room.
    pub fn local_actor(&self) -> Option<i32> {
        self.room.as_ref().map(|room| room.local_actor)
    }
    /// The lobby's room list (updated while in a lobby).
    pub fn room_list(&self) -> &BTreeMap<String, RoomInfo> {
        &self.room_list
    }
    /// The user id (given in the settings or assigned by the name server).
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }
    /// True while a token is held (after authentication at the name server).
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }
    /// The master's address given by the name server.
    pub fn master_address(&self) -> Option<&str> {
        self.master_url.as_deref()
    }
    /// The current game server's address given by the master.
    pub fn game_server_address(&self) -> Option<&str> {
        self.game_url.as_deref()
    }
    /// The server the current connection goes to.
    pub fn server(&self) -> Option<ServerKind> {
        self.conn.map(|conn| conn.server)
    }
    /// The current connection's id.
    pub fn connection(&self) -> Option<ConnectionId> {
        self.conn.map(|conn| conn.id)
    }

    // ----- outputs -----

    /// The next action for the driver.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }
    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<LbEvent> {
        self.events.pop_front()
    }
    /// The next completed request.
    pub fn poll_completion(&mut self) -> Option<Completion> {
        self.completions.pop_front()
    }
    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ops = self.pending_ops.iter().map(|pending| pending.deadline);
        self.step
            .map(|step| step.deadline)
            .into_iter()
            .chain(ops)
            .min()
    }

    // ----- commands -----

    /// Connects to the name server, authenticates and goes to the master.
    /// Completes with [`Outcome::OnMaster`].
    pub fn connect(&mut self, now: Instant) -> Result<RequestId, LbError> {
        self.start(now, "connect", Goal::Master)
    }

    /// Joins a lobby (`None` = the default lobby) to receive its room list.
    /// From a disconnected state it connects first. Completes with [`Outcome::InLobby`].
    pub fn join_lobby(
        &mut self,
        now: Instant,
        lobby: Option<String>,
    ) -> Result<RequestId, LbError> {
        self.lobby_wanted = Some(lobby);
        self.start(now, "join_lobby", Goal::Lobby)
    }

    /// Creates a room (`name` `None` = the server picks one). From a
    /// disconnected state it connects first. Completes with [`Outcome::Joined`].
    pub fn create_room(
        &mut self,
        now: Instant,
        name: Option<String>,
        options: RoomOptions,
    ) -> Result<RequestId, LbError> {
        self.start(
            now,
            "create_room",
            Goal::Room(RoomOp::Create { name, options }),
        )
    }

    /// Joins an existing room by name.
    pub fn join_room(
        &mut self,
        now: Instant,
        name: impl Into<String>,
    ) -> Result<RequestId, LbError> {
        let name = non_empty(name.into(), "join_room")?;
        self.start(
            now,
            "join_room",
            Goal::Room(RoomOp::Join {
                name,
                mode: join_mode::DEFAULT,
            }),
        )
    }

    /// Joins a room, creating it with `options` when it does not exist.
    pub fn join_or_create_room(
        &mut self,
        now: Instant,
        name: impl Into<String>,
        options: RoomOptions,
    ) -> Result<RequestId, LbError> {
        let name = non_empty(name.into(), "join_or_create_room")?;
        self.start(
            now,
            "join_or_create_room",
            Goal::Room(RoomOp::JoinOrCreate { name, options }),
        )
    }

    /// Joins a random open room matching `filter` (fails with `NoRandomMatchFound`).
    pub fn join_random_room(
        &mut self,
        now: Instant,
        filter: JoinRandomOptions,
    ) -> Result<RequestId, LbError> {
        self.start(
            now,
            "join_random_room",
            Goal::Room(RoomOp::JoinRandom { filter }),
        )
    }

    /// Rejoins `name` as the inactive actor this user left behind (same actor
    /// number, within the room's player TTL), through the master.
    pub fn rejoin_room(
        &mut self,
        now: Instant,
        name: impl Into<String>,
    ) -> Result<RequestId, LbError> {
        let name = non_empty(name.into(), "rejoin_room")?;
        self.start(
            now,
            "rejoin_room",
            Goal::Room(RoomOp::Join {
                name,
                mode: join_mode::REJOIN_ONLY,
            }),
        )
    }

    /// After a dropped connection: connects straight to the last game server
    /// with the token kept and rejoins the last room as the same actor
    /// (Photon's `ReconnectAndRejoin`). If the token expired it goes through
    /// the name server and master first.
    pub fn reconnect_and_rejoin(&mut self, now: Instant) -> Result<RequestId, LbError> {
        let now = self.clock(now);
        self.check_disconnected("reconnect_and_rejoin")?;
        let Some((name, _actor)) = self.last_room.clone() else {
            return Err(self.invalid_state(
                "reconnect_and_rejoin",
                "no room was joined before; use join_room",
            ));
        };
        let request = self.new_request();
        self.goal = Goal::Room(RoomOp::Join {
            name: name.clone(),
            mode: join_mode::REJOIN_ONLY,
        });
        self.goal_request = Some(request);
        self.reauthentications = 0;
        self.room_name = Some(name);
        if self.token.is_some() && self.game_url.is_some() {
            self.switch_to(now, ServerKind::GameServer);
        } else {
            self.switch_to(now, ServerKind::NameServer);
        }
        Ok(request)
    }

    /// After a dropped connection: back to the master with the token kept
    /// (Photon's `ReconnectToMaster`); through the name server if it expired.
    pub fn reconnect_to_master(&mut self, now: Instant) -> Result<RequestId, LbError> {
        let now = self.clock(now);
        self.check_disconnected("reconnect_to_master")?;
        let request = self.new_request();
        self.goal = Goal::Master;
        self.goal_request = Some(request);
        self.reauthentications = 0;
        let server = if self.token.is_some() && self.master_url.is_some() {
            ServerKind::MasterServer
        } else {
            ServerKind::NameServer
        };
        self.switch_to(now, server);
        Ok(request)
    }

    /// Leaves the room and goes back to the master (and into the lobby if it
    /// was in one). Completes with [`Outcome::Left`].
    pub fn leave_room(
        &mut self,
        now: Instant,
        options: LeaveOptions,
    ) -> Result<RequestId, LbError> {
        let now = self.clock(now);
        if self.state != ClientState::Joined {
            return Err(self.invalid_state("leave_room", "only possible in a room"));
        }
        let request = self.new_request();
        let mut parameters = Parameters::new();
        if options.become_inactive {
            parameters.insert(param::IS_INACTIVE, true);
        }
        self.send_request(
            OperationRequest {
                code: op::LEAVE,
                parameters,
            },
            false,
        );
        self.goal = Goal::Left;
        self.goal_request = Some(request);
        self.set_step(now, StepKind::Leave);
        self.set_state(ClientState::Leaving);
        Ok(request)
    }

    /// Disconnects from whatever server. Completes with [`Outcome::Disconnected`].
    pub fn disconnect(&mut self, now: Instant) -> RequestId {
        let now = self.clock(now);
        let request = self.new_request();
        if let Some(previous) = self.goal_request.take() {
            self.complete(previous, Err(LbError::Closed));
        }
        self.goal = Goal::Disconnect;
        self.goal_request = Some(request);
        self.room_left();
        match self.conn.take() {
            Some(conn) => {
                self.actions.push_back(Action::Disconnect {
                    connection: conn.id,
                });
                // Keep the id so that the transport's Disconnected is recognised.
                self.conn = Some(Conn {
                    phase: ConnPhase::Ready,
                    ..conn
                });
                self.set_state(ClientState::Disconnecting);
                self.set_step(now, StepKind::Disconnect);
            }
            None => self.finish_disconnect(super::event::DisconnectCause::ClientRequest),
        }
        request
    }

    /// Raises a custom event in the room (Photon's `OpRaiseEvent`). `code`
    /// must be below 200 (the others belong to the protocol).
    pub fn raise_event(
        &mut self,
        code: u8,
        data: impl Into<Value>,
        options: &RaiseEventOptions,
    ) -> Result<(), LbError> {
        if code >= 200 {
            return Err(LbError::InvalidArgument(format!(
                "event code {code} is reserved (200..=255 belong to the protocol and Photon Voice); use 0..=199"
            )));
        }
        self.raise(code, data.into(), options)
    }

    /// Raises an event with a reserved code (200..=254) such as Photon Voice's
    /// 202; for libraries layered on this client.
    pub fn raise_protocol_event(
        &mut self,
        code: u8,
        data: impl Into<Value>,
        options: &RaiseEventOptions,
    ) -> Result<(), LbError> {
        self.raise(code, data.into(), options)
    }

    fn raise(&mut self, code: u8, data: Value, options: &RaiseEventOptions) -> Result<(), LbError> {
        if self.state != ClientState::Joined {
            return Err(self.invalid_state("raise_event", "join a room first"));
        }
        let mut parameters = Parameters::new().with(param::CODE, code);
        if data != Value::Null {
            parameters.insert(param::DATA, data);
        }
        match &options.receivers {
            Receivers::Others => {}
            Receivers::Actors(targets) if targets.is_empty() => {
                return Err(empty_targets());
            }
            Receivers::Actors(targets) => {
                parameters.insert(
                    param::ACTOR_LIST,
                    Value::Array(TypedArray::I32(targets.clone())),
                );
            }
            receivers => parameters.insert(param::RECEIVER_GROUP, receivers.group().to_byte()),
        }
        if options.interest_group != 0 {
            parameters.insert(param::GROUP, options.interest_group);
        }
        if options.caching != 0 {
            parameters.insert(param::CACHE, options.caching);
        }
        let message = Message::Request(OperationRequest {
            code: op::RAISE_EVENT,
            parameters,
        });
        self.send_message(&message, options.send_options())
    }

    /// Sends a raw frame (the voice fast path): relayed by the server without
    /// parsing, received as [`LbEvent::RawFrame`].
    pub fn send_raw(&mut self, payload: Bytes, options: &RawSendOptions) -> Result<(), LbError> {
        self.send_raw_slice(&payload, options)
    }

    /// [`send_raw`](Self::send_raw) from a borrowed frame: the routing header
    /// and the frame are written once into the message sent (one copy, one
    /// allocation per frame).
    pub fn send_raw_slice(
        &mut self,
        payload: &[u8],
        options: &RawSendOptions,
    ) -> Result<(), LbError> {
        if self.state != ClientState::Joined {
            return Err(self.invalid_state("send_raw", "join a room first"));
        }
        let targets = match &options.receivers {
            Receivers::Actors(targets) if targets.is_empty() => return Err(empty_targets()),
            Receivers::Actors(targets) if targets.len() > usize::from(u8::MAX) => {
                return Err(LbError::InvalidArgument(format!(
                    "{} target actors; a raw frame names at most 255 (use an interest group instead)",
                    targets.len()
                )))
            }
            Receivers::Actors(targets) => targets.clone(),
            _ => Vec::new(),
        };
        let Some(conn) = self.conn.filter(|conn| conn.phase == ConnPhase::Ready) else {
            return Err(self.invalid_state("send_raw", "not connected"));
        };
        let routing = RawRouting {
            receivers: options.receivers.group(),
            interest_group: options.interest_group,
            target_count: targets.len() as u8,
        };
        // A raw message's payload is every byte after its header: encode the
        // header with an empty payload, then append the frame.
        let header = Message::RawSend(RawSend {
            routing,
            targets,
            payload: Bytes::new(),
        });
        let mut out = Vec::with_capacity(16 + payload.len());
        header
            .encode(&mut out, &self.config.limits)
            .map_err(|error| {
                LbError::InvalidArgument(format!("the frame cannot be encoded: {error}"))
            })?;
        if out.len() + payload.len() > self.config.limits.max_message_size {
            return Err(LbError::InvalidArgument(format!(
                "a frame of {} bytes exceeds the maximum message size of {} bytes",
                payload.len(),
                self.config.limits.max_message_size
            )));
        }
        out.extend_from_slice(payload);
        self.actions.push_back(Action::Send {
            connection: conn.id,
            payload: Bytes::from(out),
            options: options.send,
        });
        Ok(())
    }

    /// Changes the interest groups this actor receives (Photon's
    /// `OpChangeGroups`): `remove` is applied first; `None` = no change,
    /// an empty slice = all groups.
    pub fn change_groups(
        &mut self,
        remove: Option<&[u8]>,
        add: Option<&[u8]>,
    ) -> Result<(), LbError> {
        if self.state != ClientState::Joined {
            return Err(self.invalid_state("change_groups", "join a room first"));
        }
        let mut parameters = Parameters::new();
        if let Some(groups) = remove {
            parameters.insert(param::REMOVE, request::groups_value(groups));
        }
        if let Some(groups) = add {
            parameters.insert(param::ADD, request::groups_value(groups));
        }
        self.send_message(
            &Message::Request(OperationRequest {
                code: op::CHANGE_GROUPS,
                parameters,
            }),
            SendOptions::RELIABLE,
        )
    }

    /// Sets room properties; with `expected`, only if the room's current
    /// values equal them (compare-and-set). Completes with [`Outcome::Done`].
    pub fn set_room_properties(
        &mut self,
        now: Instant,
        properties: Properties,
        expected: Option<Properties>,
    ) -> Result<RequestId, LbError> {
        self.set_properties(now, 0, properties, expected)
    }

    /// Sets an actor's properties (compare-and-set with `expected`).
    pub fn set_actor_properties(
        &mut self,
        now: Instant,
        actor: i32,
        properties: Properties,
        expected: Option<Properties>,
    ) -> Result<RequestId, LbError> {
        if actor <= 0 {
            return Err(LbError::InvalidArgument(format!("actor number {actor}: actors are numbered from 1; use set_room_properties for the room")));
        }
        self.set_properties(now, actor, properties, expected)
    }

    fn set_properties(
        &mut self,
        now: Instant,
        actor: i32,
        properties: Properties,
        expected: Option<Properties>,
    ) -> Result<RequestId, LbError> {
        let now = self.clock(now);
        if self.state != ClientState::Joined {
            return Err(self.invalid_state("set_properties", "join a room first"));
        }
        if properties.is_empty() {
            return Err(LbError::InvalidArgument("no properties to set".into()));
        }
        let mut parameters = Parameters::new()
            .with(param::PROPERTIES, properties.to_value())
            .with(param::BROADCAST, true);
        if actor != 0 {
            parameters.insert(param::ACTOR_NR, actor);
        }
        if let Some(expected) = expected {
            parameters.insert(param::EXPECTED_VALUES, expected.to_value());
        }
        self.send_message(
            &Message::Request(OperationRequest {
                code: op::SET_PROPERTIES,
                parameters,
            }),
            SendOptions::RELIABLE,
        )?;
        let request = self.new_request();
        let deadline = now + self.config.operation_timeout;
        self.pending_ops.push_back(PendingOp {
            code: op::SET_PROPERTIES,
            request,
            deadline,
        });
        Ok(request)
    }

    // ----- internals shared with flow.rs -----

    pub(crate) fn clock(&mut self, now: Instant) -> Instant {
        let now = match self.last_now {
            Some(last) if last > now => last,
            _ => now,
        };
        self.last_now = Some(now);
        now
    }

    fn new_request(&mut self) -> RequestId {
        self.next_request += 1;
        RequestId(self.next_request)
    }

    pub(crate) fn invalid_state(&self, operation: &'static str, hint: &'static str) -> LbError {
        LbError::InvalidState {
            operation,
            state: self.state,
            hint,
        }
    }

    fn check_disconnected(&self, operation: &'static str) -> Result<(), LbError> {
        if self.state.is_disconnected() {
            Ok(())
        } else {
            Err(self.invalid_state(operation, "only possible while disconnected"))
        }
    }

    /// Starts a goal: from a disconnected state by connecting, on the master at once.
    fn start(
        &mut self,
        now: Instant,
        operation: &'static str,
        goal: Goal,
    ) -> Result<RequestId, LbError> {
        let now = self.clock(now);
        let on_master = self.state.is_on_master() && self.step.is_none();
        if !on_master {
            self.check_config()?;
        }
        if !self.state.is_disconnected() && !on_master {
            return Err(self.invalid_state(
                operation,
                "wait until connected to the master (or disconnected)",
            ));
        }
        if goal == Goal::Master && on_master {
            return Err(self.invalid_state(operation, "already connected"));
        }
        let request = self.new_request();
        self.goal = goal;
        self.goal_request = Some(request);
        self.reauthentications = 0;
        if on_master {
            self.continue_on_master(now);
        } else {
            self.room_name = None;
            self.switch_to(now, ServerKind::NameServer);
        }
        Ok(request)
    }

    /// Refuses settings that cannot work before anything is sent.
    fn check_config(&self) -> Result<(), LbError> {
        if self.config.app_id.trim().is_empty() {
            return Err(LbError::InvalidArgument(
                "LbConfig::app_id is empty: set the application id the server expects".into(),
            ));
        }
        if url_protocol(&self.config.name_server).is_none() {
            return Err(LbError::InvalidAddress(self.config.name_server.clone()));
        }
        Ok(())
    }

    pub(crate) fn set_state(&mut self, to: ClientState) {
        if self.state != to {
            let from = std::mem::replace(&mut self.state, to);
            tracing::debug!(%from, %to, "load-balancing state");
            self.events.push_back(LbEvent::StateChanged { from, to });
        }
    }

    pub(crate) fn set_step(&mut self, now: Instant, kind: StepKind) {
        self.step = Some(Step {
            kind,
            deadline: now + self.config.operation_timeout,
        });
    }

    pub(crate) fn complete(&mut self, request: RequestId, result: Result<Outcome, LbError>) {
        self.completions.push_back(Completion { request, result });
    }

    /// Completes the goal's request.
    pub(crate) fn complete_goal(&mut self, result: Result<Outcome, LbError>) {
        if let Some(request) = self.goal_request.take() {
            self.complete(request, result);
        }
    }

    /// Opens a connection to `server` (closing the current one).
    pub(crate) fn switch_to(&mut self, now: Instant, server: ServerKind) {
        if let Some(conn) = self.conn.take() {
            self.actions.push_back(Action::Disconnect {
                connection: conn.id,
            });
        }
        let url = match server {
            ServerKind::NameServer => Some(self.config.name_server.clone()),
            ServerKind::MasterServer => self.master_url.clone(),
            ServerKind::GameServer => self.game_url.clone(),
        };
        let Some(url) = url.filter(|url| url_protocol(url).is_some()) else {
            let shown = match server {
                ServerKind::NameServer => self.config.name_server.clone(),
                ServerKind::MasterServer => self.master_url.clone().unwrap_or_default(),
                ServerKind::GameServer => self.game_url.clone().unwrap_or_default(),
            };
            self.fail_session(LbError::InvalidAddress(shown));
            return;
        };
        self.next_connection += 1;
        let id = ConnectionId(self.next_connection);
        self.conn = Some(Conn {
            id,
            server,
            phase: ConnPhase::Connecting,
        });
        self.actions.push_back(Action::Connect {
            connection: id,
            server,
            url,
        });
        self.set_step(now, StepKind::Connect);
        self.set_state(match server {
            ServerKind::NameServer => ClientState::ConnectingToNameServer,
            ServerKind::MasterServer => ClientState::ConnectingToMasterServer,
            ServerKind::GameServer => ClientState::ConnectingToGameServer,
        });
    }

    /// The protocol of the current connection.
    pub(crate) fn conn_protocol(&self) -> Option<Protocol> {
        let url = match self.conn?.server {
            ServerKind::NameServer => Some(&self.config.name_server),
            ServerKind::MasterServer => self.master_url.as_ref(),
            ServerKind::GameServer => self.game_url.as_ref(),
        }?;
        url_protocol(url)
    }

    /// Encodes and queues a message on the current connection.
    pub(crate) fn send_message(
        &mut self,
        message: &Message,
        options: SendOptions,
    ) -> Result<(), LbError> {
        let Some(conn) = self.conn.filter(|conn| conn.phase == ConnPhase::Ready) else {
            return Err(self.invalid_state("send", "not connected"));
        };
        let mut out = Vec::new();
        message
            .encode(&mut out, &self.config.limits)
            .map_err(|error| {
                LbError::InvalidArgument(format!("the message cannot be encoded: {error}"))
            })?;
        let payload = Bytes::from(out);
        self.actions.push_back(Action::Send {
            connection: conn.id,
            payload,
            options,
        });
        Ok(())
    }

    /// Sends a flow request (errors cannot happen on a ready connection with
    /// our own well-formed requests; if they do, the session fails with the reason).
    pub(crate) fn send_request(&mut self, request: OperationRequest, encrypt: bool) {
        let options = SendOptions::RELIABLE.encrypted(encrypt);
        if let Err(error) = self.send_message(&Message::Request(request), options) {
            self.fail_session(error);
        }
    }

    /// Forgets the current room (keeping what a rejoin needs).
    pub(crate) fn room_left(&mut self) {
        if let Some(room) = self.room.take() {
            self.last_room = Some((room.name, room.local_actor));
        }
        self.pending_ops.clear();
    }
}

/// The protocol of a `scheme://` URL.
pub(crate) fn url_protocol(url: &str) -> Option<Protocol> {
    let (scheme, rest) = url.split_once("://")?;
    if rest.is_empty() {
        return None;
    }
    Protocol::from_scheme(scheme)
}

fn non_empty(name: String, operation: &str) -> Result<String, LbError> {
    if name.is_empty() {
        Err(LbError::InvalidArgument(format!(
            "{operation}: the room name is empty"
        )))
    } else {
        Ok(name)
    }
}

fn empty_targets() -> LbError {
    LbError::InvalidArgument(
        "Receivers::Actors is empty: name at least one actor, or use Receivers::Others".into(),
    )
}
