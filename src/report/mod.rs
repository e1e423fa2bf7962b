//! The report stage: SVG charts and the Markdown summary of a run.
//!
//! [`render`] reads a [`Results`] and writes `tradeoff.svg`,
//! `throughput.svg`, `latency.svg`, `violations.svg`, `profiles.svg`, `cpu.svg` and
//! `REPORT.md` into a directory. Each file comes from an [`Exporter`]; all
//! of them are rendered in memory first, so a failure leaves nothing behind,
//! then written into a temporary directory and moved into place.
//!
//! Output is deterministic: the same results give the same bytes. Nothing
//! reads the clock, iterates a hash map or depends on installed fonts (text
//! is SVG `<text>` in the generic `sans-serif` family).

mod caveats;
mod conclusion;
mod cpu_chart;
mod decision;
mod depth;
pub(crate) mod draw;
pub(crate) mod fmt;
mod heatmap;
mod lines;
mod markdown;
pub(crate) mod markup;
mod model;
mod network;
pub mod profiles;
mod profiles_chart;
mod text;
mod tradeoff;

use std::path::{Path, PathBuf};

use crate::grid::Acks;
use crate::results::{Results, ResultsError};

pub use model::Model;

/// Errors making a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Results(#[from] ResultsError),
    #[error("cannot write report into {path}: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot draw {chart}: {message}")]
    Draw {
        chart: &'static str,
        message: String,
    },
}

/// What a report wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFiles {
    /// The directory the files are in.
    pub dir: PathBuf,
    /// Every file written, in exporter order.
    pub files: Vec<PathBuf>,
}

impl ReportFiles {
    /// Path of `REPORT.md`.
    pub fn summary(&self) -> PathBuf {
        self.dir.join("REPORT.md")
    }
}

/// One output file of a report.
pub trait Exporter {
    /// Name of the file in the report directory.
    fn file_name(&self) -> &'static str;
    /// The file's bytes.
    fn export(&self, model: &Model) -> Result<Vec<u8>, ReportError>;
}

/// An exporter from a file name and a function.
struct FnExporter(&'static str, fn(&Model) -> Result<Vec<u8>, ReportError>);

impl Exporter for FnExporter {
    fn file_name(&self) -> &'static str {
        self.0
    }
    fn export(&self, model: &Model) -> Result<Vec<u8>, ReportError> {
        (self.1)(model)
    }
}

/// The exporters of a full report, in the order REPORT.md embeds their charts.
pub fn exporters() -> Vec<Box<dyn Exporter>> {
    vec![
        Box::new(FnExporter("tradeoff.svg", tradeoff::render)),
        Box::new(FnExporter("throughput.svg", lines::render_throughput)),
        Box::new(FnExporter("latency.svg", lines::render_latency)),
        Box::new(FnExporter("violations.svg", heatmap::render)),
        Box::new(FnExporter("profiles.svg", profiles_chart::render)),
        Box::new(FnExporter("cpu.svg", cpu_chart::render)),
        Box::new(FnExporter("REPORT.md", |m| {
            Ok(markdown::render(m).into_bytes())
        })),
    ]
}

/// Renders the full report of `results` into `out_dir` (created if missing).
pub fn render(results: &Results, out_dir: &Path) -> Result<ReportFiles, ReportError> {
    render_with(results, out_dir, &exporters())
}

/// Loads a results file and renders its report beside it.
pub fn render_default(results_path: &Path) -> Result<ReportFiles, ReportError> {
    let results = Results::load(results_path)?;
    let dir = results_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    render(&results, dir)
}

/// Renders the files of the given exporters into `out_dir`.
pub fn render_with(
    results: &Results,
    out_dir: &Path,
    exporters: &[Box<dyn Exporter>],
) -> Result<ReportFiles, ReportError> {
    let model = Model::new(results);
    let mut files = Vec::with_capacity(exporters.len());
    for e in exporters {
        files.push((e.file_name(), e.export(&model)?));
    }
    write_files(out_dir, &files)
}

/// Writes every file into a temporary directory beside (or inside) `out_dir`,
/// then moves them into place: a new directory appears whole, an existing
/// one gets whole files, and an error leaves no partial file behind.
fn write_files(out_dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<ReportFiles, ReportError> {
    let werr = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| ReportError::Write { path, cause }
    };
    let existed = out_dir.is_dir();
    let staging_parent = if existed {
        out_dir.to_path_buf()
    } else {
        let parent = out_dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        // Errors name the directory the user gave, not its parent.
        std::fs::create_dir_all(&parent).map_err(werr(out_dir))?;
        parent
    };
    let staging = tempfile::Builder::new()
        .prefix(".report-")
        .tempdir_in(&staging_parent)
        .map_err(werr(out_dir))?;
    for (name, bytes) in files {
        let p = staging.path().join(name);
        let mut f = std::fs::File::create(&p).map_err(werr(&p))?;
        std::io::Write::write_all(&mut f, bytes).map_err(werr(&p))?;
        f.sync_all().map_err(werr(&p))?;
    }
    let written: Vec<PathBuf> = files.iter().map(|(n, _)| out_dir.join(n)).collect();
    if !existed && std::fs::rename(staging.path(), out_dir).is_ok() {
        // The staging directory is now the report directory: keep it.
        let _ = staging.keep();
    } else {
        std::fs::create_dir_all(out_dir).map_err(werr(out_dir))?;
        for (name, _) in files {
            let to = out_dir.join(name);
            std::fs::rename(staging.path().join(name), &to).map_err(werr(&to))?;
        }
    }
    Ok(ReportFiles {
        dir: out_dir.to_path_buf(),
        files: written,
    })
}

/// The (`acks`, idempotence) pairs with at least one cell, in legend order.
fn series_present(m: &Model) -> Vec<(Acks, bool)> {
    let mut out = Vec::new();
    for &idem in m.idems.iter().rev() {
        for &acks in m.acks.iter().rev() {
            if m.cells
                .iter()
                .any(|c| c.settings.acks == acks && c.settings.idempotence == idem)
            {
                out.push((acks, idem));
            }
        }
    }
    out
}

/// Every chart's title and, under it, the line saying which run it shows.
fn header(root: &draw::Area, m: &Model, title: &str) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::style::text_anchor::{HPos, VPos};
    draw::text(
        root,
        title,
        (20, 24),
        &draw::anchored(draw::bold(28.0), HPos::Left, VPos::Center),
    )?;
    draw::text(
        root,
        &subtitle(m),
        (20, 54),
        &draw::anchored(
            draw::font(16.0).color(&draw::MUTED),
            HPos::Left,
            VPos::Center,
        ),
    )
}

/// One line under every chart title: which run, client, cluster and workload.
fn subtitle(m: &Model) -> String {
    let run = &m.results.run;
    format!(
        "run {} · librdkafka {} · Apache Kafka {}, {} broker{} · {} rounds × {} windows, {} B records · seed {}",
        run.run_id,
        run.librdkafka_version,
        run.cluster.broker_version.as_deref().unwrap_or("(version unknown)"),
        run.cluster.brokers,
        if run.cluster.brokers == 1 { "" } else { "s" },
        run.workload.fixed.rounds,
        run.workload.fixed.windows,
        run.workload.fixed.record_bytes,
        run.workload.seed
    )
}
