//! A run: every cell of a workload on one cluster, from topic to verdict.
//!
//! This is the one place that chains the stages (path → producer → rounds →
//! fixed load → settle → check → result), so `cargo bench` and the CLI
//! measure a cell with the same code and the same records: Criterion only
//! analyses the windows this module measured.
//!
//! A run has four phases:
//! 1. **open**: for each cell, its path ([`CellPath`]: proxy, network,
//!    faults, failover), its producer (a configuration the client refuses
//!    is a rejected cell, and costs nothing more), its topic and a warm-up;
//! 2. **rounds**: every live cell once per round, in the round's shuffled
//!    order ([`Schedule`]); one producer per cell is kept for the whole run,
//!    so a round pays no set-up, and each round times its windows in steady
//!    state;
//! 3. **fixed load**: latency of the cells without faults at a rate common
//!    to their group (same RTT), from each record's intended send time;
//! 4. **check**: each cell's topic is read back once, after replication
//!    settled, and its result saved (atomically, after every cell).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::time::{Duration, Instant, SystemTime};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::cluster::health::{Degradation, Watch};
use crate::cluster::{self, Cluster};
use crate::driver::{CellProducer, Clients, Opened};
use crate::grid::{Cell, Workload};
use crate::path::{CellPath, Route};
use crate::results::{
    CellNetwork, CellResult, ClusterMeta, Conditions, Driver, FixedLoad, Latency, MachineMeta,
    Measurement, Outcome, Results, RunMeta, Throughput,
};
use crate::run::{Created, RoundSpec, Session};
use crate::schedule::Schedule;
use crate::verify::{self, Checker};

/// Records sent to a throwaway topic before the first cell of a run.
pub const CLUSTER_WARMUP_RECORDS: u64 = 50_000;

/// Installs the one signal handler ([`crate::interrupt`]): the first
/// Ctrl-C or SIGTERM asks the run to stop after saving what it has; a
/// second stops at once, leaving no broker behind.
pub fn install_interrupt_handler() {
    crate::interrupt::install();
}

/// True once the user asked the run to stop.
pub fn interrupted() -> bool {
    crate::interrupt::requested().is_some()
}

/// Hears about a run's progress (the CLI draws a bar; tests stay quiet).
pub trait Progress {
    /// A phase begins; `records` is the work it holds, from the grid.
    fn phase(&mut self, _name: &str, _records: u64) {}
    /// A cell of the phase starts.
    fn working(&mut self, _cell: &Cell) {}
    /// `records` more of the phase's records are done.
    fn advanced(&mut self, _records: u64) {}
    /// A cell's result is final and saved.
    fn cell_finished(&mut self, _result: &CellResult) {}
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
    connect_for(bootstrap, properties, brokers, false)
}

/// [`connect`] for a workload: a local cluster started here gets emulated
/// replication links when the workload's network asks for them.
pub fn connect_for_workload(
    bootstrap: Option<&str>,
    properties: &[(String, String)],
    brokers: u32,
    workload: &Workload,
) -> anyhow::Result<Box<dyn Cluster>> {
    let n = &workload.network;
    let replication = n.replication && n.emulates();
    connect_for(bootstrap, properties, brokers, replication)
}

fn connect_for(
    bootstrap: Option<&str>,
    properties: &[(String, String)],
    brokers: u32,
    emulate_replication: bool,
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
        emulate_replication,
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
pub fn run_meta(cluster: &dyn Cluster, workload: &Workload, driver: Driver) -> RunMeta {
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
            kind: cluster.kind(),
            broker_version: cluster.broker_version(),
            brokers: cluster.brokers(),
            bootstrap: cluster.bootstrap(),
        },
        machine: MachineMeta::current(),
        workload: workload.clone(),
        driver,
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

/// A cell that is being measured.
struct Live<'a> {
    cell: Cell,
    topic: String,
    spec: RoundSpec,
    path: CellPath<'a>,
    session: Box<dyn CellProducer>,
    fixed_load: Option<FixedLoad>,
    /// When each of the cell's rounds ran, ms since the run's health watch started.
    rounds_ms: Vec<(u64, u64)>,
    load: Vec<crate::machine::Load>,
}

