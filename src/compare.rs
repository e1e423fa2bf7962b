//! Baseline comparison: two runs side by side, with a regression verdict.
//!
//! [`compare`] is pure: two [`Results`] in, one [`Comparison`] (a plain serde
//! struct) out. [`render_markdown`] and [`render_svg`] draw it, and [`write`]
//! puts `compare.md`, `compare.svg` and `compare.json` in a directory.
//!
//! The rules, in the order they are applied:
//!
//! 1. **Comparability.** Two runs are compared only when a matched cell was
//!    measured the same way on both sides: the same fixed workload values
//!    (record size, records per cell, samples, linger, batch, compression,
//!    partitions, rate, timeout), the same fault seed, and the same cluster
//!    shape (kind, broker count, broker version). Otherwise the comparison is
//!    refused with the list of what differs. A different librdkafka version is
//!    expected (it is what a client upgrade changes) and is only reported.
//!    Different grids are allowed: cells are matched by id (which includes the
//!    fault profile) and the others are listed as present on one side only.
//! 2. **Ordering and status**, always regressions whatever the noise: an
//!    anomaly kind never seen in the baseline cell shows up in the new one
//!    (so in particular violations going from zero to non-zero under the same
//!    fault profile and seed), or a cell stops being measured, or its
//!    rejection status changes. A cell the baseline failed to measure has
//!    nothing to regress from.
//! 3. **Throughput and p99 latency**, as Criterion does it
//!    (`src/analysis/compare.rs`, `src/report.rs`): from the per-sample
//!    values, a rank test (Mann–Whitney U) says whether the two sides differ
//!    at all, and a bootstrap confidence interval of the relative change of
//!    medians says by how much. A change is *improved* or *regressed* only
//!    when the test is significant and the whole interval lies beyond the
//!    noise threshold in one direction; anything else is *not significant*.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::results::{write_atomically, CellResult, Measurement, Outcome, Results, ResultsError};
use crate::stats;
use crate::verify::AnomalyKind;

/// Version of the [`Comparison`] JSON. Bump it on any change a reader could trip on.
pub const COMPARISON_VERSION: u32 = 1;

/// File names [`write`] uses inside its directory.
pub const MARKDOWN_FILE: &str = "compare.md";
pub const SVG_FILE: &str = "compare.svg";
pub const JSON_FILE: &str = "compare.json";

/// How the comparison decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareOptions {
    /// Relative change (0.05 = ±5%) within which a change is noise, however
    /// significant.
    pub noise: f64,
    /// Confidence level of the interval of the relative change (0.95 = 95%).
    pub confidence: f64,
    /// Significance level of the rank test (0.05 = 5%).
    pub significance: f64,
    /// Seed of the bootstrap resampling, so the same files always give the
    /// same intervals and verdicts.
    pub seed: u64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            noise: 0.05,
            confidence: 0.95,
            significance: 0.05,
            seed: 0x636d70,
        }
    }
}

/// The comparison of two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Always [`COMPARISON_VERSION`] when written by this build.
    pub comparison_version: u32,
    pub options: CompareOptions,
    pub base: RunSummary,
    pub new: RunSummary,
    /// Why the runs cannot be compared; empty when they can. When not empty,
    /// `cells` is empty too.
    pub differences: Vec<Difference>,
    /// Differences that do not prevent the comparison but a reader should
    /// know (another machine, an interrupted run, a different grid).
    pub notes: Vec<String>,
    /// Cells present on both sides, in the baseline's order.
    pub cells: Vec<CellComparison>,
    /// Ids of cells only the baseline has.
    pub only_in_base: Vec<String>,
    /// Ids of cells only the new run has.
    pub only_in_new: Vec<String>,
    pub summary: Summary,
}

/// What identifies one side of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    pub started_at: String,
    /// librdkafka's version string, as the linked library reported it.
    pub librdkafka_version: String,
    pub rdkafka_crate_version: String,
    pub tool_version: String,
    pub git_revision: Option<String>,
    /// False when the run was interrupted before its last cell.
    pub complete: bool,
    /// Number of cells in the file.
    pub cells: usize,
}

/// One thing that differs between the runs and prevents comparing them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// Dotted path of the field, e.g. `workload.fixed.record_bytes`.
    pub field: String,
    pub base: String,
    pub new: String,
}

/// What became of a cell, without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Measured,
    Rejected,
    Failed,
}

impl Status {
    fn of(outcome: &Outcome) -> Status {
        match outcome {
            Outcome::Measured(_) => Status::Measured,
            Outcome::Rejected { .. } => Status::Rejected,
            Outcome::Failed { .. } => Status::Failed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Measured => "measured",
            Status::Rejected => "rejected",
            Status::Failed => "failed",
        }
    }
}

/// The verdict on one metric, or on a whole cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeVerdict {
    Improved,
    Regressed,
    NotSignificant,
}

impl ChangeVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeVerdict::Improved => "improved",
            ChangeVerdict::Regressed => "regressed",
            ChangeVerdict::NotSignificant => "not significant",
        }
    }
}

/// A cell present on both sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellComparison {
    /// The cell id, fault profile included.
    pub id: String,
    /// The fault profile, in its text form.
    pub faults: String,
    pub base_status: Status,
    pub new_status: Status,
    /// The client's or the runner's message, for a rejected or failed baseline cell.
    pub base_message: Option<String>,
    /// The client's or the runner's message, for a rejected or failed new cell.
    pub new_message: Option<String>,
    /// Throughput in records/s (medians over samples); measured on both sides only.
    pub throughput: Option<MetricChange>,
    /// p99 produce-to-ack latency in microseconds (medians of the samples'
    /// p99s); measured on both sides only.
    pub p99_latency: Option<MetricChange>,
    /// Anomaly counts on each side; measured on both sides only.
    pub ordering: Option<OrderingChange>,
    /// Every reason this cell regressed; empty when it did not.
    pub regressions: Vec<Regression>,
    /// Regressed if anything regressed, improved if a metric improved and
    /// nothing regressed, not significant otherwise.
    pub verdict: ChangeVerdict,
}

/// The change of one metric between the sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricChange {
    /// Median of the baseline's samples, in the metric's unit.
    pub base_median: f64,
    /// Median of the new run's samples, in the metric's unit.
    pub new_median: f64,
    pub base_samples: usize,
    pub new_samples: usize,
    /// Relative change of medians: `new_median / base_median - 1` (−0.1 = −10%).
    pub change: f64,
    /// Lower bound of the bootstrap confidence interval of `change`.
    pub change_ci_low: f64,
    /// Upper bound of the bootstrap confidence interval of `change`.
    pub change_ci_high: f64,
    /// Two-sided p-value of the Mann–Whitney U test on the samples.
    pub p_value: f64,
    pub verdict: ChangeVerdict,
}

/// Anomaly counts of a cell measured on both sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderingChange {
    /// Ordering violations (reorders, log duplicates, losses) in the baseline.
    pub base_violations: u64,
    /// Ordering violations (reorders, log duplicates, losses) in the new run.
    pub new_violations: u64,
    /// Counts of every kind seen on either side.
    pub kinds: BTreeMap<AnomalyKind, KindCounts>,
    /// Faults injected into the baseline cell.
    pub base_faults_injected: u64,
    /// Faults injected into the new cell.
    pub new_faults_injected: u64,
}

/// Count of one anomaly kind on each side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCounts {
    pub base: u64,
    pub new: u64,
}

