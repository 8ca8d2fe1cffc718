//! Typed messages and their binary encoding, in the spirit of Photon's binary
//! protocol (GpBinary V18): typed values, operation requests, responses,
//! events, and raw voice messages that are relayed without re-encoding.
//!
//! Decoding never panics and never allocates more than the input justifies:
//! every length is checked against the bytes left and against [`Limits`].

mod message;
mod value;

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
    #[error("nesting deeper than {0}")]
    TooDeep(usize),
    /// A collection longer than [`Limits::max_collection_len`] or than the bytes left allow.
    #[error("collection of {0} elements exceeds the limit")]
    TooLong(u64),
    /// A message larger than [`Limits::max_message_size`].
    #[error("message of {0} bytes exceeds the maximum message size")]
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
}

/// Why a value could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The encoded message would exceed [`Limits::max_message_size`].
    #[error("message of {0} bytes exceeds the maximum message size")]
    TooLarge(usize),
    /// A dictionary entry or typed array element does not match its declared type.
    #[error("value does not match its declared type")]
    TypeMismatch,
    /// Nesting deeper than [`Limits::max_depth`].
    #[error("nesting deeper than {0}")]
    TooDeep(usize),
    /// A string or collection longer than the format can express.
    #[error("string or collection too long for the format")]
    TooLong,
}
