//! The real local cluster, end to end: three Apache Kafka nodes, an RF=3
//! topic, 10,000 records written and read back in order, the leader
//! SIGKILLed and replaced, the node restarted into the ISR, and nothing left
//! running afterwards. One cluster for the whole file: each start costs
//! seconds of CPU on a small machine.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use kafka_order_bench::cluster::{
    create_topic, delete_topic, topic_name, Cluster, LocalCluster, LocalOptions, TOPIC_PREFIX,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

const RECORDS: u64 = 10_000;

/// Counts delivery reports; every record must be acknowledged.
#[derive(Default)]
struct Acks {
    ok: std::sync::atomic::AtomicU64,
    failed: std::sync::Mutex<Vec<String>>,
}

impl ClientContext for Acks {}
impl ProducerContext for Acks {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Err((e, _)) => self.failed.lock().unwrap().push(e.to_string()),
        }
    }
}

fn producer(cluster: &dyn Cluster) -> BaseProducer<Acks> {
    cluster
        .client_config()
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "60000")
        .create_with_context(Acks::default())
        .expect("producer")
}

/// Sends `from..to` as decimal payloads and waits for every report.
fn produce(p: &BaseProducer<Acks>, topic: &str, from: u64, to: u64) {
    for i in from..to {
        let payload = i.to_string();
        let mut record = BaseRecord::to(topic).payload(&payload).key("k");
        loop {
            match p.send(record) {
                Ok(()) => break,
                Err((e, r)) => {
                    assert!(
                        matches!(
                            e.rdkafka_error_code(),
                            Some(rdkafka::types::RDKafkaErrorCode::QueueFull)
                        ),
                        "send failed: {e}"
                    );
                    record = r;
                    p.poll(Duration::from_millis(10));
                }
            }
        }
        p.poll(Duration::ZERO);
    }
    p.flush(Duration::from_secs(90)).expect("flush");
    let failed = p.context().failed.lock().unwrap();
    assert!(
        failed.is_empty(),
        "failed deliveries: {:?}",
        &failed[..failed.len().min(5)]
    );
}

/// Reads partition 0 from the beginning until `expected` records arrived.
fn consume_all(cluster: &dyn Cluster, topic: &str, expected: u64) -> Vec<u64> {
    let consumer: BaseConsumer = cluster
        .client_config()
        .set("group.id", "kob-test-cluster")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while (seen.len() as u64) < expected {
        assert!(
            Instant::now() < deadline,
            "read {} of {expected} records",
            seen.len()
        );
        if let Some(m) = consumer.poll(Duration::from_millis(500)) {
            let m = m.expect("consume");
            let text = std::str::from_utf8(m.payload().unwrap()).unwrap();
            seen.push(text.parse().unwrap());
        }
    }
    seen
}

