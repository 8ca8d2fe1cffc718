//! Vocabulary of the load-balancing protocol shared by server and client:
//! operation, parameter, event, property and error codes, with Photon's numbers
//! and names (LoadBalancingPeer's `OperationCode`, `ParameterCode`,
//! `EventCode`, `ErrorCode`, `GamePropertyKey`, `ActorProperties`).
//!
//! Owned by the voice-server owner. The client library mirrors it.
//!
//! # The flow
//! 1. Connect to the **name server** (default UDP 5058, TCP 4533, WS 9093, WSS
//!    19093, TLS over TCP 14533), establish encryption (not needed over WSS and
//!    TLS), send
//!    [`op::AUTHENTICATE`] with [`param::APPLICATION_ID`], [`param::APP_VERSION`],
//!    optional [`param::USER_ID`], [`param::CLIENT_AUTHENTICATION_TYPE`] /
//!    [`param::CLIENT_AUTHENTICATION_PARAMS`] / [`param::CLIENT_AUTHENTICATION_DATA`]
//!    and [`param::REGION`]. The answer carries [`param::ADDRESS`] (the master's
//!    URL for the protocol used, e.g. `udp://127.0.0.1:5055`,
//!    `wss://host:19090/Master` or `tls://host:14530`), [`param::TOKEN`] and [`param::USER_ID`].
//! 2. Connect to the **master**, send [`op::AUTHENTICATE`] with only
//!    [`param::TOKEN`]. Optionally [`op::JOIN_LOBBY`] to receive
//!    [`event::GAME_LIST`] and [`event::GAME_LIST_UPDATE`]. Then
//!    [`op::CREATE_GAME`], [`op::JOIN_GAME`] (with [`param::JOIN_MODE`] =
//!    [`join_mode::CREATE_IF_NOT_EXISTS`] for join-or-create) or
//!    [`op::JOIN_RANDOM_GAME`]. The answer carries [`param::ADDRESS`] (the game
//!    server's URL), [`param::ROOM_NAME`] and a refreshed [`param::TOKEN`].
//! 3. Connect to the **game server**, send [`op::AUTHENTICATE`] with the token
//!    (or put [`param::TOKEN`] into the join itself), then repeat the same
//!    create/join operation. Events flow: [`event::JOIN`], [`event::LEAVE`],
//!    [`event::PROPERTIES_CHANGED`], custom events raised with
//!    [`op::RAISE_EVENT`], and raw voice frames (`Message::RawSend` /
//!    `Message::RawEvent`). While the client raises events the server sends a
//!    refreshed token now and then in [`event::AUTH_EVENT`].
//!
//! Every error answer is an `OperationResponse` whose `return_code` is one of
//! [`error`]'s codes and whose `debug_message` says what went wrong and what to
//! do. [`error::name`] and [`error::description`] give the name and meaning of
//! a code for logs and user interfaces.

