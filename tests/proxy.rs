//! The fault proxy in front of librdkafka's mock cluster (hermetic, seconds).
//!
//! These tests check the proxy's mechanics: transparency under `none`,
//! faults reaching the client as retries, the seeded schedule, `acks=0`, and
//! isolation of broken connections. The mock cluster does not check
//! idempotent sequences and ignores `acks`, so nothing here measures
//! ordering guarantees; that is the real-cluster tests' job.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kafka_order_bench::faults::{
    FaultPlan, FaultProfile, LoseAckMode, Proxy, ProxyConfig, NOT_ENOUGH_REPLICAS,
    NOT_LEADER_OR_FOLLOWER,
};
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{DeliveryResult, Header, Headers, OwnedHeaders};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset, TopicPartitionList};

const PARTITIONS: i32 = 3;

/// A delivery report: (partition, offset) or the client's error.
type Delivery = Result<(i32, i64), String>;

#[derive(Default)]
struct Ctx {
    deliveries: Mutex<Vec<(usize, Delivery)>>,
    stats: Mutex<Option<Statistics>>,
}

impl ClientContext for Ctx {
    fn stats(&self, statistics: Statistics) {
        *self.stats.lock().unwrap() = Some(statistics);
    }
}

impl ProducerContext for Ctx {
    type DeliveryOpaque = usize;
    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        let r = match result {
            Ok(m) => Ok((m.partition(), m.offset())),
            Err((e, _)) => Err(e.to_string()),
        };
        self.deliveries.lock().unwrap().push((index, r));
    }
}

/// What one producer run saw.
struct Produced {
    /// Per record, in send order: (partition, offset) or the error.
    deliveries: Vec<Delivery>,
    /// librdkafka's request-level retries, summed over brokers. A Produce
    /// request answered with a retriable partition error is not one of these:
    /// its messages go back to the partition queue (see `resent`).
    txretries: u64,
    /// Messages sent more than once: librdkafka's `txmsgs` (every message
    /// written into a Produce request, retries included) minus the records.
    resent: i64,
    /// `host:port` of every broker the client knew by node id.
    brokers: BTreeSet<String>,
}

/// Record `i` goes to partition `i % PARTITIONS`: stream `i % PARTITIONS`,
/// sequence `i / PARTITIONS`, stamped in the suite's format so that
/// record-triggered plans can read it.
fn payload(i: usize) -> Vec<u8> {
    let mut v = vec![0u8; kafka_order_bench::record::HEADER_BYTES];
    kafka_order_bench::record::Stamp {
        run_id: 1,
        stream: (i % PARTITIONS as usize) as u32,
        seq: (i / PARTITIONS as usize) as u64,
        intended_send_ns: 0,
    }
    .write(&mut v);
    v.extend(format!("record-{i:06}-{}", "x".repeat(i % 50)).into_bytes());
    v
}

fn produce(bootstrap: &str, topic: &str, n: usize, extra: &[(&str, &str)]) -> Produced {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("statistics.interval.ms", "100")
        .set("linger.ms", "2")
        .set("message.timeout.ms", "15000");
    for (k, v) in extra {
        config.set(*k, *v);
    }
    let producer: BaseProducer<Ctx> = config.create_with_context(Ctx::default()).unwrap();
    for i in 0..n {
        let key = format!("k{i}");
        let value = payload(i);
        let headers = OwnedHeaders::new().insert(Header {
            key: "seq",
            value: Some(&i.to_string()),
        });
        let mut record = BaseRecord::with_opaque_to(topic, i)
            .partition(i as i32 % PARTITIONS)
            .key(&key)
            .payload(&value)
            .headers(headers);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    producer.poll(Duration::from_millis(5));
                }
                Err((e, _)) => panic!("send: {e}"),
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(20)).unwrap();
    // One more statistics callback after the last retry.
    let until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < until {
        producer.poll(Duration::from_millis(50));
    }
    let ctx = producer.context();
    let mut deliveries = ctx.deliveries.lock().unwrap().clone();
    deliveries.sort_by_key(|(i, _)| *i);
    assert_eq!(deliveries.len(), n, "every record gets a delivery report");
    let stats = ctx.stats.lock().unwrap().clone().expect("statistics");
    Produced {
        deliveries: deliveries.into_iter().map(|(_, r)| r).collect(),
        txretries: stats.brokers.values().map(|b| b.txretries).sum(),
        resent: stats.txmsgs - n as i64,
        brokers: stats
            .brokers
            .values()
            .filter(|b| b.nodeid >= 0)
            .map(|b| b.nodename.clone())
            .collect(),
    }
}

