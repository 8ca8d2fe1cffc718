//! Incoming voices: jitter buffer, Opus decoding with FEC recovery and
//! concealment, and mixing of all remote voices.

use crate::codec::OpusDecoder;
use crate::config::{AudioFormat, Channels, SamplingRate};
use crate::error::{CodecError, ConfigError, PayloadError};
use crate::jitter::{JitterBuffer, JitterConfig, Pop};
use crate::protocol::{FrameView, VoiceEvent, VoiceId, VoiceInfo};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Settings shared by all remote voices of a receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteVoiceConfig {
    /// Jitter buffer settings; `frame_duration` is taken from each voice's info.
    pub jitter: JitterConfig,
    /// Output (decode and mix) rate. Defaults to 48 kHz.
    pub output_rate: SamplingRate,
    /// Output channels. Defaults to mono.
    pub output_channels: Channels,
    /// Most samples one `read`/`mix` call handles at once (larger calls are
    /// processed in pieces). Defaults to 5760 (60 ms of 48 kHz stereo).
    pub max_block: usize,
}

impl Default for RemoteVoiceConfig {
    fn default() -> Self {
        Self {
            jitter: JitterConfig::default(),
            output_rate: SamplingRate::Hz48000,
            output_channels: Channels::Mono,
            max_block: 5760,
        }
    }
}

/// Counters of one remote voice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemoteVoiceStats {
    /// Frames received (accepted into the jitter buffer).
    pub frames_received: u64,
    /// Frames played from their own packet.
    pub frames_played: u64,
    /// Frames missing at their turn (see [`crate::JitterStats::lost`]).
    pub lost: u64,
    /// Frames that arrived after their turn.
    pub late: u64,
    /// Duplicates dropped.
    pub duplicates: u64,
    /// Frames concealed by PLC (lost without FEC, underruns, stretches).
    pub concealed: u64,
    /// Lost frames recovered from the next packet's FEC data.
    pub fec_recovered: u64,
    /// Underruns (nothing to play while the stream was active).
    pub underruns: u64,
    /// Frames dropped to catch up on delay.
    pub dropped: u64,
    /// Concealed frames inserted to grow the delay toward a higher target.
    pub stretched: u64,
    /// Packets that failed to decode (concealed instead).
    pub decode_errors: u64,
    /// Jitter buffer delay of the last played frame.
    pub buffer_delay: Duration,
    /// The jitter buffer's current target delay.
    pub target_delay: Duration,
    /// Measured arrival jitter.
    pub jitter: Duration,
}

/// One remote voice: jitter buffer + decoder + an output queue.
pub struct RemoteVoice {
    actor: i32,
    id: VoiceId,
    info: VoiceInfo,
    jitter: JitterBuffer,
    decoder: OpusDecoder,
    voice_channels: usize,
    output_channels: usize,
    decoded: Vec<f32>,
    queue: VecDeque<f32>,
    stats: RemoteVoiceStats,
}

