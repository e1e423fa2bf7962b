//! Where cells run: a real Apache Kafka cluster, either local (started by
//! this suite from Apache Kafka's jars) or external (`--bootstrap`).
//!
//! - [`Cluster`] is what the rest of the suite sees: a bootstrap address, a
//!   broker count and a [`ClientConfig`] carrying every `-X` property.
//! - [`LocalCluster`] starts N combined broker+controller KRaft nodes, one JVM
//!   each, on 127.0.0.1; it can SIGKILL and restart a node and find a
//!   partition's leader, which is how leader failover is injected. Its JVMs
//!   die with their owner (see [`LocalCluster`] for how).
//! - [`ExternalCluster`] is an existing cluster, checked reachable on connect.
//! - [`create_topic`] / [`delete_topic`]: the suite's topics all start with
//!   [`TOPIC_PREFIX`], and the suite never deletes any other topic.
//! - [`daemon`]: the detached cluster of `kafka-order-bench cluster up`, its
//!   state file, and [`daemon::running_local_bootstrap`] for other commands.

pub mod apiversions;
pub mod daemon;
mod dist;
pub mod health;
mod local;
mod proc;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::metadata::Metadata;
use rdkafka::producer::{BaseProducer, Producer};

pub use crate::results::ClusterKind;

pub use dist::{
    cache_dir, find_java, resolve_kafka, resolve_kafka_version, version_from_jars, Java, KafkaDist,
    KAFKA_VERSION,
};
pub use local::{LocalCluster, LocalOptions, NodeStatus};

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
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
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

fn metadata_client(cfg: &ClientConfig) -> Result<BaseProducer, ClusterError> {
    let mut cfg = cfg.clone();
    // Reconnect quickly to a restarted node rather than backing off for seconds.
    cfg.set("reconnect.backoff.max.ms", "500");
    cfg.create()
        .map_err(|e| ClusterError::ClientConfig(e.to_string()))
}

fn admin_client(cluster: &dyn Cluster) -> Result<AdminClient<DefaultClientContext>, ClusterError> {
    let mut cfg = cluster.client_config();
    cfg.set("reconnect.backoff.max.ms", "500");
    cfg.create()
        .map_err(|e| ClusterError::ClientConfig(e.to_string()))
}

/// Runs an rdkafka admin future to completion from synchronous code, also
/// when called from inside a tokio runtime.
fn block_on<F: std::future::Future + Send>(fut: F) -> F::Output
where
    F::Output: Send,
{
    let run = move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("cannot build a tokio runtime")
            .block_on(fut)
    };
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| s.spawn(run).join().expect("admin thread panicked"))
    } else {
        run()
    }
}

/// A topic as [`create_topic`] made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i32,
    /// Set on the topic when the replication factor is 3; otherwise the broker default.
    pub min_insync_replicas: Option<i32>,
}

/// Replication factor for a cluster of `brokers`: `min(3, brokers)`.
pub fn replication_factor(brokers: u32) -> i32 {
    brokers.clamp(1, 3) as i32
}

/// A legal topic name for the suite: [`TOPIC_PREFIX`] followed by `parts`
/// joined with `.`, where `=` becomes `-` and any other character Kafka does
/// not allow becomes `_` (so a cell id like `inflight=5,acks=all` fits).
pub fn topic_name(parts: &[&str]) -> String {
    let body: String = parts
        .join(".")
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '_' | '-' => c,
            '=' => '-',
            ',' => '.',
            _ => '_',
        })
        .collect();
    let mut name = format!("{TOPIC_PREFIX}{body}");
    name.truncate(249);
    name
}

fn check_topic_name(name: &str) -> Result<(), ClusterError> {
    let bad = |reason: &str| ClusterError::BadTopicName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if !name.starts_with(TOPIC_PREFIX) {
        return Err(bad(&format!(
            "the suite's topics start with {TOPIC_PREFIX:?} (hint: build names with cluster::topic_name)"
        )));
    }
    if name.len() > 249 {
        return Err(bad("longer than 249 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(bad(
            "Kafka allows only ASCII letters, digits, '.', '_' and '-'",
        ));
    }
    Ok(())
}

