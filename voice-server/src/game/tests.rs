//! Room logic without the network: every output recorded.

use super::*;
use crate::outbox::{Recorded, RecordingOutbox};
use crate::token::WallClock;
use std::sync::Mutex;
use transport::codec::Value;
use transport::codec::{
    Dictionary, OperationResponse, RawRouting, RawSend, ReceiverGroup, TypeCode, TypedArray,
};
use transport::lb::cache as caching;
use transport::lb::{actor_key, receivers, room_key};
use transport::{Delivery, SendOptions};

const T0_MS: u64 = 1_700_000_000_000;

struct Harness {
    logic: GameLogic,
    out: RecordingOutbox,
    key: TokenKey,
    clock: WallClock,
    t0: Instant,
    now: Instant,
    reports: Arc<Mutex<Vec<GameReport>>>,
    metrics: Arc<Metrics>,
}

fn settings() -> GameSettings {
    GameSettings {
        server_id: "game-test".into(),
        addresses: vec![(Protocol::Udp, "udp://127.0.0.1:5056".into())],
        max_rooms: 10,
        max_cached_events: 3,
        bounds: RoomBounds {
            max_actors: 8,
            max_player_ttl_ms: 60_000,
            max_empty_room_ttl_ms: 60_000,
            default_empty_room_ttl_ms: 0,
        },
        token_lifetime: Duration::from_secs(3600),
        token_refresh_interval: Duration::from_secs(300),
    }
}

fn dict(entries: Vec<(Value, Value)>) -> Value {
    Value::Dictionary(Dictionary {
        key_type: TypeCode::Any,
        value_type: TypeCode::Any,
        entries,
    })
}

fn p(peer: u32) -> PeerHandle {
    PeerHandle(peer)
}

impl Harness {
    fn new() -> Self {
        let t0 = Instant::now();
        let clock = WallClock::fixed(t0, T0_MS);
        let key = TokenKey::from_secret("test secret that is long enough");
        let reports = Arc::new(Mutex::new(Vec::new()));
        let sink = reports.clone();
        let metrics = Metrics::new();
        let logic = GameLogic::new(
            settings(),
            key.clone(),
            Arc::new(clock),
            metrics.clone(),
            Box::new(move |r| sink.lock().unwrap().push(r)),
        );
        Self {
            logic,
            out: RecordingOutbox::default(),
            key,
            clock,
            t0,
            now: t0,
            reports,
            metrics,
        }
    }

    fn token(&self, user: &str) -> Vec<u8> {
        let now = self.clock.unix_ms(self.now);
        self.key.seal(&TokenClaims {
            user_id: user.into(),
            app_id: "app".into(),
            app_version: "1".into(),
            auth_values: String::new(),
            issued_ms: now,
            expires_ms: now + 3_600_000,
            data: serde_json::Value::Null,
        })
    }

    fn connect(&mut self, peer: u32, user: &str) {
        self.logic
            .handle_connected(self.now, p(peer), Protocol::Udp, &mut self.out);
        let token = self.token(user);
        let r = self.request(
            peer,
            op::AUTHENTICATE,
            Parameters::new().with(param::TOKEN, token),
        );
        assert_eq!(r.return_code, 0, "{r:?}");
    }

    /// Sends a request and returns the response to it.
    fn request(&mut self, peer: u32, code: u8, parameters: Parameters) -> OperationResponse {
        self.request_with(peer, code, parameters, MessageMeta::reliable(false))
    }

    fn request_with(
        &mut self,
        peer: u32,
        code: u8,
        parameters: Parameters,
        meta: MessageMeta,
    ) -> OperationResponse {
        self.out.sent.clear();
        self.logic.handle_request(
            self.now,
            p(peer),
            OperationRequest { code, parameters },
            meta,
            &mut self.out,
        );
        self.out
            .messages_to(p(peer))
            .into_iter()
            .find_map(|m| match m {
                Message::Response(r) if r.code == code => Some(r.clone()),
                _ => None,
            })
            .unwrap_or_else(|| OperationResponse {
                code,
                return_code: i16::MIN,
                debug_message: Some("no response".into()),
                parameters: Parameters::new(),
            })
    }

