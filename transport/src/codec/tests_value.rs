//! Unit tests of value encoding and decoding.

use super::*;
use bytes::Bytes;

fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    value.encode(&mut out, &Limits::default()).expect("encodes");
    out
}

fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    Value::decode(&Bytes::copy_from_slice(bytes), &Limits::default())
}

fn dictionary(key_type: TypeCode, value_type: TypeCode, entries: Vec<(Value, Value)>) -> Value {
    Value::Dictionary(Dictionary {
        key_type,
        value_type,
        entries,
    })
}

fn every_kind() -> Vec<Value> {
    vec![
        Value::Null,
        Value::Bool(false),
        Value::Bool(true),
        Value::U8(0),
        Value::U8(255),
        Value::I16(0),
        Value::I16(i16::MIN),
        Value::I16(-300),
        Value::I32(0),
        Value::I32(-1),
        Value::I32(i32::MAX),
        Value::I32(i32::MIN),
        Value::I64(0),
        Value::I64(i64::MIN),
        Value::I64(1 << 40),
        Value::F32(0.0),
        Value::F32(-0.0),
        Value::F32(1.5),
        Value::F32(f32::INFINITY),
        Value::F64(0.0),
        Value::F64(-0.0),
        Value::F64(std::f64::consts::PI),
        Value::String(String::new()),
        Value::String("héllo wörld ✓".into()),
        Value::Bytes(Bytes::new()),
        Value::Bytes(Bytes::from_static(&[0, 1, 2, 255])),
        Value::Array(TypedArray::Bool(vec![])),
        Value::Array(TypedArray::Bool(vec![
            true, false, true, true, false, false, false, true, true,
        ])),
        Value::Array(TypedArray::I16(vec![1, -2, i16::MAX])),
        Value::Array(TypedArray::I32(vec![0, -1, i32::MIN])),
        Value::Array(TypedArray::I64(vec![i64::MAX, 7])),
        Value::Array(TypedArray::F32(vec![0.25, -0.0])),
        Value::Array(TypedArray::F64(vec![1e300])),
        Value::Array(TypedArray::String(vec!["a".into(), String::new()])),
        Value::ObjectArray(vec![]),
        Value::ObjectArray(vec![
            Value::Null,
            Value::I32(5),
            Value::String("x".into()),
            Value::ObjectArray(vec![]),
        ]),
        dictionary(
            TypeCode::Any,
            TypeCode::Any,
            vec![
                (Value::U8(1), Value::Null),
                (Value::String("k".into()), Value::I64(-9)),
            ],
        ),
        dictionary(
            TypeCode::String,
            TypeCode::I32,
            vec![(Value::String("a".into()), Value::I32(0))],
        ),
        dictionary(
            TypeCode::U8,
            TypeCode::Array,
            vec![(Value::U8(3), Value::Array(TypedArray::I16(vec![4])))],
        ),
        dictionary(
            TypeCode::I16,
            TypeCode::Dictionary,
            vec![(
                Value::I16(2),
                dictionary(
                    TypeCode::Bool,
                    TypeCode::Bytes,
                    vec![(Value::Bool(true), Value::Bytes(Bytes::from_static(b"z")))],
                ),
            )],
        ),
        dictionary(
            TypeCode::F64,
            TypeCode::ObjectArray,
            vec![(Value::F64(2.5), Value::ObjectArray(vec![Value::Bool(true)]))],
        ),
        dictionary(
            TypeCode::Custom,
            TypeCode::F32,
            vec![(
                Value::Custom {
                    type_id: 200,
                    data: Bytes::from_static(b"q"),
                },
                Value::F32(3.0),
            )],
        ),
        dictionary(TypeCode::I64, TypeCode::Any, vec![]),
        Value::Custom {
            type_id: 0,
            data: Bytes::new(),
        },
        Value::Custom {
            type_id: 0x7f,
            data: Bytes::from_static(b"abc"),
        },
        Value::Custom {
            type_id: 0x80,
            data: Bytes::from_static(b"abc"),
        },
        Value::Custom {
            type_id: 255,
            data: Bytes::from_static(&[9; 300]),
        },
    ]
}

#[test]
fn every_value_kind_round_trips() {
    for value in every_kind() {
        let bytes = encode(&value);
        let decoded = decode(&bytes).unwrap_or_else(|e| panic!("{value:?} failed to decode: {e}"));
        // Compare bit patterns too, so that -0.0 vs 0.0 is caught.
        assert_eq!(format!("{decoded:?}"), format!("{value:?}"));
        assert_eq!(decoded, value);
    }
}

