//! What a connection reports to its application (Photon's status codes and messages).

use crate::types::Delivery;
use bytes::Bytes;

/// Why a connection ended. [`DisconnectReason::status_code`] gives Photon's number.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// This side called `disconnect` (StatusCode.Disconnect 1025).
    Local,
    /// The peer disconnected gracefully; on a client: the server did (1041 DisconnectByServer).
    ByPeer,
    /// Nothing heard within the disconnect timeout (1040 TimeoutDisconnect).
    Timeout,
    /// A reliable command was not acknowledged within the resend allowance (1040).
    ResendLimit,
    /// The connect handshake failed: no answer or refused (1023 ExceptionOnConnect).
    ConnectFailed(String),
    /// The peer broke the protocol (1026 Exception).
    ProtocolViolation(String),
    /// The server is full (1042 UserLimit... named ServerFull here).
    ServerFull,
    /// The peer fell behind: more than
    /// [`crate::TransportConfig::max_reliable_backlog`] bytes of reliable
    /// messages waited for it, so the connection was closed rather than
    /// grow without bound (1030 SendError).
    SendBacklogFull,
    /// The underlying socket or stream failed or closed (1039 ExceptionOnReceive).
    Transport(String),
}

impl DisconnectReason {
    /// Photon's `StatusCode` for this reason.
    pub fn status_code(&self) -> u16 {
        match self {
            DisconnectReason::Local => 1025,
            DisconnectReason::ByPeer => 1041,
            DisconnectReason::Timeout | DisconnectReason::ResendLimit => 1040,
            DisconnectReason::ConnectFailed(_) => 1023,
            DisconnectReason::ProtocolViolation(_) => 1026,
            DisconnectReason::ServerFull => 1042,
            DisconnectReason::SendBacklogFull => 1030,
            DisconnectReason::Transport(_) => 1039,
        }
    }
}

/// A message received from the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The payload exactly as the sender passed it to `send`.
    pub payload: Bytes,
    /// Channel it arrived on.
    pub channel: u8,
    /// How it was sent.
    pub delivery: Delivery,
    /// True if it travelled encrypted (by AES-GCM or, over WSS, by TLS).
    pub encrypted: bool,
}

/// Status changes and messages, in the order they happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// The handshake completed (StatusCode.Connect 1024).
    Connected,
    /// Keys are agreed; encrypted sends are possible (1048).
    EncryptionEstablished,
    /// The key exchange failed (1049).
    EncryptionFailedToEstablish(String),
    /// A message arrived.
    Message(ReceivedMessage),
    /// The connection ended; nothing more will happen on it.
    Disconnected(DisconnectReason),
}

impl ConnectionEvent {
    /// Photon's `StatusCode` for a status event, `None` for messages.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            ConnectionEvent::Connected => Some(1024),
            ConnectionEvent::EncryptionEstablished => Some(1048),
            ConnectionEvent::EncryptionFailedToEstablish(_) => Some(1049),
            ConnectionEvent::Message(_) => None,
            ConnectionEvent::Disconnected(reason) => Some(reason.status_code()),
        }
    }
}

/// Why a send was refused. The payload is not consumed on error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// `encrypt` was asked but keys are not agreed yet: call `establish_encryption`
    /// and wait for `EncryptionEstablished`. The message was not sent in the clear.
    #[error("encryption is not established yet; call establish_encryption() and wait for EncryptionEstablished")]
    EncryptionNotEstablished,
    /// The channel is not below the negotiated channel count.
    #[error("channel {0} does not exist (negotiated {1} channels)")]
    NoSuchChannel(u8, u8),
    /// The message is larger than the maximum message size.
    #[error("message of {0} bytes exceeds the maximum message size of {1}")]
    TooLarge(usize, usize),
    /// The connection is not connected (not yet, or not anymore).
    #[error("not connected")]
    NotConnected,
    /// The peer handle is unknown to the endpoint.
    #[error("unknown peer")]
    UnknownPeer,
    /// The outgoing queue is full (driver gone or overloaded).
    #[error("send queue is full")]
    QueueFull,
    /// The peer does not acknowledge reliable messages fast enough: the
    /// message would take its backlog past `max_reliable_backlog`. The
    /// connection is closing (`Disconnected(SendBacklogFull)` follows).
    #[error("the peer's reliable backlog would exceed {limit} bytes; it is being disconnected (it receives too slowly or stopped acknowledging)")]
    BacklogFull {
        /// The configured limit in bytes.
        limit: usize,
    },
}
