//! `kafka-order-bench run`: the grid on a cluster, a results file and a report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use kafka_order_bench::cluster::{Cluster, MockCluster};
use kafka_order_bench::faults::FaultProfile;
use kafka_order_bench::grid::{Acks, Compression, Workload};
use kafka_order_bench::preflight::{self, Preflight};
use kafka_order_bench::progress::Bar;
use kafka_order_bench::record::KeyDistribution;
use kafka_order_bench::results::{self, CellResult, Outcome};
use kafka_order_bench::suite::{self, Progress};
use kafka_order_bench::{exit, interrupt, redact};

use super::ConnectArgs;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// What the cells run on: kafka (the local cluster, the `cluster up`
    /// one, or --bootstrap), or mock: librdkafka's in-process mock cluster,
    /// for tests; its numbers are not results (the mock ignores acks and
    /// does not check idempotent sequences).
    #[arg(long, value_enum, default_value_t = ClusterArg::Kafka)]
    pub cluster: ClusterArg,
    /// Workload file (TOML); see workloads/default.toml.
    #[arg(long, value_name = "FILE")]
    pub workload: Option<PathBuf>,
    /// The reduced grid for smoke runs and CI (12 cells, 20,000 records each).
    #[arg(long, conflicts_with = "workload")]
    pub quick: bool,
    /// Directory under which the run's report directory is created.
    #[arg(long, default_value = "reports", value_name = "DIR")]
    pub out: PathBuf,
    /// Fault profile (repeatable), e.g. none, reject:1%, lose-ack:1%, failover.
    #[arg(long = "faults", value_name = "PROFILE", value_parser = parse_profile)]
    pub faults: Vec<FaultProfile>,
    /// Seed of the fault schedules.
    #[arg(long)]
    pub seed: Option<u64>,
    /// max.in.flight values, comma-separated.
    #[arg(long = "in-flight", value_delimiter = ',', value_name = "N,…")]
    pub in_flight: Vec<u32>,
    /// acks values, comma-separated (0, 1, all).
    #[arg(long, value_delimiter = ',', value_name = "ACKS,…", value_parser = parse_acks)]
    pub acks: Vec<Acks>,
    /// Producer clients, comma-separated: librdkafka, java, java:VERSION (e.g. java:3.9.1,java:4.1.1).
    #[arg(long = "client", value_delimiter = ',', value_name = "CLIENT,…", value_parser = parse_client)]
    pub clients: Vec<kafka_order_bench::grid::Client>,
    /// enable.idempotence values, comma-separated (false, true).
    #[arg(long, value_delimiter = ',', value_name = "BOOL,…")]
    pub idempotence: Vec<bool>,
    /// Emulated client↔broker round-trip times, comma-separated (e.g. 0,2ms,20ms): an axis.
    #[arg(long = "rtt", value_delimiter = ',', value_name = "RTT,…", value_parser = parse_rtt)]
    pub rtt: Vec<u64>,
    /// Round-trip times at which fault profiles other than none run (default: the workload's).
    #[arg(long = "fault-rtt", value_delimiter = ',', value_name = "RTT,…", value_parser = parse_rtt)]
    pub fault_rtt: Vec<u64>,
    /// Bandwidth of every emulated link, Mbit/s per direction.
    #[arg(long, value_name = "MBIT", value_parser = parse_bandwidth)]
    pub bandwidth_mbit: Option<f64>,
    /// Jitter per frame on every emulated link (never reorders a connection), e.g. 1ms.
    #[arg(long, value_name = "RTT", value_parser = parse_rtt)]
    pub jitter: Option<u64>,
    /// Connect producers straight to the brokers: no proxy, so no emulated
    /// network and only the none/failover profiles.
    #[arg(long)]
    pub direct: bool,
    /// Interleaved rounds over the grid.
    #[arg(long)]
    pub rounds: Option<u32>,
    /// Timed windows per cell and round.
    #[arg(long)]
    pub windows: Option<u32>,
    /// Bytes per record value.
    #[arg(long)]
    pub record_bytes: Option<usize>,
    /// linger.ms
    #[arg(long)]
    pub linger_ms: Option<u32>,
    /// batch.size in bytes.
    #[arg(long)]
    pub batch_bytes: Option<u32>,
    /// compression.type (none, gzip, snappy, lz4, zstd).
    #[arg(long, value_parser = parse_compression)]
    pub compression: Option<Compression>,
    /// Partitions per cell topic.
    #[arg(long)]
    pub partitions: Option<u32>,
    /// Producers per cell, each its own client instance (one stream per producer and partition).
    #[arg(long)]
    pub producers: Option<u32>,
    /// Keyed records: N keys, drawn uniform (default) or zipf (N:zipf); a key's partition is its index mod partitions.
    #[arg(long, value_name = "N[:uniform|zipf]", value_parser = parse_keys)]
    pub keys: Option<(u64, KeyDistribution)>,
    /// Rate of the fixed-load latency phase, records/s (default: a fraction of the slowest cell's throughput).
    #[arg(long)]
    pub rate: Option<u64>,
    /// Duration of the fixed-load latency phase per cell, ms (0 skips it).
    #[arg(long)]
    pub latency_ms: Option<u32>,
    /// Skip the SVG/Markdown report.
    #[arg(long)]
    pub no_report: bool,
}

