//! On-demand message encryption: X25519 key agreement, HKDF-SHA256 key
//! derivation and AES-256-GCM sealing with replay protection.
//!
//! A connection runs one [`KeyExchange`] (each side sends its 32-byte public
//! key), derives one [`SessionKeys`] from it, and then seals chosen messages
//! with [`Sealer`] and opens them with [`Opener`]. Each direction has its own
//! 256-bit key, so a message reflected back to its sender never opens.
//!
//! Sealed layout: `counter (8 bytes, big endian) | ciphertext | tag (16)`.
//! The counter is the GCM nonce (never repeats under one key) and the replay
//! window's index. Why AES-GCM rather than AES-CBC + HMAC-SHA256 is argued in
//! `ARCHITECTURE.md`: one pass, 24 bytes of overhead instead of 56 to 72, and
//! constant-time tag comparison built in.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
type GcmNonce = Nonce<aes_gcm::aead::consts::U12>;
use hkdf::Hkdf;
use rand::{CryptoRng, RngCore};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroize;

/// Bytes a sealed message adds to its plaintext: 8-byte counter and 16-byte tag.
pub const SEAL_OVERHEAD: usize = COUNTER_LEN + TAG_LEN;
/// Length of an X25519 public key on the wire.
pub const PUBLIC_KEY_LEN: usize = 32;

const COUNTER_LEN: usize = 8;
const TAG_LEN: usize = 16;
/// How far behind the newest counter a message may arrive and still open.
/// 1024 messages covers seconds of reordering at voice rates.
const REPLAY_WINDOW: u64 = 1024;
const REPLAY_WORDS: usize = (REPLAY_WINDOW / 64) as usize;

/// Why sealing, opening or key agreement failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The sealed message is shorter than counter plus tag.
    #[error("sealed message is truncated ({0} bytes, at least {SEAL_OVERHEAD} needed)")]
    Truncated(usize),
    /// The tag did not verify: tampered bytes, wrong key or wrong header.
    #[error("message authentication failed (tampered, wrong key or wrong header)")]
    AuthenticationFailed,
    /// The counter was seen before or is older than the replay window.
    #[error("replayed or too old message (counter {0})")]
    Replayed(u64),
    /// The peer's public key gives an all-zero shared secret (a low-order point).
    #[error("peer public key is invalid (low-order point)")]
    InvalidPublicKey,
    /// This key has sealed 2^64 - 1 messages; the connection must re-key.
    #[error("message counter exhausted; reconnect to get fresh keys")]
    CounterExhausted,
}

/// Which end of the connection derives keys: it decides which derived key seals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The side that connected.
    Client,
    /// The side that accepted.
    Server,
}

/// One side's half of an X25519 key agreement.
pub struct KeyExchange {
    secret: StaticSecret,
    public: PublicKey,
}

impl std::fmt::Debug for KeyExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyExchange").finish_non_exhaustive()
    }
}

impl KeyExchange {
    /// Draws a fresh ephemeral key pair.
    pub fn new<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        let secret = StaticSecret::from(bytes);
        bytes.zeroize();
        let public = PublicKey::from(&secret);
        Self { secret, public }
    }

    /// The public key to send to the peer.
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.public.to_bytes()
    }

    /// Completes the agreement with the peer's public key. `context` binds the
    /// keys to this connection (the connection id and both public keys are a
    /// good choice) and must be the same on both sides.
    pub fn finish(
        self,
        peer_public: &[u8; PUBLIC_KEY_LEN],
        role: Role,
        context: &[u8],
    ) -> Result<SessionKeys, CryptoError> {
        let shared = self.secret.diffie_hellman(&PublicKey::from(*peer_public));
        if !shared.was_contributory() {
            return Err(CryptoError::InvalidPublicKey);
        }
        let hkdf = Hkdf::<Sha256>::new(Some(context), shared.as_bytes());
        let mut client_to_server = [0u8; 32];
        let mut server_to_client = [0u8; 32];
        // Expanding 32 bytes from SHA-256 HKDF cannot fail (limit is 255 * 32).
        hkdf.expand(b"voice transport c2s v1", &mut client_to_server)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        hkdf.expand(b"voice transport s2c v1", &mut server_to_client)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        let (seal_key, open_key) = match role {
            Role::Client => (client_to_server, server_to_client),
            Role::Server => (server_to_client, client_to_server),
        };
        let keys = SessionKeys {
            sealer: Sealer::new(&seal_key),
            opener: Opener::new(&open_key),
        };
        client_to_server.zeroize();
        server_to_client.zeroize();
        Ok(keys)
    }
}

/// The two directional keys of one connection.
#[derive(Debug)]
pub struct SessionKeys {
    /// Seals what this side sends.
    pub sealer: Sealer,
    /// Opens what the peer sends.
    pub opener: Opener,
}

