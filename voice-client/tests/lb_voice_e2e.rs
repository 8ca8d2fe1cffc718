//! Voice over the load-balancing client against a real voice-server: a room
//! is a voice channel; infos reach everyone and newcomers, frames are routed
//! by (actor, voice id), interest groups select who hears.

use std::time::{Duration, Instant};
use transport::Protocol;
use voice_client::lb::{LbConfig, LbEvent, LoadBalancingClient, RoomOptions};
use voice_client::lb_transport::LoadBalancingTransport;
use voice_client::local::{FrameOutcome, LocalVoiceConfig};
use voice_client::remote::RemoteVoiceConfig;
use voice_client::voice_transport::FrameOptions;
use voice_client::CodecConfig;
use voice_server::config::{Config, Role};
use voice_server::run::{start, Deployment, StartOptions};

fn voice_client(d: &Deployment, user: &str) -> LoadBalancingTransport {
    let mut config = LbConfig::new(d.url(Role::Name, Protocol::Udp).unwrap(), "app");
    config.user_id = Some(user.into());
    LoadBalancingTransport::new(
        LoadBalancingClient::new(config, Default::default()),
        RemoteVoiceConfig::default(),
    )
}

/// Services `clients` for `duration` (routing events to their voice layers).
async fn pump(clients: &mut [&mut LoadBalancingTransport], duration: Duration) {
    let end = tokio::time::Instant::now() + duration;
    while tokio::time::Instant::now() < end {
        for client in clients.iter_mut() {
            client.service();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A 440 Hz tone, one frame.
fn tone(frame: usize, samples: usize, rate: f32) -> Vec<f32> {
    (0..samples)
        .map(|i| {
            let t = (frame * samples + i) as f32 / rate;
            0.3 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
        })
        .collect()
}

async fn talk(
    alice: &mut LoadBalancingTransport,
    others: &mut [&mut LoadBalancingTransport],
    id: voice_client::protocol::VoiceId,
    frames: usize,
) -> usize {
    let codec = CodecConfig::default();
    let samples = codec.format.frame_samples();
    let rate = codec.format.sampling_rate.hz() as f32;
    let mut sent = 0;
    for frame in 0..frames {
        if let FrameOutcome::Sent(_) = alice
            .push_frame(Instant::now(), id, &tone(frame, samples, rate))
            .expect("encodes")
        {
            sent += 1;
        }
        alice.service();
        for other in others.iter_mut() {
            other.service();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pump(others, Duration::from_millis(200)).await;
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_is_a_voice_channel() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let d = start(Config::loopback(), StartOptions::default())
            .await
            .expect("deployment starts");
        let mut alice = voice_client(&d, "alice");
        let mut bob = voice_client(&d, "bob");
        alice
            .client()
            .create_room(Some("voice".into()), RoomOptions::default())
            .await
            .expect("create");
        // The voice exists before joining is announced on Joined; this one is
        // created in the room and announced at once.
        alice.service();
        let id = alice
            .add_local_voice(LocalVoiceConfig::default())
            .expect("voice");
        bob.client().join_room("voice").await.expect("join");
        pump(&mut [&mut alice, &mut bob], Duration::from_millis(300)).await;
        assert!(
            bob.receiver().voice(1, id).is_some(),
            "bob learned alice's voice (on join): {:?}",
            bob.receiver().voices().len()
        );

        let sent = talk(&mut alice, &mut [&mut bob], id, 40).await;
        assert!(sent > 30, "frames sent: {sent}");
        let stats = bob.receiver().voice(1, id).unwrap().stats();
        assert!(
            stats.frames_received as usize > sent / 2,
            "bob received {} of {sent}",
            stats.frames_received
        );
        let mut out = vec![0.0f32; 960 * 10];
        bob.mix(Instant::now(), &mut out);
        let energy: f32 = out.iter().map(|s| s * s).sum();
        assert!(energy > 0.0, "bob hears something");
        assert_eq!(alice.dropped().0, 0);
        assert_eq!(bob.dropped().0, 0, "{:?}", bob.dropped().1);

        // Interest group 3: bob is not in it, a newcomer who joins the group is.
        let options = FrameOptions {
            interest_group: 3,
            ..Default::default()
        };
        alice.set_voice_options(id, options).unwrap();
        let mut carol = voice_client(&d, "carol");
        carol
            .client()
            .join_room("voice")
            .await
            .expect("carol joins");
        carol.client().change_groups(None, Some(&[3])).unwrap();
        pump(
            &mut [&mut alice, &mut bob, &mut carol],
            Duration::from_millis(300),
        )
        .await;
        assert!(
            carol.receiver().voice(1, id).is_some(),
            "the newcomer got the info"
        );
        let bob_before = bob.receiver().voice(1, id).unwrap().stats().frames_received;
        talk(&mut alice, &mut [&mut bob, &mut carol], id, 20).await;
        let carol_got = carol
            .receiver()
            .voice(1, id)
            .unwrap()
            .stats()
            .frames_received;
        assert!(carol_got >= 10, "carol (group 3) received {carol_got}");
        assert_eq!(
            bob.receiver().voice(1, id).unwrap().stats().frames_received,
            bob_before,
            "bob is not in group 3"
        );

        // Removing the voice removes it everywhere; leaving drops the actor's voices.
        alice.remove_local_voice(id).unwrap();
        pump(
            &mut [&mut alice, &mut bob, &mut carol],
            Duration::from_millis(300),
        )
        .await;
        assert!(carol.receiver().voice(1, id).is_none());
        let again = alice.add_local_voice(LocalVoiceConfig::default()).unwrap();
        pump(
            &mut [&mut alice, &mut bob, &mut carol],
            Duration::from_millis(300),
        )
        .await;
        assert!(bob.receiver().voice(1, again).is_some());
        alice
            .client()
            .leave_room(Default::default())
            .await
            .expect("leave");
        pump(&mut [&mut bob], Duration::from_millis(300)).await;
        assert!(
            bob.receiver().voices().is_empty(),
            "alice's voices are gone with her"
        );
        let left = bob.client().room().unwrap();
        assert!(!left.actors.contains_key(&1));
        drop((alice, bob, carol));
        d.shutdown().await;
    })
    .await
    .expect("test timed out");
}

#[test]
fn voice_events_are_ignored_when_not_voice() {
    // Events that are not voice traffic leave the voice layer untouched.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let client = LoadBalancingClient::new(
        LbConfig::new("udp://127.0.0.1:9", "app"),
        Default::default(),
    );
    let mut voice = LoadBalancingTransport::new(client, RemoteVoiceConfig::default());
    let now = Instant::now();
    voice.handle_event(
        now,
        &LbEvent::CustomEvent {
            code: 5,
            sender: 2,
            data: transport::codec::Value::Null,
        },
    );
    voice.handle_event(
        now,
        &LbEvent::CustomEvent {
            code: 202,
            sender: 2,
            data: transport::codec::Value::from("junk"),
        },
    );
    voice.handle_event(
        now,
        &LbEvent::RawFrame {
            sender: 2,
            payload: bytes::Bytes::from_static(b"\x01"),
        },
    );
    assert!(voice.receiver().voices().is_empty());
    assert_eq!(
        voice.dropped().0,
        2,
        "the bad info and the short frame are counted: {:?}",
        voice.dropped().1
    );
}

#[test]
fn voice_in_a_game_loop_with_polled_clients() {
    use voice_client::lb::PolledClient;
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let d = server
        .block_on(start(Config::loopback(), StartOptions::default()))
        .expect("deployment starts");
    let polled = |user: &str| {
        let mut config = LbConfig::new(d.url(Role::Name, Protocol::Udp).unwrap(), "app");
        config.user_id = Some(user.into());
        LoadBalancingTransport::polled(
            PolledClient::new(config, Default::default()).unwrap(),
            RemoteVoiceConfig::default(),
        )
    };
    let mut talker = polled("talker");
    let mut listener = polled("listener");
    let id = talker.add_local_voice(LocalVoiceConfig::default()).unwrap();
    talker
        .polled_client()
        .unwrap()
        .join_or_create_room("loop", RoomOptions::default())
        .unwrap();
    let codec = CodecConfig::default();
    let (samples, rate) = (
        codec.format.frame_samples(),
        codec.format.sampling_rate.hz() as f32,
    );
    let mut listener_started = false;
    let mut frame = 0;
    let mut out = vec![0.0f32; 960];
    let mut heard = 0.0f32;
    // One game frame = 20 ms: service both, push one voice frame, mix. Bounded.
    for _ in 0..300 {
        let talker_events = talker.service();
        if !listener_started
            && talker_events
                .iter()
                .any(|e| matches!(e, LbEvent::Joined { .. }))
        {
            listener.polled_client().unwrap().join_room("loop").unwrap();
            listener_started = true;
        }
        listener.service();
        if listener.receiver().voice(1, id).is_some() {
            talker
                .push_frame(Instant::now(), id, &tone(frame, samples, rate))
                .unwrap();
            frame += 1;
            listener.mix(Instant::now(), &mut out);
            heard += out.iter().map(|s| s * s).sum::<f32>();
        }
        if frame >= 50 && heard > 0.0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        frame >= 50,
        "the listener learned the voice and 50 frames were sent (sent {frame})"
    );
    let stats = listener.receiver().voice(1, id).unwrap().stats();
    assert!(
        stats.frames_received > 25,
        "received {} of {frame}",
        stats.frames_received
    );
    assert!(heard > 0.0, "the mix is not silent");
    drop((talker, listener));
    server.block_on(d.shutdown());
}
