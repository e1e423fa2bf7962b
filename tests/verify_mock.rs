//! The checker end to end on librdkafka's mock cluster (in-process, seconds):
//! stamped records read back exactly, foreign-format topics flagged as
//! malformed, typed errors, and the `verify` subcommand's exit codes.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use kafka_order_bench::record::Stamp;
use kafka_order_bench::verify::{read_topic, Checker, Deliveries, VerifyError};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext, Message};

const RUN: u64 = 0x7465_7374;
const TIMEOUT: Duration = Duration::from_secs(20);

/// Records each delivery report into [`Deliveries`]; the key carries the
/// stream (4 bytes) and sequence (8 bytes).
#[derive(Default)]
struct Reports(Mutex<Deliveries>);

impl ClientContext for Reports {}
impl ProducerContext for Reports {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let (m, ok) = match result {
            Ok(m) => (m, true),
            Err((_, m)) => (m, false),
        };
        let key = m.key().expect("key");
        let stream = u32::from_be_bytes(key[..4].try_into().unwrap());
        let seq = u64::from_be_bytes(key[4..12].try_into().unwrap());
        let mut d = self.0.lock().unwrap();
        let s = d.stream_mut(stream);
        if ok {
            s.acked.set(seq);
        } else {
            s.failed.set(seq);
        }
    }
}

fn config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap);
    c
}

fn producer(bootstrap: &str) -> BaseProducer<Reports> {
    config(bootstrap)
        .set("linger.ms", "5")
        .set("enable.idempotence", "true")
        .create_with_context(Reports::default())
        .expect("producer")
}

/// Sends `seqs` of stream `partition` (one stream per partition) in this order.
fn send_stamped(p: &BaseProducer<Reports>, topic: &str, partition: i32, seqs: &[u64]) {
    let mut value = vec![0u8; 256];
    for &seq in seqs {
        let stream = partition as u32;
        Stamp {
            run_id: RUN,
            stream,
            seq,
            intended_send_ns: 0,
        }
        .write(&mut value);
        let mut key = stream.to_be_bytes().to_vec();
        key.extend(seq.to_be_bytes());
        {
            let mut d = p.context().0.lock().unwrap();
            let s = d.stream_mut(stream);
            s.sent = s.sent.max(seq + 1);
        }
        let mut record = BaseRecord::to(topic)
            .partition(partition)
            .key(&key)
            .payload(&value);
        loop {
            match p.send(record) {
                Ok(()) => break,
                Err((_, r)) => {
                    record = r;
                    p.poll(Duration::from_millis(10));
                }
            }
        }
        p.poll(Duration::ZERO);
    }
    p.flush(TIMEOUT).expect("flush");
}

fn high_watermarks(bootstrap: &str, topic: &str, partitions: i32) -> BTreeMap<i32, i64> {
    let c: BaseConsumer = config(bootstrap).create().expect("consumer");
    (0..partitions)
        .map(|p| (p, c.fetch_watermarks(topic, p, TIMEOUT).unwrap().1))
        .collect()
}

