//! Server side: the per-listener TLS settings, loading them into a rustls
//! configuration with SNI, and a report to log.

use super::pem::{read_certificates_pem, read_file, read_private_key};
use super::report::{CertificateReport, TlsReport};
use super::EXPIRY_WARNING_DAYS;
use super::{certificate_names, format_unix_time, name_matches, unix_now, TlsError};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::SupportedProtocolVersion;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// A TLS protocol version as written in the settings (`"TLS12"`, `"TLS13"`).
/// The old versions parse so that the error can say why they are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[non_exhaustive]
pub enum TlsVersion {
    /// SSL 3.0: refused (RFC 7568).
    #[serde(rename = "SSLv3", alias = "SSL3")]
    Ssl3,
    /// TLS 1.0: refused (RFC 8996).
    #[serde(rename = "TLS10", alias = "TLSv1", alias = "TLSv1.0", alias = "TLS1.0")]
    Tls10,
    /// TLS 1.1: refused (RFC 8996).
    #[serde(rename = "TLS11", alias = "TLSv1.1", alias = "TLS1.1")]
    Tls11,
    /// TLS 1.2.
    #[serde(rename = "TLS12", alias = "TLSv1.2", alias = "TLS1.2")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "TLS13", alias = "TLSv1.3", alias = "TLS1.3")]
    Tls13,
}

impl TlsVersion {
    fn name(self) -> &'static str {
        match self {
            Self::Ssl3 => "SSLv3",
            Self::Tls10 => "TLS10",
            Self::Tls11 => "TLS11",
            Self::Tls12 => "TLS12",
            Self::Tls13 => "TLS13",
        }
    }
}

/// The TLS part of one listener's settings (TOML keys in snake_case). All keys
/// have defaults, so a listener needs only `secure = true` (in the server's
/// listener section) and a `certs/server.pem` next to the config file, as
/// `voice-server gen-cert` writes it.
///
/// ```toml
/// # A certificate from Let's Encrypt, TLS 1.3 only:
/// certificate_path = "/etc/letsencrypt/live/voice.example.com"
/// certificate = "fullchain.pem"
/// key = "privkey.pem"
/// min_protocol_version = "TLS13"
///
/// # Or one certificate per domain (SNI), files in certs/ next to the config:
/// # default_domain = "voice.example.com"
/// # [[certificates]]
/// # domain = "voice.example.com"            # certificate defaults to voice.example.com.pem
/// # [[certificates]]
/// # domain = "*.eu.example.com"
/// # certificate = "eu.pem"
/// # key = "eu.key"
/// # password = "..."                         # for an encrypted PKCS#8 key
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerTlsSettings {
    /// Folder holding the files below. Relative paths are relative to the
    /// config file's folder; `{config_dir}` is replaced by it. Defaults to `certs`.
    pub certificate_path: String,
    /// Certificate chain file (PEM, server certificate first), which also holds the
    /// private key unless `key` is set. Relative to `certificate_path`. Defaults to
    /// `server.pem`. Not used when `certificates` is set.
    pub certificate: String,
    /// Separate private key file (PEM: PKCS#8, PKCS#1, SEC1 or encrypted PKCS#8).
    /// Defaults to none: the key is in `certificate`.
    pub key: Option<String>,
    /// Password of an encrypted PKCS#8 key (`ENCRYPTED PRIVATE KEY`). Defaults to none.
    pub password: Option<String>,
    /// Extra CA certificates (PEM) appended to every served chain (intermediates).
    /// Skipped if the file does not exist. Defaults to `root.pem`.
    pub root_certificates: String,
    /// Lowest protocol version accepted: `TLS12` or `TLS13`. Defaults to `TLS12`.
    pub min_protocol_version: TlsVersion,
    /// Highest protocol version accepted. Defaults to none (TLS 1.3).
    pub max_protocol_version: Option<TlsVersion>,
    /// Cipher suites, rustls names separated by `:`, `,` or spaces (e.g.
    /// `TLS13_AES_256_GCM_SHA384:TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`), or
    /// `DEFAULT` for rustls' safe defaults. Defaults to `DEFAULT`.
    pub cipher_list: String,
    /// Several certificates, one per domain, chosen by the name the client sends
    /// (SNI). When set, `certificate`, `key` and `password` above are not used.
    /// Defaults to none.
    pub certificates: Vec<DomainCertificate>,
    /// The domain whose certificate serves clients that send no or an unknown
    /// name. Required with several `certificates`. Defaults to none.
    pub default_domain: Option<String>,
}

