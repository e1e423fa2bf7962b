//! librdkafka reorders a non-idempotent stream at `max.in.flight=1`: one
//! refused ProduceRequest on librdkafka's mock cluster, no proxy, no JVM.
//!
//! # The mechanism (librdkafka 2.12.1, bundled by `rdkafka-sys`)
//!
//! `max.in.flight` limits requests *sent and awaiting a response*, not
//! requests *built*. `rd_kafka_send` (`src/rdkafka_broker.c`) sends from the
//! broker's output queue `rkb_outbufs` only while `rkb_waitresps` holds fewer
//! than `rkb_max_inflight` requests; but `rd_kafka_toppar_producer_serve`
//! (same file) builds ProduceRequests (`rd_kafka_ProduceRequest`) from the
//! partition's transmit queue `rktp_xmit_msgq` whenever
//! `rd_kafka_broker_outbufs_space` allows, that is while `rkb_outbufs` holds
//! fewer than `queue.buffering.backpressure.threshold` (default 1) requests.
//! So with request *n* in flight, request *n+1* is already built, holding the
//! next records, and waits in `rkb_outbufs`.
//!
//! When request *n* comes back with a retriable error (NOT_ENOUGH_REPLICAS:
//! `RD_KAFKA_ERR_ACTION_RETRY | RD_KAFKA_ERR_ACTION_MSG_NOT_PERSISTED` in
//! `rd_kafka_handle_Produce_error`, `src/rdkafka_request.c`), its records go
//! back to the partition queue `rktp_msgq` at their sorted position
//! (`rd_kafka_toppar_retry_msgq` → `rd_kafka_retry_msgq`,
//! `src/rdkafka_partition.c`), and a later serve merges them, still sorted,
//! into `rktp_xmit_msgq`. Sorted among the records *not yet built into a
//! request*; request *n+1* is already built, is the head of `rkb_outbufs`,
//! and goes out first. Its records land before the retried ones: a reorder,
//! with one request in flight at any time.
//!
//! Only the idempotent producer undoes it: the same error handler calls
//! `rd_kafka_idemp_drain_toppar` ("drain before retrying"), and
//! `rd_kafka_toppar_producer_serve`, seeing `rktp_eos.wait_drain`, purges the
//! partition's already-built requests from `rkb_outbufs`
//! (`rd_kafka_broker_bufq_purge_by_toppar` with `ERR__RETRY`), whose records
//! then go back through the same sorted insert; nothing is sent until the
//! in-flight requests have drained. (It also builds less ahead: at most
//! `RD_KAFKA_IDEMP_MAX_INFLIGHT` (5) minus the *records* already built and
//! unanswered, `rktp_msgs_inflight`, so with 5 or more records per request
//! it builds nothing behind an unanswered one; see the last test.) An
//! application that flushes after each batch never has a second request
//! built behind a failing one.
//!
//! # The test
//!
//! One mock broker with a response delay (`rd_kafka_mock_broker_set_rtt`,
//! exposed as `MockCluster::broker_round_trip_time`) of [`RTT`], so the next
//! request is built long before the refused one's answer arrives: 100 ms
//! against the microseconds a build takes, a margin that holds on a loaded
//! machine. Requests hold [`PER_REQUEST`] (4) records
//! (`batch.num.messages`, fewer than 5 so the idempotent producer pipelines
//! too) and `linger.ms` is long, so a request is built exactly when enough
//! records are queued or on `flush`. After a warm-up record (connection,
//! metadata), exactly one NOT_ENOUGH_REPLICAS is pushed onto the mock's
//! Produce error stack (`rd_kafka_mock_push_request_errors_array`), so the
//! stream's first request is refused. Each case checks that the fault hit
//! (the producer's statistics, `txmsgs`, count records built into a request
//! again: librdkafka counts them in `rd_kafka_msgset_writer_finalize`), that
//! every record is read back exactly once, and then whether any record
//! follows one with a higher sequence number. No case depends on timing
//! beyond "a request is built within 100 ms".

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::statistics::Statistics;
use rdkafka::types::{RDKafkaApiKey, RDKafkaErrorCode, RDKafkaRespErr};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

