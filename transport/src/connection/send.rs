//! Send path: per-channel reliable queues and in-flight windows, the
//! unreliable outbox (reused buffers, no allocation per message in steady
//! state), ACK processing, resend timers and datagram assembly.

use super::{Connection, ConnectionState};
use crate::crypto::{SessionKeys, SEAL_OVERHEAD};
use crate::event::{DisconnectReason, SendError};
use crate::types::{Delivery, SendOptions};
use crate::wire::{self, kind, FragmentInfo};
use bytes::Bytes;
use std::cmp::Reverse;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A reliable command waiting to be sent or in flight.
#[derive(Debug, Clone)]
pub(super) struct OutCommand {
    kind: u8,
    delivery: Delivery,
    encrypt: bool,
    /// True for the key-exchange answer (its acknowledgement completes the exchange).
    key_reply: bool,
    payload: Bytes,
    fragment: Option<FragmentInfo>,
}

impl OutCommand {
    pub(super) fn control(payload: Bytes, key_reply: bool) -> Self {
        Self {
            kind: kind::CONTROL,
            delivery: Delivery::ReliableOrdered,
            encrypt: false,
            key_reply,
            payload,
            fragment: None,
        }
    }

    fn wire_len(&self) -> usize {
        self.payload.len() + if self.encrypt { SEAL_OVERHEAD } else { 0 }
    }

    /// Exact encoded size with sequence `sequence`.
    fn encoded_len(&self) -> usize {
        let wire_len = self.wire_len();
        let fragment = self.fragment.map_or(0, |f| {
            wire::varint_len(f.count)
                + wire::varint_len(f.index)
                + wire::varint_len(f.total)
                + wire::varint_len(f.offset)
        });
        2 + wire::varint_len(wire_len as u32) + 2 + fragment + wire_len
    }
}

/// A reliable command sent and not yet acknowledged.
#[derive(Debug)]
pub(super) struct Sent {
    command: OutCommand,
    sent_at: Instant,
    send_count: u8,
    pub(super) resend_at: Instant,
    datagram: u64,
}

/// Send state of one channel.
#[derive(Debug, Default)]
pub(super) struct SendChannel {
    /// Reliable commands not yet given a sequence (flow control).
    pub(super) queue: VecDeque<OutCommand>,
    next_sequence: u64,
    /// Lowest unacknowledged sequence; `in_flight[i]` is sequence `base + i`.
    base: u64,
    in_flight: VecDeque<Option<Sent>>,
    fragments_in_flight: u32,
    unreliable_sequence: u16,
}

impl SendChannel {
    /// Frees the queues' spare capacity when they are empty.
    pub(super) fn release_spare(&mut self) {
        if self.queue.is_empty() {
            self.queue = VecDeque::new();
        }
        if self.in_flight.is_empty() {
            self.in_flight = VecDeque::new();
        }
    }
    pub(super) fn get(&self, sequence: u64) -> Option<&Sent> {
        let index = sequence.checked_sub(self.base)?;
        self.in_flight.get(usize::try_from(index).ok()?)?.as_ref()
    }
    fn get_mut(&mut self, sequence: u64) -> Option<&mut Sent> {
        let index = sequence.checked_sub(self.base)?;
        self.in_flight
            .get_mut(usize::try_from(index).ok()?)?
            .as_mut()
    }
    fn take(&mut self, sequence: u64) -> Option<Sent> {
        let index = sequence.checked_sub(self.base)?;
        self.in_flight.get_mut(usize::try_from(index).ok()?)?.take()
    }
}

/// Unreliable commands encoded at send time into reused datagram bodies.
#[derive(Debug, Default)]
pub(super) struct Outbox {
    open: Vec<u8>,
    open_since: Option<Instant>,
    ready: VecDeque<Vec<u8>>,
    pool: Vec<Vec<u8>>,
    /// Command bytes per datagram.
    pub(super) budget: usize,
    /// Bodies dropped because too many were waiting.
    pub(super) dropped: u64,
}

