//! Voice over the load-balancing client: a room is a voice channel (Photon
//! Voice's `LoadBalancingTransport`).
//!
//! - Voice info and remove announcements travel as reliable events with
//!   Photon Voice's code [`VOICE_EVENT_CODE`] (202): to everyone when a voice
//!   is created or this client joins, to each newcomer when it joins.
//! - Frames travel as raw messages (`Message::RawSend`, relayed without being
//!   parsed) on [`VOICE_CHANNEL`]: unreliable and clear by default, with each
//!   voice's reliable / encrypt / interest group / target actors switches.
//! - Received frames (`LbEvent::RawFrame`) go to the matching remote voice by
//!   (sender actor, voice id); [`LoadBalancingTransport::mix`] plays them.
//!
//! Feed every [`LbEvent`] through [`LoadBalancingTransport::handle_event`]
//! (done for you by [`next_event`](LoadBalancingTransport::next_event) and
//! [`service`](LoadBalancingTransport::service)).
//!
//! ```no_run
//! use std::time::Instant;
//! use voice_client::lb::{LbConfig, LoadBalancingClient, RoomOptions};
//! use voice_client::lb_transport::LoadBalancingTransport;
//! use voice_client::local::LocalVoiceConfig;
//! use voice_client::remote::RemoteVoiceConfig;
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = LoadBalancingClient::new(LbConfig::new("udp://127.0.0.1:5058", "app"), Default::default());
//! let mut voice = LoadBalancingTransport::new(client, RemoteVoiceConfig::default());
//! voice.client().join_or_create_room("team-1", RoomOptions::default()).await?;
//! let id = voice.add_local_voice(LocalVoiceConfig::default())?;
//! let pcm = vec![0.0f32; 480]; // one 20 ms frame at 24 kHz, from the microphone
//! voice.push_frame(Instant::now(), id, &pcm)?;
//! while let Some(_event) = voice.next_event().await { /* ... */ }
//! # Ok(()) }
//! ```

use std::time::Instant;
use thiserror::Error;

use crate::error::{CodecError, PayloadError};
use crate::lb::{
    LbError, LbEvent, LoadBalancingClient, PolledClient, RaiseEventOptions, RawSendOptions,
    Receivers,
};
use crate::local::{FrameOutcome, LocalVoice, LocalVoiceConfig};
use crate::protocol::{FrameView, VoiceEvent, VoiceId, VoiceInfo};
use crate::remote::{RemoteVoiceConfig, VoiceReceiver};
use crate::voice_transport::{FrameOptions, InfoTarget, VoiceSendError, VoiceTransport};

/// Photon Voice's event code for voice info and remove announcements.
pub const VOICE_EVENT_CODE: u8 = 202;
/// The transport channel of voice frames (Photon: 1 + codec index), so that
/// frames never queue behind reliable room events on channel 0. Needs a
/// channel count of at least 2 (the default).
pub const VOICE_CHANNEL: u8 = 1;
/// Voice ids a client may use (Photon Voice: 1..=15).
pub const MAX_VOICES: u8 = 15;

/// Why a voice operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum VoiceError {
    /// All 15 voice ids are in use: remove a voice first.
    #[error("all {MAX_VOICES} voice ids are in use: remove a voice first")]
    TooManyVoices,
    /// No local voice has this id.
    #[error("no local voice with id {0}")]
    UnknownVoice(u8),
    /// The encoder refused the frame or settings.
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// Why an incoming voice message was dropped (counted, never fatal).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum VoiceReceiveError {
    /// The payload did not parse.
    #[error("voice payload from actor {actor} dropped: {source}")]
    Payload {
        /// The sender.
        actor: i32,
        /// What was wrong.
        source: PayloadError,
    },
    /// The announced voice could not be set up (unsupported format...).
    #[error("voice info from actor {actor} rejected: {reason}")]
    Info {
        /// The sender.
        actor: i32,
        /// Why.
        reason: String,
    },
}

