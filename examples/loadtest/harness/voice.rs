//! `--voice FILE.wav`: real Opus frames for the speakers, encoded once at start
//! from speech through the voice client's encoder (VOIP mode, FEC, the voice
//! client's default bitrate), so the server relays frames of real sizes.

use bytes::Bytes;
use std::path::Path;
use std::time::Duration;
use voice_client::analysis::resample_all;
use voice_client::audio::read_wav;
use voice_client::{CodecConfig, FrameDuration, OpusEncoder};

/// Encodes `path` into Opus packets of `frame` duration at the codec's rate.
/// DTX packets (1-2 bytes, which the voice client never sends) are left out.
pub fn encode_wav(path: &Path, frame: Duration) -> Result<Vec<Bytes>, String> {
    let frame_duration = FrameDuration::try_from(frame.as_micros() as u32).map_err(|_| {
        format!(
            "--voice needs --frame-ms 10, 20, 40 or 60 (Opus frame durations), not {}",
            frame.as_millis()
        )
    })?;
    let (rate, channels, samples) = read_wav(path)
        .map_err(|e| format!("--voice {}: cannot read the WAV file: {e}", path.display()))?;
    let mono: Vec<f32> = if channels == 2 {
        samples
            .chunks(2)
            .map(|pair| (pair[0] + pair.get(1).copied().unwrap_or(0.0)) / 2.0)
            .collect()
    } else {
        samples
    };
    let mut codec = CodecConfig::default();
    codec.format.frame_duration = frame_duration;
    let target = codec.format.sampling_rate.hz();
    let pcm = resample_all(&mono, rate, target).map_err(|e| {
        format!(
            "--voice {}: cannot resample to {target} Hz: {e}",
            path.display()
        )
    })?;
    let mut encoder = OpusEncoder::new(&codec)
        .map_err(|e| format!("--voice: cannot create the Opus encoder: {e}"))?;
    let frame_samples = codec.format.frame_samples();
    let mut out = vec![0u8; 4000];
    let mut packets = Vec::new();
    for chunk in pcm.chunks_exact(frame_samples) {
        let len = encoder
            .encode(chunk, &mut out)
            .map_err(|e| format!("--voice: encoding failed: {e}"))?;
        if len > 2 {
            packets.push(Bytes::copy_from_slice(&out[..len]));
        }
    }
    if packets.is_empty() {
        return Err(format!(
            "--voice {}: no speech frame in the file (too short or silent)",
            path.display()
        ));
    }
    Ok(packets)
}
