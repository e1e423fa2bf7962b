//! `## How deep the disorder goes`: per cell that reordered, how many
//! records and Produce requests overtook a refused one, per fault event
//! (the checker's [`crate::verify::Depth`]). The article's claim is about
//! depth as much as occurrence: with in-flight n, up to n − 1 requests
//! already sent (and one built) can land before the retry.

use std::fmt::Write as _;

use super::fmt;
use super::model::Model;

pub(super) fn depth_section(s: &mut String, m: &Model) {
    let mut rows = Vec::new();
    for c in &m.cells {
        let Some(meas) = c.result.measurement() else {
            continue;
        };
        let depths: Vec<&crate::verify::Depth> = meas
            .verdict
            .event_outcomes
            .iter()
            .filter_map(|e| e.depth.as_ref())
            .collect();
        if depths.is_empty() {
            continue;
        }
        let median = |v: Vec<u64>| {
            let v: Vec<f64> = v.into_iter().map(|x| x as f64).collect();
            crate::stats::median(&v)
        };
        let records: Vec<u64> = depths.iter().map(|d| d.records_overtaking).collect();
        let requests: Vec<u64> = depths.iter().map(|d| d.requests_overtaking).collect();
        let max_disp = depths.iter().map(|d| d.displacement.max).max().unwrap_or(0);
        let x = &meas.throughput;
        rows.push(format!(
            "| `{}` | {} | {} ({}–{}) | {} of {} | {} ({}) | {} ({}) | {} |",
            c.faults,
            c.setting_text(),
            fmt::rate(x.records_per_sec),
            fmt::rate(x.records_per_sec_ci_low),
            fmt::rate(x.records_per_sec_ci_high),
            depths.len(),
            fmt::int(meas.verdict.event_outcomes.len() as u64),
            fmt::sig3(median(records.clone())),
            fmt::int(records.iter().copied().max().unwrap_or(0)),
            fmt::sig3(median(requests.clone())),
            fmt::int(requests.iter().copied().max().unwrap_or(0)),
            fmt::int(max_disp),
        ));
    }
    if rows.is_empty() {
        return;
    }
    s.push_str("\n## How deep the disorder goes\n\nPer fault event that reordered: the records read before a record of the failed request that were sent after it (*records overtaking*), the same in Produce requests (records overtaking ÷ the records the failed request carried, rounded up: exact for full batches), and the largest displacement in sequence numbers. Medians over the events, maxima in brackets; the cell's throughput beside them, what that depth came with.\n\n| condition | setting | records/s (95% CI) | events that reordered | records overtaking | requests overtaking | max displacement |\n|---|---|---:|---:|---:|---:|---:|\n");
    for r in rows {
        let _ = writeln!(s, "{r}");
    }
}