impl Default for ServerTlsSettings {
    fn default() -> Self {
        Self {
            certificate_path: "certs".into(),
            certificate: "server.pem".into(),
            key: None,
            password: None,
            root_certificates: "root.pem".into(),
            min_protocol_version: TlsVersion::Tls12,
            max_protocol_version: None,
            cipher_list: "DEFAULT".into(),
            certificates: Vec::new(),
            default_domain: None,
        }
    }
}

impl fmt::Debug for ServerTlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            certificate_path,
            certificate,
            key,
            password,
            root_certificates,
            min_protocol_version,
            max_protocol_version,
            cipher_list,
            certificates,
            default_domain,
        } = self;
        f.debug_struct("ServerTlsSettings")
            .field("certificate_path", certificate_path)
            .field("certificate", certificate)
            .field("key", key)
            .field("password", &password.as_ref().map(|_| "<hidden>"))
            .field("root_certificates", root_certificates)
            .field("min_protocol_version", min_protocol_version)
            .field("max_protocol_version", max_protocol_version)
            .field("cipher_list", cipher_list)
            .field("certificates", certificates)
            .field("default_domain", default_domain)
            .finish()
    }
}

/// One certificate of several, for one domain (SNI).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainCertificate {
    /// The domain it serves, e.g. `voice.example.com` or `*.example.com`. The
    /// names in the certificate itself are served too.
    pub domain: String,
    /// Certificate chain file, relative to `certificate_path`. Defaults to
    /// `<domain>.pem` (with `*` written as `wildcard`).
    #[serde(default)]
    pub certificate: Option<String>,
    /// Separate private key file. Defaults to none: the key is in `certificate`.
    #[serde(default)]
    pub key: Option<String>,
    /// Password of an encrypted PKCS#8 key. Defaults to none.
    #[serde(default)]
    pub password: Option<String>,
}

impl fmt::Debug for DomainCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            domain,
            certificate,
            key,
            password,
        } = self;
        f.debug_struct("DomainCertificate")
            .field("domain", domain)
            .field("certificate", certificate)
            .field("key", key)
            .field("password", &password.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// A loaded server configuration and what to log about it.
#[derive(Debug, Clone)]
pub struct LoadedServerTls {
    /// For [`ListenerConfig::tls`](crate::runtime::ListenerConfig::tls).
    pub config: Arc<rustls::ServerConfig>,
    /// Versions, suites, certificates and expiry warnings, for the log.
    pub report: TlsReport,
}

/// Loads `settings` into a rustls server configuration. `config_dir` is the
/// config file's folder (relative paths start there); `alpn` lists the ALPN
/// protocols to announce (e.g. `&["http/1.1"]` for WSS, `&[TLS_TCP_ALPN]` for
/// `tls://`; empty for none).
///
/// Fails, naming the file and the fix, on: a missing certificate or key file, a
/// wrong or missing key password, a key that does not match its certificate, an
/// expired (or not yet valid) certificate, an unknown cipher suite name, a refused
/// protocol version (TLS 1.0/1.1, SSLv3), or several certificates without
/// `default_domain`.
pub fn load_server_config(
    settings: &ServerTlsSettings,
    config_dir: &Path,
    alpn: &[&str],
) -> Result<LoadedServerTls, TlsError> {
    load_server_config_reloadable(settings, config_dir, alpn).map(|(loaded, _)| loaded)
}

/// [`load_server_config`], plus a [`TlsReloader`] that re-reads the certificate
/// and key files later (e.g. after a Let's Encrypt renewal, on SIGHUP) and swaps
/// them into the running configuration without a restart. Versions, suites and
/// ALPN stay as loaded.
pub fn load_server_config_reloadable(
    settings: &ServerTlsSettings,
    config_dir: &Path,
    alpn: &[&str],
) -> Result<(LoadedServerTls, TlsReloader), TlsError> {
    let versions = select_versions(settings)?;
    let provider = Arc::new(select_provider(&settings.cipher_list, &versions)?);
    let (certificates, reports, default_domain) =
        load_certificates(settings, config_dir, &provider)?;
    let resolver = Arc::new(SniResolver {
        current: RwLock::new(Arc::new(certificates)),
    });

    let mut config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| TlsError::ProtocolSettings {
            reason: format!("{e}; check min/max_protocol_version and cipher_list"),
        })?
        .with_no_client_auth()
        .with_cert_resolver(resolver.clone());
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    // Stateless resumption tickets (rotated every 6 h) spare reconnecting clients
    // a full handshake; without a ticketer TLS 1.2 clients get no resumption.
    if let Ok(ticketer) = rustls::crypto::ring::Ticketer::new() {
        config.ticketer = ticketer;
    }

    let report = TlsReport {
        protocol_versions: versions.iter().map(|v| version_label(v.version)).collect(),
        cipher_suites: provider.cipher_suites.iter().map(suite_name).collect(),
        alpn: alpn.iter().map(|p| p.to_string()).collect(),
        certificates: reports,
        default_domain,
    };
    let reloader = TlsReloader {
        settings: settings.clone(),
        config_dir: config_dir.to_path_buf(),
        provider,
        resolver,
        report: report.clone(),
    };
    Ok((
        LoadedServerTls {
            config: Arc::new(config),
            report,
        },
        reloader,
    ))
}

