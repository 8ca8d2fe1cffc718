//! Typed messages and their binary encoding, in the spirit of Photon's binary
//! protocol (GpBinary V18): typed values, operation requests, responses,
//! events, and raw voice messages that are relayed without re-encoding.
//!
//! Decoding never panics and never allocates more than the input justifies:
//! every length is checked against the bytes left and against [`Limits`].
//!
//! # Wire format
//!
//! Notation: `varint` is unsigned LEB128 (7 bits per byte, low first, high bit
//! = more follows; lengths and counts are varints of at most 32 bits);
//! `compact` is a zig-zag mapped varint (`0→0, -1→1, 1→2, -2→3…`), so small
//! magnitudes of either sign take one byte; multi-byte fixed numbers are
//! little-endian.
//!
//! ## Values
//!
//! A value in *full form* is a type code followed by its *body*. Inside a
//! dictionary with a declared key or value type other than `Any`, entries are
//! written as bodies only (no type code).
//!
//! | code | value | body |
//! |------|-------|------|
//! | `0x08` | `Null` | (none) |
//! | `0x1b` / `0x1c` | `Bool(false)` / `Bool(true)` | (none) |
//! | `0x02` | `Bool` | 1 byte, 0 or 1 (declared-type form; decoded in full form too) |
//! | `0x03` / `0x22` | `U8` / `U8(0)` | 1 byte / none |
//! | `0x04` / `0x1d` | `I16` / `I16(0)` | 2 bytes LE / none |
//! | `0x09` / `0x1e` | `I32` / `I32(0)` | compact / none |
//! | `0x0a` / `0x1f` | `I64` / `I64(0)` | compact / none |
//! | `0x05` / `0x20` | `F32` / `F32(+0.0)` | 4 bytes LE IEEE 754 / none |
//! | `0x06` / `0x21` | `F64` / `F64(+0.0)` | 8 bytes LE IEEE 754 / none |
//! | `0x07` | `String` | varint length, UTF-8 bytes |
//! | `0x43` | `Bytes` | varint length, bytes (decoded zero-copy) |
//! | `0x17` | `ObjectArray` | varint count, full-form values |
//! | `0x14` | `Dictionary` | key type, value type (declared codes, below), varint count, then per entry key and value: full form if the declared type is `Any`, else body |
//! | `0x13` | `Custom` | type id byte, varint length, data |
//! | `0x80 \| id` | `Custom` with `id < 0x80` | varint length, data |
//! | `0x42` | `Array(Bool)` | varint count, `ceil(count/8)` bytes of bits, LSB first |
//! | `0x44` | `Array(I16)` | varint count, 2 bytes LE each |
//! | `0x49` | `Array(I32)` | varint count, compact each |
//! | `0x4a` | `Array(I64)` | varint count, compact each |
//! | `0x45` | `Array(F32)` | varint count, 4 bytes LE each |
//! | `0x46` | `Array(F64)` | varint count, 8 bytes LE each |
//! | `0x47` | `Array(String)` | varint count, (varint length, UTF-8) each |
//!
//! The encoder always uses the shortcut codes for `Null`, booleans and zeros
//! (`-0.0` is not a zero: its sign is kept) and the slim custom code when it
//! can. A typed array's code is its own body's first byte, so a typed array
//! written as a declared-type dictionary entry is identical to its full form.
//!
//! Declared dictionary types use the codes above for the element types plus
//! `0x00` = `Any` (each entry carries its own type code) and `0x40` = `Array`
//! (each entry is a typed array, starting with its own array code). `Null`
//! (`0x08`) cannot be declared: a zero-byte entry would let a few bytes claim
//! millions of entries.
//!
//! ## Messages
//!
//! Every message starts with a kind byte ([`kind`]); the message must end
//! exactly where its layout ends (else [`DecodeError::TrailingBytes`]).
//!
//! | kind | message | layout after the kind byte |
//! |------|---------|----------------------------|
//! | `0x02` | [`OperationRequest`] | code u8, parameters |
//! | `0x03` | [`OperationResponse`] | code u8, return code i16 LE, debug message as full-form `String` or `Null`, parameters |
//! | `0x04` | [`EventData`] | code u8, sender compact, parameters |
//! | `0x09` | [`RawSend`] | receiver group u8 (0 Others, 1 All, 2 MasterClient), interest group u8, target count u8, that many compact actor numbers, payload = every byte left |
//! | `0x0a` | [`RawEvent`] | sender compact, payload = every byte left |
//!
//! Parameters are a varint count, then per entry a key byte and a full-form
//! value.
//!
//! The raw kinds are the voice fast path: the relay reads a `RawSend` with
//! [`RawSendView::parse`] (no copy, no allocation), writes a `RawEvent` header
//! with [`write_raw_event_header`] (3 bytes for actor numbers below 8192) and
//! sends header and the untouched payload as two parts.
//!
//! ## Limits
//!
//! Decoding rejects inputs larger than [`Limits::max_message_size`], nesting
//! of object arrays and dictionaries deeper than [`Limits::max_depth`], and any
//! count above [`Limits::max_collection_len`] *or* above what the bytes left
//! could hold at the element type's minimum size — before allocating. Encoding
//! applies the same limits so that it never produces what the peer refuses.