/// The value of `--cluster`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClusterArg {
    /// Apache Kafka: local, `cluster up`'s, or --bootstrap.
    Kafka,
    /// librdkafka's in-process mock cluster: for tests, never results.
    Mock,
}

fn parse_profile(s: &str) -> Result<FaultProfile, String> {
    s.parse()
}
fn parse_acks(s: &str) -> Result<Acks, String> {
    s.parse()
}
fn parse_keys(s: &str) -> Result<(u64, KeyDistribution), String> {
    let (n, d) = s.split_once(':').unwrap_or((s, "uniform"));
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{n:?} is not a key count (N or N:uniform or N:zipf)"))?;
    Ok((n, d.parse()?))
}
fn parse_compression(s: &str) -> Result<Compression, String> {
    s.parse()
}
fn parse_client(s: &str) -> Result<kafka_order_bench::grid::Client, String> {
    s.parse()
}
fn parse_rtt(s: &str) -> Result<u64, String> {
    kafka_order_bench::grid::parse_rtt(s)
}
fn parse_bandwidth(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!(
            "bandwidth {s:?} must be a number of Mbit/s above 0"
        )),
    }
}

impl RunArgs {
    /// The workload: the file or a built-in grid, then every flag on top.
    pub fn workload(&self) -> anyhow::Result<Workload> {
        let mut w = match (&self.workload, self.quick) {
            (Some(path), _) => Workload::from_file(path)?,
            (None, true) => Workload::quick(),
            (None, false) => Workload::default(),
        };
        if !self.faults.is_empty() {
            w.faults = self.faults.clone();
        }
        if let Some(s) = self.seed {
            w.seed = s;
        }
        if !self.in_flight.is_empty() {
            w.axes.max_in_flight = self.in_flight.clone();
        }
        if !self.acks.is_empty() {
            w.axes.acks = self.acks.clone();
        }
        if !self.clients.is_empty() {
            w.axes.clients = self.clients.clone();
        }
        if !self.idempotence.is_empty() {
            w.axes.idempotence = self.idempotence.clone();
        }
        let us_to_ms = |us: &u64| *us as f64 / 1e3;
        if !self.rtt.is_empty() {
            w.network.rtt_ms = self.rtt.iter().map(us_to_ms).collect();
        }
        if !self.fault_rtt.is_empty() {
            w.network.fault_rtt_ms = self.fault_rtt.iter().map(us_to_ms).collect();
        }
        if let Some(b) = self.bandwidth_mbit {
            w.network.bandwidth_mbit = b;
        }
        if let Some(j) = self.jitter {
            w.network.jitter_ms = us_to_ms(&j);
        }
        let f = &mut w.fixed;
        f.rounds = self.rounds.unwrap_or(f.rounds);
        f.windows = self.windows.unwrap_or(f.windows);
        f.latency_ms = self.latency_ms.unwrap_or(f.latency_ms);
        f.record_bytes = self.record_bytes.unwrap_or(f.record_bytes);
        f.linger_ms = self.linger_ms.unwrap_or(f.linger_ms);
        f.batch_bytes = self.batch_bytes.unwrap_or(f.batch_bytes);
        f.compression = self.compression.unwrap_or(f.compression);
        f.partitions = self.partitions.unwrap_or(f.partitions);
        f.producers = self.producers.unwrap_or(f.producers);
        if let Some((keys, distribution)) = self.keys {
            f.keys = keys;
            f.key_distribution = distribution;
        }
        f.rate_per_sec = self.rate.unwrap_or(f.rate_per_sec);
        w.validate()?;
        Ok(w)
    }
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let workload = args.workload()?;
    check_route(&args, &workload)?;
    let cells = workload.cells().len();
    let mut progress = Bar::new(cells);
    let cluster = connect(&args, &workload, &mut progress)?;
    let options = suite::RunOptions {
        route: if args.direct {
            kafka_order_bench::path::Route::Direct
        } else {
            kafka_order_bench::path::Route::Proxy
        },
        filter: Vec::new(),
    };
    let (results, path) = suite::run_workload_with(
        cluster.as_ref(),
        &workload,
        &args.out,
        kafka_order_bench::results::Driver::Cli,
        &options,
        &mut progress,
    )?;
    drop(progress);
    drop(cluster);