/// One reason a cell regressed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Regression {
    /// Throughput fell beyond the noise threshold.
    Throughput {
        change: f64,
        ci_low: f64,
        ci_high: f64,
    },
    /// p99 latency rose beyond the noise threshold.
    P99Latency {
        change: f64,
        ci_low: f64,
        ci_high: f64,
    },
    /// An anomaly kind the baseline cell never showed, under the same fault
    /// profile and seed.
    NewAnomaly {
        anomaly: AnomalyKind,
        /// Occurrences in the new run (there were none in the baseline).
        count: u64,
        /// Whether the configuration is documented to allow this kind. When
        /// false, a guarantee the configuration promises is broken.
        permitted: bool,
    },
    /// The cell stopped being measured, or its rejection status changed.
    StatusChanged {
        from: Status,
        to: Status,
        /// The new side's message, if any.
        message: Option<String>,
    },
}

impl Regression {
    /// True for ordering and status regressions, which no noise excuses.
    pub fn is_ordering(&self) -> bool {
        matches!(
            self,
            Regression::NewAnomaly { .. } | Regression::StatusChanged { .. }
        )
    }

    /// How bad, for ranking: broken guarantees first, then other ordering
    /// and status changes, then performance by the size of the change.
    fn severity(&self) -> (u8, f64) {
        match self {
            Regression::NewAnomaly {
                permitted: false, ..
            } => (3, 0.0),
            Regression::NewAnomaly { .. } | Regression::StatusChanged { .. } => (2, 0.0),
            // log(1 + change) puts a halving and a doubling on one scale.
            Regression::Throughput { change, .. } | Regression::P99Latency { change, .. } => {
                (1, (1.0 + change).max(1e-9).ln().abs())
            }
        }
    }

    /// One line for people, e.g. `throughput -23.4% [-27.1%, -19.8%]`.
    pub fn describe(&self) -> String {
        match self {
            Regression::Throughput {
                change,
                ci_low,
                ci_high,
            } => format!(
                "throughput {} [{}, {}]",
                pct(*change),
                pct(*ci_low),
                pct(*ci_high)
            ),
            Regression::P99Latency {
                change,
                ci_low,
                ci_high,
            } => format!(
                "p99 latency {} [{}, {}]",
                pct(*change),
                pct(*ci_low),
                pct(*ci_high)
            ),
            Regression::NewAnomaly {
                anomaly,
                count,
                permitted,
            } => {
                let why = if *permitted {
                    "allowed by this configuration, but none in the baseline"
                } else {
                    "a guarantee this configuration promises no longer holds"
                };
                format!("{} 0 → {count} ({why})", anomaly.plural())
            }
            Regression::StatusChanged { from, to, message } => {
                let mut s = format!("{} → {}", from.as_str(), to.as_str());
                if let Some(m) = message {
                    let _ = write!(s, ": {}", one_line(m));
                }
                s
            }
        }
    }
}

/// Counts of the verdicts on one metric.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictCounts {
    pub regressed: usize,
    pub improved: usize,
    pub not_significant: usize,
}

impl VerdictCounts {
    fn add(&mut self, v: ChangeVerdict) {
        match v {
            ChangeVerdict::Improved => self.improved += 1,
            ChangeVerdict::Regressed => self.regressed += 1,
            ChangeVerdict::NotSignificant => self.not_significant += 1,
        }
    }
}

/// The comparison in numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// False when the runs differ in something that prevents comparing them.
    pub comparable: bool,
    /// Cells present on both sides.
    pub cells_compared: usize,
    /// Cells by their overall verdict.
    pub cells: VerdictCounts,
    /// Throughput verdicts, over cells measured on both sides.
    pub throughput: VerdictCounts,
    /// p99 latency verdicts, over cells measured on both sides.
    pub p99_latency: VerdictCounts,
    /// Cells with an ordering or status regression.
    pub ordering_regressions: usize,
}

impl Comparison {
    /// True when the runs could be compared.
    pub fn comparable(&self) -> bool {
        self.differences.is_empty()
    }

    /// True when any cell regressed.
    pub fn regressed(&self) -> bool {
        self.summary.cells.regressed > 0
    }

    /// The `n` worst regressions, worst first, with their cell ids.
    pub fn worst_regressions(&self, n: usize) -> Vec<(&str, &Regression)> {
        let mut all: Vec<(&str, &Regression)> = self
            .cells
            .iter()
            .flat_map(|c| c.regressions.iter().map(move |r| (c.id.as_str(), r)))
            .collect();
        // Stable sort: equal severities keep the baseline's cell order.
        all.sort_by(|a, b| {
            let (ka, ma) = a.1.severity();
            let (kb, mb) = b.1.severity();
            kb.cmp(&ka).then(mb.total_cmp(&ma))
        });
        all.truncate(n);
        all
    }
}

/// Compares a new run against a baseline. Pure: reads nothing, writes nothing.
pub fn compare(base: &Results, new: &Results, opts: &CompareOptions) -> Comparison {
    let mut differences = comparability(base, new);
    let notes = notes(base, new);

    let new_by_id: BTreeMap<&str, &CellResult> =
        new.cells.iter().map(|c| (c.id.as_str(), c)).collect();
    let base_ids: BTreeSet<&str> = base.cells.iter().map(|c| c.id.as_str()).collect();
    let only_in_base: Vec<String> = base
        .cells
        .iter()
        .filter(|c| !new_by_id.contains_key(c.id.as_str()))
        .map(|c| c.id.clone())
        .collect();
    let only_in_new: Vec<String> = new
        .cells
        .iter()
        .filter(|c| !base_ids.contains(c.id.as_str()))
        .map(|c| c.id.clone())
        .collect();
    let matched: Vec<(&CellResult, &CellResult)> = base
        .cells
        .iter()
        .filter_map(|b| new_by_id.get(b.id.as_str()).map(|n| (b, *n)))
        .collect();
    if matched.is_empty() {
        differences.push(Difference {
            field: "cells".into(),
            base: format!("{} cells", base.cells.len()),
            new: format!("{} cells, none with an id in the baseline", new.cells.len()),
        });
    }

    let cells: Vec<CellComparison> = if differences.is_empty() {
        matched
            .into_iter()
            .map(|(b, n)| compare_cell(b, n, opts))
            .collect()
    } else {
        Vec::new()
    };

    let mut summary = Summary {
        comparable: differences.is_empty(),
        cells_compared: cells.len(),
        ..Summary::default()
    };
    for c in &cells {
        summary.cells.add(c.verdict);
        if let Some(m) = &c.throughput {
            summary.throughput.add(m.verdict);
        }
        if let Some(m) = &c.p99_latency {
            summary.p99_latency.add(m.verdict);
        }
        if c.regressions.iter().any(Regression::is_ordering) {
            summary.ordering_regressions += 1;
        }
    }

    Comparison {
        comparison_version: COMPARISON_VERSION,
        options: opts.clone(),
        base: run_summary(base),
        new: run_summary(new),
        differences,
        notes,
        cells,
        only_in_base,
        only_in_new,
        summary,
    }
}

fn run_summary(r: &Results) -> RunSummary {
    RunSummary {
        run_id: r.run.run_id.clone(),
        started_at: r.run.started_at.clone(),
        librdkafka_version: r.run.librdkafka_version.clone(),
        rdkafka_crate_version: r.run.rdkafka_crate_version.clone(),
        tool_version: r.run.tool_version.clone(),
        git_revision: r.run.git_revision.clone(),
        complete: r.complete,
        cells: r.cells.len(),
    }
}