fn wait<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn process_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn three_node_cluster_lifecycle() {
    let started = Instant::now();
    let cluster = LocalCluster::start(LocalOptions::default()).expect("local cluster starts");
    eprintln!(
        "cluster ready in {:.1?}: {}",
        started.elapsed(),
        cluster.bootstrap()
    );
    assert_eq!(
        cluster.kind(),
        kafka_order_bench::results::ClusterKind::Local
    );
    assert_eq!(cluster.brokers(), 3);
    assert_eq!(cluster.broker_version().as_deref(), Some("4.1.1"));
    // What an external cluster's release reads as: ApiVersions over the wire.
    assert_eq!(
        kafka_order_bench::cluster::apiversions::probe(
            &cluster.bootstrap(),
            &[],
            std::time::Duration::from_secs(5)
        )
        .as_deref(),
        Some("≥ 4.0 (from ApiVersions)")
    );
    let status = cluster.status();
    assert_eq!(
        status.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(status
        .iter()
        .all(|n| n.alive && n.rss_bytes.unwrap_or(0) > 0));
    for n in &status {
        eprintln!(
            "node {} pid {:?} port {} rss {} MiB",
            n.id,
            n.pid,
            n.port,
            n.rss_bytes.unwrap() / (1 << 20)
        );
    }
    let pids: Vec<u32> = status.iter().filter_map(|n| n.pid).collect();
    assert_eq!(pids.len(), 3);
    let data_dir = cluster.data_dir().to_path_buf();
    assert!(data_dir.join("node-1/server.log").is_file());

    // A shape the cluster refuses, asked without creating anything (what
    // `run --bootstrap` does before any cell): KRaft refuses one request
    // creating more than 10,000 partitions.
    kafka_order_bench::cluster::check_topic_shape(&cluster, 32).expect("32 partitions fit");
    let refused = kafka_order_bench::cluster::check_topic_shape(&cluster, 20_000)
        .unwrap_err()
        .to_string();
    assert_eq!(
        refused,
        "the cluster refuses a cell topic of 20000 partitions × 3 replicas: PolicyViolation \
         (Broker: Policy violation) (hint: fewer --partitions)"
    );

    // An RF=3 topic with min.insync.replicas=2.
    let topic = topic_name(&["test", "lifecycle"]);
    assert!(topic.starts_with(TOPIC_PREFIX));
    let spec = create_topic(&cluster, &topic, 1).expect("create topic");
    assert_eq!(spec.replication_factor, 3);
    assert_eq!(spec.min_insync_replicas, Some(2));
    let mut isr = cluster.in_sync_replicas(&topic, 0).unwrap();
    isr.sort_unstable();
    assert_eq!(isr, vec![1, 2, 3]);

    // 10,000 records, all acknowledged, all read back in order.
    let p = producer(&cluster);
    produce(&p, &topic, 0, RECORDS);
    let seen = consume_all(&cluster, &topic, RECORDS);
    assert_eq!(seen, (0..RECORDS).collect::<Vec<_>>());

    // SIGKILL the leader: another replica takes over and writes go on.
    let old = cluster.leader(&topic, 0).unwrap().expect("a leader");
    cluster.kill(old).unwrap();
    assert!(!cluster.status()[(old - 1) as usize].alive);
    let new = wait("a new leader", Duration::from_secs(60), || {
        cluster
            .leader(&topic, 0)
            .ok()
            .flatten()
            .filter(|&l| l != old)
    });
    eprintln!("leader {old} killed, new leader {new}");
    produce(&p, &topic, RECORDS, RECORDS + 1_000);

    // The node comes back and rejoins the ISR.
    cluster.restart(old).expect("restart");
    assert!(cluster.status()[(old - 1) as usize].alive);
    wait(
        "the restarted node in the ISR",
        Duration::from_secs(120),
        || {
            let isr: BTreeSet<i32> = cluster
                .in_sync_replicas(&topic, 0)
                .ok()?
                .into_iter()
                .collect();
            (isr.len() == 3 && isr.contains(&old)).then_some(())
        },
    );
    let seen = consume_all(&cluster, &topic, RECORDS + 1_000);
    assert_eq!(
        seen,
        (0..RECORDS + 1_000).collect::<Vec<_>>(),
        "order or count changed after failover"
    );
    drop(p);

    delete_topic(&cluster, &topic).expect("delete topic");
    assert!(
        delete_topic(&cluster, "orders").is_err(),
        "foreign topics are never deleted"
    );

    // Stop: no process of the cluster remains, nor its temporary data.
    let pids: Vec<u32> = cluster.status().iter().filter_map(|n| n.pid).collect();
    assert_eq!(pids.len(), 3);
    cluster.stop();
    for pid in &pids {
        assert!(!process_exists(*pid), "pid {pid} still exists after stop");
    }
    assert!(cluster.status().iter().all(|n| !n.alive));
    drop(cluster);
    assert!(!data_dir.exists(), "{} left behind", data_dir.display());
}
