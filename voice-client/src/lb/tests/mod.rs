//! Scripted tests of the core: a fake server answers each request; no network.

use super::*;
use bytes::Bytes;
use std::time::Instant;
use transport::codec::{
    EventData, Message, OperationRequest, OperationResponse, Parameters, TypedArray, Value,
};
use transport::lb::{op, param, room_key};
use transport::SendOptions;

const NS: &str = "udp://127.0.0.1:5058";
const MASTER: &str = "udp://127.0.0.1:5055";
const GAME: &str = "udp://127.0.0.1:5056";

pub(super) struct Harness {
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

mod flow;
mod room;
mod sequences;
