//! Scripted tests of the core: a fake server answers each request; no network.

use super::*;
use bytes::Bytes;
use std::time::{Duration, Instant};
use transport::codec::{
    EventData, Message, OperationRequest, OperationResponse, Parameters, RawEvent, TypedArray,
    Value,
};
use transport::lb::{cache, error as code, event, join_mode, op, param, receivers, room_key};
use transport::{Delivery, DisconnectReason, SendOptions};

const NS: &str = "udp://127.0.0.1:5058";
const MASTER: &str = "udp://127.0.0.1:5055";
const GAME: &str = "udp://127.0.0.1:5056";

struct Harness {
    core: LoadBalancingCore,
    now: Instant,
    connects: Vec<(ConnectionId, ServerKind, String)>,
    encrypt_asked: Vec<ConnectionId>,
    sent: Vec<(ConnectionId, Message, SendOptions)>,
    disconnects: Vec<ConnectionId>,
    events: Vec<LbEvent>,
    completions: Vec<Completion>,
}

impl Harness {
    fn new() -> Self {
        Self::with(LbConfig::new(NS, "app"))
    }
    fn with(config: LbConfig) -> Self {
        Self {
            core: LoadBalancingCore::new(config),
            now: Instant::now(),
            connects: Vec::new(),
            encrypt_asked: Vec::new(),
            sent: Vec::new(),
            disconnects: Vec::new(),
            events: Vec::new(),
            completions: Vec::new(),
        }
    }
    fn drain(&mut self) {
        while let Some(action) = self.core.poll_action() {
            match action {
                Action::Connect {
                    connection,
                    server,
                    url,
                } => self.connects.push((connection, server, url)),
                Action::EstablishEncryption { connection } => self.encrypt_asked.push(connection),
                Action::Send {
                    connection,
                    payload,
                    options,
                } => {
                    let message = Message::decode(&payload, &Default::default())
                        .expect("the core encodes valid messages");
                    self.sent.push((connection, message, options));
                }
                Action::Disconnect { connection } => self.disconnects.push(connection),
            }
        }
        self.events
            .extend(std::iter::from_fn(|| self.core.poll_event()));
        self.completions
            .extend(std::iter::from_fn(|| self.core.poll_completion()));
    }
    fn conn(&self) -> ConnectionId {
        self.core.connection().expect("a connection")
    }
    /// Completes the pending connect (handshake and, unless WSS, encryption).
    fn accept(&mut self) -> ServerKind {
        self.drain();
        let (id, server, _) = self.connects.last().cloned().expect("a connect was asked");
        self.core.handle_connected(self.now, id);
        self.drain();
        if self.encrypt_asked.last() == Some(&id) {
            self.core.handle_encryption_established(self.now, id);
            self.drain();
        }
        server
    }
    fn last_request(&self) -> (OperationRequest, SendOptions) {
        match self.sent.last().cloned() {
            Some((_, Message::Request(request), options)) => (request, options),
            other => panic!("expected a request, got {other:?}"),
        }
    }
    fn deliver(&mut self, message: Message) {
        let mut out = Vec::new();
        message.encode(&mut out, &Default::default()).unwrap();
        let id = self.conn();
        self.core.handle_message(self.now, id, &Bytes::from(out));
        self.drain();
    }
    fn respond(&mut self, code: u8, return_code: i16, parameters: Parameters) {
        self.deliver(Message::Response(OperationResponse {
            code,
            return_code,
            debug_message: (return_code != 0).then(|| "server says no".to_owned()),
            parameters,
        }));
    }
    fn event(&mut self, code: u8, sender: i32, parameters: Parameters) {
        self.deliver(Message::Event(EventData {
            code,
            sender,
            parameters,
        }));
    }
    fn states(&self) -> Vec<ClientState> {
        self.events
            .iter()
            .filter_map(|event| match event {
                LbEvent::StateChanged { to, .. } => Some(*to),
                _ => None,
            })
            .collect()
    }
    /// Name server and master authentication, ending on the master.
    fn authenticate(&mut self, token: &str) {
        assert_eq!(self.accept(), ServerKind::NameServer);
        let (auth, options) = self.last_request();
        assert_eq!(auth.code, op::AUTHENTICATE);
        assert!(options.encrypt, "Authenticate must travel encrypted");
        self.respond(
            op::AUTHENTICATE,
            0,
            Parameters::new()
                .with(param::ADDRESS, MASTER)
                .with(param::TOKEN, token)
                .with(param::USER_ID, "user-1"),
        );
        assert_eq!(self.accept(), ServerKind::MasterServer);
        let (auth, options) = self.last_request();
        assert_eq!(
            (auth.code, auth.parameters.get(param::TOKEN)),
            (op::AUTHENTICATE, Some(&Value::from(token)))
        );
        assert!(options.encrypt);
        self.respond(op::AUTHENTICATE, 0, Parameters::new());
    }
    /// From the master's room answer to being joined as `actor`.
    fn game_join(&mut self, room: &str, actor: i32, expected_code: u8) {
        self.respond(
            self.last_request().0.code,
            0,
            Parameters::new()
                .with(param::ADDRESS, GAME)
                .with(param::ROOM_NAME, room)
                .with(param::TOKEN, "game-token"),
        );
        assert_eq!(self.accept(), ServerKind::GameServer);
        assert_eq!(
            self.last_request().0.parameters.get(param::TOKEN),
            Some(&Value::from("game-token"))
        );
        self.respond(op::AUTHENTICATE, 0, Parameters::new());
        let (join, _) = self.last_request();
        assert_eq!(join.code, expected_code);
        assert_eq!(
            join.parameters.get(param::ROOM_NAME),
            Some(&Value::from(room))
        );
        let players = Properties::new().with(
            Value::I32(actor),
            Properties::new()
                .with(transport::lb::actor_key::PLAYER_NAME, "me")
                .to_value(),
        );
        self.respond(
            expected_code,
            0,
            Parameters::new()
                .with(param::ACTOR_NR, actor)
                .with(
                    param::ACTOR_LIST,
                    Value::Array(TypedArray::I32(vec![actor])),
                )
                .with(param::PLAYER_PROPERTIES, players.to_value())
                .with(
                    param::GAME_PROPERTIES,
                    Properties::new()
                        .with(room_key::MASTER_CLIENT_ID, actor)
                        .to_value(),
                ),
        );
    }
    fn joined_room(&mut self, room: &str) -> RequestId {
        let request = self
            .core
            .join_or_create_room(self.now, room, RoomOptions::default())
            .unwrap();
        self.authenticate("t1");
        self.game_join(room, 1, op::JOIN_GAME);
        assert_eq!(self.core.state(), ClientState::Joined);
        request
    }
    fn completion(&self, request: RequestId) -> Option<&Result<Outcome, LbError>> {
        self.completions
            .iter()
            .find(|c| c.request == request)
            .map(|c| &c.result)
    }
}

