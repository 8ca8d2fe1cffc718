//! Smoke test of the load-testing harness (`examples/loadtest`): its logic runs
//! in-process against an in-process deployment on loopback for about two
//! seconds with a few bots; the summary's fields and the delivery are checked.
//! No speed is asserted.

#[path = "../loadtest/harness/mod.rs"]
#[allow(dead_code)]
mod harness;

use bytes::{Bytes, BytesMut};
use harness::bot::{parse_payload, parse_raw_event, write_frame, PAYLOAD_MIN};
use harness::{name_server_url, LoadConfig};
use std::time::Duration;
use transport::codec::{
    write_raw_event_header, Limits, Message, RawRouting, RawSend, ReceiverGroup,
    RAW_EVENT_HEADER_MAX,
};
use transport::runtime::ClientConfig;
use transport::Protocol;
use voice_server::config::{Config, Role};
use voice_server::run::{start, Deployment, StartOptions};

async fn deploy() -> Deployment {
    start(Config::loopback(), StartOptions::default())
        .await
        .expect("deployment starts")
}

fn load_config(name_url: String) -> LoadConfig {
    LoadConfig {
        name_url,
        rooms: 2,
        clients_per_room: 4,
        speakers_per_room: 2,
        frame: Duration::from_millis(20),
        payload_bytes: 60,
        encrypt: false,
        duration: Duration::from_secs(2),
        warmup: Duration::from_millis(500),
        drain: Duration::from_millis(500),
        server_pid: None,
        app_id: "loadtest".into(),
        app_version: "1".into(),
        room_prefix: "load-".into(),
        client: ClientConfig::default(),
        connect_concurrency: 8,
        connect_retries: 1,
        min_delivery: 0.99,
        progress: false,
        voice: None,
        voice_file: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voice_bots_send_real_opus_frames_and_the_summary_holds() {
    let speech = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../voice-client/assets/speech16k.wav"
    );
    let packets = harness::voice::encode_wav(speech.as_ref(), Duration::from_millis(20))
        .expect("speech encodes");
    // 5.6 s of speech at 20 ms: a few hundred packets of real, varying sizes.
    assert!(packets.len() > 200, "{} packets", packets.len());
    let sizes: std::collections::BTreeSet<usize> = packets.iter().map(|p| p.len()).collect();
    assert!(sizes.len() > 5, "Opus packet sizes vary: {sizes:?}");
    let deployment = deploy().await;
    let url = deployment.url(Role::Name, Protocol::Udp).expect("udp name");
    let mut config = load_config(url);
    config.voice = Some(std::sync::Arc::new(packets));
    config.voice_file = Some(speech.to_owned());
    let summary = tokio::time::timeout(Duration::from_secs(60), harness::run(&config))
        .await
        .expect("run finishes")
        .expect("run succeeds");
    assert!(summary.frames_sent > 0);
    assert_eq!(summary.frames_expected, summary.frames_sent * 3);
    assert!(summary.delivery_ratio >= 0.95, "{summary:?}");
    assert_eq!(summary.voice.as_deref(), Some(speech));
    let mean = summary.voice_payload_mean_bytes.expect("mean payload");
    assert!(mean > 24.0 + 20.0, "header plus a real Opus packet: {mean}");
    let json = serde_json::to_value(&summary).unwrap();
    assert!(json["voice_payload_mean_bytes"].as_f64().is_some());
    assert!(json["latency_ms"]["p99"].as_f64().is_some());
    let svg = harness::plot::render_svg(&summary);
    assert!(
        svg.contains("<svg") && svg.contains("p99"),
        "the plot still draws"
    );
    deployment.shutdown().await;
}

#[test]
fn voice_refuses_frame_durations_opus_lacks() {
    let speech = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../voice-client/assets/speech16k.wav"
    );
    let error = harness::voice::encode_wav(speech.as_ref(), Duration::from_millis(25)).unwrap_err();
    assert!(error.contains("--frame-ms 10, 20, 40 or 60"), "{error}");
    let error = harness::voice::encode_wav("/nonexistent.wav".as_ref(), Duration::from_millis(20))
        .unwrap_err();
    assert!(error.contains("cannot read"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_connect_speak_and_the_summary_adds_up() {
    let deployment = deploy().await;
    let url = deployment.url(Role::Name, Protocol::Udp).expect("udp name");
    let mut config = load_config(url);
    // The server runs in this process: its CPU is this process's CPU.
    config.server_pid = Some(std::process::id());
    let summary = tokio::time::timeout(Duration::from_secs(60), harness::run(&config))
        .await
        .expect("the run ends")
        .expect("the run starts");
    deployment.shutdown().await;

    assert_eq!(summary.clients, 8, "{summary:#?}");
    assert_eq!(summary.clients_requested, 8);
    assert_eq!(summary.connect_failures, 0, "{:?}", summary.connect_errors);
    assert_eq!(summary.rooms, 2);
    assert_eq!(summary.speakers, 4);
    assert_eq!(summary.send_errors, 0);
    // 4 speakers × 2 s / 20 ms = 400 frames in the window; the edges may move
    // by a frame or so per speaker if a wake-up is late.
    assert!(
        (380..=420).contains(&summary.frames_sent),
        "frames sent {}",
        summary.frames_sent
    );
    // Each frame is expected at the 3 other clients of its room.
    assert_eq!(summary.frames_expected, summary.frames_sent * 3);
    assert!(summary.frames_delivered <= summary.frames_expected);
    assert!(
        summary.delivery_ratio >= 0.95,
        "delivery {} ({summary:#?})",
        summary.delivery_ratio
    );
    assert_eq!(summary.duplicates, 0);
    assert_eq!(summary.foreign_frames, 0);
    assert_eq!(summary.disconnects, 0);
    let l = summary.latency_ms;
    let (p50, p95, p99, max) = (
        l.p50.unwrap(),
        l.p95.unwrap(),
        l.p99.unwrap(),
        l.max.unwrap(),
    );
    assert!(
        0.0 <= p50 && p50 <= p95 && p95 <= p99 && p99 <= max,
        "{l:?}"
    );
    assert_eq!(summary.per_second.len(), 2);
    assert_eq!(
        summary.per_second.iter().map(|s| s.delivered).sum::<u64>(),
        summary.frames_delivered
    );
    assert_eq!(
        summary.per_second.iter().map(|s| s.sent).sum::<u64>(),
        summary.frames_sent
    );
    let cpu = summary.server_cpu_s.expect("pid given");
    assert!(cpu >= 0.0);
    assert!(summary.server_cpu_us_per_delivered_frame.is_some());

    // The JSON carries the documented fields.
    let json = serde_json::to_value(&summary).unwrap();
    for key in [
        "clients",
        "rooms",
        "speakers",
        "duration_s",
        "frames_sent",
        "frames_expected",
        "frames_delivered",
        "delivery_ratio",
        "latency_ms",
        "connect_failures",
        "server_cpu_s",
        "server_cpu_us_per_delivered_frame",
    ] {
        assert!(json.get(key).is_some(), "{key} missing in {json}");
    }
    for key in ["p50", "p95", "p99", "max"] {
        assert!(json["latency_ms"][key].is_number(), "latency_ms.{key}");
    }
    assert_eq!(json["duration_s"], 2.0);

    let text = harness::render_summary(&summary);
    assert!(text.contains("clients 8/8 in 2 rooms"), "{text}");
    let svg = harness::plot::render_svg(&summary);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<polyline").count(), 4, "{svg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_frames_arrive_encrypted_and_cpu_is_null_without_a_pid() {
    let deployment = deploy().await;
    let url = deployment.url(Role::Name, Protocol::Udp).expect("udp name");
    let mut config = load_config(url);
    config.rooms = 1;
    config.clients_per_room = 3;
    config.speakers_per_room = 1;
    config.encrypt = true;
    config.duration = Duration::from_secs(1);
    config.warmup = Duration::from_millis(200);
    let summary = tokio::time::timeout(Duration::from_secs(60), harness::run(&config))
        .await
        .expect("the run ends")
        .expect("the run starts");
    deployment.shutdown().await;

    assert_eq!(summary.clients, 3);
    assert!(summary.encrypt);
    assert!(summary.frames_sent > 0);
    assert_eq!(summary.frames_expected, summary.frames_sent * 2);
    assert!(summary.frames_delivered > 0);
    assert_eq!(summary.unencrypted_frames, 0);
    assert_eq!(summary.server_cpu_s, None);
    let json = serde_json::to_value(&summary).unwrap();
    assert!(json["server_cpu_us_per_delivered_frame"].is_null());
}

#[tokio::test]
async fn nothing_listening_is_an_error_naming_the_server() {
    // A port that was free a moment ago: nothing answers there.
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    drop(socket);
    let mut config = load_config(format!("udp://127.0.0.1:{port}"));
    config.rooms = 1;
    config.clients_per_room = 2;
    config.speakers_per_room = 1;
    config.connect_retries = 0;
    config.client.connect_timeout = Duration::from_millis(500);
    let error = harness::run(&config).await.expect_err("nobody listens");
    assert!(error.contains("no bot could connect"), "{error}");
}

#[test]
fn frames_are_raw_sends_to_the_others_and_parse_back() {
    let mut buf = BytesMut::new();
    write_frame(&mut buf, 7, 3, 12345, 987_654_321, 60);
    let wire: Bytes = buf.freeze();
    assert_eq!(wire.len(), 4 + 60);
    // Same bytes as the codec's encoding of a RawSend to the others.
    let message = Message::decode(&wire, &Limits::default()).expect("decodes");
    let Message::RawSend(raw) = message else {
        panic!("not a raw send: {message:?}")
    };
    assert_eq!(raw.routing.receivers, ReceiverGroup::Others);
    assert!(raw.targets.is_empty());
    let mut encoded = Vec::new();
    Message::RawSend(RawSend {
        routing: RawRouting::default(),
        targets: vec![],
        payload: raw.payload.clone(),
    })
    .encode(&mut encoded, &Limits::default())
    .unwrap();
    assert_eq!(encoded, wire.to_vec());
    let info = parse_payload(&raw.payload).expect("parses");
    assert_eq!(
        (info.room, info.slot, info.seq, info.send_ns),
        (7, 3, 12345, 987_654_321)
    );

    // As the relay forwards it: RawEvent header with the sender, same payload.
    for sender in [1, 63, 64, 8191, 8192, -5, i32::MAX] {
        let mut header = [0u8; RAW_EVENT_HEADER_MAX];
        let n = write_raw_event_header(sender, &mut header);
        let mut relayed = header[..n].to_vec();
        relayed.extend_from_slice(&raw.payload);
        let (got, info2) = parse_raw_event(&relayed).expect("parses");
        assert_eq!((got, info2), (sender, info));
    }
    // Short or foreign payloads are refused, not misread.
    assert!(parse_payload(&raw.payload[..PAYLOAD_MIN - 1]).is_none());
    assert!(parse_payload(&[0u8; 64]).is_none());
    assert!(parse_raw_event(&[0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]).is_none());
}

#[test]
fn server_argument_gets_the_photon_port_of_the_protocol() {
    let url = |s: &str, p| name_server_url(s, p).unwrap();
    assert_eq!(url("127.0.0.1", Protocol::Udp), "udp://127.0.0.1:5058");
    assert_eq!(url("localhost", Protocol::Tcp), "tcp://localhost:4533");
    assert_eq!(url("h", Protocol::Ws), "ws://h:9093/NameServer");
    assert_eq!(url("h:1234", Protocol::Wss), "wss://h:1234/NameServer");
    assert_eq!(url("::1", Protocol::Udp), "udp://[::1]:5058");
    assert_eq!(url("[::1]:7000", Protocol::Udp), "udp://[::1]:7000");
    assert_eq!(url("udp://x:1", Protocol::Tcp), "udp://x:1");
    assert!(name_server_url("h:port", Protocol::Udp)
        .unwrap_err()
        .contains("port"));
    assert!(name_server_url("", Protocol::Udp).is_err());
}

#[test]
fn bad_settings_name_the_argument() {
    let base = load_config("udp://127.0.0.1:5058".into());
    let check = |change: fn(&mut LoadConfig), flag: &str| {
        let mut c = base.clone();
        change(&mut c);
        let e = c.validate().expect_err(flag);
        assert!(e.contains(flag), "{e}");
    };
    check(|c| c.rooms = 0, "--rooms");
    check(|c| c.clients_per_room = 1, "--clients-per-room");
    check(|c| c.speakers_per_room = 5, "--speakers-per-room");
    check(|c| c.payload_bytes = 10, "--payload-bytes");
    check(|c| c.frame = Duration::ZERO, "--frame-ms");
    check(|c| c.duration = Duration::ZERO, "--duration");
    check(|c| c.min_delivery = 1.5, "--min-delivery");
    assert!(base.validate().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_run_connects_everyone_and_sends_nothing() {
    let deployment = deploy().await;
    let url = deployment.url(Role::Name, Protocol::Udp).expect("udp name");
    let mut config = load_config(url);
    config.speakers_per_room = 0;
    config.duration = Duration::from_secs(1);
    let summary = tokio::time::timeout(Duration::from_secs(60), harness::run(&config))
        .await
        .expect("the run ends")
        .expect("the run starts");
    deployment.shutdown().await;
    assert_eq!(summary.clients, 8, "{summary:#?}");
    assert_eq!(summary.connect_failures, 0, "{:?}", summary.connect_errors);
    assert_eq!(summary.speakers, 0);
    assert_eq!(summary.frames_sent, 0);
    assert_eq!(summary.frames_expected, 0);
    assert_eq!(summary.delivery_ratio, 1.0);
    assert!(summary.passed);
}
