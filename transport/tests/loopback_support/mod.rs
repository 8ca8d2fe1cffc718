//! Shared pieces of the loopback tests: a test server with an echo/relay handler,
//! bounded waits, and a self-signed certificate for WSS.
#![allow(dead_code)]

use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use transport::runtime::{
    Client, ClientConfig, ClientEvents, ListenerConfig, Server, ServerControl, ServerHandler,
};
use transport::{
    ConnectionEvent, Delivery, DisconnectReason, Endpoint, EndpointConfig, EndpointEvent,
    PeerHandle, Protocol, ReceivedMessage, SendOptions,
};

/// Upper bound of any single wait in these tests.
pub const WAIT: Duration = Duration::from_secs(5);
/// Upper bound of a whole test.
pub const GUARD: Duration = Duration::from_secs(30);

/// Runs `test` with a timeout guard so nothing hangs.
pub async fn guard<F: std::future::Future<Output = ()>>(test: F) {
    tokio::time::timeout(GUARD, test)
        .await
        .expect("test exceeded its 30 s guard");
}

/// Commands the tests send into the handler.
#[derive(Debug)]
pub enum TestCommand {
    /// Send to a peer.
    SendTo(PeerHandle, Vec<u8>, SendOptions),
    /// Send `count` reliable messages of `size` bytes to a peer (errors ignored).
    Flood(PeerHandle, usize, usize),
}

/// `echo:X` is answered with `re:X` (same delivery, channel and encryption);
/// `relay:X` is forwarded as `relayed:X` to every other connected peer. Every
/// event is also passed to the test.
pub struct TestHandler {
    events: mpsc::UnboundedSender<EndpointEvent>,
    peers: Vec<PeerHandle>,
}

impl ServerHandler for TestHandler {
    type Command = TestCommand;

    fn handle_event(&mut self, now: Instant, event: EndpointEvent, endpoint: &mut Endpoint) {
        match &event.event {
            ConnectionEvent::Connected => self.peers.push(event.peer),
            ConnectionEvent::Disconnected(_) => self.peers.retain(|p| *p != event.peer),
            ConnectionEvent::Message(message) => {
                let options = SendOptions {
                    delivery: message.delivery,
                    channel: message.channel,
                    encrypt: message.encrypted,
                };
                if let Some(rest) = message.payload.strip_prefix(b"echo:") {
                    endpoint
                        .send_parts(now, event.peer, &[b"re:", rest], options)
                        .expect("echo send");
                } else if let Some(rest) = message.payload.strip_prefix(b"relay:") {
                    for other in self.peers.iter().filter(|p| **p != event.peer) {
                        endpoint
                            .send_parts(now, *other, &[b"relayed:", rest], options)
                            .expect("relay send");
                    }
                }
            }
            _ => {}
        }
        let _ = self.events.send(event);
    }

