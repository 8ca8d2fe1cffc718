//! Encoding and decoding of [`Value`]s (layouts documented in `codec/mod.rs`).

use super::wire::{put_compact_i32, put_compact_i64, put_varint, Cursor};
use super::{DecodeError, Dictionary, EncodeError, Limits, TypeCode, TypedArray, Value};
use bytes::Bytes;

/// Wire type codes. Full-form values start with one of these.
pub(crate) mod code {
    /// Declared type "each entry carries its own type" (dictionaries only).
    pub const ANY: u8 = 0x00;
    pub const BOOL: u8 = 0x02;
    pub const U8: u8 = 0x03;
    pub const I16: u8 = 0x04;
    pub const F32: u8 = 0x05;
    pub const F64: u8 = 0x06;
    pub const STRING: u8 = 0x07;
    pub const NULL: u8 = 0x08;
    pub const I32: u8 = 0x09;
    pub const I64: u8 = 0x0a;
    pub const CUSTOM: u8 = 0x13;
    pub const DICTIONARY: u8 = 0x14;
    pub const OBJECT_ARRAY: u8 = 0x17;
    pub const FALSE: u8 = 0x1b;
    pub const TRUE: u8 = 0x1c;
    pub const I16_ZERO: u8 = 0x1d;
    pub const I32_ZERO: u8 = 0x1e;
    pub const I64_ZERO: u8 = 0x1f;
    pub const F32_ZERO: u8 = 0x20;
    pub const F64_ZERO: u8 = 0x21;
    pub const U8_ZERO: u8 = 0x22;
    /// Declared type "typed array" (dictionaries only; the array's own code follows).
    pub const ARRAY: u8 = 0x40;
    pub const BOOL_ARRAY: u8 = 0x42;
    pub const BYTES: u8 = 0x43;
    pub const I16_ARRAY: u8 = 0x44;
    pub const F32_ARRAY: u8 = 0x45;
    pub const F64_ARRAY: u8 = 0x46;
    pub const STRING_ARRAY: u8 = 0x47;
    pub const I32_ARRAY: u8 = 0x49;
    pub const I64_ARRAY: u8 = 0x4a;
    /// `0x80 | type_id` for custom types with `type_id < 0x80`.
    pub const CUSTOM_SLIM: u8 = 0x80;
}

/// The byte that declares `t` as a dictionary key or value type.
pub(crate) fn declared_code(t: TypeCode) -> Result<u8, EncodeError> {
    Ok(match t {
        TypeCode::Any => code::ANY,
        TypeCode::Bool => code::BOOL,
        TypeCode::U8 => code::U8,
        TypeCode::I16 => code::I16,
        TypeCode::I32 => code::I32,
        TypeCode::I64 => code::I64,
        TypeCode::F32 => code::F32,
        TypeCode::F64 => code::F64,
        TypeCode::String => code::STRING,
        TypeCode::Bytes => code::BYTES,
        TypeCode::Array => code::ARRAY,
        TypeCode::ObjectArray => code::OBJECT_ARRAY,
        TypeCode::Dictionary => code::DICTIONARY,
        TypeCode::Custom => code::CUSTOM,
        // A declared Null type would make entries zero bytes long, so that a
        // tiny input could claim millions of entries: not representable.
        TypeCode::Null => return Err(EncodeError::TypeMismatch),
    })
}

fn declared_type(byte: u8) -> Result<TypeCode, DecodeError> {
    Ok(match byte {
        code::ANY => TypeCode::Any,
        code::BOOL => TypeCode::Bool,
        code::U8 => TypeCode::U8,
        code::I16 => TypeCode::I16,
        code::I32 => TypeCode::I32,
        code::I64 => TypeCode::I64,
        code::F32 => TypeCode::F32,
        code::F64 => TypeCode::F64,
        code::STRING => TypeCode::String,
        code::BYTES => TypeCode::Bytes,
        code::ARRAY => TypeCode::Array,
        code::OBJECT_ARRAY => TypeCode::ObjectArray,
        code::DICTIONARY => TypeCode::Dictionary,
        code::CUSTOM => TypeCode::Custom,
        other => return Err(DecodeError::UnknownType(other)),
    })
}

