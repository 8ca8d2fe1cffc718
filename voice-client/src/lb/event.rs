//! What the core reports (events for the application, actions for its driver).

use bytes::Bytes;
use transport::codec::Value;
use transport::{DisconnectReason, SendOptions};

use super::error::LbError;
use super::room::Properties;
use super::state::ClientState;

/// Identifies one transport connection the core asked for. Events of older
/// connections are ignored by the core, so a driver may deliver late ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

/// Identifies a command whose outcome arrives later (see
/// [`LoadBalancingCore::poll_completion`](super::LoadBalancingCore::poll_completion)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// Which server a connection goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerKind {
    /// The name server (authentication, region).
    NameServer,
    /// The master server (lobbies, matchmaking).
    MasterServer,
    /// The game server of a room.
    GameServer,
}

impl ServerKind {
    /// "name server", "master server" or "game server".
    pub fn as_str(self) -> &'static str {
        match self {
            ServerKind::NameServer => "name server",
            ServerKind::MasterServer => "master server",
            ServerKind::GameServer => "game server",
        }
    }
}

/// What the driver must do for the core.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Open a transport connection to `url` and report it with `handle_connected`
    /// / `handle_connect_failed` and its events with the same id. Any earlier
    /// connection is no longer used (the core sent `Disconnect` for it).
    Connect {
        /// The new connection's id.
        connection: ConnectionId,
        /// Which server.
        server: ServerKind,
        /// The address (`udp|tcp|tls|ws|wss://host:port[/path]`).
        url: String,
    },
    /// Start the key exchange on the connection (`Client::establish_encryption`).
    EstablishEncryption {
        /// The connection.
        connection: ConnectionId,
    },
    /// Send an encoded message on the connection.
    Send {
        /// The connection.
        connection: ConnectionId,
        /// The encoded message.
        payload: Bytes,
        /// Delivery, channel and encryption.
        options: SendOptions,
    },
    /// Close the connection gracefully.
    Disconnect {
        /// The connection.
        connection: ConnectionId,
    },
}

/// Why the client ended up disconnected.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DisconnectCause {
    /// The application called `disconnect`.
    ClientRequest,
    /// The transport dropped the connection (timeout, server gone...).
    Transport(DisconnectReason),
    /// The flow stopped on an error (connect failed, authentication refused, timeout...).
    Error(LbError),
}

/// What happened, for the application. Drain with `poll_event` (core), `service`
/// (polled front end) or `next_event` (async front end).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LbEvent {
    /// The state changed.
    StateChanged {
        /// The old state.
        from: ClientState,
        /// The new state.
        to: ClientState,
    },
    /// This client is in a room.
    Joined {
        /// Room name.
        room: String,
        /// This client's actor number.
        actor: i32,
        /// True after `create_room` (a join-or-create does not tell whether it
        /// created the room).
        created: bool,
        /// True when this was a rejoin as the same (inactive) actor.
        rejoined: bool,
    },
    /// Another actor joined the room (or rejoined).
    ActorJoined {
        /// Its actor number.
        actor: i32,
        /// Its nickname (empty if none).
        nickname: String,
    },
    /// An actor left the room.
    ActorLeft {
        /// Its actor number.
        actor: i32,
        /// True when it may come back (player TTL).
        inactive: bool,
    },
    /// The room's master client changed.
    MasterClientSwitched {
        /// The new master client.
        actor: i32,
    },
    /// Room (`actor == 0`) or actor properties changed.
    PropertiesChanged {
        /// 0 for the room, else the actor whose properties changed.
        actor: i32,
        /// The changed properties (a `Null` value means deleted).
        changes: Properties,
    },
    /// A custom event raised by an actor.
    CustomEvent {
        /// Event code.
        code: u8,
        /// The sender's actor number (0 = the server).
        sender: i32,
        /// The event content.
        data: Value,
    },
    /// A raw frame (voice fast path).
    RawFrame {
        /// The sender's actor number.
        sender: i32,
        /// The payload as the sender wrote it.
        payload: Bytes,
    },
    /// The lobby's room list changed (see `room_list`).
    RoomListUpdated {
        /// Number of rooms listed now.
        rooms: usize,
    },
    /// Application statistics from the master.
    AppStats {
        /// Peers connected.
        peers: i32,
        /// Rooms.
        rooms: i32,
    },
    /// Something failed and the client goes on (a join refused on the master,
    /// a compare-and-set mismatch, an undecodable message...); its state says
    /// where it is now. A failure that ends the session arrives as
    /// [`LbEvent::Disconnected`] with [`DisconnectCause::Error`] instead.
    Error(LbError),
    /// The client is disconnected (the last event of a session unless it reconnects).
    Disconnected(DisconnectCause),
}

/// What a completed request produced.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// On the master, ready for matchmaking.
    OnMaster,
    /// In the lobby.
    InLobby,
    /// In a room.
    Joined {
        /// Room name.
        room: String,
        /// This client's actor number.
        actor: i32,
    },
    /// Back on the master after leaving the room.
    Left,
    /// The server accepted the operation.
    Done,
    /// Disconnected as asked.
    Disconnected,
}

/// The outcome of one request (see
/// [`LoadBalancingCore::poll_completion`](super::LoadBalancingCore::poll_completion)).
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The request.
    pub request: RequestId,
    /// What it produced, or why it failed.
    pub result: Result<Outcome, LbError>,
}
