//! Leader failover: kill the partition leader mid-cell, restart it later,
//! several times per cell, and record what each kill did.
//!
//! Kills are set in records, not seconds, like the proxy's triggers: a leader
//! dies once the producer has handed `kill_after` records to the client (so
//! the kill always lands while batches are in flight), and comes back
//! `restart_after` later. The producer sees NOT_LEADER_OR_FOLLOWER (or a
//! dropped connection), refreshes metadata and retries against the new
//! leader.
//!
//! # Repeated failovers
//!
//! One kill is one trial. [`FailoverSchedule`] draws `k` kill points
//! (default [`DEFAULT_KILLS`]) from a seed over a range of record counts;
//! each kill waits, besides its record count, until the partition is fully in
//! sync again (every replica in the ISR), so no kill lands on a partition
//! still recovering from the previous one. Two ways to run it:
//!
//! - one closure for the whole cell: [`with_failovers`] kills at every point
//!   of the schedule inside it;
//! - one closure per round (the suite's interleaved rounds): call
//!   [`with_failover`] once per round with `schedule.plan(round)`, which
//!   kills once inside that closure at that record count.
//!
//! Either way every kill gives a [`FailoverOutcome`] (node, records sent at
//! the kill, time to a new leader, time until acknowledgements flowed again,
//! and the record window it covers), and [`FailoverOutcome::event`] turns it
//! into a [`FaultEvent`] for the checker, which attributes losses,
//! duplicates and reorders in the window to that failover.
//!
//! Only a cluster this process started can be failed over
//! ([`crate::cluster::Cluster::local`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cluster::{Cluster, LocalCluster};
use crate::driver::Counter;
use crate::faults::{splitmix64, FaultEvent};
pub use crate::results::FailoverOutcome;

/// Kills per cell by default.
pub const DEFAULT_KILLS: u32 = 5;

/// How long before the kill a failover's window reaches back: records sent
/// in the last `WINDOW_LOOKBACK` before the kill may have been acknowledged
/// by the old leader and not yet replicated (`acks=1`), so they are the ones
/// a failover can lose.
pub const WINDOW_LOOKBACK: Duration = Duration::from_secs(2);

/// How long to wait for a full ISR before a kill, and for a new leader or
/// resumed acknowledgements after it.
const PATIENCE: Duration = Duration::from_secs(60);

/// When to kill the leader and when to bring it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailoverPlan {
    /// Records sent (counted by the session, warm-up included) before the kill.
    pub kill_after: u64,
    /// Time between the kill and the restart.
    pub restart_after: Duration,
}

impl FailoverPlan {
    /// The one-kill plan: kill once `warmup + 20,000` records were sent (or
    /// a quarter of the cell's timed records, if fewer), restart 3 s later.
    pub fn for_cell(warmup: u64, timed_records: u64) -> FailoverPlan {
        FailoverPlan {
            kill_after: warmup + (timed_records / 4).clamp(1, 20_000),
            restart_after: Duration::from_secs(3),
        }
    }
}

/// `k` seeded kill points over a range of sent-record counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverSchedule {
    /// Sent-record counts at which to kill, ascending.
    pub kill_points: Vec<u64>,
    pub restart_after: Duration,
}

impl FailoverSchedule {
    /// `kills` points in `from..to` (sent-record counts): the range is cut
    /// into `kills` equal slots and each point is drawn in the middle half of
    /// its slot from `seed`, so kills are spread out, never adjacent, and
    /// the same for every cell of a seed.
    pub fn new(
        seed: u64,
        kills: u32,
        from: u64,
        to: u64,
        restart_after: Duration,
    ) -> FailoverSchedule {
        let kills = u64::from(kills.max(1));
        let slot = (to.saturating_sub(from) / kills).max(1);
        let kill_points = (0..kills)
            .map(|i| {
                let start = from + i * slot + slot / 4;
                start + splitmix64(seed ^ splitmix64(i)) % (slot / 2).max(1)
            })
            .collect();
        FailoverSchedule {
            kill_points,
            restart_after,
        }
    }

