//! 10,000 reliable ordered messages on two interleaved channels under 20 %
//! loss, 100 ms ± 50 ms one-way delay (reordering) and duplication arrive
//! exactly once and in order per channel.

mod common;

use common::{Netem, Sim};
use std::time::Duration;
use transport::config::TransportConfig;
use transport::{ConnectionEvent, SendOptions};

fn lossy() -> Netem {
    Netem {
        latency: Duration::from_millis(50),
        jitter: Duration::from_millis(100),
        loss: 0.2,
        duplicate: 0.02,
    }
}

fn payload(channel: u8, index: u32) -> Vec<u8> {
    let mut payload = vec![channel];
    payload.extend_from_slice(&index.to_be_bytes());
    payload.resize(20 + (index as usize % 50), 0xab);
    payload
}

#[test]
fn ten_thousand_reliable_messages_arrive_once_in_order() {
    let mut sim = Sim::new(TransportConfig::default(), 7);
    sim.add_client(TransportConfig::default());
    sim.set_link(lossy());
    sim.connect_all();
    const TOTAL: u32 = 10_000;
    for index in 0..TOTAL {
        let channel = (index % 2) as u8;
        let now = sim.now;
        sim.clients[0]
            .connection
            .send(
                now,
                &payload(channel, index / 2),
                SendOptions::RELIABLE.on_channel(channel),
            )
            .unwrap();
        if index % 200 == 199 {
            // Interleave application sends with network progress.
            sim.run_for(Duration::from_millis(20));
        }
    }
    let done = sim.run_until(Duration::from_secs(300), |sim| {
        sim.server_messages().len() >= TOTAL as usize
    });
    let messages = sim.server_messages();
    assert!(done, "only {} of {TOTAL} messages arrived", messages.len());
    let mut next = [0u32; 2];
    for message in &messages {
        let channel = message.channel;
        assert_eq!(message.payload[0], channel);
        let index = u32::from_be_bytes(message.payload[1..5].try_into().unwrap());
        assert_eq!(
            index, next[channel as usize],
            "out of order or duplicated on channel {channel}"
        );
        assert_eq!(&message.payload[..], &payload(channel, index)[..]);
        next[channel as usize] += 1;
    }
    assert_eq!(next, [TOTAL / 2, TOTAL / 2]);
    // Nothing more arrives later (no duplicates).
    sim.run_for(Duration::from_secs(5));
    assert_eq!(sim.server_messages().len(), TOTAL as usize);
    let stats = sim.clients[0].connection.stats().clone();
    assert!(stats.resends > 0, "20 % loss must cause resends");
    assert!(stats.lost_datagrams > 0);
    // About 20 % of 10,000 commands (plus 20 % of those) must be resent;
    // spurious resends (ACKs late or lost) stay a minority.
    assert!(
        stats.resends < 4_000,
        "too many spurious resends: {}",
        stats.resends
    );
    // One-way delay is 50..150 ms each way: the RTT averages 200 ms.
    assert!(
        stats.rtt > Duration::from_millis(150) && stats.rtt < Duration::from_millis(250),
        "RTT estimate {:?}",
        stats.rtt
    );
    assert_eq!(stats.messages_out[0], u64::from(TOTAL));
    assert!(!sim.clients[0]
        .events
        .iter()
        .any(|e| matches!(e, ConnectionEvent::Disconnected(_))));
    println!(
        "10k reliable: {:?} virtual, {} datagrams, {} resends, rtt {:?} ± {:?}",
        sim.elapsed(),
        sim.datagrams,
        stats.resends,
        stats.rtt,
        stats.rtt_variance
    );
}