/// Creates `name` with `partitions` partitions, replication factor
/// `min(3, brokers)` and `min.insync.replicas=2` when that factor is 3, then
/// waits until every partition has a leader and a full ISR.
pub fn create_topic(
    cluster: &dyn Cluster,
    name: &str,
    partitions: i32,
) -> Result<TopicSpec, ClusterError> {
    check_topic_name(name)?;
    if partitions < 1 {
        return Err(ClusterError::BadTopicName {
            name: name.to_string(),
            reason: format!("{partitions} partitions; a topic needs at least 1"),
        });
    }
    let rf = replication_factor(cluster.brokers());
    let min_isr = (rf == 3).then_some(2);
    let admin = admin_client(cluster)?;
    let min_isr_text = min_isr.map(|m| m.to_string());
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(rf));
    if let Some(m) = &min_isr_text {
        topic = topic.set("min.insync.replicas", m);
    }
    let opts = AdminOptions::new()
        .request_timeout(Some(OP_TIMEOUT))
        .operation_timeout(Some(OP_TIMEOUT));
    let admin_err = |message: String| ClusterError::Admin {
        op: "creating topic",
        topic: name.to_string(),
        message,
    };
    let results =
        block_on(admin.create_topics([&topic], &opts)).map_err(|e| admin_err(e.to_string()))?;
    for r in results {
        r.map_err(|(_, code)| admin_err(code.to_string()))?;
    }
    let client = metadata_client(&cluster.client_config())?;
    wait_for(
        &format!("topic {name} to have a leader and {rf} in-sync replicas"),
        OP_TIMEOUT,
        || {
            let md = client
                .client()
                .fetch_metadata(Some(name), Duration::from_secs(5))
                .ok()?;
            let t = md.topics().iter().find(|t| t.name() == name)?;
            let ready = t.error().is_none()
                && t.partitions().len() == partitions as usize
                && t.partitions().iter().all(|p| {
                    p.error().is_none() && p.leader() >= 0 && p.isr().len() == rf as usize
                });
            ready.then_some(())
        },
    )?;
    Ok(TopicSpec {
        name: name.to_string(),
        partitions,
        replication_factor: rf,
        min_insync_replicas: min_isr,
    })
}

/// Deletes a topic the suite created, and waits until brokers stop listing it.
/// Names without [`TOPIC_PREFIX`] are refused; a topic already gone is fine.
pub fn delete_topic(cluster: &dyn Cluster, name: &str) -> Result<(), ClusterError> {
    delete_topic_inner(cluster, name, true)
}

fn delete_topic_inner(cluster: &dyn Cluster, name: &str, wait: bool) -> Result<(), ClusterError> {
    if !name.starts_with(TOPIC_PREFIX) {
        return Err(ClusterError::ForeignTopic(name.to_string()));
    }
    let admin = admin_client(cluster)?;
    let opts = AdminOptions::new()
        .request_timeout(Some(OP_TIMEOUT))
        .operation_timeout(Some(OP_TIMEOUT));
    let admin_err = |message: String| ClusterError::Admin {
        op: "deleting topic",
        topic: name.to_string(),
        message,
    };
    let results =
        block_on(admin.delete_topics(&[name], &opts)).map_err(|e| admin_err(e.to_string()))?;
    for r in results {
        match r {
            Ok(_) => {}
            Err((_, rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition)) => return Ok(()),
            Err((_, code)) => return Err(admin_err(code.to_string())),
        }
    }
    if !wait {
        return Ok(());
    }
    let client = metadata_client(&cluster.client_config())?;
    wait_for(&format!("topic {name} to disappear"), OP_TIMEOUT, || {
        let md = client
            .client()
            .fetch_metadata(Some(name), Duration::from_secs(5))
            .ok()?;
        let gone = md
            .topics()
            .iter()
            .all(|t| t.name() != name || t.error().is_some());
        gone.then_some(())
    })
}

