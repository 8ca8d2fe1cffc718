//! Per-message overhead: an unencrypted unreliable-unsequenced message alone
//! in a datagram carries at most 9 bytes of transport header (5 datagram + 1
//! type + 1 channel + 1-2 length) for payloads below 16 KiB.

mod common;

use common::{Dir, Sim};
use std::time::Duration;
use transport::config::TransportConfig;
use transport::SendOptions;

fn overhead_of(sim: &mut Sim, size: usize) -> usize {
    sim.captured.clear();
    let payload = vec![0x5a; size];
    let now = sim.now;
    sim.clients[0]
        .connection
        .send(now, &payload, SendOptions::UNRELIABLE)
        .unwrap();
    sim.flush();
    let datagrams: Vec<_> = sim.captured.iter().filter(|(d, _)| *d == Dir::Up).collect();
    assert_eq!(datagrams.len(), 1, "one datagram for a {size}-byte message");
    datagrams[0].1.len() - size
}

#[test]
fn unreliable_message_overhead_is_at_most_nine_bytes() {
    // A large MTU lets messages up to 16 KiB travel unfragmented.
    let config = TransportConfig {
        mtu: 17_000,
        ..TransportConfig::default()
    };
    let mut sim = Sim::new(config.clone(), 1);
    sim.add_client(config);
    sim.connect_all();
    sim.capture = true;
    sim.run_for(Duration::from_millis(1));
    let mut worst = 0;
    for size in [1usize, 80, 127, 128, 1000, 1188, 16 * 1024 - 1] {
        let overhead = overhead_of(&mut sim, size);
        println!("unreliable unsequenced message of {size:>5} bytes: {overhead} bytes of transport header");
        assert!(overhead <= 9, "{overhead} bytes of overhead for {size}");
        worst = worst.max(overhead);
    }
    assert_eq!(
        overhead_of(&mut sim, 127),
        8,
        "short messages: 1-byte length"
    );
    assert_eq!(
        worst, 9,
        "exact figure for payloads from 128 bytes to 16 KiB"
    );
    println!(
        "transport overhead per unreliable message: {worst} bytes (budget 12 with the codec's 3)"
    );
}

#[test]
fn default_mtu_overhead_and_sequenced_modes() {
    let mut sim = Sim::new(TransportConfig::default(), 2);
    sim.add_client(TransportConfig::default());
    sim.connect_all();
    sim.capture = true;
    assert_eq!(overhead_of(&mut sim, 1000), 9);
    let max = sim.clients[0].connection.max_unfragmented_payload();
    assert!(overhead_of(&mut sim, max) <= 9);
    // Sequenced and reliable modes add a 2-byte sequence number.
    sim.captured.clear();
    let now = sim.now;
    let options = SendOptions {
        delivery: transport::Delivery::UnreliableSequenced,
        ..SendOptions::UNRELIABLE
    };
    sim.clients[0]
        .connection
        .send(now, &[1; 200], options)
        .unwrap();
    sim.flush();
    let up = sim.captured.iter().find(|(d, _)| *d == Dir::Up).unwrap();
    assert_eq!(up.1.len() - 200, 11);
}
