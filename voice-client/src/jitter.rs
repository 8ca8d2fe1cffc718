//! Adaptive jitter buffer: sans-IO, driven by a caller's clock.
//!
//! # Driving it
//!
//! - Call [`JitterBuffer::push`] for every frame that arrives, with the time of
//!   arrival and its 8-bit event number (extended internally to a 64-bit
//!   counter, so wrap-around at 255 is seamless; reorder up to ±127 frames).
//! - Call [`JitterBuffer::pop`] once per playout tick (every frame duration, on
//!   absolute deadlines of the *receiver's* clock). It says what to play:
//!   a [`Pop::Frame`], a [`Pop::Lost`] frame (recover it with FEC from the
//!   next packet it hands you, or conceal), an [`Pop::Underrun`] (nothing to
//!   play yet: conceal, the delay grows by one frame), [`Pop::EndOfStream`], or
//!   [`Pop::Empty`] (no stream: play silence).
//! - Time never goes backwards: earlier `now` values are clamped.
//!
//! # How it adapts
//!
//! Every arrival gives a *transit* sample `arrival - seq * frame_duration`
//! (the one-way delay plus an unknown clock offset). Over a sliding window of
//! the last [`JitterConfig::jitter_window`] arrivals, the jitter is
//! `max(transit) - min(transit)`. The target delay is that jitter plus one frame
//! (so the next packet is usually there for FEC when one is lost), clamped to
//! [`JitterConfig::min_delay`]..=[`JitterConfig::max_delay`].
//!
//! The current delay is how long ago the next frame to play would have arrived
//! at the smallest transit in the window: `now - (next_seq * frame + min_transit)`.
//! A talk spurt starts playing once that reaches the target. While it is more
//! than one frame above the target, holes (lost frames) are skipped, and one
//! present frame in every [`JitterConfig::catch_up_interval`] pops is dropped
//! (Photon speeds up 5 % to catch up; dropping one frame in 20 is the same
//! rate). Above the maximum, frames are dropped at once while later ones are
//! buffered (so the delay can exceed the maximum by less than a frame when
//! nothing later has arrived). Below the target by a frame or more (the
//! jitter grew while playing), one concealed frame is inserted per
//! interval instead ([`Pop::Stretch`], a 5 % slow-down), so the delay reaches
//! the new target before a late frame finds the buffer empty. An underrun (the next
//! frame has not arrived and nothing later has) does not advance the sequence,
//! so a late frame is still played and the delay grows instead. Clock drift is
//! handled by the same two mechanisms: a faster sender raises the delay and
//! is caught up by drops, a slower one causes occasional underruns.
//!
//! A missing frame whose latest expected arrival (`seq * frame +
//! max(transit) + frame / 2`) has passed is reported [`Pop::Lost`] without
//! waiting for a later one, so random loss does not stretch playout.
//!
//! After [`JitterConfig::pause_after`] of consecutive missing frames (the sender
//! stopped sending: DTX silence, or a long outage) the buffer pauses and
//! returns [`Pop::Empty`]; the next arrival starts a new talk spurt at the
//! target delay.
//!
//! A new talk spurt after a pause or an end of stream moves the transit
//! window's base to its first frame (keeping the measured spread), since the
//! sender may have skipped time without numbering it.
//!
//! Memory is allocated once in [`JitterBuffer::new`]; `push` copies the payload
//! into a preallocated slot and `pop` lends it back, so there is no allocation
//! per frame.

use crate::error::ConfigError;
use std::time::{Duration, Instant};

/// Jitter buffer settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitterConfig {
    /// Duration of one frame (one `pop` tick). Defaults to 20 ms.
    pub frame_duration: Duration,
    /// Lowest target delay. Defaults to 40 ms (two frames at 20 ms, so that the
    /// packet after a lost one is usually there for FEC recovery).
    pub min_delay: Duration,
    /// Highest target and kept delay. Defaults to 500 ms. Memory: one slot of
    /// `max_payload` bytes per frame of this delay (plus 8), at most 128 slots.
    pub max_delay: Duration,
    /// Number of recent arrivals the jitter is measured over. Defaults to 100
    /// (2 s at 20 ms). Longer is steadier but catches up later after a burst.
    pub jitter_window: usize,
    /// When a frame or more above target, drop at most one present frame
    /// every this many pops (a 5 % speed-up at the default, Photon's); when a
    /// frame or more below, insert at most one concealed frame as often (a
    /// 5 % slow-down). Defaults to 20. Must be at least 1.
    pub catch_up_interval: u32,
    /// Consecutive underrun time after which the stream counts as paused.
    /// Defaults to 200 ms.
    pub pause_after: Duration,
    /// Largest payload stored; longer ones are refused. Defaults to 1500 bytes.
    pub max_payload: usize,
}

