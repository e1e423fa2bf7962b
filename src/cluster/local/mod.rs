//! The local cluster: N combined broker+controller KRaft nodes, one JVM each,
//! on 127.0.0.1, started from Apache Kafka's jars.
//!
//! With [`LocalOptions::emulate_replication`] each broker also listens on a
//! `REPLICATION` listener used for inter-broker traffic (follower fetches),
//! and advertises it through a [`TcpDelay`] started before the brokers, so
//! [`LocalCluster::set_replication_link`] puts an emulated network between
//! brokers. Client and KRaft controller traffic stay direct.
//!
//! This module defines the cluster and its nodes and answers questions about
//! them (leader, ISR, status). The rest, in the order a cluster lives:
//! `options` (what to start and what is refused), `config` (ports and each
//! node's `server.properties`), `storage` (the data directory and `kafka-storage
//! format`), `jvm` (the `java` command lines), `replication` (the delay lines
//! between brokers), `launch` (start-up and readiness), `failover` (killing
//! and restarting one node) and `stop` (stop, Drop and release).

use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Mutex;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::producer::BaseProducer;

use crate::netem::TcpDelay;
use crate::results::ClusterKind;

use super::dist::{Java, KafkaDist};
use super::proc;
use super::{client_config, metadata_client, partition_state_with, Cluster, ClusterError};

mod config;
mod failover;
mod jvm;
mod launch;
mod options;
mod replication;
mod stop;
mod storage;

pub use options::LocalOptions;

use replication::delay_line_ports;
use storage::DataDir;

/// How long a stopping node gets between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// Lines of a node's log shown when it fails.
const TAIL_LINES: usize = 25;

/// One node as [`LocalCluster::status`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    /// KRaft node id (1..=N), also its broker id.
    pub id: i32,
    /// Pid of its JVM while one runs.
    pub pid: Option<u32>,
    /// Client (PLAINTEXT) port on 127.0.0.1.
    pub port: u16,
    /// Controller (KRaft quorum) port on 127.0.0.1.
    pub controller_port: u16,
    /// The delay line other brokers replicate from, when replication is
    /// emulated (the broker's own REPLICATION listener is behind it).
    pub replication_port: Option<u16>,
    pub alive: bool,
    /// Resident set size of its JVM, in bytes.
    pub rss_bytes: Option<u64>,
    /// stdout, stderr and log4j output of the node.
    pub log: PathBuf,
    /// Its `server.properties`.
    pub config: PathBuf,
}

/// One node as the cluster owns it: its ports, its files, and its JVM
/// while one runs.
struct Node {
    id: i32,
    port: u16,
    controller_port: u16,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Node {
    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

/// A running local cluster. Dropping it stops every node (SIGTERM, a short
/// grace, SIGKILL) and removes a temporary data directory.
///
/// Unless started `detached`, each JVM is spawned with
/// `PR_SET_PDEATHSIG=SIGKILL` by a spawner thread that lives as long as the
/// process, so a panicking or SIGKILLed owner leaves no JVM behind; call
/// [`crate::interrupt::install`] with a second-signal action that calls
/// [`super::kill_all_local`] so Ctrl-C also removes the data directories.
pub struct LocalCluster {
    nodes: Mutex<Vec<Node>>,
    bootstrap: String,
    dist: KafkaDist,
    java: Java,
    heap_mb: u32,
    properties: Vec<(String, String)>,
    start_timeout: Duration,
    detached: bool,
    dir: Option<DataDir>,
    registration: u64,
    meta: Mutex<Option<BaseProducer>>,
    /// One delay line per node (by node index) in front of its REPLICATION
    /// listener, when replication is emulated; dropped after the nodes stop.
    replication: Mutex<Vec<TcpDelay>>,
}

impl LocalCluster {
    /// The nodes, usable even after a panic while they were locked.
    fn lock_nodes(&self) -> std::sync::MutexGuard<'_, Vec<Node>> {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records, for [`super::kill_all_local`], which JVMs to SIGKILL and
    /// which directories to remove on a second Ctrl-C.
    fn register(&self) {
        let pids = self.lock_nodes().iter().filter_map(Node::pid).collect();
        let remove = match &self.dir {
            Some(DataDir::Temp(t)) => vec![t.path().to_path_buf()],
            // A detached cluster interrupted before `cluster up` finished.
            Some(DataDir::Kept(p)) if self.detached => vec![p.clone()],
            _ => Vec::new(),
        };
        proc::register(self.registration, proc::Registered { pids, remove });
    }

    /// The cluster's metadata client, created on first use.
    fn meta_client(&self) -> Result<std::sync::MutexGuard<'_, Option<BaseProducer>>, ClusterError> {
        let mut guard = self.meta.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(metadata_client(&self.client_config())?);
        }
        Ok(guard)
    }

