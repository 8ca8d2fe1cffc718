//! TLS for WSS: certificates, rustls configurations, and errors that say what to do.
//! CONTRACT (skeleton): the TLS owner implements and extends this module.

use std::path::PathBuf;

/// What a client trusts for `wss://`.
#[derive(Debug, Clone, Default)]
pub struct ClientTlsConfig {
    /// Skip the operating system's root certificates. Defaults to false (trusted).
    pub disable_system_roots: bool,
    /// Extra CA certificates (PEM) to trust, e.g. the one `voice-server gen-cert` made.
    pub extra_ca_files: Vec<PathBuf>,
    /// Extra CA certificates (PEM text) to trust.
    pub extra_ca_pem: Vec<String>,
    /// Trust exactly a server certificate with this SHA-256 fingerprint (DER),
    /// regardless of its issuer and names (pinning for self-signed deployments).
    pub pinned_sha256: Vec<[u8; 32]>,
}

/// A TLS failure, worded so that a person can act on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// Any TLS failure, with the explanation and the fix.
    #[error("TLS: {0}")]
    Other(String),
}

// ---------------------------------------------------------------------------
// Minimal stand-ins used by the drivers until the TLS owner's module lands; the
// TLS owner provides the real functions with these exact names and signatures.

/// Builds the rustls client configuration for `wss://` from `config` (ring
/// provider, never a process-wide default). Minimal version: extra CA PEM text
/// and, unless disabled, the system roots.
pub fn client_config(
    config: &ClientTlsConfig,
) -> Result<std::sync::Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    if !config.disable_system_roots {
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
    }
    for pem in &config.extra_ca_pem {
        for cert in rustls_pemfile::certs(&mut pem.as_bytes()) {
            let cert = cert.map_err(|e| TlsError::Other(format!("reading extra CA PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| TlsError::Other(format!("adding extra CA: {e}")))?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Other(format!("building the client configuration: {e}")))?;
    Ok(std::sync::Arc::new(
        builder.with_root_certificates(roots).with_no_client_auth(),
    ))
}

/// Maps a failed client TLS handshake (as tokio-rustls reports it) to a [`TlsError`].
pub fn classify_client_error(err: &std::io::Error, host: &str, port: u16) -> TlsError {
    TlsError::Other(format!("TLS handshake with {host}:{port} failed: {err}"))
}
