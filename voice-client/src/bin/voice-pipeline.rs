//! Runs a WAV file through the voice pipeline on a virtual clock and writes
//! what the receiver plays.
//!
//! ```text
//! voice-pipeline IN.wav OUT.wav [--loss PERCENT] [--seed N] [--jitter-ms MS]
//!     [--delay-ms MS] [--bitrate BPS] [--expected-loss PERCENT] [--mode pipeline|plain|none]
//! ```
//!
//! `pipeline` (default): LocalVoice → emulated network (seeded loss pattern,
//! delay, jitter) → jitter buffer + FEC + PLC → OUT. `plain`: libopus at the
//! same settings, the same loss pattern, PLC only. `none`: no codec, only the
//! resampling and alignment (a baseline). OUT has IN's rate, and is
//! trimmed by the measured overall delay. A JSON line of statistics goes to stdout.

use std::process::ExitCode;
use std::time::Duration;
use voice_client::analysis::{compare, resample_all};
use voice_client::audio::{read_wav, write_wav};
use voice_client::sim::{loss_pattern, plain_opus, simulate, SimulationConfig};
use voice_client::voice_transport::EmulatorConfig;

const USAGE: &str = "usage: voice-pipeline IN.wav OUT.wav [--loss PERCENT] [--seed N] [--jitter-ms MS] [--delay-ms MS] [--bitrate BPS] [--expected-loss PERCENT] [--mode pipeline|plain|none]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("voice-pipeline: {e}\n{USAGE}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = Vec::new();
    let (mut loss, mut seed, mut jitter_ms, mut delay_ms) = (0.0f64, 1u64, 20u64, 30u64);
    let (mut bitrate, mut expected_loss, mut mode) = (24_000u32, None, "pipeline".to_owned());
    let mut i = 0;
    while i < args.len() {
        let value = |i: usize| {
            args.get(i + 1)
                .cloned()
                .ok_or(format!("{} needs a value", args[i]))
        };
        match args[i].as_str() {
            "--loss" => loss = value(i)?.parse::<f64>()? / 100.0,
            "--seed" => seed = value(i)?.parse()?,
            "--jitter-ms" => jitter_ms = value(i)?.parse()?,
            "--delay-ms" => delay_ms = value(i)?.parse()?,
            "--bitrate" => bitrate = value(i)?.parse()?,
            "--expected-loss" => expected_loss = Some(value(i)?.parse::<u8>()?),
            "--mode" => mode = value(i)?,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other if other.starts_with("--") => {
                return Err(format!("unknown option {other}").into())
            }
            other => {
                positional.push(other.to_owned());
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    let [input, output] = positional.as_slice() else {
        return Err("give IN.wav and OUT.wav".into());
    };
    let (rate, channels, samples) = read_wav(input)?;
    let mono: Vec<f32> = if channels == 2 {
        samples
            .chunks_exact(2)
            .map(|c| 0.5 * (c[0] + c[1]))
            .collect()
    } else {
        samples
    };
    let speech = resample_all(&mono, rate, 48_000)?;
    let mut config = SimulationConfig {
        network: EmulatorConfig {
            loss,
            delay: Duration::from_millis(delay_ms),
            jitter: Duration::from_millis(jitter_ms),
            seed,
        },
        ..SimulationConfig::default()
    };
    config.codec.bitrate = bitrate;
    if let Some(perc) = expected_loss {
        config.codec.packet_loss_perc = perc;
    }
    let frame = config.codec.format.frame_samples();
    let (decoded, stats) = match mode.as_str() {
        "pipeline" => {
            let report = simulate(&speech, &config)?;
            let stats = format!(
                r#""frames_sent":{},"lost":{},"late":{},"fec_recovered":{},"concealed":{},"underruns":{},"dropped":{},"max_delay_ms":{:.1},"jitter_ms":{:.1}"#,
                report.local.frames_sent,
                report.remote.lost,
                report.remote.late,
                report.remote.fec_recovered,
                report.remote.concealed,
                report.underruns_after_adaptation,
                report.remote.dropped,
                report.max_delay_after_adaptation.as_secs_f64() * 1000.0,
                report.remote.jitter.as_secs_f64() * 1000.0,
            );
            (report.output, stats)
        }
        "plain" => {
            let lost = loss_pattern(seed, speech.len().div_ceil(frame), loss);
            let dropped = lost.iter().filter(|&&l| l).count();
            (
                plain_opus(&speech, &config.codec, &lost)?,
                format!(r#""lost":{dropped}"#),
            )
        }
        // Only the resampling and alignment (a baseline for scores).
        "none" => (speech.clone(), String::from(r#""lost":0"#)),
        other => return Err(format!("unknown mode {other}: use pipeline, plain or none").into()),
    };
    let c = compare(&speech, &decoded, 48_000, 48_000);
    let start = c.lag.max(0) as usize;
    let mut aligned: Vec<f32> = decoded
        .iter()
        .copied()
        .skip(start)
        .take(speech.len())
        .collect();
    aligned.resize(speech.len(), 0.0);
    let out = resample_all(&aligned, 48_000, rate)?;
    write_wav(output, rate, 1, &out)?;
    println!(
        r#"{{"mode":"{mode}","loss_percent":{},"seed":{seed},"lag_ms":{:.1},"correlation":{:.4},{stats}}}"#,
        loss * 100.0,
        c.lag as f64 / 48.0,
        c.segmental,
    );
    Ok(())
}