/// Most unreliable datagram bodies waiting for `poll_transmit` (about 300 KB
/// at the default MTU); beyond, the oldest is dropped.
const MAX_READY_BODIES: usize = 256;

impl Outbox {
    /// The open body, with room for `len` more bytes (closing it if needed).
    fn reserve(&mut self, now: Instant, len: usize) -> &mut Vec<u8> {
        if !self.open.is_empty() && self.open.len() + len > self.budget {
            self.close();
        }
        if self.open_since.is_none() {
            self.open_since = Some(now);
        }
        &mut self.open
    }
    fn close(&mut self) {
        if self.open.is_empty() {
            return;
        }
        if self.ready.len() >= MAX_READY_BODIES {
            // Realtime data: when the driver falls behind, the oldest goes.
            if let Some(oldest) = self.ready.pop_front() {
                self.recycle(oldest);
                self.dropped += 1;
            }
        }
        let fresh = self
            .pool
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(self.budget));
        self.ready
            .push_back(std::mem::replace(&mut self.open, fresh));
        self.open_since = None;
    }
    pub(super) fn close_if_due(&mut self, now: Instant, window: Duration) {
        if self.is_open_due(now, window) {
            self.close();
        }
    }
    fn is_open_due(&self, now: Instant, window: Duration) -> bool {
        self.open_since.is_some_and(|since| now >= since + window)
    }
    /// True when unreliable commands wait, due or not.
    pub(super) fn has_pending(&self) -> bool {
        !self.ready.is_empty() || !self.open.is_empty()
    }
    pub(super) fn is_due(&self, now: Instant, window: Duration) -> bool {
        !self.ready.is_empty() || self.is_open_due(now, window)
    }
    pub(super) fn open_since(&self) -> Option<Instant> {
        self.open_since
    }
    pub(super) fn clear(&mut self) {
        self.open.clear();
        self.open_since = None;
        while let Some(body) = self.ready.pop_front() {
            self.recycle(body);
        }
    }
    /// Frees the spare bodies and the empty open one (an idle peer keeps no
    /// datagram buffers; the next send allocates one again).
    pub(super) fn release_spare(&mut self) {
        self.pool = Vec::new();
        if self.open.is_empty() {
            self.open = Vec::new();
        }
        if self.ready.is_empty() {
            self.ready = VecDeque::new();
        }
    }
    fn recycle(&mut self, mut body: Vec<u8>) {
        body.clear();
        if self.pool.len() < 8 {
            self.pool.push(body);
        }
    }
    /// The next body to send, if due and not larger than `room`.
    fn take(
        &mut self,
        now: Instant,
        window: Duration,
        room: usize,
        alone: bool,
    ) -> Option<Vec<u8>> {
        if self.ready.is_empty() {
            self.close_if_due(now, window);
        }
        let front = self.ready.front()?;
        (front.len() <= room || alone)
            .then(|| self.ready.pop_front())
            .flatten()
    }
}

/// Writes a data command, sealing its payload when asked.
#[allow(clippy::too_many_arguments)]
fn put_command(
    out: &mut Vec<u8>,
    keys: &mut Option<SessionKeys>,
    scratch: &mut Vec<u8>,
    command_kind: u8,
    delivery: Delivery,
    seal: bool,
    flag_encrypted: bool,
    channel: u8,
    sequence: Option<u16>,
    fragment: Option<FragmentInfo>,
    parts: &[&[u8]],
) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let wire_len = len + if seal { SEAL_OVERHEAD } else { 0 };
    let header_start = out.len();
    wire::put_data_header(
        out,
        command_kind,
        delivery,
        flag_encrypted,
        channel,
        wire_len,
        sequence,
        fragment,
    );
    match keys.as_mut() {
        Some(keys) if seal => {
            let mut aad = [0u8; wire::MAX_FRAGMENT_HEADER];
            let header_len = out.len() - header_start;
            aad[..header_len].copy_from_slice(&out[header_start..]);
            let plaintext: &[u8] = if parts.len() == 1 {
                parts[0]
            } else {
                scratch.clear();
                parts.iter().for_each(|p| scratch.extend_from_slice(p));
                scratch
            };
            if keys
                .sealer
                .seal(&aad[..header_len], plaintext, out)
                .is_err()
            {
                // Counter exhausted after 2^64 messages: never send in the clear.
                out.truncate(header_start);
            }
        }
        _ => parts.iter().for_each(|p| out.extend_from_slice(p)),
    }
}

