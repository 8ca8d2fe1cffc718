//! A whole send → network → receive run on a virtual clock: the pipeline test,
//! the `voice-pipeline` binary and the quality report use it.
//!
//! One [`LocalVoice`] encodes the input frame by frame into a
//! [`LoopbackTransport`]; each frame crosses a [`NetworkEmulator`] (seeded
//! loss pattern, delay, jitter) and reaches a [`VoiceReceiver`], which is read
//! once per frame on the same clock and written to the output.

use crate::codec::{OpusDecoder, OpusEncoder};
use crate::config::{CodecConfig, MAX_OPUS_PACKET};
use crate::error::CodecError;
use crate::jitter::JitterConfig;
use crate::local::{LocalVoice, LocalVoiceConfig, LocalVoiceStats};
use crate::processing::ProcessingConfig;
use crate::protocol::VoiceId;
use crate::remote::{RemoteVoiceConfig, RemoteVoiceError, RemoteVoiceStats, VoiceReceiver};
use crate::voice_transport::{EmulatorConfig, LoopbackTransport, NetworkEmulator, Sent};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::time::{Duration, Instant};

/// Settings of a simulated run.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulationConfig {
    /// Encoder settings; the input must be at its rate and channel count.
    pub codec: CodecConfig,
    /// Processing before encoding.
    pub processing: ProcessingConfig,
    /// Receiver jitter buffer.
    pub jitter: JitterConfig,
    /// Network delay and jitter; `loss` with `network.seed` draws the loss pattern.
    pub network: EmulatorConfig,
    /// Time after the adaptation phase from which underruns and delay are
    /// checked. Defaults to 2 s (one jitter window at 20 ms).
    pub adaptation: Duration,
}

