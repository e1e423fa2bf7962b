//! `tradeoff.svg`: throughput against ordering violations per million, one
//! panel per fault profile, with the frontier. A log axis cannot show zero,
//! so zero sits in its own band left of the axis break. Machine-bound and
//! qualified cells are drawn but never on the frontier.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::draw::{self, Area, FRONTIER, MUTED};
use super::model::{CellView, Meas, Model};
use super::{fmt, ReportError};

const W: u32 = 1400;
const LEGEND_W: i32 = 360;

/// Horizontal layout of one panel's x axis: log10 of violations per million,
/// shifted so the lowest decade is 0, with the zero band at negative x.
struct XAxis {
    lo_dec: i32,
    span: i32,
}

const ZERO_X: f64 = -1.0;
const BREAK_X: f64 = -0.35;
const LEFT_X: f64 = -1.7;

impl XAxis {
    fn new(values: impl Iterator<Item = f64>) -> XAxis {
        let pos: Vec<f64> = values.filter(|v| *v > 0.0 && v.is_finite()).collect();
        if pos.is_empty() {
            return XAxis { lo_dec: 0, span: 2 };
        }
        let lo = pos.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = pos.iter().copied().fold(0.0, f64::max);
        let lo_dec = lo.log10().floor() as i32;
        let hi_dec = (hi.log10().ceil() as i32).max(lo_dec + 1);
        XAxis {
            lo_dec,
            span: hi_dec - lo_dec,
        }
    }

    /// The axis of a panel's cells.
    fn of_cells(pts: &[(&CellView, &Meas)]) -> XAxis {
        XAxis::new(pts.iter().map(|(_, x)| x.violations_pm()))
    }

    /// The plotted range: the zero band, then the decades, a tick at zero
    /// and at each decade.
    fn keyed(&self) -> draw::Keyed {
        let mut keys = vec![ZERO_X];
        keys.extend((0..=self.span).map(f64::from));
        draw::Keyed::new(LEFT_X..self.span as f64 + 0.25, keys)
    }

    fn x(&self, v: f64) -> f64 {
        if v <= 0.0 {
            ZERO_X
        } else {
            v.log10() - self.lo_dec as f64
        }
    }

    /// The x of a cell. Zero points are spread across the band by series, so
    /// they do not sit on one another.
    fn cell_x(&self, c: &CellView, x: &Meas) -> f64 {
        if x.violations() == 0 {
            ZERO_X
                + (draw::series_index(c.settings.acks, c.settings.idempotence) as f64 - 2.5) * 0.1
        } else {
            self.x(x.violations_pm())
        }
    }

    fn label(&self, x: f64) -> String {
        if x < BREAK_X {
            "0".into()
        } else {
            fmt::sig3(10f64.powf(x + self.lo_dec as f64))
        }
    }
}

pub fn render(m: &Model) -> Result<Vec<u8>, ReportError> {
    let (rows, cols) = draw::grid(m.fault_profiles.len());
    let h = 130 + rows as u32 * 520;
    draw::svg("tradeoff.svg", (W, h), |root| draw_all(root, m, cols, rows))
}

fn draw_all(
    root: &Area,
    m: &Model,
    cols: usize,
    rows: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let (w, _) = root.dim_in_pixel();
    super::header(
        root,
        m,
        "Throughput vs ordering violations, one panel per fault profile (each its own throughput axis)",
    )?;
    let body = root.margin(75, 55, 0, 0);
    let (plots, _legend) = body.split_horizontally(w as i32 - LEGEND_W);
    let panels = plots.split_evenly((rows, cols));
    for (faults, area) in m.fault_profiles.iter().zip(panels.iter()) {
        // Each panel its own throughput scale: conditions differ by orders
        // of magnitude (RTT 0 against 20 ms), and a shared axis flattens
        // the slow ones onto zero.
        let y_max = m
            .measured_in(faults)
            .map(|(_, x)| x.ci_high.max(x.rps))
            .fold(0.0, f64::max)
            .max(1.0)
            * 1.08;
        panel(root, area, m, faults, y_max)?;
    }

    // Legend, outside the data.
    let lx = w as i32 - LEGEND_W + 10;
    let mut y = 95;
    let head = draw::anchored(draw::bold(18.0), HPos::Left, VPos::Center);
    draw::text(root, "Setting (colour and marker)", (lx, y), &head)?;
    y += 28;
    let series = super::series_present(m);
    y = draw::series_legend(root, (lx, y), &series, &|_, _| None)?;
    y += 6;
    draw::text(root, "Reading the chart", (lx, y), &head)?;
    y += 24;
    root.draw(&PathElement::new(
        vec![(lx, y), (lx + 26, y)],
        FRONTIER.stroke_width(3),
    ))?;
    draw::text(
        root,
        "frontier (nothing is faster",
        (lx + 34, y),
        &draw::anchored(draw::font(16.0), HPos::Left, VPos::Center),
    )?;
    y += 18;
    draw::text(
        root,
        "with fewer violations)",
        (lx + 34, y),
        &draw::anchored(draw::font(16.0), HPos::Left, VPos::Center),
    )?;
    y += 26;
    let mut notes = vec![
        "Number beside a marker: max.in.flight.".to_string(),
        "Hollow marker: no fault reached the cell, so its 0 says nothing about ordering under faults."
            .to_string(),
        "A 0's evidence is a bound per fault event (the tables), not a rate per record."
            .to_string(),
        "Vertical bar: the throughput's 95% interval. Frontier: judged cells only (not machine-bound, not qualified)."
            .to_string(),
        "Violations: reorders + log duplicates + losses.".to_string(),
    ];
    let rejected = m.count(|c| matches!(c.state, super::model::State::Rejected { .. }));
    let failed = m.count(|c| matches!(c.state, super::model::State::Failed { .. }));
    if rejected + failed > 0 {
        notes.push(format!(
            "Not plotted: {rejected} rejected and {failed} failed cell{} (see violations.svg).",
            if rejected + failed == 1 { "" } else { "s" }
        ));
    }
    draw::legend_lines(root, (lx, y), &notes, 40)?;
    Ok(())
}