    /// Sends a request that has no success response (RaiseEvent).
    fn send(&mut self, peer: u32, code: u8, parameters: Parameters) {
        self.out.sent.clear();
        self.logic.handle_request(
            self.now,
            p(peer),
            OperationRequest { code, parameters },
            MessageMeta::reliable(false),
            &mut self.out,
        );
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

    fn receivers_of(&self, code: u8) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .out
            .sent
            .iter()
            .filter_map(|(peer, r)| match r {
                Recorded::Message(Message::Event(e), _) if e.code == code => Some(peer.0),
                _ => None,
            })
            .collect();
        v.sort();
        v
    }

    fn create(&mut self, peer: u32, name: &str, extra: Parameters) -> OperationResponse {
        let mut params = extra;
        params.insert(param::ROOM_NAME, name);
        self.request(peer, op::CREATE_GAME, params)
    }

    fn join(&mut self, peer: u32, name: &str) -> OperationResponse {
        self.request(
            peer,
            op::JOIN_GAME,
            Parameters::new().with(param::ROOM_NAME, name),
        )
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.out.sent.clear();
        self.logic.handle_timeout(self.now, &mut self.out);
    }

    fn room(&self, name: &str) -> Option<&Room> {
        self.logic.room(
            &AppKey {
                app_id: "app".into(),
                app_version: "1".into(),
            },
            name,
        )
    }

    /// Four actors 1..=4 on peers 1..=4 in room "r".
    fn four() -> Self {
        let mut h = Harness::new();
        for i in 1..=4 {
            h.connect(i, &format!("u{i}"));
        }
        assert_eq!(h.create(1, "r", Parameters::new()).return_code, 0);
        for i in 2..=4 {
            assert_eq!(h.join(i, "r").return_code, 0);
        }
        h
    }
}

fn int(r: &OperationResponse, key: u8) -> i64 {
    r.parameters
        .get(key)
        .and_then(Value::as_i64)
        .unwrap_or(-999)
}

#[test]
fn actor_numbers_and_join_events() {
    let mut h = Harness::new();
    h.connect(1, "alice");
    h.connect(2, "bob");
    let r = h.create(1, "r", Parameters::new());
    assert_eq!(r.return_code, 0, "{r:?}");
    assert_eq!(int(&r, param::ACTOR_NR), 1);
    assert_eq!(int(&r, param::MASTER_CLIENT_ID), 1);
    assert_eq!(h.receivers_of(event::JOIN), vec![1]);
    let r = h.join(2, "r");
    assert_eq!(int(&r, param::ACTOR_NR), 2);
    assert_eq!(
        r.parameters.get(param::ACTOR_LIST),
        Some(&Value::Array(TypedArray::I32(vec![1, 2])))
    );
    assert_eq!(h.receivers_of(event::JOIN), vec![1, 2]);
    let join = &h.events_to(1)[0];
    assert_eq!(join.parameters.get(param::ACTOR_NR), Some(&Value::I32(2)));
    // The master was told about the room and its player count.
    let reports = h.reports.lock().unwrap();
    let last = reports.last().unwrap();
    assert_eq!(last.updated[0].name, "r");
    assert_eq!(last.updated[0].player_count, 2);
}

