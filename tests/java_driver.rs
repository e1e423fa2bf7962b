//! The Java producer driver on a real local 3-node cluster: built by Maven
//! for kafka-clients 4.1.1, driven through create / round / fixed_rate /
//! finish, its records read back by the checker; a configuration the Java
//! client refuses; a client version Maven cannot fetch.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use kafka_order_bench::cluster::{create_topic, topic_name, Cluster, LocalCluster, LocalOptions};
use kafka_order_bench::driver::java::{base_from_rdkafka, JavaCreated};
use kafka_order_bench::driver::{JavaDriver, JavaSession};
use kafka_order_bench::grid::{Acks, Fixed, ProducerSettings};
use kafka_order_bench::verify::{self, Checker};

const VERSION: &str = "4.1.1";

fn settings(max_in_flight: u32, acks: Acks, idempotence: bool) -> ProducerSettings {
    ProducerSettings {
        max_in_flight,
        acks,
        idempotence,
    }
}

#[test]
fn a_version_maven_cannot_fetch_is_one_line_naming_it() {
    let cache = tempfile::tempdir().unwrap();
    let e = JavaDriver::prepare_in("0.0.1", cache.path()).unwrap_err();
    let text = e.to_string();
    assert!(!text.contains('\n'), "{text}");
    assert!(
        text.starts_with(
            "Java client 0.0.1: Maven cannot fetch org.apache.kafka:kafka-clients:0.0.1 (log: "
        ),
        "{text}"
    );
    // Nothing half-built is left where a later run would take it for a build.
    assert!(!cache.path().join("java-driver-0.0.1").exists());
}

#[test]
fn the_java_driver_on_a_real_cluster() {
    let client = JavaDriver::prepare(VERSION).expect("the driver builds for 4.1.1");
    // Prepared once: the second call finds the build.
    assert_eq!(JavaDriver::prepare(VERSION).unwrap(), client);

    let cluster = LocalCluster::start(LocalOptions::default()).expect("local cluster starts");
    let base: BTreeMap<String, String> = base_from_rdkafka(&cluster.client_config());
    let fixed = Fixed {
        partitions: 3,
        ..Fixed::default()
    };
    let run_tag = 0x6a61_7661_0000_0001;

    // A configuration the Java client refuses: its message, verbatim.
    let refused = settings(6, Acks::All, true);
    match JavaSession::create(
        &client,
        &base,
        &refused,
        &fixed,
        "kob-never-created",
        run_tag,
        &fixed.producer_streams(0, 0),
    )
    .unwrap()
    {
        JavaCreated::Rejected { message, exception } => {
            assert_eq!(exception, "org.apache.kafka.common.config.ConfigException");
            assert_eq!(
                message,
                "To use the idempotent producer, max.in.flight.requests.per.connection must be set to at most 5. Current value is 6."
            );
        }
        JavaCreated::Session(_) => panic!("idempotence with max.in.flight 6 was accepted"),
    }

    let s = settings(5, Acks::All, true);
    let topic = topic_name(&["java-driver", &s.id()]);
    create_topic(&cluster, &topic, fixed.partitions as i32).unwrap();
    let JavaCreated::Session(mut session) = JavaSession::create(
        &client,
        &base,
        &s,
        &fixed,
        &topic,
        run_tag,
        &fixed.producer_streams(0, 0),
    )
    .unwrap() else {
        panic!("idempotent acks=all in-flight 5 was rejected")
    };
    assert_eq!(session.client_version(), VERSION);
    let eff = session.effective();
    assert_eq!(eff["enable.idempotence"], "true");
    assert_eq!(eff["acks"], "-1");
    assert_eq!(eff["max.in.flight.requests.per.connection"], "5");
    assert_eq!(eff["batch.size"], "16384");
    // Recorded through the allowlist, as librdkafka's configuration is.
    assert!(
        eff.keys()
            .all(|k| kafka_order_bench::redact::RECORDED_JAVA_KEYS.contains(&k.as_str())),
        "{eff:?}"
    );
    assert!(!eff.contains_key("bootstrap.servers"));
    assert!(session.adjusted().is_empty(), "{:?}", session.adjusted());
    let sent = session.sent_counter();

    // Two rounds on one producer (the second in bursts of 100), then a
    // fixed-rate phase.
    let w1 = session.round(500, 4, 1_000, 200, 0).unwrap();
    let w2 = session.round(0, 2, 500, 0, 100).unwrap();
    for (w, per) in w1
        .iter()
        .map(|w| (w, 1_000))
        .chain(w2.iter().map(|w| (w, 500)))
    {
        assert_eq!(w.records, per);
        assert_eq!(w.bytes, per * 1024);
        assert_eq!(w.failed, 0);
        assert!(w.elapsed_ns > 0);
        // Every record of the window is in its histogram, from 1 µs up.
        assert_eq!(w.histogram.len(), per);
        assert!(w.histogram.min() >= 1);
    }
    assert_eq!((w1.len(), w2.len()), (4, 2));
    let fr = session.fixed_rate(2_000.0, 1_000).unwrap();
    assert_eq!(fr.records, 1_000);
    assert_eq!(fr.histogram.len(), 1_000);
    assert_eq!(fr.send_delay.len(), 1_000);
    // The last record was due 999/2000 s after the start.
    assert!(fr.elapsed_ns >= 499_500_000, "{}", fr.elapsed_ns);
    let total = 4_700 + 1_000 + 1_000;
    assert_eq!(sent.load(std::sync::atomic::Ordering::Relaxed), total);

    let done = session.finish().unwrap();
    assert_eq!(done.deliveries.streams.len(), 3);
    let sum: u64 = done.deliveries.streams.iter().map(|d| d.sent).sum();
    assert_eq!(sum, total);
    for d in &done.deliveries.streams {
        assert_eq!(d.acked.count(), d.sent);
        assert_eq!(d.failed.count(), 0);
    }
    assert!(done.failed_by_exception.is_empty());
    assert_eq!(done.metrics["record-send-total"], total as f64);
    assert_eq!(done.metrics["record-error-total"], 0.0);
    assert!(done.metrics.contains_key("record-retry-total"));
    assert_eq!(done.effective["enable.idempotence"], "true");
    assert_eq!(done.acked_end_offsets.len(), 3);

    // Read back: every record, in order, once.
    let checker = Checker::new(Some(run_tag), Some(&done.deliveries), verify::permitted(&s));
    let verdict = verify::read_topic(
        &cluster.client_config(),
        &topic,
        Some(&done.acked_end_offsets),
        checker,
        Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(verdict.records_read, total);
    assert_eq!(verdict.malformed, 0);
    assert_eq!(verdict.foreign, 0);
    assert_eq!(verdict.streams, 3);
    assert_eq!(verdict.violations(), 0, "{verdict:?}");
    assert_eq!(verdict.gaps.count, 0);

    let pids: Vec<u32> = cluster.status().iter().filter_map(|n| n.pid).collect();
    drop(cluster);
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "broker {pid} outlived its cluster"
        );
    }
}
