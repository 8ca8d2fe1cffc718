//! Capture and playback devices through cpal (the ALSA host on Linux).
//!
//! The audio callbacks only move samples between the device and a lock-free
//! SPSC ring buffer (`ringbuf`): no allocation, lock or system call happens
//! in them. The encoding/decoding tick reads or writes the other end through
//! [`CaptureSource`] (an [`AudioSource`]) and [`PlaybackSink`] (an [`AudioSink`]).
//! When the device's rate or channels differ from the pipeline's, the capture
//! side converts in [`super::FrameAssembler`] and the playback side in
//! [`PlaybackSink`].

use super::{AudioSink, AudioSource, StreamResampler};
use crate::error::AudioError;
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{SampleFormat, StreamConfig};
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What to ask the device for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    /// Sampling rate wanted. Defaults to 48000. If the device cannot do it,
    /// its default is used and the pipeline resamples.
    pub rate: u32,
    /// Channels wanted. Defaults to 1.
    pub channels: u16,
    /// Ring buffer between callback and pipeline, in milliseconds. Defaults to
    /// 200 ms: enough for a late tick, small enough to bound latency.
    pub buffer_ms: u32,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        Self {
            rate: 48_000,
            channels: 1,
            buffer_ms: 200,
        }
    }
}

fn host() -> cpal::Host {
    #[cfg(target_os = "linux")]
    {
        if let Ok(host) = cpal::host_from_id(cpal::HostId::Alsa) {
            return host;
        }
    }
    cpal::default_host()
}

fn host_error(e: impl std::fmt::Display) -> AudioError {
    AudioError::Host(e.to_string())
}

/// Names of the capture devices.
pub fn input_devices() -> Result<Vec<String>, AudioError> {
    let devices = host().input_devices().map_err(host_error)?;
    Ok(devices.filter_map(|d| d.name().ok()).collect())
}

/// Names of the playback devices.
pub fn output_devices() -> Result<Vec<String>, AudioError> {
    let devices = host().output_devices().map_err(host_error)?;
    Ok(devices.filter_map(|d| d.name().ok()).collect())
}

fn find_device(name: Option<&str>, input: bool) -> Result<cpal::Device, AudioError> {
    let host = host();
    let wanted = name.unwrap_or("default");
    let default = if input {
        host.default_input_device()
    } else {
        host.default_output_device()
    };
    if name.is_none() || wanted == "default" {
        if let Some(device) = default {
            return Ok(device);
        }
    }
    let mut devices = if input {
        host.input_devices().map_err(host_error)?
    } else {
        host.output_devices().map_err(host_error)?
    };
    devices
        .find(|d| d.name().map(|n| n == wanted).unwrap_or(false))
        .ok_or_else(|| AudioError::DeviceNotFound(wanted.to_owned()))
}

/// Picks a stream configuration: the wanted rate and channels in f32 or i16
/// if supported, else the device's default.
fn pick_config(
    device: &cpal::Device,
    input: bool,
    config: &DeviceConfig,
) -> Result<(SampleFormat, StreamConfig), AudioError> {
    let ranges: Vec<cpal::SupportedStreamConfigRange> = if input {
        device
            .supported_input_configs()
            .map_err(host_error)?
            .collect()
    } else {
        device
            .supported_output_configs()
            .map_err(host_error)?
            .collect()
    };
    for format in [SampleFormat::F32, SampleFormat::I16] {
        let fits = ranges.iter().find(|r| {
            r.sample_format() == format
                && r.channels() == config.channels
                && r.min_sample_rate().0 <= config.rate
                && r.max_sample_rate().0 >= config.rate
        });
        if let Some(range) = fits {
            let chosen = (*range).with_sample_rate(cpal::SampleRate(config.rate));
            return Ok((format, chosen.config()));
        }
    }
    let default = if input {
        device.default_input_config()
    } else {
        device.default_output_config()
    }
    .map_err(host_error)?;
    match default.sample_format() {
        SampleFormat::F32 | SampleFormat::I16 => Ok((default.sample_format(), default.config())),
        other => Err(AudioError::Host(format!(
            "device only offers {other:?} samples: use a device (or an ALSA `plug` device) with f32 or i16"
        ))),
    }
}

