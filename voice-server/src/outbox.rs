//! What the sans-IO logic of every role writes to: sends, relays, disconnects.
//!
//! The network handler implements [`Outbox`] on top of transport's `Endpoint`
//! (encoding each message once into a reused buffer); tests use
//! [`RecordingOutbox`] to see exactly what would be sent to whom.

use std::time::Instant;
use transport::codec::{EventData, Message, OperationResponse, Parameters, Value};
use transport::lb::error;
use transport::{Delivery, PeerHandle, SendError, SendOptions};

/// How a message arrived (used to answer and relay with the same options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageMeta {
    /// Delivery mode used by the sender.
    pub delivery: Delivery,
    /// Channel used by the sender.
    pub channel: u8,
    /// True if it arrived encrypted (AES-GCM, or TLS for WSS).
    pub encrypted: bool,
    /// Encoded size in bytes.
    pub size: usize,
}

impl MessageMeta {
    /// Reliable, channel 0, encrypted or not.
    pub fn reliable(encrypted: bool) -> Self {
        Self {
            delivery: Delivery::ReliableOrdered,
            channel: 0,
            encrypted,
            size: 0,
        }
    }
    /// The same options for relaying.
    pub fn send_options(&self) -> SendOptions {
        SendOptions {
            delivery: self.delivery,
            channel: self.channel,
            encrypt: self.encrypted,
        }
    }
    /// Options for a response: reliable on the request's channel, encrypted if the
    /// request was.
    pub fn response_options(&self) -> SendOptions {
        SendOptions {
            delivery: Delivery::ReliableOrdered,
            channel: self.channel,
            encrypt: self.encrypted,
        }
    }
}

/// Where the logic's outputs go.
pub trait Outbox {
    /// Sends one message to several peers (encoded once). Failures per peer are
    /// counted and logged by the implementation.
    fn send_many(
        &mut self,
        now: Instant,
        peers: &[PeerHandle],
        message: &Message,
        options: SendOptions,
    );
    /// Sends an already-encoded message made of parts (the relay fast path).
    fn send_parts(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        parts: &[&[u8]],
        options: SendOptions,
    ) -> Result<(), SendError>;
    /// Gracefully disconnects a peer.
    fn disconnect(&mut self, now: Instant, peer: PeerHandle);

    /// Sends one message to one peer.
    fn send(&mut self, now: Instant, peer: PeerHandle, message: &Message, options: SendOptions) {
        self.send_many(now, &[peer], message, options);
    }
}

/// Sends an operation response.
pub fn respond(
    out: &mut dyn Outbox,
    now: Instant,
    peer: PeerHandle,
    meta: &MessageMeta,
    code: u8,
    parameters: Parameters,
) {
    let response = OperationResponse {
        code,
        return_code: error::OK,
        debug_message: None,
        parameters,
    };
    out.send(
        now,
        peer,
        &Message::Response(response),
        meta.response_options(),
    );
}

/// Sends an error response whose debug message names the code and explains.
pub fn respond_error(
    out: &mut dyn Outbox,
    now: Instant,
    peer: PeerHandle,
    meta: &MessageMeta,
    code: u8,
    return_code: i16,
    message: impl Into<String>,
) {
    let message = message.into();
    tracing::debug!(?peer, code, return_code, name = error::name(return_code), %message, "error response");
    let response = OperationResponse {
        code,
        return_code,
        debug_message: Some(message),
        parameters: Parameters::new(),
    };
    out.send(
        now,
        peer,
        &Message::Response(response),
        meta.response_options(),
    );
}

/// Sends an event to several peers, reliable on channel 0.
pub fn send_event(
    out: &mut dyn Outbox,
    now: Instant,
    peers: &[PeerHandle],
    event: EventData,
    encrypt: bool,
) {
    if peers.is_empty() {
        return;
    }
    out.send_many(
        now,
        peers,
        &Message::Event(event),
        SendOptions::RELIABLE.encrypted(encrypt),
    );
}

/// An error to answer a request with: return code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    /// Return code (see `transport::lb::error`).
    pub code: i16,
    /// Readable explanation with the fix.
    pub message: String,
}

impl OpError {
    /// A new error.
    pub fn new(code: i16, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
    /// InvalidOperation for a missing or mistyped parameter.
    pub fn bad_param(op: u8, key: u8, expected: &str) -> Self {
        Self::new(
            error::INVALID_OPERATION,
            format!(
                "{} ({op}): parameter {key} must be {expected}",
                transport::lb::op::name(op)
            ),
        )
    }
}

/// Typed access to request parameters with errors that name the parameter.
pub struct Params<'a> {
    op: u8,
    params: &'a Parameters,
}

