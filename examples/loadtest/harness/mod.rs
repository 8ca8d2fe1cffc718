//! The load test itself, independent of the command line (the smoke test runs
//! it in-process): connect every bot through the real flow, let speakers send
//! for warm-up + duration, count delivery and latency, summarise.

use bytes::Bytes;

pub mod bot;
pub mod cpu;
pub mod flow;
pub mod plot;
pub mod stats;
pub mod voice;

use bot::Plan;
use flow::FlowSettings;
use indicatif::{ProgressBar, ProgressStyle};
use stats::{Recorder, SecondStats, Snapshot, Summary};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use transport::runtime::ClientConfig;
use transport::Protocol;

/// Photon's default name server port for a protocol (14533 for `tls://`, this
/// project's TLS-over-TCP port).
pub fn default_name_port(protocol: Protocol) -> u16 {
    match protocol {
        Protocol::Udp => 5058,
        Protocol::Tcp => 4533,
        Protocol::Ws => 9093,
        Protocol::Wss => 19093,
        Protocol::Tls => 14533,
    }
}

/// The name server URL for `--server` (`HOST`, `HOST:PORT`, `[V6]:PORT`, or a
/// full `scheme://` URL, taken as is) and a protocol.
pub fn name_server_url(server: &str, protocol: Protocol) -> Result<String, String> {
    let server = server.trim();
    if server.contains("://") {
        return Ok(server.to_owned());
    }
    if server.is_empty() {
        return Err("--server is empty: give HOST or HOST:PORT, e.g. 127.0.0.1:5058".into());
    }
    let (host, port) = if let Some(rest) = server.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("--server {server:?}: missing ']' after an IPv6 address"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(format!("--server {server:?}: expected [IPV6]:PORT")),
        };
        (format!("[{host}]"), port)
    } else if server.matches(':').count() > 1 {
        (format!("[{server}]"), None) // a bare IPv6 address
    } else {
        match server.split_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (server.to_owned(), None),
        }
    };
    let port = match port {
        Some(p) => p.parse::<u16>().map_err(|_| {
            format!("--server {server:?}: port {p:?} is not a number from 1 to 65535")
        })?,
        None => default_name_port(protocol),
    };
    let path = match protocol {
        Protocol::Ws | Protocol::Wss => "/NameServer",
        _ => "",
    };
    Ok(format!("{}://{host}:{port}{path}", protocol.scheme()))
}

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Name server URL (see [`name_server_url`]).
    pub name_url: String,
    /// Rooms (named `{room_prefix}0`, `{room_prefix}1`, ...).
    pub rooms: usize,
    /// Bots per room.
    pub clients_per_room: usize,
    /// Speaking bots per room.
    pub speakers_per_room: usize,
    /// Frame interval.
    pub frame: Duration,
    /// Payload bytes per frame (at least [`bot::PAYLOAD_MIN`]).
    pub payload_bytes: usize,
    /// Encrypt frames (and establish encryption on the game server).
    pub encrypt: bool,
    /// Measured window.
    pub duration: Duration,
    /// Sending before the window, not counted.
    pub warmup: Duration,
    /// How long listeners wait after the window for frames in flight.
    pub drain: Duration,
    /// Server process whose CPU is measured.
    pub server_pid: Option<u32>,
    /// Application id and version for the name server.
    pub app_id: String,
    /// Application version.
    pub app_version: String,
    /// Room name prefix.
    pub room_prefix: String,
    /// Transport client settings (TLS trust for WSS).
    pub client: ClientConfig,
    /// Bots going through the flow at the same time.
    pub connect_concurrency: usize,
    /// Extra attempts per bot when the flow fails.
    pub connect_retries: u32,
    /// Delivery ratio below which the run fails.
    pub min_delivery: f64,
    /// Draw progress bars on the terminal.
    pub progress: bool,
    /// Real Opus packets (from `--voice FILE.wav`) sent after the frame header
    /// instead of padding; `None` pads to `payload_bytes`.
    pub voice: Option<Arc<Vec<Bytes>>>,
    /// The file the voice packets came from (for the summary).
    pub voice_file: Option<String>,
}

