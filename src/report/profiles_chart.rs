//! `profiles.svg`: the industry profiles of `data/profiles.toml` placed on
//! this run's measurements: what each profile's setting delivered here in
//! throughput, p99 latency and violations. A range of `max.in.flight` is a
//! span over the measured cells inside it.

use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::grid::ProducerSettings;

use super::draw::{self, Area, Keyed, GRID, MUTED};
use super::model::{CellView, Judgement, Model, State};
use super::profiles::Profile;
use super::{fmt, ReportError};

const W: u32 = 1400;
const LABEL_W: i32 = 340;
const ROW_H: i32 = 24;
const GAP: f64 = 0.7;

/// A panel's chart over the rows: `X` across, rows up.
type RowChart<'b, X> = ChartContext<'b, SVGBackend<'b>, Cartesian2d<X, RangedCoordf64>>;
/// Panel A's chart: records/s across.
type RateChart<'b> = RowChart<'b, RangedCoordf64>;
/// Panel B's chart: log10 of p99 ms across.
type LatencyChart<'b> = RowChart<'b, Keyed>;

/// Colour of a fault profile (by its position in the run).
pub fn fault_colour(i: usize) -> RGBColor {
    const C: [RGBColor; 5] = [
        RGBColor(0x44, 0x44, 0x44),
        RGBColor(0x7B, 0x32, 0x94),
        RGBColor(0x00, 0x88, 0x37),
        RGBColor(0xE6, 0x61, 0x01),
        RGBColor(0x21, 0x66, 0xAC),
    ];
    C[i % C.len()]
}

/// The cells a profile covers under one fault profile, by ascending `max.in.flight`.
pub fn profile_cells<'m, 'a>(m: &'m Model<'a>, p: &Profile, faults: &str) -> Vec<&'m CellView<'a>> {
    m.in_flights
        .iter()
        .filter(|f| p.covers(**f))
        .filter_map(|f| {
            m.cell(
                &ProducerSettings {
                    max_in_flight: *f,
                    acks: p.acks_or_assumed(),
                    idempotence: p.idempotence,
                },
                faults,
            )
        })
        .collect()
}

/// What a profile's cells showed for violations, in a few words.
pub fn violations_text(m: &Model, cells: &[&CellView]) -> String {
    if cells.is_empty() {
        return "not in this run's grid".into();
    }
    let mut parts = Vec::new();
    let meas: Vec<_> = cells.iter().filter_map(|c| c.measured()).collect();
    if !meas.is_empty() {
        let lo = meas
            .iter()
            .map(|x| x.violations_pm())
            .fold(f64::INFINITY, f64::min);
        let hi = meas.iter().map(|x| x.violations_pm()).fold(0.0, f64::max);
        if hi == 0.0 {
            if meas.iter().all(|x| !x.exposed()) {
                parts.push("0, not exposed".to_string());
            } else {
                let min_events = m.results.run.workload.fixed.min_events;
                let bounds: Vec<f64> = meas
                    .iter()
                    .filter(|x| x.exposed())
                    .filter_map(|x| match x.judgement(min_events) {
                        Judgement::NoViolation { bound, .. } => Some(bound),
                        _ => None,
                    })
                    .collect();
                if bounds.len() == meas.iter().filter(|x| x.exposed()).count() {
                    let ub = bounds.iter().copied().fold(0.0, f64::max);
                    parts.push(format!("0 (< {} per fault event)", fmt::pct(ub * 100.0)));
                } else {
                    parts.push("0, too few fault events to judge".to_string());
                }
            }
        } else if lo == hi {
            parts.push(format!("{}/M", fmt::sig3(hi)));
        } else {
            parts.push(format!("{}–{}/M", fmt::sig3(lo), fmt::sig3(hi)));
        }
    }
    let rejected: Vec<String> = cells
        .iter()
        .filter(|c| matches!(c.state, State::Rejected { .. }))
        .map(|c| c.settings.max_in_flight.to_string())
        .collect();
    if !rejected.is_empty() {
        parts.push(format!("{} rejected", rejected.join(",")));
    }
    let failed = cells
        .iter()
        .filter(|c| matches!(c.state, State::Failed { .. }))
        .count();
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    if cells
        .iter()
        .any(|c| c.measured().is_some() && m.on_frontier(c))
    {
        parts.push("★".into());
    }
    parts.join(" · ")
}

pub fn render(m: &Model) -> Result<Vec<u8>, ReportError> {
    let nf = m.fault_profiles.len().max(1);
    let np = m.profiles.len().max(1);
    let units = np as f64 * (nf as f64 + GAP);
    let plot_h = (units * ROW_H as f64).ceil() as u32;
    let h = 170 + plot_h + 60 + 70;
    draw::svg("profiles.svg", (W, h), |root| draw_all(root, m, units))
}

