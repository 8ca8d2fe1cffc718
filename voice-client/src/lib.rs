//! Load-balancing client and voice pipeline.
//!
//! The voice layer produces and consumes byte payloads and events; it never
//! touches sockets: a network client implements
//! [`voice_transport::VoiceTransport`]. State machines take `now` as an
//! argument, so everything runs on a virtual clock in tests. See `README.md`
//! for which audio processing is real (echo cancellation is not implemented).
//!
//! # Sending and receiving, driven by a 20 ms tick
//!
//! ```no_run
//! use std::time::Instant;
//! use voice_client::local::{LocalVoice, LocalVoiceConfig};
//! use voice_client::protocol::VoiceId;
//! use voice_client::remote::{RemoteVoiceConfig, VoiceReceiver};
//! use voice_client::voice_transport::{LoopbackTransport, Sent};
//!
//! let mut transport = LoopbackTransport::new();
//! let mut voice = LocalVoice::new(VoiceId::try_from(1).unwrap(), LocalVoiceConfig::default()).unwrap();
//! voice.announce(&mut transport);
//! let mut receiver = VoiceReceiver::new(RemoteVoiceConfig::default());
//! let (mut pcm, mut out) = (vec![0.0; 960], vec![0.0; 960]);
//! loop {
//!     let now = Instant::now(); // the driver's absolute 20 ms deadline
//!     // fill `pcm` from an AudioSource / FrameAssembler, then:
//!     voice.push_frame(now, &pcm, &mut transport).unwrap();
//!     for sent in transport.drain() {
//!         match sent {
//!             Sent::Event(event, _) => receiver.handle_event(1, &event).unwrap(),
//!             Sent::Frame { bytes, .. } => { let _ = receiver.handle_frame(now, 1, &bytes); }
//!         }
//!     }
//!     receiver.mix(now, &mut out); // play `out`
//! }
//! ```
//!
//! # Modules
//!
//! - [`config`]: audio/codec constants and settings (Photon Voice defaults).
//! - [`codec`]: Opus encoder/decoder (VOIP mode, in-band FEC, DTX, PLC).
//! - [`protocol`]: Photon Voice payloads (voice info, remove, frames).
//! - [`voice_transport`]: the transport trait, loopback and network emulator.
//! - [`processing`]: level meter, voice detection, AGC, noise gate.
//! - [`local`]: outgoing voices.
//! - [`jitter`]: the adaptive, sans-IO jitter buffer.
//! - [`remote`]: incoming voices, decoding, mixing, statistics.
//! - [`audio`]: sources, sinks, resampling, cpal devices.
//! - [`sim`] and [`analysis`]: whole-pipeline runs and signal comparison.
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
pub use local::{LocalVoice, LocalVoiceConfig, LocalVoiceStats};
pub use protocol::{FrameFlags, VoiceEvent, VoiceId, VoiceInfo};
pub use remote::{RemoteVoice, RemoteVoiceConfig, RemoteVoiceStats, VoiceReceiver};
pub use voice_transport::{
    FrameOptions, InfoTarget, LoopbackTransport, VoiceSendError, VoiceTransport,
};
