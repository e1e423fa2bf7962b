//! Everything that can be checked before any JVM starts or any cell runs.
//!
//! [`check`] takes a few seconds at most and fails with one line naming what
//! is wrong: the output directory (probed by creating and removing a file),
//! every client property (librdkafka validates them when a client is
//! created, without connecting), Java and the Kafka jars (or Maven to fetch
//! them) when a local cluster is needed, the free disk where the brokers will
//! write, and the bootstrap address or a loopback port. Its messages pass
//! through [`crate::redact`].

use std::net::{TcpListener, ToSocketAddrs};
use std::path::{Path, PathBuf};

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::BaseProducer;

use crate::cluster;
use crate::grid::Workload;
use crate::redact;

/// What a command is about to do.
#[derive(Debug, Clone, Default)]
pub struct Preflight<'a> {
    /// Directory the run writes into (created if missing, then probed).
    pub out_dir: Option<&'a Path>,
    /// The workload, validated again here (cheap) when given.
    pub workload: Option<&'a Workload>,
    /// Every `-X` property.
    pub properties: &'a [(String, String)],
    /// `--bootstrap`, when given: checked for shape and that its hosts resolve.
    pub bootstrap: Option<&'a str>,
    /// A local cluster will be started (Java, jars or Maven, ports, disk).
    pub needs_local_cluster: bool,
    /// Where the brokers will write; default: the system temporary directory
    /// (where a private local cluster keeps its data).
    pub data_dir: Option<&'a Path>,
    /// Bytes the brokers will store, replication included; see
    /// [`estimate_broker_bytes`]. Checked against the free disk of `data_dir`
    /// only when a local cluster is needed.
    pub broker_bytes: Option<u64>,
    /// Where the Kafka jars are cached; default [`cluster::cache_dir`].
    pub cache_dir: Option<&'a Path>,
}

/// Why a command cannot start. Each message is one line and names the
/// directory, property or tool concerned.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("cannot write into the output directory {dir}: {reason} (hint: pass --out a directory you can write to)")]
    OutDir { dir: PathBuf, reason: String },
    #[error("invalid client property -X {key}: {message} (hint: -X takes librdkafka properties, see librdkafka's CONFIGURATION.md)")]
    Property { key: String, message: String },
    #[error("the client refuses the -X properties: {message} (hint: -X takes librdkafka properties, see librdkafka's CONFIGURATION.md)")]
    Properties { message: String },
    #[error("invalid workload: {0}")]
    Workload(String),
    #[error("{0}")]
    Cluster(String),
    #[error("not enough free disk for the brokers' data in {dir}: {free} free, the run writes about {needed} (records × bytes × replication factor, with a margin) (hint: free space, or set TMPDIR to a larger disk)")]
    Disk {
        dir: PathBuf,
        free: String,
        needed: String,
    },
    #[error("cannot bind a port on 127.0.0.1 for the local cluster: {0}")]
    Ports(String),
}

/// Margin on the estimate of bytes to write: record overhead, indexes,
/// the warm-up topic, and logs.
pub const DISK_MARGIN: f64 = 1.5;
/// Fixed room kept free besides the estimate (JVM logs, metadata log).
pub const DISK_RESERVE_BYTES: u64 = 256 << 20;

/// Runs every check that applies; the first failure is returned.
pub fn check(p: &Preflight<'_>) -> Result<(), PreflightError> {
    if let Some(w) = p.workload {
        w.validate()
            .map_err(|e| PreflightError::Workload(redact::redact(&e.to_string(), p.properties)))?;
    }
    if let Some(dir) = p.out_dir {
        check_out_dir(dir)?;
    }
    check_properties(p.properties, p.bootstrap)?;
    if let Some(b) = p.bootstrap {
        check_bootstrap_resolves(b)?;
    }
    if p.needs_local_cluster {
        let cache = p
            .cache_dir
            .map(Path::to_path_buf)
            .unwrap_or_else(cluster::cache_dir);
        cluster::check_local_prerequisites(&cache)
            .map_err(|e| PreflightError::Cluster(redact::redact(&e.to_string(), p.properties)))?;
        TcpListener::bind("127.0.0.1:0").map_err(|e| PreflightError::Ports(e.to_string()))?;
        if let Some(bytes) = p.broker_bytes {
            let dir = p
                .data_dir
                .map(Path::to_path_buf)
                .unwrap_or_else(std::env::temp_dir);
            check_disk(&dir, bytes)?;
        }
    }
    Ok(())
}

