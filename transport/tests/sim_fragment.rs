//! Fragmentation: a 500 KiB message survives 10 % loss; reassembly memory
//! per peer stays under `max_reassembly_bytes` against a peer that opens
//! fragment sets it never finishes; oversized messages are refused.

mod common;

use common::{Netem, Sim};
use std::time::Duration;
use transport::config::TransportConfig;
use transport::types::Delivery;
use transport::wire::{self, FragmentInfo};
use transport::{SendError, SendOptions};

#[test]
fn half_megabyte_message_survives_loss() {
    let mut sim = Sim::new(TransportConfig::default(), 1);
    sim.add_client(TransportConfig::default());
    sim.set_link(Netem {
        latency: Duration::from_millis(30),
        jitter: Duration::from_millis(20),
        loss: 0.1,
        duplicate: 0.01,
    });
    sim.connect_all();
    let big: Vec<u8> = (0..500 * 1024u32)
        .map(|i| (i * 7 + i / 251) as u8)
        .collect();
    let now = sim.now;
    sim.clients[0]
        .connection
        .send(now, &big, SendOptions::RELIABLE)
        .unwrap();
    sim.clients[0]
        .connection
        .send(now, b"after", SendOptions::RELIABLE)
        .unwrap();
    let peer = sim.server_peer(0);
    // Unreliable large messages travel as reliable fragments too.
    sim.server
        .send(
            now,
            peer,
            &big[..100_000],
            SendOptions::UNRELIABLE.on_channel(1),
        )
        .unwrap();
    let done = sim.run_until(Duration::from_secs(120), |sim| {
        sim.server_messages().len() == 2 && !sim.client_messages(0).is_empty()
    });
    assert!(done, "server got {} messages", sim.server_messages().len());
    let messages = sim.server_messages();
    assert_eq!(messages[0].payload.len(), big.len());
    assert!(messages[0].payload == big, "reassembled bytes differ");
    assert_eq!(
        &messages[1].payload[..],
        b"after",
        "order kept after a fragmented message"
    );
    let down = &sim.client_messages(0)[0];
    assert_eq!(
        (down.payload.len(), down.delivery, down.channel),
        (100_000, Delivery::UnreliableUnsequenced, 1)
    );
    assert!(down.payload == big[..100_000]);
    let server_side = sim.server.connection(peer).unwrap();
    assert_eq!(
        server_side.reassembly_bytes(),
        0,
        "completed sets are released"
    );
    assert!(sim.clients[0].connection.stats().resends > 0);
    println!(
        "500 KiB over 10 % loss in {:?} of virtual time",
        sim.elapsed()
    );
}

fn fragment_datagram(
    connection_id: u32,
    sequence: u16,
    info: FragmentInfo,
    payload: &[u8],
) -> Vec<u8> {
    let mut datagram = Vec::new();
    wire::put_data_header_datagram(&mut datagram, 0, connection_id);
    wire::put_data_header(
        &mut datagram,
        wire::kind::FRAGMENT,
        Delivery::ReliableUnsequenced,
        false,
        0,
        payload.len(),
        Some(sequence),
        Some(info),
    );
    datagram.extend_from_slice(payload);
    datagram
}

#[test]
fn unfinished_fragment_sets_stay_under_the_bound() {
    let config = TransportConfig {
        max_reassembly_bytes: 1024 * 1024,
        ..TransportConfig::default()
    };
    let mut sim = Sim::new(config, 2);
    sim.add_client(TransportConfig::default());
    sim.connect_all();
    let peer = sim.server_peer(0);
    let id = sim.clients[0].connection.connection_id();
    let from = sim.clients[0].address;
    let mut largest = 0;
    for sequence in 0..300u16 {
        // Each datagram opens a new 400 KB set and never finishes it.
        let info = FragmentInfo {
            count: 400,
            index: 0,
            total: 400_000,
            offset: 0,
        };
        let datagram = fragment_datagram(id, sequence, info, &[0xee; 1000]);
        let now = sim.now;
        sim.server.handle_datagram(now, from, &datagram);
        largest = largest.max(sim.server.connection(peer).unwrap().reassembly_bytes());
    }
    let connection = sim.server.connection(peer).unwrap();
    assert!(
        largest <= 1024 * 1024,
        "reassembly memory {largest} exceeds the bound"
    );
    assert_eq!(
        connection.reassembly_bytes(),
        800_000,
        "two sets fit under 1 MiB"
    );
    assert_eq!(connection.stats().reassembly_rejected, 298);
    // Declared totals above max_message_size are refused outright.
    let info = FragmentInfo {
        count: 2,
        index: 0,
        total: 600 * 1024,
        offset: 0,
    };
    let now = sim.now;
    sim.server
        .handle_datagram(now, from, &fragment_datagram(id, 1000, info, &[1; 100]));
    assert_eq!(
        sim.server.connection(peer).unwrap().reassembly_bytes(),
        800_000
    );
    // A fragment that overflows its set is dropped.
    let info = FragmentInfo {
        count: 2,
        index: 1,
        total: 400_000,
        offset: 399_990,
    };
    sim.server
        .handle_datagram(now, from, &fragment_datagram(id, 1, info, &[1; 100]));
    assert_eq!(
        sim.server.connection(peer).unwrap().reassembly_bytes(),
        800_000
    );
    assert!(sim.server_messages().is_empty());
}

#[test]
fn too_large_is_refused_on_send() {
    let config = TransportConfig {
        max_message_size: 64 * 1024,
        ..TransportConfig::default()
    };
    let mut sim = Sim::new(config.clone(), 3);
    sim.add_client(config);
    sim.connect_all();
    let now = sim.now;
    let big = vec![0u8; 64 * 1024 + 1];
    assert_eq!(
        sim.clients[0]
            .connection
            .send(now, &big, SendOptions::RELIABLE),
        Err(SendError::TooLarge(64 * 1024 + 1, 64 * 1024))
    );
    assert_eq!(
        sim.clients[0].connection.send_parts(
            now,
            &[&big[..40_000], &big[40_000..]],
            SendOptions::UNRELIABLE
        ),
        Err(SendError::TooLarge(64 * 1024 + 1, 64 * 1024))
    );
    sim.clients[0]
        .connection
        .send(now, &big[1..], SendOptions::RELIABLE)
        .unwrap();
    assert!(
        sim.run_until(Duration::from_secs(5), |sim| sim.server_messages().len()
            == 1)
    );
}
