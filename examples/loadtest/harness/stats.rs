//! Counters and latency histograms shared by every bot (atomics, no locks), and
//! the summary computed from them at the end.
//!
//! Latencies go into log-linear histograms (32 sub-buckets per power of two,
//! about 3 % relative precision, exact below 64 µs): recording is two relaxed
//! atomic additions and one `fetch_max`, with no allocation. One histogram per
//! second of the measured window (indexed by the frame's send time) gives the
//! latency over time; merging them gives the whole window.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Sub-buckets per power of two, as a bit count (32 sub-buckets).
const SUB_BITS: u32 = 5;
const SUB_COUNT: u64 = 1 << SUB_BITS;
/// Values are clamped to 2^40 µs (about 12 days), far above any timeout.
const MAX_EXPONENT: u32 = 40 - SUB_BITS - 1;
/// Number of buckets: the exact range 0..64 plus 32 per exponent.
const BUCKETS: usize = (SUB_COUNT * (MAX_EXPONENT as u64 + 2)) as usize;

/// Bucket of a value (µs).
fn bucket_of(value: u64) -> usize {
    if value < 2 * SUB_COUNT {
        return value as usize;
    }
    let msb = 63 - value.leading_zeros();
    let exponent = (msb - SUB_BITS).min(MAX_EXPONENT);
    let mantissa = (value >> exponent).min(2 * SUB_COUNT - 1);
    (SUB_COUNT * u64::from(exponent) + mantissa) as usize
}

/// The middle of a bucket's range (µs): what a percentile reports.
fn bucket_middle(index: usize) -> f64 {
    let index = index as u64;
    if index < 2 * SUB_COUNT {
        return index as f64;
    }
    let exponent = index / SUB_COUNT - 1;
    let mantissa = index - SUB_COUNT * exponent;
    let low = mantissa << exponent;
    let width = 1u64 << exponent;
    low as f64 + (width as f64 - 1.0) / 2.0
}

/// A latency histogram in microseconds that many threads record into.
#[derive(Debug)]
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    sum: AtomicU64,
    max: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Records one value (µs). Allocation-free and lock-free.
    pub fn record(&self, micros: u64) {
        self.buckets[bucket_of(micros)].fetch_add(1, Relaxed);
        self.count.fetch_add(1, Relaxed);
        self.sum.fetch_add(micros, Relaxed);
        self.max.fetch_max(micros, Relaxed);
    }

    /// A plain copy to compute percentiles on.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            buckets: self.buckets.iter().map(|b| b.load(Relaxed)).collect(),
            count: self.count.load(Relaxed),
            sum: self.sum.load(Relaxed),
            max: self.max.load(Relaxed),
        }
    }
}

/// A non-atomic copy of a [`Histogram`].
#[derive(Debug, Clone)]
pub struct Snapshot {
    buckets: Vec<u64>,
    /// Values recorded.
    pub count: u64,
    sum: u64,
    /// Largest value (µs), exact.
    pub max: u64,
}

impl Default for Snapshot {
    fn default() -> Self {
        Self {
            buckets: vec![0; BUCKETS],
            count: 0,
            sum: 0,
            max: 0,
        }
    }
}

impl Snapshot {
    /// Adds another snapshot into this one.
    pub fn merge(&mut self, other: &Snapshot) {
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }

    /// The value (µs) below which `quantile` (0..=1) of the values lie; None
    /// when empty. Never above the exact maximum.
    pub fn percentile(&self, quantile: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((quantile.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(bucket_middle(index).min(self.max as f64));
            }
        }
        Some(self.max as f64)
    }

    /// The mean (µs); None when empty.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// p50/p95/p99/max in milliseconds.
    pub fn latency_ms(&self) -> LatencyMs {
        let ms = |v: Option<f64>| v.map(|us| (us / 1000.0 * 1000.0).round() / 1000.0);
        LatencyMs {
            p50: ms(self.percentile(0.50)),
            p95: ms(self.percentile(0.95)),
            p99: ms(self.percentile(0.99)),
            max: ms((self.count > 0).then_some(self.max as f64)),
            mean: ms(self.mean()),
        }
    }
}

/// Latency percentiles in milliseconds (null when nothing was received).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct LatencyMs {
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Largest.
    pub max: Option<f64>,
    /// Mean.
    pub mean: Option<f64>,
}

/// Counters every bot adds to (relaxed atomics).
#[derive(Debug, Default)]
pub struct Counters {
    /// Bots through the whole flow (joined their room).
    pub connected: AtomicU64,
    /// Bots that failed the flow after every retry.
    pub connect_failures: AtomicU64,
    /// Frames sent in the measured window.
    pub frames_sent: AtomicU64,
    /// Frames sent during the warm-up (not counted).
    pub warmup_frames_sent: AtomicU64,
    /// Sum over frames sent in the window of the other clients in the room.
    pub frames_expected: AtomicU64,
    /// Distinct (sender, seq) frames received per listener, sent in the window.
    pub frames_delivered: AtomicU64,
    /// Frames received again by the same listener (ignored).
    pub duplicates: AtomicU64,
    /// Frames that do not belong to the listener's room or are malformed.
    pub foreign_frames: AtomicU64,
    /// Frames received unencrypted although `--encrypt` was given.
    pub unencrypted_frames: AtomicU64,
    /// Sends the client refused (queue full, not connected).
    pub send_errors: AtomicU64,
    /// Bots disconnected during the run.
    pub disconnects: AtomicU64,
}

