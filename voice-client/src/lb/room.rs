//! Rooms, actors, properties and the lobby's room list as the client sees them.

use std::collections::BTreeMap;
use transport::codec::{Dictionary, TypeCode, TypedArray, Value};
use transport::lb::{actor_key, room_key};

/// A property table (Photon's `Hashtable`): keys are bytes for well-known
/// properties ([`room_key`], [`actor_key`]) and strings for custom ones.
/// Insertion order is kept; lookups compare keys by value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Properties(pub Vec<(Value, Value)>);

impl Properties {
    /// No properties.
    pub fn new() -> Self {
        Self(Vec::new())
    }
    /// Sets `key` to `value` (replacing). Returns `self` for chaining.
    pub fn with(mut self, key: impl Into<Value>, value: impl Into<Value>) -> Self {
        self.insert(key, value);
        self
    }
    /// Sets `key` to `value`, replacing an earlier value.
    pub fn insert(&mut self, key: impl Into<Value>, value: impl Into<Value>) {
        let (key, value) = (key.into(), value.into());
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }
    /// The value under `key`.
    pub fn get(&self, key: &Value) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// The value under a custom (string) key.
    pub fn get_str(&self, key: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }
    /// The value under a well-known (byte) key.
    pub fn get_byte(&self, key: u8) -> Option<&Value> {
        self.get(&Value::U8(key))
    }
    /// Removes `key`.
    pub fn remove(&mut self, key: &Value) -> Option<Value> {
        let index = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(index).1)
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Iterates over the entries.
    pub fn iter(&self) -> impl Iterator<Item = (&Value, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
    /// Applies a change set: each entry replaces the old value; a `Null` value
    /// deletes the key (Photon's `DeleteNullProperties`).
    pub fn merge(&mut self, changes: &Properties) {
        for (key, value) in changes.iter() {
            if *value == Value::Null {
                self.remove(key);
            } else {
                self.insert(key.clone(), value.clone());
            }
        }
    }
    /// The wire form: a dictionary whose keys and values carry their own types.
    pub fn to_value(&self) -> Value {
        Value::Dictionary(Dictionary {
            key_type: TypeCode::Any,
            value_type: TypeCode::Any,
            entries: self.0.clone(),
        })
    }
    /// Reads a dictionary value; `None` for anything else.
    pub fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Dictionary(dictionary) => Some(Self(dictionary.entries.clone())),
            _ => None,
        }
    }
}

/// One actor (player) of the room.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Actor {
    /// Actor number, unique in the room, kept across a rejoin.
    pub number: i32,
    /// Nickname ([`actor_key::PLAYER_NAME`]), empty if none.
    pub nickname: String,
    /// User id ([`actor_key::USER_ID`]) if the room publishes it.
    pub user_id: Option<String>,
    /// True while the actor left temporarily (within the player TTL).
    pub is_inactive: bool,
    /// All actor properties, well-known ones included.
    pub properties: Properties,
}

impl Actor {
    /// An actor from its number and property table.
    pub fn from_properties(number: i32, properties: Properties) -> Self {
        let mut actor = Actor {
            number,
            ..Actor::default()
        };
        actor.apply(&properties);
        actor
    }
    /// Applies changed properties and refreshes the well-known fields.
    pub fn apply(&mut self, changes: &Properties) {
        self.properties.merge(changes);
        if let Some(name) = self
            .properties
            .get_byte(actor_key::PLAYER_NAME)
            .and_then(Value::as_str)
        {
            self.nickname = name.to_owned();
        }
        if let Some(user) = self
            .properties
            .get_byte(actor_key::USER_ID)
            .and_then(Value::as_str)
        {
            self.user_id = Some(user.to_owned());
        }
        if let Some(inactive) = self
            .properties
            .get_byte(actor_key::IS_INACTIVE)
            .and_then(Value::as_bool)
        {
            self.is_inactive = inactive;
        }
    }
}

