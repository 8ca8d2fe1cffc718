//! Connect handshake: no amplification, no server state before the cookie
//! comes back, wrong or foreign cookies refused, ServerFull, and MTU /
//! channel negotiation.

mod common;

use common::{Dir, Sim};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use transport::config::TransportConfig;
use transport::wire::{self, Hello};
use transport::{
    ConnectionEvent, Destination, DisconnectReason, Endpoint, EndpointConfig, SendError,
    SendOptions,
};

fn endpoint(max_peers: usize) -> Endpoint {
    Endpoint::new(EndpointConfig {
        transport: Arc::new(TransportConfig::default()),
        max_peers,
        cookie_secret: [1; 32],
        rng_seed: Some(1),
    })
}

fn hello(nonce: u64) -> Hello {
    Hello {
        version: wire::PROTOCOL_VERSION,
        nonce,
        mtu: 1200,
        channels: 2,
        window: 512,
    }
}

fn spoofed(index: u32) -> SocketAddr {
    SocketAddr::from((
        [192, 0, 2, (index % 250) as u8],
        1024 + (index / 250) as u16,
    ))
}

#[test]
fn server_answer_never_larger_than_client_datagram() {
    let mut sim = Sim::new(TransportConfig::default(), 1);
    sim.add_client(TransportConfig::default());
    sim.capture = true;
    sim.connect_all();
    let first_up = sim
        .captured
        .iter()
        .find(|(d, _)| *d == Dir::Up)
        .unwrap()
        .1
        .len();
    let first_down = sim
        .captured
        .iter()
        .find(|(d, _)| *d == Dir::Down)
        .unwrap()
        .1
        .len();
    println!("client's first datagram {first_up} bytes, server's first answer {first_down} bytes");
    assert!(
        first_down <= first_up,
        "amplification: {first_down} > {first_up}"
    );
    // Every handshake answer is smaller than each client hello.
    let handshake_down: Vec<usize> = sim
        .captured
        .iter()
        .filter(|(d, b)| *d == Dir::Down && b[0] >> 4 != 0)
        .map(|(_, b)| b.len())
        .collect();
    assert!(!handshake_down.is_empty());
    assert!(handshake_down
        .iter()
        .all(|&len| len <= wire::CONNECT_PADDED_LEN));
}

#[test]
fn connect_flood_from_spoofed_addresses_keeps_no_state() {
    let mut server = endpoint(100);
    let now = std::time::Instant::now();
    let mut buf = Vec::new();
    let mut answers = 0;
    for index in 0..5000u32 {
        let mut datagram = Vec::new();
        wire::put_hello(&mut datagram, &hello(u64::from(index)), None);
        server.handle_datagram(now, spoofed(index), &datagram);
        while let Some(transmit) = server.poll_transmit(now, &mut buf) {
            assert!(
                transmit.size <= datagram.len(),
                "answer larger than the request"
            );
            answers += 1;
        }
        // A short (unpadded) connect gets no answer at all.
        server.handle_datagram(now, spoofed(index), &datagram[..40]);
        assert!(
            server.poll_transmit(now, &mut buf).is_none(),
            "unpadded connect answered"
        );
    }
    assert_eq!(answers, 5000, "one cookie per connect");
    assert_eq!(
        server.peer_count(),
        0,
        "no state before the cookie is echoed"
    );
    assert_eq!(server.poll_timeout(), None, "no timers either");
    assert!(server.poll_event().is_none());
}

fn cookie_for(server: &mut Endpoint, from: SocketAddr, nonce: u64) -> [u8; wire::COOKIE_LEN] {
    let now = std::time::Instant::now();
    let mut datagram = Vec::new();
    wire::put_hello(&mut datagram, &hello(nonce), None);
    server.handle_datagram(now, from, &datagram);
    let mut buf = Vec::new();
    let transmit = server.poll_transmit(now, &mut buf).unwrap();
    assert_eq!(transmit.destination, Destination::Udp(from));
    assert_eq!(buf[0] >> 4, wire::packet::COOKIE);
    buf[9..9 + wire::COOKIE_LEN].try_into().unwrap()
}

#[test]
fn wrong_or_foreign_cookie_is_refused() {
    let mut server = endpoint(100);
    let now = std::time::Instant::now();
    let alice = spoofed(1);
    let mallory = spoofed(2);
    let cookie = cookie_for(&mut server, alice, 77);
    let mut buf = Vec::new();
    let mut refuse = |server: &mut Endpoint, from: SocketAddr, nonce: u64, cookie: &[u8; 16]| {
        let mut datagram = Vec::new();
        wire::put_hello(&mut datagram, &hello(nonce), Some(cookie));
        server.handle_datagram(now, from, &datagram);
        let transmit = server.poll_transmit(now, &mut buf).expect("an answer");
        assert!(transmit.size <= datagram.len());
        (buf[0] >> 4, buf.get(9).copied())
    };
    let refused = (wire::packet::REFUSE, Some(wire::refuse::BAD_COOKIE));
    assert_eq!(
        refuse(&mut server, alice, 77, &[0; 16]),
        refused,
        "made-up cookie"
    );
    assert_eq!(
        refuse(&mut server, mallory, 77, &cookie),
        refused,
        "cookie used from another address"
    );
    assert_eq!(
        refuse(&mut server, alice, 78, &cookie),
        refused,
        "cookie used with another nonce"
    );
    assert_eq!(server.peer_count(), 0);
    // The genuine echo is accepted.
    assert_eq!(
        refuse(&mut server, alice, 77, &cookie).0,
        wire::packet::ACCEPT
    );
    assert_eq!(server.peer_count(), 1);
    assert!(matches!(
        server.poll_event().unwrap().event,
        ConnectionEvent::Connected
    ));
}

