//! The harness's own cost, as Criterion micro-benchmarks: what the suite
//! spends per record outside Kafka, so it can be told apart from what it
//! measures.
//!
//! - `checker/*`: the ordering checker over in-memory stamped records
//!   (target: at least 5 million records/s on a 2-core machine).
//!
//! Run with `cargo bench --bench harness` (filter: `cargo bench --bench harness -- checker`).

use std::collections::BTreeSet;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use kafka_order_bench::record::Stamp;
use kafka_order_bench::verify::{Checker, Deliveries};

/// Records per checker pass.
const RECORDS: usize = 1_000_000;
/// Bytes per record value, the suite's default record size.
const VALUE_BYTES: usize = 1024;
/// One backward step (two adjacent records swapped) every this many records.
const REORDER_EVERY: usize = 10_000;
const RUN_ID: u64 = 0x6b6f_6231;

/// `records` stamped values of `VALUE_BYTES` each, laid out back to back as a
/// fetch buffer holds them, for `streams` streams on `streams` partitions
/// (stream `s` on partition `s`, round robin), with a swap every
/// [`REORDER_EVERY`] records of a stream.
struct Log {
    arena: Vec<u8>,
    /// (partition, offset) of each record, in read order.
    coords: Vec<(i32, i64)>,
}

impl Log {
    fn new(records: usize, streams: u32) -> Log {
        let mut arena = vec![0x5au8; records * VALUE_BYTES];
        let mut coords = Vec::with_capacity(records);
        let per_stream = records / streams as usize;
        for i in 0..records {
            let stream = (i % streams as usize) as u32;
            let n = (i / streams as usize) as u64;
            // Swap the records at n and n + 1 every REORDER_EVERY.
            let seq = match n as usize % REORDER_EVERY {
                0 if (n as usize + 1) < per_stream => n + 1,
                1 => n - 1,
                _ => n,
            };
            Stamp {
                run_id: RUN_ID,
                stream,
                seq,
                intended_send_ns: n,
            }
            .write(&mut arena[i * VALUE_BYTES..]);
            coords.push((stream as i32, n as i64));
        }
        Log { arena, coords }
    }

    fn deliveries(&self, streams: u32) -> Deliveries {
        let mut d = Deliveries::default();
        let per_stream = (self.coords.len() / streams as usize) as u64;
        for s in 0..streams {
            let sd = d.stream_mut(s);
            sd.sent = per_stream;
            for seq in 0..per_stream {
                sd.acked.set(seq);
            }
        }
        d
    }

    fn check(&self, mut checker: Checker) -> u64 {
        for (i, &(partition, offset)) in self.coords.iter().enumerate() {
            let value = &self.arena[i * VALUE_BYTES..(i + 1) * VALUE_BYTES];
            checker.observe(partition, offset, Some(value));
        }
        let verdict = checker.finish();
        verdict.reorders.count
    }
}

fn checker(c: &mut Criterion) {
    let mut group = c.benchmark_group("checker");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(RECORDS as u64));

    // One swap per REORDER_EVERY records of each stream, from its first.
    let expected = |streams: usize| (streams * (RECORDS / streams).div_ceil(REORDER_EVERY)) as u64;
    let one = Log::new(RECORDS, 1);
    assert_eq!(
        one.check(Checker::new(Some(RUN_ID), None, BTreeSet::new())),
        expected(1)
    );
    let deliveries = one.deliveries(1);
    group.bench_function("1M_records_1KiB_1_stream", |b| {
        b.iter(|| {
            let checker = Checker::new(Some(RUN_ID), Some(&deliveries), BTreeSet::new());
            black_box(one.check(checker))
        })
    });
    group.bench_function("1M_records_1KiB_1_stream_verify_mode", |b| {
        b.iter(|| black_box(one.check(Checker::new(None, None, BTreeSet::new()))))
    });
    drop(one);

    let many = Log::new(RECORDS, 8);
    assert_eq!(
        many.check(Checker::new(Some(RUN_ID), None, BTreeSet::new())),
        expected(8)
    );
    let deliveries = many.deliveries(8);
    group.bench_function("1M_records_1KiB_8_streams_interleaved", |b| {
        b.iter(|| {
            let checker = Checker::new(Some(RUN_ID), Some(&deliveries), BTreeSet::new());
            black_box(many.check(checker))
        })
    });
    group.finish();
}

// Further groups (the per-record send path) join this list.
criterion_group!(benches, checker);
criterion_main!(benches);