/// The chart: title and key, then the throughput and latency panels and
/// the violations column, with a block of rows per profile (one row per
/// fault profile) over `units` rows in all.
fn draw_all(root: &Area, m: &Model, units: f64) -> Result<(), Box<dyn std::error::Error>> {
    title(root, m)?;
    fault_key(root, m)?;

    let top = 120;
    let area = root.margin(top, 0, 0, 0);
    let (_labels, rest) = area.split_horizontally(LABEL_W);
    let (a, rest) = rest.split_horizontally(400);
    let (b, c) = rest.split_horizontally(330);
    // Panel A: throughput; panel B: p99 latency.
    let rate_label = |v: &f64| fmt::compact(*v);
    let throughput = row_panel(
        &a,
        "throughput (records/s)",
        rate_axis(m),
        units,
        5,
        &rate_label,
    )?;
    let p99_label = |v: &f64| fmt::sig3(10f64.powf(*v));
    // 11 is plotters' default; a keyed axis labels its own ticks anyway.
    let latency = row_panel(
        &b,
        "p99 latency (ms, log)",
        p99_axis(m),
        units,
        11,
        &p99_label,
    )?;
    let (cx, _) = c.get_pixel_range();
    draw::text(
        root,
        "violations per million",
        (cx.start + 20, top + 12),
        &draw::anchored(draw::bold(18.0), HPos::Left, VPos::Center),
    )?;

    let rows = Rows {
        throughput: &throughput,
        latency: &latency,
        units,
        nf: m.fault_profiles.len().max(1),
        violations_x: cx.start + 20,
    };
    for (pi, p) in m.profiles.iter().enumerate() {
        rows.profile_label(root, pi, p)?;
        for (fi, faults) in m.fault_profiles.iter().enumerate() {
            rows.fault_row(root, m, p, pi, (fi, faults))?;
        }
    }
    Ok(())
}

/// The title, and under it how many profiles and how ranges are drawn.
fn title(root: &Area, m: &Model) -> Result<(), Box<dyn std::error::Error>> {
    draw::text(
        root,
        "Industry profiles on this run's measurements",
        (20, 24),
        &draw::anchored(draw::bold(28.0), HPos::Left, VPos::Center),
    )?;
    let assumed = m.profiles.iter().any(|p| p.acks.is_none());
    let sub = format!(
        "{} profiles from the seed article's tables (attributions are the article's){}. A range of max.in.flight is drawn as a span over the measured cells in it. Latency: p99 at the fixed load. ★: a covered cell is on its fault profile's frontier (tradeoff.svg).",
        m.profiles.len(),
        if assumed { "; acks=all where the tables give none" } else { "" },
    );
    draw::legend_lines(root, (20, 54), &[sub], 170)?;
    Ok(())
}

/// Fault profile key: the colour of each (the star is explained in the
/// subtitle, so the key fits the width with five conditions).
fn fault_key(root: &Area, m: &Model) -> Result<(), Box<dyn std::error::Error>> {
    let mut x = 20;
    let y = 92;
    let style = draw::anchored(draw::font(16.0), HPos::Left, VPos::Center);
    for (i, f) in m.fault_profiles.iter().enumerate() {
        let c = fault_colour(i);
        root.draw(&PathElement::new(
            vec![(x, y), (x + 26, y)],
            c.stroke_width(4),
        ))?;
        root.draw(&Circle::new((x + 13, y), 5, c.filled()))?;
        draw::text(root, f, (x + 34, y), &style)?;
        x += 60 + 9 * f.chars().count() as i32;
    }
    Ok(())
}

/// Panel A's axis: throughput, from 0 to a little above the fastest cell.
fn rate_axis(m: &Model) -> RangedCoordf64 {
    let fastest = m
        .cells
        .iter()
        .filter_map(|c| c.measured())
        .map(|x| x.rps)
        .fold(0.0, f64::max);
    (0.0..fastest.max(1.0) * 1.08).into()
}

/// Panel B's axis: p99 latency, log, over every measured cell.
fn p99_axis(m: &Model) -> Keyed {
    let p99: Vec<f64> = m
        .cells
        .iter()
        .filter_map(|c| c.measured()?.fixed_load.as_ref()?.p99_us)
        .map(|us| us.max(1) as f64 / 1000.0)
        .collect();
    draw::log_axis(&p99)
}