/// Where a cell stands.
enum Slot<'a> {
    Live(Box<Live<'a>>),
    Done(CellResult),
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
) -> anyhow::Result<(Results, PathBuf)> {
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
) -> anyhow::Result<(Results, PathBuf)> {
    // A Java client Maven cannot fetch fails here, before any cell runs.
    let clients = Clients::prepare(&workload.axes.clients)?;
    let meta = run_meta(cluster, workload, driver);
    let dir = out_dir.join(&meta.run_id);
    let path = dir.join("results.json");
    warm_up_cluster(cluster, &meta, CLUSTER_WARMUP_RECORDS)
        .map_err(|e| e.context("warming up the cluster"))?;
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

    // 1. Open every cell.
    progress.phase("opening cells", cells.len() as u64);
    let mut slots: Vec<Slot> = Vec::with_capacity(cells.len());
    for cell in &cells {
        if interrupted() {
            break;
        }
        progress.working(cell);
        slots.push(open(cluster, &clients, &results.run, cell, options.route));
        progress.advanced(1);
    }

    // 2. Rounds, with the cluster's health watched throughout.
    let watch_origin = Instant::now();
    let watch = Watch::start(cluster);
    let schedule = Schedule::new(slots.len(), workload.fixed.rounds, workload.seed);
    for r in 0..schedule.rounds() {
        let planned: u64 = live(&slots).map(|l| l.spec.records()).sum();
        progress.phase(&format!("round {}/{}", r + 1, schedule.rounds()), planned);
        for &i in schedule.round(r) {
            if interrupted() {
                break;
            }
            let Slot::Live(l) = &mut slots[i] else {
                continue;
            };
            progress.working(&l.cell);
            let records = l.spec.records();
            let before = crate::machine::LoadSample::now();
            let from = watch_origin.elapsed().as_millis() as u64;
            let outcome = run_round(l);
            l.rounds_ms
                .push((from, watch_origin.elapsed().as_millis() as u64));
            l.load
                .push(crate::machine::LoadSample::now().since(&before));
            progress.advanced(records);
            if let Err(message) = outcome {
                let message = match watch.last().and_then(|h| h.down_message()) {
                    Some(down) => format!("{message} ({down})"),
                    None => message,
                };
                slots[i] = failed(&cells[i], &slots[i], message);
            }
        }
    }
    let degradations = watch.stop();

    // 3. Latency at a fixed load.
    if !interrupted() && workload.fixed.latency_ms > 0 {
        fixed_load_phase(&mut slots, &cells, workload, progress);
    }

    // 4. Check and save, in grid order.
    progress.phase("checking", slots.len() as u64);
    for slot in slots {
        let result = match slot {
            Slot::Done(r) => r,
            Slot::Live(l) => {
                progress.working(&l.cell);
                let conditions = conditions(&l, &degradations);
                check(cluster, &results.run, *l, conditions)
            }
        };
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

fn live<'s, 'a>(slots: &'s [Slot<'a>]) -> impl Iterator<Item = &'s Live<'a>> {
    slots.iter().filter_map(|s| match s {
        Slot::Live(l) => Some(&**l),
        Slot::Done(_) => None,
    })
}

/// Opens a cell: its path, its producer, its topic, a warm-up. Never fails:
/// what goes wrong is the cell's result.
fn open<'a>(
    cluster: &'a dyn Cluster,
    clients: &Clients,
    meta: &RunMeta,
    cell: &Cell,
    route: Route,
) -> Slot<'a> {
    let topic = topic_name(&meta.run_id, cell);
    let workload = &meta.workload;
    let fixed = &workload.fixed;
    let opened = (|| -> anyhow::Result<Slot<'a>> {
        let path = CellPath::open(cluster, cell, &topic, workload, route)?;
        let mut base = cluster.client_config();
        base.set("bootstrap.servers", path.bootstrap());
        // The producer's configuration is checked before the topic exists:
        // a rejected cell costs nothing on the cluster.
        let mut session = match clients.open(cell, &base, fixed, &topic, meta.run_tag)? {
            Opened::Rejected(message) => {
                return Ok(Slot::Done(CellResult::new(
                    cell,
                    path.network().clone(),
                    Outcome::Rejected { message },
                )))
            }
            Opened::Producer(p) => p,
        };
        cluster::create_topic(cluster, &topic, fixed.partitions as i32)?;
        session.warm_up(fixed.warmup_records)?;
        Ok(Slot::Live(Box::new(Live {
            cell: cell.clone(),
            topic: topic.clone(),
            spec: RoundSpec::for_cell(cell, workload),
            path,
            session,
            fixed_load: None,
            rounds_ms: Vec::new(),
            load: Vec::new(),
        })))
    })();
    opened.unwrap_or_else(|e| {
        let _ = cluster::delete_topic(cluster, &topic);
        Slot::Done(CellResult::new(
            cell,
            CellNetwork::requested(cell),
            Outcome::Failed {
                message: format!("{e:#}"),
            },
        ))
    })
}

/// One round of a live cell, through its path.
fn run_round(l: &mut Live<'_>) -> Result<(), String> {
    let progress = crate::path::Progress {
        sent: l.session.sent_counter(),
        acked: l.session.acked_counter(),
    };
    let (session, spec) = (&mut l.session, l.spec);
    l.path
        .round(&progress, || session.round(&spec))
        .map_err(|e| e.to_string())?;
    if let Some(e) = l.path.error() {
        return Err(format!("{e}"));
    }
    Ok(())
}

/// The result of a cell that failed mid-run (its topic is removed).
fn failed<'a>(cell: &Cell, slot: &Slot<'a>, message: String) -> Slot<'a> {
    let network = match slot {
        Slot::Live(l) => l.path.network().clone(),
        Slot::Done(r) => r.network.clone(),
    };
    Slot::Done(CellResult::new(cell, network, Outcome::Failed { message }))
}

