//! Traffic statistics move as expected; CRC failures are detected and
//! counted; the built-in network simulation (configuration) delays and drops.

mod common;

use common::{Dir, Netem, Sim};
use std::time::Duration;
use transport::config::{NetworkSimulation, TransportConfig};
use transport::{Delivery, SendOptions};

#[test]
fn counters_match_across_a_clean_link() {
    let mut sim = Sim::new(TransportConfig::default(), 1);
    sim.add_client(TransportConfig::default());
    sim.set_link(Netem {
        latency: Duration::from_millis(25),
        ..Netem::default()
    });
    sim.connect_all();
    let now = sim.now;
    for index in 0..40u32 {
        let delivery = match index % 4 {
            0 => Delivery::ReliableOrdered,
            1 => Delivery::ReliableUnsequenced,
            2 => Delivery::UnreliableSequenced,
            _ => Delivery::UnreliableUnsequenced,
        };
        let options = SendOptions {
            delivery,
            channel: (index % 2) as u8,
            encrypt: false,
        };
        sim.clients[0]
            .connection
            .send(now, &index.to_be_bytes(), options)
            .unwrap();
    }
    sim.run_for(Duration::from_secs(3));
    let client = sim.clients[0].connection.stats().clone();
    let peer = sim.server_peer(0);
    let server = sim.server.peer_info(peer).unwrap().stats;
    assert_eq!(client.messages_out, [10, 10, 10, 10]);
    assert_eq!(server.messages_in, [10, 10, 10, 10]);
    // No loss: every byte sent arrives. The client's two padded hellos are
    // handled statelessly by the endpoint (no peer yet), and the client does
    // not count the server's ACCEPT as connected traffic.
    let hellos = 2 * transport::wire::CONNECT_PADDED_LEN as u64;
    assert_eq!(client.bytes_out, server.bytes_in + hellos);
    assert_eq!(
        server.bytes_out,
        client.bytes_in + transport::wire::ACCEPT_LEN as u64
    );
    assert_eq!(client.datagrams_out, server.datagrams_in + 2);
    assert_eq!(server.datagrams_out, client.datagrams_in + 1);
    assert!(client.datagrams_out >= 3);
    assert_eq!(
        (client.resends, client.lost_datagrams, client.crc_failures),
        (0, 0, 0)
    );
    assert!(
        client.rtt >= Duration::from_millis(45) && client.rtt <= Duration::from_millis(55),
        "{:?}",
        client.rtt
    );
    assert!(
        server.rtt >= Duration::from_millis(45),
        "server measured rtt from pings/acks: {:?}",
        server.rtt
    );
}

#[test]
fn crc_failures_are_dropped_and_counted() {
    let config = TransportConfig {
        crc: true,
        ..TransportConfig::default()
    };
    let mut sim = Sim::new(config.clone(), 2);
    sim.add_client(config);
    sim.connect_all();
    let mut corrupted = 0;
    sim.filter = Some(Box::new(move |dir, bytes| {
        if dir == Dir::Up && corrupted == 0 && bytes[0] >> 4 == 0 {
            corrupted += 1;
            bytes[7] ^= 0x10;
        }
        true
    }));
    let now = sim.now;
    sim.clients[0]
        .connection
        .send(now, b"one", SendOptions::UNRELIABLE)
        .unwrap();
    sim.run_for(Duration::from_millis(50));
    let now = sim.now;
    sim.clients[0]
        .connection
        .send(now, b"two", SendOptions::RELIABLE)
        .unwrap();
    sim.run_for(Duration::from_millis(500));
    let peer = sim.server_peer(0);
    let stats = sim.server.peer_info(peer).unwrap().stats;
    assert_eq!(stats.crc_failures, 1);
    let payloads: Vec<_> = sim
        .server_messages()
        .iter()
        .map(|m| m.payload.to_vec())
        .collect();
    assert_eq!(
        payloads,
        vec![b"two".to_vec()],
        "the corrupted datagram was not delivered"
    );
}

