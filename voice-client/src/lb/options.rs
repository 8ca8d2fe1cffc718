//! Settings of the client and options of its operations (Photon's
//! `AppSettings`, `RoomOptions`, `RaiseEventOptions`, `SendOptions`).

use bytes::Bytes;
use std::time::Duration;
use transport::codec::{Limits, ReceiverGroup};
use transport::lb::cache;
use transport::{Delivery, SendOptions};

use super::room::Properties;

/// Settings of a [`LoadBalancingCore`](super::LoadBalancingCore) (Photon's `AppSettings`).
#[derive(Debug, Clone)]
pub struct LbConfig {
    /// The name server's URL, e.g. `udp://127.0.0.1:5058`, `ws://host:9093/NameServer`,
    /// `wss://host:19093/NameServer` or `tls://host:14533` (TCP inside TLS; trust
    /// comes from the transport `ClientConfig::tls`, as for wss). The protocol chosen here is used for
    /// every server: the name server returns master addresses for it.
    pub name_server: String,
    /// Application id. Required.
    pub app_id: String,
    /// Application version: clients of different versions never meet. Defaults to "1.0".
    pub app_version: String,
    /// User id. `None` lets the server assign one (kept for re-authentication
    /// and rejoin). Defaults to `None`.
    pub user_id: Option<String>,
    /// Nickname published as the actor's [`actor_key::PLAYER_NAME`](transport::lb::actor_key::PLAYER_NAME).
    /// Defaults to `None`.
    pub nickname: Option<String>,
    /// Custom authentication values. Defaults to `None` (no custom authentication).
    pub auth: Option<AuthValues>,
    /// Region asked of the name server. Defaults to `None` (the server's default).
    pub region: Option<String>,
    /// How long to wait for each answer of the flow (authentication, joins,
    /// leaving) before giving up with [`LbError::Timeout`](super::LbError::Timeout).
    /// Defaults to 10 s (Photon's disconnect timeout).
    pub operation_timeout: Duration,
    /// How many times in a row the client re-authenticates by itself after
    /// `AuthenticationTicketExpired` before reporting it. Defaults to 2.
    pub max_reauthentications: u8,
    /// Decoding limits for server messages. Defaults to [`Limits::default`].
    pub limits: Limits,
}

impl LbConfig {
    /// Settings for `name_server` and `app_id`, everything else default.
    pub fn new(name_server: impl Into<String>, app_id: impl Into<String>) -> Self {
        Self {
            name_server: name_server.into(),
            app_id: app_id.into(),
            app_version: "1.0".into(),
            user_id: None,
            nickname: None,
            auth: None,
            region: None,
            operation_timeout: Duration::from_secs(10),
            max_reauthentications: 2,
            limits: Limits::default(),
        }
    }
}

/// Custom authentication values (Photon's `AuthenticationValues`). Its
/// `Debug` output hides the parameters and data (they hold credentials).
#[derive(Clone, PartialEq, Default)]
pub struct AuthValues {
    /// Provider type (`transport::lb::auth_type`; 0 = the deployment's custom HTTP provider).
    pub auth_type: u8,
    /// Query string passed to the provider (`key=value&...`).
    pub parameters: String,
    /// Optional POST body (JSON bytes) for the provider.
    pub data: Option<Bytes>,
}

impl std::fmt::Debug for AuthValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            auth_type,
            parameters,
            data,
        } = self;
        f.debug_struct("AuthValues")
            .field("auth_type", auth_type)
            .field(
                "parameters",
                &format_args!("<{} bytes hidden>", parameters.len()),
            )
            .field(
                "data",
                &data.as_ref().map(|d| format!("<{} bytes hidden>", d.len())),
            )
            .finish()
    }
}

/// Options of a room created by this client (Photon's `RoomOptions`).
#[derive(Debug, Clone, PartialEq)]
pub struct RoomOptions {
    /// Maximum players; 0 = unlimited. Defaults to 0.
    pub max_players: u8,
    /// Listed in lobbies. Defaults to true.
    pub is_visible: bool,
    /// Open for joining. Defaults to true.
    pub is_open: bool,
    /// How long a leaving actor stays inactive and may rejoin with the same
    /// actor number; `None` = not kept (0); `Some(Duration::MAX)` = forever (-1).
    /// Defaults to `None`.
    pub player_ttl: Option<Duration>,
    /// How long the room lives on empty. Defaults to 0 (closed when the last actor leaves).
    pub empty_room_ttl: Duration,
    /// Remove an actor's cached events when it leaves. Defaults to true.
    pub cleanup_cache_on_leave: bool,
    /// Suppress Join/Leave events. Defaults to false.
    pub suppress_room_events: bool,
    /// Custom room properties (string keys).
    pub custom_properties: Properties,
    /// Names of the custom properties shown in lobbies (and usable as join-random filter).
    pub props_listed_in_lobby: Vec<String>,
    /// Lobby the room is listed in (`None` = default lobby).
    pub lobby: Option<String>,
}

