//! What a bot does once in its room: speakers send voice frames at real-time
//! pace on absolute deadlines; every bot listens and records delivery and latency.
//!
//! A frame is a `Message::RawSend` (receivers: others in the room), sent
//! unreliable (encrypted with `--encrypt`). Its payload, little-endian:
//!
//! | bytes  | field                                                  |
//! |--------|--------------------------------------------------------|
//! | 0..4   | magic `LTv1`                                           |
//! | 4..8   | room index                                             |
//! | 8..10  | speaker slot in the room                               |
//! | 10..12 | zero                                                   |
//! | 12..16 | sequence number (0, 1, ...)                            |
//! | 16..24 | send time: ns since the run's shared start `Instant`   |
//! | 24..   | padding up to `--payload-bytes`                        |
//!
//! All bots run in one process, so one monotonic clock serves both ends.
//! Per frame, the sender writes into a reused `BytesMut` (no allocation once
//! its block is reclaimed) and the listener parses in place.

use super::stats::Recorder;
use bytes::{BufMut, Bytes, BytesMut};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use transport::codec::kind;
use transport::runtime::{Client, ClientEvents};
use transport::{ConnectionEvent, SendOptions};

/// First bytes of every load-test payload.
pub const MAGIC: [u8; 4] = *b"LTv1";
/// Smallest payload: the fields above.
pub const PAYLOAD_MIN: usize = 24;
/// The `RawSend` header written before the payload: kind, receiver group
/// (others), interest group 0, no target actors.
pub const RAW_SEND_HEADER: [u8; 4] = [kind::RAW_SEND, 0, 0, 0];
/// Bytes reserved at once for outgoing frames; reclaimed when the transport
/// has sent them all.
const SEND_BLOCK: usize = 16 * 1024;

/// The timing of a run, shared by every bot.
#[derive(Debug)]
pub struct Plan {
    /// The shared clock origin: frame times are offsets from it.
    pub start: Instant,
    /// Offset (ns) where the measured window starts (end of warm-up).
    pub window_start_ns: u64,
    /// Offset (ns) where the window ends: no frame is sent from then on.
    pub window_end_ns: u64,
    /// When listeners stop (window end + drain).
    pub stop: Instant,
    /// Frame interval (ns).
    pub frame_ns: u64,
    /// Payload size (bytes, at least [`PAYLOAD_MIN`]).
    pub payload_bytes: usize,
    /// Real Opus packets to send after the header, cycled (`--voice`).
    pub voice: Option<Arc<Vec<Bytes>>>,
    /// Send frames encrypted (and expect them encrypted).
    pub encrypt: bool,
    /// Speaker slots per room (bots with a lower slot speak).
    pub speakers_per_room: usize,
    /// Most frames one speaker sends (bitmap size of a listener).
    pub max_frames: usize,
    /// Where everything is counted.
    pub recorder: Arc<Recorder>,
}

impl Plan {
    fn in_window(&self, send_ns: u64) -> bool {
        send_ns >= self.window_start_ns && send_ns < self.window_end_ns
    }

    fn since_start(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.start).as_nanos() as u64
    }
}

/// Writes one frame (RawSend header and payload) into `out`.
pub fn write_frame(out: &mut BytesMut, room: u32, slot: u16, seq: u32, send_ns: u64, size: usize) {
    write_frame_header(out, room, slot, seq, send_ns);
    out.put_bytes(0x55, size.saturating_sub(PAYLOAD_MIN));
}

/// Writes one frame whose payload ends with a real Opus packet (`--voice`).
pub fn write_voice_frame(
    out: &mut BytesMut,
    room: u32,
    slot: u16,
    seq: u32,
    send_ns: u64,
    opus: &[u8],
) {
    write_frame_header(out, room, slot, seq, send_ns);
    out.put_slice(opus);
}

fn write_frame_header(out: &mut BytesMut, room: u32, slot: u16, seq: u32, send_ns: u64) {
    out.put_slice(&RAW_SEND_HEADER);
    out.put_slice(&MAGIC);
    out.put_u32_le(room);
    out.put_u16_le(slot);
    out.put_u16_le(0);
    out.put_u32_le(seq);
    out.put_u64_le(send_ns);
}

/// The fields of a received payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// Room index.
    pub room: u32,
    /// Speaker slot.
    pub slot: u16,
    /// Sequence number.
    pub seq: u32,
    /// Send time (ns since the start).
    pub send_ns: u64,
}

/// Parses a received message if it is a load-test frame (`RawEvent`): the kind
/// byte, the sender's actor number as a compact integer (zigzag varint), then
/// the payload. Returns the sender and the payload's fields.
pub fn parse_raw_event(message: &[u8]) -> Option<(i32, FrameInfo)> {
    if message.first() != Some(&kind::RAW_EVENT) {
        return None;
    }
    let mut value: u32 = 0;
    let mut at = 1;
    loop {
        let byte = *message.get(at)?;
        let shift = 7 * (at - 1) as u32;
        if shift > 28 {
            return None;
        }
        value |= u32::from(byte & 0x7f) << shift;
        at += 1;
        if byte & 0x80 == 0 {
            break;
        }
    }
    let sender = (value >> 1) as i32 ^ -((value & 1) as i32);
    Some((sender, parse_payload(&message[at..])?))
}

