//! Random sequences of commands, transport events, answers, server events and
//! garbage (seeded, deterministic): the core never panics and keeps its invariants.

use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;
use std::time::Duration;
use transport::codec::{Parameters, Value};
use transport::lb::{error as code, event, param};
use transport::DisconnectReason;

fn random_parameters(rng: &mut StdRng) -> Parameters {
    let mut parameters = Parameters::new();
    for _ in 0..rng.gen_range(0..4) {
        let key = *[
            param::ADDRESS,
            param::TOKEN,
            param::ROOM_NAME,
            param::ACTOR_NR,
            param::ACTOR_LIST,
            param::PLAYER_PROPERTIES,
            param::GAME_PROPERTIES,
            param::PROPERTIES,
            param::GAME_LIST,
            param::IS_INACTIVE,
            param::MASTER_CLIENT_ID,
            param::TARGET_ACTOR_NR,
            param::DATA,
        ]
        .get(rng.gen_range(0..13))
        .unwrap();
        let value = match rng.gen_range(0..6) {
            0 => Value::from(GAME),
            1 => Value::I32(rng.gen_range(-2..5)),
            2 => Value::Bool(rng.gen()),
            3 => Properties::new()
                .with(
                    Value::I32(rng.gen_range(0..4)),
                    Properties::new().with("k", 1i32).to_value(),
                )
                .to_value(),
            4 => Properties::new()
                .with(
                    "room",
                    Properties::new()
                        .with(transport::lb::room_key::REMOVED, true)
                        .to_value(),
                )
                .to_value(),
            _ => Value::Null,
        };
        parameters.insert(key, value);
    }
    parameters
}

fn step(h: &mut Harness, rng: &mut StdRng) {
    let now = h.now;
    let conn = h.core.connection();
    // Weighted: mostly the happy path (answers, connects), with commands,
    // events, garbage and failures mixed in.
    let pick = match rng.gen_range(0..100) {
        0..=29 => 16,
        30..=44 => 12,
        45..=54 => 14,
        55..=69 => rng.gen_range(0..12),
        70..=77 => 20,
        78..=81 => 21,
        82..=83 => 15,
        84 => 22,
        _ => 23,
    };
    match pick {
        0 => drop(h.core.connect(now)),
        1 => drop(h.core.join_lobby(now, None)),
        2 => drop(h.core.create_room(now, None, RoomOptions::default())),
        3 => drop(h.core.join_room(now, "r")),
        4 => drop(h.core.join_or_create_room(now, "r", RoomOptions::default())),
        5 => drop(h.core.join_random_room(now, JoinRandomOptions::default())),
        6 => drop(h.core.leave_room(
            now,
            LeaveOptions {
                become_inactive: rng.gen(),
            },
        )),
        7 if rng.gen_bool(0.2) => drop(h.core.disconnect(now)),
        8 => drop(h.core.reconnect_and_rejoin(now)),
        9 => drop(
            h.core
                .raise_event(rng.gen_range(0..200), 1i32, &RaiseEventOptions::default()),
        ),
        10 => drop(
            h.core
                .send_raw(bytes::Bytes::from_static(b"f"), &RawSendOptions::default()),
        ),
        11 => drop(
            h.core
                .set_room_properties(now, Properties::new().with("k", 1i32), None),
        ),
        12 | 13 => {
            if let Some(id) = conn {
                h.core.handle_connected(now, id);
            }
        }
        14 => {
            if let Some(id) = conn {
                h.core.handle_encryption_established(now, id);
            }
        }
        15 => {
            if let Some(id) = conn {
                match rng.gen_range(0..3) {
                    0 => h
                        .core
                        .handle_disconnected(now, id, DisconnectReason::Timeout),
                    1 => h.core.handle_connect_failed(now, id, "refused"),
                    _ => h.core.handle_encryption_failed(now, id, "bad key"),
                }
            }
        }
        16..=19 => {
            // Answer the last request, usually with success and plausible parameters.
            if conn.is_some() {
                if let Some((_, transport::codec::Message::Request(request), _)) =
                    h.sent.last().cloned()
                {
                    let return_code = if rng.gen_bool(0.9) {
                        0
                    } else {
                        *[
                            code::GAME_FULL,
                            code::AUTHENTICATION_TICKET_EXPIRED,
                            code::INVALID_OPERATION,
                        ]
                        .get(rng.gen_range(0..3))
                        .unwrap()
                    };
                    let mut parameters = random_parameters(rng);
                    if rng.gen_bool(0.9) {
                        parameters.insert(param::ADDRESS, if rng.gen() { MASTER } else { GAME });
                        parameters.insert(param::TOKEN, "t");
                        parameters.insert(param::ROOM_NAME, "r");
                        parameters.insert(param::ACTOR_NR, rng.gen_range(1..4));
                    }
                    h.respond(request.code, return_code, parameters);
                }
            }
        }
        20 => {
            if conn.is_some() {
                let code = *[
                    event::JOIN,
                    event::LEAVE,
                    event::PROPERTIES_CHANGED,
                    event::GAME_LIST_UPDATE,
                    event::AUTH_EVENT,
                    7,
                ]
                .get(rng.gen_range(0..6))
                .unwrap();
                let parameters = random_parameters(rng);
                h.event(code, rng.gen_range(0..4), parameters);
            }
        }
        21 => {
            if let Some(id) = conn {
                let garbage: Vec<u8> = (0..rng.gen_range(0..12)).map(|_| rng.gen()).collect();
                h.core.handle_message(now, id, &bytes::Bytes::from(garbage));
            }
        }
        22 => {
            if let Some(deadline) = h.core.poll_timeout() {
                h.now = deadline;
                h.core.handle_timeout(h.now);
            }
        }
        _ => {
            h.now += Duration::from_millis(rng.gen_range(0..300));
            h.core.handle_timeout(h.now);
        }
    }
    h.drain();
}

fn check_invariants(h: &Harness, completed: &mut HashSet<RequestId>, seen: &mut usize) {
    let state = h.core.state();
    if h.core.room().is_some() {
        assert!(
            matches!(state, ClientState::Joined | ClientState::Leaving),
            "room kept in {state}"
        );
    }
    if state == ClientState::Joined {
        assert!(h.core.room().is_some(), "joined without a room");
    }
    if state.is_disconnected() {
        assert!(h.core.connection().is_none(), "a connection in {state}");
        assert_eq!(h.core.poll_timeout(), None, "a timer while {state}");
    }
    for completion in &h.completions[*seen..] {
        assert!(
            completed.insert(completion.request),
            "request {:?} completed twice",
            completion.request
        );
    }
    *seen = h.completions.len();
}

#[test]
fn random_sequences_never_panic_and_keep_invariants() {
    let mut states = HashSet::new();
    let mut joined_runs = 0;
    for seed in 0..300u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut h = Harness::new();
        let mut completed = HashSet::new();
        let mut seen = 0;
        for _ in 0..200 {
            step(&mut h, &mut rng);
            check_invariants(&h, &mut completed, &mut seen);
        }
        states.extend(h.states());
        joined_runs += usize::from(h.states().contains(&ClientState::Joined));
    }
    // The walk must reach deep into the flow, or it proves little.
    assert!(
        joined_runs >= 30,
        "only {joined_runs} of 300 runs reached a room; visited {states:?}"
    );
    for state in [
        ClientState::JoinedLobby,
        ClientState::Leaving,
        ClientState::Disconnecting,
    ] {
        assert!(states.contains(&state), "{state} never visited: {states:?}");
    }
}
