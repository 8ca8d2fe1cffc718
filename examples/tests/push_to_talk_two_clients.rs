//! Two push-to-talk clients against an in-process server, with WAV input and
//! output: while A holds the key, A's speech arrives in B's output; after A
//! releases it, B's output goes silent.

#[path = "../push-to-talk/app.rs"]
mod app;

use app::{Input, Output, PttConfig, Step, TalkState};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use transport::Protocol;
use voice_server::config::{Config, Role};
use voice_server::run::{start, StartOptions};

fn speech() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../voice-client/assets/speech16k.wav")
}

fn mean_rms(ticks: &[app::Tick], from: Instant, to: Instant) -> (f32, usize) {
    let window: Vec<f32> = ticks
        .iter()
        .filter(|t| t.at >= from && t.at < to)
        .map(|t| t.output_rms)
        .collect();
    let n = window.len();
    (window.iter().sum::<f32>() / n.max(1) as f32, n)
}

#[test]
fn holding_the_key_sends_releasing_it_stops() {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let d = server
        .block_on(start(Config::loopback(), StartOptions::default()))
        .expect("deployment starts");
    let url = d.url(Role::Name, Protocol::Udp).unwrap();
    let out_path = std::env::temp_dir().join(format!("ptt-test-{}-b.wav", std::process::id()));

    let mut b = PttConfig::new(url.clone(), "ptt-test", "bob");
    b.input = Input::Silence;
    b.output = Output::Wav(out_path.clone());
    b.record = true;
    b.script = Some(app::parse_script("wait:8000,quit").unwrap());
    let listener = std::thread::spawn(move || app::run(&b, None, &mut std::io::sink(), false));
    std::thread::sleep(Duration::from_millis(1500));
    let mut a = PttConfig::new(url, "ptt-test", "alice");
    a.input = Input::Wav(speech());
    a.output = Output::Discard;
    a.record = true;
    a.script = Some(vec![
        Step::Wait(Duration::from_millis(1000)),
        Step::Down(Duration::from_millis(2500)),
        Step::Up(Duration::from_millis(2500)),
        Step::Quit,
    ]);
    let talker = std::thread::spawn(move || app::run(&a, None, &mut std::io::sink(), false));
    let a = talker.join().unwrap().expect("alice runs");
    let b = listener.join().unwrap().expect("bob runs");

    let down = a.ticks.iter().find(|t| t.talking).expect("alice talked").at;
    let up = a
        .ticks
        .iter()
        .find(|t| !t.talking && t.at > down)
        .expect("alice released")
        .at;
    let held = up - down;
    assert!(held >= Duration::from_millis(2400), "held {held:?}");
    assert!(
        a.frames_sent >= 50 && a.frames_sent <= 130,
        "frames sent while held 2.5 s: {}",
        a.frames_sent
    );

    let ms = Duration::from_millis;
    let (before, n_before) = mean_rms(&b.ticks, down - ms(900), down);
    let (talking, n_talking) = mean_rms(&b.ticks, down + ms(300), up);
    let (after, n_after) = mean_rms(&b.ticks, up + ms(600), up + ms(2400));
    assert!(
        n_before > 20 && n_talking > 80 && n_after > 60,
        "{n_before} {n_talking} {n_after}"
    );
    eprintln!(
        "bob's output rms: before {before:.6}, held {talking:.4}, after release {after:.6}; alice sent {} frames",
        a.frames_sent
    );
    assert!(before < 1e-4, "silence before the key: rms {before}");
    assert!(talking > 0.01, "alice's speech reached bob: rms {talking}");
    assert!(after < 1e-4, "silence after the release: rms {after}");

    // The WAV file holds the same audio: one 20 ms frame per tick.
    let (rate, channels, samples) = voice_client::audio::read_wav(&out_path).unwrap();
    assert_eq!((rate, channels), (48_000, 1));
    assert_eq!(samples.len(), b.ticks.len() * 960);
    let energy: f32 = samples.iter().map(|s| s * s).sum();
    assert!(energy > 1.0, "the file is not silent: {energy}");

    // And it is Alice's speech: what Alice captured while holding the key,
    // against what Bob's file holds from the press to 500 ms after the release.
    let index = |ticks: &[app::Tick], at: Instant| ticks.iter().take_while(|t| t.at < at).count();
    let (a_from, a_to) = (index(&a.ticks, down), index(&a.ticks, up));
    let reference = &a.input[a_from * 960..a_to * 960];
    let (b_from, b_to) = (index(&b.ticks, down), index(&b.ticks, up + ms(500)));
    let heard = &samples[b_from * 960..b_to * 960];
    let c = voice_client::analysis::compare(reference, heard, 48_000, 48_000 / 2);
    eprintln!("correlation of bob's output with alice's input: {c:?}");
    assert!(c.segmental > 0.5, "bob's output is alice's speech: {c:?}");
    let _ = std::fs::remove_file(&out_path);
    server.block_on(d.shutdown());
}

#[test]
fn scripts_parse_and_bad_ones_are_explained() {
    assert_eq!(
        app::parse_script("wait:1000, down:2000,up:1500,toggle,quit").unwrap(),
        vec![
            Step::Wait(Duration::from_millis(1000)),
            Step::Down(Duration::from_millis(2000)),
            Step::Up(Duration::from_millis(1500)),
            Step::Toggle,
            Step::Quit
        ]
    );
    assert!(app::parse_script("down").unwrap_err().contains("down:MS"));
    assert!(app::parse_script("up:soon")
        .unwrap_err()
        .contains("not a number"));
    assert!(app::parse_script("jump:5")
        .unwrap_err()
        .contains("unknown script step"));
}

#[test]
fn key_repeats_hold_and_their_end_releases() {
    let release = Duration::from_millis(300);
    let t0 = Instant::now();
    let ms = |n| t0 + Duration::from_millis(n);
    let mut talk = TalkState::default();
    assert!(!talk.talking(t0));
    talk.key_space(t0, release);
    // The first press outlasts the terminal's repeat delay (~500 ms).
    assert!(talk.talking(ms(550)));
    for n in (550..1500).step_by(40) {
        talk.key_space(ms(n), release);
        assert!(talk.talking(ms(n + 20)));
    }
    // Repeats stopped at ~1.5 s: released within 300 ms.
    assert!(talk.talking(ms(1700)));
    assert!(!talk.talking(ms(1800)));
    talk.toggled = true;
    assert!(talk.talking(ms(5000)), "the toggle talks without keys");
}
