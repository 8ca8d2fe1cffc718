//! What a game server tells the master: its addresses, load and rooms.
//!
//! Plain serde types: in one process they travel as `ServerControl` commands.
//! Over a server-to-server link ([`crate::link`]) a report travels sealed:
//! its JSON and its lobby properties are the payload of a server token
//! (AES-256-GCM under the deployment's `token.secret`), so only a holder of the
//! secret can write or read one, whatever the transport; the master refuses a
//! report whose `issued_ms` is not newer than the last one (no replay).

use crate::token::{TokenClaims, TokenKey};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use transport::codec::{Limits, OperationRequest, Parameters, Value};
use transport::lb::{op, param};

/// How long a sealed report stays valid (it is sent every second).
pub const REPORT_LIFETIME_MS: u64 = 30_000;

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
    /// The lobby-listed custom properties as typed codec values. Skipped by
    /// serde: [`GameReport::to_request`] carries them with the codec's encoding.
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
    /// Rooms it holds.
    #[serde(default)]
    pub room_count: u32,
    /// CPU used by its thread over the last report interval, in percent of
    /// one core (0 when unknown).
    #[serde(default)]
    pub cpu_percent: f32,
    /// Rooms added or changed.
    pub updated: Vec<RoomListing>,
    /// Rooms removed: (app, name).
    pub removed: Vec<(AppKey, String)>,
    /// The game server is shutting down: forget it and its rooms.
    pub shutting_down: bool,
    /// Every room of the server is in `updated` (after a (re)connect, or when
    /// the master asked for it).
    #[serde(default)]
    pub full: bool,
}

/// The application id of server tokens (game server → master links). Clients
/// cannot get a token with it: the name server never seals one.
pub const SERVER_APP_ID: &str = "@game-server";

impl GameReport {
    /// Folds a later report into this one (the link sends one report for a
    /// burst of changes): the latest listing of each room wins, a removal
    /// cancels an earlier update and the reverse, load figures are the latest.
    pub fn merge(&mut self, later: GameReport) {
        let same = |a: &AppKey, n: &str, l: &RoomListing| l.app == *a && l.name == n;
        for (app, name) in later.removed {
            self.updated.retain(|l| !same(&app, &name, l));
            if !self.removed.iter().any(|(a, n)| *a == app && *n == name) {
                self.removed.push((app, name));
            }
        }
        for listing in later.updated {
            self.removed
                .retain(|(a, n)| !(*a == listing.app && *n == listing.name));
            match self
                .updated
                .iter_mut()
                .find(|l| same(&listing.app, &listing.name, l))
            {
                Some(l) => *l = listing,
                None => self.updated.push(listing),
            }
        }
        self.addresses = later.addresses;
        self.peer_count = later.peer_count;
        self.room_count = later.room_count;
        self.cpu_percent = later.cpu_percent;
        self.full |= later.full;
        self.shutting_down |= later.shutting_down;
    }

    /// The report split so that no part lists more than `rooms_per_part`
    /// rooms (messages stay far below the size limits). Every part carries the
    /// load and flags; removals travel in the first.
    pub fn split(mut self, rooms_per_part: usize) -> Vec<GameReport> {
        let rooms_per_part = rooms_per_part.max(1);
        if self.updated.len() <= rooms_per_part {
            return vec![self];
        }
        let updated = std::mem::take(&mut self.updated);
        let removed = std::mem::take(&mut self.removed);
        let mut parts: Vec<GameReport> = updated
            .chunks(rooms_per_part)
            .map(|chunk| GameReport {
                updated: chunk.to_vec(),
                ..self.clone()
            })
            .collect();
        parts[0].removed = removed;
        parts
    }
}

/// A sealed report as the master opened it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedReport {
    /// The report.
    pub report: GameReport,
    /// When the game server sealed it (Unix ms; strictly increasing per server).
    pub issued_ms: u64,
}

