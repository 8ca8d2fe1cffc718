//! `diagnose` (voice-server doctor) against loopback servers: a healthy WSS
//! listener, an untrusted certificate, a plain port, a TLS port reached with
//! ws://, a closed port, and the greeting extension point.

use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use transport::runtime::tls::{
    diagnose, diagnose_with_greeting, generate_self_signed, load_server_config, write_generated,
    ClientTlsConfig, DoctorCheck, GenCertOptions, GeneratedCert, ServerTlsSettings,
};

const GUARD: Duration = Duration::from_secs(30);

/// A WSS echo server on 127.0.0.1:0 with a gen-cert certificate for localhost.
async fn wss_server() -> (SocketAddr, GeneratedCert, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let cert = generate_self_signed(&GenCertOptions::default()).unwrap();
    write_generated(&cert, &dir.path().join("certs/server.pem"), None).unwrap();
    let loaded =
        load_server_config(&ServerTlsSettings::default(), dir.path(), &["http/1.1"]).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(loaded.config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if message.is_binary() && ws.send(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (address, cert, dir)
}

fn trusting(cert: &GeneratedCert) -> ClientTlsConfig {
    ClientTlsConfig {
        disable_system_roots: true,
        extra_ca_pem: vec![cert.ca_pem.clone()],
        ..Default::default()
    }
}

fn find<'a>(checks: &'a [DoctorCheck], name: &str) -> &'a DoctorCheck {
    checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name:?} step in {checks:#?}"))
}

fn print(checks: &[DoctorCheck]) {
    for check in checks {
        eprintln!("{check}");
    }
}

#[tokio::test]
async fn healthy_wss_listener_passes_every_step() {
    tokio::time::timeout(GUARD, async {
        let (address, cert, _dir) = wss_server().await;
        let url = format!("wss://localhost:{}/Master", address.port());
        let checks = diagnose(&url, &trusting(&cert)).await;
        print(&checks);
        assert!(checks.iter().all(|c| c.ok), "{checks:#?}");
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "URL",
                "resolve",
                "TCP connect",
                "TLS handshake",
                "certificate",
                "WebSocket upgrade"
            ]
        );
        assert!(
            find(&checks, "TLS handshake").detail.contains("TLSv1_3"),
            "{checks:#?}"
        );
        assert!(
            find(&checks, "TLS handshake")
                .detail
                .contains("ALPN http/1.1"),
            "{checks:#?}"
        );
        let certificate = &find(&checks, "certificate").detail;
        assert!(
            certificate.contains("CN=localhost") && certificate.contains("valid for \"localhost\""),
            "{certificate}"
        );
        assert!(
            find(&checks, "WebSocket upgrade").detail.contains("101"),
            "{checks:#?}"
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn untrusted_certificate_is_shown_and_explained() {
    tokio::time::timeout(GUARD, async {
        let (address, cert, _dir) = wss_server().await;
        let url = format!("wss://localhost:{}/Master", address.port());
        let checks = diagnose(&url, &ClientTlsConfig::default()).await;
        print(&checks);
        let tls = find(&checks, "TLS handshake");
        assert!(
            !tls.ok && tls.detail.contains("not trusted") && tls.detail.contains("--ca-file"),
            "{tls:?}"
        );
        let certificate = find(&checks, "certificate");
        assert!(!certificate.ok);
        assert!(
            certificate.detail.contains("CN=localhost")
                && certificate.detail.contains("not accepted")
        );
        let fingerprint = transport::runtime::tls::format_fingerprint(&cert.fingerprint_sha256);
        assert!(certificate.detail.contains(&fingerprint), "{certificate:?}");
        assert!(
            checks.iter().all(|c| c.name != "WebSocket upgrade"),
            "{checks:#?}"
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn wss_to_a_plain_port_says_wrong_scheme() {
    tokio::time::timeout(GUARD, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = tcp.read(&mut buf).await;
                let _ = tcp
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    .await;
            }
        });
        let checks = diagnose(
            &format!("wss://127.0.0.1:{}/", address.port()),
            &ClientTlsConfig::default(),
        )
        .await;
        print(&checks);
        let tls = find(&checks, "TLS handshake");
        assert!(
            !tls.ok && tls.detail.contains("does not speak TLS") && tls.detail.contains("ws://"),
            "{tls:?}"
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn ws_to_a_tls_port_says_use_wss() {
    tokio::time::timeout(GUARD, async {
        let (address, _cert, _dir) = wss_server().await;
        let checks = diagnose(
            &format!("ws://127.0.0.1:{}/Master", address.port()),
            &ClientTlsConfig::default(),
        )
        .await;
        print(&checks);
        assert!(!find(&checks, "WebSocket upgrade").ok, "{checks:#?}");
        let scheme = find(&checks, "scheme");
        assert!(!scheme.ok && scheme.detail.contains("wss://"), "{scheme:?}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn closed_port_fails_at_tcp_connect() {
    tokio::time::timeout(GUARD, async {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let checks = diagnose(
            &format!("wss://127.0.0.1:{port}/"),
            &ClientTlsConfig::default(),
        )
        .await;
        print(&checks);
        let tcp = checks.last().unwrap();
        assert_eq!(tcp.name, "TCP connect");
        assert!(!tcp.ok && tcp.detail.contains("refused"), "{tcp:?}");
        let bad = diagnose("udp://127.0.0.1:1", &ClientTlsConfig::default()).await;
        assert_eq!(bad.len(), 1);
        assert!(!bad[0].ok && bad[0].detail.contains("wss://"), "{bad:?}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn greeting_step_runs_on_the_upgraded_stream() {
    tokio::time::timeout(GUARD, async {
        let (address, cert, _dir) = wss_server().await;
        let url = format!("wss://localhost:{}/Game", address.port());
        let checks = diagnose_with_greeting(&url, &trusting(&cert), |mut ws| async move {
            ws.send(Message::binary(vec![0xF3, 1, 2])).await.unwrap();
            let echoed = ws.next().await.unwrap().unwrap();
            vec![DoctorCheck {
                name: "greeting".into(),
                ok: echoed.into_data() == vec![0xF3, 1, 2],
                detail: "echo".into(),
            }]
        })
        .await;
        print(&checks);
        assert!(checks.iter().all(|c| c.ok), "{checks:#?}");
        assert_eq!(checks.last().unwrap().name, "greeting");
    })
    .await
    .expect("test timed out");
}
