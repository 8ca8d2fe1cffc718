//! Unit tests of message encoding, decoding and the raw fast path.

use super::*;
use bytes::Bytes;

fn encode(message: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    message
        .encode(&mut out, &Limits::default())
        .expect("encodes");
    out
}

fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
    Message::decode(&Bytes::copy_from_slice(bytes), &Limits::default())
}

fn samples() -> Vec<Message> {
    let parameters = Parameters::new()
        .with(255, 7i32)
        .with(245, Bytes::from_static(b"voice"))
        .with(
            248,
            Value::Dictionary(Dictionary {
                key_type: TypeCode::String,
                value_type: TypeCode::Any,
                entries: vec![
                    (Value::from("map"), Value::from("dust")),
                    (Value::from("max"), Value::U8(8)),
                ],
            }),
        );
    vec![
        Message::Request(OperationRequest::default()),
        Message::Request(OperationRequest {
            code: 253,
            parameters: parameters.clone(),
        }),
        Message::Response(OperationResponse {
            code: 226,
            return_code: 0,
            debug_message: None,
            parameters: parameters.clone(),
        }),
        Message::Response(OperationResponse {
            code: 230,
            return_code: -2,
            debug_message: Some("Operation not allowed".into()),
            parameters: Parameters::new(),
        }),
        Message::Event(EventData {
            code: 255,
            sender: 3,
            parameters,
        }),
        Message::Event(EventData {
            code: 1,
            sender: i32::MIN,
            parameters: Parameters::new(),
        }),
        Message::RawSend(RawSend {
            routing: RawRouting::default(),
            targets: vec![],
            payload: Bytes::new(),
        }),
        Message::RawSend(RawSend {
            routing: RawRouting {
                receivers: ReceiverGroup::MasterClient,
                interest_group: 9,
                target_count: 3,
            },
            targets: vec![1, -5, 100_000],
            payload: Bytes::from_static(&[0xaa; 80]),
        }),
        Message::RawEvent(RawEvent {
            sender: 0,
            payload: Bytes::new(),
        }),
        Message::RawEvent(RawEvent {
            sender: 8191,
            payload: Bytes::from_static(&[1, 2, 3]),
        }),
    ]
}

#[test]
fn every_message_kind_round_trips() {
    for message in samples() {
        let bytes = encode(&message);
        assert_eq!(bytes[0], message.kind_byte());
        assert_eq!(decode(&bytes), Ok(message));
    }
}

#[test]
fn exact_message_encodings() {
    let request = Message::Request(OperationRequest {
        code: 253,
        parameters: Parameters::new().with(244, 1u8),
    });
    assert_eq!(encode(&request), [0x02, 253, 1, 244, 0x03, 1]);
    let response = Message::Response(OperationResponse {
        code: 226,
        return_code: -1,
        debug_message: Some("no".into()),
        parameters: Parameters::new(),
    });
    assert_eq!(
        encode(&response),
        [0x03, 226, 0xff, 0xff, 0x07, 2, b'n', b'o', 0]
    );
    let event = Message::Event(EventData {
        code: 255,
        sender: 2,
        parameters: Parameters::new(),
    });
    assert_eq!(encode(&event), [0x04, 255, 4, 0]);
    let raw_send = Message::RawSend(RawSend {
        routing: RawRouting {
            receivers: ReceiverGroup::All,
            interest_group: 4,
            target_count: 0,
        },
        targets: vec![2, -1],
        payload: Bytes::from_static(b"op"),
    });
    assert_eq!(encode(&raw_send), [0x09, 1, 4, 2, 4, 1, b'o', b'p']);
    let raw_event = Message::RawEvent(RawEvent {
        sender: 100,
        payload: Bytes::from_static(b"op"),
    });
    assert_eq!(encode(&raw_event), [0x0a, 0xc8, 0x01, b'o', b'p']);
}

#[test]
fn raw_payloads_decode_zero_copy() {
    let raw_event = Message::RawEvent(RawEvent {
        sender: 12,
        payload: Bytes::from_static(&[7; 80]),
    });
    let bytes = Bytes::from(encode(&raw_event));
    let Ok(Message::RawEvent(decoded)) = Message::decode(&bytes, &Limits::default()) else {
        panic!("not a raw event")
    };
    assert_eq!(decoded.payload.as_ptr(), bytes[2..].as_ptr());
    assert_eq!(decoded.payload.len(), 80);

    let raw_send = Message::RawSend(RawSend {
        routing: RawRouting::default(),
        targets: vec![4],
        payload: Bytes::from_static(&[7; 80]),
    });
    let bytes = Bytes::from(encode(&raw_send));
    let Ok(Message::RawSend(decoded)) = Message::decode(&bytes, &Limits::default()) else {
        panic!("not a raw send")
    };
    assert_eq!(decoded.payload.as_ptr(), bytes[5..].as_ptr());
    assert_eq!(decoded.targets, [4]);
    assert_eq!(decoded.routing.target_count, 1);
}

