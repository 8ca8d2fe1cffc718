//! Speech through LocalVoice → loopback with seeded loss and jitter →
//! RemoteVoice → WAV, plus push-to-talk, voice detection, announcements,
//! debug echo and mixing.

use std::time::{Duration, Instant};
use voice_client::analysis::{compare, resample_all};
use voice_client::audio::{read_wav, write_wav, AudioSource, SineSource};
use voice_client::local::{FrameOutcome, LocalVoice, LocalVoiceConfig};
use voice_client::processing::{ProcessingConfig, VoiceDetectorConfig};
use voice_client::protocol::{FrameFlags, FrameView, VoiceEvent, VoiceId};
use voice_client::remote::{RemoteVoiceConfig, VoiceReceiver};
use voice_client::sim::{loss_pattern, plain_opus, simulate, SimulationConfig};
use voice_client::voice_transport::{
    EmulatorConfig, FrameOptions, InfoTarget, LoopbackTransport, Sent, VoiceSendError,
};

const RATE: u32 = 48_000;
const FRAME: usize = 960;

fn speech_48k() -> Vec<f32> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/speech16k.wav");
    let (rate, _, samples) = read_wav(path).unwrap();
    resample_all(&samples, rate, RATE).unwrap()
}

fn id(n: u8) -> VoiceId {
    VoiceId::try_from(n).unwrap()
}

