//! Property tables (room and actor properties): typed keys and values in
//! insertion order, compared with the codec's value equality.

use transport::codec::{Dictionary, TypeCode, Value};

/// A property table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Props(pub Vec<(Value, Value)>);

impl Props {
    /// The value under `key`.
    pub fn get(&self, key: &Value) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// Sets `key`; a `Null` value deletes it.
    pub fn set(&mut self, key: Value, value: Value) {
        let index = self.0.iter().position(|(k, _)| *k == key);
        match (index, value) {
            (Some(i), Value::Null) => {
                self.0.remove(i);
            }
            (Some(i), value) => self.0[i].1 = value,
            (None, Value::Null) => {}
            (None, value) => self.0.push((key, value)),
        }
    }
    /// As a codec dictionary (keys and values of any type).
    pub fn to_dictionary(&self) -> Value {
        Value::Dictionary(Dictionary {
            key_type: TypeCode::Any,
            value_type: TypeCode::Any,
            entries: self.0.clone(),
        })
    }
    /// Approximate size in bytes (for limits).
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A dictionary value from entries.
pub fn dictionary(entries: Vec<(Value, Value)>) -> Value {
    Value::Dictionary(Dictionary {
        key_type: TypeCode::Any,
        value_type: TypeCode::Any,
        entries,
    })
}