/// One fault profile's panel: the axis break, the frontier, and each
/// measured cell with its intervals.
fn panel(
    root: &Area,
    area: &Area,
    m: &Model,
    faults: &str,
    y_max: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    let pts: Vec<(&CellView, &Meas)> = m.measured_in(faults).collect();
    let axis = XAxis::of_cells(&pts);
    let all_unexposed = !pts.is_empty() && pts.iter().all(|(_, x)| !x.exposed());
    let caption = if all_unexposed {
        format!("{faults} · none exposed")
    } else {
        faults.to_string()
    };
    let xfmt = |x: &f64| axis.label(*x);
    let mut chart = draw::throughput_chart(
        area,
        caption,
        axis.keyed(),
        &xfmt,
        "violations per million records (log scale)",
        y_max,
    )?;

    // The axis break between the zero band and the log scale.
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(BREAK_X, 0.0), (BREAK_X, y_max)],
        MUTED.stroke_width(1),
    )))?;
    draw_frontier(root, &mut chart, m, faults, &axis)?;
    for (c, x) in &pts {
        draw_cell(root, &chart, &axis, c, x)?;
    }
    if pts.is_empty() {
        let (xr, yr) = area.get_pixel_range();
        draw::text(
            root,
            "no measured cell",
            ((xr.start + xr.end) / 2, (yr.start + yr.end) / 2),
            &draw::anchored(draw::font(20.0).color(&MUTED), HPos::Center, VPos::Center),
        )?;
    }
    Ok(())
}

/// The frontier of one fault profile: a line through its cells and a ring
/// around each.
fn draw_frontier(
    root: &Area,
    chart: &mut draw::ThroughputChart,
    m: &Model,
    faults: &str,
    axis: &XAxis,
) -> Result<(), Box<dyn std::error::Error>> {
    let front: Vec<(f64, f64)> = m
        .frontier(faults)
        .iter()
        .filter_map(|c| c.measured().map(|x| (axis.cell_x(c, x), x.rps)))
        .collect();
    if front.len() > 1 {
        chart.draw_series(std::iter::once(PathElement::new(
            front.clone(),
            FRONTIER.stroke_width(3),
        )))?;
    }
    for p in &front {
        let (px, py) = chart.backend_coord(p);
        root.draw(&Circle::new((px, py), 11, FRONTIER.stroke_width(2)))?;
    }
    Ok(())
}

/// One measured cell: the interval of its throughput, its marker and its
/// `max.in.flight`. (A zero-violation cell's evidence is a bound per fault
/// event, not a rate per record: it is in the report's tables, not on this
/// per-million axis.)
fn draw_cell(
    root: &Area,
    chart: &draw::ThroughputChart,
    axis: &XAxis,
    c: &CellView,
    x: &Meas,
) -> Result<(), Box<dyn std::error::Error>> {
    let colour = draw::series_colour(c.settings.acks, c.settings.idempotence);
    let pos = (axis.cell_x(c, x), x.rps);
    let at = chart.backend_coord(&pos);
    // CI of the throughput: a thin vertical bar.
    let lo = chart.backend_coord(&(pos.0, x.ci_low));
    let hi = chart.backend_coord(&(pos.0, x.ci_high));
    root.draw(&PathElement::new(
        vec![lo, hi],
        colour.mix(0.5).stroke_width(1),
    ))?;
    draw::marker(root, at, c.settings.acks, colour, x.exposed())?;
    draw::text(
        root,
        &c.settings.max_in_flight.to_string(),
        (at.0 + 9, at.1 - 9),
        &draw::anchored(draw::font(15.0).color(&colour), HPos::Left, VPos::Bottom),
    )
}
