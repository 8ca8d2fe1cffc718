//! Jitter buffer on a virtual clock with scripted arrival patterns.

use rand::{rngs::StdRng, Rng, SeedableRng};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use voice_client::jitter::{JitterBuffer, JitterConfig, Pop, PushOutcome};

const FRAME: Duration = Duration::from_millis(20);

/// One scripted arrival: frame index (sender order) and arrival time offset.
type Arrival = (u32, Duration);

#[derive(Default, Debug)]
struct Outcome {
    /// Frame indices delivered, in playout order.
    delivered: Vec<u32>,
    /// Frame indices announced lost, with whether the next payload came for FEC.
    lost: Vec<(u32, bool)>,
    underruns: usize,
    /// Ticks with a stretch (a concealed frame inserted to grow the delay).
    stretch_ticks: Vec<usize>,
    /// Ticks with an underrun.
    underrun_ticks: Vec<usize>,
    empties: usize,
    /// (tick, delay) after each delivered frame.
    delays: Vec<(usize, Duration)>,
    stats: voice_client::JitterStats,
}

fn index_of(payload: &[u8]) -> u32 {
    u32::from_le_bytes(payload[..4].try_into().unwrap())
}

/// Feeds arrivals (sorted by time) and pops once per `tick` for `ticks` ticks.
fn run(mut arrivals: Vec<Arrival>, ticks: usize, tick: Duration, config: JitterConfig) -> Outcome {
    arrivals.sort_by_key(|a| a.1);
    let base = Instant::now();
    let mut jb = JitterBuffer::new(config).unwrap();
    let mut out = Outcome::default();
    let mut next = 0;
    for k in 0..ticks {
        let now = base + tick * k as u32;
        while next < arrivals.len() && arrivals[next].1 <= tick * k as u32 {
            let (index, at) = arrivals[next];
            jb.push(base + at, index as u8, &index.to_le_bytes());
            next += 1;
        }
        match jb.pop(now) {
            Pop::Frame { payload, .. } => {
                out.delivered.push(index_of(payload));
                out.delays.push((k, jb.delay()));
            }
            Pop::Lost { seq: _, next } => {
                let fec = next.map(index_of);
                let lost = fec.map(|n| n - 1).unwrap_or(u32::MAX);
                out.lost.push((lost, fec.is_some()));
            }
            Pop::Underrun => {
                out.underruns += 1;
                out.underrun_ticks.push(k);
            }
            Pop::Stretch => out.stretch_ticks.push(k),
            Pop::Empty | Pop::EndOfStream => out.empties += 1,
        }
    }
    out.stats = jb.stats();
    out
}

fn assert_order_and_unique(out: &Outcome) {
    let mut seen = HashSet::new();
    for w in out.delivered.windows(2) {
        assert!(w[0] < w[1], "order broken: {} then {}", w[0], w[1]);
    }
    for &d in &out.delivered {
        assert!(seen.insert(d), "frame {d} delivered twice");
    }
}

fn steady(frames: u32, transit: Duration) -> Vec<Arrival> {
    (0..frames).map(|i| (i, FRAME * i + transit)).collect()
}

#[test]
fn in_order_delivers_everything_at_min_delay() {
    let config = JitterConfig::default();
    let out = run(
        steady(600, Duration::from_millis(30)),
        700,
        FRAME,
        config.clone(),
    );
    assert_order_and_unique(&out);
    assert_eq!(
        out.delivered,
        (0..600).collect::<Vec<_>>(),
        "all 600 frames (wrapping u8 twice) in order"
    );
    assert_eq!(out.stats.lost, 0);
    assert_eq!(out.stats.late, 0);
    let last = out.delays.last().unwrap().0;
    assert!(
        out.underrun_ticks.iter().all(|&k| k > last),
        "underrun before the end: {:?}",
        out.underrun_ticks
    );
    for &(_, d) in &out.delays {
        assert!(
            d >= config.min_delay && d <= config.min_delay + FRAME,
            "delay {d:?}"
        );
    }
}

#[test]
fn reordered_pairs_are_put_back_in_order() {
    // Every 10th frame arrives 30 ms late, after its successor.
    let arrivals: Vec<Arrival> = (0..500u32)
        .map(|i| {
            let extra = if i % 10 == 5 { 30 } else { 0 };
            (i, FRAME * i + Duration::from_millis(30 + extra))
        })
        .collect();
    let out = run(arrivals, 600, FRAME, JitterConfig::default());
    assert_order_and_unique(&out);
    assert_eq!(out.delivered.len(), 500);
    assert_eq!(out.stats.late, 0, "{:?}", out.stats);
    assert_eq!(out.stats.lost, 0);
}

