//! Audio in and out: the [`AudioSource`] trait and its sources (synthetic
//! signals, WAV files, the application's own audio, capture devices), sinks
//! (WAV file, callback), resampling and the cpal device layer.
//!
//! Samples are `f32` in -1.0..=1.0, interleaved when there are two channels.

pub mod device;
pub mod resample;

use crate::error::AudioError;
use rand::{rngs::SmallRng, Rng, SeedableRng};
use std::path::Path;

pub use resample::{FrameAssembler, StreamResampler};

/// Anything that produces audio: a microphone, a file, a game engine's mixer.
///
/// `read` is called from the encoding tick, never from an audio callback; it
/// may block briefly only if the source is a file. Implement it for your
/// application's own audio.
pub trait AudioSource: Send {
    /// Sampling rate in Hz of the samples `read` returns.
    fn sample_rate(&self) -> u32;
    /// Channels (1 or 2) of the samples `read` returns.
    fn channels(&self) -> usize;
    /// Writes up to `out.len()` interleaved samples (a whole number of
    /// channel frames) and returns how many. 0 means nothing available now;
    /// see [`AudioSource::is_finished`].
    fn read(&mut self, out: &mut [f32]) -> usize;
    /// True when the source will never produce more (end of a file).
    fn is_finished(&self) -> bool {
        false
    }
}

/// A sine tone.
#[derive(Debug, Clone)]
pub struct SineSource {
    rate: u32,
    frequency: f32,
    amplitude: f32,
    phase: f32,
}

impl SineSource {
    /// `frequency` Hz at `amplitude` (0..=1), mono at `rate` Hz.
    pub fn new(rate: u32, frequency: f32, amplitude: f32) -> Self {
        Self {
            rate,
            frequency,
            amplitude,
            phase: 0.0,
        }
    }
}

impl AudioSource for SineSource {
    fn sample_rate(&self) -> u32 {
        self.rate
    }
    fn channels(&self) -> usize {
        1
    }
    fn read(&mut self, out: &mut [f32]) -> usize {
        let step = std::f32::consts::TAU * self.frequency / self.rate as f32;
        for s in out.iter_mut() {
            *s = self.amplitude * self.phase.sin();
            self.phase = (self.phase + step) % std::f32::consts::TAU;
        }
        out.len()
    }
}

/// Seeded white noise.
#[derive(Debug, Clone)]
pub struct NoiseSource {
    rate: u32,
    amplitude: f32,
    rng: SmallRng,
}

impl NoiseSource {
    /// Uniform noise of peak `amplitude`, mono at `rate` Hz, from `seed`.
    pub fn new(rate: u32, amplitude: f32, seed: u64) -> Self {
        Self {
            rate,
            amplitude,
            rng: SmallRng::seed_from_u64(seed),
        }
    }
}

impl AudioSource for NoiseSource {
    fn sample_rate(&self) -> u32 {
        self.rate
    }
    fn channels(&self) -> usize {
        1
    }
    fn read(&mut self, out: &mut [f32]) -> usize {
        for s in out.iter_mut() {
            *s = self.rng.gen_range(-self.amplitude..=self.amplitude);
        }
        out.len()
    }
}

/// Digital silence.
#[derive(Debug, Clone)]
pub struct SilenceSource {
    rate: u32,
}

impl SilenceSource {
    /// Mono silence at `rate` Hz.
    pub fn new(rate: u32) -> Self {
        Self { rate }
    }
}

impl AudioSource for SilenceSource {
    fn sample_rate(&self) -> u32 {
        self.rate
    }
    fn channels(&self) -> usize {
        1
    }
    fn read(&mut self, out: &mut [f32]) -> usize {
        out.fill(0.0);
        out.len()
    }
}

/// A whole WAV file in memory (16/24/32-bit integer or 32-bit float PCM).
#[derive(Debug, Clone)]
pub struct WavSource {
    rate: u32,
    channels: usize,
    samples: Vec<f32>,
    position: usize,
    looping: bool,
}

