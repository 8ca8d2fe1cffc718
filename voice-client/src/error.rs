//! Errors of the voice pipeline, one enum per domain.

use thiserror::Error;

/// A setting was out of range. The message names the setting and the fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A sampling rate Opus does not support.
    #[error(
        "sampling rate {0} Hz is not supported by Opus: use 8000, 12000, 16000, 24000 or 48000"
    )]
    SamplingRate(u32),
    /// A frame duration Opus does not support.
    #[error("frame duration {0} us is not supported: use 10000, 20000, 40000 or 60000")]
    FrameDuration(u32),
    /// A channel count other than 1 or 2.
    #[error("{0} channels are not supported: use 1 (mono) or 2 (stereo)")]
    Channels(u8),
    /// A bitrate outside Opus' range.
    #[error("bitrate {0} b/s is out of range: use 6000 to 510000")]
    Bitrate(u32),
    /// Any other setting out of range.
    #[error("{name} is invalid: {fix}")]
    Invalid {
        /// The setting.
        name: &'static str,
        /// What to do instead.
        fix: &'static str,
    },
}

/// Opus encoding or decoding failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CodecError {
    /// libopus returned an error.
    #[error("opus: {0}")]
    Opus(#[from] opus::Error),
    /// The input had the wrong number of samples for one frame.
    #[error("expected {expected} samples for one frame, got {actual}: pass exactly one frame")]
    FrameLength {
        /// Samples per frame (all channels).
        expected: usize,
        /// Samples given.
        actual: usize,
    },
    /// The configuration was invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// A voice payload from the network could not be read. Never fatal: drop it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// Shorter than the fixed header.
    #[error("voice frame of {0} bytes is shorter than its 3-byte header")]
    TooShort(usize),
    /// Voice id outside 1..=15.
    #[error("voice id {0} is out of range 1..=15")]
    VoiceId(u8),
    /// A voice info lacked a required key or had a wrong type.
    #[error("voice info key {key} is missing or has the wrong type")]
    InfoKey {
        /// The Photon VoiceInfo key.
        key: u8,
    },
    /// A voice info had a bad value.
    #[error("voice info: {0}")]
    InfoValue(#[from] ConfigError),
    /// Unknown codec id.
    #[error("codec id {0} is not supported (only Opus, 11)")]
    Codec(i64),
}

/// Reading or writing audio (devices, WAV files) failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AudioError {
    /// WAV file error.
    #[error("wav: {0}")]
    Wav(#[from] hound::Error),
    /// The WAV file's format is not usable.
    #[error("wav format not supported: {0}")]
    WavFormat(String),
    /// No device with that name.
    #[error(
        "audio device {0:?} not found: list devices with `input_devices()`/`output_devices()`"
    )]
    DeviceNotFound(String),
    /// The audio host reported an error.
    #[error("audio host: {0}")]
    Host(String),
    /// Resampler error.
    #[error("resampler: {0}")]
    Resample(String),
    /// The configuration was invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}
