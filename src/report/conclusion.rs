//! The conclusion of REPORT.md: per fault profile, the fastest setting with
//! no violation observed (with enough fault events to say so), the settings
//! that violated ordering, and what held across profiles.

use crate::grid::ProducerSettings;
use std::fmt::Write as _;

use super::model::{setting_text, CellView, Judgement, Meas, Model, State};

use super::{fmt, markup};

use super::text::{b, kinds_text, plural, rate_ci};

/// A measured cell with its figures.
pub(super) type Judged<'m, 'a> = (&'m CellView<'a>, &'m Meas);

pub(super) fn conclusion(s: &mut String, m: &Model) {
    conclusion_with(s, m, m.results.run.workload.fixed.min_events);
}

/// The conclusion with `min_events` fault events required before a cell is
/// called free of violations (the workload's `min_events`).
pub(super) fn conclusion_with(s: &mut String, m: &Model, min_events: u64) {
    for faults in &m.fault_profiles {
        profile_conclusion(s, m, faults, min_events);
    }
    across_profiles(s, m, min_events);
    unexposed_cells(s, m);
    rejected_cells(s, m);
    failed_cells(s, m);
}

/// The cells that cannot be told apart from the fastest: the fastest and
/// every cell whose 95% interval reaches the fastest's, by throughput. One cell is a winner; more are a tie.
pub(super) fn leaders<'m, 'a>(cells: &[Judged<'m, 'a>]) -> Vec<Judged<'m, 'a>> {
    let mut sorted = cells.to_vec();
    sorted.sort_by(|a, b| b.1.rps.total_cmp(&a.1.rps));
    let Some(&(_, top)) = sorted.first() else {
        return Vec::new();
    };
    sorted
        .into_iter()
        .filter(|(_, x)| std::ptr::eq(*x, top) || x.ci_high >= top.ci_low)
        .collect()
}

/// `**in-flight 5, …** at 1,234 records/s (95% CI …)`, or for a tie
/// "cannot be told apart: A (…), B (…)".
fn leaders_text(leaders: &[Judged]) -> String {
    match leaders {
        [(c, x)] => format!("{} at {}", b(&c.settings), rate_ci(x)),
        _ => {
            let names: Vec<String> = leaders
                .iter()
                .map(|(c, x)| format!("{} ({})", setting_text(&c.settings), rate_ci(x)))
                .collect();
            format!(
                "a tie, {} settings whose 95% intervals overlap the fastest's: {}",
                leaders.len(),
                names.join("; ")
            )
        }
    }
}

/// The bullet of one fault profile: how many cells were measured and
/// judged, the fastest setting judged free of violations (named only when
/// its interval separates from the runner-up's), the zeros on too few
/// faults, and the settings that violated ordering.
fn profile_conclusion(s: &mut String, m: &Model, faults: &str, min_events: u64) {
    let cells: Vec<Judged> = m.judged_in(faults).collect();
    let measured = m.measured_in(faults).count();
    let left_out = measured - cells.len();
    let left_out_text = if left_out > 0 {
        format!(", {left_out} machine-bound or qualified and left out")
    } else {
        String::new()
    };
    if cells.is_empty() {
        let _ = writeln!(
            s,
            "- Under `{faults}` ({measured} measured{left_out_text}): no cell gives a figure to rank or judge here."
        );
        return;
    }
    let exposed = cells.iter().filter(|(_, x)| x.exposed()).count();
    let _ = write!(
        s,
        "- Under `{faults}` ({measured} measured{left_out_text}, {exposed} exposed to faults): "
    );
    fastest_judged_clean(s, &cells, exposed, min_events);
    too_few_to_judge(s, &cells, min_events);
    s.push('\n');
    violators(s, &cells, faults);
}

/// The sentence on the fastest setting with no violation observed, or why
/// there is none.
fn fastest_judged_clean(s: &mut String, cells: &[Judged], exposed: usize, min_events: u64) {
    let fastest = leaders(cells);
    if exposed == 0 {
        let _ = write!(
            s,
            "no fault reached any cell, so the zeros here say nothing about ordering under faults. Fastest: {}.",
            leaders_text(&fastest)
        );
        return;
    }
    // "No violation observed" only with enough fault events to mean it.
    let clean: Vec<Judged> = cells
        .iter()
        .copied()
        .filter(|(_, x)| {
            x.exposed() && matches!(x.judgement(min_events), Judgement::NoViolation { .. })
        })
        .collect();
    if clean.is_empty() {
        let _ = write!(
            s,
            "no setting is judged free of violations under these faults: each either violated ordering or saw fewer than {min_events} fault events. Fastest: {}.",
            leaders_text(&fastest)
        );
        return;
    }
    let clean_leaders = leaders(&clean);
    judged_clean_sentence(s, &clean_leaders, min_events);
    fastest_overall_sentence(s, &clean_leaders, &fastest, min_events);
}

/// The fastest judged-clean cell (or the tie), its throughput and the
/// evidence behind the judgement, per fault event.
fn judged_clean_sentence(s: &mut String, leaders: &[Judged], min_events: u64) {
    let evidence: Vec<String> = leaders
        .iter()
        .filter_map(|(_, x)| match x.judgement(min_events) {
            Judgement::NoViolation { events, bound } => Some(format!(
                "{} fault events, so below {} per event (95%)",
                fmt::int(events),
                fmt::pct(bound * 100.0)
            )),
            _ => None,
        })
        .collect();
    let mut distinct = evidence.clone();
    distinct.dedup();
    let _ = write!(
        s,
        "the fastest setting with no violation observed is {}: {}.",
        leaders_text(leaders),
        if distinct.len() == 1 {
            distinct[0].clone()
        } else {
            evidence.join("; ")
        }
    );
}

/// The fastest cells overall beside the judged-clean ones: what choosing
/// a clean one costs, only when their intervals separate.
fn fastest_overall_sentence(s: &mut String, clean: &[Judged], fastest: &[Judged], min_events: u64) {
    let shared = clean.iter().any(|(c, _)| {
        fastest
            .iter()
            .any(|(f, _)| std::ptr::eq(c.result, f.result))
    });
    if shared {
        let _ = write!(
            s,
            " No measured setting is faster beyond the intervals: choosing it costs no throughput this run can see."
        );
        return;
    }
    let (best_clean, top) = (clean[0].1, fastest[0].1);
    let worst = fastest
        .iter()
        .map(|(_, x)| x.judgement(min_events))
        .find(|j| matches!(j, Judgement::Violations))
        .map(|_| ", which violated ordering")
        .unwrap_or(", with too few fault events to judge");
    let _ = write!(
        s,
        " Faster: {}{worst}; the clean choice costs {} of throughput (95% intervals separate).",
        leaders_text(fastest),
        fmt::pct((top.rps - best_clean.rps) / top.rps * 100.0),
    );
}

/// Zeros on too little evidence: what the setting permits and the
/// evidence against each kind, never "clean".
fn too_few_to_judge(s: &mut String, cells: &[Judged], min_events: u64) {
    let too_few: Vec<&Judged> = cells
        .iter()
        .filter(|(_, x)| x.exposed() && matches!(x.judgement(min_events), Judgement::TooFew { .. }))
        .collect();
    if too_few.is_empty() {
        return;
    }
    s.push('\n');
    let _ = write!(
        s,
        "  - Too few faults to judge (fewer than {min_events} events, 0 violations):"
    );
    for (c, x) in too_few {
        let permits = if x.permitted.is_empty() {
            "permits no reorder, duplicate or loss".to_string()
        } else {
            let names: Vec<&str> = x.permitted.iter().map(|k| k.plural()).collect();
            format!("permits {}", names.join(", "))
        };
        let _ = write!(
            s,
            " {} ({} events; {permits}, 0 of each seen);",
            setting_text(&c.settings),
            fmt::int(x.events)
        );
    }
    if s.ends_with(';') {
        s.pop();
        s.push('.');
    }
}

/// The settings that violated ordering under one fault profile, most
/// violations per million first, each with its kinds.
fn violators(s: &mut String, cells: &[Judged], faults: &str) {
    let mut violators: Vec<&Judged> = cells.iter().filter(|(_, x)| x.violations() > 0).collect();
    if violators.is_empty() {
        let _ = writeln!(s, "  - No setting violated ordering under `{faults}`.");
        return;
    }
    let _ = writeln!(
        s,
        "  - {} setting{} violated ordering under `{faults}`:",
        violators.len(),
        plural(violators.len())
    );
    violators.sort_by(|a, b| b.1.violations_pm().total_cmp(&a.1.violations_pm()));
    for (c, x) in violators {
        let unexpected = if x.unexpected.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = x.unexpected.iter().map(|k| k.label()).collect();
            format!(
                " **Not allowed by this configuration ({})**: a client or broker bug, or a checker bug.",
                names.join(", ")
            )
        };
        let _ = writeln!(
            s,
            "    - {}: {} violations per million: {}.{unexpected}",
            setting_text(&c.settings),
            fmt::sig3(x.violations_pm()),
            kinds_text(x)
        );
    }
}