    fn handle_command(&mut self, now: Instant, command: TestCommand, endpoint: &mut Endpoint) {
        match command {
            TestCommand::SendTo(peer, payload, options) => {
                endpoint
                    .send(now, peer, &payload, options)
                    .expect("command send");
            }
            TestCommand::Flood(peer, count, size) => {
                let payload = vec![0x5a; size];
                for _ in 0..count {
                    if endpoint
                        .send(now, peer, &payload, SendOptions::RELIABLE)
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    }
}

/// A running server with [`TestHandler`].
pub struct TestServer {
    /// Bound addresses.
    pub addresses: Vec<(Protocol, SocketAddr)>,
    /// Every endpoint event, as the handler saw it.
    pub events: mpsc::UnboundedReceiver<EndpointEvent>,
    /// Commands into the handler.
    pub control: ServerControl<TestCommand>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

/// A listener on 127.0.0.1, port 0.
pub fn listener(
    protocol: Protocol,
    path: Option<&str>,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> ListenerConfig {
    ListenerConfig {
        protocol,
        address: "127.0.0.1:0".parse().unwrap(),
        path: path.map(str::to_owned),
        tls,
    }
}

/// Binds `listeners` and runs a [`TestHandler`] server.
pub async fn start(listeners: Vec<ListenerConfig>) -> TestServer {
    let config = EndpointConfig {
        rng_seed: Some(7),
        ..EndpointConfig::default()
    };
    let server = Server::bind(listeners, config).await.expect("bind");
    let addresses = server.local_addresses();
    let control = server.control::<TestCommand>();
    let (events_tx, events) = mpsc::unbounded_channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let handler = TestHandler {
        events: events_tx,
        peers: Vec::new(),
    };
    let task = tokio::spawn(server.run(handler, async move {
        let _ = stopped.await;
    }));
    TestServer {
        addresses,
        events,
        control,
        stop: Some(stop),
        task,
    }
}

impl TestServer {
    /// The URL of the first listener of `protocol`.
    pub fn url(&self, protocol: Protocol, path: &str) -> String {
        let (_, address) = self
            .addresses
            .iter()
            .find(|(p, _)| *p == protocol)
            .expect("listener of that protocol");
        format!("{}://{}{}", protocol.scheme(), address, path)
    }

    /// The next event matching `wanted`, skipping others; panics after [`WAIT`].
    pub async fn wait_for(
        &mut self,
        what: &str,
        wanted: impl Fn(&EndpointEvent) -> bool,
    ) -> EndpointEvent {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) if wanted(&event) => return event,
                Ok(Some(_)) => {}
                Ok(None) => panic!("server stopped while waiting for {what}"),
                Err(_) => panic!("server: no {what} within {WAIT:?}"),
            }
        }
    }

    /// Waits for a peer's `Connected`.
    pub async fn wait_connected(&mut self) -> PeerHandle {
        self.wait_for("Connected", |e| e.event == ConnectionEvent::Connected)
            .await
            .peer
    }

    /// Waits for a message from any peer.
    pub async fn wait_message(&mut self) -> (PeerHandle, ReceivedMessage) {
        let event = self
            .wait_for("a message", |e| {
                matches!(e.event, ConnectionEvent::Message(_))
            })
            .await;
        match event.event {
            ConnectionEvent::Message(message) => (event.peer, message),
            _ => unreachable!(),
        }
    }

    /// Drops the running server abruptly (no goodbye), as a crash would.
    pub async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }

    /// Stops the server and waits for `run` to return.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("server stops in time")
            .expect("join")
            .expect("run");
    }
}

/// The next client event matching `wanted`; panics after [`WAIT`].
pub async fn client_wait(
    events: &mut ClientEvents,
    what: &str,
    wanted: impl Fn(&ConnectionEvent) -> bool,
) -> ConnectionEvent {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) if wanted(&event) => return event,
            Ok(Some(_)) => {}
            Ok(None) => panic!("client events ended while waiting for {what}"),
            Err(_) => panic!("client: no {what} within {WAIT:?}"),
        }
    }
}

/// The next message the client receives.
pub async fn client_message(events: &mut ClientEvents) -> ReceivedMessage {
    match client_wait(events, "a message", |e| {
        matches!(e, ConnectionEvent::Message(_))
    })
    .await
    {
        ConnectionEvent::Message(message) => message,
        _ => unreachable!(),
    }
}

/// A client config trusting `extra_ca_pem` (for WSS) with a short connect timeout.
pub fn client_config(extra_ca_pem: Option<&str>) -> ClientConfig {
    let mut config = ClientConfig {
        connect_timeout: Duration::from_secs(3),
        ..ClientConfig::default()
    };
    if let Some(pem) = extra_ca_pem {
        config.tls.extra_ca_pem.push(pem.to_string());
        config.tls.disable_system_roots = true;
    }
    config
}

/// A self-signed certificate for `localhost` and 127.0.0.1: the server's rustls
/// config and the certificate PEM for the client to trust.
pub fn self_signed() -> (Arc<rustls::ServerConfig>, String) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("rcgen");
    let cert_der = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key)
        .expect("server cert");
    (Arc::new(config), certified.cert.pem())
}