#[test]
fn join_errors() {
    let mut h = Harness::new();
    h.logic
        .handle_connected(h.now, p(9), Protocol::Udp, &mut h.out);
    assert_eq!(
        h.create(9, "r", Parameters::new()).return_code,
        error::INVALID_AUTHENTICATION
    );
    let forged = h.request(
        9,
        op::AUTHENTICATE,
        Parameters::new().with(param::TOKEN, vec![1u8; 60]),
    );
    assert_eq!(forged.return_code, error::INVALID_AUTHENTICATION);
    for i in 1..=4 {
        h.connect(i, &format!("u{i}"));
    }
    assert_eq!(h.join(1, "nope").return_code, error::GAME_DOES_NOT_EXIST);
    let max2 = Parameters::new().with(
        param::GAME_PROPERTIES,
        dict(vec![(Value::U8(room_key::MAX_PLAYERS), Value::U8(2))]),
    );
    assert_eq!(h.create(1, "r", max2).return_code, 0);
    assert_eq!(
        h.create(2, "r", Parameters::new()).return_code,
        error::GAME_ID_ALREADY_EXISTS
    );
    assert_eq!(h.join(2, "r").return_code, 0);
    let full = h.join(3, "r");
    assert_eq!(full.return_code, error::GAME_FULL);
    assert!(full.debug_message.unwrap().contains("full"));
    // Already in a room.
    assert_eq!(
        h.join(2, "r").return_code,
        error::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE
    );
    // Close the room, then a free slot still refuses.
    let close = Parameters::new().with(
        param::PROPERTIES,
        dict(vec![(Value::U8(room_key::IS_OPEN), Value::Bool(false))]),
    );
    assert_eq!(h.request(1, op::SET_PROPERTIES, close).return_code, 0);
    assert_eq!(h.request(2, op::LEAVE, Parameters::new()).return_code, 0);
    assert_eq!(h.join(3, "r").return_code, error::GAME_CLOSED);
    // Join-or-create creates.
    let r = h.request(
        3,
        op::JOIN_GAME,
        Parameters::new()
            .with(param::ROOM_NAME, "new")
            .with(param::JOIN_MODE, join_mode::CREATE_IF_NOT_EXISTS),
    );
    assert_eq!((r.return_code, int(&r, param::ACTOR_NR)), (0, 1));
}

#[test]
fn unknown_and_malformed_operations_name_the_problem() {
    let mut h = Harness::new();
    h.connect(1, "u1");
    let r = h.request(1, 99, Parameters::new());
    assert_eq!(r.return_code, error::INVALID_OPERATION);
    assert!(r.debug_message.unwrap().contains("99"));
    let r = h.request(
        1,
        op::CREATE_GAME,
        Parameters::new().with(param::ROOM_NAME, 5i32),
    );
    assert_eq!(r.return_code, error::INVALID_OPERATION);
    assert!(r.debug_message.unwrap().contains("parameter 255"));
    let r = h.request(1, op::JOIN_RANDOM_GAME, Parameters::new());
    assert_eq!(r.return_code, error::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE);
    let r = h.request(1, op::RAISE_EVENT, Parameters::new().with(param::CODE, 1u8));
    assert_eq!(r.return_code, error::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE);
}

fn raise(code: u8) -> Parameters {
    Parameters::new()
        .with(param::CODE, code)
        .with(param::DATA, "hello")
}

#[test]
fn raise_event_receivers_targets_and_groups() {
    let mut h = Harness::four();
    h.send(1, op::RAISE_EVENT, raise(1));
    assert_eq!(h.receivers_of(1), vec![2, 3, 4]);
    let ev = &h.events_to(2)[0];
    assert_eq!(
        (ev.sender, ev.parameters.get(param::DATA)),
        (1, Some(&Value::from("hello")))
    );
    h.send(
        1,
        op::RAISE_EVENT,
        raise(1).with(param::RECEIVER_GROUP, receivers::ALL),
    );
    assert_eq!(h.receivers_of(1), vec![1, 2, 3, 4]);
    h.send(
        3,
        op::RAISE_EVENT,
        raise(1).with(param::RECEIVER_GROUP, receivers::MASTER_CLIENT),
    );
    assert_eq!(h.receivers_of(1), vec![1]);
    h.send(
        1,
        op::RAISE_EVENT,
        raise(1).with(
            param::ACTOR_LIST,
            Value::Array(TypedArray::I32(vec![3, 99])),
        ),
    );
    assert_eq!(h.receivers_of(1), vec![3]);
    // Interest group 5: only subscribers (2 and 4).
    for peer in [2, 4] {
        assert_eq!(
            h.request(
                peer,
                op::CHANGE_GROUPS,
                Parameters::new().with(param::ADD, vec![5u8])
            )
            .return_code,
            0
        );
    }
    h.send(1, op::RAISE_EVENT, raise(1).with(param::GROUP, 5u8));
    assert_eq!(h.receivers_of(1), vec![2, 4]);
    // Group 0 still reaches everyone.
    h.send(1, op::RAISE_EVENT, raise(1).with(param::GROUP, 0u8));
    assert_eq!(h.receivers_of(1), vec![2, 3, 4]);
    // Bad receiver group.
    h.out.sent.clear();
    let r = h.request(
        1,
        op::RAISE_EVENT,
        raise(1).with(param::RECEIVER_GROUP, 7u8),
    );
    assert_eq!(r.return_code, error::INVALID_OPERATION);
}