/// Parses a payload written by [`write_frame`].
pub fn parse_payload(p: &[u8]) -> Option<FrameInfo> {
    if p.len() < PAYLOAD_MIN || p[0..4] != MAGIC {
        return None;
    }
    let u32_at = |i: usize| u32::from_le_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]]);
    let mut ns = [0u8; 8];
    ns.copy_from_slice(&p[16..24]);
    Some(FrameInfo {
        room: u32_at(4),
        slot: u16::from_le_bytes([p[8], p[9]]),
        seq: u32_at(12),
        send_ns: u64::from_le_bytes(ns),
    })
}

/// A speaker: sends frame `seq` at `start + offset + seq × frame` until the
/// window ends. Deadlines are absolute, so a late wake-up does not shift later
/// frames (frames due meanwhile go out at once). `others` is the number of
/// other clients in the room (each should receive every frame).
pub async fn speak(
    client: Client,
    room: u32,
    slot: u16,
    offset_ns: u64,
    others: u64,
    plan: Arc<Plan>,
) {
    let recorder = &plan.recorder;
    let counters = &recorder.counters;
    let options = SendOptions::UNRELIABLE.encrypted(plan.encrypt);
    let largest_voice = plan
        .voice
        .as_ref()
        .and_then(|v| v.iter().map(Bytes::len).max());
    let frame_len = RAW_SEND_HEADER.len()
        + match largest_voice {
            Some(opus) => PAYLOAD_MIN + opus,
            None => plan.payload_bytes.max(PAYLOAD_MIN),
        };
    let mut buf = BytesMut::with_capacity(SEND_BLOCK.max(frame_len));
    let mut seq: u32 = 0;
    loop {
        let due_ns = offset_ns + u64::from(seq) * plan.frame_ns;
        if due_ns >= plan.window_end_ns {
            break;
        }
        let deadline = plan.start + Duration::from_nanos(due_ns);
        tokio::time::sleep_until(deadline).await;
        let send_ns = plan.since_start(Instant::now());
        if buf.capacity() < frame_len {
            buf.reserve(SEND_BLOCK.max(frame_len));
        }
        match &plan.voice {
            Some(packets) => {
                let opus = &packets[seq as usize % packets.len()];
                write_voice_frame(&mut buf, room, slot, seq, send_ns, opus);
            }
            None => write_frame(&mut buf, room, slot, seq, send_ns, plan.payload_bytes),
        }
        let frame: Bytes = buf.split().freeze();
        let sent = client.send(frame, options).is_ok();
        if plan.in_window(send_ns) {
            let second = recorder.slot(send_ns - plan.window_start_ns);
            recorder
                .send_lag
                .record(send_ns.saturating_sub(due_ns) / 1000);
            if sent {
                counters.frames_sent.fetch_add(1, Relaxed);
                recorder.sent_per_second[second].fetch_add(1, Relaxed);
            } else {
                counters.send_errors.fetch_add(1, Relaxed);
            }
            // A refused send still was due: its listeners count as missing it.
            counters.frames_expected.fetch_add(others, Relaxed);
        } else if sent {
            counters.warmup_frames_sent.fetch_add(1, Relaxed);
        }
        seq += 1;
    }
}

/// A listener: counts each (speaker, seq) of its room once and records the
/// latency of frames sent in the window, until the plan's stop time.
/// `actors[slot]` is the actor number of the room's speaker in that slot (a
/// frame whose relay sender differs is counted as foreign).
pub async fn listen(
    mut events: ClientEvents,
    room: u32,
    own_slot: u16,
    actors: Arc<Vec<Option<i32>>>,
    plan: Arc<Plan>,
) {
    let recorder = &plan.recorder;
    let counters = &recorder.counters;
    let words = plan.max_frames.div_ceil(64);
    let mut seen: Vec<Vec<u64>> = vec![vec![0u64; words]; plan.speakers_per_room];
    loop {
        let event = match tokio::time::timeout_at(plan.stop, events.recv()).await {
            Err(_) => return,
            Ok(None) => {
                counters.disconnects.fetch_add(1, Relaxed);
                return;
            }
            Ok(Some(event)) => event,
        };
        let message = match event {
            ConnectionEvent::Message(message) => message,
            ConnectionEvent::Disconnected(_) => {
                counters.disconnects.fetch_add(1, Relaxed);
                return;
            }
            _ => continue,
        };
        let now_ns = plan.since_start(Instant::now());
        if message.payload.first() != Some(&kind::RAW_EVENT) {
            continue; // join events and the like
        }
        let Some((sender, frame)) = parse_raw_event(&message.payload) else {
            counters.foreign_frames.fetch_add(1, Relaxed);
            continue;
        };
        let slot = usize::from(frame.slot);
        let seq = frame.seq as usize;
        if frame.room != room
            || slot >= seen.len()
            || frame.slot == own_slot
            || seq >= plan.max_frames
            || actors.get(slot).copied().flatten() != Some(sender)
        {
            counters.foreign_frames.fetch_add(1, Relaxed);
            continue;
        }
        if plan.encrypt && !message.encrypted {
            counters.unencrypted_frames.fetch_add(1, Relaxed);
        }
        let (word, bit) = (seq / 64, 1u64 << (seq % 64));
        if seen[slot][word] & bit != 0 {
            counters.duplicates.fetch_add(1, Relaxed);
            continue;
        }
        seen[slot][word] |= bit;
        if plan.in_window(frame.send_ns) {
            let second = recorder.slot(frame.send_ns - plan.window_start_ns);
            counters.frames_delivered.fetch_add(1, Relaxed);
            recorder.delivered_per_second[second].fetch_add(1, Relaxed);
            recorder.per_second[second].record(now_ns.saturating_sub(frame.send_ns) / 1000);
        }
    }
}
