//! On-demand key exchange over reliable CONTROL commands on channel 0.
//!
//! The initiator sends `[1, public key]`; the responder derives the keys and
//! answers `[2, 0, public key]` (or `[2, 1]` on failure). The initiator is
//! established when the answer arrives; over UDP the responder is established
//! once the initiator acknowledged the answer (so it never seals a message the
//! initiator cannot open yet), over TCP/WS at once (the stream is ordered).

use super::send::OutCommand;
use super::{Connection, ConnectionState, KeyState, Side};
use crate::crypto::{KeyExchange, Role, PUBLIC_KEY_LEN};
use crate::event::ConnectionEvent;
use bytes::Bytes;
use std::time::Instant;

const KEY_REQUEST: u8 = 1;
const KEY_REPLY: u8 = 2;

impl Connection {
    pub(super) fn start_key_exchange(&mut self, now: Instant) {
        if self.state != ConnectionState::Connected {
            self.events
                .push_back(ConnectionEvent::EncryptionFailedToEstablish(
                    "not connected; call establish_encryption after Connected".into(),
                ));
            return;
        }
        if self.protocol.is_secure() {
            self.key_state = KeyState::Established;
            self.events
                .push_back(ConnectionEvent::EncryptionEstablished);
            return;
        }
        match self.key_state {
            // A failed exchange may be retried.
            KeyState::Idle | KeyState::Failed => {}
            // Asked again once established: confirm again.
            KeyState::Established => {
                self.events
                    .push_back(ConnectionEvent::EncryptionEstablished);
                return;
            }
            // Under way: its outcome will be reported.
            KeyState::Initiated { .. } | KeyState::AwaitingAck => return,
        }
        let exchange = KeyExchange::new(&mut self.rng);
        let public = exchange.public_key();
        let mut payload = Vec::with_capacity(1 + PUBLIC_KEY_LEN);
        payload.push(KEY_REQUEST);
        payload.extend_from_slice(&public);
        self.queue_control(Bytes::from(payload), false);
        let deadline = now + self.config.disconnect_timeout;
        self.key_state = KeyState::Initiated {
            exchange,
            public,
            deadline,
        };
    }

    pub(super) fn check_key_deadline(&mut self, now: Instant) {
        if let KeyState::Initiated { deadline, .. } = self.key_state {
            if now >= deadline {
                self.key_state = KeyState::Failed;
                self.events
                    .push_back(ConnectionEvent::EncryptionFailedToEstablish(format!(
                        "the peer did not answer the key exchange within {:?}",
                        self.config.disconnect_timeout
                    )));
            }
        }
    }

    fn context(&self, client_public: &[u8], server_public: &[u8]) -> Vec<u8> {
        let mut context = Vec::with_capacity(12 + 64);
        context.extend_from_slice(b"vt-keys");
        context.extend_from_slice(&self.connection_id.to_be_bytes());
        context.extend_from_slice(client_public);
        context.extend_from_slice(server_public);
        context
    }

    fn role(&self) -> Role {
        match self.side {
            Side::Client => Role::Client,
            Side::Server => Role::Server,
        }
    }

    /// A CONTROL payload delivered in order on channel 0.
    pub(super) fn handle_control(&mut self, payload: &[u8]) {
        match payload.first() {
            Some(&KEY_REQUEST) => self.handle_key_request(&payload[1..]),
            Some(&KEY_REPLY) => self.handle_key_reply(&payload[1..]),
            _ => {}
        }
    }

    fn handle_key_request(&mut self, peer_public: &[u8]) {
        if self.protocol.is_secure() {
            return;
        }
        match self.key_state {
            KeyState::Idle | KeyState::Failed => {}
            // Both sides started at once: the client's exchange wins, the
            // server answers it and drops its own request.
            KeyState::Initiated { .. } if self.side == Side::Server => {}
            _ => return,
        }
        let Ok(peer_public) = <[u8; PUBLIC_KEY_LEN]>::try_from(peer_public) else {
            self.fail_responder("the key request has a wrong length");
            return;
        };
        let exchange = KeyExchange::new(&mut self.rng);
        let public = exchange.public_key();
        let context = match self.side {
            Side::Client => self.context(&public, &peer_public),
            Side::Server => self.context(&peer_public, &public),
        };
        match exchange.finish(&peer_public, self.role(), &context) {
            Ok(keys) => {
                self.keys = Some(keys);
                let mut payload = Vec::with_capacity(2 + PUBLIC_KEY_LEN);
                payload.extend_from_slice(&[KEY_REPLY, 0]);
                payload.extend_from_slice(&public);
                self.queue_control(Bytes::from(payload), true);
                if self.protocol.is_stream() {
                    self.key_state = KeyState::Established;
                    self.events
                        .push_back(ConnectionEvent::EncryptionEstablished);
                } else {
                    self.key_state = KeyState::AwaitingAck;
                }
            }
            Err(error) => self.fail_responder(&error.to_string()),
        }
    }

    fn fail_responder(&mut self, why: &str) {
        self.queue_control(Bytes::from_static(&[KEY_REPLY, 1]), false);
        self.key_state = KeyState::Failed;
        self.events
            .push_back(ConnectionEvent::EncryptionFailedToEstablish(
                why.to_string(),
            ));
    }

    fn handle_key_reply(&mut self, body: &[u8]) {
        let KeyState::Initiated { .. } = self.key_state else {
            return;
        };
        let KeyState::Initiated {
            exchange, public, ..
        } = std::mem::replace(&mut self.key_state, KeyState::Failed)
        else {
            return;
        };
        let result = match body {
            [0, key @ ..] => match <[u8; PUBLIC_KEY_LEN]>::try_from(key) {
                Ok(peer_public) => {
                    let context = match self.side {
                        Side::Client => self.context(&public, &peer_public),
                        Side::Server => self.context(&peer_public, &public),
                    };
                    exchange
                        .finish(&peer_public, self.role(), &context)
                        .map_err(|e| e.to_string())
                }
                Err(_) => Err("the key answer has a wrong length".to_string()),
            },
            _ => Err("the peer refused the key exchange".to_string()),
        };
        match result {
            Ok(keys) => {
                self.keys = Some(keys);
                self.key_state = KeyState::Established;
                self.events
                    .push_back(ConnectionEvent::EncryptionEstablished);
            }
            Err(why) => self
                .events
                .push_back(ConnectionEvent::EncryptionFailedToEstablish(why)),
        }
    }

    /// The peer acknowledged our key answer: it has the keys.
    pub(super) fn key_reply_acknowledged(&mut self) {
        if matches!(self.key_state, KeyState::AwaitingAck) {
            self.key_state = KeyState::Established;
            self.events
                .push_back(ConnectionEvent::EncryptionEstablished);
        }
    }

    /// True when whole datagrams are sealed (`encrypt_all` and both sides have keys).
    pub(super) fn seals_datagrams(&self) -> bool {
        self.config.encrypt_all
            && self.keys.is_some()
            && matches!(self.key_state, KeyState::Established)
    }

    fn queue_control(&mut self, payload: Bytes, key_reply: bool) {
        let command = OutCommand::control(payload, key_reply);
        self.send[0].queue.push_back(command);
    }
}