impl Default for JitterConfig {
    fn default() -> Self {
        Self {
            frame_duration: Duration::from_millis(20),
            min_delay: Duration::from_millis(40),
            max_delay: Duration::from_millis(500),
            jitter_window: 100,
            catch_up_interval: 20,
            pause_after: Duration::from_millis(200),
            max_payload: 1500,
        }
    }
}

impl JitterConfig {
    /// Checks the settings; the error names the setting and the fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let frame = self.frame_duration.as_micros();
        if frame < 1000 {
            return Err(ConfigError::Invalid {
                name: "frame_duration",
                fix: "use at least 1 ms (Opus frames are 10 to 60 ms)",
            });
        }
        if self.min_delay > self.max_delay {
            return Err(ConfigError::Invalid {
                name: "min_delay",
                fix: "must not exceed max_delay",
            });
        }
        if self.max_delay.as_micros() / frame > 120 {
            return Err(ConfigError::Invalid {
                name: "max_delay",
                fix: "must be at most 120 frames (8-bit event numbers only disambiguate half their range)",
            });
        }
        if self.jitter_window == 0 || self.jitter_window > 1000 {
            return Err(ConfigError::Invalid {
                name: "jitter_window",
                fix: "use 1..=1000 arrivals",
            });
        }
        if self.catch_up_interval == 0 {
            return Err(ConfigError::Invalid {
                name: "catch_up_interval",
                fix: "use at least 1",
            });
        }
        if self.max_payload == 0 {
            return Err(ConfigError::Invalid {
                name: "max_payload",
                fix: "use at least 1 byte",
            });
        }
        Ok(())
    }
}

/// Counters of one jitter buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Frames accepted into the buffer.
    pub received: u64,
    /// Frames delivered as [`Pop::Frame`].
    pub delivered: u64,
    /// Frames that arrived after their playout time (dropped).
    pub late: u64,
    /// Frames received twice (dropped).
    pub duplicates: u64,
    /// Frames that had not arrived when their turn came while a later one had
    /// (reported as [`Pop::Lost`] or skipped). Some may arrive later and also
    /// count as late.
    pub lost: u64,
    /// Present frames dropped to catch up on delay.
    pub dropped: u64,
    /// Pops that returned [`Pop::Underrun`].
    pub underruns: u64,
    /// Pops that returned [`Pop::Stretch`] (concealed frames inserted to grow
    /// the delay toward a higher target).
    pub stretched: u64,
    /// Payloads refused for being longer than `max_payload`.
    pub oversized: u64,
}

/// What to play for one tick.
#[derive(Debug, PartialEq, Eq)]
pub enum Pop<'a> {
    /// The frame with this (extended) sequence number.
    Frame {
        /// Extended sequence number.
        seq: u64,
        /// Its payload.
        payload: &'a [u8],
    },
    /// Frame `seq` is missing while later ones are here. If `next` is given
    /// (the payload of `seq + 1`), decode it with FEC to recover `seq`;
    /// otherwise conceal. The next pop plays `seq + 1` normally.
    Lost {
        /// Extended sequence number of the missing frame.
        seq: u64,
        /// The following frame's payload, for FEC.
        next: Option<&'a [u8]>,
    },
    /// Nothing to play yet although the stream is active: conceal one frame.
    /// The sequence does not advance (the delay grows by one frame).
    Underrun,
    /// The next frame is here but the delay is a frame or more below the
    /// target (the jitter grew): conceal one frame. The sequence does not
    /// advance (the delay grows by one frame), at most once per
    /// [`JitterConfig::catch_up_interval`] pops.
    Stretch,
    /// The sender ended the stream; play silence from now on.
    EndOfStream,
    /// No active stream: play silence.
    Empty,
}

