//! Drawing helpers shared by the charts: one visual language everywhere.
//! Colour is idempotence (blue: idempotent, orange: not) with a shade per
//! `acks`; the marker is `acks` (triangle 0, square 1, circle all); a hollow
//! marker is a cell no fault reached.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::grid::Acks;

use super::{fmt, ReportError};

pub type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Font family: generic, so the SVG needs no font file.
pub const FAMILY: &str = "sans-serif";

pub const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub const MUTED: RGBColor = RGBColor(0x66, 0x66, 0x66);
pub const GRID: RGBColor = RGBColor(0xDD, 0xDD, 0xDD);
pub const FRONTIER: RGBColor = RGBColor(0x2C, 0xA0, 0x2C);
/// A change for the worse (comparison).
pub const REGRESSED: RGBColor = RGBColor(0xC8, 0x28, 0x28);
/// A change for the better (comparison).
pub const IMPROVED: RGBColor = RGBColor(0x1E, 0x8C, 0x3C);

/// Renders a chart into SVG bytes.
pub fn svg(
    chart: &'static str,
    size: (u32, u32),
    draw: impl FnOnce(&Area) -> Result<(), Box<dyn std::error::Error>>,
) -> Result<Vec<u8>, ReportError> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        let err = |e: Box<dyn std::error::Error>| ReportError::Draw {
            chart,
            message: e.to_string(),
        };
        root.fill(&WHITE).map_err(|e| err(Box::new(e)))?;
        draw(&root).map_err(err)?;
        root.present().map_err(|e| err(Box::new(e)))?;
    }
    Ok(buf.into_bytes())
}

/// A text style: `size` in plotters units (the SVG font size is size/1.24).
pub fn font(size: f64) -> TextStyle<'static> {
    TextStyle::from((FAMILY, size).into_font()).color(&INK)
}

pub fn bold(size: f64) -> TextStyle<'static> {
    TextStyle::from((FAMILY, size, FontStyle::Bold).into_font()).color(&INK)
}

/// A bold caption of at most `size` px that fits `text` across `area`
/// (measured with the backend's own text metrics), down to 11 px: a long
/// condition name shrinks rather than runs into the next panel.
pub fn caption_fitting(area: &Area, text: &str, size: f64) -> TextStyle<'static> {
    let width = f64::from(area.dim_in_pixel().0) - 8.0;
    let mut s = size;
    while s > 11.0 {
        match area.estimate_text_size(text, &bold(s)) {
            Ok((w, _)) if f64::from(w) > width => s -= 1.0,
            _ => break,
        }
    }
    bold(s)
}

pub fn anchored<'s>(style: TextStyle<'s>, h: HPos, v: VPos) -> TextStyle<'s> {
    style.pos(Pos::new(h, v))
}

/// Draws text at absolute pixel coordinates.
pub fn text(
    root: &Area,
    s: &str,
    at: (i32, i32),
    style: &TextStyle<'_>,
) -> Result<(), Box<dyn std::error::Error>> {
    root.draw(&Text::new(s.to_string(), at, style.clone()))?;
    Ok(())
}

/// The series colour of (`acks`, idempotence).
pub fn series_colour(acks: Acks, idem: bool) -> RGBColor {
    match (idem, acks) {
        (true, Acks::Zero) => RGBColor(0x6B, 0xAE, 0xD6),
        (true, Acks::One) => RGBColor(0x21, 0x71, 0xB5),
        (true, Acks::All) => RGBColor(0x08, 0x30, 0x6B),
        (false, Acks::Zero) => RGBColor(0xFD, 0x8D, 0x3C),
        (false, Acks::One) => RGBColor(0xD9, 0x48, 0x01),
        (false, Acks::All) => RGBColor(0x7F, 0x27, 0x04),
    }
}

/// Index of a series in a fixed order, for small offsets that keep markers apart.
pub fn series_index(acks: Acks, idem: bool) -> usize {
    let a = match acks {
        Acks::Zero => 0,
        Acks::One => 1,
        Acks::All => 2,
    };
    a + if idem { 3 } else { 0 }
}

