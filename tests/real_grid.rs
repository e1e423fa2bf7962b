//! The suite end to end on a real local 3-node Apache Kafka cluster: the
//! quick grid without faults, then the fault profiles that make ordering
//! violations observable. One cluster for the whole file (each start costs
//! ~20 s of a 2-core machine).
//!
//! These tests record what the real broker and client do; where a count
//! depends on the schedule they assert only its sign, and the same seeded
//! schedule hits every cell of a profile.

use std::path::Path;

use kafka_order_bench::cluster::{LocalCluster, LocalOptions};
use kafka_order_bench::faults::FaultProfile;
use kafka_order_bench::grid::{Acks, Axes, Client, Fixed, Network, Workload};
use kafka_order_bench::results::{CellResult, Measurement, Outcome, Results};
use kafka_order_bench::suite::{self, Quiet};

fn measured(r: &CellResult) -> &Measurement {
    r.measurement()
        .unwrap_or_else(|| panic!("{} was not measured: {:?}", r.id, r.outcome))
}

fn cell<'a>(results: &'a Results, id: &str) -> &'a CellResult {
    results
        .cells
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no cell {id}"))
}

fn quick_grid(cluster: &LocalCluster, out: &Path) {
    let workload = Workload::quick();
    let (results, path) = suite::run_workload(cluster, &workload, out, &mut Quiet).unwrap();
    assert!(results.complete);
    assert_eq!(results.cells.len(), workload.cells().len());

    // What was written parses back into the schema, identical.
    let loaded = Results::load(&path).unwrap();
    assert_eq!(loaded, results);
    assert_eq!(loaded.run.cluster.brokers, 3);
    assert_eq!(loaded.run.cluster.broker_version.as_deref(), Some("4.1.1"));
    assert!(loaded.run.librdkafka_version.starts_with("2."));

    let mut rejected = 0;
    for c in &results.cells {
        match &c.outcome {
            Outcome::Measured(m) => {
                assert!(m.throughput.records_per_sec > 0.0, "{}", c.id);
                assert!(m.throughput.records_per_sec_ci_low <= m.throughput.records_per_sec);
                assert!(m.throughput.records_per_sec <= m.throughput.records_per_sec_ci_high);
                let f = &workload.fixed;
                let grid_cell = c.cell().unwrap();
                let spec =
                    kafka_order_bench::librdkafka::RoundSpec::for_cell(&grid_cell, &workload);
                assert_eq!(m.samples.len(), (f.rounds * f.windows) as usize, "{}", c.id);
                // Latency at a fixed load, for every measured cell here (no faults).
                let fixed_load = m.fixed_load.as_ref().expect("fixed-load latency");
                assert!(fixed_load.rate_per_sec > 0 && fixed_load.latency.count > 0);
                assert!(m.latency.p50_us > 0 && m.latency.p50_us <= m.latency.p99_us);
                assert!(
                    m.latency.p99_us <= m.latency.p999_us && m.latency.p999_us <= m.latency.max_us
                );
                let windowed = u64::from(f.rounds * f.windows) * spec.records_per_window;
                assert_eq!(m.latency.count, windowed, "{}", c.id);
                // The cell's warm-up is at least one round's worth of records.
                let warmup = workload.cell_warmup_records(&grid_cell);
                assert!(warmup >= f.warmup_records && warmup >= spec.records());
                let sent = warmup + u64::from(f.rounds) * spec.records() + fixed_load.records;
                assert_eq!(m.delivery.sent, sent, "{}", c.id);
                assert_eq!(m.delivery.acked, sent, "{}", c.id);
                // No faults: nothing reorders, nothing is lost, and the cell
                // says that no fault touched it rather than claiming safety.
                assert_eq!(m.verdict.records_read, sent, "{}", c.id);
                assert_eq!(m.verdict.violations(), 0, "{}: {:?}", c.id, m.verdict);
                assert_eq!((m.verdict.malformed, m.verdict.foreign), (0, 0));
                assert!(!m.exposure.exposed(), "{}", c.id);
                assert_eq!(m.exposure.total_faults(), 0);
                // The effective configuration is librdkafka's, not an echo.
                assert_eq!(
                    m.effective["max.in.flight.requests.per.connection"],
                    c.requested.max_in_flight.to_string()
                );
                assert!(m.effective.contains_key("message.send.max.retries"));
            }
            Outcome::Rejected { message } => {
                rejected += 1;
                assert!(c.requested.idempotence, "{}", c.id);
                assert!(
                    message.contains("when `enable.idempotence` is true"),
                    "{message}"
                );
            }
            Outcome::Failed { message } => panic!("{} failed: {message}", c.id),
        }
    }
    // Per RTT: idem=true with acks=1 (3 cells) or max.in.flight=10 (1 more).
    assert_eq!(rejected, 4 * workload.network.rtt_ms.len());
}