enum Front {
    Async(LoadBalancingClient),
    Polled(PolledClient),
}

/// The load-balancing client plus the voice client.
pub struct LoadBalancingTransport {
    front: Front,
    locals: Vec<LocalVoice>,
    receiver: VoiceReceiver,
    remote_config: RemoteVoiceConfig,
    local_actor: Option<i32>,
    dropped: u64,
    last_receive_error: Option<String>,
}

impl std::fmt::Debug for LoadBalancingTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadBalancingTransport")
            .field("local_voices", &self.locals.len())
            .field("remote_voices", &self.receiver.voices().len())
            .field("local_actor", &self.local_actor)
            .finish_non_exhaustive()
    }
}

/// Sends voice traffic through a [`LoadBalancingClient`].
struct ClientSender<'a> {
    client: &'a LoadBalancingClient,
}

fn send_error(error: LbError) -> VoiceSendError {
    match error {
        LbError::InvalidState { .. } | LbError::Closed => VoiceSendError::NotJoined,
        _ => VoiceSendError::Blocked,
    }
}

/// Receivers of a voice's traffic from its options.
fn voice_receivers(options: &FrameOptions) -> Receivers {
    if !options.target_actors.is_empty() {
        Receivers::Actors(options.target_actors.clone())
    } else if options.debug_echo {
        Receivers::All
    } else {
        Receivers::Others
    }
}

impl ClientSender<'_> {
    fn announce(
        &self,
        event: VoiceEvent,
        receivers: Receivers,
        options: &FrameOptions,
    ) -> Result<(), VoiceSendError> {
        let raise = RaiseEventOptions {
            receivers,
            interest_group: options.interest_group,
            encrypt: options.encrypted,
            ..RaiseEventOptions::default()
        };
        self.client
            .raise_protocol_event(VOICE_EVENT_CODE, event.to_value(), &raise)
            .map_err(send_error)
    }
}

impl VoiceTransport for ClientSender<'_> {
    fn send_info(
        &mut self,
        voice_id: VoiceId,
        info: &VoiceInfo,
        target: InfoTarget,
        options: &FrameOptions,
    ) -> Result<(), VoiceSendError> {
        let (receivers, options) = match target {
            InfoTarget::Everyone => (voice_receivers(options), options.clone()),
            // A newcomer gets the info directly, whatever group the voice uses.
            InfoTarget::Actor(actor) => (
                Receivers::Actors(vec![actor]),
                FrameOptions {
                    interest_group: 0,
                    ..options.clone()
                },
            ),
        };
        self.announce(
            VoiceEvent::Info(voice_id, info.clone()),
            receivers,
            &options,
        )
    }

    fn send_frame(&mut self, frame: &[u8], options: &FrameOptions) -> Result<(), VoiceSendError> {
        let raw = RawSendOptions {
            receivers: voice_receivers(options),
            interest_group: options.interest_group,
            send: options.to_send_options().on_channel(VOICE_CHANNEL),
        };
        self.client.send_raw_slice(frame, &raw).map_err(send_error)
    }

    fn send_remove(
        &mut self,
        voice_id: VoiceId,
        options: &FrameOptions,
    ) -> Result<(), VoiceSendError> {
        self.announce(
            VoiceEvent::Remove(vec![voice_id]),
            voice_receivers(options),
            options,
        )
    }
}

impl LoadBalancingTransport {
    /// Voice over an async client.
    pub fn new(client: LoadBalancingClient, remote: RemoteVoiceConfig) -> Self {
        Self::with_front(Front::Async(client), remote)
    }

    /// Voice over a polled client (game loops): call [`service`](Self::service) once per frame.
    pub fn polled(client: PolledClient, remote: RemoteVoiceConfig) -> Self {
        Self::with_front(Front::Polled(client), remote)
    }

    fn with_front(front: Front, remote: RemoteVoiceConfig) -> Self {
        Self {
            front,
            locals: Vec::new(),
            receiver: VoiceReceiver::new(remote.clone()),
            remote_config: remote,
            local_actor: None,
            dropped: 0,
            last_receive_error: None,
        }
    }