/// Seals outgoing messages under one key with a strictly increasing counter.
pub struct Sealer {
    cipher: Aes256Gcm,
    next_counter: u64,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("next_counter", &self.next_counter)
            .finish()
    }
}

impl Sealer {
    /// A sealer for a raw 256-bit key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(key.into()),
            next_counter: 0,
        }
    }

    /// Appends `counter | ciphertext | tag` for `plaintext` to `out`. `aad` is
    /// authenticated but not encrypted (the clear header). Allocates only if
    /// `out` lacks capacity.
    pub fn seal(
        &mut self,
        aad: &[u8],
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), CryptoError> {
        let counter = self.next_counter;
        self.next_counter = counter
            .checked_add(1)
            .ok_or(CryptoError::CounterExhausted)?;
        out.extend_from_slice(&counter.to_be_bytes());
        let start = out.len();
        out.extend_from_slice(plaintext);
        let tag = self
            .cipher
            .encrypt_in_place_detached(&nonce_for(counter), aad, &mut out[start..])
            // aes-gcm refuses only plaintexts above 64 GiB; ours are bounded by the message limit.
            .expect("plaintext below the AES-GCM length limit");
        out.extend_from_slice(&tag);
        Ok(())
    }

    /// Messages sealed so far.
    pub fn sealed_count(&self) -> u64 {
        self.next_counter
    }
}

/// Opens incoming messages and rejects replays within a sliding window.
pub struct Opener {
    cipher: Aes256Gcm,
    /// Highest counter opened so far plus one (0: none yet).
    highest_plus_one: u64,
    /// Bit i of the window: counter `highest - i` was seen.
    window: [u64; REPLAY_WORDS],
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opener")
            .field("highest_plus_one", &self.highest_plus_one)
            .finish()
    }
}

impl Opener {
    /// An opener for a raw 256-bit key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(key.into()),
            highest_plus_one: 0,
            window: [0; REPLAY_WORDS],
        }
    }

    /// Verifies and decrypts `sealed` in place and returns the plaintext,
    /// a sub-slice of `sealed`. Rejects tampering, wrong keys and replays.
    pub fn open<'a>(&mut self, aad: &[u8], sealed: &'a mut [u8]) -> Result<&'a [u8], CryptoError> {
        if sealed.len() < SEAL_OVERHEAD {
            return Err(CryptoError::Truncated(sealed.len()));
        }
        let (counter_bytes, rest) = sealed.split_at_mut(COUNTER_LEN);
        let counter = u64::from_be_bytes(counter_bytes.try_into().expect("split at 8"));
        if !self.is_fresh(counter) {
            return Err(CryptoError::Replayed(counter));
        }
        let body_len = rest.len() - TAG_LEN;
        let (body, tag) = rest.split_at_mut(body_len);
        let tag = Tag::clone_from_slice(tag);
        self.cipher
            .decrypt_in_place_detached(&nonce_for(counter), aad, body, &tag)
            .map_err(|_| CryptoError::AuthenticationFailed)?;
        self.mark_seen(counter);
        Ok(&sealed[COUNTER_LEN..COUNTER_LEN + body_len])
    }

    fn is_fresh(&self, counter: u64) -> bool {
        if counter >= self.highest_plus_one {
            return true;
        }
        let age = self.highest_plus_one - 1 - counter;
        if age >= REPLAY_WINDOW {
            return false;
        }
        self.window[(age / 64) as usize] & (1 << (age % 64)) == 0
    }

    fn mark_seen(&mut self, counter: u64) {
        if counter >= self.highest_plus_one {
            let shift = counter + 1 - self.highest_plus_one;
            self.shift_window(shift);
            self.highest_plus_one = counter + 1;
            self.window[0] |= 1;
        } else {
            let age = self.highest_plus_one - 1 - counter;
            self.window[(age / 64) as usize] |= 1 << (age % 64);
        }
    }

    /// Ages every bit by `shift` positions (bit i moves to i + shift).
    fn shift_window(&mut self, shift: u64) {
        if shift >= REPLAY_WINDOW {
            self.window = [0; REPLAY_WORDS];
            return;
        }
        let words = (shift / 64) as usize;
        let bits = (shift % 64) as u32;
        for i in (0..REPLAY_WORDS).rev() {
            let source = i.checked_sub(words);
            let high = source.map_or(0, |s| self.window[s]);
            let low = source
                .and_then(|s| s.checked_sub(1))
                .map_or(0, |s| self.window[s]);
            self.window[i] = if bits == 0 {
                high
            } else {
                (high << bits) | (low >> (64 - bits))
            };
        }
    }
}