impl LoadConfig {
    /// Checks the values; the error names the argument and the fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.rooms == 0 {
            return Err("--rooms must be at least 1".into());
        }
        if self.clients_per_room < 2 {
            return Err("--clients-per-room must be at least 2 (a speaker and a listener)".into());
        }
        // 0 speakers: an idle run (connected bots in rooms, no frames) that
        // measures what idle peers and rooms cost the server.
        if self.speakers_per_room > self.clients_per_room {
            return Err(format!(
                "--speakers-per-room must be from 0 (idle) to --clients-per-room ({})",
                self.clients_per_room
            ));
        }
        if self.speakers_per_room > usize::from(u16::MAX) {
            return Err("--speakers-per-room must be at most 65535".into());
        }
        if self.frame < Duration::from_millis(1) || self.frame > Duration::from_secs(1) {
            return Err("--frame-ms must be from 1 to 1000".into());
        }
        if self.payload_bytes < bot::PAYLOAD_MIN || self.payload_bytes > 65_536 {
            return Err(format!(
                "--payload-bytes must be from {} (the frame's sequence number and timestamp) to 65536",
                bot::PAYLOAD_MIN
            ));
        }
        if self.duration.is_zero() {
            return Err("--duration must be above 0".into());
        }
        if !(0.0..=1.0).contains(&self.min_delivery) {
            return Err("--min-delivery must be from 0 to 1 (e.g. 0.99)".into());
        }
        if self.connect_concurrency == 0 {
            return Err("--connect-concurrency must be at least 1".into());
        }
        Ok(())
    }
}

fn bar(progress: bool, len: u64, template: &str) -> ProgressBar {
    if !progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// A bot in its room, ready to run.
struct Member {
    slot: u16,
    joined: flow::Joined,
}

/// Connects every bot, with `connect_concurrency` flows at a time.
async fn connect_all(
    config: &LoadConfig,
    recorder: &Recorder,
    errors: &mut Vec<String>,
) -> Vec<Vec<Member>> {
    let total = (config.rooms * config.clients_per_room) as u64;
    let progress = bar(
        config.progress,
        total,
        "connecting {bar:40} {pos}/{len} bots ({elapsed}) {msg}",
    );
    let settings = Arc::new(FlowSettings {
        name_url: config.name_url.clone(),
        app_id: config.app_id.clone(),
        app_version: config.app_version.clone(),
        encrypt_game: config.encrypt,
        client: config.client.clone(),
    });
    let permits = Arc::new(tokio::sync::Semaphore::new(config.connect_concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    // Bots enter room by room, so rooms fill in order (and each is created once).
    for room in 0..config.rooms {
        for slot in 0..config.clients_per_room {
            let settings = settings.clone();
            let permits = permits.clone();
            let retries = config.connect_retries;
            let room_name = format!("{}{room}", config.room_prefix);
            let user = format!("{}{room}-bot-{slot}", config.room_prefix);
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let mut attempt = 0;
                loop {
                    match flow::enter_room(&settings, &user, &room_name).await {
                        Ok(joined) => return (room, slot, Ok(joined)),
                        Err(e) if attempt >= retries => return (room, slot, Err(e)),
                        Err(_) => {
                            attempt += 1;
                            tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt)))
                                .await;
                        }
                    }
                }
            });
        }
    }
    let mut rooms: Vec<Vec<Member>> = (0..config.rooms).map(|_| Vec::new()).collect();
    while let Some(result) = tasks.join_next().await {
        progress.inc(1);
        match result {
            Ok((room, slot, Ok(joined))) => {
                recorder.counters.connected.fetch_add(1, Relaxed);
                rooms[room].push(Member {
                    slot: slot as u16,
                    joined,
                });
            }
            Ok((_, _, Err(e))) => {
                recorder.counters.connect_failures.fetch_add(1, Relaxed);
                if errors.len() < 5 {
                    errors.push(e);
                }
                progress.set_message(format!(
                    "{} failed",
                    recorder.counters.connect_failures.load(Relaxed)
                ));
            }
            Err(e) => {
                recorder.counters.connect_failures.fetch_add(1, Relaxed);
                if errors.len() < 5 {
                    errors.push(format!("bot task failed: {e}"));
                }
            }
        }
    }
    progress.finish();
    rooms
}

