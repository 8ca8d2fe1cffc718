//! Building operation requests (the parameters the server expects).

use std::time::Duration;
use transport::codec::{OperationRequest, Parameters, TypedArray, Value};
use transport::lb::{actor_key, join_mode, op, param, room_key};

use super::options::{JoinRandomOptions, LbConfig, RoomOptions};
use super::room::Properties;

/// A way into a room, as the application asked for it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RoomOp {
    /// Create a room (`None` = the server picks the name).
    Create {
        name: Option<String>,
        options: RoomOptions,
    },
    /// Join an existing room; `mode` is a `join_mode` value.
    Join { name: String, mode: u8 },
    /// Join, or create when it does not exist.
    JoinOrCreate { name: String, options: RoomOptions },
    /// Join a random matching room.
    JoinRandom { filter: JoinRandomOptions },
}

impl RoomOp {
    /// The room name known before the master answered.
    pub(crate) fn name(&self) -> Option<&str> {
        match self {
            RoomOp::Create { name, .. } => name.as_deref(),
            RoomOp::Join { name, .. } | RoomOp::JoinOrCreate { name, .. } => Some(name),
            RoomOp::JoinRandom { .. } => None,
        }
    }
    /// True for a rejoin as the same actor.
    pub(crate) fn is_rejoin(&self) -> bool {
        matches!(self, RoomOp::Join { mode, .. } if *mode == join_mode::REJOIN_ONLY || *mode == join_mode::JOIN_OR_REJOIN)
    }
}

/// Milliseconds for a TTL parameter: `Duration::MAX` → -1 (forever), capped at `i32::MAX`.
fn ttl_ms(ttl: Duration) -> i32 {
    if ttl == Duration::MAX {
        -1
    } else {
        i32::try_from(ttl.as_millis()).unwrap_or(i32::MAX)
    }
}

fn room_properties(options: &RoomOptions) -> Properties {
    let mut props = Properties::new()
        .with(room_key::IS_OPEN, options.is_open)
        .with(room_key::IS_VISIBLE, options.is_visible)
        .with(room_key::MAX_PLAYERS, options.max_players)
        .with(
            room_key::CLEANUP_CACHE_ON_LEAVE,
            options.cleanup_cache_on_leave,
        );
    if !options.props_listed_in_lobby.is_empty() {
        props.insert(
            room_key::PROPS_LISTED_IN_LOBBY,
            Value::Array(TypedArray::String(options.props_listed_in_lobby.clone())),
        );
    }
    props.merge(&options.custom_properties);
    props
}

fn add_room_options(parameters: &mut Parameters, options: &RoomOptions) {
    parameters.insert(param::GAME_PROPERTIES, room_properties(options).to_value());
    parameters.insert(
        param::CLEANUP_CACHE_ON_LEAVE,
        options.cleanup_cache_on_leave,
    );
    if let Some(ttl) = options.player_ttl {
        parameters.insert(param::PLAYER_TTL, ttl_ms(ttl));
    }
    if !options.empty_room_ttl.is_zero() {
        parameters.insert(param::EMPTY_ROOM_TTL, ttl_ms(options.empty_room_ttl));
    }
    if options.suppress_room_events {
        parameters.insert(param::SUPPRESS_ROOM_EVENTS, true);
    }
    if let Some(lobby) = &options.lobby {
        parameters.insert(param::LOBBY_NAME, lobby.as_str());
    }
}

/// The request for `room_op`: `on_game_server` selects the game-server form
/// (always by name, the room name the master answered, with the actor's properties).
pub(crate) fn room_request(
    room_op: &RoomOp,
    room_name: Option<&str>,
    on_game_server: bool,
    config: &LbConfig,
) -> OperationRequest {
    let mut parameters = Parameters::new();
    let name = room_name.or(room_op.name());
    if let Some(name) = name {
        parameters.insert(param::ROOM_NAME, name);
    }
    let code = match room_op {
        RoomOp::Create { options, .. } => {
            add_room_options(&mut parameters, options);
            op::CREATE_GAME
        }
        RoomOp::Join { mode, .. } => {
            if *mode != join_mode::DEFAULT {
                parameters.insert(param::JOIN_MODE, *mode);
            }
            op::JOIN_GAME
        }
        RoomOp::JoinOrCreate { options, .. } => {
            add_room_options(&mut parameters, options);
            parameters.insert(param::JOIN_MODE, join_mode::CREATE_IF_NOT_EXISTS);
            op::JOIN_GAME
        }
        RoomOp::JoinRandom { filter } if !on_game_server => {
            let mut expected = filter.expected_properties.clone();
            if filter.expected_max_players != 0 {
                expected.insert(room_key::MAX_PLAYERS, filter.expected_max_players);
            }
            if !expected.is_empty() {
                parameters.insert(param::GAME_PROPERTIES, expected.to_value());
            }
            if let Some(lobby) = &filter.lobby {
                parameters.insert(param::LOBBY_NAME, lobby.as_str());
            }
            op::JOIN_RANDOM_GAME
        }
        RoomOp::JoinRandom { .. } => op::JOIN_GAME,
    };
    if on_game_server {
        if let Some(actor) = actor_properties(config) {
            parameters.insert(param::PLAYER_PROPERTIES, actor.to_value());
        }
    }
    OperationRequest { code, parameters }
}