    /// The load-balancing client (join rooms, raise events...).
    pub fn client(&self) -> &LoadBalancingClient {
        match &self.front {
            Front::Async(client) => client,
            Front::Polled(polled) => polled.client(),
        }
    }

    /// The polled client, when built with [`polled`](Self::polled).
    pub fn polled_client(&self) -> Option<&PolledClient> {
        match &self.front {
            Front::Polled(polled) => Some(polled),
            Front::Async(_) => None,
        }
    }

    /// Creates a local voice with the first free id (1..=15) and announces it
    /// if in a room. Returns its id.
    pub fn add_local_voice(&mut self, config: LocalVoiceConfig) -> Result<VoiceId, VoiceError> {
        let id = (1..=MAX_VOICES)
            .filter_map(|n| VoiceId::try_from(n).ok())
            .find(|id| self.locals.iter().all(|v| v.id() != *id))
            .ok_or(VoiceError::TooManyVoices)?;
        let mut voice = LocalVoice::new(id, config)?;
        if self.local_actor.is_some() {
            let client = match &self.front {
                Front::Async(client) => client,
                Front::Polled(polled) => polled.client(),
            };
            voice.announce(&mut ClientSender { client });
        }
        self.locals.push(voice);
        Ok(id)
    }

    /// Removes a local voice (end of stream and a remove announcement).
    pub fn remove_local_voice(&mut self, id: VoiceId) -> Result<(), VoiceError> {
        let index = self
            .locals
            .iter()
            .position(|v| v.id() == id)
            .ok_or(VoiceError::UnknownVoice(id.get()))?;
        let voice = self.locals.remove(index);
        let client = match &self.front {
            Front::Async(client) => client,
            Front::Polled(polled) => polled.client(),
        };
        voice.remove(&mut ClientSender { client });
        Ok(())
    }

    /// A local voice (options, stats, push-to-talk...).
    pub fn local_voice(&self, id: VoiceId) -> Option<&LocalVoice> {
        self.locals.iter().find(|v| v.id() == id)
    }

    /// Changes a local voice's options (reliable, encrypted, interest group,
    /// targets, debug echo) and announces it again where it now goes.
    pub fn set_voice_options(
        &mut self,
        id: VoiceId,
        options: FrameOptions,
    ) -> Result<(), VoiceError> {
        let joined = self.local_actor.is_some();
        let client = match &self.front {
            Front::Async(client) => client,
            Front::Polled(polled) => polled.client(),
        };
        let voice = self
            .locals
            .iter_mut()
            .find(|v| v.id() == id)
            .ok_or(VoiceError::UnknownVoice(id.get()))?;
        voice.set_options(options);
        if joined {
            voice.announce(&mut ClientSender { client });
        }
        Ok(())
    }

    /// Push-to-talk for a local voice.
    pub fn set_transmit_enabled(&mut self, id: VoiceId, enabled: bool) -> Result<(), VoiceError> {
        let client = match &self.front {
            Front::Async(client) => client,
            Front::Polled(polled) => polled.client(),
        };
        let voice = self
            .locals
            .iter_mut()
            .find(|v| v.id() == id)
            .ok_or(VoiceError::UnknownVoice(id.get()))?;
        voice.set_transmit_enabled(enabled, &mut ClientSender { client });
        Ok(())
    }

    /// Processes, encodes and sends one captured frame of voice `id`.
    pub fn push_frame(
        &mut self,
        now: Instant,
        id: VoiceId,
        pcm: &[f32],
    ) -> Result<FrameOutcome, VoiceError> {
        let client = match &self.front {
            Front::Async(client) => client,
            Front::Polled(polled) => polled.client(),
        };
        let voice = self
            .locals
            .iter_mut()
            .find(|v| v.id() == id)
            .ok_or(VoiceError::UnknownVoice(id.get()))?;
        Ok(voice.push_frame(now, pcm, &mut ClientSender { client })?)
    }