#[test]
fn stamped_records_read_back_clean_and_exact() {
    let mock = MockCluster::new(3).unwrap();
    let bootstrap = mock.bootstrap_servers();
    let topic = "clean";
    mock.create_topic(topic, 3, 1).unwrap();
    let p = producer(&bootstrap);
    let seqs: Vec<u64> = (0..2000).collect();
    for partition in 0..3 {
        send_stamped(&p, topic, partition, &seqs);
    }
    let ends = high_watermarks(&bootstrap, topic, 3);
    assert_eq!(ends.values().sum::<i64>(), 6000);
    let deliveries = p.context().0.lock().unwrap().clone();

    // Records written after the end offsets were recorded are not the cell's.
    send_stamped(&p, topic, 0, &[2000, 2001]);

    let checker = Checker::new(Some(RUN), Some(&deliveries), BTreeSet::new());
    let v = read_topic(&config(&bootstrap), topic, Some(&ends), checker, TIMEOUT).unwrap();
    assert_eq!(v.records_read, 6000);
    assert_eq!(v.streams, 3);
    assert!(v.deliveries_known);
    assert_eq!(v.violations(), 0, "{v:#?}");
    assert_eq!(
        (
            v.foreign,
            v.malformed,
            v.gaps.count,
            v.possibly_persisted.count
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(v.redeliveries.count, 0);

    // Without end offsets the current high watermarks are the end: the two
    // late records are read, and are beyond what the reports say was sent.
    let checker = Checker::new(Some(RUN), Some(&deliveries), BTreeSet::new());
    let v = read_topic(&config(&bootstrap), topic, None, checker, TIMEOUT).unwrap();
    assert_eq!(v.records_read, 6002);
    assert_eq!(
        v.malformed, 2,
        "seqs 2000 and 2001 are beyond what was sent"
    );
    // A record reported delivered that is not in the log is a loss.
    let mut lost = deliveries;
    lost.stream_mut(2).sent = 2001;
    lost.stream_mut(2).acked.set(2000);
    let checker = Checker::new(Some(RUN), Some(&lost), BTreeSet::new());
    let v = read_topic(&config(&bootstrap), topic, Some(&ends), checker, TIMEOUT).unwrap();
    assert_eq!(v.losses.count, 1);
    assert_eq!(v.losses.examples[0].seq, 2000);
    assert_eq!(v.losses.examples[0].stream, 2);
}

#[test]
fn planted_reorders_are_found_in_verify_mode() {
    let mock = MockCluster::new(1).unwrap();
    let bootstrap = mock.bootstrap_servers();
    let topic = "planted";
    mock.create_topic(topic, 1, 1).unwrap();
    let p = producer(&bootstrap);
    send_stamped(&p, topic, 0, &[0, 1, 2, 5, 3, 4, 6, 3]);
    let v = read_topic(
        &config(&bootstrap),
        topic,
        None,
        Checker::new(None, None, BTreeSet::new()),
        TIMEOUT,
    )
    .unwrap();
    assert_eq!(v.records_read, 8);
    assert!(!v.deliveries_known);
    assert_eq!(v.reorders.count, 2);
    assert_eq!(
        (v.reorder_displacement.max, v.reorder_displacement.sum),
        (2, 3)
    );
    assert_eq!(v.log_duplicates.count, 1);
    assert_eq!(v.log_duplicates.examples[0].offset, Some(7));
    assert_eq!(v.log_duplicates.examples[0].detail, Some(4));
    assert_eq!(v.log_duplicates.examples[0].run_id, Some(RUN));
}

fn produce_plain(bootstrap: &str, topic: &str, n: usize) {
    let p: BaseProducer = config(bootstrap).create().unwrap();
    for i in 0..n {
        let value = format!("order {i} placed");
        p.send(BaseRecord::<(), _>::to(topic).payload(&value))
            .unwrap();
        p.poll(Duration::ZERO);
    }
    p.flush(TIMEOUT).unwrap();
}

#[test]
fn a_topic_of_other_records_is_all_malformed() {
    let mock = MockCluster::new(1).unwrap();
    let bootstrap = mock.bootstrap_servers();
    mock.create_topic("plain", 2, 1).unwrap();
    produce_plain(&bootstrap, "plain", 300);
    let v = read_topic(
        &config(&bootstrap),
        "plain",
        None,
        Checker::new(None, None, BTreeSet::new()),
        TIMEOUT,
    )
    .unwrap();
    assert_eq!(v.records_read, 300);
    assert_eq!(v.malformed, 300);
    assert_eq!(v.streams, 0);
}

#[test]
fn unknown_topic_and_unreachable_cluster_are_typed_errors() {
    let mock = MockCluster::new(1).unwrap();
    let bootstrap = mock.bootstrap_servers();
    let checker = || Checker::new(None, None, BTreeSet::new());
    let e = read_topic(&config(&bootstrap), "nope", None, checker(), TIMEOUT).unwrap_err();
    assert!(matches!(e, VerifyError::UnknownTopic { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("topic \"nope\" does not exist on the cluster at {bootstrap:?}")
    );

    // Port 1 on loopback: nothing listens there.
    let e = read_topic(
        &config("127.0.0.1:1"),
        "t",
        None,
        checker(),
        Duration::from_secs(2),
    )
    .unwrap_err();
    assert!(matches!(e, VerifyError::Unreachable { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("cannot reach the cluster at \"127.0.0.1:1\" to read topic \"t\": "),
        "{e}"
    );
}

#[test]
fn a_read_that_stops_short_of_its_end_times_out_saying_how_far_it_got() {
    let mock = MockCluster::new(1).unwrap();
    let bootstrap = mock.bootstrap_servers();
    mock.create_topic("short", 2, 1).unwrap();
    let p = producer(&bootstrap);
    send_stamped(&p, "short", 0, &[0, 1, 2]);
    send_stamped(&p, "short", 1, &[0, 1]);
    // Partition 0 is complete; partition 1 is asked for 10 records it lacks.
    let ends = BTreeMap::from([(0, 3), (1, 10)]);
    let e = read_topic(
        &config(&bootstrap),
        "short",
        Some(&ends),
        Checker::new(Some(RUN), None, BTreeSet::new()),
        Duration::from_secs(1),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "timed out reading topic \"short\": no progress for 1s; read 5 of up to 13 records, \
         1 of 2 partitions complete"
    );
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kafka-order-bench"))
        .args(args)
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .output()
        .expect("run kafka-order-bench");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn verify_subcommand_exit_codes_and_messages() {
    let mock = MockCluster::new(1).unwrap();
    let bootstrap = mock.bootstrap_servers();
    for t in ["good", "bad", "plain"] {
        mock.create_topic(t, 1, 1).unwrap();
    }
    let p = producer(&bootstrap);
    send_stamped(&p, "good", 0, &[0, 1, 2, 3]);
    send_stamped(&p, "bad", 0, &[0, 2, 1, 3]);
    produce_plain(&bootstrap, "plain", 10);

    let (code, out, err) = cli(&["verify", "--topic", "good", "--bootstrap", &bootstrap]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("topic good: 4 records read, 1 streams"),
        "{out}"
    );
    assert!(out.contains("no ordering violations"), "{out}");
    assert!(out.contains("not judged"), "{out}");

    let (code, out, err) = cli(&[
        "verify",
        "--topic",
        "bad",
        "--bootstrap",
        &bootstrap,
        "--json",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON on stdout");
    assert_eq!(json["topic"], "bad");
    assert_eq!(json["violations"], 1);
    assert_eq!(json["verdict"]["reorders"]["count"], 1);
    assert_eq!(json["verdict"]["reorders"]["examples"][0]["seq"], 1);
    assert_eq!(json["verdict"]["reorders"]["examples"][0]["detail"], 1);
    assert_eq!(json["verdict"]["records_read"], 4);

    let (code, out, err) = cli(&["verify", "--topic", "plain", "--bootstrap", &bootstrap]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("\"plain\"") && err.contains("see README: record format"),
        "{err}"
    );

    let (code, _, err) = cli(&["verify", "--topic", "missing", "--bootstrap", &bootstrap]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("topic \"missing\" does not exist"), "{err}");

    let (code, _, err) = cli(&["verify", "--topic", "good"]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("--bootstrap") && err.contains("KAFKA_BOOTSTRAP_SERVERS"),
        "{err}"
    );
}
