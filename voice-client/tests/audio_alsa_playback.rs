//! cpal playback through ALSA's userspace `file` plugin: no sound card needed.
//!
//! The `voice_out` device converts to S16_LE mono 48 kHz (`plug`) and writes
//! everything played to a raw file, which the test reads back. Own test
//! binary because `ALSA_CONFIG_PATH` is process-wide.

use std::time::{Duration, Instant};
use voice_client::audio::device::{open_playback, output_devices, DeviceConfig};
use voice_client::audio::{AudioSink, AudioSource, SineSource};

#[test]
fn playback_writes_the_file_through_cpal_alsa() {
    let dir = tempfile::tempdir().unwrap();
    let outfile = dir.path().join("out.raw");
    let conf = dir.path().join("asound.conf");
    std::fs::write(
        &conf,
        format!(
            r#"</usr/share/alsa/alsa.conf>
pcm.voice_out_raw {{
    type file
    slave.pcm "null"
    file "{}"
    format "raw"
}}
pcm.voice_out {{
    type plug
    slave {{ pcm "voice_out_raw" format S16_LE rate 48000 channels 1 }}
    hint {{ show on description "voice test output" }}
}}
"#,
            outfile.display()
        ),
    )
    .unwrap();
    std::env::set_var("ALSA_CONFIG_PATH", &conf);

    let names = output_devices().unwrap();
    assert!(names.iter().any(|n| n == "voice_out"), "devices: {names:?}");
    // The pipeline plays 24 kHz mono; the sink resamples to the device's rate.
    let (stream, mut sink) =
        open_playback(Some("voice_out"), &DeviceConfig::default(), 24_000, 1).unwrap();
    let mut tone = SineSource::new(24_000, 440.0, 0.5);
    let mut block = vec![0.0; 480];
    let start = Instant::now();
    let mut written = 0;
    // 1 s of audio, fed as the device drains it (bounded in time).
    while written < 24_000 && start.elapsed() < Duration::from_secs(10) {
        if sink.buffered() < 4_800 {
            tone.read(&mut block);
            sink.write(&block).unwrap();
            written += block.len();
        } else {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    drop(stream);
    let raw = std::fs::read(&outfile).unwrap();
    let samples: Vec<f32> = raw
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0)
        .collect();
    let loud: Vec<f32> = samples.iter().copied().filter(|x| x.abs() > 0.05).collect();
    // Most of a 0.5-amplitude sine is above 0.05: ~0.9 s of it must be there.
    assert!(
        loud.len() > 40_000,
        "{} loud samples of {}",
        loud.len(),
        samples.len()
    );
    let peak = samples.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    assert!((0.45..=0.6).contains(&peak), "peak {peak}");
    // The null slave consumes faster than real time, so the callback pads
    // with silence between our blocks; drop those runs of exact zeros and
    // count cycles: 4800 samples = 0.1 s = 44 cycles.
    let tone: Vec<f32> = samples.iter().copied().filter(|x| *x != 0.0).collect();
    let stretch = &tone[4800..9600];
    let crossings = stretch
        .windows(2)
        .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
        .count();
    assert!(
        (40..=48).contains(&crossings),
        "{crossings} cycles in 0.1 s"
    );
}