#[test]
fn flow_name_master_game_creates_a_room() {
    let mut h = Harness::new();
    let request = h
        .core
        .create_room(
            h.now,
            None,
            RoomOptions {
                max_players: 4,
                ..Default::default()
            },
        )
        .unwrap();
    h.drain();
    assert_eq!(h.connects[0].1, ServerKind::NameServer);
    assert_eq!(h.connects[0].2, NS);
    h.authenticate("t1");
    let (create, options) = h.last_request();
    assert_eq!((create.code, options.encrypt), (op::CREATE_GAME, false));
    assert_eq!(
        create.parameters.get(param::ROOM_NAME),
        None,
        "the server picks the name"
    );
    h.game_join("picked-1", 1, op::CREATE_GAME);
    use ClientState::*;
    assert_eq!(
        h.states(),
        vec![
            ConnectingToNameServer,
            ConnectedToNameServer,
            Authenticating,
            Authenticated,
            ConnectingToMasterServer,
            Authenticating,
            ConnectedToMasterServer,
            Joining,
            ConnectingToGameServer,
            Authenticating,
            Joining,
            Joined
        ]
    );
    assert!(h.events.contains(&LbEvent::Joined {
        room: "picked-1".into(),
        actor: 1,
        created: true,
        rejoined: false
    }));
    assert_eq!(
        h.completion(request),
        Some(&Ok(Outcome::Joined {
            room: "picked-1".into(),
            actor: 1
        }))
    );
    assert_eq!(h.core.user_id(), Some("user-1"));
    let room = h.core.room().unwrap();
    assert_eq!(
        (
            room.local_actor,
            room.master_client,
            room.actors[&1].nickname.as_str()
        ),
        (1, 1, "me")
    );
    assert!(room.is_local_master());
    // Every server switch closed the previous connection.
    assert_eq!(h.disconnects.len(), 2);
    assert_eq!(h.core.poll_timeout(), None, "nothing awaited once joined");
}