/// What happened to a pushed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Stored for playout.
    Stored,
    /// Its playout time has passed; dropped.
    Late,
    /// Already received; dropped.
    Duplicate,
    /// Longer than `max_payload`; dropped.
    Oversized,
}

struct Slot {
    ext: u64,
    present: bool,
    end: bool,
    len: usize,
    data: Box<[u8]>,
}

/// The adaptive jitter buffer of one remote voice. See the module docs.
pub struct JitterBuffer {
    config: JitterConfig,
    frame_us: i64,
    slots: Vec<Slot>,
    mask: u64,
    epoch: Option<Instant>,
    last_time: i64,
    highest: Option<u64>,
    transit: Vec<i64>,
    transit_pos: usize,
    min_transit: i64,
    max_transit: i64,
    next_seq: Option<u64>,
    playing: bool,
    started_once: bool,
    seen: u128,
    underrun_run: u32,
    speculative: u32,
    rebase: bool,
    pops_since_adjust: u32,
    delay_us: i64,
    stats: JitterStats,
}

impl std::fmt::Debug for JitterBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitterBuffer")
            .field("next_seq", &self.next_seq)
            .field("playing", &self.playing)
            .field("stats", &self.stats)
            .finish()
    }
}

/// Extended sequence numbers start here so that reordered frames before the
/// first one never underflow.
const SEQ_BASE: u64 = 1 << 32;

impl JitterBuffer {
    /// Creates a buffer; all memory is allocated here.
    pub fn new(config: JitterConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let frame_us = config.frame_duration.as_micros() as i64;
        let frames = (config.max_delay.as_micros() as i64 / frame_us) as usize + 8;
        let capacity = frames.next_power_of_two().clamp(16, 128);
        let slots = (0..capacity)
            .map(|_| Slot {
                ext: 0,
                present: false,
                end: false,
                len: 0,
                data: vec![0u8; config.max_payload].into_boxed_slice(),
            })
            .collect();
        Ok(Self {
            frame_us,
            slots,
            mask: capacity as u64 - 1,
            epoch: None,
            last_time: 0,
            highest: None,
            transit: Vec::with_capacity(config.jitter_window),
            transit_pos: 0,
            min_transit: 0,
            max_transit: 0,
            next_seq: None,
            playing: false,
            started_once: false,
            seen: 0,
            underrun_run: 0,
            speculative: 0,
            rebase: false,
            pops_since_adjust: 0,
            delay_us: 0,
            stats: JitterStats::default(),
            config,
        })
    }

    /// The settings.
    pub fn config(&self) -> &JitterConfig {
        &self.config
    }

    /// Counters so far.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Whether a talk spurt is playing.
    pub fn is_playing(&self) -> bool {
        self.playing
    }

    fn time(&mut self, now: Instant) -> i64 {
        let epoch = *self.epoch.get_or_insert(now);
        let t = now.saturating_duration_since(epoch).as_micros() as i64;
        self.last_time = self.last_time.max(t);
        self.last_time
    }

    fn extend(&self, seq: u8) -> u64 {
        match self.highest {
            None => SEQ_BASE + seq as u64,
            Some(h) => {
                let c = (h & !0xFF) | seq as u64;
                [c.wrapping_sub(256), c, c + 256]
                    .into_iter()
                    .min_by_key(|x| x.abs_diff(h))
                    .unwrap_or(c)
            }
        }
    }

    /// Measured jitter (spread of transit times over the window).
    pub fn jitter(&self) -> Duration {
        Duration::from_micros((self.max_transit - self.min_transit).max(0) as u64)
    }

    fn target_us(&self) -> i64 {
        let min = self.config.min_delay.as_micros() as i64;
        let max = self.config.max_delay.as_micros() as i64;
        (self.max_transit - self.min_transit + self.frame_us).clamp(min, max)
    }

    /// The delay the buffer aims at now, within min and max.
    pub fn target_delay(&self) -> Duration {
        Duration::from_micros(self.target_us() as u64)
    }

    fn delay_us_at(&self, t: i64, seq: u64) -> i64 {
        t - (seq as i64 * self.frame_us + self.min_transit)
    }

