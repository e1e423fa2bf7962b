//! A results file of schema version 1, frozen as the suite wrote it (taken
//! from the fixtures of that era): it still loads, reports and compares.

use std::path::{Path, PathBuf};
use std::process::Command;

use kafka_order_bench::compare::{self, CompareOptions};
use kafka_order_bench::faults::FaultProfile;
use kafka_order_bench::report;
use kafka_order_bench::results::{ClusterKind, Driver, Outcome, Results, SCHEMA_VERSION};

fn v1() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1/results.json")
}

#[test]
fn a_v1_file_loads_as_the_current_schema() {
    let r = Results::load(&v1()).expect("v1 loads");
    assert_eq!(r.schema_version, SCHEMA_VERSION);
    assert_eq!(r.run.cluster.kind, ClusterKind::Local);
    assert_eq!(r.run.driver, Driver::Cli);
    assert_eq!(r.cells.len(), 3);
    let faults: Vec<&FaultProfile> = r.cells.iter().map(|c| &c.faults).collect();
    assert_eq!(faults[0], &FaultProfile::None);
    assert_eq!(faults[2].to_string(), "reject:1%");
    assert!(matches!(r.cells[1].outcome, Outcome::Rejected { .. }));
    let Outcome::Measured(m) = &r.cells[0].outcome else {
        panic!("cell 0 is measured")
    };
    assert_eq!(m.samples.len(), 5);
    assert!(m.throughput.ci_half_width_pct > 0.0);
    // One round of `samples` windows, under no emulated network.
    assert_eq!(r.run.workload.fixed.rounds, 1);
    assert_eq!(r.run.workload.fixed.windows, 5);
    assert_eq!(r.cells[0].network.rtt_us, 0);
}

#[test]
fn a_v1_file_reports() {
    let r = Results::load(&v1()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    report::render(&r, dir.path()).expect("report renders");
    let md = std::fs::read_to_string(dir.path().join("REPORT.md")).unwrap();
    assert!(md.contains("inflight") || md.contains("in-flight"), "{md}");
}

#[test]
fn a_v1_file_compares_with_itself_and_through_the_cli() {
    let r = Results::load(&v1()).unwrap();
    let c = compare::compare(&r, &r, &CompareOptions::default());
    assert!(c.comparable(), "{:?}", c.differences);
    assert!(!c.regressed());
    assert_eq!(c.cells.len(), 3);
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_kafka-order-bench"))
        .arg("compare")
        .arg(v1())
        .arg(v1())
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
