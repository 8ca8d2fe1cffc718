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
    /// Rooms added or changed.
    pub updated: Vec<RoomListing>,
    /// Rooms removed: (app, name).
    pub removed: Vec<(AppKey, String)>,
    /// The game server is shutting down: forget it and its rooms.
    pub shutting_down: bool,
}

/// The application id of server tokens (game server → master links). Clients
/// cannot get a token with it: the name server never seals one.
pub const SERVER_APP_ID: &str = "@game-server";

impl GameReport {
    /// The report as an operation request for a server-to-server link.
    pub fn to_request(&self, server_token: Vec<u8>) -> transport::codec::OperationRequest {
        use transport::codec::{Parameters, Value};
        use transport::lb::{op, param};
        // serde_json cannot fail on these plain types.
        let json = serde_json::to_string(self).expect("report serializes");
        let lobby: Vec<Value> = self
            .updated
            .iter()
            .map(|r| crate::game::props::dictionary(r.lobby_properties.clone()))
            .collect();
        transport::codec::OperationRequest {
            code: op::GAME_SERVER_REPORT,
            parameters: Parameters::new()
                .with(param::TOKEN, server_token)
                .with(param::DATA, json)
                .with(param::GAME_LIST, Value::ObjectArray(lobby)),
        }
    }

    /// Reads a report from a server-to-server request (the token is checked by the caller).
    pub fn from_request(parameters: &transport::codec::Parameters) -> Result<GameReport, String> {
        use transport::codec::Value;
        use transport::lb::param;
        let json = parameters
            .get(param::DATA)
            .and_then(Value::as_str)
            .ok_or("no report JSON in parameter 245")?;
        let mut report: GameReport =
            serde_json::from_str(json).map_err(|e| format!("report JSON: {e}"))?;
        if let Some(Value::ObjectArray(lobby)) = parameters.get(param::GAME_LIST) {
            for (room, props) in report.updated.iter_mut().zip(lobby) {
                if let Value::Dictionary(d) = props {
                    room.lobby_properties = d.entries.clone();
                }
            }
        }
        Ok(report)
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
        };
        let request = report.to_request(vec![1, 2, 3]);
        assert_eq!(
            GameReport::from_request(&request.parameters).unwrap(),
            report
        );
    }
}
