//! The comparison itself: matching cells, the comparability check, and the
//! rules that call a change regressed, improved or not significant (see the
//! module documentation of [`crate::compare`] for the rules in order).

use std::collections::{BTreeMap, BTreeSet};

use super::{
    CellComparison, ChangeVerdict, CompareOptions, Comparison, Difference, KindCounts,
    MetricChange, OrderingChange, Regression, RunSummary, Status, Summary, COMPARISON_VERSION,
};
use crate::results::{CellResult, Measurement, Outcome, Results};
use crate::stats;
use crate::verify::AnomalyKind;

/// Compares a new run against a baseline. Pure: reads nothing, writes nothing.
pub fn compare(base: &Results, new: &Results, opts: &CompareOptions) -> Comparison {
    let mut differences = comparability(base, new);
    let notes = notes(base, new);

    let new_by_id: BTreeMap<&str, &CellResult> =
        new.cells.iter().map(|c| (c.id.as_str(), c)).collect();
    let only_in_base = ids_missing_from(base, new);
    let only_in_new = ids_missing_from(new, base);
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
        if let Some(m) = &c.client_cpu {
            summary.client_cpu.add(m.verdict);
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
    check("cluster.kind", bc.kind.to_string(), nc.kind.to_string());
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
    let mut cell = CellComparison {
        id: base.id.clone(),
        faults: base.faults.clone(),
        base_status: bs,
        new_status: ns,
        base_message: outcome_message(&base.outcome),
        new_message: outcome_message(&new.outcome),
        throughput: None,
        client_cpu: None,
        ordering: None,
        regressions: Vec::new(),
        verdict: ChangeVerdict::NotSignificant,
    };
    let machine_bound = base.machine_bound().is_some() || new.machine_bound().is_some();
    match (base.measurement(), new.measurement()) {
        (Some(b), Some(n)) => compare_measurements(&mut cell, b, n, opts, machine_bound),
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
    cell.verdict = cell_verdict(&cell);
    if machine_bound && cell.verdict != ChangeVerdict::Regressed {
        cell.verdict = ChangeVerdict::MachineBound;
    }
    cell
}

/// The client's or the runner's message, for a cell not measured.
fn outcome_message(o: &Outcome) -> Option<String> {
    match o {
        Outcome::Measured(_) => None,
        Outcome::Rejected { message } | Outcome::Failed { message } => Some(message.clone()),
    }
}

/// Fills in the metrics and the ordering of a cell measured on both sides,
/// with their regressions: throughput and the client's CPU per record
/// (unless machine-bound), then each new anomaly kind. Latency is not judged: the windows' latency is taken at
/// saturation (the depth of the client's queue, not a property of the
/// setting), and the fixed-load phase is one run per cell, with no spread
/// between runs to judge a change against.
fn compare_measurements(
    cell: &mut CellComparison,
    base: &Measurement,
    new: &Measurement,
    opts: &CompareOptions,
    machine_bound: bool,
) {
    if !machine_bound {
        cell.throughput = metric_change(&sample_rates(base), &sample_rates(new), true, opts);
        cell.client_cpu = metric_change(&round_cpu(base), &round_cpu(new), false, opts);
    }
    if let Some((change, ci_low, ci_high)) = regressed_interval(&cell.throughput) {
        cell.regressions.push(Regression::Throughput {
            change,
            ci_low,
            ci_high,
        });
    }
    if let Some((change, ci_low, ci_high)) = regressed_interval(&cell.client_cpu) {
        cell.regressions.push(Regression::ClientCpu {
            change,
            ci_low,
            ci_high,
        });
    }
    let ordering = ordering_change(base, new);
    for (&kind, counts) in &ordering.kinds {
        if counts.base == 0 && counts.new > 0 {
            cell.regressions.push(Regression::NewAnomaly {
                anomaly: kind,
                count: counts.new,
                permitted: new.verdict.permitted.contains(&kind),
            });
        }
    }
    cell.ordering = Some(ordering);
}

/// The client's CPU microseconds per record of each round it was measured
/// in, one group per round.
fn round_cpu(m: &Measurement) -> Vec<Vec<f64>> {
    m.conditions
        .cpu_us_per_record_rounds()
        .into_iter()
        .filter(|v| *v > 0.0)
        .map(|v| vec![v])
        .collect()
}

/// Records/s of each window that took any time, grouped by round (the
/// independent units).
fn sample_rates(m: &Measurement) -> Vec<Vec<f64>> {
    let mut rounds: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for s in m.samples.iter().filter(|s| s.elapsed_ns > 0) {
        rounds.entry(s.round).or_default().push(s.records_per_sec());
    }
    rounds.into_values().collect()
}

/// The change and its interval `(change, low, high)` of a metric that
/// regressed; `None` for any other verdict or no value.
fn regressed_interval(m: &Option<MetricChange>) -> Option<(f64, f64, f64)> {
    m.as_ref()
        .filter(|m| m.verdict == ChangeVerdict::Regressed)
        .map(|m| (m.change, m.change_ci_low, m.change_ci_high))
}

/// Regressed if anything regressed, improved if a metric improved and
/// nothing regressed, not significant otherwise.
fn cell_verdict(cell: &CellComparison) -> ChangeVerdict {
    let improved = [&cell.throughput, &cell.client_cpu]
        .into_iter()
        .flatten()
        .any(|m| m.verdict == ChangeVerdict::Improved);
    if !cell.regressions.is_empty() {
        ChangeVerdict::Regressed
    } else if improved {
        ChangeVerdict::Improved
    } else {
        ChangeVerdict::NotSignificant
    }
}

/// The change of one metric between two cells' rounds of windows
/// ([`stats::RELATIVE_CHANGE_METHOD`]), or `None` when a side has no
/// samples or its estimate is zero (no relative change exists).
fn metric_change(
    base: &[Vec<f64>],
    new: &[Vec<f64>],
    higher_is_better: bool,
    opts: &CompareOptions,
) -> Option<MetricChange> {
    let flat = |g: &[Vec<f64>]| -> Vec<f64> { g.iter().flatten().copied().collect() };
    let (base_median, new_median) = (stats::median(&flat(base)), stats::median(&flat(new)));
    if flat(base).is_empty() || flat(new).is_empty() || base_median <= 0.0 {
        return None;
    }
    let rc = stats::relative_change_rounds(base, new, opts.confidence)?;
    let (lo, hi, p_value) = (rc.low, rc.high, rc.p_value);
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
        base_samples: flat(base).len(),
        new_samples: flat(new).len(),
        change: rc.change,
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

/// Ids of `from`'s cells that `other` has no cell for, in `from`'s order.
fn ids_missing_from(from: &Results, other: &Results) -> Vec<String> {
    let other_ids: BTreeSet<&str> = other.cells.iter().map(|c| c.id.as_str()).collect();
    from.cells
        .iter()
        .filter(|c| !other_ids.contains(c.id.as_str()))
        .map(|c| c.id.clone())
        .collect()
}
