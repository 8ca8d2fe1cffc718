//! Outgoing voice: processing, Opus encoding, framing and the transmit state
//! (push-to-talk, mute, voice detection, end of stream).

use crate::codec::{OpusEncoder, DTX_PACKET_MAX};
use crate::config::{CodecConfig, CODEC_OPUS, MAX_OPUS_PACKET};
use crate::error::CodecError;
use crate::processing::{ProcessingConfig, Processor};
use crate::protocol::{FrameFlags, FrameView, VoiceId, VoiceInfo, FRAME_HEADER_LEN};
use crate::voice_transport::{FrameOptions, InfoTarget, VoiceTransport};
use bytes::Bytes;
use std::time::{Duration, Instant};

/// Skipped DTX frames that still consume an event number (see
/// [`LocalVoice::push_frame`]): 50 frames, 1 s at 20 ms.
pub const MAX_NUMBERED_DTX_FRAMES: u8 = 50;

/// Settings of an outgoing voice.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LocalVoiceConfig {
    /// Opus settings (rate, channels, frame duration, bitrate, FEC, DTX).
    pub codec: CodecConfig,
    /// Processing before encoding (all off by default).
    pub processing: ProcessingConfig,
    /// Reliable / encrypted / interest group / targets / debug echo.
    pub options: FrameOptions,
    /// Application data announced with the voice.
    pub user_data: Bytes,
}

/// Counters of an outgoing voice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LocalVoiceStats {
    /// Frames handed to the transport (not counting end-of-stream markers).
    pub frames_sent: u64,
    /// Bytes of those frames, headers included.
    pub bytes_sent: u64,
    /// Frames the encoder turned into DTX packets, not sent.
    pub dtx_skipped: u64,
    /// Frames not sent because voice detection found no voice.
    pub silence_skipped: u64,
    /// End-of-stream markers sent.
    pub end_of_streams: u64,
    /// Sends the transport refused.
    pub send_errors: u64,
    /// Round trip time: smoothed from debug echo, or supplied by the transport.
    pub round_trip: Option<Duration>,
}

/// What [`LocalVoice::push_frame`] did with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameOutcome {
    /// Sent, with this many bytes (header included).
    Sent(usize),
    /// Silence: the encoder produced a DTX packet, not sent.
    Dtx,
    /// Voice detection found no voice.
    NoVoice,
    /// Transmission is off (push-to-talk released) or muted.
    NotTransmitting,
    /// The transport refused the frame.
    SendFailed,
}

/// One outgoing voice. Drive it with one [`LocalVoice::push_frame`] per frame
/// of captured audio; it sends through the [`VoiceTransport`] you pass in.
pub struct LocalVoice {
    id: VoiceId,
    info: VoiceInfo,
    encoder: OpusEncoder,
    processor: Processor,
    options: FrameOptions,
    event_number: u8,
    transmit_enabled: bool,
    muted: bool,
    in_stream: bool,
    dtx_run: u8,
    scratch: Vec<f32>,
    frame: Vec<u8>,
    sent_at: Vec<Option<Instant>>,
    stats: LocalVoiceStats,
}