impl Default for SimulationConfig {
    fn default() -> Self {
        Self {
            codec: CodecConfig::default(),
            processing: ProcessingConfig::default(),
            jitter: JitterConfig::default(),
            network: EmulatorConfig::default(),
            adaptation: Duration::from_secs(2),
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct SimulationReport {
    /// Received audio at the codec's rate and channels; longer than the
    /// input by the pipeline delay and a flush tail.
    pub output: Vec<f32>,
    /// Sender counters.
    pub local: LocalVoiceStats,
    /// Receiver counters.
    pub remote: RemoteVoiceStats,
    /// Frames the network dropped.
    pub network_dropped: u64,
    /// Underruns after the adaptation phase until the input ended.
    pub underruns_after_adaptation: u64,
    /// Largest buffer delay seen after the adaptation phase.
    pub max_delay_after_adaptation: Duration,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimulationError {
    /// Encoder problem.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// Receiver problem.
    #[error(transparent)]
    Remote(#[from] RemoteVoiceError),
}

/// The per-frame loss decisions for `frames` frames: `true` means lost.
pub fn loss_pattern(seed: u64, frames: usize, loss: f64) -> Vec<bool> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x10_55);
    (0..frames)
        .map(|_| rng.gen_bool(loss.clamp(0.0, 1.0)))
        .collect()
}

/// Runs `input` (interleaved, at the codec's format) through the pipeline.
pub fn simulate(
    input: &[f32],
    config: &SimulationConfig,
) -> Result<SimulationReport, SimulationError> {
    let format = config.codec.format;
    let frame_samples = format.frame_samples();
    let frame = format.frame_duration.duration();
    let frames = input.len().div_ceil(frame_samples);
    let lost = loss_pattern(config.network.seed, frames, config.network.loss);
    let id = VoiceId::try_from(1).map_err(|_| {
        CodecError::Config(crate::error::ConfigError::Invalid {
            name: "voice id",
            fix: "use 1..=15",
        })
    })?;
    let mut voice = LocalVoice::new(
        id,
        LocalVoiceConfig {
            codec: config.codec.clone(),
            processing: config.processing.clone(),
            ..LocalVoiceConfig::default()
        },
    )?;
    let mut loopback = LoopbackTransport::new();
    let mut network = NetworkEmulator::new(config.network.clone());
    let mut receiver = VoiceReceiver::new(RemoteVoiceConfig {
        jitter: config.jitter.clone(),
        output_rate: format.sampling_rate,
        output_channels: format.channels,
        ..RemoteVoiceConfig::default()
    });
    const ACTOR: i32 = 1;
    voice.announce(&mut loopback);

    let base = Instant::now();
    let tail_frames = (config.jitter.max_delay.as_micros() / frame.as_micros()) as usize + 10;
    let mut output = vec![0.0; (frames + tail_frames) * frame_samples];
    let mut pcm = vec![0.0; frame_samples];
    let mut underruns_at_adaptation = None;
    let mut underruns_at_end = None;
    let mut max_delay = Duration::ZERO;
    for k in 0..frames + tail_frames {
        let now = base + frame * k as u32;
        if k < frames {
            let start = k * frame_samples;
            let end = (start + frame_samples).min(input.len());
            pcm.fill(0.0);
            pcm[..end - start].copy_from_slice(&input[start..end]);
            voice.push_frame(now, &pcm, &mut loopback)?;
        } else if k == frames {
            // Release push-to-talk: the receiver gets an end of stream.
            voice.set_transmit_enabled(false, &mut loopback);
        }
        for sent in loopback.drain() {
            match sent {
                Sent::Event(event, _) => receiver.handle_event(ACTOR, &event)?,
                Sent::Frame { bytes, options } => {
                    let drop = k < frames && lost[k];
                    network.send_decided(now, bytes, options.reliable, drop);
                }
            }
        }
        while let Some((at, bytes)) = network.poll_receive(now) {
            // Bad payloads cannot occur here; they would be dropped.
            let _ = receiver.handle_frame(at, ACTOR, &bytes);
        }
        let out = &mut output[k * frame_samples..(k + 1) * frame_samples];
        receiver.mix(now, out);
        let stats = receiver.voices()[0].stats();
        if frame * k as u32 >= config.adaptation {
            underruns_at_adaptation.get_or_insert(stats.underruns);
            if k < frames {
                max_delay = max_delay.max(stats.buffer_delay);
            } else {
                underruns_at_end.get_or_insert(stats.underruns);
            }
        }
    }
    let remote = receiver.voices()[0].stats();
    Ok(SimulationReport {
        output,
        local: voice.stats(),
        remote,
        network_dropped: lost.iter().filter(|&&l| l).count() as u64,
        underruns_after_adaptation: underruns_at_end.unwrap_or(remote.underruns)
            - underruns_at_adaptation.unwrap_or(remote.underruns),
        max_delay_after_adaptation: max_delay,
    })
}

/// Plain libopus at the same settings: every frame encoded, frames marked in
/// `lost` concealed by PLC (no FEC, no jitter buffer). Output has the same
/// length as the input (rounded up to whole frames).
pub fn plain_opus(
    input: &[f32],
    codec: &CodecConfig,
    lost: &[bool],
) -> Result<Vec<f32>, CodecError> {
    let frame_samples = codec.format.frame_samples();
    let mut encoder = OpusEncoder::new(codec)?;
    let mut decoder = OpusDecoder::new(codec.format)?;
    let frames = input.len().div_ceil(frame_samples);
    let mut output = vec![0.0; frames * frame_samples];
    let mut pcm = vec![0.0; frame_samples];
    let mut packet = vec![0u8; MAX_OPUS_PACKET];
    for (k, out) in output.chunks_exact_mut(frame_samples).enumerate() {
        let start = k * frame_samples;
        let end = (start + frame_samples).min(input.len());
        pcm.fill(0.0);
        pcm[..end - start].copy_from_slice(&input[start..end]);
        let n = encoder.encode(&pcm, &mut packet)?;
        if lost.get(k).copied().unwrap_or(false) {
            decoder.conceal(out)?;
        } else {
            decoder.decode(&packet[..n], out)?;
        }
    }
    Ok(output)
}
