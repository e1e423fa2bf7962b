//! `kafka-order-bench report RESULTS.json [--out DIR]`: the charts and
//! REPORT.md of a results file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kafka_order_bench::report;
use kafka_order_bench::results::Results;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The results file of a run, e.g. reports/<run-id>/results.json.
    pub results: PathBuf,
    /// Directory to write the report into [default: the results file's directory].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(a: ReportArgs) -> anyhow::Result<ExitCode> {
    // Load first: a bad file must fail before anything is created.
    let results = Results::load(&a.results)?;
    let dir = a.out.unwrap_or_else(|| {
        a.results
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    });
    let files = report::render(&results, &dir)?;
    println!("{}", files.summary().display());
    Ok(ExitCode::SUCCESS)
}
