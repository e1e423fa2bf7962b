//! What the suite's path costs, measured on a real local cluster: the
//! proxy against a direct connection at RTT 0 (throughput ratio for
//! `acks=all`, `acks=0` and idempotent `acks=all`, and added p50 latency,
//! interleaved A/B), `acks=0` backpressure with bounded and
//! autotuned proxy buffers, and `acks=all` against the model ceiling at a
//! 20 ms client and replication round trip. Figures, not pass/fail: the
//! bounds a path must meet are tests (`tests/netem_real.rs`).
//!
//! `make path-costs` runs all three (about 5 minutes, three local clusters
//! one after another); `KOB_PATH_COSTS=1 cargo bench --bench path_costs --
//! ceiling` runs those whose name contains `ceiling`. A plain `cargo bench`
//! (which runs every bench target) skips it.

#[path = "../tests/support/produce.rs"]
mod produce;

use std::time::Duration;

use kafka_order_bench::cluster::{delete_topic, Cluster, LocalCluster, LocalOptions};
use kafka_order_bench::faults::{FaultPlan, Proxy, ProxyConfig};
use kafka_order_bench::netem::Link;
use produce::{fixed_rate, median, ms, producer, proxy_with, spread, throughput, topic};

fn main() {
    if std::env::var_os("KOB_PATH_COSTS").is_none() {
        println!("path_costs: skipped (run `make path-costs`, which sets KOB_PATH_COSTS=1)");
        return;
    }
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let benches: [(&str, fn()); 3] = [
        ("proxy_cost_at_rtt_zero", proxy_cost_at_rtt_zero),
        (
            "acks0_backpressure_through_the_proxy",
            acks0_backpressure_through_the_proxy,
        ),
        (
            "acks_all_against_the_model_ceiling",
            acks_all_against_the_model_ceiling,
        ),
    ];
    for (name, bench) in benches {
        if filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())) {
            println!("== {name}");
            bench();
        }
    }
}

fn proxy_cost_at_rtt_zero() {
    let cluster = LocalCluster::start(LocalOptions::default()).expect("local cluster starts");
    let direct = cluster.bootstrap();
    let proxy = proxy_with(&cluster, Link::default());
    let via = proxy.bootstrap();
    let name = topic(&cluster, "cost", 1);
    let rounds = 4;
    let n = 200_000;
    let (all, acks0, idempotent): (&[_], &[_], &[_]) = (
        &[("acks", "all"), ("linger.ms", "5"), ("max.in.flight", "5")],
        &[("acks", "0"), ("linger.ms", "5"), ("max.in.flight", "5")],
        &[
            ("acks", "all"),
            ("enable.idempotence", "true"),
            ("linger.ms", "5"),
            ("max.in.flight", "5"),
        ],
    );
    for (label, settings) in [
        ("acks=all", all),
        ("acks=0", acks0),
        ("idempotent acks=all", idempotent),
    ] {
        let pd = producer(&cluster, &direct, settings);
        let pp = producer(&cluster, &via, settings);
        throughput(&pd, &name, 20_000, 100);
        throughput(&pp, &name, 20_000, 100);
        let (d, p) = interleaved(
            rounds,
            || throughput(&pd, &name, n, 100),
            || throughput(&pp, &name, n, 100),
        );
        let ratio: Vec<f64> = p.iter().zip(&d).map(|(b, a)| b / a).collect();
        println!(
            "{label}: records/s direct {d:.0?} proxied {p:.0?}; proxied/direct {}",
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
    let (d, p) = interleaved(
        rounds,
        || p50(fixed_rate(&pd, &name, 1000, 5, 1024)),
        || p50(fixed_rate(&pp, &name, 1000, 5, 1024)),
    );
    let added: Vec<f64> = p.iter().zip(&d).map(|(b, a)| b - a).collect();
    println!(
        "p50 ms at 1,000 records/s, acks=all: direct {d:.3?} proxied {p:.3?}; added {}",
        spread(&added)
    );
    delete_topic(&cluster, &name).unwrap();
}

/// `rounds` measurements of each of two paths, A/B then B/A in turn, so
/// drift over the rounds is shared by both.
fn interleaved(
    rounds: usize,
    mut a: impl FnMut() -> f64,
    mut b: impl FnMut() -> f64,
) -> (Vec<f64>, Vec<f64>) {
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let (x, y) = if round % 2 == 0 {
            let x = a();
            (x, b())
        } else {
            let y = b();
            (a(), y)
        };
        xs.push(x);
        ys.push(y);
    }
    (xs, ys)
}

/// `acks=0` throughput direct, through the proxy with the kernel's
/// autotuned socket buffers, and through the proxy with its default small
/// buffers: what bounding the proxy's buffers does to the backpressure.
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
        println!(
            "acks=0 {label}: records/s {:.0?}; / direct {}",
            got[k],
            spread(&ratio)
        );
    }
    delete_topic(&cluster, &name).unwrap();
}

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
        println!(
            "acks=all in-flight {in_flight}: records/s {got:.0?}, model ceiling {ceiling:.0} (min(in_flight × {batch} / 40 ms, {batch} / 20 ms))"
        );
    }
    delete_topic(&cluster, &name).unwrap();
}