/// A panel over the `units` rows: `caption` above, below an x axis of at
/// most `x_labels` labels written by `x_label` with its grid lines, and no
/// y axis (the rows are labelled on the left).
fn row_panel<'b, X>(
    area: &Area<'b>,
    caption: &str,
    x: X,
    units: f64,
    x_labels: usize,
    x_label: &dyn Fn(&f64) -> String,
) -> Result<RowChart<'b, X>, Box<dyn std::error::Error>>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(&area.margin(0, 0, 10, 20))
        .caption(caption, draw::caption_fitting(area, caption, 18.0))
        .x_label_area_size(40)
        .build_cartesian_2d(x, 0.0..units)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_labels(x_labels)
        .x_label_formatter(x_label)
        .label_style(draw::font(15.0))
        .draw()?;
    Ok(chart)
}

/// Where the rows go: the two panels' coordinates, the number of fault
/// profiles (rows per profile block) and the x of the violations column.
struct Rows<'c, 'b> {
    throughput: &'c RateChart<'b>,
    latency: &'c LatencyChart<'b>,
    units: f64,
    nf: usize,
    violations_x: i32,
}

impl Rows<'_, '_> {
    /// The y, in row units, of fault profile `fi` in profile `pi`'s block.
    fn y(&self, pi: usize, fi: usize) -> f64 {
        self.units - (pi as f64 * (self.nf as f64 + GAP) + fi as f64 + 0.5)
    }

    /// Profile label, centred on its block of rows; above every block but
    /// the first, a rule.
    fn profile_label(
        &self,
        root: &Area,
        pi: usize,
        p: &Profile,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let label = draw::anchored(draw::bold(16.0), HPos::Left, VPos::Center);
        let sublabel = draw::anchored(draw::font(14.0).color(&MUTED), HPos::Left, VPos::Center);
        let y_mid = (self.y(pi, 0) + self.y(pi, self.nf - 1)) / 2.0;
        let (_, py) = self.throughput.backend_coord(&(0.0, y_mid));
        draw::text(
            root,
            &format!("{} · {}", p.sector, p.use_case),
            (12, py - 9),
            &label,
        )?;
        draw::text(
            root,
            &format!(
                "{} · in-flight {} · {}",
                p.company,
                p.in_flight_text(),
                if p.idempotence {
                    "idempotent"
                } else {
                    "not idempotent"
                }
            ),
            (12, py + 9),
            &sublabel,
        )?;
        if pi > 0 {
            let yb = self.units - (pi as f64 * (self.nf as f64 + GAP)) + GAP / 2.0;
            let (_, by) = self.throughput.backend_coord(&(0.0, yb));
            root.draw(&PathElement::new(
                vec![(8, by), (W as i32 - 10, by)],
                GRID.stroke_width(1),
            ))?;
        }
        Ok(())
    }

    /// One row: what profile `p`'s cells delivered under fault profile
    /// `fi`, in its colour: throughput, p99 latency and violations.
    fn fault_row(
        &self,
        root: &Area,
        m: &Model,
        p: &Profile,
        pi: usize,
        (fi, faults): (usize, &str),
    ) -> Result<(), Box<dyn std::error::Error>> {
        let colour = fault_colour(fi);
        let cells = profile_cells(m, p, faults);
        let y = self.y(pi, fi);
        let meas: Vec<_> = cells.iter().filter_map(|c| c.measured()).collect();
        let rps: Vec<f64> = meas.iter().map(|x| x.rps).collect();
        draw_values(
            root,
            &rps,
            |v| self.throughput.backend_coord(&(v, y)),
            colour,
        )?;
        let p99: Vec<f64> = meas
            .iter()
            .filter_map(|x| x.fixed_load.as_ref()?.p99_us)
            .map(|us| (us.max(1) as f64 / 1000.0).log10())
            .collect();
        draw_values(root, &p99, |v| self.latency.backend_coord(&(v, y)), colour)?;
        let (_, ty) = self.throughput.backend_coord(&(0.0, y));
        let vtext = draw::anchored(draw::font(15.0), HPos::Left, VPos::Center);
        draw::text(
            root,
            &violations_text(m, &cells),
            (self.violations_x, ty),
            &vtext.color(&colour),
        )
    }
}

/// A row's values in one panel: a dot per value and, when there are
/// several, a span from the lowest to the highest under them.
fn draw_values(
    root: &Area,
    vals: &[f64],
    to_px: impl Fn(f64) -> (i32, i32),
    colour: RGBColor,
) -> Result<(), Box<dyn std::error::Error>> {
    if vals.len() > 1 {
        let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        root.draw(&PathElement::new(
            vec![to_px(lo), to_px(hi)],
            colour.mix(0.55).stroke_width(6),
        ))?;
    }
    for v in vals {
        root.draw(&Circle::new(to_px(*v), 5, colour.filled()))?;
    }
    Ok(())
}
