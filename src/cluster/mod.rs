//! Where cells run: a real Apache Kafka cluster, either local (started by
//! this suite from Apache Kafka's jars) or external (`--bootstrap`), or,
//! for tests, librdkafka's in-process mock cluster.
//!
//! - [`Cluster`] is what the rest of the suite sees: a bootstrap address, a
//!   broker count and a [`ClientConfig`] carrying every `-X` property.
//! - [`LocalCluster`] starts N combined broker+controller KRaft nodes, one JVM
//!   each, on 127.0.0.1; it can SIGKILL and restart a node and find a
//!   partition's leader, which is how leader failover is injected. Its JVMs
//!   die with their owner (see [`LocalCluster`] for how).
//! - [`ExternalCluster`] is an existing cluster, checked reachable on connect.
//! - [`MockCluster`] is librdkafka's mock cluster: no JVM, starts in
//!   milliseconds, for tests of the whole pipeline; its numbers are not
//!   results (it ignores `acks` and does not check idempotent sequences).
//! - [`create_topic`] / [`delete_topic`] (in `topics`): the suite's topics
//!   all start with [`TOPIC_PREFIX`], and the suite never deletes any other.
//! - [`daemon`]: the detached cluster of `kafka-order-bench cluster up`, its
//!   state file, and [`daemon::running_local_bootstrap`] for other commands.

pub mod apiversions;
pub mod daemon;
mod dist;
pub mod health;
mod local;
mod mock;
mod proc;
mod topics;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::producer::Producer;

pub use crate::results::ClusterKind;

pub use dist::{
    cache_dir, find_java, resolve_kafka, resolve_kafka_version, version_from_jars, Java, KafkaDist,
    KAFKA_VERSION,
};
pub use local::{LocalCluster, LocalOptions, NodeStatus};
pub use mock::MockCluster;
pub use topics::{
    admin_create, admin_delete, check_topic_shape, create_topic, delete_topic, partition_state,
    replication_factor, topic_name, PartitionState, TopicSpec,
};
use topics::{block_on, delete_topic_inner, fetch_metadata, metadata_client, partition_state_with};

/// Every topic the suite creates starts with this; [`delete_topic`] refuses others.
pub const TOPIC_PREFIX: &str = "kob-";

/// How long one admin or metadata operation may take before it is an error.
pub const OP_TIMEOUT: Duration = Duration::from_secs(30);

/// A Kafka cluster the suite can run cells on.
pub trait Cluster: Send + Sync {
    /// `bootstrap.servers`, e.g. `127.0.0.1:40123,127.0.0.1:40125`.
    fn bootstrap(&self) -> String;
    /// Number of brokers (registered brokers for an external cluster, at connect time).
    fn brokers(&self) -> u32;
    /// Broker release, e.g. `4.1.1`, when known (local clusters only).
    fn broker_version(&self) -> Option<String>;
    /// Recorded in the results.
    fn kind(&self) -> ClusterKind;
    /// A client configuration with `bootstrap.servers` and every `-X` property;
    /// callers add their own settings (acks, …) on top.
    fn client_config(&self) -> ClientConfig;
    /// The cluster as one whose nodes this process can kill and restart
    /// (leader failover), when it is.
    fn local(&self) -> Option<&LocalCluster> {
        None
    }
    /// Whether a run first warms the brokers up on a throwaway topic: a
    /// JVM broker measures cold until its JIT has compiled the produce path.
    fn needs_warm_up(&self) -> bool {
        true
    }
    /// Makes the topic `spec` describes, returning once it can be written;
    /// [`create_topic`] checks the name and calls it. The default goes
    /// through the Admin API ([`admin_create`]).
    fn make_topic(&self, spec: &TopicSpec) -> Result<(), ClusterError> {
        admin_create(&self.client_config(), spec)
    }
    /// Removes a topic of the suite, returning once brokers stop listing
    /// it; [`delete_topic`] checks the name and calls it. The default goes
    /// through the Admin API ([`admin_delete`]).
    fn remove_topic(&self, name: &str) -> Result<(), ClusterError> {
        admin_delete(&self.client_config(), name, true)
    }
}

