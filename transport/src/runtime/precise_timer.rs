//! The drivers' one timer, with microsecond precision on Linux.
//!
//! tokio's timer wheel ticks once a millisecond and rounds every deadline up
//! to the next tick, so a deadline 250 µs away fires 0.25 to 1.25 ms late.
//! That is fine for resends and pings but not for the flush window, which is
//! meant to hold a voice frame for a few hundred microseconds at most. On
//! Linux the timer is a `timerfd` (CLOCK_MONOTONIC, nanosecond resolution)
//! registered with tokio's reactor; elsewhere, or if the kernel refuses a
//! timerfd, it falls back to `tokio::time::Sleep`.

use std::pin::Pin;
use std::time::{Duration, Instant};

/// A resettable one-shot timer.
pub(crate) struct PreciseTimer {
    inner: Inner,
}

enum Inner {
    #[cfg(target_os = "linux")]
    TimerFd(tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>),
    Tokio(Pin<Box<tokio::time::Sleep>>),
}

impl PreciseTimer {
    /// A disarmed timer (call [`PreciseTimer::reset`] before waiting).
    pub(crate) fn new() -> Self {
        #[cfg(target_os = "linux")]
        if let Some(fd) = timerfd() {
            return Self {
                inner: Inner::TimerFd(fd),
            };
        }
        Self::coarse()
    }

    /// The millisecond tokio timer (fallback, and for comparison in tests).
    pub(crate) fn coarse() -> Self {
        Self {
            inner: Inner::Tokio(Box::pin(tokio::time::sleep(Duration::from_secs(3600)))),
        }
    }

    /// Arms the timer for `deadline` (a past deadline fires at once).
    pub(crate) fn reset(&mut self, deadline: Instant) {
        match &mut self.inner {
            #[cfg(target_os = "linux")]
            Inner::TimerFd(fd) => {
                use rustix::time::{timerfd_settime, Itimerspec, TimerfdTimerFlags, Timespec};
                // A zero value disarms a timerfd: wait at least a nanosecond.
                let wait = deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_nanos(1));
                let value = Itimerspec {
                    it_interval: Timespec {
                        tv_sec: 0,
                        tv_nsec: 0,
                    },
                    it_value: Timespec {
                        tv_sec: wait.as_secs().min(i64::MAX as u64) as _,
                        tv_nsec: wait.subsec_nanos() as _,
                    },
                };
                if let Err(e) = timerfd_settime(fd.get_ref(), TimerfdTimerFlags::empty(), &value) {
                    tracing::warn!(%e, "timerfd_settime failed; using the millisecond timer");
                    *self = Self::coarse();
                    self.reset(deadline);
                }
            }
            Inner::Tokio(sleep) => sleep
                .as_mut()
                .reset(tokio::time::Instant::from_std(deadline)),
        }
    }

    /// Completes when the armed deadline has passed. Cancel-safe: dropping the
    /// future leaves the timer armed.
    pub(crate) async fn wait(&mut self) {
        match &mut self.inner {
            #[cfg(target_os = "linux")]
            Inner::TimerFd(fd) => loop {
                let Ok(mut guard) = fd.readable().await else {
                    return std::future::pending().await;
                };
                let mut expirations = [0u8; 8];
                match rustix::io::read(guard.get_inner(), &mut expirations) {
                    Ok(_) => return,
                    // Readiness left over from before the last reset.
                    Err(rustix::io::Errno::AGAIN) => guard.clear_ready(),
                    Err(_) => return std::future::pending().await,
                }
            },
            Inner::Tokio(sleep) => sleep.as_mut().await,
        }
    }
}

#[cfg(target_os = "linux")]
fn timerfd() -> Option<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>> {
    use rustix::time::{timerfd_create, TimerfdClockId, TimerfdFlags};
    let fd = timerfd_create(
        TimerfdClockId::Monotonic,
        TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
    )
    .ok()?;
    // Deprecated in favour of an `unsafe` constructor because a type could
    // hand out a different descriptor later; an `OwnedFd` owned by the
    // `AsyncFd` cannot, so the safe form is sound here.
    #[allow(deprecated)]
    let fd = tokio::io::unix::AsyncFd::with_interest(fd, tokio::io::Interest::READABLE);
    fd.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Median lateness of `rounds` waits for a deadline `ahead` in the future.
    async fn median_lateness(timer: &mut PreciseTimer, ahead: Duration, rounds: usize) -> Duration {
        let mut late = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let deadline = Instant::now() + ahead;
            timer.reset(deadline);
            timer.wait().await;
            let now = Instant::now();
            assert!(now >= deadline, "never early");
            late.push(now - deadline);
        }
        late.sort();
        late[rounds / 2]
    }

    #[tokio::test]
    async fn fires_after_the_deadline_and_resets_cleanly() {
        let mut timer = PreciseTimer::new();
        // A deadline in the past fires at once.
        timer.reset(Instant::now() - Duration::from_millis(5));
        tokio::time::timeout(Duration::from_secs(1), timer.wait())
            .await
            .expect("a past deadline fires");
        // Re-armed later: a stale readiness does not make it fire early.
        let deadline = Instant::now() + Duration::from_millis(20);
        timer.reset(deadline);
        timer.wait().await;
        assert!(Instant::now() >= deadline);
        // Dropping a wait leaves it armed.
        timer.reset(Instant::now() + Duration::from_millis(10));
        let _ = tokio::time::timeout(Duration::from_millis(1), timer.wait()).await;
        tokio::time::timeout(Duration::from_secs(1), timer.wait())
            .await
            .expect("still armed after a cancelled wait");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn linux_uses_a_timerfd_and_it_is_never_early() {
        let mut precise = PreciseTimer::new();
        assert!(
            matches!(precise.inner, Inner::TimerFd(_)),
            "timerfd available"
        );
        let mut coarse = PreciseTimer::coarse();
        let ahead = Duration::from_micros(200);
        let precise_late = median_lateness(&mut precise, ahead, 51).await;
        let coarse_late = median_lateness(&mut coarse, ahead, 51).await;
        // Printed, not asserted (no wall-clock speed in tests): typically a
        // few tens of µs for the timerfd against up to a millisecond for tokio.
        println!("median lateness for a {ahead:?} deadline: timerfd {precise_late:?}, tokio {coarse_late:?}");
    }
}
