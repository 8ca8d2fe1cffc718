//! Round-trip time estimation and resend timeout (RFC 6298, Karn's rule is
//! applied by the caller: only commands sent once give samples).

use std::time::Duration;

/// Smoothed RTT and its mean deviation.
#[derive(Debug, Clone, Default)]
pub(super) struct RttEstimator {
    smoothed: Option<Duration>,
    variance: Duration,
}

impl RttEstimator {
    /// Folds one sample in.
    pub(super) fn sample(&mut self, rtt: Duration) {
        match self.smoothed {
            None => {
                self.smoothed = Some(rtt);
                self.variance = rtt / 2;
            }
            Some(smoothed) => {
                let deviation = smoothed.abs_diff(rtt);
                self.variance = (self.variance * 3 + deviation) / 4;
                self.smoothed = Some((smoothed * 7 + rtt) / 8);
            }
        }
    }

    /// Smoothed RTT (zero before the first sample).
    pub(super) fn smoothed(&self) -> Duration {
        self.smoothed.unwrap_or_default()
    }

    /// Mean deviation.
    pub(super) fn variance(&self) -> Duration {
        self.variance
    }

    /// First resend timeout: `srtt + 4 * rttvar`, clamped to `[min, max_initial]`;
    /// `max_initial` before any sample.
    pub(super) fn resend_timeout(&self, min: Duration, max_initial: Duration) -> Duration {
        match self.smoothed {
            None => max_initial.max(min),
            Some(smoothed) => (smoothed + self.variance * 4).clamp(min, max_initial.max(min)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_rfc6298() {
        let mut rtt = RttEstimator::default();
        let (min, max) = (Duration::from_millis(50), Duration::from_millis(400));
        assert_eq!(rtt.resend_timeout(min, max), max);
        rtt.sample(Duration::from_millis(100));
        assert_eq!(rtt.smoothed(), Duration::from_millis(100));
        assert_eq!(rtt.variance(), Duration::from_millis(50));
        assert_eq!(rtt.resend_timeout(min, max), Duration::from_millis(300));
        for _ in 0..200 {
            rtt.sample(Duration::from_millis(10));
        }
        assert_eq!(rtt.resend_timeout(min, max), min);
    }
}
