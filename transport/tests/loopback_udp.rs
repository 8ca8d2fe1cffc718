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

/// The handler's own timer (`poll_timeout`/`handle_timeout`) runs in the driver:
/// a ticker sends five numbered ticks, 20 ms apart, to every connected peer.
#[tokio::test]
async fn handler_timer_drives_periodic_sends() {
    use std::time::Instant;
    use transport::runtime::{Server, ServerHandler};
    use transport::{Endpoint, EndpointConfig, EndpointEvent, PeerHandle};

    struct Ticker {
        peers: Vec<PeerHandle>,
        next: Option<Instant>,
        sent: u8,
    }
    impl ServerHandler for Ticker {
        type Command = ();
        fn handle_event(&mut self, now: Instant, event: EndpointEvent, _endpoint: &mut Endpoint) {
            if event.event == ConnectionEvent::Connected {
                self.peers.push(event.peer);
                self.next = Some(now + Duration::from_millis(20));
            }
        }
        fn handle_command(&mut self, _now: Instant, _command: (), _endpoint: &mut Endpoint) {}
        fn handle_timeout(&mut self, now: Instant, endpoint: &mut Endpoint) {
            let Some(next) = self.next else { return };
            if now < next {
                return; // spurious calls are harmless
            }
            self.sent += 1;
            for peer in &self.peers {
                endpoint
                    .send(now, *peer, &[self.sent], SendOptions::RELIABLE)
                    .unwrap();
            }
            self.next = (self.sent < 5).then(|| next + Duration::from_millis(20));
        }
        fn poll_timeout(&self) -> Option<Instant> {
            self.next
        }
    }

    guard(async {
        let listeners = vec![listener(Protocol::Udp, None, None)];
        let server = Server::bind(listeners, EndpointConfig::default())
            .await
            .unwrap();
        let address = server.local_address(Protocol::Udp).unwrap();
        let control = server.control::<()>();
        let run = tokio::spawn(server.run(
            Ticker {
                peers: Vec::new(),
                next: None,
                sent: 0,
            },
            std::future::pending(),
        ));
        let (_client, mut events) =
            Client::connect(&format!("udp://{address}"), client_config(None))
                .await
                .unwrap();
        for expected in 1..=5u8 {
            assert_eq!(&client_message(&mut events).await.payload[..], &[expected]);
        }
        control.shutdown();
        tokio::time::timeout(WAIT, run)
            .await
            .expect("stops")
            .unwrap()
            .unwrap();
    })
    .await;
}

