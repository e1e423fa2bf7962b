//! `kafka-order-bench compare` run as a CI pipeline runs it: the binary, its
//! exit status, and the files it writes, parsed.
//!
//! `tests/fixtures/compare/` holds two results files made by
//! [`regenerate_fixtures`] (run it with `--ignored` after a schema change):
//! `base.json`, a 12-cell run with librdkafka 2.3.0, and `new-regressed.json`,
//! the same grid with librdkafka 2.12.1 where one cell lost 20% of its
//! throughput and an idempotent cell reordered records under faults. Loading
//! them also guards the schema: a change that breaks old files fails here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kafka_order_bench::compare::Comparison;
use kafka_order_bench::grid::{Acks, Axes, Fixed, Network, Workload};
use kafka_order_bench::results::{
    CellNetwork, CellResult, ClientCounters, ClusterMeta, DeliveryCounts, Exposure, Latency,
    MachineMeta, Measurement, Outcome, Results, RunMeta, Sample, Throughput,
};
use kafka_order_bench::verify::{permitted, Verdict};

const SLOW_CELL: &str = "rtt=0ms,inflight=5,acks=all,idem=false,faults=none";
const REORDER_CELL: &str = "rtt=0ms,inflight=5,acks=all,idem=true,faults=reject-1pct";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compare")
        .join(name)
}

