//! Stream mode (TCP, WS, WSS): the same Connection/Endpoint fed whole frames;
//! no ACKs or fragmentation, a simple connect exchange, pings and timeouts,
//! key exchange over TCP/WS, TLS standing in for it over WSS.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use transport::config::TransportConfig;
use transport::{
    Connection, ConnectionEvent, Destination, DisconnectReason, Endpoint, EndpointConfig,
    EndpointEvent, PeerHandle, Protocol, SendOptions,
};

struct Pair {
    now: Instant,
    client: Connection,
    server: Endpoint,
    peer: PeerHandle,
    client_events: Vec<ConnectionEvent>,
    server_events: Vec<EndpointEvent>,
    frames: Vec<Vec<u8>>,
    /// Deliver frames (false: the link went silent).
    connected: bool,
}

impl Pair {
    fn new(protocol: Protocol) -> Self {
        Self::with_config(protocol, TransportConfig::default())
    }

    fn with_config(protocol: Protocol, config: TransportConfig) -> Self {
        let now = Instant::now();
        let config = Arc::new(config);
        let mut server = Endpoint::new(EndpointConfig {
            transport: config.clone(),
            max_peers: 10,
            cookie_secret: [0; 32],
            rng_seed: Some(1),
        });
        let address: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let listener: SocketAddr = "127.0.0.1:4530".parse().unwrap();
        let peer = server
            .accept_stream(now, address, listener, protocol)
            .unwrap();
        let info = server.peer_info(peer).unwrap();
        assert_eq!(info.listener, Some(listener), "the listener is remembered");
        let client = Connection::connect(now, config, protocol, 5);
        let mut pair = Pair {
            now,
            client,
            server,
            peer,
            client_events: Vec::new(),
            server_events: Vec::new(),
            frames: Vec::new(),
            connected: true,
        };
        pair.drive();
        pair
    }

    /// Exchanges frames until both sides are quiet (zero latency).
    fn drive(&mut self) {
        let mut buf = Vec::new();
        for _ in 0..10_000 {
            let mut progress = false;
            while let Some(len) = self.client.poll_transmit(self.now, &mut buf) {
                progress = true;
                self.frames.push(buf[..len].to_vec());
                if self.connected {
                    self.server
                        .handle_stream_frame(self.now, self.peer, &buf[..len]);
                }
            }
            while let Some(transmit) = self.server.poll_transmit(self.now, &mut buf) {
                progress = true;
                assert_eq!(transmit.destination, Destination::Stream(self.peer));
                self.frames.push(buf[..transmit.size].to_vec());
                if self.connected {
                    self.client.handle_datagram(self.now, &buf[..transmit.size]);
                }
            }
            while let Some(event) = self.client.poll_event() {
                self.client_events.push(event);
            }
            while let Some(event) = self.server.poll_event() {
                self.server_events.push(event);
            }
            if !progress {
                return;
            }
        }
        panic!("no quiescence");
    }