/// Draws the marker of `acks` centred at absolute pixel `at`.
pub fn marker(
    root: &Area,
    at: (i32, i32),
    acks: Acks,
    colour: RGBColor,
    filled: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let style = if filled {
        colour.filled()
    } else {
        WHITE.filled()
    };
    let outline = colour.stroke_width(2);
    let (x, y) = at;
    match acks {
        Acks::Zero => {
            let pts = vec![(x, y - 7), (x - 7, y + 5), (x + 7, y + 5)];
            root.draw(&Polygon::new(pts.clone(), style))?;
            let mut closed = pts.clone();
            closed.push(pts[0]);
            root.draw(&PathElement::new(closed, outline))?;
        }
        Acks::One => {
            root.draw(&Rectangle::new([(x - 5, y - 5), (x + 5, y + 5)], style))?;
            root.draw(&Rectangle::new([(x - 5, y - 5), (x + 5, y + 5)], outline))?;
        }
        Acks::All => {
            root.draw(&Circle::new((x, y), 6, style))?;
            root.draw(&Circle::new((x, y), 6, outline))?;
        }
    }
    Ok(())
}

/// A legend entry for every (`acks`, idempotence) pair present, one per line,
/// starting at `at`; returns the y below the last line.
pub fn series_legend(
    root: &Area,
    at: (i32, i32),
    series: &[(Acks, bool)],
    notes: &dyn Fn(Acks, bool) -> Option<String>,
) -> Result<i32, Box<dyn std::error::Error>> {
    let (x, mut y) = at;
    let label = anchored(font(17.0), HPos::Left, VPos::Center);
    let note = anchored(font(14.0).color(&MUTED), HPos::Left, VPos::Center);
    for &(acks, idem) in series {
        let c = series_colour(acks, idem);
        root.draw(&PathElement::new(
            vec![(x, y), (x + 26, y)],
            c.stroke_width(2),
        ))?;
        marker(root, (x + 13, y), acks, c, true)?;
        text(
            root,
            &super::model::series_text(acks, idem),
            (x + 34, y),
            &label,
        )?;
        if let Some(n) = notes(acks, idem) {
            y += 17;
            text(root, &n, (x + 34, y), &note)?;
        }
        y += 24;
    }
    Ok(y)
}

/// Text lines in the legend column, wrapped at `width_chars`; returns the y below.
pub fn legend_lines(
    root: &Area,
    at: (i32, i32),
    lines: &[String],
    width_chars: usize,
) -> Result<i32, Box<dyn std::error::Error>> {
    let (x, mut y) = at;
    let style = anchored(font(14.0).color(&MUTED), HPos::Left, VPos::Center);
    for line in lines {
        for part in wrap(line, width_chars) {
            text(root, &part, (x, y), &style)?;
            y += 17;
        }
        y += 4;
    }
    Ok(y)
}

/// Greedy word wrap.
pub fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

/// Ticks for a log10 axis between `lo` and `hi` (values, not logs): the
/// 1-2-5 sequence when the span is short, decades when it is long.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let steps: &[f64] = if b - a <= 3 { &[1.0, 2.0, 5.0] } else { &[1.0] };
    let mut out = Vec::new();
    for e in a..=b {
        for s in steps {
            let v = s * 10f64.powi(e);
            if v >= lo * 0.999 && v <= hi * 1.001 {
                out.push(v);
            }
        }
    }
    out
}

/// A linear f64 axis whose ticks are exactly the given values (plotters'
/// `WithKeyPoints` over f64 has no label formatter; this one uses ours).
#[derive(Debug, Clone)]
pub struct Keyed {
    range: std::ops::Range<f64>,
    keys: Vec<f64>,
}

impl Keyed {
    pub fn new(range: std::ops::Range<f64>, keys: Vec<f64>) -> Keyed {
        Keyed { range, keys }
    }
}

impl plotters::coord::ranged1d::Ranged for Keyed {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let (a, b) = (self.range.start, self.range.end);
        if a == b {
            return (limit.0 + limit.1) / 2;
        }
        let t = (v - a) / (b - a);
        let len = (limit.1 - limit.0) as f64;
        limit.0 + (len * t).round() as i32
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        // Only bold lines: light ones would fall between our chosen ticks.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.keys.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.clone()
    }
}

