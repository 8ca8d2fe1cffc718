//! In-game voice: a headless match where players hear who is near them on
//! the map (interest groups by cell) and their team (a team group).
//!
//! ```text
//! cargo run --release --example in-game -- --players 8 --seed 42 --duration-s 10
//! ```
//!
//! Without `--server` a voice server is started in this process on
//! 127.0.0.1 (ephemeral ports). See examples/README.md.

mod game;

use clap::Parser;
use std::time::Duration;
use transport::Protocol;
use voice_server::config::{Config, Role};

/// Headless in-game voice simulation.
#[derive(Debug, Parser)]
struct Args {
    /// Players in the match (2..=32).
    #[arg(long, default_value_t = 8)]
    players: usize,
    /// Seed of positions and moves.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Match length in seconds.
    #[arg(long, default_value_t = 10)]
    duration_s: u64,
    /// Map width and height in cells.
    #[arg(long, default_value_t = 4)]
    map_size: i32,
    /// Name server URL (e.g. udp://127.0.0.1:5058). Default: start a server in-process.
    #[arg(long)]
    server: Option<String>,
    /// Write what this player (e.g. P2) hears to --output.
    #[arg(long, requires = "output")]
    listen_as: Option<String>,
    /// WAV file (48 kHz mono) for --listen-as.
    #[arg(long, requires = "listen_as")]
    output: Option<std::path::PathBuf>,
    /// Speech WAV the bots say. Default: voice-client/assets/speech16k.wav.
    #[arg(long)]
    speech: Option<std::path::PathBuf>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("in-game: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let speech_path = args.speech.unwrap_or_else(game::default_speech_path);
    let listen = match (args.listen_as, args.output) {
        (Some(name), Some(path)) => {
            let index = name
                .strip_prefix('P')
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| format!("--listen-as `{name}`: use a player name such as P2"))?;
            Some((index, path))
        }
        _ => None,
    };
    let config = game::GameConfig {
        listen,
        players: args.players,
        seed: args.seed,
        duration: Duration::from_secs(args.duration_s),
        map: (args.map_size, args.map_size),
        speech: game::load_speech(&speech_path)?,
        ..game::GameConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let (server, deployment) = match args.server {
        Some(url) => (url, None),
        None => {
            let d = runtime.block_on(voice_server::run::start(
                Config::loopback(),
                voice_server::run::StartOptions::default(),
            ))?;
            let url = d
                .url(Role::Name, Protocol::Udp)
                .ok_or("the in-process server has no UDP name server listener")?;
            (url, Some(d))
        }
    };
    let mut stdout = std::io::stdout();
    let record = game::run(&config, &server, &mut stdout)?;
    println!(
        "done: {} receptions logged over {:.1} s, {} moves",
        record.heard.len(),
        record.ran.as_secs_f64(),
        record.moves.len()
    );
    if let Some(d) = deployment {
        runtime.block_on(d.shutdown());
    }
    Ok(())
}
