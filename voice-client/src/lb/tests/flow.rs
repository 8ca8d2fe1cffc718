//! The name → master → game flow, errors, re-authentication and rejoin.

use super::*;
use std::time::Duration;
use transport::codec::{Parameters, Value};
use transport::lb::{error as code, join_mode, op, param};
use transport::DisconnectReason;

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
fn bad_settings_are_refused_before_anything_is_sent() {
    let mut h = Harness::with(LbConfig::new(NS, " "));
    let error = h.core.connect(h.now).unwrap_err();
    assert!(error.to_string().contains("app_id"), "{error}");
    let mut h = Harness::with(LbConfig::new("127.0.0.1:5058", "app"));
    let error = h.core.join_room(h.now, "r").unwrap_err();
    assert_eq!(error, LbError::InvalidAddress("127.0.0.1:5058".into()));
    assert!(error.to_string().contains("udp://host:port"), "{error}");
    h.drain();
    assert!(h.connects.is_empty() && h.events.is_empty());
    assert_eq!(h.core.state(), ClientState::PeerCreated);
}

#[test]
fn error_codes_are_named_and_classified() {
    let full = LbError::from_response(op::JOIN_GAME, code::GAME_FULL, None);
    assert_eq!(
        full.to_string(),
        "JoinGame failed: GameFull (32765): the room is full"
    );
    assert!(!full.is_transient());
    assert!(LbError::from_response(op::CREATE_GAME, code::SERVER_FULL, Some("")).is_transient());
    let timeout = LbError::Timeout {
        operation: "Authenticate",
        timeout: Duration::from_secs(10),
    };
    assert!(timeout.is_transient() && timeout.return_code().is_none());
}
