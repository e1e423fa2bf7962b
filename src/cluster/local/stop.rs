//! Stopping a local cluster: every node in order (explicitly or on Drop),
//! or letting the JVMs of a detached cluster run on without this value.

use std::process::Child;

use crate::cluster::proc;

use super::{DataDir, LocalCluster, STOP_GRACE};

impl LocalCluster {
    /// Stops every node (SIGTERM, up to 3 s, then SIGKILL) and waits for
    /// them. Idempotent; Drop calls it too.
    pub fn stop(&self) {
        self.meta.lock().unwrap_or_else(|p| p.into_inner()).take();
        let mut nodes = self.lock_nodes();
        let mut children: Vec<Child> = nodes.iter_mut().filter_map(|n| n.child.take()).collect();
        drop(nodes);
        let mut refs: Vec<&mut Child> = children.iter_mut().collect();
        proc::terminate(&mut refs, &[], STOP_GRACE);
        proc::unregister(self.registration);
        // Each delay line stops (and joins its thread) as it drops.
        self.lock_replication().clear();
    }

    /// Gives up ownership: the JVMs keep running after this value is gone
    /// (for `cluster up`, whose JVMs were spawned detached).
    pub(crate) fn release(mut self) {
        self.lock_nodes().iter_mut().for_each(|n| {
            n.child.take();
        });
        if let Some(DataDir::Temp(t)) = self.dir.take() {
            let _ = t.keep();
        }
        proc::unregister(self.registration);
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.stop();
        // TempDir removes itself when `self.dir` drops, after the JVMs are gone.
    }
}
