//! The push-to-talk client: a game loop (one tick = one 20 ms voice frame)
//! over a [`PolledClient`]: read the keys (or the script), capture a frame,
//! push it (sent only while talking), service the client, mix what arrives
//! and play it, redraw the status.

// Some items are only used by the binary or by the tests, which include this file.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};
use voice_client::audio::device::{self, CaptureStream, DeviceConfig, PlaybackStream};
use voice_client::audio::{AudioSink, FrameAssembler, SilenceSource, WavSink, WavSource};
use voice_client::lb::{LbConfig, LbEvent, PolledClient, RoomOptions};
use voice_client::lb_transport::LoadBalancingTransport;
use voice_client::local::LocalVoiceConfig;
use voice_client::remote::RemoteVoiceConfig;
use voice_client::CodecConfig;

/// Where the microphone audio comes from.
#[derive(Debug, Clone)]
pub enum Input {
    /// A WAV file, looped.
    Wav(PathBuf),
    /// A capture device (`None`: the default one).
    Device(Option<String>),
    /// Silence (listen only).
    Silence,
}

/// Where the received audio goes.
#[derive(Debug, Clone)]
pub enum Output {
    /// A WAV file (48 kHz mono, 16-bit).
    Wav(PathBuf),
    /// A playback device (`None`: the default one).
    Device(Option<String>),
    /// Nowhere.
    Discard,
}

/// One step of a key script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Not talking for this long.
    Wait(Duration),
    /// Key held (talking) for this long.
    Down(Duration),
    /// Key released for this long.
    Up(Duration),
    /// Flip the talk toggle.
    Toggle,
    /// Leave and exit.
    Quit,
}

/// Parses a script such as `wait:1000,down:2000,up:1500,toggle,quit`
/// (durations in milliseconds).
pub fn parse_script(text: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (verb, arg) = match item.split_once(':') {
            Some((v, a)) => (v, Some(a)),
            None => (item, None),
        };
        let ms = |arg: Option<&str>| -> Result<Duration, String> {
            let arg =
                arg.ok_or_else(|| format!("script step `{item}` needs a duration: `{verb}:MS`"))?;
            arg.parse::<u64>().map(Duration::from_millis).map_err(|_| {
                format!("script step `{item}`: `{arg}` is not a number of milliseconds")
            })
        };
        steps.push(match verb {
            "wait" => Step::Wait(ms(arg)?),
            "down" => Step::Down(ms(arg)?),
            "up" => Step::Up(ms(arg)?),
            "toggle" => Step::Toggle,
            "quit" => Step::Quit,
            _ => {
                return Err(format!(
                    "unknown script step `{item}`: use wait:MS, down:MS, up:MS, toggle or quit"
                ))
            }
        });
    }
    Ok(steps)
}

/// A key from the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// Space: talk while held (key repeats keep it held).
    Space,
    /// `t`: toggle talking.
    Toggle,
    /// `q`, Esc or Ctrl-C: quit.
    Quit,
}

/// Settings of one client.
#[derive(Debug, Clone)]
pub struct PttConfig {
    /// Name server URL, e.g. `udp://127.0.0.1:5058`.
    pub server: String,
    /// Room joined (or created).
    pub room: String,
    /// User id and nickname shown to others.
    pub user: String,
    /// Microphone.
    pub input: Input,
    /// Speaker.
    pub output: Output,
    /// Scripted keys (tests, demos); `None`: the terminal's keys.
    pub script: Option<Vec<Step>>,
    /// A held key is released when its repeats stop for this long. Defaults
    /// to 300 ms; the first press counts double (terminals wait ~500 ms
    /// before repeating).
    pub release_after: Duration,
    /// Stop after this long in the room (`None`: until quit).
    pub max_duration: Option<Duration>,
    /// Keep every tick and input frame in the [`Report`] (tests). Defaults
    /// to off: the record grows by ~4 KB per 20 ms.
    pub record: bool,
}

