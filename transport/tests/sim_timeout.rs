//! Liveness: pings keep an idle connection alive; a silent peer is
//! disconnected (Timeout or ResendLimit) on both sides; graceful disconnect
//! yields ByPeer on the other side and Local on the caller's.

mod common;

use common::{Netem, Sim};
use std::time::Duration;
use transport::config::TransportConfig;
use transport::{ConnectionEvent, ConnectionState, DisconnectReason, SendOptions};

fn disconnects(events: &[ConnectionEvent]) -> Vec<DisconnectReason> {
    events
        .iter()
        .filter_map(|e| match e {
            ConnectionEvent::Disconnected(reason) => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn pings_keep_an_idle_connection_alive_and_sync_time() {
    let mut sim = Sim::new(TransportConfig::default(), 1);
    sim.add_client(TransportConfig::default());
    sim.set_link(Netem {
        latency: Duration::from_millis(40),
        ..Netem::default()
    });
    sim.connect_all();
    sim.run_for(Duration::from_secs(60));
    assert_eq!(
        sim.clients[0].connection.state(),
        ConnectionState::Connected
    );
    assert_eq!(sim.server.peer_count(), 1);
    assert!(disconnects(&sim.clients[0].events).is_empty());
    let stats = sim.clients[0].connection.stats();
    assert!(
        stats.datagrams_out >= 30,
        "pings were sent ({})",
        stats.datagrams_out
    );
    assert!(
        stats.rtt >= Duration::from_millis(70) && stats.rtt <= Duration::from_millis(90),
        "rtt {:?}",
        stats.rtt
    );
    // Time sync: the client's estimate of the server clock is within a few ms.
    let peer = sim.server_peer(0);
    let server_ms = sim
        .server
        .connection(peer)
        .unwrap()
        .server_time_ms(sim.now)
        .unwrap();
    let client_ms = sim.clients[0].connection.server_time_ms(sim.now).unwrap();
    println!("server clock {server_ms} ms, client's estimate {client_ms} ms");
    assert!(
        server_ms.abs_diff(client_ms) <= 5,
        "time sync off by {} ms",
        server_ms.abs_diff(client_ms)
    );
}

#[test]
fn silent_client_times_out_on_both_sides() {
    let mut sim = Sim::new(TransportConfig::default(), 2);
    sim.add_client(TransportConfig::default());
    sim.connect_all();
    let start = sim.now;
    // The client's datagrams stop reaching the server (and vice versa).
    sim.up.loss = 1.0;
    sim.down.loss = 1.0;
    let done = sim.run_until(Duration::from_secs(30), |sim| {
        !disconnects(&sim.clients[0].events).is_empty() && !sim.server_disconnects().is_empty()
    });
    assert!(done);
    assert_eq!(
        disconnects(&sim.clients[0].events),
        vec![DisconnectReason::Timeout]
    );
    assert_eq!(sim.server_disconnects(), vec![DisconnectReason::Timeout]);
    assert!(
        sim.now - start >= Duration::from_secs(10) && sim.now - start <= Duration::from_secs(11)
    );
    assert_eq!(sim.server.peer_count(), 0, "the peer is forgotten");
    assert_eq!(DisconnectReason::Timeout.status_code(), 1040);
}

#[test]
fn unacknowledged_reliable_hits_the_resend_limit() {
    let config = TransportConfig {
        resend_allowance: 3,
        min_resend_timeout: Duration::from_millis(20),
        max_initial_resend_timeout: Duration::from_millis(100),
        ..TransportConfig::default()
    };
    let mut sim = Sim::new(config.clone(), 3);
    sim.add_client(config);
    sim.connect_all();
    sim.up.loss = 1.0;
    let now = sim.now;
    sim.clients[0]
        .connection
        .send(now, b"lost", SendOptions::RELIABLE)
        .unwrap();
    let done = sim.run_until(Duration::from_secs(5), |sim| {
        !disconnects(&sim.clients[0].events).is_empty()
    });
    assert!(
        done,
        "resends 100 + 200 + 400 ms then give up, before the 10 s timeout"
    );
    assert_eq!(
        disconnects(&sim.clients[0].events),
        vec![DisconnectReason::ResendLimit]
    );
    assert_eq!(sim.clients[0].connection.stats().resends, 2);
}

#[test]
fn graceful_disconnect_by_client_and_by_server() {
    let mut sim = Sim::new(TransportConfig::default(), 4);
    sim.add_client(TransportConfig::default());
    sim.add_client(TransportConfig::default());
    sim.set_link(Netem {
        latency: Duration::from_millis(30),
        ..Netem::default()
    });
    sim.connect_all();
    let now = sim.now;
    sim.clients[0].connection.disconnect(now);
    let peer1 = sim.server_peer(1);
    sim.server.disconnect(now, peer1);
    sim.run_for(Duration::from_secs(1));
    assert_eq!(
        disconnects(&sim.clients[0].events),
        vec![DisconnectReason::Local]
    );
    assert_eq!(
        disconnects(&sim.clients[1].events),
        vec![DisconnectReason::ByPeer]
    );
    let mut server = sim.server_disconnects();
    server.sort_by_key(|r| r.status_code());
    assert_eq!(
        server,
        vec![DisconnectReason::Local, DisconnectReason::ByPeer]
    );
    assert_eq!(sim.server.peer_count(), 0);
    assert_eq!(
        sim.clients[0]
            .connection
            .send(sim.now, b"late", SendOptions::RELIABLE),
        Err(transport::SendError::NotConnected)
    );
    // Nothing happens after Disconnected.
    let events = sim.clients[0].events.len();
    sim.run_for(Duration::from_secs(20));
    assert_eq!(sim.clients[0].events.len(), events);
    assert_eq!(sim.clients[0].connection.poll_timeout(), None);
}

#[test]
fn connect_to_nowhere_fails() {
    let mut sim = Sim::new(TransportConfig::default(), 5);
    sim.add_client(TransportConfig::default());
    sim.up.loss = 1.0;
    sim.run_for(Duration::from_secs(15));
    assert!(matches!(
        disconnects(&sim.clients[0].events)[..],
        [DisconnectReason::ConnectFailed(_)]
    ));
}
