//! The results schema, run metadata and atomic writes.
//!
//! One versioned struct, [`Results`], is what every later stage reads: the
//! report, the comparison, and users' own scripts. Units are in field names.
//! The file is rewritten atomically (write a temporary file, then rename)
//! after every cell, so a crash or Ctrl-C loses at most the cell in progress.
//!
//! The schema by level: the run ([`RunMeta`], in `run.rs`), each cell
//! ([`CellResult`], `cell.rs`) and what a measured cell records
//! ([`Measurement`], `measurement.rs`); reading and writing the file in
//! `file.rs`, older versions brought up to this one in [`upgrade`].

use serde::{Deserialize, Serialize};

mod cell;
mod file;
mod measurement;
mod observed;
mod run;
mod time;
pub mod upgrade;

pub use cell::{CellNetwork, CellResult, MachineBound, Outcome, MACHINE_BOUND_BUSY_SHARE};
pub use file::{write_atomically, ResultsError};
pub use measurement::{
    zero_events_upper_bound, ClientCounters, Conditions, CriterionEstimate, DeliveryCounts,
    Exposure, FixedLoad, Latency, Measurement, Sample, Throughput, THROUGHPUT_ESTIMATOR,
};
pub use observed::{broker_name, Degradation, FailoverOutcome};
pub use run::{ClusterKind, ClusterMeta, ClusterWarmUp, Driver, MachineMeta, RunMeta};
pub use time::{compact_utc, rfc3339_utc};

/// Version of the schema below. Bump it on any change a reader could trip on.
pub const SCHEMA_VERSION: u32 = 3;

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

impl Results {
    pub fn new(run: RunMeta) -> Results {
        Results {
            schema_version: SCHEMA_VERSION,
            run,
            cells: Vec::new(),
            complete: false,
        }
    }
}
