//! The health watch on the real local cluster: a broker SIGKILLed from
//! outside is reported down by id and address, from when to when.

use std::time::{Duration, Instant};

use kafka_order_bench::cluster::health::{self, Watch};
use kafka_order_bench::cluster::{create_topic, topic_name, LocalCluster, LocalOptions};

#[test]
fn a_killed_broker_is_named_and_its_downtime_recorded() {
    let cluster = LocalCluster::start(LocalOptions::default()).expect("local cluster");
    create_topic(
        &cluster,
        &topic_name(&["health", &std::process::id().to_string()]),
        3,
    )
    .unwrap();
    let before = health::check(&cluster);
    assert!(before.ok(), "{before}");
    assert_eq!(before.registered, vec![1, 2, 3]);

    let watch = Watch::start(&cluster);
    std::thread::sleep(Duration::from_secs(1));
    let port = cluster.status().iter().find(|n| n.id == 2).unwrap().port;
    cluster.kill(2).unwrap();
    let killed = Instant::now();
    // The watch sees it within a couple of samples (the listener refuses).
    let seen = loop {
        if let Some(h) = watch.last() {
            if h.missing == vec![2] {
                break h;
            }
        }
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "{:?}",
            watch.last()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        seen.down_message().unwrap(),
        format!("broker 2 (127.0.0.1:{port}) is down")
    );
    let now = health::check(&cluster);
    assert_eq!(now.missing, vec![2], "{now}");
    assert!(
        now.to_string()
            .starts_with(&format!("broker 2 (127.0.0.1:{port}) is down")),
        "{now}"
    );
    std::thread::sleep(Duration::from_secs(1));
    cluster.restart(2).unwrap();
    // Back up: give the watch a sample or two to see it.
    std::thread::sleep(Duration::from_secs(2));
    let spans = watch.stop();
    assert_eq!(spans.len(), 1, "{spans:?}");
    let d = &spans[0];
    assert_eq!(d.broker, 2);
    assert_eq!(
        d.address.as_deref(),
        Some(format!("127.0.0.1:{port}").as_str())
    );
    assert!(d.from_ms >= 900 && d.to_ms > d.from_ms + 1000, "{d:?}");
}