#[test]
fn wss_relies_on_tls_and_skips_the_key_exchange() {
    let mut h = Harness::with(LbConfig::new("wss://localhost:19093/NameServer", "app"));
    h.core.connect(h.now).unwrap();
    h.accept();
    assert!(h.encrypt_asked.is_empty());
    let (auth, options) = h.last_request();
    assert_eq!(auth.code, op::AUTHENTICATE);
    assert!(options.encrypt, "still marked encrypted: TLS satisfies it");
}

#[test]
fn authentication_refused_ends_the_session_with_the_code_name() {
    let mut h = Harness::new();
    let request = h.core.connect(h.now).unwrap();
    h.accept();
    h.respond(
        op::AUTHENTICATE,
        code::CUSTOM_AUTHENTICATION_FAILED,
        Parameters::new(),
    );
    assert_eq!(h.core.state(), ClientState::Disconnected);
    let Some(Err(error)) = h.completion(request) else {
        panic!("no failure: {:?}", h.completions)
    };
    assert_eq!(
        error.return_code(),
        Some(code::CUSTOM_AUTHENTICATION_FAILED)
    );
    let text = error.to_string();
    assert!(
        text.contains("Authenticate")
            && text.contains("CustomAuthenticationFailed")
            && text.contains("server says no"),
        "{text}"
    );
    assert!(matches!(
        h.events.last(),
        Some(LbEvent::Disconnected(DisconnectCause::Error(_)))
    ));
    assert!(!h.disconnects.is_empty(), "the connection was closed");
}

#[test]
fn game_full_on_master_stays_on_master_and_can_retry() {
    let mut h = Harness::new();
    h.core.connect(h.now).unwrap();
    h.authenticate("t1");
    assert_eq!(h.core.state(), ClientState::ConnectedToMasterServer);
    let request = h.core.join_room(h.now, "full").unwrap();
    h.drain();
    h.respond(op::JOIN_GAME, code::GAME_FULL, Parameters::new());
    assert_eq!(h.core.state(), ClientState::ConnectedToMasterServer);
    let Some(Err(LbError::OperationFailed { code_name, .. })) = h.completion(request) else {
        panic!()
    };
    assert_eq!(*code_name, "GameFull");
    assert!(h.events.iter().any(|e| matches!(
        e,
        LbEvent::Error(LbError::OperationFailed {
            code: code::GAME_FULL,
            ..
        })
    )));
    // Still usable.
    h.core.join_room(h.now, "other").unwrap();
    h.drain();
    h.game_join("other", 2, op::JOIN_GAME);
    assert_eq!(h.core.local_actor(), Some(2));
}

#[test]
fn game_full_on_game_server_goes_back_to_master() {
    let mut h = Harness::new();
    h.core.join_room(h.now, "r").unwrap();
    h.authenticate("t1");
    h.respond(
        op::JOIN_GAME,
        0,
        Parameters::new()
            .with(param::ADDRESS, GAME)
            .with(param::ROOM_NAME, "r"),
    );
    h.accept();
    h.respond(op::AUTHENTICATE, 0, Parameters::new());
    h.respond(op::JOIN_GAME, code::GAME_FULL, Parameters::new());
    assert_eq!(h.core.state(), ClientState::ConnectingToMasterServer);
    assert_eq!(h.accept(), ServerKind::MasterServer);
    h.respond(op::AUTHENTICATE, 0, Parameters::new());
    assert_eq!(h.core.state(), ClientState::ConnectedToMasterServer);
}

