//! A run: every cell of a workload on one cluster, from topic to verdict.
//!
//! This is the one place that chains the stages (path → producer → rounds →
//! fixed load → settle → check → result), so `cargo bench` and the CLI
//! measure a cell with the same code and the same records: Criterion only
//! analyses the windows this module measured.
//!
//! A run has four phases:
//! 1. **open**: for each cell, its path ([`crate::path::CellPath`]: proxy, network,
//!    faults, failover), its producer (a configuration the client refuses
//!    is a rejected cell, and costs nothing more), its topic and a warm-up;
//! 2. **rounds**: every live cell once per round, in the round's shuffled
//!    order ([`crate::schedule::Schedule`]); one producer per cell is kept for the whole run,
//!    so a round pays no set-up, and each round times its windows in steady
//!    state;
//! 3. **fixed load**: latency of the cells without faults at a rate common
//!    to their group (same RTT), from each record's intended send time;
//! 4. **check**: each cell's topic is read back once, after replication
//!    settled, and its result saved (atomically, after every cell).
//!
//! The phases are in `cells`. A run fails as a whole ([`SuiteError`]) only
//! when it cannot start or cannot save; a cell's failure is its result.
//! The suite installs no signal handler: it polls
//! [`crate::interrupt::requested`], which a front end's handler sets.

mod cells;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::time::{Duration, Instant, SystemTime};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;

use crate::cluster::{self, Cluster, ClusterError};
use crate::driver::ProducerError;
use crate::driver::{Clients, DriverError};
use crate::grid::{Cell, Client, Workload};
use crate::librdkafka::{Created, Session, SessionError};
use crate::path::{PathError, Route};
use crate::progress::Work;
pub use crate::progress::{Progress, Quiet};
use crate::results::{
    ClusterKind, ClusterMeta, ClusterWarmUp, Driver, MachineMeta, Results, ResultsError, RunMeta,
};
use crate::verify::VerifyError;

/// Records sent to a throwaway topic before the first cell of a run, before
/// the timed chunks of [`warm_up_cluster`].
pub const CLUSTER_WARMUP_RECORDS: u64 = 50_000;
/// Records per timed chunk of the cluster's warm-up.
pub const CLUSTER_WARMUP_CHUNK: u64 = 20_000;
/// The cluster's warm-up stops here even if its throughput still rises
/// (the report says it did not settle).
pub const CLUSTER_WARMUP_LIMIT: Duration = Duration::from_secs(90);

/// Why a run could not start or could not save. A cell's own failure is
/// not one: it is the cell's result, with the message of one of these.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Clients(#[from] DriverError),
    #[error("the {client} client cannot run on librdkafka's mock cluster: only the in-process librdkafka producer is tested on it (hint: --client librdkafka)")]
    ClientOnMock { client: String },
    #[error("warming up the cluster on topic {topic}")]
    WarmUp {
        topic: String,
        source: Box<SuiteError>,
    },
    #[error(transparent)]
    Producer(#[from] ProducerError),
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("reading the high watermarks of {topic}")]
    Watermarks { topic: String, source: KafkaError },
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Save(#[from] ResultsError),
}

impl From<SessionError> for SuiteError {
    fn from(e: SessionError) -> SuiteError {
        SuiteError::Producer(e.into())
    }
}

/// A cell's failure as `results.json` records it: the error and each of
/// its causes once ([`crate::error::chain`]), secrets scrubbed.
fn failed_outcome(e: &SuiteError) -> crate::results::Outcome {
    crate::results::Outcome::Failed {
        message: crate::redact::scrub(&crate::error::chain(e)),
    }
}

/// True once the user asked the run to stop.
fn interrupted() -> bool {
    crate::interrupt::requested().is_some()
}

/// The topic of a cell: the suite's prefix, the run id and the cell id.
pub fn topic_name(run_id: &str, cell: &Cell) -> String {
    cluster::topic_name(&[run_id, &cell.id()])
}

/// The cluster a command runs on: `bootstrap` (an external cluster) when
/// given; else the detached cluster of `kafka-order-bench cluster up` when
/// one runs; else a local cluster of `brokers` nodes started here and
/// stopped when the returned value is dropped.
pub fn connect(
    bootstrap: Option<&str>,
    properties: &[(String, String)],
    brokers: u32,
    progress: &mut dyn Progress,
) -> Result<Box<dyn Cluster>, ClusterError> {
    connect_for(bootstrap, properties, brokers, false, progress)
}

