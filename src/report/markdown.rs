//! `REPORT.md`: the design-review summary. Every sentence is built from the
//! results; a run that found nothing says so in its own numbers.

use std::fmt::Write as _;

use crate::grid::Fixed;
use crate::results::MachineMeta;

use super::conclusion::conclusion;
use super::model::{CellView, Judgement, Meas, Model, State};
use super::network::network_section;
use super::profiles_chart::{profile_cells, violations_text};
use super::text::{fixed_load_cells, plural};
use super::{fmt, markup};

/// The chart files REPORT.md embeds, with their alt text.
pub const CHARTS: [(&str, &str); 6] = [
    ("tradeoff.svg", "Throughput against ordering violations"),
    ("throughput.svg", "Throughput against max.in.flight"),
    ("latency.svg", "Latency against max.in.flight"),
    ("violations.svg", "Violations per million by setting"),
    ("profiles.svg", "Industry profiles on the measurements"),
    ("cpu.svg", "Client CPU per record against max.in.flight"),
];

pub fn render(m: &Model) -> String {
    let mut s = String::new();
    let r = m.results;
    let run = &r.run;
    let _ = writeln!(s, "# kafka-order-bench report: run {}\n", run.run_id);
    if run.cluster.kind == crate::results::ClusterKind::Mock {
        s.push_str("> **Not a result: this run is on librdkafka's mock cluster**, a test fixture that ignores `acks` and does not check idempotent sequences. Its throughput, latency and verdicts test the suite, not Kafka.\n\n");
    }
    let measured = m.count(|c| c.measured().is_some());
    let rejected = m.count(|c| matches!(c.state, State::Rejected { .. }));
    let failed = m.count(|c| matches!(c.state, State::Failed { .. }));
    let planned = run.workload.cells().len();
    let _ = writeln!(
        s,
        "{} cells under {} fault profile{} ({}): {measured} measured, {rejected} rejected by the client, {failed} failed.{}\n",
        m.cells.len(),
        m.fault_profiles.len(),
        plural(m.fault_profiles.len()),
        m.fault_profiles.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", "),
        if r.complete {
            String::new()
        } else {
            format!(
                " **The run is incomplete**: {} of {planned} planned cells have a result.",
                m.cells.len()
            )
        }
    );

    s.push_str("## Conclusion\n\n");
    conclusion(&mut s, m);
    qualified_section(&mut s, m);
    super::depth::depth_section(&mut s, m);
    super::decision::decision_section(&mut s, m);
    super::decision::article_section(&mut s, m);
    super::caveats::mechanisms(&mut s, m);
    super::caveats::limits(&mut s, m);

    s.push_str("\n## Across the network\n\n");
    network_section(&mut s, m);

    s.push_str("\n## Charts\n\n");
    for (file, alt) in CHARTS {
        let _ = writeln!(s, "![{alt}]({file})\n");
    }

    s.push_str("## Environment\n\n");
    environment(&mut s, m);

    s.push_str("\n## Every cell\n\n");
    cell_table(&mut s, m);

    s.push_str("\n## Industry profiles\n\n");
    profile_table(&mut s, m);

    s.push_str("\n## Terms\n\n");
    s.push_str(
        "- **Violation**: a reorder (a record read after a higher sequence number of its stream), a log duplicate (one record stored at two offsets) or a loss (a record the client reported delivered that is not in the log). Per million records checked.\n\
         - **Exposure**: faults injected into the cell and retries the client made. A cell no fault reached is *not exposed*: its 0 says nothing about ordering under faults.\n\
         - **Per-event bound**: a cell's violations come in bursts, one per fault, so the faults are the trials: with no violation after n fault events, the probability that a fault causes a violation is below 1 − 0.05^(1/n) (≈ 3/n) at 95%. A cell is called *no violation observed* only with at least `min_events` events; below that it is *too few faults to judge*. Records are not the trials (one fault touches a batch or a window of records together), so no bound is given per record; violations per million records is a descriptive rate at this run's fault schedule.\n\
         - **Machine-bound**: a cell with no emulated round trip on any link, or whose machine was at least 90% busy (all cores) in its median round. Its figure measures the machine (the brokers, the proxy and the client sharing its cores), not the setting: it is shown, but never ranked, put on a frontier, named in a conclusion or compared between runs.\n\
         - **Qualified**: a cell measured while a broker was down (not by its own faults) or while other processes loaded the machine beyond its cores; shown, flagged, and left out of every conclusion.\n\
         - **Tie**: settings whose 95% throughput intervals overlap the fastest's. A setting is named the fastest only when its interval separates from the runner-up's.\n\
         - **Rejected**: the client refused the configuration when the producer was created; its message is quoted.\n",
    );
    s
}

