//! The grid: producer settings, the workload that fixes everything else, and
//! stable cell ids.
//!
//! A *cell* is one point of the grid (`max.in.flight`, `acks`,
//! `enable.idempotence`) run under one fault profile. Everything that is not
//! an axis is fixed for the whole run by [`Fixed`]. The grid never adjusts a
//! setting to please the client: a combination librdkafka refuses becomes a
//! *rejected cell* when the runner tries to create the producer.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::faults::FaultProfile;

mod network;
mod settings;

use network::ms_to_us;
pub use network::{fmt_rtt, parse_rtt, Network};
pub use settings::{Acks, Client, Compression, ProducerSettings, DEFAULT_JAVA_CLIENT};

/// Errors in a workload: a file that cannot be read, or a value out of range.
#[derive(Debug, thiserror::Error)]
pub enum GridError {
    #[error("cannot read workload file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("workload file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("invalid workload: {0}")]
    Invalid(String),
}

/// The axes of the grid; the grid is their cartesian product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axes {
    /// Values of `max.in.flight.requests.per.connection`.
    #[serde(default = "default_in_flight")]
    pub max_in_flight: Vec<u32>,
    /// Values of `acks`.
    #[serde(default = "default_acks")]
    pub acks: Vec<Acks>,
    /// Values of `enable.idempotence`.
    #[serde(default = "default_idempotence")]
    pub idempotence: Vec<bool>,
    /// Producer clients: `librdkafka`, `java:VERSION`.
    #[serde(default = "default_clients")]
    pub clients: Vec<Client>,
}

fn default_clients() -> Vec<Client> {
    vec![Client::Librdkafka]
}

fn default_in_flight() -> Vec<u32> {
    vec![1, 5, 100]
}
fn default_acks() -> Vec<Acks> {
    vec![Acks::One, Acks::All]
}
fn default_idempotence() -> Vec<bool> {
    vec![false, true]
}

impl Default for Axes {
    fn default() -> Self {
        Axes {
            max_in_flight: default_in_flight(),
            acks: default_acks(),
            idempotence: default_idempotence(),
            clients: default_clients(),
        }
    }
}

/// Everything that is the same for every cell of a run.
///
/// A cell is measured in interleaved **rounds** (every cell once per round,
/// in an order shuffled from the seed). One producer per cell lives for the
/// whole run; in each round it sends without pause: an untimed warm-up,
/// `windows` timed **windows**, and an untimed tail, so no window pays for
/// the pipeline filling or draining. A window is a fixed number of records
/// (see [`Fixed::records_per_window`]), so a cell sends the same records, and
/// meets the same seeded faults, whichever front end drives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fixed {
    /// Size of each record's value, in bytes (the stamped header included).
    pub record_bytes: usize,
    /// Rounds over the whole grid.
    pub rounds: u32,
    /// Timed windows per cell and round.
    pub windows: u32,
    /// Target duration of one window, in milliseconds, at the pipelining
    /// ceiling; the window's record count is derived from it.
    pub window_ms: u32,
    /// Fewest records in a window (slow cells: long round trips, in-flight 1).
    pub min_records_per_window: u64,
    /// Most records in a window (cells with no round trip to wait for).
    pub max_records_per_window: u64,
    /// Records sent once per cell before its first round, untimed, so
    /// connections, metadata and producer-id set-up are paid before timing.
    pub warmup_records: u64,
    /// `linger.ms`.
    pub linger_ms: u32,
    /// `batch.size`, in bytes. The default is the Java producer's (16 KiB),
    /// not librdkafka's (1 MB): with 1 MB batches a cell is a few dozen
    /// Produce requests, too few for `max.in.flight` to matter or for a
    /// per-request fault rate to hit anything.
    pub batch_bytes: u32,
    /// `compression.type`.
    pub compression: Compression,
    /// Partitions of each cell's topic; one stream per partition.
    pub partitions: u32,
    /// The rate of the fixed-load latency phase, records/s. 0 derives it per
    /// group of compared cells (same network and fault profile) as
    /// `latency_rate_fraction` of the slowest measured cell's throughput.
    pub rate_per_sec: u64,
    /// Fraction of the slowest cell's throughput the latency phase runs at.
    pub latency_rate_fraction: f64,
    /// Duration of the fixed-load latency phase per cell, milliseconds
    /// (0 skips it). Runs on cells without faults.
    pub latency_ms: u32,
    /// Fewest fault events before a zero-violation cell is called "no
    /// violation observed"; below it the cell is "too few faults to judge".
    pub min_events: u64,
    /// `message.timeout.ms`: how long a record may wait for delivery before it is failed.
    pub message_timeout_ms: u32,
}

