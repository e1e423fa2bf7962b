//! `kafka-order-bench verify` on a topic another client wrote: Python's
//! confluent-kafka, on the real local cluster, with planted reorders, log
//! duplicates and missing sequences in the 32-byte stamp format. Each must
//! be counted exactly.
//!
//! A second topic, of 32 partitions and keyed (4 keys per partition, with
//! the key extension: see `record.rs`), carries planted reorders, copies
//! and missing records on several partitions and keys: each is counted
//! exactly per partition and per key, with one reader and with four.
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

/// The keyed producer: on each of 32 partitions (stream = partition, run
/// 0x78) sequences 0..200, keyed `k<partition>-<seq % 4>`, key sequence
/// `seq / 4`, in order but for the plants listed in [`KEYED_PLANTS`].
const KEYED_SCRIPT: &str = r#"
import struct, sys, time
from confluent_kafka import Producer

bootstrap, topic = sys.argv[1], sys.argv[2]
RUN = 0x78
p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
              "acks": "all", "linger.ms": 5})
failed = []
def report(err, msg):
    if err is not None:
        failed.append(err)

def order(part):
    s = list(range(200))
    if part == 2:    # 40..43 (one of each key) after 44..47
        s = list(range(40)) + list(range(44, 48)) + list(range(40, 44)) + list(range(48, 200))
    if part == 9:    # 101 before 100: different keys, no key reorder
        s = list(range(100)) + [101, 100] + list(range(102, 200))
    if part == 17:   # 8 after 12: the same key
        s = list(range(8)) + [9, 10, 11, 12, 8] + list(range(13, 200))
    if part == 5:    # 60, 61 again after 62
        s = list(range(63)) + [60, 61] + list(range(63, 200))
    if part == 30:   # 199 twice
        s = s + [199]
    if part == 11:   # 120..123 absent
        s = [q for q in s if not 120 <= q <= 123]
    if part == 25:   # 50 absent
        s = [q for q in s if q != 50]
    return s

sent = 0
for part in range(32):
    for q in order(part):
        value = struct.pack(">4sQIQQ", b"KOB1", RUN, part, q, time.time_ns())
        value += struct.pack(">4sQ", b"KOBK", q // 4) + b"." * 20
        key = ("k%d-%d" % (part, q % 4)).encode()
        p.produce(topic, key=key, value=value, partition=part, on_delivery=report)
        p.poll(0)
        sent += 1
left = p.flush(30)
if left or failed:
    sys.exit("not delivered: %d left, errors %r" % (left, failed[:3]))
print(sent)
"#;

/// A partition and what it holds: (records, stream reorders, log
/// duplicates, missing).
type Plant = (u64, (u64, u64, u64, u64));

/// The partitions with plants; every other holds 200 records, in order.
const KEYED_PLANTS: &[Plant] = &[
    (2, (200, 4, 0, 0)),
    (5, (202, 0, 2, 0)),
    (9, (200, 1, 0, 0)),
    (11, (196, 0, 0, 4)),
    (17, (200, 1, 0, 0)),
    (25, (199, 0, 0, 1)),
    (30, (201, 0, 1, 0)),
];

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

    keyed_topic_of_32_partitions(&cluster);
}

fn keyed_topic_of_32_partitions(cluster: &LocalCluster) {
    let topic = topic_name(&["foreign-keyed", &std::process::id().to_string()]);
    create_topic(cluster, &topic, 32).unwrap();
    let out = Command::new("python3")
        .args(["-c", KEYED_SCRIPT, &cluster.bootstrap(), &topic])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the Python producer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sent: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert_eq!(sent, 32 * 200 - 5 + 3);

    let mut verdicts = Vec::new();
    for readers in ["1", "4"] {
        let out = Command::new(env!("CARGO_BIN_EXE_kafka-order-bench"))
            .args(["verify", "--topic", &topic, "--json", "--readers", readers])
            .args(["--bootstrap", &cluster.bootstrap()])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut v = json["verdict"].clone();
        assert_eq!(v["records_read"], sent);
        assert_eq!(v["streams"], 32);
        assert_eq!(v["malformed"], 0);
        assert_eq!(v["reorders"]["count"], 6);
        assert_eq!(v["reorder_displacement"]["max"], 7, "p2: 47 - 40");
        assert_eq!(v["log_duplicates"]["count"], 3);
        assert_eq!(v["missing"]["count"], 5);
        assert_eq!(json["violations"], 6 + 3 + 5);
        for p in 0..32u64 {
            let c = &v["partitions"][p.to_string()];
            let got = (
                c["records_read"].as_u64().unwrap(),
                (
                    c["reorders"].as_u64().unwrap(),
                    c["log_duplicates"].as_u64().unwrap(),
                    c["missing"].as_u64().unwrap(),
                ),
            );
            let want = KEYED_PLANTS
                .iter()
                .find(|(q, _)| *q == p)
                .map(|(_, (n, r, d, m))| (*n, (*r, *d, *m)))
                .unwrap_or((200, (0, 0, 0)));
            assert_eq!(got, want, "partition {p}");
        }
        let k = &v["keys"];
        assert_eq!(k["keyed_records"], sent);
        assert_eq!(k["keys"], 128);
        assert_eq!(k["keys_with_key_seq"], 128);
        assert_eq!(k["keys_on_several_partitions"], 0);
        assert_eq!(k["untracked"], 0);
        // p2's four keys each step back once; p9's swap is across keys;
        // p17's 8 steps back within k17-0.
        assert_eq!(k["reorders"], 5);
        assert_eq!(k["log_duplicates"], 3);
        assert_eq!(k["missing"], 5);
        assert_eq!(k["keys_with_violations"], 13);
        let keys: Vec<(String, u64, u64, u64, u64)> = k["violating"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["key"].as_str().unwrap().to_string(),
                    c["partition"].as_u64().unwrap(),
                    c["reorders"].as_u64().unwrap(),
                    c["log_duplicates"].as_u64().unwrap(),
                    c["missing"].as_u64().unwrap(),
                )
            })
            .collect();
        let want: Vec<(String, u64, u64, u64, u64)> = [
            ("k2-0", 2, 1, 0, 0),
            ("k2-1", 2, 1, 0, 0),
            ("k2-2", 2, 1, 0, 0),
            ("k2-3", 2, 1, 0, 0),
            ("k5-0", 5, 0, 1, 0),
            ("k5-1", 5, 0, 1, 0),
            ("k11-0", 11, 0, 0, 1),
            ("k11-1", 11, 0, 0, 1),
            ("k11-2", 11, 0, 0, 1),
            ("k11-3", 11, 0, 0, 1),
            ("k17-0", 17, 1, 0, 0),
            ("k25-2", 25, 0, 0, 1),
            ("k30-3", 30, 0, 1, 0),
        ]
        .into_iter()
        .map(|(key, p, r, d, m)| (key.to_string(), p, r, d, m))
        .collect();
        assert_eq!(keys, want);
        for kind in ["reorders", "log_duplicates", "missing"] {
            v[kind]["examples"] = serde_json::Value::Null;
        }
        v["missing_ranges"] = serde_json::Value::Null;
        verdicts.push(v);
    }
    assert_eq!(verdicts[0], verdicts[1], "one reader and four agree");
}