#[test]
fn random_jitter_adapts_delay_within_bounds() {
    let mut rng = StdRng::seed_from_u64(7);
    let arrivals: Vec<Arrival> = (0..1500u32)
        .map(|i| {
            (
                i,
                FRAME * i + Duration::from_millis(20 + rng.gen_range(0..60)),
            )
        })
        .collect();
    let config = JitterConfig::default();
    let out = run(arrivals, 1600, FRAME, config.clone());
    assert_order_and_unique(&out);
    // After the first jitter window the delay covers the jitter (~60 ms + a frame).
    let settled: Vec<Duration> = out
        .delays
        .iter()
        .filter(|(k, _)| *k > 200)
        .map(|d| d.1)
        .collect();
    assert!(!settled.is_empty());
    for d in &settled {
        assert!(
            *d >= Duration::from_millis(55) && *d <= config.max_delay,
            "delay {d:?}"
        );
    }
    // Late frames happen only while the window is still learning the jitter.
    assert!(out.stats.late <= 10, "{:?}", out.stats);
    assert!(out.delivered.len() as u64 + out.stats.lost + out.stats.dropped >= 1490);
}

#[test]
fn jitter_growing_while_playing_stretches_the_delay_before_a_late_frame() {
    // 10 ms transit: playout starts at a 50 ms delay (the 40 ms minimum,
    // rounded up to the 20 ms tick). Frame 30 takes 60 ms: the jitter is now
    // 50 ms and the target 70 ms, but it still arrives just in time. From
    // frame 60 every other frame takes 65 ms: at a 50 ms delay each of those
    // would find the buffer empty.
    let transit = |i: u32| match i {
        30 => 60,
        i if i >= 60 && i % 2 == 0 => 65,
        _ => 10,
    };
    let arrivals: Vec<Arrival> = (0..200u32)
        .map(|i| (i, FRAME * i + Duration::from_millis(transit(i))))
        .collect();
    // Ticks up to the last frame's turn (4 ticks of delay, 1 inserted).
    let out = run(arrivals, 205, FRAME, JitterConfig::default());
    assert_order_and_unique(&out);
    assert_eq!(out.delivered.len(), 200, "{:?}", out.stats);
    assert_eq!(out.underruns, 0, "{:?}", out.stats);
    assert_eq!(out.stats.late, 0, "{:?}", out.stats);
    // One frame inserted, right after frame 30 raised the target, long before
    // frame 60; none after (the delay is then within a frame of the target).
    assert_eq!(out.stretch_ticks.len(), 1, "{:?}", out.stretch_ticks);
    assert_eq!(out.stats.stretched, 1);
    assert!(
        (33..=40).contains(&out.stretch_ticks[0]),
        "{:?}",
        out.stretch_ticks
    );
    for &(k, delay) in &out.delays {
        let expected = if k < out.stretch_ticks[0] { 50 } else { 70 };
        assert_eq!(delay, Duration::from_millis(expected), "at tick {k}");
    }
}

#[test]
fn catches_up_after_a_burst() {
    // Frames 200..215 are held by the network for 300 ms and then arrive at once.
    let stall_end = FRAME * 215 + Duration::from_millis(30);
    let arrivals: Vec<Arrival> = (0..1200u32)
        .map(|i| {
            let normal = FRAME * i + Duration::from_millis(30);
            (
                i,
                if (200..215).contains(&i) {
                    stall_end
                } else {
                    normal
                },
            )
        })
        .collect();
    let config = JitterConfig::default();
    let out = run(arrivals, 1300, FRAME, config.clone());
    assert_order_and_unique(&out);
    let peak = out
        .delays
        .iter()
        .filter(|(k, _)| (210..400).contains(k))
        .map(|d| d.1)
        .max()
        .unwrap();
    assert!(
        peak >= Duration::from_millis(200),
        "delay grew during the stall: {peak:?}"
    );
    assert!(peak <= config.max_delay);
    let end = out.delays.last().unwrap().1;
    assert!(end <= config.min_delay + FRAME, "caught up to {end:?}");
    assert!(out.stats.dropped + out.stats.lost > 0, "{:?}", out.stats);
    // Nothing of the burst was thrown away as late: underruns stretched playout instead.
    assert_eq!(out.stats.late, 0, "{:?}", out.stats);
}

