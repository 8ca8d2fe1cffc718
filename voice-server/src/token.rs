//! Authentication tokens: sealed with AES-256-GCM under a key derived (HKDF-SHA256)
//! from the deployment secret, with a random 96-bit nonce. Clients cannot read
//! or forge them; every server of the deployment can open them.
//!
//! Wire format: `version (1) | nonce (12) | ciphertext | tag (16)`; the plaintext
//! is the JSON of [`TokenClaims`]; the version byte is authenticated data.
//!
//! Time: tokens carry wall-clock milliseconds since the Unix epoch (they travel
//! between processes). The logic never reads the clock: it converts its `now`
//! with a [`WallClock`] fixed at start-up (tests fix their own).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Format version byte.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Largest token accepted (a token is a few hundred bytes; custom data may add some).
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// What a token says about its holder. Readable only by servers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// User id (sent by the client, assigned by custom authentication, or generated).
    pub user_id: String,
    /// Application id.
    pub app_id: String,
    /// Application version.
    pub app_version: String,
    /// The authentication values the client sent (query string), if any.
    #[serde(default)]
    pub auth_values: String,
    /// Issue time, ms since the Unix epoch.
    pub issued_ms: u64,
    /// Expiry time, ms since the Unix epoch.
    pub expires_ms: u64,
    /// Custom data injected at authentication (custom auth's `Data`), for
    /// server-side code. `null` when none.
    #[serde(default)]
    pub data: serde_json::Value,
}

impl TokenClaims {
    /// The same claims re-issued at `now_ms` for `lifetime`.
    pub fn refreshed(&self, now_ms: u64, lifetime: Duration) -> Self {
        Self {
            issued_ms: now_ms,
            expires_ms: now_ms.saturating_add(lifetime.as_millis() as u64),
            ..self.clone()
        }
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a token of this format (wrong length or version).
    #[error("the token is malformed; authenticate at the name server to get a new one")]
    Malformed,
    /// Authentication failed: tampered with, or sealed with another secret.
    #[error("the token is forged or from another deployment (wrong secret); authenticate at the name server")]
    Forged,
    /// The token expired.
    #[error("the token expired {0} ms ago; authenticate again at the name server")]
    Expired(u64),
}

/// The key sealing and opening tokens.
#[derive(Clone)]
pub struct TokenKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// Derives the key from the deployment secret.
    pub fn from_secret(secret: &str) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(b"voice-server token v1"), secret.as_bytes());
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8160-byte output limit.
        hk.expand(b"aes-256-gcm token key", &mut key)
            .expect("32-byte HKDF output is valid");
        Self {
            cipher: Aes256Gcm::new(&key.into()),
        }
    }

    /// A random key (a random secret per process).
    pub fn random() -> Self {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let text: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        Self::from_secret(&text)
    }

    /// Seals claims into an opaque token.
    pub fn seal(&self, claims: &TokenClaims) -> Vec<u8> {
        // serde_json cannot fail on these plain types.
        let plain = serde_json::to_vec(claims).expect("claims serialize");
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encryption fails only for plaintexts above 64 GiB.
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: &[VERSION],
                },
            )
            .expect("AES-GCM encryption of a small token");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a token and checks its expiry against `now_ms`.
    pub fn open(&self, token: &[u8], now_ms: u64) -> Result<TokenClaims, TokenError> {
        let claims = self.open_ignoring_expiry(token)?;
        if now_ms >= claims.expires_ms {
            return Err(TokenError::Expired(now_ms - claims.expires_ms));
        }
        Ok(claims)
    }

    /// Opens a token without checking expiry.
    pub fn open_ignoring_expiry(&self, token: &[u8]) -> Result<TokenClaims, TokenError> {
        if token.len() < 1 + NONCE_LEN + TAG_LEN
            || token.len() > MAX_TOKEN_LEN
            || token[0] != VERSION
        {
            return Err(TokenError::Malformed);
        }
        let (nonce, sealed) = token[1..].split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &[VERSION],
                },
            )
            .map_err(|_| TokenError::Forged)?;
        serde_json::from_slice(&plain).map_err(|_| TokenError::Malformed)
    }
}

/// Maps the logic's monotonic `now` to wall-clock milliseconds, from one
/// reading taken at start-up (or fixed by tests).
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    base_instant: Instant,
    base_unix_ms: u64,
}