/// Re-reads a listener's certificate and key files into its running
/// configuration (see [`load_server_config_reloadable`]). It keeps a copy of the
/// settings it was made from.
#[derive(Debug)]
pub struct TlsReloader {
    settings: ServerTlsSettings,
    config_dir: PathBuf,
    provider: Arc<CryptoProvider>,
    resolver: Arc<SniResolver>,
    report: TlsReport,
}

impl TlsReloader {
    /// Loads the files again with the same checks as at start-up. On success the
    /// new certificates serve every following handshake and the new report is
    /// returned; on error (e.g. a half-written file) the old certificates stay.
    pub fn reload(&self) -> Result<TlsReport, TlsError> {
        let (certificates, reports, default_domain) =
            load_certificates(&self.settings, &self.config_dir, &self.provider)?;
        *self
            .resolver
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(certificates);
        Ok(TlsReport {
            certificates: reports,
            default_domain,
            ..self.report.clone()
        })
    }
}

type LoadedCertificates = (Certificates, Vec<CertificateReport>, Option<String>);

fn load_certificates(
    settings: &ServerTlsSettings,
    config_dir: &Path,
    provider: &CryptoProvider,
) -> Result<LoadedCertificates, TlsError> {
    let folder = resolve_folder(&settings.certificate_path, config_dir);
    let extra_chain = load_root_certificates(&folder.join(&settings.root_certificates))?;
    let specs: Vec<EntrySpec> = if settings.certificates.is_empty() {
        vec![EntrySpec {
            domain: None,
            certificate: folder.join(&settings.certificate),
            key: settings.key.as_ref().map(|k| folder.join(k)),
            password: settings.password.clone(),
        }]
    } else {
        if settings.key.is_some() || settings.password.is_some() {
            return Err(TlsError::ProtocolSettings {
                reason:
                    "`key`/`password` are set next to `certificates`: move them into the matching \
                         [[certificates]] entry"
                        .into(),
            });
        }
        settings
            .certificates
            .iter()
            .map(|c| EntrySpec {
                domain: Some(c.domain.clone()),
                certificate: folder.join(
                    c.certificate
                        .clone()
                        .unwrap_or_else(|| format!("{}.pem", c.domain.replace('*', "wildcard"))),
                ),
                key: c.key.as_ref().map(|k| folder.join(k)),
                password: c.password.clone(),
            })
            .collect()
    };

    let mut entries = Vec::with_capacity(specs.len());
    let mut reports = Vec::with_capacity(specs.len());
    for spec in &specs {
        let (entry, report) = load_entry(spec, &extra_chain, provider)?;
        entries.push(entry);
        reports.push(report);
    }

    let default_index = match (&settings.default_domain, entries.len()) {
        (None, 1) => 0,
        (None, count) => {
            return Err(TlsError::DefaultDomainMissing {
                count,
                domains: domain_list(&entries),
            });
        }
        (Some(domain), _) => entries
            .iter()
            .position(|e| e.domain.as_deref() == Some(domain.as_str()))
            .or_else(|| {
                entries
                    .iter()
                    .position(|e| e.names.iter().any(|n| name_matches(n, domain)))
            })
            .ok_or_else(|| TlsError::DefaultDomainUnknown {
                domain: domain.clone(),
                domains: domain_list(&entries),
            })?,
    };
    let default_domain = settings
        .default_domain
        .clone()
        .or_else(|| entries[0].domain.clone());

    Ok((
        Certificates {
            entries,
            default_index,
        },
        reports,
        default_domain,
    ))
}

