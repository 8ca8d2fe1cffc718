//! The unreliable send path allocates nothing per message in steady state:
//! `send_parts` writes into a reused per-peer datagram body and
//! `poll_transmit` copies it into the caller's buffer. Measured with a
//! counting global allocator (this file holds a single test so that no other
//! test allocates concurrently).

// A counting global allocator must implement the unsafe `GlobalAlloc` trait;
// it only forwards to `System`.
#![allow(unsafe_code)]

mod common;

use common::Sim;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use transport::config::TransportConfig;
use transport::SendOptions;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn unreliable_send_path_does_not_allocate_per_message() {
    let mut sim = Sim::new(TransportConfig::default(), 1);
    sim.add_client(TransportConfig::default());
    sim.connect_all();
    let peer = sim.server_peer(0);
    let header = [1u8, 2, 3];
    let payload = [0x55u8; 80];
    let mut buf = Vec::with_capacity(2048);
    let frame = |sim: &mut Sim, buf: &mut Vec<u8>| {
        sim.now += Duration::from_millis(20);
        let now = sim.now;
        sim.clients[0]
            .connection
            .send_parts(now, &[&header, &payload], SendOptions::UNRELIABLE)
            .unwrap();
        sim.server
            .send_parts(
                now,
                peer,
                &[&header, &payload],
                SendOptions::UNRELIABLE.on_channel(1),
            )
            .unwrap();
        let mut sent = 0;
        while sim.clients[0].connection.poll_transmit(now, buf).is_some() {
            sent += 1;
        }
        while sim.server.poll_transmit(now, buf).is_some() {
            sent += 1;
        }
        sent
    };
    for _ in 0..100 {
        frame(&mut sim, &mut buf); // warm-up: pools and queues reach their size
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut datagrams = 0;
    for _ in 0..1000 {
        datagrams += frame(&mut sim, &mut buf);
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    println!("{datagrams} datagrams sent, {allocations} allocations");
    assert_eq!(datagrams, 2000);
    assert_eq!(allocations, 0, "the unreliable send path allocated");
}
