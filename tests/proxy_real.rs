//! The fault proxy in front of a real local Apache Kafka cluster.
//!
//! `proxy_on_a_real_cluster` (one cluster for the file; starting one costs
//! seconds of CPU on a small machine): under `none` the proxy passes records
//! and offsets through unchanged; under `reject` a non-idempotent producer
//! with several requests in flight is reordered and an idempotent one is not.
//!
//! Throughput through the proxy as a ratio of direct is a measurement:
//! `cargo bench --bench path_costs` (`benches/path_costs.rs`).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kafka_order_bench::cluster::{
    create_topic, delete_topic, topic_name, Cluster, LocalCluster, LocalOptions,
};
use kafka_order_bench::faults::{FaultPlan, FaultProfile, Proxy};
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset, TopicPartitionList};

const PARTITIONS: i32 = 3;

/// A delivery report: (partition, offset) or the client's error.
type Delivery = Result<(i32, i64), String>;

#[derive(Default)]
struct Reports(Mutex<Vec<(usize, Delivery)>>);

impl ClientContext for Reports {}
impl ProducerContext for Reports {
    type DeliveryOpaque = usize;
    fn delivery(&self, r: &DeliveryResult<'_>, i: usize) {
        let r = match r {
            Ok(m) => Ok((m.partition(), m.offset())),
            Err((e, _)) => Err(e.to_string()),
        };
        self.0.lock().unwrap().push((i, r));
    }
}

fn config(cluster: &dyn Cluster, bootstrap: &str, settings: &[(&str, &str)]) -> ClientConfig {
    let mut c = cluster.client_config();
    c.set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "60000");
    for (k, v) in settings {
        c.set(*k, *v);
    }
    c
}

/// Sends `n` records (record `i` to partition `i % 3`); returns each
/// record's (partition, offset) in send order, and the elapsed time.
fn produce(
    cluster: &dyn Cluster,
    bootstrap: &str,
    topic: &str,
    n: usize,
    value_bytes: usize,
    settings: &[(&str, &str)],
) -> (Vec<Delivery>, Duration) {
    let producer: BaseProducer<Reports> = config(cluster, bootstrap, settings)
        .create_with_context(Reports::default())
        .unwrap();
    let pad = "x".repeat(value_bytes);
    let started = Instant::now();
    for i in 0..n {
        let key = format!("k{i}");
        let value = format!("{i:08}{pad}");
        let mut record = BaseRecord::with_opaque_to(topic, i)
            .partition(i as i32 % PARTITIONS)
            .key(&key)
            .payload(&value);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    producer.poll(Duration::from_millis(1));
                }
                Err((e, _)) => panic!("send: {e}"),
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(60)).unwrap();
    let elapsed = started.elapsed();
    let mut reports = producer.context().0.lock().unwrap().clone();
    reports.sort_by_key(|(i, _)| *i);
    assert_eq!(reports.len(), n);
    (reports.into_iter().map(|(_, r)| r).collect(), elapsed)
}

/// (partition, offset, key, value) of every record of `topic`, in log order.
fn consume(
    cluster: &dyn Cluster,
    bootstrap: &str,
    topic: &str,
    expect: usize,
) -> Vec<(i32, i64, Vec<u8>, Vec<u8>)> {
    let consumer: BaseConsumer = config(cluster, bootstrap, &[])
        .set("group.id", "kob-proxy-real")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut rows = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while rows.len() < expect && Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            rows.push((
                m.partition(),
                m.offset(),
                m.key().unwrap_or_default().to_vec(),
                m.payload().unwrap_or_default().to_vec(),
            ));
        }
    }
    rows.sort_by_key(|r| (r.0, r.1));
    rows
}

/// Records with a lower offset than a record sent earlier to their partition.
fn reorders(deliveries: &[Delivery]) -> usize {
    let mut highest: BTreeMap<i32, i64> = BTreeMap::new();
    let mut n = 0;
    for (p, o) in deliveries.iter().flatten() {
        let h = highest.entry(*p).or_insert(-1);
        if o < h {
            n += 1;
        }
        *h = (*h).max(*o);
    }
    n
}

fn topic(cluster: &LocalCluster, tag: &str) -> String {
    let name = topic_name(&["proxy", tag, &std::process::id().to_string()]);
    create_topic(cluster, &name, PARTITIONS).unwrap();
    name
}

#[test]
fn proxy_on_a_real_cluster() {
    let cluster = LocalCluster::start(LocalOptions::default()).expect("local cluster starts");
    let upstream = cluster.bootstrap();

    // none: records and offsets exactly as direct.
    let mut proxy = Proxy::start(&upstream, FaultPlan::none()).unwrap();
    assert_eq!(proxy.brokers().len(), 3);
    let (direct_topic, proxied_topic) = (topic(&cluster, "direct"), topic(&cluster, "proxied"));
    let n = 5000;
    let settings = [("acks", "all"), ("linger.ms", "5")];
    let (direct, _) = produce(&cluster, &upstream, &direct_topic, n, 100, &settings);
    let (proxied, _) = produce(
        &cluster,
        &proxy.bootstrap(),
        &proxied_topic,
        n,
        100,
        &settings,
    );
    assert!(
        direct.iter().all(Result::is_ok),
        "{:?}",
        direct.iter().find(|r| r.is_err())
    );
    assert_eq!(direct, proxied, "same (partition, offset) for every record");
    let read_direct = consume(&cluster, &upstream, &direct_topic, n);
    let read_proxied = consume(&cluster, &proxy.bootstrap(), &proxied_topic, n);
    assert_eq!(read_direct.len(), n);
    assert_eq!(read_direct, read_proxied, "record for record");
    assert_eq!(proxy.connection_errors(), 0, "{:?}", proxy.last_error());
    proxy.shutdown();

    // reject: the same seeded plan on a non-idempotent and an idempotent
    // producer, five requests in flight.
    let profile: FaultProfile = "reject:2%".parse().unwrap();
    let mut seen = Vec::new();
    for idempotent in [false, true] {
        let proxy = Proxy::start(&upstream, FaultPlan::by_request(&profile, 42)).unwrap();
        let name = topic(&cluster, if idempotent { "reject-idem" } else { "reject" });
        let idem = idempotent.to_string();
        let settings = [
            ("acks", "all"),
            ("enable.idempotence", idem.as_str()),
            ("max.in.flight", "5"),
            ("linger.ms", "1"),
            ("batch.num.messages", "50"),
            ("retry.backoff.ms", "10"),
        ];
        let (out, _) = produce(&cluster, &proxy.bootstrap(), &name, 20_000, 50, &settings);
        let failed = out.iter().filter(|r| r.is_err()).count();
        let injected = proxy.injected();
        eprintln!(
            "reject:2% idempotence={idempotent}: {} produce requests, {injected:?}, {failed} failed, {} reordered",
            proxy.produce_requests(),
            reorders(&out)
        );
        assert_eq!(failed, 0);
        assert!(injected["reject"] > 0);
        assert_eq!(proxy.connection_errors(), 0, "{:?}", proxy.last_error());
        seen.push(reorders(&out));
        delete_topic(&cluster, &name).unwrap();
    }
    assert!(seen[0] > 0, "non-idempotent producer was not reordered");
    assert_eq!(seen[1], 0, "idempotent producer was reordered");

    for t in [direct_topic, proxied_topic] {
        delete_topic(&cluster, &t).unwrap();
    }
}
