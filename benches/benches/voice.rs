//! criterion benches of the voice pipeline: Opus encode and decode of one
//! 20 ms frame (48 kHz mono, 24 kb/s), the jitter buffer per frame (push +
//! pop), and the whole send path per frame (processing + encode + framing).
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::time::{Duration, Instant};
use voice_client::audio::{AudioSource, NoiseSource, SineSource};
use voice_client::codec::{OpusDecoder, OpusEncoder};
use voice_client::config::{CodecConfig, MAX_OPUS_PACKET};
use voice_client::jitter::{JitterBuffer, JitterConfig, Pop};
use voice_client::local::{LocalVoice, LocalVoiceConfig};
use voice_client::processing::{
    GainControlConfig, NoiseGateConfig, ProcessingConfig, VoiceDetectorConfig,
};
use voice_client::protocol::{VoiceId, VoiceInfo};
use voice_client::voice_transport::{FrameOptions, InfoTarget, VoiceSendError, VoiceTransport};

const FRAME: usize = 960;

fn codec_config() -> CodecConfig {
    CodecConfig {
        bitrate: 24_000,
        ..CodecConfig::default()
    }
}

/// A speech-like test signal: a tone plus a little noise, 1 s.
fn signal() -> Vec<f32> {
    let mut tone = vec![0.0; 48_000];
    SineSource::new(48_000, 220.0, 0.3).read(&mut tone);
    let mut noise = vec![0.0; 48_000];
    NoiseSource::new(48_000, 0.05, 1).read(&mut noise);
    tone.iter().zip(&noise).map(|(a, b)| a + b).collect()
}

fn encode(c: &mut Criterion) {
    let input = signal();
    let mut encoder = OpusEncoder::new(&codec_config()).unwrap();
    let mut out = vec![0u8; MAX_OPUS_PACKET];
    let mut k = 0;
    c.bench_function("voice/opus_encode_20ms_48k_mono_24kbps", |b| {
        b.iter(|| {
            let frame = &input[(k % 50) * FRAME..(k % 50 + 1) * FRAME];
            k += 1;
            encoder.encode(frame, &mut out).unwrap()
        })
    });
}

fn decode(c: &mut Criterion) {
    let input = signal();
    let mut encoder = OpusEncoder::new(&codec_config()).unwrap();
    let mut buf = vec![0u8; MAX_OPUS_PACKET];
    let packets: Vec<Vec<u8>> = input
        .chunks_exact(FRAME)
        .map(|f| {
            let n = encoder.encode(f, &mut buf).unwrap();
            buf[..n].to_vec()
        })
        .collect();
    let mut decoder = OpusDecoder::new(Default::default()).unwrap();
    let mut out = vec![0.0; FRAME];
    let mut k = 0;
    c.bench_function("voice/opus_decode_20ms_48k_mono_24kbps", |b| {
        b.iter(|| {
            decoder
                .decode(&packets[k % packets.len()], &mut out)
                .unwrap();
            k += 1;
        })
    });
    c.bench_function("voice/opus_decode_fec_20ms", |b| {
        b.iter(|| {
            decoder
                .decode_fec(&packets[k % packets.len()], &mut out)
                .unwrap();
            k += 1;
        })
    });
}

fn jitter(c: &mut Criterion) {
    let payload = [0x55u8; 80];
    let base = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::default()).unwrap();
    let mut k: u32 = 0;
    c.bench_function("voice/jitter_buffer_push_pop", |b| {
        b.iter(|| {
            let now = base + Duration::from_millis(20) * k;
            jb.push(now, k as u8, &payload);
            let delivered = matches!(jb.pop(now), Pop::Frame { .. });
            k += 1;
            delivered
        })
    });
}

struct NullTransport;

impl VoiceTransport for NullTransport {
    fn send_info(
        &mut self,
        _: VoiceId,
        _: &VoiceInfo,
        _: InfoTarget,
        _: &FrameOptions,
    ) -> Result<(), VoiceSendError> {
        Ok(())
    }
    fn send_frame(&mut self, frame: &[u8], _: &FrameOptions) -> Result<(), VoiceSendError> {
        std::hint::black_box(frame);
        Ok(())
    }
    fn send_remove(&mut self, _: VoiceId, _: &FrameOptions) -> Result<(), VoiceSendError> {
        Ok(())
    }
}

fn send_pipeline(c: &mut Criterion) {
    let input = signal();
    let config = LocalVoiceConfig {
        codec: codec_config(),
        processing: ProcessingConfig {
            voice_detection: Some(VoiceDetectorConfig::default()),
            gain_control: Some(GainControlConfig::default()),
            noise_gate: Some(NoiseGateConfig::default()),
        },
        ..LocalVoiceConfig::default()
    };
    let mut voice = LocalVoice::new(VoiceId::try_from(1).unwrap(), config).unwrap();
    let mut transport = NullTransport;
    let now = Instant::now();
    let mut k = 0;
    c.bench_function("voice/send_pipeline_per_frame", |b| {
        b.iter_batched_ref(
            || (),
            |_| {
                let frame = &input[(k % 50) * FRAME..(k % 50 + 1) * FRAME];
                k += 1;
                voice.push_frame(now, frame, &mut transport).unwrap()
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, encode, decode, jitter, send_pipeline);
criterion_main!(benches);
