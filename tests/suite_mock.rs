//! `suite::run_workload` on librdkafka's mock cluster: the library's whole
//! pipeline without a JVM. The mock ignores acks and does not check
//! idempotent sequences, so this tests the suite, not Kafka.

use kafka_order_bench::cluster::{Cluster, MockCluster};
use kafka_order_bench::faults::FaultProfile;
use kafka_order_bench::grid::{Acks, Workload};
use kafka_order_bench::results::{Driver, Outcome, Results};
use kafka_order_bench::suite::{self, Progress, SuiteError};

fn workload() -> Workload {
    let mut w = Workload::quick();
    w.axes.max_in_flight = vec![5];
    w.axes.acks = vec![Acks::One];
    w.axes.idempotence = vec![false];
    w.network.rtt_ms = vec![0.0];
    w.faults = vec![FaultProfile::None, "reject:20%".parse().unwrap()];
    let f = &mut w.fixed;
    // The mock keeps 5 MiB per partition: a cell must write less.
    f.record_bytes = 128;
    f.rounds = 2;
    f.windows = 2;
    f.window_ms = 50;
    f.min_records_per_window = 200;
    f.max_records_per_window = 300;
    f.warmup_records = 50;
    f.latency_ms = 100;
    // A fixed rate: one from the mock's throughput could overflow it.
    f.rate_per_sec = 2_000;
    // Small batches: enough Produce requests for the fault plan to act.
    f.batch_bytes = 2_048;
    f.min_events = 1;
    w.validate().unwrap();
    w
}

/// Counts what the suite reports, to check the phases in order.
#[derive(Default)]
struct Phases(Vec<String>, usize);
impl Progress for Phases {
    fn phase(&mut self, name: &str, _work: kafka_order_bench::progress::Work) {
        self.0.push(name.to_string());
    }
    fn cell_finished(&mut self, _result: &kafka_order_bench::results::CellResult) {
        self.1 += 1;
    }
}

#[test]
fn run_workload_measures_checks_and_saves_every_cell() {
    let mock = MockCluster::start(3, &[]).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut phases = Phases::default();
    let (results, path) = suite::run_workload(&mock, &workload(), tmp.path(), &mut phases).unwrap();
    assert_eq!(
        phases.0,
        [
            "opening cells",
            "round 1/2",
            "round 2/2",
            "latency at a fixed load",
            "checking"
        ]
    );
    assert_eq!(phases.1, 2);
    assert!(results.complete);
    assert_eq!(results.run.cluster.kind, mock.kind());
    assert_eq!(results.cells.len(), 2);
    for c in &results.cells {
        let Outcome::Measured(m) = &c.outcome else {
            panic!("{}: {:?}", c.id, c.outcome)
        };
        assert_eq!(m.samples.len(), 4, "{}: 2 rounds of 2 windows", c.id);
        assert_eq!(m.verdict.losses.count, 0);
        assert_eq!(m.verdict.records_read, m.delivery.acked);
    }
    let faulty = results
        .cells
        .iter()
        .find(|c| c.faults != FaultProfile::None)
        .unwrap();
    let m = faulty.measurement().unwrap();
    assert!(
        m.exposure.total_faults() > 0,
        "the proxy injected: {:?}",
        m.exposure
    );
    assert_eq!(Results::load(&path).unwrap(), results, "saved as returned");
}

#[test]
fn the_java_client_is_a_typed_error_on_the_mock() {
    let mock = MockCluster::start(1, &[]).unwrap();
    let mut w = workload();
    w.axes.clients = vec!["java".parse().unwrap()];
    let tmp = tempfile::tempdir().unwrap();
    let e = suite::run_workload(&mock, &w, tmp.path(), &mut suite::Quiet).unwrap_err();
    assert!(matches!(e, SuiteError::ClientOnMock { .. }), "{e:?}");
    assert!(e.to_string().contains("hint: --client librdkafka"), "{e}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// A cell's id, the records it sent and the faults injected into it by kind.
type Exposed = (String, u64, Vec<(String, u64)>);

/// What each cell was exposed to.
fn exposures(results: &Results) -> Vec<Exposed> {
    results
        .cells
        .iter()
        .map(|c| {
            let m = c.measurement().expect("measured");
            let sent = m.samples.iter().map(|s| s.records).sum::<u64>();
            let faults = m.exposure.faults_injected.clone().into_iter().collect();
            (c.id.clone(), sent, faults)
        })
        .collect()
}

/// The same seed and workload give every cell the same exposure (records
/// timed, faults injected) in two runs, and whichever front end drives the
/// suite: the CLI's and Criterion's runs differ only by their driver name.
#[test]
fn exposure_is_the_same_across_runs_and_front_ends() {
    let mock = MockCluster::start(3, &[]).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let w = workload();
    let run = |driver: Driver| {
        let options = suite::RunOptions::default();
        let (results, _) =
            suite::run_workload_with(&mock, &w, tmp.path(), driver, &options, &mut suite::Quiet)
                .unwrap();
        assert_eq!(results.run.driver, driver);
        exposures(&results)
    };
    let cli = run(Driver::Cli);
    assert!(
        cli.iter().any(|(_, _, f)| f.iter().any(|(_, n)| *n > 0)),
        "{cli:?}"
    );
    assert_eq!(run(Driver::Cli), cli, "two runs of the same seed");
    assert_eq!(run(Driver::Criterion), cli, "the CLI and Criterion");
}
