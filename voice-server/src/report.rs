//! What a game server tells the master: its addresses, load and rooms.
//!
//! Plain serde types: in one process they travel as `ServerControl` commands;
//! the same JSON could travel over a server-to-server connection later.

use serde::{Deserialize, Serialize};

/// The key separating applications and versions: rooms and lobbies of
/// different app ids or versions never meet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AppKey {
    /// Application id.
    pub app_id: String,
    /// Application version.
    pub app_version: String,
}

/// A room as the master lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomListing {
    /// Application and version.
    pub app: AppKey,
    /// Room name.
    pub name: String,
    /// Lobby name ("" = default lobby).
    pub lobby: String,
    /// Active actors.
    pub player_count: u32,
    /// Maximum players (0 = unlimited).
    pub max_players: u32,
    /// Open for joining.
    pub open: bool,
    /// Listed in lobbies.
    pub visible: bool,
    /// The lobby-listed custom properties as typed codec values. Carried
    /// in-process only for now (skipped by serde); a server-to-server link
    /// would carry them with the codec's value encoding.
    #[serde(skip)]
    pub lobby_properties: Vec<(transport::codec::Value, transport::codec::Value)>,
}

/// A report from a game server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GameReport {
    /// Unique id of the game server.
    pub server_id: String,
    /// Its announced URLs by protocol scheme (`udp`, `tcp`, `ws`, `wss`).
    pub addresses: Vec<(String, String)>,
    /// Connected peers (its load).
    pub peer_count: u32,
    /// Rooms added or changed.
    pub updated: Vec<RoomListing>,
    /// Rooms removed: (app, name).
    pub removed: Vec<(AppKey, String)>,
    /// The game server is shutting down: forget it and its rooms.
    pub shutting_down: bool,
}