fn ring(rate: u32, channels: u16, ms: u32) -> HeapRb<f32> {
    HeapRb::new(((rate as usize * channels as usize * ms as usize) / 1000).max(1024))
}

/// A running capture stream. Keep it alive while capturing; drop it to stop.
pub struct CaptureStream {
    _stream: cpal::Stream,
    overruns: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
}

impl std::fmt::Debug for CaptureStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureStream").finish_non_exhaustive()
    }
}

impl CaptureStream {
    /// Samples dropped because the pipeline did not read in time.
    pub fn overruns(&self) -> u64 {
        self.overruns.load(Ordering::Relaxed)
    }
    /// Errors the device reported.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
}

/// The pipeline's end of a capture stream.
pub struct CaptureSource {
    consumer: HeapCons<f32>,
    rate: u32,
    channels: usize,
}

impl std::fmt::Debug for CaptureSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureSource")
            .field("rate", &self.rate)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl AudioSource for CaptureSource {
    fn sample_rate(&self) -> u32 {
        self.rate
    }
    fn channels(&self) -> usize {
        self.channels
    }
    fn read(&mut self, out: &mut [f32]) -> usize {
        let whole = out.len() - out.len() % self.channels.max(1);
        let available = self.consumer.occupied_len();
        let n = whole.min(available - available % self.channels.max(1));
        self.consumer.pop_slice(&mut out[..n])
    }
}

/// Opens capture device `name` (`None`: the default) and starts it.
pub fn open_capture(
    name: Option<&str>,
    config: &DeviceConfig,
) -> Result<(CaptureStream, CaptureSource), AudioError> {
    let device = find_device(name, true)?;
    let (format, stream_config) = pick_config(&device, true, config)?;
    let (mut producer, consumer) = ring(
        stream_config.sample_rate.0,
        stream_config.channels,
        config.buffer_ms,
    )
    .split();
    let overruns = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let (over, errs) = (overruns.clone(), errors.clone());
    let on_error = move |e: cpal::StreamError| {
        errs.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("capture stream error: {e}");
    };
    let stream = match format {
        SampleFormat::I16 => device.build_input_stream(
            &stream_config,
            move |data: &[i16], _: &cpal::InputCallbackInfo| {
                let mut dropped = 0;
                for &s in data {
                    if producer.try_push(s as f32 / 32768.0).is_err() {
                        dropped += 1;
                    }
                }
                if dropped > 0 {
                    over.fetch_add(dropped, Ordering::Relaxed);
                }
            },
            on_error,
            None,
        ),
        _ => device.build_input_stream(
            &stream_config,
            move |data: &[f32], _: &cpal::InputCallbackInfo| {
                let pushed = producer.push_slice(data);
                if pushed < data.len() {
                    over.fetch_add((data.len() - pushed) as u64, Ordering::Relaxed);
                }
            },
            on_error,
            None,
        ),
    }
    .map_err(host_error)?;
    stream.play().map_err(host_error)?;
    Ok((
        CaptureStream {
            _stream: stream,
            overruns,
            errors,
        },
        CaptureSource {
            consumer,
            rate: stream_config.sample_rate.0,
            channels: stream_config.channels as usize,
        },
    ))
}

/// A running playback stream. Keep it alive while playing; drop it to stop.
pub struct PlaybackStream {
    _stream: cpal::Stream,
    underruns: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
}

impl std::fmt::Debug for PlaybackStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlaybackStream").finish_non_exhaustive()
    }
}

impl PlaybackStream {
    /// Samples the device wanted and the ring did not have (played as silence).
    pub fn underruns(&self) -> u64 {
        self.underruns.load(Ordering::Relaxed)
    }
    /// Errors the device reported.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
}

/// The pipeline's end of a playback stream: converts the pipeline's format
/// to the device's and fills the ring. When the ring is full, samples are
/// dropped (late audio is worthless) and counted.
pub struct PlaybackSink {
    producer: HeapProd<f32>,
    channels_in: usize,
    channels_out: usize,
    resampler: Option<StreamResampler>,
    converted: Vec<f32>,
    resampled: Vec<f32>,
    dropped: u64,
}

