//! `kafka-order-bench verify` (being written).
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {}

pub fn run(_a: VerifyArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("verify is not built yet")
}