/// (partition, offset, key, value, headers) of every record, in log order.
type Row = (i32, i64, Vec<u8>, Vec<u8>, Vec<(String, Vec<u8>)>);

fn consume(bootstrap: &str, topic: &str, expect: usize, commit: bool) -> Vec<Row> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("kob-proxy-test-{topic}"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut rows = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while rows.len() < expect && Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m.unwrap();
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec()))
                        .collect()
                })
                .unwrap_or_default();
            rows.push((
                m.partition(),
                m.offset(),
                m.key().unwrap_or_default().to_vec(),
                m.payload().unwrap_or_default().to_vec(),
                headers,
            ));
        }
    }
    if commit {
        // Goes through FindCoordinator, whose answer the proxy rewrites.
        consumer.commit_consumer_state(CommitMode::Sync).unwrap();
    }
    rows.sort_by_key(|r| (r.0, r.1));
    rows
}

fn mock() -> MockCluster<'static, rdkafka::producer::DefaultProducerContext> {
    let mock = MockCluster::new(3).unwrap();
    for t in [
        "direct", "proxied", "a", "b", "acks0", "iso", "lose", "mix", "win", "tmo", "move",
    ] {
        mock.create_topic(t, PARTITIONS, 3).unwrap();
    }
    mock
}

fn proxy_ports(proxy: &Proxy) -> BTreeSet<String> {
    proxy.bootstrap().split(',').map(str::to_string).collect()
}

/// Records whose offset is lower than that of a record sent before them to
/// the same partition.
fn reorders(deliveries: &[Delivery]) -> usize {
    let mut highest: BTreeMap<i32, i64> = BTreeMap::new();
    let mut n = 0;
    for (p, o) in deliveries.iter().flatten() {
        let h = highest.entry(*p).or_insert(-1);
        if o < h {
            n += 1;
        }
        *h = (*h).max(*o);
    }
    n
}

#[test]
fn none_is_transparent_records_and_offsets_match_direct() {
    let mock = mock();
    let mut proxy = Proxy::start(&mock.bootstrap_servers(), FaultPlan::none()).unwrap();
    assert_eq!(proxy.brokers().len(), 3);
    let n = 3000;
    let settings = [("acks", "all"), ("max.in.flight", "5")];
    let direct = produce(&mock.bootstrap_servers(), "direct", n, &settings);
    let proxied = produce(&proxy.bootstrap(), "proxied", n, &settings);

    assert!(direct.deliveries.iter().all(Result::is_ok));
    assert_eq!(
        direct.deliveries, proxied.deliveries,
        "same offsets per record"
    );
    // The client learned only proxy addresses: Metadata was rewritten.
    assert_eq!(proxied.brokers, proxy_ports(&proxy));
    assert!(proxy.produce_requests() > 0);
    assert_eq!(proxy.injected(), BTreeMap::new());

    let read_direct = consume(&mock.bootstrap_servers(), "direct", n, false);
    let read_proxied = consume(&proxy.bootstrap(), "proxied", n, true);
    assert_eq!(read_direct.len(), n);
    assert_eq!(
        read_direct, read_proxied,
        "record for record, byte for byte"
    );
    assert_eq!(proxy.connection_errors(), 0, "{:?}", proxy.last_error());
    proxy.shutdown();
}