/// CPU seconds of the server (if a pid was given) and of this process, and
/// the machine's UDP receive-buffer drops.
fn cpu_now(server_pid: Option<u32>) -> (Option<f64>, Option<f64>, Option<u64>) {
    (
        server_pid.and_then(|pid| cpu::cpu_seconds(pid).ok()),
        cpu::own_cpu_seconds().ok(),
        cpu::udp_receive_buffer_errors(),
    )
}

/// Runs the load test and returns its summary. Errors are setup problems
/// (bad settings, unreadable server process, no bot connected).
pub async fn run(config: &LoadConfig) -> Result<Summary, String> {
    config.validate()?;
    if let Some(pid) = config.server_pid {
        cpu::cpu_seconds(pid)?;
    }
    let window_seconds = config.duration.as_secs_f64().ceil() as usize;
    let recorder = Arc::new(Recorder::new(window_seconds));
    let mut connect_errors = Vec::new();
    let connect_started = Instant::now();
    let rooms = connect_all(config, &recorder, &mut connect_errors).await;
    let connect_s = connect_started.elapsed().as_secs_f64();
    let connected = recorder.counters.connected.load(Relaxed);
    if connected == 0 {
        return Err(format!(
            "no bot could connect to {}: {}",
            config.name_url,
            connect_errors.first().map(String::as_str).unwrap_or("")
        ));
    }

    let frame_ns = config.frame.as_nanos() as u64;
    let window_start_ns = config.warmup.as_nanos() as u64;
    let window_end_ns = window_start_ns + config.duration.as_nanos() as u64;
    let start = Instant::now() + Duration::from_millis(200);
    let stop = start + Duration::from_nanos(window_end_ns) + config.drain;
    let plan = Arc::new(Plan {
        start,
        window_start_ns,
        window_end_ns,
        stop,
        frame_ns,
        payload_bytes: config.payload_bytes,
        voice: config.voice.clone(),
        encrypt: config.encrypt,
        speakers_per_room: config.speakers_per_room,
        max_frames: (window_end_ns / frame_ns) as usize + 2,
        recorder: recorder.clone(),
    });

    let total_speakers = (config.rooms * config.speakers_per_room) as u64;
    let mut tasks = tokio::task::JoinSet::new();
    let mut clients = Vec::new();
    let mut speakers = 0u64;
    for (room, members) in rooms.into_iter().enumerate() {
        let others = members.len().saturating_sub(1) as u64;
        let mut actors = vec![None; config.speakers_per_room];
        for member in &members {
            if let Some(a) = actors.get_mut(usize::from(member.slot)) {
                *a = Some(member.joined.actor);
            }
        }
        let actors = Arc::new(actors);
        for member in members {
            let flow::Joined { client, events, .. } = member.joined;
            clients.push(client.clone());
            tasks.spawn(bot::listen(
                events,
                room as u32,
                member.slot,
                actors.clone(),
                plan.clone(),
            ));
            if usize::from(member.slot) < config.speakers_per_room {
                speakers += 1;
                // Spread speakers evenly over one frame interval.
                let index = (room * config.speakers_per_room) as u64 + u64::from(member.slot);
                let offset = frame_ns * index / total_speakers.max(1);
                tasks.spawn(bot::speak(
                    client,
                    room as u32,
                    member.slot,
                    offset,
                    others,
                    plan.clone(),
                ));
            }
        }
    }

    // CPU at the window's edges, sampled by its own task so progress does not delay it.
    let server_pid = config.server_pid;
    let window_start = start + Duration::from_nanos(window_start_ns);
    let window_end = start + Duration::from_nanos(window_end_ns);
    let cpu_task = tokio::spawn(async move {
        tokio::time::sleep_until(window_start).await;
        let before = cpu_now(server_pid);
        tokio::time::sleep_until(window_end).await;
        let after = cpu_now(server_pid);
        let delta = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
        let drops = after.2.zip(before.2).map(|(a, b)| a.saturating_sub(b));
        (delta(before.0, after.0), delta(before.1, after.1), drops)
    });

    let total_ms = (stop - start).as_millis() as u64;
    let progress = bar(
        config.progress,
        total_ms / 1000,
        "{prefix:>8} {bar:40} {pos}/{len} s {msg}",
    );
    let counters = &recorder.counters;
    while Instant::now() < stop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = Instant::now();
        let elapsed_ns = now.saturating_duration_since(start).as_nanos() as u64;
        progress.set_position(elapsed_ns / 1_000_000_000);
        let phase = if elapsed_ns < window_start_ns {
            "warm-up"
        } else if elapsed_ns < window_end_ns {
            "measure"
        } else {
            "drain"
        };
        progress.set_prefix(phase);
        let expected = counters.frames_expected.load(Relaxed);
        let delivered = counters.frames_delivered.load(Relaxed);
        if expected > 0 {
            progress.set_message(format!(
                "sent {} delivered {delivered}/{expected} ({:.4})",
                counters.frames_sent.load(Relaxed),
                delivered as f64 / expected as f64
            ));
        }
    }
    while tasks.join_next().await.is_some() {}
    progress.finish_and_clear();
    let (server_cpu_s, harness_cpu_s, udp_drops) = cpu_task.await.unwrap_or((None, None, None));
    for client in &clients {
        client.disconnect();
    }
    // Let the goodbyes go out before the runtime may stop.
    tokio::time::sleep(Duration::from_millis(200)).await;

    Ok(summarise(
        config,
        &recorder,
        RunFacts {
            speakers,
            connect_s,
            connect_errors,
            server_cpu_s,
            harness_cpu_s,
            udp_receive_buffer_drops: udp_drops,
        },
    ))
}

