//! Processing before encoding: level meter, voice detection (with
//! calibration), a simple automatic gain control and a simple noise gate.
//!
//! What these are, honestly:
//! - [`LevelMeter`]: peak and smoothed RMS of the signal. Real.
//! - [`VoiceDetector`]: Photon's level detector: a frame is voice when its peak
//!   exceeds a threshold; detection holds for a hold time after the last such
//!   frame; calibration sets the threshold to 2x the average peak measured
//!   over a period of silence. Real, but a level detector, not a speech model.
//! - [`GainControl`]: a frame-wise AGC towards a target RMS, with a gain
//!   range, slow attack/release and a hard limiter; it only adapts on frames
//!   loud enough to be speech. Real and simple; no look-ahead, no compression curve.
//! - [`NoiseGate`]: a downward expander that tracks the noise floor (minimum
//!   statistics on frame RMS) and attenuates frames close to it, with smooth
//!   gain ramps. It is a noise *gate*: it does not remove noise under speech
//!   (no spectral subtraction).
//! - Echo cancellation: **not implemented**.

use std::time::Duration;

/// Peak and average level of the signal.
#[derive(Debug, Clone, Default)]
pub struct LevelMeter {
    peak: f32,
    average: f32,
}

impl LevelMeter {
    /// Measures one frame.
    pub fn process(&mut self, frame: &[f32]) {
        let peak = frame.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
        let rms = rms(frame);
        // Peak decays ~10 % per frame; average is an exponential mean.
        self.peak = peak.max(self.peak * 0.9);
        self.average = 0.9 * self.average + 0.1 * rms;
    }
    /// Recent peak amplitude (0..=1), decaying.
    pub fn peak(&self) -> f32 {
        self.peak
    }
    /// Smoothed RMS amplitude (0..=1).
    pub fn average(&self) -> f32 {
        self.average
    }
}

fn rms(frame: &[f32]) -> f32 {
    if frame.is_empty() {
        return 0.0;
    }
    (frame.iter().map(|x| x * x).sum::<f32>() / frame.len() as f32).sqrt()
}

/// Voice detection settings (Photon's defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceDetectorConfig {
    /// Peak amplitude above which a frame is voice. Defaults to 0.01.
    pub threshold: f32,
    /// Keep transmitting this long after the last voice frame. Defaults to 500 ms.
    pub hold: Duration,
}

impl Default for VoiceDetectorConfig {
    fn default() -> Self {
        Self {
            threshold: 0.01,
            hold: Duration::from_millis(500),
        }
    }
}

/// Photon's level-based voice detector.
#[derive(Debug, Clone)]
pub struct VoiceDetector {
    config: VoiceDetectorConfig,
    frame: Duration,
    since_voice: Duration,
    detected: bool,
    calibration: Option<(Duration, f64, u32)>,
}

impl VoiceDetector {
    /// A detector for frames of `frame` duration.
    pub fn new(config: VoiceDetectorConfig, frame: Duration) -> Self {
        Self {
            since_voice: config.hold + frame,
            config,
            frame,
            detected: false,
            calibration: None,
        }
    }
    /// The threshold in force.
    pub fn threshold(&self) -> f32 {
        self.config.threshold
    }
    /// Whether voice is detected (including the hold time).
    pub fn is_detected(&self) -> bool {
        self.detected
    }
    /// Starts calibrating over the next `period` of (silent) input: the
    /// threshold becomes 2x the average frame peak.
    pub fn calibrate(&mut self, period: Duration) {
        self.calibration = Some((period, 0.0, 0));
    }
    /// Whether a calibration is running.
    pub fn is_calibrating(&self) -> bool {
        self.calibration.is_some()
    }
    /// Feeds one frame; returns whether it should be transmitted.
    pub fn process(&mut self, frame: &[f32]) -> bool {
        let peak = frame.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
        if let Some((left, sum, count)) = self.calibration.as_mut() {
            *sum += peak as f64;
            *count += 1;
            *left = left.saturating_sub(self.frame);
            if left.is_zero() {
                self.config.threshold = (2.0 * *sum / *count as f64) as f32;
                self.calibration = None;
            }
        }
        if peak > self.config.threshold {
            self.since_voice = Duration::ZERO;
        } else {
            self.since_voice += self.frame;
        }
        self.detected = self.since_voice <= self.config.hold;
        self.detected
    }
}