impl WavSource {
    /// Loads `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AudioError> {
        let (rate, channels, samples) = read_wav(path)?;
        Ok(Self::from_samples(rate, channels, samples))
    }

    /// Wraps samples already in memory.
    pub fn from_samples(rate: u32, channels: usize, samples: Vec<f32>) -> Self {
        Self {
            rate,
            channels,
            samples,
            position: 0,
            looping: false,
        }
    }

    /// Plays the file in a loop (Photon's AudioClip loop) instead of finishing.
    pub fn looping(mut self, looping: bool) -> Self {
        self.looping = looping;
        self
    }

    /// All samples.
    pub fn samples(&self) -> &[f32] {
        &self.samples
    }
}

impl AudioSource for WavSource {
    fn sample_rate(&self) -> u32 {
        self.rate
    }
    fn channels(&self) -> usize {
        self.channels
    }
    fn read(&mut self, out: &mut [f32]) -> usize {
        let mut written = 0;
        let whole = out.len() - out.len() % self.channels.max(1);
        while written < whole {
            if self.position >= self.samples.len() {
                if self.looping && !self.samples.is_empty() {
                    self.position = 0;
                } else {
                    break;
                }
            }
            let n = (whole - written).min(self.samples.len() - self.position);
            out[written..written + n]
                .copy_from_slice(&self.samples[self.position..self.position + n]);
            written += n;
            self.position += n;
        }
        written
    }
    fn is_finished(&self) -> bool {
        !self.looping && self.position >= self.samples.len()
    }
}

/// Reads a WAV file as (rate, channels, interleaved f32 samples).
pub fn read_wav(path: impl AsRef<Path>) -> Result<(u32, usize, Vec<f32>), AudioError> {
    let reader = hound::WavReader::open(path)?;
    let spec = reader.spec();
    let samples: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => {
            reader.into_samples::<f32>().collect::<Result<_, _>>()?
        }
        (hound::SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => {
            let scale = 1.0 / (1i64 << (bits - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()?
        }
        (format, bits) => {
            return Err(AudioError::WavFormat(format!(
                "{bits}-bit {format:?}: convert to 16-bit PCM (e.g. `sox in.wav -b 16 out.wav`)"
            )))
        }
    };
    if !(1..=2).contains(&spec.channels) {
        return Err(AudioError::WavFormat(format!(
            "{} channels: use mono or stereo",
            spec.channels
        )));
    }
    Ok((spec.sample_rate, spec.channels as usize, samples))
}

/// Writes interleaved f32 samples as a 16-bit PCM WAV file.
pub fn write_wav(
    path: impl AsRef<Path>,
    rate: u32,
    channels: usize,
    samples: &[f32],
) -> Result<(), AudioError> {
    let mut sink = WavSink::create(path, rate, channels)?;
    sink.write(samples)?;
    sink.finalize()
}

/// Where decoded, mixed audio goes.
pub trait AudioSink {
    /// Takes interleaved samples.
    fn write(&mut self, samples: &[f32]) -> Result<(), AudioError>;
}

/// A 16-bit PCM WAV file being written.
pub struct WavSink {
    writer: hound::WavWriter<std::io::BufWriter<std::fs::File>>,
}

impl std::fmt::Debug for WavSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSink").finish_non_exhaustive()
    }
}

