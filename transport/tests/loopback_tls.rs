//! Loopback over `tls://` (TCP frames inside TLS) with certificates made by the
//! gen-cert code in a temporary folder: a full session, messages marked
//! encrypted, pinning, and the errors of the wrong scheme, an untrusted
//! certificate and a name mismatch, with their messages and the server's log.

mod loopback_support;
mod openssl_support;

use bytes::Bytes;
use loopback_support::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use transport::runtime::tls::{
    generate_self_signed, load_server_config, write_generated, ClientTlsConfig, GenCertOptions,
    GeneratedCert, ServerTlsSettings, TlsError, TlsVersion, TLS_TCP_ALPN,
};
use transport::runtime::{Client, ClientConfig, ConnectError};
use transport::{Protocol, SendOptions};

/// A certificate made like `voice-server gen-cert` (for `domains` and `ips`),
/// written to `dir/certs/server.pem`, loaded as a `tls://` listener's rustls
/// configuration. Returns it with the path of the authority file clients trust.
fn generated(
    dir: &Path,
    domains: &[&str],
    ips: &[&str],
) -> (Arc<rustls::ServerConfig>, PathBuf, GeneratedCert) {
    generated_with(
        dir,
        domains,
        ips,
        &ServerTlsSettings::default(),
        TLS_TCP_ALPN,
    )
}

/// [`generated`] with explicit listener TLS settings (versions, suites) and
/// announced ALPN id.
fn generated_with(
    dir: &Path,
    domains: &[&str],
    ips: &[&str],
    settings: &ServerTlsSettings,
    alpn: &str,
) -> (Arc<rustls::ServerConfig>, PathBuf, GeneratedCert) {
    let cert = generate_self_signed(&GenCertOptions {
        domains: domains.iter().map(|d| d.to_string()).collect(),
        ips: ips.iter().map(|ip| ip.parse().unwrap()).collect(),
        ..Default::default()
    })
    .unwrap();
    let files = write_generated(&cert, &dir.join("certs/server.pem"), None).unwrap();
    let ca_file = files
        .into_iter()
        .find(|f| f.to_string_lossy().ends_with("-ca.pem"))
        .expect("gen-cert writes an authority file");
    let loaded = load_server_config(settings, dir, &[alpn]).unwrap();
    (loaded.config, ca_file, cert)
}

/// A client configuration trusting only `ca_file` (no system roots).
fn trusting(ca_file: &Path) -> ClientConfig {
    let mut config = client_config(None);
    config.tls = ClientTlsConfig {
        disable_system_roots: true,
        extra_ca_files: vec![ca_file.to_path_buf()],
        ..ClientTlsConfig::default()
    };
    config
}