#[test]
fn change_groups_removes_first_then_adds() {
    let mut h = Harness::four();
    let groups = |h: &Harness, actor: i32| h.room("r").unwrap().actors[&actor].groups;
    // Add all (empty array), then remove 3: remove runs first, so 3 stays.
    h.request(
        2,
        op::CHANGE_GROUPS,
        Parameters::new().with(param::ADD, Vec::<u8>::new()),
    );
    assert!(groups(&h, 2).contains(200));
    h.request(
        2,
        op::CHANGE_GROUPS,
        Parameters::new()
            .with(param::REMOVE, vec![3u8])
            .with(param::ADD, vec![3u8]),
    );
    assert!(groups(&h, 2).contains(3));
    // Remove all (empty array) then add 7.
    h.request(
        2,
        op::CHANGE_GROUPS,
        Parameters::new()
            .with(param::REMOVE, Vec::<u8>::new())
            .with(param::ADD, vec![7u8]),
    );
    let g = groups(&h, 2);
    assert!(g.contains(7) && !g.contains(3) && !g.contains(200));
    // Absent parameters change nothing.
    h.request(2, op::CHANGE_GROUPS, Parameters::new());
    assert_eq!(groups(&h, 2), g);
}

#[test]
fn cached_events_replay_to_late_joiners_and_can_be_removed() {
    let mut h = Harness::new();
    for i in 1..=5 {
        h.connect(i, &format!("u{i}"));
    }
    h.create(1, "r", Parameters::new());
    h.send(
        1,
        op::RAISE_EVENT,
        raise(10).with(param::CACHE, caching::ADD_TO_ROOM_CACHE),
    );
    h.send(
        1,
        op::RAISE_EVENT,
        raise(11).with(param::CACHE, caching::ADD_TO_ROOM_CACHE_GLOBAL),
    );
    h.join(2, "r");
    let codes: Vec<u8> = h.events_to(2).iter().map(|e| e.code).collect();
    assert_eq!(
        codes,
        vec![event::JOIN, 10, 11],
        "join event first, then the cache in order"
    );
    // Remove code 10 from the cache: the next joiner gets only 11.
    h.send(
        1,
        op::RAISE_EVENT,
        Parameters::new()
            .with(param::CODE, 10u8)
            .with(param::CACHE, caching::REMOVE_FROM_ROOM_CACHE),
    );
    assert!(
        h.out.sent.is_empty(),
        "removing from the cache sends nothing"
    );
    h.join(3, "r");
    assert_eq!(
        h.events_to(3).iter().map(|e| e.code).collect::<Vec<_>>(),
        vec![event::JOIN, 11]
    );
    // Actor 2 caches one; when it leaves for good its entry goes, the global one stays.
    h.send(
        2,
        op::RAISE_EVENT,
        raise(12).with(param::CACHE, caching::ADD_TO_ROOM_CACHE),
    );
    h.request(2, op::LEAVE, Parameters::new());
    h.join(4, "r");
    assert_eq!(
        h.events_to(4).iter().map(|e| e.code).collect::<Vec<_>>(),
        vec![event::JOIN, 11]
    );
    // The cache limit (3 in these settings) answers OperationLimitReached.
    h.send(
        1,
        op::RAISE_EVENT,
        raise(20).with(param::CACHE, caching::ADD_TO_ROOM_CACHE),
    );
    h.send(
        1,
        op::RAISE_EVENT,
        raise(21).with(param::CACHE, caching::ADD_TO_ROOM_CACHE),
    );
    let r = h.request(
        1,
        op::RAISE_EVENT,
        raise(22).with(param::CACHE, caching::ADD_TO_ROOM_CACHE),
    );
    assert_eq!(r.return_code, error::OPERATION_LIMIT_REACHED);
}

