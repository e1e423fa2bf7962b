//! `kafka-order-bench report` run as a user runs it: good input writes the
//! report; bad input gives one line on stderr, a non-zero exit and no
//! report directory.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kafka-order-bench"))
}

fn fixture() -> PathBuf {
    common::mixed_file()
}

fn report(args: &[&Path]) -> Output {
    bin().arg("report").args(args).output().expect("run binary")
}

/// The error is one line starting with `Error:`; returns it.
fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success(), "expected failure");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.trim_end().lines().count(), 1, "stderr: {err:?}");
    assert!(err.starts_with("Error: "), "{err}");
    err
}

#[test]
fn writes_the_report_beside_the_results_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.json");
    std::fs::copy(fixture(), &results).unwrap();
    let out = report(&[&results]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "REPORT.md",
        "tradeoff.svg",
        "throughput.svg",
        "latency.svg",
        "violations.svg",
        "profiles.svg",
        "cpu.svg",
    ] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.trim_end().ends_with("REPORT.md"), "{stdout}");
}

#[test]
fn writes_into_out_dir_when_given() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("nested/out");
    let out = bin()
        .arg("report")
        .arg(fixture())
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out_dir.join("REPORT.md").is_file());
    // Nothing but the report in it, no staging directory left beside it.
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 7);
    assert_eq!(
        std::fs::read_dir(dir.path().join("nested"))
            .unwrap()
            .count(),
        1
    );
}

fn assert_bad_input(content: Option<&str>, expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.json");
    if let Some(c) = content {
        std::fs::write(&results, c).unwrap();
    }
    let out_dir = dir.path().join("out");
    let out = bin()
        .arg("report")
        .arg(&results)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    let err = one_line_error(&out);
    assert!(err.contains(expect), "{err}");
    assert!(!out_dir.exists(), "a report directory was created");
    // And nothing else appeared beside the input.
    let n = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(n, usize::from(content.is_some()));
}

#[test]
fn missing_file() {
    assert_bad_input(None, "cannot read");
}

#[test]
fn truncated_file() {
    let full = std::fs::read_to_string(fixture()).unwrap();
    assert_bad_input(
        Some(&full[..full.len() / 2]),
        "is not a kafka-order-bench results file",
    );
}

#[test]
fn not_json() {
    assert_bad_input(
        Some("results,of,a,run\n1,2,3\n"),
        "is not a kafka-order-bench results file",
    );
}

#[test]
fn unknown_schema_version() {
    let full = std::fs::read_to_string(fixture()).unwrap();
    let v = full.replacen("\"schema_version\": 3", "\"schema_version\": 999", 1);
    assert_ne!(v, full);
    assert_bad_input(Some(&v), "schema version 999");
}

#[test]
fn empty_run() {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture()).unwrap()).unwrap();
    v["cells"] = serde_json::json!([]);
    assert_bad_input(Some(&v.to_string()), "holds no cells");
}

#[test]
fn default_out_dir_with_bad_input_leaves_the_directory_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.json");
    std::fs::write(&results, "{").unwrap();
    let out = report(&[&results]);
    one_line_error(&out);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