impl Default for Fixed {
    fn default() -> Self {
        Fixed {
            record_bytes: 1024,
            rounds: 3,
            windows: 3,
            window_ms: 250,
            min_records_per_window: 200,
            max_records_per_window: 3_000,
            warmup_records: 1_000,
            linger_ms: 5,
            batch_bytes: 16_384,
            compression: Compression::None,
            partitions: 1,
            rate_per_sec: 0,
            latency_rate_fraction: 0.5,
            latency_ms: 1_000,
            min_events: 20,
            message_timeout_ms: 30_000,
        }
    }
}

impl Fixed {
    /// Records in one full batch (`batch.size` / `record_bytes`, at least 1).
    pub fn records_per_batch(&self) -> u64 {
        (u64::from(self.batch_bytes) / self.record_bytes.max(1) as u64).max(1)
    }

    /// Records in one window of `cell`: `window_ms` at the pipelining
    /// ceiling ([`Cell::pipelining_ceiling_records_per_sec`]), within the
    /// workload's bounds.
    /// A pure function of the workload and the cell, so a cell's record
    /// count (and with it its exposure to seeded faults) never depends on
    /// how fast this run happened to be.
    pub fn records_per_window(&self, cell: &Cell, network: &Network) -> u64 {
        let (lo, hi) = (self.min_records_per_window, self.max_records_per_window);
        match cell.pipelining_ceiling_records_per_sec(self, network) {
            Some(rate) => ((rate * f64::from(self.window_ms) / 1e3) as u64).clamp(lo, hi),
            None => hi,
        }
    }

    /// The untimed records after a round's last window: enough that the
    /// last window closes while the pipeline is still full.
    pub fn tail_records(&self, cell: &Cell, network: &Network) -> u64 {
        let per_window = self.records_per_window(cell, network);
        let in_flight = u64::from(cell.settings.max_in_flight) * self.records_per_batch();
        in_flight.max(per_window / 2).min(per_window)
    }
}

/// A whole run: the axes, the fixed values, the fault profiles and the seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    #[serde(default)]
    pub axes: Axes,
    #[serde(default)]
    pub fixed: Fixed,
    #[serde(default)]
    pub network: Network,
    /// Fault profiles; every grid point runs once under each.
    #[serde(default = "default_faults")]
    pub faults: Vec<FaultProfile>,
    /// Seed of every fault schedule in the run.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

/// No faults (throughput and latency), then the two proxy mechanisms that
/// break ordering: a refused request and a lost acknowledgement. Leader
/// failover (a broker restart per round) has its own workload,
/// `workloads/failover.toml`.
fn default_faults() -> Vec<FaultProfile> {
    ["none", "reject:1%", "lose-ack:1%"]
        .iter()
        .map(|p| p.parse().expect("built-in profiles parse"))
        .collect()
}
fn default_seed() -> u64 {
    42
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            axes: Axes::default(),
            fixed: Fixed::default(),
            network: Network::default(),
            faults: default_faults(),
            seed: default_seed(),
        }
    }
}

/// One cell: a grid point under one fault profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// The producer client.
    #[serde(default)]
    pub client: Client,
    /// The emulated client↔broker round trip, microseconds (0: none).
    #[serde(default)]
    pub rtt_us: u64,
    pub settings: ProducerSettings,
    pub faults: FaultProfile,
}

