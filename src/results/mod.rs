//! The results schema, run metadata and atomic writes.
//!
//! One versioned struct, [`Results`], is what every later stage reads: the
//! report, the comparison, and users' own scripts. Units are in field names.
//! The file is rewritten atomically (write a temporary file, then rename)
//! after every cell, so a crash or Ctrl-C loses at most the cell in progress.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::faults::FaultProfile;
use crate::grid::{Cell, Client, ProducerSettings, Workload};
use crate::verify::Verdict;

pub mod upgrade;

/// Version of the schema below. Bump it on any change a reader could trip on.
pub const SCHEMA_VERSION: u32 = 3;

/// Errors reading or writing a results file.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("cannot read {path}: {source} (hint: pass the results.json of a run, e.g. reports/<run-id>/results.json)")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a kafka-order-bench results file: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path} has schema version {found}, this build reads versions 1 to {SCHEMA_VERSION} (hint: use the kafka-order-bench that wrote it)")]
    Version { path: PathBuf, found: u64 },
    #[error("{path} holds no cells (the run stopped before its first cell finished)")]
    Empty { path: PathBuf },
}

/// Everything one run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Always [`SCHEMA_VERSION`] when written by this build.
    pub schema_version: u32,
    pub run: RunMeta,
    /// Cells in the order they ran.
    pub cells: Vec<CellResult>,
    /// True once every planned cell has a result; false while a run is in
    /// progress or after it was interrupted.
    pub complete: bool,
}

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

/// The result of one cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    /// Stable id, e.g. `rtt=2ms,inflight=5,acks=all,idem=true,faults=none`.
    pub id: String,
    /// The fault profile (in the JSON its text form: `none`, `reject:1%`, …).
    pub faults: FaultProfile,
    /// The settings the grid asked for.
    pub requested: ProducerSettings,
    /// The producer client (`librdkafka`, `java:4.1.1`).
    #[serde(default)]
    pub client: Client,
    /// The network the cell's links were given.
    pub network: CellNetwork,
    pub outcome: Outcome,
}

/// The emulated network of one cell, and which links carried it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CellNetwork {
    /// Client↔broker round trip added by the proxy, microseconds.
    pub rtt_us: u64,
    /// Broker↔broker replication round trip added, microseconds (0 when
    /// replication links were not emulated).
    pub replication_rtt_us: u64,
    /// Jitter per frame, microseconds (never reorders a connection).
    pub jitter_us: u64,
    /// Bandwidth per direction of each emulated link, bytes/s; `None` unlimited.
    pub bandwidth_bytes_per_sec: Option<u64>,
    /// The links emulated: `client` (client↔broker, through the proxy) and
    /// `replication` (broker↔broker, local cluster only); empty for `--direct`.
    pub links: Vec<String>,
}

impl CellNetwork {
    /// What a cell asked for, before its path was built (for cells that
    /// failed before that).
    pub fn requested(cell: &Cell) -> CellNetwork {
        CellNetwork {
            rtt_us: cell.rtt_us,
            ..CellNetwork::default()
        }
    }
}

impl CellResult {
    pub fn new(cell: &Cell, network: CellNetwork, outcome: Outcome) -> CellResult {
        CellResult {
            id: cell.id(),
            faults: cell.faults.clone(),
            requested: cell.settings,
            client: cell.client.clone(),
            network,
            outcome,
        }
    }

    /// The grid cell this result is of.
    pub fn cell(&self) -> Option<Cell> {
        Some(Cell {
            client: self.client.clone(),
            rtt_us: self.network.rtt_us,
            settings: self.requested,
            faults: self.faults.clone(),
        })
    }

    /// The measurement, for measured cells.
    pub fn measurement(&self) -> Option<&Measurement> {
        match &self.outcome {
            Outcome::Measured(m) => Some(m),
            _ => None,
        }
    }
}

/// What became of a cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The cell ran and was checked.
    Measured(Box<Measurement>),
    /// The client refused the configuration when the producer was created.
    Rejected {
        /// librdkafka's own message, verbatim.
        message: String,
    },
    /// The cell could not be measured (cluster error, timeout, …).
    Failed { message: String },
}

