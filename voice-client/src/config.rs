//! Audio and timing constants and the codec settings (Photon Voice defaults).

use crate::error::ConfigError;
use std::time::Duration;

/// Photon's Opus codec id on the wire (`Codec` key 12).
pub const CODEC_OPUS: u8 = 11;
/// Largest Opus packet (RFC 6716: 1275 bytes per frame, up to 3 frames of 20 ms in 60 ms).
pub const MAX_OPUS_PACKET: usize = 1275 * 3;
/// Default bitrate, Photon's Recorder default: 30000 b/s.
pub const DEFAULT_BITRATE: u32 = 30_000;
/// Default expected packet loss given to the encoder for in-band FEC: 10 %.
/// libopus emits no FEC at 24 kb/s below about 6 %, so this keeps FEC on; the
/// higher the setting, the more of the bitrate goes to FEC. Measured with
/// `scripts/quality_report.py` at 24 kb/s (wideband PESQ, pipeline): 10 %
/// scores 3.10 / 3.01 / 2.81 / 2.36 at 0 / 5 / 10 / 20 % loss, Photon's
/// 30 % only 2.13 / 2.11 / 2.04 / 1.71, so 10 % is better at every level.
pub const DEFAULT_PACKET_LOSS_PERC: u8 = 10;
/// Default encoder complexity (0..=10). 10 is libopus' default and costs ~2x of 5.
pub const DEFAULT_COMPLEXITY: u8 = 10;

/// Sampling rates Opus supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SamplingRate {
    /// 8 kHz (narrowband).
    Hz8000,
    /// 12 kHz (mediumband).
    Hz12000,
    /// 16 kHz (wideband).
    Hz16000,
    /// 24 kHz (super-wideband), Photon's default.
    Hz24000,
    /// 48 kHz (fullband).
    Hz48000,
}

impl SamplingRate {
    /// In Hz.
    pub fn hz(self) -> u32 {
        match self {
            Self::Hz8000 => 8000,
            Self::Hz12000 => 12000,
            Self::Hz16000 => 16000,
            Self::Hz24000 => 24000,
            Self::Hz48000 => 48000,
        }
    }
}

impl TryFrom<u32> for SamplingRate {
    type Error = ConfigError;
    fn try_from(hz: u32) -> Result<Self, ConfigError> {
        Ok(match hz {
            8000 => Self::Hz8000,
            12000 => Self::Hz12000,
            16000 => Self::Hz16000,
            24000 => Self::Hz24000,
            48000 => Self::Hz48000,
            other => return Err(ConfigError::SamplingRate(other)),
        })
    }
}

/// Frame durations the pipeline supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FrameDuration {
    /// 10 ms.
    Ms10,
    /// 20 ms, the default (50 frames per second).
    Ms20,
    /// 40 ms.
    Ms40,
    /// 60 ms.
    Ms60,
}

impl FrameDuration {
    /// In microseconds (Photon's `FrameDurationUs`).
    pub fn micros(self) -> u32 {
        match self {
            Self::Ms10 => 10_000,
            Self::Ms20 => 20_000,
            Self::Ms40 => 40_000,
            Self::Ms60 => 60_000,
        }
    }
    /// As a [`Duration`].
    pub fn duration(self) -> Duration {
        Duration::from_micros(self.micros() as u64)
    }
}

impl TryFrom<u32> for FrameDuration {
    type Error = ConfigError;
    fn try_from(us: u32) -> Result<Self, ConfigError> {
        Ok(match us {
            10_000 => Self::Ms10,
            20_000 => Self::Ms20,
            40_000 => Self::Ms40,
            60_000 => Self::Ms60,
            other => return Err(ConfigError::FrameDuration(other)),
        })
    }
}

/// Mono or stereo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Channels {
    /// One channel.
    Mono,
    /// Two interleaved channels.
    Stereo,
}

impl Channels {
    /// 1 or 2.
    pub fn count(self) -> usize {
        match self {
            Self::Mono => 1,
            Self::Stereo => 2,
        }
    }
}

impl TryFrom<u8> for Channels {
    type Error = ConfigError;
    fn try_from(n: u8) -> Result<Self, ConfigError> {
        match n {
            1 => Ok(Self::Mono),
            2 => Ok(Self::Stereo),
            other => Err(ConfigError::Channels(other)),
        }
    }
}

/// The shape of one voice's audio: rate, channels and frame duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AudioFormat {
    /// Sampling rate. Defaults to 48 kHz.
    pub sampling_rate: SamplingRate,
    /// Channels. Defaults to mono.
    pub channels: Channels,
    /// Frame duration. Defaults to 20 ms.
    pub frame_duration: FrameDuration,
}

impl Default for AudioFormat {
    fn default() -> Self {
        Self {
            sampling_rate: SamplingRate::Hz48000,
            channels: Channels::Mono,
            frame_duration: FrameDuration::Ms20,
        }
    }
}

impl AudioFormat {
    /// Samples per channel in one frame.
    pub fn frame_samples_per_channel(&self) -> usize {
        (self.sampling_rate.hz() as u64 * self.frame_duration.micros() as u64 / 1_000_000) as usize
    }
    /// Interleaved samples (all channels) in one frame.
    pub fn frame_samples(&self) -> usize {
        self.frame_samples_per_channel() * self.channels.count()
    }
}

/// Opus encoder settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecConfig {
    /// Audio shape. Defaults to 48 kHz mono 20 ms.
    pub format: AudioFormat,
    /// Target bitrate in b/s, 6000..=510000. Defaults to 30000 (Photon's).
    pub bitrate: u32,
    /// Encoder complexity 0..=10. Defaults to 10; lower saves CPU at some quality.
    pub complexity: u8,
    /// In-band forward error correction (a low-bitrate copy of the previous frame
    /// inside each packet, SILK/hybrid modes only). Defaults to on. Costs bitrate
    /// taken from the primary frame, in proportion to `packet_loss_perc`.
    pub inband_fec: bool,
    /// Expected packet loss in percent (0..=100) told to the encoder; libopus only
    /// emits FEC when this is high enough for the bitrate (about 6 % at 24 kb/s).
    /// Defaults to 10 (see [`DEFAULT_PACKET_LOSS_PERC`] for the measurements).
    pub packet_loss_perc: u8,
    /// Discontinuous transmission: during silence the encoder emits 1-2 byte
    /// packets, which are not sent. Defaults to on.
    pub dtx: bool,
}

impl Default for CodecConfig {
    fn default() -> Self {
        Self {
            format: AudioFormat::default(),
            bitrate: DEFAULT_BITRATE,
            complexity: DEFAULT_COMPLEXITY,
            inband_fec: true,
            packet_loss_perc: DEFAULT_PACKET_LOSS_PERC,
            dtx: true,
        }
    }
}

impl CodecConfig {
    /// Checks ranges that the types do not enforce.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(6000..=510_000).contains(&self.bitrate) {
            return Err(ConfigError::Bitrate(self.bitrate));
        }
        if self.complexity > 10 {
            return Err(ConfigError::Invalid {
                name: "complexity",
                fix: "use 0..=10",
            });
        }
        if self.packet_loss_perc > 100 {
            return Err(ConfigError::Invalid {
                name: "packet_loss_perc",
                fix: "use 0..=100",
            });
        }
        Ok(())
    }
}
