//! `throughput.svg` and `latency.svg`: a measure against `max.in.flight`
//! (log axis), one line per (`acks`, idempotence).

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::grid::Acks;

use super::draw::{self, Area, GRID};
use super::model::{FixedLoadView, Meas, Model, State};
use super::{fmt, ReportError};

const W: u32 = 1400;
const LEGEND_W: i32 = 360;

/// x of a `max.in.flight` value: its log10, nudged per series so error bars
/// and markers of different series at the same value stay apart.
pub(super) fn x_of(in_flight: u32, acks: Acks, idem: bool) -> f64 {
    (in_flight as f64).log10() + (draw::series_index(acks, idem) as f64 - 2.5) * 0.012
}

/// The x axis of every panel: log10 of `max.in.flight`, a tick at each value
/// of the run, padded at both ends.
pub(super) fn in_flight_axis(m: &Model) -> draw::Keyed {
    let lo = *m.in_flights.first().unwrap_or(&1) as f64;
    let hi = *m.in_flights.last().unwrap_or(&1) as f64;
    let pad = ((hi.log10() - lo.log10()) * 0.06).max(0.08);
    let keys = m.in_flights.iter().map(|v| (*v as f64).log10()).collect();
    draw::Keyed::new(lo.log10() - pad..hi.log10() + pad, keys)
}

pub(super) fn in_flight_label(x: &f64) -> String {
    format!("{}", 10f64.powf(*x).round() as u64)
}