#[test]
fn reject_makes_the_client_retry() {
    let mock = mock();
    let profile: FaultProfile = "reject:5%".parse().unwrap();
    let proxy = Proxy::start(
        &mock.bootstrap_servers(),
        FaultPlan::by_request(&profile, 7),
    )
    .unwrap();
    let settings = [
        ("acks", "all"),
        ("enable.idempotence", "false"),
        ("max.in.flight", "5"),
        ("batch.num.messages", "20"),
        ("retry.backoff.ms", "10"),
    ];
    let n = 4000;
    let out = produce(&proxy.bootstrap(), "a", n, &settings);
    let failed: Vec<_> = out.deliveries.iter().filter(|r| r.is_err()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let injected = proxy.injected();
    assert!(injected["reject"] > 0, "{injected:?}");
    assert!(
        out.resent > 0,
        "no message was sent twice under {injected:?}"
    );
    eprintln!(
        "reject:5%: {} produce requests, {injected:?} injected, {} messages resent, {} request retries, {} records reordered",
        proxy.produce_requests(),
        out.resent,
        out.txretries,
        reorders(&out.deliveries)
    );
    assert_eq!(proxy.connection_errors(), 0, "{:?}", proxy.last_error());
}

#[test]
fn record_plan_faults_trigger_records_and_names_them_in_events() {
    let mock = mock();
    let profile: FaultProfile = "reject:5%+lose-ack:5%".parse().unwrap();
    let plan = FaultPlan::new(&profile, 99, 15);
    let proxy = Proxy::start(&mock.bootstrap_servers(), plan.clone()).unwrap();
    let settings = [
        ("enable.idempotence", "false"),
        ("max.in.flight", "1"),
        ("batch.num.messages", "15"),
        ("retry.backoff.ms", "10"),
    ];
    let n = 6000;
    let out = produce(&proxy.bootstrap(), "a", n, &settings);
    assert!(out.deliveries.iter().all(Result::is_ok));
    let events = proxy.events();
    assert!(events.len() > 5, "{}", events.len());
    assert_eq!(
        events.len() as u64,
        proxy.injected().values().sum::<u64>(),
        "one event per injected fault"
    );
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.id, i as u64);
        assert!(e.request_index.is_some());
        assert!(!e.records.is_empty(), "{e:?}");
        // The faulted request holds a trigger record of the plan's kind.
        let trigger = e
            .records
            .iter()
            .find_map(|s| (s.first_seq..=s.last_seq).find_map(|q| plan.trigger(s.stream, q)));
        assert_eq!(
            trigger.map(|a| a.name().to_string()),
            Some(e.kind.clone()),
            "{e:?}"
        );
    }
    assert_eq!(proxy.connection_errors(), 0, "{:?}", proxy.last_error());
}

#[test]
fn same_seed_same_fault_indices() {
    let profile: FaultProfile = "reject:5%+lose-ack:3%".parse().unwrap();
    let settings = [
        ("enable.idempotence", "false"),
        ("max.in.flight", "1"),
        ("batch.num.messages", "20"),
        ("retry.backoff.ms", "10"),
    ];
    let mut logs = Vec::new();
    for topic in ["a", "b"] {
        let mock = mock();
        let plan = FaultPlan::by_request(&profile, 1234);
        let proxy = Proxy::start(&mock.bootstrap_servers(), plan.clone()).unwrap();
        produce(&proxy.bootstrap(), topic, 2000, &settings);
        let seen = proxy.produce_requests();
        // Exactly the plan's faults, at the plan's indices.
        assert_eq!(proxy.fault_log(), plan.schedule(0..seen));
        assert!(!proxy.fault_log().is_empty());
        logs.push((seen, proxy.fault_log()));
    }
    let common = logs[0].0.min(logs[1].0);
    let prefix = |log: &Vec<(u64, _)>| -> Vec<_> {
        log.iter().filter(|(i, _)| *i < common).cloned().collect()
    };
    assert_eq!(prefix(&logs[0].1), prefix(&logs[1].1));
}

