//! TLS for WSS and for TCP (`tls://`): certificates, rustls configurations, and
//! errors that say what to do.
//!
//! - Clients: [`client_config`] builds a rustls client configuration from a
//!   [`ClientTlsConfig`] (system roots, extra CA files, SHA-256 pinning);
//!   [`classify_client_error`] turns a failed handshake into a [`TlsError`] that
//!   says what to do.
//! - Servers: [`ServerTlsSettings`] is the TLS part of a listener's TOML section;
//!   [`load_server_config`] loads it into a rustls server configuration and a
//!   [`TlsReport`] to log (versions, suites, certificates and their expiry).
//! - Certificates: [`generate_self_signed`], [`write_generated`] and
//!   [`next_steps_text`] back `voice-server gen-cert`.
//! - Diagnosis: [`diagnose`] backs `voice-server doctor wss://host:port`;
//!   [`diagnose_voice`] adds the protocol greeting for every scheme, `tls://` included.
//! - Streams: [`connect_stream`] is the one client-side TLS handshake used by
//!   `wss://` and `tls://` (trust from [`ClientTlsConfig`], SNI from the host);
//!   `tls://` offers the ALPN id [`TLS_TCP_ALPN`], which a `tls://` listener
//!   should announce (the server accepts clients that offer no ALPN).
//!
//! Every configuration is built with [`provider`] (ring) explicitly; nothing here
//! installs or relies on a process-wide default crypto provider.
//!
//! ```no_run
//! use std::path::Path;
//! use transport::runtime::tls::*;
//!
//! # async fn example() -> Result<(), TlsError> {
//! // voice-server gen-cert
//! let cert = generate_self_signed(&GenCertOptions::default())?;
//! let files = write_generated(&cert, Path::new("certs/server.pem"), None)?;
//! println!("{}", next_steps_text(&cert, &files, 19093));
//!
//! // A listener with `secure = true` and default TLS settings.
//! let loaded = load_server_config(&ServerTlsSettings::default(), Path::new("."), &["http/1.1"])?;
//! println!("{}", loaded.report); // versions, suites, certificates, expiry warnings
//! let _acceptor = tokio_rustls::TlsAcceptor::from(loaded.config);
//!
//! // A client trusting that certificate.
//! let trust = ClientTlsConfig { extra_ca_files: vec!["certs/server-ca.pem".into()], ..Default::default() };
//! let config = client_config(&trust)?;
//! let tcp = tokio::net::TcpStream::connect("127.0.0.1:19093").await.map_err(|e| TlsError::Other(e.to_string()))?;
//! let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
//! match tokio_rustls::TlsConnector::from(config).connect(name, tcp).await {
//!     Ok(_stream) => {}
//!     Err(e) => return Err(classify_client_error(&e, "localhost", 19093)), // says what to do
//! }
//!
//! // voice-server doctor wss://localhost:19093/Master
//! for check in diagnose("wss://localhost:19093/Master", &trust).await {
//!     println!("{check}");
//! }
//! # Ok(())
//! # }
//! ```

mod client;
mod doctor;
mod errors;
mod gencert;
mod pem;
mod report;
mod server;

pub use client::client_config;
pub use doctor::{
    diagnose, diagnose_voice, diagnose_with_greeting, protocol_greeting, DoctorCheck, DoctorIo,
    DoctorStream,
};
pub use errors::{
    classify_client_error, classify_client_error_for, classify_rustls_error,
    classify_rustls_error_for, describe_server_handshake_error,
    describe_server_handshake_error_for, describe_tls_client_on_plain_port, request_looks_like_tls,
    response_looks_like_tls, TlsError,
};
pub use gencert::{
    generate_self_signed, next_steps_text, write_generated, GenCertOptions, GeneratedCert,
    KeyAlgorithm,
};
pub use report::{CertificateReport, TlsReport, EXPIRY_WARNING_DAYS};
pub use server::{
    load_server_config, load_server_config_reloadable, DomainCertificate, LoadedServerTls,
    ServerTlsSettings, TlsReloader, TlsVersion,
};

use crate::types::Protocol;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;

/// The ALPN protocol id of `tls://` (this crate's frames, length-prefixed, inside
/// TLS). A `tls://` client offers it; a `tls://` listener should announce it
/// (`load_server_config(.., &[TLS_TCP_ALPN])`) so that a client of another
/// protocol on that port fails the handshake with a clear "no application
/// protocol" instead of exchanging garbage. Clients that offer no ALPN at all
/// (`openssl s_client`, TLS-terminating proxies) are still accepted.
pub const TLS_TCP_ALPN: &str = "voice-frames/1";

/// Opens TLS on `tcp` as a client of `scheme` ([`Protocol::Wss`] or
/// [`Protocol::Tls`]) to `host` (the SNI name and the name the certificate must
/// list; an IP address is checked against the certificate's IP entries), port
/// `port` (for messages), trusting what `trust` says. `alpn` is offered when not
/// empty. A failure is classified into an actionable [`TlsError`].
pub async fn connect_stream<IO>(
    trust: &ClientTlsConfig,
    scheme: Protocol,
    host: &str,
    port: u16,
    alpn: &[&str],
    tcp: IO,
) -> Result<tokio_rustls::client::TlsStream<IO>, TlsError>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut config = client_config(trust)?;
    if !alpn.is_empty() {
        let mut with_alpn = (*config).clone();
        with_alpn.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        config = Arc::new(with_alpn);
    }
    let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|error| {
        TlsError::Other(format!(
            "{host:?} cannot be used as a TLS server name ({error}); connect by a host name or IP address"
        ))
    })?;
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|error| classify_client_error_for(&error, scheme, host, port))
}

