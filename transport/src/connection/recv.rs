//! Receive path: datagram checks (connection id, CRC, whole-datagram seal),
//! command parsing, duplicate suppression, ordering, unsealing, fragment
//! reassembly and delivery.

use super::{Connection, ConnectionState};
use crate::crypto::CryptoError;
use crate::event::{ConnectionEvent, DisconnectReason, ReceivedMessage};
use crate::types::Delivery;
use crate::wire::{self, kind, Command, DataCommand, Reader};
use bytes::Bytes;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What arrived for one reliable sequence.
#[derive(Debug, Default)]
enum Slot {
    /// Not received yet.
    #[default]
    Missing,
    /// Received and already handled.
    Done,
    /// An ordered message waiting for earlier sequences.
    Message(Bytes, bool),
    /// A key-exchange command waiting for earlier sequences.
    Control(Bytes),
    /// A fragment of an ordered message; `last` completes the set at `start`.
    Fragment { start: u64, last: bool },
}

/// Receive state of one channel.
#[derive(Debug, Default)]
pub(super) struct RecvChannel {
    /// Every reliable sequence below this one was received.
    next_expected: u64,
    /// `slots[i]` is sequence `next_expected + i`.
    slots: VecDeque<Slot>,
    /// Newest unreliable sequenced message delivered.
    newest_unreliable: Option<u64>,
    /// An ACK must be sent.
    pub(super) ack_pending: bool,
}

impl RecvChannel {
    /// Frees the window's spare capacity when nothing waits in it.
    pub(super) fn release_spare(&mut self) {
        if self.slots.is_empty() {
            self.slots = VecDeque::new();
        }
    }
    /// `(next expected, bitmap of the 64 sequences after it)` for an ACK.
    pub(super) fn ack_fields(&self) -> (u16, u64) {
        (self.next_expected as u16, self.bitmap_at(1))
    }

    /// Bit i: sequence `next_expected + offset + i` received.
    pub(super) fn bitmap_at(&self, offset: usize) -> u64 {
        let mut bitmap = 0u64;
        for (bit, slot) in self.slots.iter().skip(offset).take(64).enumerate() {
            if !matches!(slot, Slot::Missing) {
                bitmap |= 1 << bit;
            }
        }
        bitmap
    }

    /// Sequences tracked beyond the next expected one.
    pub(super) fn tracked(&self) -> usize {
        self.slots.len()
    }

    /// The next expected sequence.
    pub(super) fn next_expected(&self) -> u64 {
        self.next_expected
    }
}

/// The 64-bit sequence nearest `reference` whose low 16 bits are `wire`
/// (negative when it lies before zero).
fn extend(reference: u64, wire: u16) -> i64 {
    let delta = wire.wrapping_sub(reference as u16) as i16;
    reference as i64 + i64::from(delta)
}

impl Connection {
    pub(super) fn receive_data(&mut self, now: Instant, data: &[u8]) {
        if !matches!(
            self.state,
            ConnectionState::Connected | ConnectionState::Disconnecting
        ) {
            return;
        }
        let mut reader = Reader::new(data);
        let (Ok(flags), Ok(connection_id)) = (reader.u8(), reader.u32()) else {
            return;
        };
        if flags & 0x0c != 0 || connection_id != self.connection_id {
            return;
        }
        let mut end = data.len();
        if flags & wire::FLAG_CRC != 0 {
            if end < wire::DATA_HEADER_LEN + wire::CRC_LEN {
                return;
            }
            end -= wire::CRC_LEN;
            let expected =
                u32::from_be_bytes([data[end], data[end + 1], data[end + 2], data[end + 3]]);
            if wire::crc32(&data[..end]) != expected {
                self.stats.crc_failures += 1;
                return;
            }
        }
        let body = &data[wire::DATA_HEADER_LEN..end];
        if flags & wire::FLAG_SEALED != 0 {
            let Some(keys) = self.keys.as_mut() else {
                self.stats.decrypt_failures += 1;
                return;
            };
            let mut scratch = std::mem::take(&mut self.sealed_scratch);
            scratch.clear();
            scratch.extend_from_slice(body);
            let opened = keys
                .opener
                .open(&data[..wire::DATA_HEADER_LEN], &mut scratch)
                .map(|p| p.len());
            match opened {
                Ok(len) => {
                    self.peer_sealed_seen = true;
                    self.accept_datagram(now, data.len());
                    self.process_commands(now, &scratch[8..8 + len]);
                }
                Err(error) => self.count_crypto_failure(error),
            }
            self.sealed_scratch = scratch;
            return;
        }
        if self.config.encrypt_all && self.peer_sealed_seen {
            // Once the peer seals, a clear datagram is forged or stale.
            self.stats.decrypt_failures += 1;
            return;
        }
        self.accept_datagram(now, data.len());
        self.process_commands(now, body);
    }