#[test]
fn raw_send_view_reads_routing_without_copying() {
    let bytes = encode(&Message::RawSend(RawSend {
        routing: RawRouting {
            receivers: ReceiverGroup::Others,
            interest_group: 3,
            target_count: 0,
        },
        targets: vec![7, 8191, -3],
        payload: Bytes::from_static(b"frame"),
    }));
    let view = RawSendView::parse(&bytes).unwrap().expect("a raw send");
    assert_eq!(
        view.routing,
        RawRouting {
            receivers: ReceiverGroup::Others,
            interest_group: 3,
            target_count: 3
        }
    );
    assert_eq!(view.targets().collect::<Vec<_>>(), [7, 8191, -3]);
    assert_eq!(view.payload, b"frame");
    assert_eq!(view.payload.as_ptr(), bytes[bytes.len() - 5..].as_ptr());

    // Other kinds are not raw sends; unknown kinds and truncations are errors.
    for other in samples()
        .iter()
        .filter(|m| !matches!(m, Message::RawSend(_)))
    {
        assert_eq!(
            RawSendView::parse(&encode(other)).map(|v| v.is_some()),
            Ok(false)
        );
    }
    assert_eq!(
        RawSendView::parse(&[]).err(),
        Some(DecodeError::UnexpectedEnd)
    );
    assert_eq!(
        RawSendView::parse(&[0x77]).err(),
        Some(DecodeError::UnknownMessageKind(0x77))
    );
    assert_eq!(
        RawSendView::parse(&[0x09, 0, 0, 2, 4]).err(),
        Some(DecodeError::UnexpectedEnd)
    );
    assert_eq!(
        RawSendView::parse(&[0x09, 3, 0, 0]).err(),
        Some(DecodeError::Invalid("receiver group above 2"))
    );
}

#[test]
fn raw_event_header_is_compact() {
    let table: &[(i32, usize)] = &[
        (0, 2),
        (1, 2),
        (63, 2),
        (64, 3),
        (8191, 3),
        (8192, 4),
        (-1, 2),
        (i32::MAX, 6),
        (i32::MIN, 6),
    ];
    for &(sender, len) in table {
        let mut header = [0u8; RAW_EVENT_HEADER_MAX];
        assert_eq!(
            write_raw_event_header(sender, &mut header),
            len,
            "sender {sender}"
        );
        // Header + payload is exactly the encoding of the RawEvent message.
        let mut wire = header[..len].to_vec();
        wire.extend_from_slice(b"opus");
        let expected = encode(&Message::RawEvent(RawEvent {
            sender,
            payload: Bytes::from_static(b"opus"),
        }));
        assert_eq!(wire, expected);
    }
    for sender in 0..8192 {
        let mut header = [0u8; RAW_EVENT_HEADER_MAX];
        assert!(write_raw_event_header(sender, &mut header) <= 3);
    }
}

#[test]
fn each_message_decode_error() {
    let table: Vec<(&[u8], DecodeError)> = vec![
        (&[], DecodeError::UnexpectedEnd),
        (&[0x02], DecodeError::UnexpectedEnd),
        (&[0x03, 1, 0], DecodeError::UnexpectedEnd),
        (&[0x01], DecodeError::UnknownMessageKind(0x01)),
        (&[0x02, 1, 1, 5, 0x3f], DecodeError::UnknownType(0x3f)),
        (&[0x02, 1, 0, 0], DecodeError::TrailingBytes(1)),
        (&[0x03, 1, 0, 0, 0x1c, 0], DecodeError::TypeMismatch),
        (&[0x03, 1, 0, 0, 0x07, 1, 0xc0, 0], DecodeError::InvalidUtf8),
        (
            &[0x04, 1, 0x80, 0x80, 0x80, 0x80, 0x10, 0],
            DecodeError::IntegerOverflow,
        ),
        (&[0x02, 1, 200, 1], DecodeError::TooLong(200)),
        (&[0x0a, 0x80], DecodeError::UnexpectedEnd),
    ];
    for (bytes, error) in table {
        assert_eq!(decode(bytes), Err(error), "input {bytes:02x?}");
    }
    let limits = Limits {
        max_message_size: 3,
        ..Limits::default()
    };
    assert_eq!(
        Message::decode(&Bytes::from_static(&[0x0a, 0, 1, 2]), &limits),
        Err(DecodeError::TooLarge(4))
    );
    let limits = Limits {
        max_depth: 0,
        ..Limits::default()
    };
    assert_eq!(
        Message::decode(&Bytes::from_static(&[0x02, 1, 1, 0, 0x17, 0]), &limits),
        Err(DecodeError::TooDeep(0))
    );
}

#[test]
fn encode_refusals_leave_the_buffer_untouched() {
    let mut out = vec![0xee];
    let small = Limits {
        max_message_size: 10,
        ..Limits::default()
    };
    let big = Message::RawEvent(RawEvent {
        sender: 1,
        payload: Bytes::from_static(&[0; 20]),
    });
    assert_eq!(big.encode(&mut out, &small), Err(EncodeError::TooLarge(22)));
    let mismatch = Message::Request(OperationRequest {
        code: 1,
        parameters: Parameters::new().with(
            1,
            Value::Dictionary(Dictionary {
                key_type: TypeCode::U8,
                value_type: TypeCode::U8,
                entries: vec![(Value::U8(1), Value::Null)],
            }),
        ),
    });
    assert_eq!(
        mismatch.encode(&mut out, &Limits::default()),
        Err(EncodeError::TypeMismatch)
    );
    let too_many_targets = Message::RawSend(RawSend {
        routing: RawRouting::default(),
        targets: vec![1; 256],
        payload: Bytes::new(),
    });
    assert_eq!(
        too_many_targets.encode(&mut out, &Limits::default()),
        Err(EncodeError::TooLong)
    );
    assert_eq!(out, [0xee]);
}
