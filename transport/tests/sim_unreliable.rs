//! Unreliable delivery under loss and reordering: sequenced never delivers an
//! older message after a newer one (and counts what it drops); unsequenced
//! delivers what arrives, nothing more.

mod common;

use common::{Netem, Sim};
use std::time::Duration;
use transport::config::TransportConfig;
use transport::{Delivery, SendOptions};

fn reordering_link() -> Netem {
    Netem {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(60),
        loss: 0.1,
        duplicate: 0.05,
    }
}

fn index_of(payload: &[u8]) -> u32 {
    u32::from_be_bytes(payload[..4].try_into().unwrap())
}

#[test]
fn sequenced_never_goes_backwards() {
    let mut sim = Sim::new(TransportConfig::default(), 3);
    sim.add_client(TransportConfig::default());
    sim.set_link(reordering_link());
    sim.connect_all();
    let options = SendOptions {
        delivery: Delivery::UnreliableSequenced,
        channel: 1,
        encrypt: false,
    };
    for index in 0..2000u32 {
        let now = sim.now;
        sim.clients[0]
            .connection
            .send(now, &index.to_be_bytes(), options)
            .unwrap();
        sim.run_for(Duration::from_millis(5));
    }
    sim.run_for(Duration::from_secs(1));
    let received: Vec<u32> = sim
        .server_messages()
        .iter()
        .map(|m| index_of(&m.payload))
        .collect();
    assert!(
        received.len() > 500,
        "many messages arrive ({})",
        received.len()
    );
    assert!(received.len() < 2000, "some are lost or dropped as stale");
    assert!(
        received.windows(2).all(|w| w[0] < w[1]),
        "an older message was delivered after a newer one"
    );
    let stale = sim
        .server
        .peer_info(sim.server_peer(0))
        .unwrap()
        .stats
        .stale_dropped;
    assert!(
        stale > 0,
        "jitter of 60 ms at 5 ms spacing must reorder some datagrams"
    );
    assert!(sim
        .server_messages()
        .iter()
        .all(|m| m.delivery == Delivery::UnreliableSequenced && m.channel == 1));
    println!(
        "sequenced: {} delivered of 2000, {stale} stale dropped",
        received.len()
    );
}

#[test]
fn unsequenced_delivers_what_arrives() {
    let mut sim = Sim::new(TransportConfig::default(), 5);
    sim.add_client(TransportConfig::default());
    sim.set_link(Netem {
        duplicate: 0.0,
        ..reordering_link()
    });
    sim.connect_all();
    let peer = sim.server_peer(0);
    for index in 0..2000u32 {
        let now = sim.now;
        sim.server
            .send(now, peer, &index.to_be_bytes(), SendOptions::UNRELIABLE)
            .unwrap();
        sim.run_for(Duration::from_millis(5));
    }
    sim.run_for(Duration::from_secs(1));
    let received: Vec<u32> = sim
        .client_messages(0)
        .iter()
        .map(|m| index_of(&m.payload))
        .collect();
    let mut sorted = received.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        received.len(),
        "no duplicates without network duplication"
    );
    let loss = 2000 - received.len();
    assert!((100..=350).contains(&loss), "about 10 % lost, got {loss}");
    assert!(
        received.windows(2).any(|w| w[0] > w[1]),
        "reordered arrivals are delivered as they come"
    );
    let stats = sim.clients[0].connection.stats();
    assert_eq!(stats.messages_in[3] as usize, received.len());
    assert_eq!(stats.stale_dropped, 0);
}

#[test]
fn unreliable_messages_share_datagrams() {
    let mut sim = Sim::new(TransportConfig::default(), 9);
    sim.add_client(TransportConfig::default());
    sim.connect_all();
    let before = sim.clients[0].connection.stats().datagrams_out;
    let now = sim.now;
    for index in 0..100u32 {
        sim.clients[0]
            .connection
            .send(now, &[index as u8; 100], SendOptions::UNRELIABLE)
            .unwrap();
    }
    sim.run_for(Duration::from_millis(100));
    let sent = sim.clients[0].connection.stats().datagrams_out - before;
    // 100 commands of 103 bytes; 11 fit in 1195 bytes: 10 datagrams.
    assert_eq!(sent, 10, "batched up to the MTU");
    assert_eq!(sim.server_messages().len(), 100);
}

