//! A run: every cell of a workload on one cluster, from topic to verdict.
//!
//! This is the one place that chains the stages for a cell (topic → faults →
//! produce → settle → check → result), so `cargo bench` and the CLI measure a
//! cell with the same code: they differ only in how they drive the samples
//! (see [`Sampler`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::cluster::{self, Cluster};
use crate::faults::failover::{with_failover, FailoverPlan};
use crate::faults::{FaultPlan, Proxy};
use crate::grid::{Cell, Fixed, Workload};
use crate::results::{
    CellResult, ClusterMeta, Exposure, MachineMeta, Measurement, Outcome, Results, RunMeta,
    Throughput,
};
use crate::run::{Created, Session};
use crate::verify::{self, Checker};

/// Records sent to a throwaway topic before the first cell of a run.
pub const CLUSTER_WARMUP_RECORDS: u64 = 50_000;

/// Set by the Ctrl-C handler: the run stops after saving what it has.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs a Ctrl-C (and SIGTERM) handler that asks the run to stop. The
/// cell in progress is abandoned; every finished cell is already on disk.
pub fn install_interrupt_handler() {
    // A second install (tests, several runs in one process) is harmless.
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            // Second Ctrl-C: the user means it. Leave no broker behind.
            cluster::kill_all_local();
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: stopping after saving finished cells (Ctrl-C again to quit now)");
    });
}

/// True once the user asked the run to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// How a front end drives the timed part of a cell.
pub trait Sampler {
    /// Takes the samples of one cell from a warmed-up session.
    fn sample(&mut self, cell: &Cell, session: &mut Session) -> Result<(), crate::run::RunError>;
}

/// The CLI's sampler: `samples` samples of `records_per_cell / samples` records.
pub struct FixedSamples<'a> {
    pub fixed: &'a Fixed,
}

impl Sampler for FixedSamples<'_> {
    fn sample(&mut self, _cell: &Cell, session: &mut Session) -> Result<(), crate::run::RunError> {
        let n = u64::from(self.fixed.samples);
        let per = self.fixed.records_per_cell / n;
        for _ in 0..n {
            if interrupted() {
                break;
            }
            session.sample(per)?;
        }
        Ok(())
    }
}

/// Hears about a run's progress (the CLI draws a bar; tests stay quiet).
pub trait Progress {
    fn cell_started(&mut self, _index: usize, _total: usize, _cell: &Cell) {}
    fn cell_finished(&mut self, _index: usize, _result: &CellResult) {}
}

/// Progress that shows nothing.
pub struct Quiet;
impl Progress for Quiet {}

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
) -> anyhow::Result<Box<dyn Cluster>> {
    const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    if let Some(b) = bootstrap {
        return Ok(Box::new(cluster::ExternalCluster::connect(
            b,
            properties,
            CONNECT_TIMEOUT,
        )?));
    }
    if let Some(running) = cluster::daemon::connect_running_local(properties, CONNECT_TIMEOUT)? {
        eprintln!(
            "using the running local cluster at {} (from `kafka-order-bench cluster up`)",
            running.bootstrap()
        );
        return Ok(Box::new(running));
    }
    eprintln!("starting a local {brokers}-node Apache Kafka cluster…");
    let started = Instant::now();
    let local = cluster::LocalCluster::start(cluster::LocalOptions {
        brokers,
        properties: properties.to_vec(),
        ..cluster::LocalOptions::default()
    })?;
    eprintln!(
        "cluster ready in {:.1} s: bootstrap.servers={}",
        started.elapsed().as_secs_f64(),
        local.bootstrap()
    );
    Ok(Box::new(local))
}

/// A new run's metadata.
pub fn run_meta(cluster: &dyn Cluster, workload: &Workload, driver: &str) -> RunMeta {
    let now = SystemTime::now();
    let tag: u64 = rand::random();
    RunMeta {
        run_id: format!("{}-{:04x}", crate::results::compact_utc(now), tag & 0xffff),
        run_tag: tag,
        started_at: crate::results::rfc3339_utc(now),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        git_revision: option_env!("KOB_GIT_REVISION").map(str::to_string),
        librdkafka_version: crate::run::librdkafka_version(),
        rdkafka_crate_version: RDKAFKA_CRATE_VERSION.into(),
        cluster: ClusterMeta {
            kind: cluster.kind().into(),
            broker_version: cluster.broker_version(),
            brokers: cluster.brokers(),
            bootstrap: cluster.bootstrap(),
        },
        machine: MachineMeta::current(),
        workload: workload.clone(),
        driver: driver.into(),
    }
}