    /// The remote voices and their mix.
    pub fn receiver(&self) -> &VoiceReceiver {
        &self.receiver
    }

    /// Mixes every remote voice into `out` (interleaved, output format).
    pub fn mix(&mut self, now: Instant, out: &mut [f32]) {
        self.receiver.mix(now, out);
    }

    /// Incoming voice messages dropped so far (bad payloads, unknown formats),
    /// and the last reason.
    pub fn dropped(&self) -> (u64, Option<&str>) {
        (self.dropped, self.last_receive_error.as_deref())
    }

    fn note(&mut self, error: VoiceReceiveError) {
        self.dropped += 1;
        tracing::debug!(%error, "voice message dropped");
        self.last_receive_error = Some(error.to_string());
    }

    /// Routes one event of the client to the voice layer. Call it for every
    /// event unless you use [`next_event`](Self::next_event) / [`service`](Self::service).
    pub fn handle_event(&mut self, now: Instant, event: &LbEvent) {
        let client = match &self.front {
            Front::Async(client) => client,
            Front::Polled(polled) => polled.client(),
        };
        match event {
            LbEvent::Joined { actor, .. } => {
                self.local_actor = Some(*actor);
                self.receiver = VoiceReceiver::new(self.remote_config.clone());
                for voice in &mut self.locals {
                    voice.announce(&mut ClientSender { client });
                }
            }
            LbEvent::ActorJoined { actor, .. } => {
                for voice in &mut self.locals {
                    voice.handle_actor_joined(*actor, &mut ClientSender { client });
                }
            }
            LbEvent::ActorLeft { actor, .. } => self.receiver.remove_actor(*actor),
            LbEvent::CustomEvent {
                code: VOICE_EVENT_CODE,
                sender,
                data,
            } => match VoiceEvent::from_value(data) {
                Ok(events) => {
                    for voice_event in events {
                        if let Err(error) = self.receiver.handle_event(*sender, &voice_event) {
                            self.note(VoiceReceiveError::Info {
                                actor: *sender,
                                reason: error.to_string(),
                            });
                        }
                    }
                }
                Err(source) => self.note(VoiceReceiveError::Payload {
                    actor: *sender,
                    source,
                }),
            },
            LbEvent::RawFrame { sender, payload } => {
                if Some(*sender) == self.local_actor {
                    // Debug echo: our own frame came back through the server.
                    if let Ok(frame) = FrameView::parse(payload) {
                        if let Some(voice) =
                            self.locals.iter_mut().find(|v| v.id() == frame.voice_id)
                        {
                            voice.handle_echo(now, &frame);
                        }
                    }
                }
                if let Err(source) = self.receiver.handle_frame(now, *sender, payload) {
                    self.note(VoiceReceiveError::Payload {
                        actor: *sender,
                        source,
                    });
                }
            }
            LbEvent::StateChanged { to, .. } if !to.is_in_room() && self.local_actor.is_some() => {
                self.local_actor = None;
                self.receiver = VoiceReceiver::new(self.remote_config.clone());
            }
            _ => {}
        }
    }

    /// The next event (async front end), after routing it to the voice layer.
    /// With a polled client it returns what is queued, `None` when nothing is.
    pub async fn next_event(&mut self) -> Option<LbEvent> {
        let event = match &mut self.front {
            Front::Async(client) => client.next_event().await,
            Front::Polled(polled) => polled.poll_event(),
        }?;
        self.handle_event(Instant::now(), &event);
        Some(event)
    }

    /// Every queued event, routed to the voice layer (once per frame in game loops).
    pub fn service(&mut self) -> Vec<LbEvent> {
        let events: Vec<LbEvent> = match &mut self.front {
            Front::Async(client) => std::iter::from_fn(|| client.try_next_event()).collect(),
            Front::Polled(polled) => polled.service(),
        };
        let now = Instant::now();
        for event in &events {
            self.handle_event(now, event);
        }
        events
    }
}