#[test]
fn acks_zero_gets_no_response_and_is_still_forwarded() {
    let mock = mock();
    let proxy = Proxy::start(&mock.bootstrap_servers(), FaultPlan::none()).unwrap();
    let n = 1500;
    let out = produce(&proxy.bootstrap(), "acks0", n, &[("acks", "0")]);
    assert!(out.deliveries.iter().all(Result::is_ok));
    let rows = consume(&proxy.bootstrap(), "acks0", n, false);
    assert_eq!(rows.len(), n);
    assert_eq!(proxy.connection_errors(), 0, "{:?}", proxy.last_error());
}

/// Sends `bytes` on a fresh connection to `addr` and waits for it to close.
fn poke(addr: &str, bytes: &[u8]) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(bytes);
    let mut sink = Vec::new();
    let _ = s.read_to_end(&mut sink);
}

#[test]
fn broken_connections_do_not_disturb_others() {
    let mock = mock();
    let proxy = Proxy::start(&mock.bootstrap_servers(), FaultPlan::none()).unwrap();
    let addr = proxy.bootstrap().split(',').next().unwrap().to_string();

    // A healthy connection stays open across the bad ones: ApiVersions v0
    // before and after.
    let mut good = TcpStream::connect(&addr).unwrap();
    good.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let api_versions = |s: &mut TcpStream, corr: i32| {
        let mut req = Vec::new();
        let client = b"t";
        let len = 2 + 2 + 4 + 2 + client.len();
        req.extend_from_slice(&(len as i32).to_be_bytes());
        req.extend_from_slice(&18i16.to_be_bytes());
        req.extend_from_slice(&0i16.to_be_bytes());
        req.extend_from_slice(&corr.to_be_bytes());
        req.extend_from_slice(&(client.len() as i16).to_be_bytes());
        req.extend_from_slice(client);
        s.write_all(&req).unwrap();
        let mut size = [0u8; 4];
        s.read_exact(&mut size).unwrap();
        let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
        s.read_exact(&mut body).unwrap();
        i32::from_be_bytes(body[..4].try_into().unwrap())
    };
    assert_eq!(api_versions(&mut good, 41), 41);

    poke(&addr, &[0x7f, 0xff, 0xff, 0xff]); // oversized
    poke(&addr, &[0xff, 0xff, 0xff, 0x00]); // negative size
    poke(&addr, &[0, 0, 0, 3, 1, 2, 3]); // too short for a header
    poke(&addr, &[0, 0, 0, 100, 0, 0]); // truncated, then closed
                                        // A Produce request whose body is garbage.
    poke(
        &addr,
        &[0, 0, 0, 12, 0, 0, 0, 9, 0, 0, 0, 1, 0xff, 0xff, 0x7f, 0xff],
    );

    assert_eq!(api_versions(&mut good, 42), 42);
    let out = produce(&proxy.bootstrap(), "iso", 500, &[]);
    assert!(out.deliveries.iter().all(Result::is_ok));
    assert!(
        proxy.connection_errors() >= 4,
        "{}",
        proxy.connection_errors()
    );
}

#[test]
fn shutdown_closes_listeners_and_is_idempotent() {
    let mock = mock();
    let mut proxy = Proxy::start(&mock.bootstrap_servers(), FaultPlan::none()).unwrap();
    let addr = proxy.bootstrap().split(',').next().unwrap().to_string();
    let open = TcpStream::connect(&addr).unwrap();
    proxy.shutdown();
    proxy.shutdown();
    assert!(TcpStream::connect(&addr).is_err());
    let mut open = open;
    open.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 1];
    assert!(matches!(open.read(&mut buf), Ok(0) | Err(_)));
}

