//! One room: options, properties, actors, master client and event cache.

use crate::game::actor::{Actor, Groups};
use crate::game::cache::EventCache;
use crate::game::props::{dictionary, Props};
use crate::outbox::{OpError, Params};
use crate::report::{AppKey, RoomListing};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use transport::codec::{TypedArray, Value};
use transport::lb::{error, param, room_key};
use transport::PeerHandle;

/// Room options chosen at creation (and some changed later by SetProperties).
#[derive(Debug, Clone, PartialEq)]
pub struct RoomOptions {
    /// Maximum players; 0 = unlimited (capped by the server's actor limit).
    pub max_players: u32,
    /// Open for joining. Default true.
    pub open: bool,
    /// Listed in lobbies. Default true.
    pub visible: bool,
    /// How long a leaving actor is kept inactive (ms); -1 = as long as allowed
    /// (capped), 0 = not kept. Default 0.
    pub player_ttl_ms: i64,
    /// How long the room is kept when no actor is active (ms). Default from config.
    pub empty_room_ttl_ms: u64,
    /// Remove an actor's cached events when it leaves for good. Default true.
    pub cleanup_cache_on_leave: bool,
    /// Do not send Join/Leave events. Default false.
    pub suppress_room_events: bool,
    /// Custom properties shown in lobbies.
    pub lobby_props: Vec<String>,
    /// Lobby name ("" = default).
    pub lobby: String,
}

/// Bounds applied to client-chosen options.
#[derive(Debug, Clone, Copy)]
pub struct RoomBounds {
    /// Most actors per room.
    pub max_actors: u32,
    /// Largest player TTL (ms).
    pub max_player_ttl_ms: u64,
    /// Largest empty-room TTL (ms).
    pub max_empty_room_ttl_ms: u64,
    /// Default empty-room TTL (ms).
    pub default_empty_room_ttl_ms: u64,
}

fn key_is(key: &Value, byte: u8) -> bool {
    matches!(key, Value::U8(b) if *b == byte)
}

fn string_list(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Array(TypedArray::String(v)) => Some(v.clone()),
        Value::ObjectArray(v) => v.iter().map(|x| x.as_str().map(str::to_owned)).collect(),
        _ => None,
    }
}

impl RoomOptions {
    /// Parses the options of a CreateGame / join-or-create request; custom
    /// properties go into the returned table.
    pub fn parse(
        op: u8,
        p: &Params<'_>,
        bounds: &RoomBounds,
    ) -> Result<(RoomOptions, Props), OpError> {
        let mut options = RoomOptions {
            max_players: 0,
            open: true,
            visible: true,
            player_ttl_ms: 0,
            empty_room_ttl_ms: bounds.default_empty_room_ttl_ms,
            cleanup_cache_on_leave: true,
            suppress_room_events: false,
            lobby_props: Vec::new(),
            lobby: p.opt_str(param::LOBBY_NAME)?.unwrap_or("").to_owned(),
        };
        let mut props = Props::default();
        if let Some(entries) = p.opt_dict(param::GAME_PROPERTIES)? {
            for (key, value) in entries {
                options.apply_well_known(op, key, value, &mut props)?;
            }
        }
        if let Some(ttl) = p.opt_int(param::PLAYER_TTL)? {
            options.player_ttl_ms = ttl;
        }
        if let Some(ttl) = p.opt_int(param::EMPTY_ROOM_TTL)? {
            options.empty_room_ttl_ms = ttl.max(0) as u64;
        }
        if let Some(b) = p.opt_bool(param::CLEANUP_CACHE_ON_LEAVE)? {
            options.cleanup_cache_on_leave = b;
        }
        if let Some(b) = p.opt_bool(param::SUPPRESS_ROOM_EVENTS)? {
            options.suppress_room_events = b;
        }
        options.player_ttl_ms = match options.player_ttl_ms {
            t if t < 0 => bounds.max_player_ttl_ms as i64,
            t => t.min(bounds.max_player_ttl_ms as i64),
        };
        options.empty_room_ttl_ms = options.empty_room_ttl_ms.min(bounds.max_empty_room_ttl_ms);
        if options.max_players == 0 || options.max_players > bounds.max_actors {
            options.max_players = options.max_players.min(bounds.max_actors);
        }
        Ok((options, props))
    }