/// What differs in the way cells were measured.
fn comparability(base: &Results, new: &Results) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut check = |field: &str, b: String, n: String| {
        if b != n {
            out.push(Difference {
                field: field.into(),
                base: b,
                new: n,
            });
        }
    };
    // Field by field through serde, so a value added to `Fixed` later is
    // checked without touching this code.
    let fixed = |r: &Results| serde_json::to_value(&r.run.workload.fixed).unwrap_or_default();
    let (bf, nf) = (fixed(base), fixed(new));
    let empty = serde_json::Map::new();
    let bmap = bf.as_object().unwrap_or(&empty);
    let nmap = nf.as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = bmap.keys().chain(nmap.keys()).collect();
    for k in keys {
        let show = |v: Option<&serde_json::Value>| v.map_or("(absent)".into(), |v| v.to_string());
        check(
            &format!("workload.fixed.{k}"),
            show(bmap.get(k)),
            show(nmap.get(k)),
        );
    }
    let (bw, nw) = (&base.run.workload, &new.run.workload);
    check("workload.seed", bw.seed.to_string(), nw.seed.to_string());
    let (bc, nc) = (&base.run.cluster, &new.run.cluster);
    check("cluster.kind", bc.kind.clone(), nc.kind.clone());
    check(
        "cluster.brokers",
        bc.brokers.to_string(),
        nc.brokers.to_string(),
    );
    // An unknown version (an external cluster that did not tell) is a note,
    // not a difference: see `notes`.
    if let (Some(b), Some(n)) = (&bc.broker_version, &nc.broker_version) {
        check("cluster.broker_version", b.clone(), n.clone());
    }
    out
}

/// Differences worth telling that do not prevent the comparison.
fn notes(base: &Results, new: &Results) -> Vec<String> {
    let mut notes = Vec::new();
    let (b, n) = (&base.run, &new.run);
    let (bv, nv) = (&b.cluster.broker_version, &n.cluster.broker_version);
    if bv.is_none() || nv.is_none() {
        notes.push(format!(
            "Broker version {} vs {}: unknown for {}, so the runs may have used different Kafka releases.",
            bv.as_deref().unwrap_or("(unknown)"),
            nv.as_deref().unwrap_or("(unknown)"),
            match (bv.is_none(), nv.is_none()) {
                (true, true) => "both runs",
                (true, false) => "the baseline",
                _ => "the new run",
            }
        ));
    }
    if b.librdkafka_version == n.librdkafka_version {
        notes.push(format!(
            "Both runs used librdkafka {}: any change comes from elsewhere (the cluster, the machine, the suite).",
            b.librdkafka_version
        ));
    }
    let (bm, nm) = (&b.machine, &n.machine);
    let mut machine = Vec::new();
    if bm.os != nm.os || bm.arch != nm.arch {
        machine.push(format!("{}/{} vs {}/{}", bm.os, bm.arch, nm.os, nm.arch));
    }
    if bm.cpu_model != nm.cpu_model {
        machine.push(format!(
            "CPU {} vs {}",
            bm.cpu_model.as_deref().unwrap_or("(unknown)"),
            nm.cpu_model.as_deref().unwrap_or("(unknown)")
        ));
    }
    if bm.cores != nm.cores {
        machine.push(format!("{} vs {} cores", bm.cores, nm.cores));
    }
    if bm.memory_bytes != nm.memory_bytes {
        machine.push("memory differs".into());
    }
    if !machine.is_empty() {
        notes.push(format!(
            "The runs happened on different machines ({}): throughput and latency changes may come from the machine, not the client.",
            machine.join(", ")
        ));
    }
    if b.driver != n.driver {
        notes.push(format!(
            "Different drivers: {} (base) vs {} (new).",
            b.driver, n.driver
        ));
    }
    if b.tool_version != n.tool_version {
        notes.push(format!(
            "Different kafka-order-bench versions: {} (base) vs {} (new).",
            b.tool_version, n.tool_version
        ));
    }
    for (side, r) in [("baseline", base), ("new", new)] {
        if !r.complete {
            notes.push(format!(
                "The {side} run ({}) was interrupted: it holds {} cells.",
                r.run.run_id,
                r.cells.len()
            ));
        }
    }
    let (bw, nw) = (&b.workload, &n.workload);
    if bw.axes != nw.axes || bw.faults != nw.faults {
        notes.push(
            "The grids differ (axes or fault profiles): only cells with the same id are compared."
                .into(),
        );
    }
    notes
}

fn compare_cell(base: &CellResult, new: &CellResult, opts: &CompareOptions) -> CellComparison {
    let (bs, ns) = (Status::of(&base.outcome), Status::of(&new.outcome));
    let message = |o: &Outcome| match o {
        Outcome::Measured(_) => None,
        Outcome::Rejected { message } | Outcome::Failed { message } => Some(message.clone()),
    };
    let mut cell = CellComparison {
        id: base.id.clone(),
        faults: base.faults.clone(),
        base_status: bs,
        new_status: ns,
        base_message: message(&base.outcome),
        new_message: message(&new.outcome),
        throughput: None,
        p99_latency: None,
        ordering: None,
        regressions: Vec::new(),
        verdict: ChangeVerdict::NotSignificant,
    };
    match (base.measurement(), new.measurement()) {
        (Some(b), Some(n)) => {
            let rates = |m: &Measurement| -> Vec<f64> {
                m.samples
                    .iter()
                    .filter(|s| s.elapsed_ns > 0)
                    .map(|s| s.records_per_sec())
                    .collect()
            };
            let p99s = |m: &Measurement| -> Vec<f64> {
                m.samples.iter().map(|s| s.p99_us as f64).collect()
            };
            cell.throughput = metric_change(&rates(b), &rates(n), true, opts);
            cell.p99_latency = metric_change(&p99s(b), &p99s(n), false, opts);
            if let Some(m) = &cell.throughput {
                if m.verdict == ChangeVerdict::Regressed {
                    cell.regressions.push(Regression::Throughput {
                        change: m.change,
                        ci_low: m.change_ci_low,
                        ci_high: m.change_ci_high,
                    });
                }
            }
            if let Some(m) = &cell.p99_latency {
                if m.verdict == ChangeVerdict::Regressed {
                    cell.regressions.push(Regression::P99Latency {
                        change: m.change,
                        ci_low: m.change_ci_low,
                        ci_high: m.change_ci_high,
                    });
                }
            }
            let ordering = ordering_change(b, n);
            for (&kind, counts) in &ordering.kinds {
                if counts.base == 0 && counts.new > 0 {
                    cell.regressions.push(Regression::NewAnomaly {
                        anomaly: kind,
                        count: counts.new,
                        permitted: n.verdict.permitted.contains(&kind),
                    });
                }
            }
            cell.ordering = Some(ordering);
        }
        _ => {
            // A baseline that failed holds nothing to regress from; any other
            // change of status is a change in what the client does.
            if bs != ns && bs != Status::Failed {
                cell.regressions.push(Regression::StatusChanged {
                    from: bs,
                    to: ns,
                    message: cell.new_message.clone(),
                });
            }
        }
    }
    let improved = [&cell.throughput, &cell.p99_latency]
        .into_iter()
        .flatten()
        .any(|m| m.verdict == ChangeVerdict::Improved);
    cell.verdict = if !cell.regressions.is_empty() {
        ChangeVerdict::Regressed
    } else if improved {
        ChangeVerdict::Improved
    } else {
        ChangeVerdict::NotSignificant
    };
    cell
}

/// The change of one metric, or `None` when a side has no samples or the
/// baseline's median is zero (no relative change exists).
fn metric_change(
    base: &[f64],
    new: &[f64],
    higher_is_better: bool,
    opts: &CompareOptions,
) -> Option<MetricChange> {
    let (base_median, new_median) = (stats::median(base), stats::median(new));
    if base.is_empty() || new.is_empty() || base_median <= 0.0 {
        return None;
    }
    let (lo, hi) = stats::bootstrap_relative_change_ci(base, new, opts.confidence, opts.seed)?;
    let p_value = stats::mann_whitney_p(base, new);
    // Criterion's rule: significant, and the whole interval beyond the noise
    // threshold on one side. An interval that touches the band is noise.
    let up = lo > opts.noise && hi > opts.noise;
    let down = lo < -opts.noise && hi < -opts.noise;
    let verdict = if p_value >= opts.significance || !(up || down) {
        ChangeVerdict::NotSignificant
    } else if up == higher_is_better {
        ChangeVerdict::Improved
    } else {
        ChangeVerdict::Regressed
    };
    Some(MetricChange {
        base_median,
        new_median,
        base_samples: base.len(),
        new_samples: new.len(),
        change: new_median / base_median - 1.0,
        change_ci_low: lo,
        change_ci_high: hi,
        p_value,
        verdict,
    })
}