#[test]
fn flush_window_delays_and_batches() {
    let config = TransportConfig {
        flush_window: Duration::from_millis(10),
        ..TransportConfig::default()
    };
    let mut sim = Sim::new(config.clone(), 9);
    sim.add_client(config);
    sim.connect_all();
    let before = sim.clients[0].connection.stats().datagrams_out;
    for index in 0..5u8 {
        let now = sim.now;
        sim.clients[0]
            .connection
            .send(now, &[index; 20], SendOptions::UNRELIABLE)
            .unwrap();
        sim.flush();
        sim.now += Duration::from_millis(1);
    }
    assert_eq!(
        sim.clients[0].connection.stats().datagrams_out,
        before,
        "held within the flush window"
    );
    sim.run_for(Duration::from_millis(20));
    assert_eq!(
        sim.clients[0].connection.stats().datagrams_out,
        before + 1,
        "five messages, one datagram"
    );
    assert_eq!(sim.server_messages().len(), 5);
}

#[test]
fn unpolled_unreliable_queue_is_bounded() {
    let mut sim = Sim::new(TransportConfig::default(), 12);
    sim.add_client(TransportConfig::default());
    sim.connect_all();
    let now = sim.now;
    // The driver never polls: 10,000 messages of 1000 bytes would be 10 MB.
    for index in 0..10_000u32 {
        let mut payload = index.to_be_bytes().to_vec();
        payload.resize(1000, 0);
        sim.clients[0]
            .connection
            .send(now, &payload, SendOptions::UNRELIABLE)
            .unwrap();
    }
    let dropped = sim.clients[0].connection.stats().unreliable_dropped;
    assert!(dropped >= 9_000, "oldest dropped: {dropped}");
    sim.run_for(Duration::from_millis(100));
    let received: Vec<u32> = sim
        .server_messages()
        .iter()
        .map(|m| index_of(&m.payload))
        .collect();
    assert!(
        received.len() <= 257 && received.len() >= 256,
        "{}",
        received.len()
    );
    assert_eq!(
        *received.last().unwrap(),
        9_999,
        "the newest messages survive"
    );
}

#[test]
fn server_flush_window_releases_on_its_deadline() {
    let window = Duration::from_micros(300);
    let config = TransportConfig {
        flush_window: window,
        ..TransportConfig::default()
    };
    let mut sim = Sim::new(config, 21);
    sim.add_client(TransportConfig::default());
    sim.connect_all();
    // Let every handshake echo settle so only our messages are pending.
    sim.run_for(Duration::from_millis(50));
    let peer = sim.server_peer(0);
    let t0 = sim.now;
    let before = sim.server.peer_info(peer).unwrap().stats.datagrams_out;
    sim.server
        .send(t0, peer, &[1; 40], SendOptions::UNRELIABLE)
        .unwrap();
    let mut buf = Vec::new();
    assert!(sim.server.poll_transmit(t0, &mut buf).is_none(), "held");
    let t1 = t0 + Duration::from_micros(100);
    sim.server
        .send(t1, peer, &[2; 40], SendOptions::UNRELIABLE)
        .unwrap();
    assert!(
        sim.server.poll_transmit(t1, &mut buf).is_none(),
        "still held"
    );
    assert_eq!(
        sim.server.poll_timeout(),
        Some(t0 + window),
        "the endpoint's next timer is the flush deadline of the first message"
    );
    sim.server.handle_timeout(t0 + window);
    let transmit = sim.server.poll_transmit(t0 + window, &mut buf);
    assert!(transmit.is_some(), "released at the deadline");
    assert!(
        sim.server.poll_transmit(t0 + window, &mut buf).is_none(),
        "in one datagram"
    );
    assert_eq!(
        sim.server.peer_info(peer).unwrap().stats.datagrams_out,
        before + 1
    );
}
