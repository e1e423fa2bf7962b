//! The send path's own cost per record, as a Criterion micro-benchmark.
//!
//! Both functions produce the same 1 KiB records through librdkafka to its
//! in-process mock cluster (no network, no broker JVM), as fast as possible,
//! and wait for every delivery report:
//!
//! - `send_path/session`: kafka-order-bench's [`Session::sample`]: stamping,
//!   the delivery tally, the latency histograms, its poll cadence;
//! - `send_path/bare`: a bare `BaseProducer` with an empty delivery callback,
//!   the floor any librdkafka application pays.
//!
//! The difference per record is the harness's overhead. Time is the sending
//! thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time: it is what
//! the send path costs, and it holds still on a shared, loaded machine where
//! wall time does not. librdkafka's own threads (and the mock broker's) are
//! not counted. The mock cluster ignores `acks` and is not a broker: the
//! numbers say nothing about Kafka, only what the harness adds to the client.
//!
//! Run with `cargo bench --bench send_path`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::ClientContext;

use kafka_order_bench::grid::{Acks, Fixed, ProducerSettings};
use kafka_order_bench::librdkafka::{producer_config, Created, Session};

const TOPIC: &str = "kob-send-path";
/// Records per timed batch.
const RECORDS: u64 = 100_000;

fn fixed() -> Fixed {
    Fixed {
        record_bytes: 1024,
        linger_ms: 5,
        batch_bytes: 1_000_000,
        partitions: 1,
        ..Fixed::default()
    }
}

fn settings() -> ProducerSettings {
    ProducerSettings {
        max_in_flight: 5,
        acks: Acks::All,
        idempotence: false,
    }
}

/// An application that does nothing with its delivery reports.
struct Bare;
impl ClientContext for Bare {}
impl ProducerContext for Bare {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Sends `n` records the way any librdkafka application would, and waits for
/// their reports; returns the sending thread's CPU time.
fn bare_batch(producer: &BaseProducer<Bare>, payload: &[u8], n: u64) -> Duration {
    let start = thread_cpu();
    for i in 0..n {
        loop {
            let record = BaseRecord::<(), [u8]>::to(TOPIC)
                .partition(0)
                .payload(payload);
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    producer.poll(Duration::from_millis(1));
                }
                Err((e, _)) => panic!("send: {e}"),
            }
        }
        if i % 1000 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    while producer.in_flight_count() > 0 {
        producer.poll(Duration::from_micros(200));
    }
    thread_cpu() - start
}

fn send_path(c: &mut Criterion) {
    let mock = MockCluster::new(1).expect("mock cluster");
    mock.create_topic(TOPIC, 1, 1).expect("mock topic");
    let mut base = ClientConfig::new();
    base.set("bootstrap.servers", mock.bootstrap_servers());
    let fixed = fixed();
    let settings = settings();

    let mut group = c.benchmark_group("send_path");
    group
        .throughput(Throughput::Elements(RECORDS))
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));

    let mut session = match Session::create(
        &base,
        &settings,
        &fixed,
        TOPIC,
        1,
        fixed.producer_streams(0, 0),
    )
    .expect("producer")
    {
        Created::Session(s) => s,
        Created::Rejected(m) => panic!("rejected: {m}"),
    };
    session.warm_up(10_000).expect("warm-up");
    const ONE_WINDOW: kafka_order_bench::librdkafka::RoundSpec =
        kafka_order_bench::librdkafka::RoundSpec {
            warmup: 0,
            windows: 1,
            records_per_window: RECORDS,
            tail: 0,
            burst: 0,
        };
    group.bench_function("session", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let start = thread_cpu();
                    session.round(&ONE_WINDOW).expect("round");
                    thread_cpu() - start
                })
                .sum()
        })
    });
    drop(session);

    // The same librdkafka configuration as the session's.
    let bare: BaseProducer<Bare> = producer_config(&base, &settings, &fixed)
        .create_with_context(Bare)
        .expect("bare producer");
    let payload = vec![0x5au8; fixed.record_bytes];
    bare_batch(&bare, &payload, 10_000);
    group.bench_function("bare", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| bare_batch(&bare, &payload, RECORDS))
                .sum()
        })
    });
    group.finish();
}

criterion_group!(benches, send_path);
criterion_main!(benches);
