//! criterion benches of the game server's voice relay fast path: one raw
//! voice frame (80-byte Opus payload) from one actor to the rest of a room of
//! N actors, through `GameLogic::handle_raw`.
//!
//! - `relay_logic/N`: receiver selection and header writing only, into an
//!   outbox that counts bytes (the cost of the server logic per frame).
//! - `relay_endpoint/N`: the same into a real sans-IO `Endpoint` with TCP
//!   stream peers (framing and queueing in the core included), draining
//!   transmits after each frame as a driver would.
//! - `relay_endpoint_encrypted/N`: the same with an encrypted frame: one
//!   AES-GCM seal per receiver (the sender's frame arrives decrypted).
//!
//! Run: `cargo bench -p benches --bench relay`.
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::Arc;
use std::time::{Duration, Instant};
use transport::codec::{
    Limits, Message, OperationRequest, Parameters, RawRouting, RawSend, RawSendView, ReceiverGroup,
};
use transport::lb::{op, param};
use transport::{
    Connection, Delivery, Destination, Endpoint, EndpointConfig, PeerHandle, Protocol, SendError,
    SendOptions, TransportConfig,
};
use voice_server::game::room::RoomBounds;
use voice_server::game::{GameLogic, GameSettings};
use voice_server::handler::EndpointOutbox;
use voice_server::logic::RoleLogic;
use voice_server::metrics::Metrics;
use voice_server::outbox::{MessageMeta, Outbox};
use voice_server::token::{TokenClaims, TokenKey, WallClock};

/// Counts what would be sent; allocates nothing.
#[derive(Default)]
struct CountingOutbox {
    messages: u64,
    bytes: u64,
}

impl Outbox for CountingOutbox {
    fn send_many(&mut self, _: Instant, peers: &[PeerHandle], _: &Message, _: SendOptions) {
        self.messages += peers.len() as u64;
    }
    fn send_parts(
        &mut self,
        _: Instant,
        _: PeerHandle,
        parts: &[&[u8]],
        _: SendOptions,
    ) -> Result<(), SendError> {
        self.messages += 1;
        self.bytes += parts.iter().map(|p| p.len() as u64).sum::<u64>();
        Ok(())
    }
    fn disconnect(&mut self, _: Instant, _: PeerHandle) {}
}

fn game(now: Instant) -> (GameLogic, TokenKey) {
    let key = TokenKey::from_secret("bench secret, long enough");
    let settings = GameSettings {
        server_id: "bench".into(),
        addresses: vec![],
        max_rooms: 10,
        max_cached_events: 10,
        bounds: RoomBounds {
            max_actors: 1000,
            max_player_ttl_ms: 0,
            max_empty_room_ttl_ms: 0,
            default_empty_room_ttl_ms: 0,
        },
        token_lifetime: Duration::from_secs(3600),
        token_refresh_interval: Duration::from_secs(300),
    };
    let logic = GameLogic::new(
        settings,
        key.clone(),
        Arc::new(WallClock::fixed(now, 1_000_000)),
        Metrics::new(),
        Box::new(|_| {}),
    );
    (logic, key)
}

/// Joins `peers` into one room.
fn fill_room(
    logic: &mut GameLogic,
    key: &TokenKey,
    now: Instant,
    peers: &[PeerHandle],
    out: &mut dyn Outbox,
) {
    for (i, &peer) in peers.iter().enumerate() {
        logic.handle_connected(now, peer, Protocol::Tcp, out);
        let token = key.seal(&TokenClaims {
            user_id: format!("u{i}"),
            app_id: "a".into(),
            app_version: "1".into(),
            auth_values: String::new(),
            issued_ms: 1_000_000,
            expires_ms: 1_000_000 + 3_600_000,
            data: serde_json::Value::Null,
        });
        let params = Parameters::new()
            .with(param::ROOM_NAME, "bench")
            .with(param::TOKEN, token)
            .with(
                param::JOIN_MODE,
                transport::lb::join_mode::CREATE_IF_NOT_EXISTS,
            );
        logic.handle_request(
            now,
            peer,
            OperationRequest {
                code: op::JOIN_GAME,
                parameters: params,
            },
            MessageMeta::reliable(false),
            out,
        );
    }
}

fn frame() -> Vec<u8> {
    let raw = RawSend {
        routing: RawRouting {
            receivers: ReceiverGroup::Others,
            interest_group: 0,
            target_count: 0,
        },
        targets: vec![],
        payload: Bytes::from((0..80u8).collect::<Vec<_>>()),
    };
    let mut buf = Vec::new();
    Message::RawSend(raw)
        .encode(&mut buf, &Limits::default())
        .expect("encodes");
    buf
}

