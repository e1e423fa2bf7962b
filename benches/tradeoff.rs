//! `cargo bench`: the grid, measured by the suite, analysed by Criterion.
//!
//! The cells are measured exactly as `kafka-order-bench run` measures them
//! (the same [`suite::run_workload_with`]: interleaved rounds of steady-state
//! windows, a fixed-load latency phase, the checker), so the CLI and
//! `cargo bench` read the same records and give the same estimates. Criterion
//! then receives each cell's measured windows through `iter_custom` (a call
//! for `n` iterations returns `n` records at the rate of the cell's next
//! window), which gives Criterion's statistics, filters and baselines over
//! the real measurements:
//!
//! ```text
//! cargo bench --bench tradeoff -- idem=true
//! cargo bench --bench tradeoff -- --save-baseline before
//! cargo bench --bench tradeoff -- --baseline before
//! ```
//!
//! Each cell is a benchmark `rtt=<RTT>,faults=<profile>/inflight=N,acks=A,idem=B`
//! with `Throughput::Elements(1)` (records/s as "elem/s"). When a cell has
//! fewer windows than Criterion's minimum sample size (10), its windows are
//! replayed in turn, so Criterion's interval is narrower than the suite's:
//! quote the suite's (results.json, REPORT.md), which resamples rounds.
//!
//! The cluster is `KAFKA_BOOTSTRAP_SERVERS` when set (plus `KOB_X=k=v;k=v`
//! librdkafka properties), otherwise a local 3-node cluster started and
//! stopped here. `KOB_WORKLOAD=<file>` picks a workload file; `KOB_QUICK=1`
//! the reduced grid. Results land in `reports/<run-id>/`, then the report.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput};

use kafka_order_bench::cluster::Cluster;
use kafka_order_bench::grid::Workload;
use kafka_order_bench::progress::Bar;
use kafka_order_bench::redact;
use kafka_order_bench::results::{CriterionEstimate, Outcome};
use kafka_order_bench::suite::{self, RunOptions};

fn main() {
    // `cargo test --all-targets` runs bench binaries without `--bench`: the
    // grid needs a cluster and minutes, so it runs only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("tradeoff: skipped outside `cargo bench` (it runs the grid on a cluster)");
        return;
    }
    kafka_order_bench::interrupt::install(quit_now);
    let workload = workload();
    let mut criterion = Criterion::default()
        // Replaying measured windows takes no time: the shortest settings
        // Criterion accepts.
        .warm_up_time(Duration::from_nanos(1))
        .measurement_time(Duration::from_millis(1))
        .without_plots()
        .configure_from_args();
    let options = RunOptions {
        filter: filter_from_args(),
        ..RunOptions::default()
    };

    let mut progress = Bar::new(workload.cells().len());
    let cluster = match connect(&workload, &mut progress) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {}", redact::scrub(&format!("{e:#}")));
            std::process::exit(2);
        }
    };
    let run = suite::run_workload_with(
        cluster.as_ref(),
        &workload,
        Path::new("reports"),
        kafka_order_bench::results::Driver::Criterion,
        &options,
        &mut progress,
    );
    drop(cluster);
    drop(progress);
    let (mut results, path) = match run {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: {}", redact::scrub(&format!("{e:#}")));
            std::process::exit(2);
        }
    };
    if results.cells.is_empty() {
        eprintln!("no cell matched the filter; nothing written");
        return;
    }

    for cell in &mut results.cells {
        let Some(grid_cell) = cell.cell() else {
            continue;
        };
        let Outcome::Measured(m) = &mut cell.outcome else {
            continue;
        };
        let ns_per_record: Vec<f64> = m
            .samples
            .iter()
            .map(|s| s.elapsed_ns as f64 / s.records.max(1) as f64)
            .collect();
        if ns_per_record.is_empty() {
            continue;
        }
        let (group_name, function) = (grid_cell.bench_group(), grid_cell.settings.id());
        let mut group = criterion.benchmark_group(&group_name);
        group.throughput(Throughput::Elements(1));
        group.sampling_mode(SamplingMode::Flat);
        group.sample_size(ns_per_record.len().max(10));
        let mut next = 0usize;
        group.bench_function(&function, |b| {
            b.iter_custom(|iters| {
                let ns = ns_per_record[next % ns_per_record.len()];
                next += 1;
                Duration::from_nanos((ns * iters as f64) as u64)
            })
        });
        group.finish();
        m.criterion = criterion_estimate(&group_name, &function);
    }
    if let Err(e) = results.save(&path) {
        eprintln!("Error: {e}");
        std::process::exit(2);
    }
    let dir = path.parent().expect("results live in a run directory");
    match kafka_order_bench::report::render(&results, dir) {
        Ok(_) => println!("report: {}", dir.join("REPORT.md").display()),
        Err(e) => eprintln!("Error: writing the report: {e:#}"),
    }
    criterion.final_summary();
    if !results.complete {
        std::process::exit(130);
    }
}