/// What the run measured besides the recorder's counters.
struct RunFacts {
    speakers: u64,
    connect_s: f64,
    connect_errors: Vec<String>,
    server_cpu_s: Option<f64>,
    harness_cpu_s: Option<f64>,
    udp_receive_buffer_drops: Option<u64>,
}

fn summarise(config: &LoadConfig, recorder: &Recorder, facts: RunFacts) -> Summary {
    let RunFacts {
        speakers,
        connect_s,
        connect_errors,
        server_cpu_s,
        harness_cpu_s,
        udp_receive_buffer_drops,
    } = facts;
    let counters = &recorder.counters;
    let mut all = Snapshot::default();
    let mut per_second = Vec::new();
    for (second, histogram) in recorder.per_second.iter().enumerate() {
        let snapshot = histogram.snapshot();
        all.merge(&snapshot);
        per_second.push(SecondStats {
            second,
            sent: recorder.sent_per_second[second].load(Relaxed),
            delivered: recorder.delivered_per_second[second].load(Relaxed),
            latency_ms: snapshot.latency_ms(),
        });
    }
    let expected = counters.frames_expected.load(Relaxed);
    let delivered = counters.frames_delivered.load(Relaxed);
    let delivery_ratio = if expected == 0 {
        1.0
    } else {
        delivered as f64 / expected as f64
    };
    let duration_s = config.duration.as_secs_f64();
    let connect_failures = counters.connect_failures.load(Relaxed);
    let round = |v: f64, digits: i32| {
        let scale = 10f64.powi(digits);
        (v * scale).round() / scale
    };
    Summary {
        clients: counters.connected.load(Relaxed),
        clients_requested: (config.rooms * config.clients_per_room) as u64,
        rooms: config.rooms as u64,
        speakers,
        protocol: config
            .name_url
            .split("://")
            .next()
            .unwrap_or_default()
            .to_owned(),
        encrypt: config.encrypt,
        frame_ms: config.frame.as_millis() as u64,
        payload_bytes: config.payload_bytes,
        voice: config.voice_file.clone(),
        voice_payload_mean_bytes: config.voice.as_ref().map(|packets| {
            let total: usize = packets.iter().map(|p| p.len() + bot::PAYLOAD_MIN).sum();
            round(total as f64 / packets.len() as f64, 1)
        }),
        warmup_s: config.warmup.as_secs_f64(),
        duration_s,
        connect_s: round(connect_s, 3),
        frames_sent: counters.frames_sent.load(Relaxed),
        frames_expected: expected,
        frames_delivered: delivered,
        delivery_ratio: round(delivery_ratio, 6),
        delivered_per_second: round(delivered as f64 / duration_s, 1),
        latency_ms: all.latency_ms(),
        send_lag_ms: recorder.send_lag.snapshot().latency_ms(),
        connect_failures,
        connect_errors,
        duplicates: counters.duplicates.load(Relaxed),
        foreign_frames: counters.foreign_frames.load(Relaxed),
        unencrypted_frames: counters.unencrypted_frames.load(Relaxed),
        send_errors: counters.send_errors.load(Relaxed),
        disconnects: counters.disconnects.load(Relaxed),
        server_cpu_s: server_cpu_s.map(|s| round(s, 3)),
        server_cpu_us_per_delivered_frame: server_cpu_s
            .filter(|_| delivered > 0)
            .map(|s| round(s * 1e6 / delivered as f64, 3)),
        harness_cpu_s: harness_cpu_s.map(|s| round(s, 3)),
        udp_receive_buffer_drops,
        min_delivery: config.min_delivery,
        passed: delivery_ratio >= config.min_delivery && connect_failures == 0,
        per_second,
    }
}

