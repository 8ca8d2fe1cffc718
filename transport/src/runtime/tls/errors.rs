//! [`TlsError`] and the mapping from handshake failures to it.

use crate::types::Protocol;
use rustls::{AlertDescription, CertificateError, InvalidMessage, PeerIncompatible};
use std::path::PathBuf;

/// Default name server ports quoted in the advice (Photon's, plus this project's
/// TLS-over-TCP port).
const DEFAULT_WSS_PORT: u16 = 19093;
const DEFAULT_WS_PORT: u16 = 9093;
const DEFAULT_TLS_PORT: u16 = 14533;
const DEFAULT_TCP_PORT: u16 = 4533;

/// A TLS failure, worded so that a person can act on it: every message names the
/// problem and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The server's certificate does not chain to anything the client trusts
    /// (typically a self-signed certificate from `voice-server gen-cert`).
    #[error(
        "the certificate of {host}:{port} is not trusted ({detail}). If it is a self-signed certificate \
         (voice-server gen-cert), trust it: pass `--ca-file certs/server-ca.pem` (ClientTlsConfig.extra_ca_files; \
         on the server machine `--ca-file certs/server.pem` works too, but never copy server.pem elsewhere: it \
         holds the private key), or pin its SHA-256 fingerprint (ClientTlsConfig.pinned_sha256), or import it into the operating \
         system's trust store; for browsers visit https://{host}:{port} once and accept it, or import the \
         certificate as an authority"
    )]
    NotTrusted {
        /// Host the client connected to.
        host: String,
        /// Port the client connected to.
        port: u16,
        /// What the verifier reported.
        detail: String,
    },
    /// The certificate is valid but not for the name (or IP address) the client used.
    #[error(
        "the certificate of {host}:{port} is not valid for {host:?}{presented_text}. Connect with a name the \
         certificate lists (if you used an IP address, use the domain name instead; for development add \
         `<ip> <domain>` to /etc/hosts), or generate a certificate that includes it \
         (`voice-server gen-cert --domain <name>` or `--ip <address>`)",
        presented_text = presented_names(presented)
    )]
    NameMismatch {
        /// Host the client connected to.
        host: String,
        /// Port the client connected to.
        port: u16,
        /// Names the certificate is valid for, when known.
        presented: Vec<String>,
    },
    /// The certificate has expired or is not yet valid.
    #[error(
        "the certificate of {host}:{port} {detail}. The server must renew it (e.g. certbot renew, or \
         `voice-server gen-cert` for a self-signed one) and restart; if the dates look right, check this \
         machine's clock"
    )]
    CertificateDates {
        /// Host the client connected to.
        host: String,
        /// Port the client connected to.
        port: u16,
        /// "expired on ..." or "is not valid before ...".
        detail: String,
    },
    /// The server certificate is marked as an authority (basicConstraints CA:TRUE,
    /// what `openssl req -x509` makes by default), which TLS clients refuse as a
    /// server certificate even when trusted.
    #[error(
        "the certificate of {host}:{port} is marked as a certificate authority (basicConstraints CA:TRUE, the \
         default of `openssl req -x509`), and TLS clients refuse such a certificate as a server certificate. \
         Regenerate it with `voice-server gen-cert` (or add `-addext basicConstraints=critical,CA:FALSE` to the \
         openssl command), or pin its SHA-256 fingerprint (ClientTlsConfig.pinned_sha256)"
    )]
    CaAsServerCertificate {
        /// Host the client connected to.
        host: String,
        /// Port the client connected to.
        port: u16,
    },
    /// Client and server share no TLS protocol version.
    #[error(
        "{host}:{port} does not accept the TLS version this client offers ({detail}). The server probably \
         requires TLS 1.3 (min_protocol_version = \"TLS13\"): enable TLS 1.3 in the client, or lower the \
         server's minimum to TLS12"
    )]
    VersionNotAccepted {
        /// Host the client connected to.
        host: String,
        /// Port the client connected to.
        port: u16,
        /// What the handshake reported.
        detail: String,
    },
    /// A TLS (`wss://` or `tls://`) client reached a port that does not speak TLS.
    #[error(
        "{host}:{port} does not speak TLS ({detail}): {advice}",
        advice = wrong_scheme_advice(*scheme)
    )]
    WrongScheme {
        /// Host the client connected to.
        host: String,
        /// Port the client connected to.
        port: u16,
        /// What the handshake reported.
        detail: String,
        /// The TLS scheme the client used ([`Protocol::Wss`] or [`Protocol::Tls`]).
        scheme: Protocol,
    },
    /// A plain (`ws://` or `tcp://`) client reached a TLS port: the server answered
    /// with a TLS record. Detect with [`response_looks_like_tls`].
    #[error(
        "{host}:{port} expects TLS but this client spoke plain text: {advice}",
        advice = plain_to_tls_advice(*scheme, host, *port)
    )]
    PlainClientToTlsPort {
        /// Host the client connected to.
        host: String,
        /// Port the client connected to.
        port: u16,
        /// The plain scheme the client used ([`Protocol::Ws`] or [`Protocol::Tcp`]).
        scheme: Protocol,
    },
    /// The server speaks TLS but refused the client's application protocol
    /// (ALPN): a `tls://` client on a `wss://` port, or the reverse.
    #[error(
        "{host}:{port} speaks TLS but refused this client's application protocol (ALPN {offered}): {advice}",
        offered = alpn_offered(*scheme),
        advice = alpn_advice(*scheme, host, *port)
    )]
    ApplicationProtocolMismatch {
        /// Host the client connected to.
        host: String,
        /// Port the client connected to.
        port: u16,
        /// The TLS scheme the client used ([`Protocol::Wss`] or [`Protocol::Tls`]).
        scheme: Protocol,
    },
    /// The client configuration trusts nothing (system roots disabled, no CA, no pin).
    #[error(
        "no trusted certificates: system roots are disabled and no extra CA or pinned fingerprint is set; \
         add `--ca-file certs/server-ca.pem` (ClientTlsConfig.extra_ca_files) or a pinned fingerprint, or \
         re-enable the system roots"
    )]
    NoTrustAnchors,
    /// A file could not be found.
    #[error("{what} file {path:?} not found: {fix}")]
    FileMissing {
        /// The path tried.
        path: PathBuf,
        /// Which file (certificate, key, CA).
        what: String,
        /// What to do.
        fix: String,
    },
    /// A file exists but could not be read or parsed.
    #[error("cannot use {what} file {path:?}: {reason}")]
    BadFile {
        /// The path.
        path: PathBuf,
        /// Which file (certificate, key, CA).
        what: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The private key is encrypted and no password was configured.
    #[error(
        "the private key in {path:?} is encrypted: set `password = \"...\"` in the listener's TLS settings, \
         or store the key unencrypted (`openssl pkey -in KEY -out KEY.plain`, then chmod 600)"
    )]
    PasswordRequired {
        /// The key file.
        path: PathBuf,
    },
    /// The configured password does not decrypt the key.
    #[error(
        "the password does not unlock the private key in {path:?}: check `password` in the listener's TLS \
         settings (test it with `openssl pkey -in {path:?} -noout`)"
    )]
    WrongPassword {
        /// The key file.
        path: PathBuf,
    },
    /// The private key does not belong to the certificate.
    #[error(
        "the private key in {key_path:?} does not match the certificate in {certificate_path:?} (their public \
         keys differ): use the key that was generated with this certificate, or regenerate both \
         (`voice-server gen-cert`)"
    )]
    KeyMismatch {
        /// The key file.
        key_path: PathBuf,
        /// The certificate file.
        certificate_path: PathBuf,
    },
    /// A configured server certificate has expired (or is not yet valid).
    #[error(
        "the certificate in {path:?} (subject {subject}) {detail}: renew it (e.g. certbot renew) or generate \
         a new one (`voice-server gen-cert`), then restart"
    )]
    CertificateExpired {
        /// The certificate file.
        path: PathBuf,
        /// Its subject.
        subject: String,
        /// "expired on ..." or "is not valid before ...".
        detail: String,
    },
    /// A cipher suite name is not known.
    #[error("unknown cipher suite {name:?} in cipher_list; use DEFAULT or names from: {known}")]
    UnknownCipher {
        /// The name given.
        name: String,
        /// The names this build knows, comma-separated.
        known: String,
    },
    /// A protocol version that is deliberately not offered was requested.
    #[error(
        "{requested} is refused: TLS 1.0 and 1.1 are deprecated by RFC 8996 (and SSLv3 by RFC 7568), and \
         rustls does not implement them; use \"TLS12\" or \"TLS13\""
    )]
    VersionRefused {
        /// The version given.
        requested: String,
    },
    /// The version or cipher settings leave nothing to negotiate.
    #[error("unusable TLS protocol settings: {reason}")]
    ProtocolSettings {
        /// What is wrong and what to do.
        reason: String,
    },
    /// Several certificates but no default for clients without (or with an unknown) SNI name.
    #[error(
        "{count} certificates are configured but default_domain is not set: set default_domain to one of \
         {domains} (used for clients that send no or an unknown server name)"
    )]
    DefaultDomainMissing {
        /// How many certificates.
        count: usize,
        /// Their domains, comma-separated.
        domains: String,
    },
    /// default_domain does not name any configured certificate.
    #[error("default_domain {domain:?} matches none of the configured certificates; use one of {domains}")]
    DefaultDomainUnknown {
        /// The name given.
        domain: String,
        /// The known domains, comma-separated.
        domains: String,
    },
    /// Generating or writing a certificate failed.
    #[error("certificate generation failed: {0}")]
    Generate(String),
    /// Any other TLS failure, with the explanation and the fix.
    #[error("TLS: {0}")]
    Other(String),
}