/// Throughput figure, not an assertion: one UDP client's unreliable 100-byte
/// messages relayed by the server to another UDP client.
/// Run: `cargo test -p transport --test loopback_udp -- --ignored --nocapture relay_throughput`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn relay_throughput() {
    guard(async {
        let server = start(vec![listener(Protocol::Udp, None, None)]).await;
        let url = server.url(Protocol::Udp, "");
        let (sender, _sender_events) = Client::connect(&url, client_config(None)).await.unwrap();
        let (_receiver, mut receiver_events) = Client::connect(&url, client_config(None)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        const COUNT: usize = 20_000;
        let mut payload = b"relay:".to_vec();
        payload.resize(106, 7);
        let payload = Bytes::from(payload);
        let started = std::time::Instant::now();
        let sending = tokio::spawn(async move {
            let mut sent = 0;
            while sent < COUNT {
                match sender.send(payload.clone(), SendOptions::UNRELIABLE) {
                    Ok(()) => sent += 1,
                    Err(_) => tokio::task::yield_now().await,
                }
                if sent % 200 == 0 {
                    // Pace a little: UDP drops what the socket buffers cannot hold.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            sender
        });
        let mut received = 0;
        while received < COUNT {
            match tokio::time::timeout(Duration::from_secs(1), receiver_events.recv()).await {
                Ok(Some(ConnectionEvent::Message(_))) => received += 1,
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        let elapsed = started.elapsed();
        let _sender = sending.await.unwrap();
        println!(
            "relayed {received}/{COUNT} unreliable 100-byte messages in {elapsed:?}: {:.0} messages/s",
            received as f64 / elapsed.as_secs_f64()
        );
        server.stop().await;
    })
    .await;
}

/// A UDP port where something is bound but never answers: a timeout naming the limit.
#[tokio::test]
async fn udp_silent_port_times_out() {
    guard(async {
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let address = silent.local_addr().unwrap();
        let config = transport::runtime::ClientConfig {
            connect_timeout: Duration::from_millis(300),
            ..client_config(None)
        };
        let error = Client::connect(&format!("udp://{address}"), config).await.unwrap_err();
        println!("{error}");
        assert!(
            matches!(error, ConnectError::Timeout { address: a, timeout } if a == address && timeout == Duration::from_millis(300)),
            "{error}"
        );
        drop(silent);
    })
    .await;
}

/// A host name that does not resolve is reported as such, naming the host.
#[tokio::test]
async fn unresolvable_host_is_a_resolve_error() {
    guard(async {
        let config = transport::runtime::ClientConfig {
            connect_timeout: Duration::from_secs(3),
            ..client_config(None)
        };
        let error = Client::connect("udp://no-such-host.invalid:5055", config).await.unwrap_err();
        println!("{error}");
        assert!(matches!(error, ConnectError::Resolve { ref host, .. } if host == "no-such-host.invalid"), "{error}");
    })
    .await;
}

/// A server that vanishes without a goodbye: clients on every protocol notice
/// (stream closed, ICMP unreachable or silence) and the ports are released.
#[tokio::test]
async fn clients_notice_a_vanished_server() {
    guard(async {
        let mut server = start(vec![
            listener(Protocol::Udp, None, None),
            listener(Protocol::Tcp, None, None),
            listener(Protocol::Ws, Some("/Game"), None),
        ])
        .await;
        let mut config = client_config(None);
        let transport_config = transport::TransportConfig {
            ping_interval: Duration::from_millis(100),
            disconnect_timeout: Duration::from_secs(1),
            ..Default::default()
        };
        config.transport = std::sync::Arc::new(transport_config);
        let mut clients = Vec::new();
        for (protocol, path) in [
            (Protocol::Udp, ""),
            (Protocol::Tcp, ""),
            (Protocol::Ws, "/Game"),
        ] {
            clients.push(
                Client::connect(&server.url(protocol, path), config.clone())
                    .await
                    .unwrap(),
            );
            server.wait_connected().await;
        }
        let addresses = server.addresses.clone();
        server.kill().await;
        for (client, events) in &mut clients {
            let end = client_wait(events, "Disconnected", |e| {
                matches!(e, ConnectionEvent::Disconnected(_))
            })
            .await;
            println!("{}: {end:?}", client.protocol());
            assert!(
                matches!(
                    end,
                    ConnectionEvent::Disconnected(
                        DisconnectReason::Transport(_) | DisconnectReason::Timeout
                    )
                ),
                "{end:?}"
            );
        }
        for (protocol, address) in addresses.into_iter().filter(|(p, _)| p.is_stream()) {
            tokio::net::TcpListener::bind(address)
                .await
                .unwrap_or_else(|e| panic!("{protocol} port still held: {e}"));
        }
    })
    .await;
}

/// Fifty clients (UDP and TCP mixed) connect at once and each gets its own echo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_at_once() {
    guard(async {
        let server = start(vec![
            listener(Protocol::Udp, None, None),
            listener(Protocol::Tcp, None, None),
        ])
        .await;
        let mut tasks = Vec::new();
        for index in 0..50 {
            let protocol = if index % 2 == 0 {
                Protocol::Udp
            } else {
                Protocol::Tcp
            };
            let url = server.url(protocol, "");
            tasks.push(tokio::spawn(async move {
                let (client, mut events) =
                    Client::connect(&url, client_config(None)).await.unwrap();
                client
                    .send(Bytes::from(format!("echo:{index}")), SendOptions::RELIABLE)
                    .unwrap();
                let reply = client_message(&mut events).await;
                assert_eq!(reply.payload, Bytes::from(format!("re:{index}")));
                client.disconnect();
                client_wait(&mut events, "Disconnected", |e| {
                    matches!(e, ConnectionEvent::Disconnected(_))
                })
                .await;
            }));
        }
        for task in tasks {
            task.await.expect("client task");
        }
        server.stop().await;
    })
    .await;
}

/// Junk datagrams of every size (empty to 9000 bytes) at the server socket do not
/// disturb a connected client.
#[tokio::test]
async fn udp_junk_does_not_hurt_others() {
    use rand::{Rng, SeedableRng};
    guard(async {
        let mut server = start(vec![listener(Protocol::Udp, None, None)]).await;
        let address = server.addresses[0].1;
        let (client, mut events) =
            Client::connect(&server.url(Protocol::Udp, ""), client_config(None))
                .await
                .unwrap();
        server.wait_connected().await;
        let junk = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for round in 0..1000 {
            let size = if round % 100 == 0 {
                9000
            } else {
                rng.gen_range(0..1500)
            };
            let mut datagram = vec![0u8; size];
            rng.fill(&mut datagram[..]);
            let _ = junk.send_to(&datagram, address).await;
            if round % 50 == 0 {
                tokio::task::yield_now().await;
            }
        }
        client
            .send(
                Bytes::from_static(b"echo:after junk"),
                SendOptions::RELIABLE,
            )
            .unwrap();
        assert_eq!(
            &client_message(&mut events).await.payload[..],
            b"re:after junk"
        );
        server.stop().await;
    })
    .await;
}