#[test]
fn reliable_both_directions_and_unsequenced() {
    let mut sim = Sim::new(TransportConfig::default(), 11);
    sim.add_client(TransportConfig::default());
    sim.set_link(lossy());
    sim.connect_all();
    let peer = sim.server_peer(0);
    let unsequenced = SendOptions {
        delivery: transport::Delivery::ReliableUnsequenced,
        ..SendOptions::RELIABLE
    };
    for index in 0..500u32 {
        let now = sim.now;
        sim.server
            .send(
                now,
                peer,
                &index.to_be_bytes(),
                SendOptions::RELIABLE.on_channel(1),
            )
            .unwrap();
        sim.clients[0]
            .connection
            .send(now, &index.to_be_bytes(), unsequenced)
            .unwrap();
    }
    let done = sim.run_until(Duration::from_secs(120), |sim| {
        sim.client_messages(0).len() == 500 && sim.server_messages().len() == 500
    });
    assert!(done);
    let down: Vec<u32> = sim
        .client_messages(0)
        .iter()
        .map(|m| u32::from_be_bytes(m.payload[..].try_into().unwrap()))
        .collect();
    assert_eq!(
        down,
        (0..500).collect::<Vec<_>>(),
        "reliable ordered server → client"
    );
    let mut up: Vec<u32> = sim
        .server_messages()
        .iter()
        .map(|m| u32::from_be_bytes(m.payload[..].try_into().unwrap()))
        .collect();
    let in_order = up.windows(2).all(|w| w[0] < w[1]);
    up.sort_unstable();
    assert_eq!(
        up,
        (0..500).collect::<Vec<_>>(),
        "reliable unsequenced: each exactly once"
    );
    assert!(
        !in_order,
        "under reordering, unsequenced delivery should not wait for order"
    );
}

#[test]
fn sequence_numbers_wrap_around() {
    let mut sim = Sim::new(TransportConfig::default(), 13);
    sim.add_client(TransportConfig::default());
    // No reordering: every sequenced message must arrive, across the wrap.
    sim.set_link(Netem {
        latency: Duration::from_millis(5),
        ..Netem::default()
    });
    sim.connect_all();
    const TOTAL: u32 = 70_000; // beyond the 16-bit wire sequence
    let sequenced = SendOptions {
        delivery: transport::Delivery::UnreliableSequenced,
        ..SendOptions::UNRELIABLE
    };
    for index in 0..TOTAL {
        let now = sim.now;
        let client = &mut sim.clients[0].connection;
        client
            .send(now, &index.to_be_bytes(), SendOptions::RELIABLE)
            .unwrap();
        client
            .send(now, &index.to_be_bytes(), sequenced.on_channel(1))
            .unwrap();
        if index % 500 == 499 {
            sim.run_for(Duration::from_millis(20));
        }
    }
    let done = sim.run_until(Duration::from_secs(120), |sim| {
        sim.server_messages()
            .iter()
            .filter(|m| m.channel == 0)
            .count()
            == TOTAL as usize
    });
    assert!(done);
    let messages = sim.server_messages();
    let reliable: Vec<u32> = messages
        .iter()
        .filter(|m| m.channel == 0)
        .map(|m| u32::from_be_bytes(m.payload[..].try_into().unwrap()))
        .collect();
    assert!(
        reliable.iter().copied().eq(0..TOTAL),
        "reliable order broken across the wrap"
    );
    let unreliable: Vec<u32> = messages
        .iter()
        .filter(|m| m.channel == 1)
        .map(|m| u32::from_be_bytes(m.payload[..].try_into().unwrap()))
        .collect();
    assert!(
        unreliable.iter().copied().eq(0..TOTAL),
        "sequenced messages lost or reordered across the wrap"
    );
}

#[test]
fn many_clients_are_demultiplexed() {
    let mut sim = Sim::new(TransportConfig::default(), 17);
    for _ in 0..5 {
        sim.add_client(TransportConfig::default());
    }
    sim.set_link(Netem {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(20),
        loss: 0.1,
        duplicate: 0.0,
    });
    sim.connect_all();
    for index in 0..300u32 {
        let now = sim.now;
        for client in 0..5u8 {
            let mut payload = vec![client];
            payload.extend_from_slice(&index.to_be_bytes());
            sim.clients[usize::from(client)]
                .connection
                .send(now, &payload, SendOptions::RELIABLE)
                .unwrap();
        }
        sim.run_for(Duration::from_millis(2));
    }
    assert!(
        sim.run_until(Duration::from_secs(60), |sim| sim.server_messages().len()
            == 1500)
    );
    for client in 0..5u8 {
        let peer = sim.server_peer(usize::from(client));
        let from_peer: Vec<u32> = sim
            .server_events
            .iter()
            .filter(|e| e.peer == peer)
            .filter_map(|e| match &e.event {
                ConnectionEvent::Message(m) => Some(m.payload.clone()),
                _ => None,
            })
            .map(|payload| {
                assert_eq!(payload[0], client, "message attributed to the wrong peer");
                u32::from_be_bytes(payload[1..5].try_into().unwrap())
            })
            .collect();
        assert!(
            from_peer.iter().copied().eq(0..300),
            "client {client}: lost, duplicated or reordered"
        );
    }
}
