//! Malformed input: random bytes fed to `Endpoint::handle_datagram` and
//! `Connection::handle_datagram` never panic, never create peers, and never
//! break a working connection.

mod common;

use common::Sim;
use proptest::prelude::*;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use transport::config::TransportConfig;
use transport::types::Delivery;
use transport::wire::{self, FragmentInfo};
use transport::{Endpoint, EndpointConfig, SendOptions};

fn fresh_endpoint() -> Endpoint {
    Endpoint::new(EndpointConfig {
        transport: Arc::new(TransportConfig::default()),
        max_peers: 10,
        cookie_secret: [9; 32],
        rng_seed: Some(9),
    })
}

/// A connected pair whose link is clean.
fn connected(seed: u64) -> Sim {
    let mut sim = Sim::new(TransportConfig::default(), seed);
    sim.add_client(TransportConfig::default());
    sim.connect_all();
    sim
}

fn still_works(sim: &mut Sim) {
    let now = sim.now;
    let before = sim.server_messages().len();
    sim.clients[0]
        .connection
        .send(now, b"still alive", SendOptions::RELIABLE)
        .unwrap();
    sim.run_for(Duration::from_secs(1));
    assert_eq!(
        sim.server_messages().len(),
        before + 1,
        "the connection broke"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_datagrams_never_create_peers(datagrams in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..20), port in 1u16..) {
        let mut endpoint = fresh_endpoint();
        let now = Instant::now();
        let mut buf = Vec::new();
        for datagram in &datagrams {
            let from = SocketAddr::from(([198, 51, 100, 7], port));
            endpoint.handle_datagram(now, from, datagram);
            while let Some(transmit) = endpoint.poll_transmit(now, &mut buf) {
                prop_assert!(transmit.size <= datagram.len().max(1), "answer larger than the request");
            }
        }
        endpoint.handle_timeout(now + Duration::from_secs(60));
        prop_assert_eq!(endpoint.peer_count(), 0);
        prop_assert!(endpoint.poll_event().is_none());
    }

    #[test]
    fn random_bytes_with_a_valid_header_are_harmless(bodies in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..10), flags in 0u8..4) {
        let mut sim = connected(1);
        let id = sim.clients[0].connection.connection_id();
        let from = sim.clients[0].address;
        for body in &bodies {
            let mut datagram = vec![flags];
            datagram.extend_from_slice(&id.to_be_bytes());
            datagram.extend_from_slice(body);
            let now = sim.now;
            sim.server.handle_datagram(now, from, &datagram);
            sim.clients[0].connection.handle_datagram(now, &datagram);
            sim.clients[0].connection.handle_datagram(now, body);
            sim.flush();
        }
        // A DISCONNECT command from the peer's own address is legitimate, so the
        // peer may be gone; but garbage never creates a peer.
        prop_assert!(sim.server.peer_count() <= 1);
    }

    #[test]
    fn structured_garbage_commands(commands in prop::collection::vec((0u8..8, 0u8..4, any::<u8>(), any::<u16>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>(), 0usize..64), 1..30)) {
        let mut sim = connected(2);
        let id = sim.clients[0].connection.connection_id();
        let from = sim.clients[0].address;
        for (kind, delivery, channel, sequence, count, index, total, offset, len) in commands {
            if kind == wire::kind::DISCONNECT {
                continue; // legitimate from the peer's address
            }
            let mut datagram = Vec::new();
            wire::put_data_header_datagram(&mut datagram, 0, id);
            let delivery = wire::delivery_from_code(delivery);
            let fragment = (kind == wire::kind::FRAGMENT).then_some(FragmentInfo { count: count % 2000, index: index % 2000, total: total % 2_000_000, offset: offset % 2_000_000 });
            wire::put_data_header(&mut datagram, kind & 7, delivery, false, channel % 3, len, Some(sequence % 600), fragment);
            datagram.resize(datagram.len() + len, 0x41);
            let now = sim.now;
            sim.server.handle_datagram(now, from, &datagram);
            sim.flush();
        }
        let peer = sim.server_peer(0);
        prop_assert!(sim.server.connection(peer).unwrap().reassembly_bytes() <= TransportConfig::default().max_reassembly_bytes);
    }
}

#[test]
fn garbage_from_a_foreign_address_is_ignored() {
    let mut sim = connected(3);
    let id = sim.clients[0].connection.connection_id();
    let mut datagram = Vec::new();
    wire::put_data_header_datagram(&mut datagram, 0, id);
    wire::put_disconnect(&mut datagram, 0);
    let now = sim.now;
    // A spoofed disconnect from another address does not end the connection.
    sim.server
        .handle_datagram(now, "203.0.113.5:9999".parse().unwrap(), &datagram);
    sim.flush();
    assert_eq!(sim.server.peer_count(), 1);
    still_works(&mut sim);
}

#[test]
fn every_truncation_of_real_traffic_is_harmless() {
    let mut sim = connected(4);
    sim.capture = true;
    let now = sim.now;
    let peer = sim.server_peer(0);
    sim.clients[0]
        .connection
        .send(now, &[7; 3000], SendOptions::RELIABLE)
        .unwrap();
    sim.clients[0]
        .connection
        .send(now, b"short", SendOptions::UNRELIABLE)
        .unwrap();
    sim.server
        .send(
            now,
            peer,
            b"down",
            SendOptions {
                delivery: Delivery::UnreliableSequenced,
                ..SendOptions::UNRELIABLE
            },
        )
        .unwrap();
    sim.run_for(Duration::from_millis(200));
    let captured = std::mem::take(&mut sim.captured);
    sim.capture = false;
    let from = sim.clients[0].address;
    for (_, datagram) in &captured {
        for cut in 0..datagram.len() {
            let now = sim.now;
            sim.server.handle_datagram(now, from, &datagram[..cut]);
            sim.clients[0]
                .connection
                .handle_datagram(now, &datagram[..cut]);
            let mut flipped = datagram.clone();
            flipped[cut] ^= 0xff;
            sim.server.handle_datagram(now, from, &flipped);
            sim.clients[0].connection.handle_datagram(now, &flipped);
        }
        sim.flush();
    }
    assert_eq!(sim.server.peer_count(), 1);
    still_works(&mut sim);
}

#[cfg(feature = "fuzzing")]
#[test]
fn fuzz_entry_points_run() {
    transport::fuzzing::endpoint_datagram(&[]);
    transport::fuzzing::endpoint_datagram(&[0x10; 64]);
    transport::fuzzing::connection_datagram(&[0, 1, 2, 3, 4, 5, 6, 7]);
    transport::fuzzing::connection_datagram(&[0x03; 300]);
}
