//! `kafka-order-bench report` (being written).
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {}

pub fn run(_a: ReportArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("report is not built yet")
}
