//! Sample-rate conversion (rubato) and assembling codec frames from any source.

use super::AudioSource;
use crate::error::AudioError;
use rubato::{FftFixedIn, Resampler};
use std::collections::VecDeque;

/// A streaming resampler: push any number of interleaved samples, pop the
/// converted ones. Buffers are allocated once (the output queue grows only if
/// the caller never pops).
pub struct StreamResampler {
    inner: FftFixedIn<f32>,
    channels: usize,
    input: Vec<Vec<f32>>,
    output: Vec<Vec<f32>>,
    pending: VecDeque<f32>,
}

impl std::fmt::Debug for StreamResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamResampler")
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl StreamResampler {
    /// Converts `from` Hz to `to` Hz for `channels` interleaved channels, in
    /// chunks of 10 ms of input.
    pub fn new(from: u32, to: u32, channels: usize) -> Result<Self, AudioError> {
        let chunk = (from as usize / 100).max(1);
        let inner = FftFixedIn::<f32>::new(from as usize, to as usize, chunk, 2, channels)
            .map_err(|e| AudioError::Resample(e.to_string()))?;
        let output = vec![vec![0.0; inner.output_frames_max()]; channels];
        Ok(Self {
            input: (0..channels)
                .map(|_| Vec::with_capacity(chunk * 2))
                .collect(),
            output,
            pending: VecDeque::with_capacity(to as usize / 10 * channels),
            channels,
            inner,
        })
    }

    /// Output samples (per channel) of delay the filter adds.
    pub fn delay_frames(&self) -> usize {
        self.inner.output_delay()
    }

    /// Feeds interleaved samples.
    pub fn push(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        for frame in samples.chunks_exact(self.channels) {
            for (channel, &s) in frame.iter().enumerate() {
                self.input[channel].push(s);
            }
            if self.input[0].len() == self.inner.input_frames_next() {
                let (_, produced) = self
                    .inner
                    .process_into_buffer(&self.input, &mut self.output, None)
                    .map_err(|e| AudioError::Resample(e.to_string()))?;
                for i in 0..produced {
                    for channel in 0..self.channels {
                        self.pending.push_back(self.output[channel][i]);
                    }
                }
                for channel in &mut self.input {
                    channel.clear();
                }
            }
        }
        Ok(())
    }

    /// Interleaved samples ready.
    pub fn available(&self) -> usize {
        self.pending.len()
    }

    /// Moves up to `out.len()` ready samples into `out`; returns how many.
    pub fn pop(&mut self, out: &mut [f32]) -> usize {
        let n = out.len().min(self.pending.len());
        for (dst, src) in out.iter_mut().zip(self.pending.drain(..n)) {
            *dst = src;
        }
        n
    }
}

/// Pulls samples from an [`AudioSource`] and hands out whole codec frames,
/// converting channels (mono ↔ stereo) and sampling rate as needed.
pub struct FrameAssembler {
    source: Box<dyn AudioSource>,
    channels: usize,
    resampler: Option<StreamResampler>,
    read: Vec<f32>,
    converted: Vec<f32>,
    pending: VecDeque<f32>,
}

impl std::fmt::Debug for FrameAssembler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameAssembler")
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl FrameAssembler {
    /// Assembles frames of `frame_samples` interleaved samples at `rate` Hz
    /// with `channels` channels from `source`.
    pub fn new(
        source: Box<dyn AudioSource>,
        rate: u32,
        channels: usize,
        frame_samples: usize,
    ) -> Result<Self, AudioError> {
        let source_rate = source.sample_rate();
        let resampler = if source_rate != rate {
            Some(StreamResampler::new(source_rate, rate, channels)?)
        } else {
            None
        };
        let block = frame_samples.max(64);
        Ok(Self {
            read: vec![0.0; block * 2],
            converted: vec![0.0; block * 2],
            pending: VecDeque::with_capacity(block * 8),
            source,
            channels,
            resampler,
        })
    }

    /// True when the source is finished and every sample has been handed out.
    pub fn is_finished(&self) -> bool {
        self.source.is_finished()
            && self.pending.is_empty()
            && !matches!(self.resampler.as_ref(), Some(r) if r.available() > 0)
    }

    fn fill(&mut self, wanted: usize) -> Result<(), AudioError> {
        let source_channels = self.source.channels().max(1);
        let mut rounds = 0;
        while self.pending.len() < wanted && rounds < 64 {
            rounds += 1;
            if let Some(resampler) = self.resampler.as_mut() {
                let n = resampler.pop(&mut self.converted);
                self.pending.extend(&self.converted[..n]);
                if self.pending.len() >= wanted {
                    break;
                }
            }
            let block = self.read.len() / 2 - (self.read.len() / 2) % source_channels;
            let got = self.source.read(&mut self.read[..block]);
            if got == 0 {
                break;
            }
            // Channel conversion into `converted`.
            let frames = got / source_channels;
            let mut n = 0;
            for i in 0..frames {
                let frame = &self.read[i * source_channels..(i + 1) * source_channels];
                match (source_channels, self.channels) {
                    (a, b) if a == b => {
                        self.converted[n..n + b].copy_from_slice(frame);
                        n += b;
                    }
                    (2, 1) => {
                        self.converted[n] = 0.5 * (frame[0] + frame[1]);
                        n += 1;
                    }
                    (1, 2) => {
                        self.converted[n] = frame[0];
                        self.converted[n + 1] = frame[0];
                        n += 2;
                    }
                    _ => {
                        for c in 0..self.channels {
                            self.converted[n + c] = frame[c.min(source_channels - 1)];
                        }
                        n += self.channels;
                    }
                }
            }
            match self.resampler.as_mut() {
                Some(resampler) => resampler.push(&self.converted[..n])?,
                None => self.pending.extend(&self.converted[..n]),
            }
        }
        Ok(())
    }

    /// Fills `out` with the next frame. Returns `false` when not enough audio
    /// is available (live source) or the source is finished; a finished
    /// source's last partial frame is padded with silence.
    pub fn next_frame(&mut self, out: &mut [f32]) -> Result<bool, AudioError> {
        self.fill(out.len())?;
        if self.pending.len() >= out.len() {
            let len = out.len();
            for (dst, src) in out.iter_mut().zip(self.pending.drain(..len)) {
                *dst = src;
            }
            return Ok(true);
        }
        if self.source.is_finished() && !self.pending.is_empty() {
            let n = self.pending.len();
            for (dst, src) in out.iter_mut().zip(self.pending.drain(..)) {
                *dst = src;
            }
            out[n..].fill(0.0);
            return Ok(true);
        }
        Ok(false)
    }
}
