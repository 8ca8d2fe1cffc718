//! Load-balancing client and voice pipeline.
//!
//! The voice layer produces and consumes byte payloads and events; it never
//! touches sockets. See the crate README for which audio processing is real.
//!
//! - [`config`]: audio/codec constants and settings (Photon Voice defaults).
//! - [`codec`]: Opus encoder/decoder (VOIP mode, in-band FEC, DTX, PLC).
//! - [`jitter`]: the adaptive, sans-IO jitter buffer.
//! - [`lb`]: the load-balancing client (name server → master → game server).

pub mod analysis;
pub mod audio;
pub mod codec;
pub mod config;
pub mod error;
pub mod jitter;
pub mod lb;
pub mod lb_transport;
pub mod local;
pub mod processing;
pub mod protocol;
pub mod remote;
pub mod sim;
pub mod voice_transport;

pub use codec::{OpusDecoder, OpusEncoder};
pub use config::{AudioFormat, Channels, CodecConfig, FrameDuration, SamplingRate};
pub use error::{AudioError, CodecError, ConfigError, PayloadError};
pub use jitter::{JitterBuffer, JitterConfig, JitterStats, Pop, PushOutcome};
pub use lb::{LbConfig, LbError, LbEvent, LoadBalancingClient, PolledClient};
