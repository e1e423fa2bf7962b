//! A cell end to end on librdkafka's mock cluster: the runner's send path,
//! the delivery tally and the checker, with retriable Produce errors injected.
//!
//! The mock cluster is a test fixture only: it does not check idempotent
//! sequences and ignores `acks`, so nothing measured here reaches a report.
//! What it can show, fast and hermetically, is the non-idempotent retry path
//! reordering records, and librdkafka refusing configurations.

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

use kafka_order_bench::grid::{Acks, Fixed, ProducerSettings};
use kafka_order_bench::librdkafka::{Created, RoundSpec, Session};
use kafka_order_bench::verify::{self, Checker};

const TOPIC: &str = "kob-mock";

fn fixed() -> Fixed {
    Fixed {
        record_bytes: 256,
        linger_ms: 0,
        // Small batches: many Produce requests, several in flight at once.
        batch_bytes: 4_096,
        message_timeout_ms: 20_000,
        ..Fixed::default()
    }
}

fn settings(max_in_flight: u32, acks: Acks, idempotence: bool) -> ProducerSettings {
    ProducerSettings {
        max_in_flight,
        acks,
        idempotence,
    }
}

fn base(mock: &MockCluster<'_, rdkafka::producer::DefaultProducerContext>) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", mock.bootstrap_servers())
        // Retry at once so the retried batch races the ones behind it.
        .set("retry.backoff.ms", "1")
        .set("retry.backoff.max.ms", "10");
    c
}

fn session(base: &ClientConfig, s: &ProducerSettings) -> Session {
    match Session::create(base, s, &fixed(), TOPIC, 7, fixed().producer_streams(0, 0))
        .expect("producer")
    {
        Created::Session(s) => *s,
        Created::Rejected(m) => panic!("unexpected rejection: {m}"),
    }
}

#[test]
fn retriable_errors_reorder_a_non_idempotent_stream() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic(TOPIC, 1, 1).unwrap();
    // Requests take a while, so several are in flight when one fails.
    mock.broker_round_trip_time(1, Duration::from_millis(20))
        .unwrap();
    let base = base(&mock);
    let s = settings(5, Acks::All, false);
    let mut session = session(&base, &s);
    session.warm_up(100).unwrap();

    // Every 7th Produce request is refused before append (NOT_ENOUGH_REPLICAS,
    // retriable); the others succeed.
    let mut errors = Vec::new();
    for i in 0..200 {
        errors.push(if i % 7 == 3 {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS
        } else {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR
        });
    }
    mock.request_errors(RDKafkaApiKey::Produce, &errors);
    session.round(&one_window(5_000)).unwrap();
    let run = session.finish().unwrap();
    assert_eq!(run.delivery.failed, 0, "every record is retried to success");
    assert_eq!(run.delivery.acked, 5_100);
    assert!(
        run.client.records_resent > 0,
        "refused batches were sent again: {:?}",
        run.client
    );

    let checker = Checker::new(Some(7), Some(&run.deliveries), verify::permitted(&s));
    let verdict = verify::read_topic(&base, TOPIC, None, checker, Duration::from_secs(30)).unwrap();
    assert_eq!(verdict.records_read, 5_100);
    assert_eq!((verdict.malformed, verdict.foreign), (0, 0));
    assert_eq!(verdict.losses.count, 0);
    assert!(
        verdict.reorders.count > 0,
        "retried batches land after later ones: {verdict:?}"
    );
    assert!(verdict.reorder_displacement.max > 0);
    // Reorders are what this configuration permits: data, not a harness error.
    assert!(verdict.permitted.contains(&verify::AnomalyKind::Reorder));
}

/// A round that is one window and nothing else.
fn one_window(records: u64) -> RoundSpec {
    RoundSpec {
        warmup: 0,
        windows: 1,
        records_per_window: records,
        tail: 0,
        burst: 0,
    }
}