fn compare(base: &Path, new: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kafka-order-bench"))
        .arg("compare")
        .arg(base)
        .arg(new)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("run kafka-order-bench")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit status")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn read_json(dir: &Path) -> Comparison {
    let text = std::fs::read_to_string(dir.join("compare.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every `<text>` of the SVG, trimmed.
fn svg_texts(dir: &Path) -> (usize, Vec<String>) {
    let svg = std::fs::read_to_string(dir.join("compare.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("compare.svg is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let circles = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .count();
    let texts = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(|t| t.trim().to_string())
        .collect();
    (circles, texts)
}

#[test]
fn identical_files_exit_0_with_no_change() {
    let dir = tempfile::tempdir().unwrap();
    let base = fixture("base.json");
    let o = compare(&base, &base, dir.path(), &[]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("12 cells compared: 0 regressed, 0 improved, 12 not significant"),
        "{}",
        stdout(&o)
    );
    let c = read_json(dir.path());
    assert!(c.comparable() && !c.regressed());
    assert!(c
        .cells
        .iter()
        .filter_map(|cell| cell.throughput.as_ref())
        .all(|m| m.change == 0.0));
    let md = std::fs::read_to_string(dir.path().join("compare.md")).unwrap();
    assert!(
        md.contains("**No regression** in 12 compared cells."),
        "{md}"
    );
    // 10 cells measured on both sides (2 rejected), two metrics each.
    let (circles, texts) = svg_texts(dir.path());
    assert_eq!(circles, 20);
    assert!(texts.iter().any(|t| t == SLOW_CELL));
}

#[test]
fn regression_exits_1_and_is_in_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let o = compare(
        &fixture("base.json"),
        &fixture("new-regressed.json"),
        dir.path(),
        &[],
    );
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("librdkafka 2.3.0 (base-run) → 2.12.1 (new-run)"),
        "{out}"
    );
    assert!(
        out.contains(&format!("regressed {REORDER_CELL}: reorders 0 → 4")),
        "{out}"
    );

    let c = read_json(dir.path());
    assert_eq!(c.summary.cells.regressed, 2);
    assert_eq!(c.summary.ordering_regressions, 1);
    assert_eq!(c.summary.throughput.regressed, 1);
    let worst: Vec<&str> = c.worst_regressions(5).iter().map(|(id, _)| *id).collect();
    assert_eq!(worst, [REORDER_CELL, SLOW_CELL]);

    let md = std::fs::read_to_string(dir.path().join("compare.md")).unwrap();
    assert!(
        md.contains("**Regressed**: 2 of 12 cells regressed"),
        "{md}"
    );
    assert!(
        md.contains("| librdkafka | **2.3.0** | **2.12.1** |"),
        "{md}"
    );
    assert!(md.contains("## Worst regressions"), "{md}");

    let svg = std::fs::read_to_string(dir.path().join("compare.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let red_dots = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle") && n.attribute("fill") == Some("#C82828"))
        .count();
    assert_eq!(red_dots, 1, "one red dot: the throughput drop");
    let (_, texts) = svg_texts(dir.path());
    assert!(texts.iter().any(|t| t == "reorders 0→4"), "{texts:?}");
    assert!(texts
        .iter()
        .any(|t| t.starts_with("librdkafka 2.3.0 (baseline) → 2.12.1 (new)")));

    // The same inputs give the same bytes.
    let again = tempfile::tempdir().unwrap();
    compare(
        &fixture("base.json"),
        &fixture("new-regressed.json"),
        again.path(),
        &[],
    );
    for f in ["compare.md", "compare.svg", "compare.json"] {
        assert_eq!(
            std::fs::read(dir.path().join(f)).unwrap(),
            std::fs::read(again.path().join(f)).unwrap(),
            "{f} differs between two runs"
        );
    }
}

#[test]
fn a_huge_noise_threshold_does_not_excuse_an_ordering_regression() {
    let dir = tempfile::tempdir().unwrap();
    let o = compare(
        &fixture("base.json"),
        &fixture("new-regressed.json"),
        dir.path(),
        &["--noise", "90%"],
    );
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let c = read_json(dir.path());
    assert_eq!(c.options.noise, 0.9);
    assert_eq!(c.summary.throughput.regressed, 0);
    assert_eq!(c.summary.cells.regressed, 1);
}

#[test]
fn not_comparable_exits_2_with_the_reason_and_still_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut new = Results::load(&fixture("new-regressed.json")).unwrap();
    new.run.workload.fixed.record_bytes = 512;
    new.run.cluster.broker_version = Some("3.9.1".into());
    let new_path = dir.path().join("new.json");
    new.save(&new_path).unwrap();
    let out = dir.path().join("cmp");
    let o = compare(&fixture("base.json"), &new_path, &out, &[]);
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    assert_eq!(
        stderr(&o).trim(),
        "Error: the runs are not comparable: workload.fixed.record_bytes (1024 vs 512), \
         cluster.broker_version (4.0.0 vs 3.9.1) differ"
    );
    let c = read_json(&out);
    assert!(!c.comparable() && c.cells.is_empty());
    let md = std::fs::read_to_string(out.join("compare.md")).unwrap();
    assert!(
        md.contains("| `cluster.broker_version` | 4.0.0 | 3.9.1 |"),
        "{md}"
    );
    let (circles, texts) = svg_texts(&out);
    assert_eq!(circles, 0);
    assert!(texts.iter().any(|t| t == "Not comparable:"));
}

#[test]
fn default_output_directory_is_the_current_one_never_an_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let new_path = dir.path().join("run-2/results.json");
    std::fs::create_dir_all(new_path.parent().unwrap()).unwrap();
    std::fs::copy(fixture("base.json"), &new_path).unwrap();
    let cwd = dir.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_kafka-order-bench"))
        .current_dir(&cwd)
        .arg("compare")
        .arg(fixture("base.json"))
        .arg(&new_path)
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    for f in ["compare.md", "compare.svg", "compare.json"] {
        assert!(cwd.join(f).is_file(), "{f}");
        assert!(!dir.path().join("run-2").join(f).exists(), "{f}");
    }
}

#[test]
fn bad_input_exits_2_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = fixture("base.json");
    let cases: [(PathBuf, &str); 4] = [
        (dir.path().join("missing.json"), "cannot read"),
        (
            fixture("truncated.json"),
            "is not a kafka-order-bench results file",
        ),
        (
            fixture("schema-v99.json"),
            "has schema version 99, this build reads version",
        ),
        (fixture("no-cells.json"), "holds no cells"),
    ];
    for (path, message) in cases {
        let out = dir.path().join("out");
        let o = compare(&base, &path, &out, &[]);
        assert_eq!(code(&o), 2, "{}: {}", path.display(), stderr(&o));
        let err = stderr(&o);
        assert!(err.starts_with("Error: "), "{err}");
        assert!(err.contains(message), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(!out.exists(), "nothing is written on bad input");
        // Either side.
        let o = compare(&path, &base, &out, &[]);
        assert_eq!(code(&o), 2, "{}", stderr(&o));
    }
}

#[test]
fn pairs_combine_into_one_verdict_and_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let (base, new) = (fixture("base.json"), fixture("new-regressed.json"));
    let run = |pairs: &[(&Path, &Path)], out: &Path| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kafka-order-bench"));
        cmd.arg("compare").arg("--out").arg(out);
        for (b, n) in pairs {
            cmd.arg("--pair").arg(b).arg(n);
        }
        cmd.output().expect("run kafka-order-bench")
    };
    // A regression in both pairs: the combined verdict regressed, exit 1.
    let out = dir.path().join("regressed");
    let o = run(&[(&base, &new), (&base, &new)], &out);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let md = std::fs::read_to_string(out.join("pairs.md")).unwrap();
    assert!(md.contains("- **Result: REGRESSED**"), "{md}");
    assert!(out.join("pair-1/compare.md").is_file() && out.join("pair-2/compare.json").is_file());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("pairs.json")).unwrap()).unwrap();
    assert_eq!(json["throughput"]["regressed"], 1);
    assert_eq!(json["ordering_regressions"], 1);
    // The throughput drop in one pair only is inconsistent, not a regression;
    // the new reorder still counts from the one pair that has it.
    let out = dir.path().join("mixed");
    let o = run(&[(&base, &new), (&base, &base)], &out);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("pairs.json")).unwrap()).unwrap();
    assert_eq!(json["throughput"]["regressed"], 0);
    assert_eq!(json["throughput"]["inconsistent"], 1);
    assert_eq!(json["ordering_regressions"], 1);
    // Identical pairs: exit 0.
    let out = dir.path().join("same");
    let o = run(&[(&base, &base), (&new, &new)], &out);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Result: no regression"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn bad_noise_is_refused_by_the_parser() {
    let dir = tempfile::tempdir().unwrap();
    let base = fixture("base.json");
    let o = compare(&base, &base, dir.path(), &["--noise", "5"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("hint: 5% is 0.05"), "{}", stderr(&o));
}

