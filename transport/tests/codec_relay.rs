//! The voice fast path end to end through the public API: a client encodes a
//! `RawSend`, the relay reads it with `RawSendView` and forwards header +
//! untouched payload, the listener decodes a `RawEvent` whose payload is the
//! sender's bytes.

use bytes::{Bytes, BytesMut};
use transport::codec::{
    write_raw_event_header, Limits, Message, RawEvent, RawRouting, RawSend, RawSendView,
    ReceiverGroup, RAW_EVENT_HEADER_MAX,
};

#[test]
fn relayed_voice_frame_arrives_byte_for_byte() {
    let limits = Limits::default();
    let frame = Bytes::from((0..80u8).collect::<Vec<_>>());
    let sent = Message::RawSend(RawSend {
        routing: RawRouting {
            receivers: ReceiverGroup::All,
            interest_group: 5,
            target_count: 2,
        },
        targets: vec![2, 9000],
        payload: frame.clone(),
    });
    let mut wire = Vec::new();
    sent.encode(&mut wire, &limits).unwrap();

    // Relay: parse routing only, then write [header, payload].
    let view = RawSendView::parse(&wire).unwrap().expect("a raw send");
    assert_eq!(view.routing.receivers, ReceiverGroup::All);
    assert_eq!(view.routing.interest_group, 5);
    assert_eq!(view.targets().collect::<Vec<_>>(), [2, 9000]);
    let sender_actor = 4;
    let mut header = [0u8; RAW_EVENT_HEADER_MAX];
    let header_len = write_raw_event_header(sender_actor, &mut header);
    assert_eq!(header_len, 2);
    let mut out = BytesMut::with_capacity(header_len + view.payload.len());
    out.extend_from_slice(&header[..header_len]);
    out.extend_from_slice(view.payload);

    // Listener.
    let received = Message::decode(&out.freeze(), &limits).unwrap();
    assert_eq!(
        received,
        Message::RawEvent(RawEvent {
            sender: sender_actor,
            payload: frame
        })
    );
}

#[test]
fn relay_refuses_garbage_without_panicking() {
    for bad in [
        &[][..],
        &[0x09],
        &[0x09, 7, 0, 0],
        &[0x09, 0, 0, 1, 0x80],
        &[0xff, 1, 2],
    ] {
        assert!(
            RawSendView::parse(bad).is_err(),
            "{bad:02x?} should not parse"
        );
    }
}