    /// The buffer delay (see the module docs) of the frame played by the last
    /// `pop`; zero when not playing.
    pub fn delay(&self) -> Duration {
        if self.playing {
            Duration::from_micros(self.delay_us.max(0) as u64)
        } else {
            Duration::ZERO
        }
    }

    fn record_transit(&mut self, t: i64, ext: u64) {
        let transit = t - ext as i64 * self.frame_us;
        if self.transit.len() < self.config.jitter_window {
            self.transit.push(transit);
        } else {
            self.transit[self.transit_pos] = transit;
            self.transit_pos = (self.transit_pos + 1) % self.transit.len();
        }
        let (mut min, mut max) = (i64::MAX, i64::MIN);
        for &x in &self.transit {
            min = min.min(x);
            max = max.max(x);
        }
        self.min_transit = min;
        self.max_transit = max;
    }

    /// A frame arrived at `now` with 8-bit event number `seq`.
    pub fn push(&mut self, now: Instant, seq: u8, payload: &[u8]) -> PushOutcome {
        self.push_inner(now, seq, payload, false)
    }

    /// An end-of-stream marker arrived at `now` with event number `seq`.
    pub fn push_end_of_stream(&mut self, now: Instant, seq: u8) -> PushOutcome {
        self.push_inner(now, seq, &[], true)
    }

