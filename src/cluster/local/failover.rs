//! One node's crash and return, which is how leader failover is injected:
//! a SIGKILL (no controlled shutdown), and a restart with the same
//! configuration and data that waits until the node has rejoined.

use std::process::Child;
use std::time::{Duration, Instant};

use rdkafka::producer::Producer;

use crate::cluster::proc::{self, tail};
use crate::cluster::{client_config, fetch_metadata, metadata_client, ClusterError};

use super::{LocalCluster, STOP_GRACE, TAIL_LINES};

impl LocalCluster {
    /// SIGKILLs node `node` (a crash: no controlled shutdown) and reaps it.
    pub fn kill(&self, node: i32) -> Result<(), ClusterError> {
        let mut nodes = self.lock_nodes();
        let i = self.node_index(&nodes, node)?;
        if let Some(mut child) = nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        drop(nodes);
        self.register();
        Ok(())
    }

    /// Starts node `node` again (stopping it first if it runs) with the same
    /// configuration and data, and waits until it serves clients and is
    /// registered with the cluster again.
    pub fn restart(&self, node: i32) -> Result<(), ClusterError> {
        let (port, log) = {
            let mut nodes = self.lock_nodes();
            let i = self.node_index(&nodes, node)?;
            if let Some(mut child) = nodes[i].child.take() {
                proc::terminate(&mut [&mut child], &[], STOP_GRACE);
            }
            let child = self.spawn_node(&nodes[i])?;
            nodes[i].child = Some(child);
            (nodes[i].port, nodes[i].log.clone())
        };
        self.register();
        // Ask the node itself: the others may still list it until its old
        // session expires.
        let own = metadata_client(&client_config(
            &format!("127.0.0.1:{port}"),
            &self.properties,
        ))?;
        let deadline = Instant::now() + self.start_timeout;
        loop {
            {
                let mut nodes = self.lock_nodes();
                let i = self.node_index(&nodes, node)?;
                if let Some(Ok(Some(status))) = nodes[i].child.as_mut().map(Child::try_wait) {
                    return Err(ClusterError::NodeFailed {
                        node,
                        problem: format!("exited during restart ({status})"),
                        log: log.clone(),
                        tail: tail(&log, TAIL_LINES),
                    });
                }
            }
            let own_ok = own
                .client()
                .fetch_metadata(None, Duration::from_secs(2))
                .map(|md| md.brokers().iter().any(|b| b.id() == node))
                .unwrap_or(false);
            let others_ok = own_ok
                && self
                    .with_meta(|c| fetch_metadata(c, None))
                    .map(|md| md.brokers().iter().any(|b| b.id() == node))
                    .unwrap_or(false);
            if own_ok && others_ok {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ClusterError::NodeFailed {
                    node,
                    problem: format!(
                        "did not rejoin within {} s after a restart",
                        self.start_timeout.as_secs()
                    ),
                    log: log.clone(),
                    tail: tail(&log, TAIL_LINES),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
