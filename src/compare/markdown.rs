//! `compare.md`: a comparison as Markdown.

use std::fmt::Write as _;

use super::pairs::{Agreement, Combined};
use super::{
    CellComparison, ChangeVerdict, Comparison, MetricChange, OrderingChange, Regression,
    RunSummary, Status, VerdictCounts,
};
use crate::report::fmt::{rate_compact, sig3, signed_pct as pct};
use crate::report::markup::{self, cell as md_escape};

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

/// `3 regressed, 1 improved, 20 not significant, 8 machine-bound (not compared)`.
pub fn verdict_counts(v: &VerdictCounts) -> String {
    format!(
        "{} regressed, {} improved, {} not significant, {} machine-bound (not compared)",
        v.regressed, v.improved, v.not_significant, v.machine_bound
    )
}

/// `compare.md`: the verdict, a computed summary, the worst regressions and
/// a table of every compared cell.
pub fn render_markdown(c: &Comparison) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Comparison: `{}` → `{}`\n",
        c.base.run_id, c.new.run_id
    );
    let _ = writeln!(md, "{}\n", headline(c));
    write_run_table(&mut md, c);
    if !c.comparable() {
        write_differences(&mut md, c);
    }
    write_notes(&mut md, c);
    if !c.comparable() {
        return md;
    }
    write_summary(&mut md, c);
    write_worst_regressions(&mut md, c);
    write_cell_table(&mut md, c);
    md
}

/// The verdict in one sentence.
fn headline(c: &Comparison) -> String {
    if !c.comparable() {
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
    }
}

/// The two runs side by side.
fn write_run_table(md: &mut String, c: &Comparison) {
    md.push_str(&markup::header(&["", "baseline", "new"]));
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
}

/// Why the runs are not comparable, and what to do about it.
fn write_differences(md: &mut String, c: &Comparison) {
    md.push_str("## Why these runs are not comparable\n\n");
    md.push_str(&markup::header(&["field", "baseline", "new"]));
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

fn write_notes(md: &mut String, c: &Comparison) {
    if c.notes.is_empty() {
        return;
    }
    md.push_str("## Notes\n\n");
    for n in &c.notes {
        let _ = writeln!(md, "- {n}");
    }
    md.push('\n');
}

/// The verdict counts, the cells on one side only, and the rule that made
/// the verdicts.
fn write_summary(md: &mut String, c: &Comparison) {
    let s = &c.summary;
    let o = &c.options;
    md.push_str("## Summary\n\n");
    let _ = writeln!(
        md,
        "- Cells compared: {} ({}).",
        s.cells_compared,
        verdict_counts(&s.cells)
    );
    let _ = writeln!(md, "- Throughput: {}.", verdict_counts(&s.throughput));
    let _ = writeln!(
        md,
        "- Client CPU per record: {}.",
        verdict_counts(&s.client_cpu)
    );
    md.push_str("- Latency: not judged (the windows measure it at saturation; the fixed-load phase runs once per cell).\n");
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
        "\nA change in throughput or client CPU per record is *regressed* or *improved* when its p-value is under {:.0}% and its whole {:.0}% interval lies beyond the ±{:.1}% noise threshold ({}; the rounds are the units); otherwise it is *not significant*. Machine-bound cells (no emulated round trip, or the cores saturated by others than the client) are not compared. A new anomaly kind under the same fault profile and seed, or a cell that stops being measured or changes its rejection status, is always a regression.\n",
        o.significance * 100.0,
        o.confidence * 100.0,
        o.noise * 100.0,
        crate::stats::RELATIVE_CHANGE_METHOD
    );
}

fn write_worst_regressions(md: &mut String, c: &Comparison) {
    let worst = c.worst_regressions(10);
    if worst.is_empty() {
        return;
    }
    md.push_str("## Worst regressions\n\n");
    for (i, (id, r)) in worst.iter().enumerate() {
        let _ = writeln!(md, "{}. `{id}`: {}", i + 1, md_escape(&r.describe()));
    }
    md.push('\n');
}

/// Every compared cell: both metrics with their change, the ordering
/// violations, and the verdict with its reasons.
fn write_cell_table(md: &mut String, c: &Comparison) {
    md.push_str("## Cells\n\n");
    md.push_str(&markup::header(&[
        "cell",
        "throughput",
        "change [CI]",
        "client CPU µs/record",
        "change [CI]",
        "ordering violations",
        "verdict",
    ]));
    for cell in &c.cells {
        let (tp, tpc) = metric_columns(cell, &cell.throughput, rate_compact);
        let (p99, p99c) = metric_columns(cell, &cell.client_cpu, sig3);
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            cell.id,
            tp,
            tpc,
            p99,
            p99c,
            ordering_column(&cell.ordering),
            md_escape(&verdict_column(cell))
        );
    }
}

/// A metric's two columns: its medians (`base → new`, formatted by `fmt`),
/// and its change with the interval and verdict. Without a value, why not.
fn metric_columns(
    cell: &CellComparison,
    m: &Option<MetricChange>,
    fmt: fn(f64) -> String,
) -> (String, String) {
    match m {
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
    }
}