impl std::fmt::Debug for LocalVoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalVoice")
            .field("id", &self.id)
            .field("info", &self.info)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl LocalVoice {
    /// Creates voice `id` (1..=15, unique per client). Nothing is sent until
    /// [`LocalVoice::announce`].
    pub fn new(id: VoiceId, config: LocalVoiceConfig) -> Result<Self, CodecError> {
        let encoder = OpusEncoder::new(&config.codec)?;
        let format = config.codec.format;
        Ok(Self {
            id,
            info: VoiceInfo {
                codec: CODEC_OPUS,
                format,
                bitrate: config.codec.bitrate,
                user_data: config.user_data,
                event_number: 0,
            },
            processor: Processor::new(&config.processing, format.frame_duration.duration()),
            encoder,
            options: config.options,
            event_number: 0,
            transmit_enabled: true,
            muted: false,
            in_stream: false,
            dtx_run: 0,
            scratch: vec![0.0; format.frame_samples()],
            frame: vec![0u8; FRAME_HEADER_LEN + MAX_OPUS_PACKET],
            sent_at: vec![None; 256],
            stats: LocalVoiceStats::default(),
        })
    }

    /// The voice id.
    pub fn id(&self) -> VoiceId {
        self.id
    }

    /// The info announced (with the current event number).
    pub fn info(&self) -> VoiceInfo {
        VoiceInfo {
            event_number: self.event_number,
            ..self.info.clone()
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> LocalVoiceStats {
        self.stats
    }

    /// The processing chain (level meter, detector, ...), e.g. to calibrate.
    pub fn processor(&mut self) -> &mut Processor {
        &mut self.processor
    }

    /// The send switches.
    pub fn options(&self) -> &FrameOptions {
        &self.options
    }

    /// Changes the send switches (reliable, encrypted, group, targets, echo).
    pub fn set_options(&mut self, options: FrameOptions) {
        self.options = options;
    }

    /// The encoder, e.g. to change bitrate or expected loss.
    pub fn encoder(&mut self) -> &mut OpusEncoder {
        &mut self.encoder
    }

    fn count<E>(&mut self, result: Result<(), E>) -> bool {
        if result.is_err() {
            self.stats.send_errors += 1;
        }
        result.is_ok()
    }

    /// Sends the voice info reliably to everyone (after creating the voice or
    /// joining a room).
    pub fn announce(&mut self, transport: &mut dyn VoiceTransport) {
        let info = self.info();
        let result = transport.send_info(self.id, &info, InfoTarget::Everyone, &self.options);
        self.count(result);
    }

    /// Sends the voice info to an actor who just joined.
    pub fn handle_actor_joined(&mut self, actor: i32, transport: &mut dyn VoiceTransport) {
        let info = self.info();
        let result = transport.send_info(self.id, &info, InfoTarget::Actor(actor), &self.options);
        self.count(result);
    }

    /// Whether frames are transmitted (push-to-talk). Defaults to on.
    pub fn is_transmit_enabled(&self) -> bool {
        self.transmit_enabled
    }

    /// Push-to-talk: switching off sends an end-of-stream marker.
    pub fn set_transmit_enabled(&mut self, enabled: bool, transport: &mut dyn VoiceTransport) {
        self.transmit_enabled = enabled;
        if !enabled {
            self.end_stream(transport);
        }
    }

    /// Mutes (nothing is sent; an end of stream marks the change) or unmutes.
    pub fn set_muted(&mut self, muted: bool, transport: &mut dyn VoiceTransport) {
        self.muted = muted;
        if muted {
            self.end_stream(transport);
        }
    }

    /// Whether frames are currently being sent (a stream is open).
    pub fn is_transmitting(&self) -> bool {
        self.in_stream
    }

    fn end_stream(&mut self, transport: &mut dyn VoiceTransport) {
        if !self.in_stream {
            return;
        }
        self.in_stream = false;
        let header = [self.id.get(), self.event_number, FrameFlags::END_OF_STREAM];
        self.event_number = self.event_number.wrapping_add(1);
        // The marker matters more than a frame: send it reliably.
        let mut options = self.options.clone();
        options.reliable = true;
        let result = transport.send_frame(&header, &options);
        if self.count(result) {
            self.stats.end_of_streams += 1;
        }
    }

    /// Removes the voice: ends the stream and announces the removal.
    pub fn remove(mut self, transport: &mut dyn VoiceTransport) {
        self.end_stream(transport);
        let result = transport.send_remove(self.id, &self.options);
        self.count(result);
    }

    /// Processes, encodes and sends one frame of captured audio
    /// (`frame_samples` interleaved samples at the codec's rate). No
    /// allocation.
    ///
    /// DTX packets (silence) are not sent, but the first
    /// [`MAX_NUMBERED_DTX_FRAMES`] of a silence still advance the event
    /// number, so the receiver sees a gap it conceals instead of a shifted
    /// timeline.
    pub fn push_frame(
        &mut self,
        now: Instant,
        pcm: &[f32],
        transport: &mut dyn VoiceTransport,
    ) -> Result<FrameOutcome, CodecError> {
        if pcm.len() != self.scratch.len() {
            return Err(CodecError::FrameLength {
                expected: self.scratch.len(),
                actual: pcm.len(),
            });
        }
        self.scratch.copy_from_slice(pcm);
        let voice = self.processor.process(&mut self.scratch);
        if !self.transmit_enabled || self.muted {
            self.end_stream(transport);
            return Ok(FrameOutcome::NotTransmitting);
        }
        if !voice {
            self.stats.silence_skipped += 1;
            self.end_stream(transport);
            return Ok(FrameOutcome::NoVoice);
        }
        let n = self
            .encoder
            .encode(&self.scratch, &mut self.frame[FRAME_HEADER_LEN..])?;
        if n <= DTX_PACKET_MAX {
            self.stats.dtx_skipped += 1;
            // Keep the event numbers in step with time through short silences,
            // so the receiver's timeline stays right (it conceals the gap).
            // Long silences stop numbering (no 8-bit wrap ambiguity); the
            // receiver pauses and starts a new talk spurt.
            if self.in_stream && self.dtx_run < MAX_NUMBERED_DTX_FRAMES {
                self.dtx_run += 1;
                self.event_number = self.event_number.wrapping_add(1);
            }
            return Ok(FrameOutcome::Dtx);
        }
        self.dtx_run = 0;
        self.frame[..FRAME_HEADER_LEN].copy_from_slice(&[self.id.get(), self.event_number, 0]);
        let len = FRAME_HEADER_LEN + n;
        let result = transport.send_frame(&self.frame[..len], &self.options);
        if !self.count(result) {
            return Ok(FrameOutcome::SendFailed);
        }
        self.sent_at[self.event_number as usize] = Some(now);
        self.event_number = self.event_number.wrapping_add(1);
        self.in_stream = true;
        self.stats.frames_sent += 1;
        self.stats.bytes_sent += len as u64;
        Ok(FrameOutcome::Sent(len))
    }

    /// One of this voice's frames came back through the server (debug echo):
    /// updates the round trip (smoothed 7/8 old + 1/8 new, as RFC 6298).
    pub fn handle_echo(&mut self, now: Instant, frame: &FrameView<'_>) {
        if frame.voice_id != self.id {
            return;
        }
        if let Some(sent) = self.sent_at[frame.event_number as usize].take() {
            let sample = now.saturating_duration_since(sent);
            self.stats.round_trip = Some(match self.stats.round_trip {
                Some(rtt) => (rtt * 7 + sample) / 8,
                None => sample,
            });
        }
    }

    /// Sets the round trip measured by the transport.
    pub fn set_round_trip(&mut self, rtt: Duration) {
        self.stats.round_trip = Some(rtt);
    }
}