/// One partition as the brokers currently describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    /// Leader's node id, None while the partition has no leader.
    pub leader: Option<i32>,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// Fetches one partition's leader, replicas and ISR; Ok(None) when the topic
/// or partition does not exist.
pub fn partition_state(
    cluster: &dyn Cluster,
    topic: &str,
    partition: i32,
) -> Result<Option<PartitionState>, ClusterError> {
    let client = metadata_client(&cluster.client_config())?;
    partition_state_with(&client, topic, partition)
}

fn partition_state_with(
    client: &BaseProducer,
    topic: &str,
    partition: i32,
) -> Result<Option<PartitionState>, ClusterError> {
    let md = fetch_metadata(client, Some(topic))?;
    Ok(find_partition(&md, topic, partition))
}

fn fetch_metadata(client: &BaseProducer, topic: Option<&str>) -> Result<Metadata, ClusterError> {
    client
        .client()
        .fetch_metadata(topic, Duration::from_secs(10))
        .map_err(|e| ClusterError::Admin {
            op: "fetching metadata for",
            topic: topic.unwrap_or("all topics").to_string(),
            message: e.to_string(),
        })
}

fn find_partition(md: &Metadata, topic: &str, partition: i32) -> Option<PartitionState> {
    let t = md.topics().iter().find(|t| t.name() == topic)?;
    if t.error().is_some() {
        return None;
    }
    let p = t.partitions().iter().find(|p| p.id() == partition)?;
    Some(PartitionState {
        leader: (p.leader() >= 0).then_some(p.leader()),
        replicas: p.replicas().to_vec(),
        isr: p.isr().to_vec(),
    })
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
/// data): what a second Ctrl-C does (see [`crate::interrupt`]).
pub fn kill_all_local() -> usize {
    proc::kill_registered()
}

/// Installs the process's signal handler ([`crate::interrupt::install`]).
/// Kept for callers of the earlier API; new code calls `interrupt::install`.
pub fn install_interrupt_handler() {
    crate::interrupt::install();
}

/// [`ClusterError::Interrupted`] when a stop was requested (Ctrl-C, SIGTERM):
/// long waits of the cluster layer call it in their loops.
pub(crate) fn check_interrupt() -> Result<(), ClusterError> {
    match crate::interrupt::requested() {
        Some(signal) => Err(ClusterError::Interrupted { signal }),
        None => Ok(()),
    }
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
    fn topic_names_are_prefixed_and_legal() {
        assert_eq!(
            topic_name(&["r1", "inflight=5,acks=all,idem=true"]),
            "kob-r1.inflight-5.acks-all.idem-true"
        );
        assert_eq!(topic_name(&["a b/c"]), "kob-a_b_c");
        assert!(check_topic_name(&topic_name(&["x"; 300])).is_ok());
        assert!(check_topic_name("orders")
            .unwrap_err()
            .to_string()
            .contains("start with \"kob-\""));
        assert!(check_topic_name("kob-a b").is_err());
    }

    #[test]
    fn replication_factor_is_min_3() {
        assert_eq!(replication_factor(1), 1);
        assert_eq!(replication_factor(2), 2);
        assert_eq!(replication_factor(3), 3);
        assert_eq!(replication_factor(9), 3);
    }

    #[test]
    fn delete_refuses_foreign_topics_without_contacting_anyone() {
        let c = ExternalCluster::unchecked("127.0.0.1:1", &[], 3);
        let e = delete_topic(&c, "orders").unwrap_err();
        assert!(matches!(e, ClusterError::ForeignTopic(_)));
        assert!(e.to_string().contains("only deletes topics it created"));
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
}
