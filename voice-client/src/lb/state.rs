//! The client's states (Photon's `ClientState`).

use std::fmt;

/// Where the load-balancing client is in the name → master → game flow.
/// Photon's `ClientState`, with the same names and meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientState {
    /// Created, never connected.
    PeerCreated,
    /// Sent `Authenticate` (name server: app id and user; master and game
    /// server: the token) and waits for the answer.
    Authenticating,
    /// Connecting to the name server (transport handshake, then encryption).
    ConnectingToNameServer,
    /// Connected to the name server with encryption ready.
    ConnectedToNameServer,
    /// The name server accepted the user and gave the master's address and a token.
    Authenticated,
    /// Connecting to the master server.
    ConnectingToMasterServer,
    /// On the master: can join lobbies and create or join rooms.
    ConnectedToMasterServer,
    /// Sent `JoinLobby`.
    JoiningLobby,
    /// In a lobby on the master: the room list arrives.
    JoinedLobby,
    /// Connecting to the game server of the room.
    ConnectingToGameServer,
    /// Sent a create/join operation (on the master or the game server).
    Joining,
    /// In a room on the game server.
    Joined,
    /// Sent `Leave`; goes back to the master afterwards.
    Leaving,
    /// Disconnecting on the application's request.
    Disconnecting,
    /// Not connected (after `disconnect`, an error, or a dropped connection).
    Disconnected,
}

impl ClientState {
    /// True while connected to the master (in a lobby or not) and idle.
    pub fn is_on_master(self) -> bool {
        matches!(
            self,
            ClientState::ConnectedToMasterServer | ClientState::JoinedLobby
        )
    }
    /// True while in a room.
    pub fn is_in_room(self) -> bool {
        self == ClientState::Joined
    }
    /// True when nothing is connected or connecting.
    pub fn is_disconnected(self) -> bool {
        matches!(self, ClientState::PeerCreated | ClientState::Disconnected)
    }
}

impl fmt::Display for ClientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
