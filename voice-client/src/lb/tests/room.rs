//! Lobby, room events, operations inside a room, timeouts and bad input.

use super::*;
use bytes::Bytes;
use std::time::Duration;
use transport::codec::{Message, Parameters, RawEvent, TypedArray, Value};
use transport::lb::{cache, error as code, event, join_mode, op, param, receivers, room_key};
use transport::{Delivery, DisconnectReason, SendOptions};

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
        h.core
            .raise_event(1, 0i32, &RaiseEventOptions::to(Receivers::Actors(vec![]))),
        Err(LbError::InvalidArgument(_))
    ));
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

#[test]
fn debug_output_never_shows_the_token() {
    let mut h = Harness::new();
    h.joined_room("r");
    let text = format!("{:?}", h.core);
    assert!(
        text.contains("Joined") && text.contains("has_token: true"),
        "{text}"
    );
    assert!(
        !text.contains("game-token") && !text.contains("t1"),
        "{text}"
    );
}
