//! Master logic without the network.

use super::*;
use crate::outbox::RecordingOutbox;
use crate::token::WallClock;
use transport::codec::{Dictionary, Message, OperationResponse, TypeCode};

const T0_MS: u64 = 1_700_000_000_000;

struct H {
    logic: MasterLogic,
    out: RecordingOutbox,
    key: TokenKey,
    clock: WallClock,
    now: Instant,
}

fn p(n: u32) -> PeerHandle {
    PeerHandle(n)
}

fn app(version: &str) -> AppKey {
    AppKey {
        app_id: "app".into(),
        app_version: version.into(),
    }
}

fn listing(
    name: &str,
    players: u32,
    max: u32,
    open: bool,
    props: Vec<(Value, Value)>,
) -> RoomListing {
    RoomListing {
        app: app("1"),
        name: name.into(),
        lobby: String::new(),
        player_count: players,
        max_players: max,
        open,
        visible: true,
        lobby_properties: props,
    }
}

fn report(updated: Vec<RoomListing>, removed: Vec<(AppKey, String)>) -> GameReport {
    GameReport {
        server_id: "g1".into(),
        addresses: vec![
            ("udp".into(), "udp://127.0.0.1:5056".into()),
            ("ws".into(), "ws://127.0.0.1:9091/Game".into()),
        ],
        peer_count: 0,
        updated,
        removed,
        shutting_down: false,
    }
}

impl H {
    fn new() -> Self {
        let now = Instant::now();
        let clock = WallClock::fixed(now, T0_MS);
        let key = TokenKey::from_secret("test secret that is long enough");
        let settings = MasterSettings {
            token_lifetime: Duration::from_secs(3600),
            lobby_update_interval: Duration::from_secs(1),
            reservation: Duration::from_secs(30),
        };
        let logic = MasterLogic::new(settings, key.clone(), Arc::new(clock), Metrics::new());
        Self {
            logic,
            out: RecordingOutbox::default(),
            key,
            clock,
            now,
        }
    }

    fn token(&self, version: &str, issued_ms: u64) -> Vec<u8> {
        self.key.seal(&TokenClaims {
            user_id: "alice".into(),
            app_id: "app".into(),
            app_version: version.into(),
            auth_values: String::new(),
            issued_ms,
            expires_ms: issued_ms + 3_600_000,
            data: serde_json::json!({"k": 1}),
        })
    }

    fn request(&mut self, peer: u32, code: u8, parameters: Parameters) -> OperationResponse {
        self.out.sent.clear();
        self.logic.handle_request(
            self.now,
            p(peer),
            OperationRequest { code, parameters },
            MessageMeta::reliable(false),
            &mut self.out,
        );
        self.out
            .messages_to(p(peer))
            .into_iter()
            .find_map(|m| match m {
                Message::Response(r) => Some(r.clone()),
                _ => None,
            })
            .expect("a response")
    }

    fn connect(&mut self, peer: u32, protocol: Protocol, version: &str) {
        self.logic
            .handle_connected(self.now, p(peer), protocol, &mut self.out);
        let token = self.token(version, self.clock.unix_ms(self.now));
        let r = self.request(
            peer,
            op::AUTHENTICATE,
            Parameters::new().with(param::TOKEN, token),
        );
        assert_eq!(r.return_code, 0, "{r:?}");
    }

