//! `## What to set, from this run`: the article's decision tree answered
//! per client and round trip with this run's cells. For an order-critical
//! stream: whether idempotence kept order under every fault here, what it
//! costs and what in-flight buys it; without idempotence: how likely
//! disorder is per fault event and how deep it goes; for a throughput-first
//! stream: what each step of in-flight buys. A difference is named only
//! where the two cells' 95% intervals separate; machine-bound and qualified
//! cells are left out (see [`Meas::judged`]).

use std::fmt::Write as _;

use crate::grid::{Acks, ProducerSettings};

use super::conclusion::Judged;
use super::fmt;
use super::model::{setting_text, CellView, Judgement, Meas, Model};

pub(super) fn decision_section(s: &mut String, m: &Model) {
    let min_events = m.results.run.workload.fixed.min_events;
    // (client, client RTT, replication RTT), in the order the run has them.
    let mut groups: Vec<(String, u64, u64)> = Vec::new();
    for c in &m.cells {
        let key = (
            c.result.client.to_string(),
            c.rtt_us,
            c.result.network.replication_rtt_us,
        );
        if !groups.contains(&key) {
            groups.push(key);
        }
    }
    let mut body = String::new();
    for (client, rtt, replication) in &groups {
        let cells: Vec<Judged> = m
            .cells
            .iter()
            .filter(|c| {
                c.result.client.to_string() == *client
                    && c.rtt_us == *rtt
                    && c.result.network.replication_rtt_us == *replication
            })
            .filter_map(|c| c.measured().map(|x| (c, x)))
            .filter(|(_, x)| x.judged())
            .collect();
        if cells.is_empty() {
            continue;
        }
        let version = if client == "librdkafka" {
            format!(" {}", m.results.run.librdkafka_version)
        } else {
            String::new()
        };
        let _ = writeln!(
            body,
            "\n### {client}{version} · RTT {} (replication {})\n",
            crate::grid::fmt_rtt(*rtt),
            if *replication == 0 {
                "not emulated".to_string()
            } else {
                format!("RTT {}", crate::grid::fmt_rtt(*replication))
            }
        );
        order_critical(&mut body, &cells, min_events);
        without_idempotence(&mut body, &cells);
        throughput_first(&mut body, &cells);
    }
    if body.is_empty() {
        return;
    }
    s.push_str("\n## What to set, from this run\n\nThe article's decision tree, answered per client and round trip by this run's cells (machine-bound and qualified cells left out). \"×1.9\" compares two cells' throughputs and is written only where their 95% intervals separate; otherwise the run cannot tell them apart and says so. Fault evidence is counted in fault events, not records.\n");
    s.push_str(&body);
}

/// Whether two cells' 95% intervals separate.
fn separate(a: &Meas, b: &Meas) -> bool {
    a.ci_low > b.ci_high || b.ci_low > a.ci_high
}

/// `×1.93 (700 vs 363 records/s)` when the intervals separate, else
/// `no difference this run can tell (700 vs 690 records/s, intervals overlap)`.
fn ratio_text(to: &Meas, from: &Meas) -> String {
    let figures = format!("{} vs {} records/s", fmt::rate(to.rps), fmt::rate(from.rps));
    if separate(to, from) {
        format!("×{} ({figures})", fmt::sig3(to.rps / from.rps))
    } else {
        format!("no difference this run can tell ({figures}, intervals overlap)")
    }
}

/// The fastest no-fault cell among `cells` matching `pick`.
fn fastest<'m, 'a>(
    cells: &[Judged<'m, 'a>],
    pick: impl Fn(&ProducerSettings) -> bool,
) -> Option<Judged<'m, 'a>> {
    cells
        .iter()
        .filter(|(c, _)| c.result.faults.is_none() && pick(&c.settings))
        .max_by(|a, b| a.1.rps.total_cmp(&b.1.rps))
        .copied()
}

/// The no-fault cell of exactly `settings`.
fn no_fault<'m, 'a>(
    cells: &[Judged<'m, 'a>],
    settings: ProducerSettings,
) -> Option<Judged<'m, 'a>> {
    cells
        .iter()
        .find(|(c, _)| c.result.faults.is_none() && c.settings == settings)
        .copied()
}