/// [`connect`] for a workload: a local cluster started here gets emulated
/// replication links when the workload's network asks for them.
pub fn connect_for_workload(
    bootstrap: Option<&str>,
    properties: &[(String, String)],
    brokers: u32,
    workload: &Workload,
    progress: &mut dyn Progress,
) -> Result<Box<dyn Cluster>, ClusterError> {
    let n = &workload.network;
    let replication = n.replication && n.emulates();
    let cluster = connect_for(bootstrap, properties, brokers, replication, progress)?;
    if bootstrap.is_some() {
        // A cluster this suite did not start may refuse the cells' shape.
        cluster::check_topic_shape(&*cluster, workload.fixed.partitions as i32)?;
    }
    Ok(cluster)
}

fn connect_for(
    bootstrap: Option<&str>,
    properties: &[(String, String)],
    brokers: u32,
    emulate_replication: bool,
    progress: &mut dyn Progress,
) -> Result<Box<dyn Cluster>, ClusterError> {
    const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    if let Some(b) = bootstrap {
        return Ok(Box::new(cluster::ExternalCluster::connect(
            b,
            properties,
            CONNECT_TIMEOUT,
        )?));
    }
    if let Some(running) = cluster::daemon::connect_running_local(properties, CONNECT_TIMEOUT)? {
        // `cluster up` starts nodes without replication delay lines: a run
        // on it would record replication RTT 0 where the workload asked for
        // the cell's RTT, and measure another network than it says.
        if emulate_replication {
            return Err(ClusterError::RunningWithoutReplication {
                bootstrap: running.bootstrap(),
            });
        }
        progress.notice(&format!(
            "using the running local cluster at {} (from `kafka-order-bench cluster up`)",
            running.bootstrap()
        ));
        return Ok(Box::new(running));
    }
    progress.notice(&format!(
        "starting a local {brokers}-node Apache Kafka cluster…"
    ));
    let started = Instant::now();
    let local = cluster::LocalCluster::start(cluster::LocalOptions {
        brokers,
        properties: properties.to_vec(),
        emulate_replication,
        ..cluster::LocalOptions::default()
    })?;
    progress.notice(&format!(
        "cluster ready in {:.1} s: bootstrap.servers={}",
        started.elapsed().as_secs_f64(),
        local.bootstrap()
    ));
    Ok(Box::new(local))
}

/// A new run's metadata.
pub fn run_meta(cluster: &dyn Cluster, workload: &Workload, driver: Driver) -> RunMeta {
    let now = SystemTime::now();
    let tag: u64 = rand::random();
    RunMeta {
        run_id: format!("{}-{:04x}", crate::results::compact_utc(now), tag & 0xffff),
        run_tag: tag,
        started_at: crate::results::rfc3339_utc(now),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        git_revision: option_env!("KOB_GIT_REVISION").map(str::to_string),
        librdkafka_version: crate::librdkafka::librdkafka_version(),
        rdkafka_crate_version: RDKAFKA_CRATE_VERSION.into(),
        cluster: ClusterMeta {
            kind: cluster.kind(),
            broker_version: cluster.broker_version(),
            brokers: cluster.brokers(),
            bootstrap: cluster.bootstrap(),
        },
        machine: MachineMeta::current(),
        workload: workload.clone(),
        driver,
        cluster_warm_up: None,
    }
}

/// The version of the `rdkafka` crate this build links (from Cargo.lock, via build.rs).
pub const RDKAFKA_CRATE_VERSION: &str = match option_env!("KOB_RDKAFKA_CRATE_VERSION") {
    Some(v) => v,
    None => "unknown",
};

