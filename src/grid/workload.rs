//! The workload: the axes of the grid, everything else fixed for the run,
//! the network, the fault profiles and the seed; its defaults, the quick
//! grid, reading it from TOML and checking it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::faults::FaultProfile;
use crate::grid::{Acks, Client, Fixed, GridError, Network};

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
    vec![1, 5, 10]
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
    ["none", "reject:25/cell", "lose-ack:25/cell"]
        .iter()
        .map(|p| p.parse().expect("built-in profiles parse"))
        .collect()
}
fn default_seed() -> u64 {
    42
}

/// Producers per cell at most: each is a client instance (a JVM for Java).
pub const MAX_PRODUCERS: u32 = 64;

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
            cause: source,
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
        if f.producers == 0 {
            return bad("producers must be at least 1");
        }
        if f.producers > MAX_PRODUCERS {
            return Err(GridError::Invalid(format!(
                "producers = {}: at most {MAX_PRODUCERS} per cell (each is its own client instance)",
                f.producers
            )));
        }
        if f.producers > 1 && self.faults.iter().any(|p| p.needs_failover()) {
            return bad(
                "failover runs with one producer per cell (its kill point counts one producer's records)",
            );
        }
        self.validate_keys()?;
        if f.message_timeout_ms == 0 {
            return bad("message_timeout_ms must be at least 1");
        }
        self.validate_faults()
    }

    /// Keys no cell could send: too short a record for the key extension,
    /// fewer keys than partitions (some would get no record), more keys
    /// than a producer of the smallest cell sends records.
    fn validate_keys(&self) -> Result<(), GridError> {
        let f = &self.fixed;
        if f.keys == 0 {
            return Ok(());
        }
        if f.record_bytes < crate::record::KEYED_HEADER_BYTES {
            return Err(GridError::Invalid(format!(
                "keys = {}: record_bytes must be at least {} (the header and the key extension)",
                f.keys,
                crate::record::KEYED_HEADER_BYTES
            )));
        }
        if f.keys < u64::from(f.partitions) {
            return Err(GridError::Invalid(format!(
                "keys = {}: fewer keys than partitions ({}); {} partitions would get no record",
                f.keys,
                f.partitions,
                u64::from(f.partitions) - f.keys
            )));
        }
        let producers = u64::from(f.producers.max(1));
        let smallest = self
            .cells()
            .iter()
            .map(|c| (self.records_per_cell(c) / producers, c.id()))
            .min();
        if let Some((records, cell)) = smallest.filter(|(r, _)| f.keys > *r) {
            return Err(GridError::Invalid(format!(
                "keys = {}: more keys than the {records} records each producer of cell {cell} sends",
                f.keys
            )));
        }
        Ok(())
    }

    /// What a fault profile asks of a cell that no cell could give: a
    /// lasting fault's span at or past `message_timeout_ms` (records would
    /// expire inside it, a loss the fault did not cause by reordering), more
    /// time in lasting faults than a cell's timed run
    /// (`rounds × windows × window_ms`), or more events per cell than the
    /// smallest cell under the profile has batches to carry them.
    fn validate_faults(&self) -> Result<(), GridError> {
        let f = &self.fixed;
        let timed_ms = u64::from(f.rounds) * u64::from(f.windows) * u64::from(f.window_ms);
        let rpb = f.records_per_batch();
        let streams = u64::from(f.streams());
        let cells = self.cells();
        for profile in &self.faults {
            let mut events_asked = 0u64;
            let mut lasting_ms = 0u64;
            for kind in profile.kinds() {
                let per_cell = kind.amount().and_then(|a| a.per_cell()).map(u64::from);
                if per_cell.is_some() && f.keys > 0 {
                    return Err(GridError::Invalid(format!(
                        "fault {kind}: a count of events per cell is placed on records sent round \
                         robin over the streams, and keyed records are not (hint: a rate, e.g. \
                         reject:1%)"
                    )));
                }
                events_asked += per_cell.unwrap_or(0);
                let Some(span) = kind.span_ms().map(u64::from) else {
                    continue;
                };
                if span >= u64::from(f.message_timeout_ms) {
                    return Err(GridError::Invalid(format!(
                        "fault {kind}: a span of {span} ms is not shorter than message_timeout_ms \
                         ({} ms); records would expire inside it",
                        f.message_timeout_ms
                    )));
                }
                lasting_ms += per_cell.unwrap_or(0) * span;
            }
            if lasting_ms > timed_ms {
                return Err(GridError::Invalid(format!(
                    "fault profile {profile}: {lasting_ms} ms of lasting faults per cell do not fit \
                     in a cell's timed run of {timed_ms} ms (rounds × windows × window_ms)"
                )));
            }
            if events_asked == 0 {
                continue;
            }
            // The faultable batches of the smallest cell under the profile:
            // count events land on the timed windows only.
            let room = cells
                .iter()
                .filter(|c| &c.faults == profile)
                .map(|c| {
                    let timed: u64 = self.timed_spans(c).iter().map(|r| r.end - r.start).sum();
                    (timed / (rpb * streams), c)
                })
                .min_by_key(|(batches, _)| *batches);
            if let Some((batches, cell)) = room.filter(|(b, _)| events_asked > *b) {
                return Err(GridError::Invalid(format!(
                    "fault profile {profile}: {events_asked} events per cell, but cell {} has \
                     only {batches} batches to fault",
                    cell.id()
                )));
            }
        }
        Ok(())
    }
}