impl PttConfig {
    /// Defaults: local server, room "lobby", WAV-less default devices.
    pub fn new(
        server: impl Into<String>,
        room: impl Into<String>,
        user: impl Into<String>,
    ) -> Self {
        Self {
            server: server.into(),
            room: room.into(),
            user: user.into(),
            input: Input::Device(None),
            output: Output::Device(None),
            script: None,
            release_after: Duration::from_millis(300),
            max_duration: None,
            record: false,
        }
    }
}

/// What one tick saw (for tests and figures).
#[derive(Debug, Clone, Copy)]
pub struct Tick {
    /// When the tick ran.
    pub at: Instant,
    /// Whether this client was talking.
    pub talking: bool,
    /// RMS of the input frame.
    pub input_rms: f32,
    /// RMS of the mixed output frame.
    pub output_rms: f32,
}

/// What happened in a run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every tick after joining (when recording).
    pub ticks: Vec<Tick>,
    /// The input frames captured, one per tick in order (when recording;
    /// files only give one frame per tick, devices may give more or none).
    pub input: Vec<f32>,
    /// Frames sent.
    pub frames_sent: u64,
}

/// Why the client stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PttError {
    /// Audio device or file problem.
    #[error("audio: {0}")]
    Audio(String),
    /// Client, room or voice problem.
    #[error("client: {0}")]
    Client(String),
}

fn audio_error(what: &str, e: impl std::fmt::Display) -> PttError {
    PttError::Audio(format!("{what}: {e}"))
}

fn client_error(e: impl std::fmt::Display) -> PttError {
    PttError::Client(e.to_string())
}

const RATE: u32 = 48_000;
const TICK: Duration = Duration::from_millis(20);

/// The talk state from held keys, the toggle and the script.
#[derive(Debug, Default)]
pub struct TalkState {
    held_until: Option<Instant>,
    /// Talking toggled on (`t`).
    pub toggled: bool,
    /// Talking by the script.
    pub scripted: bool,
}

impl TalkState {
    /// A space key press or repeat at `now`.
    pub fn key_space(&mut self, now: Instant, release_after: Duration) {
        // The first press waits out the terminal's repeat delay.
        let hold = if !matches!(self.held_until, Some(t) if t >= now) {
            release_after * 2
        } else {
            release_after
        };
        self.held_until = Some(now + hold);
    }

    /// Whether to talk at `now`.
    pub fn talking(&self, now: Instant) -> bool {
        self.toggled || self.scripted || self.held_until.is_some_and(|t| t > now)
    }
}