impl TlsError {
    /// True if the failure comes from the local configuration (fix the settings,
    /// retrying will not help), false for failures reported by a peer.
    pub fn is_configuration(&self) -> bool {
        !matches!(
            self,
            Self::NotTrusted { .. }
                | Self::NameMismatch { .. }
                | Self::CaAsServerCertificate { .. }
                | Self::CertificateDates { .. }
                | Self::VersionNotAccepted { .. }
                | Self::WrongScheme { .. }
                | Self::PlainClientToTlsPort { .. }
                | Self::ApplicationProtocolMismatch { .. }
                | Self::Other(_)
        )
    }
}

/// What a TLS client that reached a plain port should do.
fn wrong_scheme_advice(scheme: Protocol) -> String {
    match scheme {
        Protocol::Tls => format!(
            "it is probably a plain tcp:// port. Use tcp:// for that port, or connect to the server's \
             tls:// port (default {DEFAULT_TLS_PORT})"
        ),
        _ => format!(
            "it is probably a plain ws:// or TCP port. Use ws:// (or tcp://) for that port, or connect \
             to the server's wss:// port (default {DEFAULT_WSS_PORT})"
        ),
    }
}

/// What a plain client that reached a TLS port should do.
fn plain_to_tls_advice(scheme: Protocol, host: &str, port: u16) -> String {
    match scheme {
        Protocol::Tcp => format!(
            "use tls://{host}:{port} instead of tcp:// (or wss://{host}:{port}/path if it is a \
             WebSocket port), or connect to the server's plain tcp:// port (default {DEFAULT_TCP_PORT})"
        ),
        _ => format!(
            "use wss://{host}:{port}/... instead of ws://, or connect to the server's plain ws:// port \
             (default {DEFAULT_WS_PORT})"
        ),
    }
}

