//! `voice-server gen-cert`: a certificate for development and self-hosting
//! without a public authority.
//!
//! What is generated is a one-off authority (CA) and a server certificate it
//! signs. The authority's private key is discarded right after signing, so
//! importing the authority into a browser or OS trust store trusts exactly this
//! one server certificate and nothing else. Two certificates are needed because
//! TLS verifiers (rustls/webpki, Chrome) refuse a certificate marked as a CA when
//! it is used directly as a server certificate, while browsers only import
//! certificates marked as a CA as authorities.

use super::{
    certificate_fingerprint_sha256, format_fingerprint, format_unix_time, spki_sha256_base64,
    TlsError,
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The key type of a generated certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA with P-256 and SHA-256: accepted everywhere. The default.
    #[default]
    EcdsaP256,
    /// ECDSA with P-384 and SHA-384.
    EcdsaP384,
    /// Ed25519: small and fast, but browsers do not accept it.
    Ed25519,
}

/// What to put in a generated certificate.
#[derive(Debug, Clone)]
pub struct GenCertOptions {
    /// DNS names (Subject Alternative Names; the first is also the subject CN).
    /// Wildcards like `*.example.test` are allowed. Defaults to `["localhost"]`.
    pub domains: Vec<String>,
    /// IP addresses (Subject Alternative Names), for clients connecting by address.
    /// Defaults to `127.0.0.1` and `::1`.
    pub ips: Vec<IpAddr>,
    /// Validity in days from `valid_from`. Defaults to 365 (Apple platforms refuse
    /// more than 825 for server certificates).
    pub days: u32,
    /// Start of validity. Defaults to `None`: one hour ago, to tolerate clock skew.
    pub valid_from: Option<SystemTime>,
    /// Key type. Defaults to [`KeyAlgorithm::EcdsaP256`].
    pub key_algorithm: KeyAlgorithm,
}

impl Default for GenCertOptions {
    fn default() -> Self {
        Self {
            domains: vec!["localhost".into()],
            ips: vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ],
            days: 365,
            valid_from: None,
            key_algorithm: KeyAlgorithm::EcdsaP256,
        }
    }
}

/// A generated server certificate, its authority and its private key.
#[derive(Clone)]
pub struct GeneratedCert {
    /// The server certificate (PEM).
    pub certificate_pem: String,
    /// The one-off authority that signed it (PEM): import this into browsers.
    pub ca_pem: String,
    /// The server's private key (PKCS#8 PEM). Secret.
    pub key_pem: String,
    /// The server certificate (DER).
    pub certificate_der: Vec<u8>,
    /// SHA-256 of the server certificate's DER, for pinning.
    pub fingerprint_sha256: [u8; 32],
    /// Base64 SHA-256 of the server certificate's public key, for Chromium's
    /// `--ignore-certificate-errors-spki-list`.
    pub spki_sha256_base64: String,
    /// Names the certificate is valid for (DNS names, then IP addresses).
    pub names: Vec<String>,
    /// End of validity (Unix seconds).
    pub not_after_unix: i64,
}

impl std::fmt::Debug for GeneratedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("GeneratedCert")
            .field("names", &self.names)
            .field(
                "fingerprint_sha256",
                &format_fingerprint(&self.fingerprint_sha256),
            )
            .field("not_after", &format_unix_time(self.not_after_unix))
            .finish_non_exhaustive()
    }
}

