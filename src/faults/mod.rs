//! Faults: seeded fault plans, the events they inject and the Kafka-aware
//! fault proxy. (Leader failover drives the cluster, so it is a shaper of
//! the cell's path: [`crate::path::failover`].)
//!
//! A [`FaultProfile`] names what to inject and how often. Its text form is what
//! users type (`reject:1%`, `lose-ack:0.5%`, `delay:1%:300ms`, `reset:0.1%`,
//! `failover`, and `+` to mix, e.g. `reject:1%+lose-ack:1%`); its slug is the
//! same thing spelled for file names and cell ids (`reject-1pct`).
//!
//! How often is a rate (`reject:1%`, of full batches) or a count of events
//! per cell (`reject:25/cell`, spread over the cell's records so slow cells
//! meet as many as fast ones). Lasting faults have a span:
//! `refuse-window:3/cell:200ms` (every Produce refused NOT_ENOUGH_REPLICAS
//! for 200 ms, like an ISR shrink), `timeout-after-append:10/cell:500ms`
//! (appended, answer held 500 ms, then REQUEST_TIMED_OUT) and
//! `leader-move:3/cell:300ms` (NOT_LEADER_OR_FOLLOWER for 300 ms, then the
//! leader is elsewhere); their events carry the span.
//!
//! - [`FaultPlan`] (`plan.rs`): the seeded schedule; its trigger records
//!   are a pure function of (profile, seed, stream, sequence), so the same
//!   seed and profile fault the same records in every cell and every run.
//! - [`events`]: every injected fault as a [`FaultEvent`] with the records
//!   it touched, for the checker to attribute anomalies to.
//! - [`frame`]: Kafka's length-prefixed frames with a size guard and typed
//!   errors, and the guarded decoding of Produce requests.
//! - [`Proxy`] (`proxy.rs`): the Kafka-protocol-aware proxy that applies a
//!   plan between a client and a real cluster.
//!
//! The proxy carries the cell's client link too, from
//! [`netem`](crate::netem), which is not a fault.
//! - [`mock`]: the same plans on librdkafka's mock cluster, a test fixture
//!   whose numbers never reach a report.

mod action;
pub mod events;
pub mod frame;
pub mod mock;
pub mod plan;
mod profile;
pub mod proxy;

pub use events::{FaultEvent, RecordSpan};
pub use plan::{
    FaultAction, FaultPlan, LoseAckMode, Trigger, TriggerState, DEFAULT_WARMUP,
    NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND, NOT_LEADER_OR_FOLLOWER,
    REQUEST_TIMED_OUT,
};
pub use profile::{Amount, FaultKind, FaultName, FaultProfile, MAX_EVENTS_PER_CELL};
pub use proxy::{ProduceEntry, ProxiedBroker, Proxy, ProxyConfig, ProxyError};

pub(crate) use crate::record::splitmix64;
