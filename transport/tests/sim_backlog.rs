//! A peer that stops acknowledging cannot make the other side hold reliable
//! messages without bound: past `max_reliable_backlog` bytes the send is
//! refused and the connection closes with `SendBacklogFull` (status 1030),
//! telling the peer. A peer that keeps up can receive any amount. (Streams:
//! sim_stream.rs.)

mod common;

use common::{Netem, Sim};
use std::time::Duration;
use transport::config::TransportConfig;
use transport::{ConnectionEvent, DisconnectReason, SendError, SendOptions};

const LIMIT: usize = 10_000;
const MESSAGE: usize = 1_000;

fn server_config() -> TransportConfig {
    TransportConfig {
        max_reliable_backlog: LIMIT,
        ..TransportConfig::default()
    }
}

#[test]
fn a_peer_that_stops_acknowledging_is_disconnected_at_the_backlog_limit() {
    let mut sim = Sim::new(server_config(), 3);
    sim.add_client(TransportConfig::default());
    sim.connect_all();
    let peer = sim.server_peer(0);
    // From now on nothing the client sends arrives: no acknowledgement.
    sim.up = Netem {
        loss: 1.0,
        ..Netem::default()
    };
    let payload = vec![7u8; MESSAGE];
    for sent in 0..LIMIT / MESSAGE {
        let now = sim.now;
        sim.server
            .send(now, peer, &payload, SendOptions::RELIABLE)
            .unwrap_or_else(|e| panic!("message {sent} fits the backlog: {e}"));
        sim.run_for(Duration::from_millis(5));
    }
    let now = sim.now;
    let refused = sim.server.send(now, peer, &payload, SendOptions::RELIABLE);
    assert_eq!(refused, Err(SendError::BacklogFull { limit: LIMIT }));
    assert!(refused.unwrap_err().to_string().contains("10000 bytes"));
    let closed = sim.run_until(Duration::from_secs(2), |sim| {
        !sim.server_disconnects().is_empty()
    });
    assert!(closed, "the server closed the connection");
    assert_eq!(
        sim.server_disconnects(),
        [DisconnectReason::SendBacklogFull]
    );
    assert_eq!(DisconnectReason::SendBacklogFull.status_code(), 1030);
    // The client is told (the server → client direction still works).
    let told = sim.run_until(Duration::from_secs(2), |sim| {
        sim.clients[0]
            .events
            .iter()
            .any(|e| matches!(e, ConnectionEvent::Disconnected(_)))
    });
    assert!(told, "client events: {:?}", sim.clients[0].events.last());
    assert!(sim.clients[0]
        .events
        .contains(&ConnectionEvent::Disconnected(DisconnectReason::ByPeer)));
}

#[test]
fn a_peer_that_keeps_up_receives_far_more_than_the_limit() {
    let mut sim = Sim::new(server_config(), 4);
    sim.add_client(TransportConfig::default());
    sim.set_link(Netem {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(10),
        loss: 0.05,
        duplicate: 0.0,
    });
    sim.connect_all();
    let peer = sim.server_peer(0);
    let payload = vec![9u8; MESSAGE];
    const TOTAL: usize = 20 * LIMIT / MESSAGE;
    for _ in 0..TOTAL {
        let now = sim.now;
        sim.server
            .send(now, peer, &payload, SendOptions::RELIABLE)
            .expect("acknowledged messages leave the backlog");
        // About five messages per round trip stay in flight.
        sim.run_for(Duration::from_millis(10));
    }
    let done = sim.run_until(Duration::from_secs(30), |sim| {
        sim.client_messages(0).len() >= TOTAL
    });
    assert!(done, "{} of {TOTAL} arrived", sim.client_messages(0).len());
    assert!(sim.server_disconnects().is_empty());
}
