//! Reproduction: the CPU librdkafka's producer uses per record with
//! idempotence on and off, across an emulated round trip, on librdkafka's
//! own mock cluster (one process, no JVM, no proxy).
//!
//! For each setting it produces 1 KiB records to one partition of a
//! one-broker mock cluster whose responses are delayed by `--rtt-ms`, as
//! fast as the client takes them (or at `--rate` records/s), for
//! `--seconds`, and prints over that window: records acknowledged per
//! second, the client's CPU time (librdkafka's threads of this producer and
//! the sending thread, from `/proc`; the mock broker's threads are left
//! out), CPU per record, and the broker threads' `wakeups` and Produce
//! requests (`tx`) per second from librdkafka's statistics. Then the
//! busiest client threads, in percent of one core.
//!
//! ```text
//! cargo run --release --example idempotent_cpu -- --rtt-ms 20 --seconds 5
//! cargo run --release --example idempotent_cpu -- -X linger.ms=25
//! ```
//!
//! The mock cluster is not a broker (it ignores `acks`, answers at once
//! but for the delay): the figures say what the client does while it
//! waits, not what Kafka does. Linux only (per-thread CPU from `/proc`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Parser;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig,
};
use rdkafka::ClientContext;

use kafka_order_bench::cpu::{self, Attribution, ClientCpu, CpuSample, Side};

const TOPIC: &str = "idempotent-cpu";

#[derive(Parser)]
#[command(
    about = "librdkafka producer CPU per record, idempotence on and off, on the mock cluster"
)]
struct Args {
    /// Round trip the mock broker adds to every response, ms.
    #[arg(long, default_value_t = 20)]
    rtt_ms: u64,
    /// Measured seconds per setting (after one second of warm-up).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Records per second; saturation (as fast as the queue takes them)
    /// when absent.
    #[arg(long)]
    rate: Option<u64>,
    /// Idempotence settings to run, in order.
    #[arg(long, value_delimiter = ',', default_value = "false,true")]
    idempotence: Vec<bool>,
    /// `max.in.flight.requests.per.connection`.
    #[arg(long, default_value_t = 5)]
    in_flight: u32,
    /// Value size, bytes.
    #[arg(long, default_value_t = 1024)]
    record_bytes: usize,
    /// Extra producer properties, `key=value` (after the defaults:
    /// linger.ms=5, batch.size=16384, acks=all).
    #[arg(short = 'X', value_parser = parse_property)]
    properties: Vec<(String, String)>,
}

fn parse_property(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or("expected key=value")?;
    Ok((k.to_string(), v.to_string()))
}

/// Delivery counts, and each statistics snapshot: when it arrived,
/// librdkafka's clock (µs), the broker threads' wake-ups and requests sent
/// so far.
#[derive(Default)]
struct Context {
    acked: std::sync::atomic::AtomicU64,
    failed: std::sync::atomic::AtomicU64,
    snapshots: Mutex<Vec<(Instant, u64, u64, u64)>>,
}

#[derive(serde::Deserialize)]
struct Stats {
    ts: u64,
    brokers: std::collections::BTreeMap<String, Broker>,
}

#[derive(serde::Deserialize)]
struct Broker {
    #[serde(default)]
    wakeups: u64,
    #[serde(default)]
    tx: u64,
}

impl ClientContext for Context {
    fn stats_raw(&self, statistics: &[u8]) {
        if let Ok(s) = serde_json::from_slice::<Stats>(statistics) {
            let w = s.brokers.values().map(|b| b.wakeups).sum();
            let tx = s.brokers.values().map(|b| b.tx).sum();
            self.snapshots
                .lock()
                .unwrap()
                .push((Instant::now(), s.ts, w, tx));
        }
    }
}

impl ProducerContext for Context {
    type DeliveryOpaque = ();
    fn delivery(&self, r: &DeliveryResult<'_>, _: ()) {
        use std::sync::atomic::Ordering::Relaxed;
        match r {
            Ok(_) => self.acked.fetch_add(1, Relaxed),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::PurgeQueue), _)) => 0,
            Err(_) => self.failed.fetch_add(1, Relaxed),
        };
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mock = MockCluster::new(1)?;
    mock.create_topic(TOPIC, 1, 1)?;
    mock.broker_round_trip_time(1, Duration::from_millis(args.rtt_ms))?;
    println!(
        "librdkafka {} mock cluster, 1 broker, RTT {} ms, {} B records, in-flight {}, {}, {} s per setting{}",
        rdkafka::util::get_rdkafka_version().1,
        args.rtt_ms,
        args.record_bytes,
        args.in_flight,
        args.rate
            .map_or("saturation".to_string(), |r| format!("{r} records/s")),
        args.seconds,
        if args.properties.is_empty() {
            String::new()
        } else {
            format!(
                ", -X {}",
                args.properties
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" -X ")
            )
        }
    );
    println!(
        "{:<6} {:>10} {:>9} {:>9} {:>7} {:>12} {:>13} {:>12}",
        "idem", "records/s", "user_ms", "sys_ms", "cores", "cpu_us/rec", "wakeups/s", "requests/s"
    );
    for &idempotence in &args.idempotence {
        let (c, requests, threads) = measure(&args, &mock, idempotence)?;
        println!(
            "{:<6} {:>10.0} {:>9.0} {:>9.0} {:>7.2} {:>12.0} {:>13.0} {:>12.0}",
            idempotence,
            c.records as f64 * 1000.0 / c.elapsed_ms,
            c.user_ms,
            c.system_ms,
            c.cores,
            c.cpu_us_per_record.unwrap_or(f64::NAN),
            c.wakeups_per_sec.unwrap_or(f64::NAN),
            requests.unwrap_or(f64::NAN),
        );
        println!("       busiest client threads: {threads}");
    }
    Ok(())
}