/// Operation codes (client → server requests). Photon's `OperationCode`.
pub mod op {
    /// Authenticate (name server: app id, version, user, auth values; master and
    /// game server: token). Must travel encrypted on the name server.
    pub const AUTHENTICATE: u8 = 230;
    /// Authenticate once (Photon's AuthOnce); handled exactly like [`AUTHENTICATE`].
    pub const AUTHENTICATE_ONCE: u8 = 231;
    /// Enter a lobby on the master to receive the room list ([`super::param::LOBBY_NAME`],
    /// [`super::param::LOBBY_TYPE`]; default lobby when absent).
    pub const JOIN_LOBBY: u8 = 229;
    /// Leave the current lobby.
    pub const LEAVE_LOBBY: u8 = 228;
    /// Create a room ([`super::param::ROOM_NAME`], absent = the server picks a
    /// unique name; options in [`super::param::GAME_PROPERTIES`] etc.).
    pub const CREATE_GAME: u8 = 227;
    /// Join a room by name; with [`super::param::JOIN_MODE`] it can create it
    /// (join-or-create) or rejoin as a previous actor.
    pub const JOIN_GAME: u8 = 226;
    /// Join a random open, visible, non-full room of a lobby whose lobby-listed
    /// properties match [`super::param::GAME_PROPERTIES`] (expected properties).
    pub const JOIN_RANDOM_GAME: u8 = 225;
    /// Lists the regions (name server). Not served yet.
    pub const GET_REGIONS: u8 = 220;
    /// Leave the room (game server). [`super::param::IS_INACTIVE`] = true keeps the
    /// actor inactive for the room's player TTL (rejoin possible).
    pub const LEAVE: u8 = 254;
    /// Send an event to other actors of the room.
    pub const RAISE_EVENT: u8 = 253;
    /// Set room or actor properties, optionally compare-and-set.
    pub const SET_PROPERTIES: u8 = 252;
    /// Read room and actor properties.
    pub const GET_PROPERTIES: u8 = 251;
    /// Change the interest groups this actor receives.
    pub const CHANGE_GROUPS: u8 = 248;
    /// Server to server: a game server's report to its master (params:
    /// [`super::param::TOKEN`] = a server token sealed with the deployment
    /// secret, [`super::param::DATA`] = the report as JSON,
    /// [`super::param::GAME_LIST`] = lobby properties of the updated rooms, in
    /// order). Clients cannot produce a server token; the master ignores others.
    pub const GAME_SERVER_REPORT: u8 = 200;

    /// Photon's name of an operation code, for logs.
    pub fn name(code: u8) -> &'static str {
        match code {
            AUTHENTICATE => "Authenticate",
            AUTHENTICATE_ONCE => "AuthenticateOnce",
            JOIN_LOBBY => "JoinLobby",
            LEAVE_LOBBY => "LeaveLobby",
            CREATE_GAME => "CreateGame",
            JOIN_GAME => "JoinGame",
            JOIN_RANDOM_GAME => "JoinRandomGame",
            GET_REGIONS => "GetRegions",
            LEAVE => "Leave",
            RAISE_EVENT => "RaiseEvent",
            SET_PROPERTIES => "SetProperties",
            GET_PROPERTIES => "GetProperties",
            CHANGE_GROUPS => "ChangeGroups",
            GAME_SERVER_REPORT => "GameServerReport",
            _ => "unknown",
        }
    }
}