/// The whole client life on one protocol: connect, messages both ways (reliable
/// and unreliable), encryption, encrypted messages, graceful disconnect seen by
/// the server.
pub async fn full_session(server: &mut TestServer, url: &str, config: ClientConfig) {
    let (client, mut events) = Client::connect(url, config)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    assert!(client.is_connected());
    // `Connected` is the first event.
    let first = tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("first event");
    assert_eq!(first, Some(ConnectionEvent::Connected));
    let peer = server.wait_connected().await;

    // Client -> server -> client, reliable and unreliable.
    client
        .send(Bytes::from_static(b"echo:reliable"), SendOptions::RELIABLE)
        .unwrap();
    let echoed = client_message(&mut events).await;
    assert_eq!(&echoed.payload[..], b"re:reliable");
    assert_eq!(echoed.delivery, Delivery::ReliableOrdered);
    client
        .send(
            Bytes::from_static(b"echo:unreliable"),
            SendOptions::UNRELIABLE,
        )
        .unwrap();
    let echoed = client_message(&mut events).await;
    assert_eq!(&echoed.payload[..], b"re:unreliable");
    assert_eq!(echoed.delivery, Delivery::UnreliableUnsequenced);

    // Server-initiated, on channel 1.
    let options = SendOptions::RELIABLE.on_channel(1);
    server
        .control
        .command(TestCommand::SendTo(peer, b"hello client".to_vec(), options))
        .unwrap();
    let pushed = client_message(&mut events).await;
    assert_eq!(
        (&pushed.payload[..], pushed.channel),
        (&b"hello client"[..], 1)
    );
    let (from, seen) = server.wait_message().await;
    assert_eq!((from, &seen.payload[..]), (peer, &b"echo:reliable"[..]));

    // Encryption: refused before, works after.
    let secure = client.protocol().is_secure();
    if !secure {
        assert!(!client.is_encryption_established());
        let error = client
            .send(
                Bytes::from_static(b"echo:x"),
                SendOptions::RELIABLE.encrypted(true),
            )
            .unwrap_err();
        assert_eq!(error, transport::SendError::EncryptionNotEstablished);
    }
    client.establish_encryption();
    client_wait(&mut events, "EncryptionEstablished", |e| {
        *e == ConnectionEvent::EncryptionEstablished
    })
    .await;
    assert!(client.is_encryption_established());
    client
        .send(
            Bytes::from_static(b"echo:secret"),
            SendOptions::RELIABLE.encrypted(true),
        )
        .unwrap();
    let secret = client_message(&mut events).await;
    assert_eq!(&secret.payload[..], b"re:secret");
    assert!(secret.encrypted, "the echo travelled encrypted");
    let (_, seen) = server
        .wait_for(
            "the encrypted message",
            |e| matches!(&e.event, ConnectionEvent::Message(m) if &m.payload[..] == b"echo:secret"),
        )
        .await
        .into_message();
    assert!(seen.encrypted);

    let stats = client.stats();
    assert!(stats.messages_out.iter().sum::<u64>() >= 3, "{stats:?}");
    assert!(stats.messages_in.iter().sum::<u64>() >= 4, "{stats:?}");
    assert!(stats.bytes_in > 0 && stats.bytes_out > 0);

    // Graceful disconnect: the client reports Local, the server sees the peer leave.
    client.disconnect();
    let end = client_wait(&mut events, "Disconnected", |e| {
        matches!(e, ConnectionEvent::Disconnected(_))
    })
    .await;
    assert_eq!(end, ConnectionEvent::Disconnected(DisconnectReason::Local));
    assert!(tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("events end")
        .is_none());
    let gone = server
        .wait_for("Disconnected", |e| {
            matches!(e.event, ConnectionEvent::Disconnected(_))
        })
        .await;
    assert_eq!(gone.peer, peer);
    assert_eq!(
        gone.event,
        ConnectionEvent::Disconnected(DisconnectReason::ByPeer)
    );
    assert!(!client.is_connected());
    assert_eq!(
        client
            .send(Bytes::from_static(b"late"), SendOptions::RELIABLE)
            .unwrap_err(),
        transport::SendError::NotConnected
    );
}

/// Helper to take a message out of an [`EndpointEvent`].
pub trait IntoMessage {
    /// The peer and the message (panics for other events).
    fn into_message(self) -> (PeerHandle, ReceivedMessage);
}

impl IntoMessage for EndpointEvent {
    fn into_message(self) -> (PeerHandle, ReceivedMessage) {
        match self.event {
            ConnectionEvent::Message(message) => (self.peer, message),
            other => panic!("expected a message, got {other:?}"),
        }
    }
}