impl Connection {
    pub(super) fn queue_message(
        &mut self,
        now: Instant,
        parts: &[&[u8]],
        options: SendOptions,
    ) -> Result<(), SendError> {
        if self.state != ConnectionState::Connected {
            return Err(SendError::NotConnected);
        }
        if options.channel >= self.channel_count {
            return Err(SendError::NoSuchChannel(
                options.channel,
                self.channel_count,
            ));
        }
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len > self.config.max_message_size {
            return Err(SendError::TooLarge(len, self.config.max_message_size));
        }
        if options.encrypt && !self.is_encryption_established() {
            return Err(SendError::EncryptionNotEstablished);
        }
        let seal = options.encrypt && !self.protocol.is_secure();
        let seal_overhead = if seal { SEAL_OVERHEAD } else { 0 };
        let index = wire::delivery_index(options.delivery);
        self.stats.messages_out[index] += 1;
        if options.encrypt {
            self.stats.encrypted_out += 1;
        }
        let stream = self.protocol.is_stream();
        let single = wire::MAX_MESSAGE_HEADER + seal_overhead + len <= self.budget();
        if !options.delivery.is_reliable() && (single || stream) {
            let sequence = (options.delivery == Delivery::UnreliableSequenced).then(|| {
                let channel = &mut self.send[usize::from(options.channel)];
                channel.unreliable_sequence = channel.unreliable_sequence.wrapping_add(1);
                channel.unreliable_sequence
            });
            let size = wire::MAX_MESSAGE_HEADER + seal_overhead + len;
            let body = self.outbox.reserve(now, size);
            put_command(
                body,
                &mut self.keys,
                &mut self.scratch,
                kind::MESSAGE,
                options.delivery,
                seal,
                options.encrypt,
                options.channel,
                sequence,
                None,
                parts,
            );
            self.stats.unreliable_dropped = self.outbox.dropped;
            return Ok(());
        }
        let limit = self.config.max_reliable_backlog;
        if self.reliable_backlog + len > limit {
            self.close_for_backlog(now);
            return Err(SendError::BacklogFull { limit });
        }
        self.reliable_backlog += len;
        let mut payload = Vec::with_capacity(len);
        parts.iter().for_each(|p| payload.extend_from_slice(p));
        let payload = Bytes::from(payload);
        let chunk = self.budget() - wire::MAX_FRAGMENT_HEADER - seal_overhead;
        let queue = &mut self.send[usize::from(options.channel)].queue;
        if single || stream {
            queue.push_back(OutCommand {
                kind: kind::MESSAGE,
                delivery: options.delivery,
                encrypt: options.encrypt,
                key_reply: false,
                payload,
                fragment: None,
            });
            return Ok(());
        }
        let count = len.div_ceil(chunk);
        for index in 0..count {
            let offset = index * chunk;
            let end = (offset + chunk).min(len);
            queue.push_back(OutCommand {
                kind: kind::FRAGMENT,
                delivery: options.delivery,
                encrypt: options.encrypt,
                key_reply: false,
                payload: payload.slice(offset..end),
                fragment: Some(FragmentInfo {
                    count: count as u32,
                    index: index as u32,
                    total: len as u32,
                    offset: offset as u32,
                }),
            });
        }
        Ok(())
    }

    /// A reliable message left the backlog (acknowledged, or written to a
    /// stream). Control commands were never counted.
    fn release_backlog(&mut self, command: &OutCommand) {
        if command.kind != kind::CONTROL {
            self.reliable_backlog = self.reliable_backlog.saturating_sub(command.payload.len());
        }
    }