/// Parameter keys of requests, responses and events. Photon's `ParameterCode`.
pub mod param {
    /// Room name (string).
    pub const ROOM_NAME: u8 = 255;
    /// Actor number (i32): the joining/leaving actor, the sender, or whose
    /// properties are set (0 or absent = the room's).
    pub const ACTOR_NR: u8 = 254;
    /// Target actor of a property change (i32, 0 = the room).
    pub const TARGET_ACTOR_NR: u8 = 253;
    /// Actor numbers (i32 array): the room's actors in Join events; the target
    /// actors of RaiseEvent.
    pub const ACTOR_LIST: u8 = 252;
    /// Properties (dictionary) to set or that changed.
    pub const PROPERTIES: u8 = 251;
    /// Broadcast property changes to the room (bool, default true).
    pub const BROADCAST: u8 = 250;
    /// Actor properties (dictionary), or all actors' properties keyed by actor number.
    pub const PLAYER_PROPERTIES: u8 = 249;
    /// Room properties (dictionary): well-known keys from [`super::room_key`] plus custom keys.
    pub const GAME_PROPERTIES: u8 = 248;
    /// Event caching (u8, see [`super::cache`]).
    pub const CACHE: u8 = 247;
    /// Receiver group of RaiseEvent (u8, see [`super::receivers`]).
    pub const RECEIVER_GROUP: u8 = 246;
    /// Custom event content (any value).
    pub const DATA: u8 = 245;
    /// Event code of RaiseEvent (u8).
    pub const CODE: u8 = 244;
    /// Remove the actor's cached events when it leaves (bool, default true).
    pub const CLEANUP_CACHE_ON_LEAVE: u8 = 241;
    /// Interest group of RaiseEvent (u8, 0 = everyone).
    pub const GROUP: u8 = 240;
    /// Interest groups to leave (byte array; empty = all; absent = none).
    pub const REMOVE: u8 = 239;
    /// Interest groups to enter (byte array; empty = all; absent = none).
    pub const ADD: u8 = 238;
    /// Suppress Join/Leave events (bool, room option).
    pub const SUPPRESS_ROOM_EVENTS: u8 = 237;
    /// Empty room TTL in milliseconds (i32): how long an empty room is kept.
    pub const EMPTY_ROOM_TTL: u8 = 236;
    /// Player TTL in milliseconds (i32): how long a leaving actor stays inactive
    /// (rejoin possible); -1 = forever, 0 = not kept.
    pub const PLAYER_TTL: u8 = 235;
    /// Inactive (bool): the actor left temporarily (Leave events, Leave op).
    pub const IS_INACTIVE: u8 = 233;
    /// Expected values (dictionary) for compare-and-set in SetProperties.
    pub const EXPECTED_VALUES: u8 = 231;
    /// Server address (string URL `scheme://host:port[/path]`).
    pub const ADDRESS: u8 = 230;
    /// Peers connected (i32, lobby statistics).
    pub const PEER_COUNT: u8 = 229;
    /// Rooms (i32, lobby statistics).
    pub const GAME_COUNT: u8 = 228;
    /// User id (string).
    pub const USER_ID: u8 = 225;
    /// Application id (string).
    pub const APPLICATION_ID: u8 = 224;
    /// Room list (dictionary room name → lobby properties) of GameList events.
    pub const GAME_LIST: u8 = 222;
    /// Authentication token (byte array), opaque to clients. Photon's `Secret`/`Token`.
    pub const TOKEN: u8 = 221;
    /// Application version (string).
    pub const APP_VERSION: u8 = 220;
    /// Custom authentication type (u8, see [`super::auth_type`]).
    pub const CLIENT_AUTHENTICATION_TYPE: u8 = 217;
    /// Custom authentication query parameters (string, `key=value&...`).
    pub const CLIENT_AUTHENTICATION_PARAMS: u8 = 216;
    /// Join mode (u8, see [`super::join_mode`]).
    pub const JOIN_MODE: u8 = 215;
    /// Custom authentication POST body (string or bytes, JSON).
    pub const CLIENT_AUTHENTICATION_DATA: u8 = 214;
    /// Lobby name (string, empty = default lobby).
    pub const LOBBY_NAME: u8 = 213;
    /// Lobby type (u8, 0 = default).
    pub const LOBBY_TYPE: u8 = 212;
    /// Region (string).
    pub const REGION: u8 = 210;
    /// Master client actor number (i32).
    pub const MASTER_CLIENT_ID: u8 = 203;
    /// Nickname (string).
    pub const NICKNAME: u8 = 202;
    /// Custom data returned by custom authentication (dictionary of strings).
    pub const AUTH_DATA: u8 = 245;
}

/// Event codes (server → client). Photon's `EventCode`. Codes below 200 are
/// free for applications (Photon Voice uses 202 and 203).
pub mod event {
    /// An actor joined (params: ACTOR_NR, ACTOR_LIST, PLAYER_PROPERTIES). The
    /// joining actor receives it too.
    pub const JOIN: u8 = 255;
    /// An actor left (params: ACTOR_NR, IS_INACTIVE, MASTER_CLIENT_ID).
    pub const LEAVE: u8 = 254;
    /// Properties changed (params: TARGET_ACTOR_NR, PROPERTIES, ACTOR_NR).
    pub const PROPERTIES_CHANGED: u8 = 253;
    /// An error report outside a response (param DATA: message).
    pub const ERROR_INFO: u8 = 251;
    /// Refreshed token (param TOKEN) sent while the client raises events.
    pub const AUTH_EVENT: u8 = 223;
    /// The full room list of a lobby (param GAME_LIST), after JoinLobby.
    pub const GAME_LIST: u8 = 230;
    /// Changed rooms of a lobby (param GAME_LIST); removed rooms carry
    /// [`super::room_key::REMOVED`] = true.
    pub const GAME_LIST_UPDATE: u8 = 229;
    /// Application statistics (PEER_COUNT, GAME_COUNT), sent on master authentication.
    pub const APP_STATS: u8 = 226;
}