/// Smallest number of bytes a value of declared type `t` takes without its
/// type code (with it, for `Any`). Always at least 1.
fn min_size(t: TypeCode) -> usize {
    match t {
        TypeCode::I16 | TypeCode::Array | TypeCode::Custom => 2,
        TypeCode::F32 => 4,
        TypeCode::F64 => 8,
        TypeCode::Dictionary => 3,
        _ => 1,
    }
}

/// Writes values into a caller-owned buffer.
pub(crate) struct Encoder<'a> {
    pub(crate) out: &'a mut Vec<u8>,
    pub(crate) limits: &'a Limits,
}

impl Encoder<'_> {
    fn length(&mut self, len: usize) -> Result<(), EncodeError> {
        let len = u32::try_from(len).map_err(|_| EncodeError::TooLong)?;
        put_varint(self.out, u64::from(len));
        Ok(())
    }

    /// A collection length, checked against [`Limits::max_collection_len`].
    pub(crate) fn count(&mut self, len: usize) -> Result<(), EncodeError> {
        if len > self.limits.max_collection_len {
            return Err(EncodeError::TooLong);
        }
        self.length(len)
    }

    fn blob(&mut self, data: &[u8]) -> Result<(), EncodeError> {
        self.length(data.len())?;
        self.out.extend_from_slice(data);
        Ok(())
    }

    fn enter(&self, depth: usize) -> Result<usize, EncodeError> {
        if depth >= self.limits.max_depth {
            return Err(EncodeError::TooDeep(self.limits.max_depth));
        }
        Ok(depth + 1)
    }

    /// A value with its type code (`depth` = containers around it).
    pub(crate) fn value(&mut self, value: &Value, depth: usize) -> Result<(), EncodeError> {
        let shortcut = match value {
            Value::Null => Some(code::NULL),
            Value::Bool(false) => Some(code::FALSE),
            Value::Bool(true) => Some(code::TRUE),
            Value::U8(0) => Some(code::U8_ZERO),
            Value::I16(0) => Some(code::I16_ZERO),
            Value::I32(0) => Some(code::I32_ZERO),
            Value::I64(0) => Some(code::I64_ZERO),
            // Bit test, so that -0.0 keeps its sign.
            Value::F32(v) if v.to_bits() == 0 => Some(code::F32_ZERO),
            Value::F64(v) if v.to_bits() == 0 => Some(code::F64_ZERO),
            _ => None,
        };
        if let Some(byte) = shortcut {
            self.out.push(byte);
            return Ok(());
        }
        match value {
            // A typed array's element code doubles as its type code.
            Value::Array(array) => return self.array(array),
            Value::Custom { type_id, data } if *type_id < 0x80 => {
                self.out.push(code::CUSTOM_SLIM | type_id);
                return self.blob(data);
            }
            _ => {}
        }
        self.out.push(declared_code(value.type_code())?);
        self.bare(value, depth)
    }

    /// A value without its type code (its type was declared before).
    pub(crate) fn bare(&mut self, value: &Value, depth: usize) -> Result<(), EncodeError> {
        match value {
            Value::Null => return Err(EncodeError::TypeMismatch),
            Value::Bool(v) => self.out.push(u8::from(*v)),
            Value::U8(v) => self.out.push(*v),
            Value::I16(v) => self.out.extend_from_slice(&v.to_le_bytes()),
            Value::I32(v) => put_compact_i32(self.out, *v),
            Value::I64(v) => put_compact_i64(self.out, *v),
            Value::F32(v) => self.out.extend_from_slice(&v.to_le_bytes()),
            Value::F64(v) => self.out.extend_from_slice(&v.to_le_bytes()),
            Value::String(v) => self.blob(v.as_bytes())?,
            Value::Bytes(v) => self.blob(v)?,
            Value::Array(v) => self.array(v)?,
            Value::ObjectArray(items) => {
                let depth = self.enter(depth)?;
                self.count(items.len())?;
                for item in items {
                    self.value(item, depth)?;
                }
            }
            Value::Dictionary(dictionary) => self.dictionary(dictionary, depth)?,
            Value::Custom { type_id, data } => {
                self.out.push(*type_id);
                self.blob(data)?;
            }
        }
        Ok(())
    }

    fn dictionary(&mut self, dictionary: &Dictionary, depth: usize) -> Result<(), EncodeError> {
        let depth = self.enter(depth)?;
        let Dictionary {
            key_type,
            value_type,
            entries,
        } = dictionary;
        self.out.push(declared_code(*key_type)?);
        self.out.push(declared_code(*value_type)?);
        self.count(entries.len())?;
        for (key, value) in entries {
            self.typed(*key_type, key, depth)?;
            self.typed(*value_type, value, depth)?;
        }
        Ok(())
    }

    fn typed(
        &mut self,
        declared: TypeCode,
        value: &Value,
        depth: usize,
    ) -> Result<(), EncodeError> {
        if declared == TypeCode::Any {
            self.value(value, depth)
        } else if value.type_code() == declared {
            self.bare(value, depth)
        } else {
            Err(EncodeError::TypeMismatch)
        }
    }

    fn array(&mut self, array: &TypedArray) -> Result<(), EncodeError> {
        match array {
            TypedArray::Bool(items) => {
                self.out.push(code::BOOL_ARRAY);
                self.count(items.len())?;
                for chunk in items.chunks(8) {
                    let bits = chunk
                        .iter()
                        .enumerate()
                        .fold(0u8, |acc, (i, &b)| acc | (u8::from(b) << i));
                    self.out.push(bits);
                }
            }
            TypedArray::I16(items) => {
                self.out.push(code::I16_ARRAY);
                self.count(items.len())?;
                items
                    .iter()
                    .for_each(|v| self.out.extend_from_slice(&v.to_le_bytes()));
            }
            TypedArray::I32(items) => {
                self.out.push(code::I32_ARRAY);
                self.count(items.len())?;
                items.iter().for_each(|v| put_compact_i32(self.out, *v));
            }
            TypedArray::I64(items) => {
                self.out.push(code::I64_ARRAY);
                self.count(items.len())?;
                items.iter().for_each(|v| put_compact_i64(self.out, *v));
            }
            TypedArray::F32(items) => {
                self.out.push(code::F32_ARRAY);
                self.count(items.len())?;
                items
                    .iter()
                    .for_each(|v| self.out.extend_from_slice(&v.to_le_bytes()));
            }
            TypedArray::F64(items) => {
                self.out.push(code::F64_ARRAY);
                self.count(items.len())?;
                items
                    .iter()
                    .for_each(|v| self.out.extend_from_slice(&v.to_le_bytes()));
            }
            TypedArray::String(items) => {
                self.out.push(code::STRING_ARRAY);
                self.count(items.len())?;
                for item in items {
                    self.blob(item.as_bytes())?;
                }
            }
        }
        Ok(())
    }
}