    fn events_to(&self, peer: u32) -> Vec<EventData> {
        self.out
            .messages_to(p(peer))
            .into_iter()
            .filter_map(|m| match m {
                Message::Event(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }
}

fn address(r: &OperationResponse) -> &str {
    r.parameters
        .get(param::ADDRESS)
        .and_then(Value::as_str)
        .unwrap_or("")
}

#[test]
fn token_authentication() {
    let mut h = H::new();
    h.logic
        .handle_connected(h.now, p(1), Protocol::Udp, &mut h.out);
    let r = h.request(1, op::CREATE_GAME, Parameters::new());
    assert_eq!(r.return_code, error::INVALID_AUTHENTICATION);
    let r = h.request(
        1,
        op::AUTHENTICATE,
        Parameters::new().with(param::TOKEN, vec![1u8; 50]),
    );
    assert_eq!(r.return_code, error::INVALID_AUTHENTICATION);
    // Issued 2 hours ago: expired an hour ago.
    let old = h.token("1", T0_MS - 7_200_000);
    let r = h.request(
        1,
        op::AUTHENTICATE,
        Parameters::new().with(param::TOKEN, old),
    );
    assert_eq!(r.return_code, error::AUTHENTICATION_TICKET_EXPIRED);
    assert!(r.debug_message.unwrap().contains("authenticate again"));
    let fresh = h.token("1", T0_MS - 1000);
    let r = h.request(
        1,
        op::AUTHENTICATE,
        Parameters::new().with(param::TOKEN, fresh),
    );
    assert_eq!(r.return_code, 0);
    let token = r
        .parameters
        .get(param::TOKEN)
        .and_then(Value::as_bytes)
        .unwrap();
    let claims = h.key.open(token, T0_MS).unwrap();
    assert_eq!(
        (claims.issued_ms, claims.data.clone()),
        (T0_MS, serde_json::json!({"k": 1})),
        "refreshed, custom data kept"
    );
}

#[test]
fn create_and_join_answer_the_game_server_for_the_clients_protocol() {
    let mut h = H::new();
    h.connect(1, Protocol::Udp, "1");
    h.connect(2, Protocol::Ws, "1");
    let r = h.request(
        1,
        op::CREATE_GAME,
        Parameters::new().with(param::ROOM_NAME, "r"),
    );
    assert_eq!(
        r.return_code,
        error::SERVER_FULL,
        "no game server reported yet"
    );
    h.logic.apply_report(h.now, report(vec![], vec![]));
    let r = h.request(
        1,
        op::CREATE_GAME,
        Parameters::new().with(param::ROOM_NAME, "r"),
    );
    assert_eq!(r.return_code, 0, "{r:?}");
    assert_eq!(address(&r), "udp://127.0.0.1:5056");
    assert!(h
        .key
        .open(
            r.parameters
                .get(param::TOKEN)
                .and_then(Value::as_bytes)
                .unwrap(),
            T0_MS
        )
        .is_ok());
    assert_eq!(
        h.request(
            2,
            op::CREATE_GAME,
            Parameters::new().with(param::ROOM_NAME, "r")
        )
        .return_code,
        error::GAME_ID_ALREADY_EXISTS
    );
    // A room name is generated when none is given.
    let r = h.request(2, op::CREATE_GAME, Parameters::new());
    assert!(r
        .parameters
        .get(param::ROOM_NAME)
        .and_then(Value::as_str)
        .unwrap()
        .starts_with("room-"));
    h.logic.apply_report(
        h.now,
        report(vec![listing("r", 1, 0, true, vec![])], vec![]),
    );
    let r = h.request(
        2,
        op::JOIN_GAME,
        Parameters::new().with(param::ROOM_NAME, "r"),
    );
    assert_eq!(
        (r.return_code, address(&r)),
        (0, "ws://127.0.0.1:9091/Game")
    );
    assert_eq!(
        h.request(
            2,
            op::JOIN_GAME,
            Parameters::new().with(param::ROOM_NAME, "x")
        )
        .return_code,
        error::GAME_DOES_NOT_EXIST
    );
    let r = h.request(
        2,
        op::JOIN_GAME,
        Parameters::new()
            .with(param::ROOM_NAME, "x")
            .with(param::JOIN_MODE, join_mode::CREATE_IF_NOT_EXISTS),
    );
    assert_eq!(r.return_code, 0);
    // Full and closed rooms.
    h.logic.apply_report(
        h.now,
        report(
            vec![
                listing("full", 2, 2, true, vec![]),
                listing("closed", 1, 0, false, vec![]),
            ],
            vec![],
        ),
    );
    assert_eq!(
        h.request(
            2,
            op::JOIN_GAME,
            Parameters::new().with(param::ROOM_NAME, "full")
        )
        .return_code,
        error::GAME_FULL
    );
    assert_eq!(
        h.request(
            2,
            op::JOIN_GAME,
            Parameters::new().with(param::ROOM_NAME, "closed")
        )
        .return_code,
        error::GAME_CLOSED
    );
    // Game server operations are refused here.
    assert_eq!(
        h.request(2, op::RAISE_EVENT, Parameters::new()).return_code,
        error::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE
    );
    assert_eq!(
        h.request(2, 77, Parameters::new()).return_code,
        error::INVALID_OPERATION
    );
}

#[test]
fn join_random_filters_and_fills_the_oldest_room() {
    let mut h = H::new();
    h.connect(1, Protocol::Udp, "1");
    assert_eq!(
        h.request(1, op::JOIN_RANDOM_GAME, Parameters::new())
            .return_code,
        error::NO_RANDOM_MATCH_FOUND
    );
    let map = |m: &str| vec![(Value::from("map"), Value::from(m))];
    h.logic.apply_report(
        h.now,
        report(
            vec![
                listing("a", 1, 4, true, map("forest")),
                listing("b", 1, 4, true, map("desert")),
                listing("c", 4, 4, true, map("desert")),
                listing("d", 1, 4, false, map("desert")),
                listing("e", 1, 4, true, map("desert")),
            ],
            vec![],
        ),
    );
    let expect = |m: &str| {
        Parameters::new().with(
            param::GAME_PROPERTIES,
            Value::Dictionary(Dictionary {
                key_type: TypeCode::Any,
                value_type: TypeCode::Any,
                entries: map(m),
            }),
        )
    };
    let r = h.request(1, op::JOIN_RANDOM_GAME, expect("desert"));
    assert_eq!(
        r.parameters.get(param::ROOM_NAME),
        Some(&Value::from("b")),
        "oldest open, visible, non-full match"
    );
    let r = h.request(1, op::JOIN_RANDOM_GAME, expect("moon"));
    assert_eq!(r.return_code, error::NO_RANDOM_MATCH_FOUND);
    let r = h.request(1, op::JOIN_RANDOM_GAME, Parameters::new());
    assert_eq!(r.parameters.get(param::ROOM_NAME), Some(&Value::from("a")));
}

#[test]
fn lobby_lists_and_batched_updates_per_app_version() {
    let mut h = H::new();
    h.connect(1, Protocol::Udp, "1");
    h.connect(2, Protocol::Udp, "2");
    h.logic.apply_report(
        h.now,
        report(vec![listing("a", 1, 0, true, vec![])], vec![]),
    );
    // Let the pending update flush while nobody is in the lobby.
    h.now += Duration::from_secs(1);
    h.logic.handle_timeout(h.now, &mut h.out);
    assert_eq!(
        h.request(1, op::JOIN_LOBBY, Parameters::new()).return_code,
        0
    );
    let list = h
        .events_to(1)
        .into_iter()
        .find(|e| e.code == event::GAME_LIST)
        .unwrap();
    let Some(Value::Dictionary(d)) = list.parameters.get(param::GAME_LIST) else {
        panic!()
    };
    assert_eq!(d.entries.len(), 1);
    assert_eq!(
        h.request(2, op::JOIN_LOBBY, Parameters::new()).return_code,
        0
    );
    let list = h
        .events_to(2)
        .into_iter()
        .find(|e| e.code == event::GAME_LIST)
        .unwrap();
    assert!(
        matches!(list.parameters.get(param::GAME_LIST), Some(Value::Dictionary(d)) if d.entries.is_empty()),
        "another version sees no rooms"
    );
    // Changes are batched until the interval passes.
    h.out.sent.clear();
    h.logic.apply_report(
        h.now,
        report(
            vec![listing("b", 1, 0, true, vec![])],
            vec![(app("1"), "a".into())],
        ),
    );
    let deadline = h.logic.poll_timeout().unwrap();
    assert_eq!(deadline, h.now + Duration::from_secs(1));
    h.logic
        .handle_timeout(deadline - Duration::from_millis(1), &mut h.out);
    assert!(h.events_to(1).is_empty());
    h.logic.handle_timeout(deadline, &mut h.out);
    let update = h
        .events_to(1)
        .into_iter()
        .find(|e| e.code == event::GAME_LIST_UPDATE)
        .unwrap();
    let Some(Value::Dictionary(d)) = update.parameters.get(param::GAME_LIST) else {
        panic!()
    };
    let removed = d
        .entries
        .iter()
        .find(|(k, _)| *k == Value::from("a"))
        .unwrap();
    assert!(
        matches!(&removed.1, Value::Dictionary(x) if x.entries.contains(&(Value::U8(room_key::REMOVED), Value::Bool(true))))
    );
    assert!(d.entries.iter().any(|(k, _)| *k == Value::from("b")));
    assert!(
        h.events_to(2).is_empty(),
        "the other version's lobby is not told"
    );
    assert_eq!(h.logic.poll_timeout(), None, "idle: no timer");
}

#[test]
fn unconfirmed_reservations_expire() {
    let mut h = H::new();
    h.connect(1, Protocol::Udp, "1");
    h.logic.apply_report(h.now, report(vec![], vec![]));
    h.request(
        1,
        op::CREATE_GAME,
        Parameters::new().with(param::ROOM_NAME, "r"),
    );
    assert_eq!(h.logic.room_count(), 1);
    h.now += Duration::from_secs(30);
    h.logic.handle_timeout(h.now, &mut h.out);
    assert_eq!(h.logic.room_count(), 0);
    // A shutting-down game server takes its rooms with it.
    h.logic.apply_report(
        h.now,
        report(vec![listing("a", 1, 0, true, vec![])], vec![]),
    );
    let mut bye = report(vec![], vec![]);
    bye.shutting_down = true;
    h.logic.apply_report(h.now, bye);
    assert_eq!(h.logic.room_count(), 0);
}

#[test]
fn server_reports_need_a_server_token() {
    let mut h = H::new();
    h.connect(1, Protocol::Tcp, "1");
    // A client token cannot carry a report.
    let client_token = h.token("1", T0_MS);
    let request =
        report(vec![listing("fake", 1, 0, true, vec![])], vec![]).to_request(client_token);
    let r = h.request(1, request.code, request.parameters);
    assert_eq!(r.return_code, error::INVALID_AUTHENTICATION);
    assert_eq!(h.logic.room_count(), 0);
    // A server token whose id matches the report is accepted; the link's end forgets the rooms.
    let server_token = h.key.seal(&TokenClaims {
        user_id: "g1".into(),
        app_id: crate::report::SERVER_APP_ID.into(),
        app_version: String::new(),
        auth_values: String::new(),
        issued_ms: T0_MS,
        expires_ms: T0_MS + 60_000,
        data: serde_json::Value::Null,
    });
    let request =
        report(vec![listing("real", 1, 0, true, vec![])], vec![]).to_request(server_token);
    h.logic
        .handle_connected(h.now, p(2), Protocol::Tcp, &mut h.out);
    h.out.sent.clear();
    h.logic.handle_request(
        h.now,
        p(2),
        request,
        MessageMeta::reliable(false),
        &mut h.out,
    );
    assert!(h.out.sent.is_empty(), "no answer to a good report");
    assert_eq!(h.logic.room_count(), 1);
    h.logic.handle_disconnected(h.now, p(2), &mut h.out);
    assert_eq!(h.logic.room_count(), 0);
}
