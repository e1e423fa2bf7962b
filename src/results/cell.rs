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

/// Why a cell's figure measures the machine, not the setting. Such a
/// **machine-bound** cell is shown, but never ranked, put on a frontier,
/// named in a conclusion or compared between runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MachineBound {
    /// No emulated round trip on any link: nothing but the machine's cores
    /// (the brokers, the proxy and the client sharing them) sets the pace.
    NoRoundTrip,
    /// In the cell's median round the machine's cores were at least
    /// [`MACHINE_BOUND_BUSY_SHARE`] busy.
    Saturated { busy_share: f64 },
}

impl std::fmt::Display for MachineBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MachineBound::NoRoundTrip => {
                f.write_str("no emulated round trip: the machine's cores set the pace")
            }
            MachineBound::Saturated { busy_share } => write!(
                f,
                "the machine's cores were {:.0}% busy in the median round",
                busy_share * 100.0
            ),
        }
    }
}

/// The busy share of all cores, in a cell's median round, from which the
/// cell is machine-bound ([`MachineBound::Saturated`]): below it at least a
/// tenth of the cores stayed idle through the median round.
pub const MACHINE_BOUND_BUSY_SHARE: f64 = 0.9;

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

    /// Whether the cell's figure measures the machine rather than the
    /// setting, and why (see [`MachineBound`]); `None` for a cell that is
    /// not machine-bound or not measured.
    pub fn machine_bound(&self) -> Option<MachineBound> {
        let m = self.measurement()?;
        if self.network.rtt_us == 0 && self.network.replication_rtt_us == 0 {
            return Some(MachineBound::NoRoundTrip);
        }
        let busy = m.conditions.median_busy_share()?;
        (busy >= MACHINE_BOUND_BUSY_SHARE).then_some(MachineBound::Saturated { busy_share: busy })
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