#[test]
fn properties_compare_and_set() {
    let mut h = Harness::four();
    let set = |k: &str, v: i32| {
        Parameters::new().with(
            param::PROPERTIES,
            dict(vec![(Value::from(k), Value::I32(v))]),
        )
    };
    let r = h.request(1, op::SET_PROPERTIES, set("score", 1));
    assert_eq!(r.return_code, 0);
    assert_eq!(h.receivers_of(event::PROPERTIES_CHANGED), vec![1, 2, 3, 4]);
    // CAS with a wrong expectation fails and changes nothing.
    let cas = |want: i32| {
        set("score", 5).with(
            param::EXPECTED_VALUES,
            dict(vec![(Value::from("score"), Value::I32(want))]),
        )
    };
    let r = h.request(2, op::SET_PROPERTIES, cas(2));
    assert_eq!(r.return_code, error::INVALID_OPERATION);
    assert!(r.debug_message.unwrap().contains("compare-and-set failed"));
    assert!(h.receivers_of(event::PROPERTIES_CHANGED).is_empty());
    assert_eq!(
        h.room("r").unwrap().props.get(&Value::from("score")),
        Some(&Value::I32(1))
    );
    assert_eq!(h.request(2, op::SET_PROPERTIES, cas(1)).return_code, 0);
    assert_eq!(
        h.room("r").unwrap().props.get(&Value::from("score")),
        Some(&Value::I32(5))
    );
    // Actor properties.
    let actor = set("ready", 1).with(param::ACTOR_NR, 3i32);
    assert_eq!(h.request(3, op::SET_PROPERTIES, actor).return_code, 0);
    let ev = &h.events_to(1)[0];
    assert_eq!(
        ev.parameters.get(param::TARGET_ACTOR_NR),
        Some(&Value::I32(3))
    );
    assert_eq!(
        h.room("r").unwrap().actors[&3]
            .props
            .get(&Value::from("ready")),
        Some(&Value::I32(1))
    );
    let r = h.request(
        3,
        op::SET_PROPERTIES,
        set("x", 1).with(param::ACTOR_NR, 42i32),
    );
    assert_eq!(r.return_code, error::INVALID_OPERATION);
    // Null deletes.
    let del = Parameters::new().with(
        param::PROPERTIES,
        dict(vec![(Value::from("score"), Value::Null)]),
    );
    h.request(1, op::SET_PROPERTIES, del);
    assert_eq!(h.room("r").unwrap().props.get(&Value::from("score")), None);
    let r = h.request(1, op::GET_PROPERTIES, Parameters::new());
    assert!(
        matches!(r.parameters.get(param::PLAYER_PROPERTIES), Some(Value::Dictionary(d)) if d.entries.len() == 4)
    );
}

#[test]
fn master_client_moves_to_the_longest_present_actor() {
    let mut h = Harness::four();
    assert_eq!(h.room("r").unwrap().master_client, 1);
    h.request(1, op::LEAVE, Parameters::new());
    assert_eq!(h.room("r").unwrap().master_client, 2);
    let leave = h
        .events_to(3)
        .into_iter()
        .find(|e| e.code == event::LEAVE)
        .unwrap();
    assert_eq!(leave.parameters.get(param::ACTOR_NR), Some(&Value::I32(1)));
    assert_eq!(
        leave.parameters.get(param::MASTER_CLIENT_ID),
        Some(&Value::I32(2))
    );
    assert_eq!(h.receivers_of(event::LEAVE), vec![2, 3, 4]);
    // A disconnect of the master (no TTL: removed) moves it on too.
    h.out.sent.clear();
    h.logic.handle_disconnected(h.now, p(2), &mut h.out);
    assert_eq!(h.room("r").unwrap().master_client, 3);
    assert_eq!(h.receivers_of(event::LEAVE), vec![3, 4]);
}

