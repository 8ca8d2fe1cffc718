//! Message kinds.
//!
//! CONTRACT (skeleton): shapes and signatures are the API other crates build
//! against; the codec owner implements the bodies.

use super::{DecodeError, EncodeError, Limits, Parameters};
use bytes::Bytes;

/// An operation request from client to server (code + parameters).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OperationRequest {
    /// Operation code (Photon's: Authenticate 230, JoinGame 226, RaiseEvent 253...).
    pub code: u8,
    /// Parameters keyed by byte.
    pub parameters: Parameters,
}

/// The server's answer to one operation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OperationResponse {
    /// The operation code answered.
    pub code: u8,
    /// 0 for success, otherwise an error code.
    pub return_code: i16,
    /// A readable explanation, mostly for errors.
    pub debug_message: Option<String>,
    /// Result parameters.
    pub parameters: Parameters,
}

/// An event sent to clients.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventData {
    /// Event code (Join 255, Leave 254, PropertiesChanged 253, custom below 200...).
    pub code: u8,
    /// Actor number of the sender; 0 for the server.
    pub sender: i32,
    /// Event parameters.
    pub parameters: Parameters,
}

/// Photon's receiver groups for events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReceiverGroup {
    /// Everyone in the room except the sender (the default).
    #[default]
    Others,
    /// Everyone in the room, the sender included.
    All,
    /// Only the room's master client.
    MasterClient,
}

/// Who a raw voice message goes to. Parsed without touching the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RawRouting {
    /// Receiver group (ignored when `targets` is non-empty).
    pub receivers: ReceiverGroup,
    /// Interest group, 0 = everyone.
    pub interest_group: u8,
    /// Number of target actor numbers that follow (0 = none, use `receivers`).
    pub target_count: u8,
}

/// A raw message from a client: routing header, optional target actors, then an
/// opaque payload the server never parses (the voice fast path).
#[derive(Debug, Clone, PartialEq)]
pub struct RawSend {
    /// Routing.
    pub routing: RawRouting,
    /// Target actor numbers, if any.
    pub targets: Vec<i32>,
    /// Opaque payload.
    pub payload: Bytes,
}

/// A raw message relayed to a client: the sender's actor number and the payload
/// exactly as the sender wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    /// Actor number of the sender.
    pub sender: i32,
    /// Opaque payload.
    pub payload: Bytes,
}

/// Every message kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Client to server.
    Request(OperationRequest),
    /// Server to client, answering a request.
    Response(OperationResponse),
    /// Server to client.
    Event(EventData),
    /// Client to server voice fast path.
    RawSend(RawSend),
    /// Server to client voice fast path.
    RawEvent(RawEvent),
}

impl Message {
    /// Appends the encoding of this message to `out`.
    pub fn encode(&self, out: &mut Vec<u8>, limits: &Limits) -> Result<(), EncodeError> {
        let _ = (out, limits);
        todo!("codec owner")
    }

    /// Decodes one whole message. `bytes` is a `Bytes` so that byte arrays and raw
    /// payloads can be zero-copy slices of it.
    pub fn decode(bytes: &Bytes, limits: &Limits) -> Result<Message, DecodeError> {
        let _ = (bytes, limits);
        todo!("codec owner")
    }
}

/// Largest header [`write_raw_event_header`] writes.
pub const RAW_EVENT_HEADER_MAX: usize = 6;

/// A zero-copy view of an encoded [`RawSend`]: what the relay reads per frame.
#[derive(Debug, Clone, Copy)]
pub struct RawSendView<'a> {
    /// Routing header.
    pub routing: RawRouting,
    /// Encoded target actor numbers (use [`RawSendView::targets`]).
    pub encoded_targets: &'a [u8],
    /// The opaque payload.
    pub payload: &'a [u8],
}

impl<'a> RawSendView<'a> {
    /// Parses the routing header of an encoded `RawSend` message without copying
    /// or allocating. Returns `Ok(None)` if the message is of another kind.
    pub fn parse(bytes: &'a [u8]) -> Result<Option<Self>, DecodeError> {
        let _ = bytes;
        todo!("codec owner")
    }

    /// The target actor numbers.
    pub fn targets(&self) -> impl Iterator<Item = i32> + 'a {
        let _ = self.encoded_targets;
        std::iter::empty()
    }
}

/// Writes the header of an encoded [`RawEvent`] from `sender` into `out` and
/// returns its length; the payload follows it unchanged on the wire. The relay
/// sends `[header, payload]` as two parts, so nothing is re-encoded.
pub fn write_raw_event_header(sender: i32, out: &mut [u8; RAW_EVENT_HEADER_MAX]) -> usize {
    let _ = (sender, out);
    todo!("codec owner")
}
