//! `kafka-order-bench verify` on a topic another client wrote: Python's
//! confluent-kafka, on the real local cluster, with planted reorders, log
//! duplicates and missing sequences in the 32-byte stamp format. Each must
//! be counted exactly.
//!
//! Needs `python3` with `confluent-kafka`; the test installs it with
//! `python3 -m pip install --quiet confluent-kafka` when it is missing.

use std::process::Command;

use kafka_order_bench::cluster::{create_topic, topic_name, Cluster, LocalCluster, LocalOptions};

/// The producer: one idempotent, in-order producer, so the log holds the
/// records exactly in the order the script sends them. Plants, on
/// partition 0 / stream 0 of run 0x77: sequences 0..1000 with 700..=704
/// absent (5 missing), 310..320 sent before 300..310 (10 reorders), and
/// 500, 501, 502 sent again after 503 (3 log duplicates); on partition 1 /
/// stream 1: 0..200 with 50..=59 absent (10 missing). Sequences above a
/// stream's highest are never sent, so nothing unknown is counted.
const SCRIPT: &str = r#"
import struct, sys, time
from confluent_kafka import Producer

bootstrap, topic = sys.argv[1], sys.argv[2]
RUN = 0x77
p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
              "acks": "all", "linger.ms": 5})
failed = []
def report(err, msg):
    if err is not None:
        failed.append(err)

def send(partition, stream, seq):
    value = struct.pack(">4sQIQQ", b"KOB1", RUN, stream, seq, time.time_ns()) + b"." * 32
    p.produce(topic, value=value, partition=partition, on_delivery=report)
    p.poll(0)

s0 = [q for q in range(0, 300)] + list(range(310, 320)) + list(range(300, 310))
s0 += list(range(320, 504)) + [500, 501, 502]
s0 += [q for q in range(504, 1000) if not 700 <= q <= 704]
for q in s0:
    send(0, 0, q)
for q in range(0, 200):
    if not 50 <= q <= 59:
        send(1, 1, q)
left = p.flush(30)
if left or failed:
    sys.exit("not delivered: %d left, errors %r" % (left, failed[:3]))
print(len(s0) + 190)
"#;

fn python_with_confluent_kafka() {
    let has = |py: &str| {
        Command::new("python3")
            .args(["-c", py])
            .status()
            .is_ok_and(|s| s.success())
    };
    if has("import confluent_kafka") {
        return;
    }
    let status = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "confluent-kafka"])
        .status()
        .expect("python3 runs");
    assert!(
        status.success() && has("import confluent_kafka"),
        "this test needs Python's confluent-kafka: python3 -m pip install confluent-kafka"
    );
}

#[test]
fn verify_counts_what_another_client_planted() {
    python_with_confluent_kafka();
    let cluster = LocalCluster::start(LocalOptions::default()).expect("local cluster starts");
    let topic = topic_name(&["foreign", &std::process::id().to_string()]);
    create_topic(&cluster, &topic, 2).unwrap();

    let out = Command::new("python3")
        .args(["-c", SCRIPT, &cluster.bootstrap(), &topic])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the Python producer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sent: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert_eq!(sent, 998 + 190);

    let out = Command::new(env!("CARGO_BIN_EXE_kafka-order-bench"))
        .args(["verify", "--topic", &topic, "--json", "--bootstrap"])
        .arg(cluster.bootstrap())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "violations give exit status 1: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let v = &json["verdict"];
    assert_eq!(v["records_read"], sent);
    assert_eq!(v["streams"], 2);
    assert_eq!(v["malformed"], 0);
    assert_eq!(v["reorders"]["count"], 10);
    assert_eq!(v["reorder_displacement"]["max"], 19, "{v}");
    assert_eq!(v["log_duplicates"]["count"], 3);
    assert_eq!(v["redeliveries"]["count"], 0);
    assert_eq!(v["missing"]["count"], 15);
    assert_eq!(json["missing"], 15);
    let ranges: Vec<(u64, u64, u64)> = v["missing_ranges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["stream"].as_u64().unwrap(),
                r["first_seq"].as_u64().unwrap(),
                r["last_seq"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut sorted = ranges.clone();
    sorted.sort();
    assert_eq!(sorted, vec![(0, 700, 704), (1, 50, 59)]);
    assert_eq!(json["violations"], 10 + 3 + 15);
    assert_eq!(v["deliveries_known"], false);
    assert!(json["missing_note"]
        .as_str()
        .unwrap()
        .contains("lost, or never acknowledged"));

    // The summary says the same.
    let out = Command::new(env!("CARGO_BIN_EXE_kafka-order-bench"))
        .args(["verify", "--topic", &topic, "--bootstrap"])
        .arg(cluster.bootstrap())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("missing              15"), "{text}");
    assert!(text.contains("stream 0 seq 700..=704"), "{text}");
    assert!(text.contains("28 ordering violations"), "{text}");
}
