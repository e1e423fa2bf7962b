//! The phases of a run, cell by cell: open, rounds, fixed load, check.
//!
//! Each cell is a [`Slot`]: live while it is being measured, done once it
//! has a result. Nothing here fails the run: what goes wrong with a cell
//! is that cell's result ([`Outcome::Failed`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::cluster::health::Watch;
use crate::cluster::{self, Cluster};
use crate::driver::{CellProducer, Clients, Opened};
use crate::grid::{Cell, Workload};
use crate::librdkafka::RoundSpec;
use crate::path::{CellPath, Route};
use crate::progress::Work;
use crate::results::Degradation;
use crate::results::{
    CellNetwork, CellResult, Conditions, FixedLoad, Latency, Measurement, Outcome, RunMeta,
    Throughput,
};
use crate::schedule::Schedule;
use crate::verify::{self, Checker};

use super::{failed_outcome, interrupted, settled_end_offsets, topic_name, Progress, SuiteError};

/// A cell that is being measured.
pub(super) struct Live<'a> {
    cell: Cell,
    topic: String,
    spec: RoundSpec,
    path: CellPath<'a>,
    session: Box<dyn CellProducer>,
    fixed_load: Option<FixedLoad>,
    /// When each of the cell's rounds ran, ms since the run's health watch started.
    rounds_ms: Vec<(u64, u64)>,
    load: Vec<crate::machine::Load>,
    /// The client's own CPU over each round, when it could be read.
    cpu: Vec<crate::cpu::ClientCpu>,
}

/// Where a cell stands.
pub(super) enum Slot<'a> {
    Live(Box<Live<'a>>),
    Done(CellResult),
}

fn live<'s, 'a>(slots: &'s [Slot<'a>]) -> impl Iterator<Item = &'s Live<'a>> {
    slots.iter().filter_map(|s| match s {
        Slot::Live(l) => Some(&**l),
        Slot::Done(_) => None,
    })
}

/// Phase 1: opens every cell, in grid order, until interrupted.
pub(super) fn open_phase<'a>(
    cluster: &'a dyn Cluster,
    clients: &Clients,
    meta: &RunMeta,
    cells: &[Cell],
    route: Route,
    progress: &mut dyn Progress,
) -> Vec<Slot<'a>> {
    progress.phase("opening cells", Work::cells(cells.len() as u64));
    let mut slots = Vec::with_capacity(cells.len());
    for cell in cells {
        if interrupted() {
            break;
        }
        progress.working(cell);
        slots.push(open(cluster, clients, meta, cell, route));
        progress.advanced(1);
    }
    slots
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
    let opened = (|| -> Result<Slot<'a>, SuiteError> {
        let path = CellPath::open(cluster, cell, &topic, workload, route)?;
        let mut base = cluster.client_config();
        base.set("bootstrap.servers", path.bootstrap());
        // The producer's configuration is checked before the topic exists:
        // a rejected cell costs nothing on the cluster.
        let mut session =
            match clients.open(cell, &base, fixed, &topic, meta.run_tag, workload.seed)? {
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
        let mut path = path;
        let warmup = workload.cell_warmup_records(cell);
        path.outside_rounds(|| session.warm_up(warmup))?;
        Ok(Slot::Live(Box::new(Live {
            cell: cell.clone(),
            topic: topic.clone(),
            spec: RoundSpec::for_cell(cell, workload),
            path,
            session,
            fixed_load: None,
            rounds_ms: Vec::new(),
            load: Vec::new(),
            cpu: Vec::new(),
        })))
    })();
    opened.unwrap_or_else(|e| {
        let _ = cluster::delete_topic(cluster, &topic);
        Slot::Done(CellResult::new(
            cell,
            CellNetwork::requested(cell),
            failed_outcome(&e),
        ))
    })
}