/// Errors of the cluster layer. Messages name the node, address or file
/// concerned and, for user mistakes, end with a hint.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("`java` not found on PATH or in JAVA_HOME (hint: install a Java 17+ runtime, e.g. `apt-get install openjdk-17-jre-headless`, or set JAVA_HOME)")]
    JavaMissing,
    #[error("{java} reports {found}, but Apache Kafka {KAFKA_VERSION} needs Java 17 or newer (hint: install Java 17+ or point JAVA_HOME at one)")]
    JavaVersion { java: PathBuf, found: String },
    #[error("`mvn` not found on PATH; it is needed once to fetch Apache Kafka {version} into {dest} (hint: install Maven, e.g. `apt-get install maven`, or set KAFKA_HOME to an unpacked Kafka distribution)")]
    MavenMissing { version: String, dest: PathBuf },
    #[error("mvn could not fetch Apache Kafka {version} (hint: check access to Maven Central, or set KAFKA_HOME to an unpacked Kafka distribution): {detail}")]
    MavenFailed { version: String, detail: String },
    #[error("KAFKA_HOME={path} is not an unpacked Kafka distribution: {reason} (hint: unset KAFKA_HOME to use the jars fetched with mvn)")]
    BadKafkaHome { path: PathBuf, reason: String },
    #[error("cannot {action} {path}: {cause}")]
    Io {
        action: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("invalid local cluster options: {0}")]
    InvalidOptions(String),
    #[error("node {node} of the local cluster {problem}; last lines of {log}:\n{tail}")]
    NodeFailed {
        node: i32,
        problem: String,
        log: PathBuf,
        tail: String,
    },
    #[error("the local cluster was not ready within {secs} s: {waiting_for}\n{tails}")]
    NotReady {
        secs: u64,
        waiting_for: String,
        tails: String,
    },
    #[error("invalid bootstrap address {0:?} (hint: expected HOST:PORT[,HOST:PORT…], e.g. 127.0.0.1:9092)")]
    BadBootstrap(String),
    #[error("cannot reach Kafka at {bootstrap} within {secs} s: {message} (hint: check the address and that a broker listens there, or drop --bootstrap and start a local cluster with `kafka-order-bench cluster up`)")]
    Unreachable {
        bootstrap: String,
        secs: u64,
        message: String,
    },
    #[error("invalid client property: {0} (hint: -X takes librdkafka properties, see librdkafka's CONFIGURATION.md)")]
    ClientConfig(String),
    #[error("{op} {topic:?} failed: {message}")]
    Admin {
        op: &'static str,
        topic: String,
        message: String,
    },
    #[error("invalid topic name {name:?}: {reason}")]
    BadTopicName { name: String, reason: String },
    #[error("the running local cluster at {bootstrap} (from `kafka-order-bench cluster up`) has no replication links, and this workload emulates them (network.replication) (hint: `kafka-order-bench cluster down` first, so the run starts its own cluster, or set replication = false)")]
    RunningWithoutReplication { bootstrap: String },
    #[error("the cluster refuses a cell topic of {partitions} partitions × {replication_factor} replicas: {message} (hint: fewer --partitions)")]
    Shape {
        partitions: i32,
        replication_factor: i32,
        message: String,
    },
    #[error("refusing to delete topic {0:?}: the suite only deletes topics it created, whose names start with {TOPIC_PREFIX:?}")]
    ForeignTopic(String),
    #[error("no node {node} in this cluster (nodes are 1..={count})")]
    NoSuchNode { node: i32, count: u32 },
    #[error("timed out after {secs} s waiting for {what}")]
    Timeout { what: String, secs: u64 },
    #[error("a local cluster with {running} nodes is already running (bootstrap.servers={bootstrap}) (hint: stop it with `kafka-order-bench cluster down` to start one with {wanted} nodes)")]
    AlreadyRunning {
        bootstrap: String,
        running: u32,
        wanted: u32,
    },
    #[error("{} while the local cluster was starting; its nodes were stopped", signal.word())]
    Interrupted { signal: crate::interrupt::Signal },
    #[error("{path} is not a readable cluster state file: {message} (hint: `kafka-order-bench cluster down` removes it)")]
    BadState { path: PathBuf, message: String },
    #[error("librdkafka's mock cluster: {op} failed: {message}")]
    Mock { op: String, message: String },
}

/// An existing cluster reached through a bootstrap address.
#[derive(Debug, Clone)]
pub struct ExternalCluster {
    bootstrap: String,
    properties: Vec<(String, String)>,
    brokers: u32,
    kind: ClusterKind,
    /// Known only for the detached local cluster, from its state file.
    broker_version: Option<String>,
}

