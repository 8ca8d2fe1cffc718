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