#[test]
fn start_fails_with_a_typed_error_when_nothing_listens() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = Proxy::start(&format!("127.0.0.1:{port}"), FaultPlan::none()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("could not learn the brokers from"),
        "{err}"
    );
    let err = Proxy::start(" , ", FaultPlan::none()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no broker address in bootstrap list \" , \""
    );
}

#[test]
fn lose_ack_duplicates_without_idempotence() {
    // The mock appends the forwarded batch; the proxy turns its answer into
    // NOT_ENOUGH_REPLICAS_AFTER_APPEND; the client sends it again.
    let mock = mock();
    let profile: FaultProfile = "lose-ack:5%".parse().unwrap();
    let proxy = Proxy::start(
        &mock.bootstrap_servers(),
        FaultPlan::by_request(&profile, 3),
    )
    .unwrap();
    let settings = [
        ("enable.idempotence", "false"),
        ("max.in.flight", "1"),
        ("batch.num.messages", "20"),
        ("retry.backoff.ms", "10"),
    ];
    let n = 3000;
    let out = produce(&proxy.bootstrap(), "lose", n, &settings);
    assert!(out.deliveries.iter().all(Result::is_ok));
    let injected = proxy.injected()["lose-ack"];
    assert!(injected > 0);
    let stored = consume(&proxy.bootstrap(), "lose", n + 1, false).len();
    eprintln!("lose-ack:5%: {injected} injected, {n} records sent, {stored} stored");
    assert!(stored > n, "no duplicate in the log");
    assert_eq!(proxy.connection_errors(), 0, "{:?}", proxy.last_error());
}