/// Phase 2: every live cell once per round, in the round's shuffled order,
/// with the cluster's health watched throughout; returns what the watch saw.
pub(super) fn rounds_phase(
    cluster: &dyn Cluster,
    slots: &mut [Slot<'_>],
    cells: &[Cell],
    workload: &Workload,
    progress: &mut dyn Progress,
) -> Vec<Degradation> {
    let watch_origin = Instant::now();
    let watch = Watch::start(cluster);
    let schedule = Schedule::new(slots.len(), workload.fixed.rounds, workload.seed);
    for r in 0..schedule.rounds() {
        let producers = u64::from(workload.fixed.producers.max(1));
        let planned: u64 = live(slots).map(|l| l.spec.records() * producers).sum();
        progress.phase(
            &format!("round {}/{}", r + 1, schedule.rounds()),
            Work::records(planned),
        );
        for &i in schedule.round(r) {
            if interrupted() {
                break;
            }
            let Slot::Live(l) = &mut slots[i] else {
                continue;
            };
            progress.working(&l.cell);
            let records = l.spec.records() * producers;
            let before = crate::machine::LoadSample::now();
            let from = watch_origin.elapsed().as_millis() as u64;
            // The client's CPU over the round, from the thread that runs it.
            let probe = l.session.cpu_probe();
            let cpu_start = probe.start();
            let acked = l.session.acked_counter();
            let acked_before = acked.load();
            let started = Instant::now();
            let outcome = run_round(l);
            let acked = acked.load().saturating_sub(acked_before);
            let wakeups = l.session.wakeups_per_sec(started, Instant::now());
            if let Some(cpu) = probe.client_cpu(&cpu_start, acked, wakeups) {
                l.cpu.push(cpu);
            }
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
    watch.stop()
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
        return Err(e.to_string());
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

/// The fixed-load run of one cell: its rate, why that rate, and how many records.
struct FixedPlan {
    slot: usize,
    rate: u64,
    records: u64,
    basis: String,
}

/// Phase 3: latency at a fixed load for every live cell without faults.
/// The rate is common to a group of compared cells (same RTT): `--rate`
/// when given, else `latency_rate_fraction` of the group's slowest
/// throughput.
pub(super) fn fixed_load_phase(
    slots: &mut [Slot<'_>],
    cells: &[Cell],
    workload: &Workload,
    progress: &mut dyn Progress,
) {
    let plans = fixed_load_plans(slots, workload);
    progress.phase(
        "latency at a fixed load",
        Work::records(plans.iter().map(|p| p.records).sum()),
    );
    for FixedPlan {
        slot: i,
        rate,
        records,
        basis,
    } in plans
    {
        if interrupted() {
            break;
        }
        let Slot::Live(l) = &mut slots[i] else {
            continue;
        };
        progress.working(&l.cell);
        let session = &mut l.session;
        match l.path.outside_rounds(|| session.fixed_rate(rate, records)) {
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

/// The fixed-load plan of every live cell without faults, by RTT group.
fn fixed_load_plans(slots: &[Slot<'_>], workload: &Workload) -> Vec<FixedPlan> {
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
        let records =
            (rate * u64::from(fixed.latency_ms) / 1000).max(fixed.latency_min_records.max(1));
        for &slot in members {
            plans.push(FixedPlan {
                slot,
                rate,
                records,
                basis: basis.clone(),
            });
        }
    }
    plans
}

/// Phase 4, for one cell: its result, checked if it is still live.
pub(super) fn finish(
    cluster: &dyn Cluster,
    meta: &RunMeta,
    slot: Slot<'_>,
    degradations: &[Degradation],
    progress: &mut dyn Progress,
) -> CellResult {
    match slot {
        Slot::Done(r) => r,
        Slot::Live(l) => {
            progress.working(&l.cell);
            let conditions = conditions(&l, degradations);
            check(cluster, meta, *l, conditions)
        }
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
        client_cpu: l.cpu.clone(),
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
    let outcome = (|| -> Result<Outcome, SuiteError> {
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
    .unwrap_or_else(|e| failed_outcome(&e));
    drop(path);
    // The topic has served its purpose once checked; the suite only ever
    // deletes topics it created (the prefix guards that).
    let _ = cluster::delete_topic(cluster, &topic);
    CellResult::new(&cell, network, outcome)
}
