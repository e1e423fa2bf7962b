//! The detached local cluster of `kafka-order-bench cluster up|status|down`.
//!
//! `up` starts a [`LocalCluster`] whose JVMs live in their own session, keeps
//! its data in `<cache>/local-cluster/`, and records pids, ports and paths in
//! `<cache>/local-cluster/cluster.json` so that later commands find it:
//! `status` reports each node, `down` stops them and removes the directory,
//! and [`running_local_bootstrap`] gives other commands its address when no
//! `--bootstrap` is given. The state file is written before the cluster is
//! ready, so even an interrupted `up` can be cleaned up by `down`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::dist::cache_dir;
use super::local::{LocalCluster, LocalOptions, NodeStatus};
use super::proc;
use super::{Cluster, ClusterError, ExternalCluster};

/// Version of [`ClusterState`]'s layout.
pub const STATE_FORMAT: u32 = 1;

/// What `cluster up` records about the cluster it left running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterState {
    /// Always [`STATE_FORMAT`].
    pub format: u32,
    /// `bootstrap.servers` of the cluster.
    pub bootstrap: String,
    /// Broker release, e.g. `4.1.1`.
    pub broker_version: Option<String>,
    /// Directory with each node's config, data and log; removed by `down`.
    pub data_dir: PathBuf,
    /// False until the cluster passed its readiness check.
    pub ready: bool,
    /// When `up` started it, in seconds since the Unix epoch.
    pub started_unix_s: u64,
    pub nodes: Vec<NodeState>,
}

/// One node of a detached cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    pub id: i32,
    pub pid: u32,
    pub port: u16,
    pub controller_port: u16,
    pub config: PathBuf,
    pub log: PathBuf,
}

impl NodeState {
    /// True while its JVM runs: the pid exists and still runs this node's
    /// config (a recycled pid is not mistaken for it).
    pub fn alive(&self) -> bool {
        proc::alive(self.pid) && proc::cmdline_contains(self.pid, &self.config.to_string_lossy())
    }
}

/// `<cache>/local-cluster`: the detached cluster's data directory.
pub fn cluster_dir(cache: &Path) -> PathBuf {
    cache.join("local-cluster")
}

/// `<cache>/local-cluster/cluster.json`.
pub fn state_path(cache: &Path) -> PathBuf {
    cluster_dir(cache).join("cluster.json")
}

/// Reads the state file; Ok(None) when there is none.
pub fn read_state(cache: &Path) -> Result<Option<ClusterState>, ClusterError> {
    let path = state_path(cache);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ClusterError::Io {
                action: "read",
                path,
                cause: source,
            })
        }
    };
    let state: ClusterState = serde_json::from_str(&text).map_err(|e| ClusterError::BadState {
        path: path.clone(),
        message: e.to_string(),
    })?;
    if state.format != STATE_FORMAT {
        return Err(ClusterError::BadState {
            path,
            message: format!("format {} (this build reads {STATE_FORMAT})", state.format),
        });
    }
    Ok(Some(state))
}

fn write_state(cache: &Path, state: &ClusterState) -> Result<(), ClusterError> {
    let path = state_path(cache);
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(state).expect("state serializes");
    std::fs::write(&tmp, text + "\n")
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|source| ClusterError::Io {
            action: "write",
            path,
            cause: source,
        })
}

/// The bootstrap address of the running detached cluster in the default
/// cache (`$KOB_CACHE_DIR` or `~/.cache/kafka-order-bench`), if one runs.
pub fn running_local_bootstrap() -> Result<Option<String>, ClusterError> {
    running_local_bootstrap_in(&cache_dir())
}

/// [`running_local_bootstrap`] for an explicit cache directory.
pub fn running_local_bootstrap_in(cache: &Path) -> Result<Option<String>, ClusterError> {
    Ok(read_state(cache)?
        .filter(|s| s.ready && s.nodes.iter().any(NodeState::alive))
        .map(|s| s.bootstrap))
}

/// Connects to the running detached cluster (kind `"local"`), if one runs.
pub fn connect_running_local(
    properties: &[(String, String)],
    timeout: Duration,
) -> Result<Option<ExternalCluster>, ClusterError> {
    let running =
        read_state(&cache_dir())?.filter(|s| s.ready && s.nodes.iter().any(NodeState::alive));
    match running {
        Some(state) => ExternalCluster::connect_as(
            &state.bootstrap,
            properties,
            timeout,
            crate::results::ClusterKind::Local,
        )
        .map(|c| Some(c.with_broker_version(state.broker_version))),
        None => Ok(None),
    }
}

