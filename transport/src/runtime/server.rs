//! The server driver. CONTRACT (skeleton): signatures fixed, bodies by the driver owner.

use crate::endpoint::{Endpoint, EndpointConfig, EndpointEvent};
use crate::types::Protocol;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// One listener.
#[derive(Debug, Clone)]
pub struct ListenerConfig {
    /// Protocol served.
    pub protocol: Protocol,
    /// Address to bind (port 0: any free port; see [`Server::local_addresses`]).
    pub address: SocketAddr,
    /// WebSocket path accepted (e.g. `/Master`); `None` accepts any path.
    pub path: Option<String>,
    /// TLS for WSS (and for TLS-wrapped TCP). Required for `Protocol::Wss`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// The application logic of a server, run inside the driver task.
pub trait ServerHandler: Send + 'static {
    /// Commands other tasks send to the handler via [`ServerControl::command`].
    type Command: Send + 'static;

    /// A peer event (connected, message, encryption, disconnected).
    fn handle_event(&mut self, now: Instant, event: EndpointEvent, endpoint: &mut Endpoint);
    /// A command from another task.
    fn handle_command(&mut self, now: Instant, command: Self::Command, endpoint: &mut Endpoint);
    /// The handler's own timer fired (or earlier; spurious calls are harmless).
    fn handle_timeout(&mut self, now: Instant, endpoint: &mut Endpoint) {
        let _ = (now, endpoint);
    }
    /// When the handler wants `handle_timeout` next.
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

/// Sends commands into a running server and stops it.
#[derive(Debug)]
pub struct ServerControl<C> {
    _marker: std::marker::PhantomData<C>,
}

impl<C> Clone for ServerControl<C> {
    fn clone(&self) -> Self {
        Self {
            _marker: std::marker::PhantomData,
        }
    }
}

impl<C: Send + 'static> ServerControl<C> {
    /// Delivers a command to the handler. Returns it back if the server stopped.
    pub fn command(&self, command: C) -> Result<(), C> {
        Err(command)
    }
}

/// Bound listeners plus one endpoint, ready to run.
#[derive(Debug)]
pub struct Server {
    _private: (),
}

impl Server {
    /// Binds every listener (port 0 picks a free port).
    pub async fn bind(
        listeners: Vec<ListenerConfig>,
        endpoint: EndpointConfig,
    ) -> std::io::Result<Server> {
        let _ = (listeners, endpoint);
        todo!("driver owner")
    }

    /// The bound addresses, one per listener, in the order given.
    pub fn local_addresses(&self) -> Vec<(Protocol, SocketAddr)> {
        todo!("driver owner")
    }

    /// A control handle for the handler's commands, usable before `run`.
    pub fn control<C: Send + 'static>(&self) -> ServerControl<C> {
        todo!("driver owner")
    }

    /// Runs until `shutdown` completes; then every peer is disconnected
    /// gracefully (told, and given a moment to hear it) before returning.
    pub async fn run<H: ServerHandler>(
        self,
        handler: H,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let _ = (handler, shutdown);
        todo!("driver owner")
    }
}