impl std::fmt::Debug for RemoteVoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteVoice")
            .field("actor", &self.actor)
            .field("id", &self.id)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Why a remote voice could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteVoiceError {
    /// Bad settings.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The decoder could not be created.
    #[error(transparent)]
    Codec(#[from] CodecError),
}

impl RemoteVoice {
    /// A voice of `actor` described by `info`, decoded at the configured output rate.
    pub fn new(
        actor: i32,
        id: VoiceId,
        info: VoiceInfo,
        config: &RemoteVoiceConfig,
    ) -> Result<Self, RemoteVoiceError> {
        let jitter = JitterBuffer::new(JitterConfig {
            frame_duration: info.format.frame_duration.duration(),
            ..config.jitter.clone()
        })?;
        let decode_format = AudioFormat {
            sampling_rate: config.output_rate,
            ..info.format
        };
        let decoder = OpusDecoder::new(decode_format)?;
        Ok(Self {
            actor,
            id,
            voice_channels: info.format.channels.count(),
            output_channels: config.output_channels.count(),
            decoded: vec![0.0; decode_format.frame_samples()],
            queue: VecDeque::with_capacity(
                decode_format.frame_samples() * 4 + config.max_block * 2,
            ),
            info,
            jitter,
            decoder,
            stats: RemoteVoiceStats::default(),
        })
    }

    /// The sending actor.
    pub fn actor(&self) -> i32 {
        self.actor
    }
    /// The voice id.
    pub fn id(&self) -> VoiceId {
        self.id
    }
    /// The voice's announced info.
    pub fn info(&self) -> &VoiceInfo {
        &self.info
    }

    /// Counters so far.
    pub fn stats(&self) -> RemoteVoiceStats {
        let j = self.jitter.stats();
        RemoteVoiceStats {
            frames_received: j.received,
            lost: j.lost,
            late: j.late,
            duplicates: j.duplicates,
            underruns: j.underruns,
            dropped: j.dropped,
            stretched: j.stretched,
            buffer_delay: self.jitter.delay(),
            target_delay: self.jitter.target_delay(),
            jitter: self.jitter.jitter(),
            ..self.stats
        }
    }

    /// A frame of this voice arrived at `now`.
    pub fn handle_frame(&mut self, now: Instant, frame: &FrameView<'_>) {
        if frame.flags.is_end_of_stream() {
            self.jitter.push_end_of_stream(now, frame.event_number);
        } else {
            self.jitter.push(now, frame.event_number, frame.data);
        }
    }

    /// Decodes the next tick into the output queue.
    fn tick(&mut self, now: Instant) {
        let frame = &mut self.decoded;
        let result = match self.jitter.pop(now) {
            Pop::Frame { payload, .. } => {
                let r = self.decoder.decode(payload, frame);
                if r.is_ok() {
                    self.stats.frames_played += 1;
                }
                r
            }
            Pop::Lost {
                next: Some(next), ..
            } => {
                let r = self.decoder.decode_fec(next, frame);
                if r.is_ok() {
                    self.stats.fec_recovered += 1;
                }
                r
            }
            Pop::Lost { next: None, .. } | Pop::Underrun | Pop::Stretch => {
                self.stats.concealed += 1;
                self.decoder.conceal(frame)
            }
            Pop::EndOfStream => {
                let _ = self.decoder.reset();
                frame.fill(0.0);
                Ok(())
            }
            Pop::Empty => {
                frame.fill(0.0);
                Ok(())
            }
        };
        if result.is_err() {
            self.stats.decode_errors += 1;
            if self.decoder.conceal(frame).is_err() {
                frame.fill(0.0);
            }
        }
        let (vc, oc) = (self.voice_channels, self.output_channels);
        for chunk in self.decoded.chunks_exact(vc) {
            match (vc, oc) {
                (1, 2) => {
                    self.queue.push_back(chunk[0]);
                    self.queue.push_back(chunk[0]);
                }
                (2, 1) => self.queue.push_back(0.5 * (chunk[0] + chunk[1])),
                _ => self.queue.extend(chunk.iter().copied()),
            }
        }
    }

    /// Fills `out` (interleaved, output format) with this voice's audio,
    /// popping the jitter buffer once per frame needed. Call on the playout
    /// tick with the tick's time.
    pub fn read(&mut self, now: Instant, out: &mut [f32]) {
        while self.queue.len() < out.len() {
            self.tick(now);
        }
        let len = out.len();
        for (dst, src) in out.iter_mut().zip(self.queue.drain(..len)) {
            *dst = src;
        }
    }
}

/// All remote voices of a room, and their mix.
#[derive(Debug)]
pub struct VoiceReceiver {
    config: RemoteVoiceConfig,
    voices: Vec<RemoteVoice>,
    scratch: Vec<f32>,
}

impl VoiceReceiver {
    /// A receiver with no voices yet.
    pub fn new(config: RemoteVoiceConfig) -> Self {
        Self {
            scratch: vec![0.0; config.max_block.max(1)],
            config,
            voices: Vec::with_capacity(16),
        }
    }

    /// The remote voices.
    pub fn voices(&self) -> &[RemoteVoice] {
        &self.voices
    }

    /// A remote voice.
    pub fn voice(&self, actor: i32, id: VoiceId) -> Option<&RemoteVoice> {
        self.voices.iter().find(|v| v.actor == actor && v.id == id)
    }

    /// A voice event from `actor`: creates (or replaces) or removes voices.
    pub fn handle_event(&mut self, actor: i32, event: &VoiceEvent) -> Result<(), RemoteVoiceError> {
        match event {
            VoiceEvent::Info(id, info) => {
                let voice = RemoteVoice::new(actor, *id, info.clone(), &self.config)?;
                self.voices.retain(|v| !(v.actor == actor && v.id == *id));
                self.voices.push(voice);
            }
            VoiceEvent::Remove(ids) => self
                .voices
                .retain(|v| !(v.actor == actor && ids.contains(&v.id))),
        }
        Ok(())
    }

    /// Drops every voice of an actor who left.
    pub fn remove_actor(&mut self, actor: i32) {
        self.voices.retain(|v| v.actor != actor);
    }

    /// A frame payload from `actor` arrived at `now`. Frames of unknown
    /// voices (info not received yet) are dropped: returns `Ok(false)`.
    pub fn handle_frame(
        &mut self,
        now: Instant,
        actor: i32,
        bytes: &[u8],
    ) -> Result<bool, PayloadError> {
        let frame = FrameView::parse(bytes)?;
        match self
            .voices
            .iter_mut()
            .find(|v| v.actor == actor && v.id == frame.voice_id)
        {
            Some(voice) => {
                voice.handle_frame(now, &frame);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Mixes every voice into `out` (interleaved, output format): sums and
    /// clamps to -1..=1. No allocation.
    pub fn mix(&mut self, now: Instant, out: &mut [f32]) {
        out.fill(0.0);
        for block in out.chunks_mut(self.scratch.len()) {
            let scratch = &mut self.scratch[..block.len()];
            for voice in &mut self.voices {
                voice.read(now, scratch);
                for (o, s) in block.iter_mut().zip(scratch.iter()) {
                    *o += *s;
                }
            }
            for o in block.iter_mut() {
                *o = o.clamp(-1.0, 1.0);
            }
        }
    }
}
