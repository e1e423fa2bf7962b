//! A node's storage before its JVM starts: the data directory (kept or
//! temporary, with its owner) and `kafka-storage format`.

use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::cluster::dist::{Java, KafkaDist};
use crate::cluster::proc::{self, tail};
use crate::cluster::{check_interrupt, ClusterError};

use super::jvm::{kafka_command, log4j_flag};
use super::{Node, TAIL_LINES};

/// Where a cluster's nodes keep their data and logs.
pub(super) enum DataDir {
    /// A fresh temporary directory, removed when the cluster is dropped.
    Temp(TempDir),
    /// The directory [`LocalOptions::data_dir`](super::LocalOptions::data_dir)
    /// names, kept on stop.
    Kept(PathBuf),
}

impl DataDir {
    pub(super) fn path(&self) -> &Path {
        match self {
            DataDir::Temp(t) => t.path(),
            DataDir::Kept(p) => p,
        }
    }
}

/// In a temporary data directory: the pid of the process that made it.
const OWNER_FILE: &str = "owner.pid";

/// `kept` emptied (or created), else a new temporary directory recording
/// its owner (after removing those whose owner is gone).
pub(super) fn make_data_dir(kept: Option<&Path>) -> Result<DataDir, ClusterError> {
    if let Some(dir) = kept {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|source| ClusterError::Io {
                action: "empty",
                path: dir.to_path_buf(),
                cause: source,
            })?;
        }
        std::fs::create_dir_all(dir).map_err(|source| ClusterError::Io {
            action: "create",
            path: dir.to_path_buf(),
            cause: source,
        })?;
        return Ok(DataDir::Kept(dir.to_path_buf()));
    }
    sweep_stale_temp_dirs();
    let tmp = tempfile::Builder::new()
        .prefix("kob-cluster-")
        .tempdir()
        .map_err(|source| ClusterError::Io {
            action: "create a temporary directory in",
            path: std::env::temp_dir(),
            cause: source,
        })?;
    let owner = tmp.path().join(OWNER_FILE);
    std::fs::write(&owner, std::process::id().to_string()).map_err(|source| ClusterError::Io {
        action: "write",
        path: owner,
        cause: source,
    })?;
    Ok(DataDir::Temp(tmp))
}

/// Removes temporary cluster directories whose owner process is gone (it was
/// SIGKILLed: its JVMs died with it, but nobody removed their data).
fn sweep_stale_temp_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let named = e.file_name().to_string_lossy().starts_with("kob-cluster-");
        if !named {
            continue;
        }
        let owner = std::fs::read_to_string(path.join(OWNER_FILE))
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok());
        if let Some(pid) = owner {
            if !proc::alive(pid) {
                let _ = std::fs::remove_dir_all(&path);
            }
        }
    }
}

/// Formats every node's storage with Kafka's StorageTool, in parallel.
pub(super) fn format_storage(
    java: &Java,
    dist: &KafkaDist,
    nodes: &[Node],
    timeout: Duration,
) -> Result<(), ClusterError> {
    let cluster_id = random_cluster_id();
    let mut running = Vec::new();
    for node in nodes {
        running.push(spawn_formatter(java, dist, node, &cluster_id)?);
    }
    let failure = first_format_failure(&mut running, timeout);
    for formatter in running.iter_mut() {
        let _ = formatter.child.kill();
        let _ = formatter.child.wait();
    }
    failure.map_or(Ok(()), Err)
}

/// A running `StorageTool format` of one node.
struct Formatter {
    node: i32,
    /// Its output, `format.log` in the node's directory.
    log: PathBuf,
    child: Child,
}

/// Starts formatting the storage of `node` as part of cluster `cluster_id`.
fn spawn_formatter(
    java: &Java,
    dist: &KafkaDist,
    node: &Node,
    cluster_id: &str,
) -> Result<Formatter, ClusterError> {
    let node_dir = node.config.parent().unwrap_or(Path::new("."));
    let log = node_dir.join("format.log");
    let file = File::create(&log).map_err(|source| ClusterError::Io {
        action: "create",
        path: log.clone(),
        cause: source,
    })?;
    // A short-lived tool: a small heap and the quick JIT tier start it fastest.
    let jvm_flags = [
        "-Xmx128m".into(),
        "-XX:+UseSerialGC".into(),
        "-XX:TieredStopAtLevel=1".into(),
        log4j_flag(node_dir),
    ];
    let main = [
        OsStr::new("kafka.tools.StorageTool"),
        OsStr::new("format"),
        OsStr::new("--ignore-formatted"),
        OsStr::new("--cluster-id"),
        OsStr::new(cluster_id),
        OsStr::new("--config"),
        node.config.as_os_str(),
    ];
    let cmd = kafka_command(java, dist, node_dir, &jvm_flags, &main, &log, file)?;
    let child = proc::spawn_owned(cmd).map_err(|source| ClusterError::Io {
        action: "run the storage formatter for",
        path: node.config.clone(),
        cause: source,
    })?;
    Ok(Formatter {
        node: node.id,
        log,
        child,
    })
}

/// Waits, in node order, for each formatter to exit; returns the first
/// that failed or was still running after `timeout`, or the interrupt
/// that came first. None: every node's storage is formatted.
fn first_format_failure(running: &mut [Formatter], timeout: Duration) -> Option<ClusterError> {
    let deadline = Instant::now() + timeout;
    for formatter in running.iter_mut() {
        let status = loop {
            if let Err(interrupted) = check_interrupt() {
                return Some(interrupted);
            }
            match formatter.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => break None,
            }
        };
        let problem = match status {
            Some(s) if s.success() => continue,
            Some(s) => format!("could not format its storage ({s})"),
            None => format!(
                "could not format its storage within {} s",
                timeout.as_secs()
            ),
        };
        return Some(ClusterError::NodeFailed {
            node: formatter.node,
            problem,
            log: formatter.log.clone(),
            tail: tail(&formatter.log, TAIL_LINES),
        });
    }
    None
}

/// A KRaft cluster id: 16 random bytes in unpadded URL-safe base64, as
/// `kafka-storage random-uuid` prints (never starting with '-').
fn random_cluster_id() -> String {
    use base64::Engine;
    use rand::RngCore;
    loop {
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        if !id.starts_with('-') {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_ids_look_like_kafka_uuids() {
        for _ in 0..100 {
            let id = random_cluster_id();
            assert_eq!(id.len(), 22);
            assert!(!id.starts_with('-'));
        }
    }
}
