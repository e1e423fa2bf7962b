//! The "Across the network" section of REPORT.md: per emulated RTT, the
//! throughput `max.in.flight` bought with `acks=all` against the model
//! ceiling, how precise the no-fault figures are, and latency at a fixed load.

use std::fmt::Write as _;

use super::model::Model;
use super::{fmt, markup};

/// Per RTT, what `max.in.flight` bought with `acks=all`, without idempotence
/// and with it, against the model ceiling; and the precision of the run.
pub(super) fn network_section(s: &mut String, m: &Model) {
    throughput_by_rtt(s, m);
    precision(s, m);
    fixed_load_table(s, m);
}

/// One bullet per RTT of the no-fault conditions: the throughput of each
/// `max.in.flight` with `acks=all`, and what going from the lowest to the
/// highest bought; then how the ceiling is modelled.
fn throughput_by_rtt(s: &mut String, m: &Model) {
    let mut any = false;
    let mut conditions: Vec<(&String, &u64)> = m.condition_rtt_us.iter().collect();
    conditions.sort_by_key(|(_, &rtt)| rtt);
    for (condition, &rtt) in conditions {
        if !condition.starts_with("none") {
            continue;
        }
        let mut line = String::new();
        for idem in [false, true] {
            if let Some(gain) = in_flight_gain(m, condition, idem) {
                line.push_str(&gain);
            }
        }
        if !line.is_empty() {
            any = true;
            let _ = writeln!(
                s,
                "- **RTT {}**, `acks=all`, records/s (95% interval): {}",
                crate::grid::fmt_rtt(rtt),
                line.trim_end()
            );
        }
    }
    if any {
        s.push_str("
Ceiling: `max.in.flight × batch records ÷ ack RTT`, the ack RTT being the client's plus, with `acks=all` and emulated replication, a follower's; and then at most one batch per replication RTT, since a broker reads a connection's next request only after answering the one before (more requests in flight hide the client's round trip, not the followers').
");
    }
}

/// `not idempotent: 1: …, 5: …; in-flight 1 → 5 bought ×1.13. `: the
/// `acks=all` cells of one idempotence value under one condition, by
/// ascending `max.in.flight`; `None` without such a cell.
fn in_flight_gain(m: &Model, condition: &str, idem: bool) -> Option<String> {
    let mut pts: Vec<(u32, f64, f64, f64)> = m
        .measured_in(condition)
        .filter(|(c, _)| {
            c.settings.acks == crate::grid::Acks::All && c.settings.idempotence == idem
        })
        .map(|(c, x)| (c.settings.max_in_flight, x.rps, x.ci_low, x.ci_high))
        .collect();
    pts.sort_by_key(|p| p.0);
    let &(first_f, first, _, _) = pts.first()?;
    let steps: Vec<String> = pts
        .iter()
        .map(|&(f, r, lo, hi)| {
            let vs = acks_all_ceiling(m, condition, f, idem)
                .map(|c| {
                    format!(
                        ", {:.0}% of the ceiling {}",
                        100.0 * r / c,
                        fmt::int(c.round() as u64)
                    )
                })
                .unwrap_or_default();
            format!(
                "{f}: {} ({}–{}{vs})",
                fmt::int(r.round() as u64),
                fmt::int(lo.round() as u64),
                fmt::int(hi.round() as u64)
            )
        })
        .collect();
    let last = pts.last().expect("non-empty");
    Some(format!(
        "{}: {}; in-flight {} → {} bought ×{:.2}. ",
        if idem { "idempotent" } else { "not idempotent" },
        steps.join(", "),
        first_f,
        last.0,
        if first > 0.0 { last.1 / first } else { 0.0 }
    ))
}

/// The model ceiling, records/s, of the `acks=all` cell of `max.in.flight`
/// `in_flight` and idempotence `idem` under `condition`, with replication
/// when any cell of the condition had a replication RTT.
fn acks_all_ceiling(m: &Model, condition: &str, in_flight: u32, idem: bool) -> Option<f64> {
    let w = &m.results.run.workload;
    m.cells
        .iter()
        .find(|c| {
            c.faults == *condition
                && c.settings.max_in_flight == in_flight
                && c.settings.acks == crate::grid::Acks::All
                && c.settings.idempotence == idem
        })
        .and_then(|c| c.result.cell())
        .and_then(|cell| {
            let mut n = w.network.clone();
            n.replication = m
                .cells
                .iter()
                .any(|c| c.faults == *condition && c.result.network.replication_rtt_us > 0);
            cell.ceiling_records_per_sec(&w.fixed, &n)
        })
}

/// How wide the 95% interval of a no-fault cell's throughput is, median and worst.
fn precision(s: &mut String, m: &Model) {
    let widths: Vec<f64> = m
        .cells
        .iter()
        .filter(|c| c.faults.starts_with("none"))
        .filter_map(|c| c.measured())
        .map(|x| x.ci_half_width_pct)
        .collect();
    if !widths.is_empty() {
        let mut sorted = widths.clone();
        sorted.sort_by(f64::total_cmp);
        let _ = writeln!(
            s,
            "
Precision: the 95% interval of a no-fault cell's throughput is ±{:.1}% for the median cell and ±{:.1}% at worst; {} of {} are within ±5% ({}).",
            crate::stats::median(&sorted),
            sorted.last().copied().unwrap_or(0.0),
            sorted.iter().filter(|w| **w <= 5.0).count(),
            sorted.len(),
            crate::results::THROUGHPUT_ESTIMATOR
        );
    }
}

/// The table of latency at a fixed load, one row per cell that had that phase.
fn fixed_load_table(s: &mut String, m: &Model) {
    let fixed: Vec<String> = m
        .cells
        .iter()
        .filter_map(|c| c.measured().map(|x| (c, x)))
        .filter_map(|(c, x)| {
            let f = x.fixed_load.as_ref()?;
            let [p50, p99, p999] = super::text::fixed_load_cells(x);
            Some(format!(
                "| {} | {} | {} | {} | {p50} | {p99} | {p999} |",
                c.faults,
                markup::cell(&c.setting_text()),
                fmt::int(f.rate),
                fmt::int(f.records),
            ))
        })
        .collect();
    if !fixed.is_empty() {
        s.push_str("
### Latency at a fixed load

From each record's intended send time to its acknowledgement (coordinated omission corrected), at a rate common to the cells of one RTT, through the cell's whole path (client and replication links), starting from an empty client queue. A quantile is quoted only when at least 10 records lie above it (p99 from 1,000 records, p99.9 from 10,000); below that it reads \"n too small\".

| condition | setting | records/s | records | p50 ms | p99 ms | p99.9 ms |
|---|---|---:|---:|---:|---:|---:|
");
        for l in fixed {
            s.push_str(&l);
            s.push('\n');
        }
    }
}
