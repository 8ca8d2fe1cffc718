//! Opus encoder and decoder wrappers (libopus through the `opus` crate).
//!
//! The encoder runs in VOIP mode with in-band FEC and DTX as configured in
//! [`CodecConfig`]. The decoder offers the three ways to produce a frame:
//! a normal decode, FEC recovery of a lost frame from the *next* packet, and
//! packet loss concealment (PLC) when nothing is available.

use crate::config::{Channels, CodecConfig, MAX_OPUS_PACKET};
use crate::error::CodecError;

/// Packets this short (or shorter) are DTX / comfort-noise packets; they need
/// not be sent (Photon drops them too).
pub const DTX_PACKET_MAX: usize = 2;

fn opus_channels(channels: Channels) -> opus::Channels {
    match channels {
        Channels::Mono => opus::Channels::Mono,
        Channels::Stereo => opus::Channels::Stereo,
    }
}

/// Opus encoder for one voice.
pub struct OpusEncoder {
    inner: opus::Encoder,
    frame_samples: usize,
    config: CodecConfig,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder")
            .field("config", &self.config)
            .finish()
    }
}

impl OpusEncoder {
    /// Creates an encoder (VOIP mode) with `config` applied.
    pub fn new(config: &CodecConfig) -> Result<Self, CodecError> {
        config.validate()?;
        let format = config.format;
        let mut inner = opus::Encoder::new(
            format.sampling_rate.hz(),
            opus_channels(format.channels),
            opus::Application::Voip,
        )?;
        inner.set_bitrate(opus::Bitrate::Bits(config.bitrate as i32))?;
        inner.set_complexity(config.complexity as i32)?;
        inner.set_inband_fec(config.inband_fec)?;
        inner.set_packet_loss_perc(config.packet_loss_perc as i32)?;
        inner.set_dtx(config.dtx)?;
        Ok(Self {
            inner,
            frame_samples: format.frame_samples(),
            config: config.clone(),
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &CodecConfig {
        &self.config
    }

    /// Interleaved samples per frame the encoder expects.
    pub fn frame_samples(&self) -> usize {
        self.frame_samples
    }

    /// Encodes exactly one frame of interleaved samples in -1.0..=1.0 into `out`
    /// (which should hold [`MAX_OPUS_PACKET`] bytes) and returns the packet
    /// length. A length of at most [`DTX_PACKET_MAX`] means "silence, skip it".
    pub fn encode(&mut self, pcm: &[f32], out: &mut [u8]) -> Result<usize, CodecError> {
        if pcm.len() != self.frame_samples {
            return Err(CodecError::FrameLength {
                expected: self.frame_samples,
                actual: pcm.len(),
            });
        }
        let limit = out.len().min(MAX_OPUS_PACKET);
        Ok(self.inner.encode_float(pcm, &mut out[..limit])?)
    }

    /// Changes the expected packet loss (e.g. from measured loss).
    pub fn set_packet_loss_perc(&mut self, perc: u8) -> Result<(), CodecError> {
        self.inner.set_packet_loss_perc(perc.min(100) as i32)?;
        self.config.packet_loss_perc = perc.min(100);
        Ok(())
    }

    /// Changes the bitrate.
    pub fn set_bitrate(&mut self, bitrate: u32) -> Result<(), CodecError> {
        let mut probe = self.config.clone();
        probe.bitrate = bitrate;
        probe.validate()?;
        self.inner
            .set_bitrate(opus::Bitrate::Bits(bitrate as i32))?;
        self.config.bitrate = bitrate;
        Ok(())
    }

    /// The encoder's algorithmic delay in samples per channel.
    pub fn lookahead(&mut self) -> Result<usize, CodecError> {
        Ok(self.inner.get_lookahead()?.max(0) as usize)
    }
}

/// How a decoded frame was produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeKind {
    /// From its own packet.
    Normal,
    /// Recovered from the FEC data in the next packet.
    Fec,
    /// Concealed (PLC), no data.
    Concealed,
}

/// Opus decoder for one remote voice.
pub struct OpusDecoder {
    inner: opus::Decoder,
    frame_samples: usize,
    channels: usize,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder")
            .field("frame_samples", &self.frame_samples)
            .finish()
    }
}

impl OpusDecoder {
    /// Creates a decoder for `format`.
    pub fn new(format: crate::config::AudioFormat) -> Result<Self, CodecError> {
        let inner = opus::Decoder::new(format.sampling_rate.hz(), opus_channels(format.channels))?;
        Ok(Self {
            inner,
            frame_samples: format.frame_samples(),
            channels: format.channels.count(),
        })
    }

    /// Interleaved samples per frame.
    pub fn frame_samples(&self) -> usize {
        self.frame_samples
    }

    fn check_out(&self, out: &[f32]) -> Result<(), CodecError> {
        if out.len() != self.frame_samples {
            return Err(CodecError::FrameLength {
                expected: self.frame_samples,
                actual: out.len(),
            });
        }
        Ok(())
    }

    /// Decodes `packet` into exactly one frame `out`. A packet of a different
    /// duration than the frame is an error (the output is then concealed).
    pub fn decode(&mut self, packet: &[u8], out: &mut [f32]) -> Result<(), CodecError> {
        self.check_out(out)?;
        let n = self.inner.decode_float(packet, out, false)?;
        if n * self.channels != self.frame_samples {
            return Err(CodecError::FrameLength {
                expected: self.frame_samples,
                actual: n * self.channels,
            });
        }
        Ok(())
    }

    /// Recovers the frame *before* `next_packet` from `next_packet`'s in-band FEC
    /// data (if it carries none, libopus falls back to concealment).
    pub fn decode_fec(&mut self, next_packet: &[u8], out: &mut [f32]) -> Result<(), CodecError> {
        self.check_out(out)?;
        self.inner.decode_float(next_packet, out, true)?;
        Ok(())
    }

    /// Conceals one missing frame (PLC).
    pub fn conceal(&mut self, out: &mut [f32]) -> Result<(), CodecError> {
        self.check_out(out)?;
        self.inner.decode_float(&[], out, false)?;
        Ok(())
    }

    /// Forgets the decoder's state (at the start of a new talk spurt after an end of stream).
    pub fn reset(&mut self) -> Result<(), CodecError> {
        self.inner.reset_state()?;
        Ok(())
    }
}