/// Runs the client until quit (key, script or `max_duration`). `keys`
/// delivers terminal keys; `status` receives the redrawn status (`tty`:
/// redraw in place with ANSI codes, else one line per second).
pub fn run(
    config: &PttConfig,
    keys: Option<Receiver<Key>>,
    status: &mut dyn Write,
    tty: bool,
) -> Result<Report, PttError> {
    let codec = CodecConfig::default();
    let frame = codec.format.frame_samples();
    // Input.
    let mut _capture: Option<CaptureStream> = None;
    let source: Box<dyn voice_client::audio::AudioSource> = match &config.input {
        Input::Wav(path) => Box::new(
            WavSource::open(path)
                .map_err(|e| audio_error(&path.display().to_string(), e))?
                .looping(true),
        ),
        Input::Device(name) => {
            let (stream, source) = device::open_capture(name.as_deref(), &DeviceConfig::default())
                .map_err(|e| {
                    audio_error(
                        "capture device",
                        format!("{e} (list devices with --list-devices, or use --input FILE.wav)"),
                    )
                })?;
            _capture = Some(stream);
            Box::new(source)
        }
        Input::Silence => Box::new(SilenceSource::new(RATE)),
    };
    let live = matches!(config.input, Input::Device(_));
    let mut assembler =
        FrameAssembler::new(source, RATE, 1, frame).map_err(|e| audio_error("input", e))?;
    // Output.
    let mut _playback: Option<PlaybackStream> = None;
    let mut sink: Option<Box<dyn AudioSink>> =
        match &config.output {
            Output::Wav(path) => Some(Box::new(
                WavSink::create(path, RATE, 1)
                    .map_err(|e| audio_error(&path.display().to_string(), e))?,
            )),
            Output::Device(name) => {
                let (stream, sink) =
                    device::open_playback(name.as_deref(), &DeviceConfig::default(), RATE, 1)
                        .map_err(|e| {
                            audio_error(
                        "playback device",
                        format!("{e} (list devices with --list-devices, or use --output FILE.wav)"),
                    )
                        })?;
                _playback = Some(stream);
                Some(Box::new(sink))
            }
            Output::Discard => None,
        };

    // Client and voice.
    let mut lb = LbConfig::new(config.server.clone(), "push-to-talk");
    lb.user_id = Some(config.user.clone());
    lb.nickname = Some(config.user.clone());
    let polled = PolledClient::new(lb, Default::default()).map_err(client_error)?;
    let mut voice = LoadBalancingTransport::polled(polled, RemoteVoiceConfig::default());
    let id = voice
        .add_local_voice(LocalVoiceConfig {
            codec,
            ..LocalVoiceConfig::default()
        })
        .map_err(client_error)?;
    voice
        .set_transmit_enabled(id, false)
        .map_err(client_error)?;
    voice
        .polled_client()
        .expect("polled")
        .join_or_create_room(&config.room, RoomOptions::default())
        .map_err(client_error)?;
    let join_deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut joined = false;
        for event in voice.service() {
            match event {
                LbEvent::Joined { .. } => joined = true,
                LbEvent::Error(e) => {
                    return Err(PttError::Client(format!(
                        "joining `{}` on {}: {e}",
                        config.room, config.server
                    )))
                }
                _ => {}
            }
        }
        if joined {
            break;
        }
        if Instant::now() > join_deadline {
            return Err(PttError::Client(format!(
                "no room joined after 15 s: is a server running at {}?",
                config.server
            )));
        }
        std::thread::sleep(TICK);
    }

    let mut report = Report::default();
    let mut talk = TalkState::default();
    let mut script = config.script.clone().map(std::collections::VecDeque::from);
    let mut step_end: Option<Instant> = None;
    let mut was_talking = false;
    let mut pcm = vec![0.0f32; frame];
    let mut out = vec![0.0f32; frame];
    let started = Instant::now();
    let mut next_tick = started;
    let mut last_status = started;
    let mut level = 0.0f32;
    let mut last_heard: std::collections::HashMap<i32, (u64, Instant)> = Default::default();
    'ticks: loop {
        let now = Instant::now();
        if config.max_duration.is_some_and(|d| now - started >= d) {
            break;
        }
        // Keys.
        if let Some(keys) = &keys {
            while let Ok(key) = keys.try_recv() {
                match key {
                    Key::Space => talk.key_space(now, config.release_after),
                    Key::Toggle => talk.toggled = !talk.toggled,
                    Key::Quit => break 'ticks,
                }
            }
        }
        // Script.
        if let Some(steps) = &mut script {
            loop {
                if step_end.is_some_and(|end| now < end) {
                    break;
                }
                step_end = None;
                match steps.pop_front() {
                    None | Some(Step::Quit) => break 'ticks,
                    Some(Step::Toggle) => talk.toggled = !talk.toggled,
                    Some(Step::Wait(d)) | Some(Step::Up(d)) => {
                        talk.scripted = false;
                        step_end = Some(now + d);
                    }
                    Some(Step::Down(d)) => {
                        talk.scripted = true;
                        step_end = Some(now + d);
                    }
                }
            }
        }
        let talking = talk.talking(now);
        if talking != was_talking {
            voice
                .set_transmit_enabled(id, talking)
                .map_err(client_error)?;
            was_talking = talking;
        }
        // Capture and send.
        let mut input_rms = 0.0;
        while assembler
            .next_frame(&mut pcm)
            .map_err(|e| audio_error("input", e))?
        {
            input_rms = rms(&pcm);
            if config.record {
                report.input.extend_from_slice(&pcm);
            }
            voice.push_frame(now, id, &pcm).map_err(client_error)?;
            if !live {
                break; // files: one frame per tick (real-time pace)
            }
        }
        level = input_rms.max(level * 0.8);
        // Receive and play.
        for event in voice.service() {
            if let LbEvent::Disconnected(cause) = event {
                return Err(PttError::Client(format!(
                    "disconnected from the server: {cause:?}"
                )));
            }
        }
        voice.mix(now, &mut out);
        if let Some(sink) = &mut sink {
            sink.write(&out).map_err(|e| audio_error("output", e))?;
        }
        if config.record {
            report.ticks.push(Tick {
                at: now,
                talking,
                input_rms,
                output_rms: rms(&out),
            });
        }
        for remote in voice.receiver().voices() {
            let received = remote.stats().frames_received;
            let entry = last_heard
                .entry(remote.actor())
                .or_insert((0, now - Duration::from_secs(10)));
            if received != entry.0 {
                *entry = (received, now);
            }
        }
        // Status.
        let every = if tty {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(1)
        };
        if now - last_status >= every {
            last_status = now;
            let line = status_text(&voice, talking, level, &last_heard, now);
            if tty {
                let _ = write!(status, "\r\x1b[2K{line}");
            } else {
                let _ = writeln!(status, "{line}");
            }
            let _ = status.flush();
        }
        next_tick += TICK;
        let now = Instant::now();
        if next_tick > now {
            std::thread::sleep(next_tick - now);
        } else {
            next_tick = now;
        }
    }
    if tty {
        let _ = writeln!(status);
    }
    report.frames_sent = voice.local_voice(id).map_or(0, |v| v.stats().frames_sent);
    let _ = voice.remove_local_voice(id);
    voice.service();
    if let Some(polled) = voice.polled_client() {
        let _ = polled.leave_room(Default::default());
    }
    drop(sink); // WavSink finalizes its header on drop
    Ok(report)
}

fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt()
}

/// The status line: room members (* = speaking), talk state, input level,
/// round trip and loss.
fn status_text(
    voice: &LoadBalancingTransport,
    talking: bool,
    level: f32,
    last_heard: &std::collections::HashMap<i32, (u64, Instant)>,
    now: Instant,
) -> String {
    let client = voice.client();
    let me = client.local_actor();
    let mut members = Vec::new();
    if let Some(room) = client.room() {
        for actor in room.active_actors() {
            let name = if actor.nickname.is_empty() {
                format!("#{}", actor.number)
            } else {
                actor.nickname.clone()
            };
            let speaking = if Some(actor.number) == me {
                talking
            } else {
                last_heard.get(&actor.number).is_some_and(|(_, at)| {
                    now.saturating_duration_since(*at) < Duration::from_millis(300)
                })
            };
            members.push(if speaking { format!("*{name}") } else { name });
        }
    }
    let db = if level > 0.0 {
        20.0 * level.log10()
    } else {
        -99.0
    };
    let bars = (((db + 60.0) / 60.0).clamp(0.0, 1.0) * 10.0).round() as usize;
    let meter = format!("{}{}", "#".repeat(bars), ".".repeat(10 - bars));
    let (mut received, mut lost) = (0u64, 0u64);
    for remote in voice.receiver().voices() {
        let s = remote.stats();
        received += s.frames_received;
        lost += s.lost;
    }
    let loss = if received + lost > 0 {
        100.0 * lost as f64 / (received + lost) as f64
    } else {
        0.0
    };
    let rtt = client.stats().map_or("-".to_owned(), |s| {
        format!("{:.1} ms", s.rtt.as_secs_f64() * 1000.0)
    });
    format!(
        "[{}] room: {} | in [{meter}] {db:>5.1} dB | rtt {rtt} loss {loss:.1}%",
        if talking { "TALK" } else { "    " },
        members.join(" "),
    )
}
