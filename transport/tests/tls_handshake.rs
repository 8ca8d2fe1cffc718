//! Real TLS handshakes over 127.0.0.1 (tokio-rustls): SNI, versions, trust,
//! names, pinning, wrong scheme, and an `openssl s_client` cross-check.

mod openssl_support;

use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use transport::runtime::tls::{
    classify_client_error, client_config, describe_server_handshake_error, generate_self_signed,
    load_server_config, load_server_config_reloadable, response_looks_like_tls, write_generated,
    ClientTlsConfig, DomainCertificate, GenCertOptions, GeneratedCert, ServerTlsSettings, TlsError,
    TlsVersion,
};

const GUARD: Duration = Duration::from_secs(20);

fn cert_for(domain: &str) -> GeneratedCert {
    generate_self_signed(&GenCertOptions {
        domains: vec![domain.into()],
        ips: vec![],
        ..Default::default()
    })
    .unwrap()
}

/// Serves TLS on 127.0.0.1:0; each accepted connection gets "hello" then is closed.
async fn serve(config: Arc<rustls::ServerConfig>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let _ = tls.write_all(b"hello").await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    address
}

/// Like [`serve`], but reports each failed server-side handshake.
async fn serve_reporting(
    config: Arc<rustls::ServerConfig>,
) -> (
    SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<std::io::Error>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let (errors, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            match acceptor.accept(tcp).await {
                Ok(mut tls) => {
                    let _ = tls.write_all(b"hello").await;
                    let _ = tls.shutdown().await;
                }
                Err(e) => {
                    let _ = errors.send(e);
                }
            }
        }
    });
    (address, receiver)
}

/// One server with a single certificate for `domain`, written to `dir`.
async fn single(
    dir: &Path,
    domain: &str,
    settings: ServerTlsSettings,
) -> (SocketAddr, GeneratedCert) {
    let cert = cert_for(domain);
    write_generated(&cert, &dir.join("certs/server.pem"), None).unwrap();
    let loaded = load_server_config(&settings, dir, &[]).unwrap();
    (serve(loaded.config).await, cert)
}

/// Handshakes and returns the SAN names of the certificate the server sent.
async fn handshake(
    client: Arc<rustls::ClientConfig>,
    address: SocketAddr,
    name: &str,
) -> Result<Vec<String>, std::io::Error> {
    let tcp = TcpStream::connect(address).await?;
    let server_name = ServerName::try_from(name.to_string()).unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(client)
        .connect(server_name, tcp)
        .await?;
    let names = served_names(tls.get_ref().1.peer_certificates().unwrap()[0].as_ref());
    let mut greeting = Vec::new();
    tls.read_to_end(&mut greeting).await?;
    assert_eq!(greeting, b"hello");
    Ok(names)
}

fn served_names(der: &[u8]) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
    let san = cert.subject_alternative_name().unwrap().unwrap();
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(d.to_string()),
            _ => None,
        })
        .collect()
}

