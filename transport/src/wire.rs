//! The datagram wire format of the reliable-UDP core (also used, unchanged,
//! for frames over TCP/WS/WSS).
//!
//! All integers are big endian unless said otherwise; `varint` is LEB128
//! (7 bits per byte, low group first, at most 5 bytes, values up to `u32::MAX`).
//!
//! # Datagram
//! ```text
//! flags u8 | ...
//! ```
//! The high nibble of `flags` is the packet type:
//!
//! | type | name           | layout after `flags`                                              |
//! |------|----------------|-------------------------------------------------------------------|
//! | 0    | DATA           | connection id u32, commands..., [CRC32 u32 if flag 0x01]          |
//! | 1    | CONNECT        | version u8, nonce u64, mtu u16, channels u8, window u16, padding   |
//! | 2    | COOKIE         | nonce u64, cookie 16 bytes                                            |
//! | 3    | CONNECT_COOKIE | version u8, nonce u64, mtu u16, channels u8, window u16, cookie 16 bytes, padding |
//! | 4    | ACCEPT         | nonce u64, connection id u32, mtu u16, channels u8, window u16, server time ms u64 |
//! | 5    | REFUSE         | nonce u64, reason u8 (1 server full, 2 version, 3 bad cookie, 4 bad parameters)      |
//! | 6    | STREAM_CONNECT | version u8, channels u8 (streams only: no cookie, the stream proves the address) |
//!
//! DATA flags (low nibble): `0x01` a CRC32 (IEEE) of every preceding byte of
//! the datagram is appended; `0x02` the commands are sealed as one AES-GCM
//! message (`encrypt_all`): `counter u64 | ciphertext | tag 16 bytes`, with the
//! 5-byte datagram header as associated data. Other bits must be zero.
//!
//! CONNECT and CONNECT_COOKIE are padded with zeros to [`CONNECT_PADDED_LEN`]
//! bytes, so that the server's answers (COOKIE 25 bytes, REFUSE 10, ACCEPT 26)
//! are never larger than the request that triggered them (no amplification).
//! The server keeps no state before a valid cookie comes back: the cookie is an
//! HMAC-SHA256 (keyed by the endpoint's secret) over the client address, a
//! 10-second time bucket and the client nonce, truncated to 16 bytes.
//!
//! # Commands (inside DATA)
//! ```text
//! type u8 | channel u8 | ...
//! ```
//! `type` bits 0-2: kind; bits 3-4: delivery (0 reliable ordered, 1 reliable
//! unsequenced, 2 unreliable sequenced, 3 unreliable unsequenced); bit 5: the
//! payload is sealed (`counter u64 | ciphertext | tag 16 bytes`) with every clear
//! byte of the command header before the payload as associated data; bits 6-7
//! must be zero.
//!
//! | kind | name       | after `type`, `channel`                                                   |
//! |------|------------|---------------------------------------------------------------------------|
//! | 0    | MESSAGE    | length varint, [sequence u16 unless unreliable unsequenced], payload     |
//! | 1    | FRAGMENT   | length varint, sequence u16, count varint, index varint, total varint, offset varint, payload |
//! | 2    | ACK        | next expected sequence u16, bitmap u64 (bit i: next+1+i received)         |
//! | 3    | PING       | sender clock ms u32                                                       |
//! | 4    | PONG       | echoed clock ms u32, responder clock ms u64                               |
//! | 5    | DISCONNECT | reason u8                                                                 |
//! | 6    | CONTROL    | length varint, sequence u16, payload (key exchange; reliable ordered)     |
//! | 7    | SACK       | first sequence u16, bitmap u64 (bit i: first+i received); extra ACK blocks beyond the first 64 |
//!
//! `length` counts the payload bytes on the wire (sealed size when sealed).
//! Reliable commands (reliable messages, fragments, controls) share one
//! sequence space per channel; unreliable sequenced messages have their own.
//! PING, PONG and DISCONNECT carry channel 0.
//!
//! Overhead of an unreliable unsequenced message alone in a datagram: 5
//! (datagram header) + 1 (type) + 1 (channel) + 1 or 2 (length below 128 or
//! 16 384) = at most 9 bytes.