#[test]
fn bursts_wait_for_every_record_before_the_next() {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    use std::sync::Arc;
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic(TOPIC, 1, 1).unwrap();
    mock.broker_round_trip_time(1, Duration::from_millis(5))
        .unwrap();
    let base = base(&mock);
    let s = settings(5, Acks::All, false);
    // The most records sent and not yet acknowledged seen during a round
    // (read sent first: a sample never overstates it).
    let most_unacked = |burst: u64| {
        let mut session = session(&base, &s);
        session.warm_up(50).unwrap();
        let (sent, acked) = (session.sent_counter(), session.acked_counter());
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut most = 0;
                while !stop.load(Relaxed) {
                    let s = sent.load(Relaxed);
                    most = most.max(s.saturating_sub(acked.load(Relaxed)));
                    std::thread::yield_now();
                }
                most
            })
        };
        let spec = RoundSpec {
            burst,
            ..one_window(2_000)
        };
        session.round(&spec).unwrap();
        stop.store(true, Relaxed);
        let most = watcher.join().unwrap();
        assert_eq!(session.finish().unwrap().delivery.acked, 2_050);
        most
    };
    let bursts = most_unacked(100);
    assert!(bursts <= 100, "{bursts} records unacknowledged at once");
    let free = most_unacked(0);
    assert!(free > 100, "without bursts the client runs ahead: {free}");
}

#[test]
fn without_faults_the_mock_cell_is_clean_and_fully_accounted() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic(TOPIC, 1, 1).unwrap();
    let base = base(&mock);
    let s = settings(5, Acks::All, false);
    let mut session = session(&base, &s);
    session.warm_up(50).unwrap();
    let spec = RoundSpec {
        warmup: 200,
        windows: 3,
        records_per_window: 500,
        tail: 300,
        burst: 0,
    };
    let windows = session.round(&spec).unwrap();
    assert_eq!(windows.len(), 3, "every window of the round closed");
    assert!(windows.iter().all(|w| w.records == 500 && w.round == 0));
    let sample = session.round(&one_window(2_000)).unwrap().pop().unwrap();
    assert_eq!(sample.records, 2_000);
    assert_eq!(sample.round, 1);
    assert_eq!(sample.bytes, 2_000 * 256);
    assert!(sample.p99_us >= sample.p50_us && sample.p50_us > 0);
    let run = session.finish().unwrap();
    assert_eq!(
        run.latency.count,
        3 * 500 + 2_000,
        "only records acknowledged inside windows are in the histogram"
    );
    assert_eq!(run.samples.len(), 4);
    assert_eq!(run.delivery.sent, 50 + 2_000 + 2_000);
    assert_eq!(run.delivery.acked, 50 + 2_000 + 2_000);
    assert_eq!(run.client.retries, 0);
    assert_eq!(run.effective["max.in.flight.requests.per.connection"], "5");
    assert_eq!(run.effective["enable.idempotence"], "false");

    let checker = Checker::new(Some(7), Some(&run.deliveries), verify::permitted(&s));
    let v = verify::read_topic(&base, TOPIC, None, checker, Duration::from_secs(30)).unwrap();
    assert_eq!(v.records_read, 4_050);
    assert_eq!((v.malformed, v.foreign), (0, 0));
    assert_eq!(v.violations(), 0);
    assert_eq!(v.gaps.count, 0);
}

#[test]
fn rejected_cells_carry_librdkafkas_exact_messages() {
    let mock = MockCluster::new(1).unwrap();
    let base = base(&mock);
    let reject = |s: ProducerSettings| match Session::create(
        &base,
        &s,
        &fixed(),
        TOPIC,
        1,
        fixed().producer_streams(0, 0),
    )
    .unwrap()
    {
        Created::Rejected(m) => m,
        Created::Session(_) => panic!("{} was accepted", s.id()),
    };
    assert_eq!(
        reject(settings(10, Acks::All, true)),
        "`max.in.flight` must be set <= 5 when `enable.idempotence` is true"
    );
    assert_eq!(
        reject(settings(5, Acks::One, true)),
        "`acks` must be set to `all` when `enable.idempotence` is true"
    );
    assert!(matches!(
        Session::create(
            &base,
            &settings(5, Acks::All, true),
            &fixed(),
            TOPIC,
            1,
            fixed().producer_streams(0, 0)
        )
        .unwrap(),
        Created::Session(_)
    ));
}
