//! [`TlsReport`]: what a loaded server TLS configuration serves, for the log.

use std::fmt;
use std::path::PathBuf;

/// Certificates expiring within this many days are flagged in the [`TlsReport`].
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// What a loaded TLS configuration serves (`Display` prints it over several lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsReport {
    /// Protocol versions accepted, e.g. `["TLS1.2", "TLS1.3"]`.
    pub protocol_versions: Vec<String>,
    /// Cipher suites offered, in preference order.
    pub cipher_suites: Vec<String>,
    /// ALPN protocols announced.
    pub alpn: Vec<String>,
    /// Each certificate served.
    pub certificates: Vec<CertificateReport>,
    /// The domain served to clients without (or with an unknown) SNI name.
    pub default_domain: Option<String>,
}

/// One served certificate, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateReport {
    /// The certificate file.
    pub file: PathBuf,
    /// The domain it was configured for (several-certificates form), if any.
    pub domain: Option<String>,
    /// Subject distinguished name.
    pub subject: String,
    /// Subject Alternative Names (DNS names and IP addresses).
    pub names: Vec<String>,
    /// End of validity, as text (UTC).
    pub not_after: String,
    /// Days until it expires (rounded down).
    pub days_left: i64,
    /// True if it expires within [`EXPIRY_WARNING_DAYS`] days.
    pub expires_soon: bool,
    /// Certificates in the served chain (server certificate included).
    pub chain_length: usize,
    /// True if the server certificate is marked as an authority (CA:TRUE, the
    /// default of `openssl req -x509`): rustls-based clients refuse it unless they
    /// pin it.
    pub is_ca: bool,
}

impl TlsReport {
    /// Human-readable warnings (certificates expiring soon), empty if none.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        for c in &self.certificates {
            if c.expires_soon {
                warnings.push(format!(
                    "certificate {:?} ({}) expires in {} days, on {}: renew it",
                    c.file,
                    c.names.join(", "),
                    c.days_left,
                    c.not_after
                ));
            }
            if c.is_ca {
                warnings.push(format!(
                    "certificate {:?} is marked as an authority (CA:TRUE); rustls and other strict clients \
                     refuse it as a server certificate unless they pin it: regenerate it with `voice-server \
                     gen-cert` or with openssl `-addext basicConstraints=critical,CA:FALSE`",
                    c.file
                ));
            }
        }
        warnings
    }
}

impl fmt::Display for TlsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "TLS versions: {}", self.protocol_versions.join(", "))?;
        writeln!(f, "TLS cipher suites: {}", self.cipher_suites.join(", "))?;
        if !self.alpn.is_empty() {
            writeln!(f, "TLS ALPN: {}", self.alpn.join(", "))?;
        }
        for cert in &self.certificates {
            let default = match (&self.default_domain, &cert.domain) {
                (Some(d), Some(c)) if d == c => " [default]",
                _ => "",
            };
            writeln!(
                f,
                "TLS certificate {}{default}: subject {}; names {}; valid until {} ({} days left); chain of {}",
                cert.file.display(),
                cert.subject,
                cert.names.join(", "),
                cert.not_after,
                cert.days_left,
                cert.chain_length
            )?;
        }
        for warning in self.warnings() {
            writeln!(f, "WARNING: {warning}")?;
        }
        Ok(())
    }
}
