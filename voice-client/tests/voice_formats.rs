//! Other codec formats through the receiver, and garbage payloads that must
//! never panic.

use rand::{rngs::StdRng, Rng, SeedableRng};
use std::time::{Duration, Instant};
use voice_client::analysis::compare;
use voice_client::audio::{AudioSource, FrameAssembler, SineSource};
use voice_client::config::{AudioFormat, Channels, CodecConfig, FrameDuration, SamplingRate};
use voice_client::local::{LocalVoice, LocalVoiceConfig};
use voice_client::protocol::VoiceId;
use voice_client::remote::{RemoteVoiceConfig, VoiceReceiver};
use voice_client::voice_transport::{LoopbackTransport, Sent};

/// A 16 kHz stereo voice with 40 ms frames, played into a 48 kHz mono mix.
#[test]
fn stereo_16k_40ms_voice_plays_into_48k_mono_mix() {
    let format = AudioFormat {
        sampling_rate: SamplingRate::Hz16000,
        channels: Channels::Stereo,
        frame_duration: FrameDuration::Ms40,
    };
    let config = LocalVoiceConfig {
        codec: CodecConfig {
            format,
            bitrate: 32_000,
            ..CodecConfig::default()
        },
        ..LocalVoiceConfig::default()
    };
    let mut voice = LocalVoice::new(VoiceId::try_from(9).unwrap(), config).unwrap();
    let mut loopback = LoopbackTransport::new();
    let mut receiver = VoiceReceiver::new(RemoteVoiceConfig::default());
    voice.announce(&mut loopback);
    // A 48 kHz mono tone assembled into 16 kHz stereo frames (resampled, duplicated).
    let mut frames = FrameAssembler::new(
        Box::new(SineSource::new(48_000, 500.0, 0.4)),
        16_000,
        2,
        format.frame_samples(),
    )
    .unwrap();
    let mut pcm = vec![0.0; format.frame_samples()];
    let mut out = vec![0.0; 960];
    let mut played = Vec::new();
    let base = Instant::now();
    for k in 0..150u32 {
        let now = base + Duration::from_millis(20) * k;
        if k % 2 == 0 {
            assert!(frames.next_frame(&mut pcm).unwrap());
            voice.push_frame(now, &pcm, &mut loopback).unwrap();
        }
        for sent in loopback.drain() {
            match sent {
                Sent::Event(e, _) => receiver.handle_event(5, &e).unwrap(),
                Sent::Frame { bytes, .. } => {
                    receiver.handle_frame(now, 5, &bytes).unwrap();
                }
            }
        }
        receiver.mix(now, &mut out);
        played.extend_from_slice(&out);
    }
    let stats = receiver.voices()[0].stats();
    assert_eq!(stats.lost, 0, "{stats:?}");
    assert!(stats.frames_played >= 70, "{stats:?}");
    let mut reference = vec![0.0; 48_000];
    SineSource::new(48_000, 500.0, 0.4).read(&mut reference);
    let c = compare(&reference, &played[48_000..], 48_000, 4800);
    assert!(c.global > 0.9, "{c:?}");
}

#[test]
fn garbage_payloads_never_panic() {
    let mut loopback = LoopbackTransport::new();
    let mut voice =
        LocalVoice::new(VoiceId::try_from(1).unwrap(), LocalVoiceConfig::default()).unwrap();
    let mut receiver = VoiceReceiver::new(RemoteVoiceConfig::default());
    voice.announce(&mut loopback);
    for sent in loopback.drain() {
        if let Sent::Event(e, _) = sent {
            receiver.handle_event(1, &e).unwrap();
        }
    }
    let mut rng = StdRng::seed_from_u64(99);
    let base = Instant::now();
    let mut out = vec![0.0; 960];
    for k in 0..2000u32 {
        let now = base + Duration::from_millis(20) * (k / 4);
        let len = rng.gen_range(0..300);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        if len > 0 && rng.gen_bool(0.8) {
            bytes[0] = 1; // aim at the known voice
        }
        let _ = receiver.handle_frame(now, 1, &bytes);
        if k % 4 == 0 {
            receiver.mix(now, &mut out);
            assert!(out
                .iter()
                .all(|x| x.is_finite() && (-1.0..=1.0).contains(x)));
        }
    }
    let stats = receiver.voices()[0].stats();
    assert!(stats.frames_received > 0);
}
