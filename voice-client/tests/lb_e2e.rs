//! End to end: the load-balancing client against a real voice-server
//! deployment (name, master and game server in-process on 127.0.0.1, port 0).

use bytes::Bytes;
use std::time::Duration;
use transport::codec::Value;
use transport::Protocol;
use voice_client::lb::{
    ClientState, LbConfig, LbEvent, LeaveOptions, LoadBalancingClient, PolledClient, Properties,
    RaiseEventOptions, RawSendOptions, Receivers, RoomOptions,
};
use voice_server::config::{Config, Role};
use voice_server::run::{start, Deployment, StartOptions};

const WAIT: Duration = Duration::from_secs(5);

async fn deploy() -> Deployment {
    start(Config::loopback(), StartOptions::default())
        .await
        .expect("deployment starts")
}

fn client(d: &Deployment, protocol: Protocol, user: &str) -> LoadBalancingClient {
    let mut config = LbConfig::new(
        d.url(Role::Name, protocol).expect("name server listener"),
        "app",
    );
    config.user_id = Some(user.into());
    config.nickname = Some(user.into());
    LoadBalancingClient::new(config, Default::default())
}

async fn guard<F: std::future::Future<Output = ()>>(body: F) {
    tokio::time::timeout(Duration::from_secs(60), body)
        .await
        .expect("test timed out after 60 s");
}

/// Waits for the first event `pick` accepts (others are dropped).
async fn wait_for<T>(
    client: &mut LoadBalancingClient,
    what: &str,
    mut pick: impl FnMut(&LbEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, client.next_event()).await {
            Ok(Some(event)) => {
                if let Some(found) = pick(&event) {
                    return found;
                }
            }
            Ok(None) => panic!("client closed while waiting for {what}"),
            Err(_) => panic!("no {what} within {WAIT:?}"),
        }
    }
}

/// Custom events (code, sender) and raw frames (payload) received until the
/// barrier event (code 99) arrives.
async fn until_barrier(client: &mut LoadBalancingClient) -> (Vec<(u8, i32)>, Vec<Vec<u8>>) {
    let mut events = Vec::new();
    let mut frames = Vec::new();
    wait_for(client, "the barrier event", |event| match event {
        LbEvent::CustomEvent { code: 99, .. } => Some(()),
        LbEvent::CustomEvent { code, sender, .. } => {
            events.push((*code, *sender));
            None
        }
        LbEvent::RawFrame { payload, .. } => {
            frames.push(payload.to_vec());
            None
        }
        _ => None,
    })
    .await;
    events.sort();
    (events, frames)
}