mod custom;
mod message;
mod value;
mod value_codec;
mod wire;

pub use custom::CustomType;
pub use message::kind;

pub use message::{
    write_raw_event_header, EventData, Message, OperationRequest, OperationResponse, RawEvent,
    RawRouting, RawSend, RawSendView, ReceiverGroup, RAW_EVENT_HEADER_MAX,
};
pub use value::{Dictionary, Parameters, TypeCode, TypedArray, Value};

/// Bounds applied while decoding untrusted bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest encoded message accepted. Defaults to 512 KiB (Photon's 512000-byte
    /// `MaxMessageSize` rounded to a power of two). Cost: reassembly memory per peer.
    pub max_message_size: usize,
    /// Deepest nesting of arrays and dictionaries. Defaults to 16.
    pub max_depth: usize,
    /// Most elements in one array, dictionary or parameter table. Defaults to 65 536.
    pub max_collection_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: 512 * 1024,
            max_depth: 16,
            max_collection_len: 65_536,
        }
    }
}

/// Why bytes did not decode into a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended inside a value.
    #[error("message truncated")]
    UnexpectedEnd,
    /// An unknown type code.
    #[error("unknown type code {0:#04x}")]
    UnknownType(u8),
    /// An unknown message kind byte.
    #[error("unknown message kind {0:#04x}")]
    UnknownMessageKind(u8),
    /// A string is not UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// Nesting deeper than [`Limits::max_depth`].
    #[error("nesting deeper than {0} levels (Limits::max_depth)")]
    TooDeep(usize),
    /// A collection longer than [`Limits::max_collection_len`] or than the bytes left allow.
    #[error("collection of {0} elements exceeds Limits::max_collection_len or the bytes left")]
    TooLong(u64),
    /// A message larger than [`Limits::max_message_size`].
    #[error("message of {0} bytes exceeds Limits::max_message_size")]
    TooLarge(usize),
    /// A compact integer that overflows its type.
    #[error("integer out of range")]
    IntegerOverflow,
    /// Bytes left over after a complete message.
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
    /// A dictionary entry or typed array element does not match its declared type.
    #[error("value does not match its declared type")]
    TypeMismatch,
    /// A field holds a value its layout does not allow (the text says which).
    #[error("invalid encoding: {0}")]
    Invalid(&'static str),
}

/// Why a value could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The encoded message would exceed [`Limits::max_message_size`].
    #[error("message of {0} bytes exceeds Limits::max_message_size; split it or raise the limit")]
    TooLarge(usize),
    /// A dictionary entry or typed array element does not match its declared type.
    #[error("value does not match its declared dictionary type (or a Null type was declared)")]
    TypeMismatch,
    /// Nesting deeper than [`Limits::max_depth`].
    #[error("nesting deeper than {0} levels (Limits::max_depth)")]
    TooDeep(usize),
    /// A string or collection longer than the format can express.
    #[error(
        "string or collection longer than the format (u32) or Limits::max_collection_len allows"
    )]
    TooLong,
}

#[cfg(test)]
mod tests_message;
#[cfg(test)]
mod tests_value;