fn environment(s: &mut String, m: &Model) {
    let run = &m.results.run;
    let w = &run.workload;
    let rows: Vec<(&str, String)> = vec![
        (
            "Run",
            format!(
                "`{}`, started {} by the {} driver",
                run.run_id, run.started_at, run.driver
            ),
        ),
        (
            "Client",
            format!(
                "librdkafka {} (rdkafka crate {})",
                run.librdkafka_version, run.rdkafka_crate_version
            ),
        ),
        (
            "Broker",
            format!(
                "Apache Kafka {}, {} broker{}, {} cluster",
                run.cluster
                    .broker_version
                    .as_deref()
                    .unwrap_or("(version unknown)"),
                run.cluster.brokers,
                plural(run.cluster.brokers as usize),
                run.cluster.kind
            ),
        ),
        ("Machine", machine_text(&run.machine)),
        (
            "Tool",
            format!(
                "kafka-order-bench {}{}",
                run.tool_version,
                run.git_revision
                    .as_deref()
                    .map(|g| format!(" at `{g}`"))
                    .unwrap_or_default()
            ),
        ),
        ("Seed", w.seed.to_string()),
        ("Workload", workload_text(&w.fixed)),
        (
            "Grid",
            format!(
                "max.in.flight {:?}, acks {}, idempotence {:?}, faults {}",
                w.axes.max_in_flight,
                w.axes
                    .acks
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join("/"),
                w.axes.idempotence,
                w.faults
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    ];
    s.push_str("| | |\n|---|---|\n");
    for (k, v) in rows {
        let _ = writeln!(s, "| {k} | {} |", markup::cell(&v));
    }
}

/// `linux x86_64, <CPU>, 8 cores, 15.6 GiB memory`.
fn machine_text(machine: &MachineMeta) -> String {
    format!(
        "{} {}, {}, {} cores{}",
        machine.os,
        machine.arch,
        machine.cpu_model.as_deref().unwrap_or("CPU unknown"),
        machine.cores,
        machine
            .memory_bytes
            .map(|b| format!(", {} GiB memory", fmt::sig3(b as f64 / (1u64 << 30) as f64)))
            .unwrap_or_default()
    )
}

/// The fixed part of the workload: rounds, windows, record size, producer
/// settings and the fixed-load phase.
fn workload_text(f: &Fixed) -> String {
    format!(
        "{} interleaved rounds of {} windows per cell (window: {}–{} records, sized for {} ms at the model ceiling){} after {} warm-up records or a round's worth, whichever is more; {} bytes per record; linger.ms={}, batch.size={} bytes, compression={}; {} partition{} per topic{}; latency at a fixed load: {}; message.timeout.ms={}",
        f.rounds,
        f.windows,
        fmt::int(f.min_records_per_window),
        fmt::int(f.max_records_per_window),
        f.window_ms,
        if f.burst_records > 0 {
            format!(
                ", sent in bursts of {} records, each acknowledged before the next",
                fmt::int(f.burst_records)
            )
        } else {
            String::new()
        },
        fmt::int(f.warmup_records),
        fmt::int(f.record_bytes as u64),
        f.linger_ms,
        fmt::int(f.batch_bytes as u64),
        f.compression.as_config(),
        f.partitions,
        plural(f.partitions as usize),
        super::text::producers_and_keys(f),
        fixed_load_text(f),
        f.message_timeout_ms
    )
}

/// How the fixed-load latency phase was run: `off`, at a share of the
/// slowest cell's throughput, or at a given rate.
fn fixed_load_text(f: &Fixed) -> String {
    if f.latency_ms == 0 {
        "off".to_string()
    } else if f.rate_per_sec == 0 {
        format!(
            "{} ms per cell at {:.0}% of the slowest cell's throughput at its RTT",
            f.latency_ms,
            100.0 * f.latency_rate_fraction
        )
    } else {
        format!(
            "{} ms per cell at {} records/s",
            f.latency_ms,
            fmt::int(f.rate_per_sec)
        )
    }
}

/// The cells whose figures are qualified (a degraded cluster, a loaded
/// machine), each with why; the conclusion above leaves them out.
fn qualified_section(s: &mut String, m: &Model) {
    let qualified: Vec<(&CellView, &str)> = m
        .cells
        .iter()
        .filter_map(|c| Some((c, c.measured()?.qualified.as_deref()?)))
        .collect();
    if qualified.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "\n**{} cell{} measured under qualified conditions**, shown in the charts and tables but left out of the conclusion above:\n",
        qualified.len(),
        plural(qualified.len())
    );
    for (c, why) in qualified {
        let _ = writeln!(s, "- `{}`: {}", c.result.id, markup::cell(why));
    }
}

fn cell_table(s: &mut String, m: &Model) {
    let min_events = m.results.run.workload.fixed.min_events;
    s.push_str("| max.in.flight | acks | idempotence | faults | outcome | records/s (95% CI) | fixed-load p50 ms | p99 ms | p99.9 ms | reorders | log duplicates | losses | violations per million | evidence per fault event | client CPU µs/record (cores; wake-ups/s) | exposure |\n");
    s.push_str("|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|\n");
    for c in &m.cells {
        let st = &c.settings;
        let head = format!(
            "| {} | {} | {} | `{}` ",
            st.max_in_flight, st.acks, st.idempotence, c.faults
        );
        let row = match &c.state {
            State::Measured(x) => {
                let v = fmt::sig3(x.violations_pm());
                let evidence = evidence_text(x, min_events);
                let resent = format!(
                    "{} records resent, {} requests re-sent whole",
                    fmt::int(x.records_resent),
                    fmt::int(x.retries)
                );
                let exposure = if x.faults_by_kind.is_empty() {
                    format!("no faults; {resent}")
                } else {
                    let k: Vec<String> = x
                        .faults_by_kind
                        .iter()
                        .map(|(k, n)| format!("{k} {}", fmt::int(*n)))
                        .collect();
                    format!("{}; {resent}", k.join(", "))
                };
                let [p50, p99, p999] = fixed_load_cells(x);
                let cpu = cpu_text(x);
                format!(
                    "| measured{}{}{} | {} ({}–{}) | {p50} | {p99} | {p999} | {} | {} | {} | {v} | {evidence} | {cpu} | {exposure} |",
                    if m.on_frontier(c) { ", on frontier" } else { "" },
                    if x.qualified.is_some() { ", **qualified**" } else { "" },
                    if x.machine_bound.is_some() { ", machine-bound" } else { "" },
                    fmt::rate(x.rps),
                    fmt::rate(x.ci_low),
                    fmt::rate(x.ci_high),
                    reorders_text(x),
                    fmt::int(x.duplicates),
                    fmt::int(x.losses),
                )
            }
            State::Rejected { message, .. } => {
                format!(
                    "| rejected: {} | | | | | | | | | | | |",
                    markup::cell(message)
                )
            }
            State::Failed { message, .. } => {
                format!(
                    "| failed: {} | | | | | | | | | | | |",
                    markup::cell(message)
                )
            }
        };
        let _ = writeln!(s, "{head}{row}");
    }
}

/// Reorders, and for keyed records the per-key ones: `620 (per key: 620;
/// 100 of 128 key × producer pairs)`.
fn reorders_text(x: &Meas) -> String {
    match x.per_key {
        None => fmt::int(x.reorders),
        Some((reorders, violating, pairs)) => format!(
            "{} (per key: {}; {} of {} key × producer pairs)",
            fmt::int(x.reorders),
            fmt::int(reorders),
            fmt::int(violating),
            fmt::int(pairs)
        ),
    }
}

/// The client's CPU per record, the cores it kept busy and librdkafka's
/// wake-ups per second: `692 (0.43; 902,917/s)`; `–` when not measured.
pub(super) fn cpu_text(x: &Meas) -> String {
    match x.client_cpu {
        None => "–".into(),
        Some((us, cores)) => {
            let wakeups = x
                .wakeups_per_sec
                .map(|w| format!("; {}/s", fmt::int(w.round() as u64)))
                .unwrap_or_default();
            format!("{} ({:.2}{wakeups})", fmt::sig3(us), cores)
        }
    }
}

/// The evidence a zero-violation cell gives, per fault event: the 95%
/// bound with its events, too few events, or no fault at all; for a cell
/// with violations, the events that caused them.
pub(super) fn evidence_text(x: &Meas, min_events: u64) -> String {
    if !x.exposed() {
        return "not exposed: no fault reached it".into();
    }
    match x.judgement(min_events) {
        Judgement::Violations => format!(
            "violations in a cell of {} fault events",
            fmt::int(x.events)
        ),
        Judgement::NoViolation { events, bound } => format!(
            "0 in {} events: < {} per event (95%)",
            fmt::int(events),
            fmt::pct(bound * 100.0)
        ),
        Judgement::TooFew { events } => format!(
            "0 in {} events: too few to judge (fewer than {min_events})",
            fmt::int(events)
        ),
    }
}

fn profile_table(s: &mut String, m: &Model) {
    let _ = writeln!(
        s,
        "Settings the seed article attributes to companies (`data/profiles.toml`), looked up in this run{}. A range of max.in.flight spans the measured cells inside it. ★: a covered cell is on its fault profile's frontier (tradeoff.svg: no other setting measured under it is at least as fast with at most as many violations, on point estimates). \"10 rejected\": the client refused that in-flight with this idempotence.\n",
        if m.profiles.iter().any(|p| p.acks.is_none()) {
            "; acks=all where the article gives none"
        } else {
            ""
        }
    );
    s.push_str("| sector | use case | company | max.in.flight | idempotence | faults | records/s | fixed-load p99 ms | violations per million |\n");
    s.push_str("|---|---|---|---:|---|---|---:|---:|---|\n");
    for p in &m.profiles {
        for f in &m.fault_profiles {
            let cells = profile_cells(m, p, f);
            let meas: Vec<&Meas> = cells.iter().filter_map(|c| c.measured()).collect();
            let span = |v: Vec<f64>, f: &dyn Fn(f64) -> String| -> String {
                if v.is_empty() {
                    return "–".into();
                }
                let lo = f(v.iter().copied().fold(f64::INFINITY, f64::min));
                let hi = f(v.iter().copied().fold(f64::NEG_INFINITY, f64::max));
                if lo == hi {
                    lo
                } else {
                    format!("{lo}–{hi}")
                }
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | `{f}` | {} | {} | {} |",
                markup::cell(&p.sector),
                markup::cell(&p.use_case),
                markup::cell(&p.company),
                p.in_flight_text(),
                p.idempotence,
                span(meas.iter().map(|x| x.rps).collect(), &fmt::rate),
                span(
                    meas.iter()
                        .filter_map(|x| x.fixed_load.as_ref()?.p99_us)
                        .map(|v| v as f64)
                        .collect(),
                    &|v| fmt::ms(v as u64)
                ),
                markup::cell(&violations_text(m, &cells)),
            );
        }
    }
}
