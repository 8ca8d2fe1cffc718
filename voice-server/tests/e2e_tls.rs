//! TLS over TCP (`tls://host:port`) end to end, with a certificate made like
//! `voice-server gen-cert`: the whole flow (name → master → game, a room, an
//! event raised and received), `voice-server doctor tls://…` against a real
//! listener and against a plain TCP port, and `check-config` on secure
//! listeners.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;
use transport::codec::{Parameters, ReceiverGroup, Value};
use transport::lb::{op, param};
use transport::runtime::tls::{
    diagnose_voice, generate_self_signed, write_generated, ClientTlsConfig, GenCertOptions,
};
use transport::{Protocol, SendOptions};
use voice_server::config::{Config, ListenerSpec, Role};

/// A TLS-over-TCP listener on 127.0.0.1:0 written as in a config file
/// (`protocol = "tcp"` + `secure = true`, or `protocol = "tls"`), using the
/// certificate in `dir`.
fn tls_listener(toml_text: &str, dir: &Path) -> ListenerSpec {
    let mut spec: ListenerSpec = toml::from_str(toml_text).unwrap();
    spec.address = "127.0.0.1".parse().unwrap();
    spec.certificate_path = Some(dir.to_string_lossy().into_owned());
    assert_eq!(spec.effective_protocol(), Protocol::Tls, "{toml_text}");
    assert!(spec.needs_tls());
    spec
}

/// Local deployment plus a tls:// listener on every role (name: tcp + secure;
/// master and game: protocol = "tls").
fn config_with_tls(dir: &Path) -> Config {
    let mut config = local_config();
    for role in [Role::Name, Role::Master, Role::Game] {
        let text = if role == Role::Name {
            "protocol = \"tcp\"\nsecure = true"
        } else {
            "protocol = \"tls\""
        };
        config
            .role_mut(role)
            .listeners
            .push(tls_listener(text, dir));
    }
    config
}