const SIZES: [usize; 4] = [2, 8, 32, 100];

fn meta() -> MessageMeta {
    MessageMeta {
        delivery: Delivery::UnreliableUnsequenced,
        channel: 1,
        encrypted: false,
        size: 0,
    }
}

fn relay_logic(c: &mut Criterion) {
    let mut group = c.benchmark_group("relay_logic");
    let frame = frame();
    for n in SIZES {
        let now = Instant::now();
        let (mut logic, key) = game(now);
        let peers: Vec<PeerHandle> = (1..=n as u32).map(PeerHandle).collect();
        let mut out = CountingOutbox::default();
        fill_room(&mut logic, &key, now, &peers, &mut out);
        group.throughput(Throughput::Elements((n - 1) as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let view = RawSendView::parse(black_box(&frame))
                    .expect("valid")
                    .expect("raw");
                logic.handle_raw(now, peers[0], view, meta(), &mut out);
            })
        });
        black_box(out.bytes);
    }
    group.finish();
}

/// An endpoint with `n` stream peers whose handshakes (and optionally key
/// exchanges) were completed by client connections fed frame by frame.
fn connected_endpoint(now: Instant, n: usize, encrypt: bool) -> (Endpoint, Vec<PeerHandle>) {
    let mut endpoint = Endpoint::new(EndpointConfig {
        rng_seed: Some(1),
        ..EndpointConfig::default()
    });
    let config = Arc::new(TransportConfig::default());
    let mut clients = Vec::new();
    let mut peers = Vec::new();
    for i in 0..n {
        let peer = endpoint
            .accept_stream(
                now,
                ([127, 0, 0, 1], 10_000 + i as u16).into(),
                ([127, 0, 0, 1], 4530).into(),
                Protocol::Tcp,
            )
            .expect("room for peers");
        peers.push(peer);
        clients.push(Connection::connect(
            now,
            config.clone(),
            Protocol::Tcp,
            i as u64 + 7,
        ));
    }
    let mut buf = Vec::with_capacity(2048);
    for round in 0..40 {
        if encrypt && round == 10 {
            for c in &mut clients {
                c.establish_encryption(now);
            }
        }
        for (i, c) in clients.iter_mut().enumerate() {
            while let Some(size) = c.poll_transmit(now, &mut buf) {
                endpoint.handle_stream_frame(now, peers[i], &buf[..size]);
            }
            while c.poll_event().is_some() {}
        }
        while let Some(t) = endpoint.poll_transmit(now, &mut buf) {
            if let Destination::Stream(peer) = t.destination {
                if let Some(i) = peers.iter().position(|p| *p == peer) {
                    clients[i].handle_datagram(now, &buf[..t.size]);
                }
            }
        }
        while endpoint.poll_event().is_some() {}
    }
    (endpoint, peers)
}

fn relay_endpoint(c: &mut Criterion) {
    let frame = frame();
    let limits = Limits::default();
    let metrics = Metrics::new();
    for encrypt in [false, true] {
        let name = if encrypt {
            "relay_endpoint_encrypted"
        } else {
            "relay_endpoint"
        };
        let mut group = c.benchmark_group(name);
        for n in SIZES {
            let now = Instant::now();
            let (mut logic, key) = game(now);
            let (mut endpoint, peers) = connected_endpoint(now, n, encrypt);
            let mut buf = Vec::new();
            let mut transmit = Vec::with_capacity(2048);
            {
                let mut out = EndpointOutbox::new(&mut endpoint, &mut buf, &limits, &metrics);
                fill_room(&mut logic, &key, now, &peers, &mut out);
            }
            while endpoint.poll_transmit(now, &mut transmit).is_some() {}
            while endpoint.poll_event().is_some() {}
            if endpoint
                .send(
                    now,
                    peers[1],
                    b"probe",
                    SendOptions::UNRELIABLE.encrypted(encrypt),
                )
                .is_err()
            {
                eprintln!("{name}: peers not ready after the handshake; skipped");
                return;
            }
            while endpoint.poll_transmit(now, &mut transmit).is_some() {}
            let meta = MessageMeta {
                encrypted: encrypt,
                ..meta()
            };
            group.throughput(Throughput::Elements((n - 1) as u64));
            group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
                b.iter(|| {
                    let view = RawSendView::parse(black_box(&frame))
                        .expect("valid")
                        .expect("raw");
                    let mut out = EndpointOutbox::new(&mut endpoint, &mut buf, &limits, &metrics);
                    logic.handle_raw(now, peers[0], view, meta, &mut out);
                    while let Some(t) = endpoint.poll_transmit(now, &mut transmit) {
                        black_box(t.size);
                    }
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, relay_logic, relay_endpoint);
criterion_main!(benches);