/// Latency at a fixed load for every live cell without faults. The rate is
/// common to a group of compared cells (same RTT): `--rate` when given, else
/// `latency_rate_fraction` of the group's slowest throughput.
fn fixed_load_phase(
    slots: &mut [Slot<'_>],
    cells: &[Cell],
    workload: &Workload,
    progress: &mut dyn Progress,
) {
    let fixed = &workload.fixed;
    let mut groups: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, slot) in slots.iter().enumerate() {
        if let Slot::Live(l) = slot {
            if l.cell.faults.is_none() && !l.session.samples().is_empty() {
                groups.entry(l.cell.rtt_us).or_default().push(i);
            }
        }
    }
    let mut plans = Vec::new();
    for members in groups.values() {
        let (rate, basis) = if fixed.rate_per_sec > 0 {
            (
                fixed.rate_per_sec,
                "set with --rate / rate_per_sec".to_string(),
            )
        } else {
            let slowest = members
                .iter()
                .filter_map(|&i| match &slots[i] {
                    Slot::Live(l) => Some(
                        Throughput::from_samples(l.session.samples(), fixed.record_bytes)
                            .records_per_sec,
                    ),
                    Slot::Done(_) => None,
                })
                .fold(f64::INFINITY, f64::min);
            let rate = (slowest * fixed.latency_rate_fraction).floor().max(1.0) as u64;
            (
                rate,
                format!(
                    "{:.0}% of the slowest cell at this RTT ({:.0} records/s)",
                    100.0 * fixed.latency_rate_fraction,
                    slowest
                ),
            )
        };
        let records = (rate * u64::from(fixed.latency_ms) / 1000).max(50);
        for &i in members {
            plans.push((i, rate, records, basis.clone()));
        }
    }
    progress.phase(
        "latency at a fixed load",
        plans.iter().map(|(_, _, records, _)| records).sum(),
    );
    for (i, rate, records, basis) in plans {
        if interrupted() {
            break;
        }
        let Slot::Live(l) = &mut slots[i] else {
            continue;
        };
        progress.working(&l.cell);
        match l.session.fixed_rate(rate, records) {
            Ok(run) => {
                l.fixed_load = Some(FixedLoad {
                    rate_per_sec: rate,
                    rate_basis: basis,
                    records,
                    latency: Latency::from_histogram(&run.latency),
                    send_delay: Latency::from_histogram(&run.send_delay),
                })
            }
            Err(e) => {
                let message = format!("fixed-load phase: {e}");
                slots[i] = failed(&cells[i], &slots[i], message);
            }
        }
        progress.advanced(records);
    }
}

/// What was true while a cell ran: brokers down during its rounds (a
/// failover cell's own kills excepted) and the machine's load.
fn conditions(l: &Live<'_>, degradations: &[Degradation]) -> Conditions {
    let own_kills = l.cell.faults.needs_failover();
    let degraded = degradations
        .iter()
        .filter(|_| !own_kills)
        .filter(|d| {
            l.rounds_ms
                .iter()
                .any(|&(from, to)| d.from_ms <= to && d.to_ms >= from)
        })
        .cloned()
        .collect();
    Conditions {
        degraded,
        load: l.load.clone(),
    }
}

/// Finishes a cell: the producer's totals, the settled log, the checker.
fn check(cluster: &dyn Cluster, meta: &RunMeta, l: Live<'_>, conditions: Conditions) -> CellResult {
    let Live {
        cell,
        topic,
        path,
        session,
        fixed_load,
        ..
    } = l;
    let network = path.network().clone();
    let outcome = (|| -> anyhow::Result<Outcome> {
        let fixed = &meta.workload.fixed;
        let run = session.finish()?;
        let direct = cluster.client_config();
        let end_offsets = settled_end_offsets(
            &direct,
            &topic,
            fixed.partitions as i32,
            &run.acked_end_offsets,
        )?;
        let checker = Checker::new(
            Some(meta.run_tag),
            Some(&run.deliveries),
            verify::permitted(&cell.settings),
        )
        .with_events(path.events());
        let verdict = verify::read_topic(
            &direct,
            &topic,
            Some(&end_offsets),
            checker,
            Duration::from_secs(120),
        )?;
        let mut exposure = path.exposure();
        exposure.client_retries = run.client.retries;
        exposure.records_resent = run.client.records_resent;
        let throughput = Throughput::from_samples(&run.samples, fixed.record_bytes);
        Ok(Outcome::Measured(Box::new(Measurement {
            topic: topic.clone(),
            effective: run.effective,
            samples: run.samples,
            throughput,
            latency: run.latency,
            fixed_load,
            delivery: run.delivery,
            client: run.client,
            exposure,
            verdict,
            criterion: None,
            conditions,
        })))
    })()
    .unwrap_or_else(|e| Outcome::Failed {
        message: format!("{e:#}"),
    });
    drop(path);
    // The topic has served its purpose once checked; the suite only ever
    // deletes topics it created (the prefix guards that).
    let _ = cluster::delete_topic(cluster, &topic);
    CellResult::new(&cell, network, outcome)
}