impl Default for RoomOptions {
    fn default() -> Self {
        Self {
            max_players: 0,
            is_visible: true,
            is_open: true,
            player_ttl: None,
            empty_room_ttl: Duration::ZERO,
            cleanup_cache_on_leave: true,
            suppress_room_events: false,
            custom_properties: Properties::new(),
            props_listed_in_lobby: Vec::new(),
            lobby: None,
        }
    }
}

/// Filter of a join-random (Photon's `OpJoinRandomRoomParams`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JoinRandomOptions {
    /// Properties the room must have, with these values (only lobby-listed
    /// properties are visible to the matchmaker). Defaults to none.
    pub expected_properties: Properties,
    /// Required maximum players; 0 = any. Defaults to 0.
    pub expected_max_players: u8,
    /// Lobby to search (`None` = default lobby).
    pub lobby: Option<String>,
}

/// Who receives a raised event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Receivers {
    /// Everyone else in the room (default).
    #[default]
    Others,
    /// Everyone, this client included.
    All,
    /// Only the master client.
    MasterClient,
    /// Only these actors (by number).
    Actors(Vec<i32>),
}

impl Receivers {
    /// The receiver group byte and the target list of the wire form.
    pub fn group(&self) -> ReceiverGroup {
        match self {
            Receivers::Others | Receivers::Actors(_) => ReceiverGroup::Others,
            Receivers::All => ReceiverGroup::All,
            Receivers::MasterClient => ReceiverGroup::MasterClient,
        }
    }
}

/// Options of [`raise_event`](super::LoadBalancingCore::raise_event) (Photon's
/// `RaiseEventOptions` plus `SendOptions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaiseEventOptions {
    /// Receivers. Defaults to [`Receivers::Others`].
    pub receivers: Receivers,
    /// Interest group (0 = everyone; only members of the group receive it otherwise).
    /// Defaults to 0.
    pub interest_group: u8,
    /// Event caching (`transport::lb::cache`). Defaults to `DO_NOT_CACHE`.
    pub caching: u8,
    /// Delivery mode. Defaults to reliable ordered.
    pub delivery: Delivery,
    /// Channel. Defaults to 0.
    pub channel: u8,
    /// Encrypt the event (AES-GCM over UDP/TCP/WS, TLS over WSS). Defaults to false.
    pub encrypt: bool,
}

impl Default for RaiseEventOptions {
    fn default() -> Self {
        Self {
            receivers: Receivers::Others,
            interest_group: 0,
            caching: cache::DO_NOT_CACHE,
            delivery: Delivery::ReliableOrdered,
            channel: 0,
            encrypt: false,
        }
    }
}

impl RaiseEventOptions {
    /// To these receivers, everything else default.
    pub fn to(receivers: Receivers) -> Self {
        Self {
            receivers,
            ..Self::default()
        }
    }
    /// The transport send options.
    pub fn send_options(&self) -> SendOptions {
        SendOptions {
            delivery: self.delivery,
            channel: self.channel,
            encrypt: self.encrypt,
        }
    }
}

/// Options of a raw frame ([`send_raw`](super::LoadBalancingCore::send_raw)):
/// the voice fast path, relayed without being parsed by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSendOptions {
    /// Receivers. Defaults to [`Receivers::Others`].
    pub receivers: Receivers,
    /// Interest group. Defaults to 0.
    pub interest_group: u8,
    /// Transport options. Defaults to unreliable unsequenced, channel 0, clear.
    pub send: SendOptions,
}

impl Default for RawSendOptions {
    fn default() -> Self {
        Self {
            receivers: Receivers::Others,
            interest_group: 0,
            send: SendOptions::UNRELIABLE,
        }
    }
}

/// Options of leaving a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeaveOptions {
    /// Stay an inactive actor for the room's player TTL, so that
    /// [`rejoin`](super::LoadBalancingCore::rejoin_room) gets the same actor number.
    /// Defaults to false.
    pub become_inactive: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_credentials() {
        let auth = AuthValues {
            auth_type: 0,
            parameters: "user=ann&pass=secret".into(),
            data: Some(Bytes::from_static(b"{\"token\":\"x\"}")),
        };
        let text = format!("{auth:?}");
        assert!(
            !text.contains("secret") && !text.contains("token"),
            "{text}"
        );
        assert!(text.contains("20 bytes hidden"), "{text}");
    }
}
