//! `kafka-order-bench cluster up|status|down`: the detached local cluster
//! (see `cluster::daemon`).

use std::process::ExitCode;

use std::time::Duration;

use kafka_order_bench::cluster::{self, daemon, LocalOptions, NodeStatus};

/// How long `--bootstrap` may take to answer before it is reported unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, clap::Subcommand)]
pub enum ClusterCommand {
    /// Start the local cluster and print bootstrap.servers=… once it is ready.
    ///
    /// The nodes keep running after the command returns; `cluster down`
    /// stops them. Data and logs live in $KOB_CACHE_DIR/local-cluster
    /// (default ~/.cache/kafka-order-bench/local-cluster).
    Up {
        #[command(flatten)]
        connect: super::ConnectArgs,
        /// Maximum heap of each node's JVM, in MiB.
        #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(128..=16384))]
        heap_mb: u32,
    },
    /// Show each node of the local cluster (exit 1 when none runs or a node is
    /// down); with --bootstrap, check an external cluster instead.
    Status {
        #[command(flatten)]
        connect: super::ConnectArgs,
    },
    /// Stop every process of the local cluster and remove its data.
    Down,
}

pub fn run(c: ClusterCommand) -> anyhow::Result<ExitCode> {
    match c {
        ClusterCommand::Up { connect, heap_mb } => up(connect, heap_mb),
        ClusterCommand::Status { connect } => match connect.bootstrap {
            Some(b) => external_status(&b, &connect.properties),
            None => status(),
        },
        ClusterCommand::Down => down(),
    }
}

fn up(connect: super::ConnectArgs, heap_mb: u32) -> anyhow::Result<ExitCode> {
    if let Some(b) = &connect.bootstrap {
        anyhow::bail!(
            "`cluster up` starts a local cluster, but --bootstrap (or KAFKA_BOOTSTRAP_SERVERS) names {b} (hint: unset it, or use that cluster without `cluster up`)"
        );
    }
    let cache = cluster::cache_dir();
    kafka_order_bench::preflight::check(&kafka_order_bench::preflight::Preflight {
        properties: &connect.properties,
        needs_local_cluster: true,
        cache_dir: Some(&cache),
        ..Default::default()
    })?;
    let outcome = daemon::up(LocalOptions {
        brokers: connect.brokers,
        heap_mb,
        properties: connect.properties,
        ..LocalOptions::default()
    })?;
    let state = outcome.state();
    if let daemon::UpOutcome::AlreadyRunning(_) = outcome {
        eprintln!("a local cluster is already running; `kafka-order-bench cluster down` stops it");
    } else {
        println!(
            "local cluster ready: Apache Kafka {}, {} nodes, data and logs in {}",
            state.broker_version.as_deref().unwrap_or("?"),
            state.nodes.len(),
            state.data_dir.display()
        );
    }
    if let Some((_, nodes)) = daemon::status(&cluster::cache_dir())? {
        print_nodes(&nodes);
    }
    println!("bootstrap.servers={}", state.bootstrap);
    Ok(ExitCode::SUCCESS)
}

fn status() -> anyhow::Result<ExitCode> {
    let Some((state, nodes)) = daemon::status(&cluster::cache_dir())? else {
        println!("no local cluster is running (start one with `kafka-order-bench cluster up`)");
        return Ok(ExitCode::from(1));
    };
    let alive = nodes.iter().filter(|n| n.alive).count();
    println!(
        "local cluster: Apache Kafka {}, {alive} of {} nodes running{}, data and logs in {}",
        state.broker_version.as_deref().unwrap_or("?"),
        nodes.len(),
        if state.ready {
            ""
        } else {
            " (never became ready)"
        },
        state.data_dir.display()
    );
    print_nodes(&nodes);
    if alive > 0 {
        match cluster::ExternalCluster::connect(&state.bootstrap, &[], Duration::from_secs(5)) {
            Ok(c) => println!(
                "brokers registered: {} of {}",
                cluster::Cluster::brokers(&c),
                nodes.len()
            ),
            Err(e) => println!("brokers registered: unknown ({e})"),
        }
    }
    println!("bootstrap.servers={}", state.bootstrap);
    Ok(if alive == nodes.len() && state.ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn external_status(bootstrap: &str, properties: &[(String, String)]) -> anyhow::Result<ExitCode> {
    let c = cluster::ExternalCluster::connect(bootstrap, properties, CONNECT_TIMEOUT)?;
    println!(
        "external cluster: {} broker(s) registered",
        cluster::Cluster::brokers(&c)
    );
    println!("bootstrap.servers={}", cluster::Cluster::bootstrap(&c));
    Ok(ExitCode::SUCCESS)
}

fn down() -> anyhow::Result<ExitCode> {
    match daemon::down(&cluster::cache_dir())? {
        None => println!("no local cluster is running"),
        Some(r) => {
            let pids: Vec<String> = r.stopped.iter().map(|(_, p)| p.to_string()).collect();
            println!(
                "stopped {} node(s){}, removed {}",
                r.stopped.len(),
                if pids.is_empty() {
                    String::new()
                } else {
                    format!(" (pids {})", pids.join(", "))
                },
                r.removed.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_nodes(nodes: &[NodeStatus]) {
    println!(
        "{:<5} {:>8} {:>6} {:>10} {:<8} {:>9}  log",
        "node", "pid", "port", "controller", "state", "rss"
    );
    for n in nodes {
        println!(
            "{:<5} {:>8} {:>6} {:>10} {:<8} {:>9}  {}",
            n.id,
            n.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
            n.port,
            n.controller_port,
            if n.alive { "running" } else { "down" },
            n.rss_bytes
                .map(|b| format!("{} MiB", b / (1 << 20)))
                .unwrap_or_else(|| "-".into()),
            n.log.display()
        );
    }
}
