//! kafka-order-bench: Kafka producer throughput and latency against message
//! ordering, measured on a real cluster.
//!
//! # Layout, in dependency order
//!
//! Each module uses only modules listed above it (`tests/layering.rs`
//! checks it): a new dependency up the list is a cycle in the making.
//! Data flows down the same list: a workload becomes cells, each cell's
//! records go through its shaped path to the cluster, the checker judges
//! them, `results` records it all, and the report and the comparison read
//! only that file.
//!
//! Foundations, used everywhere:
//!
//! - `ffi`: every `unsafe` call (librdkafka and libc) behind safe
//!   functions; the rest of the crate denies `unsafe`.
//! - [`error`]: the error convention and the one printer of causes.
//! - [`exit`]: every exit status.
//! - [`redact`]: keeps secrets out of every message.
//! - [`interrupt`]: the one signal handler; long operations poll it.
//! - [`record`]: the stamped header every produced value starts with.
//! - [`stats`]: intervals and comparisons over rounds.
//! - [`machine`]: samples the machine's load ([`machine::Load`] is
//!   recorded with each cell).
//! - [`cpu`]: charges CPU time per thread to the client, the proxy and the
//!   rest of the suite ([`cpu::ClientCpu`] is recorded with each cell).
//!
//! What a run is made of, and what it finds:
//!
//! - [`netem`]: the emulated network: a link (RTT, jitter, bandwidth) and
//!   the TCP delay line that applies it.
//! - [`faults`]: seeded fault profiles and plans, the fault events they
//!   inject, and the Kafka-aware proxy that carries them and the client's
//!   link.
//! - [`grid`]: the workload (axes and fixed values) and its cells, with
//!   stable ids.
//! - [`schedule`]: the order of cells in interleaved, seeded rounds.
//! - [`delivery`]: what the client reported about each record, the hand-off
//!   from the producers to the checker.
//! - [`verify`]: the checker, which classifies every record (reorders, log
//!   duplicates, losses, …), and the reader that feeds it a cell's topic.
//! - [`results`]: the versioned results schema, written after every cell;
//!   it owns every type it writes but the verdict (the checker's), the
//!   workload's cells (the grid's) and the two instruments' records above.
//!
//! The machinery that measures:
//!
//! - [`cluster`]: where cells run: a local multi-broker KRaft cluster this
//!   suite starts from Apache Kafka's jars, or an external cluster.
//! - [`preflight`]: what can be checked before any work.
//! - [`librdkafka`]: one cell's librdkafka producer, in process: sends the
//!   records and measures throughput, latency, delivery reports and the
//!   client's counters.
//! - [`driver`]: the producer interface the suite drives, over [`librdkafka`]
//!   (librdkafka) and the Java client as a subprocess.
//! - [`path`]: a cell's path to the cluster and what shapes it (the proxy
//!   with the emulated network and the fault plan, replication links,
//!   leader failover), behind one interface the suite calls.
//!
//! What reads and writes the results:
//!
//! - [`report`]: SVG charts and the Markdown summary of a run.
//! - [`compare`]: two runs side by side, with regression verdicts.
//! - [`progress`]: what both front ends show while a run works.
//! - [`suite`]: chains the stages for each cell of a run; the CLI and
//!   `cargo bench` are thin shells over it.

#![deny(unsafe_code)]

pub mod cluster;
pub mod compare;
pub mod cpu;
pub mod delivery;
pub mod driver;
pub mod error;
pub mod exit;
pub mod faults;
#[allow(unsafe_code)]
mod ffi;
pub mod grid;
pub mod interrupt;
pub mod librdkafka;
pub mod machine;
pub mod netem;
pub mod path;
pub mod preflight;
pub mod progress;
pub mod record;
pub mod redact;
pub mod report;
pub mod results;
pub mod schedule;
pub mod stats;
pub mod suite;
pub mod verify;
