//! kafka-order-bench: Kafka producer throughput and latency against message
//! ordering, measured on a real cluster.
//!
//! # Layout, in the order data flows
//!
//! - [`grid`]: the workload (axes and fixed values) and its cells, with stable ids.
//! - [`cluster`]: where cells run: a local multi-broker KRaft cluster this
//!   suite starts from Apache Kafka's jars, or an external cluster.
//! - [`faults`]: seeded fault profiles, the Kafka-aware fault proxy, leader failover.
//! - [`record`]: the stamped header every produced value starts with.
//! - [`run`]: produces one cell's records and measures throughput, latency,
//!   delivery reports and the client's counters.
//! - [`verify`]: the checker; reads a cell's topic back and classifies every
//!   record (reorders, log duplicates, losses, …).
//! - [`results`]: the versioned results schema, written after every cell.
//! - [`suite`]: chains the stages for each cell of a run; the CLI and
//!   `cargo bench` are thin shells over it.
//! - [`report`]: SVG charts and the Markdown summary of a run.
//! - [`compare`]: two runs side by side, with regression verdicts.
//!
//! Around the stages: [`preflight`] checks what can be checked before any
//! work, [`redact`] keeps secrets out of every message, [`interrupt`] is the
//! one signal handler, [`machine`] samples the machine's load, and [`exit`]
//! defines every exit status.

pub mod cluster;
pub mod compare;
pub mod exit;
pub mod faults;
pub mod grid;
pub mod interrupt;
pub mod machine;
pub mod preflight;
pub mod record;
pub mod redact;
pub mod report;
pub mod results;
pub mod run;
pub mod stats;
pub mod suite;
pub mod verify;