#[test]
fn gaps_are_reported_lost_with_the_next_packet_for_fec() {
    let mut rng = StdRng::seed_from_u64(11);
    let mut dropped = HashSet::new();
    for i in 10..490u32 {
        if rng.gen_bool(0.05) {
            dropped.insert(i);
        }
    }
    for i in 300..304 {
        dropped.insert(i);
    }
    let arrivals: Vec<Arrival> = steady(500, Duration::from_millis(30))
        .into_iter()
        .filter(|a| !dropped.contains(&a.0))
        .collect();
    let out = run(arrivals, 600, FRAME, JitterConfig::default());
    assert_order_and_unique(&out);
    assert_eq!(out.delivered.len() + dropped.len(), 500);
    assert_eq!(out.stats.lost as usize, dropped.len(), "{:?}", out.stats);
    // Isolated losses come with the next packet for FEC.
    let isolated: Vec<u32> = dropped
        .iter()
        .copied()
        .filter(|i| !dropped.contains(&(i + 1)))
        .collect();
    for i in isolated {
        assert!(
            out.lost.contains(&(i, true)),
            "frame {i} lost without next packet"
        );
    }
}

fn drift(tick: Duration, sender_period_us: u64) -> Outcome {
    let arrivals: Vec<Arrival> = (0..3000u32)
        .map(|i| {
            (
                i,
                Duration::from_micros(sender_period_us * i as u64) + Duration::from_millis(30),
            )
        })
        .collect();
    run(arrivals, 3100, tick, JitterConfig::default())
}

#[test]
fn clock_drift_fast_sender_is_caught_up_by_drops() {
    let config = JitterConfig::default();
    let out = drift(FRAME, 19_800); // sender 1 % fast
    assert_order_and_unique(&out);
    assert!(out.stats.dropped > 0, "{:?}", out.stats);
    for &(k, d) in &out.delays {
        if k > 100 {
            assert!(d <= config.min_delay + FRAME * 2, "delay {d:?} at tick {k}");
        }
    }
    assert_eq!(
        out.delivered.len() as u64 + out.stats.dropped + out.stats.lost,
        3000
    );
}

#[test]
fn clock_drift_slow_sender_underruns_rarely() {
    let config = JitterConfig::default();
    let out = drift(FRAME, 20_200); // sender 1 % slow
    assert_order_and_unique(&out);
    assert_eq!(out.delivered.len(), 3000, "{:?}", out.stats);
    // ~1 % of ticks have nothing to play; each one is concealed (stretching
    // playout), not lost: mostly inserted ahead as the transit window widens,
    // the rest underruns.
    let stretched = out.underruns + out.stretch_ticks.len();
    assert!(
        stretched > 0 && stretched < 100,
        "{} underruns, {} stretches",
        out.underruns,
        out.stretch_ticks.len()
    );
    for &(_, d) in &out.delays {
        assert!(d <= config.max_delay);
    }
}

#[test]
fn duplicates_and_late_frames_are_counted_and_never_played() {
    let base = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::default()).unwrap();
    let mut played = Vec::new();
    for k in 0..100u32 {
        let now = base + FRAME * k;
        if k < 80 {
            assert_eq!(jb.push(now, k as u8, &k.to_le_bytes()), PushOutcome::Stored);
            assert_eq!(
                jb.push(now, k as u8, &k.to_le_bytes()),
                PushOutcome::Duplicate
            );
        }
        if k == 50 {
            // Frame 10 again, long after it was played.
            assert_eq!(
                jb.push(now, 10, &10u32.to_le_bytes()),
                PushOutcome::Duplicate
            );
        }
        if let Pop::Frame { payload, .. } = jb.pop(now) {
            played.push(index_of(payload));
        }
    }
    let stats = jb.stats();
    assert_eq!(stats.duplicates, 81);
    assert_eq!(played, (0..80).collect::<Vec<_>>());
}

#[test]
fn late_frame_after_its_turn_is_dropped() {
    let mut arrivals = steady(100, Duration::from_millis(30));
    arrivals.retain(|a| a.0 != 50);
    arrivals.push((50, FRAME * 50 + Duration::from_millis(400)));
    let out = run(arrivals, 150, FRAME, JitterConfig::default());
    assert_order_and_unique(&out);
    assert!(!out.delivered.contains(&50));
    assert_eq!(out.stats.late, 1);
    assert_eq!(out.stats.lost, 1);
}

