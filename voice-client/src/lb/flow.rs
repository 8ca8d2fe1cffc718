//! Transport input of the core: connection status, operation answers and
//! server events, and the name → master → game flow they drive.

use bytes::Bytes;
use std::time::Instant;
use transport::codec::{EventData, Message, OperationResponse, Parameters, Value};
use transport::lb::{error as code, event, op, param, room_key};
use transport::{ConnectionEvent, DisconnectReason};

use super::core::{ConnPhase, Goal, LoadBalancingCore, StepKind};
use super::error::LbError;
use super::event::{Action, ConnectionId, DisconnectCause, LbEvent, Outcome, ServerKind};
use super::request;
use super::room::{actor_numbers, Actor, Properties, Room, RoomInfo};
use super::state::ClientState;

impl LoadBalancingCore {
    fn is_current(&self, connection: ConnectionId) -> bool {
        self.conn.is_some_and(|conn| conn.id == connection)
    }

    /// Feeds one transport event of `connection` (a convenience over the
    /// `handle_*` methods below).
    pub fn handle_connection_event(
        &mut self,
        now: Instant,
        connection: ConnectionId,
        event: ConnectionEvent,
    ) {
        match event {
            ConnectionEvent::Connected => self.handle_connected(now, connection),
            ConnectionEvent::EncryptionEstablished => {
                self.handle_encryption_established(now, connection)
            }
            ConnectionEvent::EncryptionFailedToEstablish(reason) => {
                self.handle_encryption_failed(now, connection, reason)
            }
            ConnectionEvent::Message(message) => {
                self.handle_message(now, connection, &message.payload)
            }
            ConnectionEvent::Disconnected(reason) => {
                self.handle_disconnected(now, connection, reason)
            }
            _ => {}
        }
    }

    /// The transport connected (handshake done). Repeated calls are harmless.
    pub fn handle_connected(&mut self, now: Instant, connection: ConnectionId) {
        let now = self.clock(now);
        if !self.is_current(connection) {
            return;
        }
        let Some(mut conn) = self.conn.filter(|conn| conn.phase == ConnPhase::Connecting) else {
            return;
        };
        if self
            .conn_protocol()
            .is_some_and(|protocol| protocol.is_secure())
        {
            // TLS already protects everything: no key exchange over WSS or TLS.
            conn.phase = ConnPhase::Ready;
            self.conn = Some(conn);
            self.on_ready(now);
        } else {
            conn.phase = ConnPhase::Encrypting;
            self.conn = Some(conn);
            self.actions
                .push_back(Action::EstablishEncryption { connection });
            self.set_step(now, StepKind::Connect);
        }
    }

    /// Connecting failed; `reason` is the transport's error text.
    pub fn handle_connect_failed(
        &mut self,
        now: Instant,
        connection: ConnectionId,
        reason: impl Into<String>,
    ) {
        self.clock(now);
        if !self.is_current(connection) {
            return;
        }
        let Some(conn) = self.conn else { return };
        let url = self.current_url().unwrap_or_default();
        self.conn = None;
        self.fail_session(LbError::ConnectFailed {
            server: conn.server.as_str(),
            url,
            reason: reason.into(),
        });
    }

    /// The key exchange completed.
    pub fn handle_encryption_established(&mut self, now: Instant, connection: ConnectionId) {
        let now = self.clock(now);
        if !self.is_current(connection) {
            return;
        }
        if let Some(mut conn) = self.conn.filter(|conn| conn.phase == ConnPhase::Encrypting) {
            conn.phase = ConnPhase::Ready;
            self.conn = Some(conn);
            self.on_ready(now);
        }
    }

    /// The key exchange failed: authentication is never sent in the clear, so the session ends.
    pub fn handle_encryption_failed(
        &mut self,
        now: Instant,
        connection: ConnectionId,
        reason: impl Into<String>,
    ) {
        self.clock(now);
        if self.is_current(connection) {
            self.fail_session(LbError::EncryptionFailed(reason.into()));
        }
    }

