//! End to end over loopback: name server → master → game server, events and
//! voice frames, over UDP, TCP and WS, and across protocols.

mod common;

use common::*;
use transport::codec::{Parameters, ReceiverGroup, Value};
use transport::lb::{event, op, param};
use transport::{Protocol, SendOptions};
use voice_server::config::Role;

async fn flow(protocol: Protocol) {
    let d = deploy(local_config(), None).await;
    let (mut a, na) = enter_room(&d, protocol, "alice", op::CREATE_GAME, "room").await;
    let (mut b, nb) = enter_room(&d, protocol, "bob", op::JOIN_GAME, "room").await;
    assert_eq!((na, nb), (1, 2));
    let join = a.event(event::JOIN).await;
    assert_eq!(
        join.parameters.get(param::ACTOR_NR),
        Some(&Value::I32(1)),
        "alice's own join first"
    );
    let join = a.event(event::JOIN).await;
    assert_eq!(join.parameters.get(param::ACTOR_NR), Some(&Value::I32(2)));

    b.send_request(
        op::RAISE_EVENT,
        Parameters::new()
            .with(param::CODE, 5u8)
            .with(param::DATA, "hi"),
        SendOptions::RELIABLE,
    );
    let ev = a.event(5).await;
    assert_eq!(
        (ev.sender, ev.parameters.get(param::DATA)),
        (2, Some(&Value::from("hi")))
    );

    a.send_raw(
        b"opus frame",
        ReceiverGroup::Others,
        vec![],
        SendOptions::RELIABLE.on_channel(1),
    );
    let raw = b.raw_event(WAIT).await.expect("voice frame relayed");
    assert_eq!((raw.sender, &raw.payload[..]), (1, &b"opus frame"[..]));

    let r = b.request(op::LEAVE, Parameters::new()).await;
    assert_eq!(r.return_code, 0);
    let left = a.event(event::LEAVE).await;
    assert_eq!(left.parameters.get(param::ACTOR_NR), Some(&Value::I32(2)));
    d.shutdown().await;
}

#[tokio::test]
async fn flow_over_udp() {
    guard(flow(Protocol::Udp)).await;
}

#[tokio::test]
async fn flow_over_tcp() {
    guard(flow(Protocol::Tcp)).await;
}

#[tokio::test]
async fn flow_over_ws() {
    guard(flow(Protocol::Ws)).await;
}

#[tokio::test]
async fn mixed_protocols_share_a_room_and_encrypted_frames_stay_encrypted() {
    guard(async {
        let d = deploy(local_config(), None).await;
        let (mut a, _) = enter_room(&d, Protocol::Udp, "alice", op::CREATE_GAME, "mixed").await;
        let (mut b, _) = enter_room(&d, Protocol::Ws, "bob", op::JOIN_GAME, "mixed").await;
        let (mut c, _) = enter_room(&d, Protocol::Tcp, "carol", op::JOIN_GAME, "mixed").await;
        a.encrypt().await;
        b.encrypt().await;
        // carol has no keys: an encrypted frame is not relayed to her in the clear.
        a.send_raw(
            b"secret",
            ReceiverGroup::Others,
            vec![],
            SendOptions::RELIABLE.encrypted(true),
        );
        let raw = b.raw_event(WAIT).await.expect("bob gets the frame");
        assert_eq!(&raw.payload[..], b"secret");
        assert!(c
            .raw_event(std::time::Duration::from_millis(300))
            .await
            .is_none());
        // A clear frame reaches both, targets restrict it.
        a.send_raw(
            b"clear",
            ReceiverGroup::Others,
            vec![3],
            SendOptions::RELIABLE,
        );
        assert_eq!(&c.raw_event(WAIT).await.unwrap().payload[..], b"clear");
        assert!(b
            .raw_event(std::time::Duration::from_millis(300))
            .await
            .is_none());
        assert!(
            d.metrics_total()
                .voice_frames_relayed
                .load(std::sync::atomic::Ordering::Relaxed)
                >= 2
        );
        assert!(d
            .url(Role::Game, Protocol::Udp)
            .unwrap()
            .starts_with("udp://127.0.0.1:"));
        d.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn lobby_sees_the_room_and_join_random_finds_it() {
    guard(async {
        let d = deploy(local_config(), None).await;
        let (master_url, token) = authenticate(&d, Protocol::Udp, "watcher").await;
        let mut watcher = master(&master_url, &token).await;
        assert_eq!(
            watcher
                .request(op::JOIN_LOBBY, Parameters::new())
                .await
                .return_code,
            0
        );
        watcher.event(event::GAME_LIST).await;
        let (_a, _) = enter_room(&d, Protocol::Udp, "alice", op::CREATE_GAME, "listed").await;
        let update = watcher.event(event::GAME_LIST_UPDATE).await;
        let Some(Value::Dictionary(list)) = update.parameters.get(param::GAME_LIST) else {
            panic!("{update:?}")
        };
        assert!(
            list.entries
                .iter()
                .any(|(k, _)| *k == Value::from("listed")),
            "{list:?}"
        );
        let r = watcher
            .request(op::JOIN_RANDOM_GAME, Parameters::new())
            .await;
        assert_eq!(r.return_code, 0, "{r:?}");
        assert_eq!(str_param(&r, param::ROOM_NAME), "listed");
        d.shutdown().await;
    })
    .await;
}