/// What happened to the cells of a series that are not on its line.
fn series_note(m: &Model, acks: Acks, idem: bool) -> Option<String> {
    let mut rejected: Vec<u32> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    let mut failed: Vec<String> = Vec::new();
    let mut total = 0;
    for c in m
        .cells
        .iter()
        .filter(|c| c.settings.acks == acks && c.settings.idempotence == idem)
    {
        total += 1;
        match &c.state {
            State::Rejected { short, .. } => {
                if !rejected.contains(&c.settings.max_in_flight) {
                    rejected.push(c.settings.max_in_flight);
                }
                if !reasons.contains(short) {
                    reasons.push(short.clone());
                }
            }
            State::Failed { .. } => {
                failed.push(format!("{} ({})", c.settings.max_in_flight, c.faults))
            }
            State::Measured(_) => {}
        }
    }
    rejected.sort_unstable();
    // Several settings of one series can be refused for different reasons
    // (librdkafka checks max.in.flight before acks): name them all.
    reasons.sort();
    let reason = reasons
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if i == 0 {
                r.clone()
            } else {
                r.trim_start_matches("needs ").to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" or ");
    let mut parts = Vec::new();
    if !rejected.is_empty() {
        let n_rejected = m
            .cells
            .iter()
            .filter(|c| c.settings.acks == acks && c.settings.idempotence == idem)
            .filter(|c| matches!(c.state, State::Rejected { .. }))
            .count();
        if n_rejected == total {
            parts.push(format!("all rejected: {reason}"));
        } else {
            let list: Vec<String> = rejected.iter().map(u32::to_string).collect();
            parts.push(format!("rejected at {}: {reason}", list.join(", ")));
        }
    }
    if !failed.is_empty() {
        parts.push(format!("failed at {}", failed.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn legend(root: &Area, m: &Model, extra: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let (w, _) = root.dim_in_pixel();
    let lx = w as i32 - LEGEND_W + 10;
    let mut y = 95;
    draw::text(
        root,
        "Setting",
        (lx, y),
        &draw::anchored(draw::bold(18.0), HPos::Left, VPos::Center),
    )?;
    y += 28;
    let series = super::series_present(m);
    y = draw::series_legend(root, (lx, y), &series, &|a, i| series_note(m, a, i))?;
    y += 8;
    draw::legend_lines(root, (lx, y), extra, 40)?;
    Ok(())
}

/// Draws one series' line and markers; `value` picks the y of a cell.
pub(super) fn draw_series_line<DB: DrawingBackend, YC>(
    root: &Area,
    chart: &ChartContext<DB, Cartesian2d<draw::Keyed, YC>>,
    pts: &[(u32, f64, &Meas)],
    acks: Acks,
    idem: bool,
) -> Result<(), Box<dyn std::error::Error>>
where
    YC: Ranged<ValueType = f64>,
{
    let colour = draw::series_colour(acks, idem);
    let coords: Vec<(i32, i32)> = pts
        .iter()
        .map(|(f, y, _)| chart.backend_coord(&(x_of(*f, acks, idem), *y)))
        .collect();
    if coords.len() > 1 {
        root.draw(&PathElement::new(coords.clone(), colour.stroke_width(2)))?;
    }
    for (at, (_, _, x)) in coords.iter().zip(pts) {
        draw::marker(root, *at, acks, colour, x.exposed())?;
    }
    Ok(())
}

/// A chart of `rows × cols` panels left of the legend column, each panel
/// `panel_h` high: the header with `title`, the panels drawn by
/// `draw_panels` (given their areas in row order), then the legend with
/// `notes`.
pub(super) fn panels_and_legend(
    m: &Model,
    file: &'static str,
    title: &str,
    (rows, cols): (usize, usize),
    panel_h: u32,
    notes: &[String],
    draw_panels: impl FnOnce(&Area, &[Area]) -> Result<(), Box<dyn std::error::Error>>,
) -> Result<Vec<u8>, ReportError> {
    let h = 130 + rows as u32 * panel_h;
    draw::svg(file, (W, h), |root| {
        super::header(root, m, title)?;
        let (w, _) = root.dim_in_pixel();
        let body = root.margin(75, 10, 0, 0);
        let (plots, _) = body.split_horizontally(w as i32 - LEGEND_W);
        let panels = plots.split_evenly((rows, cols));
        draw_panels(root, &panels)?;
        legend(root, m, notes)
    })
}

pub fn render_throughput(m: &Model) -> Result<Vec<u8>, ReportError> {
    panels_and_legend(
        m,
        "throughput.svg",
        "Throughput vs max.in.flight, one panel per fault profile and RTT, with the model ceiling",
        draw::grid(m.fault_profiles.len()),
        500,
        &[
            format!("Marker and bar: {}.", crate::stats::THROUGHPUT_METHOD),
            match m.results.run.workload.fixed.streams() {
                1 => "Dashed: the model ceiling max.in.flight × batch ÷ ack RTT (acks=all: client + replication RTT), cut at the panel's top.".into(),
                _ if m.results.run.workload.fixed.producers == 1 => format!("Dashed: the model ceiling, {} partitions × max.in.flight × batch ÷ ack RTT (acks=all: client + replication RTT), cut at the panel's top: an upper bound that only a client packing every partition of a broker into one request can reach.", m.results.run.workload.fixed.partitions),
                s => format!("Dashed: the model ceiling, {s} streams (producers × partitions) × max.in.flight × batch ÷ ack RTT (acks=all: client + replication RTT), cut at the panel's top: an upper bound that only clients packing every partition of a broker into one request can reach."),
            },
            "Hollow marker: no fault reached the cell.".into(),
        ],
        |root, panels| {
            for (faults, area) in m.fault_profiles.iter().zip(panels.iter()) {
                throughput_panel(root, area, m, faults)?;
            }
            Ok(())
        },
    )
}

/// One condition's throughput panel: each series with its intervals, and
/// the model ceiling of each `acks` value.
fn throughput_panel(
    root: &Area,
    area: &Area,
    m: &Model,
    faults: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    // Each panel on its own scale: one wide interval in one profile
    // must not flatten the others (compare across panels by value).
    let y_max = m
        .cells
        .iter()
        .filter(|c| c.faults == faults)
        .filter_map(|c| c.measured())
        .map(|x| x.ci_high.max(x.rps))
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.08;
    // A run of several clients prefixes the condition with the client.
    let title = m
        .cells
        .iter()
        .find(|c| c.faults == faults)
        .and_then(|c| {
            let client = c.result.client.to_string();
            let rest = faults.strip_prefix(&format!("{client} · "))?;
            Some(format!("{client} · faults: {rest}"))
        })
        .unwrap_or_else(|| format!("faults: {faults}"));
    let chart = draw::throughput_chart(
        area,
        title,
        in_flight_axis(m),
        &in_flight_label,
        "max.in.flight (log scale)",
        y_max,
    )?;
    for (acks, idem) in super::series_present(m) {
        let pts = series_points(m, faults, acks, idem, |x| x.rps);
        draw_intervals(root, &chart, &pts, acks, idem)?;
        draw_series_line(root, &chart, &pts, acks, idem)?;
    }
    draw_ceilings(root, &chart, m, faults, y_max)
}

/// The 95% interval of each point's throughput: a vertical bar with caps.
fn draw_intervals(
    root: &Area,
    chart: &draw::ThroughputChart,
    pts: &[(u32, f64, &Meas)],
    acks: Acks,
    idem: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let colour = draw::series_colour(acks, idem);
    for (f, _, x) in pts {
        let xx = x_of(*f, acks, idem);
        let lo = chart.backend_coord(&(xx, x.ci_low));
        let hi = chart.backend_coord(&(xx, x.ci_high));
        let style = colour.stroke_width(1);
        root.draw(&PathElement::new(vec![lo, hi], style))?;
        root.draw(&PathElement::new(
            vec![(lo.0 - 4, lo.1), (lo.0 + 4, lo.1)],
            style,
        ))?;
        root.draw(&PathElement::new(
            vec![(hi.0 - 4, hi.1), (hi.0 + 4, hi.1)],
            style,
        ))?;
    }
    Ok(())
}

/// The model ceiling of each acks value, dashed, where the condition has a
/// round trip to wait for; cut at the panel's top `y_max`.
fn draw_ceilings(
    root: &Area,
    chart: &draw::ThroughputChart,
    m: &Model,
    faults: &str,
    y_max: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    for acks in m.acks.iter().copied() {
        let ceiling: Vec<(i32, i32)> = m
            .in_flights
            .iter()
            .filter_map(|&f| {
                let c = ceiling(m, faults, f, acks)?;
                Some(chart.backend_coord(&(x_of(f, acks, false), c.min(y_max))))
            })
            .collect();
        for pair in ceiling.windows(2).step_by(1) {
            draw::dashed(root, pair[0], pair[1], draw::series_colour(acks, false))?;
        }
    }
    Ok(())
}

/// The model ceiling of a setting under a condition, records/s: `None`
/// without a round trip to wait for.
fn ceiling(m: &Model, condition: &str, in_flight: u32, acks: Acks) -> Option<f64> {
    let view = m.cells.iter().find(|c| {
        c.faults == condition && c.settings.acks == acks && c.settings.max_in_flight == in_flight
    })?;
    let mut cell = view.result.cell()?;
    cell.settings.idempotence = false;
    let w = &m.results.run.workload;
    let mut network = w.network.clone();
    network.replication = view.result.network.replication_rtt_us > 0;
    cell.ceiling_records_per_sec(&w.fixed, &network)
}

pub(super) fn series_points<'m>(
    m: &'m Model,
    faults: &'m str,
    acks: Acks,
    idem: bool,
    value: impl Fn(&Meas) -> f64,
) -> Vec<(u32, f64, &'m Meas)> {
    let mut pts: Vec<(u32, f64, &Meas)> = m
        .measured_in(faults)
        .filter(|(c, _)| c.settings.acks == acks && c.settings.idempotence == idem)
        .map(|(c, x)| (c.settings.max_in_flight, value(x), x))
        .collect();
    pts.sort_by_key(|p| p.0);
    pts
}

/// Picks one latency quantile of a cell's fixed-load phase, in
/// microseconds; `None` when the cell had no such phase or too few records
/// to quote the quantile.
type Quantile = fn(&FixedLoadView) -> Option<u64>;

/// The quantiles of `latency.svg`, one column each (a quantile no cell has
/// the records to quote is left out).
const QUANTILES: [(&str, Quantile); 3] = [
    ("p50", |f| Some(f.p50_us)),
    ("p99", |f| f.p99_us),
    ("p99.9", |f| f.p999_us),
];

pub fn render_latency(m: &Model) -> Result<Vec<u8>, ReportError> {
    // The conditions with a fixed-load phase: the rows.
    let rows = m.conditions_with(|x| x.fixed_load.is_some());
    // The columns: the quantiles some cell has enough records to quote.
    let columns: Vec<(&str, Quantile)> = QUANTILES
        .iter()
        .copied()
        .filter(|(_, q)| {
            rows.iter().any(|faults| {
                m.measured_in(faults)
                    .any(|(_, x)| x.fixed_load.as_ref().and_then(q).is_some())
            })
        })
        .collect();
    let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
    panels_and_legend(
        m,
        "latency.svg",
        &format!(
            "Produce-to-ack latency at a fixed load vs max.in.flight: {}",
            names.join(", ")
        ),
        (rows.len().max(1), columns.len().max(1)),
        420,
        &[
            LATENCY_NOTE.into(),
            "Each row has its own latency axis. A quantile is drawn only from enough records (p99 from 1,000, p99.9 from 10,000).".into(),
        ],
        |root, panels| {
            for (r, faults) in rows.iter().enumerate() {
                // One y scale per row (an RTT), shared by its quantiles, so
                // a row's panels compare at a glance and every point is inside.
                let values: Vec<f64> = m
                    .measured_in(faults)
                    .filter_map(|(_, x)| x.fixed_load.as_ref())
                    .flat_map(|f| columns.iter().filter_map(|(_, q)| q(f)))
                    .map(|us| us.max(1) as f64 / 1000.0)
                    .collect();
                let y_axis = draw::log_axis(&values);
                for (q, &quantile) in columns.iter().enumerate() {
                    let area = &panels[r * columns.len() + q];
                    latency_panel(root, area, m, faults, quantile, q == 0, &y_axis)?;
                }
            }
            Ok(())
        },
    )
}

/// One panel of `latency.svg`: one quantile at the fixed load under one
/// condition; the `first` column names its quantile on the y axis.
fn latency_panel(
    root: &Area,
    area: &Area,
    m: &Model,
    faults: &str,
    (qname, qf): (&str, Quantile),
    first: bool,
    y_axis: &draw::Keyed,
) -> Result<(), Box<dyn std::error::Error>> {
    let caption = format!("{qname} · {faults}");
    let style = draw::caption_fitting(area, &caption, 18.0);
    let mut chart = ChartBuilder::on(&area.margin(5, 5, 5, 10))
        .caption(caption, style)
        .x_label_area_size(50)
        .y_label_area_size(if first { 80 } else { 45 })
        .build_cartesian_2d(in_flight_axis(m), y_axis.clone())?;
    let yfmt = |y: &f64| fmt::sig3(10f64.powf(*y));
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_label_formatter(&in_flight_label)
        .y_label_formatter(&yfmt)
        .label_style(draw::font(15.0))
        .axis_desc_style(draw::font(16.0))
        .x_desc("max.in.flight (log)");
    if first {
        mesh.y_desc(format!("{qname} latency (ms, log)"));
    } else {
        mesh.y_desc("ms");
    }
    mesh.draw()?;
    for (acks, idem) in super::series_present(m) {
        let pts = latency_points(m, faults, acks, idem, qf);
        draw_series_line(root, &chart, &pts, acks, idem)?;
    }
    Ok(())
}

/// One series' points in a latency panel: log10 of quantile `qf` in ms at
/// the fixed load (cells without that phase, or with too few records for
/// the quantile, left out).
fn latency_points<'m>(
    m: &'m Model,
    faults: &'m str,
    acks: Acks,
    idem: bool,
    qf: Quantile,
) -> Vec<(u32, f64, &'m Meas)> {
    let value = |x: &Meas| x.fixed_load.as_ref().and_then(qf);
    let mut pts = series_points(m, faults, acks, idem, |x| {
        value(x).map_or(f64::NAN, |us| (us.max(1) as f64 / 1000.0).log10())
    });
    pts.retain(|(_, y, _)| y.is_finite());
    pts
}

const LATENCY_NOTE: &str = "From each record's intended send time to its acknowledgement, at a rate common to the cells of one RTT (coordinated omission corrected).";
