//! Command-line interface (`voice-server run | check-config | gen-cert | doctor`).

use crate::config::{Config, Role};
use crate::run::{start, StartOptions};
use clap::{Parser, Subcommand, ValueEnum};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Self-hostable realtime voice server: name server, master server, game server.
#[derive(Debug, Parser)]
#[command(name = "voice-server", version, about)]
pub struct Cli {
    /// What to do (default: run with the embedded configuration).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the servers. Without --config: a complete deployment on this machine
    /// (Photon's ports, binding 0.0.0.0, announcing 127.0.0.1).
    Run {
        /// Configuration file (TOML; see config/example.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Which role(s) this process runs.
        #[arg(long, value_enum, default_value_t = RoleArg::All)]
        role: RoleArg,
    },
    /// Checks a configuration file and reports every problem with its line and fix.
    CheckConfig {
        /// The file.
        file: PathBuf,
    },
    /// Generates a self-signed certificate for WSS (development).
    GenCert {
        /// DNS name in the certificate (repeatable). Defaults to localhost.
        #[arg(long = "domain")]
        domains: Vec<String>,
        /// IP address in the certificate (repeatable). Defaults to 127.0.0.1 and ::1.
        #[arg(long = "ip")]
        ips: Vec<IpAddr>,
        /// Certificate chain output (with the key unless --key-out is given).
        #[arg(long, default_value = "certs/server.pem")]
        out: PathBuf,
        /// Write the private key to its own file.
        #[arg(long)]
        key_out: Option<PathBuf>,
        /// Validity in days.
        #[arg(long, default_value_t = 365)]
        days: u32,
    },
    /// Diagnoses a server URL (e.g. wss://host:19093/NameServer or tls://host:14533): DNS,
    /// TCP, TLS, certificate, WebSocket upgrade (ws/wss), protocol greeting.
    Doctor {
        /// The URL to check.
        url: String,
        /// Extra CA certificate (PEM) to trust, e.g. gen-cert's server-ca.pem (repeatable).
        #[arg(long = "ca-file")]
        ca_files: Vec<PathBuf>,
        /// Trust exactly the certificate with this SHA-256 fingerprint (hex, colons allowed).
        #[arg(long)]
        pin: Vec<String>,
    },
}

/// `--role` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Name, master and game server in one process.
    All,
    /// Name server only.
    Name,
    /// Master server only.
    Master,
    /// Game server only.
    Game,
}

impl RoleArg {
    /// The roles selected.
    pub fn roles(self) -> Vec<Role> {
        match self {
            RoleArg::All => vec![Role::Name, Role::Master, Role::Game],
            RoleArg::Name => vec![Role::Name],
            RoleArg::Master => vec![Role::Master],
            RoleArg::Game => vec![Role::Game],
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

/// Parses the process arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match cli.command.unwrap_or(Command::Run {
        config: None,
        role: RoleArg::All,
    }) {
        Command::Run { config, role } => run(config, role),
        Command::CheckConfig { file } => match crate::check::load_file(&file) {
            Ok(_) => {
                println!("{}: OK", file.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                ExitCode::FAILURE
            }
        },
        Command::GenCert {
            domains,
            ips,
            out,
            key_out,
            days,
        } => gen_cert(domains, ips, out, key_out, days),
        Command::Doctor { url, ca_files, pin } => doctor(url, ca_files, pin),
    }
}

fn run(config_path: Option<PathBuf>, role: RoleArg) -> ExitCode {
    let (config, config_dir) = match &config_path {
        Some(path) => match crate::check::load_file(path) {
            Ok(c) => (
                c,
                path.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from(".")),
            ),
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        },
        None => {
            tracing::info!(
                "no --config: using the embedded default configuration (see config/example.toml)"
            );
            (Config::embedded_default(), PathBuf::from("."))
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let options = StartOptions {
            roles: role.roles(),
            config_dir,
            ..StartOptions::default()
        };
        match start(config, options).await {
            Ok(deployment) => {
                tracing::info!("running; Ctrl-C or SIGTERM stops gracefully");
                deployment.wait_for_shutdown_signal().await;
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cannot start: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

fn gen_cert(
    domains: Vec<String>,
    ips: Vec<IpAddr>,
    out: PathBuf,
    key_out: Option<PathBuf>,
    days: u32,
) -> ExitCode {
    use transport::runtime::tls::{
        generate_self_signed, next_steps_text, write_generated, GenCertOptions,
    };
    let mut options = GenCertOptions {
        days,
        ..GenCertOptions::default()
    };
    if !domains.is_empty() {
        options.domains = domains;
    }
    if !ips.is_empty() {
        options.ips = ips;
    }
    let cert = match generate_self_signed(&options) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    match write_generated(&cert, &out, key_out.as_deref()) {
        Ok(files) => {
            println!(
                "{}",
                next_steps_text(
                    &cert,
                    &files,
                    crate::config::default_port(Role::Name, transport::Protocol::Wss)
                )
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn doctor(url: String, ca_files: Vec<PathBuf>, pins: Vec<String>) -> ExitCode {
    use transport::runtime::tls::{diagnose_voice, parse_fingerprint, ClientTlsConfig};
    let mut trust = ClientTlsConfig {
        extra_ca_files: ca_files,
        ..ClientTlsConfig::default()
    };
    for pin in pins {
        match parse_fingerprint(&pin) {
            Ok(f) => trust.pinned_sha256.push(f),
            Err(e) => {
                eprintln!("--pin {pin}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let checks = runtime.block_on(diagnose_voice(&url, &trust));
    let mut ok = true;
    for check in &checks {
        println!("{check}");
        ok &= check.ok;
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