/// The second Ctrl-C or SIGTERM: no broker left behind, and the first
/// signal's exit status.
fn quit_now(first: kafka_order_bench::interrupt::Signal) {
    let nodes = kafka_order_bench::cluster::kill_all_local();
    eprintln!("{}", first.stopped_notice(nodes));
    std::process::exit(first.exit_code());
}

/// The workload: `KOB_WORKLOAD`, `KOB_QUICK`, or the default grid.
fn workload() -> Workload {
    let w = if let Some(path) = std::env::var_os("KOB_WORKLOAD") {
        Workload::from_file(Path::new(&path))
    } else if std::env::var_os("KOB_QUICK").is_some() {
        Ok(Workload::quick())
    } else {
        Ok(Workload::default())
    };
    w.unwrap_or_else(|e| {
        eprintln!("Error: {e}");
        std::process::exit(2);
    })
}

/// Criterion's positional filters (substring match against `group/id`).
fn filter_from_args() -> Vec<String> {
    let mut out = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a.starts_with('-') {
            // Options that take a value: skip it.
            if matches!(
                a.as_str(),
                "--save-baseline"
                    | "--baseline"
                    | "--baseline-lenient"
                    | "--load-baseline"
                    | "--sample-size"
                    | "--warm-up-time"
                    | "--measurement-time"
                    | "--nresamples"
                    | "--noise-threshold"
                    | "--confidence-level"
                    | "--significance-level"
                    | "--profile-time"
                    | "--output-format"
                    | "--color"
                    | "--plotting-backend"
            ) {
                args.next();
            }
            continue;
        }
        out.push(a);
    }
    out
}

fn connect(workload: &Workload, progress: &mut Bar) -> anyhow::Result<Box<dyn Cluster>> {
    let props: Vec<(String, String)> = std::env::var("KOB_X")
        .unwrap_or_default()
        .split(';')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| anyhow::anyhow!("KOB_X: expected key=value;…, got {kv:?}"))
        })
        .collect::<anyhow::Result<_>>()?;
    redact::register(&props);
    Ok(suite::connect_for_workload(
        std::env::var("KAFKA_BOOTSTRAP_SERVERS").ok().as_deref(),
        &props,
        3,
        workload,
        progress,
    )?)
}

/// Criterion's estimate of a cell, converted from time per record to records/s.
fn criterion_estimate(group: &str, id: &str) -> Option<CriterionEstimate> {
    let root = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|t| PathBuf::from(t).join("criterion"))
        })
        .unwrap_or_else(|| PathBuf::from("target/criterion"));
    let file = root.join(group).join(id).join("new/estimates.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    let ns = |k: &str, f: &str| -> Option<f64> {
        match f {
            "point" => v[k]["point_estimate"].as_f64(),
            bound => v[k]["confidence_interval"][bound].as_f64(),
        }
    };
    let rate = |ns: f64| 1e9 / ns;
    Some(CriterionEstimate {
        benchmark_id: format!("{group}/{id}"),
        mean_records_per_sec: rate(ns("mean", "point")?),
        // A longer time per record is a lower rate: the bounds swap.
        mean_ci_low: rate(ns("mean", "upper_bound")?),
        mean_ci_high: rate(ns("mean", "lower_bound")?),
        median_records_per_sec: rate(ns("median", "point")?),
    })
}