#[test]
fn exact_encodings() {
    let table: Vec<(Value, Vec<u8>)> = vec![
        (Value::Null, vec![0x08]),
        (Value::Bool(false), vec![0x1b]),
        (Value::Bool(true), vec![0x1c]),
        (Value::U8(0), vec![0x22]),
        (Value::U8(7), vec![0x03, 7]),
        (Value::I16(0), vec![0x1d]),
        (Value::I16(-2), vec![0x04, 0xfe, 0xff]),
        (Value::I32(0), vec![0x1e]),
        (Value::I32(-1), vec![0x09, 0x01]),
        (Value::I32(300), vec![0x09, 0xd8, 0x04]),
        (Value::I64(0), vec![0x1f]),
        (Value::I64(-3), vec![0x0a, 0x05]),
        (Value::F32(0.0), vec![0x20]),
        (Value::F32(-0.0), vec![0x05, 0, 0, 0, 0x80]),
        (Value::F32(1.0), vec![0x05, 0, 0, 0x80, 0x3f]),
        (Value::F64(0.0), vec![0x21]),
        (Value::String("hi".into()), vec![0x07, 2, b'h', b'i']),
        (
            Value::Bytes(Bytes::from_static(&[1, 2])),
            vec![0x43, 2, 1, 2],
        ),
        (
            Value::Array(TypedArray::Bool(vec![true, false, true])),
            vec![0x42, 3, 0b101],
        ),
        (
            Value::Array(TypedArray::I32(vec![1, -1])),
            vec![0x49, 2, 2, 1],
        ),
        (
            Value::ObjectArray(vec![Value::Null, Value::Bool(true)]),
            vec![0x17, 2, 0x08, 0x1c],
        ),
        (
            dictionary(
                TypeCode::U8,
                TypeCode::Any,
                vec![(Value::U8(1), Value::I32(0))],
            ),
            vec![0x14, 0x03, 0x00, 1, 1, 0x1e],
        ),
        (
            dictionary(
                TypeCode::String,
                TypeCode::Bool,
                vec![(Value::String("a".into()), Value::Bool(true))],
            ),
            vec![0x14, 0x07, 0x02, 1, 1, b'a', 1],
        ),
        (
            Value::Custom {
                type_id: 5,
                data: Bytes::from_static(b"x"),
            },
            vec![0x85, 1, b'x'],
        ),
        (
            Value::Custom {
                type_id: 0x90,
                data: Bytes::from_static(b"x"),
            },
            vec![0x13, 0x90, 1, b'x'],
        ),
    ];
    for (value, bytes) in table {
        assert_eq!(encode(&value), bytes, "encoding of {value:?}");
        assert_eq!(decode(&bytes), Ok(value));
    }
}

#[test]
fn byte_arrays_decode_zero_copy() {
    let encoded = Bytes::from(encode(&Value::Bytes(Bytes::from_static(b"payload"))));
    let Value::Bytes(decoded) = Value::decode(&encoded, &Limits::default()).unwrap() else {
        panic!("not bytes")
    };
    assert_eq!(&decoded[..], b"payload");
    assert_eq!(
        decoded.as_ptr(),
        encoded[2..].as_ptr(),
        "byte array must point into the input"
    );
}

#[test]
fn long_form_codes_decode_too() {
    // The encoder prefers shortcuts but plain codes are valid input.
    assert_eq!(decode(&[0x02, 1]), Ok(Value::Bool(true)));
    assert_eq!(decode(&[0x09, 0]), Ok(Value::I32(0)));
    assert_eq!(
        decode(&[0x13, 5, 0]),
        Ok(Value::Custom {
            type_id: 5,
            data: Bytes::new()
        })
    );
}

