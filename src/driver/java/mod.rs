//! The Java producer driver: Apache Kafka's Java client at a version chosen at
//! run time, driven as a subprocess.
//!
//! [`JavaDriver::prepare`] builds `drivers/java/` (embedded in this binary)
//! with Maven once per client version into `<cache>/java-driver-<version>/`
//! (a temporary directory renamed into place), and returns a [`JavaClient`]:
//! the `java` to run and the classpath. A version Maven cannot fetch is a
//! one-line [`DriverError::CannotFetch`] naming it, meant for preflight.
//!
//! A [`JavaSession`] is one `java kob.Driver` process holding one
//! `KafkaProducer` for one cell. It speaks the JSON-lines protocol documented
//! in `drivers/java/README.md`: `create`, then any number of `round` and
//! `fixed_rate` phases, then `finish`. Progress lines feed
//! [`JavaSession::sent_counter`]; the child is killed when the session drops.
//!
//! Layout: building the driver in `build.rs`, a cell's settings in the Java
//! client's names in `config.rs`, the process and its pipes in `process.rs`,
//! the protocol's messages in `protocol.rs`, and a cell's session over them
//! in `session.rs`.

use std::path::PathBuf;

mod build;
mod config;
mod process;
mod protocol;
mod session;

pub use build::{JavaClient, JavaDriver};
pub use config::{base_from_rdkafka, java_config};
pub use protocol::{decode_histogram, Adjusted};
pub use session::{JavaCreated, JavaFinish, JavaFixedRate, JavaSession, JavaWindow};

/// Errors of the Java driver: building it, or a session that broke. A
/// configuration the client refuses is not an error ([`JavaCreated::Rejected`]).
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(
        "invalid Java client version {version:?} (hint: a Maven version such as 4.1.1 or 3.9.1)"
    )]
    InvalidVersion { version: String },
    #[error("Java client {version}: `mvn` not found on PATH; it is needed once to fetch org.apache.kafka:kafka-clients:{version} (hint: install Maven, e.g. `apt-get install maven`)")]
    MavenMissing { version: String },
    #[error("Java client {version}: Maven cannot fetch org.apache.kafka:kafka-clients:{version} (log: {})", log.display())]
    CannotFetch { version: String, log: PathBuf },
    #[error("Java client {version}: building the driver failed: {detail} (log: {})", log.display())]
    Build {
        version: String,
        detail: String,
        log: PathBuf,
    },
    #[error("Java client: {0}")]
    Java(String),
    #[error("cannot {action} {path}: {cause}")]
    Io {
        action: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("Java driver {op}: {message}")]
    Driver { op: &'static str, message: String },
    #[error("Java driver {op}: unexpected reply {reply:?}: {detail}")]
    Protocol {
        op: &'static str,
        reply: String,
        detail: String,
    },
    #[error("Java driver exited during {op} ({status}); last log lines:\n{log}")]
    Exited {
        op: &'static str,
        status: String,
        log: String,
    },
}
