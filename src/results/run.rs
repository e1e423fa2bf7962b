//! The run-level part of the schema: where and how a run happened (its
//! ids, versions, cluster, machine and workload) and which front end ran it.

use serde::{Deserialize, Serialize};

use crate::grid::Workload;

/// Where and how a run happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    /// Unique id of the run, e.g. `20261127T140420Z-3f2a`; also its directory name.
    pub run_id: String,
    /// The 64-bit id stamped into every record of the run.
    pub run_tag: u64,
    /// Start time, RFC 3339 in UTC.
    pub started_at: String,
    /// kafka-order-bench's own version.
    pub tool_version: String,
    /// Git revision of kafka-order-bench, when built from a checkout.
    pub git_revision: Option<String>,
    /// librdkafka's version string, as the linked library reports it.
    pub librdkafka_version: String,
    /// Version of the `rdkafka` crate.
    pub rdkafka_crate_version: String,
    pub cluster: ClusterMeta,
    pub machine: MachineMeta,
    /// The workload every cell ran with, seed included.
    pub workload: Workload,
    /// Which front end ran the cells.
    pub driver: Driver,
    /// How the cluster was brought to a steady state before the first
    /// cell (a cluster the suite started; absent for one it was given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_warm_up: Option<ClusterWarmUp>,
}

/// The cluster's warm-up: chunks of records sent to a throwaway topic until
/// its throughput stops rising (the brokers' JIT and page cache settle), or
/// a time limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterWarmUp {
    /// Records per timed chunk.
    pub chunk_records: u64,
    /// Each chunk's throughput, in order, records per second.
    pub chunks_records_per_sec: Vec<f64>,
    /// True when it stopped because throughput settled, false at the limit.
    pub settled: bool,
    /// Wall time of the whole warm-up, in milliseconds.
    pub elapsed_ms: f64,
}

impl ClusterWarmUp {
    /// Chunks compared at a time: the median of the last this many chunks
    /// against the median of the ones before them.
    pub const SPAN: usize = 3;
    /// The settled rule: throughput no longer rises by more than this
    /// fraction from one span of chunks to the next.
    pub const RISE: f64 = 0.05;

    /// Whether `chunks` (records per second, in order) have settled: at
    /// least two spans, and the last span's median is within
    /// [`Self::RISE`] above the span before it (a fall, which a busy 2-core
    /// machine produces too, is not a rise).
    pub fn settled(chunks: &[f64]) -> bool {
        let n = chunks.len();
        if n < 2 * Self::SPAN {
            return false;
        }
        let last = crate::stats::median(&chunks[n - Self::SPAN..]);
        let before = crate::stats::median(&chunks[n - 2 * Self::SPAN..n - Self::SPAN]);
        last <= before * (1.0 + Self::RISE)
    }
}

/// The front end that ran a run's cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    /// `kafka-order-bench run`.
    Cli,
    /// `cargo bench`.
    Criterion,
}

impl Driver {
    pub fn as_str(self) -> &'static str {
        match self {
            Driver::Cli => "cli",
            Driver::Criterion => "criterion",
        }
    }
}

/// What kind of cluster a run measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterKind {
    /// Started and owned by this suite (brokers it can kill for failover).
    Local,
    /// Given by its bootstrap servers.
    External,
    /// librdkafka's in-process mock cluster.
    Mock,
}

impl ClusterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterKind::Local => "local",
            ClusterKind::External => "external",
            ClusterKind::Mock => "mock",
        }
    }
}

impl std::fmt::Display for ClusterKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The cluster a run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterMeta {
    pub kind: ClusterKind,
    /// Apache Kafka version, when known (always for local clusters).
    pub broker_version: Option<String>,
    /// Number of brokers.
    pub brokers: u32,
    /// Bootstrap servers as given (never credentials: `-X` values are not recorded).
    pub bootstrap: String,
}

/// The machine a run happened on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineMeta {
    pub os: String,
    pub arch: String,
    pub cpu_model: Option<String>,
    pub cores: u32,
    pub memory_bytes: Option<u64>,
}

impl MachineMeta {
    /// Reads the current machine's description.
    pub fn current() -> MachineMeta {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.trim().to_string());
        let memory_bytes = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<u64>().ok())
            })
            .map(|kb| kb * 1024);
        MachineMeta {
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
            cpu_model,
            cores: std::thread::available_parallelism()
                .map(|n| n.get() as u32)
                .unwrap_or(1),
            memory_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ClusterWarmUp;

    #[test]
    fn a_rising_cluster_is_not_settled() {
        // The JIT still compiling: every chunk faster than the last.
        let rising = [4_000.0, 5_000.0, 6_000.0, 7_000.0, 8_000.0, 9_000.0];
        assert!(!ClusterWarmUp::settled(&rising));
    }

    #[test]
    fn a_flat_or_noisy_cluster_is_settled_after_two_spans() {
        let flat = [9_000.0, 9_100.0, 8_900.0, 9_050.0, 8_950.0, 9_020.0];
        assert!(!ClusterWarmUp::settled(&flat[..5]), "one span is too few");
        assert!(ClusterWarmUp::settled(&flat));
        // A fall (the 2-core machine busy elsewhere) is not a rise.
        let falling = [9_000.0, 9_500.0, 9_200.0, 6_000.0, 7_000.0, 6_500.0];
        assert!(ClusterWarmUp::settled(&falling));
    }

    #[test]
    fn the_rise_is_judged_on_medians_not_one_chunk() {
        // One fast chunk among slow ones does not count as a rise.
        let one_outlier = [9_000.0, 9_000.0, 9_000.0, 9_000.0, 20_000.0, 9_100.0];
        assert!(ClusterWarmUp::settled(&one_outlier));
        // A 6% rise in the median does.
        let six = [9_000.0, 9_000.0, 9_000.0, 9_540.0, 9_540.0, 9_540.0];
        assert!(!ClusterWarmUp::settled(&six));
    }
}
