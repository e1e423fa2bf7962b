//! The grid: producer settings, the workload that fixes everything else, and
//! stable cell ids.
//!
//! A *cell* is one point of the grid (`max.in.flight`, `acks`,
//! `enable.idempotence`) run under one fault profile. Everything that is not
//! an axis is fixed for the whole run by [`Fixed`]. The grid never adjusts a
//! setting to please the client: a combination librdkafka refuses becomes a
//! *rejected cell* when the runner tries to create the producer.
//!
//! Layout: the workload (axes, defaults, the TOML file and its checks) in
//! `workload.rs`, the values every cell shares and window sizing in
//! `fixed.rs`, a cell, its ids and ceilings and a workload's expansion into
//! cells in `cell.rs`; the settings and the network in `settings.rs` and
//! `network.rs`; the tests in `tests.rs`.

mod cell;
mod fixed;
mod network;
mod settings;
mod workload;

pub use cell::Cell;
pub use fixed::Fixed;
pub use network::{fmt_rtt, parse_rtt, Network};
pub use settings::{Acks, Client, Compression, ProducerSettings, DEFAULT_JAVA_CLIENT};
pub use workload::{Axes, Workload};

/// Errors in a workload: a file that cannot be read, or a value out of range.
#[derive(Debug, thiserror::Error)]
pub enum GridError {
    #[error("cannot read workload file {path}: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("workload file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("invalid workload: {0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests;