impl ExternalCluster {
    /// Checks the address, then fetches metadata within `timeout`: a cluster
    /// nobody answers for fails with [`ClusterError::Unreachable`] naming it.
    /// The running `cluster up` cluster is recognised by its addresses and
    /// reported as `"local"` with its broker version.
    pub fn connect(
        bootstrap: &str,
        properties: &[(String, String)],
        timeout: Duration,
    ) -> Result<Self, ClusterError> {
        // The `cluster up` cluster named by its address is still the local
        // cluster, with the release its state file records.
        if let Some(state) = daemon::running_local_for(bootstrap) {
            return Self::connect_as(bootstrap, properties, timeout, ClusterKind::Local)
                .map(|c| c.with_broker_version(state.broker_version));
        }
        let c = Self::connect_as(bootstrap, properties, timeout, ClusterKind::External)?;
        // What the protocol reveals of the release (PLAINTEXT listeners only).
        let version = apiversions::probe(&c.bootstrap, properties, Duration::from_secs(2));
        Ok(c.with_broker_version(version))
    }

    /// Like [`ExternalCluster::connect`], reporting `kind` (e.g. `"local"` for
    /// the detached cluster of `cluster up`).
    pub fn connect_as(
        bootstrap: &str,
        properties: &[(String, String)],
        timeout: Duration,
        kind: ClusterKind,
    ) -> Result<Self, ClusterError> {
        let bootstrap = check_bootstrap(bootstrap)?;
        let cfg = client_config(&bootstrap, properties);
        let client = metadata_client(&cfg)?;
        let md = client.client().fetch_metadata(None, timeout).map_err(|e| {
            ClusterError::Unreachable {
                bootstrap: bootstrap.clone(),
                secs: timeout.as_secs().max(1),
                message: e.to_string(),
            }
        })?;
        Ok(ExternalCluster {
            brokers: md.brokers().len() as u32,
            bootstrap,
            properties: properties.to_vec(),
            kind,
            broker_version: None,
        })
    }

    /// Records the broker release, when the caller knows it (the state file
    /// of `cluster up` does; a bootstrap address does not tell).
    pub fn with_broker_version(mut self, version: Option<String>) -> Self {
        self.broker_version = version;
        self
    }

    /// A cluster taken on trust, without contacting it: for tests and for
    /// proxies that stand in front of a real cluster.
    pub fn unchecked(bootstrap: &str, properties: &[(String, String)], brokers: u32) -> Self {
        ExternalCluster {
            bootstrap: bootstrap.to_string(),
            properties: properties.to_vec(),
            brokers,
            kind: ClusterKind::External,
            broker_version: None,
        }
    }
}

impl Cluster for ExternalCluster {
    fn bootstrap(&self) -> String {
        self.bootstrap.clone()
    }
    fn brokers(&self) -> u32 {
        self.brokers
    }
    fn broker_version(&self) -> Option<String> {
        self.broker_version.clone()
    }
    fn kind(&self) -> ClusterKind {
        self.kind
    }
    fn client_config(&self) -> ClientConfig {
        client_config(&self.bootstrap, &self.properties)
    }
}

/// Validates `HOST:PORT[,HOST:PORT…]` and returns it without spaces.
pub fn check_bootstrap(bootstrap: &str) -> Result<String, ClusterError> {
    let bad = || ClusterError::BadBootstrap(bootstrap.to_string());
    let mut out = Vec::new();
    for addr in bootstrap.split(',') {
        let addr = addr.trim();
        // Accept an optional listener scheme, as librdkafka does (SSL://host:port).
        let plain = addr.split_once("://").map(|(_, a)| a).unwrap_or(addr);
        let (host, port) = plain.rsplit_once(':').ok_or_else(bad)?;
        if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(bad());
        }
        out.push(addr.to_string());
    }
    Ok(out.join(","))
}

/// `bootstrap.servers` plus every property, in order (later ones win).
pub fn client_config(bootstrap: &str, properties: &[(String, String)]) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", bootstrap);
    for (k, v) in properties {
        cfg.set(k, v);
    }
    cfg
}