#[test]
fn each_decode_error_from_crafted_input() {
    let table: Vec<(&[u8], DecodeError)> = vec![
        (&[], DecodeError::UnexpectedEnd),
        (&[0x07, 5, b'a'], DecodeError::UnexpectedEnd),
        (&[0x04, 1], DecodeError::UnexpectedEnd),
        (&[0x30], DecodeError::UnknownType(0x30)),
        (&[0x00], DecodeError::UnknownType(0x00)),
        (&[0x40], DecodeError::UnknownType(0x40)),
        (&[0x14, 0x08, 0x00, 0], DecodeError::UnknownType(0x08)),
        (&[0x07, 2, 0xff, 0xfe], DecodeError::InvalidUtf8),
        (
            &[0x09, 0x80, 0x80, 0x80, 0x80, 0x10],
            DecodeError::IntegerOverflow,
        ),
        (&[0x08, 0x08], DecodeError::TrailingBytes(1)),
        (
            &[0x14, 0x02, 0x02, 1, 2, 0],
            DecodeError::Invalid("boolean byte other than 0 or 1"),
        ),
        // 1e9 elements declared with a handful of bytes left: refused before allocating.
        (
            &[0x17, 0x80, 0x94, 0xeb, 0xdc, 0x03, 0x08],
            DecodeError::TooLong(1_000_000_000),
        ),
        (&[0x46, 2, 0, 0, 0, 0, 0, 0, 0, 0], DecodeError::TooLong(2)),
        (&[0x42, 9, 0xff], DecodeError::TooLong(9)),
        (
            &[0x14, 0x06, 0x06, 1, 0, 0, 0, 0, 0, 0, 0, 0],
            DecodeError::TooLong(1),
        ),
    ];
    for (bytes, error) in table {
        assert_eq!(decode(bytes), Err(error.clone()), "input {bytes:02x?}");
        let _ = error.to_string();
    }
}

#[test]
fn decode_limits() {
    let limits = Limits {
        max_message_size: 4,
        max_depth: 2,
        max_collection_len: 3,
    };
    let decode = |bytes: &[u8]| Value::decode(&Bytes::copy_from_slice(bytes), &limits);
    assert_eq!(
        decode(&[0x07, 4, 1, 2, 3, 4]),
        Err(DecodeError::TooLarge(6))
    );
    assert_eq!(decode(&[0x17, 4, 8, 8]), Err(DecodeError::TooLong(4)));
    assert_eq!(
        decode(&[0x17, 1, 0x17, 0]),
        Ok(Value::ObjectArray(vec![Value::ObjectArray(vec![])]))
    );
    let limits = Limits {
        max_depth: 2,
        ..Limits::default()
    };
    let deep = [0x17, 1, 0x17, 1, 0x17, 0];
    assert_eq!(
        Value::decode(&Bytes::copy_from_slice(&deep), &limits),
        Err(DecodeError::TooDeep(2))
    );
    let deep_dictionary = [0x14, 0, 0, 1, 0x08, 0x14, 0, 0, 1, 0x08, 0x14, 0, 0, 0];
    assert_eq!(
        Value::decode(&Bytes::copy_from_slice(&deep_dictionary), &limits),
        Err(DecodeError::TooDeep(2))
    );
}

#[test]
fn encode_checks_declared_types_and_limits() {
    let limits = Limits::default();
    let mut out = Vec::new();
    let wrong_value = dictionary(
        TypeCode::U8,
        TypeCode::String,
        vec![(Value::U8(1), Value::I32(2))],
    );
    assert_eq!(
        wrong_value.encode(&mut out, &limits),
        Err(EncodeError::TypeMismatch)
    );
    let wrong_key = dictionary(
        TypeCode::I16,
        TypeCode::Any,
        vec![(Value::I32(1), Value::Null)],
    );
    assert_eq!(
        wrong_key.encode(&mut out, &limits),
        Err(EncodeError::TypeMismatch)
    );
    let null_declared = dictionary(TypeCode::Null, TypeCode::Any, vec![]);
    assert_eq!(
        null_declared.encode(&mut out, &limits),
        Err(EncodeError::TypeMismatch)
    );

    let small = Limits {
        max_message_size: 8,
        max_depth: 1,
        max_collection_len: 2,
    };
    out.clear();
    assert_eq!(
        Value::Bytes(Bytes::from_static(&[0; 7])).encode(&mut out, &small),
        Err(EncodeError::TooLarge(9))
    );
    assert!(out.is_empty(), "a refused value leaves nothing behind");
    assert_eq!(
        Value::ObjectArray(vec![Value::Null; 3]).encode(&mut out, &small),
        Err(EncodeError::TooLong)
    );
    let nested = Value::ObjectArray(vec![Value::ObjectArray(vec![])]);
    assert_eq!(
        nested.encode(&mut out, &small),
        Err(EncodeError::TooDeep(1))
    );
    let _ = EncodeError::TooLong.to_string();
}