#[test]
fn expired_cookie_is_refused() {
    let mut server = endpoint(100);
    let start = std::time::Instant::now();
    let alice = spoofed(1);
    let cookie = cookie_for(&mut server, alice, 5);
    let later = start + Duration::from_secs(31);
    let mut datagram = Vec::new();
    wire::put_hello(&mut datagram, &hello(5), Some(&cookie));
    server.handle_datagram(later, alice, &datagram);
    let mut buf = Vec::new();
    server.poll_transmit(later, &mut buf).unwrap();
    assert_eq!(
        (buf[0] >> 4, buf[9]),
        (wire::packet::REFUSE, wire::refuse::BAD_COOKIE)
    );
    assert_eq!(server.peer_count(), 0);
}

#[test]
fn server_full_refuses_the_next_client() {
    let endpoint = EndpointConfig {
        transport: Arc::new(TransportConfig::default()),
        max_peers: 1,
        cookie_secret: [3; 32],
        rng_seed: Some(3),
    };
    let mut sim = Sim::with_endpoint(endpoint, 3, 1200);
    sim.add_client(TransportConfig::default());
    sim.connect_all();
    sim.add_client(TransportConfig::default());
    let done = sim.run_until(Duration::from_secs(10), |sim| {
        !sim.clients[1].events.is_empty()
    });
    assert!(done);
    assert_eq!(
        sim.clients[1].events,
        vec![ConnectionEvent::Disconnected(DisconnectReason::ServerFull)]
    );
    assert_eq!(DisconnectReason::ServerFull.status_code(), 1042);
    assert_eq!(sim.server.peer_count(), 1);
    assert_eq!(
        sim.clients[0].connection.state(),
        transport::ConnectionState::Connected
    );
}

#[test]
fn mtu_and_channels_negotiated_to_the_smaller_side() {
    let server = TransportConfig {
        mtu: 1200,
        channel_count: 4,
        ..TransportConfig::default()
    };
    let client = TransportConfig {
        mtu: 700,
        channel_count: 3,
        ..TransportConfig::default()
    };
    let mut sim = Sim::new(server, 4);
    sim.add_client(client);
    sim.connect_all();
    let connection = &sim.clients[0].connection;
    assert_eq!((connection.mtu(), connection.channel_count()), (700, 3));
    let peer = sim.server_peer(0);
    let server_side = sim.server.connection(peer).unwrap();
    assert_eq!((server_side.mtu(), server_side.channel_count()), (700, 3));
    assert_eq!(
        sim.clients[0]
            .connection
            .send(sim.now, b"x", SendOptions::RELIABLE.on_channel(3)),
        Err(SendError::NoSuchChannel(3, 3))
    );
    // Big messages both ways: the harness asserts every datagram is ≤ 700 bytes.
    let big: Vec<u8> = (0..20_000u32).map(|i| i as u8).collect();
    let now = sim.now;
    sim.clients[0]
        .connection
        .send(now, &big, SendOptions::RELIABLE.on_channel(2))
        .unwrap();
    sim.server
        .send(now, peer, &big, SendOptions::UNRELIABLE)
        .unwrap();
    let done = sim.run_until(Duration::from_secs(10), |sim| {
        !sim.server_messages().is_empty() && !sim.client_messages(0).is_empty()
    });
    assert!(done);
    assert_eq!(sim.server_messages()[0].payload, big);
    assert_eq!(sim.client_messages(0)[0].payload, big);
    assert!(
        sim.largest_datagram <= 700 && sim.largest_datagram > 600,
        "largest {}",
        sim.largest_datagram
    );
}

#[test]
fn lost_accept_is_recovered() {
    let mut sim = Sim::new(TransportConfig::default(), 6);
    sim.add_client(TransportConfig::default());
    let mut dropped = 0;
    sim.filter = Some(Box::new(move |dir, bytes| {
        if dir == Dir::Down && bytes[0] >> 4 == wire::packet::ACCEPT && dropped < 2 {
            dropped += 1;
            return false;
        }
        true
    }));
    sim.connect_all();
    assert_eq!(
        sim.server.peer_count(),
        1,
        "the re-sent cookie hello finds the existing peer"
    );
    let connected = sim
        .server_events
        .iter()
        .filter(|e| e.event == ConnectionEvent::Connected)
        .count();
    assert_eq!(connected, 1);
}

#[test]
fn bad_parameters_and_versions_are_refused_with_a_reason() {
    let mut server = endpoint(100);
    let now = std::time::Instant::now();
    let alice = spoofed(1);
    let mut buf = Vec::new();
    let mut answer = |server: &mut Endpoint, hello: Hello| {
        let cookie = cookie_for(server, alice, hello.nonce);
        let mut datagram = Vec::new();
        wire::put_hello(&mut datagram, &hello, Some(&cookie));
        server.handle_datagram(now, alice, &datagram);
        server.poll_transmit(now, &mut buf).unwrap();
        (buf[0] >> 4, buf[9])
    };
    let refused = |reason| (wire::packet::REFUSE, reason);
    assert_eq!(
        answer(
            &mut server,
            Hello {
                mtu: 500,
                ..hello(1)
            }
        ),
        refused(wire::refuse::PARAMETERS)
    );
    assert_eq!(
        answer(
            &mut server,
            Hello {
                channels: 0,
                ..hello(2)
            }
        ),
        refused(wire::refuse::PARAMETERS)
    );
    assert_eq!(
        answer(
            &mut server,
            Hello {
                version: 99,
                ..hello(3)
            }
        ),
        refused(wire::refuse::VERSION)
    );
    assert_eq!(server.peer_count(), 0);
}