impl std::fmt::Debug for PlaybackSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlaybackSink")
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

impl PlaybackSink {
    /// Samples dropped because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
    /// Samples waiting in the ring.
    pub fn buffered(&self) -> usize {
        self.producer.occupied_len()
    }
}

impl AudioSink for PlaybackSink {
    fn write(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        for block in samples.chunks(4096) {
            let frames = block.len() / self.channels_in.max(1);
            let needed = frames * self.channels_out;
            if self.converted.len() < needed {
                self.converted.resize(needed, 0.0);
            }
            for i in 0..frames {
                for c in 0..self.channels_out {
                    let src = if self.channels_in == 2 && self.channels_out == 1 {
                        0.5 * (block[2 * i] + block[2 * i + 1])
                    } else {
                        block[i * self.channels_in + c.min(self.channels_in - 1)]
                    };
                    self.converted[i * self.channels_out + c] = src;
                }
            }
            let out: &[f32] = match self.resampler.as_mut() {
                Some(resampler) => {
                    resampler.push(&self.converted[..needed])?;
                    let n = resampler.available();
                    if self.resampled.len() < n {
                        self.resampled.resize(n, 0.0);
                    }
                    let n = resampler.pop(&mut self.resampled[..n]);
                    &self.resampled[..n]
                }
                None => &self.converted[..needed],
            };
            let pushed = self.producer.push_slice(out);
            self.dropped += (out.len() - pushed) as u64;
        }
        Ok(())
    }
}

/// Opens playback device `name` (`None`: the default) for audio at
/// `source_rate` Hz with `source_channels` channels, and starts it.
pub fn open_playback(
    name: Option<&str>,
    config: &DeviceConfig,
    source_rate: u32,
    source_channels: usize,
) -> Result<(PlaybackStream, PlaybackSink), AudioError> {
    let device = find_device(name, false)?;
    let (format, stream_config) = pick_config(&device, false, config)?;
    let (producer, mut consumer) = ring(
        stream_config.sample_rate.0,
        stream_config.channels,
        config.buffer_ms,
    )
    .split();
    let underruns = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let (under, errs) = (underruns.clone(), errors.clone());
    let on_error = move |e: cpal::StreamError| {
        errs.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("playback stream error: {e}");
    };
    let stream = match format {
        SampleFormat::I16 => device.build_output_stream(
            &stream_config,
            move |data: &mut [i16], _: &cpal::OutputCallbackInfo| {
                let mut missing = 0;
                for s in data.iter_mut() {
                    *s = match consumer.try_pop() {
                        Some(x) => (x.clamp(-1.0, 1.0) * 32767.0) as i16,
                        None => {
                            missing += 1;
                            0
                        }
                    };
                }
                if missing > 0 {
                    under.fetch_add(missing, Ordering::Relaxed);
                }
            },
            on_error,
            None,
        ),
        _ => device.build_output_stream(
            &stream_config,
            move |data: &mut [f32], _: &cpal::OutputCallbackInfo| {
                let n = consumer.pop_slice(data);
                if n < data.len() {
                    data[n..].fill(0.0);
                    under.fetch_add((data.len() - n) as u64, Ordering::Relaxed);
                }
            },
            on_error,
            None,
        ),
    }
    .map_err(host_error)?;
    let device_rate = stream_config.sample_rate.0;
    let channels_out = stream_config.channels as usize;
    let resampler = if device_rate != source_rate {
        Some(StreamResampler::new(
            source_rate,
            device_rate,
            channels_out,
        )?)
    } else {
        None
    };
    stream.play().map_err(host_error)?;
    Ok((
        PlaybackStream {
            _stream: stream,
            underruns,
            errors,
        },
        PlaybackSink {
            producer,
            channels_in: source_channels.max(1),
            channels_out,
            resampler,
            converted: vec![0.0; 8192],
            resampled: vec![0.0; 8192],
            dropped: 0,
        },
    ))
}