/// Protocol version carried in connect requests.
pub const PROTOCOL_VERSION: u8 = 1;
/// Bytes of the DATA datagram header (flags + connection id).
pub const DATA_HEADER_LEN: usize = 5;
/// Bytes of the CRC trailer.
pub const CRC_LEN: usize = 4;
/// Size every CONNECT / CONNECT_COOKIE is padded to.
pub const CONNECT_PADDED_LEN: usize = 64;
/// Cookie length.
pub const COOKIE_LEN: usize = 16;
/// Worst-case header of a MESSAGE or CONTROL command (length varint of 3 bytes).
pub const MAX_MESSAGE_HEADER: usize = 7;
/// Worst-case header of a FRAGMENT command.
pub const MAX_FRAGMENT_HEADER: usize = 7 + 4 * 5;

/// Packet types (high nibble of the flags byte).
pub mod packet {
    /// Connected traffic.
    pub const DATA: u8 = 0;
    /// Client hello.
    pub const CONNECT: u8 = 1;
    /// Stateless cookie answer.
    pub const COOKIE: u8 = 2;
    /// Client hello echoing the cookie.
    pub const CONNECT_COOKIE: u8 = 3;
    /// Server accepts and assigns the connection id.
    pub const ACCEPT: u8 = 4;
    /// Server refuses.
    pub const REFUSE: u8 = 5;
    /// Stream hello.
    pub const STREAM_CONNECT: u8 = 6;
}

/// DATA flag: CRC32 trailer present.
pub const FLAG_CRC: u8 = 0x01;
/// DATA flag: commands sealed as one message.
pub const FLAG_SEALED: u8 = 0x02;

/// Command kinds (bits 0-2 of the type byte).
pub mod kind {
    /// Application message.
    pub const MESSAGE: u8 = 0;
    /// Piece of a large message.
    pub const FRAGMENT: u8 = 1;
    /// Acknowledgement of reliable commands on one channel.
    pub const ACK: u8 = 2;
    /// Keep-alive / RTT probe.
    pub const PING: u8 = 3;
    /// Answer to a ping.
    pub const PONG: u8 = 4;
    /// Graceful disconnect.
    pub const DISCONNECT: u8 = 5;
    /// Internal reliable command (key exchange).
    pub const CONTROL: u8 = 6;
    /// Selective acknowledgement block beyond the ACK's bitmap.
    pub const SACK: u8 = 7;
}

/// Type-byte bit: payload sealed.
pub const TYPE_ENCRYPTED: u8 = 0x20;

/// Refusal reasons.
pub mod refuse {
    /// `max_peers` reached.
    pub const SERVER_FULL: u8 = 1;
    /// Unsupported protocol version.
    pub const VERSION: u8 = 2;
    /// Cookie did not verify.
    pub const BAD_COOKIE: u8 = 3;
    /// MTU below the minimum, no channels or a zero window.
    pub const PARAMETERS: u8 = 4;
}

use crate::types::Delivery;

/// Delivery mode to its 2-bit wire code.
pub fn delivery_code(delivery: Delivery) -> u8 {
    match delivery {
        Delivery::ReliableOrdered => 0,
        Delivery::ReliableUnsequenced => 1,
        Delivery::UnreliableSequenced => 2,
        Delivery::UnreliableUnsequenced => 3,
    }
}

/// 2-bit wire code to delivery mode.
pub fn delivery_from_code(code: u8) -> Delivery {
    match code & 3 {
        0 => Delivery::ReliableOrdered,
        1 => Delivery::ReliableUnsequenced,
        2 => Delivery::UnreliableSequenced,
        _ => Delivery::UnreliableUnsequenced,
    }
}

/// Index of a delivery mode in the stats arrays.
pub fn delivery_index(delivery: Delivery) -> usize {
    delivery_code(delivery) as usize
}

/// Builds a type byte.
pub fn type_byte(kind: u8, delivery: Delivery, encrypted: bool) -> u8 {
    kind | (delivery_code(delivery) << 3) | if encrypted { TYPE_ENCRYPTED } else { 0 }
}

/// Bytes a varint of `value` takes.
pub fn varint_len(value: u32) -> usize {
    match value {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        0x4000..=0x1f_ffff => 3,
        0x20_0000..=0x0fff_ffff => 4,
        _ => 5,
    }
}