impl WallClock {
    /// Reads the system clock once.
    pub fn system() -> Self {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            base_instant: Instant::now(),
            base_unix_ms: unix.as_millis() as u64,
        }
    }
    /// A clock where `base_instant` is `base_unix_ms` (tests).
    pub fn fixed(base_instant: Instant, base_unix_ms: u64) -> Self {
        Self {
            base_instant,
            base_unix_ms,
        }
    }
    /// Wall-clock milliseconds at `now`.
    pub fn unix_ms(&self, now: Instant) -> u64 {
        match now.checked_duration_since(self.base_instant) {
            Some(d) => self.base_unix_ms + d.as_millis() as u64,
            None => self
                .base_unix_ms
                .saturating_sub(self.base_instant.duration_since(now).as_millis() as u64),
        }
    }
}

/// Wall-clock time as the logic sees it: injectable so that tests control it.
pub trait UnixClock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since the Unix epoch at the logic's `now`.
    fn unix_ms(&self, now: Instant) -> u64;
}

impl UnixClock for WallClock {
    fn unix_ms(&self, now: Instant) -> u64 {
        WallClock::unix_ms(self, now)
    }
}

/// A [`WallClock`] that tests can move forward (token expiry without waiting).
#[derive(Debug)]
pub struct OffsetClock {
    inner: WallClock,
    offset_ms: std::sync::atomic::AtomicU64,
}

impl OffsetClock {
    /// The system clock, not yet moved.
    pub fn system() -> Self {
        Self {
            inner: WallClock::system(),
            offset_ms: 0.into(),
        }
    }
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.as_millis() as u64, std::sync::atomic::Ordering::SeqCst);
    }
}

impl UnixClock for OffsetClock {
    fn unix_ms(&self, now: Instant) -> u64 {
        self.inner.unix_ms(now) + self.offset_ms.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> TokenClaims {
        TokenClaims {
            user_id: "alice".into(),
            app_id: "app".into(),
            app_version: "1.0".into(),
            auth_values: "user=alice&pass=x".into(),
            issued_ms: 1_000_000,
            expires_ms: 1_000_000 + 3_600_000,
            data: serde_json::json!({"team": "blue", "level": 7}),
        }
    }

    #[test]
    fn round_trip_keeps_custom_data() {
        let key = TokenKey::from_secret("a deployment secret of some length");
        let token = key.seal(&claims());
        let opened = key.open(&token, 1_000_001).unwrap();
        assert_eq!(opened, claims());
        assert_eq!(opened.data["team"], "blue");
        // Two seals of the same claims differ (random nonce) and are unreadable.
        let again = key.seal(&claims());
        assert_ne!(token, again);
        assert!(!token.windows(5).any(|w| w == b"alice"));
    }

    #[test]
    fn tampering_is_detected_at_every_byte() {
        let key = TokenKey::from_secret("a deployment secret of some length");
        let token = key.seal(&claims());
        for i in 0..token.len() {
            let mut bad = token.clone();
            bad[i] ^= 0x01;
            let result = key.open(&bad, 1_000_001);
            assert!(
                matches!(result, Err(TokenError::Forged | TokenError::Malformed)),
                "byte {i}: {result:?}"
            );
        }
        assert_eq!(key.open(&token[..10], 0), Err(TokenError::Malformed));
        assert_eq!(key.open(b"", 0), Err(TokenError::Malformed));
    }

    #[test]
    fn wrong_secret_is_refused() {
        let token = TokenKey::from_secret("secret number one, long").seal(&claims());
        let other = TokenKey::from_secret("secret number two, long");
        assert_eq!(other.open(&token, 1_000_001), Err(TokenError::Forged));
    }

    #[test]
    fn expiry() {
        let key = TokenKey::from_secret("a deployment secret of some length");
        let token = key.seal(&claims());
        let expires = claims().expires_ms;
        assert!(key.open(&token, expires - 1).is_ok());
        assert_eq!(key.open(&token, expires), Err(TokenError::Expired(0)));
        assert_eq!(key.open(&token, expires + 5), Err(TokenError::Expired(5)));
        let refreshed = claims().refreshed(expires, Duration::from_secs(60));
        let token = key.seal(&refreshed);
        assert!(key.open(&token, expires + 59_999).is_ok());
        assert_eq!(refreshed.data, claims().data);
    }

    #[test]
    fn wall_clock_follows_now() {
        let base = Instant::now();
        let clock = WallClock::fixed(base, 5_000);
        assert_eq!(clock.unix_ms(base), 5_000);
        assert_eq!(clock.unix_ms(base + Duration::from_millis(1500)), 6_500);
    }
}