async fn receivers_flow(protocol: Protocol) {
    let d = deploy().await;
    let mut alice = client(&d, protocol, "alice");
    let mut bob = client(&d, protocol, "bob");
    let mut carol = client(&d, protocol, "carol");
    let (room, a) = alice
        .create_room(Some("chat".into()), RoomOptions::default())
        .await
        .expect("alice creates");
    assert_eq!((room.as_str(), a), ("chat", 1));
    assert_eq!(alice.state(), ClientState::Joined);
    let (_, b) = bob.join_room("chat").await.expect("bob joins");
    let (_, c) = carol
        .join_or_create_room("chat", RoomOptions::default())
        .await
        .expect("carol joins");
    assert_eq!((b, c), (2, 3));
    for who in [b, c] {
        let nickname = wait_for(&mut alice, "ActorJoined", |e| match e {
            LbEvent::ActorJoined { actor, nickname } if *actor == who => Some(nickname.clone()),
            _ => None,
        })
        .await;
        assert_eq!(nickname, if who == b { "bob" } else { "carol" });
    }
    let room = alice.room().unwrap();
    assert_eq!(room.master_client, a);
    assert_eq!(room.actors.len(), 3);

    // Interest group 7: only carol is in it.
    carol.change_groups(None, Some(&[7])).unwrap();
    // Let the group change land before alice uses it (ordered on carol's own
    // connection only): carol raises a marker to alice and alice waits for it.
    carol
        .raise_event(
            50,
            Value::Null,
            &RaiseEventOptions::to(Receivers::Actors(vec![a])),
        )
        .unwrap();
    wait_for(&mut alice, "carol's marker", |e| {
        matches!(e, LbEvent::CustomEvent { code: 50, .. }).then_some(())
    })
    .await;

    bob.raise_event(1, "others", &RaiseEventOptions::default())
        .unwrap();
    bob.raise_event(2, "all", &RaiseEventOptions::to(Receivers::All))
        .unwrap();
    bob.raise_event(3, "master", &RaiseEventOptions::to(Receivers::MasterClient))
        .unwrap();
    alice
        .raise_event(
            4,
            "to bob",
            &RaiseEventOptions::to(Receivers::Actors(vec![b])),
        )
        .unwrap();
    alice
        .raise_event(
            5,
            "group 7",
            &RaiseEventOptions {
                interest_group: 7,
                ..Default::default()
            },
        )
        .unwrap();
    alice
        .raise_event(
            6,
            "encrypted",
            &RaiseEventOptions {
                encrypt: true,
                ..RaiseEventOptions::to(Receivers::All)
            },
        )
        .unwrap();
    alice
        .send_raw(
            Bytes::from_static(b"frame to others"),
            &RawSendOptions::default(),
        )
        .unwrap();
    alice
        .send_raw(
            Bytes::from_static(b"frame to carol"),
            &RawSendOptions {
                receivers: Receivers::Actors(vec![c]),
                send: transport::SendOptions::RELIABLE,
                ..Default::default()
            },
        )
        .unwrap();
    // Barriers, reliable and after everything else on each sender's connection.
    for sender in [&alice, &bob] {
        sender
            .raise_event(99, Value::Null, &RaiseEventOptions::to(Receivers::All))
            .unwrap();
    }
    let mut got = Vec::new();
    for (client, barriers) in [(&mut alice, 2), (&mut bob, 2), (&mut carol, 2)] {
        let mut events = Vec::new();
        let mut frames = Vec::new();
        for _ in 0..barriers {
            let (e, f) = until_barrier(client).await;
            events.extend(e);
            frames.extend(f);
        }
        events.sort();
        frames.sort();
        got.push((events, frames));
    }
    let (alice_got, bob_got, carol_got) = (&got[0], &got[1], &got[2]);
    assert_eq!(
        alice_got.0,
        vec![(1, b), (2, b), (3, b), (6, a)],
        "alice: others, all, master client, her own 'all'"
    );
    assert_eq!(
        bob_got.0,
        vec![(2, b), (4, a), (6, a)],
        "bob: his own 'all', the targeted one, alice's 'all'"
    );
    assert_eq!(
        carol_got.0,
        vec![(1, b), (2, b), (5, a), (6, a)],
        "carol: others, all, group 7, all"
    );
    assert!(alice_got.1.is_empty(), "frames never go back to the sender");
    // UDP frames to others are unreliable: on loopback they arrive, but only
    // the reliable targeted frame is asserted strictly.
    assert!(!bob_got.1.contains(&b"frame to carol".to_vec()));
    assert!(carol_got.1.contains(&b"frame to carol".to_vec()));

    // Properties with compare-and-set.
    alice
        .set_room_properties(Properties::new().with("topic", "rust"), None)
        .await
        .expect("set");
    let error = bob
        .set_room_properties(
            Properties::new().with("topic", "go"),
            Some(Properties::new().with("topic", "c")),
        )
        .await
        .expect_err("compare-and-set must fail");
    assert!(error.to_string().contains("compare-and-set"), "{error}");
    bob.set_room_properties(
        Properties::new().with("topic", "zig"),
        Some(Properties::new().with("topic", "rust")),
    )
    .await
    .expect("compare-and-set with the right value");
    let topic = wait_for(&mut carol, "the topic change", |e| match e {
        LbEvent::PropertiesChanged { actor: 0, changes } => changes
            .get_str("topic")
            .filter(|v| **v == Value::from("zig"))
            .cloned(),
        _ => None,
    })
    .await;
    assert_eq!(topic, Value::from("zig"));
    assert_eq!(
        carol.room().unwrap().properties.get_str("topic"),
        Some(&Value::from("zig"))
    );

    // Actor properties, compare-and-set too.
    bob.set_actor_properties(b, Properties::new().with("ready", true), None)
        .await
        .expect("actor property");
    let error = bob
        .set_actor_properties(
            b,
            Properties::new().with("ready", false),
            Some(Properties::new().with("ready", false)),
        )
        .await
        .expect_err("stale expected value");
    assert_eq!(
        error.return_code(),
        Some(transport::lb::error::INVALID_OPERATION)
    );
    let ready = wait_for(&mut alice, "bob's actor property", |e| match e {
        LbEvent::PropertiesChanged { actor, changes } if *actor == b => {
            changes.get_str("ready").cloned()
        }
        _ => None,
    })
    .await;
    assert_eq!(ready, Value::Bool(true));
    assert_eq!(
        alice.room().unwrap().actors[&b].properties.get_str("ready"),
        Some(&Value::Bool(true))
    );

    // Alice leaves for good: bob becomes master client; alice is back on the master.
    alice
        .leave_room(LeaveOptions::default())
        .await
        .expect("leave");
    assert_eq!(alice.state(), ClientState::ConnectedToMasterServer);
    wait_for(&mut bob, "MasterClientSwitched", |e| match e {
        LbEvent::MasterClientSwitched { actor } if *actor == b => Some(()),
        _ => None,
    })
    .await;
    drop((alice, bob, carol));
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_targets_groups_over_udp() {
    guard(receivers_flow(Protocol::Udp)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_targets_groups_over_ws() {
    guard(receivers_flow(Protocol::Ws)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_inactive_then_rejoin_and_reconnect_as_the_same_actor() {
    guard(async {
        let d = deploy().await;
        let mut alice = client(&d, Protocol::Udp, "alice");
        let mut bob = client(&d, Protocol::Udp, "bob");
        let options = RoomOptions {
            player_ttl: Some(Duration::from_secs(60)),
            ..Default::default()
        };
        alice
            .create_room(Some("ttl".into()), options)
            .await
            .expect("create");
        let (_, b) = bob.join_room("ttl").await.expect("join");

        bob.leave_room(LeaveOptions {
            become_inactive: true,
        })
        .await
        .expect("leave inactive");
        let inactive = wait_for(&mut alice, "ActorLeft", |e| match e {
            LbEvent::ActorLeft { actor, inactive } if *actor == b => Some(*inactive),
            _ => None,
        })
        .await;
        assert!(inactive);
        assert!(alice.room().unwrap().actors[&b].is_inactive);
        let (_, again) = bob
            .rejoin_room("ttl")
            .await
            .expect("rejoin through the master");
        assert_eq!(again, b, "same actor number");
        wait_for(&mut alice, "ActorJoined after rejoin", |e| {
            matches!(e, LbEvent::ActorJoined { actor, .. } if *actor == b).then_some(())
        })
        .await;

        // After a disconnect without Leave the actor stays inactive (player
        // TTL): reconnect_and_rejoin goes straight to the game server.
        bob.disconnect().await.expect("disconnect");
        assert_eq!(bob.state(), ClientState::Disconnected);
        wait_for(&mut alice, "ActorLeft after disconnect", |e| {
            matches!(e, LbEvent::ActorLeft { actor, .. } if *actor == b).then_some(())
        })
        .await;
        while bob.try_next_event().is_some() {}
        let (room, again) = bob
            .reconnect_and_rejoin()
            .await
            .expect("reconnect and rejoin");
        assert_eq!((room.as_str(), again), ("ttl", b));
        let joined = wait_for(&mut bob, "Joined", |e| match e {
            LbEvent::Joined { rejoined, .. } => Some(*rejoined),
            _ => None,
        })
        .await;
        assert!(joined, "reported as a rejoin");
        bob.raise_event(8, "back", &RaiseEventOptions::default())
            .unwrap();
        let sender = wait_for(&mut alice, "bob's event", |e| match e {
            LbEvent::CustomEvent {
                code: 8, sender, ..
            } => Some(*sender),
            _ => None,
        })
        .await;
        assert_eq!(sender, b);
        drop((alice, bob));
        d.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lobby_lists_rooms_and_join_random_uses_the_filter() {
    guard(async {
        let d = deploy().await;
        let mut watcher = client(&d, Protocol::Udp, "watcher");
        watcher.join_lobby(None).await.expect("lobby");
        assert_eq!(watcher.state(), ClientState::JoinedLobby);
        let host = client(&d, Protocol::Udp, "host");
        let options = RoomOptions {
            custom_properties: Properties::new().with("map", "docks"),
            props_listed_in_lobby: vec!["map".into()],
            ..Default::default()
        };
        host.create_room(Some("docks-1".into()), options)
            .await
            .expect("create");
        wait_for(&mut watcher, "the room in the list", |e| match e {
            LbEvent::RoomListUpdated { .. } => Some(()),
            _ => None,
        })
        .await;
        let deadline = tokio::time::Instant::now() + WAIT;
        while !watcher.room_list().iter().any(|r| r.name == "docks-1") {
            assert!(
                tokio::time::Instant::now() < deadline,
                "docks-1 never listed: {:?}",
                watcher.room_list()
            );
            let _ = tokio::time::timeout(Duration::from_millis(100), watcher.next_event()).await;
        }
        let listed = watcher
            .room_list()
            .into_iter()
            .find(|r| r.name == "docks-1")
            .unwrap();
        assert_eq!(listed.player_count, 1);
        assert_eq!(
            listed.properties.get_str("map"),
            Some(&Value::from("docks"))
        );

        let seeker = client(&d, Protocol::Udp, "seeker");
        let none = voice_client::lb::JoinRandomOptions {
            expected_properties: Properties::new().with("map", "desert"),
            ..Default::default()
        };
        let error = seeker
            .join_random_room(none)
            .await
            .expect_err("no desert room");
        assert_eq!(
            error.return_code(),
            Some(transport::lb::error::NO_RANDOM_MATCH_FOUND)
        );
        let docks = voice_client::lb::JoinRandomOptions {
            expected_properties: Properties::new().with("map", "docks"),
            ..Default::default()
        };
        let (room, actor) = seeker.join_random_room(docks).await.expect("finds docks-1");
        assert_eq!((room.as_str(), actor), ("docks-1", 2));
        drop((watcher, host, seeker));
        d.shutdown().await;
    })
    .await;
}

#[test]
fn polled_clients_in_a_game_loop_without_async() {
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let d = server_runtime.block_on(deploy());
    let config = |user: &str| {
        let mut config = LbConfig::new(d.url(Role::Name, Protocol::Udp).unwrap(), "app");
        config.user_id = Some(user.into());
        config
    };
    let mut a = PolledClient::new(config("a"), Default::default()).unwrap();
    let mut b = PolledClient::new(config("b"), Default::default()).unwrap();
    a.join_or_create_room("loop", RoomOptions::default())
        .unwrap();
    // One frame = service both, then "render" (sleep). Bounded in frames.
    let mut a_actor = None;
    let mut b_actor = None;
    let mut b_started = false;
    let mut received = None;
    let mut a_states = Vec::new();
    for _frame in 0..500 {
        for event in a.service() {
            match event {
                LbEvent::Joined { actor, .. } => a_actor = Some(actor),
                LbEvent::StateChanged { to, .. } => a_states.push(to),
                LbEvent::CustomEvent {
                    code: 3,
                    sender,
                    data,
                } => received = Some((sender, data)),
                LbEvent::Disconnected(cause) => panic!("a disconnected: {cause:?}"),
                _ => {}
            }
        }
        if a_actor.is_some() && !b_started {
            b.join_room("loop").unwrap();
            b_started = true;
        }
        for event in b.service() {
            match event {
                LbEvent::Joined { actor, .. } => {
                    b_actor = Some(actor);
                    b.raise_event(3, "from the loop", &RaiseEventOptions::default())
                        .unwrap();
                }
                LbEvent::Disconnected(cause) => panic!("b disconnected: {cause:?}"),
                _ => {}
            }
        }
        if received.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(a_actor, Some(1));
    assert_eq!(b_actor, Some(2));
    assert_eq!(received, Some((2, Value::from("from the loop"))));
    assert_eq!(a.state(), ClientState::Joined);
    assert_eq!(a_states.first(), Some(&ClientState::ConnectingToNameServer));
    assert_eq!(a_states.last(), Some(&ClientState::Joined));
    // Dropping b disconnects it gracefully: a hears it left well before the
    // server's 10 s timeout would have noticed (the loop is bounded to ~5 s).
    drop(b);
    let mut left = false;
    for _frame in 0..500 {
        left |= a
            .service()
            .iter()
            .any(|e| matches!(e, LbEvent::ActorLeft { actor: 2, .. }));
        if left {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(left, "b's drop was seen as a leave");
    drop(a);
    server_runtime.block_on(d.shutdown());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_on_the_way_back_to_master_reauthenticates_by_itself() {
    guard(async {
        let clock = std::sync::Arc::new(voice_server::token::OffsetClock::system());
        let options = StartOptions {
            clock: clock.clone(),
            ..StartOptions::default()
        };
        let d = start(Config::loopback(), options)
            .await
            .expect("deployment starts");
        let mut alice = client(&d, Protocol::Udp, "alice");
        alice
            .join_or_create_room("r", RoomOptions::default())
            .await
            .expect("join");
        while alice.try_next_event().is_some() {}
        // Two hours later (token lifetime 1 h) the master refuses the token.
        clock.advance(Duration::from_secs(2 * 3600));
        alice
            .leave_room(LeaveOptions::default())
            .await
            .expect("leave, re-authenticating on the way");
        assert_eq!(alice.state(), ClientState::ConnectedToMasterServer);
        let mut states = Vec::new();
        while let Some(event) = alice.try_next_event() {
            if let LbEvent::StateChanged { to, .. } = event {
                states.push(to);
            }
        }
        use ClientState::*;
        assert_eq!(
            states,
            vec![
                Leaving,
                ConnectingToMasterServer,
                Authenticating,
                ConnectingToNameServer,
                ConnectedToNameServer,
                Authenticating,
                Authenticated,
                ConnectingToMasterServer,
                Authenticating,
                ConnectedToMasterServer
            ]
        );
        // And it goes on working with the fresh token.
        let (_, actor) = alice
            .join_or_create_room("r2", RoomOptions::default())
            .await
            .expect("join again");
        assert_eq!(actor, 1);
        drop(alice);
        d.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_failure_says_what_the_transport_said() {
    guard(async {
        // Nothing listens on TCP port 1 of loopback.
        let client = LoadBalancingClient::new(
            LbConfig::new("tcp://127.0.0.1:1", "app"),
            Default::default(),
        );
        let error = client.connect().await.expect_err("nothing listens there");
        let text = error.to_string();
        assert!(
            matches!(error, voice_client::lb::LbError::ConnectFailed { .. }),
            "{error:?}"
        );
        assert!(
            text.contains("name server") && text.contains("tcp://127.0.0.1:1"),
            "{text}"
        );
        assert_eq!(client.state(), ClientState::Disconnected);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_while_connecting_stops_at_once() {
    guard(async {
        // A UDP socket that never answers; connect and operation timeouts far
        // beyond the guard: only abandoning the connect lets this finish.
        let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut config = LbConfig::new(format!("udp://{}", silent.local_addr().unwrap()), "app");
        config.operation_timeout = Duration::from_secs(600);
        let transport = transport::runtime::ClientConfig {
            connect_timeout: Duration::from_secs(600),
            ..Default::default()
        };
        let client = LoadBalancingClient::new(config, transport);
        let (connected, disconnected) = tokio::join!(client.connect(), async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            client.disconnect().await
        });
        assert!(
            connected.is_err(),
            "the connect was abandoned: {connected:?}"
        );
        disconnected.expect("disconnect completes");
        assert_eq!(client.state(), ClientState::Disconnected);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_relies_on_tls_for_authentication_and_encrypted_events() {
    guard(async {
        use transport::runtime::tls::{generate_self_signed, write_generated, GenCertOptions};
        let dir = tempfile::tempdir().unwrap();
        let cert = generate_self_signed(&GenCertOptions::default()).expect("certificate");
        write_generated(&cert, &dir.path().join("certs").join("server.pem"), None)
            .expect("written");
        let mut config = Config::embedded_default();
        for role in [Role::Name, Role::Master, Role::Game] {
            let rc = config.role_mut(role);
            rc.public_host = "localhost".into();
            rc.listeners
                .retain(|l| l.effective_protocol() == Protocol::Wss);
            for l in &mut rc.listeners {
                l.address = "127.0.0.1".parse().unwrap();
                l.port = 0;
            }
        }
        let options = StartOptions {
            config_dir: dir.path().to_path_buf(),
            ..StartOptions::default()
        };
        let d = start(config, options)
            .await
            .expect("deployment starts with TLS");
        let name_server = d.url(Role::Name, Protocol::Wss).expect("a wss name server");
        assert!(name_server.starts_with("wss://localhost:"), "{name_server}");
        let transport = transport::runtime::ClientConfig {
            tls: transport::runtime::tls::ClientTlsConfig {
                disable_system_roots: true,
                extra_ca_pem: vec![cert.ca_pem.clone()],
                ..Default::default()
            },
            ..Default::default()
        };
        let make = |user: &str| {
            let mut config = LbConfig::new(name_server.clone(), "app");
            config.user_id = Some(user.into());
            LoadBalancingClient::new(config, transport.clone())
        };
        let alice = make("alice");
        let mut bob = make("bob");
        alice
            .create_room(Some("secure".into()), RoomOptions::default())
            .await
            .expect("create over wss");
        let (_, b) = bob.join_room("secure").await.expect("join over wss");
        assert!(alice.with_core(|core| core.game_server_address().unwrap().starts_with("wss://")));
        let options = RaiseEventOptions {
            encrypt: true,
            ..RaiseEventOptions::to(Receivers::Actors(vec![b]))
        };
        alice.raise_event(11, "over tls", &options).unwrap();
        let data = wait_for(&mut bob, "the encrypted event", |e| match e {
            LbEvent::CustomEvent { code: 11, data, .. } => Some(data.clone()),
            _ => None,
        })
        .await;
        assert_eq!(data, Value::from("over tls"));
        drop((alice, bob));
        d.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_events_reach_newcomers_and_delivery_options_are_honoured() {
    guard(async {
        let d = deploy().await;
        let alice = client(&d, Protocol::Udp, "alice");
        alice
            .create_room(Some("cache".into()), RoomOptions::default())
            .await
            .expect("create");
        let cached = RaiseEventOptions {
            caching: transport::lb::cache::ADD_TO_ROOM_CACHE,
            ..Default::default()
        };
        alice.raise_event(20, "remember me", &cached).unwrap();
        alice
            .raise_event(21, "forget me", &RaiseEventOptions::default())
            .unwrap();
        // Unreliable on channel 1 and reliable unsequenced: both accepted by the transport.
        let unreliable = RaiseEventOptions {
            delivery: transport::Delivery::UnreliableSequenced,
            channel: 1,
            ..Default::default()
        };
        alice.raise_event(22, 1i32, &unreliable).unwrap();
        let mut bob = client(&d, Protocol::Udp, "bob");
        bob.join_room("cache").await.expect("join");
        let (code, sender, data) = wait_for(&mut bob, "the cached event", |e| match e {
            LbEvent::CustomEvent { code, sender, data } => Some((*code, *sender, data.clone())),
            _ => None,
        })
        .await;
        assert_eq!(
            (code, sender, data),
            (20, 1, Value::from("remember me")),
            "only the cached event is replayed"
        );
        // Live events with every delivery mode arrive.
        for (code, delivery, channel) in [
            (30, transport::Delivery::ReliableUnsequenced, 0),
            (31, transport::Delivery::UnreliableUnsequenced, 1),
            (32, transport::Delivery::ReliableOrdered, 1),
        ] {
            let options = RaiseEventOptions {
                delivery,
                channel,
                ..Default::default()
            };
            alice.raise_event(code, Value::Null, &options).unwrap();
            let got = wait_for(&mut bob, "a live event", |e| match e {
                LbEvent::CustomEvent { code, .. } => Some(*code),
                _ => None,
            })
            .await;
            assert_eq!(got, code);
        }
        drop((alice, bob));
        d.shutdown().await;
    })
    .await;
}

/// Not a check: prints how long the whole flow (name → master → game, with
/// key exchanges) takes on loopback, per protocol. Run with
/// `cargo test -p voice-client --test lb_e2e -- --ignored --nocapture measure`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, prints figures"]
async fn measure_join_time_on_loopback() {
    let d = deploy().await;
    for protocol in [Protocol::Udp, Protocol::Tcp, Protocol::Ws] {
        let mut times = Vec::new();
        for i in 0..20 {
            let client = client(&d, protocol, &format!("m{i}"));
            let started = std::time::Instant::now();
            client
                .join_or_create_room(&format!("m-{protocol}"), RoomOptions::default())
                .await
                .expect("join");
            times.push(started.elapsed());
            client.disconnect().await.expect("disconnect");
        }
        times.sort();
        let mean = times.iter().sum::<Duration>() / times.len() as u32;
        println!(
            "{protocol}: connect_and_join over 20 runs: mean {mean:?}, median {:?}, max {:?}",
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_refreshed_in_the_room_is_used_on_the_way_back() {
    guard(async {
        let clock = std::sync::Arc::new(voice_server::token::OffsetClock::system());
        let options = StartOptions {
            clock: clock.clone(),
            ..StartOptions::default()
        };
        let d = start(Config::loopback(), options)
            .await
            .expect("deployment starts");
        let mut alice = client(&d, Protocol::Udp, "alice");
        alice
            .join_or_create_room("r", RoomOptions::default())
            .await
            .expect("join");
        // 50 minutes in the room: raising events earns a refreshed token (AuthEvent).
        clock.advance(Duration::from_secs(50 * 60));
        for code in [40, 41] {
            alice
                .raise_event(code, Value::Null, &RaiseEventOptions::to(Receivers::All))
                .unwrap();
            wait_for(&mut alice, "own event", |e| {
                matches!(e, LbEvent::CustomEvent { code: c, .. } if *c == code).then_some(())
            })
            .await;
        }
        // 70 minutes after the master's token: it expired, the refreshed one did not.
        clock.advance(Duration::from_secs(20 * 60));
        while alice.try_next_event().is_some() {}
        alice
            .leave_room(LeaveOptions::default())
            .await
            .expect("leave");
        let mut states = Vec::new();
        while let Some(event) = alice.try_next_event() {
            if let LbEvent::StateChanged { to, .. } = event {
                states.push(to);
            }
        }
        assert!(
            !states.contains(&ClientState::ConnectingToNameServer),
            "the refreshed token was used, no re-authentication: {states:?}"
        );
        assert_eq!(states.last(), Some(&ClientState::ConnectedToMasterServer));
        drop(alice);
        d.shutdown().await;
    })
    .await;
}