fn trusting(certs: &[&GeneratedCert]) -> ClientTlsConfig {
    ClientTlsConfig {
        disable_system_roots: true,
        extra_ca_pem: certs.iter().map(|c| c.ca_pem.clone()).collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn sni_picks_certificate_and_default_domain() {
    tokio::time::timeout(GUARD, async {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (cert_for("a.example.test"), cert_for("*.b.example.test"));
        write_generated(&a, &dir.path().join("certs/a.pem"), None).unwrap();
        write_generated(&b, &dir.path().join("certs/b.pem"), None).unwrap();
        let entry = |domain: &str, file: &str| DomainCertificate {
            domain: domain.into(),
            certificate: Some(file.into()),
            key: None,
            password: None,
        };
        let settings = ServerTlsSettings {
            certificates: vec![
                entry("a.example.test", "a.pem"),
                entry("*.b.example.test", "b.pem"),
            ],
            default_domain: Some("a.example.test".into()),
            ..Default::default()
        };
        let address = serve(
            load_server_config(&settings, dir.path(), &[])
                .unwrap()
                .config,
        )
        .await;
        let trust = client_config(&trusting(&[&a, &b])).unwrap();
        assert_eq!(
            handshake(trust.clone(), address, "a.example.test")
                .await
                .unwrap(),
            vec!["a.example.test"]
        );
        assert_eq!(
            handshake(trust.clone(), address, "voice.b.example.test")
                .await
                .unwrap(),
            vec!["*.b.example.test"]
        );
        // No SNI (IP address) or an unknown name: the default domain's certificate,
        // seen through pinning since its names do not match.
        let pinned = client_config(&ClientTlsConfig {
            disable_system_roots: true,
            pinned_sha256: vec![a.fingerprint_sha256, b.fingerprint_sha256],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            handshake(pinned.clone(), address, "127.0.0.1")
                .await
                .unwrap(),
            vec!["a.example.test"]
        );
        assert_eq!(
            handshake(pinned, address, "unknown.example.test")
                .await
                .unwrap(),
            vec!["a.example.test"]
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn trusted_via_ca_file_from_gen_cert() {
    tokio::time::timeout(GUARD, async {
        let dir = tempfile::tempdir().unwrap();
        let (address, _) = single(
            dir.path(),
            "voice.example.test",
            ServerTlsSettings::default(),
        )
        .await;
        let client = client_config(&ClientTlsConfig {
            disable_system_roots: true,
            extra_ca_files: vec![dir.path().join("certs/server.pem")],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            handshake(client, address, "voice.example.test")
                .await
                .unwrap(),
            vec!["voice.example.test"]
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn tls13_minimum_refuses_tls12_client() {
    tokio::time::timeout(GUARD, async {
        let dir = tempfile::tempdir().unwrap();
        let settings = ServerTlsSettings {
            min_protocol_version: TlsVersion::Tls13,
            ..Default::default()
        };
        let (address, cert) = single(dir.path(), "voice.example.test", settings).await;
        let mut roots = rustls::RootCertStore::empty();
        for der in rustls_pemfile::certs(&mut cert.ca_pem.as_bytes()) {
            roots.add(der.unwrap()).unwrap();
        }
        let tls12_only = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let err = handshake(Arc::new(tls12_only), address, "voice.example.test")
            .await
            .unwrap_err();
        let classified = classify_client_error(&err, "voice.example.test", address.port());
        eprintln!("{err}\n  -> {classified}");
        assert!(
            matches!(classified, TlsError::VersionNotAccepted { .. }),
            "{err} -> {classified:?}"
        );
        assert!(classified.to_string().contains("TLS 1.3"), "{classified}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn untrusted_certificate_says_how_to_trust_it() {
    tokio::time::timeout(GUARD, async {
        let dir = tempfile::tempdir().unwrap();
        let (address, _) = single(
            dir.path(),
            "voice.example.test",
            ServerTlsSettings::default(),
        )
        .await;
        // System roots only: a gen-cert certificate is not among them.
        let client = client_config(&ClientTlsConfig::default()).unwrap();
        let err = handshake(client, address, "voice.example.test")
            .await
            .unwrap_err();
        let classified = classify_client_error(&err, "voice.example.test", address.port());
        eprintln!("{err}\n  -> {classified}");
        assert!(
            matches!(classified, TlsError::NotTrusted { .. }),
            "{err} -> {classified:?}"
        );
        let text = classified.to_string();
        assert!(
            text.contains("--ca-file certs/server.pem") && text.contains("fingerprint"),
            "{text}"
        );
        assert!(
            text.contains(&format!("https://voice.example.test:{}", address.port())),
            "{text}"
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn ip_address_against_domain_certificate_is_a_name_mismatch() {
    tokio::time::timeout(GUARD, async {
        let dir = tempfile::tempdir().unwrap();
        let (address, cert) = single(
            dir.path(),
            "voice.example.test",
            ServerTlsSettings::default(),
        )
        .await;
        let client = client_config(&trusting(&[&cert])).unwrap();
        let err = handshake(client, address, "127.0.0.1").await.unwrap_err();
        let classified = classify_client_error(&err, "127.0.0.1", address.port());
        eprintln!("{err}\n  -> {classified}");
        match &classified {
            TlsError::NameMismatch { presented, .. } => {
                assert_eq!(
                    presented,
                    &vec!["voice.example.test".to_string()],
                    "{classified}"
                )
            }
            other => panic!("{err} -> {other:?}"),
        }
        let text = classified.to_string();
        assert!(
            text.contains("/etc/hosts") && text.contains("--ip"),
            "{text}"
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn pinned_fingerprint_is_accepted_despite_unknown_issuer() {
    tokio::time::timeout(GUARD, async {
        let dir = tempfile::tempdir().unwrap();
        let (address, cert) = single(
            dir.path(),
            "voice.example.test",
            ServerTlsSettings::default(),
        )
        .await;
        let pinned = |pin: [u8; 32]| {
            client_config(&ClientTlsConfig {
                pinned_sha256: vec![pin],
                ..Default::default()
            })
            .unwrap()
        };
        // Accepted whatever the issuer and the name used.
        assert_eq!(
            handshake(pinned(cert.fingerprint_sha256), address, "127.0.0.1")
                .await
                .unwrap(),
            vec!["voice.example.test"]
        );
        // Another pin falls back to normal verification, which fails.
        let err = handshake(pinned([0u8; 32]), address, "voice.example.test")
            .await
            .unwrap_err();
        let classified = classify_client_error(&err, "voice.example.test", address.port());
        eprintln!("{err}\n  -> {classified}");
        assert!(
            matches!(classified, TlsError::NotTrusted { .. }),
            "{err} -> {classified:?}"
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn plain_server_is_reported_as_wrong_scheme() {
    tokio::time::timeout(GUARD, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            if let Ok((mut tcp, _)) = listener.accept().await {
                let mut buf = [0u8; 512];
                let _ = tcp.read(&mut buf).await;
                let _ = tcp
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    .await;
                let _ = tcp.shutdown().await;
            }
        });
        let client = client_config(&ClientTlsConfig::default()).unwrap();
        let err = handshake(client, address, "localhost").await.unwrap_err();
        let classified = classify_client_error(&err, "localhost", address.port());
        eprintln!("{err}\n  -> {classified}");
        assert!(
            matches!(classified, TlsError::WrongScheme { .. }),
            "{err} -> {classified:?}"
        );
        assert!(classified.to_string().contains("ws://"), "{classified}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_s_client_sees_version_and_certificate() {
    if !openssl_support::have_openssl() {
        return;
    }
    tokio::time::timeout(GUARD, async {
        // Two certificates by SNI: s_client must get the one its -servername asks for.
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (cert_for("a.example.test"), cert_for("voice.b.example.test"));
        write_generated(&a, &dir.path().join("certs/a.pem"), None).unwrap();
        write_generated(&b, &dir.path().join("certs/b.pem"), None).unwrap();
        let entry = |domain: &str, file: &str| DomainCertificate {
            domain: domain.into(),
            certificate: Some(file.into()),
            key: None,
            password: None,
        };
        let settings = ServerTlsSettings {
            certificates: vec![
                entry("a.example.test", "a.pem"),
                entry("voice.b.example.test", "b.pem"),
            ],
            default_domain: Some("a.example.test".into()),
            ..Default::default()
        };
        let address = serve(
            load_server_config(&settings, dir.path(), &[])
                .unwrap()
                .config,
        )
        .await;
        let seen = openssl_support::s_client_async(
            address,
            openssl_support::SClientOptions {
                servername: Some("voice.b.example.test".into()),
                ca_file: Some(openssl_support::ca_file(dir.path(), "b")),
                extra: Vec::new(),
            },
        )
        .await;
        assert!(seen.negotiated("TLSv1.3"), "{seen:?}");
        assert!(seen.subject_has_cn("voice.b.example.test"), "{seen:?}");
        assert!(seen.verified(), "{seen:?}");
        let served = seen.first_certificate_der().expect("a certificate printed");
        assert_eq!(served_names(&served), vec!["voice.b.example.test"]);
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn server_log_explains_plain_clients_and_rejected_certificates() {
    tokio::time::timeout(GUARD, async {
        let dir = tempfile::tempdir().unwrap();
        let cert = cert_for("voice.example.test");
        write_generated(&cert, &dir.path().join("certs/server.pem"), None).unwrap();
        let loaded = load_server_config(&ServerTlsSettings::default(), dir.path(), &[]).unwrap();
        let (address, mut errors) = serve_reporting(loaded.config).await;

        // A ws:// client on the TLS port: it gets a TLS alert back (what the
        // doctor's probe looks for) and the server log says what happened.
        let mut plain = TcpStream::connect(address).await.unwrap();
        plain
            .write_all(b"GET /Master HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let _ = plain.read_to_end(&mut answer).await;
        assert!(response_looks_like_tls(&answer), "{answer:?}");
        let line = describe_server_handshake_error(&errors.recv().await.unwrap(), "192.0.2.1:5000");
        eprintln!("{line}");
        assert!(
            line.contains("192.0.2.1:5000") && line.contains("did not speak TLS"),
            "{line}"
        );

        // A client that does not trust the certificate.
        let client = client_config(&ClientTlsConfig::default()).unwrap();
        assert!(handshake(client, address, "voice.example.test")
            .await
            .is_err());
        let line = describe_server_handshake_error(&errors.recv().await.unwrap(), "client");
        eprintln!("{line}");
        assert!(
            line.contains("rejected this server's certificate"),
            "{line}"
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn reloading_swaps_certificates_without_restart() {
    tokio::time::timeout(GUARD, async {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("certs/server.pem");
        let (old, new) = (cert_for("old.example.test"), cert_for("new.example.test"));
        write_generated(&old, &file, None).unwrap();
        let (loaded, reloader) =
            load_server_config_reloadable(&ServerTlsSettings::default(), dir.path(), &[]).unwrap();
        let address = serve(loaded.config).await;
        // A fresh client each time: a resumed session would not show the new certificate.
        let pinned = || {
            client_config(&ClientTlsConfig {
                disable_system_roots: true,
                pinned_sha256: vec![old.fingerprint_sha256, new.fingerprint_sha256],
                ..Default::default()
            })
            .unwrap()
        };
        assert_eq!(
            handshake(pinned(), address, "x.test").await.unwrap(),
            vec!["old.example.test"]
        );

        // A broken file: the reload fails and the old certificate keeps serving.
        std::fs::write(&file, "-----BEGIN CERTIFICATE-----\ngarbage").unwrap();
        assert!(reloader.reload().is_err());
        assert_eq!(
            handshake(pinned(), address, "x.test").await.unwrap(),
            vec!["old.example.test"]
        );

        write_generated(&new, &file, None).unwrap();
        let report = reloader.reload().unwrap();
        assert_eq!(report.certificates[0].names, vec!["new.example.test"]);
        assert_eq!(report.protocol_versions, loaded.report.protocol_versions);
        assert_eq!(
            handshake(pinned(), address, "x.test").await.unwrap(),
            vec!["new.example.test"]
        );
    })
    .await
    .expect("test timed out");
}