fn faults(cluster: &LocalCluster, out: &Path) {
    let workload = Workload {
        axes: Axes {
            max_in_flight: vec![5],
            acks: vec![Acks::All],
            idempotence: vec![false, true],
            clients: vec![kafka_order_bench::grid::Client::Librdkafka],
        },
        fixed: Fixed {
            rounds: 2,
            windows: 2,
            max_records_per_window: 2_000,
            warmup_records: 300,
            latency_ms: 0,
            ..Fixed::default()
        },
        network: Network::none(),
        faults: ["reject:5%", "lose-ack:5%", "failover"]
            .iter()
            .map(|p| p.parse::<FaultProfile>().unwrap())
            .collect(),
        seed: 42,
    };
    let (results, _) = suite::run_workload(cluster, &workload, out, &mut Quiet).unwrap();
    assert!(results.complete);

    // A Produce request refused before the append: without idempotence the
    // retried batch lands after the ones in flight behind it.
    let plain = measured(cell(
        &results,
        "rtt=0ms,inflight=5,acks=all,idem=false,faults=reject-5pct",
    ));
    let idem = measured(cell(
        &results,
        "rtt=0ms,inflight=5,acks=all,idem=true,faults=reject-5pct",
    ));
    for m in [plain, idem] {
        assert!(m.exposure.faults_injected["reject"] > 0, "{:?}", m.exposure);
        assert!(m.exposure.records_resent > 0, "{:?}", m.exposure);
        assert_eq!(m.verdict.losses.count, 0);
    }
    // The same seeded schedule hits both cells at the same request indices.
    assert_eq!(
        plain.exposure.faults_injected["reject"],
        idem.exposure.faults_injected["reject"]
    );
    assert!(plain.verdict.reorders.count > 0, "{:?}", plain.verdict);
    assert!(plain.verdict.reorder_displacement.max > 0);
    assert_eq!(idem.verdict.reorders.count, 0, "{:?}", idem.verdict);
    assert_eq!(idem.verdict.violations(), 0);

    // Appended, but the acknowledgement lost: without idempotence the retry
    // writes the batch twice; with it the broker recognises the sequence.
    let plain = measured(cell(
        &results,
        "rtt=0ms,inflight=5,acks=all,idem=false,faults=lose-ack-5pct",
    ));
    let idem = measured(cell(
        &results,
        "rtt=0ms,inflight=5,acks=all,idem=true,faults=lose-ack-5pct",
    ));
    assert!(plain.exposure.faults_injected["lose-ack"] > 0);
    assert!(
        plain.verdict.log_duplicates.count > 0,
        "{:?}",
        plain.verdict
    );
    assert!(idem.exposure.faults_injected["lose-ack"] > 0);
    assert_eq!(idem.verdict.log_duplicates.count, 0, "{:?}", idem.verdict);
    assert_eq!(idem.verdict.reorders.count, 0, "{:?}", idem.verdict);

    // The leader dies mid-cell: every cell completes, with its verdict and
    // its exposure (one kill, and the client's resends).
    for idem in [false, true] {
        let id = format!("rtt=0ms,inflight=5,acks=all,idem={idem},faults=failover");
        let m = measured(cell(&results, &id));
        assert_eq!(
            m.exposure.faults_injected["failover"],
            u64::from(workload.fixed.rounds),
            "{id}: one failover per round"
        );
        assert_eq!(
            m.delivery.acked + m.delivery.failed,
            m.delivery.sent,
            "{id}"
        );
        // acks=all with min.insync.replicas=2: an acknowledged record survives
        // the loss of one broker.
        assert_eq!(m.verdict.losses.count, 0, "{id}: {:?}", m.verdict);
    }
}

