//! Loading server TLS settings: files, keys, passwords, dates, suites, versions.
//! Certificates come from `generate_self_signed`, written to a temporary folder.

use std::path::Path;
use std::time::{Duration, SystemTime};
use transport::runtime::tls::{
    generate_self_signed, load_server_config, write_generated, DomainCertificate, GenCertOptions,
    GeneratedCert, ServerTlsSettings, TlsError, TlsVersion,
};

fn cert_for(domain: &str) -> GeneratedCert {
    generate_self_signed(&GenCertOptions {
        domains: vec![domain.into()],
        ips: vec![],
        ..Default::default()
    })
    .unwrap()
}

fn settings() -> ServerTlsSettings {
    ServerTlsSettings::default()
}

#[test]
fn combined_pem_loads_with_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let cert = cert_for("voice.example.test");
    let written = write_generated(&cert, &dir.path().join("certs/server.pem"), None).unwrap();
    assert_eq!(written.len(), 2, "{written:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&written[0]).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the file holding the key must be private");
    }
    let loaded = load_server_config(&settings(), dir.path(), &["http/1.1"]).unwrap();
    let report = &loaded.report;
    assert_eq!(report.protocol_versions, vec!["TLS1.2", "TLS1.3"]);
    assert!(
        report
            .cipher_suites
            .iter()
            .any(|s| s == "TLS13_AES_256_GCM_SHA384"),
        "{report:?}"
    );
    assert_eq!(report.certificates.len(), 1);
    let c = &report.certificates[0];
    assert_eq!(c.names, vec!["voice.example.test"]);
    assert!(c.subject.contains("voice.example.test"));
    assert_eq!(c.chain_length, 2, "server certificate and its authority");
    assert!(!c.expires_soon);
    assert!(report.warnings().is_empty());
    let text = report.to_string();
    assert!(
        text.contains("TLS versions: TLS1.2, TLS1.3") && text.contains("voice.example.test"),
        "{text}"
    );
    assert_eq!(loaded.config.alpn_protocols, vec![b"http/1.1".to_vec()]);
}

#[test]
fn separate_certificate_and_key_files() {
    let dir = tempfile::tempdir().unwrap();
    let cert = cert_for("voice.example.test");
    let written = write_generated(
        &cert,
        &dir.path().join("tls/chain.pem"),
        Some(&dir.path().join("tls/key.pem")),
    )
    .unwrap();
    assert_eq!(written.len(), 3);
    assert!(!std::fs::read_to_string(&written[0])
        .unwrap()
        .contains("PRIVATE KEY"));
    let s = ServerTlsSettings {
        certificate_path: "{config_dir}/tls".into(),
        certificate: "chain.pem".into(),
        key: Some("key.pem".into()),
        ..settings()
    };
    load_server_config(&s, dir.path(), &[]).unwrap();
    // Without `key`, the chain file alone has no key: the error says what to do.
    let s = ServerTlsSettings { key: None, ..s };
    let err = load_server_config(&s, dir.path(), &[]).unwrap_err();
    assert!(matches!(err, TlsError::BadFile { .. }), "{err:?}");
    assert!(
        err.to_string().contains("chain.pem") && err.to_string().contains("key"),
        "{err}"
    );
}

fn encrypt_key(key_pem: &str, password: &str) -> String {
    let doc = pkcs8::SecretDocument::from_pem(key_pem).unwrap().1;
    let info = pkcs8::PrivateKeyInfo::try_from(doc.as_bytes()).unwrap();
    let params =
        pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, b"saltsalt", &[7u8; 16])
            .unwrap();
    let encrypted = info.encrypt_with_params(params, password).unwrap();
    encrypted
        .to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)
        .unwrap()
        .to_string()
}

#[test]
fn encrypted_key_right_and_wrong_password() {
    let dir = tempfile::tempdir().unwrap();
    let cert = cert_for("voice.example.test");
    let certs = dir.path().join("certs");
    write_generated(
        &cert,
        &certs.join("server.pem"),
        Some(&certs.join("plain.key")),
    )
    .unwrap();
    std::fs::write(
        certs.join("server.key"),
        encrypt_key(&cert.key_pem, "correct horse"),
    )
    .unwrap();
    let with = |password: Option<&str>| ServerTlsSettings {
        key: Some("server.key".into()),
        password: password.map(str::to_string),
        ..settings()
    };
    load_server_config(&with(Some("correct horse")), dir.path(), &[]).unwrap();
    let err = load_server_config(&with(Some("battery staple")), dir.path(), &[]).unwrap_err();
    assert!(matches!(err, TlsError::WrongPassword { .. }), "{err:?}");
    assert!(
        err.to_string().contains("server.key") && err.to_string().contains("password"),
        "{err}"
    );
    let err = load_server_config(&with(None), dir.path(), &[]).unwrap_err();
    assert!(matches!(err, TlsError::PasswordRequired { .. }), "{err:?}");
}

