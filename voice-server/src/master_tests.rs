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
        room_count: 0,
        cpu_percent: 0.0,
        updated,
        removed,
        shutting_down: false,
        full: false,
    }
}

/// A report of server `id` announcing `udp://id:5056`, with its load.
fn load_report(id: &str, peers: u32, rooms: u32) -> GameReport {
    GameReport {
        server_id: id.into(),
        addresses: vec![("udp".into(), format!("udp://{id}:5056"))],
        peer_count: peers,
        room_count: rooms,
        ..report(vec![], vec![])
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
            game_server_timeout: Duration::from_secs(5),
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
    // Idle: no lobby flush pending; only the game server's silence deadline.
    let next = h.logic.poll_timeout().expect("the silence deadline of g1");
    assert!(
        next >= h.now + Duration::from_secs(2),
        "no lobby flush is due"
    );
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

/// Sends a request as if over a server-to-server link, `encrypted` or not;
/// returns the answers to that peer.
fn link_request(h: &mut H, peer: u32, request: OperationRequest, encrypted: bool) -> Vec<Message> {
    h.out.sent.clear();
    h.logic.handle_request(
        h.now,
        p(peer),
        request,
        MessageMeta::reliable(encrypted),
        &mut h.out,
    );
    h.out.messages_to(p(peer)).into_iter().cloned().collect()
}

fn refusal(answers: &[Message]) -> (i16, String) {
    match answers {
        [Message::Response(r)] => (r.return_code, r.debug_message.clone().unwrap_or_default()),
        other => panic!("expected one response, got {other:?}"),
    }
}

#[test]
fn sealed_reports_must_arrive_encrypted_fresh_and_sealed_with_the_secret() {
    let mut h = H::new();
    h.logic
        .handle_connected(h.now, p(2), Protocol::Udp, &mut h.out);
    let key = h.key.clone();
    let sealed = |issued_ms: u64, name: &str| {
        report(vec![listing(name, 1, 0, true, vec![])], vec![]).to_request(&key, issued_ms)
    };
    // In the clear: refused, even though it is sealed.
    let (code, message) = refusal(&link_request(&mut h, 2, sealed(T0_MS, "a"), false));
    assert_eq!(code, error::INVALID_AUTHENTICATION);
    assert!(message.contains("encrypted"), "{message}");
    assert_eq!(h.logic.room_count(), 0);
    // Sealed with another deployment's secret: refused, naming the setting.
    let foreign = TokenKey::from_secret("another deployment's secret value");
    let request =
        report(vec![listing("x", 1, 0, true, vec![])], vec![]).to_request(&foreign, T0_MS);
    let (code, message) = refusal(&link_request(&mut h, 2, request, true));
    assert_eq!(code, error::INVALID_AUTHENTICATION);
    assert!(message.contains("token.secret"), "{message}");
    // Encrypted and sealed with our secret: accepted. The server was unknown
    // and sent only changes, so the master asks for all its rooms.
    match &link_request(&mut h, 2, sealed(T0_MS, "a"), true)[..] {
        [Message::Response(r)] => {
            assert_eq!(r.return_code, 0);
            assert_eq!(
                r.parameters.get(param::DATA).and_then(Value::as_str),
                Some(FULL_REPORT_PLEASE)
            );
        }
        other => panic!("expected a request for a full report, got {other:?}"),
    }
    assert_eq!(h.logic.room_count(), 1);
    // The same report again (a replay), or an older one: refused.
    let (code, message) = refusal(&link_request(&mut h, 2, sealed(T0_MS, "b"), true));
    assert_eq!(code, error::INVALID_AUTHENTICATION);
    assert!(message.contains("newer"), "{message}");
    assert_eq!(h.logic.room_count(), 1);
    // A newer one is applied; the server is known now: no answer.
    assert!(link_request(&mut h, 2, sealed(T0_MS + 1, "b"), true).is_empty());
    assert_eq!(h.logic.room_count(), 2);
    // A full report from an unknown server needs no follow-up either.
    let mut full = report(vec![listing("c", 1, 0, true, vec![])], vec![]);
    full.server_id = "g9".into();
    full.full = true;
    h.logic
        .handle_connected(h.now, p(3), Protocol::Udp, &mut h.out);
    assert!(link_request(&mut h, 3, full.to_request(&key, T0_MS), true).is_empty());
    assert_eq!(h.logic.room_count(), 3);
    h.logic.handle_disconnected(h.now, p(3), &mut h.out);
    assert_eq!(h.logic.room_count(), 2);
    // A client's token cannot carry a report.
    let client_token = h.token("1", T0_MS);
    let (code, _) = refusal(&link_request(
        &mut h,
        2,
        OperationRequest {
            code: op::GAME_SERVER_REPORT,
            parameters: Parameters::new().with(param::TOKEN, client_token),
        },
        true,
    ));
    assert_eq!(code, error::INVALID_AUTHENTICATION);
    // The link's peer is now exempt from client rate limits; a client is not.
    assert!(h.logic.is_rate_limit_exempt(p(2)));
    assert!(!h.logic.is_rate_limit_exempt(p(1)));
    // The link's end forgets the server and its rooms.
    h.logic.handle_disconnected(h.now, p(2), &mut h.out);
    assert!(!h.logic.is_rate_limit_exempt(p(2)));
    assert_eq!(h.logic.room_count(), 0);
    assert!(h.logic.servers().is_empty());
}

fn create_on(h: &mut H, name: &str) -> String {
    let r = h.request(
        1,
        op::CREATE_GAME,
        Parameters::new().with(param::ROOM_NAME, name),
    );
    assert_eq!(r.return_code, 0, "{r:?}");
    address(&r).to_owned()
}

#[test]
fn new_rooms_go_to_the_least_loaded_server() {
    let mut h = H::new();
    h.connect(1, Protocol::Udp, "1");
    h.logic.apply_report(h.now, load_report("g1", 40, 4));
    h.logic.apply_report(h.now, load_report("g2", 10, 1));
    // g2 has fewer peers; rooms placed since its report count as load, so a
    // burst of creations spreads instead of piling onto one server.
    let placed: Vec<String> = (0..40)
        .map(|i| create_on(&mut h, &format!("r{i}")))
        .collect();
    let on_g2 = placed.iter().filter(|a| a.contains("g2")).count();
    assert_eq!(placed[0], "udp://g2:5056");
    assert_eq!(
        on_g2, 35,
        "g2 takes rooms until its load (10 peers + placed) reaches g1's 40"
    );
    // Each room is on exactly one server.
    for (i, address) in placed.iter().enumerate() {
        let server = h.logic.server_of(&app("1"), &format!("r{i}")).unwrap();
        assert!(address.contains(server), "r{i}: {address} vs {server}");
    }
    // A new report resets the count; a server above 90 % CPU comes last.
    let mut busy = load_report("g2", 0, 0);
    busy.cpu_percent = 95.0;
    h.logic.apply_report(h.now, busy);
    h.logic.apply_report(h.now, load_report("g1", 50, 9));
    assert_eq!(create_on(&mut h, "after"), "udp://g1:5056");
    let loads = h.logic.servers();
    assert_eq!(loads.len(), 2);
    assert_eq!(loads[1].cpu_percent, 95.0);
}

#[test]
fn a_silent_game_server_is_retired_with_its_rooms() {
    let mut h = H::new();
    h.connect(1, Protocol::Udp, "1");
    h.logic.apply_report(h.now, load_report("g1", 0, 0));
    h.logic.apply_report(h.now, load_report("g2", 0, 0));
    let a = create_on(&mut h, "a");
    let b = create_on(&mut h, "b");
    assert_ne!(a, b, "two empty servers share the first rooms");
    // Both confirm their room; then only g2 keeps reporting, once a second.
    let on = |id: &str, room: &str| {
        let mut r = load_report(id, 1, 1);
        r.updated = vec![listing(room, 1, 0, true, vec![])];
        r
    };
    let (a_server, b_server) = if a.contains("g1") {
        ("g1", "g2")
    } else {
        ("g2", "g1")
    };
    h.logic.apply_report(h.now, on(a_server, "a"));
    h.logic.apply_report(h.now, on(b_server, "b"));
    let silent = "g1";
    for _ in 0..5 {
        let deadline = h
            .logic
            .poll_timeout()
            .expect("a timer while servers are known");
        assert!(deadline <= h.now + Duration::from_secs(5));
        h.now += Duration::from_secs(1);
        h.logic.apply_report(h.now, load_report("g2", 1, 1));
        h.logic.handle_timeout(h.now, &mut h.out);
    }
    let ids: Vec<String> = h.logic.servers().into_iter().map(|s| s.server_id).collect();
    assert_eq!(ids, vec!["g2".to_string()], "{silent} missed five reports");
    let silent_room = if a_server == silent { "a" } else { "b" };
    let kept_room = if a_server == silent { "b" } else { "a" };
    assert!(h.logic.server_of(&app("1"), silent_room).is_none());
    assert_eq!(h.logic.server_of(&app("1"), kept_room), Some("g2"));
    // New rooms go to the server still alive.
    for i in 0..3 {
        assert_eq!(create_on(&mut h, &format!("n{i}")), "udp://g2:5056");
    }
}