impl WavSink {
    /// Creates `path` for `rate` Hz and `channels` channels.
    pub fn create(path: impl AsRef<Path>, rate: u32, channels: usize) -> Result<Self, AudioError> {
        let spec = hound::WavSpec {
            channels: channels as u16,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        Ok(Self {
            writer: hound::WavWriter::create(path, spec)?,
        })
    }

    /// Writes the header's lengths and closes the file.
    pub fn finalize(self) -> Result<(), AudioError> {
        Ok(self.writer.finalize()?)
    }
}

impl AudioSink for WavSink {
    fn write(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        for &s in samples {
            self.writer
                .write_sample((s.clamp(-1.0, 1.0) * i16::MAX as f32) as i16)?;
        }
        Ok(())
    }
}

/// A sink that hands every block to the application's callback.
pub struct CallbackSink<F: FnMut(&[f32])>(pub F);

impl<F: FnMut(&[f32])> AudioSink for CallbackSink<F> {
    fn write(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        (self.0)(samples);
        Ok(())
    }
}

/// The writing end of an [`AppSource`]: the application (e.g. a game
/// engine's audio thread) pushes samples here. Lock-free, no allocation.
pub struct AppAudioWriter {
    producer: ringbuf::HeapProd<f32>,
    dropped: u64,
}

impl std::fmt::Debug for AppAudioWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppAudioWriter")
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

impl AppAudioWriter {
    /// Pushes interleaved samples; those that do not fit (the pipeline is
    /// not reading) are dropped and counted. Returns how many were taken.
    pub fn write(&mut self, samples: &[f32]) -> usize {
        use ringbuf::traits::Producer;
        let n = self.producer.push_slice(samples);
        self.dropped += (samples.len() - n) as u64;
        n
    }
    /// Samples dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// An [`AudioSource`] fed by the application through an [`AppAudioWriter`],
/// possibly from another thread.
pub struct AppSource {
    consumer: ringbuf::HeapCons<f32>,
    rate: u32,
    channels: usize,
}

impl std::fmt::Debug for AppSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSource")
            .field("rate", &self.rate)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl AppSource {
    /// A source of `rate` Hz and `channels` channels buffering up to
    /// `capacity` samples, and the writer that feeds it.
    pub fn new(rate: u32, channels: usize, capacity: usize) -> (AppAudioWriter, AppSource) {
        use ringbuf::traits::Split;
        let (producer, consumer) = ringbuf::HeapRb::<f32>::new(capacity.max(1)).split();
        (
            AppAudioWriter {
                producer,
                dropped: 0,
            },
            AppSource {
                consumer,
                rate,
                channels: channels.max(1),
            },
        )
    }
}

impl AudioSource for AppSource {
    fn sample_rate(&self) -> u32 {
        self.rate
    }
    fn channels(&self) -> usize {
        self.channels
    }
    fn read(&mut self, out: &mut [f32]) -> usize {
        use ringbuf::traits::{Consumer, Observer};
        let available = self.consumer.occupied_len();
        let n = (out.len().min(available) / self.channels) * self.channels;
        self.consumer.pop_slice(&mut out[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_source_feeds_frames_from_another_thread() {
        let (mut writer, source) = AppSource::new(48_000, 2, 48_000);
        let feeder = std::thread::spawn(move || {
            let block: Vec<f32> = (0..960).map(|i| (i % 2) as f32 * 0.25).collect();
            for _ in 0..10 {
                assert_eq!(writer.write(&block), 960);
            }
            writer
        });
        let writer = feeder.join().unwrap();
        assert_eq!(writer.dropped(), 0);
        // Stereo 48 kHz in, mono 48 kHz frames out: channels are averaged.
        let mut frames = FrameAssembler::new(Box::new(source), 48_000, 1, 480).unwrap();
        let mut frame = vec![0.0; 480];
        let mut count = 0;
        while frames.next_frame(&mut frame).unwrap() {
            assert!(frame.iter().all(|&x| (x - 0.125).abs() < 1e-6));
            count += 1;
        }
        assert_eq!(count, 10);
    }

    #[test]
    fn wav_round_trip_and_bad_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.wav");
        let samples: Vec<f32> = (0..100).map(|i| i as f32 / 200.0).collect();
        write_wav(&path, 16_000, 1, &samples).unwrap();
        let (rate, channels, back) = read_wav(&path).unwrap();
        assert_eq!((rate, channels, back.len()), (16_000, 1, 100));
        assert!(back.iter().zip(&samples).all(|(a, b)| (a - b).abs() < 1e-3));
        let mut source = WavSource::open(&path).unwrap();
        let mut out = vec![0.0; 64];
        assert_eq!(source.read(&mut out), 64);
        assert_eq!(source.read(&mut out), 36);
        assert!(source.is_finished());
        std::fs::write(&path, b"not a wav").unwrap();
        assert!(read_wav(&path).is_err());
        assert!(read_wav(dir.path().join("missing.wav")).is_err());
    }
}
