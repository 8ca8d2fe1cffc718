//! `voice-server doctor` end to end: against a real WSS name server every
//! check passes, the last being the protocol greeting (STREAM_CONNECT →
//! ACCEPT); against a WebSocket server that does not speak the protocol the
//! greeting check fails with a message naming the likely mistake.

mod common;

use common::*;
use futures_util::StreamExt;
use transport::runtime::tls::{
    diagnose_with_greeting, generate_self_signed, protocol_greeting, write_generated,
    ClientTlsConfig, GenCertOptions,
};
use transport::Protocol;
use voice_server::config::{ListenerSpec, ProtocolName, Role};

#[tokio::test]
async fn doctor_checks_a_real_wss_listener_down_to_the_greeting() {
    guard(async {
        let dir = tempfile::tempdir().unwrap();
        let cert = generate_self_signed(&GenCertOptions::default()).unwrap();
        let files = write_generated(&cert, &dir.path().join("server.pem"), None).unwrap();
        let mut config = local_config();
        let mut wss: ListenerSpec = toml::from_str("protocol = \"wss\"").unwrap();
        wss.protocol = ProtocolName(Protocol::Wss);
        wss.address = "127.0.0.1".parse().unwrap();
        wss.certificate_path = Some(dir.path().to_string_lossy().into_owned());
        config.role_mut(Role::Name).listeners.push(wss);
        let d = deploy(config, None).await;
        let url = d.url(Role::Name, Protocol::Wss).unwrap();
        let trust = ClientTlsConfig {
            extra_ca_files: vec![files[0].clone()],
            ..ClientTlsConfig::default()
        };
        let checks = diagnose_with_greeting(&url, &trust, protocol_greeting).await;
        for check in &checks {
            eprintln!("{check}");
        }
        assert!(checks.iter().all(|c| c.ok), "{checks:#?}");
        let last = checks.last().unwrap();
        assert_eq!(last.name, "protocol greeting");
        assert!(last.detail.contains("accepted"), "{last:?}");
        d.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn doctor_names_a_websocket_server_that_does_not_speak_the_protocol() {
    guard(async {
        // A plain WebSocket echo-less server: accepts the upgrade, never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            if let Ok((stream, _)) = listener.accept().await {
                if let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await {
                    while let Some(Ok(_)) = ws.next().await {}
                }
            }
        });
        let url = format!("ws://127.0.0.1:{port}/");
        let checks =
            diagnose_with_greeting(&url, &ClientTlsConfig::default(), protocol_greeting).await;
        let last = checks.last().unwrap();
        assert_eq!(last.name, "protocol greeting", "{checks:#?}");
        assert!(!last.ok);
        assert!(last.detail.contains("not this protocol"), "{last:?}");
    })
    .await;
}