struct EntrySpec {
    domain: Option<String>,
    certificate: PathBuf,
    key: Option<PathBuf>,
    password: Option<String>,
}

#[derive(Debug)]
struct Entry {
    domain: Option<String>,
    names: Vec<String>,
    key: Arc<CertifiedKey>,
}

fn domain_list(entries: &[Entry]) -> String {
    let list: Vec<String> = entries
        .iter()
        .map(|e| e.domain.clone().unwrap_or_else(|| e.names.join("/")))
        .collect();
    list.join(", ")
}

fn resolve_folder(certificate_path: &str, config_dir: &Path) -> PathBuf {
    let replaced = certificate_path.replace("{config_dir}", &config_dir.to_string_lossy());
    let path = PathBuf::from(replaced);
    if path.is_absolute() {
        path
    } else {
        config_dir.join(path)
    }
}

fn select_versions(
    settings: &ServerTlsSettings,
) -> Result<Vec<&'static SupportedProtocolVersion>, TlsError> {
    let min = settings.min_protocol_version;
    let max = settings.max_protocol_version.unwrap_or(TlsVersion::Tls13);
    for version in [min, max] {
        if version < TlsVersion::Tls12 {
            return Err(TlsError::VersionRefused {
                requested: version.name().into(),
            });
        }
    }
    if min > max {
        return Err(TlsError::ProtocolSettings {
            reason: format!(
                "min_protocol_version {} is above max_protocol_version {}; raise the maximum or lower the minimum",
                min.name(),
                max.name()
            ),
        });
    }
    let mut versions = Vec::new();
    if min <= TlsVersion::Tls12 {
        versions.push(&rustls::version::TLS12);
    }
    if max >= TlsVersion::Tls13 {
        versions.push(&rustls::version::TLS13);
    }
    Ok(versions)
}

fn suite_name(suite: &rustls::SupportedCipherSuite) -> String {
    format!("{:?}", suite.suite())
}

fn version_label(version: rustls::ProtocolVersion) -> String {
    match version {
        rustls::ProtocolVersion::TLSv1_2 => "TLS1.2".into(),
        rustls::ProtocolVersion::TLSv1_3 => "TLS1.3".into(),
        other => format!("{other:?}"),
    }
}