/// Measurements of one cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Topic the cell wrote.
    pub topic: String,
    /// The configuration the client reports it runs with (librdkafka's view,
    /// after its own defaults and derivations), secrets removed.
    pub effective: BTreeMap<String, String>,
    /// Timed windows of every round, in the order they ran.
    pub samples: Vec<Sample>,
    pub throughput: Throughput,
    /// Produce-to-acknowledgement latency over the windows, at saturation:
    /// the client's own queue is part of it.
    pub latency: Latency,
    /// Latency at a fixed load common to the cells compared with this one.
    pub fixed_load: Option<FixedLoad>,
    pub delivery: DeliveryCounts,
    pub client: ClientCounters,
    pub exposure: Exposure,
    pub verdict: Verdict,
    /// Criterion's estimate, when the cell ran under `cargo bench`.
    pub criterion: Option<CriterionEstimate>,
    /// What else was true while the cell was measured.
    #[serde(default)]
    pub conditions: Conditions,
}

/// The environment during a cell's rounds: a degraded cluster (for reasons
/// other than the cell's own fault profile) or a machine loaded beyond its
/// cores makes a cell's numbers doubtful; the report flags such cells and
/// keeps them out of its conclusion.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conditions {
    /// Brokers seen down during the cell's rounds, not caused by its faults.
    pub degraded: Vec<crate::cluster::health::Degradation>,
    /// The machine's load over each of the cell's rounds.
    pub load: Vec<crate::machine::Load>,
}

impl Conditions {
    /// True when the cluster was degraded while the cell ran.
    pub fn degraded(&self) -> bool {
        !self.degraded.is_empty()
    }

    /// Rounds during which something else loaded the machine beyond its cores.
    pub fn busy_rounds(&self) -> usize {
        self.load.iter().filter(|l| l.busy_beyond_cores).count()
    }
}

/// One timed window: `records` delivery reports in steady state, timed from
/// the report that opened the window to the one that closed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// The round (from 0) the window belongs to.
    #[serde(default)]
    pub round: u32,
    pub records: u64,
    pub bytes: u64,
    pub elapsed_ns: u64,
    /// Median produce-to-ack latency of this sample's records, microseconds.
    pub p50_us: u64,
    /// 99th percentile produce-to-ack latency of this sample's records, microseconds.
    pub p99_us: u64,
}

impl Sample {
    pub fn records_per_sec(&self) -> f64 {
        if self.elapsed_ns == 0 {
            return 0.0;
        }
        self.records as f64 * 1e9 / self.elapsed_ns as f64
    }
}

/// Throughput over the windows: the median window rate and its 95%
/// confidence interval from a two-level bootstrap (rounds resampled, then
/// windows within each drawn round; fixed resampling seed), since windows
/// of one round share that round's conditions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    pub records_per_sec: f64,
    pub records_per_sec_ci_low: f64,
    pub records_per_sec_ci_high: f64,
    /// Half the interval's width as a percentage of the median.
    #[serde(default)]
    pub ci_half_width_pct: f64,
    pub mib_per_sec: f64,
}

/// How [`Throughput`] is estimated, in the words the report uses.
pub const THROUGHPUT_ESTIMATOR: &str =
    "median of window rates; 95% CI by a two-level bootstrap (rounds, then windows within rounds)";

impl Throughput {
    /// Median and two-level bootstrap confidence interval of the windows' rates.
    pub fn from_samples(samples: &[Sample], record_bytes: usize) -> Throughput {
        let mut by_round: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
        for s in samples {
            by_round
                .entry(s.round)
                .or_default()
                .push(s.records_per_sec());
        }
        let groups: Vec<Vec<f64>> = by_round.into_values().collect();
        let rates: Vec<f64> = groups.iter().flatten().copied().collect();
        let median = crate::stats::median(&rates);
        let (lo, hi) = crate::stats::bootstrap_median_ci_grouped(&groups, 0.95, 0x6b6f62);
        Throughput {
            records_per_sec: median,
            records_per_sec_ci_low: lo,
            records_per_sec_ci_high: hi,
            ci_half_width_pct: if median > 0.0 {
                50.0 * (hi - lo) / median
            } else {
                0.0
            },
            mib_per_sec: median * record_bytes as f64 / (1024.0 * 1024.0),
        }
    }
}

