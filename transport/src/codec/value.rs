//! The typed value model.
//!
//! CONTRACT (skeleton): the types below are the public API other crates build
//! against. The codec owner implements encoding/decoding and may add methods,
//! but must not change these shapes without updating every user.

use bytes::Bytes;

/// Type codes on the wire. `Any` is only used as a dictionary's declared key or
/// value type ("each entry carries its own type").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TypeCode {
    /// Entries carry their own type.
    Any,
    /// [`Value::Null`].
    Null,
    /// [`Value::Bool`].
    Bool,
    /// [`Value::U8`].
    U8,
    /// [`Value::I16`].
    I16,
    /// [`Value::I32`].
    I32,
    /// [`Value::I64`].
    I64,
    /// [`Value::F32`].
    F32,
    /// [`Value::F64`].
    F64,
    /// [`Value::String`].
    String,
    /// [`Value::Bytes`].
    Bytes,
    /// [`Value::Array`].
    Array,
    /// [`Value::ObjectArray`].
    ObjectArray,
    /// [`Value::Dictionary`].
    Dictionary,
    /// [`Value::Custom`].
    Custom,
}

/// One typed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value.
    Null,
    /// A boolean.
    Bool(bool),
    /// An unsigned byte.
    U8(u8),
    /// A 16-bit integer.
    I16(i16),
    /// A 32-bit integer (compact zig-zag encoding on the wire).
    I32(i32),
    /// A 64-bit integer (compact zig-zag encoding on the wire).
    I64(i64),
    /// A 32-bit float.
    F32(f32),
    /// A 64-bit float.
    F64(f64),
    /// A UTF-8 string.
    String(String),
    /// A byte array (decoded as a zero-copy slice of the input where possible).
    Bytes(Bytes),
    /// A homogeneous array of a primitive type.
    Array(TypedArray),
    /// An array of values of any type.
    ObjectArray(Vec<Value>),
    /// A dictionary with declared key and value types.
    Dictionary(Dictionary),
    /// An application-defined type: a type id chosen by the application and
    /// its own encoding of the value (the extension point for custom types).
    Custom {
        /// Application type id.
        type_id: u8,
        /// The application's encoding.
        data: Bytes,
    },
}

/// A homogeneous array.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedArray {
    /// Booleans.
    Bool(Vec<bool>),
    /// 16-bit integers.
    I16(Vec<i16>),
    /// 32-bit integers.
    I32(Vec<i32>),
    /// 64-bit integers.
    I64(Vec<i64>),
    /// 32-bit floats.
    F32(Vec<f32>),
    /// 64-bit floats.
    F64(Vec<f64>),
    /// Strings.
    String(Vec<String>),
}

/// A dictionary whose keys and values have declared types (or [`TypeCode::Any`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Dictionary {
    /// Type every key has, or `Any`.
    pub key_type: TypeCode,
    /// Type every value has, or `Any`.
    pub value_type: TypeCode,
    /// Entries in insertion order.
    pub entries: Vec<(Value, Value)>,
}

/// Operation and event parameters: values keyed by a byte, in insertion order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parameters(pub Vec<(u8, Value)>);

impl Parameters {
    /// No parameters.
    pub fn new() -> Self {
        Self(Vec::new())
    }
    /// Sets `key` to `value`, replacing an earlier value. Returns `self` for chaining.
    pub fn with(mut self, key: u8, value: impl Into<Value>) -> Self {
        self.insert(key, value);
        self
    }
    /// Sets `key` to `value`, replacing an earlier value.
    pub fn insert(&mut self, key: u8, value: impl Into<Value>) {
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }
    /// The value under `key`.
    pub fn get(&self, key: u8) -> Option<&Value> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
    /// Removes and returns the value under `key`.
    pub fn remove(&mut self, key: u8) -> Option<Value> {
        let index = self.0.iter().position(|(k, _)| *k == key)?;
        Some(self.0.remove(index).1)
    }
    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Iterates over `(key, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (u8, &Value)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Self { Value::$variant(v) }
        })*
    };
}
value_from!(bool => Bool, u8 => U8, i16 => I16, i32 => I32, i64 => I64, f32 => F32, f64 => F64,
    String => String, Bytes => Bytes, TypedArray => Array, Vec<Value> => ObjectArray, Dictionary => Dictionary);

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(Bytes::from(v))
    }
}

impl Value {
    /// The value's type code.
    pub fn type_code(&self) -> TypeCode {
        match self {
            Value::Null => TypeCode::Null,
            Value::Bool(_) => TypeCode::Bool,
            Value::U8(_) => TypeCode::U8,
            Value::I16(_) => TypeCode::I16,
            Value::I32(_) => TypeCode::I32,
            Value::I64(_) => TypeCode::I64,
            Value::F32(_) => TypeCode::F32,
            Value::F64(_) => TypeCode::F64,
            Value::String(_) => TypeCode::String,
            Value::Bytes(_) => TypeCode::Bytes,
            Value::Array(_) => TypeCode::Array,
            Value::ObjectArray(_) => TypeCode::ObjectArray,
            Value::Dictionary(_) => TypeCode::Dictionary,
            Value::Custom { .. } => TypeCode::Custom,
        }
    }
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    /// Any integer variant widened to i64.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::I16(v) => Some(v.into()),
            Value::I32(v) => Some(v.into()),
            Value::I64(v) => Some(v),
            _ => None,
        }
    }
    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(v) => Some(v),
            _ => None,
        }
    }
    /// The bytes, if this is a byte array.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }
}
