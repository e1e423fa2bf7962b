//! `compare.svg`: a comparison as a chart.

use std::ops::Range;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{CellComparison, ChangeVerdict, Comparison, MetricChange, Regression, Status};
// `RED` is plotters' pure red, for text; a regressed change is drawn in
// the report's `REGRESSED`.
use crate::report::draw::{Area, FAMILY, IMPROVED, MUTED as GREY, REGRESSED};
use crate::report::markup::one_line;

/// `compare.svg`: per cell, the relative change of throughput and of p99
/// latency with its confidence interval over the shaded noise band, and the
/// ordering or status regressions in a column of their own. Self-contained
/// and deterministic: the same comparison gives the same bytes.
pub fn render_svg(c: &Comparison) -> String {
    let mut svg = String::new();
    // Drawing into a String fails only on a layout bug; the file then says so.
    if let Err(e) = draw_svg(c, &mut svg) {
        svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"600\" height=\"40\"><text x=\"10\" y=\"25\">chart failed: {}</text></svg>\n",
            one_line(&e.to_string()).replace('&', "&amp;").replace('<', "&lt;")
        );
    }
    svg
}

fn verdict_color(v: ChangeVerdict) -> plotters::style::RGBColor {
    match v {
        ChangeVerdict::Regressed => REGRESSED,
        ChangeVerdict::Improved => IMPROVED,
        ChangeVerdict::NotSignificant | ChangeVerdict::MachineBound => GREY,
    }
}

type ChartResult = Result<(), Box<dyn std::error::Error>>;

// The layout, in pixels: a column of cell ids, the two metric panels, the
// ordering and status column; one row per cell between the title and the
// axis labels.
const LABELS_W: u32 = 380;
const PANEL_W: u32 = 330;
const STATUS_W: u32 = 260;
const ROW_H: u32 = 26;
const TOP: u32 = 72;
const BOTTOM: u32 = 44;

/// Which metric of a cell a panel draws.
type MetricOf = fn(&CellComparison) -> Option<&MetricChange>;

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn draw_svg(c: &Comparison, out: &mut String) -> ChartResult {
    let n = c.cells.len();
    let width = LABELS_W + 2 * PANEL_W + STATUS_W;
    let height = TOP + BOTTOM + ROW_H * n.max(1) as u32;
    let root = SVGBackend::with_string(out, (width, height)).into_drawing_area();
    root.fill(&WHITE)?;
    draw_title(&root, c)?;
    if !c.comparable() {
        draw_differences(&root, c)?;
        root.present()?;
        return Ok(());
    }

    let body = root.margin(TOP - 28, 0, 0, 0);
    let (labels, rest) = body.split_horizontally(LABELS_W);
    let (throughput, rest) = rest.split_horizontally(PANEL_W);
    let (latency, status) = rest.split_horizontally(PANEL_W);
    let ids = c.cells.iter().map(|cell| (cell.id.clone(), BLACK));
    draw_text_column(&labels, "cell", ids.collect())?;
    let statuses = c.cells.iter().map(ordering_and_status);
    draw_text_column(&status, "ordering and status", statuses.collect())?;
    draw_panel(&throughput, c, "throughput (higher is better)", |cell| {
        cell.throughput.as_ref()
    })?;
    draw_panel(
        &latency,
        c,
        "client CPU per record (lower is better)",
        |cell| cell.client_cpu.as_ref(),
    )?;
    root.present()?;
    Ok(())
}

/// The title and the legend.
fn draw_title(root: &Area, c: &Comparison) -> ChartResult {
    let title = format!(
        "librdkafka {} (baseline) → {} (new): change per cell, {:.0}% intervals, noise ±{:.1}%",
        c.base.librdkafka_version,
        c.new.librdkafka_version,
        c.options.confidence * 100.0,
        c.options.noise * 100.0
    );
    root.draw(&Text::new(
        title,
        (10, 8),
        (FAMILY, 16).into_font().color(&BLACK),
    ))?;
    root.draw(&Text::new(
        "dot: relative change of medians; bar: confidence interval; shaded: noise band; \
         red: regressed, green: improved, grey: not significant"
            .to_string(),
        (10, 28),
        (FAMILY, 12).into_font().color(&GREY),
    ))?;
    Ok(())
}

/// In place of the panels: what differs between runs that are not comparable.
fn draw_differences(root: &Area, c: &Comparison) -> ChartResult {
    let mut y = 50;
    root.draw(&Text::new(
        "Not comparable:".to_string(),
        (10, y),
        (FAMILY, 14).into_font().color(&RED),
    ))?;
    for d in &c.differences {
        y += 20;
        root.draw(&Text::new(
            format!("{}: {} vs {}", d.field, d.base, d.new),
            (20, y),
            (FAMILY, 13).into_font().color(&BLACK),
        ))?;
    }
    Ok(())
}

/// The vertical range of a chart of `n` rows.
fn rows_range(n: usize) -> Range<f64> {
    -0.5..n.max(1) as f64 - 0.5
}