/// `2 → 5 (reorders 2→5)`, or `–` for a cell not measured on both sides.
fn ordering_column(ordering: &Option<OrderingChange>) -> String {
    let Some(o) = ordering else {
        return "–".into();
    };
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

/// The cell's verdict, with every reason when it regressed.
fn verdict_column(cell: &CellComparison) -> String {
    if cell.regressions.is_empty() {
        match (cell.base_status, cell.new_status) {
            (Status::Measured, Status::Measured) => cell.verdict.as_str().to_string(),
            (Status::Failed, _) => "baseline failed: nothing to compare".into(),
            (b, n) if b == n => format!("unchanged ({})", b.as_str()),
            _ => cell.verdict.as_str().to_string(),
        }
    } else {
        let why: Vec<String> = cell.regressions.iter().map(Regression::describe).collect();
        format!("**regressed**: {}", why.join("; "))
    }
}

/// A metric's per-pair changes: `-20.1% regressed / -19.5% ~`.
fn per_pair(values: &[Option<MetricChange>]) -> String {
    let one = |m: &Option<MetricChange>| match m {
        Some(m) if m.verdict == ChangeVerdict::NotSignificant => format!("{} ~", pct(m.change)),
        Some(m) => format!("{} {}", pct(m.change), m.verdict.as_str()),
        None => "n/a".into(),
    };
    values.iter().map(one).collect::<Vec<_>>().join(" / ")
}

fn agreement(a: Agreement) -> String {
    match a {
        Agreement::Regressed => "**regressed**".into(),
        other => other.as_str().into(),
    }
}

/// `pairs.md`: the combined verdict over several pairs, then a table of
/// every cell with each pair's change and what they say together.
pub fn render_pairs_markdown(c: &Combined) -> String {
    let mut md = String::new();
    write_pair_list(&mut md, c);
    if !c.comparable() {
        md.push_str("\n**Not comparable**: at least one pair's runs differ in how cells were measured; see its compare.md. Nothing was combined.\n");
        return md;
    }
    write_combined_verdict(&mut md, c);
    write_combined_cell_table(&mut md, c);
    md
}

/// The title, then one line per pair with its own verdict counts.
fn write_pair_list(md: &mut String, c: &Combined) {
    let first = c.pairs.first();
    let _ = writeln!(
        md,
        "# {} pairs: librdkafka {} → {}\n",
        c.pairs.len(),
        first.map_or("?", |p| &p.base.librdkafka_version),
        first.map_or("?", |p| &p.new.librdkafka_version)
    );
    for (k, p) in c.pairs.iter().enumerate() {
        let _ = writeln!(
            md,
            "- **pair {}**: `{}` vs `{}`: `pair-{}/compare.md` ({}){}",
            k + 1,
            p.base.run_id,
            p.new.run_id,
            k + 1,
            verdict_counts(&p.summary.cells),
            if p.comparable() {
                ""
            } else {
                ", **not comparable**"
            }
        );
    }
}

/// What the pairs say together: ordering and status, each metric, the result.
fn write_combined_verdict(md: &mut String, c: &Combined) {
    md.push_str("\n## Verdict\n\n");
    if c.ordering_regressions > 0 {
        let _ = writeln!(
            md,
            "- **{} with an ordering or status regression** (in at least one pair).",
            cells_word(c.ordering_regressions)
        );
    } else {
        md.push_str("- No ordering or status regression in any pair.\n");
    }
    for (name, n) in [
        ("Throughput", &c.throughput),
        ("Client CPU per record", &c.client_cpu),
    ] {
        let _ = writeln!(
            md,
            "- {name}: {} regressed in every pair; {} improved in every pair; {} inconsistent between pairs.",
            cells_word(n.regressed),
            cells_word(n.improved),
            cells_word(n.inconsistent)
        );
    }
    let _ = writeln!(
        md,
        "- **Result: {}**\n",
        if c.regressed() {
            "REGRESSED"
        } else {
            "no regression"
        }
    );
}

/// Every combined cell: each pair's change of both metrics, what they say
/// together, and any ordering or status regression.
fn write_combined_cell_table(md: &mut String, c: &Combined) {
    md.push_str("## Cells\n\nPer pair: relative change of the median (new vs baseline) and its verdict (`~` = not significant). *Combined*: the verdict when every pair agrees, *inconsistent* when they disagree (drift or noise rather than the client).\n\n");
    md.push_str(&markup::header(&[
        "cell",
        "throughput per pair",
        "combined",
        "client CPU per pair",
        "combined",
        "ordering",
    ]));
    for cell in &c.cells {
        let ordering = if cell.ordering.is_empty() {
            "ok".to_string()
        } else {
            format!("**{}**", md_escape(&cell.ordering.join("; ")))
        };
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {} | {ordering} |",
            cell.id,
            per_pair(&cell.throughput),
            agreement(cell.throughput_agreement),
            per_pair(&cell.client_cpu),
            agreement(cell.cpu_agreement),
        );
    }
    if !c.one_side_only.is_empty() {
        let _ = writeln!(
            md,
            "\nCells on one side only (not compared): {}.",
            c.one_side_only.join(", ")
        );
    }
}