/// The room the client is in.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Room {
    /// Room name.
    pub name: String,
    /// This client's actor number.
    pub local_actor: i32,
    /// The master client's actor number (0 if unknown).
    pub master_client: i32,
    /// Room properties, well-known ones included.
    pub properties: Properties,
    /// Actors by number, this client included.
    pub actors: BTreeMap<i32, Actor>,
}

impl Room {
    /// Maximum players (0 = unlimited).
    pub fn max_players(&self) -> u32 {
        self.properties
            .get_byte(room_key::MAX_PLAYERS)
            .and_then(Value::as_i64)
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0)
    }
    /// Open for joining (default true).
    pub fn is_open(&self) -> bool {
        self.properties
            .get_byte(room_key::IS_OPEN)
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }
    /// Listed in lobbies (default true).
    pub fn is_visible(&self) -> bool {
        self.properties
            .get_byte(room_key::IS_VISIBLE)
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }
    /// Actors currently active (inactive ones excluded).
    pub fn active_actors(&self) -> impl Iterator<Item = &Actor> {
        self.actors.values().filter(|a| !a.is_inactive)
    }
    /// True when this client is the master client.
    pub fn is_local_master(&self) -> bool {
        self.master_client != 0 && self.master_client == self.local_actor
    }
}

/// A room as listed in a lobby.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoomInfo {
    /// Room name.
    pub name: String,
    /// Active players.
    pub player_count: u32,
    /// Maximum players (0 = unlimited).
    pub max_players: u32,
    /// Open for joining.
    pub is_open: bool,
    /// The lobby properties (well-known and the custom ones listed in lobbies).
    pub properties: Properties,
}

impl RoomInfo {
    /// Reads a listing entry.
    pub fn from_properties(name: String, properties: Properties) -> Self {
        let int = |key| {
            properties
                .get_byte(key)
                .and_then(Value::as_i64)
                .and_then(|v| u32::try_from(v).ok())
        };
        RoomInfo {
            player_count: int(room_key::PLAYER_COUNT).unwrap_or(0),
            max_players: int(room_key::MAX_PLAYERS).unwrap_or(0),
            is_open: properties
                .get_byte(room_key::IS_OPEN)
                .and_then(Value::as_bool)
                .unwrap_or(true),
            name,
            properties,
        }
    }
}

/// Reads a list of actor numbers (typed i32 array or object array of integers).
pub(crate) fn actor_numbers(value: &Value) -> Vec<i32> {
    match value {
        Value::Array(TypedArray::I32(list)) => list.clone(),
        Value::ObjectArray(items) => items
            .iter()
            .filter_map(|v| v.as_i64())
            .filter_map(|v| i32::try_from(v).ok())
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_replaces_and_null_deletes() {
        let mut props = Properties::new().with("a", 1i32).with("b", "x");
        props.merge(
            &Properties::new()
                .with("a", 2i32)
                .with("b", Value::Null)
                .with("c", true),
        );
        assert_eq!(props.get_str("a"), Some(&Value::I32(2)));
        assert_eq!(props.get_str("b"), None);
        assert_eq!(props.get_str("c"), Some(&Value::Bool(true)));
        assert_eq!(Properties::from_value(&props.to_value()), Some(props));
    }

    #[test]
    fn actor_and_room_info_read_well_known_keys() {
        let actor = Actor::from_properties(
            3,
            Properties::new()
                .with(actor_key::PLAYER_NAME, "ann")
                .with(actor_key::USER_ID, "u1"),
        );
        assert_eq!(
            (actor.nickname.as_str(), actor.user_id.as_deref()),
            ("ann", Some("u1"))
        );
        let info = RoomInfo::from_properties(
            "r".into(),
            Properties::new()
                .with(room_key::PLAYER_COUNT, 2u8)
                .with(room_key::MAX_PLAYERS, 4i32),
        );
        assert_eq!(
            (info.player_count, info.max_players, info.is_open),
            (2, 4, true)
        );
    }
}
