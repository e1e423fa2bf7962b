//! How to start a [`LocalCluster`](super::LocalCluster): its options, their defaults, and which
//! combinations are refused before anything starts.

use std::path::PathBuf;
use std::time::Duration;

use crate::cluster::ClusterError;

/// How to start a [`LocalCluster`](super::LocalCluster).
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// Number of nodes, each a broker and a controller (1..=9; default 3).
    pub brokers: u32,
    /// Maximum heap of each node's JVM, in MiB (default 512).
    pub heap_mb: u32,
    /// Bound on start-up and on a restarted node's return (default 120 s).
    pub start_timeout: Duration,
    /// librdkafka properties every client of this cluster gets (`-X`).
    pub properties: Vec<(String, String)>,
    /// Extra `server.properties` lines for every node; they override the template.
    pub broker_properties: Vec<(String, String)>,
    /// An unpacked Kafka distribution; None: `$KAFKA_HOME`, else the cache.
    pub kafka_home: Option<PathBuf>,
    /// None: `$KOB_CACHE_DIR` or `~/.cache/kafka-order-bench`.
    pub cache_dir: Option<PathBuf>,
    /// Where nodes keep data and logs. None: a fresh temporary directory,
    /// removed on stop. Some: that directory, emptied first, kept on stop.
    pub data_dir: Option<PathBuf>,
    /// Spawn JVMs in their own session so they outlive this process
    /// (`cluster up`). Default false: they die with it.
    pub detached: bool,
    /// Route inter-broker (replication) traffic through a delay line per
    /// broker, whose link
    /// [`LocalCluster::set_replication_link`](super::LocalCluster::set_replication_link) sets
    /// (no delay until then). Default false: brokers talk directly. Not
    /// with `detached` (the delay lines live in this process).
    pub emulate_replication: bool,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            brokers: 3,
            heap_mb: 512,
            start_timeout: Duration::from_secs(120),
            properties: Vec::new(),
            broker_properties: Vec::new(),
            kafka_home: None,
            cache_dir: None,
            data_dir: None,
            detached: false,
            emulate_replication: false,
        }
    }
}

impl LocalOptions {
    /// Refuses a node count, heap or combination the local cluster cannot run.
    pub(super) fn check(&self) -> Result<(), ClusterError> {
        if !(1..=9).contains(&self.brokers) {
            return Err(ClusterError::InvalidOptions(format!(
                "{} brokers (hint: a local cluster has 1 to 9 nodes)",
                self.brokers
            )));
        }
        if self.heap_mb < 128 {
            return Err(ClusterError::InvalidOptions(format!(
                "{} MiB of heap per node (hint: at least 128)",
                self.heap_mb
            )));
        }
        if self.emulate_replication && self.detached {
            return Err(ClusterError::InvalidOptions(
                "emulate_replication with a detached cluster (hint: the delay lines live in this process; run without `cluster up`)".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::LocalCluster;
    use super::*;

    #[test]
    fn zero_brokers_is_refused_before_anything_starts() {
        let e = LocalCluster::start(LocalOptions {
            brokers: 0,
            ..LocalOptions::default()
        })
        .err()
        .unwrap();
        assert!(e.to_string().contains("1 to 9 nodes"), "{e}");
    }

    #[test]
    fn emulated_replication_is_refused_for_a_detached_cluster() {
        let e = LocalCluster::start(LocalOptions {
            detached: true,
            emulate_replication: true,
            ..LocalOptions::default()
        })
        .err()
        .unwrap();
        assert!(e.to_string().contains("emulate_replication"), "{e}");
    }
}
