//! `kafka-order-bench cluster up|status|down` (being written).
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum ClusterCommand {
    /// Start the local cluster and print bootstrap.servers=… once it is ready.
    Up {
        #[command(flatten)]
        connect: super::ConnectArgs,
    },
    /// Show each node of the local cluster.
    Status,
    /// Stop every process of the local cluster and remove its data.
    Down,
}

pub fn run(_c: ClusterCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("cluster commands are not built yet")
}