    fn with_meta<T>(
        &self,
        f: impl FnOnce(&BaseProducer) -> Result<T, ClusterError>,
    ) -> Result<T, ClusterError> {
        let guard = self.meta_client()?;
        f(guard.as_ref().expect("metadata client was just created"))
    }

    /// Where node id `node` is in `nodes`.
    fn node_index(&self, nodes: &[Node], node: i32) -> Result<usize, ClusterError> {
        nodes
            .iter()
            .position(|n| n.id == node)
            .ok_or(ClusterError::NoSuchNode {
                node,
                count: nodes.len() as u32,
            })
    }

    /// Current leader of a partition; None while it has none or when the
    /// topic does not exist.
    pub fn leader(&self, topic: &str, partition: i32) -> Result<Option<i32>, ClusterError> {
        self.with_meta(|c| partition_state_with(c, topic, partition))
            .map(|s| s.and_then(|s| s.leader))
    }

    /// Current in-sync replicas of a partition (empty when the topic does not exist).
    pub fn in_sync_replicas(&self, topic: &str, partition: i32) -> Result<Vec<i32>, ClusterError> {
        self.with_meta(|c| partition_state_with(c, topic, partition))
            .map(|s| s.map(|s| s.isr).unwrap_or_default())
    }

    /// Node ids, pids, ports, liveness and memory of every node.
    pub fn status(&self) -> Vec<NodeStatus> {
        let replication = delay_line_ports(&self.lock_replication());
        self.lock_nodes()
            .iter_mut()
            .enumerate()
            .map(|(i, n)| {
                let running = n
                    .child
                    .as_mut()
                    .map(|c| matches!(c.try_wait(), Ok(None)))
                    .unwrap_or(false);
                let pid = n.pid().filter(|_| running);
                NodeStatus {
                    id: n.id,
                    pid,
                    port: n.port,
                    controller_port: n.controller_port,
                    replication_port: replication.get(i).copied(),
                    alive: running,
                    rss_bytes: pid.and_then(proc::rss_bytes),
                    log: n.log.clone(),
                    config: n.config.clone(),
                }
            })
            .collect()
    }

    /// Directory holding each node's `node-<id>/` (config, data, `server.log`).
    pub fn data_dir(&self) -> &Path {
        self.dir
            .as_ref()
            .map(DataDir::path)
            .unwrap_or(Path::new(""))
    }
}

impl Cluster for LocalCluster {
    fn bootstrap(&self) -> String {
        self.bootstrap.clone()
    }
    fn brokers(&self) -> u32 {
        // The configured size: a killed node is still part of the cluster.
        self.bootstrap.split(',').count() as u32
    }
    fn broker_version(&self) -> Option<String> {
        Some(self.dist.version.clone())
    }
    fn kind(&self) -> ClusterKind {
        ClusterKind::Local
    }
    fn client_config(&self) -> ClientConfig {
        client_config(&self.bootstrap, &self.properties)
    }
    fn local(&self) -> Option<&LocalCluster> {
        Some(self)
    }
}