/// The running detached cluster's state when `bootstrap` names its brokers
/// (any non-empty subset of its addresses, `localhost` read as 127.0.0.1):
/// a run through `--bootstrap` at the `cluster up` cluster is a run on the
/// local cluster.
pub fn running_local_for(bootstrap: &str) -> Option<ClusterState> {
    let state = read_state(&cache_dir())
        .ok()
        .flatten()
        .filter(|s| s.ready && s.nodes.iter().any(NodeState::alive))?;
    let norm = |list: &str| -> std::collections::BTreeSet<String> {
        list.split(',')
            .map(|a| {
                let a = a.trim();
                let a = a.split_once("://").map_or(a, |(_, x)| x);
                a.replace("localhost:", "127.0.0.1:")
            })
            .filter(|a| !a.is_empty())
            .collect()
    };
    let ours = norm(&state.bootstrap);
    let given = norm(bootstrap);
    (!given.is_empty() && given.is_subset(&ours)).then_some(state)
}

/// What [`up`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpOutcome {
    Started(ClusterState),
    /// A cluster of the requested size was already running; nothing changed.
    AlreadyRunning(ClusterState),
}

impl UpOutcome {
    pub fn state(&self) -> &ClusterState {
        match self {
            UpOutcome::Started(s) | UpOutcome::AlreadyRunning(s) => s,
        }
    }
}

/// Starts a detached cluster and returns once it is ready. `opts.detached`
/// and `opts.data_dir` are set here.
pub fn up(mut opts: LocalOptions) -> Result<UpOutcome, ClusterError> {
    let cache = opts.cache_dir.clone().unwrap_or_else(cache_dir);
    let _lock = lock(&cache)?;
    if let Some(state) = read_state(&cache)? {
        if state.nodes.iter().any(NodeState::alive) {
            let running = state.nodes.len() as u32;
            if running != opts.brokers {
                return Err(ClusterError::AlreadyRunning {
                    bootstrap: state.bootstrap,
                    running,
                    wanted: opts.brokers,
                });
            }
            return Ok(UpOutcome::AlreadyRunning(state));
        }
        // Left behind by a cluster that died (e.g. a reboot): start afresh.
    }
    let dir = cluster_dir(&cache);
    opts.cache_dir = Some(cache.clone());
    opts.data_dir = Some(dir.clone());
    opts.detached = true;
    let started = (|| {
        let cluster = LocalCluster::launch(opts)?;
        let mut state = ClusterState {
            format: STATE_FORMAT,
            bootstrap: cluster.bootstrap(),
            broker_version: cluster.broker_version(),
            data_dir: dir.clone(),
            ready: false,
            started_unix_s: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            nodes: cluster
                .status()
                .into_iter()
                .map(|n| NodeState {
                    id: n.id,
                    pid: n.pid.unwrap_or(0),
                    port: n.port,
                    controller_port: n.controller_port,
                    config: n.config,
                    log: n.log,
                })
                .collect(),
        };
        write_state(&cache, &state)?;
        cluster.wait_ready()?;
        state.ready = true;
        write_state(&cache, &state)?;
        cluster.release();
        Ok(state)
    })();
    match started {
        Ok(state) => Ok(UpOutcome::Started(state)),
        Err(e) => {
            // The cluster was dropped (its JVMs stopped); its data goes too,
            // unless the error is about a node whose log the user should read.
            if !matches!(
                e,
                ClusterError::NodeFailed { .. } | ClusterError::NotReady { .. }
            ) {
                let _ = std::fs::remove_dir_all(&dir);
            } else {
                let _ = std::fs::remove_file(state_path(&cache));
            }
            Err(e)
        }
    }
}

/// The detached cluster and the current state of each of its nodes.
pub fn status(cache: &Path) -> Result<Option<(ClusterState, Vec<NodeStatus>)>, ClusterError> {
    let Some(state) = read_state(cache)? else {
        return Ok(None);
    };
    let nodes = state
        .nodes
        .iter()
        .map(|n| {
            let alive = n.alive();
            NodeStatus {
                id: n.id,
                pid: Some(n.pid).filter(|_| alive),
                port: n.port,
                controller_port: n.controller_port,
                replication_port: None,
                alive,
                rss_bytes: if alive { proc::rss_bytes(n.pid) } else { None },
                log: n.log.clone(),
                config: n.config.clone(),
            }
        })
        .collect();
    Ok(Some((state, nodes)))
}

