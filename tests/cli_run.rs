//! `kafka-order-bench run` on bad input: one line naming what is wrong, a
//! non-zero exit, and no results file left behind looking complete.

use std::process::Command;

fn run(args: &[&str], out: &std::path::Path) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_kafka-order-bench"))
        .arg("run")
        .args(args)
        .arg("--out")
        .arg(out)
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .output()
        .expect("binary runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn assert_one_line_error(code: i32, stderr: &str, needle: &str) {
    assert_ne!(code, 0, "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected:\n{stderr}");
    assert!(lines[0].contains(needle), "{needle:?} not in {stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn unknown_axis_in_the_workload_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.toml");
    std::fs::write(&file, "[axes]\nlinger_ms = [1, 5]\n").unwrap();
    let (code, err) = run(
        &["--workload", file.to_str().unwrap()],
        &dir.path().join("out"),
    );
    assert_one_line_error(code, &err, "unknown field `linger_ms`");
    assert!(err.contains("w.toml"), "the error names the file: {err}");
    assert!(!dir.path().join("out").exists());
}

#[test]
fn unknown_acks_value_in_the_workload_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.toml");
    std::fs::write(&file, "[axes]\nacks = [\"2\"]\n").unwrap();
    let (code, err) = run(
        &["--workload", file.to_str().unwrap()],
        &dir.path().join("out"),
    );
    assert_one_line_error(code, &err, "unknown acks value \"2\"");
}

#[test]
fn zero_rounds() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = run(&["--quick", "--rounds", "0"], &dir.path().join("out"));
    assert_one_line_error(code, &err, "rounds and windows must be at least 1");
    assert!(!dir.path().join("out").exists());
}

#[test]
fn bad_rtt_values_are_named_before_any_cell_runs() {
    let dir = tempfile::tempdir().unwrap();
    for (rtt, needle) in [
        ("-2ms", "RTT \"-2ms\" must be 0 or more"),
        ("fast", "RTT \"fast\" is not a duration"),
    ] {
        let (code, err) = run(
            &["--quick", &format!("--rtt={rtt}")],
            &dir.path().join("out"),
        );
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(needle), "{needle:?} not in {err:?}");
    }
    let (code, err) = run(
        &["--quick", "--bandwidth-mbit", "0"],
        &dir.path().join("out"),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("bandwidth \"0\" must be a number of Mbit/s above 0"),
        "{err}"
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn unknown_fault_profile() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = run(&["--faults", "chaos:1%"], &dir.path().join("out"));
    assert_ne!(code, 0);
    assert!(
        err.contains("unknown fault kind \"chaos\" in \"chaos:1%\""),
        "{err}"
    );
}

#[test]
fn unreachable_cluster_fails_in_bounded_time_naming_the_address() {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let (code, err) = run(
        &["--quick", "--bootstrap", "127.0.0.1:1"],
        &dir.path().join("out"),
    );
    assert_one_line_error(code, &err, "127.0.0.1:1");
    assert!(
        started.elapsed().as_secs() < 30,
        "took {:?}",
        started.elapsed()
    );
    assert!(
        !dir.path().join("out").exists(),
        "no results for a run that never started"
    );
}

#[test]
fn network_emulation_of_a_tls_cluster_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = run(
        &[
            "--quick",
            "-X",
            "security.protocol=SASL_SSL",
            "--bootstrap",
            "127.0.0.1:1",
        ],
        &dir.path().join("out"),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("security.protocol=SASL_SSL: the suite's proxy"),
        "{err}"
    );
    let (code, err) = run(
        &["--quick", "--direct", "--rtt", "2ms"],
        &dir.path().join("out"),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--direct cannot emulate RTT [2.0] ms"),
        "{err}"
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_replication_rtt_asked_of_an_external_cluster_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let workload = dir.path().join("w.toml");
    std::fs::write(
        &workload,
        "faults = [\"none\"]\n[network]\nrtt_ms = [20.0]\nreplication_rtt_ms = 1.0\n",
    )
    .unwrap();
    let w = workload.to_str().unwrap();
    for extra in [&["--bootstrap", "127.0.0.1:1"][..], &["--direct"][..]] {
        let mut args = vec!["--workload", w];
        args.extend_from_slice(extra);
        let (code, err) = run(&args, &dir.path().join("out"));
        assert_eq!(code, 2, "{err}");
        assert_one_line_error(code, &err, "network.replication_rtt_ms 1: replication links are emulated only on the local cluster");
        assert!(!dir.path().join("out").exists());
    }
}

#[test]
fn help_lists_the_exit_codes() {
    let o = Command::new(env!("CARGO_BIN_EXE_kafka-order-bench"))
        .arg("--help")
        .output()
        .expect("binary runs");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("Exit codes:"), "{out}");
    for code in [0, 1, 2, 3, 130, 143] {
        assert!(
            out.lines()
                .any(|l| l.trim_start().starts_with(&format!("{code} "))),
            "{code}: {out}"
        );
    }
}