fn ordering_change(base: &Measurement, new: &Measurement) -> OrderingChange {
    let kinds = AnomalyKind::ALL
        .into_iter()
        .map(|k| {
            (
                k,
                KindCounts {
                    base: base.verdict.of(k).count,
                    new: new.verdict.of(k).count,
                },
            )
        })
        .filter(|(_, c)| c.base > 0 || c.new > 0)
        .collect();
    OrderingChange {
        base_violations: base.verdict.violations(),
        new_violations: new.verdict.violations(),
        kinds,
        base_faults_injected: base.exposure.total_faults(),
        new_faults_injected: new.exposure.total_faults(),
    }
}

/// A relative change as a signed percentage, e.g. `-23.4%`.
fn pct(x: f64) -> String {
    format!("{:+.1}%", x * 100.0)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The rows of the run table in `compare.md`, for one side.
fn run_rows(r: &RunSummary) -> [String; 6] {
    let rev = r.git_revision.as_deref().map(|g| format!(" ({g})"));
    [
        format!("`{}`", r.run_id),
        r.started_at.clone(),
        format!("**{}**", r.librdkafka_version),
        r.rdkafka_crate_version.clone(),
        format!("{}{}", r.tool_version, rev.unwrap_or_default()),
        format!(
            "{}{}",
            r.cells,
            if r.complete { "" } else { " (interrupted)" }
        ),
    ]
}

/// `1 cell`, `3 cells`.
fn cells_word(n: usize) -> String {
    if n == 1 {
        "1 cell".into()
    } else {
        format!("{n} cells")
    }
}

fn fmt_rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2}M/s", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1}k/s", r / 1e3)
    } else {
        format!("{r:.0}/s")
    }
}

fn fmt_us(us: f64) -> String {
    if us >= 1e6 {
        format!("{:.2} s", us / 1e6)
    } else if us >= 1e3 {
        format!("{:.1} ms", us / 1e3)
    } else {
        format!("{us:.0} µs")
    }
}

/// Markdown table cells can hold no `|` nor newline.
fn md_escape(s: &str) -> String {
    one_line(s).replace('|', "\\|")
}

/// `compare.md`: the verdict, a computed summary, the worst regressions and
/// a table of every compared cell.
pub fn render_markdown(c: &Comparison) -> String {
    let mut md = String::new();
    let o = &c.options;
    let _ = writeln!(
        md,
        "# Comparison: `{}` → `{}`\n",
        c.base.run_id, c.new.run_id
    );
    let headline = if !c.comparable() {
        "**Not comparable**: the runs differ in how cells were measured (see below). Nothing was compared.".to_string()
    } else if c.regressed() {
        format!(
            "**Regressed**: {} of {} cells regressed ({} with an ordering or status regression).",
            c.summary.cells.regressed, c.summary.cells_compared, c.summary.ordering_regressions
        )
    } else {
        format!(
            "**No regression** in {} compared cells.",
            c.summary.cells_compared
        )
    };
    let _ = writeln!(md, "{headline}\n");

    let _ = writeln!(md, "| | baseline | new |\n|---|---|---|");
    let names = [
        "run",
        "started",
        "librdkafka",
        "rdkafka crate",
        "kafka-order-bench",
        "cells",
    ];
    let (b, n) = (run_rows(&c.base), run_rows(&c.new));
    for ((name, b), n) in names.iter().zip(&b).zip(&n) {
        let _ = writeln!(md, "| {name} | {} | {} |", md_escape(b), md_escape(n));
    }
    md.push('\n');

    if !c.comparable() {
        let _ = writeln!(
            md,
            "## Why these runs are not comparable\n\n| field | baseline | new |\n|---|---|---|"
        );
        for d in &c.differences {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} |",
                d.field,
                md_escape(&d.base),
                md_escape(&d.new)
            );
        }
        md.push_str(
            "\nRe-run one side with the other's workload file and cluster (a different librdkafka version is fine: it is what this comparison is for).\n",
        );
    }

    if !c.notes.is_empty() {
        md.push_str("## Notes\n\n");
        for n in &c.notes {
            let _ = writeln!(md, "- {n}");
        }
        md.push('\n');
    }
    if !c.comparable() {
        return md;
    }

    let s = &c.summary;
    let counts = |v: &VerdictCounts| {
        format!(
            "{} regressed, {} improved, {} not significant",
            v.regressed, v.improved, v.not_significant
        )
    };
    md.push_str("## Summary\n\n");
    let _ = writeln!(
        md,
        "- Cells compared: {} ({}).",
        s.cells_compared,
        counts(&s.cells)
    );
    let _ = writeln!(md, "- Throughput: {}.", counts(&s.throughput));
    let _ = writeln!(md, "- p99 latency: {}.", counts(&s.p99_latency));
    let _ = writeln!(
        md,
        "- Ordering and status: {} regressed.",
        cells_word(s.ordering_regressions)
    );
    for (side, ids) in [("baseline", &c.only_in_base), ("new run", &c.only_in_new)] {
        if !ids.is_empty() {
            let list: Vec<String> = ids.iter().map(|i| format!("`{i}`")).collect();
            let _ = writeln!(
                md,
                "- Only in the {side} ({}): {}.",
                ids.len(),
                list.join(", ")
            );
        }
    }
    let _ = writeln!(
        md,
        "\nA change is *regressed* or *improved* when the Mann–Whitney U test on the per-sample values is significant at {:.0}% and the whole {:.0}% bootstrap interval of the relative change of medians lies beyond the ±{:.1}% noise threshold; otherwise it is *not significant*. A new anomaly kind under the same fault profile and seed, or a cell that stops being measured or changes its rejection status, is always a regression.\n",
        o.significance * 100.0,
        o.confidence * 100.0,
        o.noise * 100.0
    );

    let worst = c.worst_regressions(10);
    if !worst.is_empty() {
        md.push_str("## Worst regressions\n\n");
        for (i, (id, r)) in worst.iter().enumerate() {
            let _ = writeln!(md, "{}. `{id}`: {}", i + 1, md_escape(&r.describe()));
        }
        md.push('\n');
    }

    md.push_str("## Cells\n\n");
    md.push_str("| cell | throughput | change [CI] | p99 latency | change [CI] | ordering violations | verdict |\n|---|---|---|---|---|---|---|\n");
    for cell in &c.cells {
        let metric = |m: &Option<MetricChange>, fmt: fn(f64) -> String| match m {
            Some(m) => (
                format!("{} → {}", fmt(m.base_median), fmt(m.new_median)),
                format!(
                    "{} [{}, {}] *{}*",
                    pct(m.change),
                    pct(m.change_ci_low),
                    pct(m.change_ci_high),
                    m.verdict.as_str()
                ),
            ),
            None if cell.base_status == Status::Measured && cell.new_status == Status::Measured => {
                ("no data".into(), "–".into())
            }
            None => (
                format!(
                    "{} → {}",
                    cell.base_status.as_str(),
                    cell.new_status.as_str()
                ),
                "–".into(),
            ),
        };
        let (tp, tpc) = metric(&cell.throughput, fmt_rate);
        let (p99, p99c) = metric(&cell.p99_latency, fmt_us);
        let ordering = match &cell.ordering {
            Some(o) => {
                let mut s = format!("{} → {}", o.base_violations, o.new_violations);
                let kinds: Vec<String> = o
                    .kinds
                    .iter()
                    .map(|(k, n)| format!("{} {}→{}", k.plural(), n.base, n.new))
                    .collect();
                if !kinds.is_empty() {
                    let _ = write!(s, " ({})", kinds.join(", "));
                }
                s
            }
            None => "–".into(),
        };
        let verdict = if cell.regressions.is_empty() {
            match (cell.base_status, cell.new_status) {
                (Status::Measured, Status::Measured) => cell.verdict.as_str().to_string(),
                (Status::Failed, _) => "baseline failed: nothing to compare".into(),
                (b, n) if b == n => format!("unchanged ({})", b.as_str()),
                _ => cell.verdict.as_str().to_string(),
            }
        } else {
            let why: Vec<String> = cell.regressions.iter().map(Regression::describe).collect();
            format!("**regressed**: {}", why.join("; "))
        };
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            cell.id,
            tp,
            tpc,
            p99,
            p99c,
            ordering,
            md_escape(&verdict)
        );
    }
    md
}

