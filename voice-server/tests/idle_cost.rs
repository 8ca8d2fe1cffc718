//! What idle peers and rooms cost a game server: heap bytes per idle
//! connected peer and per room (counted by a global allocator that tracks live
//! bytes), and proof that idle rooms schedule no work.
//!
//! The server side is the real stack minus sockets: transport's sans-IO
//! `Endpoint` (UDP peers, handshake through the stateless cookie) and the game
//! role's `RoleHandler` (rate limiters, `GameLogic`). Clients are sans-IO
//! `Connection`s exchanging datagrams with it on a virtual clock. The cost of
//! the server is what dropping it frees (clients are dropped first).
//!
//! Run with `-- --nocapture` to see the figures.

// A counting allocator needs `unsafe impl GlobalAlloc`; it only forwards to
// the system allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use transport::codec::{Limits, Message, OperationRequest, Parameters};
use transport::lb::{join_mode, op, param};
use transport::runtime::ServerHandler;
use transport::{
    Connection, Destination, Endpoint, EndpointConfig, Protocol, SendOptions, TransportConfig,
};
use voice_server::config::{LimitsConfig, Role};
use voice_server::game::room::RoomBounds;
use voice_server::game::{GameLogic, GameSettings};
use voice_server::handler::RoleHandler;
use voice_server::metrics::Metrics;
use voice_server::token::{TokenClaims, TokenKey, WallClock};

/// Live heap bytes (requested sizes; allocator overhead not included).
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const SECRET: &str = "idle cost secret, long enough";
const T0_MS: u64 = 1_700_000_000_000;

struct Server {
    endpoint: Endpoint,
    handler: RoleHandler<GameLogic>,
}

struct Client {
    address: SocketAddr,
    connection: Connection,
}

fn server(now: Instant) -> Server {
    let endpoint = Endpoint::new(EndpointConfig {
        rng_seed: Some(7),
        max_peers: 100_000,
        ..EndpointConfig::default()
    });
    let settings = GameSettings {
        server_id: "idle".into(),
        addresses: vec![],
        max_rooms: 100_000,
        max_cached_events: 1000,
        bounds: RoomBounds {
            max_actors: 256,
            max_player_ttl_ms: 300_000,
            max_empty_room_ttl_ms: 300_000,
            default_empty_room_ttl_ms: 0,
        },
        token_lifetime: Duration::from_secs(3600),
        token_refresh_interval: Duration::from_secs(300),
    };
    let logic = GameLogic::new(
        settings,
        TokenKey::from_secret(SECRET),
        Arc::new(WallClock::fixed(now, T0_MS)),
        Metrics::new(),
        Box::new(|_| {}),
    );
    let handler = RoleHandler::new(Role::Game, logic, Metrics::new(), LimitsConfig::default());
    Server { endpoint, handler }
}

/// Moves every pending datagram both ways and hands events to the handler,
/// until nothing moves (bounded).
fn pump(now: Instant, server: &mut Server, clients: &mut [Client], buf: &mut Vec<u8>) {
    for _ in 0..50 {
        let mut moved = false;
        for c in clients.iter_mut() {
            while let Some(size) = c.connection.poll_transmit(now, buf) {
                server
                    .endpoint
                    .handle_datagram(now, c.address, &buf[..size]);
                moved = true;
            }
            while c.connection.poll_event().is_some() {}
        }
        while let Some(event) = server.endpoint.poll_event() {
            server
                .handler
                .handle_event(now, event, &mut server.endpoint);
            moved = true;
        }
        while let Some(t) = server.endpoint.poll_transmit(now, buf) {
            moved = true;
            if let Destination::Udp(to) = t.destination {
                if let Some(c) = clients.iter_mut().find(|c| c.address == to) {
                    c.connection.handle_datagram(now, &buf[..t.size]);
                }
            }
        }
        if !moved {
            return;
        }
    }
}

/// Lets `span` of idle time pass in steps (pings, ACKs, timers on both sides).
fn idle(
    now: &mut Instant,
    span: Duration,
    server: &mut Server,
    clients: &mut [Client],
    buf: &mut Vec<u8>,
) {
    let end = *now + span;
    while *now < end {
        *now += Duration::from_millis(250);
        server.endpoint.handle_timeout(*now);
        if server.handler.poll_timeout().is_some_and(|t| t <= *now) {
            server.handler.handle_timeout(*now, &mut server.endpoint);
        }
        for c in clients.iter_mut() {
            c.connection.handle_timeout(*now);
        }
        pump(*now, server, clients, buf);
    }
}

fn join_request(user: usize, room: &str) -> Vec<u8> {
    let token = TokenKey::from_secret(SECRET).seal(&TokenClaims {
        user_id: format!("user{user}"),
        app_id: "app".into(),
        app_version: "1".into(),
        auth_values: String::new(),
        issued_ms: T0_MS,
        expires_ms: T0_MS + 3_600_000,
        data: serde_json::Value::Null,
    });
    let request = Message::Request(OperationRequest {
        code: op::JOIN_GAME,
        parameters: Parameters::new()
            .with(param::ROOM_NAME, room)
            .with(param::TOKEN, token)
            .with(param::JOIN_MODE, join_mode::CREATE_IF_NOT_EXISTS),
    });
    let mut bytes = Vec::new();
    request.encode(&mut bytes, &Limits::default()).unwrap();
    bytes
}

