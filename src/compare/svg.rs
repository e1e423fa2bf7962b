//! `compare.svg`: a comparison as a chart.

use super::{CellComparison, ChangeVerdict, Comparison, MetricChange, Regression, Status};
use crate::report::draw::{FAMILY, IMPROVED, MUTED as GREY, REGRESSED as RED};
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
        ChangeVerdict::Regressed => RED,
        ChangeVerdict::Improved => IMPROVED,
        ChangeVerdict::NotSignificant => GREY,
    }
}

type ChartResult = Result<(), Box<dyn std::error::Error>>;

fn draw_svg(c: &Comparison, out: &mut String) -> ChartResult {
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};

    const LABELS_W: u32 = 380;
    const PANEL_W: u32 = 330;
    const STATUS_W: u32 = 260;
    const ROW_H: u32 = 26;
    const TOP: u32 = 72;
    const BOTTOM: u32 = 44;
    let n = c.cells.len();
    let width = LABELS_W + 2 * PANEL_W + STATUS_W;
    let height = TOP + BOTTOM + ROW_H * n.max(1) as u32;
    let root = SVGBackend::with_string(out, (width, height)).into_drawing_area();
    root.fill(&WHITE)?;
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
    if !c.comparable() {
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
        root.present()?;
        return Ok(());
    }

    let body = root.margin(TOP - 28, 0, 0, 0);
    let (labels, rest) = body.split_horizontally(LABELS_W);
    let (throughput, rest) = rest.split_horizontally(PANEL_W);
    let (latency, status) = rest.split_horizontally(PANEL_W);
    let rows = n.max(1) as f64;
    // Row i sits at y = n - 1 - i, so the first cell is on top.
    let y_of = |i: usize| (n - 1 - i) as f64;

    // The label and status columns are charts with the same vertical layout
    // as the panels, so that text lines up with the rows.
    let text_column = |area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
                       caption: &str,
                       texts: Vec<(String, RGBColor)>|
     -> ChartResult {
        let mut chart = ChartBuilder::on(area)
            .caption(caption, (FAMILY, 14))
            .margin(5)
            .x_label_area_size(30)
            .build_cartesian_2d(0.0..1.0, -0.5..rows - 0.5)?;
        chart.draw_series(texts.into_iter().enumerate().map(|(i, (t, color))| {
            Text::new(
                t,
                (0.0, y_of(i)),
                (FAMILY, 12)
                    .into_font()
                    .color(&color)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            )
        }))?;
        Ok(())
    };
    text_column(
        &labels,
        "cell",
        c.cells
            .iter()
            .map(|cell| (cell.id.clone(), BLACK))
            .collect(),
    )?;
    text_column(
        &status,
        "ordering and status",
        c.cells
            .iter()
            .map(|cell| {
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
                } else if cell.base_status != Status::Measured
                    || cell.new_status != Status::Measured
                {
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
            })
            .collect(),
    )?;

    let panel = |area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
                 caption: &str,
                 metric: fn(&CellComparison) -> Option<&MetricChange>|
     -> ChartResult {
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
        let xmax = (extent * 1.15).min(2.0);
        let clamp = |x: f64| {
            if x.is_finite() {
                x.clamp(-xmax, xmax)
            } else {
                0.0
            }
        };
        let mut chart = ChartBuilder::on(area)
            .caption(caption, (FAMILY, 14))
            .margin(5)
            .x_label_area_size(30)
            .build_cartesian_2d(-xmax..xmax, -0.5..rows - 0.5)?;
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
            [(-noise, -0.5), (noise, rows - 0.5)],
            RGBColor(225, 225, 225).filled(),
        )))?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, -0.5), (0.0, rows - 0.5)],
            BLACK.stroke_width(1),
        )))?;
        for (i, cell) in c.cells.iter().enumerate() {
            let Some(m) = metric(cell) else { continue };
            let y = y_of(i);
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
        }
        Ok(())
    };
    panel(&throughput, "throughput (higher is better)", |cell| {
        cell.throughput.as_ref()
    })?;
    panel(&latency, "p99 latency (lower is better)", |cell| {
        cell.p99_latency.as_ref()
    })?;
    root.present()?;
    Ok(())
}