#[tokio::test]
async fn flow_over_tls() {
    guard(async {
        let dir = tempfile::tempdir().unwrap();
        let ca_file = gen_cert(dir.path());
        let _ = CLIENT_TLS.set(ClientTlsConfig {
            extra_ca_files: vec![ca_file],
            ..ClientTlsConfig::default()
        });
        let d = deploy(config_with_tls(dir.path()), None).await;
        let name_url = d
            .url(Role::Name, Protocol::Tls)
            .expect("a tls name listener");
        assert!(name_url.starts_with("tls://127.0.0.1:"), "{name_url}");

        // Authentication over tls:// without establish_encryption: TLS covers it.
        let mut name = TestClient::connect(&name_url).await;
        let r = name
            .request(
                op::AUTHENTICATE,
                Parameters::new().with(param::APPLICATION_ID, "app"),
            )
            .await;
        assert_eq!(r.return_code, 0, "{r:?}");
        let master_url = str_param(&r, param::ADDRESS).to_owned();
        assert!(
            master_url.starts_with("tls://127.0.0.1:") && !master_url.ends_with("/Master"),
            "a client that came over tls:// stays on tls://: {master_url}"
        );
        assert_eq!(
            Some(master_url.as_str()),
            d.url(Role::Master, Protocol::Tls).as_deref()
        );
        name.client.disconnect();

        // enter_room checks that the master hands out a tls:// game server.
        let (mut a, na) = enter_room(&d, Protocol::Tls, "alice", op::CREATE_GAME, "secure").await;
        let (mut b, nb) = enter_room(&d, Protocol::Tls, "bob", op::JOIN_GAME, "secure").await;
        assert_eq!((na, nb), (1, 2));
        assert_eq!(a.client.protocol(), Protocol::Tls);

        b.send_request(
            op::RAISE_EVENT,
            Parameters::new()
                .with(param::CODE, 5u8)
                .with(param::DATA, "over tls"),
            SendOptions::RELIABLE,
        );
        let ev = a.event(5).await;
        assert_eq!(
            (ev.sender, ev.parameters.get(param::DATA)),
            (2, Some(&Value::from("over tls")))
        );
        a.send_raw(
            b"voice",
            ReceiverGroup::Others,
            vec![],
            SendOptions::UNRELIABLE.encrypted(true),
        );
        assert_eq!(&b.raw_event(WAIT).await.unwrap().payload[..], b"voice");
        d.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn doctor_passes_every_check_on_a_tls_listener() {
    guard(async {
        let dir = tempfile::tempdir().unwrap();
        let ca_file = gen_cert(dir.path());
        let d = deploy(config_with_tls(dir.path()), None).await;
        let url = d.url(Role::Name, Protocol::Tls).unwrap();
        let trust = ClientTlsConfig {
            extra_ca_files: vec![ca_file.clone()],
            ..ClientTlsConfig::default()
        };
        let checks = diagnose_voice(&url, &trust).await;
        for check in &checks {
            eprintln!("{check}");
        }
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
                "protocol greeting"
            ],
            "the wss checks minus the WebSocket upgrade"
        );
        assert!(
            checks[3].detail.contains("TLSv1_3")
                && checks[3]
                    .detail
                    .contains(transport::runtime::tls::TLS_TCP_ALPN),
            "{:?}",
            checks[3]
        );
        assert!(checks[4].detail.contains("valid for \"127.0.0.1\""));
        assert!(checks[5].detail.contains("accepted"), "{:?}", checks[5]);

        // tcp:// on that port: the doctor sees a TLS record and says use tls://.
        let plain = url.replacen("tls://", "tcp://", 1);
        let checks = diagnose_voice(&plain, &trust).await;
        let last = checks.last().unwrap();
        assert_eq!(last.name, "scheme", "{checks:#?}");
        assert!(!last.ok);
        assert!(
            last.detail
                .contains(&format!("use {url} instead of tcp://")),
            "{last:?}"
        );

        // The command line prints the same and exits with success.
        let output = tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_voice-server"))
                .args(["doctor", &url, "--ca-file"])
                .arg(&ca_file)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}");
        assert!(
            stdout.contains("protocol greeting: the server accepted"),
            "{stdout}"
        );
        assert!(!stdout.contains("FAIL"), "{stdout}");
        d.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn doctor_tls_against_a_plain_tcp_port_says_use_tcp() {
    guard(async {
        let d = deploy(local_config(), None).await;
        let plain = d.url(Role::Name, Protocol::Tcp).unwrap();
        let url = plain.replacen("tcp://", "tls://", 1);
        let checks = diagnose_voice(&url, &ClientTlsConfig::default()).await;
        for check in &checks {
            eprintln!("{check}");
        }
        let last = checks.last().unwrap();
        assert_eq!(last.name, "TLS handshake", "{checks:#?}");
        assert!(!last.ok);
        assert!(last.detail.contains("does not speak TLS"), "{last:?}");
        assert!(last.detail.contains("Use tcp:// for that port"), "{last:?}");
        // And the plain scheme passes there.
        let checks = diagnose_voice(&plain, &ClientTlsConfig::default()).await;
        assert!(checks.iter().all(|c| c.ok), "{checks:#?}");
        d.shutdown().await;
    })
    .await;
}

/// `voice-server check-config FILE` on a file with TLS-over-TCP listeners.
fn check_config(dir: &Path, text: &str) -> (bool, String) {
    let file = dir.join("voice.toml");
    std::fs::write(&file, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_voice-server"))
        .arg("check-config")
        .arg(&file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn check_config_accepts_secure_tcp_and_refuses_secure_udp() {
    let dir = tempfile::tempdir().unwrap();
    let cert = generate_self_signed(&GenCertOptions::default()).unwrap();
    write_generated(&cert, &dir.path().join("certs/server.pem"), None).unwrap();
    let good = r#"
[[name.listeners]]
protocol = "tcp"
secure = true
port = 14533
min_protocol_version = "TLS13"

[[master.listeners]]
protocol = "tls"
port = 14530
cipher_list = "DEFAULT"

[[game.listeners]]
protocol = "tcp"
port = 4531
"#;
    let (ok, text) = check_config(dir.path(), good);
    assert!(ok, "{text}");
    assert!(text.contains("OK"), "{text}");

    let bad = r#"
[[name.listeners]]
protocol = "udp"
secure = true
port = 5058
"#;
    let (ok, text) = check_config(dir.path(), bad);
    assert!(!ok, "{text}");
    assert!(text.contains("name.listeners[0].secure"), "{text}");
    assert!(text.contains("DTLS is not offered"), "{text}");
    assert!(text.contains("per-message encryption"), "{text}");

    // A secure TCP listener without its certificate names the missing file.
    let missing = tempfile::tempdir().unwrap();
    let (ok, text) = check_config(missing.path(), good);
    assert!(!ok, "{text}");
    assert!(text.contains("does not exist"), "{text}");
    assert!(text.contains("gen-cert"), "{text}");
}