const TOPIC: &str = "kob-mock-reorder";
/// The mock broker's response delay.
const RTT: Duration = Duration::from_millis(100);
/// Records per ProduceRequest (`batch.num.messages`): fewer than 5, so the
/// idempotent producer too builds a second request behind the first (see
/// the module documentation).
const PER_REQUEST: u64 = 4;
/// Records of the stream, after the warm-up record.
const RECORDS: u64 = 40;
/// Bytes of each record's value: its sequence number, then padding.
const RECORD_BYTES: usize = 100;

/// Counts delivery outcomes, and the records librdkafka reports having
/// transmitted (retransmissions included).
#[derive(Default)]
struct Counting {
    acked: AtomicU64,
    failed: AtomicU64,
    transmitted: AtomicU64,
}

impl ClientContext for Counting {
    fn stats(&self, statistics: Statistics) {
        let txmsgs = u64::try_from(statistics.txmsgs).unwrap_or(0);
        self.transmitted.fetch_max(txmsgs, Ordering::SeqCst);
    }
}

impl ProducerContext for Counting {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.acked.fetch_add(1, Ordering::SeqCst),
            Err(_) => self.failed.fetch_add(1, Ordering::SeqCst),
        };
    }
}

/// How the application sends the stream.
#[derive(Clone, Copy, Debug)]
enum Case {
    /// Idempotence off, every record handed over at once.
    Plain,
    /// Idempotence on, every record handed over at once.
    Idempotent,
    /// Idempotence off, `flush` after each request's worth of records.
    FlushEachBatch,
}

/// What the stream looked like when read back.
#[derive(Debug)]
struct Outcome {
    /// Sequence numbers in log order.
    read: Vec<u64>,
    /// Records transmitted more than once (librdkafka's `txmsgs` beyond
    /// the records produced).
    resent: u64,
}

impl Outcome {
    /// Records that follow a record with a higher sequence number.
    fn reordered(&self) -> usize {
        let mut highest = None;
        let mut n = 0;
        for &s in &self.read {
            if highest.is_some_and(|h| s < h) {
                n += 1;
            }
            highest = highest.max(Some(s));
        }
        n
    }
}

fn value(seq: u64) -> Vec<u8> {
    let mut v = seq.to_be_bytes().to_vec();
    v.resize(RECORD_BYTES, b'.');
    v
}

fn send(producer: &BaseProducer<Counting>, seq: u64) {
    let v = value(seq);
    let mut record: BaseRecord<(), [u8]> = BaseRecord::to(TOPIC).payload(&v[..]).partition(0);
    loop {
        match producer.send(record) {
            Ok(()) => return,
            Err((e, r)) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) => {
                record = r;
                producer.poll(Duration::from_millis(10));
            }
            Err((e, _)) => panic!("send {seq}: {e}"),
        }
    }
}

fn flush(producer: &BaseProducer<Counting>) {
    producer
        .flush(Duration::from_secs(60))
        .expect("every record delivered within 60 s");
}

fn run(case: Case, per_request: u64) -> Outcome {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic(TOPIC, 1, 1).unwrap();
    mock.broker_round_trip_time(1, RTT).unwrap();
    let idempotent = matches!(case, Case::Idempotent);
    let producer: BaseProducer<Counting> = ClientConfig::new()
        .set("bootstrap.servers", mock.bootstrap_servers())
        .set("max.in.flight.requests.per.connection", "1")
        .set("enable.idempotence", idempotent.to_string())
        .set("acks", "all")
        .set("retries", "10")
        .set("batch.num.messages", per_request.to_string())
        // A request is built when PER_REQUEST records are queued, or on flush.
        .set("linger.ms", "1000")
        .set("message.timeout.ms", "60000")
        .set("statistics.interval.ms", "100")
        .create_with_context(Counting::default())
        .expect("producer");

    // Connection, metadata (and the producer id) before the fault.
    send(&producer, 0);
    flush(&producer);
    // Exactly one refusal: the stream's first ProduceRequest.
    mock.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS],
    );
    for seq in 1..=RECORDS {
        send(&producer, seq);
        if matches!(case, Case::FlushEachBatch) && seq % per_request == 0 {
            flush(&producer);
        }
    }
    flush(&producer);
    let ctx = producer.context();
    assert_eq!(
        ctx.failed.load(Ordering::SeqCst),
        0,
        "{case:?}: no record failed"
    );
    assert_eq!(ctx.acked.load(Ordering::SeqCst), RECORDS + 1, "{case:?}");
    // Statistics come every 100 ms; wait (generously) for one that counts
    // a retransmission. Without one the check below fails.
    let deadline = Instant::now() + Duration::from_secs(20);
    while ctx.transmitted.load(Ordering::SeqCst) <= RECORDS + 1 && Instant::now() < deadline {
        producer.poll(Duration::from_millis(100));
    }
    let resent = ctx
        .transmitted
        .load(Ordering::SeqCst)
        .saturating_sub(RECORDS + 1);

    let outcome = Outcome {
        read: read_back(&mock.bootstrap_servers(), RECORDS + 1),
        resent,
    };
    eprintln!(
        "{case:?}: {} records resent, {} read after a higher sequence; first read: {:?}",
        outcome.resent,
        outcome.reordered(),
        &outcome.read[..outcome.read.len().min(25)]
    );
    outcome
}