fn nonce_for(counter: u64) -> GcmNonce {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&counter.to_be_bytes());
    *GcmNonce::from_slice(&nonce)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn pair() -> (SessionKeys, SessionKeys) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let client = KeyExchange::new(&mut rng);
        let server = KeyExchange::new(&mut rng);
        let (client_public, server_public) = (client.public_key(), server.public_key());
        let client_keys = client.finish(&server_public, Role::Client, b"ctx").unwrap();
        let server_keys = server.finish(&client_public, Role::Server, b"ctx").unwrap();
        (client_keys, server_keys)
    }

    #[test]
    fn round_trip_both_directions() {
        let (mut client, mut server) = pair();
        let mut wire = Vec::new();
        client
            .sealer
            .seal(b"hdr", b"hello server", &mut wire)
            .unwrap();
        assert_eq!(wire.len(), 12 + SEAL_OVERHEAD);
        assert!(
            !wire.windows(5).any(|w| w == b"hello"),
            "plaintext visible on the wire"
        );
        assert_eq!(
            server.opener.open(b"hdr", &mut wire).unwrap(),
            b"hello server"
        );
        let mut back = Vec::new();
        server.sealer.seal(b"", b"hi", &mut back).unwrap();
        assert_eq!(client.opener.open(b"", &mut back).unwrap(), b"hi");
    }

    #[test]
    fn tampered_byte_header_or_reflection_rejected() {
        let (mut client, mut server) = pair();
        let mut wire = Vec::new();
        client.sealer.seal(b"hdr", b"payload", &mut wire).unwrap();
        for index in 0..wire.len() {
            let mut copy = wire.clone();
            copy[index] ^= 0x01;
            assert!(
                server.opener.open(b"hdr", &mut copy).is_err(),
                "flip at {index} accepted"
            );
        }
        let mut copy = wire.clone();
        assert_eq!(
            server.opener.open(b"HDR", &mut copy),
            Err(CryptoError::AuthenticationFailed)
        );
        // Reflected back to the sender: its opener uses the other direction's key.
        let mut copy = wire.clone();
        assert_eq!(
            client.opener.open(b"hdr", &mut copy),
            Err(CryptoError::AuthenticationFailed)
        );
        assert!(server.opener.open(b"hdr", &mut wire).is_ok());
    }

    #[test]
    fn wrong_key_fails() {
        let (mut client, _) = pair();
        let (_, mut other_server) = {
            let mut rng = rand::rngs::StdRng::seed_from_u64(99);
            let a = KeyExchange::new(&mut rng);
            let b = KeyExchange::new(&mut rng);
            let (ap, bp) = (a.public_key(), b.public_key());
            (
                a.finish(&bp, Role::Client, b"ctx").unwrap(),
                b.finish(&ap, Role::Server, b"ctx").unwrap(),
            )
        };
        let mut wire = Vec::new();
        client.sealer.seal(b"", b"secret", &mut wire).unwrap();
        assert_eq!(
            other_server.opener.open(b"", &mut wire),
            Err(CryptoError::AuthenticationFailed)
        );
    }

    #[test]
    fn replay_and_window() {
        let (mut client, mut server) = pair();
        let mut sealed: Vec<Vec<u8>> = (0..2000)
            .map(|i| {
                let mut wire = Vec::new();
                client.sealer.seal(b"", &[i as u8], &mut wire).unwrap();
                wire
            })
            .collect();
        // Out of order within the window is fine, once.
        let mut m5 = sealed[5].clone();
        let mut m3 = sealed[3].clone();
        assert!(server.opener.open(b"", &mut m5).is_ok());
        assert!(server.opener.open(b"", &mut m3).is_ok());
        let mut again = sealed[3].clone();
        assert_eq!(
            server.opener.open(b"", &mut again),
            Err(CryptoError::Replayed(3))
        );
        // Jump far ahead: older than the window is refused, unseen recent ones open.
        assert!(server.opener.open(b"", &mut sealed[1999]).is_ok());
        assert_eq!(
            server.opener.open(b"", &mut sealed[4]),
            Err(CryptoError::Replayed(4))
        );
        assert!(server.opener.open(b"", &mut sealed[1990].clone()).is_ok());
        assert_eq!(
            server.opener.open(b"", &mut sealed[1990]),
            Err(CryptoError::Replayed(1990))
        );
        assert!(server.opener.open(b"", &mut sealed[1998].clone()).is_ok());
        assert_eq!(
            server.opener.open(b"", &mut sealed[1998]),
            Err(CryptoError::Replayed(1998))
        );
    }

    #[test]
    fn truncated_and_low_order_key() {
        let (_, mut server) = pair();
        let mut short = vec![0u8; SEAL_OVERHEAD - 1];
        assert_eq!(
            server.opener.open(b"", &mut short),
            Err(CryptoError::Truncated(SEAL_OVERHEAD - 1))
        );
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let exchange = KeyExchange::new(&mut rng);
        assert_eq!(
            exchange.finish(&[0u8; 32], Role::Client, b"").unwrap_err(),
            CryptoError::InvalidPublicKey
        );
    }
}