#[test]
fn rejoin_within_player_ttl_keeps_the_actor_number() {
    let mut h = Harness::new();
    h.connect(1, "alice");
    h.connect(2, "bob");
    h.create(1, "r", Parameters::new().with(param::PLAYER_TTL, 10_000i32));
    h.join(2, "r");
    h.out.sent.clear();
    h.logic.handle_disconnected(h.now, p(2), &mut h.out);
    let leave = h
        .events_to(1)
        .into_iter()
        .find(|e| e.code == event::LEAVE)
        .unwrap();
    assert_eq!(
        leave.parameters.get(param::IS_INACTIVE),
        Some(&Value::Bool(true))
    );
    assert!(!h.room("r").unwrap().actors[&2].is_active());
    // Bob comes back on a new connection before the TTL ends.
    h.now += Duration::from_secs(5);
    h.connect(3, "bob");
    let plain = h.join(3, "r");
    assert_eq!(plain.return_code, error::JOIN_FAILED_FOUND_INACTIVE_JOINER);
    let r = h.request(
        3,
        op::JOIN_GAME,
        Parameters::new()
            .with(param::ROOM_NAME, "r")
            .with(param::JOIN_MODE, join_mode::JOIN_OR_REJOIN),
    );
    assert_eq!((r.return_code, int(&r, param::ACTOR_NR)), (0, 2));
    // Leaves again as inactive; the TTL expires: the actor is removed and
    // the others are told it is gone for good.
    h.request(
        3,
        op::LEAVE,
        Parameters::new().with(param::IS_INACTIVE, true),
    );
    // (An earlier, now stale deadline may come first: spurious wake-ups are harmless.)
    assert!(h.logic.poll_timeout().unwrap() <= h.now + Duration::from_secs(10));
    h.advance(Duration::from_millis(9_999));
    assert!(h.room("r").unwrap().actors.contains_key(&2));
    h.advance(Duration::from_millis(1));
    assert!(!h.room("r").unwrap().actors.contains_key(&2));
    let gone = h
        .events_to(1)
        .into_iter()
        .find(|e| e.code == event::LEAVE)
        .unwrap();
    assert_eq!(
        gone.parameters.get(param::IS_INACTIVE),
        Some(&Value::Bool(false))
    );
    let r = h.request(
        3,
        op::JOIN_GAME,
        Parameters::new()
            .with(param::ROOM_NAME, "r")
            .with(param::JOIN_MODE, join_mode::REJOIN_ONLY),
    );
    assert_eq!(r.return_code, error::JOIN_FAILED_WITH_REJOINER_NOT_FOUND);
}

#[test]
fn empty_room_ttl_closes_the_room() {
    let mut h = Harness::new();
    h.connect(1, "alice");
    h.create(
        1,
        "r",
        Parameters::new().with(param::EMPTY_ROOM_TTL, 5_000i32),
    );
    assert_eq!(
        h.logic.poll_timeout(),
        None,
        "an occupied room has no timer"
    );
    h.request(1, op::LEAVE, Parameters::new());
    assert_eq!(h.logic.poll_timeout(), Some(h.now + Duration::from_secs(5)));
    h.advance(Duration::from_millis(4_999));
    assert!(h.room("r").is_some());
    h.advance(Duration::from_millis(1));
    assert!(h.room("r").is_none());
    assert_eq!(h.logic.room_count(), 0);
    assert_eq!(h.logic.poll_timeout(), None, "nothing left to wake up for");
    let last = h.reports.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.removed[0].1, "r");
    // A room without TTL closes as soon as it is empty (at the next timeout).
    h.create(1, "s", Parameters::new());
    h.request(1, op::LEAVE, Parameters::new());
    h.advance(Duration::ZERO);
    assert!(h.room("s").is_none());
    let _ = h.t0;
}

