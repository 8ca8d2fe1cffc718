//! Voice payloads on the wire, in Photon Voice's layout.
//!
//! - Voice info (announcement), sent reliably to the room and to each
//!   newcomer: `[0, 1, [info]]` where `info` is a dictionary with byte keys
//!   VoiceId 1, SamplingRate 2, Channels 3, FrameDurationUs 4, Bitrate 5,
//!   UserData 10, EventNumber 11, Codec 12 ([`VoiceEvent::Info`]).
//! - Voice remove: `[0, 2, [voice ids]]` ([`VoiceEvent::Remove`]).
//! - Frame: `[voiceId, evNumber, flags, data...]` ([`write_frame`], [`FrameView`]).

use crate::config::{AudioFormat, Channels, FrameDuration, SamplingRate, CODEC_OPUS};
use crate::error::{ConfigError, PayloadError};
use bytes::Bytes;
use transport::codec::{Dictionary, TypeCode, Value};

/// VoiceInfo keys (Photon's `VoiceInfo` hashtable).
pub mod keys {
    /// Voice id.
    pub const VOICE_ID: u8 = 1;
    /// Sampling rate in Hz.
    pub const SAMPLING_RATE: u8 = 2;
    /// Channels.
    pub const CHANNELS: u8 = 3;
    /// Frame duration in microseconds.
    pub const FRAME_DURATION_US: u8 = 4;
    /// Bitrate in b/s.
    pub const BITRATE: u8 = 5;
    /// Application data.
    pub const USER_DATA: u8 = 10;
    /// Event number the stream continues from.
    pub const EVENT_NUMBER: u8 = 11;
    /// Codec id (Opus 11).
    pub const CODEC: u8 = 12;
}

/// Subcode of a voice info event.
pub const SUBCODE_INFO: u8 = 1;
/// Subcode of a voice remove event.
pub const SUBCODE_REMOVE: u8 = 2;
/// Length of the frame header `[voiceId, evNumber, flags]`.
pub const FRAME_HEADER_LEN: usize = 3;

/// A voice id, 1..=15 per client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VoiceId(u8);

impl VoiceId {
    /// Highest voice id.
    pub const MAX: u8 = 15;
    /// The raw id.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for VoiceId {
    type Error = PayloadError;
    fn try_from(id: u8) -> Result<Self, PayloadError> {
        if (1..=Self::MAX).contains(&id) {
            Ok(Self(id))
        } else {
            Err(PayloadError::VoiceId(id))
        }
    }
}

/// Frame flags (Photon's `FrameFlags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameFlags(pub u8);

impl FrameFlags {
    /// Codec configuration frame.
    pub const CONFIG: u8 = 1;
    /// Key frame (video).
    pub const KEY_FRAME: u8 = 2;
    /// Part of a frame.
    pub const PARTIAL_FRAME: u8 = 4;
    /// The stream ends here (push-to-talk released, voice removed).
    pub const END_OF_STREAM: u8 = 8;
    /// Whether the end-of-stream flag is set.
    pub fn is_end_of_stream(self) -> bool {
        self.0 & Self::END_OF_STREAM != 0
    }
}

/// What an outgoing voice announces about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceInfo {
    /// Codec id; only Opus (11) is supported.
    pub codec: u8,
    /// Rate, channels, frame duration.
    pub format: AudioFormat,
    /// Bitrate in b/s.
    pub bitrate: u32,
    /// Application data (e.g. a name), opaque to the voice layer. Empty: none.
    pub user_data: Bytes,
    /// Event number of the next frame.
    pub event_number: u8,
}

/// A voice event carried in the info/remove payload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VoiceEvent {
    /// A voice was created (or is announced to a newcomer).
    Info(VoiceId, VoiceInfo),
    /// Voices were removed.
    Remove(Vec<VoiceId>),
}

fn int(dictionary: &Dictionary, key: u8) -> Result<i64, PayloadError> {
    dictionary
        .entries
        .iter()
        .find(|(k, _)| matches!(k, Value::U8(x) if *x == key))
        .and_then(|(_, v)| v.as_i64())
        .ok_or(PayloadError::InfoKey { key })
}

fn to_u32(value: i64, key: u8) -> Result<u32, PayloadError> {
    u32::try_from(value).map_err(|_| PayloadError::InfoKey { key })
}

impl VoiceEvent {
    /// The event as a typed value `[0, subcode, payload]` for the transport's codec.
    pub fn to_value(&self) -> Value {
        match self {
            VoiceEvent::Info(id, info) => {
                let mut entries = vec![
                    (Value::U8(keys::VOICE_ID), Value::U8(id.get())),
                    (Value::U8(keys::CODEC), Value::I32(info.codec as i32)),
                    (
                        Value::U8(keys::SAMPLING_RATE),
                        Value::I32(info.format.sampling_rate.hz() as i32),
                    ),
                    (
                        Value::U8(keys::CHANNELS),
                        Value::I32(info.format.channels.count() as i32),
                    ),
                    (
                        Value::U8(keys::FRAME_DURATION_US),
                        Value::I32(info.format.frame_duration.micros() as i32),
                    ),
                    (Value::U8(keys::BITRATE), Value::I32(info.bitrate as i32)),
                    (Value::U8(keys::EVENT_NUMBER), Value::U8(info.event_number)),
                ];
                if !info.user_data.is_empty() {
                    entries.push((
                        Value::U8(keys::USER_DATA),
                        Value::Bytes(info.user_data.clone()),
                    ));
                }
                let dictionary = Dictionary {
                    key_type: TypeCode::Any,
                    value_type: TypeCode::Any,
                    entries,
                };
                Value::ObjectArray(vec![
                    Value::U8(0),
                    Value::U8(SUBCODE_INFO),
                    Value::ObjectArray(vec![Value::Dictionary(dictionary)]),
                ])
            }
            VoiceEvent::Remove(ids) => Value::ObjectArray(vec![
                Value::U8(0),
                Value::U8(SUBCODE_REMOVE),
                Value::Bytes(ids.iter().map(|id| id.get()).collect::<Vec<u8>>().into()),
            ]),
        }
    }