/// The version of the `rdkafka` crate this build links (from Cargo.lock, via build.rs).
pub const RDKAFKA_CRATE_VERSION: &str = match option_env!("KOB_RDKAFKA_CRATE_VERSION") {
    Some(v) => v,
    None => "unknown",
};

/// Measures one cell end to end. Never fails: what goes wrong becomes a
/// [`Outcome::Failed`] with its message, so the run goes on.
pub fn measure_cell(
    cluster: &dyn Cluster,
    meta: &RunMeta,
    cell: &Cell,
    sampler: &mut dyn Sampler,
) -> CellResult {
    let topic = topic_name(&meta.run_id, cell);
    let outcome = match measure(cluster, meta, cell, &topic, sampler) {
        Ok(outcome) => outcome,
        Err(e) => Outcome::Failed {
            message: format!("{e:#}"),
        },
    };
    // The topic has served its purpose once checked; the suite only ever
    // deletes topics it created (the prefix guards that).
    let _ = cluster::delete_topic(cluster, &topic);
    CellResult::new(cell, outcome)
}

fn measure(
    cluster: &dyn Cluster,
    meta: &RunMeta,
    cell: &Cell,
    topic: &str,
    sampler: &mut dyn Sampler,
) -> anyhow::Result<Outcome> {
    let fixed = &meta.workload.fixed;
    let direct = cluster.client_config();
    let failover_target = if cell.faults.needs_failover() {
        Some(cluster.local().ok_or_else(|| {
            anyhow::anyhow!(
                "the failover fault needs a cluster this process starts and can kill nodes of \
                 (hint: run without --bootstrap and stop any `cluster up` cluster)"
            )
        })?)
    } else {
        None
    };
    // Faults on the wire: the producer talks to the cluster through the
    // proxy; the checker reads directly.
    let proxy = if cell.faults.needs_proxy() {
        if direct
            .get("security.protocol")
            .is_some_and(|p| !p.eq_ignore_ascii_case("plaintext"))
        {
            anyhow::bail!(
                "the fault proxy reads Kafka's wire protocol and needs a PLAINTEXT listener \
                 (hint: use the local cluster, or only the none/failover profiles)"
            );
        }
        let plan = FaultPlan::new(
            &cell.faults,
            meta.workload.seed,
            crate::faults::records_per_batch(
                u64::from(fixed.batch_bytes),
                fixed.record_bytes as u64,
            ),
        );
        Some(Proxy::start(&cluster.bootstrap(), plan)?)
    } else {
        None
    };
    let mut producer_base = direct.clone();
    if let Some(p) = &proxy {
        producer_base.set("bootstrap.servers", p.bootstrap());
    }
    // The producer's configuration is checked before the topic exists: a
    // rejected cell costs nothing on the cluster.
    let mut session =
        match Session::create(&producer_base, &cell.settings, fixed, topic, meta.run_tag)? {
            Created::Rejected(message) => return Ok(Outcome::Rejected { message }),
            Created::Session(s) => s,
        };
    cluster::create_topic(cluster, topic, fixed.partitions as i32)?;
    session.warm_up(fixed.warmup_records)?;
    let mut failovers = None;
    match failover_target {
        Some(local) => {
            let plan = FailoverPlan::for_cell(fixed.warmup_records, fixed.records_per_cell);
            let sent = session.sent_counter();
            let (sampled, report) = with_failover(local, topic, 0, plan, sent, || {
                sampler.sample(cell, &mut session)
            });
            sampled?;
            if let Some(e) = report.error {
                anyhow::bail!("leader failover: {e}");
            }
            failovers = Some(report.kills);
        }
        None => sampler.sample(cell, &mut session)?,
    }
    if interrupted() {
        anyhow::bail!("interrupted by the user");
    }
    let run = session.finish()?;

    let end_offsets = settled_end_offsets(
        &direct,
        topic,
        fixed.partitions as i32,
        &run.acked_end_offsets,
    )?;
    let checker = Checker::new(
        Some(meta.run_tag),
        Some(&run.deliveries),
        verify::permitted(&cell.settings),
    );
    let verdict = verify::read_topic(
        &direct,
        topic,
        Some(&end_offsets),
        checker,
        Duration::from_secs(120),
    )?;
    let mut faults_injected = proxy.as_ref().map(Proxy::injected).unwrap_or_default();
    if let Some(kills) = failovers {
        faults_injected.insert("failover".into(), kills);
    }
    let exposure = Exposure {
        faults_injected,
        client_retries: run.client.retries,
        records_resent: run.client.records_resent,
    };
    let throughput = Throughput::from_samples(&run.samples, fixed.record_bytes);
    Ok(Outcome::Measured(Box::new(Measurement {
        topic: topic.into(),
        effective: run.effective,
        samples: run.samples,
        throughput,
        latency: run.latency,
        send_delay: run.send_delay,
        delivery: run.delivery,
        client: run.client,
        exposure,
        verdict,
        criterion: None,
    })))
}

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
) -> anyhow::Result<BTreeMap<i32, i64>> {
    const SETTLED: Duration = Duration::from_millis(300);
    const PATIENCE: Duration = Duration::from_secs(15);
    let consumer: BaseConsumer = base
        .clone()
        .set("group.id", "kafka-order-bench-watermarks")
        .set("enable.auto.commit", "false")
        .create()?;
    let read = || -> anyhow::Result<BTreeMap<i32, i64>> {
        (0..partitions)
            .map(|p| {
                let (_, high) = consumer.fetch_watermarks(topic, p, Duration::from_secs(10))?;
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

/// Produces `records` records to a throwaway topic before the first cell, so
/// the brokers' JIT has compiled the produce and replication paths: without
/// it the first cells of a run against a fresh cluster measure a cold JVM.
pub fn warm_up_cluster(cluster: &dyn Cluster, meta: &RunMeta, records: u64) -> anyhow::Result<()> {
    let topic = cluster::topic_name(&[&meta.run_id, "warmup"]);
    let settings = crate::grid::ProducerSettings {
        max_in_flight: 5,
        acks: crate::grid::Acks::All,
        idempotence: false,
    };
    let fixed = &meta.workload.fixed;
    let result = (|| -> anyhow::Result<()> {
        cluster::create_topic(cluster, &topic, fixed.partitions as i32)?;
        if let Created::Session(mut s) = Session::create(
            &cluster.client_config(),
            &settings,
            fixed,
            &topic,
            meta.run_tag,
        )? {
            s.warm_up(records)?;
        }
        Ok(())
    })();
    let _ = cluster::delete_topic(cluster, &topic);
    result
}

/// Runs every cell of `workload` on `cluster`, saving `results.json` in
/// `out_dir` after every cell. Stops early (with `complete: false`) on Ctrl-C.
pub fn run_workload(
    cluster: &dyn Cluster,
    workload: &Workload,
    out_dir: &Path,
    progress: &mut dyn Progress,
) -> anyhow::Result<(Results, PathBuf)> {
    let meta = run_meta(cluster, workload, "cli");
    let dir = out_dir.join(&meta.run_id);
    let path = dir.join("results.json");
    warm_up_cluster(cluster, &meta, CLUSTER_WARMUP_RECORDS)
        .map_err(|e| e.context("warming up the cluster"))?;
    let mut results = Results::new(meta);
    let cells = workload.cells();
    let mut sampler = FixedSamples {
        fixed: &workload.fixed,
    };
    for (i, cell) in cells.iter().enumerate() {
        if interrupted() {
            break;
        }
        progress.cell_started(i, cells.len(), cell);
        let result = measure_cell(cluster, &results.run, cell, &mut sampler);
        if interrupted() {
            // The cell was cut short; its numbers would mislead.
            break;
        }
        progress.cell_finished(i, &result);
        results.cells.push(result);
        results.save(&path)?;
    }
    results.complete = results.cells.len() == cells.len();
    if !results.cells.is_empty() {
        results.save(&path)?;
    }
    Ok((results, path))
}