#[test]
fn key_of_another_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    write_generated(
        &cert_for("a.example.test"),
        &certs.join("server.pem"),
        Some(&certs.join("a.key")),
    )
    .unwrap();
    write_generated(
        &cert_for("b.example.test"),
        &certs.join("other.pem"),
        Some(&certs.join("b.key")),
    )
    .unwrap();
    let s = ServerTlsSettings {
        key: Some("b.key".into()),
        ..settings()
    };
    let err = load_server_config(&s, dir.path(), &[]).unwrap_err();
    assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("b.key") && text.contains("server.pem") && text.contains("does not match"),
        "{text}"
    );
}

#[test]
fn expired_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let expired = generate_self_signed(&GenCertOptions {
        domains: vec!["old.example.test".into()],
        ips: vec![],
        days: 2,
        valid_from: Some(SystemTime::now() - Duration::from_secs(10 * 86_400)),
        ..Default::default()
    })
    .unwrap();
    write_generated(&expired, &dir.path().join("certs/server.pem"), None).unwrap();
    let err = load_server_config(&settings(), dir.path(), &[]).unwrap_err();
    assert!(
        matches!(err, TlsError::CertificateExpired { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("server.pem") && text.contains("expired on") && text.contains("gen-cert"),
        "{text}"
    );
}

#[test]
fn certificate_expiring_soon_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let soon = generate_self_signed(&GenCertOptions {
        domains: vec!["soon.example.test".into()],
        days: 10,
        ..Default::default()
    })
    .unwrap();
    write_generated(&soon, &dir.path().join("certs/server.pem"), None).unwrap();
    let report = load_server_config(&settings(), dir.path(), &[])
        .unwrap()
        .report;
    assert!(report.certificates[0].expires_soon);
    assert!(
        (8..=10).contains(&report.certificates[0].days_left),
        "{:?}",
        report.certificates[0]
    );
    assert_eq!(report.warnings().len(), 1);
    assert!(report.to_string().contains("WARNING"), "{report}");
}

#[test]
fn missing_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_server_config(&settings(), dir.path(), &[]).unwrap_err();
    assert!(matches!(err, TlsError::FileMissing { .. }), "{err:?}");
    let expected = dir.path().join("certs").join("server.pem");
    assert!(
        err.to_string().contains(&expected.display().to_string()),
        "{err}"
    );
    assert!(err.to_string().contains("gen-cert"), "{err}");
}

#[test]
fn unknown_cipher_lists_known_names() {
    let dir = tempfile::tempdir().unwrap();
    write_generated(
        &cert_for("voice.example.test"),
        &dir.path().join("certs/server.pem"),
        None,
    )
    .unwrap();
    let s = ServerTlsSettings {
        cipher_list: "TLS13_AES_256_GCM_SHA384:RC4-MD5".into(),
        ..settings()
    };
    let err = load_server_config(&s, dir.path(), &[]).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, TlsError::UnknownCipher { .. }), "{err:?}");
    assert!(
        text.contains("RC4-MD5") && text.contains("TLS13_AES_128_GCM_SHA256"),
        "{text}"
    );
    assert!(
        text.contains("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        "{text}"
    );
    // A valid restricted list is served as given.
    let s = ServerTlsSettings {
        cipher_list: "TLS13_AES_256_GCM_SHA384".into(),
        min_protocol_version: TlsVersion::Tls13,
        ..settings()
    };
    let report = load_server_config(&s, dir.path(), &[]).unwrap().report;
    assert_eq!(report.cipher_suites, vec!["TLS13_AES_256_GCM_SHA384"]);
    assert_eq!(report.protocol_versions, vec!["TLS1.3"]);
    // TLS 1.2 only with RSA suites cannot serve the ECDSA key gen-cert makes.
    let s = ServerTlsSettings {
        cipher_list: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into(),
        max_protocol_version: Some(TlsVersion::Tls12),
        ..settings()
    };
    let err = load_server_config(&s, dir.path(), &[]).unwrap_err();
    assert!(matches!(err, TlsError::ProtocolSettings { .. }), "{err:?}");
    assert!(err.to_string().contains("ECDSA"), "{err}");
    // DEFAULT with TLS 1.2 only reports only TLS 1.2 suites.
    let s = ServerTlsSettings {
        max_protocol_version: Some(TlsVersion::Tls12),
        ..settings()
    };
    let report = load_server_config(&s, dir.path(), &[]).unwrap().report;
    assert!(
        report
            .cipher_suites
            .iter()
            .all(|s| s.starts_with("TLS_ECDHE_")),
        "{report}"
    );
}