#[test]
fn speech_survives_10_percent_loss_and_40ms_jitter() {
    let speech = speech_48k();
    let config = SimulationConfig {
        network: EmulatorConfig {
            loss: 0.10,
            delay: Duration::from_millis(30),
            jitter: Duration::from_millis(40),
            seed: 7,
        },
        ..SimulationConfig::default()
    };
    let report = simulate(&speech, &config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out.wav");
    write_wav(&out_path, RATE, 1, &report.output).unwrap();
    let (_, _, written) = read_wav(&out_path).unwrap();
    assert_eq!(written.len(), report.output.len());

    let c = compare(&speech, &written, RATE, RATE as usize);
    eprintln!("{c:?}\n{:?}\n{:?}", report.local, report.remote);
    assert!(
        report.network_dropped > 10,
        "the loss pattern dropped frames"
    );
    assert!(report.remote.fec_recovered > 0, "{:?}", report.remote);
    assert_eq!(report.underruns_after_adaptation, 0, "{:?}", report.remote);
    assert!(report.max_delay_after_adaptation <= config.jitter.max_delay);
    assert!(report.max_delay_after_adaptation >= config.jitter.min_delay);
    assert!(c.segmental > 0.75, "aligned segmental correlation {c:?}");

    // Same loss pattern through plain libopus with PLC only.
    let lost = loss_pattern(7, speech.len().div_ceil(FRAME), 0.10);
    let plain = plain_opus(&speech, &config.codec, &lost).unwrap();
    let p = compare(&speech, &plain, RATE, RATE as usize);
    eprintln!("plain {p:?}");
    assert!(
        c.segmental >= p.segmental - 0.02,
        "pipeline {c:?} vs plain {p:?}"
    );
}

#[test]
fn push_to_talk_off_sends_nothing_and_release_sends_end_of_stream() {
    let mut loopback = LoopbackTransport::new();
    let mut voice = LocalVoice::new(id(1), LocalVoiceConfig::default()).unwrap();
    voice.announce(&mut loopback);
    voice.set_transmit_enabled(false, &mut loopback);
    let mut tone = SineSource::new(RATE, 300.0, 0.3);
    let mut pcm = vec![0.0; FRAME];
    let now = Instant::now();
    for _ in 0..50 {
        tone.read(&mut pcm);
        assert_eq!(
            voice.push_frame(now, &pcm, &mut loopback).unwrap(),
            FrameOutcome::NotTransmitting
        );
    }
    let frames = loopback
        .sent()
        .iter()
        .filter(|s| matches!(s, Sent::Frame { .. }))
        .count();
    assert_eq!(frames, 0, "nothing sent while push-to-talk is off");
    voice.set_transmit_enabled(true, &mut loopback);
    for _ in 0..10 {
        tone.read(&mut pcm);
        assert!(matches!(
            voice.push_frame(now, &pcm, &mut loopback).unwrap(),
            FrameOutcome::Sent(_)
        ));
    }
    voice.set_transmit_enabled(false, &mut loopback);
    let sent: Vec<Sent> = loopback.drain().collect();
    let frames: Vec<(Vec<u8>, FrameOptions)> = sent
        .into_iter()
        .filter_map(|s| match s {
            Sent::Frame { bytes, options } => Some((bytes, options)),
            _ => None,
        })
        .collect();
    assert_eq!(frames.len(), 11);
    let last = FrameView::parse(&frames[10].0).unwrap();
    assert!(last.flags.is_end_of_stream() && last.data.is_empty());
    assert!(frames[10].1.reliable, "end of stream goes reliably");
    assert!(
        !frames[0].1.reliable && !frames[0].1.encrypted,
        "frames default to unreliable, clear"
    );
    let numbers: Vec<u8> = frames.iter().map(|f| f.0[1]).collect();
    assert_eq!(numbers, (0..11).collect::<Vec<u8>>());
    assert_eq!(voice.stats().end_of_streams, 1);
    // Muting while off sends no second marker.
    voice.set_muted(true, &mut loopback);
    assert!(loopback.sent().is_empty());
}

#[test]
fn voice_detection_skips_silence() {
    let config = LocalVoiceConfig {
        processing: ProcessingConfig {
            voice_detection: Some(VoiceDetectorConfig::default()),
            ..ProcessingConfig::default()
        },
        ..LocalVoiceConfig::default()
    };
    let mut voice = LocalVoice::new(id(2), config).unwrap();
    let mut loopback = LoopbackTransport::new();
    let now = Instant::now();
    let silence = vec![0.001f32; FRAME];
    for _ in 0..20 {
        assert_eq!(
            voice.push_frame(now, &silence, &mut loopback).unwrap(),
            FrameOutcome::NoVoice
        );
    }
    let mut tone = SineSource::new(RATE, 300.0, 0.3);
    let mut pcm = vec![0.0; FRAME];
    for _ in 0..5 {
        tone.read(&mut pcm);
        assert!(matches!(
            voice.push_frame(now, &pcm, &mut loopback).unwrap(),
            FrameOutcome::Sent(_)
        ));
    }
    // Hold: 500 ms = 25 more frames of silence are still sent (as DTX or frames).
    let mut outcomes = Vec::new();
    for _ in 0..40 {
        outcomes.push(voice.push_frame(now, &silence, &mut loopback).unwrap());
    }
    assert!(outcomes[..25].iter().all(|o| *o != FrameOutcome::NoVoice));
    assert!(outcomes[26..].iter().all(|o| *o == FrameOutcome::NoVoice));
    assert_eq!(voice.stats().silence_skipped, 20 + 15);
}

#[test]
fn info_goes_to_everyone_and_to_each_newcomer_and_remove_is_announced() {
    let mut loopback = LoopbackTransport::new();
    let config = LocalVoiceConfig {
        user_data: bytes::Bytes::from_static(b"bob"),
        ..LocalVoiceConfig::default()
    };
    let voice = {
        let mut v = LocalVoice::new(id(3), config).unwrap();
        v.announce(&mut loopback);
        v.handle_actor_joined(7, &mut loopback);
        v
    };
    voice.remove(&mut loopback);
    let sent: Vec<Sent> = loopback.drain().collect();
    match &sent[..] {
        [Sent::Event(VoiceEvent::Info(a, info), Some(InfoTarget::Everyone)), Sent::Event(VoiceEvent::Info(b, _), Some(InfoTarget::Actor(7))), Sent::Event(VoiceEvent::Remove(ids), None)] =>
        {
            assert_eq!((*a, *b), (id(3), id(3)));
            assert_eq!(&info.user_data[..], b"bob");
            assert_eq!(ids, &vec![id(3)]);
            // The info survives the typed-value form the transport encodes.
            let value = VoiceEvent::Info(*a, info.clone()).to_value();
            assert_eq!(VoiceEvent::from_value(&value).unwrap().len(), 1);
        }
        other => panic!("unexpected sends: {other:?}"),
    }
}

#[test]
fn debug_echo_measures_round_trip() {
    let mut loopback = LoopbackTransport::new();
    let config = LocalVoiceConfig {
        options: FrameOptions {
            debug_echo: true,
            ..FrameOptions::default()
        },
        ..LocalVoiceConfig::default()
    };
    let mut voice = LocalVoice::new(id(4), config).unwrap();
    let mut tone = SineSource::new(RATE, 300.0, 0.3);
    let mut pcm = vec![0.0; FRAME];
    let base = Instant::now();
    for k in 0..10u32 {
        tone.read(&mut pcm);
        voice
            .push_frame(base + Duration::from_millis(20) * k, &pcm, &mut loopback)
            .unwrap();
    }
    let sent: Vec<Sent> = loopback.drain().collect();
    for (k, s) in sent.iter().enumerate() {
        if let Sent::Frame { bytes, options } = s {
            assert!(options.debug_echo);
            let echo_at = base + Duration::from_millis(20) * k as u32 + Duration::from_millis(80);
            voice.handle_echo(echo_at, &FrameView::parse(bytes).unwrap());
        }
    }
    assert_eq!(voice.stats().round_trip, Some(Duration::from_millis(80)));
}

#[test]
fn refused_sends_are_counted_not_fatal() {
    let mut loopback = LoopbackTransport::new();
    loopback.fail_with = Some(VoiceSendError::NotJoined);
    let mut voice = LocalVoice::new(id(5), LocalVoiceConfig::default()).unwrap();
    voice.announce(&mut loopback);
    let mut pcm = vec![0.0; FRAME];
    SineSource::new(RATE, 300.0, 0.3).read(&mut pcm);
    assert_eq!(
        voice
            .push_frame(Instant::now(), &pcm, &mut loopback)
            .unwrap(),
        FrameOutcome::SendFailed
    );
    assert_eq!(voice.stats().send_errors, 2);
    assert_eq!(voice.stats().frames_sent, 0);
}

#[test]
fn two_voices_mix_with_saturation_and_bad_frames_are_rejected() {
    let mut receiver = VoiceReceiver::new(RemoteVoiceConfig::default());
    let mut loopback = LoopbackTransport::new();
    let mut a = LocalVoice::new(id(1), LocalVoiceConfig::default()).unwrap();
    let mut b = LocalVoice::new(id(1), LocalVoiceConfig::default()).unwrap();
    a.announce(&mut loopback);
    for s in loopback.drain() {
        if let Sent::Event(e, _) = s {
            receiver.handle_event(10, &e).unwrap();
        }
    }
    b.announce(&mut loopback);
    for s in loopback.drain() {
        if let Sent::Event(e, _) = s {
            receiver.handle_event(20, &e).unwrap();
        }
    }
    assert_eq!(receiver.voices().len(), 2);
    let base = Instant::now();
    let mut ta = SineSource::new(RATE, 300.0, 0.9);
    let mut tb = SineSource::new(RATE, 300.0, 0.9);
    let (mut pa, mut pb) = (vec![0.0; FRAME], vec![0.0; FRAME]);
    let mut out = vec![0.0; FRAME];
    let mut peak = 0.0f32;
    for k in 0..30u32 {
        let now = base + Duration::from_millis(20) * k;
        ta.read(&mut pa);
        tb.read(&mut pb);
        a.push_frame(now, &pa, &mut loopback).unwrap();
        for s in loopback.drain() {
            if let Sent::Frame { bytes, .. } = s {
                assert!(receiver.handle_frame(now, 10, &bytes).unwrap());
            }
        }
        b.push_frame(now, &pb, &mut loopback).unwrap();
        for s in loopback.drain() {
            if let Sent::Frame { bytes, .. } = s {
                assert!(receiver.handle_frame(now, 20, &bytes).unwrap());
            }
        }
        receiver.mix(now, &mut out);
        peak = out.iter().fold(peak, |m, x| m.max(x.abs()));
        assert!(out.iter().all(|x| (-1.0..=1.0).contains(x)));
    }
    assert!(peak >= 0.99, "two 0.9 tones in phase saturate: peak {peak}");
    // Unknown voice and malformed payloads.
    assert!(!receiver.handle_frame(base, 99, &[1, 0, 0, 1, 2]).unwrap());
    assert!(receiver.handle_frame(base, 10, &[1]).is_err());
    assert!(receiver.handle_frame(base, 10, &[0, 0, 0]).is_err());
    receiver
        .handle_frame(base, 10, &[1, 200, 0, 0xff, 0xff, 0xff])
        .unwrap();
    receiver.remove_actor(10);
    assert_eq!(receiver.voices().len(), 1);
    let _ = FrameFlags::default();
}

#[test]
fn dtx_silence_is_not_sent_but_keeps_event_numbers_in_step() {
    let mut loopback = LoopbackTransport::new();
    let mut voice = LocalVoice::new(id(6), LocalVoiceConfig::default()).unwrap();
    let now = Instant::now();
    let mut tone = SineSource::new(RATE, 300.0, 0.3);
    let mut pcm = vec![0.0; FRAME];
    for _ in 0..10 {
        tone.read(&mut pcm);
        voice.push_frame(now, &pcm, &mut loopback).unwrap();
    }
    let silence = vec![0.0; FRAME];
    let outcomes: Vec<FrameOutcome> = (0..30)
        .map(|_| voice.push_frame(now, &silence, &mut loopback).unwrap())
        .collect();
    let dtx = outcomes.iter().filter(|o| **o == FrameOutcome::Dtx).count();
    assert!(dtx >= 20, "{outcomes:?}");
    tone.read(&mut pcm);
    voice.push_frame(now, &pcm, &mut loopback).unwrap();
    let numbers: Vec<u8> = loopback
        .drain()
        .filter_map(|s| match s {
            Sent::Frame { bytes, .. } => Some(bytes[1]),
            _ => None,
        })
        .collect();
    // Every frame, sent or skipped as DTX, used one event number.
    assert_eq!(*numbers.last().unwrap() as usize, 10 + 30);
    assert_eq!(numbers.len(), 41 - dtx);
    assert_eq!(voice.stats().dtx_skipped as usize, dtx);
}