    if results.cells.is_empty() {
        anyhow::bail!("interrupted before the first cell finished: nothing was written");
    }
    println!("{}", summary_table(&results.cells));
    println!("results: {}", path.display());
    if !args.no_report {
        let dir = path.parent().expect("results live in a run directory");
        kafka_order_bench::report::render(&results, dir)
            .with_context(|| format!("writing the report into {}", dir.display()))?;
        println!("report:  {}", dir.join("REPORT.md").display());
    }
    if results.run.cluster.kind == results::ClusterKind::Mock {
        eprintln!("measured on librdkafka's mock cluster: these numbers are not results");
    }
    if !results.complete {
        let signal = interrupt::requested().unwrap_or(interrupt::Signal::Interrupt);
        eprintln!(
            "run {}: {} of {} cells saved in {}",
            signal.word(),
            results.cells.len(),
            cells,
            path.display()
        );
        return Ok(ExitCode::from(signal.exit_code() as u8));
    }
    Ok(exit_status(&results.cells))
}

/// Success, or [`exit::DEGRADED_OR_FAILED`] when a cell failed or was
/// measured on a degraded cluster (each is named on stderr).
fn exit_status(cells: &[CellResult]) -> ExitCode {
    let failed = cells
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Failed { .. }))
        .count();
    let degraded: Vec<&CellResult> = cells
        .iter()
        .filter(|c| c.measurement().is_some_and(|m| m.conditions.degraded()))
        .collect();
    for c in &degraded {
        if let Some(m) = c.measurement() {
            let spans: Vec<String> = m
                .conditions
                .degraded
                .iter()
                .map(|d| d.to_string())
                .collect();
            eprintln!(
                "{}: measured while the cluster was degraded: {}",
                c.id,
                spans.join("; ")
            );
        }
    }
    if failed > 0 || !degraded.is_empty() {
        eprintln!(
            "{failed} of {} cells failed and {} were measured on a degraded cluster (exit status {})",
            cells.len(),
            degraded.len(),
            exit::DEGRADED_OR_FAILED
        );
        return ExitCode::from(exit::DEGRADED_OR_FAILED as u8);
    }
    ExitCode::SUCCESS
}

/// The cluster `args` name, after the checks that need no cluster.
fn connect(
    args: &RunArgs,
    workload: &Workload,
    progress: &mut dyn Progress,
) -> anyhow::Result<Box<dyn Cluster>> {
    let c = &args.connect;
    if args.cluster == ClusterArg::Mock {
        return connect_mock(args, workload);
    }
    let running_local = match &c.bootstrap {
        Some(_) => false,
        None => kafka_order_bench::cluster::daemon::running_local_bootstrap()?.is_some(),
    };
    let needs_local_cluster = c.bootstrap.is_none() && !running_local;
    let rf = kafka_order_bench::cluster::replication_factor(c.brokers) as u32;
    preflight::check(&Preflight {
        out_dir: Some(&args.out),
        workload: Some(workload),
        properties: &c.properties,
        bootstrap: c.bootstrap.as_deref(),
        needs_local_cluster,
        broker_bytes: Some(preflight::estimate_broker_bytes(workload, rf)),
        ..Preflight::default()
    })?;
    Ok(suite::connect_for_workload(
        c.bootstrap.as_deref(),
        &c.properties,
        c.brokers,
        workload,
        progress,
    )?)
}

