//! Name server, master server and game server of a self-hostable realtime
//! voice service in the style of Photon's load balancing: a client
//! authenticates at the **name server**, which answers the master's address
//! and a sealed token; the **master** handles lobbies and matchmaking and
//! answers a game server's address with a refreshed token; the **game server**
//! hosts rooms, relays events and voice frames.
//!
//! - [`config`]: the TOML configuration; [`check`] reports every problem with its line.
//! - [`token`]: sealed authentication tokens shared by all servers.
//! - [`name`], [`master`], [`game`]: each role's sans-IO logic, taking
//!   `(now, peer, message)` and writing to an [`outbox::Outbox`].
//! - [`handler`]: runs a role's logic inside transport's server driver;
//!   [`run`] starts a deployment; [`cli`] is the command line.
//! - [`limits`], [`metrics`], [`auth`]: rate limits, Prometheus counters,
//!   custom HTTP authentication.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use voice_server::{config::Config, run::{start, StartOptions}};
//! let deployment = start(Config::embedded_default(), StartOptions::default()).await?;
//! deployment.wait_for_shutdown_signal().await;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod check;
pub mod cli;
pub mod config;
pub mod game;
pub mod handler;
pub mod limits;
pub mod link;
pub mod logic;
pub mod master;
pub mod metrics;
pub mod name;
pub mod outbox;
pub mod report;
pub mod run;
pub mod token;
