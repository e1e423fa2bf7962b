//! `cargo bench`: the grid as Criterion benchmark groups, one per fault profile.
//!
//! Each cell is a benchmark `faults=<profile>/inflight=N,acks=A,idem=B` with
//! `Throughput::Elements`, so Criterion reports records/s ("elem/s") with
//! confidence intervals, and its filters and baselines work as usual:
//!
//! ```text
//! cargo bench --bench tradeoff -- idem=true
//! cargo bench --bench tradeoff -- --save-baseline before
//! cargo bench --bench tradeoff -- --baseline before
//! ```
//!
//! The cluster is `KAFKA_BOOTSTRAP_SERVERS` when set (plus `KOB_X=k=v;k=v`
//! librdkafka properties), otherwise a local 3-node cluster started and
//! stopped here. `KOB_WORKLOAD=<file>` picks a workload file; `KOB_QUICK=1`
//! the reduced grid. Criterion's estimates, the latency histograms and the
//! checker's verdicts land in `reports/<run-id>/results.json`, then the report.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput};

use kafka_order_bench::cluster::Cluster;
use kafka_order_bench::grid::{Cell, Workload};
use kafka_order_bench::redact;
use kafka_order_bench::results::{CellResult, CriterionEstimate, Outcome, Results};
use kafka_order_bench::run::{Created, RunError, Session};
use kafka_order_bench::suite::{self, Sampler};

/// Records per Criterion iteration. One record per iteration would make
/// Criterion's first, tiny samples time a single record's round trip (its
/// latency, ~15 ms) instead of throughput; a thousand keep the pipeline full.
const RECORDS_PER_ITERATION: u64 = 1_000;

/// Criterion drives the samples: each of its iterations is
/// [`RECORDS_PER_ITERATION`] records, timed to the last acknowledgement.
struct CriterionSampler<'a, 'b> {
    group: &'a mut criterion::BenchmarkGroup<'b, criterion::measurement::WallTime>,
    /// Criterion's sample size: the samples kept in the results, after its warm-up.
    sample_size: usize,
}

impl Sampler for CriterionSampler<'_, '_> {
    fn sample(&mut self, cell: &Cell, session: &mut Session) -> Result<(), RunError> {
        let mut error = None;
        self.group.bench_function(cell.settings.id(), |b| {
            b.iter_custom(|iters| {
                if error.is_some() {
                    return Duration::from_nanos(1);
                }
                match session.sample(iters * RECORDS_PER_ITERATION) {
                    Ok(s) => Duration::from_nanos(s.elapsed_ns),
                    Err(e) => {
                        error = Some(e);
                        Duration::from_nanos(1)
                    }
                }
            })
        });
        // Criterion's warm-up calls came through `sample` too; the results
        // keep the samples it measured.
        session.keep_last_samples(self.sample_size);
        error.map_or(Ok(()), Err)
    }
}