#[test]
fn resets_delays_and_dropped_acks_are_survived() {
    let mock = mock();
    let profile: FaultProfile = "reset:3%+delay:3%:20ms+lose-ack:3%".parse().unwrap();
    let plan = FaultPlan::by_request(&profile, 5).with_lose_ack(LoseAckMode::DropAndReset);
    let proxy = Proxy::start(&mock.bootstrap_servers(), plan).unwrap();
    let settings = [
        ("enable.idempotence", "true"),
        ("batch.num.messages", "20"),
        ("retry.backoff.ms", "10"),
        ("reconnect.backoff.ms", "10"),
    ];
    let n = 3000;
    let out = produce(&proxy.bootstrap(), "mix", n, &settings);
    let failed: Vec<_> = out.deliveries.iter().filter(|r| r.is_err()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let injected = proxy.injected();
    eprintln!(
        "{profile}: {} produce requests, {injected:?}, {} connections",
        proxy.produce_requests(),
        proxy.connections()
    );
    assert!(injected.values().all(|n| *n > 0), "{injected:?}");
    // Every reset and dropped ack costs the client a reconnect.
    assert!(proxy.connections() > injected["reset"] + injected["lose-ack"]);
    assert_eq!(proxy.connection_errors(), 0, "{:?}", proxy.last_error());
}

/// A proxy in front of `mock` with a record plan of `profile` spread over a
/// cell of `n` records, logging every Produce request.
fn counted_proxy(mock_bootstrap: &str, profile: &str, seed: u64, n: usize) -> Proxy {
    let profile: FaultProfile = profile.parse().unwrap();
    let plan = FaultPlan::new(&profile, seed, 15).with_cell(n as u64, PARTITIONS as u32);
    let config = ProxyConfig {
        log_produce: true,
        ..ProxyConfig::default()
    };
    Proxy::start_with(mock_bootstrap, plan, config).unwrap()
}

#[test]
fn counts_per_cell_inject_exactly_that_many_events() {
    let mock = mock();
    let n = 3000;
    let proxy = counted_proxy(&mock.bootstrap_servers(), "reject:20/cell", 5, n);
    let settings = [
        ("enable.idempotence", "false"),
        ("max.in.flight", "5"),
        ("batch.num.messages", "15"),
        ("retry.backoff.ms", "10"),
    ];
    let out = produce(&proxy.bootstrap(), "b", n, &settings);
    assert!(out.deliveries.iter().all(Result::is_ok));
    assert_eq!(proxy.injected()["reject"], 20, "{:?}", proxy.injected());
    assert_eq!(proxy.events().len(), 20);
    let refused = proxy
        .produce_log()
        .iter()
        .filter(|e| e.refused_with.is_some())
        .count();
    assert_eq!(refused, 20);
    assert_eq!(proxy.connection_errors(), 0, "{:?}", proxy.last_error());
}

#[test]
fn refusal_window_refuses_every_produce_request_in_its_span() {
    let mock = mock();
    let n = 3000;
    let span_us = 300_000;
    let proxy = counted_proxy(
        &mock.bootstrap_servers(),
        "refuse-window:2/cell:300ms",
        17,
        n,
    );
    let settings = [
        ("acks", "all"),
        ("enable.idempotence", "false"),
        ("max.in.flight", "5"),
        ("batch.num.messages", "15"),
        ("retry.backoff.ms", "10"),
    ];
    let out = produce(&proxy.bootstrap(), "win", n, &settings);
    let failed: Vec<_> = out.deliveries.iter().filter(|r| r.is_err()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(proxy.injected()["refuse-window"], 2);
    let events = proxy.events();
    let log = proxy.produce_log();
    assert_eq!(log.len() as u64, proxy.produce_requests());
    assert_eq!(events.len(), 2, "{events:?}");
    // Each window: opened by a request the plan faulted, at a time the log
    // knows to the microsecond.
    let mut windows = Vec::new();
    for e in &events {
        assert_eq!((e.kind.as_str(), e.span_ms), ("refuse-window", Some(300)));
        let opener = log
            .iter()
            .find(|l| Some(l.index) == e.request_index)
            .expect("the opening request is logged");
        assert_eq!(opener.refused_with, Some(NOT_ENOUGH_REPLICAS));
        windows.push((opener.at_us, opener.at_us + span_us, e));
    }
    assert!(windows[0].1 <= windows[1].0, "windows do not overlap");
    // Every request decided inside a window is refused, retries included;
    // every one outside is forwarded. (Within 1 ms of a window's end the
    // microsecond log cannot tell, so those are not judged.)
    for l in &log {
        let inside = windows
            .iter()
            .any(|&(from, to, _)| l.at_us >= from && l.at_us + 1_000 < to);
        let outside = windows
            .iter()
            .all(|&(from, to, _)| l.at_us < from || l.at_us > to + 1_000);
        if inside {
            assert_eq!(
                l.refused_with,
                Some(NOT_ENOUGH_REPLICAS),
                "{l:?} in {windows:?}"
            );
        } else if outside {
            assert_eq!(l.refused_with, None, "{l:?} outside {windows:?}");
        }
    }
    for &(from, to, e) in &windows {
        let refused = log
            .iter()
            .filter(|l| l.at_us >= from && l.at_us < to && l.refused_with.is_some())
            .count() as u64;
        // The client kept trying through the window: its retries were
        // refused too, and every one joined the event.
        assert!(refused >= 3, "{refused} requests in {e:?}");
        assert!(e.requests >= refused, "{e:?}: {refused}");
        assert!(!e.records.is_empty(), "{e:?}");
    }
    assert_eq!(
        proxy.held_requests(),
        events.iter().map(|e| e.requests).sum::<u64>()
    );
    assert_eq!(proxy.connection_errors(), 0, "{:?}", proxy.last_error());
}

#[test]
fn timeout_after_append_leaves_the_records_in_the_log() {
    let mock = mock();
    let n = 3000;
    let proxy = counted_proxy(
        &mock.bootstrap_servers(),
        "timeout-after-append:3/cell:200ms",
        23,
        n,
    );
    let settings = [
        ("acks", "all"),
        ("enable.idempotence", "false"),
        ("max.in.flight", "1"),
        ("batch.num.messages", "15"),
        ("retry.backoff.ms", "10"),
    ];
    let out = produce(&proxy.bootstrap(), "tmo", n, &settings);
    let failed: Vec<_> = out.deliveries.iter().filter(|r| r.is_err()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let events = proxy.events();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        proxy.produce_log().iter().all(|l| l.refused_with.is_none()),
        "every request was forwarded"
    );
    let faulted: u64 = events
        .iter()
        .flat_map(|e| e.records.iter().map(|s| s.len()))
        .sum();
    assert!(faulted > 0);
    // Read straight from the cluster: the timed-out batches were appended
    // once by the broker and once more by the client's retry.
    let rows = consume(
        &mock.bootstrap_servers(),
        "tmo",
        n + faulted as usize,
        false,
    );
    let mut copies: BTreeMap<(u32, u64), usize> = BTreeMap::new();
    for row in &rows {
        let stamp = kafka_order_bench::record::Stamp::read(Some(&row.3)).unwrap();
        *copies.entry((stamp.stream, stamp.seq)).or_default() += 1;
    }
    assert_eq!(copies.len(), n, "every record is in the log");
    for e in &events {
        assert_eq!(
            (e.kind.as_str(), e.span_ms),
            ("timeout-after-append", Some(200))
        );
        for s in &e.records {
            for seq in s.first_seq..=s.last_seq {
                assert_eq!(copies[&(s.stream, seq)], 2, "{e:?}: seq {seq}");
            }
        }
    }
    assert_eq!(rows.len(), n + faulted as usize);
    assert_eq!(proxy.connection_errors(), 0, "{:?}", proxy.last_error());
}

#[test]
fn leader_move_refuses_for_its_span_then_the_client_follows_metadata_to_the_twin() {
    let mock = mock();
    let n = 3000;
    let proxy = counted_proxy(&mock.bootstrap_servers(), "leader-move:1/cell:200ms", 29, n);
    let settings = [
        ("acks", "all"),
        ("enable.idempotence", "false"),
        ("max.in.flight", "5"),
        ("batch.num.messages", "15"),
        ("retry.backoff.ms", "10"),
    ];
    let out = produce(&proxy.bootstrap(), "move", n, &settings);
    let failed: Vec<_> = out.deliveries.iter().filter(|r| r.is_err()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let events = proxy.events();
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!((e.kind.as_str(), e.span_ms), ("leader-move", Some(200)));
    let log = proxy.produce_log();
    let opener = log
        .iter()
        .find(|l| Some(l.index) == e.request_index)
        .unwrap();
    assert_eq!(opener.refused_with, Some(NOT_LEADER_OR_FOLLOWER));
    assert!(!opener.via_twin);
    let end = opener.at_us + 200_000;
    for l in log
        .iter()
        .filter(|l| l.at_us >= opener.at_us && l.at_us + 1_000 < end)
    {
        assert_eq!(l.refused_with, Some(NOT_LEADER_OR_FOLLOWER), "{l:?}");
    }
    // The moved partition is led by the broker's twin: the client read it
    // from Metadata and wrote there once the span was over.
    let moved = proxy.moved_to_twin();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0].0, "move");
    let on_twin: Vec<_> = log
        .iter()
        .filter(|l| l.via_twin && l.refused_with.is_none())
        .collect();
    assert!(!on_twin.is_empty(), "no Produce request reached the twin");
    assert!(on_twin.iter().all(|l| l.at_us >= end), "{on_twin:?}");
    // Refused, never appended: every record is in the log exactly once.
    let rows = consume(&mock.bootstrap_servers(), "move", n, false);
    assert_eq!(rows.len(), n);
    assert_eq!(proxy.connection_errors(), 0, "{:?}", proxy.last_error());
}