    fn push_inner(&mut self, now: Instant, seq: u8, payload: &[u8], end: bool) -> PushOutcome {
        let t = self.time(now);
        if payload.len() > self.config.max_payload {
            self.stats.oversized += 1;
            return PushOutcome::Oversized;
        }
        let ext = self.extend(seq);
        if let Some(next) = self.next_seq {
            if ext < next {
                let back = next - ext;
                let can_lower = !self.playing
                    && !self.started_once
                    && self
                        .highest
                        .is_some_and(|h| h - ext < self.slots.len() as u64);
                if can_lower {
                    self.next_seq = Some(ext);
                } else {
                    if back <= 128 && self.seen & (1u128 << (back - 1)) != 0 {
                        self.stats.duplicates += 1;
                        return PushOutcome::Duplicate;
                    }
                    self.stats.late += 1;
                    self.record_transit(t, ext);
                    return PushOutcome::Late;
                }
            }
        } else {
            self.next_seq = Some(ext);
        }
        let slot = &self.slots[(ext & self.mask) as usize];
        if slot.present && slot.ext == ext {
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        // Too far ahead of playout for the ring: move playout forward.
        let capacity = self.slots.len() as u64;
        while let Some(next) = self.next_seq {
            if ext < next + capacity {
                break;
            }
            self.advance_dropping(next);
        }
        let slot = &mut self.slots[(ext & self.mask) as usize];
        slot.ext = ext;
        slot.present = true;
        slot.end = end;
        slot.len = payload.len();
        slot.data[..payload.len()].copy_from_slice(payload);
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        self.stats.received += 1;
        if self.rebase {
            // First frame after a pause: the sender's timeline may have moved
            // (unnumbered silence). Keep the measured spread, move its base.
            self.rebase = false;
            let delta = (t - ext as i64 * self.frame_us) - self.min_transit;
            for x in &mut self.transit {
                *x += delta;
            }
            self.min_transit += delta;
            self.max_transit += delta;
        }
        self.record_transit(t, ext);
        PushOutcome::Stored
    }

    fn is_present(&self, ext: u64) -> bool {
        let slot = &self.slots[(ext & self.mask) as usize];
        slot.present && slot.ext == ext
    }

    /// Moves playout past `seq`, counting it as dropped or lost.
    fn advance_dropping(&mut self, seq: u64) {
        if self.is_present(seq) {
            self.slots[(seq & self.mask) as usize].present = false;
            self.stats.dropped += 1;
            self.advance(true);
        } else {
            self.stats.lost += 1;
            self.advance(false);
        }
    }

    fn advance(&mut self, received: bool) {
        self.seen = (self.seen << 1) | received as u128;
        if let Some(next) = self.next_seq.as_mut() {
            *next += 1;
        }
    }

    fn later_present(&self, seq: u64) -> bool {
        self.highest.is_some_and(|h| h > seq)
    }

    fn lowest_buffered(&self) -> Option<u64> {
        let next = self.next_seq?;
        let highest = self.highest?;
        (next..=highest).find(|&s| self.is_present(s))
    }

    /// What to play for the tick at `now`. Call once per frame duration.
    pub fn pop(&mut self, now: Instant) -> Pop<'_> {
        if self.epoch.is_none() {
            return Pop::Empty;
        }
        let t = self.time(now);
        let target = self.target_us();
        if !self.playing {
            let Some(first) = self.lowest_buffered() else {
                return Pop::Empty;
            };
            if self.delay_us_at(t, first) < target {
                return Pop::Empty;
            }
            let mut next = self.next_seq.unwrap_or(first);
            while next < first {
                // Numbers skipped before a new spurt (silence or loss; not
                // counted as lost).
                self.advance(false);
                next += 1;
            }
            self.playing = true;
            self.started_once = true;
            self.underrun_run = 0;
        }
        let Some(mut seq) = self.next_seq else {
            return Pop::Empty;
        };
        let max = self.config.max_delay.as_micros() as i64;
        // Catch up: above the maximum drop at once; above target skip holes
        // and drop one present frame per interval.
        self.pops_since_adjust = self.pops_since_adjust.saturating_add(1);
        while self.later_present(seq) {
            let delay = self.delay_us_at(t, seq);
            let hole = !self.is_present(seq);
            let above_target = delay - self.frame_us > target;
            let may_drop = above_target && self.pops_since_adjust >= self.config.catch_up_interval;
            let is_end = !hole && self.slots[(seq & self.mask) as usize].end;
            if is_end || !(delay > max || (above_target && hole) || may_drop) {
                break;
            }
            if !hole {
                self.pops_since_adjust = 0;
            }
            self.advance_dropping(seq);
            seq += 1;
        }
        let index = (seq & self.mask) as usize;
        self.delay_us = self.delay_us_at(t, seq);
        let below_target = self.delay_us + self.frame_us <= target;
        if below_target
            && self.is_present(seq)
            && self.pops_since_adjust >= self.config.catch_up_interval
        {
            self.pops_since_adjust = 0;
            self.stats.stretched += 1;
            return Pop::Stretch;
        }
        if self.is_present(seq) {
            self.underrun_run = 0;
            self.speculative = 0;
            self.slots[index].present = false;
            self.advance(true);
            if self.slots[index].end {
                self.playing = false;
                self.rebase = !self.transit.is_empty();
                return Pop::EndOfStream;
            }
            self.stats.delivered += 1;
            let slot = &self.slots[index];
            return Pop::Frame {
                seq,
                payload: &slot.data[..slot.len],
            };
        }
        if self.later_present(seq) {
            self.underrun_run = 0;
            self.speculative = 0;
            self.stats.lost += 1;
            self.advance(false);
            let next = seq + 1;
            let slot = &self.slots[(next & self.mask) as usize];
            let next_payload =
                (slot.present && slot.ext == next && !slot.end).then(|| &slot.data[..slot.len]);
            return Pop::Lost {
                seq,
                next: next_payload,
            };
        }
        self.underrun_run += 1;
        let paused_us = self.underrun_run as i64 * self.frame_us;
        if paused_us > self.config.pause_after.as_micros() as i64 || self.delay_us_at(t, seq) > max
        {
            // The sender went quiet: undo the frames declared lost since the
            // last real one (they were probably never sent) and wait.
            for _ in 0..self.speculative {
                self.seen >>= 1;
                self.stats.lost -= 1;
            }
            if let Some(next) = self.next_seq.as_mut() {
                *next -= self.speculative as u64;
            }
            self.speculative = 0;
            self.playing = false;
            self.rebase = !self.transit.is_empty();
            return Pop::Empty;
        }
        // Past the latest arrival time seen in the window: probably lost.
        if t > seq as i64 * self.frame_us + self.max_transit + self.frame_us / 2 {
            self.speculative += 1;
            self.stats.lost += 1;
            self.advance(false);
            return Pop::Lost { seq, next: None };
        }
        self.stats.underruns += 1;
        Pop::Underrun
    }
}