/// What [`down`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownReport {
    /// (node id, pid) of every JVM that was still running and was stopped.
    pub stopped: Vec<(i32, u32)>,
    /// The data directory that was removed.
    pub removed: PathBuf,
}

/// Stops every node of the detached cluster (SIGTERM, a short grace, then
/// SIGKILL) and removes its data. Ok(None) when there is no cluster.
pub fn down(cache: &Path) -> Result<Option<DownReport>, ClusterError> {
    let _lock = lock(cache)?;
    let dir = cluster_dir(cache);
    let state = match read_state(cache) {
        Ok(s) => s,
        // An unreadable state file: nothing to stop that we could identify.
        Err(ClusterError::BadState { .. }) => None,
        Err(e) => return Err(e),
    };
    let Some(state) = state else {
        if dir.exists() {
            remove_dir(&dir)?;
            return Ok(Some(DownReport {
                stopped: Vec::new(),
                removed: dir,
            }));
        }
        return Ok(None);
    };
    let stopped: Vec<(i32, u32)> = state
        .nodes
        .iter()
        .filter(|n| n.alive())
        .map(|n| (n.id, n.pid))
        .collect();
    let pids: Vec<u32> = stopped.iter().map(|&(_, p)| p).collect();
    proc::terminate(&mut [], &pids, Duration::from_secs(3));
    if let Some(n) = state.nodes.iter().find(|n| n.alive()) {
        return Err(ClusterError::NodeFailed {
            node: n.id,
            problem: format!("(pid {}) did not stop", n.pid),
            log: n.log.clone(),
            tail: proc::tail(&n.log, 5),
        });
    }
    // Remove the recorded directory only if it is the one this cache owns.
    let removed = if state.data_dir == dir {
        dir
    } else {
        cluster_dir(cache)
    };
    remove_dir(&removed)?;
    Ok(Some(DownReport { stopped, removed }))
}

fn remove_dir(dir: &Path) -> Result<(), ClusterError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ClusterError::Io {
            action: "remove",
            path: dir.to_path_buf(),
            cause: source,
        }),
    }
}

/// An exclusive lock on `<cache>/cluster.lock`, so two `up`/`down` never interleave.
struct Lock(#[allow(dead_code)] File);

fn lock(cache: &Path) -> Result<Lock, ClusterError> {
    std::fs::create_dir_all(cache).map_err(|source| ClusterError::Io {
        action: "create",
        path: cache.to_path_buf(),
        cause: source,
    })?;
    let path = cache.join("cluster.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| ClusterError::Io {
            action: "open",
            path: path.clone(),
            cause: source,
        })?;
    if let Err(source) = crate::ffi::os::lock_exclusive(&file) {
        return Err(ClusterError::Io {
            action: "lock",
            path,
            cause: source,
        });
    }
    Ok(Lock(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) -> ClusterState {
        ClusterState {
            format: STATE_FORMAT,
            bootstrap: "127.0.0.1:1".into(),
            broker_version: Some("4.1.1".into()),
            data_dir: dir.join("local-cluster"),
            ready: true,
            started_unix_s: 1,
            nodes: vec![NodeState {
                id: 1,
                pid: u32::MAX - 1,
                port: 1,
                controller_port: 2,
                config: dir.join("x"),
                log: dir.join("y"),
            }],
        }
    }

    #[test]
    fn state_round_trips_and_dead_clusters_have_no_bootstrap() {
        let cache = tempfile::tempdir().unwrap();
        assert_eq!(read_state(cache.path()).unwrap(), None);
        assert_eq!(running_local_bootstrap_in(cache.path()).unwrap(), None);
        std::fs::create_dir_all(cluster_dir(cache.path())).unwrap();
        let s = sample(cache.path());
        write_state(cache.path(), &s).unwrap();
        assert_eq!(read_state(cache.path()).unwrap(), Some(s));
        // Its only pid does not exist.
        assert_eq!(running_local_bootstrap_in(cache.path()).unwrap(), None);
        let report = down(cache.path()).unwrap().unwrap();
        assert!(report.stopped.is_empty());
        assert!(!cluster_dir(cache.path()).exists());
        assert_eq!(down(cache.path()).unwrap(), None);
    }

    #[test]
    fn a_garbled_state_file_is_named() {
        let cache = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(cluster_dir(cache.path())).unwrap();
        std::fs::write(state_path(cache.path()), "{").unwrap();
        let e = read_state(cache.path()).unwrap_err().to_string();
        assert!(
            e.contains("cluster.json") && e.contains("cluster down"),
            "{e}"
        );
        assert!(down(cache.path()).unwrap().is_some());
    }
}