    /// Reads `[0, subcode, payload]`. An info event may carry several voices;
    /// each is returned.
    pub fn from_value(value: &Value) -> Result<Vec<VoiceEvent>, PayloadError> {
        let bad = PayloadError::InfoKey { key: 0 };
        let Value::ObjectArray(items) = value else {
            return Err(bad);
        };
        let subcode = items.get(1).and_then(Value::as_i64).ok_or(bad.clone())?;
        match (subcode as u8, items.get(2)) {
            (SUBCODE_INFO, Some(Value::ObjectArray(infos))) => infos
                .iter()
                .map(|info| match info {
                    Value::Dictionary(d) => Self::info_from(d),
                    _ => Err(bad.clone()),
                })
                .collect(),
            (SUBCODE_REMOVE, Some(Value::Bytes(ids))) => Ok(vec![VoiceEvent::Remove(
                ids.iter()
                    .map(|&id| VoiceId::try_from(id))
                    .collect::<Result<_, _>>()?,
            )]),
            _ => Err(bad),
        }
    }

    fn info_from(d: &Dictionary) -> Result<VoiceEvent, PayloadError> {
        let id = VoiceId::try_from(u8::try_from(int(d, keys::VOICE_ID)?).map_err(|_| {
            PayloadError::InfoKey {
                key: keys::VOICE_ID,
            }
        })?)?;
        let codec = int(d, keys::CODEC)?;
        if codec != CODEC_OPUS as i64 {
            return Err(PayloadError::Codec(codec));
        }
        let channels =
            u8::try_from(int(d, keys::CHANNELS)?).map_err(|_| ConfigError::Channels(u8::MAX))?;
        let format = AudioFormat {
            sampling_rate: SamplingRate::try_from(to_u32(
                int(d, keys::SAMPLING_RATE)?,
                keys::SAMPLING_RATE,
            )?)?,
            channels: Channels::try_from(channels)?,
            frame_duration: FrameDuration::try_from(to_u32(
                int(d, keys::FRAME_DURATION_US)?,
                keys::FRAME_DURATION_US,
            )?)?,
        };
        let user_data = d
            .entries
            .iter()
            .find(|(k, _)| matches!(k, Value::U8(x) if *x == keys::USER_DATA))
            .and_then(|(_, v)| v.as_bytes().cloned())
            .unwrap_or_default();
        Ok(VoiceEvent::Info(
            id,
            VoiceInfo {
                codec: CODEC_OPUS,
                format,
                bitrate: to_u32(int(d, keys::BITRATE)?, keys::BITRATE)?,
                user_data,
                event_number: int(d, keys::EVENT_NUMBER).unwrap_or(0) as u8,
            },
        ))
    }
}

/// Writes a frame `[voiceId, evNumber, flags, data]` into `out` (cleared first).
pub fn write_frame(
    voice_id: VoiceId,
    event_number: u8,
    flags: FrameFlags,
    data: &[u8],
    out: &mut Vec<u8>,
) {
    out.clear();
    out.extend_from_slice(&[voice_id.get(), event_number, flags.0]);
    out.extend_from_slice(data);
}

/// A parsed frame, borrowing the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameView<'a> {
    /// The voice.
    pub voice_id: VoiceId,
    /// 8-bit event number.
    pub event_number: u8,
    /// Flags.
    pub flags: FrameFlags,
    /// The Opus packet (empty for an end-of-stream frame).
    pub data: &'a [u8],
}

impl<'a> FrameView<'a> {
    /// Parses a frame; never panics on bad input.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, PayloadError> {
        if bytes.len() < FRAME_HEADER_LEN {
            return Err(PayloadError::TooShort(bytes.len()));
        }
        Ok(Self {
            voice_id: VoiceId::try_from(bytes[0])?,
            event_number: bytes[1],
            flags: FrameFlags(bytes[2]),
            data: &bytes[FRAME_HEADER_LEN..],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_round_trips_through_value() {
        let info = VoiceInfo {
            codec: CODEC_OPUS,
            format: AudioFormat::default(),
            bitrate: 24_000,
            user_data: Bytes::from_static(b"alice"),
            event_number: 42,
        };
        let id = VoiceId::try_from(3).unwrap();
        let event = VoiceEvent::Info(id, info);
        assert_eq!(
            VoiceEvent::from_value(&event.to_value()).unwrap(),
            vec![event]
        );
        let remove = VoiceEvent::Remove(vec![id]);
        assert_eq!(
            VoiceEvent::from_value(&remove.to_value()).unwrap(),
            vec![remove]
        );
    }

    #[test]
    fn bad_payloads_are_errors() {
        assert_eq!(FrameView::parse(&[1, 2]), Err(PayloadError::TooShort(2)));
        assert_eq!(FrameView::parse(&[0, 2, 3]), Err(PayloadError::VoiceId(0)));
        assert_eq!(
            FrameView::parse(&[16, 2, 3]),
            Err(PayloadError::VoiceId(16))
        );
        assert!(VoiceEvent::from_value(&Value::Null).is_err());
        let mut out = Vec::new();
        write_frame(
            VoiceId::try_from(1).unwrap(),
            7,
            FrameFlags(FrameFlags::END_OF_STREAM),
            &[],
            &mut out,
        );
        let view = FrameView::parse(&out).unwrap();
        assert!(view.flags.is_end_of_stream());
        assert_eq!(view.event_number, 7);
    }
}
