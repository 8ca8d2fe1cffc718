//! criterion benches of the message codec: a voice frame as a raw event (the
//! relay fast path) and as a regular event, and typical operations.
//!
//! Run: `cargo bench -p benches --bench codec`.
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use transport::codec::{
    write_raw_event_header, Dictionary, EventData, Limits, Message, OperationRequest,
    OperationResponse, Parameters, RawEvent, RawRouting, RawSend, RawSendView, ReceiverGroup,
    TypeCode, TypedArray, Value, RAW_EVENT_HEADER_MAX,
};

/// An 80-byte Opus frame (20 ms at ~32 kbit/s).
fn voice_payload() -> Bytes {
    Bytes::from((0..80u8).collect::<Vec<_>>())
}

fn messages() -> Vec<(&'static str, Message)> {
    let payload = voice_payload();
    let string_dictionary = |entries: Vec<(&str, Value)>| {
        Value::Dictionary(Dictionary {
            key_type: TypeCode::String,
            value_type: TypeCode::Any,
            entries: entries
                .into_iter()
                .map(|(k, v)| (Value::from(k), v))
                .collect(),
        })
    };
    vec![
        (
            "voice_raw_event",
            Message::RawEvent(RawEvent {
                sender: 17,
                payload: payload.clone(),
            }),
        ),
        (
            "voice_event_data",
            Message::Event(EventData {
                code: 202,
                sender: 17,
                parameters: Parameters::new()
                    .with(245, payload.clone())
                    .with(254, 17i32),
            }),
        ),
        (
            "voice_raw_send",
            Message::RawSend(RawSend {
                routing: RawRouting {
                    receivers: ReceiverGroup::Others,
                    interest_group: 0,
                    target_count: 0,
                },
                targets: vec![],
                payload,
            }),
        ),
        (
            "raise_event_request",
            Message::Request(OperationRequest {
                code: 253,
                parameters: Parameters::new()
                    .with(244, 1u8)
                    .with(246, 1u8)
                    .with(240, 0u8)
                    .with(
                        245,
                        Value::ObjectArray(vec![
                            Value::I32(12),
                            Value::from("hello"),
                            Value::F32(0.5),
                        ]),
                    ),
            }),
        ),
        (
            "join_game_response",
            Message::Response(OperationResponse {
                code: 226,
                return_code: 0,
                debug_message: None,
                parameters: Parameters::new()
                    .with(254, 3i32)
                    .with(252, TypedArray::I32(vec![1, 2, 3]))
                    .with(
                        248,
                        string_dictionary(vec![
                            ("map", Value::from("harbour")),
                            ("mode", Value::from("team")),
                            ("max", Value::U8(16)),
                            ("open", Value::Bool(true)),
                            ("voice", Value::Bool(true)),
                        ]),
                    )
                    .with(
                        249,
                        string_dictionary(vec![
                            ("name", Value::from("player-3")),
                            ("team", Value::U8(2)),
                            ("score", Value::I32(1200)),
                        ]),
                    ),
            }),
        ),
    ]
}

fn encode_decode(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("codec");
    for (name, message) in messages() {
        let mut encoded = Vec::new();
        message
            .encode(&mut encoded, &limits)
            .expect("bench message encodes");
        group.throughput(Throughput::Bytes(encoded.len() as u64));

        let mut out = Vec::with_capacity(1024);
        group.bench_with_input(BenchmarkId::new("encode", name), &message, |b, message| {
            b.iter(|| {
                out.clear();
                message.encode(&mut out, &limits).unwrap();
                black_box(out.len())
            })
        });

        let bytes = Bytes::from(encoded);
        group.bench_with_input(BenchmarkId::new("decode", name), &bytes, |b, bytes| {
            b.iter(|| black_box(Message::decode(black_box(bytes), &limits).unwrap()))
        });
    }
    group.finish();
}

/// What the relay does per voice frame: parse the routing header and write the
/// outgoing raw-event header; the payload is never touched.
fn relay_fast_path(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("codec_relay");
    let mut raw_send = Vec::new();
    Message::RawSend(RawSend {
        routing: RawRouting {
            receivers: ReceiverGroup::All,
            interest_group: 2,
            target_count: 0,
        },
        targets: vec![4, 9, 130],
        payload: voice_payload(),
    })
    .encode(&mut raw_send, &limits)
    .unwrap();
    group.bench_with_input(
        BenchmarkId::new("parse", "raw_send_view_3_targets"),
        &raw_send,
        |b, raw_send| {
            b.iter(|| {
                let view = RawSendView::parse(black_box(raw_send)).unwrap().unwrap();
                black_box((
                    view.routing,
                    view.targets().sum::<i32>(),
                    view.payload.len(),
                ))
            })
        },
    );
    for sender in [17, 100_000] {
        group.bench_with_input(
            BenchmarkId::new("raw_event_header", sender),
            &sender,
            |b, &sender| {
                let mut header = [0u8; RAW_EVENT_HEADER_MAX];
                b.iter(|| black_box(write_raw_event_header(black_box(sender), &mut header)))
            },
        );
    }
    group.finish();
}

criterion_group!(benches, encode_decode, relay_fast_path);
criterion_main!(benches);