/// What a client trusts for `wss://` and `tls://`.
///
/// The default trusts the operating system's root certificates only, which is
/// what a server with a certificate from a public authority (e.g. Let's Encrypt)
/// needs. For a self-signed certificate made by `voice-server gen-cert`, add its
/// file to [`extra_ca_files`](Self::extra_ca_files) or pin its fingerprint.
#[derive(Debug, Clone, Default)]
pub struct ClientTlsConfig {
    /// Skip the operating system's root certificates. Defaults to false (trusted).
    pub disable_system_roots: bool,
    /// Extra CA certificates (PEM) to trust, e.g. the one `voice-server gen-cert` made.
    /// Defaults to none. A missing or unreadable file is an error, not skipped.
    pub extra_ca_files: Vec<PathBuf>,
    /// Extra CA certificates (PEM text) to trust. Defaults to none.
    pub extra_ca_pem: Vec<String>,
    /// Trust exactly a server certificate with this SHA-256 fingerprint (DER),
    /// regardless of its issuer and names (pinning for self-signed deployments).
    /// The handshake signature is still verified. Defaults to none.
    pub pinned_sha256: Vec<[u8; 32]>,
}

/// The crypto provider used by every configuration built here (ring, with
/// rustls' default safe cipher suites and key exchange groups).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// SHA-256 of a certificate's DER encoding: the fingerprint used for pinning
/// ([`ClientTlsConfig::pinned_sha256`]) and shown by `openssl x509 -fingerprint -sha256`.
pub fn certificate_fingerprint_sha256(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// Base64 of the SHA-256 of a certificate's SubjectPublicKeyInfo, the form
/// Chromium's `--ignore-certificate-errors-spki-list=` expects. Returns an empty
/// string if `der` is not a parseable X.509 certificate.
pub fn spki_sha256_base64(der: &[u8]) -> String {
    use base64::Engine as _;
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, cert)) => {
            let digest = Sha256::digest(cert.tbs_certificate.subject_pki.raw);
            base64::engine::general_purpose::STANDARD.encode(digest)
        }
        Err(_) => String::new(),
    }
}

/// Formats a fingerprint as colon-separated upper-case hex (`AB:CD:...`), the
/// form OpenSSL and browsers print.
pub fn format_fingerprint(fingerprint: &[u8; 32]) -> String {
    let mut out = String::with_capacity(95);
    for (i, byte) in fingerprint.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push_str(&format!("{byte:02X}"));
    }
    out
}

/// Parses a fingerprint written as hex, with or without `:` separators
/// (as printed by [`format_fingerprint`] or `openssl x509 -fingerprint -sha256`).
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32], TlsError> {
    let hex: String = text
        .trim()
        .trim_start_matches("sha256//")
        .trim_start_matches("SHA256 Fingerprint=")
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect();
    let bad = || {
        TlsError::Other(format!(
        "{text:?} is not a SHA-256 fingerprint: expected 64 hex digits (colons allowed), as printed by `voice-server gen-cert` or `openssl x509 -noout -fingerprint -sha256 -in certs/server.pem`"
    ))
    };
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// Names a certificate is valid for, from its Subject Alternative Names
/// (`DNS:` names as written, IP addresses in text form). Empty if unparseable.
pub(crate) fn certificate_names(
    cert: &x509_parser::certificate::X509Certificate<'_>,
) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => names.push((*dns).to_string()),
                GeneralName::IPAddress(bytes) => {
                    if let Ok(octets) = <[u8; 4]>::try_from(*bytes) {
                        names.push(std::net::IpAddr::from(octets).to_string());
                    } else if let Ok(octets) = <[u8; 16]>::try_from(*bytes) {
                        names.push(std::net::IpAddr::from(octets).to_string());
                    }
                }
                _ => {}
            }
        }
    }
    names
}

/// True if `name` (a host name or IP address as the client typed it) is covered by
/// `pattern` (a SAN entry; `*.example.test` matches exactly one extra label).
pub(crate) fn name_matches(pattern: &str, name: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if let Some(suffix) = pattern.strip_prefix("*.") {
        match name.split_once('.') {
            Some((label, rest)) => !label.is_empty() && rest == suffix,
            None => false,
        }
    } else {
        pattern == name
    }
}

/// Seconds since the Unix epoch now (for certificate validity checks; outside any
/// sans-IO core).
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Formats a Unix timestamp as `YYYY-MM-DD HH:MM UTC`.
pub(crate) fn format_unix_time(seconds: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(seconds) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => format!("{seconds} (Unix time)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_matching() {
        let table = [
            ("*.example.test", "voice.example.test", true),
            ("*.example.test", "a.b.example.test", false),
            ("*.example.test", "example.test", false),
            ("voice.example.test", "VOICE.example.test.", true),
            ("voice.example.test", "other.example.test", false),
            ("127.0.0.1", "127.0.0.1", true),
        ];
        for (pattern, name, expected) in table {
            assert_eq!(name_matches(pattern, name), expected, "{pattern} vs {name}");
        }
    }

    #[test]
    fn fingerprint_round_trip() {
        let fp = certificate_fingerprint_sha256(b"hello");
        let text = format_fingerprint(&fp);
        assert_eq!(text.len(), 95);
        assert_eq!(parse_fingerprint(&text).unwrap(), fp);
        assert_eq!(
            parse_fingerprint(&text.replace(':', "").to_lowercase()).unwrap(),
            fp
        );
        assert!(parse_fingerprint("abcd").is_err());
        assert!(parse_fingerprint(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn time_format() {
        assert_eq!(format_unix_time(0), "1970-01-01 00:00 UTC");
    }
}
