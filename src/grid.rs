//! The grid: producer settings, the workload that fixes everything else, and
//! stable cell ids.
//!
//! A *cell* is one point of the grid (`max.in.flight`, `acks`,
//! `enable.idempotence`) run under one fault profile. Everything that is not
//! an axis is fixed for the whole run by [`Fixed`]. The grid never adjusts a
//! setting to please the client: a combination librdkafka refuses becomes a
//! *rejected cell* when the runner tries to create the producer.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::faults::FaultProfile;

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

/// The producer's `acks` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Acks {
    /// `acks=0`: the producer does not wait for the broker.
    Zero,
    /// `acks=1`: the leader acknowledges after its own append.
    One,
    /// `acks=all`: the leader acknowledges once every in-sync replica has it.
    All,
}

impl Acks {
    pub const ALL_VALUES: [Acks; 3] = [Acks::Zero, Acks::One, Acks::All];

    /// The value librdkafka takes for `acks`.
    pub fn as_config(self) -> &'static str {
        match self {
            Acks::Zero => "0",
            Acks::One => "1",
            Acks::All => "all",
        }
    }
}

impl fmt::Display for Acks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_config())
    }
}

impl FromStr for Acks {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "0" => Ok(Acks::Zero),
            "1" => Ok(Acks::One),
            "all" | "-1" => Ok(Acks::All),
            other => Err(format!(
                "unknown acks value {other:?} (expected 0, 1 or all)"
            )),
        }
    }
}

impl Serialize for Acks {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_config())
    }
}

impl<'de> Deserialize<'de> for Acks {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Accept `acks = 1` as well as `acks = "1"`: both appear in real configs.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Str(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Int(i) => i.to_string(),
            Raw::Str(s) => s,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Compression codec (`compression.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    pub fn as_config(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

impl FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Compression::None),
            "gzip" => Ok(Compression::Gzip),
            "snappy" => Ok(Compression::Snappy),
            "lz4" => Ok(Compression::Lz4),
            "zstd" => Ok(Compression::Zstd),
            other => Err(format!(
                "unknown compression {other:?} (expected none, gzip, snappy, lz4 or zstd)"
            )),
        }
    }
}

/// The three settings this suite is about: one point of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProducerSettings {
    /// `max.in.flight.requests.per.connection`.
    pub max_in_flight: u32,
    /// `acks`.
    pub acks: Acks,
    /// `enable.idempotence`.
    pub idempotence: bool,
}

impl ProducerSettings {
    /// Stable, readable id, e.g. `inflight=5,acks=all,idem=true`.
    pub fn id(&self) -> String {
        format!(
            "inflight={},acks={},idem={}",
            self.max_in_flight, self.acks, self.idempotence
        )
    }
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
}

fn default_in_flight() -> Vec<u32> {
    vec![1, 2, 5, 10, 50, 100]
}
fn default_acks() -> Vec<Acks> {
    Acks::ALL_VALUES.to_vec()
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
        }
    }
}

/// Everything that is the same for every cell of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fixed {
    /// Size of each record's value, in bytes (the stamped header included).
    pub record_bytes: usize,
    /// Records produced per cell, across all samples (warm-up not included).
    pub records_per_cell: u64,
    /// Timed samples per cell; each sample produces `records_per_cell / samples` records.
    pub samples: u32,
    /// Records sent before timing starts, so metadata and producer-id set-up are not timed.
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
    /// Target send rate in records/s; 0 sends as fast as possible. With a
    /// rate, latency is measured from each record's intended send time.
    pub rate_per_sec: u64,
    /// `message.timeout.ms`: how long a record may wait for delivery before it is failed.
    pub message_timeout_ms: u32,
}

impl Default for Fixed {
    fn default() -> Self {
        Fixed {
            record_bytes: 1024,
            records_per_cell: 30_000,
            samples: 10,
            warmup_records: 1_000,
            linger_ms: 5,
            batch_bytes: 16_384,
            compression: Compression::None,
            partitions: 1,
            rate_per_sec: 0,
            message_timeout_ms: 30_000,
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
    /// Fault profiles; every grid point runs once under each.
    #[serde(default = "default_faults")]
    pub faults: Vec<FaultProfile>,
    /// Seed of every fault schedule in the run.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

/// No faults (throughput and latency), then one of each mechanism that
/// breaks ordering: a refused request, a lost acknowledgement, a leader
/// failover.
fn default_faults() -> Vec<FaultProfile> {
    ["none", "reject:1%", "lose-ack:1%", "failover"]
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
            faults: default_faults(),
            seed: default_seed(),
        }
    }
}

/// One cell: a grid point under one fault profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    pub settings: ProducerSettings,
    pub faults: FaultProfile,
}

impl Cell {
    /// Stable, readable id, e.g. `inflight=5,acks=all,idem=true,faults=none`.
    /// It doubles as a file name: it contains no `/`, space or `%`.
    pub fn id(&self) -> String {
        format!("{},faults={}", self.settings.id(), self.faults.slug())
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
            },
            fixed: Fixed {
                records_per_cell: 20_000,
                samples: 5,
                warmup_records: 500,
                ..Fixed::default()
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
        if self.axes.max_in_flight.contains(&0) {
            return bad("max_in_flight must be at least 1");
        }
        if self.axes.max_in_flight.iter().any(|&m| m > 1_000_000) {
            return bad("max_in_flight must be at most 1000000 (librdkafka's limit)");
        }
        if self.faults.is_empty() {
            return bad("faults needs at least one profile (use \"none\" for no faults)");
        }
        if f.records_per_cell == 0 {
            return bad("records_per_cell must be at least 1");
        }
        if f.samples == 0 {
            return bad("samples must be at least 1");
        }
        if f.records_per_cell < u64::from(f.samples) {
            return bad("records_per_cell must be at least samples (one record per sample)");
        }
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

    /// Every cell of the run in a stable order: fault profile, then idempotence,
    /// acks and `max.in.flight`, each in the order the workload lists them.
    pub fn cells(&self) -> Vec<Cell> {
        let mut cells = Vec::new();
        for faults in &self.faults {
            for &idempotence in &self.axes.idempotence {
                for &acks in &self.axes.acks {
                    for &max_in_flight in &self.axes.max_in_flight {
                        cells.push(Cell {
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
        cells
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_grid_has_36_points_per_fault_profile_with_unique_ids() {
        let cells = Workload::default().cells();
        assert_eq!(cells.len(), 36 * 4);
        let ids: std::collections::BTreeSet<_> = cells.iter().map(Cell::id).collect();
        assert_eq!(ids.len(), 36 * 4);
        assert_eq!(
            cells[36].id(),
            "inflight=1,acks=0,idem=false,faults=reject-1pct"
        );
        assert_eq!(cells[0].id(), "inflight=1,acks=0,idem=false,faults=none");
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
        assert_eq!(w.fixed.records_per_cell, Fixed::default().records_per_cell);
        assert_eq!(w.cells().len(), 8 * 4);
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
    fn zero_records_is_refused() {
        let err = Workload::from_toml("[fixed]\nrecords_per_cell = 0\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid workload: records_per_cell must be at least 1"
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
