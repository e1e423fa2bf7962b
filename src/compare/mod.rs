//! Baseline comparison: two runs side by side, with a regression verdict.
//!
//! A stage after the results, like the report: [`compare`] (in `analysis`,
//! the statistics and the rules) is pure, two [`Results`](crate::results::Results) in, one
//! [`Comparison`] (a plain serde struct) out. [`pairs`] combines several
//! comparisons of the same two sides (before/after a client upgrade, run in
//! ABBA order) into one verdict. Presentation is apart: [`render_markdown`]
//! and [`render_svg`] draw a comparison with the report's number formatting,
//! markup and drawing helpers, and [`write()`] puts `compare.md`, `compare.svg`
//! and `compare.json` in a directory.
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
//! 3. **Throughput and the client's CPU per record**, with the rounds as
//!    the units ([`crate::stats::relative_change_rounds`]): Welch's
//!    t-interval of the change of the mean log round medians, and its
//!    p-value. A change is *improved* or *regressed* only when it is
//!    significant and the whole interval lies beyond the noise threshold in
//!    one direction (Criterion's rule); anything else is *not significant*.
//!    A machine-bound cell is not compared on either. Latency is not judged:
//!    the fixed-load phase is one run per cell, with no spread between
//!    rounds to judge a change against.

mod analysis;
#[doc(hidden)]
pub mod fixture;
pub mod markdown;
pub mod pairs;
mod svg;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

use crate::report::fmt::signed_pct as pct;
use crate::report::markup::one_line;
use crate::results::{write_atomically, Outcome, ResultsError};
use crate::verify::AnomalyKind;

pub use analysis::compare;
pub use markdown::{render_markdown, render_pairs_markdown};
pub use svg::render_svg;

/// Version of the [`Comparison`] JSON. Bump it on any change a reader could trip on.
pub const COMPARISON_VERSION: u32 = 2;

/// File names [`write()`] uses inside its directory.
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
    /// Machine-bound on either side ([`crate::results::MachineBound`]): its
    /// throughput measures the machine, so it is not compared (its ordering
    /// still is).
    MachineBound,
}

impl ChangeVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeVerdict::Improved => "improved",
            ChangeVerdict::Regressed => "regressed",
            ChangeVerdict::NotSignificant => "not significant",
            ChangeVerdict::MachineBound => "machine-bound, not compared",
        }
    }
}

/// A cell present on both sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellComparison {
    /// The cell id, fault profile included.
    pub id: String,
    /// The fault profile, in its text form.
    pub faults: crate::faults::FaultProfile,
    pub base_status: Status,
    pub new_status: Status,
    /// The client's or the runner's message, for a rejected or failed baseline cell.
    pub base_message: Option<String>,
    /// The client's or the runner's message, for a rejected or failed new cell.
    pub new_message: Option<String>,
    /// Throughput in records/s (medians over samples); measured on both sides only.
    pub throughput: Option<MetricChange>,
    /// The client's CPU time per record acknowledged, in microseconds (one
    /// value per round); measured on both sides, not machine-bound, only.
    pub client_cpu: Option<MetricChange>,
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
    /// Lower bound of the confidence interval of `change` (Welch's, on the
    /// log round medians).
    pub change_ci_low: f64,
    /// Upper bound of the confidence interval of `change`.
    pub change_ci_high: f64,
    /// Two-sided p-value of Welch's test on the log round medians.
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
    /// The client's CPU time per record rose beyond the noise threshold.
    ClientCpu {
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
            Regression::Throughput { change, .. } | Regression::ClientCpu { change, .. } => {
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
            Regression::ClientCpu {
                change,
                ci_low,
                ci_high,
            } => format!(
                "client CPU per record {} [{}, {}]",
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
    /// Machine-bound on either side: not compared.
    #[serde(default)]
    pub machine_bound: usize,
}

impl VerdictCounts {
    fn add(&mut self, v: ChangeVerdict) {
        match v {
            ChangeVerdict::Improved => self.improved += 1,
            ChangeVerdict::Regressed => self.regressed += 1,
            ChangeVerdict::NotSignificant => self.not_significant += 1,
            ChangeVerdict::MachineBound => self.machine_bound += 1,
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
    /// Client CPU per record verdicts, over cells measured on both sides.
    pub client_cpu: VerdictCounts,
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

/// The files [`write()`] wrote.
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

/// File names [`write_pairs`] uses inside its directory, beside one
/// `pair-<k>` directory of [`write()`]'s files per pair.
pub const PAIRS_MARKDOWN_FILE: &str = "pairs.md";
pub const PAIRS_JSON_FILE: &str = "pairs.json";

/// Writes each pair's files into `dir/pair-<k>` (k from 1), and `pairs.md`
/// and `pairs.json` into `dir`, each atomically. Returns the paths of the
/// last two.
pub fn write_pairs(c: &pairs::Combined, dir: &Path) -> Result<(PathBuf, PathBuf), ResultsError> {
    for (k, p) in c.pairs.iter().enumerate() {
        write(p, &dir.join(format!("pair-{}", k + 1)))?;
    }
    let (md, json) = (dir.join(PAIRS_MARKDOWN_FILE), dir.join(PAIRS_JSON_FILE));
    let bytes = serde_json::to_vec_pretty(c).expect("combined comparison serializes");
    write_atomically(&json, &bytes)?;
    write_atomically(&md, render_pairs_markdown(c).as_bytes())?;
    Ok((md, json))
}