/// A raw voice frame (80-byte payload) to the rest of the room.
fn voice_frame() -> Vec<u8> {
    use transport::codec::{RawRouting, RawSend, ReceiverGroup};
    let raw = RawSend {
        routing: RawRouting {
            receivers: ReceiverGroup::Others,
            interest_group: 0,
            target_count: 0,
        },
        targets: vec![],
        payload: bytes::Bytes::from(vec![7u8; 80]),
    };
    let mut buf = Vec::new();
    Message::RawSend(raw)
        .encode(&mut buf, &Limits::default())
        .unwrap();
    buf
}

struct Figures {
    server_bytes: isize,
    handler_timer: Option<Instant>,
    now: Instant,
    rooms: usize,
}

/// Builds a server with `peers` idle UDP peers, in rooms of `room_size`
/// (0: not in rooms), where every peer first `talked` (sent 50 voice frames
/// relayed to its room) or not, lets 10 s pass, and measures it.
fn measure(peers: usize, room_size: usize, talked: bool) -> Figures {
    let mut now = Instant::now();
    let mut buf = Vec::with_capacity(2048);
    let mut server = server(now);
    let config = Arc::new(TransportConfig::default());
    let mut clients: Vec<Client> = (0..peers)
        .map(|i| Client {
            address: SocketAddr::from(([127, 0, 0, 1], 20_000 + i as u16)),
            connection: Connection::connect(now, config.clone(), Protocol::Udp, i as u64 + 1),
        })
        .collect();
    pump(now, &mut server, &mut clients, &mut buf);
    if let Some(room_size) = std::num::NonZeroUsize::new(room_size) {
        for (i, c) in clients.iter_mut().enumerate() {
            let room = format!("room{}", i / room_size);
            c.connection
                .send(now, &join_request(i, &room), SendOptions::RELIABLE)
                .unwrap();
        }
    }
    if talked {
        idle(
            &mut now,
            Duration::from_secs(1),
            &mut server,
            &mut clients,
            &mut buf,
        );
        let frame = voice_frame();
        for _ in 0..50 {
            now += Duration::from_millis(20);
            for c in clients.iter_mut() {
                c.connection
                    .send(now, &frame, SendOptions::UNRELIABLE)
                    .unwrap();
            }
            pump(now, &mut server, &mut clients, &mut buf);
        }
    }
    idle(
        &mut now,
        Duration::from_secs(10),
        &mut server,
        &mut clients,
        &mut buf,
    );
    let rooms = server.handler.logic().room_count();
    let handler_timer = server.handler.poll_timeout();
    drop(clients);
    let before = LIVE.load(Relaxed);
    let Server { endpoint, handler } = server;
    drop(handler);
    let mid = LIVE.load(Relaxed);
    drop(endpoint);
    let after = LIVE.load(Relaxed);
    println!(
        "{peers} peers in rooms of {room_size}{}: handler {} B, endpoint {} B",
        if talked { ", after talking" } else { "" },
        before - mid,
        mid - after
    );
    Figures {
        server_bytes: before - after,
        handler_timer,
        now,
        rooms,
    }
}

#[test]
fn idle_peers_and_rooms_are_cheap_and_idle_rooms_schedule_nothing() {
    const PEERS: usize = 1000;
    let empty = measure(0, 0, false);
    let connected = measure(PEERS, 0, false);
    let in_rooms_of_10 = measure(PEERS, 10, false);
    let alone = measure(PEERS, 1, false);
    let talked = measure(PEERS, 10, true);
    assert_eq!(connected.rooms, 0);
    assert_eq!(in_rooms_of_10.rooms, PEERS / 10, "every peer joined");
    assert_eq!(alone.rooms, PEERS);

    let per_peer = (connected.server_bytes - empty.server_bytes) as f64 / PEERS as f64;
    // rooms of 10: PEERS actors + PEERS/10 rooms; alone: PEERS actors + PEERS rooms.
    let per_room =
        (alone.server_bytes - in_rooms_of_10.server_bytes) as f64 / (PEERS - PEERS / 10) as f64;
    let per_actor = (in_rooms_of_10.server_bytes - connected.server_bytes) as f64 / PEERS as f64
        - per_room / 10.0;
    println!(
        "idle server heap: empty {} B; per idle connected peer {per_peer:.0} B; per actor in a room {per_actor:.0} B more; per room {per_room:.0} B",
        empty.server_bytes
    );
    assert!(
        per_peer <= 8192.0,
        "an idle peer costs {per_peer:.0} B of heap (goal: at most 8 KiB)"
    );
    assert!(
        per_room > 0.0 && per_actor > 0.0,
        "rooms and actors are counted"
    );
    // Peers that talked and fell silent give their datagram buffers back.
    let after_talking = (talked.server_bytes - in_rooms_of_10.server_bytes) as f64 / PEERS as f64;
    println!("per peer, after talking then 10 s of silence: {after_talking:.0} B more than never talking");
    assert!(
        after_talking < 1024.0,
        "a peer that talked keeps {after_talking:.0} B more once idle"
    );
    assert!(
        per_peer + per_actor <= 8192.0,
        "an idle peer in a room costs {:.0} B (goal: at most 8 KiB)",
        per_peer + per_actor
    );

    // Idle rooms schedule nothing: with 100 rooms and 1000 actors idle, the
    // game logic has no timer at all (the endpoint's only timers are the
    // peers' keep-alive pings, which exist without rooms too).
    assert_eq!(
        in_rooms_of_10.handler_timer,
        None,
        "idle rooms wake the server (next timer {:?} after the test's clock)",
        in_rooms_of_10
            .handler_timer
            .map(|t| t.saturating_duration_since(in_rooms_of_10.now))
    );
}