/// Row `i` of `n` sits at y = n - 1 - i, so the first cell is on top.
fn row_y(n: usize, i: usize) -> f64 {
    (n - 1 - i) as f64
}

/// A column of text, one line per row. It is a chart with the same vertical
/// layout as the panels, so that the text lines up with their rows.
fn draw_text_column(area: &Area, caption: &str, texts: Vec<(String, RGBColor)>) -> ChartResult {
    let n = texts.len();
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FAMILY, 14))
        .margin(5)
        .x_label_area_size(30)
        .build_cartesian_2d(0.0..1.0, rows_range(n))?;
    chart.draw_series(texts.into_iter().enumerate().map(|(i, (t, color))| {
        Text::new(
            t,
            (0.0, row_y(n, i)),
            (FAMILY, 12)
                .into_font()
                .color(&color)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        )
    }))?;
    Ok(())
}

/// A cell's line in the ordering and status column: its ordering and status
/// regressions in red, else a change of status, "machine-bound, not
/// compared" or `ok` in grey.
fn ordering_and_status(cell: &CellComparison) -> (String, RGBColor) {
    let ordering: Vec<String> = cell
        .regressions
        .iter()
        .filter(|r| r.is_ordering())
        .map(|r| match r {
            Regression::NewAnomaly { anomaly, count, .. } => {
                format!("{} 0→{count}", anomaly.plural())
            }
            Regression::StatusChanged { from, to, .. } => {
                format!("{}→{}", from.as_str(), to.as_str())
            }
            _ => String::new(),
        })
        .collect();
    if !ordering.is_empty() {
        (ordering.join(", "), RED)
    } else if cell.verdict == ChangeVerdict::MachineBound {
        ("machine-bound, not compared".into(), GREY)
    } else if cell.base_status != Status::Measured || cell.new_status != Status::Measured {
        (
            format!(
                "{} → {}",
                cell.base_status.as_str(),
                cell.new_status.as_str()
            ),
            GREY,
        )
    } else {
        ("ok".into(), GREY)
    }
}

/// Half the width of a panel's axis: room for every change and interval
/// and twice the noise band, at least ±10%.
fn axis_half_width(c: &Comparison, metric: MetricOf) -> f64 {
    let finite = |x: f64| if x.is_finite() { x.abs() } else { 0.0 };
    let extent = c
        .cells
        .iter()
        .filter_map(metric)
        .flat_map(|m| [m.change, m.change_ci_low, m.change_ci_high])
        .map(finite)
        .fold(c.options.noise * 2.0, f64::max)
        .max(0.10);
    // Cap the axis so one wild cell does not flatten the others; points
    // beyond it are drawn at the edge.
    (extent * 1.15).min(2.0)
}

/// One metric's panel: the noise band, the zero line, and per cell its
/// change and interval coloured by its verdict.
fn draw_panel(area: &Area, c: &Comparison, caption: &str, metric: MetricOf) -> ChartResult {
    let n = c.cells.len();
    let rows = rows_range(n);
    let xmax = axis_half_width(c, metric);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FAMILY, 14))
        .margin(5)
        .x_label_area_size(30)
        .build_cartesian_2d(-xmax..xmax, rows.clone())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_labels(5)
        .x_label_formatter(&|v| {
            // Rounding can leave a tiny negative at zero: no "-0%".
            let p = (v * 100.0).round();
            if p == 0.0 {
                "0%".to_string()
            } else {
                format!("{p:+.0}%")
            }
        })
        .draw()?;
    let noise = c.options.noise.min(xmax);
    chart.draw_series(std::iter::once(Rectangle::new(
        [(-noise, rows.start), (noise, rows.end)],
        RGBColor(225, 225, 225).filled(),
    )))?;
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(0.0, rows.start), (0.0, rows.end)],
        BLACK.stroke_width(1),
    )))?;
    for (i, cell) in c.cells.iter().enumerate() {
        if let Some(m) = metric(cell) {
            draw_change(&mut chart, m, row_y(n, i), xmax)?;
        }
    }
    Ok(())
}

/// One change at height `y`: its interval as a bar with end ticks, then
/// its dot, clamped to the axis.
fn draw_change(chart: &mut Chart, m: &MetricChange, y: f64, xmax: f64) -> ChartResult {
    let clamp = |x: f64| {
        if x.is_finite() {
            x.clamp(-xmax, xmax)
        } else {
            0.0
        }
    };
    let color = verdict_color(m.verdict);
    let (lo, hi) = (clamp(m.change_ci_low), clamp(m.change_ci_high));
    chart.draw_series([
        PathElement::new(vec![(lo, y), (hi, y)], color.stroke_width(2)),
        PathElement::new(vec![(lo, y - 0.2), (lo, y + 0.2)], color.stroke_width(2)),
        PathElement::new(vec![(hi, y - 0.2), (hi, y + 0.2)], color.stroke_width(2)),
    ])?;
    chart.draw_series(std::iter::once(Circle::new(
        (clamp(m.change), y),
        4,
        color.filled(),
    )))?;
    Ok(())
}