    /// Applies one room property: well-known byte keys change the options,
    /// other keys go into `props`. Returns an error for a mistyped well-known key.
    pub fn apply_well_known(
        &mut self,
        op: u8,
        key: &Value,
        value: &Value,
        props: &mut Props,
    ) -> Result<(), OpError> {
        let bad = |what: &str| {
            OpError::new(
                error::INVALID_OPERATION,
                format!(
                    "{} ({op}): room property {key:?} must be {what}",
                    transport::lb::op::name(op)
                ),
            )
        };
        if key_is(key, room_key::MAX_PLAYERS) {
            let n = value
                .as_i64()
                .filter(|n| (0..=i64::from(u32::MAX)).contains(n))
                .ok_or_else(|| bad("a non-negative integer"))?;
            self.max_players = n as u32;
        } else if key_is(key, room_key::IS_OPEN) {
            self.open = value.as_bool().ok_or_else(|| bad("a boolean"))?;
        } else if key_is(key, room_key::IS_VISIBLE) {
            self.visible = value.as_bool().ok_or_else(|| bad("a boolean"))?;
        } else if key_is(key, room_key::PROPS_LISTED_IN_LOBBY) {
            self.lobby_props = string_list(value).ok_or_else(|| bad("an array of strings"))?;
        } else if key_is(key, room_key::PLAYER_TTL) {
            self.player_ttl_ms = value.as_i64().ok_or_else(|| bad("an integer"))?;
        } else if key_is(key, room_key::EMPTY_ROOM_TTL) {
            self.empty_room_ttl_ms = value.as_i64().ok_or_else(|| bad("an integer"))?.max(0) as u64;
        } else if key_is(key, room_key::CLEANUP_CACHE_ON_LEAVE) {
            self.cleanup_cache_on_leave = value.as_bool().ok_or_else(|| bad("a boolean"))?;
        } else if matches!(key, Value::U8(_)) {
            // Other well-known keys (player count, master client...) are read-only.
        } else {
            props.set(key.clone(), value.clone());
        }
        Ok(())
    }
}

/// One room.
#[derive(Debug, Clone)]
pub struct Room {
    /// Application and version.
    pub app: AppKey,
    /// Name.
    pub name: String,
    /// Options.
    pub options: RoomOptions,
    /// Custom room properties.
    pub props: Props,
    /// Actors by number (ascending number = join order).
    pub actors: BTreeMap<i32, Actor>,
    /// Next actor number (starts at 1).
    pub next_actor: i32,
    /// Master client actor number (0 when none is active).
    pub master_client: i32,
    /// Cached events.
    pub cache: EventCache,
    /// Since when no actor is active.
    pub empty_since: Option<Instant>,
}

impl Room {
    /// A new empty room.
    pub fn new(
        app: AppKey,
        name: String,
        options: RoomOptions,
        props: Props,
        now: Instant,
    ) -> Self {
        Self {
            app,
            name,
            options,
            props,
            actors: BTreeMap::new(),
            next_actor: 1,
            master_client: 0,
            cache: EventCache::default(),
            empty_since: Some(now),
        }
    }

    /// Active actors.
    pub fn active_count(&self) -> usize {
        self.actors.values().filter(|a| a.is_active()).count()
    }

    /// Checks that a new actor may join (open, not full).
    pub fn check_join(&self, max_actors: usize) -> Result<(), OpError> {
        if !self.options.open {
            return Err(OpError::new(
                error::GAME_CLOSED,
                format!("room {:?} is closed", self.name),
            ));
        }
        let max = self.options.max_players as usize;
        if (max > 0 && self.actors.len() >= max) || self.actors.len() >= max_actors {
            return Err(OpError::new(
                error::GAME_FULL,
                format!(
                    "room {:?} is full ({} of {} players)",
                    self.name,
                    self.actors.len(),
                    max.min(max_actors).max(max)
                ),
            ));
        }
        Ok(())
    }

    /// Adds a new active actor and returns its number.
    pub fn add_actor(
        &mut self,
        peer: PeerHandle,
        user_id: String,
        props: Props,
        can_encrypt: bool,
    ) -> i32 {
        let number = self.next_actor;
        self.next_actor += 1;
        self.actors.insert(
            number,
            Actor {
                number,
                peer: Some(peer),
                user_id,
                props,
                groups: Groups::none(),
                inactive_since: None,
                can_encrypt,
            },
        );
        self.empty_since = None;
        if self.master_client == 0 {
            self.master_client = number;
        }
        number
    }

    /// The inactive actor of `user_id`, if any.
    pub fn inactive_actor_of(&self, user_id: &str) -> Option<i32> {
        self.actors
            .values()
            .find(|a| !a.is_active() && a.user_id == user_id)
            .map(|a| a.number)
    }

    /// The active actor of `user_id`, if any.
    pub fn active_actor_of(&self, user_id: &str) -> Option<i32> {
        self.actors
            .values()
            .find(|a| a.is_active() && a.user_id == user_id)
            .map(|a| a.number)
    }

    /// Makes an actor active again with a new peer.
    pub fn reactivate(&mut self, number: i32, peer: PeerHandle, can_encrypt: bool) {
        if let Some(actor) = self.actors.get_mut(&number) {
            actor.peer = Some(peer);
            actor.inactive_since = None;
            actor.can_encrypt = can_encrypt;
        }
        self.empty_since = None;
        if self.master_client == 0 {
            self.master_client = number;
        }
    }

    /// Detaches an actor: inactive (kept for the player TTL) or removed.
    /// Returns true if the master client changed.
    pub fn detach(&mut self, number: i32, inactive: bool, now: Instant) -> bool {
        if inactive {
            if let Some(actor) = self.actors.get_mut(&number) {
                actor.peer = None;
                actor.inactive_since = Some(now);
            }
        } else {
            self.actors.remove(&number);
            if self.options.cleanup_cache_on_leave {
                self.cache.retain_owners(|owner| owner != number);
            }
        }
        if self.active_count() == 0 && self.empty_since.is_none() {
            self.empty_since = Some(now);
        }
        if self.master_client == number {
            self.reassign_master();
            return true;
        }
        false
    }