/// Reads values from a `Bytes`, slicing byte arrays out of it without copying.
pub(crate) struct Decoder<'a> {
    pub(crate) source: &'a Bytes,
    pub(crate) cursor: Cursor<'a>,
    pub(crate) limits: &'a Limits,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(source: &'a Bytes, limits: &'a Limits) -> Self {
        Self {
            source,
            cursor: Cursor::new(source),
            limits,
        }
    }

    /// A collection length: within the limit and within what the bytes left
    /// can hold at `min_bytes` per element, so that it is safe to allocate.
    pub(crate) fn count(&mut self, min_bytes: usize) -> Result<usize, DecodeError> {
        let count = self.cursor.varint_u32()? as usize;
        if count > self.limits.max_collection_len
            || count.saturating_mul(min_bytes) > self.cursor.remaining()
        {
            return Err(DecodeError::TooLong(count as u64));
        }
        Ok(count)
    }

    fn blob(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.cursor.varint_u32()? as usize;
        self.cursor.take(len)
    }

    fn bytes(&mut self) -> Result<Bytes, DecodeError> {
        let len = self.cursor.varint_u32()? as usize;
        let start = self.cursor.position();
        self.cursor.take(len)?;
        Ok(self.source.slice(start..start + len))
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let raw = self.blob()?;
        std::str::from_utf8(raw)
            .map(str::to_owned)
            .map_err(|_| DecodeError::InvalidUtf8)
    }

    fn enter(&self, depth: usize) -> Result<usize, DecodeError> {
        if depth >= self.limits.max_depth {
            return Err(DecodeError::TooDeep(self.limits.max_depth));
        }
        Ok(depth + 1)
    }

    /// A value with its type code.
    pub(crate) fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        let byte = self.cursor.u8()?;
        Ok(match byte {
            code::NULL => Value::Null,
            code::FALSE => Value::Bool(false),
            code::TRUE => Value::Bool(true),
            code::U8_ZERO => Value::U8(0),
            code::I16_ZERO => Value::I16(0),
            code::I32_ZERO => Value::I32(0),
            code::I64_ZERO => Value::I64(0),
            code::F32_ZERO => Value::F32(0.0),
            code::F64_ZERO => Value::F64(0.0),
            code::BOOL_ARRAY
            | code::I16_ARRAY
            | code::I32_ARRAY
            | code::I64_ARRAY
            | code::F32_ARRAY
            | code::F64_ARRAY
            | code::STRING_ARRAY => Value::Array(self.array(byte)?),
            code::BOOL
            | code::U8
            | code::I16
            | code::I32
            | code::I64
            | code::F32
            | code::F64
            | code::STRING
            | code::BYTES
            | code::OBJECT_ARRAY
            | code::DICTIONARY
            | code::CUSTOM => self.bare(declared_type(byte)?, depth)?,
            slim if slim >= code::CUSTOM_SLIM => Value::Custom {
                type_id: slim & 0x7f,
                data: self.bytes()?,
            },
            other => return Err(DecodeError::UnknownType(other)),
        })
    }

    /// A value of declared type `t` (without its type code unless `t` is `Any`).
    pub(crate) fn bare(&mut self, t: TypeCode, depth: usize) -> Result<Value, DecodeError> {
        let c = &mut self.cursor;
        Ok(match t {
            TypeCode::Any => self.value(depth)?,
            TypeCode::Null => Value::Null,
            TypeCode::Bool => match c.u8()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                _ => return Err(DecodeError::Invalid("boolean byte other than 0 or 1")),
            },
            TypeCode::U8 => Value::U8(c.u8()?),
            TypeCode::I16 => Value::I16(i16::from_le_bytes(c.array()?)),
            TypeCode::I32 => Value::I32(c.compact_i32()?),
            TypeCode::I64 => Value::I64(c.compact_i64()?),
            TypeCode::F32 => Value::F32(f32::from_le_bytes(c.array()?)),
            TypeCode::F64 => Value::F64(f64::from_le_bytes(c.array()?)),
            TypeCode::String => Value::String(self.string()?),
            TypeCode::Bytes => Value::Bytes(self.bytes()?),
            TypeCode::Array => {
                let byte = c.u8()?;
                Value::Array(self.array(byte)?)
            }
            TypeCode::ObjectArray => {
                let depth = self.enter(depth)?;
                let count = self.count(1)?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.value(depth)?);
                }
                Value::ObjectArray(items)
            }
            TypeCode::Dictionary => Value::Dictionary(self.dictionary(depth)?),
            TypeCode::Custom => {
                let type_id = c.u8()?;
                Value::Custom {
                    type_id,
                    data: self.bytes()?,
                }
            }
        })
    }

    fn dictionary(&mut self, depth: usize) -> Result<Dictionary, DecodeError> {
        let depth = self.enter(depth)?;
        let key_type = declared_type(self.cursor.u8()?)?;
        let value_type = declared_type(self.cursor.u8()?)?;
        let count = self.count(min_size(key_type) + min_size(value_type))?;
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            let key = self.bare(key_type, depth)?;
            let value = self.bare(value_type, depth)?;
            entries.push((key, value));
        }
        Ok(Dictionary {
            key_type,
            value_type,
            entries,
        })
    }

    fn array(&mut self, byte: u8) -> Result<TypedArray, DecodeError> {
        fn collect<T>(
            decoder: &mut Decoder<'_>,
            min_bytes: usize,
            mut read: impl FnMut(&mut Decoder<'_>) -> Result<T, DecodeError>,
        ) -> Result<Vec<T>, DecodeError> {
            let count = decoder.count(min_bytes)?;
            let mut items = Vec::with_capacity(count);
            for _ in 0..count {
                items.push(read(decoder)?);
            }
            Ok(items)
        }
        Ok(match byte {
            code::BOOL_ARRAY => {
                let count = self.cursor.varint_u32()? as usize;
                if count > self.limits.max_collection_len
                    || count.div_ceil(8) > self.cursor.remaining()
                {
                    return Err(DecodeError::TooLong(count as u64));
                }
                let packed = self.cursor.take(count.div_ceil(8))?;
                TypedArray::Bool(
                    (0..count)
                        .map(|i| packed[i / 8] & (1 << (i % 8)) != 0)
                        .collect(),
                )
            }
            code::I16_ARRAY => TypedArray::I16(collect(self, 2, |d| {
                Ok(i16::from_le_bytes(d.cursor.array()?))
            })?),
            code::I32_ARRAY => TypedArray::I32(collect(self, 1, |d| d.cursor.compact_i32())?),
            code::I64_ARRAY => TypedArray::I64(collect(self, 1, |d| d.cursor.compact_i64())?),
            code::F32_ARRAY => TypedArray::F32(collect(self, 4, |d| {
                Ok(f32::from_le_bytes(d.cursor.array()?))
            })?),
            code::F64_ARRAY => TypedArray::F64(collect(self, 8, |d| {
                Ok(f64::from_le_bytes(d.cursor.array()?))
            })?),
            code::STRING_ARRAY => TypedArray::String(collect(self, 1, |d| d.string())?),
            other => return Err(DecodeError::UnknownType(other)),
        })
    }
}

impl Value {
    /// Appends this value in full form (type code first) to `out`. Checks
    /// declared dictionary types, depth and collection lengths against `limits`;
    /// on error `out` may hold a partial encoding.
    pub fn encode(&self, out: &mut Vec<u8>, limits: &Limits) -> Result<(), EncodeError> {
        let start = out.len();
        Encoder { out, limits }.value(self, 0)?;
        let size = out.len() - start;
        if size > limits.max_message_size {
            out.truncate(start);
            return Err(EncodeError::TooLarge(size));
        }
        Ok(())
    }

    /// Decodes exactly one full-form value from `bytes` (byte arrays and custom
    /// data are zero-copy slices of it).
    pub fn decode(bytes: &Bytes, limits: &Limits) -> Result<Value, DecodeError> {
        if bytes.len() > limits.max_message_size {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        let mut decoder = Decoder::new(bytes, limits);
        let value = decoder.value(0)?;
        match decoder.cursor.remaining() {
            0 => Ok(value),
            left => Err(DecodeError::TrailingBytes(left)),
        }
    }
}
