//! Per-peer rate limits: token buckets for operations and bytes per second.
//! Integer arithmetic on the `now` passed in; no timers (a bucket refills
//! lazily when the next message arrives).

use crate::config::LimitsConfig;
use std::time::Instant;

/// A token bucket: `rate` tokens per second, at most `burst` stored.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Tokens in millitokens (1/1000), to refill smoothly with integers.
    milli: u64,
    rate: u64,
    burst_milli: u64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(now: Instant, rate: u32, burst: u32) -> Self {
        let burst_milli = u64::from(burst.max(rate)) * 1000;
        Self {
            milli: burst_milli,
            rate: rate.into(),
            burst_milli,
            last: now,
        }
    }

    /// Takes `amount` tokens if available.
    pub fn try_take(&mut self, now: Instant, amount: u64) -> bool {
        if let Some(elapsed) = now.checked_duration_since(self.last) {
            let refill = (elapsed.as_micros() as u64).saturating_mul(self.rate) / 1000;
            if refill > 0 {
                self.milli = (self.milli + refill).min(self.burst_milli);
                self.last = now;
            }
        }
        let need = amount.saturating_mul(1000);
        if self.milli >= need {
            self.milli -= need;
            true
        } else {
            false
        }
    }
}

/// What to do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limits.
    Allow,
    /// Over a limit: drop it, answer OperationLimitReached if `notify`.
    Refuse {
        /// True at most once per second: answer with an error.
        notify: bool,
    },
    /// Over the limits for too long: answer, then disconnect.
    Disconnect,
}

/// The limits of one peer.
#[derive(Debug, Clone)]
pub struct PeerLimiter {
    operations: TokenBucket,
    bytes: TokenBucket,
    violations_in_a_row: u32,
    last_notice: Option<Instant>,
}

impl PeerLimiter {
    /// Full buckets from the configuration.
    pub fn new(now: Instant, config: &LimitsConfig) -> Self {
        Self {
            operations: TokenBucket::new(
                now,
                config.operations_per_second,
                config.operations_burst,
            ),
            bytes: TokenBucket::new(now, config.bytes_per_second, config.bytes_burst),
            violations_in_a_row: 0,
            last_notice: None,
        }
    }

    /// Accounts one message of `size` bytes.
    pub fn check(&mut self, now: Instant, size: usize, config: &LimitsConfig) -> Verdict {
        let ok_ops = self.operations.try_take(now, 1);
        let ok_bytes = ok_ops && self.bytes.try_take(now, size as u64);
        if ok_ops && ok_bytes {
            self.violations_in_a_row = 0;
            return Verdict::Allow;
        }
        self.violations_in_a_row += 1;
        if self.violations_in_a_row >= config.violations_before_disconnect {
            return Verdict::Disconnect;
        }
        let notify = match self.last_notice {
            None => true,
            Some(t) => now.saturating_duration_since(t).as_secs() >= 1,
        };
        if notify {
            self.last_notice = Some(now);
        }
        Verdict::Refuse { notify }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_refills_at_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(t0, 10, 20);
        for _ in 0..20 {
            assert!(b.try_take(t0, 1));
        }
        assert!(!b.try_take(t0, 1));
        assert!(!b.try_take(t0 + Duration::from_millis(50), 1));
        assert!(b.try_take(t0 + Duration::from_millis(100), 1));
        assert!(!b.try_take(t0 + Duration::from_millis(100), 1));
        // Never more than the burst.
        let later = t0 + Duration::from_secs(100);
        for _ in 0..20 {
            assert!(b.try_take(later, 1));
        }
        assert!(!b.try_take(later, 1));
    }

    #[test]
    fn limiter_refuses_then_disconnects() {
        let config = LimitsConfig {
            operations_per_second: 5,
            operations_burst: 5,
            violations_before_disconnect: 3,
            ..LimitsConfig::default()
        };
        let t0 = Instant::now();
        let mut l = PeerLimiter::new(t0, &config);
        for _ in 0..5 {
            assert_eq!(l.check(t0, 10, &config), Verdict::Allow);
        }
        assert_eq!(l.check(t0, 10, &config), Verdict::Refuse { notify: true });
        assert_eq!(l.check(t0, 10, &config), Verdict::Refuse { notify: false });
        assert_eq!(l.check(t0, 10, &config), Verdict::Disconnect);
    }

    #[test]
    fn bytes_limit() {
        let config = LimitsConfig {
            bytes_per_second: 1000,
            bytes_burst: 1000,
            ..LimitsConfig::default()
        };
        let t0 = Instant::now();
        let mut l = PeerLimiter::new(t0, &config);
        assert_eq!(l.check(t0, 900, &config), Verdict::Allow);
        assert!(matches!(l.check(t0, 200, &config), Verdict::Refuse { .. }));
        assert_eq!(
            l.check(t0 + Duration::from_millis(200), 200, &config),
            Verdict::Allow
        );
    }
}