/// Polls `probe` every 100 ms until it returns Some, for at most `timeout`.
pub(crate) fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Result<T, ClusterError> {
    let deadline = Instant::now() + timeout;
    loop {
        check_interrupt()?;
        if let Some(v) = probe() {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(ClusterError::Timeout {
                what: what.to_string(),
                secs: timeout.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stops every local cluster this process owns (SIGKILL, then removes their
/// data): what a front end does on a second Ctrl-C (see [`crate::interrupt`]).
pub fn kill_all_local() -> usize {
    proc::kill_registered()
}

/// [`ClusterError::Interrupted`] when a stop was requested (Ctrl-C, SIGTERM):
/// long waits of the cluster layer call it in their loops.
pub(crate) fn check_interrupt() -> Result<(), ClusterError> {
    match crate::interrupt::requested() {
        Some(signal) => Err(ClusterError::Interrupted { signal }),
        None => Ok(()),
    }
}

/// Creates `dir` (and its parents), then writes each `(path, contents)` in
/// order. A failure at any step is reported as failing to write the first
/// file, the one a reader recognises (a node's `server.properties`, the
/// fetch's `pom.xml`).
pub(crate) fn create_dir_and_write(
    dir: &std::path::Path,
    files: &[(&std::path::Path, &str)],
) -> Result<(), ClusterError> {
    let named = files.first().map_or(dir, |(path, _)| path);
    std::fs::create_dir_all(dir)
        .and_then(|_| {
            files
                .iter()
                .try_for_each(|(path, contents)| std::fs::write(path, contents))
        })
        .map_err(|source| ClusterError::Io {
            action: "write",
            path: named.to_path_buf(),
            cause: source,
        })
}

/// What a local cluster needs, checked without starting or fetching
/// anything: Java 17+, and the Kafka jars (`KAFKA_HOME`, the cache under
/// `cache`) or `mvn` to fetch them.
pub fn check_local_prerequisites(cache: &std::path::Path) -> Result<(), ClusterError> {
    find_java()?;
    if let Some(home) = std::env::var_os("KAFKA_HOME").filter(|h| !h.is_empty()) {
        let home = PathBuf::from(home);
        let libs = home.join("libs");
        if version_from_jars(&libs).is_none() {
            return Err(ClusterError::BadKafkaHome {
                reason: format!("no kafka_2.13-<version>.jar in {}", libs.display()),
                path: home,
            });
        }
        return Ok(());
    }
    let home = cache.join(format!("kafka-{KAFKA_VERSION}"));
    if version_from_jars(&home.join("libs")).is_none() && proc::which("mvn").is_none() {
        return Err(ClusterError::MavenMissing {
            version: KAFKA_VERSION.into(),
            dest: home,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_addresses() {
        assert_eq!(check_bootstrap("127.0.0.1:9092").unwrap(), "127.0.0.1:9092");
        assert_eq!(check_bootstrap("a:1, b:2").unwrap(), "a:1,b:2");
        assert_eq!(check_bootstrap("SSL://k:9093").unwrap(), "SSL://k:9093");
        for bad in ["", "host", "host:", ":9092", "h:0", "h:70000", "h:1,,h:2"] {
            let e = check_bootstrap(bad).unwrap_err().to_string();
            assert!(e.contains("hint: expected HOST:PORT"), "{bad}: {e}");
        }
    }

    #[test]
    fn client_config_carries_every_property() {
        let c = ExternalCluster::unchecked(
            "h:1",
            &[("security.protocol".into(), "SASL_SSL".into())],
            1,
        );
        let cfg = c.client_config();
        assert_eq!(cfg.get("bootstrap.servers"), Some("h:1"));
        assert_eq!(cfg.get("security.protocol"), Some("SASL_SSL"));
    }

    #[test]
    fn unreachable_bootstrap_fails_in_bounded_time() {
        // Port 1 on loopback: nobody listens there.
        let start = Instant::now();
        let e = ExternalCluster::connect("127.0.0.1:1", &[], Duration::from_secs(2)).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(10));
        let msg = e.to_string();
        assert!(msg.contains("cannot reach Kafka at 127.0.0.1:1"), "{msg}");
    }

    #[test]
    fn bad_client_property_is_named() {
        let e = ExternalCluster::connect(
            "127.0.0.1:1",
            &[("no.such.property".into(), "1".into())],
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(e.to_string().contains("no.such.property"), "{e}");
    }

    #[test]
    fn written_files_land_in_a_new_dir_and_a_failure_names_the_first() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        let first = dir.join("first");
        create_dir_and_write(&dir, &[(&first, "1"), (&dir.join("second"), "2")]).unwrap();
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "1");
        assert_eq!(std::fs::read_to_string(dir.join("second")).unwrap(), "2");
        // The second write fails (its parent does not exist): the first is named.
        let e = create_dir_and_write(&dir, &[(&first, "1"), (&dir.join("x/y"), "2")]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("cannot write {}: ", first.display())),
            "{e}"
        );
    }
}
