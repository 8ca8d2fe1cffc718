//! Speech end to end through a real voice-server on loopback: client A reads
//! the speech asset, encodes and sends it in real time; client B receives it
//! through the transport's built-in network simulation (10 % incoming loss,
//! 40 ms jitter, seeded), plays it out through its jitter buffer and writes a
//! WAV file that must match the input (aligned correlation above 0.6). FEC
//! must recover frames, and once the buffer has adapted it must not run dry or
//! hold more than its configured maximum. Push-to-talk off sends nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};
use transport::runtime::ClientConfig;
use transport::{NetworkSimulation, Protocol, TransportConfig};
use voice_client::analysis::{compare, resample_all};
use voice_client::audio::{read_wav, write_wav};
use voice_client::lb::{LbConfig, LoadBalancingClient, RoomOptions};
use voice_client::lb_transport::LoadBalancingTransport;
use voice_client::local::LocalVoiceConfig;
use voice_client::remote::RemoteVoiceConfig;
use voice_client::CodecConfig;
use voice_server::config::{Config, Role};
use voice_server::run::{start, Deployment, StartOptions};

/// Output rate of the receiving side (RemoteVoiceConfig's default).
const OUTPUT_RATE: u32 = 48_000;
/// Time given to the jitter buffer to measure the jitter and settle.
const ADAPTATION: Duration = Duration::from_secs(2);
/// The correlation the received speech must reach (0.877 is seen in-process).
const MIN_CORRELATION: f64 = 0.6;

fn client(d: &Deployment, user: &str, simulation: NetworkSimulation) -> LoadBalancingTransport {
    let mut config = LbConfig::new(d.url(Role::Name, Protocol::Udp).unwrap(), "app");
    config.user_id = Some(user.into());
    let transport = ClientConfig {
        transport: Arc::new(TransportConfig {
            simulation,
            ..TransportConfig::default()
        }),
        ..ClientConfig::default()
    };
    LoadBalancingTransport::new(
        LoadBalancingClient::new(config, transport),
        RemoteVoiceConfig::default(),
    )
}

fn speech_at(rate: u32) -> Vec<f32> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/speech16k.wav");
    let (from, channels, samples) = read_wav(path).unwrap();
    assert_eq!(channels, 1);
    resample_all(&samples, from, rate).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speech_through_the_server_with_loss_and_jitter() {
    tokio::time::timeout(Duration::from_secs(90), async {
        let d = start(Config::loopback(), StartOptions::default())
            .await
            .expect("deployment starts");
        let mut alice = client(&d, "alice", NetworkSimulation::default());
        let lossy = NetworkSimulation {
            enabled: true,
            incoming_loss_percent: 10.0,
            incoming_jitter: Duration::from_millis(40),
            seed: 11,
            ..NetworkSimulation::default()
        };
        let mut bob = client(&d, "bob", lossy);
        alice
            .client()
            .create_room(Some("speech".into()), RoomOptions::default())
            .await
            .expect("create");
        alice.service();
        let codec = CodecConfig::default();
        let id = alice
            .add_local_voice(LocalVoiceConfig {
                codec: codec.clone(),
                ..LocalVoiceConfig::default()
            })
            .expect("voice");
        bob.client().join_room("speech").await.expect("join");

        let frame_samples = codec.format.frame_samples();
        let frame = codec.format.frame_duration.duration();
        let input = speech_at(codec.format.sampling_rate.hz());
        let out_per_frame = (OUTPUT_RATE as u64 * frame.as_micros() as u64 / 1_000_000) as usize;
        let mut output = Vec::with_capacity(input.len() * 3);
        let mut block = vec![0.0f32; out_per_frame];

        // Let bob learn the voice before it speaks.
        let settle = tokio::time::Instant::now() + Duration::from_millis(500);
        while tokio::time::Instant::now() < settle {
            alice.service();
            bob.service();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(
            bob.receiver().voice(1, id).is_some(),
            "bob knows alice's voice"
        );

        // Real time on absolute deadlines: one frame in at A, one frame out at B.
        let frames = input.len() / frame_samples + 50; // plus a second of tail
        let start_at = tokio::time::Instant::now();
        let mut underruns_at_adaptation = None;
        let mut max_delay_after_adaptation = Duration::ZERO;
        for index in 0..frames {
            tokio::time::sleep_until(start_at + frame * index as u32).await;
            let now = Instant::now();
            if let Some(pcm) = input.get(index * frame_samples..(index + 1) * frame_samples) {
                alice.push_frame(now, id, pcm).expect("encodes");
            } else {
                // The speech is over: release push-to-talk (an end of stream).
                alice.set_transmit_enabled(id, false).expect("voice");
            }
            alice.service();
            bob.service();
            bob.mix(now, &mut block);
            output.extend_from_slice(&block);
            if let Some(voice) = bob.receiver().voice(1, id) {
                let stats = voice.stats();
                if frame * index as u32 >= ADAPTATION {
                    underruns_at_adaptation.get_or_insert(stats.underruns);
                    max_delay_after_adaptation = max_delay_after_adaptation.max(stats.buffer_delay);
                }
            }
        }

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bob.wav");
        write_wav(&path, OUTPUT_RATE, 1, &output).unwrap();
        let (_, _, written) = read_wav(&path).unwrap();
        let reference = speech_at(OUTPUT_RATE);
        let comparison = compare(&reference, &written, OUTPUT_RATE, OUTPUT_RATE as usize);
        let stats = bob.receiver().voice(1, id).expect("voice").stats();
        let sent = alice.local_voice(id).expect("local").stats();
        eprintln!("{comparison:?}\nsent {sent:?}\nreceived {stats:?}");
        assert!(
            comparison.segmental > MIN_CORRELATION,
            "aligned correlation {comparison:?}"
        );
        assert!(stats.lost > 0, "the simulation dropped frames: {stats:?}");
        assert!(stats.fec_recovered > 0, "FEC recovered frames: {stats:?}");
        let underruns_after = stats.underruns - underruns_at_adaptation.expect("adapted");
        assert_eq!(
            underruns_after, 0,
            "no underrun after adaptation: {stats:?}"
        );
        let jitter = voice_client::JitterConfig::default();
        assert!(
            max_delay_after_adaptation <= jitter.max_delay,
            "delay {max_delay_after_adaptation:?} within {:?}",
            jitter.max_delay
        );

        // Push-to-talk is off since the speech ended: nothing is sent, nothing
        // arrives.
        assert_eq!(sent.end_of_streams, 1, "{sent:?}");
        // Frames already in flight (up to 40 ms of simulated jitter) land first.
        let settle = tokio::time::Instant::now() + Duration::from_millis(300);
        while tokio::time::Instant::now() < settle {
            alice.service();
            bob.service();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let sent_before = alice.local_voice(id).unwrap().stats().frames_sent;
        let received_before = bob
            .receiver()
            .voice(1, id)
            .map(|v| v.stats().frames_received);
        for index in 0..25 {
            let now = Instant::now();
            let pcm = &input[index * frame_samples..(index + 1) * frame_samples];
            alice.push_frame(now, id, pcm).expect("push while muted");
            alice.service();
            bob.service();
            tokio::time::sleep(frame).await;
        }
        assert_eq!(
            alice.local_voice(id).unwrap().stats().frames_sent,
            sent_before
        );
        assert_eq!(
            bob.receiver()
                .voice(1, id)
                .map(|v| v.stats().frames_received),
            received_before
        );
        d.shutdown().await;
    })
    .await
    .expect("test finishes within 90 s");
}
