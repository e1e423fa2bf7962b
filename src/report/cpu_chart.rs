//! `cpu.svg`: what each setting costs the producing client's CPU, in
//! microseconds of CPU time per record acknowledged, against
//! `max.in.flight` (both axes log), one panel per condition (client, fault
//! profile, RTT), one line per (`acks`, idempotence); each bar spans the
//! cell's rounds.

use plotters::prelude::*;

use super::draw::{self, Area, GRID};
use super::lines::{draw_series_line, in_flight_axis, in_flight_label, panels_and_legend, x_of};
use super::model::{Meas, Model};
use super::{fmt, ReportError};

pub fn render(m: &Model) -> Result<Vec<u8>, ReportError> {
    // The conditions with a measured client CPU: the panels.
    let panels = m.conditions_with(|x| x.client_cpu.is_some());
    panels_and_legend(
        m,
        "cpu.svg",
        "The client's CPU per record acknowledged vs max.in.flight, one panel per condition",
        draw::grid(panels.len()),
        460,
        &[
            "Marker: CPU time (user + system) per record over all rounds; bar: the lowest and highest round.".into(),
            "Only the client's threads: librdkafka's and the producing thread (not the proxy, not the suite); the Java client: its driver JVM.".into(),
            "Each panel has its own log axis.".into(),
            "Hollow marker: no fault reached the cell.".into(),
        ],
        |root, areas| {
            for (faults, area) in panels.iter().zip(areas.iter()) {
                panel(root, area, m, faults)?;
            }
            Ok(())
        },
    )
}

/// One condition: each series' CPU per record with its round range.
fn panel(
    root: &Area,
    area: &Area,
    m: &Model,
    faults: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let values: Vec<f64> = m
        .measured_in(faults)
        .flat_map(|(_, x)| {
            x.client_cpu
                .map(|(us, _)| us)
                .into_iter()
                .chain(x.client_cpu_rounds.iter().copied())
        })
        .filter(|v| *v > 0.0)
        .collect();
    let y_axis = draw::log_axis(&values);
    let mut chart = ChartBuilder::on(&area.margin(5, 5, 5, 10))
        .caption(faults, draw::caption_fitting(area, faults, 18.0))
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(in_flight_axis(m), y_axis)?;
    let yfmt = |y: &f64| fmt::sig3(10f64.powf(*y));
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_label_formatter(&in_flight_label)
        .y_label_formatter(&yfmt)
        .label_style(draw::font(15.0))
        .axis_desc_style(draw::font(16.0))
        .x_desc("max.in.flight (log)")
        .y_desc("client CPU µs per record (log)")
        .draw()?;
    for (acks, idem) in super::series_present(m) {
        let mut pts: Vec<(u32, f64, &Meas)> =
            super::lines::series_points(m, faults, acks, idem, |x| {
                x.client_cpu
                    .map_or(f64::NAN, |(us, _)| us.max(1e-3).log10())
            });
        pts.retain(|(_, y, _)| y.is_finite());
        let colour = draw::series_colour(acks, idem);
        for (f, _, x) in &pts {
            let lo = x
                .client_cpu_rounds
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min);
            let hi = x.client_cpu_rounds.iter().copied().fold(0.0, f64::max);
            if lo.is_finite() && lo > 0.0 && hi > 0.0 {
                let xx = x_of(*f, acks, idem);
                let a = chart.backend_coord(&(xx, lo.log10()));
                let b = chart.backend_coord(&(xx, hi.log10()));
                root.draw(&PathElement::new(vec![a, b], colour.stroke_width(1)))?;
            }
        }
        draw_series_line(root, &chart, &pts, acks, idem)?;
    }
    Ok(())
}
