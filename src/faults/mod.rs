//! Faults: seeded fault plans, the Kafka-aware fault proxy and leader failover.
//!
//! A [`FaultProfile`] names what to inject and how often. Its text form is what
//! users type (`reject:1%`, `lose-ack:0.5%`, `delay:1%:300ms`, `reset:0.1%`,
//! `failover`, and `+` to mix, e.g. `reject:1%+lose-ack:1%`); its slug is the
//! same thing spelled for file names and cell ids (`reject-1pct`).

pub mod frame;
mod plan;
mod profile;
mod proxy;

pub use plan::{
    FaultAction, FaultPlan, LoseAckMode, DEFAULT_WARMUP, NOT_ENOUGH_REPLICAS,
    NOT_ENOUGH_REPLICAS_AFTER_APPEND,
};
pub use profile::{FaultKind, FaultProfile};
pub use proxy::{ProxiedBroker, Proxy, ProxyConfig, ProxyError};