/// Generates a server certificate for `options.domains` and `options.ips` (all in
/// Subject Alternative Names, which browsers require; CN = first domain), with key
/// usage digitalSignature + keyEncipherment and extended key usage serverAuth,
/// signed by a one-off authority (basic constraints CA, path length 0) whose key
/// is discarded. See the module docs for why.
pub fn generate_self_signed(options: &GenCertOptions) -> Result<GeneratedCert, TlsError> {
    if options.domains.is_empty() && options.ips.is_empty() {
        return Err(TlsError::Generate(
            "no names given: add at least one domain (--domain voice.example.com) or IP address (--ip 192.0.2.10)"
                .into(),
        ));
    }
    if options.days == 0 {
        return Err(TlsError::Generate(
            "days must be at least 1 (default 365)".into(),
        ));
    }
    let mut sans = Vec::new();
    for domain in &options.domains {
        let valid = !domain.is_empty()
            && domain.is_ascii()
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '*'));
        let san = if valid {
            rcgen::Ia5String::try_from(domain.as_str()).ok()
        } else {
            None
        };
        match san {
            Some(san) => sans.push(SanType::DnsName(san)),
            None => {
                return Err(TlsError::Generate(format!(
                    "{domain:?} is not a valid DNS name (letters, digits, '-', '.', a leading '*.'; for \
                     internationalized names use the xn-- form)"
                )))
            }
        }
    }
    sans.extend(options.ips.iter().map(|ip| SanType::IpAddress(*ip)));
    let names: Vec<String> = options
        .domains
        .iter()
        .cloned()
        .chain(options.ips.iter().map(|ip| ip.to_string()))
        .collect();
    let common_name = names[0].clone();

    let valid_from = options
        .valid_from
        .unwrap_or_else(|| SystemTime::now() - std::time::Duration::from_secs(3600));
    let from_unix = match valid_from.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let not_after_unix = from_unix + i64::from(options.days) * 86_400;
    let to_time = |unix: i64| {
        time::OffsetDateTime::from_unix_timestamp(unix).map_err(|e| {
            TlsError::Generate(format!("validity date out of range ({e}); use fewer days"))
        })
    };
    let (not_before, not_after) = (to_time(from_unix)?, to_time(not_after_unix)?);
    let generate_err = |e: rcgen::Error| TlsError::Generate(e.to_string());

    let algorithm = match options.key_algorithm {
        KeyAlgorithm::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        KeyAlgorithm::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        KeyAlgorithm::Ed25519 => &rcgen::PKCS_ED25519,
    };

    // The one-off authority.
    let ca_key = KeyPair::generate_for(algorithm).map_err(generate_err)?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = rcgen::DistinguishedName::new();
    ca_params.distinguished_name.push(
        DnType::CommonName,
        format!("voice-server gen-cert authority for {common_name}"),
    );
    ca_params
        .distinguished_name
        .push(DnType::OrganizationName, "voice-server self-signed");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca = ca_params.self_signed(&ca_key).map_err(generate_err)?;

    // The server certificate.
    let key = KeyPair::generate_for(algorithm).map_err(generate_err)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "voice-server self-signed");
    params.subject_alt_names = sans;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = not_before;
    params.not_after = not_after;
    let cert = params.signed_by(&key, &ca, &ca_key).map_err(generate_err)?;
    drop(ca_key);

    let der = cert.der().to_vec();
    Ok(GeneratedCert {
        certificate_pem: cert.pem(),
        ca_pem: ca.pem(),
        key_pem: key.serialize_pem(),
        fingerprint_sha256: certificate_fingerprint_sha256(&der),
        spki_sha256_base64: spki_sha256_base64(&der),
        certificate_der: der,
        names,
        not_after_unix,
    })
}

/// Writes a generated certificate:
/// - `split_key = None`: `out` holds the chain (server certificate, then authority)
///   and the private key, mode 0600;
/// - `split_key = Some(key)`: `out` holds the chain (mode 0644) and `key` the
///   private key (mode 0600).
///
/// Also writes the authority alone next to `out` as `<stem>-ca.pem` (mode 0644;
/// what browsers import). Creates missing parent folders and replaces existing
/// files. Returns the files written, the certificate file first.
pub fn write_generated(
    cert: &GeneratedCert,
    out: &Path,
    split_key: Option<&Path>,
) -> Result<Vec<PathBuf>, TlsError> {
    let chain = format!("{}{}", cert.certificate_pem, cert.ca_pem);
    let mut written = Vec::new();
    match split_key {
        None => {
            write_file(out, &format!("{chain}{}", cert.key_pem), true)?;
            written.push(out.to_path_buf());
        }
        Some(key_path) => {
            write_file(out, &chain, false)?;
            write_file(key_path, &cert.key_pem, true)?;
            written.push(out.to_path_buf());
            written.push(key_path.to_path_buf());
        }
    }
    let ca_path = ca_path_for(out);
    write_file(&ca_path, &cert.ca_pem, false)?;
    written.push(ca_path);
    Ok(written)
}

