//! criterion benches of message sealing: AES-256-GCM seal and open of an
//! 80-byte voice frame with a 12-byte clear header as associated data.
//!
//! Run: `cargo bench -p benches --bench crypto`.
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{
    black_box, criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput,
};
use transport::crypto::{Opener, Sealer, SEAL_OVERHEAD};

const KEY: [u8; 32] = [7; 32];
const HEADER: [u8; 12] = [1, 0, 0, 0, 0, 0, 0, 42, 0, 1, 0, 6];

fn seal_open(c: &mut Criterion) {
    let mut group = c.benchmark_group("crypto");
    for size in [80usize, 1200] {
        let frame = vec![0x5au8; size];
        group.throughput(Throughput::Bytes(size as u64));

        let mut sealer = Sealer::new(&KEY);
        let mut out = Vec::with_capacity(size + SEAL_OVERHEAD);
        group.bench_with_input(BenchmarkId::new("seal", size), &frame, |b, frame| {
            b.iter(|| {
                out.clear();
                sealer.seal(&HEADER, black_box(frame), &mut out).unwrap();
                black_box(out.len())
            })
        });

        // Seal in setup with one sealer and open in order with one opener, so
        // counters only increase and the replay window accepts every message.
        let mut sealer = Sealer::new(&KEY);
        let mut opener = Opener::new(&KEY);
        group.bench_function(BenchmarkId::new("open", size), |b| {
            b.iter_batched_ref(
                || {
                    let mut sealed = Vec::with_capacity(size + SEAL_OVERHEAD);
                    sealer.seal(&HEADER, &frame, &mut sealed).unwrap();
                    sealed
                },
                |sealed| black_box(opener.open(&HEADER, sealed).unwrap().len()),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, seal_open);
criterion_main!(benches);
