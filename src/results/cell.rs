//! One cell's result: the grid point it is of, the network it ran on, and
//! what became of it (measured, rejected by the client, or failed).

use serde::{Deserialize, Serialize};

use crate::faults::FaultProfile;
use crate::grid::{Cell, Client, ProducerSettings};
use crate::results::Measurement;

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
