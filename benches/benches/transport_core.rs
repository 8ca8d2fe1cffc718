//! criterion benches of the sans-IO transport core: the per-message send and
//! receive path of an 80-byte unreliable message (`Connection::send` +
//! `poll_transmit` on the client, `Endpoint::handle_datagram` + `poll_event`
//! on the server, and the reverse direction), in the clear, with per-message
//! AES-GCM and with `encrypt_all`. No sockets, no clock: time is fixed.

// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use transport::config::TransportConfig;
use transport::{
    Connection, ConnectionEvent, Endpoint, EndpointConfig, EndpointEvent, PeerHandle, Protocol,
    SendOptions,
};

struct Pair {
    now: Instant,
    client: Connection,
    server: Endpoint,
    peer: PeerHandle,
    address: SocketAddr,
    buf: Vec<u8>,
}

impl Pair {
    fn new(config: TransportConfig, encrypt: bool) -> Self {
        let now = Instant::now();
        let config = Arc::new(config);
        let server = Endpoint::new(EndpointConfig {
            transport: config.clone(),
            max_peers: 16,
            cookie_secret: [1; 32],
            rng_seed: Some(1),
        });
        let client = Connection::connect(now, config, Protocol::Udp, 2);
        let mut pair = Pair {
            now,
            client,
            server,
            peer: PeerHandle(0),
            address: "10.0.0.2:4000".parse().unwrap(),
            buf: Vec::with_capacity(2048),
        };
        pair.drive();
        pair.peer = pair.server.peers().next().expect("connected");
        if encrypt {
            pair.client.establish_encryption(now);
            pair.drive();
            assert!(pair.client.is_encryption_established());
        }
        pair
    }

    fn drive(&mut self) {
        for _ in 0..20 {
            while let Some(len) = self.client.poll_transmit(self.now, &mut self.buf) {
                self.server
                    .handle_datagram(self.now, self.address, &self.buf[..len]);
            }
            while let Some(transmit) = self.server.poll_transmit(self.now, &mut self.buf) {
                self.client
                    .handle_datagram(self.now, &self.buf[..transmit.size]);
            }
            while self.client.poll_event().is_some() {}
            while self.server.poll_event().is_some() {}
        }
    }

    /// Client → server: one message through both sides.
    fn up(&mut self, payload: &[u8], options: SendOptions) -> usize {
        self.client.send(self.now, payload, options).unwrap();
        let len = self.client.poll_transmit(self.now, &mut self.buf).unwrap();
        self.server
            .handle_datagram(self.now, self.address, &self.buf[..len]);
        match self.server.poll_event() {
            Some(EndpointEvent {
                event: ConnectionEvent::Message(message),
                ..
            }) => message.payload.len(),
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// Server → client: relay-style `send_parts` with a 3-byte header.
    fn down(&mut self, payload: &[u8], options: SendOptions) -> usize {
        self.server
            .send_parts(self.now, self.peer, &[&[1, 2, 3], payload], options)
            .unwrap();
        let transmit = self.server.poll_transmit(self.now, &mut self.buf).unwrap();
        self.client
            .handle_datagram(self.now, &self.buf[..transmit.size]);
        match self.client.poll_event() {
            Some(ConnectionEvent::Message(message)) => message.payload.len(),
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

fn message_path(c: &mut Criterion) {
    let payload = [0x42u8; 80];
    let mut group = c.benchmark_group("transport_core_80B_unreliable");
    group.throughput(Throughput::Elements(1));
    let cases = [
        ("clear", TransportConfig::default(), false, false),
        (
            "aes_gcm_per_message",
            TransportConfig::default(),
            true,
            true,
        ),
        (
            "encrypt_all",
            TransportConfig {
                encrypt_all: true,
                ..TransportConfig::default()
            },
            true,
            false,
        ),
    ];
    for (name, config, establish, flag) in cases {
        let options = SendOptions::UNRELIABLE.encrypted(flag);
        let mut pair = Pair::new(config.clone(), establish);
        group.bench_function(BenchmarkId::new("client_to_server", name), |b| {
            b.iter(|| black_box(pair.up(black_box(&payload), options)))
        });
        let mut pair = Pair::new(config, establish);
        group.bench_function(BenchmarkId::new("server_to_client_send_parts", name), |b| {
            b.iter(|| black_box(pair.down(black_box(&payload), options)))
        });
    }
    group.finish();
}

criterion_group!(benches, message_path);
criterion_main!(benches);