/// Creates `dir` if needed, creates and removes a probe file in it, then
/// removes whatever directories it created: a failed run leaves nothing.
pub fn check_out_dir(dir: &Path) -> Result<(), PreflightError> {
    let fail = |e: std::io::Error| PreflightError::OutDir {
        dir: dir.to_path_buf(),
        reason: e.to_string(),
    };
    // The outermost directory this check creates, removed afterwards.
    let mut created = None;
    let mut d = Some(dir);
    while let Some(x) = d {
        if x.as_os_str().is_empty() || x.exists() {
            break;
        }
        created = Some(x.to_path_buf());
        d = x.parent();
    }
    let probe = dir.join(format!(".kob-write-probe-{}", std::process::id()));
    let result = std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::write(&probe, b"probe"))
        .and_then(|_| std::fs::remove_file(&probe));
    if let Some(c) = &created {
        let _ = std::fs::remove_dir_all(c);
    }
    result.map_err(fail)
}

/// Each property alone (so the refused one is named), then all together in
/// a producer that is created and dropped without being used.
pub fn check_properties(
    properties: &[(String, String)],
    bootstrap: Option<&str>,
) -> Result<(), PreflightError> {
    for (k, v) in properties {
        let mut one = ClientConfig::new();
        one.set(k, v);
        if let Err(e) = one.create_native_config() {
            return Err(PreflightError::Property {
                key: k.clone(),
                message: config_message(&e, properties),
            });
        }
    }
    // A loopback address nobody serves when none is given: creating the
    // client validates the combination; it is dropped before it matters.
    let cfg = cluster::client_config(bootstrap.unwrap_or("127.0.0.1:1"), properties);
    let created: Result<BaseProducer, KafkaError> = cfg.create();
    created.map(drop).map_err(|e| PreflightError::Properties {
        message: config_message(&e, properties),
    })
}

/// librdkafka's own description, without the value it may echo.
fn config_message(e: &KafkaError, properties: &[(String, String)]) -> String {
    let text = match e {
        // (result, description, key, value): the value is never shown.
        KafkaError::ClientConfig(_, desc, _, _) => desc.clone(),
        other => other.to_string(),
    };
    redact::redact(&text, properties)
}

fn check_bootstrap_resolves(bootstrap: &str) -> Result<(), PreflightError> {
    let b =
        cluster::check_bootstrap(bootstrap).map_err(|e| PreflightError::Cluster(e.to_string()))?;
    for addr in b.split(',') {
        let plain = addr.split_once("://").map_or(addr, |(_, a)| a);
        if plain
            .to_socket_addrs()
            .map_or(true, |mut a| a.next().is_none())
        {
            return Err(PreflightError::Cluster(format!(
                "cannot resolve the bootstrap address {plain} (hint: check --bootstrap / KAFKA_BOOTSTRAP_SERVERS)"
            )));
        }
    }
    Ok(())
}

/// Records the suite writes to warm the cluster up (suite::CLUSTER_WARMUP_RECORDS).
const CLUSTER_WARMUP_RECORDS: u64 = 50_000;

/// Bytes the brokers store for `workload`: every cell's records (warm-up
/// included) times the record size times the replication factor.
pub fn estimate_broker_bytes(workload: &Workload, replication_factor: u32) -> u64 {
    let f = &workload.fixed;
    let record = f.record_bytes as u64 + 70; // header, key, batch overhead
                                             // Every cell's topic lives until the end of the run (rounds interleave).
    let records: u64 = workload
        .cells()
        .iter()
        .map(|c| workload.records_per_cell(c))
        .sum();
    let grid = records
        .saturating_mul(record)
        .saturating_mul(u64::from(replication_factor.max(1)));
    let warmup = CLUSTER_WARMUP_RECORDS
        .saturating_mul(record)
        .saturating_mul(u64::from(replication_factor.max(1)));
    grid.saturating_add(warmup)
}

