//! Fuzz entry points (feature `fuzzing`): feed arbitrary bytes to a fresh
//! endpoint and to a connected connection. They must never panic.

use crate::config::TransportConfig;
use crate::connection::Connection;
use crate::endpoint::{Endpoint, EndpointConfig};
use crate::types::{Protocol, SendOptions};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn endpoint_config() -> EndpointConfig {
    EndpointConfig {
        transport: Arc::new(TransportConfig::default()),
        max_peers: 4,
        cookie_secret: [7; 32],
        rng_seed: Some(1),
    }
}

/// Feeds `data` as one UDP datagram to a fresh endpoint, then drains it.
/// Also splits `data` into several datagrams from several addresses.
pub fn endpoint_datagram(data: &[u8]) {
    let now = Instant::now();
    let mut endpoint = Endpoint::new(endpoint_config());
    let from: SocketAddr = ([10, 0, 0, 1], 4000).into();
    endpoint.handle_datagram(now, from, data);
    for (index, chunk) in data.chunks(97).enumerate() {
        let from: SocketAddr = ([10, 0, 0, 2], 4000 + index as u16).into();
        endpoint.handle_datagram(now, from, chunk);
    }
    drain_endpoint(&mut endpoint, now);
    endpoint.handle_timeout(now + Duration::from_secs(30));
    drain_endpoint(&mut endpoint, now + Duration::from_secs(30));
}

fn drain_endpoint(endpoint: &mut Endpoint, now: Instant) {
    let mut buf = Vec::new();
    for _ in 0..10_000 {
        if endpoint.poll_transmit(now, &mut buf).is_none() {
            break;
        }
    }
    while endpoint.poll_event().is_some() {}
    let _ = endpoint.poll_timeout();
}

/// Builds a connected client/server pair (in memory, no loss).
pub fn connected_pair(now: Instant) -> (Connection, Endpoint) {
    let mut endpoint = Endpoint::new(endpoint_config());
    let mut client =
        Connection::connect(now, Arc::new(TransportConfig::default()), Protocol::Udp, 2);
    let client_address: SocketAddr = ([10, 0, 0, 9], 5000).into();
    let mut buf = Vec::new();
    for _ in 0..10 {
        while let Some(len) = client.poll_transmit(now, &mut buf) {
            let datagram = buf[..len].to_vec();
            endpoint.handle_datagram(now, client_address, &datagram);
        }
        while let Some(transmit) = endpoint.poll_transmit(now, &mut buf) {
            let datagram = buf[..transmit.size].to_vec();
            client.handle_datagram(now, &datagram);
        }
        while endpoint.poll_event().is_some() {}
    }
    (client, endpoint)
}

/// Feeds `data` to a connected client connection, both as is and with the
/// right connection id patched into a DATA header, then drains it.
pub fn connection_datagram(data: &[u8]) {
    let now = Instant::now();
    let (mut client, _endpoint) = connected_pair(now);
    let _ = client.send(now, b"fuzz", SendOptions::RELIABLE);
    client.handle_datagram(now, data);
    let mut patched = Vec::with_capacity(data.len() + 5);
    patched.push(data.first().copied().unwrap_or(0) & 0x03);
    patched.extend_from_slice(&client.connection_id().to_be_bytes());
    patched.extend_from_slice(data.get(1..).unwrap_or(&[]));
    client.handle_datagram(now, &patched);
    let mut buf = Vec::new();
    while client.poll_transmit(now, &mut buf).is_some() {}
    while client.poll_event().is_some() {}
    client.handle_timeout(now + Duration::from_secs(1));
    while client
        .poll_transmit(now + Duration::from_secs(1), &mut buf)
        .is_some()
    {}
}
