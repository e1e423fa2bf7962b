//! Command-line arguments and the dispatch to one module per subcommand.

mod cluster;
mod compare;
mod report;
mod run;
mod verify;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Kafka producer throughput and latency against message ordering, on a real cluster.
#[derive(Debug, Parser)]
#[command(
    name = "kafka-order-bench",
    version,
    about,
    after_help = kafka_order_bench::exit::help_text()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start, inspect or stop the local Apache Kafka cluster.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Run the grid: produce, measure and check every cell, then write the report.
    Run(run::RunArgs),
    /// Check any topic written in the documented record format.
    Verify(verify::VerifyArgs),
    /// Render the SVG charts and REPORT.md of a results file.
    Report(report::ReportArgs),
    /// Compare two results files and flag regressions (exit 1 when any).
    Compare(compare::CompareArgs),
}

/// Where to find the cluster: the options every command that talks to Kafka takes.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Use an existing cluster instead of the local one (HOST:PORT,…).
    #[arg(long, env = "KAFKA_BOOTSTRAP_SERVERS", global = true)]
    pub bootstrap: Option<String>,
    /// librdkafka property passed to every client, e.g. -X security.protocol=SASL_SSL (repeatable).
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_property, global = true)]
    pub properties: Vec<(String, String)>,
    /// Brokers of the local cluster.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=9), global = true)]
    pub brokers: u32,
}

fn parse_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!(
            "expected KEY=VALUE, e.g. -X security.protocol=SASL_SSL, got {s:?}"
        )),
    }
}

impl Cli {
    /// Every `-X` property of the command, for redaction.
    pub fn properties(&self) -> Vec<(String, String)> {
        let connect = match &self.command {
            Command::Run(a) => &a.connect,
            Command::Verify(a) => &a.connect,
            Command::Cluster(cluster::ClusterCommand::Up { connect, .. })
            | Command::Cluster(cluster::ClusterCommand::Status { connect }) => connect,
            _ => return Vec::new(),
        };
        connect.properties.clone()
    }

    /// Whether the command stops cleanly on a first Ctrl-C (it polls
    /// `interrupt::requested`), and so wants the signal handler.
    pub fn stops_gracefully(&self) -> bool {
        matches!(
            self.command,
            Command::Run(_) | Command::Cluster(cluster::ClusterCommand::Up { .. })
        )
    }
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Cluster(c) => cluster::run(c),
        Command::Run(a) => run::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Report(a) => report::run(a),
        Command::Compare(a) => compare::run(a),
    }
}
