//! Producing on a real cluster one record or one burst at a time, with the
//! time of each delivery report: shared by `tests/netem_real.rs` (bounds a
//! path must meet) and `benches/path_costs.rs` (what a path costs).
#![allow(dead_code)] // each includer uses its own part

use std::sync::Mutex;
use std::time::{Duration, Instant};

use kafka_order_bench::cluster::{create_topic, topic_name, Cluster, LocalCluster};
use kafka_order_bench::faults::{FaultPlan, Proxy, ProxyConfig};
use kafka_order_bench::netem::Link;
use rdkafka::client::ClientContext;
use rdkafka::error::KafkaError;
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;

/// When each record's delivery report came, by opaque (its index).
#[derive(Default)]
pub struct Acks(pub Mutex<Vec<(usize, Instant, bool)>>);

impl ClientContext for Acks {}
impl ProducerContext for Acks {
    type DeliveryOpaque = usize;
    fn delivery(&self, r: &DeliveryResult<'_>, i: usize) {
        self.0.lock().unwrap().push((i, Instant::now(), r.is_ok()));
    }
}

pub fn producer(
    cluster: &dyn Cluster,
    bootstrap: &str,
    settings: &[(&str, &str)],
) -> BaseProducer<Acks> {
    let mut c = cluster.client_config();
    c.set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "30000")
        .set("linger.ms", "0")
        // Small requests back to back must not wait for TCP ACKs.
        .set("socket.nagle.disable", "true");
    for (k, v) in settings {
        c.set(*k, *v);
    }
    c.create_with_context(Acks::default()).unwrap()
}

pub fn send(p: &BaseProducer<Acks>, topic: &str, i: usize, value: &[u8]) {
    let mut record: BaseRecord<(), [u8], usize> = BaseRecord::with_opaque_to(topic, i)
        .partition(0)
        .payload(value);
    loop {
        match p.send(record) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                p.poll(Duration::from_millis(1));
            }
            Err((e, _)) => panic!("send: {e}"),
        }
    }
}

/// Polls until `n` delivery reports arrived in all (or 30 s passed).
pub fn wait_acks(p: &BaseProducer<Acks>, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while p.context().0.lock().unwrap().len() < n && Instant::now() < deadline {
        p.poll(Duration::from_millis(1));
    }
    let acks = p.context().0.lock().unwrap();
    assert_eq!(acks.len(), n, "delivery reports");
    assert!(acks.iter().all(|a| a.2), "a record failed");
}

/// Sends `n` one-record requests back to back; returns the time from the
/// first send to the last delivery report.
pub fn burst(p: &BaseProducer<Acks>, topic: &str, n: usize) -> Duration {
    p.context().0.lock().unwrap().clear();
    let started = Instant::now();
    for i in 0..n {
        send(p, topic, i, b"r");
    }
    wait_acks(p, n);
    let acks = p.context().0.lock().unwrap();
    acks.iter().map(|a| a.1).max().unwrap() - started
}

/// One record at a time, `rounds` times: the latency of each.
pub fn singles(p: &BaseProducer<Acks>, topic: &str, rounds: usize) -> Vec<Duration> {
    (0..rounds).map(|_| burst(p, topic, 1)).collect()
}

pub fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

/// The best of several tries. On a shared 2-core machine scheduling noise
/// only ever adds time, so the minimum is what the path itself costs; every
/// try must still clear the floor the emulation sets.
pub fn best(v: &[Duration]) -> Duration {
    *v.iter().min().unwrap()
}

pub fn show(v: &[Duration]) -> Vec<String> {
    v.iter().map(|d| format!("{:.1}", ms(*d))).collect()
}

pub const TRIES: usize = 7;

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub fn topic(cluster: &LocalCluster, tag: &str, partitions: i32) -> String {
    let name = topic_name(&["netem", tag, &std::process::id().to_string()]);
    create_topic(cluster, &name, partitions).unwrap();
    name
}

pub fn proxy_with(cluster: &LocalCluster, link: Link) -> Proxy {
    let config = ProxyConfig {
        link,
        ..ProxyConfig::default()
    };
    Proxy::start_with(&cluster.bootstrap(), FaultPlan::none(), config).unwrap()
}

/// Records of `value_bytes` at `rate` per second for `secs`; returns each
/// record's send-to-ack latency.
pub fn fixed_rate(
    p: &BaseProducer<Acks>,
    topic: &str,
    rate: u32,
    secs: u32,
    value_bytes: usize,
) -> Vec<Duration> {
    p.context().0.lock().unwrap().clear();
    let value = vec![b'x'; value_bytes];
    let n = (rate * secs) as usize;
    let interval = Duration::from_secs(1) / rate;
    let started = Instant::now();
    let mut sent_at = Vec::with_capacity(n);
    for i in 0..n {
        let due = started + interval * i as u32;
        while Instant::now() < due {
            p.poll(Duration::ZERO);
            std::hint::spin_loop();
        }
        sent_at.push(due);
        send(p, topic, i, &value);
        p.poll(Duration::ZERO);
    }
    wait_acks(p, n);
    let acks = p.context().0.lock().unwrap();
    acks.iter().map(|(i, at, _)| *at - sent_at[*i]).collect()
}

/// Records/s of `n` records as fast as the client goes.
pub fn throughput(p: &BaseProducer<Acks>, topic: &str, n: usize, value_bytes: usize) -> f64 {
    p.context().0.lock().unwrap().clear();
    let value = vec![b'x'; value_bytes];
    let started = Instant::now();
    for i in 0..n {
        send(p, topic, i, &value);
        p.poll(Duration::ZERO);
    }
    wait_acks(p, n);
    n as f64 / started.elapsed().as_secs_f64()
}

pub fn spread(v: &[f64]) -> String {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    format!(
        "median {:.3} (min {:.3}, max {:.3}, n {})",
        s[s.len() / 2],
        s[0],
        s[s.len() - 1],
        s.len()
    )
}
