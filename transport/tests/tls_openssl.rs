//! Interoperability with files made by OpenSSL (RSA keys, encrypted PKCS#8) and
//! agreement with OpenSSL on fingerprints. Skipped with a printed reason when
//! the `openssl` binary is missing.

mod openssl_support;

use openssl_support::have_openssl;
use rustls::pki_types::ServerName;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use transport::runtime::tls::{
    certificate_fingerprint_sha256, classify_client_error, client_config, format_fingerprint,
    generate_self_signed, load_server_config, spki_sha256_base64, write_generated, ClientTlsConfig,
    GenCertOptions, ServerTlsSettings, TlsError, TlsVersion,
};

fn openssl(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// An RSA certificate and PKCS#8 key for rsa.example.test, made by OpenSSL.
fn openssl_rsa_certificate(dir: &Path) {
    std::fs::create_dir_all(dir.join("certs")).unwrap();
    openssl(
        &dir.join("certs"),
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "rsa.key",
            "-out",
            "rsa.pem",
            "-days",
            "30",
            "-subj",
            "/CN=rsa.example.test",
            "-addext",
            "subjectAltName=DNS:rsa.example.test",
        ],
    )
    .unwrap();
}

#[test]
fn fingerprints_agree_with_openssl() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cert = generate_self_signed(&GenCertOptions::default()).unwrap();
    std::fs::write(dir.path().join("leaf.pem"), &cert.certificate_pem).unwrap();
    let printed = openssl(
        dir.path(),
        &[
            "x509",
            "-in",
            "leaf.pem",
            "-noout",
            "-fingerprint",
            "-sha256",
        ],
    )
    .unwrap();
    let expected = format_fingerprint(&certificate_fingerprint_sha256(&cert.certificate_der));
    assert!(
        printed.to_uppercase().contains(&expected),
        "{printed} vs {expected}"
    );
    assert_eq!(expected, format_fingerprint(&cert.fingerprint_sha256));
    // The Chromium SPKI hash: openssl x509 -pubkey | pkey -pubin -outform der | dgst -sha256 -binary | base64.
    openssl(
        dir.path(),
        &[
            "x509", "-in", "leaf.pem", "-noout", "-pubkey", "-out", "pub.pem",
        ],
    )
    .unwrap();
    openssl(
        dir.path(),
        &[
            "pkey", "-pubin", "-in", "pub.pem", "-outform", "der", "-out", "pub.der",
        ],
    )
    .unwrap();
    openssl(
        dir.path(),
        &["dgst", "-sha256", "-binary", "-out", "pub.sha", "pub.der"],
    )
    .unwrap();
    let base64 = openssl(dir.path(), &["base64", "-A", "-in", "pub.sha"]).unwrap();
    assert_eq!(base64.trim(), cert.spki_sha256_base64);
    assert_eq!(
        spki_sha256_base64(&cert.certificate_der),
        cert.spki_sha256_base64
    );
}

#[test]
fn openssl_encrypted_pkcs8_key_loads_with_its_password() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let cert = generate_self_signed(&GenCertOptions::default()).unwrap();
    write_generated(
        &cert,
        &certs.join("server.pem"),
        Some(&certs.join("plain.key")),
    )
    .unwrap();
    openssl(
        &certs,
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes256",
            "-in",
            "plain.key",
            "-out",
            "server.key",
            "-passout",
            "pass:s3cret",
        ],
    )
    .unwrap();
    assert!(std::fs::read_to_string(certs.join("server.key"))
        .unwrap()
        .contains("ENCRYPTED PRIVATE KEY"));
    let settings = |password: &str| ServerTlsSettings {
        key: Some("server.key".into()),
        password: Some(password.into()),
        ..Default::default()
    };
    load_server_config(&settings("s3cret"), dir.path(), &[]).unwrap();
    let err = load_server_config(&settings("wrong"), dir.path(), &[]).unwrap_err();
    assert!(matches!(err, TlsError::WrongPassword { .. }), "{err:?}");
}

#[tokio::test]
async fn openssl_rsa_certificate_serves_a_tls12_rsa_suite() {
    if !have_openssl() {
        return;
    }
    tokio::time::timeout(Duration::from_secs(20), async {
        let dir = tempfile::tempdir().unwrap();
        openssl_rsa_certificate(dir.path());
        let settings = ServerTlsSettings {
            certificate: "rsa.pem".into(),
            key: Some("rsa.key".into()),
            max_protocol_version: Some(TlsVersion::Tls12),
            cipher_list: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into(),
            ..Default::default()
        };
        let loaded = load_server_config(&settings, dir.path(), &[]).unwrap();
        assert_eq!(
            loaded.report.certificates[0].names,
            vec!["rsa.example.test"]
        );
        // `openssl req -x509` marks the certificate CA:TRUE: the report warns.
        assert!(loaded.report.certificates[0].is_ca);
        assert!(
            loaded.report.to_string().contains("CA:FALSE"),
            "{}",
            loaded.report
        );
        assert_eq!(loaded.report.protocol_versions, vec!["TLS1.2"]);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(loaded.config);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let _ = acceptor.accept(tcp).await;
            }
        });
        // Trusting it as a CA is refused (CA used as server certificate), with advice.
        let trusting = client_config(&ClientTlsConfig {
            disable_system_roots: true,
            extra_ca_files: vec![dir.path().join("certs/rsa.pem")],
            ..Default::default()
        })
        .unwrap();
        let tcp = TcpStream::connect(address).await.unwrap();
        let name = ServerName::try_from("rsa.example.test").unwrap();
        let err = tokio_rustls::TlsConnector::from(trusting)
            .connect(name, tcp)
            .await
            .unwrap_err();
        let classified = classify_client_error(&err, "rsa.example.test", address.port());
        assert!(
            matches!(classified, TlsError::CaAsServerCertificate { .. }),
            "{err} -> {classified:?}"
        );
        assert!(classified.to_string().contains("gen-cert"), "{classified}");
        // Pinning accepts it.
        let pem = std::fs::read_to_string(dir.path().join("certs/rsa.pem")).unwrap();
        let der = rustls_pemfile::certs(&mut pem.as_bytes())
            .next()
            .unwrap()
            .unwrap();
        let client = client_config(&ClientTlsConfig {
            disable_system_roots: true,
            pinned_sha256: vec![certificate_fingerprint_sha256(&der)],
            ..Default::default()
        })
        .unwrap();
        let tcp = TcpStream::connect(address).await.unwrap();
        let name = ServerName::try_from("rsa.example.test").unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::clone(&client))
            .connect(name, tcp)
            .await
            .unwrap();
        let connection = tls.get_ref().1;
        assert_eq!(
            connection.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_2)
        );
        assert_eq!(
            format!(
                "{:?}",
                connection.negotiated_cipher_suite().unwrap().suite()
            ),
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        );
    })
    .await
    .expect("test timed out");
}