/// The runs the fixtures hold: a small grid under no faults and 1% rejected
/// Produce requests, rejected where idempotence meets in-flight > 5.
fn fixture_results(librdkafka: &str, run_id: &str) -> Results {
    let workload = Workload {
        axes: Axes {
            max_in_flight: vec![1, 5, 10],
            acks: vec![Acks::All],
            idempotence: vec![false, true],
            clients: vec![kafka_order_bench::grid::Client::Librdkafka],
        },
        fixed: Fixed {
            rounds: 2,
            windows: 3,
            warmup_records: 500,
            ..Fixed::default()
        },
        network: Network::none(),
        faults: vec!["none".parse().unwrap(), "reject:1%".parse().unwrap()],
        seed: 42,
    };
    let mut results = Results::new(RunMeta {
        run_id: run_id.into(),
        run_tag: 0x6b6f62,
        started_at: "2026-01-01T00:00:00Z".into(),
        tool_version: "0.1.0".into(),
        git_revision: None,
        librdkafka_version: librdkafka.into(),
        rdkafka_crate_version: "0.39.0".into(),
        cluster: ClusterMeta {
            kind: "local".into(),
            broker_version: Some("4.0.0".into()),
            brokers: 3,
            bootstrap: "127.0.0.1:19092".into(),
        },
        machine: MachineMeta {
            os: "linux".into(),
            arch: "x86_64".into(),
            cpu_model: Some("Fixture CPU".into()),
            cores: 8,
            memory_bytes: Some(16 << 30),
        },
        workload: workload.clone(),
        driver: "cli".into(),
    });
    const WOBBLE: [f64; 5] = [1.0, 0.98, 1.02, 0.99, 1.01];
    for cell in workload.cells() {
        let s = cell.settings;
        let outcome = if s.idempotence && s.max_in_flight > 5 {
            Outcome::Rejected {
                message: "`max.in.flight.requests.per.connection` must be set <= 5 when `enable.idempotence` is true".into(),
            }
        } else {
            let rate = 20_000.0 * f64::from(s.max_in_flight.min(5));
            let p99 = 2_000.0 + 100.0 * f64::from(s.max_in_flight);
            let samples: Vec<Sample> = WOBBLE
                .iter()
                .map(|w| Sample {
                    round: 0,
                    records: 4_000,
                    bytes: 4_000 * 1024,
                    elapsed_ns: (4_000.0 * 1e9 / (rate * w)).round() as u64,
                    p50_us: (p99 / 4.0) as u64,
                    p99_us: (p99 * (2.0 - w)).round() as u64,
                })
                .collect();
            let mut faults = BTreeMap::new();
            if !cell.faults.is_none() {
                faults.insert("reject".to_string(), 31);
            }
            Outcome::Measured(Box::new(Measurement {
                topic: format!("kob-{}", cell.id()),
                effective: BTreeMap::new(),
                throughput: Throughput::from_samples(&samples, 1024),
                samples,
                latency: Latency {
                    count: 20_000,
                    p50_us: (p99 / 4.0) as u64,
                    p90_us: (p99 / 2.0) as u64,
                    p99_us: p99 as u64,
                    p999_us: (p99 * 1.5) as u64,
                    p9999_us: (p99 * 2.0) as u64,
                    max_us: (p99 * 3.0) as u64,
                    mean_us: p99 / 3.0,
                    histogram: String::new(),
                },
                fixed_load: None,
                delivery: DeliveryCounts {
                    sent: 20_500,
                    acked: 20_500,
                    ..DeliveryCounts::default()
                },
                client: ClientCounters::default(),
                exposure: Exposure {
                    client_retries: faults.values().sum(),
                    faults_injected: faults,
                    ..Exposure::default()
                },
                verdict: Verdict {
                    records_read: 20_500,
                    streams: 1,
                    permitted: permitted(&s),
                    ..Verdict::default()
                },
                criterion: None,
                conditions: Default::default(),
            }))
        };
        results.cells.push(CellResult::new(
            &cell,
            CellNetwork::requested(&cell),
            outcome,
        ));
    }
    results.complete = true;
    results
}