#[test]
fn old_protocol_versions_are_refused_with_reason() {
    let dir = tempfile::tempdir().unwrap();
    write_generated(
        &cert_for("voice.example.test"),
        &dir.path().join("certs/server.pem"),
        None,
    )
    .unwrap();
    let s: ServerTlsSettings = toml::from_str("min_protocol_version = \"TLS11\"").unwrap();
    let err = load_server_config(&s, dir.path(), &[]).unwrap_err();
    assert!(matches!(err, TlsError::VersionRefused { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("TLS11") && text.contains("RFC 8996") && text.contains("rustls"),
        "{text}"
    );
    let s = ServerTlsSettings {
        min_protocol_version: TlsVersion::Tls13,
        max_protocol_version: Some(TlsVersion::Tls12),
        ..settings()
    };
    assert!(matches!(
        load_server_config(&s, dir.path(), &[]),
        Err(TlsError::ProtocolSettings { .. })
    ));
}

fn two_domains(dir: &Path) {
    let certs = dir.join("certs");
    write_generated(&cert_for("a.example.test"), &certs.join("a.pem"), None).unwrap();
    write_generated(&cert_for("*.b.example.test"), &certs.join("b.pem"), None).unwrap();
}

fn domain(domain: &str, file: &str) -> DomainCertificate {
    DomainCertificate {
        domain: domain.into(),
        certificate: Some(file.into()),
        key: None,
        password: None,
    }
}

#[test]
fn several_certificates_need_a_default_domain() {
    let dir = tempfile::tempdir().unwrap();
    two_domains(dir.path());
    let mut s = ServerTlsSettings {
        certificates: vec![
            domain("a.example.test", "a.pem"),
            domain("*.b.example.test", "b.pem"),
        ],
        ..settings()
    };
    let err = load_server_config(&s, dir.path(), &[]).unwrap_err();
    assert!(
        matches!(err, TlsError::DefaultDomainMissing { count: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("a.example.test") && err.to_string().contains("default_domain"),
        "{err}"
    );
    s.default_domain = Some("nowhere.test".into());
    assert!(matches!(
        load_server_config(&s, dir.path(), &[]),
        Err(TlsError::DefaultDomainUnknown { .. })
    ));
    s.default_domain = Some("a.example.test".into());
    let report = load_server_config(&s, dir.path(), &[]).unwrap().report;
    // An entry whose certificate does not cover its domain is a mistake.
    let mut swapped = s.clone();
    swapped.certificates[0].certificate = Some("b.pem".into());
    swapped.default_domain = None;
    swapped.certificates.truncate(1);
    let err = load_server_config(&swapped, dir.path(), &[]).unwrap_err();
    assert!(
        err.to_string()
            .contains("configured for domain \"a.example.test\""),
        "{err}"
    );
    assert_eq!(report.certificates.len(), 2);
    assert!(report.to_string().contains("[default]"), "{report}");
}

#[test]
fn client_trust_settings_errors_name_the_problem() {
    use transport::runtime::tls::{client_config, ClientTlsConfig};
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("certs/server-ca.pem");
    let err = client_config(&ClientTlsConfig {
        extra_ca_files: vec![missing.clone()],
        ..Default::default()
    })
    .unwrap_err();
    assert!(matches!(err, TlsError::FileMissing { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );

    std::fs::write(dir.path().join("empty.pem"), "not a certificate\n").unwrap();
    let err = client_config(&ClientTlsConfig {
        extra_ca_files: vec![dir.path().join("empty.pem")],
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("BEGIN CERTIFICATE"), "{err}");

    let err = client_config(&ClientTlsConfig {
        disable_system_roots: true,
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(err, TlsError::NoTrustAnchors);
    assert!(err.to_string().contains("--ca-file"), "{err}");
}

#[cfg(unix)]
#[test]
fn rewriting_a_key_file_makes_it_private_again() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("certs/server.pem");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "old").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    write_generated(&cert_for("voice.example.test"), &file, None).unwrap();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let ca = std::fs::metadata(dir.path().join("certs/server-ca.pem")).unwrap();
    assert_eq!(
        ca.permissions().mode() & 0o777,
        0o644,
        "the authority file is public"
    );
}
