//! Loopback over UDP: a full session, refusal/timeout, and a relay between
//! clients on different protocols through one endpoint.

mod loopback_support;

use bytes::Bytes;
use loopback_support::*;
use std::time::Duration;
use transport::runtime::{Client, ConnectError};
use transport::{ConnectionEvent, DisconnectReason, Protocol, SendOptions};

#[tokio::test]
async fn udp_full_session() {
    guard(async {
        let mut server = start(vec![listener(Protocol::Udp, None, None)]).await;
        let url = server.url(Protocol::Udp, "");
        full_session(&mut server, &url, client_config(None)).await;
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn udp_closed_port_is_refused_or_times_out() {
    guard(async {
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let address = probe.local_addr().unwrap();
        drop(probe);
        let config = transport::runtime::ClientConfig {
            connect_timeout: Duration::from_secs(1),
            ..client_config(None)
        };
        let error = Client::connect(&format!("udp://{address}"), config)
            .await
            .unwrap_err();
        println!("{error}");
        assert!(
            matches!(
                error,
                ConnectError::Refused { .. } | ConnectError::Timeout { .. }
            ),
            "expected refused or timeout, got {error}"
        );
    })
    .await;
}

/// One endpoint serves UDP, TCP and WS peers at once; the handler relays a
/// message from a UDP client to the TCP and WS clients, and back.
#[tokio::test]
async fn relay_between_protocols() {
    guard(async {
        let mut server = start(vec![
            listener(Protocol::Udp, None, None),
            listener(Protocol::Tcp, None, None),
            listener(Protocol::Ws, Some("/Game"), None),
        ])
        .await;
        let (udp, mut udp_events) =
            Client::connect(&server.url(Protocol::Udp, ""), client_config(None))
                .await
                .unwrap();
        let (tcp, mut tcp_events) =
            Client::connect(&server.url(Protocol::Tcp, ""), client_config(None))
                .await
                .unwrap();
        let (_ws, mut ws_events) =
            Client::connect(&server.url(Protocol::Ws, "/Game"), client_config(None))
                .await
                .unwrap();
        for _ in 0..3 {
            server.wait_connected().await;
        }
        udp.send(
            Bytes::from_static(b"relay:from udp"),
            SendOptions::UNRELIABLE,
        )
        .unwrap();
        for events in [&mut tcp_events, &mut ws_events] {
            let message = client_message(events).await;
            assert_eq!(&message.payload[..], b"relayed:from udp");
        }
        tcp.send(Bytes::from_static(b"relay:from tcp"), SendOptions::RELIABLE)
            .unwrap();
        assert_eq!(
            &client_message(&mut udp_events).await.payload[..],
            b"relayed:from tcp"
        );
        assert_eq!(
            &client_message(&mut ws_events).await.payload[..],
            b"relayed:from tcp"
        );

        // Shutdown disconnects everybody gracefully: clients hear it from the server.
        server.stop().await;
        for events in [&mut udp_events, &mut tcp_events, &mut ws_events] {
            let end = client_wait(events, "Disconnected", |e| {
                matches!(e, ConnectionEvent::Disconnected(_))
            })
            .await;
            assert_eq!(end, ConnectionEvent::Disconnected(DisconnectReason::ByPeer));
        }
    })
    .await;
}

/// Many messages both ways in a burst: reliable ones all arrive, in order.
#[tokio::test]
async fn udp_burst_of_reliable_messages_arrives_in_order() {
    guard(async {
        let mut server = start(vec![listener(Protocol::Udp, None, None)]).await;
        let (client, mut events) =
            Client::connect(&server.url(Protocol::Udp, ""), client_config(None))
                .await
                .unwrap();
        server.wait_connected().await;
        const COUNT: usize = 500;
        for index in 0..COUNT {
            client
                .send(Bytes::from(format!("echo:{index}")), SendOptions::RELIABLE)
                .unwrap();
        }
        for index in 0..COUNT {
            let message = client_message(&mut events).await;
            assert_eq!(message.payload, Bytes::from(format!("re:{index}")));
        }
        server.stop().await;
    })
    .await;
}

/// IPv6: one endpoint with a UDP socket on [::1] and one on 127.0.0.1 serves
/// clients of both families (skipped where the host has no IPv6 loopback).
#[tokio::test]
async fn udp_ipv6_and_ipv4_side_by_side() {
    guard(async {
        if std::net::UdpSocket::bind("[::1]:0").is_err() {
            eprintln!("no IPv6 loopback here; skipping");
            return;
        }
        let mut v6 = listener(Protocol::Udp, None, None);
        v6.address = "[::1]:0".parse().unwrap();
        let mut server = start(vec![v6, listener(Protocol::Udp, None, None)]).await;
        let urls: Vec<String> = server
            .addresses
            .iter()
            .map(|(p, a)| format!("{}://{}", p.scheme(), a))
            .collect();
        assert!(urls[0].starts_with("udp://[::1]:"), "{urls:?}");
        for url in &urls {
            let (client, mut events) = Client::connect(url, client_config(None)).await.unwrap();
            server.wait_connected().await;
            client
                .send(Bytes::from_static(b"echo:v"), SendOptions::RELIABLE)
                .unwrap();
            assert_eq!(
                &client_message(&mut events).await.payload[..],
                b"re:v",
                "{url}"
            );
            client.disconnect();
            client_wait(&mut events, "Disconnected", |e| {
                matches!(e, ConnectionEvent::Disconnected(_))
            })
            .await;
        }
        server.stop().await;
    })
    .await;
}

/// `localhost` resolves to several addresses; the client tries them in turn.
#[tokio::test]
async fn udp_connect_by_host_name() {
    guard(async {
        let mut server = start(vec![listener(Protocol::Udp, None, None)]).await;
        let port = server.addresses[0].1.port();
        let (client, _events) =
            Client::connect(&format!("udp://localhost:{port}"), client_config(None))
                .await
                .expect("connect by name");
        server.wait_connected().await;
        assert_eq!(client.remote_address().port(), port);
        assert_eq!(client.protocol(), Protocol::Udp);
        server.stop().await;
    })
    .await;
}