/// The ALPN id a client of `scheme` offers.
fn alpn_offered(scheme: Protocol) -> &'static str {
    match scheme {
        Protocol::Tls => super::TLS_TCP_ALPN,
        _ => "http/1.1",
    }
}

/// What a client refused by ALPN should do.
fn alpn_advice(scheme: Protocol, host: &str, port: u16) -> String {
    match scheme {
        Protocol::Tls => format!(
            "it is probably a wss:// WebSocket port. Connect with wss://{host}:{port}/path, or to the \
             server's tls:// port (default {DEFAULT_TLS_PORT})"
        ),
        _ => format!(
            "it is probably a tls:// (TCP inside TLS) port. Connect with tls://{host}:{port}, or to the \
             server's wss:// port (default {DEFAULT_WSS_PORT})"
        ),
    }
}

fn presented_names(names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(" (it lists {})", names.join(", "))
    }
}

/// Maps a failed `wss://` client handshake, as tokio-rustls reports it (an
/// `io::Error` wrapping a `rustls::Error`, or a bare I/O error such as an
/// unexpected end of file), to an actionable [`TlsError`]. `host` and `port` are
/// what the client connected to; they appear in the message. For `tls://` use
/// [`classify_client_error_for`].
pub fn classify_client_error(err: &std::io::Error, host: &str, port: u16) -> TlsError {
    classify_client_error_for(err, Protocol::Wss, host, port)
}

