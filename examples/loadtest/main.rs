//! Load-testing harness: many voice bots in one process go through the real
//! flow (name server → master → game server), join rooms, and the speakers send
//! voice-sized frames at real-time pace while every listener measures delivery
//! and latency. Optionally measures the server's CPU (`--server-pid`).
//!
//! ```text
//! cargo run --release -p voice-server -- run &
//! cargo run --release --example loadtest -- --rooms 20 --clients-per-room 10 \
//!     --speakers-per-room 2 --duration 30 --server-pid $(pgrep -n voice-server) \
//!     --json load.json --plot load.svg
//! ```
//!
//! Exit status: 0 when the delivery ratio reached `--min-delivery` and every bot
//! connected; 1 when not; 2 for bad arguments or when nothing could connect.

mod harness;

use clap::{Parser, ValueEnum};
use harness::{render_summary, LoadConfig};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use transport::runtime::tls::ClientTlsConfig;
use transport::runtime::ClientConfig;
use transport::Protocol;

/// Load test for the voice server: bots in rooms, speakers sending frames,
/// listeners measuring delivery and latency.
#[derive(Debug, Parser)]
#[command(name = "loadtest", version, about)]
struct Args {
    /// Name server: HOST, HOST:PORT or a full URL. Without a port, Photon's
    /// default for the protocol (udp 5058, tcp 4533, ws 9093, wss 19093, tls 14533).
    #[arg(long, default_value = "127.0.0.1")]
    server: String,
    /// Transport protocol of every bot.
    #[arg(long, value_enum, default_value_t = ProtocolArg::Udp)]
    protocol: ProtocolArg,
    /// Rooms, named load-0, load-1, ...
    #[arg(long, default_value_t = 10)]
    rooms: usize,
    /// Bots per room.
    #[arg(long, default_value_t = 10)]
    clients_per_room: usize,
    /// Speaking bots per room (the others only listen); 0 for an idle run that
    /// measures what connected, silent peers and rooms cost the server.
    #[arg(long, default_value_t = 2)]
    speakers_per_room: usize,
    /// Frame interval in milliseconds.
    #[arg(long, default_value_t = 20)]
    frame_ms: u64,
    /// Payload bytes per frame (at least 24: sequence number and timestamp).
    #[arg(long, default_value_t = 60)]
    payload_bytes: usize,
    /// Encrypt frames (key exchange with the game server first).
    #[arg(long)]
    encrypt: bool,
    /// Measured window in seconds.
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    /// Seconds of sending before the window (not counted).
    #[arg(long, default_value_t = 5.0)]
    warmup: f64,
    /// Seconds listeners keep waiting after the window for frames in flight.
    #[arg(long, default_value_t = 1.0)]
    drain: f64,
    /// Server process id: its CPU (user + system, /proc/PID/stat) is measured
    /// over the window.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Write the summary as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Draw per-second latency (p50/p95/p99/max) to this SVG file.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Fail (exit 1) when the delivery ratio is below this.
    #[arg(long, default_value_t = 0.99)]
    min_delivery: f64,
    /// CA certificate (PEM) to trust for wss and tls, e.g. the one `voice-server gen-cert` wrote.
    #[arg(long)]
    ca_file: Vec<PathBuf>,
    /// Application id sent to the name server.
    #[arg(long, default_value = "loadtest")]
    app_id: String,
    /// Application version sent to the name server.
    #[arg(long, default_value = "1")]
    app_version: String,
    /// Bots going through the connect flow at the same time.
    #[arg(long, default_value_t = 32)]
    connect_concurrency: usize,
    /// Extra attempts per bot when its connect flow fails.
    #[arg(long, default_value_t = 2)]
    connect_retries: u32,
    /// Tokio worker threads (default: one per CPU core).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bars (for logs and scripts).
    #[arg(long)]
    quiet: bool,
    /// Speech WAV file: speakers send real Opus frames encoded from it (through
    /// the voice client's encoder) after the frame header, instead of padding.
    #[arg(long, value_name = "FILE.wav")]
    voice: Option<PathBuf>,
}

/// `--protocol` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProtocolArg {
    Udp,
    Tcp,
    Ws,
    Wss,
    Tls,
}