/// The actor's own properties sent when joining (nickname), if any.
fn actor_properties(config: &LbConfig) -> Option<Properties> {
    let nickname = config.nickname.as_deref()?;
    Some(Properties::new().with(actor_key::PLAYER_NAME, nickname))
}

/// Authenticate at the name server.
pub(crate) fn authenticate_name_server(
    config: &LbConfig,
    user_id: Option<&str>,
) -> OperationRequest {
    let mut parameters = Parameters::new()
        .with(param::APPLICATION_ID, config.app_id.as_str())
        .with(param::APP_VERSION, config.app_version.as_str());
    if let Some(user) = user_id {
        parameters.insert(param::USER_ID, user);
    }
    if let Some(auth) = &config.auth {
        parameters.insert(param::CLIENT_AUTHENTICATION_TYPE, auth.auth_type);
        if !auth.parameters.is_empty() {
            parameters.insert(
                param::CLIENT_AUTHENTICATION_PARAMS,
                auth.parameters.as_str(),
            );
        }
        if let Some(data) = &auth.data {
            parameters.insert(
                param::CLIENT_AUTHENTICATION_DATA,
                Value::Bytes(data.clone()),
            );
        }
    }
    if let Some(region) = &config.region {
        parameters.insert(param::REGION, region.as_str());
    }
    OperationRequest {
        code: op::AUTHENTICATE,
        parameters,
    }
}

/// Authenticate at the master or game server with the token.
pub(crate) fn authenticate_token(token: &Value) -> OperationRequest {
    OperationRequest {
        code: op::AUTHENTICATE,
        parameters: Parameters::new().with(param::TOKEN, token.clone()),
    }
}

/// Join a lobby (`None` = the default lobby).
pub(crate) fn join_lobby(lobby: Option<&str>) -> OperationRequest {
    let mut parameters = Parameters::new();
    if let Some(name) = lobby {
        parameters.insert(param::LOBBY_NAME, name);
    }
    OperationRequest {
        code: op::JOIN_LOBBY,
        parameters,
    }
}

/// Interest groups as the byte array the server expects.
pub(crate) fn groups_value(groups: &[u8]) -> Value {
    Value::Bytes(bytes::Bytes::copy_from_slice(groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LbConfig {
        let mut config = LbConfig::new("udp://127.0.0.1:5058", "app");
        config.nickname = Some("ann".into());
        config
    }

    #[test]
    fn create_on_master_and_game_server() {
        let options = RoomOptions {
            max_players: 4,
            player_ttl: Some(Duration::from_secs(30)),
            custom_properties: Properties::new().with("map", "docks"),
            props_listed_in_lobby: vec!["map".into()],
            ..RoomOptions::default()
        };
        let room_op = RoomOp::Create {
            name: None,
            options,
        };
        let master = room_request(&room_op, None, false, &config());
        assert_eq!(master.code, op::CREATE_GAME);
        assert_eq!(master.parameters.get(param::ROOM_NAME), None);
        assert_eq!(
            master.parameters.get(param::PLAYER_TTL),
            Some(&Value::I32(30_000))
        );
        assert_eq!(master.parameters.get(param::PLAYER_PROPERTIES), None);
        let props =
            Properties::from_value(master.parameters.get(param::GAME_PROPERTIES).unwrap()).unwrap();
        assert_eq!(props.get_byte(room_key::MAX_PLAYERS), Some(&Value::U8(4)));
        assert_eq!(props.get_str("map"), Some(&Value::from("docks")));
        let game = room_request(&room_op, Some("r-1"), true, &config());
        assert_eq!(
            game.parameters.get(param::ROOM_NAME),
            Some(&Value::from("r-1"))
        );
        assert!(game.parameters.get(param::PLAYER_PROPERTIES).is_some());
    }

    #[test]
    fn join_random_filter_then_join_by_name() {
        let room_op = RoomOp::JoinRandom {
            filter: JoinRandomOptions {
                expected_properties: Properties::new().with("map", "docks"),
                expected_max_players: 4,
                lobby: None,
            },
        };
        let master = room_request(&room_op, None, false, &config());
        assert_eq!(master.code, op::JOIN_RANDOM_GAME);
        let filter =
            Properties::from_value(master.parameters.get(param::GAME_PROPERTIES).unwrap()).unwrap();
        assert_eq!(filter.len(), 2);
        let game = room_request(&room_op, Some("found"), true, &config());
        assert_eq!(game.code, op::JOIN_GAME);
        assert_eq!(
            game.parameters.get(param::ROOM_NAME),
            Some(&Value::from("found"))
        );
    }

    #[test]
    fn ttl_forever_is_minus_one() {
        assert_eq!(ttl_ms(Duration::MAX), -1);
        assert_eq!(ttl_ms(Duration::from_secs(u64::from(u32::MAX))), i32::MAX);
    }
}
