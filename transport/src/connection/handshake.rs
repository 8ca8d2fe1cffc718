//! Client and server handshake packets (see `wire.rs`): UDP CONNECT /
//! COOKIE / CONNECT_COOKIE / ACCEPT / REFUSE, and the stream hello.

use super::{Connection, ConnectionState, Handshake, KeyState};
use crate::event::{ConnectionEvent, DisconnectReason};
use crate::wire::{self, Hello, Reader};
use std::time::{Duration, Instant};

impl Connection {
    pub(super) fn receive_cookie(&mut self, now: Instant, reader: &mut Reader<'_>) {
        let (Ok(nonce), Ok(bytes)) = (reader.u64(), reader.bytes(wire::COOKIE_LEN)) else {
            return;
        };
        if let Handshake::ClientUdp {
            nonce: ours,
            cookie,
            next_send,
            ..
        } = &mut self.handshake
        {
            if *ours == nonce && self.state == ConnectionState::Connecting {
                let mut value = [0u8; wire::COOKIE_LEN];
                value.copy_from_slice(bytes);
                *cookie = Some(value);
                *next_send = now;
            }
        }
    }

    pub(super) fn receive_accept(&mut self, now: Instant, reader: &mut Reader<'_>) {
        let Ok(accept) = wire::read_accept(reader) else {
            return;
        };
        if self.state != ConnectionState::Connecting {
            return;
        }
        let (nonce, sent_at, attempts) = match self.handshake {
            Handshake::ClientUdp {
                nonce,
                last_sent,
                attempts,
                ..
            } => (nonce, last_sent, attempts),
            Handshake::ClientStream { nonce, sent_at, .. } => (nonce, sent_at, 1),
            _ => return,
        };
        if accept.nonce != nonce {
            return;
        }
        let stream = self.protocol.is_stream();
        let valid = accept.channels >= 1
            && accept.channels <= self.channel_count
            && accept.window >= 1
            && accept.window <= self.window
            && accept.connection_id != 0
            && (stream || (accept.mtu >= crate::config::MIN_MTU && accept.mtu <= self.mtu));
        if !valid {
            self.finish(DisconnectReason::ConnectFailed(
                "the server answered with invalid connection parameters (MTU, channels or window)"
                    .into(),
            ));
            return;
        }
        self.connection_id = accept.connection_id;
        if !stream {
            self.mtu = accept.mtu;
        }
        self.channel_count = accept.channels;
        self.window = accept.window;
        self.setup_channels();
        let rtt = now.saturating_duration_since(sent_at);
        if attempts == 1 {
            self.rtt.sample(rtt);
            self.stats.rtt = self.rtt.smoothed();
            self.stats.rtt_variance = self.rtt.variance();
        }
        self.server_time = Some((now, accept.server_time_ms + rtt.as_millis() as u64 / 2));
        self.handshake = Handshake::Done;
        self.state = ConnectionState::Connected;
        self.last_receive = now;
        self.last_ping = now;
        if self.protocol.is_secure() {
            self.key_state = KeyState::Established;
        }
        self.events.push_back(ConnectionEvent::Connected);
    }

    pub(super) fn receive_refuse(&mut self, now: Instant, reader: &mut Reader<'_>) {
        let (Ok(nonce), Ok(reason)) = (reader.u64(), reader.u8()) else {
            return;
        };
        let Handshake::ClientUdp {
            nonce: ours,
            cookie,
            next_send,
            ..
        } = &mut self.handshake
        else {
            return;
        };
        if *ours != nonce || self.state != ConnectionState::Connecting {
            return;
        }
        match reason {
            wire::refuse::SERVER_FULL => self.finish(DisconnectReason::ServerFull),
            wire::refuse::BAD_COOKIE => {
                // The cookie expired on the way: start over with a fresh one.
                *cookie = None;
                *next_send = now;
            }
            wire::refuse::VERSION => self.finish(DisconnectReason::ConnectFailed(format!(
                "the server does not speak protocol version {}; update the client or the server",
                wire::PROTOCOL_VERSION
            ))),
            wire::refuse::PARAMETERS => self.finish(DisconnectReason::ConnectFailed(
                "the server refused the connection parameters; use an MTU of at least 576 and at least one channel"
                    .into(),
            )),
            other => self.finish(DisconnectReason::ConnectFailed(format!(
                "refused by the server (reason {other})"
            ))),
        }
    }

    pub(super) fn receive_stream_hello(&mut self, now: Instant, reader: &mut Reader<'_>) {
        if !matches!(self.handshake, Handshake::ServerStream) {
            return;
        }
        let (Ok(version), Ok(nonce), Ok(channels)) = (reader.u8(), reader.u64(), reader.u8())
        else {
            return;
        };
        if version != wire::PROTOCOL_VERSION || channels == 0 {
            self.finish(DisconnectReason::ProtocolViolation(format!(
                "stream hello with version {version} and {channels} channels"
            )));
            return;
        }
        self.channel_count = self.channel_count.min(channels);
        self.setup_channels();
        self.handshake = Handshake::ServerAccept {
            nonce,
            send_accept: true,
        };
        self.state = ConnectionState::Connected;
        self.last_receive = now;
        self.last_ping = now;
        self.events.push_back(ConnectionEvent::Connected);
    }

    /// Writes a pending handshake packet, if any.
    pub(super) fn transmit_handshake(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<usize> {
        let hello = |nonce| Hello {
            version: wire::PROTOCOL_VERSION,
            nonce,
            mtu: self.mtu,
            channels: self.channel_count,
            window: self.window,
        };
        match &mut self.handshake {
            Handshake::ClientUdp {
                nonce,
                cookie,
                attempts,
                next_send,
                last_sent,
            } if *next_send <= now => {
                let hello = hello(*nonce);
                wire::put_hello(buf, &hello, cookie.as_ref());
                *attempts += 1;
                *last_sent = now;
                let backoff = self
                    .config
                    .max_initial_resend_timeout
                    .max(Duration::from_millis(100));
                *next_send =
                    now + (backoff * 2u32.pow((*attempts - 1).min(4))).min(Duration::from_secs(2));
            }
            Handshake::ClientStream {
                nonce,
                sent,
                sent_at,
            } if !*sent => {
                buf.push(wire::packet::STREAM_CONNECT << 4);
                buf.push(wire::PROTOCOL_VERSION);
                buf.extend_from_slice(&nonce.to_be_bytes());
                buf.push(self.channel_count);
                *sent = true;
                *sent_at = now;
            }
            Handshake::ServerAccept { nonce, send_accept } if *send_accept => {
                *send_accept = false;
                let accept = wire::Accept {
                    nonce: *nonce,
                    connection_id: self.connection_id,
                    mtu: self.mtu,
                    channels: self.channel_count,
                    window: self.window,
                    server_time_ms: now.saturating_duration_since(self.epoch).as_millis() as u64,
                };
                wire::put_accept(buf, &accept);
            }
            _ => return None,
        }
        self.count_out(buf.len());
        Some(buf.len())
    }
}
