//! The JVMs of a node: the `java` command line every Kafka main class runs
//! with (the broker, the storage formatter), and spawning the broker.

use std::ffi::OsStr;
use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::cluster::dist::{Java, KafkaDist};
use crate::cluster::proc;
use crate::cluster::ClusterError;

use super::{LocalCluster, Node};

/// Kafka's own JVM defaults (bin/kafka-run-class.sh).
const BROKER_JVM_FLAGS: [&str; 6] = [
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:MaxInlineLevel=15",
    "-Djava.awt.headless=true",
];

/// The flag pointing log4j at the `log4j2.properties` in `node_dir`.
pub(super) fn log4j_flag(node_dir: &Path) -> String {
    format!(
        "-Dlog4j2.configurationFile={}",
        node_dir.join("log4j2.properties").display()
    )
}

/// `java <jvm_flags> -cp <Kafka's jars> <main>`, run in `node_dir` with no
/// stdin, its stdout and stderr both going to `log_file` (opened from `log`).
pub(super) fn kafka_command(
    java: &Java,
    dist: &KafkaDist,
    node_dir: &Path,
    jvm_flags: &[String],
    main: &[&OsStr],
    log: &Path,
    log_file: File,
) -> Result<Command, ClusterError> {
    let err = log_file.try_clone().map_err(|source| ClusterError::Io {
        action: "open",
        path: log.to_path_buf(),
        cause: source,
    })?;
    let mut cmd = Command::new(&java.path);
    cmd.args(jvm_flags)
        .arg("-cp")
        .arg(dist.libs.join("*"))
        .args(main)
        .current_dir(node_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log_file))
        .stderr(Stdio::from(err));
    Ok(cmd)
}

impl LocalCluster {
    /// Starts the broker JVM of `node`, appending to its `server.log`: owned
    /// (it dies with this process), or detached for `cluster up`.
    pub(super) fn spawn_node(&self, node: &Node) -> Result<Child, ClusterError> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(&node.log)
            .map_err(|source| ClusterError::Io {
                action: "open",
                path: node.log.clone(),
                cause: source,
            })?;
        let node_dir = node.config.parent().unwrap_or(Path::new("."));
        let mut jvm_flags = vec![
            format!("-Xmx{}m", self.heap_mb),
            format!("-Xms{}m", (self.heap_mb / 4).max(64)),
        ];
        jvm_flags.extend(BROKER_JVM_FLAGS.map(String::from));
        jvm_flags.push(log4j_flag(node_dir));
        jvm_flags.push(format!("-Dkob.node.id={}", node.id));
        let main = [OsStr::new("kafka.Kafka"), node.config.as_os_str()];
        let cmd = kafka_command(
            &self.java, &self.dist, node_dir, &jvm_flags, &main, &node.log, log,
        )?;
        let spawned = if self.detached {
            proc::spawn_detached(cmd)
        } else {
            proc::spawn_owned(cmd)
        };
        spawned.map_err(|source| ClusterError::Io {
            action: "start the JVM of node",
            path: node.config.clone(),
            cause: source,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn kafka_command_puts_the_jars_between_jvm_flags_and_main_class() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        let java = Java {
            path: "/j/bin/java".into(),
            major: 17,
        };
        let dist = KafkaDist {
            libs: "/k/libs".into(),
            version: "4.1.1".into(),
        };
        let flags = ["-Xmx1m".to_string(), log4j_flag(Path::new("/n"))];
        let main = [
            OsStr::new("kafka.Kafka"),
            OsStr::new("/n/server.properties"),
        ];
        let file = File::create(&log).unwrap();
        let cmd = kafka_command(&java, &dist, Path::new("/n"), &flags, &main, &log, file).unwrap();
        assert_eq!(cmd.get_program(), "/j/bin/java");
        let args: Vec<_> = cmd.get_args().collect();
        assert_eq!(
            args,
            [
                "-Xmx1m",
                "-Dlog4j2.configurationFile=/n/log4j2.properties",
                "-cp",
                "/k/libs/*",
                "kafka.Kafka",
                "/n/server.properties"
            ]
        );
        assert_eq!(cmd.get_current_dir(), Some(PathBuf::from("/n").as_path()));
    }
}