#[test]
fn silence_pause_restarts_without_counting_loss() {
    // 50 frames, 1 s of DTX silence (no frames, numbering continues), 50 frames.
    let arrivals: Vec<Arrival> = (0..100u32)
        .map(|i| {
            let pause = if i >= 50 {
                Duration::from_secs(1)
            } else {
                Duration::ZERO
            };
            (i, FRAME * i + pause + Duration::from_millis(30))
        })
        .collect();
    let out = run(arrivals, 200, FRAME, JitterConfig::default());
    assert_eq!(out.delivered, (0..100).collect::<Vec<_>>());
    assert_eq!(out.stats.lost, 0);
    assert!(out.empties > 30, "paused during the silence");
    // The new spurt plays at the usual delay: the pause did not count as jitter.
    for &(_, d) in &out.delays[50..] {
        assert!(
            d <= Duration::from_millis(60),
            "delay {d:?} after the pause"
        );
    }
    assert!(out.underruns <= 10);
}

#[test]
fn end_of_stream_is_played_in_order() {
    let base = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::default()).unwrap();
    for k in 0..5u32 {
        jb.push(base + FRAME * k, k as u8, &[1, 2, 3]);
    }
    jb.push_end_of_stream(base + FRAME * 5, 5);
    let mut kinds = Vec::new();
    for k in 0..12u32 {
        let pop = jb.pop(base + FRAME * k);
        kinds.push(match pop {
            Pop::Frame { .. } => 'F',
            Pop::EndOfStream => 'E',
            Pop::Empty => '.',
            Pop::Underrun => 'U',
            Pop::Stretch => 'S',
            Pop::Lost { .. } => 'L',
        });
    }
    let kinds: String = kinds.into_iter().collect();
    assert!(kinds.contains("FFFFFE"), "{kinds}");
    assert!(kinds.ends_with('.'), "{kinds}");
}

#[test]
fn bad_config_is_rejected_with_the_setting_named() {
    let config = JitterConfig {
        min_delay: Duration::from_millis(600),
        ..JitterConfig::default()
    };
    let err = JitterBuffer::new(config).unwrap_err().to_string();
    assert!(err.contains("min_delay"), "{err}");
    let config = JitterConfig {
        max_delay: Duration::from_secs(5),
        ..JitterConfig::default()
    };
    assert!(JitterBuffer::new(config)
        .unwrap_err()
        .to_string()
        .contains("max_delay"));
}

#[test]
fn oversized_payload_is_refused() {
    let mut jb = JitterBuffer::new(JitterConfig::default()).unwrap();
    assert_eq!(
        jb.push(Instant::now(), 0, &[0u8; 2000]),
        PushOutcome::Oversized
    );
    assert_eq!(jb.stats().oversized, 1);
}

#[test]
fn delay_is_clamped_to_configured_bounds() {
    // No jitter but a 100 ms minimum: the buffer still holds 100 ms.
    let config = JitterConfig {
        min_delay: Duration::from_millis(100),
        ..JitterConfig::default()
    };
    let out = run(steady(300, Duration::from_millis(30)), 350, FRAME, config);
    for &(_, d) in &out.delays {
        assert!(
            d >= Duration::from_millis(100) && d <= Duration::from_millis(120),
            "delay {d:?}"
        );
    }
    // 0-200 ms jitter but a 100 ms maximum: late frames instead of more delay.
    // (Above the maximum the buffer drops frames while later ones are there,
    // so it can exceed it by less than a frame when nothing later has come.)
    let mut rng = StdRng::seed_from_u64(3);
    let arrivals: Vec<Arrival> = (0..500u32)
        .map(|i| (i, FRAME * i + Duration::from_millis(rng.gen_range(0..200))))
        .collect();
    let config = JitterConfig {
        max_delay: Duration::from_millis(100),
        ..JitterConfig::default()
    };
    let out = run(arrivals, 600, FRAME, config);
    assert_order_and_unique(&out);
    for &(_, d) in &out.delays {
        assert!(d < Duration::from_millis(100) + FRAME, "delay {d:?}");
    }
    let over = out
        .delays
        .iter()
        .filter(|(_, d)| *d > Duration::from_millis(100))
        .count();
    assert!(
        over * 10 < out.delays.len(),
        "{over} of {} above the maximum",
        out.delays.len()
    );
    assert!(out.stats.late > 0, "{:?}", out.stats);
}