/// Appends a varint.
pub fn put_varint(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Input ended early or a field is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// A cursor over received bytes; every read is bounds-checked.
#[derive(Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    /// Starts at the beginning of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, position: 0 }
    }
    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.position
    }
    /// Current offset.
    pub fn position(&self) -> usize {
        self.position
    }
    /// The whole input.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
    /// Next `len` bytes.
    pub fn bytes(&mut self, len: usize) -> Result<&'a [u8], Malformed> {
        let end = self.position.checked_add(len).ok_or(Malformed)?;
        let slice = self.data.get(self.position..end).ok_or(Malformed)?;
        self.position = end;
        Ok(slice)
    }
    /// One byte.
    pub fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.bytes(1)?[0])
    }
    /// Big-endian u16.
    pub fn u16(&mut self) -> Result<u16, Malformed> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    /// Big-endian u32.
    pub fn u32(&mut self) -> Result<u32, Malformed> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// Big-endian u64.
    pub fn u64(&mut self) -> Result<u64, Malformed> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    /// LEB128 varint up to `u32::MAX`.
    pub fn varint(&mut self) -> Result<u32, Malformed> {
        let mut value: u64 = 0;
        for i in 0..5 {
            let byte = self.u8()?;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return u32::try_from(value).map_err(|_| Malformed);
            }
        }
        Err(Malformed)
    }
}

/// Fragment placement fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentInfo {
    /// Fragments in the set.
    pub count: u32,
    /// This fragment's index (its sequence minus the set's first sequence).
    pub index: u32,
    /// Total message length.
    pub total: u32,
    /// Byte offset of this fragment in the message.
    pub offset: u32,
}

/// One decoded command, borrowing from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// MESSAGE, FRAGMENT or CONTROL.
    Data(DataCommand<'a>),
    /// Acknowledgement.
    Ack {
        /// Channel.
        channel: u8,
        /// Every sequence below this one is received.
        next: u16,
        /// Bit i: sequence `next + 1 + i` received.
        bitmap: u64,
    },
    /// Selective acknowledgement block.
    Sack {
        /// Channel.
        channel: u8,
        /// Sequence of bit 0.
        first: u16,
        /// Bit i: sequence `first + i` received.
        bitmap: u64,
    },
    /// Keep-alive.
    Ping {
        /// Sender's clock in ms.
        clock: u32,
    },
    /// Answer to a ping.
    Pong {
        /// The ping's clock, echoed.
        echo: u32,
        /// Responder's clock in ms.
        clock: u64,
    },
    /// Graceful disconnect.
    Disconnect {
        /// Reason code.
        reason: u8,
    },
}

/// A command carrying payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataCommand<'a> {
    /// MESSAGE, FRAGMENT or CONTROL.
    pub kind: u8,
    /// Delivery mode.
    pub delivery: Delivery,
    /// Payload sealed.
    pub encrypted: bool,
    /// Channel.
    pub channel: u8,
    /// Sequence (reliable or unreliable-sequenced); absent for unsequenced unreliable.
    pub sequence: Option<u16>,
    /// Fragment fields.
    pub fragment: Option<FragmentInfo>,
    /// Every header byte before the payload (associated data when sealed).
    pub header: &'a [u8],
    /// Payload bytes as on the wire.
    pub payload: &'a [u8],
}

/// Decodes the next command.
pub fn read_command<'a>(reader: &mut Reader<'a>) -> Result<Command<'a>, Malformed> {
    let start = reader.position();
    let type_byte = reader.u8()?;
    if type_byte & 0xc0 != 0 {
        return Err(Malformed);
    }
    let command_kind = type_byte & 7;
    let delivery = delivery_from_code(type_byte >> 3);
    let encrypted = type_byte & TYPE_ENCRYPTED != 0;
    let channel = reader.u8()?;
    match command_kind {
        kind::MESSAGE | kind::FRAGMENT | kind::CONTROL => {
            let len = reader.varint()? as usize;
            let has_sequence =
                command_kind != kind::MESSAGE || delivery != Delivery::UnreliableUnsequenced;
            let sequence = if has_sequence {
                Some(reader.u16()?)
            } else {
                None
            };
            if command_kind == kind::CONTROL && (delivery != Delivery::ReliableOrdered || encrypted)
            {
                return Err(Malformed);
            }
            let fragment = if command_kind == kind::FRAGMENT {
                Some(FragmentInfo {
                    count: reader.varint()?,
                    index: reader.varint()?,
                    total: reader.varint()?,
                    offset: reader.varint()?,
                })
            } else {
                None
            };
            let header_end = reader.position();
            let payload = reader.bytes(len)?;
            let header = reader.data().get(start..header_end).ok_or(Malformed)?;
            Ok(Command::Data(DataCommand {
                kind: command_kind,
                delivery,
                encrypted,
                channel,
                sequence,
                fragment,
                header,
                payload,
            }))
        }
        kind::ACK => Ok(Command::Ack {
            channel,
            next: reader.u16()?,
            bitmap: reader.u64()?,
        }),
        kind::SACK => Ok(Command::Sack {
            channel,
            first: reader.u16()?,
            bitmap: reader.u64()?,
        }),
        kind::PING => Ok(Command::Ping {
            clock: reader.u32()?,
        }),
        kind::PONG => Ok(Command::Pong {
            echo: reader.u32()?,
            clock: reader.u64()?,
        }),
        kind::DISCONNECT => Ok(Command::Disconnect {
            reason: reader.u8()?,
        }),
        _ => Err(Malformed),
    }
}