/// Runs one setting; its client CPU, Produce requests per second and its
/// busiest threads, described.
fn measure(
    args: &Args,
    mock: &MockCluster<'_, impl ClientContext>,
    idempotence: bool,
) -> Result<(ClientCpu, Option<f64>, String), KafkaError> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", mock.bootstrap_servers())
        .set("enable.idempotence", idempotence.to_string())
        .set("acks", "all")
        .set(
            "max.in.flight.requests.per.connection",
            args.in_flight.to_string(),
        )
        .set("linger.ms", "5")
        .set("batch.size", "16384")
        .set("socket.nagle.disable", "true")
        .set("statistics.interval.ms", "1000");
    for (k, v) in &args.properties {
        config.set(k, v);
    }
    // This producer's librdkafka threads are the ones that appear while it
    // starts and warms up; the mock cluster's own client is another's.
    let before_threads = cpu::thread_ids();
    let producer: BaseProducer<Context> = config.create_with_context(Context::default())?;
    let payload = vec![0x5au8; args.record_bytes];
    let warm_until = Instant::now() + Duration::from_secs(1);
    let mut pacer = Pacer::new(args.rate);
    while Instant::now() < warm_until {
        send(&producer, &payload, &mut pacer);
    }
    let attribution = Attribution::calling_thread_and_threads_since(&before_threads);

    let acked = || {
        producer
            .context()
            .acked
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let (start, acked0) = (CpuSample::now(), acked());
    let until = start.taken + Duration::from_secs_f64(args.seconds);
    while Instant::now() < until {
        send(&producer, &payload, &mut pacer);
    }
    producer.poll(Duration::ZERO);
    let (end, acked1) = (CpuSample::now(), acked());
    let sides = end.since(&start, &attribution);

    let (wakeups, requests) = {
        let w = producer.context().snapshots.lock().unwrap();
        let inside: Vec<_> = w
            .iter()
            .filter(|(at, ..)| *at >= start.taken && *at <= end.taken)
            .collect();
        match (inside.first(), inside.last()) {
            (Some(a), Some(b)) => (
                cpu::rate_per_sec((a.1, a.2), (b.1, b.2)),
                cpu::rate_per_sec((a.1, a.3), (b.1, b.3)),
            ),
            _ => (None, None),
        }
    };
    let threads = sides
        .threads
        .iter()
        .filter(|t| t.side == Side::Client)
        .take(4)
        .map(|t| {
            format!(
                "{} {:.0}%",
                t.name,
                t.cpu.total_ms() * 100.0 / sides.elapsed_ms
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    // Drop what is still queued (not measured): at a few hundred records
    // a second, a full default queue would take minutes to drain.
    producer.purge(PurgeConfig::default().queue());
    let _ = producer.flush(Duration::from_secs(30));
    let failed = producer
        .context()
        .failed
        .load(std::sync::atomic::Ordering::Relaxed);
    if failed > 0 {
        eprintln!("warning: {failed} records failed (not counting the purged tail)");
    }
    Ok((
        ClientCpu::in_process(&sides, acked1 - acked0, wakeups),
        requests,
        threads,
    ))
}

/// When the next record is due, at a fixed rate; always now at saturation.
struct Pacer {
    interval: Option<Duration>,
    next: Instant,
}

impl Pacer {
    fn new(rate: Option<u64>) -> Pacer {
        Pacer {
            interval: rate.map(|r| Duration::from_secs_f64(1.0 / r.max(1) as f64)),
            next: Instant::now(),
        }
    }
}

/// Sends one record when it is due, serving delivery reports meanwhile;
/// when the client's queue is full, waits for room.
fn send(producer: &BaseProducer<Context>, payload: &[u8], pacer: &mut Pacer) {
    // Waits sleep, then poll without blocking: rdkafka's `poll` with a
    // timeout spins through its last millisecond, which would be charged
    // to the client here.
    if let Some(interval) = pacer.interval {
        let now = Instant::now();
        if now < pacer.next {
            std::thread::sleep(pacer.next - now);
            producer.poll(Duration::ZERO);
            return;
        }
        pacer.next += interval;
    }
    let mut record = BaseRecord::<(), [u8]>::to(TOPIC).payload(payload);
    loop {
        match producer.send(record) {
            Ok(()) => break,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                std::thread::sleep(Duration::from_millis(10));
                producer.poll(Duration::ZERO);
            }
            Err((e, _)) => {
                eprintln!("send: {e}");
                break;
            }
        }
    }
    producer.poll(Duration::ZERO);
}
