//! Starting a local cluster: checking the options, preparing every node's
//! files and storage, spawning the JVMs, and waiting until the cluster
//! takes replicated writes.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

use crate::cluster::dist::{cache_dir, find_java, resolve_kafka};
use crate::cluster::proc::{self, tail};
use crate::cluster::{
    block_on, check_interrupt, create_topic, delete_topic, delete_topic_inner, metadata_client,
    replication_factor, Cluster, ClusterError, TOPIC_PREFIX,
};

use super::config::{free_ports, write_node_files};
use super::replication::{delay_line_ports, start_delay_lines};
use super::storage::{format_storage, make_data_dir};
use super::{LocalCluster, LocalOptions, TAIL_LINES};

impl LocalCluster {
    /// Starts the nodes and returns once the cluster is ready: every broker is
    /// registered, and a probe topic with replication factor `min(3, N)` was
    /// created, written with `acks=all` and deleted.
    pub fn start(opts: LocalOptions) -> Result<Self, ClusterError> {
        let cluster = Self::launch(opts)?;
        cluster.wait_ready()?;
        Ok(cluster)
    }

    /// Formats storage and spawns the JVMs, without waiting for readiness.
    pub(crate) fn launch(opts: LocalOptions) -> Result<Self, ClusterError> {
        opts.check()?;
        let java = find_java()?;
        let cache = opts.cache_dir.clone().unwrap_or_else(cache_dir);
        let dist = resolve_kafka(opts.kafka_home.as_deref(), &cache)?;
        let dir = make_data_dir(opts.data_dir.as_deref())?;
        let n = opts.brokers as usize;
        let ports = free_ports(3 * n).map_err(|source| ClusterError::Io {
            action: "find free ports on",
            path: "127.0.0.1".into(),
            cause: source,
        })?;
        // Started before the brokers, so each one's advertised replication
        // address is listening by the time a follower fetches from it.
        let replication = if opts.emulate_replication {
            start_delay_lines(&ports[2 * n..])?
        } else {
            Vec::new()
        };
        let delayed = delay_line_ports(&replication);
        let nodes = write_node_files(
            dir.path(),
            n,
            &ports,
            &delayed,
            replication_factor(opts.brokers),
            &opts.broker_properties,
        )?;
        format_storage(&java, &dist, &nodes, opts.start_timeout)?;

        let bootstrap = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect::<Vec<_>>()
            .join(",");
        let cluster = LocalCluster {
            nodes: Mutex::new(Vec::new()),
            bootstrap,
            dist,
            java,
            heap_mb: opts.heap_mb,
            properties: opts.properties.clone(),
            start_timeout: opts.start_timeout,
            detached: opts.detached,
            dir: Some(dir),
            registration: proc::next_id(),
            meta: Mutex::new(None),
            replication: Mutex::new(replication),
        };
        // From here on, Drop stops whatever was spawned.
        for mut node in nodes {
            node.child = Some(cluster.spawn_node(&node)?);
            cluster.lock_nodes().push(node);
            cluster.register();
        }
        Ok(cluster)
    }

    /// Waits until every broker is registered and a replicated topic can be
    /// created and written; a node that exits meanwhile is an error naming it.
    pub(crate) fn wait_ready(&self) -> Result<(), ClusterError> {
        let deadline = Instant::now() + self.start_timeout;
        let n = self.brokers() as usize;
        let client = metadata_client(&self.client_config())?;
        let mut registered: Vec<i32> = Vec::new();
        loop {
            check_interrupt()?;
            self.check_alive()?;
            if let Ok(md) = client.client().fetch_metadata(None, Duration::from_secs(2)) {
                registered = md.brokers().iter().map(|b| b.id()).collect();
                registered.sort_unstable();
                if registered.len() >= n {
                    break;
                }
            }
            if Instant::now() >= deadline {
                return Err(self.not_ready(format!(
                    "{} of {n} brokers registered ({registered:?})",
                    registered.len()
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let probe = format!(
            "{TOPIC_PREFIX}probe-{}-{}",
            std::process::id(),
            self.registration
        );
        loop {
            check_interrupt()?;
            self.check_alive()?;
            let last_error =
                match create_topic(self, &probe, 1).and_then(|_| produce_one(self, &probe)) {
                    Ok(()) => break,
                    Err(e) => e.to_string(),
                };
            let _ = delete_topic(self, &probe);
            if Instant::now() >= deadline {
                return Err(self.not_ready(format!(
                    "writing the probe topic {probe} failed: {last_error}"
                )));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        // The probe's removal need not hold up the start.
        delete_topic_inner(self, &probe, false)
    }

    fn check_alive(&self) -> Result<(), ClusterError> {
        for node in self.lock_nodes().iter_mut() {
            if let Some(child) = node.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(ClusterError::NodeFailed {
                        node: node.id,
                        problem: format!("exited during start-up ({status})"),
                        log: node.log.clone(),
                        tail: tail(&node.log, TAIL_LINES),
                    });
                }
            }
        }
        Ok(())
    }

    fn not_ready(&self, waiting_for: String) -> ClusterError {
        let tails = self
            .lock_nodes()
            .iter()
            .map(|n| {
                format!(
                    "node {} (pid {:?}), last lines of {}:\n{}",
                    n.id,
                    n.pid(),
                    n.log.display(),
                    tail(&n.log, 8)
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        ClusterError::NotReady {
            secs: self.start_timeout.as_secs(),
            waiting_for,
            tails,
        }
    }
}

/// Writes one record with `acks=all` and waits for its delivery report.
fn produce_one(cluster: &dyn Cluster, topic: &str) -> Result<(), ClusterError> {
    let err = |message: String| ClusterError::Admin {
        op: "writing to",
        topic: topic.to_string(),
        message,
    };
    let producer: FutureProducer = cluster
        .client_config()
        .set("acks", "all")
        .set("message.timeout.ms", "10000")
        .create()
        .map_err(|e| ClusterError::ClientConfig(e.to_string()))?;
    let record = FutureRecord::to(topic).payload("ready").key("probe");
    let delivery = producer
        .send_result(record)
        .map_err(|(e, _)| err(e.to_string()))?;
    let outcome = block_on(async { tokio::time::timeout(Duration::from_secs(15), delivery).await });
    match outcome {
        Ok(Ok(Ok(_))) => Ok(()),
        Ok(Ok(Err((e, _)))) => Err(err(e.to_string())),
        Ok(Err(_)) => Err(err("the producer dropped the record".into())),
        Err(_) => Err(err("no delivery report within 15 s".into())),
    }
}