/// Free bytes for an unprivileged user on the file system holding `dir`
/// (its nearest existing ancestor).
pub fn free_bytes(dir: &Path) -> Option<u64> {
    let mut d = dir.to_path_buf();
    while !d.exists() {
        d = d.parent()?.to_path_buf();
    }
    crate::ffi::os::free_bytes(&d)
}

fn check_disk(dir: &Path, bytes: u64) -> Result<(), PreflightError> {
    let Some(free) = free_bytes(dir) else {
        return Ok(()); // cannot tell: let the brokers try
    };
    let needed = (bytes as f64 * DISK_MARGIN) as u64 + DISK_RESERVE_BYTES;
    if free < needed {
        return Err(PreflightError::Disk {
            dir: dir.to_path_buf(),
            free: human_bytes(free),
            needed: human_bytes(needed),
        });
    }
    Ok(())
}

fn human_bytes(b: u64) -> String {
    const G: f64 = (1u64 << 30) as f64;
    const M: f64 = (1u64 << 20) as f64;
    if b as f64 >= G {
        format!("{:.1} GiB", b as f64 / G)
    } else {
        format!("{:.0} MiB", b as f64 / M)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn unwritable_out_dir_names_the_directory_given_once() {
        let e = check_out_dir(Path::new("/proc/forbidden/run")).unwrap_err();
        let m = e.to_string();
        assert!(
            m.starts_with("cannot write into the output directory /proc/forbidden/run: "),
            "{m}"
        );
        assert_eq!(m.matches("os error").count(), 1, "{m}");
    }

    #[test]
    fn writable_out_dir_is_left_as_found() {
        let t = tempfile::tempdir().unwrap();
        check_out_dir(&t.path().join("a/b")).unwrap();
        assert!(!t.path().join("a").exists());
        check_out_dir(t.path()).unwrap();
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 0);
        // A file where the directory should be.
        std::fs::write(t.path().join("f"), b"").unwrap();
        let e = check_out_dir(&t.path().join("f")).unwrap_err().to_string();
        assert!(e.contains(&t.path().join("f").display().to_string()), "{e}");
    }

    #[test]
    fn misspelled_secret_property_is_named_without_its_value() {
        let p = props(&[("acks", "all"), ("sasl.pasword", "planted-typo-77")]);
        let e = check_properties(&p, None).unwrap_err().to_string();
        assert!(e.contains("-X sasl.pasword"), "{e}");
        assert!(!e.contains("planted-typo-77"), "{e}");
    }

    #[test]
    fn jaas_config_is_refused_without_echo() {
        let p = props(&[(
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="planted-jaas-88";"#,
        )]);
        let e = check_properties(&p, None).unwrap_err().to_string();
        assert!(e.contains("sasl.jaas.config"), "{e}");
        assert!(!e.contains("planted-jaas-88"), "{e}");
    }

    #[test]
    fn bad_value_is_refused_and_good_properties_pass() {
        let p = props(&[("acks", "banana")]);
        let e = check_properties(&p, None).unwrap_err().to_string();
        assert!(e.contains("-X acks"), "{e}");
        let ok = props(&[
            ("security.protocol", "plaintext"),
            ("sasl.password", "never-shown"),
            ("client.id", "x"),
        ]);
        check_properties(&ok, None).unwrap();
    }

    #[test]
    fn disk_check_compares_estimate_with_free_space() {
        let t = tempfile::tempdir().unwrap();
        check_disk(t.path(), 1).unwrap();
        let e = check_disk(t.path(), u64::MAX / 4).unwrap_err().to_string();
        assert!(e.contains("not enough free disk"), "{e}");
        assert!(e.contains(&t.path().display().to_string()), "{e}");
    }

    #[test]
    fn estimate_scales_with_replication() {
        let w = Workload::quick();
        let one = estimate_broker_bytes(&w, 1);
        let three = estimate_broker_bytes(&w, 3);
        assert_eq!(three, one * 3);
        let first = &w.cells()[0];
        assert!(one > w.records_per_cell(first) * w.fixed.record_bytes as u64);
    }

    #[test]
    fn unresolvable_bootstrap_is_named() {
        let e = check_bootstrap_resolves("no-such-host.invalid:9092")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no-such-host.invalid:9092"), "{e}");
        check_bootstrap_resolves("127.0.0.1:9092").unwrap();
    }
}
