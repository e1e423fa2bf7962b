//! `violations.svg`: `max.in.flight` by `acks`, one panel per idempotence
//! value and fault profile. Each square holds violations per million with
//! the kinds apart, or says why there is no number (rejected, failed, not
//! exposed, not run).

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::grid::ProducerSettings;

use super::draw::{self, Area, INK, MUTED};
use super::model::{Judgement, Model, State};
use super::{fmt, ReportError};

const W: u32 = 1400;

/// Fill for violation rates, by bin of violations per million.
const BINS: [(f64, RGBColor, &str); 5] = [
    (1.0, RGBColor(0xFE, 0xE0, 0xD2), "≤ 1"),
    (10.0, RGBColor(0xFC, 0xBB, 0xA1), "≤ 10"),
    (100.0, RGBColor(0xFB, 0x6A, 0x4A), "≤ 100"),
    (1000.0, RGBColor(0xDE, 0x2D, 0x26), "≤ 1,000"),
    (f64::INFINITY, RGBColor(0xA5, 0x0F, 0x15), "> 1,000"),
];
const CLEAN: RGBColor = RGBColor(0xC7, 0xE9, 0xC0);
const UNEXPOSED: RGBColor = RGBColor(0xF2, 0xF2, 0xF2);
const REJECTED: RGBColor = RGBColor(0x96, 0x96, 0x96);
const FAILED: RGBColor = RGBColor(0xFF, 0xFF, 0xFF);
const FAILED_EDGE: RGBColor = RGBColor(0xCB, 0x18, 0x1D);

fn bin(pm: f64) -> (RGBColor, bool) {
    for (i, (max, c, _)) in BINS.iter().enumerate() {
        if pm <= *max {
            return (*c, i >= 2);
        }
    }
    (BINS[4].1, true)
}

/// The lines written in a square, its fill, and whether the text is light.
fn square(m: &Model, s: &ProducerSettings, faults: &str) -> (Vec<String>, RGBColor, bool) {
    let Some(c) = m.cell(s, faults) else {
        return (vec!["not run".into()], WHITE, false);
    };
    match &c.state {
        State::Rejected { short, .. } => (vec!["rejected".into(), short.clone()], REJECTED, true),
        State::Failed { short, .. } => (vec!["failed".into(), short.clone()], FAILED, false),
        State::Measured(x) => {
            let v = x.violations();
            if v == 0 {
                if !x.exposed() {
                    (vec!["0".into(), "not exposed".into()], UNEXPOSED, false)
                } else {
                    let min_events = m.results.run.workload.fixed.min_events;
                    let evidence = match x.judgement(min_events) {
                        Judgement::NoViolation { events, bound } => {
                            format!("< {} per event ({events})", fmt::pct(bound * 100.0))
                        }
                        _ => format!("{} events: too few", x.events),
                    };
                    (vec!["0".into(), evidence], CLEAN, false)
                }
            } else {
                let pm = x.violations_pm();
                let (fill, light) = bin(pm);
                let mut kinds = Vec::new();
                for (tag, n) in [("R", x.reorders), ("D", x.duplicates), ("L", x.losses)] {
                    if n > 0 {
                        kinds.push(format!("{tag} {}", fmt::compact(x.per_million(n))));
                    }
                }
                let mut lines = vec![format!("{}/M", fmt::compact(pm)), kinds.join(" ")];
                if !x.exposed() {
                    lines.push("not exposed".into());
                }
                (lines, fill, light)
            }
        }
    }
}

pub fn render(m: &Model) -> Result<Vec<u8>, ReportError> {
    let rows = m.fault_profiles.len().max(1);
    let cols = m.idems.len().max(1);
    let panel_h = 80 + 78 * m.acks.len().max(1) as u32;
    let h = 110 + rows as u32 * panel_h + 150;
    draw::svg("violations.svg", (W, h), |root| {
        super::header(
            root,
            m,
            "Ordering violations per million records, by setting and fault profile",
        )?;
        let body = root.margin(75, 150, 0, 0);
        let panels = body.split_evenly((rows, cols));
        for (r, faults) in m.fault_profiles.iter().enumerate() {
            for (ci, idem) in m.idems.iter().enumerate() {
                panel(root, &panels[r * cols + ci], m, faults, *idem)?;
            }
        }
        legend(root, m, h as i32 - 140)
    })
}

/// One panel: a square per (`max.in.flight`, `acks`) of one idempotence
/// value under one fault profile.
fn panel(
    root: &Area,
    area: &Area,
    m: &Model,
    faults: &str,
    idem: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let chart = panel_chart(area, m, faults, idem)?;
    for (i, f) in m.in_flights.iter().enumerate() {
        for (j, a) in m.acks.iter().enumerate() {
            let s = ProducerSettings {
                max_in_flight: *f,
                acks: *a,
                idempotence: idem,
            };
            let (lines, fill, light) = square(m, &s, faults);
            let p0 = chart.backend_coord(&(i as f64, j as f64 + 1.0));
            let p1 = chart.backend_coord(&(i as f64 + 1.0, j as f64));
            draw_square(root, p0, p1, fill)?;
            square_text(root, p0, p1, &lines, light)?;
        }
    }
    Ok(())
}

/// A panel's chart, one unit per square: `max.in.flight` across, `acks` up,
/// with its title and axis labels drawn.
fn panel_chart<'b>(
    area: &Area<'b>,
    m: &Model,
    faults: &str,
    idem: bool,
) -> Result<
    ChartContext<'b, SVGBackend<'b>, Cartesian2d<draw::Keyed, draw::Keyed>>,
    Box<dyn std::error::Error>,
