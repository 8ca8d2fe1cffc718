//! Scale-out across processes: two game server processes (the real
//! `voice-server` binary, `--role game`) register with one master over
//! encrypted UDP links and report their load; rooms spread over both; one is
//! killed (SIGKILL: no goodbye, no closed socket the master could notice) and
//! the master stops placing rooms on it within its `game_server_timeout`,
//! while a room on the other keeps relaying.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use transport::codec::Parameters;
use transport::lb::{error, op, param};
use transport::{Protocol, SendOptions};
use voice_server::config::Role;
use voice_server::run::{start, StartOptions};

const SECRET: &str = "a shared deployment secret, long enough";
const TIMEOUT_MS: u64 = 1500;

/// A game server process and the game URL it announced.
struct GameProcess {
    child: Child,
    udp_url: String,
    _dir: tempfile::TempDir,
}

impl Drop for GameProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Starts `voice-server run --role game` linked to `master_url`; waits (at
/// most 30 s) for the UDP URL it announces.
fn spawn_game_server(master_url: &str) -> GameProcess {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
[[game.listeners]]
protocol = "udp"
address = "127.0.0.1"
port = 0

[token]
secret = "{SECRET}"

[cluster]
game_workers = 1
report_interval_ms = 200
game_server_timeout_ms = {TIMEOUT_MS}
master_url = "{master_url}"
"#
    );
    let path = dir.path().join("game.toml");
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_voice-server"))
        .args(["run", "--role", "game", "--config"])
        .arg(&path)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the voice-server binary starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let line = strip_ansi(&line);
            eprintln!("[game {}] {line}", std::process::id());
            if let Some(at) = line.find("announced=udp://") {
                let url = line[at + "announced=".len()..]
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let _ = tx.send(url);
            }
        }
    });
    let udp_url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the game server announces its UDP listener");
    GameProcess {
        child,
        udp_url,
        _dir: dir,
    }
}

/// Where the master would send a new room now ("" when no game server is
/// registered; the reservation is dropped with the master connection and
/// expires unconfirmed).
async fn placement(front: &voice_server::run::Deployment, room: &str) -> String {
    let r = master_answer(front, Protocol::Udp, "probe", op::CREATE_GAME, room).await;
    if r.return_code == error::SERVER_FULL {
        return String::new(); // no game server registered yet
    }
    assert_eq!(r.return_code, 0, "{r:?}");
    str_param(&r, param::ADDRESS).to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_spread_over_two_game_processes_and_a_killed_one_is_retired() {
    guard(async {
        let mut config = local_config();
        config.token.secret = SECRET.into();
        config.cluster.report_interval_ms = 200;
        config.cluster.game_server_timeout_ms = TIMEOUT_MS;
        // Game servers link over UDP (on the master's client listener, which
        // needs no server-to-server listener): a killed process closes no
        // connection, so the master must find it by its silence. Over the
        // TCP server listener the closed socket retires it at once
        // (e2e_split_roles).
        config.cluster.listeners.clear();
        let front = start(
            config,
            StartOptions {
                roles: vec![Role::Name, Role::Master],
                ..StartOptions::default()
            },
        )
        .await
        .unwrap();
        let master_udp = front.url(Role::Master, Protocol::Udp).unwrap();
        let mut a = spawn_game_server(&master_udp);
        let b = spawn_game_server(&master_udp);
        assert_ne!(a.udp_url, b.udp_url);

        // Wait (bounded) until the master places rooms on both.
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = std::collections::BTreeSet::new();
        let mut probe = 0;
        while seen.len() < 2 {
            assert!(Instant::now() < deadline, "both game servers register; saw {seen:?}");
            probe += 1;
            let url = placement(&front, &format!("probe{probe}")).await;
            if !url.is_empty() {
                seen.insert(url);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(seen, [a.udp_url.clone(), b.udp_url.clone()].into());

        // Real rooms: consecutive creations spread over both servers.
        let mut rooms = Vec::new();
        for i in 0..4 {
            let (url, client, _) = enter_room_at(
                &front,
                Protocol::Udp,
                &format!("owner{i}"),
                op::CREATE_GAME,
                &format!("room{i}"),
            )
            .await;
            rooms.push((format!("room{i}"), url, client));
        }
        let rooms_on_a: Vec<String> = rooms
            .iter()
            .filter(|(_, u, _)| *u == a.udp_url)
            .map(|(r, _, _)| r.clone())
            .collect();
        assert!(
            (1..=3).contains(&rooms_on_a.len()),
            "rooms spread: {} of 4 on A",
            rooms_on_a.len()
        );
        // Every owner stays connected (an empty room closes at once).
        let survivor = rooms
            .iter()
            .position(|(_, u, _)| *u == b.udp_url)
            .expect("a room on the survivor");
        let survivor_room = rooms[survivor].0.clone();
        let (mut guest, _) = enter_room(&front, Protocol::Udp, "guest", op::JOIN_GAME, &survivor_room).await;
        rooms[survivor].2.send_request(op::RAISE_EVENT, Parameters::new().with(param::CODE, 7u8), SendOptions::RELIABLE);
        assert_eq!(guest.event(7).await.sender, 1);

        let a_room = rooms_on_a[0].clone();
        // Kill A without a goodbye.
        a.child.kill().unwrap();
        a.child.wait().unwrap();
        let killed_at = Instant::now();
        // The master retires A when its reports stop: A's room leaves the
        // master (joining it by name fails cleanly) ...
        let (master_url, token) = authenticate(&front, Protocol::Udp, "late").await;
        let mut m = master(&master_url, &token).await;
        let retired_after = loop {
            let elapsed = killed_at.elapsed();
            assert!(
                elapsed < Duration::from_millis(TIMEOUT_MS) + Duration::from_secs(10),
                "the master never retired the killed server"
            );
            let r = m
                .request(op::JOIN_GAME, Parameters::new().with(param::ROOM_NAME, a_room.as_str()))
                .await;
            if r.return_code == 0 {
                assert_eq!(str_param(&r, param::ADDRESS), a.udp_url, "still listed on A");
            } else {
                assert_eq!(r.return_code, error::GAME_DOES_NOT_EXIST, "{r:?}");
                break elapsed;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        eprintln!("killed server retired {retired_after:?} after the kill (timeout {TIMEOUT_MS} ms, reports every 200 ms)");
        // ... by its timeout (no socket closed: UDP), counted from its last
        // report, which came at most a report interval before the kill on a
        // quiet machine; half the timeout leaves room for a late last report
        // on a loaded one and still tells the timeout from an instant retire.
        assert!(retired_after >= Duration::from_millis(TIMEOUT_MS / 2), "{retired_after:?}");
        // ... and every new room goes to B.
        for n in 0..6 {
            assert_eq!(placement(&front, &format!("after{n}")).await, b.udp_url);
        }
        // The room on B keeps relaying.
        rooms[survivor].2.send_request(op::RAISE_EVENT, Parameters::new().with(param::CODE, 8u8), SendOptions::RELIABLE);
        assert_eq!(guest.event(8).await.sender, 1);
        drop(b);
        front.shutdown().await;
    })
    .await;
}
