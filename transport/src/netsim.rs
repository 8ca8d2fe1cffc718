//! Built-in network simulation (lag, jitter, loss), applied in the core so
//! that production drivers get it for free. Delayed datagrams wait in a
//! queue and are released by `poll_transmit` / `handle_timeout` once due.

use crate::config::NetworkSimulation;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Delayed<T> {
    due: Instant,
    order: u64,
    tag: T,
    bytes: Vec<u8>,
}

impl<T> PartialEq for Delayed<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.order) == (other.due, other.order)
    }
}
impl<T> Eq for Delayed<T> {}
impl<T> PartialOrd for Delayed<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Delayed<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.due, self.order).cmp(&(other.due, other.order))
    }
}

/// Two delay queues: outgoing (tagged `O`) and incoming (tagged `I`).
#[derive(Debug)]
pub(crate) struct Simulator<O, I> {
    config: NetworkSimulation,
    rng: StdRng,
    outgoing: BinaryHeap<Reverse<Delayed<O>>>,
    incoming: BinaryHeap<Reverse<Delayed<I>>>,
    order: u64,
    pool: Vec<Vec<u8>>,
}

/// Most datagrams held per direction; beyond, new ones are dropped (bounded memory).
const MAX_HELD: usize = 16 * 1024;

impl<O, I> Simulator<O, I> {
    /// `None` when the simulation is switched off.
    pub(crate) fn new(config: &NetworkSimulation) -> Option<Self> {
        config.enabled.then(|| Self {
            config: config.clone(),
            rng: StdRng::seed_from_u64(config.seed),
            outgoing: BinaryHeap::new(),
            incoming: BinaryHeap::new(),
            order: 0,
            pool: Vec::new(),
        })
    }

    fn delay(&mut self, lag: Duration, jitter: Duration) -> Duration {
        let extra = if jitter.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_nanos(self.rng.gen_range(0..=jitter.as_nanos() as u64))
        };
        lag + extra
    }

    fn lost(&mut self, percent: f32) -> bool {
        percent > 0.0 && self.rng.gen::<f32>() * 100.0 < percent
    }

    fn buffer(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut buffer = self.pool.pop().unwrap_or_default();
        buffer.clear();
        buffer.extend_from_slice(bytes);
        buffer
    }

    /// Queues an outgoing datagram; false when the simulation dropped it.
    pub(crate) fn push_outgoing(&mut self, now: Instant, tag: O, bytes: &[u8]) -> bool {
        if self.lost(self.config.outgoing_loss_percent) || self.outgoing.len() >= MAX_HELD {
            return false;
        }
        let due = now + self.delay(self.config.outgoing_lag, self.config.outgoing_jitter);
        let bytes = self.buffer(bytes);
        self.order += 1;
        self.outgoing.push(Reverse(Delayed {
            due,
            order: self.order,
            tag,
            bytes,
        }));
        true
    }

    /// Queues an incoming datagram; false when the simulation dropped it.
    pub(crate) fn push_incoming(&mut self, now: Instant, tag: I, bytes: &[u8]) -> bool {
        if self.lost(self.config.incoming_loss_percent) || self.incoming.len() >= MAX_HELD {
            return false;
        }
        let due = now + self.delay(self.config.incoming_lag, self.config.incoming_jitter);
        let bytes = self.buffer(bytes);
        self.order += 1;
        self.incoming.push(Reverse(Delayed {
            due,
            order: self.order,
            tag,
            bytes,
        }));
        true
    }

    /// Copies the next due outgoing datagram into `buf`.
    pub(crate) fn pop_outgoing(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<O> {
        if self.outgoing.peek()?.0.due > now {
            return None;
        }
        let Reverse(item) = self.outgoing.pop()?;
        buf.clear();
        buf.extend_from_slice(&item.bytes);
        self.pool.push(item.bytes);
        Some(item.tag)
    }

    /// The next due incoming datagram; give the buffer back with [`Self::recycle`].
    pub(crate) fn pop_incoming(&mut self, now: Instant) -> Option<(I, Vec<u8>)> {
        if self.incoming.peek()?.0.due > now {
            return None;
        }
        let Reverse(item) = self.incoming.pop()?;
        Some((item.tag, item.bytes))
    }

    /// Returns a buffer to the pool.
    pub(crate) fn recycle(&mut self, buffer: Vec<u8>) {
        if self.pool.len() < 256 {
            self.pool.push(buffer);
        }
    }

    /// True when an outgoing datagram is due.
    pub(crate) fn has_due_outgoing(&self, now: Instant) -> bool {
        self.outgoing.peek().is_some_and(|item| item.0.due <= now)
    }

    /// Earliest release time of either queue.
    pub(crate) fn next_release(&self) -> Option<Instant> {
        let out = self.outgoing.peek().map(|item| item.0.due);
        let inc = self.incoming.peek().map(|item| item.0.due);
        match (out, inc) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
