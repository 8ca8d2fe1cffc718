//! The server: one sans-IO [`Endpoint`] behind any number of listeners.
//!
//! [`Server::bind`] opens every listener; [`Server::run`] starts one task per
//! stream listener (accept, TLS for WSS and `tls://`, WebSocket upgrade) and runs the driver loop
//! (see `server_driver`) in the calling task: UDP is received there in batches,
//! stream frames arrive from one reader task per stream over a bounded channel,
//! and the application's [`ServerHandler`] is called right there, so it can
//! answer or relay with `endpoint.send_parts` without a channel hop.

use super::server_driver::{BoundListener, ControlMessage, ServerDriver};
use super::udp::UdpIo;
use crate::endpoint::{Endpoint, EndpointConfig, EndpointEvent};
use crate::types::Protocol;
use std::any::Any;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// One listener.
#[derive(Debug, Clone)]
pub struct ListenerConfig {
    /// Protocol served.
    pub protocol: Protocol,
    /// Address to bind (port 0: any free port; see [`Server::local_addresses`]).
    pub address: SocketAddr,
    /// WebSocket path accepted (e.g. `/Master`); `None` accepts any path.
    pub path: Option<String>,
    /// TLS for WSS and TLS-over-TCP. Required for `Protocol::Wss` and
    /// `Protocol::Tls` (announce [`TLS_TCP_ALPN`](super::tls::TLS_TCP_ALPN) for
    /// `Tls`). A `Tcp` or `Ws` listener given `tls` serves `Tls` or `Wss` (and is
    /// reported so by [`Server::local_addresses`]); ignored for UDP.
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
    sender: mpsc::UnboundedSender<ControlMessage>,
    _marker: std::marker::PhantomData<fn(C)>,
}

impl<C> Clone for ServerControl<C> {
    fn clone(&self) -> Self {
        Self {
            sender: self.sender.clone(),
            _marker: std::marker::PhantomData,
        }
    }
}

impl<C: Send + 'static> ServerControl<C> {
    /// Delivers a command to the handler. Returns it back if the server stopped.
    ///
    /// `C` must be the handler's `Command` type; a command of another type is
    /// dropped by the driver with an error log.
    pub fn command(&self, command: C) -> Result<(), C> {
        match self.sender.send(ControlMessage::Command(Box::new(command))) {
            Ok(()) => Ok(()),
            Err(mpsc::error::SendError(ControlMessage::Command(boxed))) => {
                // Invariant: the box holds the `C` put in just above.
                let boxed: Box<dyn Any> = boxed;
                Err(*boxed
                    .downcast::<C>()
                    .expect("the returned command is the one sent"))
            }
            Err(_) => unreachable!("only a Command was sent"),
        }
    }

    /// Asks the server to shut down (as if the `shutdown` future of
    /// [`Server::run`] completed): peers are disconnected gracefully.
    pub fn shutdown(&self) {
        let _ = self.sender.send(ControlMessage::Shutdown);
    }

    /// True once the server stopped running.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

/// Bound listeners plus one endpoint, ready to run.
#[derive(Debug)]
pub struct Server {
    listeners: Vec<BoundListener>,
    addresses: Vec<(Protocol, SocketAddr)>,
    config: EndpointConfig,
    control: mpsc::UnboundedSender<ControlMessage>,
    control_rx: mpsc::UnboundedReceiver<ControlMessage>,
}

impl Server {
    /// Binds every listener (port 0 picks a free port).
    ///
    /// Errors: an address in use or not available, or a `Wss` or `Tls` listener
    /// without `tls` (`InvalidInput`, naming the fix).
    pub async fn bind(
        listeners: Vec<ListenerConfig>,
        endpoint: EndpointConfig,
    ) -> std::io::Result<Server> {
        let mut bound = Vec::with_capacity(listeners.len());
        let mut addresses = Vec::with_capacity(listeners.len());
        for listener in listeners {
            let with_address = |error: std::io::Error| {
                std::io::Error::new(
                    error.kind(),
                    format!(
                        "binding {} listener on {}: {error}",
                        listener.protocol, listener.address
                    ),
                )
            };
            match listener.protocol {
                Protocol::Udp => {
                    let io = UdpIo::bind(listener.address).map_err(with_address)?;
                    addresses.push((Protocol::Udp, io.local_addr()?));
                    bound.push(BoundListener::Udp(io));
                }
                protocol => {
                    // TLS given to a plain stream listener makes it the secure one.
                    let protocol = if listener.tls.is_some() {
                        protocol.with_tls()
                    } else {
                        protocol
                    };
                    if protocol.is_secure() && listener.tls.is_none() {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidInput,
                            format!(
                                "the {protocol} listener on {} has no TLS configuration; set ListenerConfig::tls \
                                 (see transport::runtime::tls for loading or generating a certificate)",
                                listener.address
                            ),
                        ));
                    }
                    let tcp = TcpListener::bind(listener.address)
                        .await
                        .map_err(with_address)?;
                    addresses.push((protocol, tcp.local_addr()?));
                    bound.push(BoundListener::Stream {
                        protocol,
                        listener: tcp,
                        path: listener.path,
                        tls: listener.tls,
                    });
                }
            }
        }
        let (control, control_rx) = mpsc::unbounded_channel();
        Ok(Server {
            listeners: bound,
            addresses,
            config: endpoint,
            control,
            control_rx,
        })
    }

    /// The bound addresses, one per listener, in the order given.
    pub fn local_addresses(&self) -> Vec<(Protocol, SocketAddr)> {
        self.addresses.clone()
    }

    /// The bound address of the first listener of `protocol`.
    pub fn local_address(&self, protocol: Protocol) -> Option<SocketAddr> {
        self.addresses
            .iter()
            .find(|(p, _)| *p == protocol)
            .map(|(_, address)| *address)
    }

    /// A control handle for the handler's commands, usable before `run`.
    pub fn control<C: Send + 'static>(&self) -> ServerControl<C> {
        ServerControl {
            sender: self.control.clone(),
            _marker: std::marker::PhantomData,
        }
    }

    /// Runs until `shutdown` completes; then every peer is disconnected
    /// gracefully (told, and given a moment to hear it) before returning.
    pub async fn run<H: ServerHandler>(
        self,
        handler: H,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let Server {
            listeners,
            addresses: _,
            config,
            control,
            control_rx,
        } = self;
        drop(control);
        let driver = ServerDriver::new(
            Endpoint::new(config.clone()),
            handler,
            listeners,
            control_rx,
            &config,
        );
        let span = tracing::debug_span!("server_driver");
        tracing::Instrument::instrument(driver.run(shutdown), span).await
    }
}