impl From<ProtocolArg> for Protocol {
    fn from(p: ProtocolArg) -> Protocol {
        match p {
            ProtocolArg::Udp => Protocol::Udp,
            ProtocolArg::Tcp => Protocol::Tcp,
            ProtocolArg::Ws => Protocol::Ws,
            ProtocolArg::Wss => Protocol::Wss,
            ProtocolArg::Tls => Protocol::Tls,
        }
    }
}

fn seconds(name: &str, value: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| format!("--{name} {value}: give a number of seconds, 0 or more"))
}

fn config_from(args: &Args) -> Result<LoadConfig, String> {
    let protocol = Protocol::from(args.protocol);
    for file in &args.ca_file {
        if !file.is_file() {
            return Err(format!(
                "--ca-file {}: no such file; give the PEM certificate the server uses (voice-server gen-cert writes certs/server.pem)",
                file.display()
            ));
        }
    }
    let client = ClientConfig {
        tls: ClientTlsConfig {
            extra_ca_files: args.ca_file.clone(),
            ..ClientTlsConfig::default()
        },
        ..ClientConfig::default()
    };
    let config = LoadConfig {
        name_url: harness::name_server_url(&args.server, protocol)?,
        rooms: args.rooms,
        clients_per_room: args.clients_per_room,
        speakers_per_room: args.speakers_per_room,
        frame: Duration::from_millis(args.frame_ms),
        payload_bytes: args.payload_bytes,
        encrypt: args.encrypt,
        duration: seconds("duration", args.duration)?,
        warmup: seconds("warmup", args.warmup)?,
        drain: seconds("drain", args.drain)?,
        server_pid: args.server_pid,
        app_id: args.app_id.clone(),
        app_version: args.app_version.clone(),
        room_prefix: "load-".into(),
        client,
        connect_concurrency: args.connect_concurrency,
        connect_retries: args.connect_retries,
        min_delivery: args.min_delivery,
        progress: !args.quiet,
        voice: match &args.voice {
            Some(path) => Some(std::sync::Arc::new(harness::voice::encode_wav(
                path,
                Duration::from_millis(args.frame_ms),
            )?)),
            None => None,
        },
        voice_file: args.voice.as_ref().map(|p| p.display().to_string()),
    };
    config.validate()?;
    Ok(config)
}

/// Warns when the open-file limit is below what the bots need (one socket each).
fn check_open_files(bots: usize) {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return;
    };
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(soft) = soft {
        if soft < bots + 64 {
            eprintln!(
                "warning: the open-file limit is {soft} but {bots} bots need about {} sockets; raise it with `ulimit -n {}`",
                bots + 64,
                (bots + 64).next_power_of_two()
            );
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match config_from(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    check_open_files(config.rooms * config.clients_per_room);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name("loadtest");
    if let Some(threads) = args.threads {
        builder.worker_threads(threads.max(1));
    }
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let summary = match runtime.block_on(harness::run(&config)) {
        Ok(summary) => summary,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.shutdown_timeout(Duration::from_secs(1));
    print!("{}", render_summary(&summary));
    if let Some(path) = &args.json {
        let written = serde_json::to_string_pretty(&summary)
            .map_err(|e| e.to_string())
            .and_then(|text| std::fs::write(path, text + "\n").map_err(|e| e.to_string()));
        match written {
            Ok(()) => println!("summary written to {}", path.display()),
            Err(e) => eprintln!("error: cannot write {}: {e}", path.display()),
        }
    }
    if let Some(path) = &args.plot {
        match std::fs::write(path, harness::plot::render_svg(&summary)) {
            Ok(()) => println!("latency plot written to {}", path.display()),
            Err(e) => eprintln!("error: cannot write {}: {e}", path.display()),
        }
    }
    if summary.connect_failures > 0 {
        eprintln!(
            "FAILED: {} of {} bots could not connect (first error above)",
            summary.connect_failures, summary.clients_requested
        );
    }
    if summary.delivery_ratio < summary.min_delivery {
        eprintln!(
            "FAILED: delivery ratio {:.4} is below --min-delivery {} ({} of {} expected frames delivered)",
            summary.delivery_ratio,
            summary.min_delivery,
            summary.frames_delivered,
            summary.frames_expected
        );
    }
    if summary.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