impl Cell {
    /// Stable, readable id, e.g. `rtt=2ms,inflight=5,acks=all,idem=true,faults=none`.
    /// It doubles as a file name: it contains no `/`, space or `%`.
    pub fn id(&self) -> String {
        format!(
            "{}rtt={},{},faults={}",
            self.client_prefix(),
            fmt_rtt(self.rtt_us),
            self.settings.id(),
            self.faults.slug()
        )
    }

    /// The Criterion benchmark id of the cell, `group/function`:
    /// `rtt=2ms,faults=none/inflight=5,acks=all,idem=true`.
    pub fn bench_id(&self) -> String {
        format!("{}/{}", self.bench_group(), self.settings.id())
    }

    /// The Criterion group of the cell: its network and fault profile.
    pub fn bench_group(&self) -> String {
        format!(
            "{}rtt={},faults={}",
            self.client_prefix(),
            fmt_rtt(self.rtt_us),
            self.faults.slug()
        )
    }

    /// `client=java-4.1.1,` for a client other than the default, else empty.
    fn client_prefix(&self) -> String {
        self.client
            .slug()
            .map(|c| format!("client={c},"))
            .unwrap_or_default()
    }

    /// The round trips a record waits for before its acknowledgement,
    /// microseconds: the client's, plus a follower's fetch with `acks=all`
    /// when replication links are emulated. `None` with `acks=0` (nothing
    /// to wait for).
    pub fn ack_rtt_us(&self, network: &Network) -> Option<u64> {
        match self.settings.acks {
            Acks::Zero => None,
            Acks::One => Some(self.rtt_us),
            Acks::All if network.replication => Some(2 * self.rtt_us),
            Acks::All => Some(self.rtt_us),
        }
    }

    /// What pipelining alone allows, records/s: `max.in.flight` full
    /// batches per acknowledgement round trip ([`Cell::ack_rtt_us`]). The
    /// windows are sized from it ([`Fixed::records_per_window`]). `None`
    /// where there is no round trip to wait for (RTT 0 or `acks=0`): then
    /// CPU and the broker set the limit.
    pub fn pipelining_ceiling_records_per_sec(
        &self,
        fixed: &Fixed,
        network: &Network,
    ) -> Option<f64> {
        let rtt = self.ack_rtt_us(network).filter(|&r| r > 0)?;
        let per_trip = f64::from(self.settings.max_in_flight) * fixed.records_per_batch() as f64;
        Some(per_trip * 1e6 / rtt as f64)
    }

    /// The model ceiling of throughput, records/s: the
    /// [pipelining ceiling](Cell::pipelining_ceiling_records_per_sec), and
    /// with `acks=all` across emulated replication links no more than one
    /// batch per replication round trip. A broker reads a connection's
    /// next request only once it has answered the one before (Kafka's
    /// socket server mutes the connection meanwhile), and an `acks=all`
    /// answer waits for a follower's fetch: more requests in flight hide
    /// the client's round trip, not the followers'. Measured here: `acks=all`
    /// at RTT 20 ms flat at ~670 records/s from in-flight 5 to 100.
    pub fn ceiling_records_per_sec(&self, fixed: &Fixed, network: &Network) -> Option<f64> {
        let pipelined = self.pipelining_ceiling_records_per_sec(fixed, network)?;
        let replicated = self.settings.acks == Acks::All && network.replication;
        Some(if replicated {
            let per_request = fixed.records_per_batch() as f64 * 1e6 / self.rtt_us as f64;
            pipelined.min(per_request)
        } else {
            pipelined
        })
    }
}

impl Workload {
    /// The reduced grid for CI and smoke runs: the cells that tell the story
    /// (one rejected) with few records.
    pub fn quick() -> Workload {
        Workload {
            axes: Axes {
                max_in_flight: vec![1, 5, 10],
                acks: vec![Acks::One, Acks::All],
                idempotence: vec![false, true],
                clients: default_clients(),
            },
            fixed: Fixed {
                rounds: 2,
                windows: 2,
                max_records_per_window: 2_000,
                warmup_records: 500,
                latency_ms: 500,
                ..Fixed::default()
            },
            network: Network {
                rtt_ms: vec![0.0, 2.0],
                fault_rtt_ms: Vec::new(),
                ..Network::default()
            },
            faults: vec![FaultProfile::None],
            ..Workload::default()
        }
    }

