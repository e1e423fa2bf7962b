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
