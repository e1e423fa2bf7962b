//! The emulated network between brokers: one delay line per broker in front
//! of its REPLICATION listener, started before the brokers, and the link
//! they all apply.

use std::net::SocketAddr;
use std::sync::MutexGuard;

use crate::cluster::ClusterError;
use crate::netem::{Link, TcpDelay};

use super::LocalCluster;

/// Starts one delay line (no delay yet) in front of each REPLICATION
/// listener port in `listener_ports`, in node order.
pub(super) fn start_delay_lines(listener_ports: &[u16]) -> Result<Vec<TcpDelay>, ClusterError> {
    listener_ports
        .iter()
        .map(|port| {
            let target = SocketAddr::from(([127, 0, 0, 1], *port));
            TcpDelay::start(target, Link::default()).map_err(|e| ClusterError::Io {
                action: "start the replication delay line for",
                path: target.to_string().into(),
                cause: std::io::Error::other(e.to_string()),
            })
        })
        .collect()
}

/// The ports the delay lines listen on: what each broker advertises for
/// replication.
pub(super) fn delay_line_ports(lines: &[TcpDelay]) -> Vec<u16> {
    lines.iter().map(|l| l.addr().port()).collect()
}

impl LocalCluster {
    /// Sets the link of every broker↔broker replication delay line at once
    /// (new chunks on open connections too). Returns false, changing
    /// nothing, when the cluster was started without
    /// [`LocalOptions::emulate_replication`](super::LocalOptions::emulate_replication).
    pub fn set_replication_link(&self, link: Link) -> bool {
        let lines = self.lock_replication();
        for line in lines.iter() {
            line.set_link(link);
        }
        !lines.is_empty()
    }

    /// The replication link in force; None without emulated replication.
    pub fn replication_link(&self) -> Option<Link> {
        let lines = self.lock_replication();
        lines.first().map(TcpDelay::link)
    }

    /// The delay lines by node index; empty without emulated replication.
    pub(super) fn lock_replication(&self) -> MutexGuard<'_, Vec<TcpDelay>> {
        self.replication.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_delay_line_per_listener_each_on_its_own_port() {
        // Nothing connects, so the targets need not listen.
        let lines = start_delay_lines(&[1, 2, 3]).unwrap();
        let mut ports = delay_line_ports(&lines);
        assert_eq!(ports.len(), 3);
        assert!(lines.iter().all(|l| l.link() == Link::default()));
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 3);
    }
}
