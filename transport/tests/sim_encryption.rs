//! On-demand encryption: key exchange, encrypted round trips, tampering and
//! replays rejected and counted, plaintext never on the wire, no send before
//! establishment, `encrypt_all` hides every payload.

mod common;

use common::{Dir, Netem, Sim};
use std::time::Duration;
use transport::config::TransportConfig;
use transport::wire;
use transport::{ConnectionEvent, Delivery, SendError, SendOptions};

const SECRET: &[u8] = b"TOP-SECRET-PAYLOAD-the-eagle-lands-at-dawn";

fn establish(sim: &mut Sim) {
    let now = sim.now;
    sim.clients[0].connection.establish_encryption(now);
    let done = sim.run_until(Duration::from_secs(5), |sim| {
        sim.clients[0]
            .events
            .contains(&ConnectionEvent::EncryptionEstablished)
            && sim
                .server_events
                .iter()
                .any(|e| e.event == ConnectionEvent::EncryptionEstablished)
    });
    assert!(
        done,
        "encryption not established: {:?}",
        sim.clients[0].events
    );
    assert!(sim.clients[0].connection.is_encryption_established());
    let peer = sim.server_peer(0);
    assert!(sim.server.peer_info(peer).unwrap().encryption_established);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn sim(config: TransportConfig, seed: u64) -> Sim {
    let mut sim = Sim::new(config.clone(), seed);
    sim.add_client(config);
    sim.set_link(Netem {
        latency: Duration::from_millis(10),
        ..Netem::default()
    });
    sim.connect_all();
    sim
}

#[test]
fn send_before_establishment_is_refused() {
    let mut sim = sim(TransportConfig::default(), 1);
    let now = sim.now;
    let options = SendOptions::RELIABLE.encrypted(true);
    assert_eq!(
        sim.clients[0].connection.send(now, SECRET, options),
        Err(SendError::EncryptionNotEstablished)
    );
    let peer = sim.server_peer(0);
    assert_eq!(
        sim.server
            .send(now, peer, SECRET, SendOptions::UNRELIABLE.encrypted(true)),
        Err(SendError::EncryptionNotEstablished)
    );
    sim.run_for(Duration::from_millis(100));
    assert!(sim.server_messages().is_empty());
}

#[test]
fn encrypted_round_trip_never_in_clear() {
    let mut sim = sim(TransportConfig::default(), 2);
    sim.capture = true;
    establish(&mut sim);
    let peer = sim.server_peer(0);
    let big: Vec<u8> = SECRET.iter().cycle().take(5000).copied().collect();
    let now = sim.now;
    for delivery in [
        Delivery::ReliableOrdered,
        Delivery::ReliableUnsequenced,
        Delivery::UnreliableSequenced,
        Delivery::UnreliableUnsequenced,
    ] {
        let options = SendOptions {
            delivery,
            channel: 1,
            encrypt: true,
        };
        sim.clients[0]
            .connection
            .send(now, SECRET, options)
            .unwrap();
        sim.server.send(now, peer, SECRET, options).unwrap();
    }
    sim.clients[0]
        .connection
        .send_parts(
            now,
            &[&big[..100], &big[100..]],
            SendOptions::RELIABLE.encrypted(true),
        )
        .unwrap();
    sim.server
        .send(now, peer, b"clear text is fine", SendOptions::UNRELIABLE)
        .unwrap();
    sim.run_for(Duration::from_millis(500));
    let up = sim.server_messages();
    let down = sim.client_messages(0);
    assert_eq!(up.len(), 5);
    assert_eq!(down.len(), 5);
    assert!(
        up.iter().all(|m| m.encrypted),
        "received messages carry encrypted: true"
    );
    assert_eq!(up.iter().filter(|m| m.payload == SECRET).count(), 4);
    assert_eq!(
        up.iter().filter(|m| m.payload == big).count(),
        1,
        "fragmented encrypted message reassembled"
    );
    assert_eq!(
        down.iter()
            .filter(|m| m.encrypted && m.payload == SECRET)
            .count(),
        4
    );
    assert_eq!(
        down.iter()
            .filter(|m| !m.encrypted && &m.payload[..] == b"clear text is fine")
            .count(),
        1
    );
    let mut clear_seen = false;
    for (_, datagram) in &sim.captured {
        assert!(
            !contains(datagram, &SECRET[..12]),
            "plaintext visible on the wire"
        );
        clear_seen |= contains(datagram, b"clear text is fine");
    }
    assert!(
        clear_seen,
        "the capture works: unencrypted messages are visible"
    );
    let stats = sim.clients[0].connection.stats();
    assert_eq!((stats.encrypted_out, stats.encrypted_in), (5, 4));
}

#[test]
fn tampered_and_replayed_messages_are_rejected_and_counted() {
    let mut sim = sim(TransportConfig::default(), 3);
    establish(&mut sim);
    let peer = sim.server_peer(0);
    // Flip one payload byte of the next client datagram that carries the secret marker length.
    let mut tampered = 0;
    sim.filter = Some(Box::new(move |dir, bytes| {
        if dir == Dir::Up && bytes.len() > 60 && tampered == 0 {
            tampered += 1;
            let last = bytes.len() - 1;
            bytes[last] ^= 0x40;
        }
        true
    }));
    let options = SendOptions::UNRELIABLE.encrypted(true);
    let now = sim.now;
    sim.clients[0]
        .connection
        .send(now, SECRET, options)
        .unwrap();
    sim.run_for(Duration::from_millis(100));
    assert!(
        sim.server_messages().is_empty(),
        "a tampered message was delivered"
    );
    assert_eq!(
        sim.server.peer_info(peer).unwrap().stats.decrypt_failures,
        1
    );
    // Untampered now; capture it and replay it.
    sim.filter = None;
    sim.capture = true;
    let now = sim.now;
    sim.clients[0]
        .connection
        .send(now, SECRET, options)
        .unwrap();
    sim.run_for(Duration::from_millis(100));
    assert_eq!(sim.server_messages().len(), 1);
    let datagram = sim
        .captured
        .iter()
        .rev()
        .find(|(d, b)| *d == Dir::Up && b.len() > 60)
        .unwrap()
        .1
        .clone();
    let from = sim.clients[0].address;
    for _ in 0..3 {
        let now = sim.now;
        sim.server.handle_datagram(now, from, &datagram);
        sim.flush();
    }
    assert_eq!(
        sim.server_messages().len(),
        1,
        "a replayed datagram was delivered"
    );
    assert_eq!(
        sim.server.peer_info(peer).unwrap().stats.replays_rejected,
        3
    );
    // A tampered reliable message is resent intact and delivered once.
    let mut tampered = 0;
    sim.filter = Some(Box::new(move |dir, bytes| {
        if dir == Dir::Up && bytes.len() > 60 && tampered == 0 {
            tampered += 1;
            bytes[20] ^= 1;
        }
        true
    }));
    let now = sim.now;
    sim.clients[0]
        .connection
        .send(now, SECRET, SendOptions::RELIABLE.encrypted(true))
        .unwrap();
    sim.run_for(Duration::from_secs(2));
    assert_eq!(sim.server_messages().len(), 2);
    assert_eq!(
        sim.server.peer_info(peer).unwrap().stats.decrypt_failures,
        2
    );
}

#[test]
fn encrypt_all_hides_unflagged_payloads() {
    let config = TransportConfig {
        encrypt_all: true,
        crc: true,
        ..TransportConfig::default()
    };
    let mut sim = sim(config, 4);
    establish(&mut sim);
    sim.capture = true;
    let peer = sim.server_peer(0);
    let now = sim.now;
    sim.clients[0]
        .connection
        .send(now, SECRET, SendOptions::UNRELIABLE)
        .unwrap();
    sim.clients[0]
        .connection
        .send(now, SECRET, SendOptions::RELIABLE.on_channel(1))
        .unwrap();
    sim.server
        .send(now, peer, SECRET, SendOptions::RELIABLE)
        .unwrap();
    sim.run_for(Duration::from_millis(300));
    assert_eq!(sim.server_messages().len(), 2);
    assert_eq!(sim.client_messages(0).len(), 1);
    assert!(sim
        .server_messages()
        .iter()
        .all(|m| !m.encrypted && m.payload == SECRET));
    assert!(!sim.captured.is_empty());
    for (_, datagram) in &sim.captured {
        assert!(
            !contains(datagram, &SECRET[..10]),
            "plaintext visible with encrypt_all"
        );
        assert_eq!(
            datagram[0] & wire::FLAG_SEALED,
            wire::FLAG_SEALED,
            "every datagram sealed"
        );
    }
}

#[test]
fn invalid_public_key_fails_the_exchange() {
    let mut sim = sim(TransportConfig::default(), 5);
    let id = sim.clients[0].connection.connection_id();
    let mut datagram = Vec::new();
    wire::put_data_header_datagram(&mut datagram, 0, id);
    wire::put_data_header(
        &mut datagram,
        wire::kind::CONTROL,
        Delivery::ReliableOrdered,
        false,
        0,
        33,
        Some(0),
        None,
    );
    datagram.push(1);
    datagram.extend_from_slice(&[0u8; 32]); // a low-order point
    let (now, from) = (sim.now, sim.clients[0].address);
    sim.server.handle_datagram(now, from, &datagram);
    sim.flush();
    assert!(sim
        .server_events
        .iter()
        .any(|e| matches!(e.event, ConnectionEvent::EncryptionFailedToEstablish(_))));
    let peer = sim.server_peer(0);
    assert!(!sim.server.peer_info(peer).unwrap().encryption_established);
    assert_eq!(
        ConnectionEvent::EncryptionFailedToEstablish(String::new()).status_code(),
        Some(1049)
    );
}

#[test]
fn both_sides_starting_the_exchange_still_agree() {
    let mut sim = sim(TransportConfig::default(), 6);
    let now = sim.now;
    let peer = sim.server_peer(0);
    sim.server.establish_encryption(now, peer);
    establish(&mut sim);
    let now = sim.now;
    sim.server
        .send(now, peer, SECRET, SendOptions::RELIABLE.encrypted(true))
        .unwrap();
    sim.clients[0]
        .connection
        .send(now, SECRET, SendOptions::RELIABLE.encrypted(true))
        .unwrap();
    sim.run_for(Duration::from_millis(200));
    assert_eq!(sim.client_messages(0).len(), 1);
    assert_eq!(sim.server_messages().len(), 1);
}

#[test]
fn repeated_establish_is_harmless() {
    let mut sim = sim(TransportConfig::default(), 7);
    let now = sim.now;
    sim.clients[0].connection.establish_encryption(now);
    sim.clients[0].connection.establish_encryption(now);
    establish(&mut sim);
    let now = sim.now;
    sim.clients[0].connection.establish_encryption(now);
    sim.flush();
    let established = sim.clients[0]
        .events
        .iter()
        .filter(|e| **e == ConnectionEvent::EncryptionEstablished)
        .count();
    assert_eq!(established, 2, "one per completed request");
    assert!(!sim.clients[0]
        .events
        .iter()
        .any(|e| matches!(e, ConnectionEvent::EncryptionFailedToEstablish(_))));
    let now = sim.now;
    sim.clients[0]
        .connection
        .send(now, SECRET, SendOptions::RELIABLE.encrypted(true))
        .unwrap();
    sim.run_for(Duration::from_millis(200));
    assert_eq!(sim.server_messages().len(), 1);
}
