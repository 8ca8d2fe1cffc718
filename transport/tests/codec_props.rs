//! Property tests of the codec: arbitrary values and messages round-trip,
//! arbitrary bytes never panic the decoders, and truncated encodings fail
//! cleanly. The `check_*` bodies are the same as the cargo-fuzz targets in
//! `fuzz/fuzz_targets/`, so they run in the normal suite too.

use bytes::Bytes;
use proptest::prelude::*;
use transport::codec::{
    Dictionary, EventData, Limits, Message, OperationRequest, OperationResponse, Parameters,
    RawEvent, RawRouting, RawSend, RawSendView, ReceiverGroup, TypeCode, TypedArray, Value,
};

fn float32() -> impl Strategy<Value = f32> {
    any::<f32>().prop_filter("NaN is not equal to itself", |v| !v.is_nan())
}

fn float64() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("NaN is not equal to itself", |v| !v.is_nan())
}

fn bytes_value() -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..40).prop_map(Bytes::from)
}

fn typed_array() -> impl Strategy<Value = TypedArray> {
    let len = 0..12usize;
    prop_oneof![
        prop::collection::vec(any::<bool>(), len.clone()).prop_map(TypedArray::Bool),
        prop::collection::vec(any::<i16>(), len.clone()).prop_map(TypedArray::I16),
        prop::collection::vec(any::<i32>(), len.clone()).prop_map(TypedArray::I32),
        prop::collection::vec(any::<i64>(), len.clone()).prop_map(TypedArray::I64),
        prop::collection::vec(float32(), len.clone()).prop_map(TypedArray::F32),
        prop::collection::vec(float64(), len.clone()).prop_map(TypedArray::F64),
        prop::collection::vec(".{0,8}", len).prop_map(TypedArray::String),
    ]
}

/// Values that are not containers of other values.
fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u8>().prop_map(Value::U8),
        any::<i16>().prop_map(Value::I16),
        any::<i32>().prop_map(Value::I32),
        prop_oneof![Just(0i32), -64..64i32].prop_map(Value::I32),
        any::<i64>().prop_map(Value::I64),
        float32().prop_map(Value::F32),
        float64().prop_map(Value::F64),
        ".{0,12}".prop_map(Value::String),
        bytes_value().prop_map(Value::Bytes),
        typed_array().prop_map(Value::Array),
        (any::<u8>(), bytes_value()).prop_map(|(type_id, data)| Value::Custom { type_id, data }),
    ]
    .boxed()
}

/// Values of declared type `t`, built from `any` for nested values.
fn of_type(t: TypeCode, any_value: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    match t {
        TypeCode::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        TypeCode::U8 => any::<u8>().prop_map(Value::U8).boxed(),
        TypeCode::I16 => any::<i16>().prop_map(Value::I16).boxed(),
        TypeCode::I32 => any::<i32>().prop_map(Value::I32).boxed(),
        TypeCode::I64 => any::<i64>().prop_map(Value::I64).boxed(),
        TypeCode::F32 => float32().prop_map(Value::F32).boxed(),
        TypeCode::F64 => float64().prop_map(Value::F64).boxed(),
        TypeCode::String => ".{0,6}".prop_map(Value::String).boxed(),
        TypeCode::Bytes => bytes_value().prop_map(Value::Bytes).boxed(),
        TypeCode::Array => typed_array().prop_map(Value::Array).boxed(),
        TypeCode::Custom => (any::<u8>(), bytes_value())
            .prop_map(|(type_id, data)| Value::Custom { type_id, data })
            .boxed(),
        TypeCode::ObjectArray => prop::collection::vec(any_value, 0..4)
            .prop_map(Value::ObjectArray)
            .boxed(),
        TypeCode::Dictionary => any_value
            .prop_filter("a dictionary", |v| matches!(v, Value::Dictionary(_)))
            .boxed(),
        _ => any_value,
    }
}

fn declarable() -> impl Strategy<Value = TypeCode> {
    prop::sample::select(vec![
        TypeCode::Any,
        TypeCode::Bool,
        TypeCode::U8,
        TypeCode::I16,
        TypeCode::I32,
        TypeCode::I64,
        TypeCode::F32,
        TypeCode::F64,
        TypeCode::String,
        TypeCode::Bytes,
        TypeCode::Array,
        TypeCode::ObjectArray,
        TypeCode::Custom,
    ])
}

fn value() -> BoxedStrategy<Value> {
    leaf()
        .prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::ObjectArray),
                (declarable(), declarable()).prop_flat_map(move |(key_type, value_type)| {
                    let entry = (
                        of_type(key_type, inner.clone()),
                        of_type(value_type, inner.clone()),
                    );
                    prop::collection::vec(entry, 0..5).prop_map(move |entries| {
                        Value::Dictionary(Dictionary {
                            key_type,
                            value_type,
                            entries,
                        })
                    })
                }),
            ]
        })
        .boxed()
}

fn parameters() -> impl Strategy<Value = Parameters> {
    prop::collection::vec((any::<u8>(), value()), 0..5).prop_map(Parameters)
}