/// The summary as text for the terminal.
pub fn render_summary(s: &Summary) -> String {
    let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2}"));
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    let payload = match (&s.voice, s.voice_payload_mean_bytes) {
        (Some(file), Some(mean)) => format!("Opus speech from {file}, mean payload {mean} B"),
        _ => format!("payload {} B", s.payload_bytes),
    };
    line(format!(
        "clients {}/{} in {} rooms, {} speakers, {} {}, frame {} ms, {payload}",
        s.clients,
        s.clients_requested,
        s.rooms,
        s.speakers,
        s.protocol,
        if s.encrypt { "encrypted" } else { "plain" },
        s.frame_ms,
    ));
    line(format!(
        "connect: {:.1} s, {} failures",
        s.connect_s, s.connect_failures
    ));
    for e in &s.connect_errors {
        line(format!("  connect error: {e}"));
    }
    line(format!(
        "window {:.1} s (after {:.1} s warm-up): sent {}, expected {}, delivered {} ({:.4}), {:.0} delivered frames/s",
        s.duration_s,
        s.warmup_s,
        s.frames_sent,
        s.frames_expected,
        s.frames_delivered,
        s.delivery_ratio,
        s.delivered_per_second
    ));
    line(format!(
        "latency ms: p50 {} p95 {} p99 {} max {} (sender lag p99 {} max {})",
        ms(s.latency_ms.p50),
        ms(s.latency_ms.p95),
        ms(s.latency_ms.p99),
        ms(s.latency_ms.max),
        ms(s.send_lag_ms.p99),
        ms(s.send_lag_ms.max)
    ));
    line(format!(
        "duplicates {}, foreign {}, unencrypted {}, send errors {}, disconnects {}",
        s.duplicates, s.foreign_frames, s.unencrypted_frames, s.send_errors, s.disconnects
    ));
    match (s.server_cpu_s, s.server_cpu_us_per_delivered_frame) {
        (Some(cpu), Some(per)) => line(format!(
            "server CPU {cpu:.2} s in the window ({:.0} % of one core), {per:.2} µs per delivered frame",
            cpu / s.duration_s * 100.0
        )),
        (Some(cpu), None) => line(format!("server CPU {cpu:.2} s in the window")),
        _ => line("server CPU: not measured (give --server-pid)".into()),
    }
    if let Some(cpu) = s.harness_cpu_s {
        line(format!(
            "harness CPU {cpu:.2} s ({:.0} % of one core)",
            cpu / s.duration_s * 100.0
        ));
    }
    if let Some(drops) = s.udp_receive_buffer_drops {
        line(format!(
            "UDP datagrams dropped by full receive buffers on this machine in the window: {drops}"
        ));
    }
    out
}