/// `certs/server.pem` → `certs/server-ca.pem`.
fn ca_path_for(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "server".into());
    out.with_file_name(format!("{stem}-ca.pem"))
}

fn write_file(path: &Path, contents: &str, secret: bool) -> Result<(), TlsError> {
    let fail = |e: std::io::Error| {
        TlsError::Generate(format!(
            "cannot write {path:?}: {e}; check the folder exists and is writable, or choose --out"
        ))
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut file = options.open(path).map_err(fail)?;
    // An existing file keeps its old mode on open: set it explicitly.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(if secret {
            0o600
        } else {
            0o644
        }))
        .map_err(fail)?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    std::io::Write::write_all(&mut file, contents.as_bytes()).map_err(fail)?;
    file.sync_all().map_err(fail)
}

/// The text `voice-server gen-cert` prints after writing: what was written, and
/// how to make clients (the Rust client, the examples, OpenSSL, browsers) trust
/// it, with the fingerprint for pinning and the SPKI hash for Chromium. `files`
/// is what [`write_generated`] returned; `port` is the server's wss port (default 19093).
pub fn next_steps_text(cert: &GeneratedCert, files: &[PathBuf], port: u16) -> String {
    let host = cert
        .names
        .first()
        .map(String::as_str)
        .unwrap_or("localhost");
    let host = if host.starts_with("*.") {
        host.replacen('*', "voice", 1)
    } else {
        host.to_string()
    };
    let url_host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.clone()
    };
    let cert_file = files
        .first()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "certs/server.pem".into());
    let ca_file = files
        .iter()
        .find(|p| p.to_string_lossy().ends_with("-ca.pem"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "certs/server-ca.pem".into());
    let mut text = String::new();
    text.push_str("Wrote:\n");
    for file in files {
        let role = if file.to_string_lossy().ends_with("-ca.pem") {
            "authority certificate (public; import it in browsers)"
        } else if files.len() == 3 && Some(file) == files.get(1) {
            "private key (mode 0600, keep it secret)"
        } else if files.len() == 3 {
            "certificate chain"
        } else {
            "certificate chain + private key (mode 0600, keep it secret)"
        };
        text.push_str(&format!("  {}  {role}\n", file.display()));
    }
    text.push_str(&format!(
        "Valid for: {}\nExpires: {}\nSHA-256 fingerprint (for pinning): {}\nSPKI SHA-256 (base64): {}\n\n",
        cert.names.join(", "),
        format_unix_time(cert.not_after_unix),
        format_fingerprint(&cert.fingerprint_sha256),
        cert.spki_sha256_base64
    ));
    text.push_str("Serve it: a listener with `secure = true` (ws -> wss://, tcp -> tls://) loads certs/server.pem next to the config file by default.\n\n");
    text.push_str("Make clients trust it:\n");
    text.push_str(&format!(
        "  Give clients {ca_file} (public). {cert_file} also works as a CA file on this machine, but never \
         copy it elsewhere: it holds the private key.\n"
    ));
    text.push_str(&format!(
        "  - Rust client: ClientTlsConfig {{ extra_ca_files: vec![\"{ca_file}\".into()], .. }},\n    \
         or pin the fingerprint above (ClientTlsConfig.pinned_sha256)\n"
    ));
    text.push_str(&format!(
        "  - push-to-talk / loadtest examples: --ca-file {ca_file}\n"
    ));
    // SNI carries names only: no -servername for an IP address.
    let servername = if host.parse::<IpAddr>().is_ok() {
        String::new()
    } else {
        format!(" -servername {host}")
    };
    text.push_str(&format!(
        "  - check with OpenSSL: openssl s_client -connect {url_host}:{port}{servername} -CAfile {ca_file}\n"
    ));
    text.push_str(&format!(
        "  - browsers: import {ca_file} as an authority (Chrome: chrome://settings/certificates, Authorities, \
         Import; Firefox: Settings, Certificates, View Certificates, Authorities, Import),\n    \
         or visit https://{url_host}:{port} once and accept the warning,\n    \
         or start Chromium with --ignore-certificate-errors-spki-list={}\n",
        cert.spki_sha256_base64
    ));
    text.push_str(&format!(
        "  - command-line tools: `curl --cacert {ca_file} https://{url_host}:{port}/`; the operating system store \
         (Debian: copy {ca_file} to /usr/local/share/ca-certificates/voice-server.crt, run update-ca-certificates)\n"
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_has_all_names_and_usages() {
        let options = GenCertOptions {
            domains: vec!["voice.example.test".into(), "*.example.test".into()],
            ips: vec!["192.0.2.10".parse().unwrap()],
            ..GenCertOptions::default()
        };
        let generated = generate_self_signed(&options).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&generated.certificate_der).unwrap();
        let names = super::super::certificate_names(&cert);
        assert_eq!(
            names,
            vec!["voice.example.test", "*.example.test", "192.0.2.10"]
        );
        assert!(cert.subject().to_string().contains("CN=voice.example.test"));
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth);
        let ku = cert.key_usage().unwrap().unwrap().value;
        assert!(ku.digital_signature() && ku.key_encipherment());
        let days = (generated.not_after_unix - super::super::unix_now()) / 86_400;
        assert!((363..=365).contains(&days), "{days}");
        let ca = x509_parser::pem::parse_x509_pem(generated.ca_pem.as_bytes())
            .unwrap()
            .1;
        let ca = ca.parse_x509().unwrap();
        assert!(ca.is_ca());
        assert!(!generated.spki_sha256_base64.is_empty());
        assert!(!format!("{generated:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn next_steps_name_files_fingerprints_and_tools() {
        let generated = generate_self_signed(&GenCertOptions::default()).unwrap();
        let files = vec![
            PathBuf::from("certs/server.pem"),
            PathBuf::from("certs/server-ca.pem"),
        ];
        let text = next_steps_text(&generated, &files, 19093);
        for expected in [
            "--ca-file certs/server-ca.pem",
            "openssl s_client -connect localhost:19093 -servername localhost -CAfile certs/server-ca.pem",
            "chrome://settings/certificates",
            "https://localhost:19093",
            "extra_ca_files",
            "pinned_sha256",
            "keep it secret",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
        assert!(text.contains(&format!(
            "--ignore-certificate-errors-spki-list={}",
            generated.spki_sha256_base64
        )));
        assert!(text.contains(&format_fingerprint(&generated.fingerprint_sha256)));
    }

    #[test]
    fn bad_options_are_refused() {
        let none = GenCertOptions {
            domains: vec![],
            ips: vec![],
            ..Default::default()
        };
        assert!(generate_self_signed(&none)
            .unwrap_err()
            .to_string()
            .contains("--domain"));
        let bad = GenCertOptions {
            domains: vec!["not a name".into()],
            ..Default::default()
        };
        assert!(generate_self_signed(&bad)
            .unwrap_err()
            .to_string()
            .contains("not a valid DNS name"));
        let zero = GenCertOptions {
            days: 0,
            ..Default::default()
        };
        assert!(generate_self_signed(&zero).is_err());
    }
}