/// The high watermarks of a topic once replication has caught up.
///
/// Taken after the producer's last delivery report, but not at once: with
/// `acks=1` (or `0`) the leader acknowledges before followers have the
/// records, and the high watermark only advances when they fetch them.
/// Reading up to a premature watermark would call replicated records lost.
/// So wait until each partition's watermark reaches one past its highest
/// acknowledged offset (`acked_end`), and then until it stops moving; a
/// watermark that never gets there (a record acknowledged by a leader that
/// then lost it) is taken as it is after a bounded wait.
pub fn settled_end_offsets(
    base: &ClientConfig,
    topic: &str,
    partitions: i32,
    acked_end: &BTreeMap<i32, i64>,
) -> Result<BTreeMap<i32, i64>, SuiteError> {
    const SETTLED: Duration = Duration::from_millis(300);
    const PATIENCE: Duration = Duration::from_secs(15);
    let failed = |source| SuiteError::Watermarks {
        topic: topic.to_string(),
        source,
    };
    let consumer: BaseConsumer = base
        .clone()
        .set("group.id", "kafka-order-bench-watermarks")
        .set("enable.auto.commit", "false")
        .create()
        .map_err(failed)?;
    let read = || -> Result<BTreeMap<i32, i64>, SuiteError> {
        (0..partitions)
            .map(|p| {
                let (_, high) = consumer
                    .fetch_watermarks(topic, p, Duration::from_secs(10))
                    .map_err(failed)?;
                Ok((p, high))
            })
            .collect()
    };
    let caught_up = |w: &BTreeMap<i32, i64>| {
        acked_end
            .iter()
            .all(|(p, end)| w.get(p).is_some_and(|high| high >= end))
    };
    let deadline = Instant::now() + PATIENCE;
    let mut last = read()?;
    let mut stable_since = Instant::now();
    while Instant::now() < deadline && !(caught_up(&last) && stable_since.elapsed() >= SETTLED) {
        std::thread::sleep(Duration::from_millis(25));
        let now = read()?;
        if now != last {
            last = now;
            stable_since = Instant::now();
        }
    }
    Ok(last)
}

/// Brings the cluster to a steady state before the first cell: `records`
/// records to a throwaway topic (metadata, leaders, the produce and
/// replication paths compiled), then timed chunks of
/// [`CLUSTER_WARMUP_CHUNK`] records until their throughput stops rising
/// ([`ClusterWarmUp::settled`]) or [`CLUSTER_WARMUP_LIMIT`] passes. Without
/// it the first cells of a run against a fresh cluster measure the brokers'
/// own warm-up (JIT, page cache), which lands on whichever cells come first.
pub fn warm_up_cluster(
    cluster: &dyn Cluster,
    meta: &RunMeta,
    records: u64,
    progress: &mut dyn Progress,
) -> Result<ClusterWarmUp, SuiteError> {
    let topic = cluster::topic_name(&[&meta.run_id, "warmup"]);
    let settings = crate::grid::ProducerSettings {
        max_in_flight: 5,
        acks: crate::grid::Acks::All,
        idempotence: false,
    };
    let fixed = &meta.workload.fixed;
    let start = Instant::now();
    let mut warm = ClusterWarmUp {
        chunk_records: CLUSTER_WARMUP_CHUNK,
        chunks_records_per_sec: Vec::new(),
        settled: false,
        elapsed_ms: 0.0,
    };
    let result = (|| -> Result<(), SuiteError> {
        cluster::create_topic(cluster, &topic, fixed.partitions as i32)?;
        if let Created::Session(mut s) = Session::create(
            &cluster.client_config(),
            &settings,
            fixed,
            &topic,
            meta.run_tag,
            fixed.producer_streams(0, meta.workload.seed),
        )? {
            s.warm_up(records)?;
            let chunk = crate::librdkafka::RoundSpec {
                warmup: 0,
                windows: 1,
                records_per_window: CLUSTER_WARMUP_CHUNK,
                tail: 0,
                burst: 0,
            };
            while !warm.settled && start.elapsed() < CLUSTER_WARMUP_LIMIT {
                if crate::interrupt::requested().is_some() {
                    break;
                }
                let samples = s.round(&chunk)?;
                let rate = samples
                    .first()
                    .map_or(0.0, crate::results::Sample::records_per_sec);
                warm.chunks_records_per_sec.push(rate);
                warm.settled = ClusterWarmUp::settled(&warm.chunks_records_per_sec);
                progress.notice(&format!(
                    "cluster warm-up: chunk {} at {} records/s{}",
                    warm.chunks_records_per_sec.len(),
                    crate::report::fmt::rate(rate),
                    if warm.settled { ", settled" } else { "" }
                ));
            }
        }
        Ok(())
    })();
    let _ = cluster::delete_topic(cluster, &topic);
    warm.elapsed_ms = start.elapsed().as_secs_f64() * 1e3;
    result.map_err(|e| SuiteError::WarmUp {
        topic,
        source: Box::new(e),
    })?;
    Ok(warm)
}

/// How a run reaches the cluster, and which cells it runs.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub route: Route,
    /// Only cells whose [`Cell::bench_id`] contains every one of these
    /// (Criterion's filter); empty runs every cell.
    pub filter: Vec<String>,
}