#[test]
fn token_expired_on_master_reauthenticates_and_continues() {
    let mut h = Harness::new();
    h.core.connect(h.now).unwrap();
    h.authenticate("t1");
    let request = h.core.join_room(h.now, "r").unwrap();
    h.drain();
    h.respond(
        op::JOIN_GAME,
        code::AUTHENTICATION_TICKET_EXPIRED,
        Parameters::new(),
    );
    assert_eq!(h.core.state(), ClientState::ConnectingToNameServer);
    assert_eq!(
        h.completion(request),
        None,
        "not failed: it re-authenticates"
    );
    h.authenticate("t2");
    let (join, _) = h.last_request();
    assert_eq!(
        join.code,
        op::JOIN_GAME,
        "the join is sent again after re-authentication"
    );
    h.game_join("r", 4, op::JOIN_GAME);
    assert_eq!(
        h.completion(request),
        Some(&Ok(Outcome::Joined {
            room: "r".into(),
            actor: 4
        }))
    );
}

#[test]
fn token_expired_at_game_server_goes_round_and_joins() {
    let mut h = Harness::new();
    h.core.join_room(h.now, "r").unwrap();
    h.authenticate("t1");
    h.respond(
        op::JOIN_GAME,
        0,
        Parameters::new()
            .with(param::ADDRESS, GAME)
            .with(param::ROOM_NAME, "r"),
    );
    h.accept();
    h.respond(
        op::AUTHENTICATE,
        code::AUTHENTICATION_TICKET_EXPIRED,
        Parameters::new(),
    );
    assert_eq!(h.core.state(), ClientState::ConnectingToNameServer);
    h.authenticate("t2");
    h.game_join("r", 1, op::JOIN_GAME);
    assert_eq!(h.core.state(), ClientState::Joined);
}

#[test]
fn endless_expiry_gives_up_with_token_expired() {
    let mut config = LbConfig::new(NS, "app");
    config.max_reauthentications = 1;
    let mut h = Harness::with(config);
    let request = h.core.connect(h.now).unwrap();
    for round in 0..2 {
        h.accept();
        h.respond(
            op::AUTHENTICATE,
            0,
            Parameters::new()
                .with(param::ADDRESS, MASTER)
                .with(param::TOKEN, "t"),
        );
        h.accept();
        h.respond(
            op::AUTHENTICATE,
            code::AUTHENTICATION_TICKET_EXPIRED,
            Parameters::new(),
        );
        if round == 0 {
            assert_eq!(h.core.state(), ClientState::ConnectingToNameServer);
        }
    }
    assert_eq!(h.core.state(), ClientState::Disconnected);
    assert!(matches!(
        h.completion(request),
        Some(Err(LbError::TokenExpired(_)))
    ));
}

#[test]
fn rejoin_after_drop_goes_straight_to_the_game_server_as_the_same_actor() {
    let mut h = Harness::new();
    h.core
        .create_room(
            h.now,
            Some("r".into()),
            RoomOptions {
                player_ttl: Some(Duration::from_secs(60)),
                ..Default::default()
            },
        )
        .unwrap();
    h.authenticate("t1");
    h.game_join("r", 3, op::CREATE_GAME);
    let dropped = h.conn();
    h.core
        .handle_disconnected(h.now, dropped, DisconnectReason::Timeout);
    h.drain();
    assert_eq!(h.core.state(), ClientState::Disconnected);
    assert_eq!(
        h.events.last(),
        Some(&LbEvent::Disconnected(DisconnectCause::Transport(
            DisconnectReason::Timeout
        )))
    );
    assert!(h.core.room().is_none());

    let request = h.core.reconnect_and_rejoin(h.now).unwrap();
    h.drain();
    assert_eq!(
        h.connects.last().map(|c| (c.1, c.2.as_str())),
        Some((ServerKind::GameServer, GAME))
    );
    h.accept();
    assert_eq!(
        h.last_request().0.parameters.get(param::TOKEN),
        Some(&Value::from("game-token"))
    );
    h.respond(op::AUTHENTICATE, 0, Parameters::new());
    let (join, _) = h.last_request();
    assert_eq!(join.code, op::JOIN_GAME);
    assert_eq!(
        join.parameters.get(param::JOIN_MODE),
        Some(&Value::U8(join_mode::REJOIN_ONLY))
    );
    assert_eq!(
        join.parameters.get(param::ROOM_NAME),
        Some(&Value::from("r"))
    );
    h.respond(op::JOIN_GAME, 0, Parameters::new().with(param::ACTOR_NR, 3));
    assert!(h.events.contains(&LbEvent::Joined {
        room: "r".into(),
        actor: 3,
        created: false,
        rejoined: true
    }));
    assert_eq!(
        h.completion(request),
        Some(&Ok(Outcome::Joined {
            room: "r".into(),
            actor: 3
        }))
    );
    // Late events of the dropped connection are ignored.
    h.core
        .handle_disconnected(h.now, dropped, DisconnectReason::Timeout);
    assert_eq!(h.core.state(), ClientState::Joined);
}

