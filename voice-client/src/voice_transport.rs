//! The seam between the voice layer and a network client.
//!
//! The voice layer hands byte payloads and events to a [`VoiceTransport`]; the
//! load-balancing client implements it on top of its room connection (event
//! codes, channels, actor targets). [`LoopbackTransport`] records what was
//! sent so that tests and tools can deliver it through a [`NetworkEmulator`].

use crate::protocol::{VoiceEvent, VoiceId, VoiceInfo};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Who a voice info goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoTarget {
    /// Everyone the voice's frames go to (on creation).
    Everyone,
    /// One actor that just joined.
    Actor(i32),
}

/// Per-voice send switches. Defaults: unreliable, clear, interest group 0,
/// everyone in the room, no debug echo (Photon's Recorder defaults).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FrameOptions {
    /// Send frames reliably (resent, in order). Defaults to off: a late frame is
    /// worthless and resends add delay.
    pub reliable: bool,
    /// Encrypt frames. Defaults to off (costs an AEAD per frame and ~28 bytes).
    pub encrypted: bool,
    /// Interest group the frames go to; 0 means none (the whole room).
    pub interest_group: u8,
    /// Only these actors receive the voice; empty means everyone.
    pub target_actors: Vec<i32>,
    /// Also send the frames back to this client through the server (to hear
    /// yourself and measure the round trip). Defaults to off.
    pub debug_echo: bool,
}

impl FrameOptions {
    /// The transport's send options for these switches (channel 0; the
    /// load-balancing client may pick its voice channel).
    pub fn to_send_options(&self) -> transport::SendOptions {
        let base = if self.reliable {
            transport::SendOptions::RELIABLE
        } else {
            transport::SendOptions::UNRELIABLE
        };
        base.encrypted(self.encrypted)
    }
}

/// A send the transport refused. The voice layer counts it and goes on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VoiceSendError {
    /// Not in a room (not connected or not joined yet).
    #[error("not joined to a room: join before sending voice")]
    NotJoined,
    /// The outgoing queue is full; the frame was dropped.
    #[error("send queue full: frame dropped")]
    Blocked,
}

/// What the voice layer needs from a network client.
pub trait VoiceTransport {
    /// Sends a voice's info reliably, to `target`.
    fn send_info(
        &mut self,
        voice_id: VoiceId,
        info: &VoiceInfo,
        target: InfoTarget,
        options: &FrameOptions,
    ) -> Result<(), VoiceSendError>;
    /// Sends one frame payload (`[voiceId, evNumber, flags, data]`) with `options`.
    fn send_frame(&mut self, frame: &[u8], options: &FrameOptions) -> Result<(), VoiceSendError>;
    /// Announces that a voice was removed (reliable).
    fn send_remove(
        &mut self,
        voice_id: VoiceId,
        options: &FrameOptions,
    ) -> Result<(), VoiceSendError>;
}

/// Something sent through a [`LoopbackTransport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// A voice event (info or remove) with its target (`None` for remove).
    Event(VoiceEvent, Option<InfoTarget>),
    /// A frame and whether it was sent reliably.
    Frame {
        /// The payload.
        bytes: Vec<u8>,
        /// The options it was sent with.
        options: FrameOptions,
    },
}

/// An in-memory transport that records every send, in order.
#[derive(Debug, Default)]
pub struct LoopbackTransport {
    sent: Vec<Sent>,
    /// When set, every send fails with this error (to test error handling).
    pub fail_with: Option<VoiceSendError>,
}

impl LoopbackTransport {
    /// An empty loopback.
    pub fn new() -> Self {
        Self::default()
    }
    /// Takes everything sent so far.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Sent> {
        self.sent.drain(..)
    }
    /// Everything sent and not yet drained.
    pub fn sent(&self) -> &[Sent] {
        &self.sent
    }
}