/// Runs every cell of `workload` on `cluster`, saving `results.json` in
/// `out_dir/<run-id>/` after every checked cell. On Ctrl-C the rounds stop,
/// the cells measured so far are checked and saved, and `complete` is false.
pub fn run_workload(
    cluster: &dyn Cluster,
    workload: &Workload,
    out_dir: &Path,
    progress: &mut dyn Progress,
) -> Result<(Results, PathBuf), SuiteError> {
    run_workload_with(
        cluster,
        workload,
        out_dir,
        Driver::Cli,
        &RunOptions::default(),
        progress,
    )
}

/// [`run_workload`] with the front end's name and options.
pub fn run_workload_with(
    cluster: &dyn Cluster,
    workload: &Workload,
    out_dir: &Path,
    driver: Driver,
    options: &RunOptions,
    progress: &mut dyn Progress,
) -> Result<(Results, PathBuf), SuiteError> {
    check_clients(cluster.kind(), workload)?;
    // A Java client Maven cannot fetch fails here, before any cell runs.
    let clients = Clients::prepare(&workload.axes.clients)?;
    let mut meta = run_meta(cluster, workload, driver);
    let path = out_dir.join(&meta.run_id).join("results.json");
    if cluster.needs_warm_up() {
        meta.cluster_warm_up = Some(warm_up_cluster(
            cluster,
            &meta,
            CLUSTER_WARMUP_RECORDS,
            progress,
        )?);
    }
    let cells: Vec<Cell> = workload
        .cells()
        .into_iter()
        .filter(|c| {
            options
                .filter
                .iter()
                .all(|f| c.bench_id().contains(f.as_str()))
        })
        .collect();
    let mut results = Results::new(meta);
    let mut slots = cells::open_phase(
        cluster,
        &clients,
        &results.run,
        &cells,
        options.route,
        progress,
    );
    let degradations = cells::rounds_phase(cluster, &mut slots, &cells, workload, progress);
    if !interrupted() && workload.fixed.latency_ms > 0 {
        cells::fixed_load_phase(&mut slots, &cells, workload, progress);
    }
    // Check and save, in grid order.
    progress.phase("checking", Work::cells(slots.len() as u64));
    for slot in slots {
        let result = cells::finish(cluster, &results.run, slot, &degradations, progress);
        progress.advanced(1);
        progress.cell_finished(&result);
        results.cells.push(result);
        results.save(&path)?;
    }
    results.complete = !interrupted() && results.cells.len() == cells.len();
    if !results.cells.is_empty() {
        results.save(&path)?;
    }
    Ok((results, path))
}

/// Refuses, before anything starts, a client the cluster cannot serve: on
/// the mock only the in-process librdkafka producer runs.
pub fn check_clients(cluster_kind: ClusterKind, workload: &Workload) -> Result<(), SuiteError> {
    let java = workload
        .axes
        .clients
        .iter()
        .find(|c| matches!(c, Client::Java(_)));
    match java {
        Some(c) if cluster_kind == ClusterKind::Mock => Err(SuiteError::ClientOnMock {
            client: c.to_string(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{CellNetwork, CellResult};

    /// A cell that fails saves its error and each cause once: the message a
    /// user reads in `results.json` once read "…: E: E" (a level quoted its
    /// cause and exposed it as its source too).
    #[test]
    fn a_saved_cell_failure_holds_each_cause_once() {
        let cause = "Local: Invalid argument or configuration";
        let producer = SessionError::Producer {
            topic: "kob-t".into(),
            cause: KafkaError::ClientConfig(
                rdkafka::types::RDKafkaConfRes::RD_KAFKA_CONF_INVALID,
                cause.into(),
                "linger.ms".into(),
                "x".into(),
            ),
        };
        let e = SuiteError::WarmUp {
            topic: "kob-warm".into(),
            source: Box::new(SuiteError::from(producer)),
        };
        let cell = Workload::quick().cells().remove(0);
        let saved = CellResult::new(&cell, CellNetwork::requested(&cell), failed_outcome(&e));
        let json = serde_json::to_string(&saved).unwrap();
        let message = match &saved.outcome {
            crate::results::Outcome::Failed { message } => message.clone(),
            other => panic!("{other:?}"),
        };
        assert!(
            message.starts_with(
                "warming up the cluster on topic kob-warm: producer for topic kob-t: "
            ),
            "{message}"
        );
        assert_eq!(message.matches("linger.ms").count(), 1, "{message}");
        assert_eq!(json.matches("linger.ms").count(), 1, "{json}");
    }
}