/// Automatic gain control settings.
#[derive(Debug, Clone, PartialEq)]
pub struct GainControlConfig {
    /// Target RMS level of speech. Defaults to 0.1 (-20 dBFS).
    pub target_rms: f32,
    /// Highest gain. Defaults to 8 (+18 dB). Too high raises background noise.
    pub max_gain: f32,
    /// Lowest gain. Defaults to 0.25 (-12 dB).
    pub min_gain: f32,
    /// Frames quieter than this RMS are not speech and do not adapt the gain.
    /// Defaults to 0.003 (-50 dBFS).
    pub floor_rms: f32,
}

impl Default for GainControlConfig {
    fn default() -> Self {
        Self {
            target_rms: 0.1,
            max_gain: 8.0,
            min_gain: 0.25,
            floor_rms: 0.003,
        }
    }
}

/// A simple AGC: see the module docs.
#[derive(Debug, Clone)]
pub struct GainControl {
    config: GainControlConfig,
    gain: f32,
}

impl GainControl {
    /// Starts at unity gain.
    pub fn new(config: GainControlConfig) -> Self {
        Self { config, gain: 1.0 }
    }
    /// The gain in force.
    pub fn gain(&self) -> f32 {
        self.gain
    }
    /// Applies the gain to one frame in place and adapts it.
    pub fn process(&mut self, frame: &mut [f32]) {
        let level = rms(frame);
        let start = self.gain;
        if level > self.config.floor_rms {
            let wanted =
                (self.config.target_rms / level).clamp(self.config.min_gain, self.config.max_gain);
            // Fast attack (gain down), slow release (gain up).
            let rate = if wanted < self.gain { 0.3 } else { 0.05 };
            self.gain += (wanted - self.gain) * rate;
        }
        let n = frame.len().max(1) as f32;
        for (i, s) in frame.iter_mut().enumerate() {
            let g = start + (self.gain - start) * (i as f32 / n);
            *s = (*s * g).clamp(-1.0, 1.0);
        }
    }
}

/// Noise gate settings.
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseGateConfig {
    /// A frame whose RMS is below `floor * open_ratio` is attenuated. Defaults to 2.0 (+6 dB).
    pub open_ratio: f32,
    /// Gain applied to gated frames. Defaults to 0.1 (-20 dB).
    pub attenuation: f32,
}

impl Default for NoiseGateConfig {
    fn default() -> Self {
        Self {
            open_ratio: 2.0,
            attenuation: 0.1,
        }
    }
}

/// A noise gate with a tracked noise floor: see the module docs.
#[derive(Debug, Clone)]
pub struct NoiseGate {
    config: NoiseGateConfig,
    floor: f32,
    gain: f32,
}

impl NoiseGate {
    /// A gate with no floor measured yet.
    pub fn new(config: NoiseGateConfig) -> Self {
        Self {
            config,
            floor: 0.0,
            gain: 1.0,
        }
    }
    /// The noise floor estimate (RMS).
    pub fn floor(&self) -> f32 {
        self.floor
    }
    /// Whether the last frame was attenuated.
    pub fn is_closed(&self) -> bool {
        self.gain < 0.5
    }
    /// Gates one frame in place.
    pub fn process(&mut self, frame: &mut [f32]) {
        let level = rms(frame);
        // Minimum statistics: follow drops at once, rise slowly (~+0.5 %/frame).
        self.floor = if self.floor == 0.0 || level < self.floor {
            level.max(1e-6)
        } else {
            self.floor * 1.005
        };
        let open = level > self.floor * self.config.open_ratio;
        let wanted = if open { 1.0 } else { self.config.attenuation };
        let start = self.gain;
        // Open fast, close over a few frames.
        self.gain += (wanted - self.gain) * if open { 1.0 } else { 0.3 };
        let n = frame.len().max(1) as f32;
        for (i, s) in frame.iter_mut().enumerate() {
            *s *= start + (self.gain - start) * (i as f32 / n);
        }
    }
}

/// Processing settings for an outgoing voice.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProcessingConfig {
    /// Voice detection; `None` (the default, as in Photon) transmits always.
    pub voice_detection: Option<VoiceDetectorConfig>,
    /// Gain control; `None` (the default) leaves the level alone.
    pub gain_control: Option<GainControlConfig>,
    /// Noise gate; `None` (the default) passes noise.
    pub noise_gate: Option<NoiseGateConfig>,
}