impl GameReport {
    /// The report sealed into a `GameServerReport` (200) request for a
    /// server-to-server link: the single parameter is a server token whose
    /// payload is the report JSON plus the lobby properties in the codec's
    /// encoding (base64).
    pub fn to_request(&self, key: &TokenKey, issued_ms: u64) -> OperationRequest {
        let lobby = Value::ObjectArray(
            self.updated
                .iter()
                .map(|r| crate::game::props::dictionary(r.lobby_properties.clone()))
                .collect(),
        );
        let mut lobby_bytes = Vec::new();
        if let Err(e) = lobby.encode(&mut lobby_bytes, &Limits::default()) {
            tracing::warn!(%e, "lobby properties not encodable; the report carries none");
            lobby_bytes.clear();
        }
        let claims = TokenClaims {
            user_id: self.server_id.clone(),
            app_id: SERVER_APP_ID.into(),
            app_version: String::new(),
            auth_values: String::new(),
            issued_ms,
            expires_ms: issued_ms + REPORT_LIFETIME_MS,
            data: serde_json::json!({ "report": self, "lobby": BASE64.encode(&lobby_bytes) }),
        };
        OperationRequest {
            code: op::GAME_SERVER_REPORT,
            parameters: Parameters::new().with(param::TOKEN, key.seal(&claims)),
        }
    }

