//! Message kinds.
//!
//! CONTRACT (skeleton): shapes and signatures are the API other crates build
//! against; the codec owner implements the bodies.

use super::value_codec::{code, Decoder, Encoder};
use super::wire::{put_compact_i32, put_varint, write_varint_u32, zigzag32, Cursor};
use super::{DecodeError, EncodeError, Limits, Parameters, Value};
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
    /// Appends the encoding of this message to `out`. On error nothing is
    /// appended. A `RawSend`'s target count is taken from `targets` (its
    /// `routing.target_count` is ignored).
    pub fn encode(&self, out: &mut Vec<u8>, limits: &Limits) -> Result<(), EncodeError> {
        let start = out.len();
        let result = encode_message(self, &mut Encoder { out, limits });
        let size = out.len() - start;
        match result {
            Ok(()) if size <= limits.max_message_size => Ok(()),
            Ok(()) => {
                out.truncate(start);
                Err(EncodeError::TooLarge(size))
            }
            Err(error) => {
                out.truncate(start);
                Err(error)
            }
        }
    }

    /// Decodes one whole message. `bytes` is a `Bytes` so that byte arrays and raw
    /// payloads can be zero-copy slices of it.
    pub fn decode(bytes: &Bytes, limits: &Limits) -> Result<Message, DecodeError> {
        if bytes.len() > limits.max_message_size {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        let mut decoder = Decoder::new(bytes, limits);
        let message = match decoder.cursor.u8()? {
            kind::REQUEST => {
                let code = decoder.cursor.u8()?;
                Message::Request(OperationRequest {
                    code,
                    parameters: decode_parameters(&mut decoder)?,
                })
            }
            kind::RESPONSE => {
                let code = decoder.cursor.u8()?;
                let return_code = i16::from_le_bytes(decoder.cursor.array()?);
                let debug_message = match decoder.value(0)? {
                    Value::Null => None,
                    Value::String(text) => Some(text),
                    _ => return Err(DecodeError::TypeMismatch),
                };
                let parameters = decode_parameters(&mut decoder)?;
                Message::Response(OperationResponse {
                    code,
                    return_code,
                    debug_message,
                    parameters,
                })
            }
            kind::EVENT => {
                let code = decoder.cursor.u8()?;
                let sender = decoder.cursor.compact_i32()?;
                Message::Event(EventData {
                    code,
                    sender,
                    parameters: decode_parameters(&mut decoder)?,
                })
            }
            kind::RAW_SEND => {
                let view = RawSendView::parse(bytes)?
                    .ok_or(DecodeError::UnknownMessageKind(kind::RAW_SEND))?;
                let payload = bytes.slice(bytes.len() - view.payload.len()..);
                return Ok(Message::RawSend(RawSend {
                    routing: view.routing,
                    targets: view.targets().collect(),
                    payload,
                }));
            }
            kind::RAW_EVENT => {
                let sender = decoder.cursor.compact_i32()?;
                let start = decoder.cursor.position();
                decoder.cursor.rest();
                Message::RawEvent(RawEvent {
                    sender,
                    payload: bytes.slice(start..),
                })
            }
            other => return Err(DecodeError::UnknownMessageKind(other)),
        };
        match decoder.cursor.remaining() {
            0 => Ok(message),
            left => Err(DecodeError::TrailingBytes(left)),
        }
    }

    /// The kind byte this message starts with on the wire.
    pub fn kind_byte(&self) -> u8 {
        match self {
            Message::Request(_) => kind::REQUEST,
            Message::Response(_) => kind::RESPONSE,
            Message::Event(_) => kind::EVENT,
            Message::RawSend(_) => kind::RAW_SEND,
            Message::RawEvent(_) => kind::RAW_EVENT,
        }
    }
}

/// Message kind bytes (the first byte of every encoded message; Photon's
/// message type numbers where one exists).
pub mod kind {
    /// [`super::OperationRequest`].
    pub const REQUEST: u8 = 0x02;
    /// [`super::OperationResponse`].
    pub const RESPONSE: u8 = 0x03;
    /// [`super::EventData`].
    pub const EVENT: u8 = 0x04;
    /// [`super::RawSend`].
    pub const RAW_SEND: u8 = 0x09;
    /// [`super::RawEvent`].
    pub const RAW_EVENT: u8 = 0x0a;
}