/// Latency at a fixed load: records sent at `rate_per_sec`, each timed from
/// its intended send time (coordinated omission corrected).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedLoad {
    /// The rate, records/s, common to the cells this one is compared with.
    pub rate_per_sec: u64,
    /// How the rate was chosen, e.g. `50% of the slowest cell (1,234 records/s)` or `--rate`.
    pub rate_basis: String,
    pub records: u64,
    /// Intended send time to acknowledgement.
    pub latency: Latency,
    /// How late `send()` was against the intended time.
    pub send_delay: Latency,
}

/// Latency quantiles in microseconds, and the full histogram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub count: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub p9999_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
    /// The HdrHistogram (values in microseconds) in its V2 deflate
    /// serialization, base64: histograms of several runs can be merged.
    pub histogram: String,
}

impl Latency {
    /// Quantiles of a histogram of microsecond values.
    pub fn from_histogram(h: &hdrhistogram::Histogram<u64>) -> Latency {
        use base64::Engine;
        use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
        let mut buf = Vec::new();
        // Serializing into a Vec cannot fail for a valid histogram.
        V2DeflateSerializer::new()
            .serialize(h, &mut buf)
            .expect("serialize histogram");
        Latency {
            count: h.len(),
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            p9999_us: h.value_at_quantile(0.9999),
            max_us: h.max(),
            mean_us: h.mean(),
            histogram: base64::engine::general_purpose::STANDARD.encode(buf),
        }
    }

    /// Decodes the serialized histogram.
    pub fn histogram(&self) -> Option<hdrhistogram::Histogram<u64>> {
        use base64::Engine;
        use hdrhistogram::serialization::Deserializer;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.histogram)
            .ok()?;
        Deserializer::new()
            .deserialize(&mut std::io::Cursor::new(bytes))
            .ok()
    }
}

/// What the client reported for the records of the cell (warm-up included).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryCounts {
    pub sent: u64,
    /// Reported delivered. With `acks=0` the client reports delivery without
    /// hearing from the broker.
    pub acked: u64,
    /// Reported failed.
    pub failed: u64,
    /// Failures by the client's error code name: librdkafka's own
    /// (`rd_kafka_err2name`, lowercase without its leading `_`, e.g.
    /// `msg_timed_out`), or the Java exception's class name.
    pub failed_by_error: BTreeMap<String, u64>,
    /// Of the failed: those whose persistence status librdkafka reported as
    /// possibly persisted (the broker may have written them).
    pub possibly_persisted: u64,
}

/// The client's own counters from librdkafka statistics, summed over brokers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientCounters {
    /// Requests sent (`tx`).
    pub requests: u64,
    /// Request retries (`txretries`): requests sent again as they were, after
    /// a timeout or a lost connection. Produce errors the broker answers are
    /// retried by re-queueing the records instead: see `records_resent`.
    pub retries: u64,
    /// Records transmitted (`txmsgs`), retransmissions included.
    #[serde(default)]
    pub records_transmitted: u64,
    /// Records transmitted more than once: `records_transmitted` minus the
    /// records sent. Counts the retries of batches a broker refused.
    #[serde(default)]
    pub records_resent: u64,
    /// Request errors (`txerrs`).
    pub request_errors: u64,
    /// Requests timed out (`req_timeouts`).
    pub request_timeouts: u64,
    /// Connections made (`connects`).
    pub connects: u64,
    /// Connections lost (`disconnects`).
    pub disconnects: u64,
}

/// How hard the faults hit a cell.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exposure {
    /// Faults injected, by kind (`reject`, `lose-ack`, `delay`, `reset`, `failover`).
    pub faults_injected: BTreeMap<String, u64>,
    /// Request retries the client made (librdkafka `txretries`).
    pub client_retries: u64,
    /// Records the client transmitted again after a failed request.
    #[serde(default)]
    pub records_resent: u64,
    /// Each leader failover and what followed it (time to a new leader,
    /// until the producer resumed, the records in its window).
    #[serde(default)]
    pub failovers: Vec<crate::faults::failover::FailoverOutcome>,
}

impl Exposure {
    pub fn total_faults(&self) -> u64 {
        self.faults_injected.values().sum()
    }

    /// True when no fault touched the cell: a clean verdict then means nothing
    /// about ordering under faults.
    pub fn exposed(&self) -> bool {
        self.total_faults() > 0
    }
}

/// The 95% upper bound on a rate of events never seen in `n` trials (the
/// rule of three: 3/n), or `None` when there were no trials.
pub fn zero_events_upper_bound(n: u64) -> Option<f64> {
    (n > 0).then(|| 3.0 / n as f64)
}

