//! Message::decode and RawSendView::parse on arbitrary bytes; anything that
//! decodes must re-encode to something that decodes to the same message.
//! The same body runs under proptest in `transport/tests/codec_props.rs`.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use transport::codec::{Limits, Message, RawSendView};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let bytes = Bytes::copy_from_slice(data);
    if let Ok(message) = Message::decode(&bytes, &limits) {
        let mut out = Vec::new();
        message.encode(&mut out, &limits).expect("a decoded message re-encodes");
        assert!(out.len() <= data.len(), "the canonical encoding is never longer");
        assert_eq!(Message::decode(&Bytes::from(out), &limits).as_ref(), Ok(&message));
    }
    if let Ok(Some(view)) = RawSendView::parse(data) {
        assert_eq!(view.targets().count(), usize::from(view.routing.target_count));
        assert!(view.payload.len() <= data.len());
    }
});