/// `compare.svg`: per cell, the relative change of throughput and of p99
/// latency with its confidence interval over the shaded noise band, and the
/// ordering or status regressions in a column of their own. Self-contained
/// and deterministic: the same comparison gives the same bytes.
pub fn render_svg(c: &Comparison) -> String {
    let mut svg = String::new();
    // Drawing into a String fails only on a layout bug; the file then says so.
    if let Err(e) = draw_svg(c, &mut svg) {
        svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"600\" height=\"40\"><text x=\"10\" y=\"25\">chart failed: {}</text></svg>\n",
            md_escape(&e.to_string()).replace('&', "&amp;").replace('<', "&lt;")
        );
    }
    svg
}

const RED: (u8, u8, u8) = (200, 40, 40);
const GREEN: (u8, u8, u8) = (30, 140, 60);
const GREY: (u8, u8, u8) = (110, 110, 110);

fn verdict_color(v: ChangeVerdict) -> plotters::style::RGBColor {
    let (r, g, b) = match v {
        ChangeVerdict::Regressed => RED,
        ChangeVerdict::Improved => GREEN,
        ChangeVerdict::NotSignificant => GREY,
    };
    plotters::style::RGBColor(r, g, b)
}

type ChartResult = Result<(), Box<dyn std::error::Error>>;

fn draw_svg(c: &Comparison, out: &mut String) -> ChartResult {
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};

    const LABELS_W: u32 = 380;
    const PANEL_W: u32 = 330;
    const STATUS_W: u32 = 260;
    const ROW_H: u32 = 26;
    const TOP: u32 = 72;
    const BOTTOM: u32 = 44;
    let n = c.cells.len();
    let width = LABELS_W + 2 * PANEL_W + STATUS_W;
    let height = TOP + BOTTOM + ROW_H * n.max(1) as u32;
    let root = SVGBackend::with_string(out, (width, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!(
        "librdkafka {} (baseline) → {} (new): change per cell, {:.0}% intervals, noise ±{:.1}%",
        c.base.librdkafka_version,
        c.new.librdkafka_version,
        c.options.confidence * 100.0,
        c.options.noise * 100.0
    );
    root.draw(&Text::new(
        title,
        (10, 8),
        ("sans-serif", 16).into_font().color(&BLACK),
    ))?;
    root.draw(&Text::new(
        "dot: relative change of medians; bar: confidence interval; shaded: noise band; \
         red: regressed, green: improved, grey: not significant"
            .to_string(),
        (10, 28),
        ("sans-serif", 12)
            .into_font()
            .color(&RGBColor(GREY.0, GREY.1, GREY.2)),
    ))?;
    if !c.comparable() {
        let mut y = 50;
        root.draw(&Text::new(
            "Not comparable:".to_string(),
            (10, y),
            ("sans-serif", 14)
                .into_font()
                .color(&RGBColor(RED.0, RED.1, RED.2)),
        ))?;
        for d in &c.differences {
            y += 20;
            root.draw(&Text::new(
                format!("{}: {} vs {}", d.field, d.base, d.new),
                (20, y),
                ("sans-serif", 13).into_font().color(&BLACK),
            ))?;
        }
        root.present()?;
        return Ok(());
    }

    let body = root.margin(TOP - 28, 0, 0, 0);
    let (labels, rest) = body.split_horizontally(LABELS_W);
    let (throughput, rest) = rest.split_horizontally(PANEL_W);
    let (latency, status) = rest.split_horizontally(PANEL_W);
    let rows = n.max(1) as f64;
    // Row i sits at y = n - 1 - i, so the first cell is on top.
    let y_of = |i: usize| (n - 1 - i) as f64;

    // The label and status columns are charts with the same vertical layout
    // as the panels, so that text lines up with the rows.
    let text_column = |area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
                       caption: &str,
                       texts: Vec<(String, RGBColor)>|
     -> ChartResult {
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 14))
            .margin(5)
            .x_label_area_size(30)
            .build_cartesian_2d(0.0..1.0, -0.5..rows - 0.5)?;
        chart.draw_series(texts.into_iter().enumerate().map(|(i, (t, color))| {
            Text::new(
                t,
                (0.0, y_of(i)),
                ("sans-serif", 12)
                    .into_font()
                    .color(&color)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            )
        }))?;
        Ok(())
    };
    text_column(
        &labels,
        "cell",
        c.cells
            .iter()
            .map(|cell| (cell.id.clone(), BLACK))
            .collect(),
    )?;
    text_column(
        &status,
        "ordering and status",
        c.cells
            .iter()
            .map(|cell| {
                let ordering: Vec<String> = cell
                    .regressions
                    .iter()
                    .filter(|r| r.is_ordering())
                    .map(|r| match r {
                        Regression::NewAnomaly { anomaly, count, .. } => {
                            format!("{} 0→{count}", anomaly.plural())
                        }
                        Regression::StatusChanged { from, to, .. } => {
                            format!("{}→{}", from.as_str(), to.as_str())
                        }
                        _ => String::new(),
                    })
                    .collect();
                if !ordering.is_empty() {
                    (ordering.join(", "), RGBColor(RED.0, RED.1, RED.2))
                } else if cell.base_status != Status::Measured
                    || cell.new_status != Status::Measured
                {
                    (
                        format!(
                            "{} → {}",
                            cell.base_status.as_str(),
                            cell.new_status.as_str()
                        ),
                        RGBColor(GREY.0, GREY.1, GREY.2),
                    )
                } else {
                    ("ok".into(), RGBColor(GREY.0, GREY.1, GREY.2))
                }
            })
            .collect(),
    )?;

    let panel = |area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
                 caption: &str,
                 metric: fn(&CellComparison) -> Option<&MetricChange>|
     -> ChartResult {
        let finite = |x: f64| if x.is_finite() { x.abs() } else { 0.0 };
        let extent = c
            .cells
            .iter()
            .filter_map(metric)
            .flat_map(|m| [m.change, m.change_ci_low, m.change_ci_high])
            .map(finite)
            .fold(c.options.noise * 2.0, f64::max)
            .max(0.10);
        // Cap the axis so one wild cell does not flatten the others; points
        // beyond it are drawn at the edge.
        let xmax = (extent * 1.15).min(2.0);
        let clamp = |x: f64| {
            if x.is_finite() {
                x.clamp(-xmax, xmax)
            } else {
                0.0
            }
        };
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 14))
            .margin(5)
            .x_label_area_size(30)
            .build_cartesian_2d(-xmax..xmax, -0.5..rows - 0.5)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .x_labels(5)
            .x_label_formatter(&|v| {
                // Rounding can leave a tiny negative at zero: no "-0%".
                let p = (v * 100.0).round();
                if p == 0.0 {
                    "0%".to_string()
                } else {
                    format!("{p:+.0}%")
                }
            })
            .draw()?;
        let noise = c.options.noise.min(xmax);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(-noise, -0.5), (noise, rows - 0.5)],
            RGBColor(225, 225, 225).filled(),
        )))?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, -0.5), (0.0, rows - 0.5)],
            BLACK.stroke_width(1),
        )))?;
        for (i, cell) in c.cells.iter().enumerate() {
            let Some(m) = metric(cell) else { continue };
            let y = y_of(i);
            let color = verdict_color(m.verdict);
            let (lo, hi) = (clamp(m.change_ci_low), clamp(m.change_ci_high));
            chart.draw_series([
                PathElement::new(vec![(lo, y), (hi, y)], color.stroke_width(2)),
                PathElement::new(vec![(lo, y - 0.2), (lo, y + 0.2)], color.stroke_width(2)),
                PathElement::new(vec![(hi, y - 0.2), (hi, y + 0.2)], color.stroke_width(2)),
            ])?;
            chart.draw_series(std::iter::once(Circle::new(
                (clamp(m.change), y),
                4,
                color.filled(),
            )))?;
        }
        Ok(())
    };
    panel(&throughput, "throughput (higher is better)", |cell| {
        cell.throughput.as_ref()
    })?;
    panel(&latency, "p99 latency (lower is better)", |cell| {
        cell.p99_latency.as_ref()
    })?;
    root.present()?;
    Ok(())
}