#[test]
fn reconnect_and_rejoin_needs_a_previous_room() {
    let mut h = Harness::new();
    let error = h.core.reconnect_and_rejoin(h.now).unwrap_err();
    assert!(
        matches!(
            error,
            LbError::InvalidState {
                operation: "reconnect_and_rejoin",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn lobby_room_list_is_kept_up_to_date() {
    let mut h = Harness::new();
    let request = h.core.join_lobby(h.now, None).unwrap();
    h.authenticate("t1");
    assert_eq!(h.last_request().0.code, op::JOIN_LOBBY);
    h.respond(op::JOIN_LOBBY, 0, Parameters::new());
    assert_eq!(h.core.state(), ClientState::JoinedLobby);
    assert_eq!(h.completion(request), Some(&Ok(Outcome::InLobby)));
    let listing = |count: u8, max: u8| {
        Properties::new()
            .with(room_key::PLAYER_COUNT, count)
            .with(room_key::MAX_PLAYERS, max)
            .to_value()
    };
    h.event(
        event::GAME_LIST,
        0,
        Parameters::new().with(
            param::GAME_LIST,
            Properties::new()
                .with("a", listing(1, 4))
                .with("b", listing(2, 2))
                .to_value(),
        ),
    );
    assert_eq!(h.core.room_list().len(), 2);
    assert_eq!(h.core.room_list()["b"].player_count, 2);
    h.event(
        event::GAME_LIST_UPDATE,
        0,
        Parameters::new().with(
            param::GAME_LIST,
            Properties::new()
                .with(
                    "a",
                    Properties::new().with(room_key::REMOVED, true).to_value(),
                )
                .with("b", listing(1, 2))
                .with("c", listing(1, 0))
                .to_value(),
        ),
    );
    let names: Vec<_> = h.core.room_list().keys().cloned().collect();
    assert_eq!(names, vec!["b".to_owned(), "c".to_owned()]);
    assert_eq!(h.core.room_list()["b"].player_count, 1);
    assert_eq!(
        h.events
            .iter()
            .filter(|e| matches!(e, LbEvent::RoomListUpdated { .. }))
            .count(),
        2
    );
}

#[test]
fn join_random_sends_the_filter_and_joins_the_room_found() {
    let mut h = Harness::new();
    let filter = JoinRandomOptions {
        expected_properties: Properties::new().with("map", "docks"),
        ..Default::default()
    };
    h.core.join_random_room(h.now, filter).unwrap();
    h.authenticate("t1");
    let (request, _) = h.last_request();
    assert_eq!(request.code, op::JOIN_RANDOM_GAME);
    let sent =
        Properties::from_value(request.parameters.get(param::GAME_PROPERTIES).unwrap()).unwrap();
    assert_eq!(sent.get_str("map"), Some(&Value::from("docks")));
    h.game_join("found", 2, op::JOIN_GAME);
    assert_eq!(h.core.room().unwrap().name, "found");

    let mut h = Harness::new();
    let request = h
        .core
        .join_random_room(h.now, JoinRandomOptions::default())
        .unwrap();
    h.authenticate("t1");
    h.respond(
        op::JOIN_RANDOM_GAME,
        code::NO_RANDOM_MATCH_FOUND,
        Parameters::new(),
    );
    assert!(matches!(
        h.completion(request),
        Some(Err(LbError::OperationFailed {
            code_name: "NoRandomMatchFound",
            ..
        }))
    ));
}

#[test]
fn room_events_update_the_room_and_reach_the_application() {
    let mut h = Harness::new();
    h.joined_room("r");
    h.events.clear();
    let props = Properties::new()
        .with(transport::lb::actor_key::PLAYER_NAME, "bob")
        .to_value();
    h.event(
        event::JOIN,
        0,
        Parameters::new()
            .with(param::ACTOR_NR, 2)
            .with(param::PLAYER_PROPERTIES, props)
            .with(param::ACTOR_LIST, Value::Array(TypedArray::I32(vec![1, 2]))),
    );
    h.event(
        event::PROPERTIES_CHANGED,
        2,
        Parameters::new().with(param::TARGET_ACTOR_NR, 0).with(
            param::PROPERTIES,
            Properties::new().with("topic", "x").to_value(),
        ),
    );
    h.event(7, 2, Parameters::new().with(param::DATA, "hi"));
    h.deliver(Message::RawEvent(RawEvent {
        sender: 2,
        payload: Bytes::from_static(b"\x01\x02"),
    }));
    h.event(
        event::LEAVE,
        0,
        Parameters::new()
            .with(param::ACTOR_NR, 1)
            .with(param::MASTER_CLIENT_ID, 2),
    );
    h.event(
        event::AUTH_EVENT,
        0,
        Parameters::new().with(param::TOKEN, "fresh"),
    );
    assert_eq!(
        h.events,
        vec![
            LbEvent::ActorJoined {
                actor: 2,
                nickname: "bob".into()
            },
            LbEvent::PropertiesChanged {
                actor: 0,
                changes: Properties::new().with("topic", "x")
            },
            LbEvent::CustomEvent {
                code: 7,
                sender: 2,
                data: Value::from("hi")
            },
            LbEvent::RawFrame {
                sender: 2,
                payload: Bytes::from_static(b"\x01\x02")
            },
            LbEvent::ActorLeft {
                actor: 1,
                inactive: false
            },
            LbEvent::MasterClientSwitched { actor: 2 },
        ]
    );
    let room = h.core.room().unwrap();
    assert_eq!(room.properties.get_str("topic"), Some(&Value::from("x")));
    assert_eq!(room.master_client, 2);
    // The refreshed token is the one used next: leave goes to the master with it.
    h.core.leave_room(h.now, LeaveOptions::default()).unwrap();
    h.drain();
    h.respond(op::LEAVE, 0, Parameters::new());
    h.accept();
    assert_eq!(
        h.last_request().0.parameters.get(param::TOKEN),
        Some(&Value::from("fresh"))
    );
}

#[test]
fn raise_event_carries_every_option() {
    let mut h = Harness::new();
    h.joined_room("r");
    let options = RaiseEventOptions {
        receivers: Receivers::Actors(vec![2, 3]),
        interest_group: 5,
        caching: cache::ADD_TO_ROOM_CACHE,
        delivery: Delivery::UnreliableSequenced,
        channel: 1,
        encrypt: true,
    };
    h.core.raise_event(9, 42i32, &options).unwrap();
    h.drain();
    let (request, send) = h.last_request();
    assert_eq!(request.code, op::RAISE_EVENT);
    let p = &request.parameters;
    assert_eq!(p.get(param::CODE), Some(&Value::U8(9)));
    assert_eq!(p.get(param::DATA), Some(&Value::I32(42)));
    assert_eq!(
        p.get(param::ACTOR_LIST),
        Some(&Value::Array(TypedArray::I32(vec![2, 3])))
    );
    assert_eq!(p.get(param::GROUP), Some(&Value::U8(5)));
    assert_eq!(
        p.get(param::CACHE),
        Some(&Value::U8(cache::ADD_TO_ROOM_CACHE))
    );
    assert_eq!(
        send,
        SendOptions {
            delivery: Delivery::UnreliableSequenced,
            channel: 1,
            encrypt: true
        }
    );

    h.core
        .raise_event(
            9,
            Value::Null,
            &RaiseEventOptions::to(Receivers::MasterClient),
        )
        .unwrap();
    h.drain();
    let p = h.last_request().0.parameters;
    assert_eq!(
        p.get(param::RECEIVER_GROUP),
        Some(&Value::U8(receivers::MASTER_CLIENT))
    );
    assert_eq!(p.get(param::DATA), None);

    assert!(matches!(
        h.core.raise_event(202, 0i32, &RaiseEventOptions::default()),
        Err(LbError::InvalidArgument(_))
    ));
    h.core
        .raise_protocol_event(202, 0i32, &RaiseEventOptions::default())
        .unwrap();

    h.core.change_groups(Some(&[]), Some(&[1, 2])).unwrap();
    h.drain();
    let (request, _) = h.last_request();
    assert_eq!(request.code, op::CHANGE_GROUPS);
    assert_eq!(
        request.parameters.get(param::REMOVE),
        Some(&Value::Bytes(Bytes::new()))
    );
    assert_eq!(
        request.parameters.get(param::ADD),
        Some(&Value::Bytes(Bytes::from_static(&[1, 2])))
    );

    h.core
        .send_raw(
            Bytes::from_static(b"frame"),
            &RawSendOptions {
                interest_group: 3,
                ..Default::default()
            },
        )
        .unwrap();
    h.drain();
    let Some((_, Message::RawSend(raw), send)) = h.sent.last().cloned() else {
        panic!()
    };
    assert_eq!(
        (raw.routing.interest_group, &raw.payload[..]),
        (3, &b"frame"[..])
    );
    assert_eq!(send, SendOptions::UNRELIABLE);
}

#[test]
fn commands_outside_their_state_say_what_to_do() {
    let mut h = Harness::new();
    let error = h
        .core
        .raise_event(1, 1i32, &RaiseEventOptions::default())
        .unwrap_err();
    assert!(error.to_string().contains("join a room first"), "{error}");
    h.core.connect(h.now).unwrap();
    let error = h.core.join_room(h.now, "r").unwrap_err();
    assert!(matches!(
        error,
        LbError::InvalidState {
            state: ClientState::ConnectingToNameServer,
            ..
        }
    ));
    assert!(matches!(
        h.core.join_room(h.now, ""),
        Err(LbError::InvalidArgument(_))
    ));
}

#[test]
fn no_answer_times_out() {
    let mut h = Harness::new();
    let request = h.core.connect(h.now).unwrap();
    h.accept();
    let deadline = h.core.poll_timeout().expect("waiting for Authenticate");
    h.core.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(h.core.state(), ClientState::Authenticating);
    h.core.handle_timeout(deadline);
    h.drain();
    assert!(matches!(
        h.completion(request),
        Some(Err(LbError::Timeout {
            operation: "Authenticate",
            ..
        }))
    ));
    assert_eq!(h.core.state(), ClientState::Disconnected);
}

#[test]
fn connect_failure_carries_the_transport_text() {
    let mut h = Harness::new();
    let request = h.core.connect(h.now).unwrap();
    h.drain();
    let id = h.connects[0].0;
    h.core
        .handle_connect_failed(h.now, id, "connection to 127.0.0.1:5058 refused");
    h.drain();
    let Some(Err(error)) = h.completion(request) else {
        panic!()
    };
    let text = error.to_string();
    assert!(
        text.contains("name server") && text.contains(NS) && text.contains("refused"),
        "{text}"
    );
}

#[test]
fn leave_goes_back_to_the_master_and_the_lobby() {
    let mut h = Harness::new();
    h.core.join_lobby(h.now, None).unwrap();
    h.authenticate("t1");
    h.respond(op::JOIN_LOBBY, 0, Parameters::new());
    h.core.join_room(h.now, "r").unwrap();
    h.drain();
    h.game_join("r", 1, op::JOIN_GAME);
    let request = h
        .core
        .leave_room(
            h.now,
            LeaveOptions {
                become_inactive: true,
            },
        )
        .unwrap();
    h.drain();
    assert_eq!(h.core.state(), ClientState::Leaving);
    assert_eq!(
        h.last_request().0.parameters.get(param::IS_INACTIVE),
        Some(&Value::Bool(true))
    );
    h.respond(op::LEAVE, 0, Parameters::new());
    assert_eq!(h.accept(), ServerKind::MasterServer);
    h.respond(op::AUTHENTICATE, 0, Parameters::new());
    assert_eq!(h.completion(request), Some(&Ok(Outcome::Left)));
    assert_eq!(
        h.last_request().0.code,
        op::JOIN_LOBBY,
        "back into the lobby"
    );
    h.respond(op::JOIN_LOBBY, 0, Parameters::new());
    assert_eq!(h.core.state(), ClientState::JoinedLobby);
    // And rejoin by name through the master.
    h.core.rejoin_room(h.now, "r").unwrap();
    h.drain();
    assert_eq!(
        h.last_request().0.parameters.get(param::JOIN_MODE),
        Some(&Value::U8(join_mode::REJOIN_ONLY))
    );
}

#[test]
fn set_properties_compare_and_set_failure_is_reported() {
    let mut h = Harness::new();
    h.joined_room("r");
    let ok = h
        .core
        .set_room_properties(h.now, Properties::new().with("k", 1i32), None)
        .unwrap();
    let cas = h
        .core
        .set_actor_properties(
            h.now,
            1,
            Properties::new().with("k", 2i32),
            Some(Properties::new().with("k", 0i32)),
        )
        .unwrap();
    h.drain();
    let (request, _) = h.last_request();
    assert_eq!(
        request.parameters.get(param::ACTOR_NR),
        Some(&Value::I32(1))
    );
    assert!(request.parameters.get(param::EXPECTED_VALUES).is_some());
    h.respond(op::SET_PROPERTIES, 0, Parameters::new());
    h.respond(
        op::SET_PROPERTIES,
        code::INVALID_OPERATION,
        Parameters::new(),
    );
    assert_eq!(h.completion(ok), Some(&Ok(Outcome::Done)));
    assert!(matches!(
        h.completion(cas),
        Some(Err(LbError::OperationFailed {
            code: code::INVALID_OPERATION,
            ..
        }))
    ));
}

#[test]
fn garbage_from_the_server_is_reported_not_fatal() {
    let mut h = Harness::new();
    h.joined_room("r");
    let id = h.conn();
    for bytes in [
        &b""[..],
        &b"\xff\xff"[..],
        &b"\x03\xe2"[..],
        &b"\x04\x07\x00\x05"[..],
    ] {
        h.core
            .handle_message(h.now, id, &Bytes::copy_from_slice(bytes));
    }
    h.drain();
    assert_eq!(h.core.state(), ClientState::Joined);
    assert!(
        h.events
            .iter()
            .filter(|e| matches!(e, LbEvent::Error(LbError::Protocol(_))))
            .count()
            >= 3
    );
}

#[test]
fn disconnect_waits_for_the_transport() {
    let mut h = Harness::new();
    h.joined_room("r");
    let id = h.conn();
    let request = h.core.disconnect(h.now);
    h.drain();
    assert_eq!(h.core.state(), ClientState::Disconnecting);
    assert_eq!(h.disconnects.last(), Some(&id));
    h.core
        .handle_disconnected(h.now, id, DisconnectReason::Local);
    h.drain();
    assert_eq!(h.core.state(), ClientState::Disconnected);
    assert_eq!(h.completion(request), Some(&Ok(Outcome::Disconnected)));
    assert_eq!(
        h.events.last(),
        Some(&LbEvent::Disconnected(DisconnectCause::ClientRequest))
    );
    // A fresh session can start again.
    h.core.connect(h.now).unwrap();
}

#[test]
fn invalid_master_address_fails_clearly() {
    let mut h = Harness::new();
    let request = h.core.connect(h.now).unwrap();
    h.accept();
    h.respond(
        op::AUTHENTICATE,
        0,
        Parameters::new()
            .with(param::ADDRESS, "127.0.0.1:5055")
            .with(param::TOKEN, "t"),
    );
    assert!(
        matches!(h.completion(request), Some(Err(LbError::InvalidAddress(a))) if a == "127.0.0.1:5055")
    );
}