/// Well-known keys (bytes) in room properties. Photon's `GamePropertyKey`.
pub mod room_key {
    /// Maximum players (u8 or i32; 0 = unlimited).
    pub const MAX_PLAYERS: u8 = 255;
    /// Listed in lobbies (bool, default true).
    pub const IS_VISIBLE: u8 = 254;
    /// Open for joining (bool, default true).
    pub const IS_OPEN: u8 = 253;
    /// Active players (u8, lobby listings).
    pub const PLAYER_COUNT: u8 = 252;
    /// The room is gone (bool, lobby updates).
    pub const REMOVED: u8 = 251;
    /// Names of the custom properties shown in lobbies (string array).
    pub const PROPS_LISTED_IN_LOBBY: u8 = 250;
    /// Remove an actor's cached events when it leaves (bool).
    pub const CLEANUP_CACHE_ON_LEAVE: u8 = 249;
    /// Master client actor number (i32).
    pub const MASTER_CLIENT_ID: u8 = 248;
    /// Player TTL in milliseconds (i32).
    pub const PLAYER_TTL: u8 = 246;
    /// Empty room TTL in milliseconds (i32).
    pub const EMPTY_ROOM_TTL: u8 = 245;
}

/// Well-known keys (bytes) in actor properties. Photon's `ActorProperties`.
pub mod actor_key {
    /// Nickname (string).
    pub const PLAYER_NAME: u8 = 255;
    /// Inactive (bool).
    pub const IS_INACTIVE: u8 = 254;
    /// User id (string).
    pub const USER_ID: u8 = 253;
}

/// Values of [`param::RECEIVER_GROUP`]. Photon's `ReceiverGroup`.
pub mod receivers {
    /// Everyone in the room but the sender (default).
    pub const OTHERS: u8 = 0;
    /// Everyone, the sender included.
    pub const ALL: u8 = 1;
    /// Only the master client.
    pub const MASTER_CLIENT: u8 = 2;
}

/// Values of [`param::CACHE`]. Photon's `EventCaching`.
pub mod cache {
    /// Not cached (default).
    pub const DO_NOT_CACHE: u8 = 0;
    /// Add to the room cache as the sender's; replayed to every newcomer; removed
    /// when the sender leaves if the room cleans up on leave.
    pub const ADD_TO_ROOM_CACHE: u8 = 4;
    /// Add to the room cache as the room's: survives the sender leaving.
    pub const ADD_TO_ROOM_CACHE_GLOBAL: u8 = 5;
    /// Remove cached events matching the event code (0 = any) and, if
    /// ACTOR_LIST is given, sent by those actors. The event itself is not sent.
    pub const REMOVE_FROM_ROOM_CACHE: u8 = 6;
    /// Remove cached events of actors who left. The event itself is not sent.
    pub const REMOVE_FROM_ROOM_CACHE_FOR_ACTORS_LEFT: u8 = 7;
}

/// Values of [`param::JOIN_MODE`]. Photon's `JoinMode`.
pub mod join_mode {
    /// Join an existing room.
    pub const DEFAULT: u8 = 0;
    /// Join, or create the room when it does not exist (JoinOrCreate).
    pub const CREATE_IF_NOT_EXISTS: u8 = 1;
    /// Join, or rejoin as the inactive actor of the same user id.
    pub const JOIN_OR_REJOIN: u8 = 2;
    /// Only rejoin as the inactive actor of the same user id.
    pub const REJOIN_ONLY: u8 = 3;
}

/// Values of [`param::CLIENT_AUTHENTICATION_TYPE`]. Photon's `CustomAuthenticationType`.
pub mod auth_type {
    /// The deployment's custom HTTP authentication provider.
    pub const CUSTOM: u8 = 0;
    /// No custom authentication (default).
    pub const NONE: u8 = 255;
}