/// librdkafka's mock cluster, in this process: no broker to reach, no
/// node to kill, no Java client.
fn connect_mock(args: &RunArgs, workload: &Workload) -> anyhow::Result<Box<dyn Cluster>> {
    let c = &args.connect;
    if let Some(b) = &c.bootstrap {
        anyhow::bail!("--cluster mock runs in this process, but --bootstrap (or KAFKA_BOOTSTRAP_SERVERS) names {b} (hint: drop one of them)");
    }
    if let Some(f) = workload.faults.iter().find(|f| f.needs_failover()) {
        anyhow::bail!("--cluster mock cannot inject {f}: it needs a local cluster whose nodes this process can kill (hint: drop that profile)");
    }
    suite::check_clients(results::ClusterKind::Mock, workload)?;
    preflight::check(&Preflight {
        out_dir: Some(&args.out),
        workload: Some(workload),
        properties: &c.properties,
        ..Preflight::default()
    })?;
    eprintln!("on librdkafka's mock cluster: for tests only, its numbers are not results");
    Ok(Box::new(MockCluster::start(c.brokers, &c.properties)?))
}

/// The proxy (network emulation, proxy faults) reads Kafka's wire protocol:
/// refuse, before anything starts, what it cannot carry.
fn check_route(args: &RunArgs, workload: &Workload) -> anyhow::Result<()> {
    let n = &workload.network;
    let shaped = n.emulates();
    let proxy_faults = workload.faults.iter().find(|f| f.needs_proxy());
    let protocol = args
        .connect
        .properties
        .iter()
        .rev()
        .find(|(k, _)| k == "security.protocol")
        .map(|(_, v)| v.as_str());
    if !args.direct {
        kafka_order_bench::path::proxy_can_carry(protocol)?;
    }
    if let Some(r) = n.replication_rtt_ms {
        if args.direct || args.connect.bootstrap.is_some() {
            anyhow::bail!(
                "network.replication_rtt_ms {r}: replication links are emulated only on the local cluster this suite starts (hint: drop --bootstrap and --direct, or unset replication_rtt_ms)"
            );
        }
    }
    if args.direct {
        if shaped {
            anyhow::bail!(
                "--direct cannot emulate RTT {:?} ms, jitter {} ms or bandwidth {} Mbit/s (hint: --rtt 0, or drop --direct)",
                n.rtt_ms,
                n.jitter_ms,
                n.bandwidth_mbit
            );
        }
        if let Some(f) = proxy_faults {
            anyhow::bail!("--direct cannot inject {f}: it needs the proxy (hint: only none/failover with --direct)");
        }
    }
    Ok(())
}

/// One line per cell: what an engineer reads before opening the report.
pub fn summary_table(cells: &[CellResult]) -> String {
    let mut out = format!(
        "{:<52} {:>10} {:>8} {:>8} {:>7} {:>7} {:>10}\n",
        "cell", "records/s", "p50 ms", "p99 ms", "faults", "resent", "violations"
    );
    for c in cells {
        let line = match &c.outcome {
            Outcome::Measured(m) => format!(
                "{:<52} {:>10.0} {:>8.1} {:>8.1} {:>7} {:>7} {:>10}",
                c.id,
                m.throughput.records_per_sec,
                m.latency.p50_us as f64 / 1000.0,
                m.latency.p99_us as f64 / 1000.0,
                m.exposure.total_faults(),
                m.exposure.records_resent,
                m.verdict.violations(),
            ),
            Outcome::Rejected { message } => {
                format!("{:<52} rejected: {}", c.id, redact::scrub(message))
            }
            Outcome::Failed { message } => {
                format!("{:<52} FAILED: {}", c.id, redact::scrub(message))
            }
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}