    fn accept_datagram(&mut self, now: Instant, len: usize) {
        self.stats.datagrams_in += 1;
        self.stats.bytes_in += len as u64;
        self.last_receive = now;
    }

    fn count_crypto_failure(&mut self, error: CryptoError) {
        match error {
            CryptoError::Replayed(_) => self.stats.replays_rejected += 1,
            _ => self.stats.decrypt_failures += 1,
        }
    }

    fn process_commands(&mut self, now: Instant, body: &[u8]) {
        let mut reader = Reader::new(body);
        while reader.remaining() > 0 && self.state != ConnectionState::Disconnected {
            let Ok(command) = wire::read_command(&mut reader) else {
                return;
            };
            match command {
                Command::Data(data) => self.receive_command(data),
                Command::Ack {
                    channel,
                    next,
                    bitmap,
                } => self.handle_ack(now, channel, next, bitmap),
                Command::Sack {
                    channel,
                    first,
                    bitmap,
                } => self.handle_sack(now, channel, first, bitmap),
                Command::Ping { clock } => self.pong_pending = Some(clock),
                Command::Pong { echo, clock } => self.handle_pong(now, echo, clock),
                Command::Disconnect { .. } => self.finish(DisconnectReason::ByPeer),
            }
        }
    }

    fn handle_pong(&mut self, now: Instant, echo: u32, clock: u64) {
        if echo != self.ping_clock {
            return;
        }
        let elapsed = (self.clock_ms(now) as u32).wrapping_sub(echo);
        let rtt = Duration::from_millis(u64::from(elapsed));
        self.rtt.sample(rtt);
        self.stats.rtt = self.rtt.smoothed();
        self.stats.rtt_variance = self.rtt.variance();
        if self.side == super::Side::Client {
            self.server_time = Some((now, clock + u64::from(elapsed) / 2));
        }
    }