/// Result codes of a custom authentication provider's JSON answer (`ResultCode`).
pub mod auth_result {
    /// Incomplete: the provider needs more steps; treated as a rejection here.
    pub const INCOMPLETE: i64 = 0;
    /// Accepted.
    pub const OK: i64 = 1;
    /// Rejected (wrong credentials).
    pub const REJECTED: i64 = 2;
    /// The provider found the parameters invalid.
    pub const INVALID_PARAMETERS: i64 = 3;
}

/// Return codes of operation responses. Photon's `ErrorCode`; 0 is success.
pub mod error {
    /// Success.
    pub const OK: i16 = 0;
    /// The operation is not allowed now (e.g. joining before authenticating,
    /// raising events outside a room, authenticating twice).
    pub const OPERATION_NOT_ALLOWED_IN_CURRENT_STATE: i16 = -3;
    /// Unknown operation code or malformed/missing parameters; the debug message
    /// names the operation and the parameter.
    pub const INVALID_OPERATION: i16 = -2;
    /// The server failed internally; retry later.
    pub const INTERNAL_SERVER_ERROR: i16 = -1;
    /// Not authenticated, or the token is forged, unreadable or for another
    /// application; also: authentication sent in the clear.
    pub const INVALID_AUTHENTICATION: i16 = 32767;
    /// CreateGame with a room name that already exists.
    pub const GAME_ID_ALREADY_EXISTS: i16 = 32766;
    /// The room has reached its maximum players.
    pub const GAME_FULL: i16 = 32765;
    /// The room is closed for joining.
    pub const GAME_CLOSED: i16 = 32764;
    /// The server has reached its peer, room or actor limit.
    pub const SERVER_FULL: i16 = 32762;
    /// The user is blocked.
    pub const USER_BLOCKED: i16 = 32761;
    /// JoinRandomGame found no matching room.
    pub const NO_RANDOM_MATCH_FOUND: i16 = 32760;
    /// The room does not exist (anymore).
    pub const GAME_DOES_NOT_EXIST: i16 = 32758;
    /// The application's concurrent user limit is reached.
    pub const MAX_CCU_REACHED: i16 = 32757;
    /// The region is unknown or not allowed.
    pub const INVALID_REGION: i16 = 32756;
    /// The custom authentication provider rejected the user, or is unreachable
    /// and the deployment rejects in that case.
    pub const CUSTOM_AUTHENTICATION_FAILED: i16 = 32755;
    /// The token expired: authenticate again at the name server.
    pub const AUTHENTICATION_TICKET_EXPIRED: i16 = 32753;
    /// The user is already an active actor in the room.
    pub const JOIN_FAILED_PEER_ALREADY_JOINED: i16 = 32750;
    /// The user is an inactive actor of the room: rejoin instead of join.
    pub const JOIN_FAILED_FOUND_INACTIVE_JOINER: i16 = 32749;
    /// Rejoin asked but no inactive actor of this user exists.
    pub const JOIN_FAILED_WITH_REJOINER_NOT_FOUND: i16 = 32748;
    /// A per-peer limit (operations or bytes per second, cached events) was hit.
    pub const OPERATION_LIMIT_REACHED: i16 = 32743;

