//! Bad input end to end: garbage datagrams, malformed and unknown messages,
//! oversized messages, rate limits — answered correctly (or dropped) while
//! other clients keep working; plus the metrics endpoint.

mod common;

use bytes::Bytes;
use common::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use transport::codec::Parameters;
use transport::lb::{error, op, param};
use transport::{Protocol, SendOptions};
use voice_server::config::Role;

fn host_port(url: &str) -> String {
    url.split("://")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn garbage_malformed_and_unknown_input_is_answered_and_others_keep_working() {
    guard(async {
        let mut config = local_config();
        config.metrics.listen = "127.0.0.1:0".into();
        let d = deploy(config, None).await;
        // A room with a well-behaved member.
        let (mut a, _) = enter_room(&d, Protocol::Udp, "alice", op::CREATE_GAME, "r").await;
        // Garbage datagrams at every UDP port.
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for role in [Role::Name, Role::Master, Role::Game] {
            let target = host_port(&d.url(role, Protocol::Udp).unwrap());
            for i in 0..200u32 {
                let junk: Vec<u8> = (0..(i % 1300)).map(|j| (j * 31 + i) as u8).collect();
                socket.send_to(&junk, &target).await.unwrap();
            }
        }
        // Garbage over a TCP stream to the game server.
        let mut tcp =
            tokio::net::TcpStream::connect(host_port(&d.url(Role::Game, Protocol::Tcp).unwrap()))
                .await
                .unwrap();
        let _ = tcp.write_all(&[0xff; 4096]).await;
        drop(tcp);

        let (mut b, _) = enter_room(&d, Protocol::Tcp, "bob", op::JOIN_GAME, "r").await;
        // A payload that is not a message: answered with InvalidOperation.
        b.client
            .send(Bytes::from_static(&[0xee, 1, 2, 3]), SendOptions::RELIABLE)
            .unwrap();
        let r = b.any_response().await.expect("an answer to garbage");
        assert_eq!(r.return_code, error::INVALID_OPERATION);
        assert!(r.debug_message.unwrap().contains("malformed"));
        // Unknown operation code.
        let r = b.request(123, Parameters::new()).await;
        assert_eq!(r.return_code, error::INVALID_OPERATION);
        assert!(r.debug_message.unwrap().contains("123"));
        // A mistyped parameter.
        let r = b
            .request(op::RAISE_EVENT, Parameters::new().with(param::CODE, "x"))
            .await;
        assert_eq!(r.return_code, error::INVALID_OPERATION);
        // The room still works for everyone.
        b.send_request(
            op::RAISE_EVENT,
            Parameters::new().with(param::CODE, 9u8),
            SendOptions::RELIABLE,
        );
        assert_eq!(a.event(9).await.sender, 2);

        // Metrics show it.
        let addr = d.metrics_address.unwrap();
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).await.unwrap();
        assert!(
            text.contains("voice_peers{role=\"game\",protocol=\"udp\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("voice_peers{role=\"game\",protocol=\"tcp\"} 1"),
            "{text}"
        );
        assert!(!text.contains("voice_bad_requests_total 0"), "{text}");
        assert!(text.contains("voice_rooms 1"), "{text}");
        d.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn rate_limits_refuse_then_disconnect() {
    guard(async {
        let mut config = local_config();
        config.limits.operations_per_second = 5;
        config.limits.operations_burst = 5;
        config.limits.violations_before_disconnect = 10;
        let d = deploy(config, None).await;
        let mut c = TestClient::connect(&d.url(Role::Master, Protocol::Udp).unwrap()).await;
        for _ in 0..40 {
            c.send_request(op::JOIN_LOBBY, Parameters::new(), SendOptions::RELIABLE);
        }
        let limited = c
            .next_matching(WAIT, |m| match m {
                transport::codec::Message::Response(r)
                    if r.return_code == error::OPERATION_LIMIT_REACHED =>
                {
                    Some(r.clone())
                }
                _ => None,
            })
            .await
            .expect("OperationLimitReached");
        assert!(limited.debug_message.unwrap().contains("rate limit"));
        // Drain until the server disconnects us.
        while c
            .next_matching(Duration::from_secs(3), |_| Some(()))
            .await
            .is_some()
        {}
        assert!(c.disconnected, "an abusive peer is disconnected");
        assert!(
            d.metrics_total()
                .abuse_disconnects
                .load(std::sync::atomic::Ordering::Relaxed)
                >= 1
        );
        // Others are unaffected.
        let (_a, n) = enter_room(&d, Protocol::Udp, "alice", op::CREATE_GAME, "r").await;
        assert_eq!(n, 1);
        d.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn oversized_messages_do_not_hurt_the_server() {
    guard(async {
        let mut config = local_config();
        config.limits.max_message_size = 4096;
        config.limits.bytes_burst = 1024 * 1024;
        let d = deploy(config, None).await;
        let (mut a, _) = enter_room(&d, Protocol::Udp, "alice", op::CREATE_GAME, "r").await;
        let (b, _) = enter_room(&d, Protocol::Ws, "bob", op::JOIN_GAME, "r").await;
        let big = vec![7u8; 64 * 1024];
        b.send_request(
            op::RAISE_EVENT,
            Parameters::new()
                .with(param::CODE, 1u8)
                .with(param::DATA, big),
            SendOptions::RELIABLE,
        );
        assert!(
            a.try_event(1, Duration::from_millis(500)).await.is_none(),
            "an oversized event is not relayed"
        );
        // Alice still works.
        let (mut c, _) = enter_room(&d, Protocol::Tcp, "carol", op::JOIN_GAME, "r").await;
        a.send_request(
            op::RAISE_EVENT,
            Parameters::new().with(param::CODE, 2u8),
            SendOptions::RELIABLE,
        );
        assert_eq!(c.event(2).await.sender, 1);
        d.shutdown().await;
    })
    .await;
}
