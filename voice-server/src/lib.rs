//! Name server, master server and game server of a self-hostable realtime
//! voice service in the style of Photon (load balancing: name → master → game).
//!
//! - [`config`]: the TOML configuration; [`check`] reports every problem with its line.
//! - [`token`]: sealed authentication tokens shared by all servers.
//!
//! The logic of each role is sans-IO: it takes `(now, peer, message)` and writes
//! to an outbox; thin `ServerHandler`s connect it to transport's drivers.

pub mod check;
pub mod config;
pub mod token;