/// librdkafka and the Java client side by side on the same grid, faults and
/// checker: the same kinds of verdict from the same planted faults, and the
/// Java client's own refusals.
fn clients(cluster: &LocalCluster, out: &Path) {
    let java = Client::Java("4.1.1".into());
    let workload = Workload {
        axes: Axes {
            max_in_flight: vec![5, 6],
            acks: vec![Acks::All],
            idempotence: vec![false, true],
            clients: vec![Client::Librdkafka, java.clone()],
        },
        fixed: Fixed {
            rounds: 2,
            windows: 2,
            max_records_per_window: 2_000,
            warmup_records: 300,
            latency_ms: 0,
            ..Fixed::default()
        },
        network: Network::none(),
        faults: ["reject:5%", "lose-ack:5%"]
            .iter()
            .map(|p| p.parse::<FaultProfile>().unwrap())
            .collect(),
        seed: 42,
    };
    let (results, path) = suite::run_workload(cluster, &workload, out, &mut Quiet).unwrap();
    assert!(results.complete);
    assert_eq!(Results::load(&path).unwrap(), results);
    for prefix in ["", "client=java-4.1.1,"] {
        let id = |rest: &str| format!("{prefix}rtt=0ms,{rest}");
        // Refused with the client's own words.
        let refused = cell(
            &results,
            &id("inflight=6,acks=all,idem=true,faults=reject-5pct"),
        );
        let Outcome::Rejected { message } = &refused.outcome else {
            panic!("{} not rejected: {:?}", refused.id, refused.outcome)
        };
        if prefix.is_empty() {
            assert!(
                message.contains("`enable.idempotence` is true"),
                "{message}"
            );
        } else {
            assert!(
                message.contains("max.in.flight.requests.per.connection must be set to at most 5"),
                "{message}"
            );
        }
        let plain = measured(cell(
            &results,
            &id("inflight=5,acks=all,idem=false,faults=reject-5pct"),
        ));
        let idem = measured(cell(
            &results,
            &id("inflight=5,acks=all,idem=true,faults=reject-5pct"),
        ));
        assert!(
            plain.exposure.faults_injected["reject"] > 0,
            "{prefix}{:?}",
            plain.exposure
        );
        assert!(
            plain.verdict.reorders.count > 0,
            "{prefix}{:?}",
            plain.verdict
        );
        assert_eq!(idem.verdict.violations(), 0, "{prefix}{:?}", idem.verdict);
        let plain = measured(cell(
            &results,
            &id("inflight=5,acks=all,idem=false,faults=lose-ack-5pct"),
        ));
        let idem = measured(cell(
            &results,
            &id("inflight=5,acks=all,idem=true,faults=lose-ack-5pct"),
        ));
        assert!(
            plain.verdict.log_duplicates.count > 0,
            "{prefix}{:?}",
            plain.verdict
        );
        assert_eq!(
            idem.verdict.log_duplicates.count, 0,
            "{prefix}{:?}",
            idem.verdict
        );
        assert_eq!(idem.verdict.reorders.count, 0, "{prefix}{:?}", idem.verdict);
    }
}

#[test]
fn the_suite_on_a_real_cluster() {
    let cluster = LocalCluster::start(LocalOptions::default()).expect("local cluster starts");
    let out = tempfile::tempdir().unwrap();
    quick_grid(&cluster, out.path());
    faults(&cluster, out.path());
    clients(&cluster, out.path());
    let pids: Vec<u32> = cluster.status().iter().filter_map(|n| n.pid).collect();
    drop(cluster);
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "broker process {pid} outlived its cluster"
        );
    }
}