    /// Photon's name of a return code.
    pub fn name(code: i16) -> &'static str {
        match code {
            OK => "Ok",
            OPERATION_NOT_ALLOWED_IN_CURRENT_STATE => "OperationNotAllowedInCurrentState",
            INVALID_OPERATION => "InvalidOperation",
            INTERNAL_SERVER_ERROR => "InternalServerError",
            INVALID_AUTHENTICATION => "InvalidAuthentication",
            GAME_ID_ALREADY_EXISTS => "GameIdAlreadyExists",
            GAME_FULL => "GameFull",
            GAME_CLOSED => "GameClosed",
            SERVER_FULL => "ServerFull",
            USER_BLOCKED => "UserBlocked",
            NO_RANDOM_MATCH_FOUND => "NoRandomMatchFound",
            GAME_DOES_NOT_EXIST => "GameDoesNotExist",
            MAX_CCU_REACHED => "MaxCcuReached",
            INVALID_REGION => "InvalidRegion",
            CUSTOM_AUTHENTICATION_FAILED => "CustomAuthenticationFailed",
            AUTHENTICATION_TICKET_EXPIRED => "AuthenticationTicketExpired",
            JOIN_FAILED_PEER_ALREADY_JOINED => "JoinFailedPeerAlreadyJoined",
            JOIN_FAILED_FOUND_INACTIVE_JOINER => "JoinFailedFoundInactiveJoiner",
            JOIN_FAILED_WITH_REJOINER_NOT_FOUND => "JoinFailedWithRejoinerNotFound",
            OPERATION_LIMIT_REACHED => "OperationLimitReached",
            _ => "Unknown",
        }
    }

    /// What a return code means and what the client should do.
    pub fn description(code: i16) -> &'static str {
        match code {
            OK => "success",
            OPERATION_NOT_ALLOWED_IN_CURRENT_STATE => {
                "the operation is not allowed in the current state (authenticate first, or join a room first)"
            }
            INVALID_OPERATION => "unknown operation or malformed parameters; see the debug message",
            INTERNAL_SERVER_ERROR => "the server failed internally; retry later",
            INVALID_AUTHENTICATION => "not authenticated or invalid token; authenticate at the name server",
            GAME_ID_ALREADY_EXISTS => "a room with this name exists; join it or pick another name",
            GAME_FULL => "the room is full",
            GAME_CLOSED => "the room is closed for joining",
            SERVER_FULL => "the server is full; retry later or use another server",
            USER_BLOCKED => "the user is blocked",
            NO_RANDOM_MATCH_FOUND => "no open room matches; create one",
            GAME_DOES_NOT_EXIST => "the room does not exist",
            MAX_CCU_REACHED => "the application's concurrent user limit is reached",
            INVALID_REGION => "unknown region",
            CUSTOM_AUTHENTICATION_FAILED => "custom authentication rejected the user or is unavailable",
            AUTHENTICATION_TICKET_EXPIRED => "the token expired; authenticate again at the name server",
            JOIN_FAILED_PEER_ALREADY_JOINED => "this user is already active in the room",
            JOIN_FAILED_FOUND_INACTIVE_JOINER => "this user is inactive in the room; rejoin instead",
            JOIN_FAILED_WITH_REJOINER_NOT_FOUND => "no inactive actor of this user to rejoin",
            OPERATION_LIMIT_REACHED => "a rate or size limit was hit; slow down",
            _ => "unknown code",
        }
    }

    /// Every code defined here, for documentation and tests.
    pub const ALL: &[i16] = &[
        OK,
        OPERATION_NOT_ALLOWED_IN_CURRENT_STATE,
        INVALID_OPERATION,
        INTERNAL_SERVER_ERROR,
        INVALID_AUTHENTICATION,
        GAME_ID_ALREADY_EXISTS,
        GAME_FULL,
        GAME_CLOSED,
        SERVER_FULL,
        USER_BLOCKED,
        NO_RANDOM_MATCH_FOUND,
        GAME_DOES_NOT_EXIST,
        MAX_CCU_REACHED,
        INVALID_REGION,
        CUSTOM_AUTHENTICATION_FAILED,
        AUTHENTICATION_TICKET_EXPIRED,
        JOIN_FAILED_PEER_ALREADY_JOINED,
        JOIN_FAILED_FOUND_INACTIVE_JOINER,
        JOIN_FAILED_WITH_REJOINER_NOT_FOUND,
        OPERATION_LIMIT_REACHED,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_a_name_and_description() {
        for &code in error::ALL {
            assert_ne!(error::name(code), "Unknown", "code {code}");
            assert_ne!(error::description(code), "unknown code", "code {code}");
        }
        assert_eq!(error::name(32765), "GameFull");
        assert_eq!(error::name(12345), "Unknown");
    }

    #[test]
    fn photon_numbers() {
        assert_eq!(op::AUTHENTICATE, 230);
        assert_eq!(op::JOIN_RANDOM_GAME, 225);
        assert_eq!(error::AUTHENTICATION_TICKET_EXPIRED, 32753);
        assert_eq!(event::GAME_LIST_UPDATE, 229);
        assert_eq!(op::name(op::CHANGE_GROUPS), "ChangeGroups");
    }
}
