//! A librdkafka session's CPU probe on the mock cluster: it charges this
//! producer's own librdkafka threads and the sending thread, not the mock
//! broker's, and reads the broker wake-up rate from the statistics.
//!
//! Its own test binary, so that no other test's librdkafka client is
//! created while the session learns its threads.

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;

use kafka_order_bench::cpu::ClientProbe;
use kafka_order_bench::grid::{Acks, Fixed, ProducerSettings};
use kafka_order_bench::librdkafka::{Created, RoundSpec, Session};

const TOPIC: &str = "kob-cpu-mock";

#[test]
fn the_probe_charges_this_producers_threads_over_a_round() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic(TOPIC, 1, 1).unwrap();
    mock.broker_round_trip_time(1, Duration::from_millis(20))
        .unwrap();
    let mut base = ClientConfig::new();
    base.set("bootstrap.servers", mock.bootstrap_servers());
    let fixed = Fixed {
        record_bytes: 256,
        message_timeout_ms: 30_000,
        ..Fixed::default()
    };
    let settings = ProducerSettings {
        max_in_flight: 5,
        acks: Acks::All,
        idempotence: false,
    };
    let mut session = match Session::create(
        &base,
        &settings,
        &fixed,
        TOPIC,
        7,
        fixed.producer_streams(0, 0),
    )
    .unwrap()
    {
        Created::Session(s) => *s,
        Created::Rejected(m) => panic!("unexpected rejection: {m}"),
    };
    session.warm_up(100).unwrap();

    let probe = session.cpu_probe();
    let ClientProbe::InProcess(attribution) = &probe else {
        panic!("librdkafka is probed in process: {probe:?}");
    };
    assert_eq!(attribution.senders.len(), 1, "{attribution:?}");
    let own = attribution
        .librdkafka
        .as_ref()
        .expect("known after warm-up");
    let names: Vec<String> = own
        .iter()
        .filter_map(|tid| std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).ok())
        .map(|s| s.trim().to_string())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("rdk:broker")),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n == "rdk:mock"), "{names:?}");

    // Long enough for at least two statistics snapshots (one a second).
    let records = 10_000;
    let spec = RoundSpec {
        warmup: 0,
        windows: 1,
        records_per_window: records,
        tail: 0,
        burst: 0,
    };
    let start = probe.start();
    let from = Instant::now();
    let mut wakeups = None;
    while wakeups.is_none() && from.elapsed() < Duration::from_secs(20) {
        session.round(&spec).unwrap();
        wakeups = session.wakeups_per_sec(from, Instant::now());
    }
    let rounds = session.samples().len() as u64;
    let cpu = probe
        .client_cpu(&start, rounds * records, wakeups)
        .expect("read from /proc");
    assert_eq!(cpu.records, rounds * records);
    assert!(cpu.user_ms + cpu.system_ms > 0.0, "{cpu:?}");
    assert!(cpu.cpu_us_per_record.is_some_and(|us| us > 0.0), "{cpu:?}");
    // An idle broker thread wakes about once a second per broker; a
    // producing one at least once per request.
    assert!(cpu.wakeups_per_sec.is_some_and(|w| w > 10.0), "{cpu:?}");
    session.finish().unwrap();
}
