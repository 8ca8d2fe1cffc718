//! cpal capture through ALSA's userspace `file` plugin: no sound card needed.
//!
//! The test writes an ALSA configuration (the system one plus a `voice_in`
//! device that reads a raw file) and points `ALSA_CONFIG_PATH` at it. That
//! variable is process-wide, so this scenario has its own test binary.

use std::time::{Duration, Instant};
use voice_client::audio::device::{input_devices, open_capture, DeviceConfig};
use voice_client::audio::{AudioSource, FrameAssembler};

#[test]
fn capture_reads_the_infile_through_cpal_alsa() {
    let dir = tempfile::tempdir().unwrap();
    let infile = dir.path().join("in.raw");
    // 2 s of a 440 Hz tone at half scale, S16_LE mono 48 kHz.
    let raw: Vec<u8> = (0..96_000)
        .flat_map(|i| {
            let s = (0.5 * (std::f32::consts::TAU * 440.0 * i as f32 / 48_000.0).sin() * 32767.0)
                as i16;
            s.to_le_bytes()
        })
        .collect();
    std::fs::write(&infile, raw).unwrap();
    let conf = dir.path().join("asound.conf");
    std::fs::write(
        &conf,
        format!(
            r#"</usr/share/alsa/alsa.conf>
pcm.voice_in_raw {{
    type file
    slave.pcm "null"
    file "/dev/null"
    infile "{}"
    format "raw"
}}
pcm.voice_in {{
    type plug
    slave {{ pcm "voice_in_raw" format S16_LE rate 48000 channels 1 }}
    hint {{ show on description "voice test input" }}
}}
"#,
            infile.display()
        ),
    )
    .unwrap();
    std::env::set_var("ALSA_CONFIG_PATH", &conf);

    let names = input_devices().unwrap();
    assert!(names.iter().any(|n| n == "voice_in"), "devices: {names:?}");
    assert!(matches!(
        open_capture(Some("no_such_device"), &DeviceConfig::default()),
        Err(voice_client::AudioError::DeviceNotFound(_))
    ));

    let (stream, source) = open_capture(Some("voice_in"), &DeviceConfig::default()).unwrap();
    assert_eq!((source.sample_rate(), source.channels()), (48_000, 1));
    // Through the frame assembler the pipeline uses (24 kHz codec: resampled).
    let mut frames = FrameAssembler::new(Box::new(source), 24_000, 1, 480).unwrap();
    let mut got = Vec::new();
    let mut frame = vec![0.0; 480];
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.len() < 12_000 && Instant::now() < deadline {
        if frames.next_frame(&mut frame).unwrap() {
            got.extend_from_slice(&frame);
        } else {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    drop(stream);
    assert!(got.len() >= 12_000, "only {} samples captured", got.len());
    let tone: Vec<f32> = got.iter().copied().skip(2400).take(9600).collect();
    let peak = tone.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    assert!((0.4..=0.6).contains(&peak), "peak {peak}");
    let crossings = tone
        .windows(2)
        .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
        .count();
    // 9600 samples at 24 kHz = 0.4 s of 440 Hz = 176 cycles.
    assert!((165..=187).contains(&crossings), "{crossings} cycles");
}