impl<'a> Params<'a> {
    /// Wraps the parameters of operation `op`.
    pub fn new(op: u8, params: &'a Parameters) -> Self {
        Self { op, params }
    }
    /// An optional string.
    pub fn opt_str(&self, key: u8) -> Result<Option<&'a str>, OpError> {
        match self.params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(OpError::bad_param(self.op, key, "a string")),
        }
    }
    /// A required string.
    pub fn str(&self, key: u8) -> Result<&'a str, OpError> {
        self.opt_str(key)?
            .ok_or_else(|| OpError::bad_param(self.op, key, "a string (required)"))
    }
    /// An optional integer of any width.
    pub fn opt_int(&self, key: u8) -> Result<Option<i64>, OpError> {
        match self.params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| OpError::bad_param(self.op, key, "an integer")),
        }
    }
    /// An optional boolean.
    pub fn opt_bool(&self, key: u8) -> Result<Option<bool>, OpError> {
        match self.params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(OpError::bad_param(self.op, key, "a boolean")),
        }
    }
    /// Optional bytes (a byte array, or a string's bytes).
    pub fn opt_bytes(&self, key: u8) -> Result<Option<&'a [u8]>, OpError> {
        match self.params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bytes(b)) => Ok(Some(b)),
            Some(Value::String(s)) => Ok(Some(s.as_bytes())),
            Some(_) => Err(OpError::bad_param(self.op, key, "a byte array")),
        }
    }
    /// An optional dictionary's entries.
    pub fn opt_dict(&self, key: u8) -> Result<Option<&'a [(Value, Value)]>, OpError> {
        match self.params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Dictionary(d)) => Ok(Some(&d.entries)),
            Some(_) => Err(OpError::bad_param(self.op, key, "a dictionary")),
        }
    }
    /// An optional list of i32 (typed array, object array of integers, or one integer).
    pub fn opt_i32_list(&self, key: u8) -> Result<Option<Vec<i32>>, OpError> {
        use transport::codec::TypedArray;
        let bad = || OpError::bad_param(self.op, key, "an array of actor numbers");
        match self.params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(TypedArray::I32(v))) => Ok(Some(v.clone())),
            Some(Value::Array(TypedArray::I16(v))) => {
                Ok(Some(v.iter().map(|&x| x.into()).collect()))
            }
            Some(Value::ObjectArray(v)) => v
                .iter()
                .map(|x| {
                    x.as_i64()
                        .and_then(|i| i32::try_from(i).ok())
                        .ok_or_else(bad)
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => v
                .as_i64()
                .and_then(|i| i32::try_from(i).ok())
                .map(|i| Some(vec![i]))
                .ok_or_else(bad),
        }
    }
    /// The raw value.
    pub fn get(&self, key: u8) -> Option<&'a Value> {
        self.params.get(key)
    }
}

/// One recorded output of [`RecordingOutbox`].
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// A message and its options.
    Message(Message, SendOptions),
    /// Parts sent back to back, concatenated.
    Parts(Vec<u8>, SendOptions),
    /// A disconnect.
    Disconnect,
}

/// An [`Outbox`] that records everything, for tests.
#[derive(Debug, Default)]
pub struct RecordingOutbox {
    /// Outputs in order, per peer.
    pub sent: Vec<(PeerHandle, Recorded)>,
    /// Peers for which `send_parts` fails with `EncryptionNotEstablished` when
    /// asked to encrypt (simulates a receiver without keys).
    pub no_encryption: Vec<PeerHandle>,
}

impl RecordingOutbox {
    /// Takes the recorded outputs.
    pub fn take(&mut self) -> Vec<(PeerHandle, Recorded)> {
        std::mem::take(&mut self.sent)
    }
    /// Messages sent to `peer`, in order.
    pub fn messages_to(&self, peer: PeerHandle) -> Vec<&Message> {
        self.sent
            .iter()
            .filter_map(|(p, r)| match r {
                Recorded::Message(m, _) if *p == peer => Some(m),
                _ => None,
            })
            .collect()
    }
}

impl Outbox for RecordingOutbox {
    fn send_many(
        &mut self,
        _now: Instant,
        peers: &[PeerHandle],
        message: &Message,
        options: SendOptions,
    ) {
        for &peer in peers {
            self.sent
                .push((peer, Recorded::Message(message.clone(), options)));
        }
    }
    fn send_parts(
        &mut self,
        _now: Instant,
        peer: PeerHandle,
        parts: &[&[u8]],
        options: SendOptions,
    ) -> Result<(), SendError> {
        if options.encrypt && self.no_encryption.contains(&peer) {
            return Err(SendError::EncryptionNotEstablished);
        }
        self.sent
            .push((peer, Recorded::Parts(parts.concat(), options)));
        Ok(())
    }
    fn disconnect(&mut self, _now: Instant, peer: PeerHandle) {
        self.sent.push((peer, Recorded::Disconnect));
    }
}