    /// The suite's default: [`DEFAULT_KILLS`] kills spread over the cell's
    /// timed records (after `warmup`), restart 3 s after each.
    pub fn for_cell(seed: u64, warmup: u64, timed_records: u64) -> FailoverSchedule {
        FailoverSchedule::new(
            seed,
            DEFAULT_KILLS,
            warmup,
            warmup + timed_records.max(1),
            Duration::from_secs(3),
        )
    }

    /// The single-kill plan of kill `k` (for one closure per round).
    pub fn plan(&self, k: usize) -> Option<FailoverPlan> {
        self.kill_points.get(k).map(|&kill_after| FailoverPlan {
            kill_after,
            restart_after: self.restart_after,
        })
    }
}

/// What the failover controller did in one closure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailoverReport {
    /// Leaders killed (0 when the closure ended before the first point).
    pub kills: u64,
    /// The node of the first kill.
    pub node: Option<i32>,
    /// Problems met (no leader found, restart failed): data for the results.
    pub error: Option<String>,
    /// One per kill, in order.
    pub outcomes: Vec<FailoverOutcome>,
}

impl FailoverReport {
    /// Every kill as a fault event, ids from `first_id`.
    pub fn events(&self, first_id: u64, streams: u32) -> Vec<FaultEvent> {
        self.outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| o.event(first_id + i as u64, streams))
            .collect()
    }
}

/// The counters the controller watches.
#[derive(Debug, Clone)]
pub struct Counters {
    /// Records handed to the client (the session's sent counter).
    pub sent: Counter,
    /// Records acknowledged so far; `None` uses `sent` (the producer's send
    /// path blocks when its queue is full, so sends resume with acks).
    pub acked: Option<Counter>,
}

/// Runs `body` while a controller thread kills the leader of
/// `topic`/`partition` once per `plan`, watching `sent` (the session's
/// count of records handed to the client). The killed node is restarted,
/// and back in the cluster, before this returns, whatever `body` did.
/// `report.outcomes` holds the kill's outcome.
pub fn with_failover<T>(
    cluster: &LocalCluster,
    topic: &str,
    partition: i32,
    plan: FailoverPlan,
    sent: Arc<AtomicU64>,
    body: impl FnOnce() -> T,
) -> (T, FailoverReport) {
    let schedule = FailoverSchedule {
        kill_points: vec![plan.kill_after],
        restart_after: plan.restart_after,
    };
    let counters = Counters {
        sent: Counter::of(sent),
        acked: None,
    };
    with_failovers(cluster, topic, partition, &schedule, counters, body)
}

/// Runs `body` while a controller thread kills the leader of
/// `topic`/`partition` at every point of `schedule` (each once the partition
/// is fully in sync again), restarting it `restart_after` later. Every
/// killed node is back before this returns.
pub fn with_failovers<T>(
    cluster: &LocalCluster,
    topic: &str,
    partition: i32,
    schedule: &FailoverSchedule,
    counters: Counters,
    body: impl FnOnce() -> T,
) -> (T, FailoverReport) {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let controller =
            scope.spawn(|| control(cluster, topic, partition, schedule, &counters, &done));
        let out = body();
        done.store(true, Ordering::SeqCst);
        let report = controller.join().unwrap_or_else(|_| FailoverReport {
            error: Some("the failover controller panicked".into()),
            ..FailoverReport::default()
        });
        (out, report)
    })
}

/// The controller thread: one failover per kill point of `schedule`, until
/// the schedule, the closure or a problem ends it.
fn control(
    cluster: &LocalCluster,
    topic: &str,
    partition: i32,
    schedule: &FailoverSchedule,
    counters: &Counters,
    done: &AtomicBool,
) -> FailoverReport {
    let mut controller = Controller {
        cluster,
        topic,
        partition,
        counters,
        done,
        started: Instant::now(),
        replicas: cluster.brokers().min(3) as usize,
        history: VecDeque::new(),
    };
    let mut report = FailoverReport::default();
    for &point in &schedule.kill_points {
        match controller.fail_over(point, schedule.restart_after, &mut report) {
            Ok(()) => {}
            Err(Stop::Done) => break,
            Err(Stop::Error(e)) => {
                report.error = Some(e);
                break;
            }
        }
    }
    report
}

/// Why the controller stopped before the end of its schedule.
enum Stop {
    /// The closure ended.
    Done,
    /// A problem met, for [`FailoverReport::error`].
    Error(String),
}