fn message() -> impl Strategy<Value = Message> {
    let receivers = prop::sample::select(vec![
        ReceiverGroup::Others,
        ReceiverGroup::All,
        ReceiverGroup::MasterClient,
    ]);
    prop_oneof![
        (any::<u8>(), parameters())
            .prop_map(|(code, parameters)| Message::Request(OperationRequest { code, parameters })),
        (
            any::<u8>(),
            any::<i16>(),
            proptest::option::of(".{0,20}"),
            parameters()
        )
            .prop_map(|(code, return_code, debug_message, parameters)| {
                Message::Response(OperationResponse {
                    code,
                    return_code,
                    debug_message,
                    parameters,
                })
            }),
        (any::<u8>(), any::<i32>(), parameters()).prop_map(|(code, sender, parameters)| {
            Message::Event(EventData {
                code,
                sender,
                parameters,
            })
        }),
        (
            receivers,
            any::<u8>(),
            prop::collection::vec(any::<i32>(), 0..6),
            bytes_value()
        )
            .prop_map(|(receivers, interest_group, targets, payload)| {
                let routing = RawRouting {
                    receivers,
                    interest_group,
                    target_count: targets.len() as u8,
                };
                Message::RawSend(RawSend {
                    routing,
                    targets,
                    payload,
                })
            }),
        (any::<i32>(), bytes_value())
            .prop_map(|(sender, payload)| Message::RawEvent(RawEvent { sender, payload })),
    ]
}

/// The fuzz target body (`fuzz/fuzz_targets/message_decode.rs`): decoding
/// arbitrary bytes returns, and whatever decoded re-encodes to something that
/// decodes to the same message.
fn check_message_bytes(data: &[u8]) {
    let limits = Limits::default();
    let bytes = Bytes::copy_from_slice(data);
    if let Ok(message) = Message::decode(&bytes, &limits) {
        let mut out = Vec::new();
        message
            .encode(&mut out, &limits)
            .expect("a decoded message re-encodes");
        assert!(
            out.len() <= data.len(),
            "the canonical encoding is never longer"
        );
        assert_eq!(
            Message::decode(&Bytes::from(out), &limits).as_ref(),
            Ok(&message)
        );
    }
    if let Ok(Some(view)) = RawSendView::parse(data) {
        assert_eq!(
            view.targets().count(),
            usize::from(view.routing.target_count)
        );
        assert!(view.payload.len() <= data.len());
    }
}

fn round_trip(message: &Message) -> Vec<u8> {
    let limits = Limits::default();
    let mut out = Vec::new();
    message.encode(&mut out, &limits).expect("encodes");
    assert_eq!(
        Message::decode(&Bytes::from(out.clone()), &limits).as_ref(),
        Ok(message)
    );
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn values_round_trip(value in value()) {
        let limits = Limits::default();
        let mut out = Vec::new();
        value.encode(&mut out, &limits).unwrap();
        prop_assert_eq!(Value::decode(&Bytes::from(out), &limits), Ok(value));
    }

    #[test]
    fn messages_round_trip(message in message()) {
        round_trip(&message);
    }

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..256)) {
        check_message_bytes(&data);
    }

    #[test]
    fn random_bytes_with_a_valid_kind_never_panic(
        kind in prop::sample::select(vec![0x02u8, 0x03, 0x04, 0x09, 0x0a]),
        data in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let mut input = vec![kind];
        input.extend_from_slice(&data);
        check_message_bytes(&input);
    }

    #[test]
    fn mutated_encodings_never_panic(
        message in message(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = round_trip(&message);
        for (index, byte) in flips {
            let at = index.index(bytes.len());
            bytes[at] = byte;
        }
        check_message_bytes(&bytes);
    }

    #[test]
    fn truncations_fail_cleanly(message in message()) {
        let bytes = round_trip(&message);
        let limits = Limits::default();
        for len in 0..bytes.len() {
            let prefix = Bytes::copy_from_slice(&bytes[..len]);
            match (&message, Message::decode(&prefix, &limits)) {
                (_, Err(_)) => {}
                // Raw payloads run to the end, so a cut payload is still a message.
                (Message::RawSend(full), Ok(Message::RawSend(cut))) => {
                    prop_assert_eq!(&cut.targets, &full.targets);
                    prop_assert!(full.payload.starts_with(&cut.payload));
                }
                (Message::RawEvent(full), Ok(Message::RawEvent(cut))) => {
                    prop_assert_eq!(cut.sender, full.sender);
                    prop_assert!(full.payload.starts_with(&cut.payload));
                }
                (_, Ok(other)) => prop_assert!(false, "prefix of {} bytes decoded to {:?}", len, other),
            }
        }
    }

    #[test]
    fn value_truncations_fail(value in value()) {
        let limits = Limits::default();
        let mut out = Vec::new();
        value.encode(&mut out, &limits).unwrap();
        for len in 0..out.len() {
            prop_assert!(Value::decode(&Bytes::copy_from_slice(&out[..len]), &limits).is_err());
        }
    }
}