/// Everything recorded during a run.
#[derive(Debug)]
pub struct Recorder {
    /// Totals.
    pub counters: Counters,
    /// Latency per second of the measured window (by send time).
    pub per_second: Vec<Histogram>,
    /// Frames delivered per second of the window (by send time).
    pub delivered_per_second: Vec<AtomicU64>,
    /// Frames sent per second of the window.
    pub sent_per_second: Vec<AtomicU64>,
    /// How late senders woke up after their deadline (µs), window only.
    pub send_lag: Histogram,
}

impl Recorder {
    /// A recorder for a window of `seconds` (rounded up).
    pub fn new(seconds: usize) -> Self {
        let seconds = seconds.max(1);
        Self {
            counters: Counters::default(),
            per_second: (0..seconds).map(|_| Histogram::default()).collect(),
            delivered_per_second: (0..seconds).map(|_| AtomicU64::new(0)).collect(),
            sent_per_second: (0..seconds).map(|_| AtomicU64::new(0)).collect(),
            send_lag: Histogram::default(),
        }
    }

    /// The second slot of an offset (ns) from the window's start.
    pub fn slot(&self, offset_ns: u64) -> usize {
        ((offset_ns / 1_000_000_000) as usize).min(self.per_second.len() - 1)
    }
}

/// Latency of one second of the window, for the plot and the JSON.
#[derive(Debug, Clone, Serialize)]
pub struct SecondStats {
    /// Seconds since the window started.
    pub second: usize,
    /// Frames sent in that second.
    pub sent: u64,
    /// Frames delivered that were sent in that second.
    pub delivered: u64,
    /// Latency of those frames.
    pub latency_ms: LatencyMs,
}

/// The result of a run: what `--json` writes.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Bots that joined their room.
    pub clients: u64,
    /// Bots asked for (rooms × clients per room).
    pub clients_requested: u64,
    /// Rooms.
    pub rooms: u64,
    /// Speaking bots that joined.
    pub speakers: u64,
    /// Protocol used.
    pub protocol: String,
    /// Whether frames were encrypted.
    pub encrypt: bool,
    /// Frame interval (ms).
    pub frame_ms: u64,
    /// Payload size (bytes).
    pub payload_bytes: usize,
    /// The `--voice` WAV file whose Opus frames were sent, if any.
    pub voice: Option<String>,
    /// Mean payload bytes of those frames (frame header + Opus packet).
    pub voice_payload_mean_bytes: Option<f64>,
    /// Warm-up (s), not counted.
    pub warmup_s: f64,
    /// Measured window (s).
    pub duration_s: f64,
    /// Seconds the connect phase took.
    pub connect_s: f64,
    /// Frames sent in the window.
    pub frames_sent: u64,
    /// Frames that should have been delivered.
    pub frames_expected: u64,
    /// Frames delivered (distinct per listener).
    pub frames_delivered: u64,
    /// delivered / expected (1 when nothing was expected).
    pub delivery_ratio: f64,
    /// Frames delivered per second of the window.
    pub delivered_per_second: f64,
    /// Frame latency (receive − send).
    pub latency_ms: LatencyMs,
    /// How late senders woke up after their deadline (harness overload shows here).
    pub send_lag_ms: LatencyMs,
    /// Bots that failed the flow.
    pub connect_failures: u64,
    /// The first few connect errors, for the operator.
    pub connect_errors: Vec<String>,
    /// Duplicates received (ignored).
    pub duplicates: u64,
    /// Frames from another room or malformed.
    pub foreign_frames: u64,
    /// Frames received unencrypted with `--encrypt`.
    pub unencrypted_frames: u64,
    /// Sends refused by the client.
    pub send_errors: u64,
    /// Bots disconnected during the run.
    pub disconnects: u64,
    /// Server CPU (user + system) in the window, with `--server-pid`.
    pub server_cpu_s: Option<f64>,
    /// Server CPU µs per delivered frame, with `--server-pid`.
    pub server_cpu_us_per_delivered_frame: Option<f64>,
    /// This process's CPU in the window.
    pub harness_cpu_s: Option<f64>,
    /// UDP datagrams the kernel dropped on full receive buffers in the window
    /// (`RcvbufErrors`, whole machine): loss before any process saw the frame.
    pub udp_receive_buffer_drops: Option<u64>,
    /// The delivery threshold.
    pub min_delivery: f64,
    /// True when the delivery ratio reached the threshold and every bot connected.
    pub passed: bool,
    /// Per second of the window.
    pub per_second: Vec<SecondStats>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_cover_their_value() {
        let mut last = 0;
        for v in (0..5000u64).chain([1 << 20, 1 << 30, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b >= last && b < BUCKETS, "{v} → {b}");
            last = b;
        }
    }

    #[test]
    fn percentiles_are_within_the_bucket_precision() {
        let h = Histogram::default();
        for v in 1..=10_000u64 {
            h.record(v);
        }
        let s = h.snapshot();
        assert_eq!(s.count, 10_000);
        assert_eq!(s.max, 10_000);
        for (q, want) in [(0.5, 5000.0), (0.95, 9500.0), (0.99, 9900.0)] {
            let got = s.percentile(q).unwrap();
            assert!((got - want).abs() / want < 0.035, "p{q}: {got} vs {want}");
        }
        assert_eq!(s.percentile(1.0), Some(10_000.0));
        assert_eq!(Snapshot::default().percentile(0.5), None);
        let mut merged = Snapshot::default();
        merged.merge(&s);
        merged.merge(&s);
        assert_eq!(merged.count, 20_000);
        assert_eq!(merged.percentile(0.5), s.percentile(0.5));
    }
}