/// The controller thread's state: what it kills and watches, and the recent
/// sent counts a kill's window starts from.
struct Controller<'a> {
    cluster: &'a LocalCluster,
    topic: &'a str,
    partition: i32,
    counters: &'a Counters,
    done: &'a AtomicBool,
    started: Instant,
    /// Replicas in the ISR of a fully in-sync partition.
    replicas: usize,
    /// (time, sent) every ~10 ms, for the window's start.
    history: VecDeque<(Instant, u64)>,
}

/// One kill, as the watch after it needs it.
struct Kill {
    leader: i32,
    killed_at: Instant,
    acked_at_kill: u64,
}

impl Controller<'_> {
    fn sent(&self) -> u64 {
        self.counters.sent.load()
    }

    fn acked(&self) -> u64 {
        self.counters
            .acked
            .as_ref()
            .unwrap_or(&self.counters.sent)
            .load()
    }

    fn is_done(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }

    /// Notes the sent count (at most every 10 ms) and forgets what is older
    /// than [`WINDOW_LOOKBACK`].
    fn remember(&mut self) {
        let now = Instant::now();
        if self
            .history
            .back()
            .map_or(true, |(t, _)| now - *t >= Duration::from_millis(10))
        {
            let sent = self.sent();
            self.history.push_back((now, sent));
        }
        while self
            .history
            .front()
            .is_some_and(|(t, _)| now - *t > WINDOW_LOOKBACK)
        {
            self.history.pop_front();
        }
    }

    /// One failover at `point`: waits for the count and a fully in-sync
    /// partition, kills the leader, watches, restarts it `restart_after`
    /// later, and adds the kill and its outcome to `report`.
    fn fail_over(
        &mut self,
        point: u64,
        restart_after: Duration,
        report: &mut FailoverReport,
    ) -> Result<(), Stop> {
        self.wait_for_sent(point)?;
        let in_sync_wait_ms = self.wait_in_sync()?;
        let leader = self.leader()?;
        self.remember();
        let window_first_sent = self.history.front().map_or(self.sent(), |(_, s)| *s);
        let acked_at_kill = self.acked();
        let sent_at_kill = self.sent();
        let killed_at = Instant::now();
        if let Err(e) = self.cluster.kill(leader) {
            return Err(Stop::Error(format!("killing node {leader}: {e}")));
        }
        report.kills += 1;
        report.node.get_or_insert(leader);
        let mut outcome = FailoverOutcome {
            node: leader,
            sent_at_kill,
            in_sync_wait_ms,
            window_first_sent,
            at_ms: (killed_at - self.started).as_millis() as u64,
            ..FailoverOutcome::default()
        };
        let kill = Kill {
            leader,
            killed_at,
            acked_at_kill,
        };
        self.watch_until_restart(&kill, restart_after, &mut outcome);
        let restart = self.cluster.restart(leader);
        self.watch_after_restart(&kill, &mut outcome);
        report.outcomes.push(outcome);
        if let Err(e) = restart {
            return Err(Stop::Error(format!("restarting node {leader}: {e}")));
        }
        self.history.clear();
        Ok(())
    }

    fn wait_for_sent(&mut self, point: u64) -> Result<(), Stop> {
        while self.sent() < point {
            if self.is_done() {
                return Err(Stop::Done);
            }
            self.remember();
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }

    /// Waits until the partition is fully in sync again before the next
    /// kill; returns the milliseconds waited.
    fn wait_in_sync(&mut self) -> Result<u64, Stop> {
        let (topic, partition) = (self.topic, self.partition);
        let wait = Instant::now();
        loop {
            match self.cluster.in_sync_replicas(topic, partition) {
                Ok(isr) if isr.len() >= self.replicas => break,
                _ if wait.elapsed() > PATIENCE => {
                    return Err(Stop::Error(format!(
                        "{topic}/{partition} not fully in sync {PATIENCE:?} after the previous failover"
                    )));
                }
                _ if self.is_done() => return Err(Stop::Done),
                _ => {
                    self.remember();
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        Ok(wait.elapsed().as_millis() as u64)
    }

    fn leader(&self) -> Result<i32, Stop> {
        let (topic, partition) = (self.topic, self.partition);
        match self.cluster.leader(topic, partition) {
            Ok(Some(l)) => Ok(l),
            Ok(None) => Err(Stop::Error(format!(
                "{topic}/{partition} has no leader to kill"
            ))),
            Err(e) => Err(Stop::Error(format!(
                "finding the leader of {topic}/{partition}: {e}"
            ))),
        }
    }

    /// Watches for a new leader and resumed acknowledgements until the
    /// restart is due (or the closure is over).
    fn watch_until_restart(
        &self,
        kill: &Kill,
        restart_after: Duration,
        outcome: &mut FailoverOutcome,
    ) {
        let mut last_poll = Instant::now() - Duration::from_secs(1);
        while kill.killed_at.elapsed() < restart_after.max(Duration::from_millis(1))
            && !self.is_done()
        {
            self.note_resumed(kill, outcome);
            if outcome.new_leader_ms.is_none() && last_poll.elapsed() >= Duration::from_millis(50) {
                last_poll = Instant::now();
                if let Ok(Some(l)) = self.cluster.leader(self.topic, self.partition) {
                    if l != kill.leader {
                        outcome.new_leader_ms = Some(kill.killed_at.elapsed().as_millis() as u64);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        self.close_stalled_window(outcome);
    }

    /// A producer still stalled at the restart resumes after it: keeps
    /// watching (bounded) so its window closes where it resumed.
    fn watch_after_restart(&self, kill: &Kill, outcome: &mut FailoverOutcome) {
        let until = Instant::now() + PATIENCE;
        while outcome.resumed_ms.is_none() && !self.is_done() && Instant::now() < until {
            self.note_resumed(kill, outcome);
            std::thread::sleep(Duration::from_millis(2));
        }
        self.close_stalled_window(outcome);
    }

    /// Marks the producer resumed, and closes the window there, once the
    /// acknowledged counter moved past the kill.
    fn note_resumed(&self, kill: &Kill, outcome: &mut FailoverOutcome) {
        if outcome.resumed_ms.is_none() && self.acked() > kill.acked_at_kill + 1 {
            outcome.resumed_ms = Some(kill.killed_at.elapsed().as_millis() as u64);
            outcome.window_last_sent = self.sent();
        }
    }

    /// A producer that has not resumed: the window closes at the count now.
    fn close_stalled_window(&self, outcome: &mut FailoverOutcome) {
        if outcome.resumed_ms.is_none() {
            outcome.window_last_sent = self.sent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_points_are_seeded_spread_and_in_range() {
        let a = FailoverSchedule::new(7, 5, 1_000, 101_000, Duration::from_secs(3));
        assert_eq!(
            a,
            FailoverSchedule::new(7, 5, 1_000, 101_000, Duration::from_secs(3))
        );
        assert_ne!(
            a.kill_points,
            FailoverSchedule::new(8, 5, 1_000, 101_000, Duration::from_secs(3)).kill_points
        );
        assert_eq!(a.kill_points.len(), 5);
        for (i, p) in a.kill_points.iter().enumerate() {
            let slot = 1_000 + i as u64 * 20_000;
            assert!(*p >= slot + 5_000 && *p < slot + 15_000, "{i}: {p}");
        }
        assert_eq!(a.plan(1).unwrap().kill_after, a.kill_points[1]);
        assert_eq!(a.plan(5), None);
        assert_eq!(FailoverSchedule::for_cell(1, 0, 10).kill_points.len(), 5);
    }

    #[test]
    fn an_outcome_is_an_event_over_its_window_on_every_stream() {
        let o = FailoverOutcome {
            node: 2,
            sent_at_kill: 5_000,
            window_first_sent: 4_000,
            window_last_sent: 6_001,
            at_ms: 1234,
            ..FailoverOutcome::default()
        };
        let e = o.event(9, 2);
        assert_eq!((e.id, e.kind.as_str(), e.at_ms), (9, "failover", 1234));
        assert_eq!(e.request_index, None);
        assert_eq!(e.records.len(), 2);
        assert!(e.touches(0, 1_999) && e.touches(1, 3_001) && !e.touches(0, 3_002));
        let r = FailoverReport {
            kills: 2,
            outcomes: vec![o.clone(), o],
            ..FailoverReport::default()
        };
        let ids: Vec<u64> = r.events(3, 1).iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![3, 4]);
    }
}