> {
    let nx = m.in_flights.len();
    let ny = m.acks.len();
    let xkeys: Vec<f64> = (0..nx).map(|i| i as f64 + 0.5).collect();
    let ykeys: Vec<f64> = (0..ny).map(|i| i as f64 + 0.5).collect();
    let title = format!(
        "{} · faults: {faults}",
        if idem { "idempotent" } else { "not idempotent" }
    );
    let mut chart = ChartBuilder::on(&area.margin(5, 5, 10, 20))
        .caption(title, draw::bold(20.0))
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(
            draw::Keyed::new(0.0..nx as f64, xkeys),
            draw::Keyed::new(0.0..ny as f64, ykeys),
        )?;
    let xf = |x: &f64| {
        m.in_flights
            .get(x.floor() as usize)
            .map(u32::to_string)
            .unwrap_or_default()
    };
    let yf = |y: &f64| {
        m.acks
            .get(y.floor() as usize)
            .map(|a| format!("acks={a}"))
            .unwrap_or_default()
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .label_style(draw::font(16.0))
        .axis_desc_style(draw::font(17.0))
        .x_desc("max.in.flight")
        .draw()?;
    Ok(chart)
}

/// A square between pixel corners `p0` (top left) and `p1`, filled, with
/// an edge when failed (red) or white (grey).
fn draw_square(
    root: &Area,
    p0: (i32, i32),
    p1: (i32, i32),
    fill: RGBColor,
) -> Result<(), Box<dyn std::error::Error>> {
    root.draw(&Rectangle::new(
        [(p0.0 + 2, p0.1 + 2), (p1.0 - 2, p1.1 - 2)],
        fill.filled(),
    ))?;
    if fill == FAILED {
        root.draw(&Rectangle::new(
            [(p0.0 + 3, p0.1 + 3), (p1.0 - 3, p1.1 - 3)],
            FAILED_EDGE.stroke_width(2),
        ))?;
    } else if fill == WHITE {
        root.draw(&Rectangle::new(
            [(p0.0 + 3, p0.1 + 3), (p1.0 - 3, p1.1 - 3)],
            MUTED.stroke_width(1),
        ))?;
    }
    Ok(())
}

/// The non-empty lines of a square, centred in it: the first in bold, the
/// others shrunk to fit; `light` text on a dark fill.
fn square_text(
    root: &Area,
    p0: (i32, i32),
    p1: (i32, i32),
    lines: &[String],
    light: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let colour = if light { WHITE } else { INK };
    let cx = (p0.0 + p1.0) / 2;
    let cy = (p0.1 + p1.1) / 2;
    let n = lines.iter().filter(|l| !l.is_empty()).count() as i32;
    let mut y = cy - (n - 1) * 9;
    let width = f64::from((p1.0 - p0.0 - 8).max(1));
    for (k, line) in lines.iter().filter(|l| !l.is_empty()).enumerate() {
        let style = if k == 0 {
            draw::bold(17.0)
        } else {
            // Shrink a long reason to its square (a sans-serif
            // character is about 0.45 em wide) rather than clip it.
            let chars = line.chars().count().max(1) as f64;
            draw::font((width / (0.45 * chars)).clamp(10.0, 14.0))
        };
        draw::text(
            root,
            line,
            (cx, y),
            &draw::anchored(style.color(&colour), HPos::Center, VPos::Center),
        )?;
        y += 18;
    }
    Ok(())
}

fn swatch(
    root: &Area,
    x: &mut i32,
    y: i32,
    fill: RGBColor,
    edge: Option<RGBColor>,
    text: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    root.draw(&Rectangle::new(
        [(*x, y - 10), (*x + 22, y + 10)],
        fill.filled(),
    ))?;
    if let Some(e) = edge {
        root.draw(&Rectangle::new(
            [(*x, y - 10), (*x + 22, y + 10)],
            e.stroke_width(2),
        ))?;
    }
    let label = draw::anchored(draw::font(15.0), HPos::Left, VPos::Center);
    draw::text(root, text, (*x + 28, y), &label)?;
    *x += 44 + 8 * text.chars().count() as i32;
    Ok(())
}

fn legend(root: &Area, m: &Model, top: i32) -> Result<(), Box<dyn std::error::Error>> {
    let y = top + 20;
    draw::text(
        root,
        "violations per million:",
        (30, y),
        &draw::anchored(draw::bold(16.0), HPos::Left, VPos::Center),
    )?;
    let mut x = 230;
    swatch(root, &mut x, y, CLEAN, Some(EDGE), "0 under faults")?;
    for (_, c, t) in BINS {
        swatch(root, &mut x, y, c, None, t)?;
    }
    let y = y + 34;
    let mut x = 30;
    swatch(
        root,
        &mut x,
        y,
        UNEXPOSED,
        Some(EDGE),
        "not exposed: no fault reached it, so its 0 is not evidence",
    )?;
    swatch(root, &mut x, y, REJECTED, None, "rejected by the client")?;
    swatch(
        root,
        &mut x,
        y,
        FAILED,
        Some(FAILED_EDGE),
        "failed to measure",
    )?;
    let notes = [
        "R reorders, D log duplicates, L losses, each per million records checked (a descriptive rate). \"< x% per event (n)\": with none seen in n fault events, the 95% upper bound on the chance that one event causes a violation.".to_string(),
        format!(
            "Cells: {} measured, {} rejected, {} failed; the client's full messages are in REPORT.md.",
            m.count(|c| c.measured().is_some()),
            m.count(|c| matches!(c.state, State::Rejected { .. })),
            m.count(|c| matches!(c.state, State::Failed { .. })),
        ),
    ];
    draw::legend_lines(root, (30, y + 34), &notes, 150)?;
    Ok(())
}

const EDGE: RGBColor = RGBColor(0xBB, 0xBB, 0xBB);