/// The files [`write`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub markdown: PathBuf,
    pub svg: PathBuf,
    pub json: PathBuf,
}

/// Writes `compare.md`, `compare.svg` and `compare.json` into `dir`
/// (created if needed), each atomically.
pub fn write(c: &Comparison, dir: &Path) -> Result<Written, ResultsError> {
    let written = Written {
        markdown: dir.join(MARKDOWN_FILE),
        svg: dir.join(SVG_FILE),
        json: dir.join(JSON_FILE),
    };
    let json = serde_json::to_vec_pretty(c).expect("comparison serializes");
    write_atomically(&written.json, &json)?;
    write_atomically(&written.svg, render_svg(c).as_bytes())?;
    write_atomically(&written.markdown, render_markdown(c).as_bytes())?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{Acks, Cell, ProducerSettings, Workload};
    use crate::results::{
        CellNetwork, ClientCounters, ClusterMeta, DeliveryCounts, Exposure, Latency, MachineMeta,
        RunMeta, Sample, Throughput,
    };
    use crate::verify::{permitted, Verdict};

    /// Relative wobble of a healthy cell's samples: about ±3%.
    const WOBBLE: [f64; 10] = [1.0, 0.98, 1.02, 0.99, 1.01, 0.97, 1.03, 1.0, 0.985, 1.015];

    fn run(librdkafka: &str) -> RunMeta {
        RunMeta {
            run_id: format!("run-{librdkafka}"),
            run_tag: 7,
            started_at: "2026-01-01T00:00:00Z".into(),
            tool_version: "0.1.0".into(),
            git_revision: None,
            librdkafka_version: librdkafka.into(),
            rdkafka_crate_version: "0.39.0".into(),
            cluster: ClusterMeta {
                kind: "local".into(),
                broker_version: Some("4.0.0".into()),
                brokers: 3,
                bootstrap: "127.0.0.1:9092".into(),
            },
            machine: MachineMeta {
                os: "linux".into(),
                arch: "x86_64".into(),
                cpu_model: Some("Test CPU".into()),
                cores: 8,
                memory_bytes: Some(1 << 34),
            },
            workload: Workload {
                faults: vec!["none".parse().unwrap(), "reject:1%".parse().unwrap()],
                network: crate::grid::Network::none(),
                ..Workload::quick()
            },
            driver: "cli".into(),
        }
    }

    /// A measured cell whose samples run at `rate` records/s and `p99_us`,
    /// each scaled by the wobble.
    fn measured(cell: &Cell, rate: f64, p99_us: f64) -> CellResult {
        let samples: Vec<Sample> = WOBBLE
            .iter()
            .map(|w| {
                let records = 10_000u64;
                Sample {
                    round: 0,
                    records,
                    bytes: records * 1024,
                    elapsed_ns: (records as f64 * 1e9 / (rate * w)).round() as u64,
                    p50_us: (p99_us * w / 4.0) as u64,
                    p99_us: (p99_us * (2.0 - w)).round() as u64,
                }
            })
            .collect();
        let latency = Latency {
            count: 100_000,
            p50_us: 0,
            p90_us: 0,
            p99_us: p99_us as u64,
            p999_us: 0,
            p9999_us: 0,
            max_us: 0,
            mean_us: 0.0,
            histogram: String::new(),
        };
        let mut faults = BTreeMap::new();
        if !cell.faults.is_none() {
            faults.insert("reject".to_string(), 40);
        }
        CellResult::new(
            cell,
            CellNetwork::requested(cell),
            Outcome::Measured(Box::new(Measurement {
                topic: format!("kob-{}", cell.id()),
                effective: BTreeMap::new(),
                throughput: Throughput::from_samples(&samples, 1024),
                samples,
                latency,
                fixed_load: None,
                delivery: DeliveryCounts::default(),
                client: ClientCounters::default(),
                exposure: Exposure {
                    faults_injected: faults,
                    client_retries: 40,
                    ..Exposure::default()
                },
                verdict: Verdict {
                    permitted: permitted(&cell.settings),
                    ..Verdict::default()
                },
                criterion: None,
                conditions: Default::default(),
            })),
        )
    }

    /// A run of the quick grid under `none` and `reject:1%`, every cell
    /// measured at a rate that depends on its settings, except the
    /// configurations the client rejects (idempotence with in-flight > 5).
    fn results(librdkafka: &str) -> Results {
        let meta = run(librdkafka);
        let mut r = Results::new(meta.clone());
        for cell in meta.workload.cells() {
            let s = cell.settings;
            let outcome = if s.idempotence && s.max_in_flight > 5 {
                CellResult::new(
                    &cell,
                    CellNetwork::requested(&cell),
                    Outcome::Rejected {
                        message: "`max.in.flight` must be <= 5 with idempotence".into(),
                    },
                )
            } else {
                let rate = 20_000.0 * f64::from(s.max_in_flight.min(5));
                measured(&cell, rate, 2_000.0 + 100.0 * f64::from(s.max_in_flight))
            };
            r.cells.push(outcome);
        }
        r.complete = true;
        r
    }

    fn cell_mut<'a>(r: &'a mut Results, id: &str) -> &'a mut CellResult {
        r.cells.iter_mut().find(|c| c.id == id).unwrap()
    }

    fn scale_samples(c: &mut CellResult, rate_factor: f64, p99_factor: f64) {
        let Outcome::Measured(m) = &mut c.outcome else {
            panic!("not measured")
        };
        for s in &mut m.samples {
            s.elapsed_ns = (s.elapsed_ns as f64 / rate_factor).round() as u64;
            s.p99_us = (s.p99_us as f64 * p99_factor).round() as u64;
        }
    }

    const IDEM: &str = "rtt=0ms,inflight=5,acks=all,idem=true,faults=reject-1pct";
    const PLAIN: &str = "rtt=0ms,inflight=5,acks=1,idem=false,faults=none";

    fn find<'a>(c: &'a Comparison, id: &str) -> &'a CellComparison {
        c.cells.iter().find(|x| x.id == id).unwrap()
    }

    #[test]
    fn identical_runs_show_no_change() {
        let base = results("2.3.0");
        let c = compare(&base, &base.clone(), &CompareOptions::default());
        assert!(c.comparable() && !c.regressed());
        assert_eq!(c.summary.cells_compared, 24);
        assert_eq!(c.summary.cells.not_significant, 24);
        // 24 cells, 4 rejected on each side (idem=true, in-flight 10, two acks, two profiles).
        assert_eq!(c.summary.throughput.not_significant, 20);
        assert_eq!(c.summary.p99_latency.not_significant, 20);
        let m = find(&c, PLAIN).throughput.as_ref().unwrap();
        // Each side is resampled on its own, so the interval has the width
        // of the samples' spread even for identical data.
        assert_eq!(m.change, 0.0);
        assert!(m.change_ci_low < 0.0 && m.change_ci_high > 0.0, "{m:?}");
        assert!(m.change_ci_low > -0.05 && m.change_ci_high < 0.05, "{m:?}");
        assert!(m.p_value > 0.9, "{}", m.p_value);
        assert!(c.only_in_base.is_empty() && c.only_in_new.is_empty());
        assert!(c.notes[0].starts_with("Both runs used librdkafka 2.3.0"));
    }

    #[test]
    fn real_throughput_drop_is_regressed() {
        let base = results("2.3.0");
        let mut new = results("2.10.0");
        scale_samples(cell_mut(&mut new, PLAIN), 0.8, 1.0);
        let c = compare(&base, &new, &CompareOptions::default());
        assert!(c.comparable() && c.regressed());
        let cell = find(&c, PLAIN);
        let m = cell.throughput.as_ref().unwrap();
        assert_eq!(m.verdict, ChangeVerdict::Regressed);
        assert!((m.change + 0.2).abs() < 0.01, "{}", m.change);
        assert!(m.change_ci_high < -0.05 && m.change_ci_low > -0.3, "{m:?}");
        assert!(m.p_value < 0.001, "{}", m.p_value);
        assert!(matches!(
            cell.regressions[..],
            [Regression::Throughput { .. }]
        ));
        assert_eq!(
            cell.p99_latency.as_ref().unwrap().verdict,
            ChangeVerdict::NotSignificant
        );
        assert_eq!(c.summary.cells.regressed, 1);
        assert_eq!(c.summary.throughput.regressed, 1);
        assert_eq!(c.summary.ordering_regressions, 0);
        assert!(c.notes.is_empty(), "{:?}", c.notes);
    }

    #[test]
    fn throughput_gain_is_improved() {
        let base = results("2.3.0");
        let mut new = results("2.10.0");
        scale_samples(cell_mut(&mut new, PLAIN), 1.3, 1.0);
        let c = compare(&base, &new, &CompareOptions::default());
        assert!(!c.regressed());
        assert_eq!(find(&c, PLAIN).verdict, ChangeVerdict::Improved);
        assert_eq!(c.summary.cells.improved, 1);
    }

    #[test]
    fn noise_sized_wobble_is_not_significant() {
        let base = results("2.3.0");
        let mut new = results("2.10.0");
        // Shuffle the wobble: the same spread, another order.
        if let Outcome::Measured(m) = &mut cell_mut(&mut new, PLAIN).outcome {
            m.samples.reverse();
            m.samples.rotate_left(3);
        }
        // A consistent 3% drop: detectable, but inside the ±5% noise band.
        scale_samples(cell_mut(&mut new, IDEM), 0.97, 1.03);
        let c = compare(&base, &new, &CompareOptions::default());
        assert!(!c.regressed(), "{:?}", c.worst_regressions(3));
        let wobble = find(&c, PLAIN).throughput.as_ref().unwrap();
        assert_eq!(wobble.verdict, ChangeVerdict::NotSignificant);
        assert!(wobble.p_value > 0.5, "{}", wobble.p_value);
        let small = find(&c, IDEM).throughput.as_ref().unwrap();
        assert_eq!(small.verdict, ChangeVerdict::NotSignificant);
        // Detectable (the rank test is significant), but its interval reaches
        // into the noise band: Criterion calls that no change.
        assert!(small.p_value < 0.05, "{small:?}");
        assert!(small.change_ci_high > -0.05, "{small:?}");
        // With a ±0.5% threshold the same 3% drop is a regression.
        let strict = CompareOptions {
            noise: 0.005,
            ..CompareOptions::default()
        };
        let c = compare(&base, &new, &strict);
        let cell = find(&c, IDEM);
        assert_eq!(
            cell.throughput.as_ref().unwrap().verdict,
            ChangeVerdict::Regressed
        );
        assert_eq!(
            cell.p99_latency.as_ref().unwrap().verdict,
            ChangeVerdict::Regressed
        );
    }

    #[test]
    fn new_reorder_under_same_faults_is_an_ordering_regression_whatever_the_noise() {
        let base = results("2.3.0");
        let mut new = results("2.10.0");
        if let Outcome::Measured(m) = &mut cell_mut(&mut new, IDEM).outcome {
            m.verdict.reorders.count = 3;
        }
        let lenient = CompareOptions {
            noise: 0.99,
            ..CompareOptions::default()
        };
        let c = compare(&base, &new, &lenient);
        assert!(c.regressed());
        let cell = find(&c, IDEM);
        assert_eq!(
            cell.regressions,
            vec![Regression::NewAnomaly {
                anomaly: AnomalyKind::Reorder,
                count: 3,
                permitted: false
            }]
        );
        let o = cell.ordering.as_ref().unwrap();
        assert_eq!((o.base_violations, o.new_violations), (0, 3));
        assert_eq!((o.base_faults_injected, o.new_faults_injected), (40, 40));
        assert_eq!(c.summary.ordering_regressions, 1);
        assert_eq!(
            cell.regressions[0].describe(),
            "reorders 0 → 3 (a guarantee this configuration promises no longer holds)"
        );
    }

    #[test]
    fn more_of_a_kind_already_seen_is_not_an_ordering_regression() {
        let mut base = results("2.3.0");
        let mut new = results("2.10.0");
        if let Outcome::Measured(m) = &mut cell_mut(&mut base, PLAIN).outcome {
            m.verdict.reorders.count = 2;
        }
        if let Outcome::Measured(m) = &mut cell_mut(&mut new, PLAIN).outcome {
            m.verdict.reorders.count = 9;
            m.verdict.gaps.count = 1;
        }
        let c = compare(&base, &new, &CompareOptions::default());
        // Reorders were already there; the gap is a new kind (permitted everywhere).
        assert_eq!(
            find(&c, PLAIN).regressions,
            vec![Regression::NewAnomaly {
                anomaly: AnomalyKind::Gap,
                count: 1,
                permitted: true
            }]
        );
    }

    #[test]
    fn cell_turned_rejected_is_a_regression() {
        let base = results("2.3.0");
        let mut new = results("2.10.0");
        cell_mut(&mut new, IDEM).outcome = Outcome::Rejected {
            message: "Invalid configuration".into(),
        };
        let c = compare(&base, &new, &CompareOptions::default());
        assert!(c.regressed());
        let cell = find(&c, IDEM);
        assert_eq!(
            (cell.base_status, cell.new_status),
            (Status::Measured, Status::Rejected)
        );
        assert_eq!(
            cell.regressions,
            vec![Regression::StatusChanged {
                from: Status::Measured,
                to: Status::Rejected,
                message: Some("Invalid configuration".into())
            }]
        );
        assert!(cell.throughput.is_none() && cell.ordering.is_none());
        assert_eq!(
            cell.regressions[0].describe(),
            "measured → rejected: Invalid configuration"
        );
    }

    #[test]
    fn rejected_turned_measured_is_a_regression_failed_baseline_is_not() {
        let mut base = results("2.3.0");
        let mut new = results("2.10.0");
        let rejected = "rtt=0ms,inflight=10,acks=all,idem=true,faults=none";
        let m = measured(
            &Cell {
                client: Default::default(),
                rtt_us: 0,
                settings: ProducerSettings {
                    max_in_flight: 10,
                    acks: Acks::All,
                    idempotence: true,
                },
                faults: "none".parse().unwrap(),
            },
            100_000.0,
            2_000.0,
        );
        cell_mut(&mut new, rejected).outcome = m.outcome;
        cell_mut(&mut base, PLAIN).outcome = Outcome::Failed {
            message: "timed out".into(),
        };
        let c = compare(&base, &new, &CompareOptions::default());
        assert_eq!(c.summary.cells.regressed, 1);
        assert!(matches!(
            find(&c, rejected).regressions[..],
            [Regression::StatusChanged {
                from: Status::Rejected,
                to: Status::Measured,
                ..
            }]
        ));
        let recovered = find(&c, PLAIN);
        assert!(recovered.regressions.is_empty());
        assert_eq!(recovered.base_message.as_deref(), Some("timed out"));
    }

    #[test]
    fn p99_rise_is_regressed() {
        let base = results("2.3.0");
        let mut new = results("2.10.0");
        scale_samples(cell_mut(&mut new, PLAIN), 1.0, 1.5);
        let c = compare(&base, &new, &CompareOptions::default());
        let cell = find(&c, PLAIN);
        assert_eq!(
            cell.p99_latency.as_ref().unwrap().verdict,
            ChangeVerdict::Regressed
        );
        assert!(matches!(
            cell.regressions[..],
            [Regression::P99Latency { .. }]
        ));
    }

    #[test]
    fn an_unknown_broker_version_alone_is_a_note() {
        let base = results("2.3.0");
        let mut new = results("2.3.0");
        new.run.cluster.broker_version = None;
        let c = compare(&base, &new, &CompareOptions::default());
        assert!(c.comparable(), "{:?}", c.differences);
        assert!(
            c.notes.iter().any(
                |n| n.starts_with("Broker version 4.0.0 vs (unknown): unknown for the new run")
            ),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn incomparable_runs_are_refused_with_the_reason() {
        let base = results("2.3.0");
        let mut new = results("2.10.0");
        new.run.workload.fixed.record_bytes = 512;
        new.run.cluster.broker_version = Some("3.9.1".into());
        new.run.cluster.brokers = 1;
        let c = compare(&base, &new, &CompareOptions::default());
        assert!(!c.comparable() && !c.regressed());
        assert!(!c.summary.comparable);
        assert!(c.cells.is_empty());
        let diff = |f: &str, b: &str, n: &str| Difference {
            field: f.into(),
            base: b.into(),
            new: n.into(),
        };
        assert_eq!(
            c.differences,
            vec![
                diff("workload.fixed.record_bytes", "1024", "512"),
                diff("cluster.brokers", "3", "1"),
                diff("cluster.broker_version", "4.0.0", "3.9.1"),
            ]
        );
        let md = render_markdown(&c);
        assert!(md.contains("**Not comparable**"), "{md}");
        assert!(
            md.contains("| `workload.fixed.record_bytes` | 1024 | 512 |"),
            "{md}"
        );
    }

    #[test]
    fn seed_and_disjoint_grids_are_refused() {
        let base = results("2.3.0");
        let mut new = results("2.3.0");
        new.run.workload.seed = 43;
        new.cells.retain(|c| c.faults == "none");
        for c in &mut new.cells {
            c.id = c.id.replace("faults=none", "faults=failover");
        }
        let c = compare(&base, &new, &CompareOptions::default());
        let fields: Vec<&str> = c.differences.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["workload.seed", "cells"]);
    }

    #[test]
    fn different_librdkafka_and_subset_grid_are_comparable_and_noted() {
        let base = results("2.3.0");
        let mut new = results("2.10.0");
        new.cells.retain(|c| c.faults == "none");
        new.run.workload.faults.truncate(1);
        new.complete = false;
        new.run.machine.cores = 4;
        let c = compare(&base, &new, &CompareOptions::default());
        assert!(c.comparable(), "{:?}", c.differences);
        assert_eq!(c.summary.cells_compared, 12);
        assert_eq!(c.only_in_base.len(), 12);
        assert!(c
            .only_in_base
            .iter()
            .all(|id| id.ends_with("faults=reject-1pct")));
        assert!(c.only_in_new.is_empty());
        assert_eq!(c.notes.len(), 3, "{:?}", c.notes);
        assert!(c.notes[0].contains("8 vs 4 cores"));
        assert!(c.notes[1].contains("interrupted"));
        assert!(c.notes[2].contains("grids differ"));
    }

    #[test]
    fn worst_regressions_put_broken_guarantees_first() {
        let base = results("2.3.0");
        let mut new = results("2.10.0");
        scale_samples(cell_mut(&mut new, PLAIN), 0.5, 1.0);
        scale_samples(
            cell_mut(&mut new, "rtt=0ms,inflight=1,acks=1,idem=false,faults=none"),
            0.8,
            1.0,
        );
        if let Outcome::Measured(m) = &mut cell_mut(&mut new, IDEM).outcome {
            m.verdict.log_duplicates.count = 1;
        }
        let c = compare(&base, &new, &CompareOptions::default());
        let worst: Vec<&str> = c.worst_regressions(5).iter().map(|(id, _)| *id).collect();
        assert_eq!(
            worst,
            [
                IDEM,
                PLAIN,
                "rtt=0ms,inflight=1,acks=1,idem=false,faults=none"
            ]
        );
        let md = render_markdown(&c);
        assert!(
            md.contains(
                "**Regressed**: 3 of 24 cells regressed (1 with an ordering or status regression)."
            ),
            "{md}"
        );
        assert!(
            md.contains("- Throughput: 2 regressed, 0 improved, 18 not significant."),
            "{md}"
        );
        assert!(
            md.contains(
                "1. `rtt=0ms,inflight=5,acks=all,idem=true,faults=reject-1pct`: log duplicates 0 → 1"
            ),
            "{md}"
        );
        assert!(
            md.contains("| librdkafka | **2.3.0** | **2.10.0** |"),
            "{md}"
        );
    }

    #[test]
    fn svg_is_deterministic_and_parses() {
        let base = results("2.3.0");
        let mut new = results("2.10.0");
        scale_samples(cell_mut(&mut new, PLAIN), 0.8, 1.0);
        let c = compare(&base, &new, &CompareOptions::default());
        let svg = render_svg(&c);
        assert_eq!(
            svg,
            render_svg(&compare(&base, &new, &CompareOptions::default()))
        );
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let texts: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .map(str::trim)
            .collect();
        for cell in &c.cells {
            assert!(texts.contains(&cell.id.as_str()), "{} missing", cell.id);
        }
        // One dot per metric per cell measured on both sides.
        let circles = doc
            .descendants()
            .filter(|n| n.has_tag_name("circle"))
            .count();
        assert_eq!(circles, 40);
        let red = doc
            .descendants()
            .filter(|n| n.has_tag_name("circle") && n.attribute("fill") == Some("#C82828"))
            .count();
        assert_eq!(red, 1);
    }

    #[test]
    fn comparison_json_round_trips() {
        let base = results("2.3.0");
        let mut new = results("2.10.0");
        scale_samples(cell_mut(&mut new, PLAIN), 0.8, 1.0);
        let c = compare(&base, &new, &CompareOptions::default());
        let json = serde_json::to_string(&c).unwrap();
        let back: Comparison = serde_json::from_str(&json).unwrap();
        // serde_json may round the last bit of a float when parsing: compare
        // everything else.
        assert_eq!(back.summary, c.summary);
        assert_eq!(back.differences, c.differences);
        let verdicts = |c: &Comparison| -> Vec<(String, ChangeVerdict, usize)> {
            c.cells
                .iter()
                .map(|x| (x.id.clone(), x.verdict, x.regressions.len()))
                .collect()
        };
        assert_eq!(verdicts(&back), verdicts(&c));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let r = &v["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == PLAIN)
            .unwrap()["regressions"][0];
        assert_eq!(r["kind"], "throughput");
    }
}