/// Rewrites the committed fixtures: `cargo test --release --test compare_cli -- --ignored`.
#[test]
#[ignore = "rewrites tests/fixtures/compare; run after a schema change"]
fn regenerate_fixtures() {
    let base = fixture_results("2.3.0", "base-run");
    base.save(&fixture("base.json")).unwrap();

    let mut new = fixture_results("2.12.1", "new-run");
    for cell in &mut new.cells {
        let Outcome::Measured(m) = &mut cell.outcome else {
            continue;
        };
        if cell.id == SLOW_CELL {
            for s in &mut m.samples {
                s.elapsed_ns = (s.elapsed_ns as f64 / 0.8).round() as u64;
            }
            m.throughput = Throughput::from_samples(&m.samples, 1024);
        }
        if cell.id == REORDER_CELL {
            m.verdict.reorders.count = 4;
            m.verdict.reorder_displacement.max = 3;
            m.verdict.reorder_displacement.sum = 7;
        }
    }
    new.save(&fixture("new-regressed.json")).unwrap();

    let mut empty = fixture_results("2.3.0", "empty-run");
    empty.cells.clear();
    empty.complete = false;
    empty.save(&fixture("no-cells.json")).unwrap();

    let text = std::fs::read_to_string(fixture("base.json")).unwrap();
    std::fs::write(fixture("truncated.json"), &text[..text.len() / 2]).unwrap();
    std::fs::write(
        fixture("schema-v99.json"),
        text.replacen("\"schema_version\": 2", "\"schema_version\": 99", 1),
    )
    .unwrap();
}

#[test]
fn committed_fixtures_are_what_the_generator_makes() {
    // Text, not values: serde_json may round a float's last bit when parsing.
    let generated = serde_json::to_string_pretty(&fixture_results("2.3.0", "base-run")).unwrap();
    assert_eq!(
        std::fs::read_to_string(fixture("base.json")).unwrap(),
        generated,
        "run `cargo test --release --test compare_cli -- --ignored` to regenerate"
    );
    // And the file still loads: the schema has not moved under it.
    Results::load(&fixture("base.json")).unwrap();
}
