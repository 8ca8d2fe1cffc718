//! A ready-made [`ServerHandler`] for applications that want server events as a
//! stream and send from any task: [`ChannelHandler`], [`ServerEvents`] and
//! [`ServerHandle`].
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use transport::runtime::{ChannelHandler, ListenerConfig, Server};
//! use transport::{EndpointConfig, Protocol, SendOptions};
//! let listeners = vec![ListenerConfig {
//!     protocol: Protocol::Udp,
//!     address: "127.0.0.1:0".parse().unwrap(),
//!     path: None,
//!     tls: None,
//! }];
//! let server = Server::bind(listeners, EndpointConfig::default()).await?;
//! let (handler, handle, mut events) = ChannelHandler::new(&server);
//! tokio::spawn(server.run(handler, std::future::pending()));
//! while let Some(event) = events.recv().await {
//!     if let transport::ConnectionEvent::Message(message) = event.event {
//!         let _ = handle.send(event.peer, message.payload, SendOptions::RELIABLE); // echo
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Costs one channel hop each way; relays that care should implement
//! [`ServerHandler`] and call `endpoint.send_parts` directly.

use super::server::{Server, ServerControl, ServerHandler};
use crate::endpoint::{Endpoint, EndpointEvent, PeerHandle};
use crate::event::SendError;
use crate::types::SendOptions;
use bytes::Bytes;
use std::time::Instant;
use tokio::sync::mpsc;

/// Commands a [`ServerHandle`] sends to a [`ChannelHandler`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerCommand {
    /// Send a message to a peer.
    Send {
        /// The peer.
        peer: PeerHandle,
        /// The message.
        payload: Bytes,
        /// How.
        options: SendOptions,
    },
    /// Disconnect a peer gracefully.
    Disconnect(PeerHandle),
}

/// Forwards every endpoint event into [`ServerEvents`] and executes [`ServerCommand`]s.
#[derive(Debug)]
pub struct ChannelHandler {
    events: mpsc::UnboundedSender<EndpointEvent>,
}

impl ChannelHandler {
    /// The handler to pass to [`Server::run`], the handle to send with, and the events.
    pub fn new(server: &Server) -> (ChannelHandler, ServerHandle, ServerEvents) {
        let (events, receiver) = mpsc::unbounded_channel();
        (
            ChannelHandler { events },
            ServerHandle {
                control: server.control(),
            },
            ServerEvents { events: receiver },
        )
    }
}

impl ServerHandler for ChannelHandler {
    type Command = ServerCommand;

    fn handle_event(&mut self, _now: Instant, event: EndpointEvent, _endpoint: &mut Endpoint) {
        let _ = self.events.send(event);
    }

    fn handle_command(&mut self, now: Instant, command: ServerCommand, endpoint: &mut Endpoint) {
        match command {
            ServerCommand::Send {
                peer,
                payload,
                options,
            } => {
                if let Err(error) = endpoint.send(now, peer, &payload, options) {
                    tracing::debug!(?peer, %error, "send to peer refused");
                }
            }
            ServerCommand::Disconnect(peer) => endpoint.disconnect(now, peer),
        }
    }
}

/// Endpoint events of a server run with a [`ChannelHandler`].
#[derive(Debug)]
pub struct ServerEvents {
    events: mpsc::UnboundedReceiver<EndpointEvent>,
}

impl ServerEvents {
    /// Waits for the next event; `None` once the server stopped.
    pub async fn recv(&mut self) -> Option<EndpointEvent> {
        self.events.recv().await
    }
    /// The next event if one is ready; never blocks.
    pub fn try_recv(&mut self) -> Option<EndpointEvent> {
        self.events.try_recv().ok()
    }
}

/// Sends to peers of a server run with a [`ChannelHandler`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    control: ServerControl<ServerCommand>,
}

impl ServerHandle {
    /// Queues a message to `peer`. Errors the endpoint finds later (unknown
    /// peer, encryption not established) are logged at debug level.
    pub fn send(
        &self,
        peer: PeerHandle,
        payload: Bytes,
        options: SendOptions,
    ) -> Result<(), SendError> {
        self.control
            .command(ServerCommand::Send {
                peer,
                payload,
                options,
            })
            .map_err(|_| SendError::NotConnected)
    }
    /// Disconnects `peer` gracefully.
    pub fn disconnect(&self, peer: PeerHandle) {
        let _ = self.control.command(ServerCommand::Disconnect(peer));
    }
    /// Stops the server (peers are disconnected gracefully).
    pub fn shutdown(&self) {
        self.control.shutdown();
    }
}
