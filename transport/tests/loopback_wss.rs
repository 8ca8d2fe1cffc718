//! Loopback over secure WebSocket with a self-signed certificate made here.

mod loopback_support;

use loopback_support::*;
use transport::runtime::{Client, ConnectError};
use transport::Protocol;

#[tokio::test]
async fn wss_full_session_with_trusted_self_signed_certificate() {
    guard(async {
        let (tls, pem) = self_signed();
        let mut server = start(vec![listener(Protocol::Wss, Some("/Game"), Some(tls))]).await;
        let port = server.addresses[0].1.port();
        let url = format!("wss://localhost:{port}/Game");
        full_session(&mut server, &url, client_config(Some(&pem))).await;
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn wss_untrusted_certificate_is_a_tls_error() {
    guard(async {
        let (tls, _pem) = self_signed();
        let server = start(vec![listener(Protocol::Wss, Some("/Game"), Some(tls))]).await;
        let port = server.addresses[0].1.port();
        let mut config = client_config(None);
        config.tls.disable_system_roots = true;
        let (_, other_pem) = self_signed();
        config.tls.extra_ca_pem.push(other_pem);
        let error = Client::connect(&format!("wss://localhost:{port}/Game"), config)
            .await
            .unwrap_err();
        println!("{error}");
        assert!(matches!(error, ConnectError::Tls(_)), "{error}");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn wss_listener_without_tls_is_refused_at_bind() {
    guard(async {
        let listeners = vec![listener(Protocol::Wss, Some("/Game"), None)];
        let error = transport::runtime::Server::bind(listeners, Default::default())
            .await
            .unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains("ListenerConfig::tls"), "{error}");
    })
    .await;
}

/// Plain clients (ws://, tcp://) reaching the TLS port are told to use wss://.
#[tokio::test]
async fn plain_client_to_tls_port_says_use_wss() {
    guard(async {
        let (tls, _pem) = self_signed();
        let server = start(vec![listener(Protocol::Wss, Some("/Game"), Some(tls))]).await;
        let address = server.addresses[0].1;
        for url in [format!("ws://{address}/Game"), format!("tcp://{address}")] {
            let error = Client::connect(&url, client_config(None))
                .await
                .unwrap_err();
            println!("{url}: {error}");
            assert!(
                matches!(
                    error,
                    ConnectError::Tls(
                        transport::runtime::tls::TlsError::PlainClientToTlsPort { .. }
                    )
                ),
                "{url}: {error}"
            );
            assert!(error.to_string().contains("wss://"), "{error}");
        }
        server.stop().await;
    })
    .await;
}

/// A wss:// client reaching a plain WebSocket port gets a TLS error naming the scheme.
#[tokio::test]
async fn tls_client_to_plain_port_is_a_tls_error() {
    guard(async {
        let (_tls, pem) = self_signed();
        let server = start(vec![listener(Protocol::Ws, Some("/Game"), None)]).await;
        let port = server.addresses[0].1.port();
        let error = Client::connect(
            &format!("wss://localhost:{port}/Game"),
            client_config(Some(&pem)),
        )
        .await
        .unwrap_err();
        println!("{error}");
        assert!(matches!(error, ConnectError::Tls(_)), "{error}");
        server.stop().await;
    })
    .await;
}

/// Round-trip figure, not an assertion: sequential reliable echoes on each protocol.
/// Run: `cargo test -p transport --test loopback_wss -- --ignored --nocapture echo_round_trips`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn echo_round_trips() {
    guard(async {
        let (tls, pem) = self_signed();
        let server = start(vec![
            listener(Protocol::Udp, None, None),
            listener(Protocol::Tcp, None, None),
            listener(Protocol::Ws, Some("/Game"), None),
            listener(Protocol::Wss, Some("/Game"), Some(tls)),
        ])
        .await;
        const ROUNDS: u32 = 1000;
        for (protocol, path) in [
            (Protocol::Udp, ""),
            (Protocol::Tcp, ""),
            (Protocol::Ws, "/Game"),
            (Protocol::Wss, "/Game"),
        ] {
            let url = if protocol == Protocol::Wss {
                format!("wss://localhost:{}/Game", server.addresses[3].1.port())
            } else {
                server.url(protocol, path)
            };
            let (client, mut events) = Client::connect(&url, client_config(Some(&pem)))
                .await
                .unwrap();
            let started = std::time::Instant::now();
            for _ in 0..ROUNDS {
                client
                    .send(
                        bytes::Bytes::from_static(b"echo:ping"),
                        transport::SendOptions::RELIABLE,
                    )
                    .unwrap();
                client_message(&mut events).await;
            }
            println!(
                "{protocol}: mean echo round trip {:?} over {ROUNDS}",
                started.elapsed() / ROUNDS
            );
        }
        server.stop().await;
    })
    .await;
}

/// WSS by IP address: the certificate's IP entry is checked (SNI is not sent for IPs).
#[tokio::test]
async fn wss_by_ip_address() {
    guard(async {
        let (tls, pem) = self_signed();
        let mut server = start(vec![listener(Protocol::Wss, Some("/Game"), Some(tls))]).await;
        let url = server.url(Protocol::Wss, "/Game");
        assert!(url.starts_with("wss://127.0.0.1:"), "{url}");
        let (client, mut events) = Client::connect(&url, client_config(Some(&pem)))
            .await
            .unwrap();
        server.wait_connected().await;
        assert!(
            client.is_encryption_established(),
            "WSS counts as encrypted from the start"
        );
        client
            .send(
                bytes::Bytes::from_static(b"echo:tls"),
                transport::SendOptions::RELIABLE.encrypted(true),
            )
            .unwrap();
        let reply = client_message(&mut events).await;
        assert!(reply.encrypted && &reply.payload[..] == b"re:tls");
        server.stop().await;
    })
    .await;
}