fn raw_frame(receivers: ReceiverGroup, group: u8, targets: Vec<i32>, payload: &[u8]) -> Vec<u8> {
    let raw = RawSend {
        routing: RawRouting {
            receivers,
            interest_group: group,
            target_count: targets.len() as u8,
        },
        targets,
        payload: bytes::Bytes::copy_from_slice(payload),
    };
    let mut buf = Vec::new();
    Message::RawSend(raw)
        .encode(&mut buf, &transport::codec::Limits::default())
        .unwrap();
    buf
}

fn relay(
    h: &mut Harness,
    peer: u32,
    frame: &[u8],
    meta: MessageMeta,
) -> Vec<(u32, Vec<u8>, SendOptions)> {
    h.out.sent.clear();
    let view = RawSendView::parse(frame).unwrap().unwrap();
    h.logic.handle_raw(h.now, p(peer), view, meta, &mut h.out);
    h.out
        .sent
        .iter()
        .filter_map(|(peer, r)| match r {
            Recorded::Parts(bytes, options) => Some((peer.0, bytes.clone(), *options)),
            _ => None,
        })
        .collect()
}

#[test]
fn voice_frames_are_relayed_unchanged_with_the_senders_options() {
    let mut h = Harness::four();
    let meta = MessageMeta {
        delivery: Delivery::UnreliableUnsequenced,
        channel: 1,
        encrypted: false,
        size: 0,
    };
    let frame = raw_frame(ReceiverGroup::Others, 0, vec![], b"opus-bytes");
    let sent = relay(&mut h, 2, &frame, meta);
    assert_eq!(sent.iter().map(|s| s.0).collect::<Vec<_>>(), vec![1, 3, 4]);
    for (_, bytes, options) in &sent {
        assert_eq!(*options, meta.send_options());
        let decoded = Message::decode(
            &bytes::Bytes::copy_from_slice(bytes),
            &transport::codec::Limits::default(),
        )
        .unwrap();
        match decoded {
            Message::RawEvent(ev) => {
                assert_eq!(ev.sender, 2);
                assert_eq!(&ev.payload[..], b"opus-bytes");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        h.metrics
            .voice_frames_relayed
            .load(std::sync::atomic::Ordering::Relaxed),
        3
    );
    // Targets.
    let sent = relay(
        &mut h,
        2,
        &raw_frame(ReceiverGroup::Others, 0, vec![4, 1], b"x"),
        meta,
    );
    assert_eq!(sent.iter().map(|s| s.0).collect::<Vec<_>>(), vec![4, 1]);
    // Interest group: only subscribers.
    h.request(
        3,
        op::CHANGE_GROUPS,
        Parameters::new().with(param::ADD, vec![9u8]),
    );
    let sent = relay(
        &mut h,
        2,
        &raw_frame(ReceiverGroup::Others, 9, vec![], b"x"),
        meta,
    );
    assert_eq!(sent.iter().map(|s| s.0).collect::<Vec<_>>(), vec![3]);
    // All includes the sender (echo).
    let sent = relay(
        &mut h,
        2,
        &raw_frame(ReceiverGroup::All, 0, vec![], b"x"),
        meta,
    );
    assert_eq!(
        sent.iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    // An encrypted frame is not relayed in the clear to a receiver without keys.
    h.out.no_encryption.push(p(4));
    let enc = MessageMeta {
        encrypted: true,
        ..meta
    };
    let sent = relay(
        &mut h,
        2,
        &raw_frame(ReceiverGroup::Others, 0, vec![], b"x"),
        enc,
    );
    assert_eq!(sent.iter().map(|s| s.0).collect::<Vec<_>>(), vec![1, 3]);
    assert!(sent.iter().all(|s| s.2.encrypt));
    assert_eq!(
        h.metrics
            .encryption_failures
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[test]
fn raw_frame_outside_a_room_is_refused() {
    let mut h = Harness::new();
    h.connect(1, "u1");
    let frame = raw_frame(ReceiverGroup::Others, 0, vec![], b"x");
    let sent = relay(&mut h, 1, &frame, MessageMeta::reliable(false));
    assert!(sent.is_empty());
    assert!(
        matches!(h.out.messages_to(p(1))[0], Message::Response(r) if r.return_code == error::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE)
    );
}

#[test]
fn tokens_are_refreshed_while_raising_events() {
    let mut h = Harness::four();
    h.send(1, op::RAISE_EVENT, raise(1));
    assert!(h.events_to(1).is_empty(), "fresh token: no refresh");
    h.now += Duration::from_secs(301);
    h.send(1, op::RAISE_EVENT, raise(1));
    let auth = h
        .events_to(1)
        .into_iter()
        .find(|e| e.code == event::AUTH_EVENT)
        .expect("refreshed token");
    let token = auth
        .parameters
        .get(param::TOKEN)
        .and_then(Value::as_bytes)
        .unwrap();
    let claims = h.key.open(token, h.clock.unix_ms(h.now)).unwrap();
    assert_eq!(claims.issued_ms, h.clock.unix_ms(h.now));
    assert_eq!(claims.user_id, "u1");
    // At most once per interval.
    h.now += Duration::from_secs(10);
    h.send(1, op::RAISE_EVENT, raise(1));
    assert!(h.events_to(1).iter().all(|e| e.code != event::AUTH_EVENT));
    assert_eq!(
        h.metrics
            .token_refreshes
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[test]
fn expired_token_is_refused_with_ticket_expired() {
    let mut h = Harness::new();
    let token = h.token("late");
    h.now += Duration::from_secs(3601);
    h.logic
        .handle_connected(h.now, p(1), Protocol::Udp, &mut h.out);
    let r = h.request(
        1,
        op::JOIN_GAME,
        Parameters::new()
            .with(param::ROOM_NAME, "r")
            .with(param::TOKEN, token),
    );
    assert_eq!(r.return_code, error::AUTHENTICATION_TICKET_EXPIRED);
}

#[test]
fn actor_properties_carry_user_id() {
    let mut h = Harness::four();
    let r = h.request(1, op::GET_PROPERTIES, Parameters::new());
    let Some(Value::Dictionary(d)) = r.parameters.get(param::PLAYER_PROPERTIES) else {
        panic!()
    };
    let (_, props) = d.entries.iter().find(|(k, _)| *k == Value::I32(2)).unwrap();
    let Value::Dictionary(props) = props else {
        panic!()
    };
    assert!(props
        .entries
        .contains(&(Value::U8(actor_key::USER_ID), Value::from("u2"))));
}

#[test]
fn a_room_of_only_inactive_actors_waits_for_their_ttl_without_spinning() {
    let mut h = Harness::new();
    h.connect(1, "alice");
    h.connect(2, "bob");
    h.create(1, "r", Parameters::new().with(param::PLAYER_TTL, 60_000i32));
    h.join(2, "r");
    // Both drop (a server shutdown does this): the room has no active actor,
    // its empty-room TTL (0) is over, but both may still rejoin for 60 s.
    h.logic.handle_disconnected(h.now, p(1), &mut h.out);
    h.logic.handle_disconnected(h.now, p(2), &mut h.out);
    // Bounded: a timer that re-arms itself in the past would never return.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let mut logic = std::mem::replace(&mut h.logic, Harness::new().logic);
    let now = h.now;
    let worker = std::thread::spawn(move || {
        let mut out = crate::outbox::RecordingOutbox::default();
        logic.handle_timeout(now + Duration::from_millis(1), &mut out);
        let _ = done_tx.send(());
        logic
    });
    done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("handle_timeout returns");
    h.logic = worker.join().unwrap();
    assert_eq!(
        h.logic.poll_timeout(),
        Some(h.now + Duration::from_secs(60)),
        "the next look is when the inactive actors expire"
    );
    assert_eq!(h.room("r").unwrap().actors.len(), 2, "both may rejoin");
    h.advance(Duration::from_secs(60));
    assert!(h.room("r").is_none(), "closed once their TTL ran out");
}