    fn advance(&mut self, duration: Duration) {
        let end = self.now + duration;
        loop {
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(next) if next <= end => {
                    self.now = self.now.max(next);
                    self.client.handle_timeout(self.now);
                    self.server.handle_timeout(self.now);
                    self.drive();
                }
                _ => break,
            }
        }
        self.now = end;
        self.drive();
    }

    fn server_messages(&self) -> Vec<transport::ReceivedMessage> {
        self.server_events
            .iter()
            .filter_map(|e| match &e.event {
                ConnectionEvent::Message(m) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn tcp_connects_and_carries_large_messages_unfragmented() {
    let mut pair = Pair::new(Protocol::Tcp);
    assert_eq!(pair.client_events, vec![ConnectionEvent::Connected]);
    assert_eq!(pair.server_events[0].event, ConnectionEvent::Connected);
    let big = vec![0x33u8; 100_000];
    let now = pair.now;
    pair.frames.clear();
    pair.client.send(now, &big, SendOptions::RELIABLE).unwrap();
    pair.client
        .send(now, b"small", SendOptions::UNRELIABLE.on_channel(1))
        .unwrap();
    pair.drive();
    let messages = pair.server_messages();
    assert_eq!(messages.len(), 2);
    assert!(messages[0].payload == big);
    assert_eq!(&messages[1].payload[..], b"small");
    assert_eq!(
        pair.frames.len(),
        2,
        "one frame per message, no ACK frames: {:?}",
        pair.frames.len()
    );
    assert!(pair.frames[0].len() > 100_000 && pair.frames[0].len() < 100_020);
}

#[test]
fn stream_pings_keep_alive_then_silence_times_out() {
    let mut pair = Pair::new(Protocol::Ws);
    pair.advance(Duration::from_secs(30));
    assert_eq!(pair.client.state(), transport::ConnectionState::Connected);
    let client_ms = pair.client.server_time_ms(pair.now).unwrap();
    let server_ms = pair
        .server
        .connection(pair.peer)
        .unwrap()
        .server_time_ms(pair.now)
        .unwrap();
    assert!(
        client_ms.abs_diff(server_ms) <= 2,
        "time sync over a stream"
    );
    pair.connected = false;
    pair.advance(Duration::from_secs(11));
    assert_eq!(
        pair.client_events.last(),
        Some(&ConnectionEvent::Disconnected(DisconnectReason::Timeout))
    );
    assert_eq!(
        pair.server_events.last().map(|e| &e.event),
        Some(&ConnectionEvent::Disconnected(DisconnectReason::Timeout))
    );
    assert_eq!(pair.server.peer_count(), 0);
}

#[test]
fn stream_closed_and_graceful_disconnect() {
    let mut pair = Pair::new(Protocol::Tcp);
    let now = pair.now;
    pair.client.disconnect(now);
    pair.drive();
    assert_eq!(
        pair.client_events.last(),
        Some(&ConnectionEvent::Disconnected(DisconnectReason::Local))
    );
    assert_eq!(
        pair.server_events.last().map(|e| &e.event),
        Some(&ConnectionEvent::Disconnected(DisconnectReason::ByPeer))
    );
    let mut pair = Pair::new(Protocol::Tcp);
    let now = pair.now;
    pair.server.handle_stream_closed(now, pair.peer);
    pair.drive();
    assert!(matches!(
        pair.server_events.last().map(|e| &e.event),
        Some(ConnectionEvent::Disconnected(DisconnectReason::Transport(
            _
        )))
    ));
    assert_eq!(pair.server.peer_count(), 0);
}

#[test]
fn key_exchange_over_tcp() {
    let mut pair = Pair::new(Protocol::Tcp);
    let now = pair.now;
    pair.client.establish_encryption(now);
    pair.drive();
    assert!(pair
        .client_events
        .contains(&ConnectionEvent::EncryptionEstablished));
    assert!(pair
        .server_events
        .iter()
        .any(|e| e.event == ConnectionEvent::EncryptionEstablished));
    pair.frames.clear();
    let now = pair.now;
    pair.client
        .send(
            now,
            b"over tcp, sealed",
            SendOptions::RELIABLE.encrypted(true),
        )
        .unwrap();
    pair.server
        .send(
            now,
            pair.peer,
            b"reply, sealed",
            SendOptions::UNRELIABLE.encrypted(true),
        )
        .unwrap();
    pair.drive();
    let message = &pair.server_messages()[0];
    assert!(message.encrypted && &message.payload[..] == b"over tcp, sealed");
    assert!(pair.client_events.iter().any(|e| matches!(e, ConnectionEvent::Message(m) if m.encrypted && &m.payload[..] == b"reply, sealed")));
    assert!(pair
        .frames
        .iter()
        .all(|f| !f.windows(6).any(|w| w == b"sealed")));
}

#[test]
fn wss_needs_no_key_exchange() {
    let mut pair = Pair::new(Protocol::Wss);
    let now = pair.now;
    pair.frames.clear();
    pair.client.establish_encryption(now);
    assert_eq!(
        pair.client.poll_event(),
        Some(ConnectionEvent::EncryptionEstablished)
    );
    assert!(
        pair.client.poll_transmit(now, &mut Vec::new()).is_none(),
        "no key exchange over TLS"
    );
    pair.client
        .send(
            now,
            b"tls protects me",
            SendOptions::RELIABLE.encrypted(true),
        )
        .unwrap();
    pair.drive();
    let message = &pair.server_messages()[0];
    assert!(message.encrypted, "arrives flagged encrypted");
    assert_eq!(&message.payload[..], b"tls protects me");
    assert!(
        pair.server
            .peer_info(pair.peer)
            .unwrap()
            .encryption_established
    );
    let frame = &pair.frames[0];
    assert!(
        frame.len() < 5 + 6 + 15 + 24,
        "no AES-GCM overhead over WSS ({} bytes)",
        frame.len()
    );
}

fn client_messages(pair: &Pair) -> Vec<transport::ReceivedMessage> {
    pair.client_events
        .iter()
        .filter_map(|e| match e {
            ConnectionEvent::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn messages_queued_before_a_disconnect_still_arrive() {
    for protocol in [Protocol::Tcp, Protocol::Ws] {
        let mut pair = Pair::new(protocol);
        let now = pair.now;
        // A server answering an abusive peer with an error, then dropping it.
        pair.server
            .send(now, pair.peer, b"error response", SendOptions::RELIABLE)
            .unwrap();
        pair.server
            .send(now, pair.peer, b"last words", SendOptions::UNRELIABLE)
            .unwrap();
        pair.server.disconnect(now, pair.peer);
        pair.drive();
        let payloads: Vec<Vec<u8>> = client_messages(&pair)
            .iter()
            .map(|m| m.payload.to_vec())
            .collect();
        assert_eq!(
            payloads,
            vec![b"error response".to_vec(), b"last words".to_vec()],
            "{protocol}"
        );
        assert_eq!(
            pair.client_events.last(),
            Some(&ConnectionEvent::Disconnected(DisconnectReason::ByPeer)),
            "{protocol}"
        );
    }
}

#[test]
fn every_message_over_wss_counts_as_encrypted() {
    let mut pair = Pair::new(Protocol::Wss);
    let now = pair.now;
    pair.client
        .send(now, b"plain flag", SendOptions::RELIABLE)
        .unwrap();
    pair.drive();
    let messages = pair.server_messages();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].encrypted, "TLS protects every WSS message");
    let mut tcp = Pair::new(Protocol::Tcp);
    let now = tcp.now;
    tcp.client
        .send(now, b"plain", SendOptions::RELIABLE)
        .unwrap();
    tcp.drive();
    assert!(
        !tcp.server_messages()[0].encrypted,
        "TCP without AES is clear"
    );
}

/// Over a stream a reliable message leaves the backlog once written: a client
/// that keeps writing sends any amount; one whose frames are not written
/// (`poll_transmit` not called) is stopped at `max_reliable_backlog`.
#[test]
fn stream_backlog_counts_unwritten_messages_only() {
    const LIMIT: usize = 10_000;
    let config = TransportConfig {
        max_reliable_backlog: LIMIT,
        ..TransportConfig::default()
    };
    let mut pair = Pair::with_config(Protocol::Tcp, config);
    assert!(pair.client_events.contains(&ConnectionEvent::Connected));
    let payload = vec![3u8; 1_000];
    for _ in 0..3 {
        for _ in 0..LIMIT / payload.len() {
            pair.client
                .send(pair.now, &payload, SendOptions::RELIABLE)
                .expect("written messages left the backlog");
        }
        pair.drive();
    }
    assert_eq!(pair.server_messages().len(), 3 * LIMIT / payload.len());
    for _ in 0..LIMIT / payload.len() {
        pair.client
            .send(pair.now, &payload, SendOptions::RELIABLE)
            .unwrap();
    }
    assert_eq!(
        pair.client.send(pair.now, &payload, SendOptions::RELIABLE),
        Err(transport::SendError::BacklogFull { limit: LIMIT })
    );
    pair.drive();
    assert!(pair.client_events.contains(&ConnectionEvent::Disconnected(
        DisconnectReason::SendBacklogFull
    )));
    assert!(pair
        .server_events
        .iter()
        .any(|e| e.event == ConnectionEvent::Disconnected(DisconnectReason::ByPeer)));
}