/// The fault profiles (not `none`) the group's cells ran under, in order.
fn fault_profiles(cells: &[Judged]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (c, _) in cells {
        let p = c.result.faults.to_string();
        if !c.result.faults.is_none() && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Idempotence on: the evidence per setting across the fault profiles,
/// what idempotence costs against the fastest non-idempotent `acks=all`
/// cell, and what in-flight buys it, all without faults.
fn order_critical(s: &mut String, cells: &[Judged], min_events: u64) {
    let mut idem: Vec<ProducerSettings> = Vec::new();
    for (c, _) in cells {
        if c.settings.idempotence && !idem.contains(&c.settings) {
            idem.push(c.settings);
        }
    }
    idem.sort_by_key(|x| x.max_in_flight);
    if idem.is_empty() {
        s.push_str(
            "- **Order-critical stream (idempotence on)**: no idempotent cell measured here.\n",
        );
        return;
    }
    s.push_str("- **Order-critical stream (idempotence on)**:\n");
    let profiles = fault_profiles(cells);
    for settings in &idem {
        let evidence: Vec<String> = profiles
            .iter()
            .filter_map(|p| {
                let (_, x) = cells
                    .iter()
                    .find(|(c, _)| c.settings == *settings && c.result.faults.to_string() == *p)?;
                Some(match x.judgement(min_events) {
                    Judgement::Violations => format!(
                        "`{p}`: **violated ordering** ({} reorders, {} log duplicates, {} losses)",
                        fmt::int(x.reorders),
                        fmt::int(x.duplicates),
                        fmt::int(x.losses)
                    ),
                    Judgement::NoViolation { events, bound } => format!(
                        "`{p}`: none in {} events (< {} per event)",
                        fmt::int(events),
                        fmt::pct(bound * 100.0)
                    ),
                    Judgement::TooFew { events } => format!(
                        "`{p}`: none in {} events, too few to judge",
                        fmt::int(events)
                    ),
                })
            })
            .collect();
        if !evidence.is_empty() {
            let _ = writeln!(
                s,
                "  - {}: {}.",
                setting_text(settings),
                evidence.join("; ")
            );
        }
    }
    let best_idem = fastest(cells, |x| x.idempotence);
    let best_plain = fastest(cells, |x| !x.idempotence && x.acks == Acks::All);
    if let (Some((ci, xi)), Some((cp, xp))) = (best_idem, best_plain) {
        let _ = writeln!(
            s,
            "  - What it costs, without faults: the fastest idempotent setting ({}) against the fastest non-idempotent `acks=all` one ({}): {}{}.",
            setting_text(&ci.settings),
            setting_text(&cp.settings),
            ratio_text(xi, xp),
            match (xi.client_cpu, xp.client_cpu) {
                (Some((a, _)), Some((b, _))) => format!(
                    "; the client's CPU, {} against {} µs per record",
                    fmt::sig3(a),
                    fmt::sig3(b)
                ),
                _ => String::new(),
            }
        );
    }
    let steps = in_flight_steps(cells, Acks::All, true);
    if !steps.is_empty() {
        let _ = writeln!(s, "  - What in-flight buys it: {}.", steps.join("; "));
    }
}

/// Idempotence off: per fault profile and in-flight, the share of fault
/// events that reordered, how deep (requests overtaking, median and
/// maximum over the events), and the events that left a log duplicate or a
/// loss.
fn without_idempotence(s: &mut String, cells: &[Judged]) {
    let profiles = fault_profiles(cells);
    let mut lines = Vec::new();
    for p in &profiles {
        let mut plain: Vec<&Judged> = cells
            .iter()
            .filter(|(c, _)| !c.settings.idempotence && c.result.faults.to_string() == *p)
            .collect();
        plain.sort_by_key(|(c, _)| (c.settings.acks != Acks::All, c.settings.max_in_flight));
        let parts: Vec<String> = plain
            .iter()
            .filter_map(|(c, _)| {
                Some(format!(
                    "in-flight {}{}: {}",
                    c.settings.max_in_flight,
                    if c.settings.acks == Acks::All {
                        String::new()
                    } else {
                        format!(" (acks={})", c.settings.acks)
                    },
                    event_summary(c)?
                ))
            })
            .collect();
        if !parts.is_empty() {
            lines.push(format!("  - `{p}`: {}.", parts.join("; ")));
        }
    }
    if lines.is_empty() {
        return;
    }
    s.push_str("- **Without idempotence**, per fault event:\n");
    for l in lines {
        let _ = writeln!(s, "{l}");
    }
}

/// What a cell's fault events did: `12 of 20 events reordered, overtaken
/// by 4 requests (median; at most 9), 3 left log duplicates`; `None`
/// without fault events.
fn event_summary(c: &CellView) -> Option<String> {
    let outcomes = &c.result.measurement()?.verdict.event_outcomes;
    if outcomes.is_empty() {
        return None;
    }
    let n = outcomes.len() as u64;
    let count = |f: &dyn Fn(&crate::verify::EventOutcome) -> bool| {
        outcomes.iter().filter(|e| f(e)).count() as u64
    };
    let reordered = count(&|e| e.reorders > 0);
    let duplicated = count(&|e| e.log_duplicates > 0);
    let lost = count(&|e| e.losses > 0);
    let mut depth: Vec<f64> = outcomes
        .iter()
        .filter_map(|e| e.depth.as_ref())
        .map(|d| d.requests_overtaking as f64)
        .collect();
    depth.sort_by(f64::total_cmp);
    let mut text = format!(
        "{} of {} events reordered",
        fmt::int(reordered),
        fmt::int(n)
    );
    if let Some(max) = depth.last() {
        let median = crate::stats::median(&depth);
        let _ = write!(
            text,
            ", overtaken by {} request{} (median; at most {})",
            fmt::sig3(median),
            if median == 1.0 { "" } else { "s" },
            fmt::sig3(*max)
        );
    }
    if duplicated > 0 {
        let _ = write!(text, ", {} left log duplicates", fmt::int(duplicated));
    }
    if lost > 0 {
        let _ = write!(text, ", {} lost records", fmt::int(lost));
    }
    Some(text)
}

/// `## The article's experiment`, for a run in bursts (`burst_records`):
/// per client and setting, what the fault events did to each burst.
pub(super) fn article_section(s: &mut String, m: &Model) {
    let burst = m.results.run.workload.fixed.burst_records;
    if burst == 0 {
        return;
    }
    let mut lines = Vec::new();
    for c in &m.cells {
        let Some(x) = c.measured() else {
            continue;
        };
        let what = match event_summary(c) {
            Some(events) => events,
            None if c.result.faults.is_none() => format!(
                "no faults: {} reorders, {} log duplicates, {} losses",
                fmt::int(x.reorders),
                fmt::int(x.duplicates),
                fmt::int(x.losses)
            ),
            None => continue,
        };
        lines.push(format!(
            "- {} · `{}` · {}: {what}; {} records/s (95% CI {}–{}).",
            c.result.client,
            c.result.faults,
            setting_text(&c.settings),
            fmt::rate(x.rps),
            fmt::rate(x.ci_low),
            fmt::rate(x.ci_high)
        ));
    }
    // One line per refused setting, whatever the fault profiles.
    let mut rejected: Vec<String> = Vec::new();
    for c in &m.cells {
        if let super::model::State::Rejected { message, .. } = &c.state {
            let line = format!(
                "- {} · {}: refused by the client: \"{message}\".",
                c.result.client,
                setting_text(&c.settings)
            );
            if !rejected.contains(&line) {
                rejected.push(line);
            }
        }
    }
    let _ = write!(
        s,
        "\n## The article's experiment\n\nThe producer sends bursts of {} records to one partition (what one key gives with the default partitioner) and waits until every record of a burst is acknowledged before it sends the next, with retries on. A fault event refuses (or loses the answer to) one request of a burst; the requests of the same burst already sent or built behind it can overtake it, the next burst cannot. Per cell, what the fault events did:\n\n",
        fmt::int(burst)
    );
    for l in lines.iter().chain(rejected.iter()) {
        let _ = writeln!(s, "{l}");
    }
    let shows = article_shows(m);
    if !shows.is_empty() {
        s.push_str(
            "\nWhat it shows, per client (fault events of every fault profile together):\n\n",
        );
        for l in shows {
            let _ = writeln!(s, "{l}");
        }
    }
}

/// The article's claim against the run, per client: whether a
/// non-idempotent setting at in-flight 5 or below kept order through the
/// fault events (the article says it does), and what idempotence did.
fn article_shows(m: &Model) -> Vec<String> {
    let min_events = m.results.run.workload.fixed.min_events;
    let mut clients: Vec<String> = Vec::new();
    for c in &m.cells {
        let client = c.result.client.to_string();
        if !clients.contains(&client) {
            clients.push(client);
        }
    }
    let mut out = Vec::new();
    for client in &clients {
        // (events, events that reordered) per (in-flight, idempotence).
        let mut tally: Vec<((u32, bool), (u64, u64))> = Vec::new();
        for c in m
            .cells
            .iter()
            .filter(|c| c.result.client.to_string() == *client)
        {
            let Some(outcomes) = c.result.measurement().map(|x| &x.verdict.event_outcomes) else {
                continue;
            };
            if outcomes.is_empty() {
                continue;
            }
            let key = (c.settings.max_in_flight, c.settings.idempotence);
            let reordered = outcomes.iter().filter(|e| e.reorders > 0).count() as u64;
            match tally.iter_mut().find(|(k, _)| *k == key) {
                Some((_, (n, r))) => {
                    *n += outcomes.len() as u64;
                    *r += reordered;
                }
                None => tally.push((key, (outcomes.len() as u64, reordered))),
            }
        }
        tally.sort_by_key(|(k, _)| *k);
        let share = |idem: bool| -> Vec<String> {
            tally
                .iter()
                .filter(|((_, i), _)| *i == idem)
                .map(|((f, _), (n, r))| {
                    format!(
                        "in-flight {f}: {} of {} events reordered",
                        fmt::int(*r),
                        fmt::int(*n)
                    )
                })
                .collect()
        };
        let plain = share(false);
        if plain.is_empty() {
            continue;
        }
        let low_reordered = tally
            .iter()
            .any(|((f, i), (_, r))| !*i && *f <= 5 && *r > 0);
        let verdict = if low_reordered {
            "in-flight 5 or below did not keep order when a request was refused"
        } else {
            "no reorder at in-flight 5 or below in these events"
        };
        let idem: Vec<String> = tally
            .iter()
            .filter(|((_, i), _)| *i)
            .map(|((f, _), (n, r))| {
                if *r > 0 {
                    format!(
                        "in-flight {f}: {} of {} events reordered",
                        fmt::int(*r),
                        fmt::int(*n)
                    )
                } else if *n >= min_events.max(1) {
                    format!(
                        "in-flight {f}: none in {} events (< {} per event)",
                        fmt::int(*n),
                        fmt::pct(crate::stats::upper_bound_per_event(*n, 0.95) * 100.0)
                    )
                } else {
                    format!(
                        "in-flight {f}: none in {} events, too few to judge",
                        fmt::int(*n)
                    )
                }
            })
            .collect();
        let mut line = format!(
            "- **{client}**: without idempotence, {}: {verdict}.",
            plain.join("; ")
        );
        if !idem.is_empty() {
            let _ = write!(line, " With idempotence, {}.", idem.join("; "));
        }
        out.push(line);
    }
    out
}

/// Without faults: what each step of in-flight buys, per `acks`, without
/// idempotence.
fn throughput_first(s: &mut String, cells: &[Judged]) {
    let mut acks: Vec<Acks> = Vec::new();
    for (c, _) in cells {
        if !c.settings.idempotence && !acks.contains(&c.settings.acks) {
            acks.push(c.settings.acks);
        }
    }
    let parts: Vec<String> = acks
        .iter()
        .filter_map(|&a| {
            let steps = in_flight_steps(cells, a, false);
            (!steps.is_empty()).then(|| format!("acks={a}: {}", steps.join("; ")))
        })
        .collect();
    if !parts.is_empty() {
        let _ = writeln!(
            s,
            "- **Throughput-first stream** (no idempotence, no faults), what each step of in-flight buys: {}.",
            parts.join(". ")
        );
    }
}

/// `in-flight 1 → 5: ×1.9 (…)` for each step between the no-fault cells of
/// one `acks` and idempotence, by ascending in-flight.
fn in_flight_steps(cells: &[Judged], acks: Acks, idempotence: bool) -> Vec<String> {
    let mut in_flights: Vec<u32> = cells
        .iter()
        .filter(|(c, _)| {
            c.result.faults.is_none()
                && c.settings.acks == acks
                && c.settings.idempotence == idempotence
        })
        .map(|(c, _)| c.settings.max_in_flight)
        .collect();
    in_flights.sort_unstable();
    in_flights.dedup();
    in_flights
        .windows(2)
        .filter_map(|w| {
            let at = |f| {
                no_fault(
                    cells,
                    ProducerSettings {
                        max_in_flight: f,
                        acks,
                        idempotence,
                    },
                )
            };
            let ((_, from), (_, to)) = (at(w[0])?, at(w[1])?);
            Some(format!(
                "in-flight {} → {}: {}",
                w[0],
                w[1],
                ratio_text(to, from)
            ))
        })
        .collect()
}