    /// The transport connection ended.
    pub fn handle_disconnected(
        &mut self,
        now: Instant,
        connection: ConnectionId,
        reason: DisconnectReason,
    ) {
        self.clock(now);
        if !self.is_current(connection) {
            return;
        }
        if self.state == ClientState::Disconnecting {
            self.finish_disconnect(DisconnectCause::ClientRequest);
            return;
        }
        let server = self
            .conn
            .map(|conn| conn.server)
            .unwrap_or(ServerKind::NameServer);
        self.conn = None;
        self.step = None;
        let lost = LbError::ConnectionLost {
            server: server.as_str(),
            reason: format!("{reason:?}"),
        };
        self.complete_goal(Err(lost.clone()));
        self.fail_pending_ops(&lost);
        self.room_left();
        self.goal = Goal::Master;
        self.set_state(ClientState::Disconnected);
        self.events
            .push_back(LbEvent::Disconnected(DisconnectCause::Transport(reason)));
    }

    /// Deadlines passed (spurious calls are harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock(now);
        while let Some(pending) = self
            .pending_ops
            .front()
            .copied()
            .filter(|pending| pending.deadline <= now)
        {
            self.pending_ops.pop_front();
            let error = LbError::Timeout {
                operation: op::name(pending.code),
                timeout: self.config.operation_timeout,
            };
            self.complete(pending.request, Err(error.clone()));
            self.events.push_back(LbEvent::Error(error));
        }
        let Some(step) = self.step.filter(|step| step.deadline <= now) else {
            return;
        };
        self.step = None;
        match step.kind {
            StepKind::Disconnect => self.finish_disconnect(DisconnectCause::ClientRequest),
            kind => self.fail_session(LbError::Timeout {
                operation: kind.name(),
                timeout: self.config.operation_timeout,
            }),
        }
    }

    /// A message arrived on `connection`.
    pub fn handle_message(&mut self, now: Instant, connection: ConnectionId, payload: &Bytes) {
        let now = self.clock(now);
        if !self.is_current(connection) {
            return;
        }
        match Message::decode(payload, &self.config.limits) {
            Ok(Message::Response(response)) => self.on_response(now, response),
            Ok(Message::Event(event)) => self.on_event(event),
            Ok(Message::RawEvent(raw)) => self.events.push_back(LbEvent::RawFrame {
                sender: raw.sender,
                payload: raw.payload,
            }),
            Ok(other) => self
                .events
                .push_back(LbEvent::Error(LbError::Protocol(format!(
                    "the server sent a client-side message kind {:#04x}; ignored",
                    other.kind_byte()
                )))),
            Err(error) => self
                .events
                .push_back(LbEvent::Error(LbError::Protocol(format!(
                    "a message of {} bytes did not decode ({error}); ignored",
                    payload.len()
                )))),
        }
    }

    // ----- flow -----

    fn current_url(&self) -> Option<String> {
        match self.conn?.server {
            ServerKind::NameServer => Some(self.config.name_server.clone()),
            ServerKind::MasterServer => self.master_url.clone(),
            ServerKind::GameServer => self.game_url.clone(),
        }
    }

    /// The connection is ready (encrypted, or WSS): authenticate.
    fn on_ready(&mut self, now: Instant) {
        let Some(conn) = self.conn else { return };
        let request = match conn.server {
            ServerKind::NameServer => {
                self.set_state(ClientState::ConnectedToNameServer);
                request::authenticate_name_server(&self.config, self.user_id.as_deref())
            }
            _ => match &self.token {
                Some(token) => request::authenticate_token(token),
                None => {
                    self.switch_to(now, ServerKind::NameServer);
                    return;
                }
            },
        };
        self.set_state(ClientState::Authenticating);
        self.set_step(now, StepKind::Authenticate);
        self.send_request(request, true);
    }

    fn on_response(&mut self, now: Instant, response: OperationResponse) {
        let step = self.step.map(|step| step.kind);
        let flow = match (step, response.code) {
            (Some(StepKind::Authenticate), op::AUTHENTICATE | op::AUTHENTICATE_ONCE) => {
                Some(StepKind::Authenticate)
            }
            (Some(StepKind::JoinLobby), op::JOIN_LOBBY) => Some(StepKind::JoinLobby),
            (Some(StepKind::RoomOp), op::CREATE_GAME | op::JOIN_GAME | op::JOIN_RANDOM_GAME) => {
                Some(StepKind::RoomOp)
            }
            (Some(StepKind::Leave), op::LEAVE) => Some(StepKind::Leave),
            _ => None,
        };
        if let Some(parameter) = response.parameters.get(param::TOKEN) {
            self.token = Some(parameter.clone());
        }
        match flow {
            Some(kind) => {
                self.step = None;
                match kind {
                    StepKind::Authenticate => self.on_authenticated(now, response),
                    StepKind::JoinLobby => self.on_lobby_joined(now, response),
                    StepKind::RoomOp => self.on_room_answer(now, response),
                    _ => self.on_left(now, response),
                }
            }
            None => self.on_other_response(response),
        }
    }

    fn on_other_response(&mut self, response: OperationResponse) {
        let error = (response.return_code != code::OK).then(|| {
            LbError::from_response(
                response.code,
                response.return_code,
                response.debug_message.as_deref(),
            )
        });
        match self
            .pending_ops
            .iter()
            .position(|pending| pending.code == response.code)
        {
            Some(index) => {
                let pending = self
                    .pending_ops
                    .remove(index)
                    .expect("index was just found");
                self.complete(
                    pending.request,
                    error.clone().map_or(Ok(Outcome::Done), Err),
                );
                if let Some(error) = error {
                    self.events.push_back(LbEvent::Error(error));
                }
            }
            None => {
                if let Some(error) = error {
                    self.events.push_back(LbEvent::Error(error));
                }
            }
        }
    }

    fn response_error(response: &OperationResponse) -> LbError {
        LbError::from_response(
            response.code,
            response.return_code,
            response.debug_message.as_deref(),
        )
    }

    fn on_authenticated(&mut self, now: Instant, response: OperationResponse) {
        let server = self
            .conn
            .map(|conn| conn.server)
            .unwrap_or(ServerKind::NameServer);
        if response.return_code != code::OK {
            if response.return_code == code::AUTHENTICATION_TICKET_EXPIRED
                && server != ServerKind::NameServer
            {
                self.reauthenticate(now, Self::response_error(&response));
            } else {
                self.fail_session(Self::response_error(&response));
            }
            return;
        }
        match server {
            ServerKind::NameServer => {
                let address = response
                    .parameters
                    .get(param::ADDRESS)
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let (Some(address), true) = (address, self.token.is_some()) else {
                    self.fail_session(LbError::Protocol(
                        "the name server's Authenticate answer lacks ADDRESS or TOKEN".into(),
                    ));
                    return;
                };
                if let Some(user) = response
                    .parameters
                    .get(param::USER_ID)
                    .and_then(Value::as_str)
                {
                    self.user_id = Some(user.to_owned());
                }
                self.master_url = Some(address);
                self.set_state(ClientState::Authenticated);
                self.switch_to(now, ServerKind::MasterServer);
            }
            ServerKind::MasterServer => {
                self.set_state(ClientState::ConnectedToMasterServer);
                self.continue_on_master(now);
            }
            ServerKind::GameServer => {
                let Goal::Room(room_op) = self.goal.clone() else {
                    // Nothing to do on a game server: back to the master.
                    self.switch_to(now, ServerKind::MasterServer);
                    return;
                };
                let request =
                    request::room_request(&room_op, self.room_name.as_deref(), true, &self.config);
                self.set_state(ClientState::Joining);
                self.set_step(now, StepKind::RoomOp);
                self.send_request(request, false);
            }
        }
    }

    /// Goes back to the name server after `AuthenticationTicketExpired`,
    /// keeping the goal, within `max_reauthentications`.
    fn reauthenticate(&mut self, now: Instant, error: LbError) {
        tracing::info!(%error, "token expired: authenticating at the name server again");
        self.reauthentications = self.reauthentications.saturating_add(1);
        if self.reauthentications > self.config.max_reauthentications {
            self.fail_session(LbError::TokenExpired(error.to_string()));
            return;
        }
        self.token = None;
        self.switch_to(now, ServerKind::NameServer);
    }

    /// On the master and authenticated: do what the goal says.
    pub(crate) fn continue_on_master(&mut self, now: Instant) {
        match self.goal.clone() {
            Goal::Master | Goal::InRoom => {
                self.goal = Goal::Master;
                if self.lobby_wanted.is_some() {
                    self.send_join_lobby(now);
                } else {
                    self.reauthentications = 0;
                    self.complete_goal(Ok(Outcome::OnMaster));
                }
            }
            Goal::Lobby => self.send_join_lobby(now),
            Goal::Room(room_op) => {
                let request = request::room_request(&room_op, None, false, &self.config);
                self.room_name = room_op.name().map(str::to_owned);
                self.set_state(ClientState::Joining);
                self.set_step(now, StepKind::RoomOp);
                self.send_request(request, false);
            }
            Goal::Left => {
                self.reauthentications = 0;
                self.complete_goal(Ok(Outcome::Left));
                self.goal = Goal::Master;
                if self.lobby_wanted.is_some() {
                    self.send_join_lobby(now);
                }
            }
            Goal::Disconnect => {}
        }
    }

    fn send_join_lobby(&mut self, now: Instant) {
        let lobby = self.lobby_wanted.clone().flatten();
        self.set_state(ClientState::JoiningLobby);
        self.set_step(now, StepKind::JoinLobby);
        self.send_request(request::join_lobby(lobby.as_deref()), false);
    }

    fn on_lobby_joined(&mut self, now: Instant, response: OperationResponse) {
        if response.return_code == code::AUTHENTICATION_TICKET_EXPIRED {
            self.reauthenticate(now, Self::response_error(&response));
            return;
        }
        if response.return_code != code::OK {
            let error = Self::response_error(&response);
            self.lobby_wanted = None;
            self.goal = Goal::Master;
            self.set_state(ClientState::ConnectedToMasterServer);
            self.complete_goal(Err(error.clone()));
            self.events.push_back(LbEvent::Error(error));
            return;
        }
        self.set_state(ClientState::JoinedLobby);
        let outcome = if self.goal == Goal::Lobby {
            Outcome::InLobby
        } else {
            Outcome::OnMaster
        };
        self.goal = Goal::Master;
        self.reauthentications = 0;
        self.complete_goal(Ok(outcome));
    }

    fn on_room_answer(&mut self, now: Instant, response: OperationResponse) {
        let server = self
            .conn
            .map(|conn| conn.server)
            .unwrap_or(ServerKind::MasterServer);
        if response.return_code == code::AUTHENTICATION_TICKET_EXPIRED {
            self.reauthenticate(now, Self::response_error(&response));
            return;
        }
        if response.return_code != code::OK {
            let error = Self::response_error(&response);
            self.goal = Goal::Master;
            self.complete_goal(Err(error.clone()));
            self.events.push_back(LbEvent::Error(error));
            if server == ServerKind::GameServer {
                // As Photon does: back to the master after failing on the game server.
                self.switch_to(now, ServerKind::MasterServer);
            } else if self.lobby_wanted.is_some() {
                self.send_join_lobby(now);
            } else {
                self.set_state(ClientState::ConnectedToMasterServer);
            }
            return;
        }
        if server == ServerKind::MasterServer {
            let address = response
                .parameters
                .get(param::ADDRESS)
                .and_then(Value::as_str)
                .map(str::to_owned);
            let name = response
                .parameters
                .get(param::ROOM_NAME)
                .and_then(Value::as_str)
                .map(str::to_owned);
            let name = name.or_else(|| self.room_name.clone());
            let (Some(address), Some(name)) = (address, name) else {
                self.fail_session(LbError::Protocol(
                    "the master's answer lacks the game server ADDRESS or ROOM_NAME".into(),
                ));
                return;
            };
            self.game_url = Some(address);
            self.room_name = Some(name);
            self.switch_to(now, ServerKind::GameServer);
            return;
        }
        self.enter_room(response);
    }

    fn enter_room(&mut self, response: OperationResponse) {
        let parameters = &response.parameters;
        let Some(actor) = parameters
            .get(param::ACTOR_NR)
            .and_then(Value::as_i64)
            .and_then(|v| i32::try_from(v).ok())
        else {
            self.fail_session(LbError::Protocol(
                "the game server's join answer lacks ACTOR_NR".into(),
            ));
            return;
        };
        let name = parameters
            .get(param::ROOM_NAME)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| self.room_name.clone())
            .unwrap_or_default();
        let mut room = Room {
            name: name.clone(),
            local_actor: actor,
            ..Room::default()
        };
        if let Some(properties) = parameters
            .get(param::GAME_PROPERTIES)
            .and_then(Properties::from_value)
        {
            room.properties = properties;
        }
        if let Some(all) = parameters
            .get(param::PLAYER_PROPERTIES)
            .and_then(Properties::from_value)
        {
            for (key, value) in all.iter() {
                let (Some(number), Some(properties)) = (int(key), Properties::from_value(value))
                else {
                    continue;
                };
                room.actors
                    .insert(number, Actor::from_properties(number, properties));
            }
        }
        for number in parameters
            .get(param::ACTOR_LIST)
            .map(actor_numbers)
            .unwrap_or_default()
        {
            room.actors.entry(number).or_insert_with(|| Actor {
                number,
                ..Actor::default()
            });
        }
        let local = room.actors.entry(actor).or_insert_with(|| Actor {
            number: actor,
            ..Actor::default()
        });
        local.is_inactive = false;
        if let (true, Some(nickname)) = (local.nickname.is_empty(), self.config.nickname.clone()) {
            local.nickname = nickname;
        }
        room.master_client = parameters
            .get(param::MASTER_CLIENT_ID)
            .or_else(|| room.properties.get_byte(room_key::MASTER_CLIENT_ID))
            .and_then(int)
            .unwrap_or(0);
        let rejoined = matches!(&self.goal, Goal::Room(room_op) if room_op.is_rejoin());
        let created = matches!(&self.goal, Goal::Room(request::RoomOp::Create { .. }));
        self.room = Some(room);
        self.last_room = Some((name.clone(), actor));
        self.goal = Goal::InRoom;
        self.reauthentications = 0;
        self.set_state(ClientState::Joined);
        self.events.push_back(LbEvent::Joined {
            room: name.clone(),
            actor,
            created,
            rejoined,
        });
        self.complete_goal(Ok(Outcome::Joined { room: name, actor }));
    }

    fn on_left(&mut self, now: Instant, response: OperationResponse) {
        if response.return_code != code::OK {
            self.events
                .push_back(LbEvent::Error(Self::response_error(&response)));
        }
        self.room_left();
        self.switch_to(now, ServerKind::MasterServer);
    }

    /// Ends the session on an error: closes the connection, fails the goal.
    pub(crate) fn fail_session(&mut self, error: LbError) {
        tracing::info!(%error, state = %self.state, "load-balancing session ended");
        if let Some(conn) = self.conn.take() {
            self.actions.push_back(Action::Disconnect {
                connection: conn.id,
            });
        }
        self.step = None;
        self.complete_goal(Err(error.clone()));
        self.fail_pending_ops(&error);
        self.room_left();
        self.goal = Goal::Master;
        self.set_state(ClientState::Disconnected);
        self.events
            .push_back(LbEvent::Disconnected(DisconnectCause::Error(error)));
    }

    fn fail_pending_ops(&mut self, error: &LbError) {
        while let Some(pending) = self.pending_ops.pop_front() {
            self.complete(pending.request, Err(error.clone()));
        }
    }

    /// The requested disconnect is done.
    pub(crate) fn finish_disconnect(&mut self, cause: DisconnectCause) {
        self.conn = None;
        self.step = None;
        self.fail_pending_ops(&LbError::Closed);
        if self.goal == Goal::Disconnect {
            self.complete_goal(Ok(Outcome::Disconnected));
        }
        self.goal = Goal::Master;
        self.set_state(ClientState::Disconnected);
        self.events.push_back(LbEvent::Disconnected(cause));
    }

    // ----- events -----

    fn on_event(&mut self, data: EventData) {
        let EventData {
            code: event_code,
            sender,
            parameters,
        } = data;
        match event_code {
            event::JOIN => self.on_actor_joined(&parameters),
            event::LEAVE => self.on_actor_left(&parameters),
            event::PROPERTIES_CHANGED => self.on_properties_changed(&parameters),
            event::AUTH_EVENT => {
                if let Some(token) = parameters.get(param::TOKEN) {
                    self.token = Some(token.clone());
                }
            }
            event::GAME_LIST | event::GAME_LIST_UPDATE => {
                if event_code == event::GAME_LIST {
                    self.room_list.clear();
                }
                let list = parameters
                    .get(param::GAME_LIST)
                    .and_then(Properties::from_value)
                    .unwrap_or_default();
                for (key, value) in list.iter() {
                    let Some(name) = key.as_str() else { continue };
                    let properties = Properties::from_value(value).unwrap_or_default();
                    if properties
                        .get_byte(room_key::REMOVED)
                        .and_then(Value::as_bool)
                        == Some(true)
                    {
                        self.room_list.remove(name);
                    } else {
                        self.room_list.insert(
                            name.to_owned(),
                            RoomInfo::from_properties(name.to_owned(), properties),
                        );
                    }
                }
                self.events.push_back(LbEvent::RoomListUpdated {
                    rooms: self.room_list.len(),
                });
            }
            event::APP_STATS => {
                let get = |key| parameters.get(key).and_then(int).unwrap_or(0);
                self.events.push_back(LbEvent::AppStats {
                    peers: get(param::PEER_COUNT),
                    rooms: get(param::GAME_COUNT),
                });
            }
            event::ERROR_INFO => {
                let text = parameters
                    .get(param::DATA)
                    .and_then(Value::as_str)
                    .unwrap_or("(no message)");
                self.events
                    .push_back(LbEvent::Error(LbError::ServerError(text.to_owned())));
            }
            _ => {
                let sender = match sender {
                    0 => parameters.get(param::ACTOR_NR).and_then(int).unwrap_or(0),
                    sender => sender,
                };
                let data = parameters.get(param::DATA).cloned().unwrap_or(Value::Null);
                self.events.push_back(LbEvent::CustomEvent {
                    code: event_code,
                    sender,
                    data,
                });
            }
        }
    }

    fn on_actor_joined(&mut self, parameters: &Parameters) {
        let Some(room) = self.room.as_mut() else {
            return;
        };
        let Some(number) = parameters.get(param::ACTOR_NR).and_then(int) else {
            return;
        };
        let properties = parameters
            .get(param::PLAYER_PROPERTIES)
            .and_then(Properties::from_value)
            .unwrap_or_default();
        let actor = room.actors.entry(number).or_insert_with(|| Actor {
            number,
            ..Actor::default()
        });
        actor.is_inactive = false;
        actor.apply(&properties);
        let nickname = actor.nickname.clone();
        for other in parameters
            .get(param::ACTOR_LIST)
            .map(actor_numbers)
            .unwrap_or_default()
        {
            room.actors.entry(other).or_insert_with(|| Actor {
                number: other,
                ..Actor::default()
            });
        }
        if number != room.local_actor {
            self.events.push_back(LbEvent::ActorJoined {
                actor: number,
                nickname,
            });
        }
    }

    fn on_actor_left(&mut self, parameters: &Parameters) {
        let Some(room) = self.room.as_mut() else {
            return;
        };
        let Some(number) = parameters.get(param::ACTOR_NR).and_then(int) else {
            return;
        };
        let inactive = parameters
            .get(param::IS_INACTIVE)
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if inactive {
            if let Some(actor) = room.actors.get_mut(&number) {
                actor.is_inactive = true;
            }
        } else {
            room.actors.remove(&number);
        }
        let new_master = parameters.get(param::MASTER_CLIENT_ID).and_then(int);
        self.events.push_back(LbEvent::ActorLeft {
            actor: number,
            inactive,
        });
        if let Some(master) = new_master {
            self.switch_master(master);
        }
    }

    fn switch_master(&mut self, master: i32) {
        let Some(room) = self.room.as_mut() else {
            return;
        };
        if master != 0 && room.master_client != master {
            room.master_client = master;
            self.events
                .push_back(LbEvent::MasterClientSwitched { actor: master });
        }
    }

    fn on_properties_changed(&mut self, parameters: &Parameters) {
        let Some(room) = self.room.as_mut() else {
            return;
        };
        let target = parameters
            .get(param::TARGET_ACTOR_NR)
            .and_then(int)
            .unwrap_or(0);
        let changes = parameters
            .get(param::PROPERTIES)
            .and_then(Properties::from_value)
            .unwrap_or_default();
        let mut new_master = None;
        if target == 0 {
            room.properties.merge(&changes);
            new_master = changes.get_byte(room_key::MASTER_CLIENT_ID).and_then(int);
        } else {
            room.actors
                .entry(target)
                .or_insert_with(|| Actor {
                    number: target,
                    ..Actor::default()
                })
                .apply(&changes);
        }
        self.events.push_back(LbEvent::PropertiesChanged {
            actor: target,
            changes,
        });
        if let Some(master) = new_master {
            self.switch_master(master);
        }
    }
}

/// An integer value as an actor number.
fn int(value: &Value) -> Option<i32> {
    value.as_i64().and_then(|v| i32::try_from(v).ok())
}