fn select_provider(
    cipher_list: &str,
    versions: &[&'static SupportedProtocolVersion],
) -> Result<CryptoProvider, TlsError> {
    let base = rustls::crypto::ring::default_provider();
    let names: Vec<&str> = cipher_list
        .split(|c: char| c == ':' || c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect();
    let suites = if names.is_empty() || names.iter().any(|n| n.eq_ignore_ascii_case("DEFAULT")) {
        if names.len() > 1 {
            return Err(TlsError::ProtocolSettings {
                reason: "cipher_list mixes DEFAULT with explicit names; use either DEFAULT or a list of names".into(),
            });
        }
        base.cipher_suites.clone()
    } else {
        let known = rustls::crypto::ring::ALL_CIPHER_SUITES;
        let mut chosen = Vec::with_capacity(names.len());
        for name in names {
            let suite = known
                .iter()
                .find(|s| suite_name(s).eq_ignore_ascii_case(name))
                .ok_or_else(|| TlsError::UnknownCipher {
                    name: name.to_string(),
                    known: known.iter().map(suite_name).collect::<Vec<_>>().join(", "),
                })?;
            if !chosen.contains(suite) {
                chosen.push(*suite);
            }
        }
        chosen
    };
    // Suites of disabled versions are never negotiated: drop them (and from the report).
    let mut suites = suites;
    suites.retain(|s| versions.contains(&s.version()));
    for version in versions {
        if !suites.iter().any(|s| s.version() == *version) {
            return Err(TlsError::ProtocolSettings {
                reason: format!(
                    "cipher_list has no suite for {} which the version settings enable; add one (TLS13_* for \
                     TLS 1.3, TLS_ECDHE_* for TLS 1.2) or restrict min/max_protocol_version",
                    version_label(version.version)
                ),
            });
        }
    }
    Ok(CryptoProvider {
        cipher_suites: suites,
        ..base
    })
}

fn load_root_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = read_file(path, "root certificates", "")?;
    read_certificates_pem(&text, path, "root certificates")
}

fn load_entry(
    spec: &EntrySpec,
    extra_chain: &[CertificateDer<'static>],
    provider: &CryptoProvider,
) -> Result<(Entry, CertificateReport), TlsError> {
    let fix = "run `voice-server gen-cert` to create a self-signed one, or set certificate_path/certificate to your \
               certificate (e.g. /etc/letsencrypt/live/DOMAIN/fullchain.pem)";
    let cert_text = read_file(&spec.certificate, "certificate", fix)?;
    let mut chain = read_certificates_pem(&cert_text, &spec.certificate, "certificate")?;
    let (key_path, key_text) = match &spec.key {
        Some(path) => (
            path.clone(),
            read_file(
                path,
                "private key",
                "set `key` to the private key file of this certificate (e.g. privkey.pem)",
            )?,
        ),
        None => (spec.certificate.clone(), cert_text.clone()),
    };
    let key_der = read_private_key(&key_text, &key_path, spec.password.as_deref())?.ok_or_else(|| TlsError::BadFile {
        path: key_path.clone(),
        what: "private key".into(),
        reason: "it holds no private key; append the key to the certificate file or set `key = \"FILE\"`".into(),
    })?;
    for extra in extra_chain {
        if !chain.contains(extra) {
            chain.push(extra.clone());
        }
    }

    let (_, parsed) =
        x509_parser::parse_x509_certificate(&chain[0]).map_err(|e| TlsError::BadFile {
            path: spec.certificate.clone(),
            what: "certificate".into(),
            reason: format!("the first certificate does not parse ({e}); re-export it"),
        })?;
    let subject = parsed.subject().to_string();
    let not_after = parsed.validity().not_after.timestamp();
    let not_before = parsed.validity().not_before.timestamp();
    let now = unix_now();
    if not_after < now {
        return Err(TlsError::CertificateExpired {
            path: spec.certificate.clone(),
            subject,
            detail: format!("expired on {}", format_unix_time(not_after)),
        });
    }
    if not_before > now {
        return Err(TlsError::CertificateExpired {
            path: spec.certificate.clone(),
            subject,
            detail: format!("is not valid before {}", format_unix_time(not_before)),
        });
    }
    let names = certificate_names(&parsed);
    let is_ca = parsed.is_ca();
    if let Some(domain) = &spec.domain {
        let covered = names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(domain) || name_matches(n, domain));
        if !covered {
            return Err(TlsError::BadFile {
                path: spec.certificate.clone(),
                what: "certificate".into(),
                reason: format!(
                    "it is configured for domain {domain:?} but is valid only for {}; clients asking for \
                     {domain:?} would refuse it: point this entry at the certificate for {domain:?}, or fix \
                     `domain`",
                    if names.is_empty() { "(no names)".to_string() } else { names.join(", ") }
                ),
            });
        }
    }

    let signing_key = provider.key_provider.load_private_key(key_der).map_err(|e| TlsError::BadFile {
        path: key_path.clone(),
        what: "private key".into(),
        reason: format!("the key type is not supported ({e}); use an ECDSA P-256/P-384, Ed25519 or RSA (2048+) key"),
    })?;
    let certified = CertifiedKey::new(chain, signing_key);
    if let Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) =
        certified.keys_match()
    {
        return Err(TlsError::KeyMismatch {
            key_path,
            certificate_path: spec.certificate.clone(),
        });
    }
    check_suites_fit_key(provider, certified.key.algorithm(), &key_path)?;
    let days_left = (not_after - now) / 86_400;
    let report = CertificateReport {
        file: spec.certificate.clone(),
        domain: spec.domain.clone(),
        subject,
        names: names.clone(),
        not_after: format_unix_time(not_after),
        days_left,
        expires_soon: not_after - now < EXPIRY_WARNING_DAYS * 86_400,
        chain_length: certified.cert.len(),
        is_ca,
    };
    let mut all_names = names;
    if let Some(domain) = &spec.domain {
        all_names.insert(0, domain.clone());
    }
    Ok((
        Entry {
            domain: spec.domain.clone(),
            names: all_names,
            key: Arc::new(certified),
        },
        report,
    ))
}