    /// The peer fell too far behind: drop what waits, tell it, and end with
    /// `SendBacklogFull`.
    fn close_for_backlog(&mut self, now: Instant) {
        if self.state != ConnectionState::Connected {
            return;
        }
        for channel in &mut self.send {
            channel.queue.clear();
        }
        self.closing_reason = Some(DisconnectReason::SendBacklogFull);
        self.disconnect(now);
    }

    /// Assembles the next datagram (before the network simulation).
    pub(super) fn transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<usize> {
        buf.clear();
        if let Some(len) = self.transmit_handshake(now, buf) {
            return Some(len);
        }
        if !matches!(
            self.state,
            ConnectionState::Connected | ConnectionState::Disconnecting
        ) {
            return None;
        }
        let sealed = self.seals_datagrams();
        let flags = if self.config.crc { wire::FLAG_CRC } else { 0 }
            | if sealed { wire::FLAG_SEALED } else { 0 };
        wire::put_data_header_datagram(buf, flags, self.connection_id);
        let end = wire::DATA_HEADER_LEN + self.budget();
        let stream = self.protocol.is_stream();
        if self.state == ConnectionState::Disconnecting {
            // What the application queued before disconnecting goes out first
            // (once; over streams that is reliable), then the DISCONNECT: an
            // error response followed by a disconnect must not be lost.
            if self.send.iter().any(|channel| !channel.queue.is_empty())
                || self.outbox.has_pending()
            {
                self.write_new_reliable(now, buf, end, stream);
                let room = end.saturating_sub(buf.len());
                let alone = buf.len() == wire::DATA_HEADER_LEN;
                if let Some(body) = self.outbox.take(now, Duration::ZERO, room, alone && stream) {
                    buf.extend_from_slice(&body);
                    self.outbox.recycle(body);
                }
                if buf.len() > wire::DATA_HEADER_LEN {
                    return Some(self.finalize(buf, sealed));
                }
            }
            wire::put_disconnect(buf, 0);
            self.disconnect_sends = self.disconnect_sends.saturating_sub(1);
            let len = self.finalize(buf, sealed);
            if self.disconnect_sends == 0 {
                let reason = self
                    .closing_reason
                    .take()
                    .unwrap_or(DisconnectReason::Local);
                self.finish(reason);
            }
            return Some(len);
        }
        if !stream {
            for (index, channel) in self.recv.iter_mut().enumerate() {
                if channel.ack_pending && buf.len() + wire::ACK_LEN <= end {
                    let (next, bitmap) = channel.ack_fields();
                    wire::put_ack(buf, false, index as u8, next, bitmap);
                    channel.ack_pending = false;
                    // Extra blocks so that a long run after a hole is acknowledged too.
                    let mut offset = 65;
                    while offset < channel.tracked() && buf.len() + wire::ACK_LEN <= end {
                        let bits = channel.bitmap_at(offset);
                        if bits != 0 {
                            let first = (channel.next_expected() + offset as u64) as u16;
                            wire::put_ack(buf, true, index as u8, first, bits);
                        }
                        offset += 64;
                    }
                }
            }
        }
        if let Some(echo) = self.pong_pending {
            if buf.len() + wire::PONG_LEN <= end {
                wire::put_pong(buf, echo, self.clock_ms(now));
                self.pong_pending = None;
            }
        }
        if self.ping_pending && buf.len() + wire::PING_LEN <= end {
            self.ping_clock = self.clock_ms(now) as u32;
            wire::put_ping(buf, self.ping_clock);
            self.ping_pending = false;
            self.last_ping = now;
        }
        let datagram = self.datagram_number;
        while let Some(&(channel, sequence)) = self.retransmit.front() {
            let Some(sent) = self.send[usize::from(channel)].get_mut(sequence) else {
                self.retransmit.pop_front();
                continue;
            };
            if buf.len() + sent.command.encoded_len() > end {
                break;
            }
            sent.datagram = datagram;
            let command = sent.command.clone();
            self.retransmit.pop_front();
            self.put_reliable(buf, channel, sequence, &command);
        }
        self.write_new_reliable(now, buf, end, stream);
        let room = end.saturating_sub(buf.len());
        let alone = buf.len() == wire::DATA_HEADER_LEN;
        if let Some(body) = self
            .outbox
            .take(now, self.config.flush_window, room, alone && stream)
        {
            buf.extend_from_slice(&body);
            self.outbox.recycle(body);
        }
        if buf.len() == wire::DATA_HEADER_LEN {
            buf.clear();
            return None;
        }
        Some(self.finalize(buf, sealed))
    }