/// Criterion's estimate of a cell, in records/s (from its time per record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionEstimate {
    pub benchmark_id: String,
    pub mean_records_per_sec: f64,
    pub mean_ci_low: f64,
    pub mean_ci_high: f64,
    pub median_records_per_sec: f64,
}

impl Results {
    pub fn new(run: RunMeta) -> Results {
        Results {
            schema_version: SCHEMA_VERSION,
            run,
            cells: Vec::new(),
            complete: false,
        }
    }

    /// Reads and checks a results file: it must exist, parse, carry this
    /// build's schema version or an earlier one (brought up to this one, see
    /// [`upgrade`]) and hold at least one cell.
    pub fn load(path: &Path) -> Result<Results, ResultsError> {
        let text = std::fs::read_to_string(path).map_err(|source| ResultsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| ResultsError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        let found = value
            .get("schema_version")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| ResultsError::Parse {
                path: path.to_path_buf(),
                message: "no schema_version field".into(),
            })?;
        if !upgrade::upgrade(&mut value, found) {
            return Err(ResultsError::Version {
                path: path.to_path_buf(),
                found,
            });
        }
        let mut results: Results =
            serde_json::from_value(value).map_err(|e| ResultsError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        results.schema_version = SCHEMA_VERSION;
        if results.cells.is_empty() {
            return Err(ResultsError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(results)
    }

    /// Writes the results atomically: a temporary file beside `path`, then a rename.
    pub fn save(&self, path: &Path) -> Result<(), ResultsError> {
        let json = serde_json::to_vec_pretty(self).expect("results serialize");
        write_atomically(path, &json)
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so readers see the old file or the new one, never half.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ResultsError> {
    let err = |source| ResultsError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    // tempfile creates 0600 files; reports are meant to be shared.
    use std::os::unix::fs::PermissionsExt;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_of_three() {
        assert_eq!(zero_events_upper_bound(0), None);
        assert_eq!(zero_events_upper_bound(300), Some(0.01));
    }

    #[test]
    fn latency_histogram_round_trips() {
        let mut h = hdrhistogram::Histogram::<u64>::new(3).unwrap();
        for v in 1..=1000u64 {
            h.record(v).unwrap();
        }
        let l = Latency::from_histogram(&h);
        assert_eq!(l.count, 1000);
        assert_eq!(l.p50_us, 500);
        assert_eq!(l.max_us, 1000);
        assert_eq!(l.histogram().unwrap(), h);
    }

    #[test]
    fn write_atomically_replaces_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/results.json");
        write_atomically(&p, b"first").unwrap();
        write_atomically(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn load_refuses_unknown_version_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        std::fs::write(&p, r#"{"schema_version": 99}"#).unwrap();
        let e = Results::load(&p).unwrap_err().to_string();
        assert!(e.contains("schema version 99"), "{e}");
        std::fs::write(&p, "{\"schema_ver").unwrap();
        let e = Results::load(&p).unwrap_err().to_string();
        assert!(e.contains("is not a kafka-order-bench results file"), "{e}");
        let e = Results::load(&dir.path().join("missing.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read"), "{e}");
    }
}

/// Days since 1970-01-01 to a civil (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm), so no date crate is needed for a timestamp.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn utc_parts(t: std::time::SystemTime) -> (i64, u32, u32, u64, u64, u64) {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    (y, mo, d, s / 3_600, s % 3_600 / 60, s % 60)
}

/// RFC 3339 timestamp in UTC, e.g. `2026-11-27T14:04:20Z`.
pub fn rfc3339_utc(t: std::time::SystemTime) -> String {
    let (y, mo, d, h, mi, s) = utc_parts(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Compact UTC timestamp for ids and directory names, e.g. `20261127T140420Z`.
pub fn compact_utc(t: std::time::SystemTime) -> String {
    let (y, mo, d, h, mi, s) = utc_parts(t);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

#[cfg(test)]
mod time_tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn utc_formats() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_788_260); // 2026-11-27T14:04:20Z
        assert_eq!(rfc3339_utc(t), "2026-11-27T14:04:20Z");
        assert_eq!(compact_utc(t), "20261127T140420Z");
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339_utc(leap), "2000-02-29T00:00:00Z");
    }
}