    /// Opens a sealed report (see [`GameReport::to_request`]). Errors name
    /// what is wrong, for the master's answer and log.
    pub fn from_request(
        key: &TokenKey,
        parameters: &Parameters,
        now_ms: u64,
    ) -> Result<OpenedReport, String> {
        let token = parameters
            .get(param::TOKEN)
            .and_then(Value::as_bytes)
            .ok_or("no sealed report in parameter 221 (Token)")?;
        let claims = key.open(token, now_ms).map_err(|e| {
            format!("sealed report refused: {e} (do both servers use the same token.secret?)")
        })?;
        if claims.app_id != SERVER_APP_ID {
            return Err(
                "GameServerReport (200) needs a server token; clients cannot send it".into(),
            );
        }
        let mut report: GameReport =
            serde_json::from_value(claims.data.get("report").cloned().unwrap_or_default())
                .map_err(|e| format!("report JSON: {e}"))?;
        if report.server_id != claims.user_id {
            return Err("the report's server id does not match its token".into());
        }
        let lobby_text = claims
            .data
            .get("lobby")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let lobby_bytes = BASE64
            .decode(lobby_text)
            .map_err(|e| format!("lobby properties: not base64 ({e})"))?;
        if !lobby_bytes.is_empty() {
            let lobby = Value::decode(&bytes::Bytes::from(lobby_bytes), &Limits::default())
                .map_err(|e| format!("lobby properties: {e}"))?;
            if let Value::ObjectArray(lobby) = lobby {
                for (room, props) in report.updated.iter_mut().zip(lobby) {
                    if let Value::Dictionary(d) = props {
                        room.lobby_properties = d.entries;
                    }
                }
            }
        }
        Ok(OpenedReport {
            report,
            issued_ms: claims.issued_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use transport::codec::Value;

    #[test]
    fn report_round_trips_through_a_request() {
        let report = GameReport {
            server_id: "g".into(),
            addresses: vec![("udp".into(), "udp://h:1".into())],
            peer_count: 3,
            room_count: 1,
            cpu_percent: 12.5,
            updated: vec![RoomListing {
                app: AppKey {
                    app_id: "a".into(),
                    app_version: "1".into(),
                },
                name: "r".into(),
                lobby: String::new(),
                player_count: 2,
                max_players: 4,
                open: true,
                visible: true,
                lobby_properties: vec![(Value::from("map"), Value::I32(3))],
            }],
            removed: vec![(
                AppKey {
                    app_id: "a".into(),
                    app_version: "1".into(),
                },
                "old".into(),
            )],
            shutting_down: false,
            full: false,
        };
        let key = TokenKey::from_secret("a deployment secret of some length");
        let request = report.to_request(&key, 1_000);
        let opened = GameReport::from_request(&key, &request.parameters, 1_500).unwrap();
        assert_eq!(opened.report, report);
        assert_eq!(opened.issued_ms, 1_000);
        // Another secret cannot read it, and an old one expires.
        let other = TokenKey::from_secret("another secret, also long enough");
        let e = GameReport::from_request(&other, &request.parameters, 1_500).unwrap_err();
        assert!(e.contains("token.secret"), "{e}");
        assert!(GameReport::from_request(
            &key,
            &request.parameters,
            1_000 + REPORT_LIFETIME_MS + 1
        )
        .is_err());
        // A client token (another app id) is refused.
        let client = key.seal(&TokenClaims {
            user_id: "g".into(),
            app_id: "game".into(),
            app_version: String::new(),
            auth_values: String::new(),
            issued_ms: 1_000,
            expires_ms: 9_000,
            data: serde_json::json!({ "report": report }),
        });
        let e =
            GameReport::from_request(&key, &Parameters::new().with(param::TOKEN, client), 1_500)
                .unwrap_err();
        assert!(e.contains("server token"), "{e}");
    }

    fn room(name: &str, players: u32) -> RoomListing {
        RoomListing {
            app: AppKey {
                app_id: "a".into(),
                app_version: "1".into(),
            },
            name: name.into(),
            lobby: String::new(),
            player_count: players,
            max_players: 0,
            open: true,
            visible: true,
            lobby_properties: vec![],
        }
    }

    fn load(peers: u32, updated: Vec<RoomListing>, removed: &[&str]) -> GameReport {
        GameReport {
            server_id: "g".into(),
            addresses: vec![],
            peer_count: peers,
            room_count: updated.len() as u32,
            cpu_percent: 0.0,
            updated,
            removed: removed
                .iter()
                .map(|n| (room(n, 0).app, n.to_string()))
                .collect(),
            shutting_down: false,
            full: false,
        }
    }

    #[test]
    fn merged_reports_keep_the_latest_state_of_each_room() {
        let mut r = load(1, vec![room("a", 1), room("b", 1)], &["x"]);
        r.merge(load(2, vec![room("a", 2), room("x", 1)], &["b"]));
        r.merge(load(3, vec![], &[]));
        let names: Vec<(&str, u32)> = r
            .updated
            .iter()
            .map(|l| (l.name.as_str(), l.player_count))
            .collect();
        assert_eq!(
            names,
            [("a", 2), ("x", 1)],
            "a updated, b removed, x re-created"
        );
        let removed: Vec<&str> = r.removed.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(removed, ["b"]);
        assert_eq!(r.peer_count, 3, "latest load");
        assert!(!r.full);
        let mut full = load(0, vec![], &[]);
        full.full = true;
        r.merge(full);
        assert!(r.full, "a merged full report makes the result full");
    }

    #[test]
    fn big_reports_split_into_parts_that_each_carry_the_load() {
        let rooms: Vec<RoomListing> = (0..600).map(|i| room(&format!("r{i}"), 1)).collect();
        let mut big = load(42, rooms, &["gone"]);
        big.full = true;
        let parts = big.split(256);
        assert_eq!(
            parts.iter().map(|p| p.updated.len()).collect::<Vec<_>>(),
            [256, 256, 88]
        );
        assert!(parts.iter().all(|p| p.peer_count == 42 && p.full));
        assert_eq!(parts[0].removed.len(), 1);
        assert!(parts[1..].iter().all(|p| p.removed.is_empty()));
        let key = TokenKey::from_secret("a deployment secret of some length");
        for part in &parts {
            let request = part.to_request(&key, 1);
            let mut bytes = Vec::new();
            transport::codec::Message::Request(request)
                .encode(&mut bytes, &Limits::default())
                .unwrap();
            assert!(bytes.len() < 64 * 1024, "part of {} bytes", bytes.len());
        }
        assert_eq!(load(1, vec![room("a", 1)], &[]).split(256).len(), 1);
    }

    #[test]
    fn lobby_properties_that_are_not_base64_are_refused() {
        let key = TokenKey::from_secret("a deployment secret of some length");
        let report = load(1, vec![room("a", 1)], &[]);
        for garbage in ["abc", "zz", "é1"] {
            let token = key.seal(&TokenClaims {
                user_id: "g".into(),
                app_id: SERVER_APP_ID.into(),
                app_version: String::new(),
                auth_values: String::new(),
                issued_ms: 1_000,
                expires_ms: 9_000,
                data: serde_json::json!({ "report": report, "lobby": garbage }),
            });
            let e =
                GameReport::from_request(&key, &Parameters::new().with(param::TOKEN, token), 1_500)
                    .unwrap_err();
            assert!(e.contains("lobby properties"), "{garbage}: {e}");
        }
    }
}