    fn write_new_reliable(&mut self, now: Instant, buf: &mut Vec<u8>, end: usize, stream: bool) {
        let channels = self.send.len();
        let window = u64::from(self.window);
        for step in 0..channels {
            let channel = (self.next_channel + step) % channels;
            loop {
                let send = &mut self.send[channel];
                let Some(front) = send.queue.front() else {
                    break;
                };
                if !stream {
                    if send.next_sequence >= send.base + window {
                        break;
                    }
                    if front.fragment.is_some_and(|f| f.index == 0) && send.fragments_in_flight > 0
                    {
                        break;
                    }
                }
                let alone = buf.len() == wire::DATA_HEADER_LEN;
                if buf.len() + front.encoded_len() > end && !(stream && alone) {
                    self.next_channel = channel;
                    return;
                }
                let command = send.queue.pop_front().expect("front exists");
                let sequence = send.next_sequence;
                send.next_sequence += 1;
                self.put_reliable(buf, channel as u8, sequence, &command);
                if stream {
                    // Written to the stream: the stream carries it from here.
                    self.release_backlog(&command);
                    continue;
                }
                let resend_at = now + self.resend_timeout(1);
                let send = &mut self.send[channel];
                if command.fragment.is_some() {
                    send.fragments_in_flight += 1;
                }
                send.in_flight.push_back(Some(Sent {
                    command,
                    sent_at: now,
                    send_count: 1,
                    resend_at,
                    datagram: self.datagram_number,
                }));
                self.resend_timers
                    .push(Reverse((resend_at, channel as u8, sequence)));
            }
        }
        self.next_channel = (self.next_channel + 1) % channels.max(1);
    }

    fn put_reliable(
        &mut self,
        buf: &mut Vec<u8>,
        channel: u8,
        sequence: u64,
        command: &OutCommand,
    ) {
        let seal = command.encrypt && !self.protocol.is_secure();
        put_command(
            buf,
            &mut self.keys,
            &mut self.scratch,
            command.kind,
            command.delivery,
            seal,
            command.encrypt,
            channel,
            Some(sequence as u16),
            command.fragment,
            &[&command.payload],
        );
    }

    /// Seals (encrypt_all), appends the CRC, counts. Returns the length.
    fn finalize(&mut self, buf: &mut Vec<u8>, sealed: bool) -> usize {
        if sealed {
            if let Some(keys) = self.keys.as_mut() {
                let mut header = [0u8; wire::DATA_HEADER_LEN];
                header.copy_from_slice(&buf[..wire::DATA_HEADER_LEN]);
                self.scratch.clear();
                self.scratch
                    .extend_from_slice(&buf[wire::DATA_HEADER_LEN..]);
                buf.truncate(wire::DATA_HEADER_LEN);
                if keys.sealer.seal(&header, &self.scratch, buf).is_err() {
                    // Never send in the clear: an empty sealed datagram is dropped by the peer.
                    buf.truncate(wire::DATA_HEADER_LEN);
                }
            }
        }
        if self.config.crc {
            let crc = wire::crc32(buf);
            buf.extend_from_slice(&crc.to_be_bytes());
        }
        self.count_out(buf.len());
        buf.len()
    }

    /// Resend timeout for the `send_count`-th transmission (doubling).
    fn resend_timeout(&self, send_count: u8) -> Duration {
        let base = self.rtt.resend_timeout(
            self.config.min_resend_timeout,
            self.config.max_initial_resend_timeout,
        );
        let factor = 1u32 << u32::from(send_count.saturating_sub(1)).min(10);
        (base * factor).min(self.config.disconnect_timeout.max(base))
    }

