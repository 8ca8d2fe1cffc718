//! Small vocabulary types shared by every layer.

use std::fmt;

/// The transport a peer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Reliable UDP of this crate (datagrams, channels, ACK/resend).
    Udp,
    /// TCP with length-prefixed frames.
    Tcp,
    /// WebSocket, binary messages.
    Ws,
    /// WebSocket over TLS. TLS provides privacy: the encrypt flag is satisfied by it.
    Wss,
    /// TCP with length-prefixed frames inside TLS (`tls://host:port`). Like
    /// [`Wss`](Protocol::Wss), TLS provides privacy: the encrypt flag is satisfied by it.
    Tls,
}

impl Protocol {
    /// True when the underlying link already encrypts everything (WSS, TLS).
    pub fn is_secure(self) -> bool {
        matches!(self, Protocol::Wss | Protocol::Tls)
    }
    /// True when the link is a byte stream / message stream (TCP, WS, WSS, TLS):
    /// no ACKs, resends or fragmentation are needed.
    pub fn is_stream(self) -> bool {
        !matches!(self, Protocol::Udp)
    }
    /// True for WebSocket links (WS, WSS): they carry a path in their URL.
    pub fn is_websocket(self) -> bool {
        matches!(self, Protocol::Ws | Protocol::Wss)
    }
    /// The same transport with TLS (`tcp` -> `tls`, `ws` -> `wss`); itself for
    /// secure protocols and UDP (which has no TLS form).
    pub fn with_tls(self) -> Self {
        match self {
            Protocol::Tcp => Protocol::Tls,
            Protocol::Ws => Protocol::Wss,
            other => other,
        }
    }
    /// The same transport without TLS (`tls` -> `tcp`, `wss` -> `ws`).
    pub fn without_tls(self) -> Self {
        match self {
            Protocol::Tls => Protocol::Tcp,
            Protocol::Wss => Protocol::Ws,
            other => other,
        }
    }
    /// The URL scheme: `udp`, `tcp`, `ws`, `wss` or `tls`.
    pub fn scheme(self) -> &'static str {
        match self {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
            Protocol::Ws => "ws",
            Protocol::Wss => "wss",
            Protocol::Tls => "tls",
        }
    }
    /// Parses a scheme name (case-insensitive).
    pub fn from_scheme(scheme: &str) -> Option<Self> {
        match scheme.to_ascii_lowercase().as_str() {
            "udp" => Some(Protocol::Udp),
            "tcp" => Some(Protocol::Tcp),
            "ws" => Some(Protocol::Ws),
            "wss" => Some(Protocol::Wss),
            "tls" => Some(Protocol::Tls),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme())
    }
}

/// How one message is delivered (Photon's `DeliveryMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Delivery {
    /// Acknowledged, resent, delivered once and in order within its channel.
    #[default]
    ReliableOrdered,
    /// Acknowledged, resent, delivered once as soon as it arrives.
    ReliableUnsequenced,
    /// Not resent; an older message is dropped once a newer one arrived on the channel.
    UnreliableSequenced,
    /// Not resent, delivered as it arrives (the voice frame default).
    UnreliableUnsequenced,
}

impl Delivery {
    /// True for the two reliable modes.
    pub fn is_reliable(self) -> bool {
        matches!(
            self,
            Delivery::ReliableOrdered | Delivery::ReliableUnsequenced
        )
    }
}

/// Per-message send options (Photon's `SendOptions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendOptions {
    /// Delivery mode. Defaults to reliable ordered.
    pub delivery: Delivery,
    /// Channel number, below the negotiated channel count. Defaults to 0.
    pub channel: u8,
    /// Encrypt the payload (requires established encryption, or WSS).
    pub encrypt: bool,
}

impl SendOptions {
    /// Reliable ordered on channel 0, clear.
    pub const RELIABLE: SendOptions = SendOptions {
        delivery: Delivery::ReliableOrdered,
        channel: 0,
        encrypt: false,
    };
    /// Unreliable unsequenced on channel 0, clear: the voice frame default.
    pub const UNRELIABLE: SendOptions = SendOptions {
        delivery: Delivery::UnreliableUnsequenced,
        channel: 0,
        encrypt: false,
    };

    /// The same options on another channel.
    pub fn on_channel(self, channel: u8) -> Self {
        Self { channel, ..self }
    }
    /// The same options with encryption switched on or off.
    pub fn encrypted(self, encrypt: bool) -> Self {
        Self { encrypt, ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_round_trip_and_tls_pairs() {
        for protocol in [
            Protocol::Udp,
            Protocol::Tcp,
            Protocol::Ws,
            Protocol::Wss,
            Protocol::Tls,
        ] {
            assert_eq!(Protocol::from_scheme(protocol.scheme()), Some(protocol));
            assert_eq!(protocol.with_tls().without_tls(), protocol.without_tls());
        }
        assert_eq!(Protocol::from_scheme("TLS"), Some(Protocol::Tls));
        assert_eq!(Protocol::Tcp.with_tls(), Protocol::Tls);
        assert_eq!(Protocol::Ws.with_tls(), Protocol::Wss);
        assert_eq!(Protocol::Udp.with_tls(), Protocol::Udp);
        assert!(Protocol::Tls.is_secure() && Protocol::Tls.is_stream());
        assert!(!Protocol::Tls.is_websocket() && Protocol::Wss.is_websocket());
        assert!(!Protocol::Tcp.is_secure());
    }
}