/// A log10 axis over `values` (all > 0), in log10 units: bounds on the
/// 1-2-5 sequence just outside the data, at least a decade apart, with
/// their ticks; 0.1 to 10 without values.
pub fn log_axis(values: &[f64]) -> Keyed {
    let (lo, hi) = if values.is_empty() {
        (0.1, 10.0)
    } else {
        (
            values.iter().copied().fold(f64::INFINITY, f64::min),
            values.iter().copied().fold(0.0, f64::max),
        )
    };
    let (ylo, yhi) = (
        nice_below(lo).log10(),
        nice_above(hi.max(lo * 10.0)).log10(),
    );
    let keys = log_ticks(10f64.powf(ylo), 10f64.powf(yhi))
        .iter()
        .map(|v| v.log10())
        .collect();
    Keyed::new(ylo..yhi, keys)
}

/// The largest 1-2-5 value at or below `v` (v > 0).
pub fn nice_below(v: f64) -> f64 {
    let e = 10f64.powi(v.log10().floor() as i32);
    [5.0, 2.0, 1.0]
        .iter()
        .map(|s| s * e)
        .find(|t| *t <= v * 1.0001)
        .unwrap_or(e)
}

/// The smallest 1-2-5 value at or above `v` (v > 0).
pub fn nice_above(v: f64) -> f64 {
    let e = 10f64.powi(v.log10().floor() as i32);
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|s| s * e)
        .find(|t| *t >= v * 0.9999)
        .unwrap_or(10.0 * e)
}

/// A panel's chart with throughput (records/s) up.
pub type ThroughputChart<'b> = ChartContext<'b, SVGBackend<'b>, Cartesian2d<Keyed, RangedCoordf64>>;

/// The chart of a panel with throughput up (records/s, 0 to `y_max`) and
/// `x` across, its caption and mesh drawn: the panels of `throughput.svg`
/// and `tradeoff.svg`.
pub fn throughput_chart<'b>(
    area: &Area<'b>,
    caption: String,
    x: Keyed,
    x_label: &dyn Fn(&f64) -> String,
    x_desc: &str,
    y_max: f64,
) -> Result<ThroughputChart<'b>, Box<dyn std::error::Error>> {
    let style = caption_fitting(area, &caption, 20.0);
    let mut chart = ChartBuilder::on(&area.margin(5, 5, 10, 20))
        .caption(caption, style)
        .x_label_area_size(55)
        .y_label_area_size(90)
        .build_cartesian_2d(x, 0.0..y_max)?;
    let yfmt = |y: &f64| fmt::compact(*y);
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_label_formatter(x_label)
        .y_label_formatter(&yfmt)
        .y_labels(6)
        .label_style(font(16.0))
        .axis_desc_style(font(17.0))
        .x_desc(x_desc)
        .y_desc("throughput (records/s)")
        .draw()?;
    Ok(chart)
}

/// A dashed straight line from `a` to `b` (8 px on, 6 px off).
pub fn dashed(
    root: &Area,
    a: (i32, i32),
    b: (i32, i32),
    colour: RGBColor,
) -> Result<(), Box<dyn std::error::Error>> {
    let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
    let len = (dx * dx + dy * dy).sqrt();
    if len < 1.0 {
        return Ok(());
    }
    let (on, period) = (8.0, 14.0);
    let mut t = 0.0;
    while t < len {
        let e = (t + on).min(len);
        let p = |d: f64| {
            (
                a.0 + (dx * d / len).round() as i32,
                a.1 + (dy * d / len).round() as i32,
            )
        };
        root.draw(&PathElement::new(vec![p(t), p(e)], colour.stroke_width(1)))?;
        t += period;
    }
    Ok(())
}

/// The panels' layout for `n` panels: at most three columns, as many rows
/// as they need; `(rows, cols)`, at least one of each.
pub fn grid(n: usize) -> (usize, usize) {
    let n = n.max(1);
    let cols = n.min(3);
    (n.div_ceil(cols), cols)
}
