//! The extension point for application types carried as [`Value::Custom`].

use super::{DecodeError, Value};
use bytes::Bytes;

/// An application type that travels as a [`Value::Custom`]: a type id of the
/// application's choosing plus the application's own encoding.
///
/// Implement [`CustomType::write`] and [`CustomType::read`]; the provided
/// [`CustomType::to_value`] and [`CustomType::from_value`] convert to and from
/// `Value`. Type ids below `0x80` encode one byte shorter on the wire.
/// `read` receives untrusted bytes: it must return an error, never panic.
pub trait CustomType: Sized {
    /// The id that tags this type on the wire.
    const TYPE_ID: u8;

    /// Appends this value's encoding to `out`.
    fn write(&self, out: &mut Vec<u8>);

    /// Decodes a value from the bytes [`CustomType::write`] produced.
    fn read(data: &[u8]) -> Result<Self, DecodeError>;

    /// Wraps this value as a [`Value::Custom`].
    fn to_value(&self) -> Value {
        let mut data = Vec::new();
        self.write(&mut data);
        Value::Custom {
            type_id: Self::TYPE_ID,
            data: Bytes::from(data),
        }
    }

    /// Unwraps a [`Value::Custom`] of this type. Any other value, or a custom
    /// value of another type id, is a [`DecodeError::TypeMismatch`].
    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        match value {
            Value::Custom { type_id, data } if *type_id == Self::TYPE_ID => Self::read(data),
            _ => Err(DecodeError::TypeMismatch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Limits, Message, OperationRequest, Parameters};

    /// A 3D position, as a game would send it.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct Position {
        x: f32,
        y: f32,
        z: f32,
    }

    impl CustomType for Position {
        const TYPE_ID: u8 = b'V';

        fn write(&self, out: &mut Vec<u8>) {
            for v in [self.x, self.y, self.z] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }

        fn read(data: &[u8]) -> Result<Self, DecodeError> {
            if data.len() != 12 {
                return Err(DecodeError::Invalid("Position needs exactly 12 bytes"));
            }
            let f = |i: usize| f32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
            Ok(Position {
                x: f(0),
                y: f(4),
                z: f(8),
            })
        }
    }

    #[test]
    fn custom_type_round_trips_through_a_message() {
        let position = Position {
            x: 1.5,
            y: -2.0,
            z: 1e6,
        };
        let request = Message::Request(OperationRequest {
            code: 253,
            parameters: Parameters::new().with(245, position.to_value()),
        });
        let limits = Limits::default();
        let mut out = Vec::new();
        request.encode(&mut out, &limits).unwrap();
        // kind, code, count, key, slim custom code 0x80|'V', length 12, data.
        assert_eq!(&out[..6], &[0x02, 253, 1, 245, 0x80 | b'V', 12]);
        assert_eq!(out.len(), 6 + 12);
        let Message::Request(decoded) = Message::decode(&out.into(), &limits).unwrap() else {
            panic!("decoded another kind")
        };
        assert_eq!(
            Position::from_value(decoded.parameters.get(245).unwrap()),
            Ok(position)
        );
    }

    #[test]
    fn from_value_rejects_other_values() {
        assert_eq!(
            Position::from_value(&Value::I32(3)),
            Err(DecodeError::TypeMismatch)
        );
        let other = Value::Custom {
            type_id: 1,
            data: Bytes::from_static(&[0; 12]),
        };
        assert_eq!(Position::from_value(&other), Err(DecodeError::TypeMismatch));
        let short = Value::Custom {
            type_id: b'V',
            data: Bytes::from_static(&[0; 5]),
        };
        assert!(matches!(
            Position::from_value(&short),
            Err(DecodeError::Invalid(_))
        ));
    }
}
