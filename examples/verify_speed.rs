//! The checker's speed against a plain consumer on the same topic.
//!
//! ```text
//! cargo run --release --example verify_speed -- produce HOST:PORT TOPIC RECORDS [PRODUCERS]
//! cargo run --release --example verify_speed -- count   HOST:PORT TOPIC
//! cargo run --release --example verify_speed -- local RECORDS PARTITIONS ROUNDS [PRODUCERS]
//! ```
//!
//! `local` starts a private local cluster, creates the topic, produces, then
//! times `count` and `kafka-order-bench verify --topic` (the release binary
//! beside this example) ROUNDS times each, alternating, and stops the cluster.
//!
//! `produce` writes RECORDS stamped records (128 bytes, keyed, with the key
//! extension) with PRODUCERS producers (default 1), each its own
//! `BaseProducer` on its own thread, sending its share of the records
//! round-robin over the topic's partitions: one stream per producer and
//! partition, numbered `producer × partitions + partition` (see
//! [`kafka_order_bench::record`]), 16 keys per stream. `count` reads every partition from its low to its high
//! watermark with one rdkafka consumer and the checker's own consumer
//! properties (its prefetch the whole budget `verify`'s readers share:
//! `prefetch_properties(1)`), and only counts: the baseline `verify
//! --topic` is timed against.

use std::time::{Duration, Instant};

use kafka_order_bench::record::{write_key_seq, Stamp};
use kafka_order_bench::verify::{prefetch_properties, CONSUMER_PROPERTIES};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("produce") if matches!(args.len(), 5 | 6) => produce(
            &args[2],
            &args[3],
            args[4].parse().unwrap(),
            producers(args.get(5)),
        ),
        Some("count") if args.len() == 4 => count(&args[2], &args[3]),
        Some("local") if matches!(args.len(), 5 | 6) => local(
            args[2].parse().unwrap(),
            args[3].parse().unwrap(),
            args[4].parse().unwrap(),
            producers(args.get(5)),
        ),
        _ => {
            eprintln!(
                "usage: verify_speed produce HOST:PORT TOPIC RECORDS [PRODUCERS] | count HOST:PORT TOPIC \
                 | local RECORDS PARTITIONS ROUNDS [PRODUCERS]"
            );
            std::process::exit(2);
        }
    }
}

/// The optional PRODUCERS argument: at least 1, 1 when absent.
fn producers(arg: Option<&String>) -> u32 {
    arg.map_or(1, |a| a.parse().expect("PRODUCERS is a number"))
        .max(1)
}

fn local(records: u64, partitions: i32, rounds: u32, producers: u32) {
    use kafka_order_bench::cluster::{create_topic, Cluster, LocalCluster, LocalOptions};
    let cluster = LocalCluster::start(LocalOptions::default()).expect("local cluster starts");
    let bootstrap = cluster.bootstrap();
    let topic =
        kafka_order_bench::cluster::topic_name(&["verify-speed", &std::process::id().to_string()]);
    create_topic(&cluster, &topic, partitions).unwrap();
    let t = Instant::now();
    produce(&bootstrap, &topic, records, producers);
    println!("produced in {:.1} s", t.elapsed().as_secs_f64());
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("kafka-order-bench");
    for round in 1..=rounds {
        count(&bootstrap, &topic);
        let t = Instant::now();
        let out = std::process::Command::new("/usr/bin/time")
            .args(["-f", "max RSS %M KiB"])
            .arg(&bin)
            .args(["verify", "--topic", &topic, "--bootstrap", &bootstrap])
            .args(
                std::env::var("VERIFY_ARGS")
                    .unwrap_or_default()
                    .split_whitespace(),
            )
            .output()
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        let text = String::from_utf8_lossy(&out.stdout);
        let first = text.lines().next().unwrap_or("");
        println!(
            "round {round}: verify read {first:?} in {secs:.2} s: {:.0} records/s, exit {:?}, {}",
            records as f64 / secs,
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
}

fn partitions(c: &BaseConsumer, topic: &str) -> Vec<i32> {
    let m = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    m.topics()[0].partitions().iter().map(|p| p.id()).collect()
}

/// Writes `records` records with `producers` producers in parallel, the
/// first `records % producers` producers one record more than the others.
fn produce(bootstrap: &str, topic: &str, records: u64, producers: u32) {
    let probe: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let parts = partitions(&probe, topic);
    drop(probe);
    let n = u64::from(producers);
    std::thread::scope(|scope| {
        for i in 0..producers {
            let share = records / n + u64::from(u64::from(i) < records % n);
            let parts = &parts;
            scope.spawn(move || produce_one(bootstrap, topic, parts, i, share));
        }
    });
    println!("{records}");
}

/// Producer `index`'s share: `records` records round-robin over `parts`,
/// on streams `index × parts.len() + partition index`.
fn produce_one(bootstrap: &str, topic: &str, parts: &[i32], index: u32, records: u64) {
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "20")
        .set("batch.size", "1000000")
        .set("enable.idempotence", "true")
        .create()
        .unwrap();
    let mut next = vec![0u64; parts.len()];
    let mut value = vec![0u8; 128];
    for i in 0..records {
        let s = (i % parts.len() as u64) as usize;
        let stream = index * parts.len() as u32 + s as u32;
        let seq = next[s];
        next[s] += 1;
        Stamp {
            run_id: 0x5eed,
            stream,
            seq,
            intended_send_ns: 0,
        }
        .write(&mut value);
        let key = format!("k{stream}-{}", seq % 16);
        write_key_seq(&mut value, seq / 16);
        loop {
            match p.send(
                BaseRecord::to(topic)
                    .partition(parts[s])
                    .key(&key)
                    .payload(&value),
            ) {
                Ok(()) => break,
                Err(_) => {
                    p.poll(Duration::from_millis(10));
                }
            }
        }
        p.poll(Duration::ZERO);
    }
    p.flush(Duration::from_secs(300)).unwrap();
}

fn count(bootstrap: &str, topic: &str) {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    for (k, v) in CONSUMER_PROPERTIES {
        config.set(*k, *v);
    }
    // One consumer: the whole budget verify's readers share.
    for (k, v) in prefetch_properties(1) {
        config.set(k, v);
    }
    config.set("group.id", "verify-speed-count");
    let c: BaseConsumer = config.create().unwrap();
    let start = Instant::now();
    let mut tpl = TopicPartitionList::new();
    let mut expected = 0i64;
    for p in partitions(&c, topic) {
        let (lo, hi) = c
            .fetch_watermarks(topic, p, Duration::from_secs(10))
            .unwrap();
        expected += hi - lo;
        tpl.add_partition_offset(topic, p, Offset::Offset(lo))
            .unwrap();
    }
    c.assign(&tpl).unwrap();
    let mut n = 0i64;
    let mut bytes = 0usize;
    while n < expected {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            n += 1;
            bytes += m.payload().map_or(0, <[u8]>::len);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "counted {n} records ({bytes} value bytes) in {secs:.2} s: {:.0} records/s",
        n as f64 / secs
    );
}