    /// Reads a workload from a TOML file; fields left out keep their defaults.
    pub fn from_file(path: &Path) -> Result<Workload, GridError> {
        let text = std::fs::read_to_string(path).map_err(|source| GridError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            GridError::Parse { message, .. } => GridError::Parse {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    /// Parses a workload from TOML text and validates it.
    pub fn from_toml(text: &str) -> Result<Workload, GridError> {
        let workload: Workload = toml::from_str(text).map_err(|e| GridError::Parse {
            path: "<inline>".into(),
            // toml's message spans several lines with a caret; keep it to one.
            message: e.message().replace('\n', " "),
        })?;
        workload.validate()?;
        Ok(workload)
    }

    /// Records `cell` sends in the whole run, at most: the warm-up, every
    /// round (warm-up window, windows, tail), and a bound on the fixed-load
    /// phase (it runs below the slowest cell's throughput). For disk and
    /// time estimates before a run.
    pub fn records_per_cell(&self, cell: &Cell) -> u64 {
        let (f, n) = (&self.fixed, &self.network);
        let per = f.records_per_window(cell, n);
        let round = per * (u64::from(f.windows) + 1) + f.tail_records(cell, n);
        let fixed_load = if cell.faults.is_none() && f.latency_ms > 0 {
            per * u64::from(f.windows)
        } else {
            0
        };
        f.warmup_records + u64::from(f.rounds) * round + fixed_load
    }

    /// Checks the values no cell could run with.
    pub fn validate(&self) -> Result<(), GridError> {
        let f = &self.fixed;
        let bad = |m: &str| Err(GridError::Invalid(m.to_string()));
        if self.axes.max_in_flight.is_empty()
            || self.axes.acks.is_empty()
            || self.axes.idempotence.is_empty()
        {
            return bad("every axis needs at least one value");
        }
        if self.axes.clients.is_empty() {
            return bad("clients needs at least one value (librdkafka, java:VERSION)");
        }
        if self.axes.max_in_flight.contains(&0) {
            return bad("max_in_flight must be at least 1");
        }
        if self.axes.max_in_flight.iter().any(|&m| m > 1_000_000) {
            return bad("max_in_flight must be at most 1000000 (librdkafka's limit)");
        }
        if self.faults.is_empty() {
            return bad("faults needs at least one profile (use \"none\" for no faults)");
        }
        if f.rounds == 0 || f.windows == 0 {
            return bad("rounds and windows must be at least 1");
        }
        if f.window_ms == 0 {
            return bad("window_ms must be at least 1");
        }
        if f.min_records_per_window == 0 || f.min_records_per_window > f.max_records_per_window {
            return bad(
                "records per window: need 1 <= min_records_per_window <= max_records_per_window",
            );
        }
        if !(f.latency_rate_fraction > 0.0 && f.latency_rate_fraction <= 1.0) {
            return bad("latency_rate_fraction must be in (0, 1]");
        }
        self.network.validate().map_err(GridError::Invalid)?;
        if f.record_bytes < crate::record::HEADER_BYTES {
            return Err(GridError::Invalid(format!(
                "record_bytes must be at least {} (the stamped header)",
                crate::record::HEADER_BYTES
            )));
        }
        if f.partitions == 0 {
            return bad("partitions must be at least 1");
        }
        if f.message_timeout_ms == 0 {
            return bad("message_timeout_ms must be at least 1");
        }
        Ok(())
    }

    /// Every cell of the run in a stable order: RTT, fault profile, then
    /// idempotence, acks and `max.in.flight`, each in the order the workload
    /// lists them. Fault profiles other than `none` run only at the
    /// network's `fault_rtt_ms` (all RTTs when that is empty).
    pub fn cells(&self) -> Vec<Cell> {
        let fault_rtts: Vec<u64> = self
            .network
            .fault_rtt_ms
            .iter()
            .map(|&m| ms_to_us(m))
            .collect();
        let mut cells = Vec::new();
        for client in &self.axes.clients {
            for rtt_us in self.network.rtt_ms.iter().map(|&m| ms_to_us(m)) {
                for faults in &self.faults {
                    if !faults.is_none() && !fault_rtts.is_empty() && !fault_rtts.contains(&rtt_us)
                    {
                        continue;
                    }
                    for &idempotence in &self.axes.idempotence {
                        for &acks in &self.axes.acks {
                            for &max_in_flight in &self.axes.max_in_flight {
                                cells.push(Cell {
                                    client: client.clone(),
                                    rtt_us,
                                    settings: ProducerSettings {
                                        max_in_flight,
                                        acks,
                                        idempotence,
                                    },
                                    faults: faults.clone(),
                                });
                            }
                        }
                    }
                }
            }
        }
        cells
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_run_only_at_their_rtts_and_ids_are_unique() {
        let w = Workload::from_toml(
            "faults = [\"none\", \"reject:1%\"]\n[axes]\nmax_in_flight = [1, 5]\nacks = [1]\nidempotence = [false]\n\
             [network]\nrtt_ms = [0, 0.2, 20]\nfault_rtt_ms = [0]\n",
        )
        .unwrap();
        let ids: Vec<String> = w.cells().iter().map(Cell::id).collect();
        assert_eq!(
            ids,
            [
                "rtt=0ms,inflight=1,acks=1,idem=false,faults=none",
                "rtt=0ms,inflight=5,acks=1,idem=false,faults=none",
                "rtt=0ms,inflight=1,acks=1,idem=false,faults=reject-1pct",
                "rtt=0ms,inflight=5,acks=1,idem=false,faults=reject-1pct",
                "rtt=0.2ms,inflight=1,acks=1,idem=false,faults=none",
                "rtt=0.2ms,inflight=5,acks=1,idem=false,faults=none",
                "rtt=20ms,inflight=1,acks=1,idem=false,faults=none",
                "rtt=20ms,inflight=5,acks=1,idem=false,faults=none",
            ]
        );
        let cells = Workload::default().cells();
        let unique: std::collections::BTreeSet<_> = cells.iter().map(Cell::id).collect();
        assert_eq!(unique.len(), cells.len());
    }

    #[test]
    fn rtt_parses_as_users_write_it_and_bad_values_are_named() {
        assert_eq!(parse_rtt("2ms"), Ok(2_000));
        assert_eq!(parse_rtt("0.2ms"), Ok(200));
        assert_eq!(parse_rtt("500us"), Ok(500));
        assert_eq!(parse_rtt("20"), Ok(20_000));
        assert_eq!(parse_rtt("1s"), Ok(1_000_000));
        assert_eq!(
            parse_rtt("-2ms"),
            Err("RTT \"-2ms\" must be 0 or more".into())
        );
        assert!(parse_rtt("fast")
            .unwrap_err()
            .contains("\"fast\" is not a duration"));
        assert_eq!(fmt_rtt(200), "0.2ms");
        assert_eq!(fmt_rtt(20_000), "20ms");
        assert_eq!(fmt_rtt(0), "0ms");
        let err = Workload::from_toml("[network]\nrtt_ms = [-1]\n").unwrap_err();
        assert!(err.to_string().contains("network RTT -1 ms"), "{err}");
        let err = Workload::from_toml("[network]\nbandwidth_mbit = -5\n").unwrap_err();
        assert!(err.to_string().contains("bandwidth_mbit -5"), "{err}");
    }

    #[test]
    fn windows_are_sized_by_the_model_ceiling_within_bounds() {
        let f = Fixed::default();
        let n = Network::default();
        let cell = |rtt_us, max_in_flight, acks| Cell {
            client: Client::Librdkafka,
            rtt_us,
            settings: ProducerSettings {
                max_in_flight,
                acks,
                idempotence: false,
            },
            faults: FaultProfile::None,
        };
        // 16 records per 16 KiB batch of 1 KiB records; acks=all at 20 ms
        // waits for the client's and a follower's round trip: 16 / 40 ms.
        let slow = cell(20_000, 1, Acks::All);
        assert_eq!(slow.ceiling_records_per_sec(&f, &n), Some(400.0));
        assert_eq!(f.records_per_window(&slow, &n), f.min_records_per_window);
        let mid = cell(2_000, 5, Acks::One);
        assert_eq!(mid.ceiling_records_per_sec(&f, &n), Some(40_000.0));
        assert_eq!(f.records_per_window(&mid, &n), f.max_records_per_window);
        let loopback = cell(0, 1, Acks::One);
        assert_eq!(loopback.ceiling_records_per_sec(&f, &n), None);
        assert_eq!(
            f.records_per_window(&loopback, &n),
            f.max_records_per_window
        );
        assert!(f.tail_records(&mid, &n) >= 5 * 16);
    }

    /// `acks=all` across emulated replication: in-flight hides the client's
    /// round trip, not the followers' (one batch per replication RTT);
    /// `acks=1`, and `acks=all` without emulated replication, pipeline.
    #[test]
    fn acks_all_is_capped_at_a_batch_per_replication_round_trip() {
        let f = Fixed::default();
        let n = Network::default();
        assert!(n.replication);
        let cell = |max_in_flight, acks| Cell {
            client: Client::Librdkafka,
            rtt_us: 20_000,
            settings: ProducerSettings {
                max_in_flight,
                acks,
                idempotence: false,
            },
            faults: FaultProfile::None,
        };
        let all = |k| cell(k, Acks::All).ceiling_records_per_sec(&f, &n);
        assert_eq!(all(1), Some(400.0));
        assert_eq!(all(2), Some(800.0));
        assert_eq!(all(100), Some(800.0));
        assert_eq!(
            cell(100, Acks::All).pipelining_ceiling_records_per_sec(&f, &n),
            Some(40_000.0)
        );
        assert_eq!(
            cell(5, Acks::One).ceiling_records_per_sec(&f, &n),
            Some(4_000.0)
        );
        let direct = Network {
            replication: false,
            ..n.clone()
        };
        assert_eq!(
            cell(5, Acks::All).ceiling_records_per_sec(&f, &direct),
            Some(4_000.0)
        );
    }

    #[test]
    fn workload_file_overrides_only_what_it_names() {
        let w = Workload::from_toml(
            "seed = 7\n[axes]\nmax_in_flight = [1, 5]\nacks = [1, \"all\"]\n[fixed]\nrecord_bytes = 512\n",
        )
        .unwrap();
        assert_eq!(w.seed, 7);
        assert_eq!(w.axes.max_in_flight, vec![1, 5]);
        assert_eq!(w.axes.acks, vec![Acks::One, Acks::All]);
        assert_eq!(w.axes.idempotence, vec![false, true]);
        assert_eq!(w.fixed.record_bytes, 512);
        assert_eq!(w.fixed.rounds, Fixed::default().rounds);
        assert_eq!(w.cells().len(), 8 * 3 + 8 * 2);
    }

    #[test]
    fn unknown_axis_is_named_in_the_error() {
        let err = Workload::from_toml("[axes]\nlinger = [1]\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `linger`"), "{err}");
    }

    #[test]
    fn unknown_acks_value_is_named_in_the_error() {
        let err = Workload::from_toml("[axes]\nacks = [\"some\"]\n").unwrap_err();
        assert!(err.to_string().contains("\"some\""), "{err}");
    }

    #[test]
    fn zero_rounds_is_refused() {
        let err = Workload::from_toml("[fixed]\nrounds = 0\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid workload: rounds and windows must be at least 1"
        );
    }

    #[test]
    fn zero_in_flight_is_refused() {
        let err = Workload::from_toml("[axes]\nmax_in_flight = [0]\n").unwrap_err();
        assert!(err.to_string().contains("max_in_flight must be at least 1"));
    }

    #[test]
    fn example_workload_in_repo_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/default.toml");
        let w = Workload::from_file(&path).unwrap();
        assert_eq!(w, Workload::default(), "the example documents the defaults");
    }
}
