//! Leader failover: kill the partition leader mid-cell, restart it later.
//!
//! The plan is set in records, not seconds, like the proxy's schedule: the
//! leader dies once the producer has handed `kill_after` timed records to the
//! client (so the kill always lands while batches are in flight), and comes
//! back `restart_after` later. The producer sees NOT_LEADER_OR_FOLLOWER (or a
//! dropped connection), refreshes metadata and retries against the new leader.
//!
//! Only a cluster this process started can be failed over
//! ([`crate::cluster::Cluster::local`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cluster::LocalCluster;

/// When to kill the leader and when to bring it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailoverPlan {
    /// Records sent (counted by the session, warm-up included) before the kill.
    pub kill_after: u64,
    /// Time between the kill and the restart.
    pub restart_after: Duration,
}

impl FailoverPlan {
    /// The suite's plan: kill once `warmup + 20,000` records were sent (or a
    /// quarter of the cell's timed records, if fewer), restart 3 s later.
    /// The same for every cell, so cells compare.
    pub fn for_cell(warmup: u64, timed_records: u64) -> FailoverPlan {
        FailoverPlan {
            kill_after: warmup + (timed_records / 4).clamp(1, 20_000),
            restart_after: Duration::from_secs(3),
        }
    }
}

/// What the failover controller did in one cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailoverReport {
    /// Leaders killed (0 when the cell ended before the planned point).
    pub kills: u64,
    /// The node killed.
    pub node: Option<i32>,
    /// Problems met (no leader found, restart failed): data for the results.
    pub error: Option<String>,
}

/// Runs `body` while a controller thread kills the leader of
/// `topic`/`partition` per `plan`, watching `sent` (the session's count of
/// records handed to the client). The killed node is restarted, and back in
/// the cluster, before this returns, whatever `body` did.
pub fn with_failover<T>(
    cluster: &LocalCluster,
    topic: &str,
    partition: i32,
    plan: FailoverPlan,
    sent: Arc<AtomicU64>,
    body: impl FnOnce() -> T,
) -> (T, FailoverReport) {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let controller = scope.spawn(|| control(cluster, topic, partition, plan, &sent, &done));
        let out = body();
        done.store(true, Ordering::SeqCst);
        let report = controller.join().unwrap_or_else(|_| FailoverReport {
            error: Some("the failover controller panicked".into()),
            ..FailoverReport::default()
        });
        (out, report)
    })
}

fn control(
    cluster: &LocalCluster,
    topic: &str,
    partition: i32,
    plan: FailoverPlan,
    sent: &AtomicU64,
    done: &AtomicBool,
) -> FailoverReport {
    let mut report = FailoverReport::default();
    while sent.load(Ordering::Relaxed) < plan.kill_after {
        if done.load(Ordering::SeqCst) {
            return report;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let leader = match cluster.leader(topic, partition) {
        Ok(Some(l)) => l,
        Ok(None) => {
            report.error = Some(format!("{topic}/{partition} has no leader to kill"));
            return report;
        }
        Err(e) => {
            report.error = Some(format!("finding the leader of {topic}/{partition}: {e}"));
            return report;
        }
    };
    if let Err(e) = cluster.kill(leader) {
        report.error = Some(format!("killing node {leader}: {e}"));
        return report;
    }
    report.kills = 1;
    report.node = Some(leader);
    // Restart after the planned delay, or as soon as the cell is over.
    let killed_at = Instant::now();
    while killed_at.elapsed() < plan.restart_after && !done.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(10));
    }
    if let Err(e) = cluster.restart(leader) {
        report.error = Some(format!("restarting node {leader}: {e}"));
    }
    report
}