fn encode_message(message: &Message, encoder: &mut Encoder<'_>) -> Result<(), EncodeError> {
    encoder.out.push(message.kind_byte());
    match message {
        Message::Request(OperationRequest { code, parameters }) => {
            encoder.out.push(*code);
            encode_parameters(parameters, encoder)
        }
        Message::Response(OperationResponse {
            code,
            return_code,
            debug_message,
            parameters,
        }) => {
            encoder.out.push(*code);
            encoder.out.extend_from_slice(&return_code.to_le_bytes());
            match debug_message {
                None => encoder.out.push(code::NULL),
                Some(text) => {
                    encoder.out.push(code::STRING);
                    put_varint(
                        encoder.out,
                        u64::from(u32::try_from(text.len()).map_err(|_| EncodeError::TooLong)?),
                    );
                    encoder.out.extend_from_slice(text.as_bytes());
                }
            }
            encode_parameters(parameters, encoder)
        }
        Message::Event(EventData {
            code,
            sender,
            parameters,
        }) => {
            encoder.out.push(*code);
            put_compact_i32(encoder.out, *sender);
            encode_parameters(parameters, encoder)
        }
        Message::RawSend(RawSend {
            routing,
            targets,
            payload,
        }) => {
            let target_count = u8::try_from(targets.len()).map_err(|_| EncodeError::TooLong)?;
            encoder.out.extend_from_slice(&[
                routing.receivers.to_byte(),
                routing.interest_group,
                target_count,
            ]);
            targets
                .iter()
                .for_each(|target| put_compact_i32(encoder.out, *target));
            encoder.out.extend_from_slice(payload);
            Ok(())
        }
        Message::RawEvent(RawEvent { sender, payload }) => {
            put_compact_i32(encoder.out, *sender);
            encoder.out.extend_from_slice(payload);
            Ok(())
        }
    }
}

fn encode_parameters(
    parameters: &Parameters,
    encoder: &mut Encoder<'_>,
) -> Result<(), EncodeError> {
    encoder.count(parameters.len())?;
    for (key, value) in parameters.iter() {
        encoder.out.push(key);
        encoder.value(value, 0)?;
    }
    Ok(())
}

fn decode_parameters(decoder: &mut Decoder<'_>) -> Result<Parameters, DecodeError> {
    // Each entry is at least a key byte and a type code.
    let count = decoder.count(2)?;
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let key = decoder.cursor.u8()?;
        entries.push((key, decoder.value(0)?));
    }
    Ok(Parameters(entries))
}

impl ReceiverGroup {
    /// The byte for this group on the wire.
    pub fn to_byte(self) -> u8 {
        match self {
            ReceiverGroup::Others => 0,
            ReceiverGroup::All => 1,
            ReceiverGroup::MasterClient => 2,
        }
    }

    /// The group for a wire byte, if it names one.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(ReceiverGroup::Others),
            1 => Some(ReceiverGroup::All),
            2 => Some(ReceiverGroup::MasterClient),
            _ => None,
        }
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
    /// Other kinds are only recognised by their first byte: their bodies are
    /// not checked. Does not apply [`Limits`]; check the size before relaying.
    pub fn parse(bytes: &'a [u8]) -> Result<Option<Self>, DecodeError> {
        let mut cursor = Cursor::new(bytes);
        match cursor.u8()? {
            kind::RAW_SEND => {}
            kind::REQUEST | kind::RESPONSE | kind::EVENT | kind::RAW_EVENT => return Ok(None),
            other => return Err(DecodeError::UnknownMessageKind(other)),
        }
        let receivers = ReceiverGroup::from_byte(cursor.u8()?)
            .ok_or(DecodeError::Invalid("receiver group above 2"))?;
        let interest_group = cursor.u8()?;
        let target_count = cursor.u8()?;
        let targets_start = cursor.position();
        for _ in 0..target_count {
            cursor.compact_i32()?;
        }
        let encoded_targets = &bytes[targets_start..cursor.position()];
        Ok(Some(Self {
            routing: RawRouting {
                receivers,
                interest_group,
                target_count,
            },
            encoded_targets,
            payload: cursor.rest(),
        }))
    }

    /// The target actor numbers.
    pub fn targets(&self) -> impl Iterator<Item = i32> + 'a {
        let mut cursor = Cursor::new(self.encoded_targets);
        // `parse` validated every varint, so errors cannot occur here; stop
        // quietly if a hand-built view holds garbage.
        std::iter::from_fn(move || {
            if cursor.remaining() == 0 {
                None
            } else {
                cursor.compact_i32().ok()
            }
        })
    }
}

/// Writes the header of an encoded [`RawEvent`] from `sender` into `out` and
/// returns its length; the payload follows it unchanged on the wire. The relay
/// sends `[header, payload]` as two parts, so nothing is re-encoded.
///
/// The header is the kind byte and the sender as a compact integer: 2 bytes for
/// actor numbers -64..=63, 3 bytes below 8192, at most 6.
pub fn write_raw_event_header(sender: i32, out: &mut [u8; RAW_EVENT_HEADER_MAX]) -> usize {
    out[0] = kind::RAW_EVENT;
    1 + write_varint_u32(&mut out[1..], zigzag32(sender))
}