#[test]
fn built_in_network_simulation_adds_lag_and_loss() {
    let simulation = NetworkSimulation {
        enabled: true,
        outgoing_lag: Duration::from_millis(100),
        outgoing_jitter: Duration::from_millis(10),
        outgoing_loss_percent: 30.0,
        incoming_lag: Duration::from_millis(50),
        seed: 9,
        ..NetworkSimulation::default()
    };
    let client = TransportConfig {
        simulation,
        ..TransportConfig::default()
    };
    let mut sim = Sim::new(TransportConfig::default(), 3);
    sim.add_client(client);
    sim.connect_all();
    let now = sim.now;
    for index in 0..200u32 {
        sim.clients[0]
            .connection
            .send(now, &index.to_be_bytes(), SendOptions::RELIABLE)
            .unwrap();
        sim.clients[0]
            .connection
            .send(
                now,
                &index.to_be_bytes(),
                SendOptions::UNRELIABLE.on_channel(1),
            )
            .unwrap();
        sim.run_for(Duration::from_millis(10));
    }
    sim.run_for(Duration::from_secs(5));
    let stats = sim.clients[0].connection.stats().clone();
    assert!(stats.simulated_losses > 0, "30 % outgoing loss simulated");
    assert!(
        stats.rtt >= Duration::from_millis(150),
        "lag shows in the RTT: {:?}",
        stats.rtt
    );
    let reliable = sim
        .server_messages()
        .iter()
        .filter(|m| m.channel == 0)
        .count();
    let unreliable = sim
        .server_messages()
        .iter()
        .filter(|m| m.channel == 1)
        .count();
    assert_eq!(
        reliable, 200,
        "reliable messages survive the simulated loss"
    );
    assert!(
        unreliable < 190 && unreliable > 100,
        "about 30 % of unreliable messages lost: {unreliable}"
    );
    println!(
        "simulated: rtt {:?}, {} losses, {unreliable}/200 unreliable",
        stats.rtt, stats.simulated_losses
    );
}

#[test]
fn server_side_simulation_applies_to_every_peer() {
    let simulation = NetworkSimulation {
        enabled: true,
        outgoing_lag: Duration::from_millis(80),
        incoming_loss_percent: 100.0,
        seed: 4,
        ..NetworkSimulation::default()
    };
    let server = TransportConfig {
        simulation,
        ..TransportConfig::default()
    };
    let mut sim = Sim::new(server, 4);
    sim.add_client(TransportConfig::default());
    sim.run_for(Duration::from_secs(2));
    assert_eq!(
        sim.server.peer_count(),
        0,
        "all incoming datagrams dropped by the simulation"
    );
    assert!(sim.clients[0].events.is_empty());
}

#[test]
fn reliable_window_bounds_commands_in_flight() {
    let config = TransportConfig {
        reliable_window: 8,
        ..TransportConfig::default()
    };
    let mut sim = Sim::new(config.clone(), 5);
    sim.add_client(config);
    sim.connect_all();
    sim.capture = true;
    sim.up.loss = 1.0; // nothing is acknowledged
    let now = sim.now;
    for index in 0..100u32 {
        sim.clients[0]
            .connection
            .send(now, &index.to_be_bytes(), SendOptions::RELIABLE)
            .unwrap();
    }
    sim.run_for(Duration::from_secs(2));
    let mut sequences = std::collections::BTreeSet::new();
    for (dir, datagram) in &sim.captured {
        if *dir != Dir::Up {
            continue;
        }
        let mut reader =
            transport::wire::Reader::new(&datagram[transport::wire::DATA_HEADER_LEN..]);
        while let Ok(command) = transport::wire::read_command(&mut reader) {
            if let transport::wire::Command::Data(data) = command {
                sequences.insert(data.sequence.unwrap());
            }
        }
    }
    assert_eq!(
        sequences.len(),
        8,
        "only the window is in flight, the rest queued: {sequences:?}"
    );
    assert!(sim.clients[0].connection.stats().resends > 0);
    // Once the link heals, everything flows.
    sim.up.loss = 0.0;
    assert!(
        sim.run_until(Duration::from_secs(10), |sim| sim.server_messages().len()
            == 100)
    );
}
