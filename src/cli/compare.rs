//! `kafka-order-bench compare` (being written).
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct CompareArgs {}

pub fn run(_a: CompareArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("compare is not built yet")
}
