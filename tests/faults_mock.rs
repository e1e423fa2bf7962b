//! Fault plans on librdkafka's mock cluster (`faults::mock`): a test fixture.
//! The mock never appends a failed request and does not check idempotent
//! sequences, so these tests check that the plan reaches the client, not
//! what a real broker would do with it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use kafka_order_bench::faults::{mock, FaultPlan, FaultProfile};
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::message::DeliveryResult;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::statistics::Statistics;
use rdkafka::Message;

#[derive(Default)]
struct Ctx {
    ok: AtomicUsize,
    failed: AtomicUsize,
    offsets: Mutex<Vec<(usize, i64)>>,
    txmsgs: Mutex<i64>,
}

impl ClientContext for Ctx {
    fn stats(&self, s: Statistics) {
        *self.txmsgs.lock().unwrap() = s.txmsgs;
    }
}

impl ProducerContext for Ctx {
    type DeliveryOpaque = usize;
    fn delivery(&self, r: &DeliveryResult<'_>, i: usize) {
        match r {
            Ok(m) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                self.offsets.lock().unwrap().push((i, m.offset()));
            }
            Err(_) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Produces `n` records to partition 0 of `topic`; returns the producer's
/// context after flushing.
fn produce(bootstrap: &str, topic: &str, n: usize, settings: &[(&str, &str)]) -> Ctx {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("statistics.interval.ms", "100")
        .set("batch.num.messages", "10")
        .set("linger.ms", "1")
        .set("retry.backoff.ms", "10")
        .set("message.timeout.ms", "15000");
    for (k, v) in settings {
        config.set(*k, *v);
    }
    let producer: BaseProducer<Ctx> = config.create_with_context(Ctx::default()).unwrap();
    for i in 0..n {
        let value = format!("v{i}");
        producer
            .send(
                BaseRecord::<str, str, usize>::with_opaque_to(topic, i)
                    .partition(0)
                    .payload(&value),
            )
            .map_err(|(e, _)| e)
            .unwrap();
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(20)).unwrap();
    for _ in 0..4 {
        producer.poll(Duration::from_millis(60));
    }
    let ctx = producer.context();
    let out = Ctx {
        ok: AtomicUsize::new(ctx.ok.load(Ordering::Relaxed)),
        failed: AtomicUsize::new(ctx.failed.load(Ordering::Relaxed)),
        offsets: Mutex::new(ctx.offsets.lock().unwrap().clone()),
        txmsgs: Mutex::new(*ctx.txmsgs.lock().unwrap()),
    };
    out
}

#[test]
fn reject_plan_on_the_mock_makes_the_client_resend() {
    let cluster = MockCluster::new(3).unwrap();
    cluster.create_topic("t", 1, 3).unwrap();
    let plan = FaultPlan::by_request(&"reject:10%".parse::<FaultProfile>().unwrap(), 11);
    let pushed = mock::apply(&cluster, &plan, 10_000);
    assert!(pushed.injected["reject"] > 0);
    let n = 1000;
    let ctx = produce(
        &cluster.bootstrap_servers(),
        "t",
        n,
        &[("enable.idempotence", "false"), ("max.in.flight", "5")],
    );
    assert_eq!(ctx.ok.load(Ordering::Relaxed), n);
    assert_eq!(ctx.failed.load(Ordering::Relaxed), 0);
    let resent = *ctx.txmsgs.lock().unwrap() - n as i64;
    assert!(resent > 0, "txmsgs shows no resend");
}

#[test]
fn failover_on_the_mock_keeps_delivering() {
    let cluster = MockCluster::new(3).unwrap();
    cluster.create_topic("f", 1, 3).unwrap();
    cluster.partition_leader("f", 0, Some(1)).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    std::thread::scope(|s| {
        let producer =
            s.spawn(|| produce(&bootstrap, "f", 3000, &[("enable.idempotence", "true")]));
        std::thread::sleep(Duration::from_millis(100));
        mock::failover(&cluster, "f", 0, 1, 2, Duration::from_millis(500)).unwrap();
        let ctx = producer.join().unwrap();
        assert_eq!(ctx.ok.load(Ordering::Relaxed), 3000);
        assert_eq!(ctx.failed.load(Ordering::Relaxed), 0);
    });
}