/// The certificates a listener serves.
#[derive(Debug)]
struct Certificates {
    entries: Vec<Entry>,
    default_index: usize,
}

/// Without TLS 1.3, a TLS 1.2 suite must match the key type (ECDHE_ECDSA for
/// ECDSA/Ed25519 keys, ECDHE_RSA for RSA keys), or every handshake fails.
fn check_suites_fit_key(
    provider: &CryptoProvider,
    algorithm: rustls::SignatureAlgorithm,
    key_path: &Path,
) -> Result<(), TlsError> {
    if provider
        .cipher_suites
        .iter()
        .any(|s| s.version() == &rustls::version::TLS13)
    {
        return Ok(());
    }
    let wanted = if algorithm == rustls::SignatureAlgorithm::RSA {
        "_RSA_"
    } else {
        "_ECDSA_"
    };
    if provider
        .cipher_suites
        .iter()
        .any(|s| suite_name(s).contains(wanted))
    {
        return Ok(());
    }
    Err(TlsError::ProtocolSettings {
        reason: format!(
            "the key in {key_path:?} is {algorithm:?} but cipher_list offers no TLS 1.2 suite for it (they need \
             TLS_ECDHE{wanted}WITH_...), so every handshake would fail: add such a suite, use DEFAULT, or enable \
             TLS 1.3"
        ),
    })
}

/// Picks a certificate by the SNI name: exact names first, then wildcards, then
/// the default. The set can be swapped by a [`TlsReloader`].
#[derive(Debug)]
struct SniResolver {
    current: RwLock<Arc<Certificates>>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let current = self
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let chosen = client_hello.server_name().and_then(|sni| {
            let exact = current.entries.iter().find(|e| {
                e.names
                    .iter()
                    .any(|n| !n.starts_with("*.") && name_matches(n, sni))
            });
            exact.or_else(|| {
                current
                    .entries
                    .iter()
                    .find(|e| e.names.iter().any(|n| name_matches(n, sni)))
            })
        });
        chosen
            .or_else(|| current.entries.get(current.default_index))
            .map(|e| e.key.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_defaults_and_unknown_keys() {
        let settings: ServerTlsSettings = toml::from_str("").unwrap();
        assert_eq!(settings, ServerTlsSettings::default());
        let settings: ServerTlsSettings = toml::from_str(
            "min_protocol_version = \"TLS13\"\ndefault_domain = \"a.test\"\n[[certificates]]\ndomain = \"a.test\"\npassword = \"x\"\n",
        )
        .unwrap();
        assert_eq!(settings.min_protocol_version, TlsVersion::Tls13);
        assert_eq!(settings.certificates.len(), 1);
        assert!(!format!("{settings:?}").contains("\"x\""));
        let err = toml::from_str::<ServerTlsSettings>("certificat = \"x\"").unwrap_err();
        assert!(err.to_string().contains("certificat"), "{err}");
    }

    #[test]
    fn folder_resolution() {
        let dir = Path::new("/etc/voice");
        assert_eq!(
            resolve_folder("certs", dir),
            PathBuf::from("/etc/voice/certs")
        );
        assert_eq!(
            resolve_folder("{config_dir}/tls", dir),
            PathBuf::from("/etc/voice/tls")
        );
        assert_eq!(
            resolve_folder("/srv/certs", dir),
            PathBuf::from("/srv/certs")
        );
    }

    #[test]
    fn cipher_selection() {
        let both = [&rustls::version::TLS12, &rustls::version::TLS13];
        assert!(select_provider("DEFAULT", &both).is_ok());
        let p = select_provider(
            "TLS13_AES_256_GCM_SHA384:TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            &both,
        )
        .unwrap();
        assert_eq!(p.cipher_suites.len(), 2);
        match select_provider("TLS13_AES_256_GCM_SHA384", &both) {
            Err(TlsError::ProtocolSettings { reason }) => {
                assert!(reason.contains("TLS1.2"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        assert!(select_provider("TLS13_AES_256_GCM_SHA384", &[&rustls::version::TLS13]).is_ok());
    }
}