/// Log lines written while a test runs (the server driver runs on the test's
/// thread: `#[tokio::test]` is single-threaded, so a thread-local subscriber
/// sees the accept tasks too).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || logs.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }
    async fn wait_for(&self, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let text = self.text();
            if text.contains(needle) || tokio::time::Instant::now() > deadline {
                return text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Write for Logs {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn tls_full_session_with_generated_ca() {
    guard(async {
        let dir = tempfile::tempdir().unwrap();
        let (tls, ca_file, _) = generated(dir.path(), &["localhost"], &["127.0.0.1"]);
        let mut server = start(vec![listener(Protocol::Tls, None, Some(tls))]).await;
        let port = server.addresses[0].1.port();
        for host in ["localhost", "127.0.0.1"] {
            let url = format!("tls://{host}:{port}");
            full_session(&mut server, &url, trusting(&ca_file)).await;
        }
        server.stop().await;
    })
    .await;
}

/// Over tls:// every message arrives marked encrypted, and `encrypt = true`
/// works at once (TLS satisfies it, as over wss://), both ways.
#[tokio::test]
async fn tls_messages_arrive_marked_encrypted() {
    guard(async {
        let dir = tempfile::tempdir().unwrap();
        let (tls, ca_file, _) = generated(dir.path(), &["localhost"], &[]);
        let mut server = start(vec![listener(Protocol::Tls, None, Some(tls))]).await;
        let port = server.addresses[0].1.port();
        let (client, mut events) =
            Client::connect(&format!("tls://localhost:{port}"), trusting(&ca_file))
                .await
                .unwrap();
        assert_eq!(client.protocol(), Protocol::Tls);
        server.wait_connected().await;
        for (payload, options) in [
            (&b"echo:plain-reliable"[..], SendOptions::RELIABLE),
            (&b"echo:plain-unreliable"[..], SendOptions::UNRELIABLE),
            (&b"echo:flagged"[..], SendOptions::RELIABLE.encrypted(true)),
        ] {
            client
                .send(Bytes::copy_from_slice(payload), options)
                .expect("encrypt needs no key exchange over tls://");
            let (_, seen) = server.wait_message().await;
            assert_eq!(&seen.payload[..], payload);
            assert!(seen.encrypted, "server side: {payload:?} marked encrypted");
            assert_eq!(seen.delivery, options.delivery);
            let echoed = client_message(&mut events).await;
            assert_eq!(&echoed.payload[..3], b"re:");
            assert!(echoed.encrypted, "client side: echo marked encrypted");
        }
        client.disconnect();
        server.stop().await;
    })
    .await;
}

/// The same trust settings as wss://: a pinned SHA-256 fingerprint alone.
#[tokio::test]
async fn tls_client_with_pinned_certificate() {
    guard(async {
        let dir = tempfile::tempdir().unwrap();
        let (tls, _, cert) = generated(dir.path(), &["voice.example.test"], &[]);
        let mut server = start(vec![listener(Protocol::Tls, None, Some(tls))]).await;
        let port = server.addresses[0].1.port();
        let mut config = client_config(None);
        config.tls = ClientTlsConfig {
            disable_system_roots: true,
            pinned_sha256: vec![cert.fingerprint_sha256],
            ..ClientTlsConfig::default()
        };
        // Pinning accepts the certificate whatever the name (here an IP address).
        let (client, mut events) = Client::connect(&format!("tls://127.0.0.1:{port}"), config)
            .await
            .unwrap();
        server.wait_connected().await;
        client
            .send(Bytes::from_static(b"echo:pinned"), SendOptions::RELIABLE)
            .unwrap();
        assert_eq!(&client_message(&mut events).await.payload[..], b"re:pinned");
        server.stop().await;
    })
    .await;
}

/// tcp:// to a TLS port: the client is told to use tls://, the server logs one
/// line naming the problem and keeps serving.
#[tokio::test]
async fn tcp_client_to_tls_port_is_told_to_use_tls() {
    let logs = Logs::default();
    let _log = logs.install();
    guard(async {
        let dir = tempfile::tempdir().unwrap();
        let (tls, ca_file, _) = generated(dir.path(), &["localhost"], &[]);
        let mut server = start(vec![listener(Protocol::Tls, None, Some(tls))]).await;
        let port = server.addresses[0].1.port();
        let error = Client::connect(&format!("tcp://localhost:{port}"), client_config(None))
            .await
            .unwrap_err();
        println!("{error}");
        assert!(
            matches!(
                &error,
                ConnectError::Tls(TlsError::PlainClientToTlsPort {
                    scheme: Protocol::Tcp,
                    ..
                })
            ),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(
            text.contains(&format!("use tls://localhost:{port} instead of tcp://")),
            "{text}"
        );
        let log = logs.wait_for("did not speak TLS").await;
        let line = log
            .lines()
            .find(|l| l.contains("did not speak TLS"))
            .unwrap_or_else(|| panic!("no server log line about it in:\n{log}"));
        assert!(line.contains("tcp:// client on this tls:// port"), "{line}");
        assert!(line.contains("it should use tls://"), "{line}");
        assert!(line.contains("127.0.0.1:"), "names the client: {line}");
        // Still serving.
        full_session(
            &mut server,
            &format!("tls://localhost:{port}"),
            trusting(&ca_file),
        )
        .await;
        server.stop().await;
    })
    .await;
}

/// tls:// to a plain TCP port: the client is told to use tcp://, the server logs
/// one line naming the problem and keeps serving tcp:// clients.
#[tokio::test]
async fn tls_client_to_plain_tcp_port_is_told_to_use_tcp() {
    let logs = Logs::default();
    let _log = logs.install();
    guard(async {
        let dir = tempfile::tempdir().unwrap();
        let (_, ca_file, _) = generated(dir.path(), &["localhost"], &[]);
        let mut server = start(vec![listener(Protocol::Tcp, None, None)]).await;
        let port = server.addresses[0].1.port();
        let error = Client::connect(&format!("tls://localhost:{port}"), trusting(&ca_file))
            .await
            .unwrap_err();
        println!("{error}");
        assert!(
            matches!(
                &error,
                ConnectError::Tls(TlsError::WrongScheme {
                    scheme: Protocol::Tls,
                    ..
                })
            ),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(text.contains("does not speak TLS"), "{text}");
        assert!(text.contains("Use tcp:// for that port"), "{text}");
        let log = logs.wait_for("started a TLS handshake").await;
        let line = log
            .lines()
            .find(|l| l.contains("started a TLS handshake"))
            .unwrap_or_else(|| panic!("no server log line about it in:\n{log}"));
        assert!(line.contains("plain tcp:// port"), "{line}");
        assert!(line.contains("tls:// port"), "{line}");
        full_session(
            &mut server,
            &format!("tcp://127.0.0.1:{port}"),
            client_config(None),
        )
        .await;
        server.stop().await;
    })
    .await;
}

/// A self-signed certificate the client does not trust: the error says how to
/// trust it (CA file, pin).
#[tokio::test]
async fn tls_untrusted_certificate_says_how_to_trust_it() {
    guard(async {
        let dir = tempfile::tempdir().unwrap();
        let (tls, _, _) = generated(dir.path(), &["localhost"], &[]);
        let server = start(vec![listener(Protocol::Tls, None, Some(tls))]).await;
        let port = server.addresses[0].1.port();
        // Trusts another gen-cert authority, not the server's.
        let other = tempfile::tempdir().unwrap();
        let (_, other_ca, _) = generated(other.path(), &["localhost"], &[]);
        let error = Client::connect(&format!("tls://localhost:{port}"), trusting(&other_ca))
            .await
            .unwrap_err();
        println!("{error}");
        assert!(
            matches!(&error, ConnectError::Tls(TlsError::NotTrusted { .. })),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(
            text.contains(&format!("certificate of localhost:{port} is not trusted")),
            "{text}"
        );
        assert!(text.contains("--ca-file certs/server-ca.pem"), "{text}");
        assert!(text.contains("pinned_sha256"), "{text}");
        server.stop().await;
    })
    .await;
}

/// Connecting by IP address to a certificate for a domain only.
#[tokio::test]
async fn tls_name_mismatch_names_the_certificate_names() {
    guard(async {
        let dir = tempfile::tempdir().unwrap();
        let (tls, ca_file, _) = generated(dir.path(), &["voice.example.test"], &[]);
        let server = start(vec![listener(Protocol::Tls, None, Some(tls))]).await;
        let port = server.addresses[0].1.port();
        let error = Client::connect(&format!("tls://127.0.0.1:{port}"), trusting(&ca_file))
            .await
            .unwrap_err();
        println!("{error}");
        assert!(
            matches!(&error, ConnectError::Tls(TlsError::NameMismatch { .. })),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(text.contains("not valid for \"127.0.0.1\""), "{text}");
        assert!(text.contains("voice.example.test"), "{text}");
        assert!(text.contains("use the domain name instead"), "{text}");
        server.stop().await;
    })
    .await;
}

/// A tls:// listener without a TLS configuration is refused at bind.
#[tokio::test]
async fn tls_listener_without_tls_is_refused_at_bind() {
    let error = transport::runtime::Server::bind(
        vec![listener(Protocol::Tls, None, None)],
        Default::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("the tls listener"), "{error}");
}

/// The client offers ALPN `TLS_TCP_ALPN`; a listener announcing it picks it.
#[tokio::test]
async fn tls_negotiates_its_alpn_id() {
    guard(async {
        let dir = tempfile::tempdir().unwrap();
        let (config, ca_file, _) = generated(dir.path(), &["localhost"], &[]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let tls = acceptor.accept(tcp).await.unwrap();
            tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec)
        });
        // The client's handshake then waits for the protocol's answer: abandon it.
        let _ = Client::connect(&format!("tls://localhost:{port}"), {
            let mut c = trusting(&ca_file);
            c.connect_timeout = std::time::Duration::from_millis(500);
            c
        })
        .await;
        let alpn = server.await.unwrap();
        assert_eq!(alpn.as_deref(), Some(TLS_TCP_ALPN.as_bytes()));
    })
    .await;
}

/// `openssl s_client` against a tls:// listener with `min_protocol_version =
/// "TLS13"`: TLS 1.3, the generated certificate's subject and names, verified by
/// the CA file; forced to TLS 1.2 it is refused, and the server log says why.
#[tokio::test]
async fn openssl_s_client_against_a_tls13_only_tcp_listener() {
    if !openssl_support::have_openssl() {
        return;
    }
    let logs = Logs::default();
    let _log = logs.install();
    guard(async {
        let dir = tempfile::tempdir().unwrap();
        let settings = ServerTlsSettings {
            min_protocol_version: TlsVersion::Tls13,
            ..ServerTlsSettings::default()
        };
        let (tls, ca_file, _) = generated_with(
            dir.path(),
            &["voice.example.test"],
            &[],
            &settings,
            TLS_TCP_ALPN,
        );
        let server = start(vec![listener(Protocol::Tls, None, Some(tls))]).await;
        let address = server.addresses[0].1;
        let options = openssl_support::SClientOptions {
            servername: Some("voice.example.test".into()),
            ca_file: Some(ca_file),
            extra: Vec::new(),
        };
        let seen = openssl_support::s_client_async(address, options.clone()).await;
        assert!(seen.negotiated("TLSv1.3"), "{seen:?}");
        assert!(seen.subject_has_cn("voice.example.test"), "{seen:?}");
        assert!(seen.verified(), "{seen:?}");
        let served = seen.first_certificate_der().expect("a certificate printed");
        assert_eq!(
            openssl_support::dns_names(&served),
            vec!["voice.example.test"]
        );

        let tls12 = openssl_support::s_client_async(
            address,
            openssl_support::SClientOptions {
                extra: vec!["-tls1_2".into()],
                ..options
            },
        )
        .await;
        assert!(!tls12.success, "TLS 1.2 must be refused: {tls12:?}");
        assert!(!tls12.negotiated("TLSv1.2"), "{tls12:?}");
        assert!(!tls12.verified(), "{tls12:?}");
        assert!(
            tls12.stderr.contains("protocol version") || tls12.stderr.contains("alert"),
            "{tls12:?}"
        );
        let log = logs.wait_for("offers no TLS version").await;
        assert!(
            log.contains("offers no TLS version this listener accepts"),
            "server log:\n{log}"
        );
        server.stop().await;
    })
    .await;
}

/// Connects to `url`, expects the ALPN mismatch error of a `scheme` client
/// naming `advice` (the URL the port speaks), and the server log line `log_line`.
async fn expect_alpn_mismatch(
    logs: &Logs,
    url: &str,
    ca_file: &Path,
    scheme: Protocol,
    advice: &str,
    log_line: &str,
) {
    let error = Client::connect(url, trusting(ca_file)).await.unwrap_err();
    println!("{error}");
    assert!(
        matches!(
            &error,
            ConnectError::Tls(TlsError::ApplicationProtocolMismatch { scheme: s, .. }) if *s == scheme
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains(advice), "{error}");
    let log = logs.wait_for(log_line).await;
    assert!(log.contains(log_line), "{log}");
}

/// tls:// on a wss:// port and wss:// on a tls:// port: TLS works, the ALPN id
/// does not match, and each client is told which scheme the port speaks.
#[tokio::test]
async fn tls_and_wss_on_each_others_port_name_the_other_scheme() {
    let logs = Logs::default();
    let _log = logs.install();
    guard(async {
        let dir = tempfile::tempdir().unwrap();
        let settings = ServerTlsSettings::default();
        let (wss_tls, ca_file, _) =
            generated_with(dir.path(), &["localhost"], &[], &settings, "http/1.1");
        // The same certificate, announcing tls://'s ALPN id.
        let tls_tls = load_server_config(&settings, dir.path(), &[TLS_TCP_ALPN])
            .unwrap()
            .config;
        let server = start(vec![
            listener(Protocol::Wss, Some("/Game"), Some(wss_tls)),
            listener(Protocol::Tls, None, Some(tls_tls)),
        ])
        .await;
        let wss_port = server.addresses[0].1.port();
        let tls_port = server.addresses[1].1.port();

        expect_alpn_mismatch(
            &logs,
            &format!("tls://localhost:{wss_port}"),
            &ca_file,
            Protocol::Tls,
            &format!("wss://localhost:{wss_port}/path"),
            "probably a tls:// client on this wss:// port; it should use wss://",
        )
        .await;
        expect_alpn_mismatch(
            &logs,
            &format!("wss://localhost:{tls_port}/Game"),
            &ca_file,
            Protocol::Wss,
            &format!("tls://localhost:{tls_port}"),
            "probably a wss:// client on this tls:// port; it should use tls://",
        )
        .await;
        server.stop().await;
    })
    .await;
}

/// A WebSocket client on a framed (tcp://) port: the server's log line says
/// it was an HTTP request, not just "frame too long".
#[tokio::test]
async fn websocket_client_on_a_framed_port_is_named_in_the_log() {
    let logs = Logs::default();
    let _log = logs.install();
    guard(async {
        let server = start(vec![listener(Protocol::Tcp, None, None)]).await;
        let port = server.addresses[0].1.port();
        let error = Client::connect(&format!("ws://127.0.0.1:{port}/Game"), client_config(None))
            .await
            .unwrap_err();
        println!("{error}");
        let log = logs.wait_for("sent an HTTP request").await;
        assert!(
            log.contains("the peer sent an HTTP request on this tcp:// or tls:// port"),
            "{log}"
        );
        server.stop().await;
    })
    .await;
}

/// A `Tcp` listener given a TLS configuration serves (and reports) `Tls`.
#[tokio::test]
async fn tcp_listener_with_tls_is_a_tls_listener() {
    guard(async {
        let dir = tempfile::tempdir().unwrap();
        let (tls, ca_file, _) = generated(dir.path(), &["localhost"], &[]);
        let mut server = start(vec![listener(Protocol::Tcp, None, Some(tls))]).await;
        assert_eq!(server.addresses[0].0, Protocol::Tls);
        let port = server.addresses[0].1.port();
        full_session(
            &mut server,
            &format!("tls://localhost:{port}"),
            trusting(&ca_file),
        )
        .await;
        server.stop().await;
    })
    .await;
}

/// `doctor tcp://` on a plain WebSocket port: the greeting step says it is HTTP.
#[tokio::test]
async fn doctor_tcp_on_a_websocket_port_names_http() {
    guard(async {
        let server = start(vec![listener(Protocol::Ws, Some("/Game"), None)]).await;
        let port = server.addresses[0].1.port();
        let checks = transport::runtime::tls::diagnose_voice(
            &format!("tcp://127.0.0.1:{port}"),
            &ClientTlsConfig::default(),
        )
        .await;
        let last = checks.last().unwrap();
        assert_eq!(last.name, "protocol greeting", "{checks:#?}");
        assert!(!last.ok);
        assert!(last.detail.contains("answered with HTTP"), "{last:?}");
        assert!(last.detail.contains("ws://127.0.0.1:"), "{last:?}");
        server.stop().await;
    })
    .await;
}
