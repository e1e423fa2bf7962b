//! The whole pipeline through the `run` binary on librdkafka's mock cluster:
//! grid → cells → results.json → REPORT.md and SVGs, in seconds and without
//! a JVM. The mock is a test fixture (it ignores acks and does not check
//! idempotent sequences): this tests the suite, not Kafka.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kafka_order_bench::results::{Outcome, Results};

/// 8 cells: in-flight 1 and 10 × idempotence off and on × none and
/// reject:1%; idempotence with in-flight 10 is refused by the client.
const WORKLOAD: &str = r#"
seed = 7
faults = ["none", "reject:1%"]
[axes]
max_in_flight = [1, 10]
acks = ["all"]
idempotence = [false, true]
[network]
rtt_ms = [0.0]
fault_rtt_ms = [0.0]
[fixed]
record_bytes = 128
rounds = 1
windows = 2
window_ms = 50
min_records_per_window = 200
max_records_per_window = 400
warmup_records = 50
latency_ms = 200
rate_per_sec = 2000
min_events = 1
message_timeout_ms = 10000
"#;

fn run(args: &[&str], dir: &Path) -> (i32, String) {
    let file = dir.join("w.toml");
    std::fs::write(&file, WORKLOAD).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_kafka-order-bench"))
        .arg("run")
        .arg("--workload")
        .arg(&file)
        .arg("--out")
        .arg(dir.join("out"))
        .args(args)
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .env("CI", "1")
        .output()
        .expect("binary runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn run_dir(out: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "one run directory: {dirs:?}");
    dirs[0].clone()
}

#[test]
fn a_grid_runs_end_to_end_on_the_mock_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (code, stderr) = run(&["--cluster", "mock"], tmp.path());
    let took = started.elapsed();
    eprintln!("the mock run took {:.1} s", took.as_secs_f64());
    assert_eq!(code, 0, "{stderr}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert!(stderr.contains("not results"), "{stderr}");

    let dir = run_dir(&tmp.path().join("out"));
    let results = Results::load(&dir.join("results.json")).unwrap();
    assert!(results.complete);
    assert_eq!(
        results.run.cluster.kind,
        kafka_order_bench::results::ClusterKind::Mock
    );
    assert_eq!(results.cells.len(), 8);
    let mut measured = 0;
    for c in &results.cells {
        match &c.outcome {
            Outcome::Measured(m) => {
                measured += 1;
                assert!(m.throughput.records_per_sec > 0.0, "{}", c.id);
                assert_eq!(m.verdict.losses.count, 0, "{}", c.id);
                assert_eq!(m.verdict.records_read, m.delivery.acked, "{}", c.id);
                assert!(m.verdict.records_read > 0, "{}", c.id);
                if c.faults == kafka_order_bench::faults::FaultProfile::None {
                    assert!(m.fixed_load.is_some(), "{}: a fixed-load phase", c.id);
                } else {
                    assert!(m.fixed_load.is_none(), "{}", c.id);
                }
            }
            Outcome::Rejected { message } => {
                assert!(
                    c.id.contains("inflight=10") && c.id.contains("idem=true"),
                    "{}",
                    c.id
                );
                assert!(!message.is_empty());
            }
            Outcome::Failed { message } => panic!("{} failed: {message}", c.id),
        }
    }
    assert_eq!(measured, 6);

    let report = std::fs::read_to_string(dir.join("REPORT.md")).unwrap();
    assert!(
        report.contains("Not a result"),
        "the report says it is the mock"
    );
    assert!(report.contains("mock cluster"));
    let svgs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .collect();
    assert!(!svgs.is_empty(), "charts are written");
    for svg in svgs {
        let text = std::fs::read_to_string(&svg).unwrap();
        roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", svg.display()));
    }
}

#[test]
fn the_java_client_is_refused_on_the_mock_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, stderr) = run(&["--cluster", "mock", "--client", "java"], tmp.path());
    assert_eq!(code, 2, "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("cannot run on librdkafka's mock cluster"),
        "{stderr}"
    );
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn failover_and_bootstrap_are_refused_on_the_mock() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, stderr) = run(&["--cluster", "mock", "--faults", "failover"], tmp.path());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot inject failover"), "{stderr}");
    let (code, stderr) = run(
        &["--cluster", "mock", "--bootstrap", "127.0.0.1:9092"],
        tmp.path(),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--cluster mock runs in this process"),
        "{stderr}"
    );
}
