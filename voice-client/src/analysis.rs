//! Signal comparison used by the tests, the benches' sanity checks and the
//! `voice-pipeline` binary: delay-aligned correlation between a reference and
//! a degraded signal, robust to a delay that changes over time (jitter buffer
//! stretches and drops).

use crate::audio::StreamResampler;
use crate::error::AudioError;

/// Result of [`compare`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// Delay of the degraded signal in reference samples (positive: later).
    pub lag: i64,
    /// Pearson correlation over the whole signal at that single delay.
    pub global: f64,
    /// Energy-weighted mean of per-segment correlations (250 ms segments,
    /// each re-aligned within ±60 ms of the global delay), at 8 kHz.
    pub segmental: f64,
}

/// Resamples a whole mono signal (helper for files and tests), compensating
/// the resampler's delay.
pub fn resample_all(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioError> {
    if from == to {
        return Ok(samples.to_vec());
    }
    let mut resampler = StreamResampler::new(from, to, 1)?;
    let delay = resampler.delay_frames();
    resampler.push(samples)?;
    // Flush the filter with silence.
    let tail = vec![0.0; from as usize / 5];
    resampler.push(&tail)?;
    let mut out = vec![0.0; resampler.available()];
    let n = resampler.pop(&mut out);
    out.truncate(n);
    let wanted = (samples.len() as u64 * to as u64 / from as u64) as usize;
    Ok(out.into_iter().skip(delay).take(wanted).collect())
}

fn decimate(signal: &[f32], factor: usize) -> Vec<f32> {
    signal
        .chunks(factor.max(1))
        .map(|c| c.iter().sum::<f32>() / c.len() as f32)
        .collect()
}

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    if n == 0 {
        return 0.0;
    }
    let (a, b) = (&a[..n], &b[..n]);
    let mean_a = a.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
    let mean_b = b.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let x = a[i] as f64 - mean_a;
        let y = b[i] as f64 - mean_b;
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa <= 0.0 || bb <= 0.0 {
        return 0.0;
    }
    ab / (aa * bb).sqrt()
}

/// Slice of `degraded` aligned to `reference[start..start+len]` at `lag`.
fn shifted(degraded: &[f32], start: usize, len: usize, lag: i64) -> Option<&[f32]> {
    let from = start as i64 + lag;
    if from < 0 || from as usize + len > degraded.len() {
        return None;
    }
    Some(&degraded[from as usize..from as usize + len])
}

fn best_lag(
    reference: &[f32],
    degraded: &[f32],
    start: usize,
    len: usize,
    lags: impl Iterator<Item = i64>,
) -> (i64, f64) {
    let mut best = (0, f64::MIN);
    for lag in lags {
        if let Some(d) = shifted(degraded, start, len, lag) {
            let c = correlation(&reference[start..start + len], d);
            if c > best.1 {
                best = (lag, c);
            }
        }
    }
    best
}

/// Compares mono signals at `rate` Hz, searching delays 0..=`max_lag` samples.
pub fn compare(reference: &[f32], degraded: &[f32], rate: u32, max_lag: usize) -> Comparison {
    // Work at ~8 kHz.
    let factor = (rate / 8000).max(1) as usize;
    let r = decimate(reference, factor);
    let d = decimate(degraded, factor);
    let max_lag_d = (max_lag / factor) as i64;
    // Coarse search on 5 ms energy envelopes.
    let block = 40;
    let env = |s: &[f32]| -> Vec<f32> {
        s.chunks(block)
            .map(|c| c.iter().map(|x| x * x).sum::<f32>().sqrt())
            .collect()
    };
    let (er, ed) = (env(&r), env(&d));
    let env_len = er
        .len()
        .saturating_sub((max_lag_d / block as i64) as usize + 1)
        .max(1)
        .min(er.len());
    let (coarse, _) = best_lag(&er, &ed, 0, env_len, 0..=max_lag_d / block as i64);
    let len = r
        .len()
        .saturating_sub(max_lag_d as usize)
        .max(r.len() / 2)
        .min(r.len());
    let center = coarse * block as i64;
    let (lag, mut global) = best_lag(
        &r,
        &d,
        0,
        len,
        (center - 2 * block as i64)..=(center + 2 * block as i64),
    );
    if global == f64::MIN {
        global = 0.0;
    }
    // Segmental.
    let segment = 2000;
    let window = 480;
    let (mut weighted, mut weights) = (0.0, 0.0);
    let mut start = 0;
    while start + segment <= r.len() {
        let energy: f64 = r[start..start + segment]
            .iter()
            .map(|&x| (x as f64) * (x as f64))
            .sum();
        if energy > 1e-3 {
            let (_, c) = best_lag(&r, &d, start, segment, (lag - window)..=(lag + window));
            let c = if c == f64::MIN { 0.0 } else { c };
            weighted += c * energy;
            weights += energy;
        }
        start += segment;
    }
    Comparison {
        lag: lag * factor as i64,
        global,
        segmental: if weights > 0.0 {
            weighted / weights
        } else {
            0.0
        },
    }
}