fn main() {
    // `cargo test --all-targets` runs bench binaries without `--bench`: the
    // grid needs a cluster and minutes, so it runs only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("tradeoff: skipped outside `cargo bench` (it runs the grid on a cluster)");
        return;
    }
    suite::install_interrupt_handler();
    let workload = workload();
    let quick = std::env::var_os("KOB_QUICK").is_some();
    let sample_size = arg_value("--sample-size")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let mut criterion = Criterion::default()
        .sample_size(sample_size)
        .warm_up_time(Duration::from_millis(if quick { 300 } else { 500 }))
        .measurement_time(Duration::from_millis(if quick { 1_000 } else { 2_000 }))
        .configure_from_args();
    let filter = filter_from_args();

    let cluster = match connect() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {}", redact::scrub(&format!("{e:#}")));
            std::process::exit(2);
        }
    };
    let meta = suite::run_meta(cluster.as_ref(), &workload, "criterion");
    let dir = PathBuf::from("reports").join(&meta.run_id);
    let path = dir.join("results.json");
    if let Err(e) = suite::warm_up_cluster(cluster.as_ref(), &meta, suite::CLUSTER_WARMUP_RECORDS) {
        eprintln!(
            "Error: warming up the cluster: {}",
            redact::scrub(&format!("{e:#}"))
        );
        std::process::exit(2);
    }
    let mut results = Results::new(meta);
    let mut planned = 0;

    for profile in &workload.faults {
        let group_name = format!("faults={}", profile.slug());
        let mut group = criterion.benchmark_group(&group_name);
        group.throughput(Throughput::Elements(RECORDS_PER_ITERATION));
        // Every sample the same size: iterations are long (tens of ms), and
        // Criterion's linear ramp would make the first samples tiny.
        group.sampling_mode(SamplingMode::Flat);
        for cell in workload
            .cells()
            .into_iter()
            .filter(|c| &c.faults == profile)
        {
            let bench_id = format!("{group_name}/{}", cell.settings.id());
            if !filter.iter().all(|f| bench_id.contains(f.as_str())) || suite::interrupted() {
                continue;
            }
            planned += 1;
            // A configuration the client refuses never reaches Criterion: it
            // has nothing to time, and is reported as rejected.
            let probe = Session::create(
                &cluster.client_config(),
                &cell.settings,
                &workload.fixed,
                "probe",
                0,
            );
            if let Ok(Created::Rejected(message)) = probe {
                println!(
                    "{bench_id}: rejected by librdkafka: {}",
                    redact::scrub(&message)
                );
                results
                    .cells
                    .push(CellResult::new(&cell, Outcome::Rejected { message }));
                save(&results, &path);
                continue;
            }
            drop(probe);
            let mut sampler = CriterionSampler {
                group: &mut group,
                sample_size,
            };
            let mut result =
                suite::measure_cell(cluster.as_ref(), &results.run, &cell, &mut sampler);
            if suite::interrupted() {
                break;
            }
            if let Outcome::Measured(m) = &mut result.outcome {
                m.criterion = criterion_estimate(&group_name, &cell.settings.id());
                println!(
                    "{bench_id}: verdict {} violations ({} reorders, {} log duplicates, {} losses); {} faults injected, {} records resent",
                    m.verdict.violations(),
                    m.verdict.reorders.count,
                    m.verdict.log_duplicates.count,
                    m.verdict.losses.count,
                    m.exposure.total_faults(),
                    m.exposure.records_resent,
                );
            }
            results.cells.push(result);
            save(&results, &path);
        }
        group.finish();
    }
    drop(cluster);

    results.complete = !suite::interrupted() && results.cells.len() == planned;
    if results.cells.is_empty() {
        eprintln!("no cell matched the filter; nothing written");
        return;
    }
    save(&results, &path);
    match kafka_order_bench::report::render(&results, &dir) {
        Ok(_) => println!("report: {}", dir.join("REPORT.md").display()),
        Err(e) => eprintln!("Error: writing the report: {e:#}"),
    }
    criterion.final_summary();
}

fn save(results: &Results, path: &Path) {
    if let Err(e) = results.save(path) {
        eprintln!("Error: {e}");
        std::process::exit(2);
    }
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

/// The value of a `--flag value` argument.
fn arg_value(flag: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1).cloned())
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

fn connect() -> anyhow::Result<Box<dyn Cluster>> {
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
    // Every message printed from here on passes through redact::scrub.
    redact::register(&props);
    suite::connect(
        std::env::var("KAFKA_BOOTSTRAP_SERVERS").ok().as_deref(),
        &props,
        3,
    )
}

/// Criterion's estimate of a cell, converted from time per iteration to records/s.
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
    // Criterion's estimates are nanoseconds per iteration.
    let rate = |ns: f64| 1e9 * RECORDS_PER_ITERATION as f64 / ns;
    Some(CriterionEstimate {
        benchmark_id: format!("{group}/{id}"),
        mean_records_per_sec: rate(ns("mean", "point")?),
        // A longer time per record is a lower rate: the bounds swap.
        mean_ci_low: rate(ns("mean", "upper_bound")?),
        mean_ci_high: rate(ns("mean", "lower_bound")?),
        median_records_per_sec: rate(ns("median", "point")?),
    })
}
