//! The whole flow over WSS with a certificate made like `voice-server gen-cert`:
//! TLS covers authentication (no key exchange needed) and the name server
//! hands out `wss://host:port/Master`.

mod common;

use common::*;
use transport::codec::{Parameters, ReceiverGroup};
use transport::lb::{op, param};
use transport::runtime::tls::{
    generate_self_signed, write_generated, ClientTlsConfig, GenCertOptions,
};
use transport::{Protocol, SendOptions};
use voice_server::config::{ListenerSpec, ProtocolName, Role};

#[tokio::test]
async fn flow_over_wss() {
    guard(async {
        let dir = tempfile::tempdir().unwrap();
        let cert = generate_self_signed(&GenCertOptions::default()).unwrap();
        let files = write_generated(&cert, &dir.path().join("server.pem"), None).unwrap();
        let _ = CLIENT_TLS.set(ClientTlsConfig {
            extra_ca_files: vec![files[0].clone()],
            ..ClientTlsConfig::default()
        });
        let mut config = local_config();
        for role in [Role::Name, Role::Master, Role::Game] {
            let mut wss: ListenerSpec = toml::from_str("protocol = \"wss\"").unwrap();
            wss.protocol = ProtocolName(Protocol::Wss);
            wss.address = "127.0.0.1".parse().unwrap();
            wss.certificate_path = Some(dir.path().to_string_lossy().into_owned());
            config.role_mut(role).listeners.push(wss);
        }
        let d = deploy(config, None).await;
        // Authentication over WSS without establish_encryption: TLS covers it.
        let mut name = TestClient::connect(&d.url(Role::Name, Protocol::Wss).unwrap()).await;
        let r = name
            .request(
                op::AUTHENTICATE,
                Parameters::new().with(param::APPLICATION_ID, "app"),
            )
            .await;
        assert_eq!(r.return_code, 0, "{r:?}");
        let master_url = str_param(&r, param::ADDRESS).to_owned();
        assert!(
            master_url.starts_with("wss://127.0.0.1:") && master_url.ends_with("/Master"),
            "{master_url}"
        );
        let (mut a, _) = enter_room(&d, Protocol::Wss, "alice", op::CREATE_GAME, "secure").await;
        let (mut b, _) = enter_room(&d, Protocol::Wss, "bob", op::JOIN_GAME, "secure").await;
        a.send_raw(
            b"voice",
            ReceiverGroup::Others,
            vec![],
            SendOptions::RELIABLE.encrypted(true),
        );
        assert_eq!(&b.raw_event(WAIT).await.unwrap().payload[..], b"voice");
        let _ = &mut a;
        d.shutdown().await;
    })
    .await;
}