impl VoiceTransport for LoopbackTransport {
    fn send_info(
        &mut self,
        voice_id: VoiceId,
        info: &VoiceInfo,
        target: InfoTarget,
        _options: &FrameOptions,
    ) -> Result<(), VoiceSendError> {
        if let Some(e) = &self.fail_with {
            return Err(e.clone());
        }
        self.sent.push(Sent::Event(
            VoiceEvent::Info(voice_id, info.clone()),
            Some(target),
        ));
        Ok(())
    }
    fn send_frame(&mut self, frame: &[u8], options: &FrameOptions) -> Result<(), VoiceSendError> {
        if let Some(e) = &self.fail_with {
            return Err(e.clone());
        }
        self.sent.push(Sent::Frame {
            bytes: frame.to_vec(),
            options: options.clone(),
        });
        Ok(())
    }
    fn send_remove(
        &mut self,
        voice_id: VoiceId,
        _options: &FrameOptions,
    ) -> Result<(), VoiceSendError> {
        if let Some(e) = &self.fail_with {
            return Err(e.clone());
        }
        self.sent
            .push(Sent::Event(VoiceEvent::Remove(vec![voice_id]), None));
        Ok(())
    }
}

/// Network impairments for [`NetworkEmulator`].
#[derive(Debug, Clone, PartialEq)]
pub struct EmulatorConfig {
    /// Probability 0..=1 that an unreliable packet is lost. Defaults to 0.
    pub loss: f64,
    /// Fixed one-way delay. Defaults to 30 ms.
    pub delay: Duration,
    /// Extra delay drawn uniformly from 0..jitter per packet (so packets
    /// reorder when it exceeds the send interval). Defaults to 0.
    pub jitter: Duration,
    /// RNG seed. Defaults to 1.
    pub seed: u64,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            loss: 0.0,
            delay: Duration::from_millis(30),
            jitter: Duration::ZERO,
            seed: 1,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct InFlight {
    deliver_at: Instant,
    order: u64,
    bytes: Vec<u8>,
}

impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Min-heap on (deliver_at, order).
        (other.deliver_at, other.order).cmp(&(self.deliver_at, self.order))
    }
}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A seeded lossy, jittery link on a virtual clock (sans-IO).
#[derive(Debug)]
pub struct NetworkEmulator {
    config: EmulatorConfig,
    rng: StdRng,
    in_flight: BinaryHeap<InFlight>,
    order: u64,
    /// Packets dropped so far.
    pub dropped: u64,
}

impl NetworkEmulator {
    /// A link with `config`.
    pub fn new(config: EmulatorConfig) -> Self {
        Self {
            rng: StdRng::seed_from_u64(config.seed),
            config,
            in_flight: BinaryHeap::new(),
            order: 0,
            dropped: 0,
        }
    }

    /// Sends `bytes` at `now`; reliable packets are never lost (but jitter).
    pub fn send(&mut self, now: Instant, bytes: Vec<u8>, reliable: bool) {
        let lost = self.rng.gen_bool(self.config.loss.clamp(0.0, 1.0));
        self.send_decided(now, bytes, reliable, lost);
    }

    /// Like [`NetworkEmulator::send`] with the loss decided by the caller
    /// (to replay one loss pattern through several paths); `config.loss` is ignored.
    pub fn send_decided(&mut self, now: Instant, bytes: Vec<u8>, reliable: bool, lost: bool) {
        let jitter_us = self.config.jitter.as_micros() as u64;
        let extra = if jitter_us > 0 {
            self.rng.gen_range(0..jitter_us)
        } else {
            0
        };
        if lost && !reliable {
            self.dropped += 1;
            return;
        }
        self.order += 1;
        self.in_flight.push(InFlight {
            deliver_at: now + self.config.delay + Duration::from_micros(extra),
            order: self.order,
            bytes,
        });
    }

    /// The next packet due at or before `now`, with its arrival time.
    pub fn poll_receive(&mut self, now: Instant) -> Option<(Instant, Vec<u8>)> {
        if self.in_flight.peek()?.deliver_at <= now {
            self.in_flight.pop().map(|p| (p.deliver_at, p.bytes))
        } else {
            None
        }
    }

    /// When the next packet is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.in_flight.peek().map(|p| p.deliver_at)
    }
}