/// Across the conditions with faults: the settings judged free of
/// violations in every one where they ran (machine-bound and qualified cells
/// give no judgement, so a setting with one is left out and counted).
fn across_profiles(s: &mut String, m: &Model, min_events: u64) {
    let with_faults: Vec<&String> = m
        .fault_profiles
        .iter()
        .filter(|f| m.measured_in(f).any(|(c, _)| !c.result.faults.is_none()))
        .collect();
    if with_faults.len() < 2 {
        return;
    }
    let mut settings: Vec<ProducerSettings> = m.cells.iter().map(|c| c.settings).collect();
    settings.sort();
    settings.dedup();
    let (mut clean, mut unjudged) = (Vec::new(), 0);
    for st in settings {
        let per: Vec<&Meas> = with_faults
            .iter()
            .filter_map(|f| m.cell(&st, f).and_then(|c| c.measured()))
            .collect();
        if per.len() < with_faults.len() {
            continue; // rejected, failed or not run somewhere
        }
        if per.iter().any(|x| !x.judged()) {
            unjudged += 1;
            continue;
        }
        if per
            .iter()
            .all(|x| matches!(x.judgement(min_events), Judgement::NoViolation { .. }))
        {
            clean.push(setting_text(&st));
        }
    }
    let names = with_faults
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let left_out = if unjudged > 0 {
        format!(
            " ({unjudged} setting{} left out: machine-bound or qualified in at least one)",
            plural(unjudged)
        )
    } else {
        String::new()
    };
    if clean.is_empty() {
        let _ = writeln!(
            s,
            "- Across the {} conditions with faults ({names}), no setting was judged free of violations in every one{left_out}.",
            with_faults.len()
        );
    } else {
        let _ = writeln!(
            s,
            "- Across the {} conditions with faults ({names}), no violation observed in every one, with at least {min_events} fault events each: {}{left_out}.",
            with_faults.len(),
            clean.join("; ")
        );
    }
}