/// Writes the clear header of a MESSAGE / FRAGMENT / CONTROL command.
#[allow(clippy::too_many_arguments)]
pub fn put_data_header(
    out: &mut Vec<u8>,
    command_kind: u8,
    delivery: Delivery,
    encrypted: bool,
    channel: u8,
    wire_len: usize,
    sequence: Option<u16>,
    fragment: Option<FragmentInfo>,
) {
    out.push(type_byte(command_kind, delivery, encrypted));
    out.push(channel);
    put_varint(out, wire_len as u32);
    if let Some(sequence) = sequence {
        out.extend_from_slice(&sequence.to_be_bytes());
    }
    if let Some(f) = fragment {
        put_varint(out, f.count);
        put_varint(out, f.index);
        put_varint(out, f.total);
        put_varint(out, f.offset);
    }
}

/// Writes an ACK (`selective` false) or SACK (`selective` true) command.
pub fn put_ack(out: &mut Vec<u8>, selective: bool, channel: u8, next: u16, bitmap: u64) {
    out.push(if selective { kind::SACK } else { kind::ACK });
    out.push(channel);
    out.extend_from_slice(&next.to_be_bytes());
    out.extend_from_slice(&bitmap.to_be_bytes());
}

/// Bytes of an ACK command.
pub const ACK_LEN: usize = 12;
/// Bytes of a PING command.
pub const PING_LEN: usize = 6;
/// Bytes of a PONG command.
pub const PONG_LEN: usize = 14;
/// Bytes of a DISCONNECT command.
pub const DISCONNECT_LEN: usize = 3;

/// Writes a PING command.
pub fn put_ping(out: &mut Vec<u8>, clock: u32) {
    out.extend_from_slice(&[kind::PING, 0]);
    out.extend_from_slice(&clock.to_be_bytes());
}

/// Writes a PONG command.
pub fn put_pong(out: &mut Vec<u8>, echo: u32, clock: u64) {
    out.extend_from_slice(&[kind::PONG, 0]);
    out.extend_from_slice(&echo.to_be_bytes());
    out.extend_from_slice(&clock.to_be_bytes());
}

/// Writes a DISCONNECT command.
pub fn put_disconnect(out: &mut Vec<u8>, reason: u8) {
    out.extend_from_slice(&[kind::DISCONNECT, 0, reason]);
}

/// Writes the DATA datagram header.
pub fn put_data_header_datagram(out: &mut Vec<u8>, flags: u8, connection_id: u32) {
    out.push(flags);
    out.extend_from_slice(&connection_id.to_be_bytes());
}

/// Client hello fields (CONNECT, CONNECT_COOKIE, STREAM_CONNECT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    /// Protocol version.
    pub version: u8,
    /// Client nonce.
    pub nonce: u64,
    /// Client MTU.
    pub mtu: u16,
    /// Channels requested.
    pub channels: u8,
    /// Reliable window.
    pub window: u16,
}

/// Writes CONNECT (cookie `None`) or CONNECT_COOKIE, padded.
pub fn put_hello(out: &mut Vec<u8>, hello: &Hello, cookie: Option<&[u8; COOKIE_LEN]>) {
    let packet_type = if cookie.is_some() {
        packet::CONNECT_COOKIE
    } else {
        packet::CONNECT
    };
    out.push(packet_type << 4);
    out.push(hello.version);
    out.extend_from_slice(&hello.nonce.to_be_bytes());
    out.extend_from_slice(&hello.mtu.to_be_bytes());
    out.push(hello.channels);
    out.extend_from_slice(&hello.window.to_be_bytes());
    if let Some(cookie) = cookie {
        out.extend_from_slice(cookie);
    }
    if out.len() < CONNECT_PADDED_LEN {
        out.resize(CONNECT_PADDED_LEN, 0);
    }
}

