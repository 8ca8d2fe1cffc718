//! `openssl s_client` against a listener, shared by the TLS tests. Tests skip
//! with a printed reason when the `openssl` binary is missing.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// True if the `openssl` binary runs; prints why the test is skipped otherwise.
pub fn have_openssl() -> bool {
    let found = Command::new("openssl").arg("version").output().is_ok();
    if !found {
        println!("SKIPPED: the openssl binary is not installed");
    }
    found
}

/// What `openssl s_client` reported.
#[derive(Debug)]
pub struct SClient {
    /// True if it exited with success.
    pub success: bool,
    /// Its standard output (the session and certificates).
    pub stdout: String,
    /// Its standard error (handshake errors and alerts).
    pub stderr: String,
}

impl SClient {
    /// True if a certificate was served and verified against the CA file
    /// (s_client prints `Verify return code: 0` even after a failed handshake).
    pub fn verified(&self) -> bool {
        self.stdout.contains("Verify return code: 0 (ok)")
            && !self.stdout.contains("no peer certificate available")
    }
    /// True if a session of `version` (e.g. `TLSv1.3`) was established: the
    /// `New, TLSv1.3, Cipher is ...` line (the `Protocol :` line of the session
    /// block names the offered version even when the handshake failed).
    pub fn negotiated(&self, version: &str) -> bool {
        self.stdout.lines().any(|line| {
            line.trim()
                .starts_with(&format!("New, {version}, Cipher is"))
        })
    }
    /// True if the served leaf certificate's subject has `CN = common_name`.
    pub fn subject_has_cn(&self, common_name: &str) -> bool {
        self.stdout.contains(&format!("CN = {common_name}"))
            || self.stdout.contains(&format!("CN={common_name}"))
    }
    /// The DER of the first certificate printed (needs `-showcerts`).
    pub fn first_certificate_der(&self) -> Option<Vec<u8>> {
        let start = self.stdout.find("-----BEGIN")?;
        let (_, pem) = x509_parser::pem::parse_x509_pem(&self.stdout.as_bytes()[start..]).ok()?;
        Some(pem.contents)
    }
}

/// Options of one `s_client` run.
#[derive(Debug, Default, Clone)]
pub struct SClientOptions {
    /// `-servername` (SNI), also checked with `-verify_hostname`.
    pub servername: Option<String>,
    /// `-CAfile`.
    pub ca_file: Option<PathBuf>,
    /// More arguments, e.g. `-tls1_2`.
    pub extra: Vec<String>,
}

/// Runs `openssl s_client -connect ADDRESS -showcerts` with `options`, stdin
/// closed (it handshakes, prints, and exits). Blocking: call it from
/// `tokio::task::spawn_blocking` when the server runs on the same runtime.
pub fn s_client(address: SocketAddr, options: &SClientOptions) -> SClient {
    let mut command = Command::new("openssl");
    command
        .args(["s_client", "-connect", &address.to_string(), "-showcerts"])
        .stdin(Stdio::null());
    if let Some(name) = &options.servername {
        command.args(["-servername", name, "-verify_hostname", name]);
    }
    if let Some(ca) = &options.ca_file {
        command.arg("-CAfile").arg(ca);
    }
    command.args(&options.extra);
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("openssl runs");
    SClient {
        success: status.success(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// [`s_client`] on tokio's blocking pool.
pub async fn s_client_async(address: SocketAddr, options: SClientOptions) -> SClient {
    tokio::task::spawn_blocking(move || s_client(address, &options))
        .await
        .expect("s_client task")
}

/// The SAN DNS names of a DER certificate.
pub fn dns_names(der: &[u8]) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("a certificate");
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(d.to_string()),
            _ => None,
        })
        .collect()
}

/// `dir/certs/NAME-ca.pem`: the authority file gen-cert writes next to `NAME.pem`.
pub fn ca_file(dir: &Path, name: &str) -> PathBuf {
    dir.join("certs").join(format!("{name}-ca.pem"))
}
