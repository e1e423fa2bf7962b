//! `verify` on a keyed topic of several partitions on librdkafka's mock
//! cluster (in-process, seconds): planted anomalies counted exactly per
//! partition and per key, the same with one reader and with several, and
//! `--readers` refused when out of range.

use std::process::Command;
use std::time::Duration;

use kafka_order_bench::record::{write_key_seq, Stamp, KEYED_HEADER_BYTES};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;

const RUN: u64 = 0x6b65_7973;

/// Sends, on each of 6 partitions (stream = partition), sequences 0..20
/// keyed `p<partition>-a` (even) and `p<partition>-b` (odd), each with its
/// key sequence (seq / 2), in the order `order(partition)` gives.
fn produce(bootstrap: &str, topic: &str, order: impl Fn(i32) -> Vec<u64>) {
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .unwrap();
    let mut value = vec![0u8; KEYED_HEADER_BYTES + 20];
    for partition in 0..6 {
        for seq in order(partition) {
            Stamp {
                run_id: RUN,
                stream: partition as u32,
                seq,
                intended_send_ns: 0,
            }
            .write(&mut value);
            write_key_seq(&mut value, seq / 2);
            let key = format!("p{partition}-{}", if seq % 2 == 0 { "a" } else { "b" });
            p.send(
                BaseRecord::to(topic)
                    .partition(partition)
                    .key(&key)
                    .payload(&value),
            )
            .unwrap();
            p.poll(Duration::ZERO);
        }
    }
    p.flush(Duration::from_secs(20)).unwrap();
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
fn planted_anomalies_per_partition_and_key_with_one_reader_or_three() {
    let mock = MockCluster::new(1).unwrap();
    let bootstrap = mock.bootstrap_servers();
    mock.create_topic("keyed", 6, 1).unwrap();
    produce(&bootstrap, "keyed", |p| match p {
        // 6 before 5 and 4: two stream reorders, one of key a (4 after 6).
        1 => vec![0, 1, 2, 3, 6, 5, 4].into_iter().chain(7..20).collect(),
        // 9 (key b) again after 12: one copy.
        3 => (0..13).chain([9]).chain(13..20).collect(),
        // 10 (key a, key sequence 5) never sent: one missing, for key a.
        4 => (0..20).filter(|q| *q != 10).collect(),
        _ => (0..20).collect(),
    });

    let mut seen = Vec::new();
    for readers in ["1", "3"] {
        let (code, out, err) = cli(&[
            "verify",
            "--topic",
            "keyed",
            "--json",
            "--readers",
            readers,
            "--bootstrap",
            &bootstrap,
        ]);
        assert_eq!(code, 1, "{out}{err}");
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        let v = json["verdict"].clone();
        assert_eq!(v["records_read"], 120);
        assert_eq!(v["streams"], 6);
        assert_eq!(v["reorders"]["count"], 2);
        assert_eq!(v["log_duplicates"]["count"], 1);
        assert_eq!(v["missing"]["count"], 1);
        let per_partition: Vec<(u64, u64, u64, u64)> = (0..6)
            .map(|p| {
                let c = &v["partitions"][p.to_string()];
                (
                    c["records_read"].as_u64().unwrap(),
                    c["reorders"].as_u64().unwrap(),
                    c["log_duplicates"].as_u64().unwrap(),
                    c["missing"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            per_partition,
            vec![
                (20, 0, 0, 0),
                (20, 2, 0, 0),
                (20, 0, 0, 0),
                (21, 0, 1, 0),
                (19, 0, 0, 1),
                (20, 0, 0, 0)
            ]
        );
        let k = &v["keys"];
        assert_eq!(k["keyed_records"], 120);
        assert_eq!(k["keys"], 12);
        assert_eq!(k["keys_with_key_seq"], 12);
        assert_eq!(
            (
                k["reorders"].clone(),
                k["log_duplicates"].clone(),
                k["missing"].clone()
            ),
            (1.into(), 1.into(), 1.into())
        );
        assert_eq!(k["keys_on_several_partitions"], 0);
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
        assert_eq!(
            keys,
            vec![
                ("p1-a".into(), 1, 1, 0, 0),
                ("p3-b".into(), 3, 0, 1, 0),
                ("p4-a".into(), 4, 0, 0, 1)
            ]
        );
        seen.push(v);
    }
    // Apart from the order of examples, one reader and three agree.
    for v in &mut seen {
        for kind in ["reorders", "log_duplicates", "missing"] {
            v[kind]["examples"] = serde_json::Value::Null;
        }
        v["missing_ranges"] = serde_json::Value::Null;
    }
    assert_eq!(seen[0], seen[1]);

    let (code, out, _) = cli(&["verify", "--topic", "keyed", "--bootstrap", &bootstrap]);
    assert_eq!(code, 1);
    assert!(
        out.contains("partitions: 6 read, 3 with violations"),
        "{out}"
    );
    assert!(
        out.contains("keys: 120 keyed records, 12 keys (per stream), 3 with violations"),
        "{out}"
    );
    assert!(
        out.contains(
            "key \"p4-a\" partition 4 stream 4: 9 records, 0 reorders, 0 log duplicates, 1 missing"
        ),
        "{out}"
    );
}

#[test]
fn readers_out_of_range_are_a_one_line_error() {
    for bad in ["0", "9", "x", "-1"] {
        let (code, out, err) = cli(&[
            "verify",
            "--topic",
            "t",
            "--readers",
            bad,
            "--bootstrap",
            "127.0.0.1:1",
        ]);
        assert_eq!(code, 2, "{bad}: {out}{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("--readers \"{bad}\"")) && err.contains("from 1 to 8"),
            "{err}"
        );
    }
}
