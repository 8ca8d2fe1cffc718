//! Push-to-talk in a terminal: hold SPACE to talk (terminals send key
//! repeats; the key counts as released when they stop for ~300 ms), `t`
//! toggles talking, `q` quits. Shows who is in the room (`*` = speaking),
//! the input level, the round trip and the loss.
//!
//! ```text
//! cargo run --release --example push-to-talk -- --room demo
//! cargo run --release --example push-to-talk -- --input speech.wav --output heard.wav \
//!     --script "wait:1000,down:2000,up:1500,quit"
//! ```

mod app;

use app::{Input, Key, Output, PttConfig};
use clap::Parser;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::time::Duration;

/// Push-to-talk voice chat client.
#[derive(Debug, Parser)]
struct Args {
    /// Server address (host:port) or a full URL such as udp://127.0.0.1:5058.
    #[arg(long, default_value = "127.0.0.1:5058")]
    server: String,
    /// Protocol when --server is host:port: udp, tcp, ws or wss.
    #[arg(long, default_value = "udp")]
    protocol: String,
    /// Room to join (created if it does not exist).
    #[arg(long, default_value = "lobby")]
    room: String,
    /// Your name in the room. Default: user-<pid>.
    #[arg(long)]
    user: Option<String>,
    /// List the audio devices and exit.
    #[arg(long)]
    list_devices: bool,
    /// Capture device name (see --list-devices). Default: the default device.
    #[arg(long)]
    input_device: Option<String>,
    /// Playback device name (see --list-devices). Default: the default device.
    #[arg(long)]
    output_device: Option<String>,
    /// Talk this WAV file (looped) instead of a microphone.
    #[arg(long, conflicts_with = "input_device")]
    input: Option<PathBuf>,
    /// Write what you hear to this WAV file (48 kHz mono) instead of a speaker.
    #[arg(long, conflicts_with = "output_device")]
    output: Option<PathBuf>,
    /// Scripted keys instead of the keyboard, e.g. "wait:1000,down:2000,up:1500,toggle,quit".
    #[arg(long)]
    script: Option<String>,
    /// Leave after this many seconds.
    #[arg(long)]
    duration_s: Option<u64>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("push-to-talk: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Puts the terminal in non-canonical, no-echo mode; restores it on drop.
struct RawTerminal;

impl RawTerminal {
    fn enable() -> Option<Self> {
        let ok = std::process::Command::new("stty")
            .args(["-icanon", "-echo", "-isig", "min", "1"])
            .stdin(std::process::Stdio::inherit())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Self)
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = std::process::Command::new("stty")
            .args(["icanon", "echo", "isig"])
            .stdin(std::process::Stdio::inherit())
            .status();
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    use voice_client::audio::device;
    if args.list_devices {
        println!("input devices:");
        for name in device::input_devices()? {
            println!("  {name}");
        }
        println!("output devices:");
        for name in device::output_devices()? {
            println!("  {name}");
        }
        return Ok(());
    }
    let server = if args.server.contains("://") {
        args.server.clone()
    } else {
        match args.protocol.as_str() {
            "udp" | "tcp" => format!("{}://{}", args.protocol, args.server),
            // WebSocket name servers listen on the path /NameServer (Photon's).
            "ws" | "wss" => format!("{}://{}/NameServer", args.protocol, args.server),
            other => {
                return Err(format!("unknown --protocol `{other}`: use udp, tcp, ws or wss").into())
            }
        }
    };
    let mut config = PttConfig::new(
        server,
        args.room,
        args.user
            .unwrap_or_else(|| format!("user-{}", std::process::id())),
    );
    config.input = match (args.input, args.input_device) {
        (Some(path), _) => Input::Wav(path),
        (None, name) => Input::Device(name),
    };
    config.output = match (args.output, args.output_device) {
        (Some(path), _) => Output::Wav(path),
        (None, name) => Output::Device(name),
    };
    config.max_duration = args.duration_s.map(Duration::from_secs);
    let tty = std::io::stdout().is_terminal();
    let mut _raw = None;
    let keys = match args.script {
        Some(text) => {
            config.script = Some(app::parse_script(&text)?);
            None
        }
        None => {
            if std::io::stdin().is_terminal() {
                _raw = RawTerminal::enable();
            }
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut stdin = std::io::stdin();
                let mut byte = [0u8; 1];
                while let Ok(1) = stdin.read(&mut byte) {
                    let key = match byte[0] {
                        b' ' => Key::Space,
                        b't' | b'T' => Key::Toggle,
                        b'q' | b'Q' | 0x1b | 0x03 => Key::Quit,
                        _ => continue,
                    };
                    if tx.send(key).is_err() {
                        break;
                    }
                }
            });
            eprintln!("hold SPACE to talk, t toggles, q quits");
            Some(rx)
        }
    };
    let report = app::run(&config, keys, &mut std::io::stdout(), tty)?;
    println!("left the room; {} frames sent", report.frames_sent);
    Ok(())
}