/// [`classify_client_error`] for a client of `scheme` ([`Protocol::Wss`] or
/// [`Protocol::Tls`]): the advice names that scheme and its plain twin.
pub fn classify_client_error_for(
    err: &std::io::Error,
    scheme: Protocol,
    host: &str,
    port: u16,
) -> TlsError {
    if let Some(inner) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        return classify_rustls_error_for(inner, scheme, host, port);
    }
    match err.kind() {
        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => {
            TlsError::WrongScheme {
                host: host.to_string(),
                port,
                detail: format!(
                    "the server closed the connection during the TLS handshake ({err})"
                ),
                scheme,
            }
        }
        _ => TlsError::Other(format!("TLS handshake with {host}:{port} failed: {err}")),
    }
}

/// Maps a `rustls::Error` from a `wss://` client handshake to an actionable
/// [`TlsError`] (for `tls://` use [`classify_rustls_error_for`]).
pub fn classify_rustls_error(err: &rustls::Error, host: &str, port: u16) -> TlsError {
    classify_rustls_error_for(err, Protocol::Wss, host, port)
}

/// [`classify_rustls_error`] for a client of `scheme` ([`Protocol::Wss`] or
/// [`Protocol::Tls`]).
pub fn classify_rustls_error_for(
    err: &rustls::Error,
    scheme: Protocol,
    host: &str,
    port: u16,
) -> TlsError {
    let host_s = host.to_string();
    let detail = err.to_string();
    match err {
        rustls::Error::InvalidCertificate(cert) => classify_certificate_error(cert, host_s, port, detail),
        rustls::Error::AlertReceived(AlertDescription::ProtocolVersion)
        | rustls::Error::PeerIncompatible(
            PeerIncompatible::ServerDoesNotSupportTls12Or13
            | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
            | PeerIncompatible::SupportedVersionsExtensionRequired
            | PeerIncompatible::Tls12NotOffered
            | PeerIncompatible::Tls12NotOfferedOrEnabled,
        ) => TlsError::VersionNotAccepted { host: host_s, port, detail },
        rustls::Error::AlertReceived(AlertDescription::NoApplicationProtocol) => {
            TlsError::ApplicationProtocolMismatch { host: host_s, port, scheme }
        }
        rustls::Error::AlertReceived(AlertDescription::HandshakeFailure) => TlsError::Other(format!(
            "{host}:{port} refused the TLS handshake ({detail}): the server may require a TLS version or \
             cipher suite this client does not offer (check the server's min_protocol_version and cipher_list)"
        )),
        rustls::Error::InvalidMessage(
            InvalidMessage::InvalidContentType
            | InvalidMessage::UnknownProtocolVersion
            | InvalidMessage::MessageTooLarge
            | InvalidMessage::MessageTooShort,
        )
        | rustls::Error::PeerSentOversizedRecord => TlsError::WrongScheme { host: host_s, port, detail, scheme },
        rustls::Error::InvalidMessage(_) => TlsError::WrongScheme { host: host_s, port, detail, scheme },
        _ => TlsError::Other(format!("TLS handshake with {host}:{port} failed: {detail}")),
    }
}

fn classify_certificate_error(
    err: &CertificateError,
    host: String,
    port: u16,
    detail: String,
) -> TlsError {
    match err {
        CertificateError::UnknownIssuer | CertificateError::BadSignature => {
            TlsError::NotTrusted { host, port, detail }
        }
        CertificateError::NotValidForName => TlsError::NameMismatch {
            host,
            port,
            presented: Vec::new(),
        },
        CertificateError::NotValidForNameContext { presented, .. } => TlsError::NameMismatch {
            host,
            port,
            presented: presented.iter().map(|p| clean_presented(p)).collect(),
        },
        CertificateError::ExpiredContext { not_after, .. } => TlsError::CertificateDates {
            host,
            port,
            detail: format!(
                "expired on {}",
                super::format_unix_time(not_after.as_secs() as i64)
            ),
        },
        CertificateError::Expired => TlsError::CertificateDates {
            host,
            port,
            detail: "has expired".into(),
        },
        CertificateError::NotValidYetContext { not_before, .. } => TlsError::CertificateDates {
            host,
            port,
            detail: format!(
                "is not valid before {}",
                super::format_unix_time(not_before.as_secs() as i64)
            ),
        },
        CertificateError::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity") => {
            TlsError::CaAsServerCertificate { host, port }
        }
        CertificateError::NotValidYet => TlsError::CertificateDates {
            host,
            port,
            detail: "is not valid yet".into(),
        },
        _ => TlsError::NotTrusted { host, port, detail },
    }
}