/// The processing chain: noise gate, gain control, level meter, voice detection.
#[derive(Debug, Clone)]
pub struct Processor {
    /// Level meter (of the processed signal).
    pub level: LevelMeter,
    /// Voice detector, if enabled.
    pub detector: Option<VoiceDetector>,
    /// Gain control, if enabled.
    pub gain: Option<GainControl>,
    /// Noise gate, if enabled.
    pub gate: Option<NoiseGate>,
}

impl Processor {
    /// A chain for frames of `frame` duration.
    pub fn new(config: &ProcessingConfig, frame: Duration) -> Self {
        Self {
            level: LevelMeter::default(),
            detector: config
                .voice_detection
                .clone()
                .map(|c| VoiceDetector::new(c, frame)),
            gain: config.gain_control.clone().map(GainControl::new),
            gate: config.noise_gate.clone().map(NoiseGate::new),
        }
    }
    /// Processes one frame in place; returns whether voice is present (always
    /// true without voice detection).
    pub fn process(&mut self, frame: &mut [f32]) -> bool {
        if let Some(gate) = self.gate.as_mut() {
            gate.process(frame);
        }
        if let Some(gain) = self.gain.as_mut() {
            gain.process(frame);
        }
        self.level.process(frame);
        match self.detector.as_mut() {
            Some(detector) => detector.process(frame),
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{AudioSource, NoiseSource, SineSource};

    const FRAME: Duration = Duration::from_millis(20);

    fn frames(source: &mut dyn AudioSource, n: usize) -> Vec<Vec<f32>> {
        (0..n)
            .map(|_| {
                let mut f = vec![0.0; 960];
                source.read(&mut f);
                f
            })
            .collect()
    }

    #[test]
    fn detector_holds_then_releases() {
        let mut d = VoiceDetector::new(VoiceDetectorConfig::default(), FRAME);
        let loud = frames(&mut SineSource::new(48_000, 300.0, 0.3), 5);
        let quiet = vec![0.001f32; 960];
        for f in &loud {
            assert!(d.process(f));
        }
        // 500 ms hold = 25 frames.
        let held = (0..40).take_while(|_| d.process(&quiet)).count();
        assert_eq!(held, 25);
    }

    #[test]
    fn calibration_sets_twice_the_silence_peak() {
        let mut d = VoiceDetector::new(VoiceDetectorConfig::default(), FRAME);
        d.calibrate(Duration::from_millis(400));
        for f in frames(&mut NoiseSource::new(48_000, 0.05, 3), 20) {
            d.process(&f);
        }
        assert!(!d.is_calibrating());
        assert!(
            (d.threshold() - 0.1).abs() < 0.005,
            "threshold {}",
            d.threshold()
        );
        // The same noise no longer counts as voice after the hold.
        let after: Vec<bool> = frames(&mut NoiseSource::new(48_000, 0.05, 4), 40)
            .iter()
            .map(|f| d.process(f))
            .collect();
        assert!(!after[39]);
    }

    #[test]
    fn agc_brings_quiet_and_loud_speech_towards_target() {
        for amplitude in [0.02f32, 0.4] {
            let mut agc = GainControl::new(GainControlConfig::default());
            let mut out = 0.0;
            for mut f in frames(&mut SineSource::new(48_000, 200.0, amplitude), 150) {
                agc.process(&mut f);
                out = rms(&f);
            }
            assert!(
                (out - 0.1).abs() < 0.02,
                "amplitude {amplitude}: output rms {out}"
            );
        }
    }

    #[test]
    fn gate_attenuates_noise_and_passes_speech() {
        let mut gate = NoiseGate::new(NoiseGateConfig::default());
        let mut noise = NoiseSource::new(48_000, 0.01, 5);
        let mut last = 0.0;
        for mut f in frames(&mut noise, 50) {
            gate.process(&mut f);
            last = rms(&f);
        }
        assert!(gate.is_closed());
        assert!(last < 0.01 * 0.2, "noise rms after gate {last}");
        let mut tone = frames(&mut SineSource::new(48_000, 300.0, 0.3), 1).remove(0);
        let before = rms(&tone);
        gate.process(&mut tone);
        gate.process(&mut tone.clone());
        assert!(!gate.is_closed());
        assert!(rms(&tone) > 0.3 * before);
    }
}
