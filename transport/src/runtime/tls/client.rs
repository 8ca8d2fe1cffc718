//! Client configuration: system roots, extra CAs, and SHA-256 pinning.

use super::pem::{read_certificates_pem, read_file};
use super::{certificate_fingerprint_sha256, provider, ClientTlsConfig, TlsError};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;

/// Builds the rustls client configuration for `wss://` from `config`: the
/// operating system's roots (unless disabled), plus the extra CA files and PEM
/// text, plus pinned certificate fingerprints. Offers TLS 1.2 and 1.3 with
/// rustls' safe default suites (ring provider, never a process-wide default).
///
/// Errors: a missing or unparseable CA file ([`TlsError::FileMissing`] /
/// [`TlsError::BadFile`]), or nothing trusted at all ([`TlsError::NoTrustAnchors`]).
/// Unreadable individual system certificates are skipped.
pub fn client_config(config: &ClientTlsConfig) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let provider = provider();
    let roots = root_store(config)?;
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| TlsError::Other(format!("building the client configuration: {e}")))?;
    let client = if config.pinned_sha256.is_empty() {
        if roots.is_empty() {
            return Err(TlsError::NoTrustAnchors);
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        let verifier = PinningVerifier::new(roots, config.pinned_sha256.clone(), provider)?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth()
    };
    Ok(Arc::new(client))
}

/// The trust store a [`ClientTlsConfig`] describes (system roots + extra CAs).
pub(crate) fn root_store(config: &ClientTlsConfig) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    if !config.disable_system_roots {
        // Loaded once per process: reading and parsing the system store takes milliseconds.
        static NATIVE: std::sync::OnceLock<Vec<CertificateDer<'static>>> =
            std::sync::OnceLock::new();
        let native = NATIVE.get_or_init(|| rustls_native_certs::load_native_certs().certs);
        // Individual unreadable system certificates are not the user's problem here.
        let _ = roots.add_parsable_certificates(native.iter().cloned());
    }
    for path in &config.extra_ca_files {
        let text = read_file(path, "CA certificate", "pass the certificate file the server uses (e.g. certs/server.pem made by `voice-server gen-cert`)")?;
        let certs = read_certificates_pem(&text, path, "CA certificate")?;
        add_all(&mut roots, certs, &path.display().to_string())?;
    }
    for (index, pem) in config.extra_ca_pem.iter().enumerate() {
        let label = format!("extra_ca_pem[{index}]");
        let certs = read_certificates_pem(pem, std::path::Path::new(&label), "CA certificate")?;
        add_all(&mut roots, certs, &label)?;
    }
    Ok(roots)
}

fn add_all(
    roots: &mut RootCertStore,
    certs: Vec<CertificateDer<'static>>,
    label: &str,
) -> Result<(), TlsError> {
    for cert in certs {
        roots.add(cert).map_err(|e| TlsError::BadFile {
            path: label.into(),
            what: "CA certificate".into(),
            reason: format!("a certificate in it cannot be used as a trust anchor ({e}); check it is an X.509 certificate in PEM form"),
        })?;
    }
    Ok(())
}

/// Accepts a server certificate whose SHA-256 fingerprint is pinned, whatever its
/// issuer and names; otherwise verifies normally against the roots (if any).
/// [`PinningVerifier::inspect_only`] accepts any certificate instead: only for
/// the doctor, to show a certificate the real configuration refused.
/// Handshake signatures are always verified with the provider's algorithms.
#[derive(Debug)]
pub(crate) struct PinningVerifier {
    pins: Vec<[u8; 32]>,
    fallback: Option<Arc<WebPkiServerVerifier>>,
    accept_any: bool,
    provider: Arc<CryptoProvider>,
}

impl PinningVerifier {
    /// Accepts every certificate (handshake signatures still checked).
    pub(crate) fn inspect_only(provider: Arc<CryptoProvider>) -> Self {
        Self {
            pins: Vec::new(),
            fallback: None,
            accept_any: true,
            provider,
        }
    }

    fn new(
        roots: RootCertStore,
        pins: Vec<[u8; 32]>,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, TlsError> {
        let fallback = if roots.is_empty() {
            None
        } else {
            Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| {
                        TlsError::Other(format!("building the certificate verifier: {e}"))
                    })?,
            )
        };
        Ok(Self {
            pins,
            fallback,
            accept_any: false,
            provider,
        })
    }
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.accept_any
            || self
                .pins
                .contains(&certificate_fingerprint_sha256(end_entity))
        {
            return Ok(ServerCertVerified::assertion());
        }
        match &self.fallback {
            Some(verifier) => verifier.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ),
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
