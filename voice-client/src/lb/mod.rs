//! The load-balancing client: name server → master → game server, as in
//! Photon Realtime's `LoadBalancingClient`.
//!
//! - [`LoadBalancingCore`]: the sans-IO state machine (transport events and
//!   commands in, [`Action`]s, [`LbEvent`]s and [`Completion`]s out).
//! - [`LoadBalancingClient`]: the async front end on tokio.
//! - [`PolledClient`]: the front end for game loops: non-blocking calls and
//!   one [`service`](PolledClient::service) per frame, with a private runtime
//!   on a background thread.
//!
//! The flow (see `transport::lb` for the protocol): connect to the name
//! server, establish encryption (not over WSS, where TLS already protects
//! everything), send `Authenticate` encrypted; connect to the master address
//! it answered and authenticate with the token; join a lobby or create/join a
//! room; connect to the game server the master answered, authenticate with
//! the token and repeat the room operation there. Leaving goes back to the
//! master. When a server answers `AuthenticationTicketExpired` the client goes
//! to the name server again and continues what it was doing.
//!
//! # Async example
//!
//! ```no_run
//! use voice_client::lb::{LbConfig, LbEvent, LoadBalancingClient, RaiseEventOptions, RoomOptions};
//! # async fn run() -> Result<(), voice_client::lb::LbError> {
//! let config = LbConfig::new("udp://127.0.0.1:5058", "my-app");
//! let mut client = LoadBalancingClient::new(config, Default::default());
//! let (room, actor) = client.join_or_create_room("lobby-chat", RoomOptions::default()).await?;
//! println!("in {room} as actor {actor}");
//! client.raise_event(1, "hello", &RaiseEventOptions::default())?;
//! while let Some(event) = client.next_event().await {
//!     if let LbEvent::CustomEvent { code, sender, data } = event {
//!         println!("event {code} from {sender}: {data:?}");
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Game-loop example
//!
//! ```no_run
//! use voice_client::lb::{LbConfig, LbEvent, PolledClient, RoomOptions};
//! let mut client = PolledClient::new(LbConfig::new("udp://127.0.0.1:5058", "my-app"), Default::default())
//!     .expect("runtime");
//! client.join_or_create_room("lobby-chat", RoomOptions::default()).expect("disconnected, so allowed");
//! loop {
//!     for event in client.service() {
//!         match event {
//!             LbEvent::Joined { room, actor, .. } => println!("in {room} as {actor}"),
//!             LbEvent::Disconnected(cause) => return println!("gone: {cause:?}"),
//!             _ => {}
//!         }
//!     }
//!     // ... render the frame ...
//!     std::thread::sleep(std::time::Duration::from_millis(16));
//! }
//! ```

mod client;
mod core;
mod error;
mod event;
mod flow;
mod options;
mod polled;
mod request;
mod room;
mod state;
#[cfg(test)]
mod tests;

pub use self::core::LoadBalancingCore;
pub use client::LoadBalancingClient;
pub use error::LbError;
pub use event::{
    Action, Completion, ConnectionId, DisconnectCause, LbEvent, Outcome, RequestId, ServerKind,
};
pub use options::{
    AuthValues, JoinRandomOptions, LbConfig, LeaveOptions, RaiseEventOptions, RawSendOptions,
    Receivers, RoomOptions,
};
pub use polled::{PolledClient, DROP_GRACE};
pub use room::{Actor, Properties, Room, RoomInfo};
pub use state::ClientState;
