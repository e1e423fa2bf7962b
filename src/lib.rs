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
//! - [`schedule`]: the order of cells in interleaved, seeded rounds.
//! - [`path`]: a cell's path to the cluster and what shapes it (the proxy
//!   with the emulated network and the fault plan, replication links,
//!   leader failover), behind one interface the suite calls.
//! - [`run`]: produces one cell's records and measures throughput, latency,
//!   delivery reports and the client's counters.
//! - [`driver`]: the Java client as a producer subprocess, measured like [`run`].
//! - [`delivery`]: what the client reported about each record, the hand-off
//!   from [`run`] and [`driver`] to [`verify`].
//! - [`verify`]: the checker, which classifies every record (reorders, log
//!   duplicates, losses, …), and the reader that feeds it a cell's topic.
//! - [`results`]: the versioned results schema, written after every cell.
//! - [`suite`]: chains the stages for each cell of a run; the CLI and
//!   `cargo bench` are thin shells over it.
//! - [`report`]: SVG charts and the Markdown summary of a run.
//! - [`compare`]: two runs side by side, with regression verdicts.
//!
//! Around the stages: [`preflight`] checks what can be checked before any
//! work, [`redact`] keeps secrets out of every message, [`interrupt`] is the
//! one signal handler, [`progress`] is what both front ends show while a run
//! works, [`machine`] samples the machine's load, [`cpu`] charges CPU time
//! per thread to the client, the proxy and the rest of the suite, and
//! [`exit`] defines every exit status. All `unsafe` code (librdkafka and
//! libc calls) is in one private module, `ffi`, behind safe functions; the
//! rest of the crate denies it.

#![deny(unsafe_code)]

pub mod cluster;
pub mod compare;
pub mod cpu;
pub mod delivery;
pub mod driver;
pub mod exit;
pub mod faults;
#[allow(unsafe_code)]
mod ffi;
pub mod grid;
pub mod interrupt;
pub mod machine;
pub mod path;
pub mod preflight;
pub mod progress;
pub mod record;
pub mod redact;
pub mod report;
pub mod results;
pub mod run;
pub mod schedule;
pub mod stats;
pub mod suite;
pub mod verify;
