//! Name server, master server and game server.