/// Parses CONNECT / CONNECT_COOKIE after the flags byte.
pub fn read_hello(
    reader: &mut Reader<'_>,
    with_cookie: bool,
) -> Result<(Hello, Option<[u8; COOKIE_LEN]>), Malformed> {
    let hello = Hello {
        version: reader.u8()?,
        nonce: reader.u64()?,
        mtu: reader.u16()?,
        channels: reader.u8()?,
        window: reader.u16()?,
    };
    let cookie = if with_cookie {
        let mut cookie = [0u8; COOKIE_LEN];
        cookie.copy_from_slice(reader.bytes(COOKIE_LEN)?);
        Some(cookie)
    } else {
        None
    };
    Ok((hello, cookie))
}

/// Server's accept fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accept {
    /// Echoed client nonce.
    pub nonce: u64,
    /// Assigned connection id.
    pub connection_id: u32,
    /// Negotiated MTU.
    pub mtu: u16,
    /// Negotiated channel count.
    pub channels: u8,
    /// Negotiated reliable window.
    pub window: u16,
    /// Server clock in ms.
    pub server_time_ms: u64,
}

/// Bytes of an ACCEPT packet.
pub const ACCEPT_LEN: usize = 26;

/// Writes ACCEPT.
pub fn put_accept(out: &mut Vec<u8>, accept: &Accept) {
    out.push(packet::ACCEPT << 4);
    out.extend_from_slice(&accept.nonce.to_be_bytes());
    out.extend_from_slice(&accept.connection_id.to_be_bytes());
    out.extend_from_slice(&accept.mtu.to_be_bytes());
    out.push(accept.channels);
    out.extend_from_slice(&accept.window.to_be_bytes());
    out.extend_from_slice(&accept.server_time_ms.to_be_bytes());
}

/// Parses ACCEPT after the flags byte.
pub fn read_accept(reader: &mut Reader<'_>) -> Result<Accept, Malformed> {
    Ok(Accept {
        nonce: reader.u64()?,
        connection_id: reader.u32()?,
        mtu: reader.u16()?,
        channels: reader.u8()?,
        window: reader.u16()?,
        server_time_ms: reader.u64()?,
    })
}

/// CRC32 (IEEE) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip() {
        for value in [
            0u32,
            1,
            127,
            128,
            16_383,
            16_384,
            2_097_151,
            2_097_152,
            u32::MAX,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(out.len(), varint_len(value));
            assert_eq!(Reader::new(&out).varint(), Ok(value));
        }
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).varint(),
            Err(Malformed)
        );
        assert_eq!(Reader::new(&[0x80]).varint(), Err(Malformed));
    }

    #[test]
    fn message_command_round_trip() {
        let mut out = Vec::new();
        let fragment = FragmentInfo {
            count: 3,
            index: 1,
            total: 3000,
            offset: 1100,
        };
        put_data_header(
            &mut out,
            kind::FRAGMENT,
            Delivery::ReliableOrdered,
            true,
            1,
            4,
            Some(9),
            Some(fragment),
        );
        let header_len = out.len();
        out.extend_from_slice(b"abcd");
        let mut reader = Reader::new(&out);
        let Command::Data(command) = read_command(&mut reader).unwrap() else {
            panic!("not data")
        };
        assert_eq!(command.fragment, Some(fragment));
        assert_eq!(command.sequence, Some(9));
        assert!(command.encrypted);
        assert_eq!(command.header.len(), header_len);
        assert_eq!(command.payload, b"abcd");
        assert_eq!(reader.remaining(), 0);
    }

    #[test]
    fn answers_not_larger_than_requests() {
        let hello = Hello {
            version: 1,
            nonce: 5,
            mtu: 1200,
            channels: 2,
            window: 512,
        };
        let mut connect = Vec::new();
        put_hello(&mut connect, &hello, None);
        assert_eq!(connect.len(), CONNECT_PADDED_LEN);
        const { assert!(ACCEPT_LEN <= CONNECT_PADDED_LEN && 1 + 8 + COOKIE_LEN <= CONNECT_PADDED_LEN) };
    }
}