    /// The payload in the clear: opened into `scratch` when sealed. `None`
    /// when it does not open (counted).
    fn plaintext<'s>(
        &mut self,
        command: &DataCommand<'s>,
        scratch: &'s mut Vec<u8>,
    ) -> Option<&'s [u8]> {
        if !command.encrypted || self.protocol.is_secure() {
            return Some(command.payload);
        }
        let Some(keys) = self.keys.as_mut() else {
            self.stats.decrypt_failures += 1;
            return None;
        };
        scratch.clear();
        scratch.extend_from_slice(command.payload);
        match keys.opener.open(command.header, scratch) {
            Ok(plain) => Some(plain),
            Err(error) => {
                self.count_crypto_failure(error);
                None
            }
        }
    }

    fn deliver(&mut self, payload: Bytes, channel: u8, delivery: Delivery, encrypted: bool) {
        // Over WSS, TLS has kept every message private: all count as encrypted.
        let encrypted = encrypted || self.protocol.is_secure();
        self.stats.messages_in[wire::delivery_index(delivery)] += 1;
        if encrypted {
            self.stats.encrypted_in += 1;
        }
        self.events
            .push_back(ConnectionEvent::Message(ReceivedMessage {
                payload,
                channel,
                delivery,
                encrypted,
            }));
    }

    fn receive_command(&mut self, command: DataCommand<'_>) {
        let channel = command.channel;
        if channel >= self.channel_count
            || command.payload.len() > self.config.max_message_size + crate::crypto::SEAL_OVERHEAD
        {
            return;
        }
        if command.kind == kind::MESSAGE && !command.delivery.is_reliable() {
            self.receive_unreliable(command);
            return;
        }
        let Some(wire_sequence) = command.sequence else {
            return;
        };
        let stream = self.protocol.is_stream();
        let recv = &mut self.recv[usize::from(channel)];
        let sequence = extend(recv.next_expected, wire_sequence);
        if sequence < recv.next_expected as i64 {
            recv.ack_pending = !stream;
            return;
        }
        let offset = (sequence as u64 - recv.next_expected) as usize;
        if offset >= usize::from(self.window) {
            return;
        }
        if recv
            .slots
            .get(offset)
            .is_some_and(|slot| !matches!(slot, Slot::Missing))
        {
            recv.ack_pending = !stream;
            return;
        }
        let sequence = sequence as u64;
        let mut fragment_key = None;
        if let Some(info) = command.fragment {
            if info.index as u64 > sequence || info.total as usize > self.config.max_message_size {
                return;
            }
            let key = (channel, sequence - u64::from(info.index));
            if !self.reassembly.admits(key, info.total) {
                self.stats.reassembly_rejected += 1;
                return;
            }
            fragment_key = Some(key);
        }
        let mut scratch = std::mem::take(&mut self.open_scratch);
        let slot = match self.plaintext(&command, &mut scratch) {
            None => None,
            Some(plain) => match (command.kind, fragment_key, command.fragment) {
                (kind::FRAGMENT, Some(key), Some(info)) => {
                    match self
                        .reassembly
                        .add(key, info, command.delivery, command.encrypted, plain)
                    {
                        Err(()) => None,
                        Ok(_) if command.delivery == Delivery::ReliableOrdered => {
                            Some(Slot::Fragment {
                                start: key.1,
                                last: info.index + 1 == info.count,
                            })
                        }
                        Ok(complete) => {
                            if complete {
                                self.deliver_set(key);
                            }
                            Some(Slot::Done)
                        }
                    }
                }
                (kind::CONTROL, _, _) if channel == 0 => {
                    Some(Slot::Control(Bytes::copy_from_slice(plain)))
                }
                (kind::MESSAGE, _, _) if command.delivery == Delivery::ReliableOrdered => Some(
                    Slot::Message(Bytes::copy_from_slice(plain), command.encrypted),
                ),
                (kind::MESSAGE, _, _) => {
                    self.deliver(
                        Bytes::copy_from_slice(plain),
                        channel,
                        command.delivery,
                        command.encrypted,
                    );
                    Some(Slot::Done)
                }
                _ => Some(Slot::Done),
            },
        };
        self.open_scratch = scratch;
        let Some(slot) = slot else { return };
        let recv = &mut self.recv[usize::from(channel)];
        recv.ack_pending = !stream;
        if recv.slots.len() <= offset {
            recv.slots.resize_with(offset + 1, Slot::default);
        }
        recv.slots[offset] = slot;
        self.advance(channel);
    }

    /// Delivers everything now in order on `channel`.
    fn advance(&mut self, channel: u8) {
        loop {
            let recv = &mut self.recv[usize::from(channel)];
            if !recv
                .slots
                .front()
                .is_some_and(|slot| !matches!(slot, Slot::Missing))
            {
                return;
            }
            let slot = recv.slots.pop_front().unwrap_or_default();
            recv.next_expected += 1;
            match slot {
                Slot::Message(payload, encrypted) => {
                    self.deliver(payload, channel, Delivery::ReliableOrdered, encrypted);
                }
                Slot::Control(payload) => self.handle_control(&payload),
                Slot::Fragment { start, last: true } => self.deliver_set((channel, start)),
                _ => {}
            }
            if self.state == ConnectionState::Disconnected {
                return;
            }
        }
    }

    fn deliver_set(&mut self, key: (u8, u64)) {
        if let Some(set) = self.reassembly.take(key) {
            self.deliver(Bytes::from(set.data), key.0, set.delivery, set.encrypted);
        }
    }

    fn receive_unreliable(&mut self, command: DataCommand<'_>) {
        let channel = command.channel;
        if command.delivery == Delivery::UnreliableSequenced {
            let Some(wire_sequence) = command.sequence else {
                return;
            };
            let recv = &self.recv[usize::from(channel)];
            let reference = recv.newest_unreliable.unwrap_or(0);
            let sequence = extend(reference, wire_sequence);
            if recv.newest_unreliable.is_some() && sequence <= reference as i64 {
                self.stats.stale_dropped += 1;
                return;
            }
            let mut scratch = std::mem::take(&mut self.open_scratch);
            if let Some(plain) = self.plaintext(&command, &mut scratch) {
                let payload = Bytes::copy_from_slice(plain);
                self.recv[usize::from(channel)].newest_unreliable = Some(sequence.max(0) as u64);
                self.deliver(payload, channel, command.delivery, command.encrypted);
            }
            self.open_scratch = scratch;
            return;
        }
        let mut scratch = std::mem::take(&mut self.open_scratch);
        if let Some(plain) = self.plaintext(&command, &mut scratch) {
            let payload = Bytes::copy_from_slice(plain);
            self.deliver(payload, channel, command.delivery, command.encrypted);
        }
        self.open_scratch = scratch;
    }
}