/// rustls formats presented names as `DnsName("x")` / `IpAddress(..)` in some
/// versions; keep just the name.
fn clean_presented(text: &str) -> String {
    match (text.find('"'), text.rfind('"')) {
        (Some(start), Some(end)) if end > start => text[start + 1..end].to_string(),
        _ => text.to_string(),
    }
}

/// One line for the server log explaining a failed server-side handshake on a
/// `wss://` listener (as tokio-rustls' acceptor reports it), with what the client
/// or the operator should do. `peer` identifies the client (address, or a
/// redacted form). For a `tls://` listener use [`describe_server_handshake_error_for`].
pub fn describe_server_handshake_error(err: &std::io::Error, peer: &str) -> String {
    describe_server_handshake_error_for(err, Protocol::Wss, peer)
}

/// [`describe_server_handshake_error`] for a listener of `scheme`
/// ([`Protocol::Wss`] or [`Protocol::Tls`]).
pub fn describe_server_handshake_error_for(
    err: &std::io::Error,
    scheme: Protocol,
    peer: &str,
) -> String {
    let Some(inner) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    else {
        return match err.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => format!(
                "client {peer} closed the connection during the TLS handshake (a client rejecting the \
                 certificate, or a port scanner)"
            ),
            _ => format!("TLS handshake with client {peer} failed: {err}"),
        };
    };
    match inner {
        rustls::Error::InvalidMessage(_) | rustls::Error::PeerSentOversizedRecord => {
            let plain = match scheme {
                Protocol::Tls => "tcp://",
                _ => "ws:// or plain TCP",
            };
            format!(
                "client {peer} did not speak TLS ({inner}): probably a {plain} client on this {scheme}:// \
                 port; it should use {scheme}://"
            )
        }
        rustls::Error::PeerIncompatible(
            PeerIncompatible::SupportedVersionsExtensionRequired
            | PeerIncompatible::Tls12NotOffered
            | PeerIncompatible::Tls12NotOfferedOrEnabled,
        )
        | rustls::Error::AlertReceived(AlertDescription::ProtocolVersion) => format!(
            "client {peer} offers no TLS version this listener accepts ({inner}); update the client or lower \
             min_protocol_version"
        ),
        rustls::Error::PeerIncompatible(PeerIncompatible::NoCipherSuitesInCommon) => format!(
            "client {peer} shares no cipher suite with this listener ({inner}); widen cipher_list (or use DEFAULT)"
        ),
        rustls::Error::AlertReceived(
            AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateExpired,
        ) => format!(
            "client {peer} rejected this server's certificate ({inner}): it does not trust it or the name does \
             not match; give clients the authority file (voice-server gen-cert prints how) or use a certificate \
             from a public authority"
        ),
        rustls::Error::NoApplicationProtocol => {
            let (other, announced) = match scheme {
                Protocol::Tls => ("wss://", super::TLS_TCP_ALPN),
                _ => ("tls://", "http/1.1"),
            };
            format!(
                "client {peer} offered no ALPN protocol this listener announces ({announced}): probably a \
                 {other} client on this {scheme}:// port; it should use {scheme}://"
            )
        }
        _ => format!("TLS handshake with client {peer} failed: {inner}"),
    }
}

/// True if the first bytes a server received on a plain (`tcp://`) port look like
/// the start of a TLS handshake record (a `tls://` or `wss://` client): the
/// record type 0x16, then version major 3 if that byte arrived already. A real
/// frame cannot start so (its length would be over 369 MB).
pub fn request_looks_like_tls(first_bytes: &[u8]) -> bool {
    matches!(first_bytes, [0x16] | [0x16, 0x03, ..])
}

