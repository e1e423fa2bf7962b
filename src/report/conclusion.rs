//! The conclusion of REPORT.md: per fault profile, the fastest setting with
//! no violation observed (with enough fault events to say so), the settings
//! that violated ordering, and what held across profiles.

use crate::grid::ProducerSettings;
use std::fmt::Write as _;

use super::model::{setting_text, CellView, Judgement, Meas, Model, State};

use super::{fmt, markup};

use super::markdown::{b, kinds_text, plural, rate_ci};

/// A measured cell with its figures.
type Judged<'m, 'a> = (&'m CellView<'a>, &'m Meas);

pub(super) fn conclusion(s: &mut String, m: &Model) {
    conclusion_with(s, m, m.results.run.workload.fixed.min_events);
}

/// The conclusion with `min_events` fault events required before a cell is
/// called free of violations (the workload's `min_events`).
pub(super) fn conclusion_with(s: &mut String, m: &Model, min_events: u64) {
    for faults in &m.fault_profiles {
        profile_conclusion(s, m, faults, min_events);
    }
    if m.fault_profiles.len() > 1 {
        across_profiles(s, m, min_events);
    }
    unexposed_cells(s, m);
    rejected_cells(s, m);
    failed_cells(s, m);
}

/// The bullet of one fault profile: how many cells were measured and
/// exposed, the fastest setting judged free of violations, the zeros on too
/// few faults, and the settings that violated ordering.
fn profile_conclusion(s: &mut String, m: &Model, faults: &str, min_events: u64) {
    let cells: Vec<Judged> = m.judged_in(faults).collect();
    let qualified = m.measured_in(faults).count() - cells.len();
    if cells.is_empty() {
        let _ = writeln!(
            s,
            "- Under faults `{faults}`, no cell was measured{}.",
            if qualified > 0 {
                format!(
                    " on a healthy cluster and a quiet machine ({qualified} qualified, see below)"
                )
            } else {
                String::new()
            }
        );
        return;
    }
    let fastest = cells
        .iter()
        .copied()
        .max_by(|a, b| a.1.rps.total_cmp(&b.1.rps))
        .expect("non-empty");
    let exposed = cells.iter().filter(|(_, x)| x.exposed()).count();
    let _ = write!(
        s,
        "- Under faults `{faults}` ({} measured{}, {exposed} exposed to faults): ",
        cells.len() + qualified,
        if qualified > 0 {
            format!(", {qualified} qualified and left out")
        } else {
            String::new()
        }
    );
    fastest_judged_clean(s, &cells, fastest, exposed, min_events);
    too_few_to_judge(s, &cells, min_events);
    s.push('\n');
    violators(s, &cells, faults);
}

/// The sentence on the fastest setting with no violation observed, or why
/// there is none.
fn fastest_judged_clean(
    s: &mut String,
    cells: &[Judged],
    fastest: Judged,
    exposed: usize,
    min_events: u64,
) {
    // "No violation observed" only with enough fault events to mean it.
    let judged_clean = cells
        .iter()
        .copied()
        .filter(|(_, x)| {
            x.exposed() && matches!(x.judgement(min_events), Judgement::NoViolation { .. })
        })
        .max_by(|a, b| a.1.rps.total_cmp(&b.1.rps));
    match judged_clean {
        Some(judged) => {
            judged_clean_sentence(s, judged, min_events);
            fastest_overall_sentence(s, judged, fastest, min_events);
        }
        None => {
            if exposed == 0 {
                let (fc, fx) = fastest;
                let _ = write!(
                    s,
                    "no fault reached any cell, so the zeros here say nothing about ordering under faults. The fastest setting was {} at {}.",
                    b(&fc.settings),
                    rate_ci(fx)
                );
            } else {
                let _ = write!(
                    s,
                    "no setting is judged free of violations under these faults: each either violated ordering or saw fewer than {min_events} fault events."
                );
            }
        }
    }
}

/// The fastest judged-clean cell, its throughput and the evidence behind the judgement.
fn judged_clean_sentence(s: &mut String, (c, x): Judged, min_events: u64) {
    let Judgement::NoViolation { events, bound } = x.judgement(min_events) else {
        unreachable!("judged free of violations by the caller")
    };
    let _ = write!(
        s,
        "the fastest setting with no violation observed is {} at {}: {} fault events, so the probability that a fault causes a violation is below {} per event (95%); {} records checked (a rate below {} per million at this fault rate).",
        b(&c.settings),
        rate_ci(x),
        fmt::int(events),
        fmt::pct(bound * 100.0),
        fmt::int(x.checked),
        x.upper_bound_pm().map(fmt::sig3).unwrap_or_else(|| "n/a".into()),
    );
}

/// The fastest cell overall beside the judged one: what choosing the judged
/// one costs, and whether the difference is within the intervals.
fn fastest_overall_sentence(s: &mut String, (c, x): Judged, fastest: Judged, min_events: u64) {
    if std::ptr::eq(c.result, fastest.0.result) {
        let _ = write!(s, " It is also the fastest setting measured.");
        return;
    }
    let (fc, fx) = fastest;
    let cost = (fx.rps - x.rps) / fx.rps * 100.0;
    let overlap = x.ci_high >= fx.ci_low;
    let _ = write!(
        s,
        " The fastest setting overall is {} at {}{}; choosing the judged one costs {} of throughput{}.",
        b(&fc.settings),
        rate_ci(fx),
        match fx.judgement(min_events) {
            Judgement::Violations => format!(
                ", with {} violations per million",
                fmt::sig3(fx.violations_pm())
            ),
            Judgement::TooFew { events } => format!(
                ", with zero violations but too few faults to judge ({events} events)"
            ),
            Judgement::NoViolation { .. } => String::new(),
        },
        fmt::pct(cost),
        if overlap {
            ", a difference within the two cells' 95% confidence intervals"
        } else {
            ", outside the two cells' 95% confidence intervals"
        }
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

/// Across fault profiles: the fastest setting clean in every one.
fn across_profiles(s: &mut String, m: &Model, min_events: u64) {
    match fastest_clean_everywhere(m, min_events) {
        Some((st, slowest)) => {
            let _ = writeln!(
                s,
                "- Across all {} fault profiles, the fastest setting with no violation observed in every one (at least {min_events} fault events wherever faults reached it) is {} (its lowest throughput over the profiles: {} records/s).",
                m.fault_profiles.len(),
                b(&st),
                fmt::rate(slowest)
            );
        }
        None => {
            let _ = writeln!(
                s,
                "- No setting was measured with zero violations under every one of the {} fault profiles while exposed to faults in at least one.",
                m.fault_profiles.len()
            );
        }
    }
}

/// The setting measured without a violation under every fault profile,
/// exposed to faults in at least one and with enough events wherever
/// exposed, whose lowest throughput over the profiles is highest; with that
/// throughput.
fn fastest_clean_everywhere(m: &Model, min_events: u64) -> Option<(ProducerSettings, f64)> {
    let mut settings: Vec<ProducerSettings> = m.cells.iter().map(|c| c.settings).collect();
    settings.sort();
    settings.dedup();
    let mut best: Option<(ProducerSettings, f64)> = None;
    for st in settings {
        let per: Vec<Option<&Meas>> = m
            .fault_profiles
            .iter()
            .map(|f| m.cell(&st, f).and_then(|c| c.measured()))
            .collect();
        if per.iter().any(|x| x.map_or(true, |x| x.violations() > 0)) {
            continue;
        }
        // A zero on too few faults is no evidence in any profile.
        if per
            .iter()
            .flatten()
            .any(|x| x.exposed() && matches!(x.judgement(min_events), Judgement::TooFew { .. }))
        {
            continue;
        }
        let per: Vec<&Meas> = per.into_iter().flatten().collect();
        let slowest = per.iter().map(|x| x.rps).fold(f64::INFINITY, f64::min);
        let exposed = per.iter().any(|x| x.exposed());
        if exposed && best.map_or(true, |(_, r)| slowest > r) {
            best = Some((st, slowest));
        }
    }
    best
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