/// Not exposed: so that 0 is not read as safe.
fn unexposed_cells(s: &mut String, m: &Model) {
    let unexposed: Vec<&CellView> = m
        .cells
        .iter()
        .filter(|c| c.measured().is_some_and(|x| !x.exposed()))
        .collect();
    if unexposed.is_empty() {
        return;
    }
    let mut by_fault = Vec::new();
    for f in &m.fault_profiles {
        let here: Vec<&&CellView> = unexposed.iter().filter(|c| c.faults == *f).collect();
        if here.is_empty() {
            continue;
        }
        let total = m.measured_in(f).count();
        if here.len() == total {
            by_fault.push(format!("all {total} under `{f}`"));
        } else {
            let names: Vec<String> = here.iter().map(|c| setting_text(&c.settings)).collect();
            by_fault.push(format!("under `{f}`: {}", names.join("; ")));
        }
    }
    let _ = writeln!(
        s,
        "- {} measured cell{} saw no fault ({}): their zero violations are not evidence of ordering under faults.",
        unexposed.len(),
        plural(unexposed.len()),
        by_fault.join("; ")
    );
}

/// Rejected, grouped by the client's message.
fn rejected_cells(s: &mut String, m: &Model) {
    let mut messages: Vec<(&str, Vec<ProducerSettings>)> = Vec::new();
    for c in &m.cells {
        if let State::Rejected { message, .. } = &c.state {
            match messages
                .iter_mut()
                .find(|(msg, _)| *msg == message.as_str())
            {
                Some((_, v)) => {
                    if !v.contains(&c.settings) {
                        v.push(c.settings)
                    }
                }
                None => messages.push((message, vec![c.settings])),
            }
        }
    }
    for (msg, settings) in &messages {
        let n = m.count(|c| matches!(&c.state, State::Rejected { message, .. } if message == msg));
        let names: Vec<String> = settings.iter().map(setting_text).collect();
        let _ = writeln!(
            s,
            "- {n} cell{} rejected by the client with \"{}\": {}.",
            plural(n),
            markup::cell(msg),
            names.join("; ")
        );
    }
}

/// The cells that failed to measure, each with its message.
fn failed_cells(s: &mut String, m: &Model) {
    for c in &m.cells {
        if let State::Failed { message, .. } = &c.state {
            let _ = writeln!(
                s,
                "- {} under `{}` failed: {}",
                setting_text(&c.settings),
                c.faults,
                markup::cell(message)
            );
        }
    }
}
