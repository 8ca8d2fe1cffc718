//! The in-game example against an in-process server: with a fixed seed,
//! players hear exactly the players near them on the map (same or
//! neighbouring cell, per the positions at that time) and their team mates,
//! and nobody else. Receptions in the 200 ms after a move of the listener or
//! the speaker are not judged (the group switch takes about RTT/2).

#[path = "../in-game/game.rs"]
mod game;

use game::{near, GameConfig, Via};
use std::time::Duration;
use transport::Protocol;
use voice_server::config::{Config, Role};
use voice_server::run::{start, StartOptions};

const SETTLE: Duration = Duration::from_millis(200);

#[test]
fn players_hear_exactly_those_near_them_and_their_team() {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let d = server
        .block_on(start(Config::loopback(), StartOptions::default()))
        .expect("deployment starts");
    let url = d.url(Role::Name, Protocol::Udp).unwrap();
    let config = GameConfig {
        players: 8,
        seed: 42,
        duration: Duration::from_secs(6),
        speech: game::load_speech(&game::default_speech_path()).expect("speech asset"),
        ..GameConfig::default()
    };
    let mut log = Vec::new();
    let record = game::run(&config, &url, &mut log).expect("the match runs");
    let log = String::from_utf8(log).unwrap();
    assert!(log.contains("t=0 positions P0="), "{log}");
    assert!(log.contains(" heard listener=P"), "{log}");
    assert!(!record.moves.is_empty(), "players moved");

    // Nobody hears anyone they should not.
    let mut judged = 0;
    for h in &record.heard {
        assert_ne!(h.listener, h.speaker);
        match h.via {
            Via::Team => assert_eq!(
                record.teams[h.listener], record.teams[h.speaker],
                "{h:?}: team voice reached the other team"
            ),
            Via::Cell(..) => {
                if record.moved_within(h.listener, h.at, SETTLE)
                    || record.moved_within(h.speaker, h.at, SETTLE)
                {
                    continue;
                }
                let (l, s) = (
                    record.cell_at(h.listener, h.at),
                    record.cell_at(h.speaker, h.at),
                );
                assert!(
                    near(l, s),
                    "{h:?}: listener at {l:?} heard a speaker at {s:?} (not a neighbour)\n{log}"
                );
                judged += 1;
            }
        }
    }
    assert!(judged > 50, "enough proximity receptions judged: {judged}");

    // Everyone who should hear a speaker does, in every whole turn (turns
    // and moves happen on whole seconds).
    let (mut far_pairs, mut near_pairs) = (0, 0);
    for second in 0..config.duration.as_secs() - 1 {
        let from = Duration::from_secs(second) + SETTLE;
        let to = Duration::from_secs(second + 1);
        let mid = Duration::from_millis(second * 1000 + 500);
        let mut speakers: Vec<usize> = record
            .spoke
            .iter()
            .filter(|(at, _)| *at >= from && *at < to)
            .map(|(_, s)| *s)
            .collect();
        speakers.sort();
        speakers.dedup();
        assert!(!speakers.is_empty(), "someone talks in second {second}");
        for &speaker in &speakers {
            for listener in (0..config.players).filter(|l| *l != speaker) {
                let frames = |team: bool| -> u64 {
                    record
                        .heard
                        .iter()
                        .filter(|h| {
                            h.listener == listener
                                && h.speaker == speaker
                                && h.at >= from
                                && h.at < to
                                && (h.via == Via::Team) == team
                        })
                        .map(|h| h.frames)
                        .sum()
                };
                if record.teams[listener] == record.teams[speaker] {
                    assert!(
                        frames(true) >= 10,
                        "t={second}: P{listener} heard team mate P{speaker} for {} frames",
                        frames(true)
                    );
                }
                if near(record.cell_at(listener, mid), record.cell_at(speaker, mid)) {
                    near_pairs += 1;
                    assert!(
                        frames(false) >= 10,
                        "t={second}: P{listener} near P{speaker} heard {} frames\n{log}",
                        frames(false)
                    );
                } else {
                    far_pairs += 1;
                    assert_eq!(
                        frames(false),
                        0,
                        "t={second}: P{listener} far from P{speaker}"
                    );
                }
            }
        }
    }
    assert!(
        far_pairs > 0 && near_pairs > 0,
        "the run exercised both cases: {near_pairs} near, {far_pairs} far"
    );
    server.block_on(d.shutdown());
}