/// One line for the server log when a TLS client (`tls://` or `wss://`) reached
/// the plain listener of `scheme` (`tcp` or `ws`) at `peer`.
pub fn describe_tls_client_on_plain_port(scheme: Protocol, peer: &str) -> String {
    let secure = scheme.with_tls();
    format!(
        "client {peer} started a TLS handshake on this plain {scheme}:// port: it should connect with \
         {scheme}:// here, or to the server's {secure}:// port (closed the connection)"
    )
}

/// True if the first bytes a plain (`ws://` or TCP) client received look like a TLS
/// record (handshake or alert, version 3.x): the port expects TLS, so report
/// [`TlsError::PlainClientToTlsPort`].
pub fn response_looks_like_tls(first_bytes: &[u8]) -> bool {
    matches!(first_bytes, [0x15 | 0x16, 0x03, minor, ..] if *minor <= 0x04)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_names_the_scheme_pair() {
        let plain_tcp = TlsError::PlainClientToTlsPort {
            host: "h".into(),
            port: 1,
            scheme: Protocol::Tcp,
        };
        assert!(plain_tcp
            .to_string()
            .contains("use tls://h:1 instead of tcp://"));
        let plain_ws = TlsError::PlainClientToTlsPort {
            host: "h".into(),
            port: 1,
            scheme: Protocol::Ws,
        };
        assert!(plain_ws
            .to_string()
            .contains("use wss://h:1/... instead of ws://"));
        let eof = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "eof");
        let tls = classify_client_error_for(&eof, Protocol::Tls, "h", 1).to_string();
        assert!(tls.contains("Use tcp:// for that port"), "{tls}");
        let wss = classify_client_error(&eof, "h", 1).to_string();
        assert!(wss.contains("Use ws:// (or tcp://)"), "{wss}");
        assert!(request_looks_like_tls(&[0x16]));
        assert!(request_looks_like_tls(&[0x16, 0x03, 0x01, 0x02]));
        assert!(!request_looks_like_tls(&[0, 0, 0, 12]));
        assert!(!request_looks_like_tls(&[0x16, 0x00]));
        let line = describe_tls_client_on_plain_port(Protocol::Tcp, "192.0.2.1:5");
        assert!(
            line.contains("plain tcp:// port") && line.contains("tls:// port"),
            "{line}"
        );
    }

    #[test]
    fn tls_record_detection() {
        assert!(response_looks_like_tls(&[0x15, 0x03, 0x03, 0x00, 0x02]));
        assert!(response_looks_like_tls(&[0x16, 0x03, 0x01]));
        assert!(!response_looks_like_tls(b"HTTP/1.1 400 Bad Request"));
        assert!(!response_looks_like_tls(&[]));
    }

    #[test]
    fn classification_table() {
        type Check = fn(&TlsError) -> bool;
        let cases: Vec<(rustls::Error, Check)> = vec![
            (
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
                |e| matches!(e, TlsError::NotTrusted { .. }),
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::NotValidForName),
                |e| matches!(e, TlsError::NameMismatch { .. }),
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::Expired),
                |e| matches!(e, TlsError::CertificateDates { .. }),
            ),
            (
                rustls::Error::AlertReceived(AlertDescription::ProtocolVersion),
                |e| matches!(e, TlsError::VersionNotAccepted { .. }),
            ),
            (
                rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType),
                |e| matches!(e, TlsError::WrongScheme { .. }),
            ),
        ];
        for (err, check) in cases {
            let io = std::io::Error::new(std::io::ErrorKind::InvalidData, err.clone());
            let classified = classify_client_error(&io, "voice.example.test", 19093);
            assert!(check(&classified), "{err:?} -> {classified:?}");
            assert!(
                classified.to_string().contains("voice.example.test"),
                "{classified}"
            );
        }
        let alpn = rustls::Error::AlertReceived(AlertDescription::NoApplicationProtocol);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, alpn);
        let text = classify_client_error_for(&io, Protocol::Tls, "h", 1).to_string();
        assert!(
            text.contains("wss://h:1/path") && text.contains("voice-frames/1"),
            "{text}"
        );
        let text = classify_client_error_for(&io, Protocol::Wss, "h", 1).to_string();
        assert!(text.contains("tls://h:1"), "{text}");
        let eof = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "eof");
        assert!(matches!(
            classify_client_error(&eof, "h", 1),
            TlsError::WrongScheme { .. }
        ));
    }
}