    /// Fires due resend timers. Returns false when the connection ended.
    pub(super) fn run_resend_timers(&mut self, now: Instant) -> bool {
        while let Some(&Reverse((at, channel, sequence))) = self.resend_timers.peek() {
            if at > now {
                break;
            }
            self.resend_timers.pop();
            let allowance = self.config.resend_allowance;
            let Some(sent) = self.send[usize::from(channel)].get(sequence) else {
                continue;
            };
            if sent.resend_at != at {
                continue;
            }
            if sent.send_count >= allowance {
                self.finish(DisconnectReason::ResendLimit);
                return false;
            }
            let timeout = self.resend_timeout(sent.send_count + 1);
            let sent = self.send[usize::from(channel)]
                .get_mut(sequence)
                .expect("present above");
            sent.send_count += 1;
            sent.resend_at = now + timeout;
            let (resend_at, datagram) = (sent.resend_at, sent.datagram);
            self.resend_timers
                .push(Reverse((resend_at, channel, sequence)));
            self.retransmit.push_back((channel, sequence));
            self.stats.resends += 1;
            if datagram != self.last_lost_datagram {
                self.last_lost_datagram = datagram;
                self.stats.lost_datagrams += 1;
            }
        }
        true
    }

    /// An ACK for `channel`: everything below `next`, plus the bitmap.
    pub(super) fn handle_ack(&mut self, now: Instant, channel: u8, next: u16, bitmap: u64) {
        let Some(send) = self.send.get(usize::from(channel)) else {
            return;
        };
        let base = send.base;
        let next = base + u64::from(next.wrapping_sub(base as u16));
        if next > send.next_sequence {
            return;
        }
        let mut newest: Option<Instant> = None;
        for sequence in base..next {
            newest = newest.max(self.acknowledge(channel, sequence));
        }
        for bit in 0..64u64 {
            if bitmap & (1 << bit) != 0 {
                newest = newest.max(self.acknowledge(channel, next + 1 + bit));
            }
        }
        self.sample_rtt(now, newest);
        let send = &mut self.send[usize::from(channel)];
        while let Some(None) = send.in_flight.front() {
            send.in_flight.pop_front();
            send.base += 1;
        }
    }

    /// A selective acknowledgement block for `channel`.
    pub(super) fn handle_sack(&mut self, now: Instant, channel: u8, first: u16, bitmap: u64) {
        let Some(send) = self.send.get(usize::from(channel)) else {
            return;
        };
        let first = send.base + u64::from(first.wrapping_sub(send.base as u16));
        if first >= send.next_sequence {
            return;
        }
        let mut newest: Option<Instant> = None;
        for bit in 0..64u64 {
            if bitmap & (1 << bit) != 0 {
                newest = newest.max(self.acknowledge(channel, first + bit));
            }
        }
        self.sample_rtt(now, newest);
        let send = &mut self.send[usize::from(channel)];
        while let Some(None) = send.in_flight.front() {
            send.in_flight.pop_front();
            send.base += 1;
        }
    }

    /// Removes one acknowledged command. Returns when it was sent if it was
    /// sent once (Karn's rule: only unambiguous RTT samples).
    fn acknowledge(&mut self, channel: u8, sequence: u64) -> Option<Instant> {
        let send = &mut self.send[usize::from(channel)];
        if sequence >= send.next_sequence {
            return None;
        }
        let sent = send.take(sequence)?;
        if sent.command.fragment.is_some() {
            send.fragments_in_flight -= 1;
        }
        self.release_backlog(&sent.command);
        if sent.command.key_reply {
            self.key_reply_acknowledged();
        }
        (sent.send_count == 1).then_some(sent.sent_at)
    }

    /// One RTT sample per ACK command, from the most recently sent command it
    /// newly acknowledged (a datagram's commands would otherwise give many
    /// identical samples and collapse the variance).
    fn sample_rtt(&mut self, now: Instant, newest: Option<Instant>) {
        if let Some(sent_at) = newest {
            self.rtt.sample(now.saturating_duration_since(sent_at));
            self.stats.rtt = self.rtt.smoothed();
            self.stats.rtt_variance = self.rtt.variance();
        }
    }
}
