//! Opus round trips (sine, speech), FEC recovery versus PLC, DTX on silence.

use voice_client::analysis::{compare, resample_all};
use voice_client::audio::{read_wav, AudioSource, SineSource};
use voice_client::codec::{OpusDecoder, OpusEncoder, DTX_PACKET_MAX};
use voice_client::config::{CodecConfig, MAX_OPUS_PACKET};

const RATE: u32 = 48_000;
const FRAME: usize = 960;

fn speech_48k() -> Vec<f32> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/speech16k.wav");
    let (rate, channels, samples) = read_wav(path).unwrap();
    assert_eq!(channels, 1);
    resample_all(&samples, rate, RATE).unwrap()
}

fn config(bitrate: u32, loss: u8) -> CodecConfig {
    CodecConfig {
        bitrate,
        packet_loss_perc: loss,
        dtx: false,
        ..CodecConfig::default()
    }
}

fn encode_all(config: &CodecConfig, signal: &[f32]) -> Vec<Vec<u8>> {
    let mut encoder = OpusEncoder::new(config).unwrap();
    let mut buf = vec![0u8; MAX_OPUS_PACKET];
    signal
        .chunks_exact(FRAME)
        .map(|frame| {
            let n = encoder.encode(frame, &mut buf).unwrap();
            buf[..n].to_vec()
        })
        .collect()
}

fn decode_all(packets: &[Vec<u8>]) -> Vec<f32> {
    let mut decoder = OpusDecoder::new(Default::default()).unwrap();
    let mut out = vec![0.0; packets.len() * FRAME];
    for (packet, frame) in packets.iter().zip(out.chunks_exact_mut(FRAME)) {
        decoder.decode(packet, frame).unwrap();
    }
    out
}

#[test]
fn sine_round_trip_correlates_above_0_95() {
    let mut sine = SineSource::new(RATE, 440.0, 0.5);
    let mut signal = vec![0.0; RATE as usize];
    sine.read(&mut signal);
    let decoded = decode_all(&encode_all(&config(24_000, 0), &signal));
    let c = compare(&signal, &decoded, RATE, 2400);
    assert!(c.global > 0.95, "{c:?}");
}

#[test]
fn speech_round_trip_correlates_above_0_8() {
    let speech = speech_48k();
    let decoded = decode_all(&encode_all(&config(24_000, 0), &speech));
    let c = compare(&speech, &decoded, RATE, 2400);
    assert!(c.global > 0.8 && c.segmental > 0.8, "{c:?}");
    // libopus' delay is its lookahead (6.5 ms at 48 kHz in VOIP mode).
    assert!((200..=600).contains(&c.lag), "{c:?}");
}

/// Decodes with frames in `lost` replaced by FEC from the next packet (`fec`)
/// or by PLC.
fn decode_with_loss(packets: &[Vec<u8>], lost: &[usize], fec: bool) -> Vec<f32> {
    let mut decoder = OpusDecoder::new(Default::default()).unwrap();
    let mut out = vec![0.0; packets.len() * FRAME];
    for (i, frame) in out.chunks_exact_mut(FRAME).enumerate() {
        if lost.contains(&i) {
            if fec && i + 1 < packets.len() {
                decoder.decode_fec(&packets[i + 1], frame).unwrap();
            } else {
                decoder.conceal(frame).unwrap();
            }
        } else {
            decoder.decode(&packets[i], frame).unwrap();
        }
    }
    out
}

/// Error energy of `decoded` against `reference` over the lost frames.
fn error_in(reference: &[f32], decoded: &[f32], lost: &[usize], lag: usize) -> f64 {
    let mut error = 0.0;
    for &i in lost {
        for n in i * FRAME..(i + 1) * FRAME {
            if n >= lag && n < reference.len() + lag {
                let e = decoded[n] as f64 - reference[n - lag] as f64;
                error += e * e;
            }
        }
    }
    error
}

#[test]
fn fec_recovers_lost_frames_better_than_plc() {
    // The default expected loss (10 %) and Photon's (30 %).
    for expected_loss in [voice_client::config::DEFAULT_PACKET_LOSS_PERC, 30] {
        fec_case(expected_loss);
    }
}

fn fec_case(expected_loss: u8) {
    let speech = speech_48k();
    let packets = encode_all(&config(24_000, expected_loss), &speech);
    let lag = compare(&speech, &decode_all(&packets), RATE, 2400).lag as usize;
    // Lose every 6th frame where there is speech.
    let lost: Vec<usize> = (5..packets.len() - 1)
        .step_by(6)
        .filter(|&i| {
            speech[i * FRAME..(i + 1) * FRAME]
                .iter()
                .map(|x| x * x)
                .sum::<f32>()
                > 1.0
        })
        .collect();
    assert!(lost.len() > 10, "only {} voiced frames lost", lost.len());
    let with_fec = decode_with_loss(&packets, &lost, true);
    let with_plc = decode_with_loss(&packets, &lost, false);
    assert_ne!(
        with_fec, with_plc,
        "FEC decode must differ from PLC: the encoder emitted FEC"
    );
    let fec_error = error_in(&speech, &with_fec, &lost, lag);
    let plc_error = error_in(&speech, &with_plc, &lost, lag);
    assert!(
        fec_error < 0.7 * plc_error,
        "expected loss {expected_loss} %: FEC error {fec_error:.3} should be well below PLC error {plc_error:.3}"
    );
}

#[test]
fn no_fec_is_emitted_at_zero_expected_loss() {
    // The control for the test above: without expected loss there is no FEC
    // data, so an FEC decode is just concealment.
    let speech = speech_48k();
    let packets = encode_all(&config(24_000, 0), &speech);
    let lost: Vec<usize> = (5..packets.len() - 1).step_by(6).collect();
    assert_eq!(
        decode_with_loss(&packets, &lost, true),
        decode_with_loss(&packets, &lost, false)
    );
}

#[test]
fn dtx_turns_silence_into_tiny_packets() {
    let config = CodecConfig {
        dtx: true,
        ..CodecConfig::default()
    };
    let packets = encode_all(&config, &vec![0.0; FRAME * 100]);
    let tiny = packets.iter().filter(|p| p.len() <= DTX_PACKET_MAX).count();
    assert!(tiny >= 80, "{tiny} of 100 silent frames were DTX packets");
    let speech = speech_48k();
    let voiced = encode_all(&config, &speech[FRAME * 20..FRAME * 60]);
    assert!(voiced.iter().filter(|p| p.len() > 20).count() > 20);
}

#[test]
fn wrong_frame_length_is_an_error_not_a_panic() {
    let mut encoder = OpusEncoder::new(&CodecConfig::default()).unwrap();
    let mut buf = [0u8; 100];
    let err = encoder
        .encode(&[0.0; 100], &mut buf)
        .unwrap_err()
        .to_string();
    assert!(err.contains("960"), "{err}");
    let bad = CodecConfig {
        bitrate: 1000,
        ..CodecConfig::default()
    };
    assert!(OpusEncoder::new(&bad)
        .unwrap_err()
        .to_string()
        .contains("6000"));
    let mut decoder = OpusDecoder::new(Default::default()).unwrap();
    let mut out = vec![0.0; FRAME];
    assert!(decoder.decode(&[0xff, 0xff, 0xff], &mut out).is_err());
}