    /// The master client becomes the longest-present active actor (lowest number).
    pub fn reassign_master(&mut self) {
        self.master_client = self
            .actors
            .values()
            .find(|a| a.is_active())
            .map(|a| a.number)
            .unwrap_or(0);
    }

    /// Inactive actors whose TTL expired at `now` are removed; returns their numbers.
    pub fn expire_inactive(&mut self, now: Instant) -> Vec<i32> {
        let ttl = Duration::from_millis(self.options.player_ttl_ms.max(0) as u64);
        let expired: Vec<i32> = self
            .actors
            .values()
            .filter(|a| a.inactive_since.is_some_and(|t| now >= t + ttl))
            .map(|a| a.number)
            .collect();
        for n in &expired {
            self.detach(*n, false, now);
        }
        expired
    }

    /// When this room should next be looked at: the earliest expiry of an
    /// inactive actor while any remain (the room cannot close before), else
    /// the empty-room expiry. Never a deadline that looking at the room would
    /// not move: a room of inactive actors past its empty TTL waits for them.
    pub fn next_deadline(&self) -> Option<Instant> {
        let ttl = Duration::from_millis(self.options.player_ttl_ms.max(0) as u64);
        if !self.actors.is_empty() {
            return self
                .actors
                .values()
                .filter_map(|a| a.inactive_since.map(|t| t + ttl))
                .min();
        }
        self.empty_since
            .map(|t| t + Duration::from_millis(self.options.empty_room_ttl_ms))
    }

    /// True when the room can be removed at `now`: nobody active, no inactive
    /// actor left, empty TTL over.
    pub fn is_expired(&self, now: Instant) -> bool {
        self.actors.is_empty()
            && self
                .empty_since
                .is_some_and(|t| now >= t + Duration::from_millis(self.options.empty_room_ttl_ms))
    }

    /// Room properties as sent to clients: well-known keys and custom ones.
    pub fn game_properties(&self) -> Value {
        let o = &self.options;
        let mut entries = vec![
            (
                Value::U8(room_key::MAX_PLAYERS),
                Value::I32(o.max_players as i32),
            ),
            (Value::U8(room_key::IS_OPEN), Value::Bool(o.open)),
            (Value::U8(room_key::IS_VISIBLE), Value::Bool(o.visible)),
            (
                Value::U8(room_key::MASTER_CLIENT_ID),
                Value::I32(self.master_client),
            ),
            (
                Value::U8(room_key::PLAYER_TTL),
                Value::I32(o.player_ttl_ms as i32),
            ),
            (
                Value::U8(room_key::EMPTY_ROOM_TTL),
                Value::I32(o.empty_room_ttl_ms as i32),
            ),
        ];
        if !o.lobby_props.is_empty() {
            entries.push((
                Value::U8(room_key::PROPS_LISTED_IN_LOBBY),
                Value::Array(TypedArray::String(o.lobby_props.clone())),
            ));
        }
        entries.extend(self.props.0.iter().cloned());
        dictionary(entries)
    }

    /// Every actor's properties keyed by actor number (inactive ones flagged).
    pub fn player_properties(&self) -> Value {
        dictionary(
            self.actors
                .values()
                .map(|a| (Value::I32(a.number), actor_properties(a)))
                .collect(),
        )
    }

    /// Active actor numbers.
    pub fn actor_list(&self) -> Value {
        Value::Array(TypedArray::I32(
            self.actors
                .values()
                .filter(|a| a.is_active())
                .map(|a| a.number)
                .collect(),
        ))
    }

    /// Peers of active actors except `except`, into `out` (cleared first).
    pub fn active_peers(&self, except: Option<i32>, out: &mut Vec<PeerHandle>) {
        out.clear();
        out.extend(
            self.actors
                .values()
                .filter(|a| Some(a.number) != except)
                .filter_map(|a| a.peer),
        );
    }

    /// The master's view of the room.
    pub fn listing(&self) -> RoomListing {
        let lobby_properties = self
            .props
            .0
            .iter()
            .filter(|(k, _)| {
                k.as_str()
                    .is_some_and(|k| self.options.lobby_props.iter().any(|l| l == k))
            })
            .cloned()
            .collect();
        RoomListing {
            app: self.app.clone(),
            name: self.name.clone(),
            lobby: self.options.lobby.clone(),
            player_count: self.active_count() as u32,
            max_players: self.options.max_players,
            open: self.options.open,
            visible: self.options.visible,
            lobby_properties,
        }
    }
}

/// One actor's properties with the well-known keys.
pub fn actor_properties(actor: &Actor) -> Value {
    let mut entries = actor.props.0.clone();
    entries.push((
        Value::U8(transport::lb::actor_key::USER_ID),
        Value::String(actor.user_id.clone()),
    ));
    if !actor.is_active() {
        entries.push((
            Value::U8(transport::lb::actor_key::IS_INACTIVE),
            Value::Bool(true),
        ));
    }
    dictionary(entries)
}