/// The partition's records in log order (their sequence numbers).
fn read_back(bootstrap: &str, expected: u64) -> Vec<u64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "kob-mock-reorder")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(TOPIC, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut read = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while (read.len() as u64) < expected && Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.expect("consume");
            let v = m.payload().expect("a value");
            read.push(u64::from_be_bytes(v[..8].try_into().unwrap()));
        }
    }
    read
}

/// Every record of the stream read back exactly once, and the fault hit.
fn check_complete(case: Case, o: &Outcome) {
    assert_eq!(o.read.len() as u64, RECORDS + 1, "{case:?}: {:?}", o.read);
    let distinct: BTreeSet<u64> = o.read.iter().copied().collect();
    assert_eq!(
        distinct,
        (0..=RECORDS).collect(),
        "{case:?}: no loss, no duplicate"
    );
    assert!(
        o.resent >= 1,
        "{case:?}: the refused request was sent again: {o:?}"
    );
}

#[test]
fn in_flight_1_without_idempotence_reorders_after_one_refusal() {
    let o = run(Case::Plain, PER_REQUEST);
    check_complete(Case::Plain, &o);
    assert!(
        o.reordered() > 0,
        "the retried first request's records land after the next request's: {:?}",
        o.read
    );
    // The refused request is the stream's first (records 1..=4); the one
    // built behind it (5..=8) is written first, then the retried one.
    let expected: Vec<u64> = [0]
        .into_iter()
        .chain(PER_REQUEST + 1..=2 * PER_REQUEST)
        .chain(1..=PER_REQUEST)
        .collect();
    assert_eq!(&o.read[..expected.len()], &expected[..], "{:?}", o.read);
    assert_eq!(o.resent, PER_REQUEST, "only the refused request went twice");
}

#[test]
fn in_flight_1_with_idempotence_keeps_order() {
    let o = run(Case::Idempotent, PER_REQUEST);
    check_complete(Case::Idempotent, &o);
    assert_eq!(o.reordered(), 0, "{:?}", o.read);
    // The second request had been built behind the refused one (librdkafka
    // counts records when it builds a request) and was built again after
    // the drain: the re-sort, not an absence of pipelining, kept the order.
    assert!(o.resent > PER_REQUEST, "{o:?}");
}

#[test]
fn in_flight_1_flushing_each_batch_keeps_order() {
    let o = run(Case::FlushEachBatch, PER_REQUEST);
    check_complete(Case::FlushEachBatch, &o);
    assert_eq!(o.reordered(), 0, "{:?}", o.read);
    assert_eq!(o.resent, PER_REQUEST, "only the refused request went twice");
}

/// librdkafka 2.12.1's idempotent producer caps what it builds by records,
/// not requests: `rd_kafka_toppar_producer_serve` allows
/// `RD_KAFKA_IDEMP_MAX_INFLIGHT (5) − rktp_msgs_inflight` more requests, and
/// `rd_kafka_msgbatch_ready_produce` (`src/rdkafka_msg.c`) adds a request's
/// *record* count to `rktp_msgs_inflight`. With 5 or more records per
/// request it builds nothing behind an unanswered request, whatever
/// `max.in.flight` says (librdkafka pull request #4989, open, describes the
/// same: one Produce request at a time). Here: nothing but the refused
/// request is built twice.
#[test]
fn idempotent_producer_builds_nothing_behind_five_unanswered_records() {
    let o = run(Case::Idempotent, 10);
    check_complete(Case::Idempotent, &o);
    assert_eq!(o.reordered(), 0, "{:?}", o.read);
    assert_eq!(o.resent, 10, "{o:?}");
}
