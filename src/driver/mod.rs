//! Producer drivers other than the in-process librdkafka runner ([`crate::run`]).
//!
//! - [`java`]: the Apache Kafka Java client, built from `drivers/java/` with
//!   Maven once per client version and driven as a subprocess over JSON lines.

pub mod java;

pub use java::{DriverError, JavaClient, JavaDriver, JavaSession};
