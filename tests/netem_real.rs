//! Network emulation on a real local Apache Kafka cluster.
//!
//! `emulated_links_on_a_real_cluster` (one cluster for the file, started
//! with emulated replication): through the proxy at an emulated RTT of
//! 20 ms, one Produce request's ack takes at least one RTT and less than
//! 1.5 more than direct; five one-record requests sent back to back take
//! less than 2 RTTs more than the same five direct with `max.in.flight` 5
//! (pipelining kept: the broker itself answers them one after another)
//! and 5 to 7 RTTs with 1. Upper bounds are on the best of several tries, plus the
//! cluster's own ack time measured alongside: on a shared 2-core machine
//! noise only adds time. With
//! a 20 ms replication link an `acks=all` produce pays the client RTT plus a
//! replication round trip; the replication delay lines survive a broker
//! kill and restart.
//!
//! The two `#[ignore]`d tests are measurements that print figures:
//! `proxy_cost_at_rtt_zero` (throughput ratio and added p50 latency of the
//! proxy against a direct connection, interleaved A/B) and
//! `acks_all_against_the_model_ceiling`. Run them with
//! `cargo test --release --test netem_real -- --ignored --nocapture`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use kafka_order_bench::cluster::{
    create_topic, delete_topic, topic_name, Cluster, LocalCluster, LocalOptions,
};
use kafka_order_bench::faults::{FaultPlan, Proxy, ProxyConfig};
use kafka_order_bench::netem::Link;
use rdkafka::client::ClientContext;
use rdkafka::error::KafkaError;
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;

const RTT: Duration = Duration::from_millis(20);

/// The timed tests of this file take turns: two 3-broker clusters at once
/// on a 2-core machine would bend each other's round trips.
static ONE_CLUSTER_AT_A_TIME: Mutex<()> = Mutex::new(());

/// When each record's delivery report came, by opaque (its index).
#[derive(Default)]
struct Acks(Mutex<Vec<(usize, Instant, bool)>>);

impl ClientContext for Acks {}
impl ProducerContext for Acks {
    type DeliveryOpaque = usize;
    fn delivery(&self, r: &DeliveryResult<'_>, i: usize) {
        self.0.lock().unwrap().push((i, Instant::now(), r.is_ok()));
    }
}

fn producer(
    cluster: &dyn Cluster,
    bootstrap: &str,
    settings: &[(&str, &str)],
) -> BaseProducer<Acks> {
    let mut c = cluster.client_config();
    c.set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "30000")
        .set("linger.ms", "0")
        // Small requests back to back must not wait for TCP ACKs.
        .set("socket.nagle.disable", "true");
    for (k, v) in settings {
        c.set(*k, *v);
    }
    c.create_with_context(Acks::default()).unwrap()
}

fn send(p: &BaseProducer<Acks>, topic: &str, i: usize, value: &[u8]) {
    let mut record: BaseRecord<(), [u8], usize> = BaseRecord::with_opaque_to(topic, i)
        .partition(0)
        .payload(value);
    loop {
        match p.send(record) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                p.poll(Duration::from_millis(1));
            }
            Err((e, _)) => panic!("send: {e}"),
        }
    }
}

/// Polls until `n` delivery reports arrived in all (or 30 s passed).
fn wait_acks(p: &BaseProducer<Acks>, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while p.context().0.lock().unwrap().len() < n && Instant::now() < deadline {
        p.poll(Duration::from_millis(1));
    }
    let acks = p.context().0.lock().unwrap();
    assert_eq!(acks.len(), n, "delivery reports");
    assert!(acks.iter().all(|a| a.2), "a record failed");
}

/// Sends `n` one-record requests back to back; returns the time from the
/// first send to the last delivery report.
fn burst(p: &BaseProducer<Acks>, topic: &str, n: usize) -> Duration {
    p.context().0.lock().unwrap().clear();
    let started = Instant::now();
    for i in 0..n {
        send(p, topic, i, b"r");
    }
    wait_acks(p, n);
    let acks = p.context().0.lock().unwrap();
    acks.iter().map(|a| a.1).max().unwrap() - started
}

/// One record at a time, `rounds` times: the latency of each.
fn singles(p: &BaseProducer<Acks>, topic: &str, rounds: usize) -> Vec<Duration> {
    (0..rounds).map(|_| burst(p, topic, 1)).collect()
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

/// The best of several tries. On a shared 2-core machine scheduling noise
/// only ever adds time, so the minimum is what the path itself costs; every
/// try must still clear the floor the emulation sets.
fn best(v: &[Duration]) -> Duration {
    *v.iter().min().unwrap()
}

fn show(v: &[Duration]) -> Vec<String> {
    v.iter().map(|d| format!("{:.1}", ms(*d))).collect()
}

const TRIES: usize = 7;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn topic(cluster: &LocalCluster, tag: &str, partitions: i32) -> String {
    let name = topic_name(&["netem", tag, &std::process::id().to_string()]);
    create_topic(cluster, &name, partitions).unwrap();
    name
}

fn proxy_with(cluster: &LocalCluster, link: Link) -> Proxy {
    let config = ProxyConfig {
        link,
        ..ProxyConfig::default()
    };
    Proxy::start_with(&cluster.bootstrap(), FaultPlan::none(), config).unwrap()
}

#[test]
fn emulated_links_on_a_real_cluster() {
    let _turn = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let cluster = LocalCluster::start(LocalOptions {
        emulate_replication: true,
        ..LocalOptions::default()
    })
    .expect("local cluster starts");
    assert_eq!(cluster.replication_link(), Some(Link::default()));
    let proxy = proxy_with(&cluster, Link::rtt(RTT));
    let name = topic(&cluster, "rtt", 1);

    // acks=1: the replication link does not enter.
    let one = |in_flight: &str| {
        let p = producer(
            &cluster,
            &proxy.bootstrap(),
            &[
                ("acks", "1"),
                ("max.in.flight", in_flight),
                ("batch.num.messages", "1"),
            ],
        );
        // Connections and metadata first.
        burst(&p, &name, 1);
        p
    };
    // The cluster's own ack time, direct, taken turn about with the
    // proxied one so both see the same load: on an idle machine it is
    // about a millisecond, on a busy one it is not, and the bounds below
    // are on what the path adds to it.
    let direct = producer(&cluster, &cluster.bootstrap(), &[("acks", "1")]);
    burst(&direct, &name, 1);
    let p5 = one("5");
    let (mut lat, mut own) = (Vec::new(), Vec::new());
    for _ in 0..TRIES {
        own.push(burst(&direct, &name, 1));
        lat.push(burst(&p5, &name, 1));
    }
    drop(direct);
    let base = best(&own);
    eprintln!("one request direct: {:?} ms", show(&own));
    eprintln!("one request at RTT 20 ms: {:?} ms", show(&lat));
    assert!(
        lat.iter().all(|d| *d >= RTT),
        "an ack came in under one RTT: {lat:?}"
    );
    assert!(
        best(&lat) < RTT * 3 / 2 + base,
        "best ack {:?} (RTT {RTT:?}, direct {base:?})",
        best(&lat)
    );

    // Five one-record requests back to back. The broker serves a
    // connection's requests one at a time (it reads the next only after
    // answering the one before), so even direct the fifth ack waits for the
    // four before it: that time is the cluster's own, measured alongside
    // as for one request. What the emulated link may add to a pipelined
    // burst is one round trip, not five.
    let direct = producer(
        &cluster,
        &cluster.bootstrap(),
        &[
            ("acks", "1"),
            ("max.in.flight", "5"),
            ("batch.num.messages", "1"),
        ],
    );
    burst(&direct, &name, 1);
    let (mut fives, mut own5) = (Vec::new(), Vec::new());
    for _ in 0..TRIES {
        own5.push(burst(&direct, &name, 5));
        fives.push(burst(&p5, &name, 5));
    }
    drop(direct);
    // Medians, not bests: both sides are then typical of the same load,
    // where the best of a noisy direct series is a lucky outlier.
    eprintln!("5 requests direct, max.in.flight 5: {:?} ms", show(&own5));
    eprintln!("5 requests, max.in.flight 5: {:?} ms", show(&fives));
    assert!(fives.iter().all(|d| *d >= RTT), "{fives:?}");
    assert!(
        median(&fives) < median(&own5) + RTT * 2,
        "5 pipelined requests took {fives:?}, direct {own5:?}: pipelining lost"
    );
    drop(p5);

    let p1 = one("1");
    let fives: Vec<Duration> = (0..TRIES).map(|_| burst(&p1, &name, 5)).collect();
    eprintln!("5 requests, max.in.flight 1: {:?} ms", show(&fives));
    // Five round trips one after another cannot take less than 5 RTTs.
    assert!(fives.iter().all(|d| *d >= RTT * 5), "{fives:?}");
    assert!(
        best(&fives) < (RTT + base) * 5 + RTT * 2,
        "5 serial requests took {fives:?}"
    );
    drop(p1);

    // acks=all across a 20 ms replication link: the client RTT, then a
    // follower's fetch response and its next fetch across the link. Its
    // own time without the link, measured the same way just before, is
    // the base the link adds one replication RTT to (a base from acks=1
    // left out the follower's work, and a busy 2-core machine pushed the
    // best of 7 to 65.8 and 66.6 ms against a bound of 3 RTT + base).
    let all = producer(&cluster, &proxy.bootstrap(), &[("acks", "all")]);
    burst(&all, &name, 1);
    let all_base = best(&singles(&all, &name, TRIES));
    assert!(cluster.set_replication_link(Link::rtt(RTT)));
    burst(&all, &name, 1);
    let lat = singles(&all, &name, TRIES);
    eprintln!(
        "acks=all, client RTT 20 ms + replication RTT 20 ms: {:?} ms (without the replication link, best {:.1} ms)",
        show(&lat),
        ms(all_base)
    );
    assert!(lat.iter().all(|d| *d >= RTT * 2), "{lat:?}");
    assert!(
        best(&lat) < all_base + RTT * 2,
        "best {:?}, without the replication link {all_base:?}",
        best(&lat)
    );

    // The delay lines outlive a broker: kill and restart a follower; it
    // catches up through its line and acks=all still pays the link.
    let leader = cluster.leader(&name, 0).unwrap().expect("a leader");
    let follower = (1..=3).find(|n| *n != leader).unwrap();
    cluster.kill(follower).unwrap();
    cluster.restart(follower).unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while cluster.in_sync_replicas(&name, 0).unwrap().len() < 3 {
        assert!(
            Instant::now() < deadline,
            "node {follower} did not rejoin the ISR"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let after = singles(&all, &name, TRIES);
    eprintln!(
        "acks=all after restarting node {follower}: {:?} ms",
        show(&after)
    );
    assert!(after.iter().all(|d| *d >= RTT * 2), "{after:?}");
    assert!(best(&after) < RTT * 3 + base, "{after:?}");
    drop(all);
    delete_topic(&cluster, &name).unwrap();
}

/// The suite's fixed-load phase runs on each cell's whole path: with
/// `acks=all` at RTT 20 ms its p50 is at least the client's plus the
/// replication round trip (40 ms), and a cell at RTT 0 after it is not
/// slowed by the 20 ms links. The phase once ran on whatever replication
/// link the last round's last cell had left: one of the two bounds failed
/// whatever the shuffled order.
///
/// A 20 ms replication link left on puts *every* `acks=all` record at 20 ms
/// or more (the follower's fetch and its next fetch cross it before the
/// high watermark moves), so the RTT-0 bound is on the cell's fast records
/// (its 10th percentile), not its p50: on this 2-core machine a busy
/// moment once pushed an RTT-0 p50 to 28.2 ms with the link off.
#[test]
fn fixed_load_runs_on_the_cells_own_links() {
    use kafka_order_bench::grid::{Acks, Workload};
    let _turn = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let cluster = LocalCluster::start(LocalOptions {
        emulate_replication: true,
        ..LocalOptions::default()
    })
    .expect("local cluster starts");
    let cluster = &cluster;
    use kafka_order_bench::suite::{self, Quiet};
    let mut w = Workload::quick();
    w.axes.max_in_flight = vec![5];
    w.axes.acks = vec![Acks::All];
    w.axes.idempotence = vec![false];
    w.network.rtt_ms = vec![0.0, 20.0];
    w.network.replication = true;
    let f = &mut w.fixed;
    (f.rounds, f.windows, f.warmup_records) = (1, 1, 100);
    (f.min_records_per_window, f.max_records_per_window) = (100, 500);
    (f.latency_ms, f.latency_min_records) = (500, 100);
    w.validate().unwrap();
    let out = tempfile::tempdir().unwrap();
    let (results, _) = suite::run_workload(cluster, &w, out.path(), &mut Quiet).unwrap();
    // (p10, p50) of the cell's fixed-load latency, in ms.
    let latency_ms = |rtt_ms: u64| {
        let c = results
            .cells
            .iter()
            .find(|c| c.network.rtt_us == rtt_ms * 1000)
            .unwrap_or_else(|| panic!("no cell at RTT {rtt_ms} ms"));
        let m = c
            .measurement()
            .unwrap_or_else(|| panic!("{}: {:?}", c.id, c.outcome));
        assert_eq!(c.network.replication_rtt_us, rtt_ms * 1000, "{}", c.id);
        let f = m.fixed_load.as_ref().expect("a fixed-load phase");
        let h = f.latency.histogram().expect("a readable histogram");
        let ms = |us: u64| us as f64 / 1000.0;
        (ms(h.value_at_quantile(0.10)), ms(f.latency.p50_us))
    };
    let ((_, far), (near_p10, near)) = (latency_ms(20), latency_ms(0));
    eprintln!(
        "fixed-load, acks=all: RTT 20 ms p50 {far:.1} ms; RTT 0 p10 {near_p10:.1} ms, p50 {near:.1} ms"
    );
    assert!(
        far >= 40.0,
        "RTT 20 ms, acks=all: p50 {far:.1} ms < client + replication RTT"
    );
    assert!(
        near_p10 < 20.0,
        "RTT 0: p10 {near_p10:.1} ms (p50 {near:.1} ms): a 20 ms replication link was left on"
    );
}

/// Records of `value_bytes` at `rate` per second for `secs`; returns each
/// record's send-to-ack latency.
fn fixed_rate(
    p: &BaseProducer<Acks>,
    topic: &str,
    rate: u32,
    secs: u32,
    value_bytes: usize,
) -> Vec<Duration> {
    p.context().0.lock().unwrap().clear();
    let value = vec![b'x'; value_bytes];
    let n = (rate * secs) as usize;
    let interval = Duration::from_secs(1) / rate;
    let started = Instant::now();
    let mut sent_at = Vec::with_capacity(n);
    for i in 0..n {
        let due = started + interval * i as u32;
        while Instant::now() < due {
            p.poll(Duration::ZERO);
            std::hint::spin_loop();
        }
        sent_at.push(due);
        send(p, topic, i, &value);
        p.poll(Duration::ZERO);
    }
    wait_acks(p, n);
    let acks = p.context().0.lock().unwrap();
    acks.iter().map(|(i, at, _)| *at - sent_at[*i]).collect()
}

/// Records/s of `n` records as fast as the client goes.
fn throughput(p: &BaseProducer<Acks>, topic: &str, n: usize, value_bytes: usize) -> f64 {
    p.context().0.lock().unwrap().clear();
    let value = vec![b'x'; value_bytes];
    let started = Instant::now();
    for i in 0..n {
        send(p, topic, i, &value);
        p.poll(Duration::ZERO);
    }
    wait_acks(p, n);
    n as f64 / started.elapsed().as_secs_f64()
}

fn spread(v: &[f64]) -> String {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    format!(
        "median {:.3} (min {:.3}, max {:.3}, n {})",
        s[s.len() / 2],
        s[0],
        s[s.len() - 1],
        s.len()
    )
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn proxy_cost_at_rtt_zero() {
    let cluster = LocalCluster::start(LocalOptions::default()).expect("local cluster starts");
    let direct = cluster.bootstrap();
    let proxy = proxy_with(&cluster, Link::default());
    let via = proxy.bootstrap();
    let name = topic(&cluster, "cost", 1);
    let rounds = 4;
    let n = 200_000;
    for acks in ["all", "0"] {
        let settings = [("acks", acks), ("linger.ms", "5"), ("max.in.flight", "5")];
        let pd = producer(&cluster, &direct, &settings);
        let pp = producer(&cluster, &via, &settings);
        throughput(&pd, &name, 20_000, 100);
        throughput(&pp, &name, 20_000, 100);
        let (mut d, mut p, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            // A/B, then B/A: drift shared by both.
            let (a, b) = if round % 2 == 0 {
                let a = throughput(&pd, &name, n, 100);
                (a, throughput(&pp, &name, n, 100))
            } else {
                let b = throughput(&pp, &name, n, 100);
                (throughput(&pd, &name, n, 100), b)
            };
            d.push(a);
            p.push(b);
            ratio.push(b / a);
        }
        eprintln!(
            "acks={acks}: records/s direct {d:.0?} proxied {p:.0?}; proxied/direct {}",
            spread(&ratio)
        );
    }
    // Latency at a modest fixed rate (1,000 records/s, 1 KiB), acks=all.
    let settings = [("acks", "all"), ("linger.ms", "0"), ("max.in.flight", "5")];
    let pd = producer(&cluster, &direct, &settings);
    let pp = producer(&cluster, &via, &settings);
    fixed_rate(&pd, &name, 1000, 1, 1024);
    fixed_rate(&pp, &name, 1000, 1, 1024);
    let p50 = |v: Vec<Duration>| ms(median(&v));
    let (mut d, mut p, mut added) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (a, b) = if round % 2 == 0 {
            let a = p50(fixed_rate(&pd, &name, 1000, 5, 1024));
            (a, p50(fixed_rate(&pp, &name, 1000, 5, 1024)))
        } else {
            let b = p50(fixed_rate(&pp, &name, 1000, 5, 1024));
            (p50(fixed_rate(&pd, &name, 1000, 5, 1024)), b)
        };
        d.push(a);
        p.push(b);
        added.push(b - a);
    }
    eprintln!(
        "p50 ms at 1,000 records/s, acks=all: direct {d:.3?} proxied {p:.3?}; added {}",
        spread(&added)
    );
    delete_topic(&cluster, &name).unwrap();
}

/// `acks=0` throughput direct, through the proxy with the kernel's
/// autotuned socket buffers, and through the proxy with its default small
/// buffers: what bounding the proxy's buffers does to the backpressure.
#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn acks0_backpressure_through_the_proxy() {
    let cluster = LocalCluster::start(LocalOptions::default()).expect("local cluster starts");
    let direct = cluster.bootstrap();
    let autotuned = Proxy::start_with(
        &direct,
        FaultPlan::none(),
        ProxyConfig {
            socket_buffer_bytes: None,
            ..ProxyConfig::default()
        },
    )
    .unwrap();
    let bounded = proxy_with(&cluster, Link::default());
    let name = topic(&cluster, "acks0", 1);
    let settings = [("acks", "0"), ("linger.ms", "5"), ("max.in.flight", "5")];
    let paths = [
        ("direct", direct.clone()),
        ("autotuned", autotuned.bootstrap()),
        ("bounded", bounded.bootstrap()),
    ];
    let producers: Vec<_> = paths
        .iter()
        .map(|(_, b)| producer(&cluster, b, &settings))
        .collect();
    for p in &producers {
        throughput(p, &name, 20_000, 100);
    }
    let mut got = vec![Vec::new(); paths.len()];
    for round in 0..3 {
        for k in 0..paths.len() {
            // Rotate the order each round.
            let k = (k + round) % paths.len();
            got[k].push(throughput(&producers[k], &name, 200_000, 100));
        }
    }
    let d = got[0].clone();
    for (k, (label, _)) in paths.iter().enumerate() {
        let ratio: Vec<f64> = got[k].iter().zip(&d).map(|(a, b)| a / b).collect();
        eprintln!(
            "acks=0 {label}: records/s {:.0?}; / direct {}",
            got[k],
            spread(&ratio)
        );
    }
    delete_topic(&cluster, &name).unwrap();
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn acks_all_against_the_model_ceiling() {
    let cluster = LocalCluster::start(LocalOptions {
        emulate_replication: true,
        ..LocalOptions::default()
    })
    .expect("local cluster starts");
    let client_rtt = Duration::from_millis(20);
    let replication_rtt = Duration::from_millis(20);
    cluster.set_replication_link(Link::rtt(replication_rtt));
    let proxy = proxy_with(&cluster, Link::rtt(client_rtt));
    let name = topic(&cluster, "ceiling", 1);
    // One partition, batches of 100 records of 1 KiB.
    let batch = 100;
    for in_flight in [1u32, 2, 5] {
        let f = in_flight.to_string();
        let b = batch.to_string();
        let p = producer(
            &cluster,
            &proxy.bootstrap(),
            &[
                ("acks", "all"),
                ("max.in.flight", f.as_str()),
                ("batch.num.messages", b.as_str()),
                ("batch.size", "1000000"),
                ("linger.ms", "5"),
            ],
        );
        throughput(&p, &name, 2_000, 1024);
        let got: Vec<f64> = (0..3)
            .map(|_| throughput(&p, &name, 20_000, 1024))
            .collect();
        // One batch per replication round trip at most: the broker answers
        // a connection's requests one at a time (see Cell::ceiling_records_per_sec).
        let pipelined =
            f64::from(in_flight) * batch as f64 / (client_rtt + replication_rtt).as_secs_f64();
        let ceiling = pipelined.min(batch as f64 / replication_rtt.as_secs_f64());
        eprintln!(
            "acks=all in-flight {in_flight}: records/s {got:.0?}, model ceiling {ceiling:.0} (min(in_flight × {batch} / 40 ms, {batch} / 20 ms))"
        );
    }
    delete_topic(&cluster, &name).unwrap();
}
