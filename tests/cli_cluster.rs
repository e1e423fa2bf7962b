//! `kafka-order-bench cluster up|status|down` through the binary, and the
//! bad inputs that must end in a one-line error with a hint (never a panic).
//!
//! Every run uses its own `KOB_CACHE_DIR`, so a cluster a user started with
//! `cluster up` is never touched; the Kafka jars come from the shared cache
//! through `KAFKA_HOME`, so they are fetched at most once.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use kafka_order_bench::cluster::{self, daemon, Cluster, ExternalCluster};

const BIN: &str = env!("CARGO_BIN_EXE_kafka-order-bench");

/// A command with a clean environment: no inherited cluster settings.
fn kob(cache: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env("KOB_CACHE_DIR", cache)
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .env_remove("KAFKA_HOME")
        .env_remove("CI");
    c
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit code 2, and stderr's first line says `needle`, with no panic.
fn assert_error(o: &Output, needle: &str) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let first = err.lines().next().unwrap_or("");
    assert!(
        first.contains(needle),
        "expected {needle:?} in the first line of: {err}"
    );
    first.to_string()
}

/// An empty directory to use as PATH: no java, no mvn.
fn empty_path() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// `JAVA_HOME` of the java on PATH (the tests need one to get past the check).
fn java_home() -> PathBuf {
    let java = cluster::find_java()
        .expect("these tests need Java 17+")
        .path;
    let real = std::fs::canonicalize(java).unwrap();
    real.parent().unwrap().parent().unwrap().to_path_buf()
}

/// Jars in the shared cache (fetched with mvn the first time), as a KAFKA_HOME.
fn shared_kafka_home() -> PathBuf {
    let dist = cluster::resolve_kafka(None, &cluster::cache_dir()).expect("Kafka jars");
    dist.libs.parent().unwrap().to_path_buf()
}

#[test]
fn java_missing_is_one_line_with_a_hint() {
    let cache = tempfile::tempdir().unwrap();
    let path = empty_path();
    let o = kob(cache.path())
        .env("PATH", path.path())
        .env_remove("JAVA_HOME")
        .args(["cluster", "up"])
        .output()
        .unwrap();
    let line = assert_error(&o, "`java` not found");
    assert!(line.contains("hint: install a Java 17+"), "{line}");
    assert_eq!(stderr(&o).trim_end().lines().count(), 1);
    assert!(stdout(&o).is_empty());
}

#[test]
fn maven_missing_is_one_line_with_a_hint() {
    let cache = tempfile::tempdir().unwrap();
    let path = empty_path();
    let o = kob(cache.path())
        .env("PATH", path.path())
        .env("JAVA_HOME", java_home())
        .args(["cluster", "up"])
        .output()
        .unwrap();
    let line = assert_error(&o, "`mvn` not found");
    assert!(line.contains("KAFKA_HOME"), "{line}");
    assert_eq!(stderr(&o).trim_end().lines().count(), 1);
}

#[test]
fn bad_kafka_home_is_named() {
    let cache = tempfile::tempdir().unwrap();
    let o = kob(cache.path())
        .env("KAFKA_HOME", cache.path())
        .args(["cluster", "up"])
        .output()
        .unwrap();
    assert_error(&o, "is not an unpacked Kafka distribution");
}

#[test]
fn zero_brokers_is_refused() {
    let cache = tempfile::tempdir().unwrap();
    let o = kob(cache.path())
        .args(["cluster", "up", "--brokers", "0"])
        .output()
        .unwrap();
    assert_error(&o, "0 is not in 1..=9");
}

#[test]
fn malformed_property_is_refused() {
    let cache = tempfile::tempdir().unwrap();
    let o = kob(cache.path())
        .args([
            "cluster",
            "status",
            "--bootstrap",
            "127.0.0.1:1",
            "-X",
            "acks",
        ])
        .output()
        .unwrap();
    assert_error(&o, "expected KEY=VALUE");
    let o = kob(cache.path())
        .args([
            "cluster",
            "status",
            "--bootstrap",
            "127.0.0.1:1",
            "-X",
            "no.such.property=1",
        ])
        .output()
        .unwrap();
    assert_error(&o, "no.such.property");
}

#[test]
fn unreachable_bootstrap_fails_in_bounded_time_naming_it() {
    let cache = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let o = kob(cache.path())
        .args(["cluster", "status", "--bootstrap", "127.0.0.1:1"])
        .output()
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
    let line = assert_error(&o, "cannot reach Kafka at 127.0.0.1:1");
    assert!(line.contains("hint:"), "{line}");
    let o = kob(cache.path())
        .args(["cluster", "status", "--bootstrap", "no-port-here"])
        .output()
        .unwrap();
    assert_error(&o, "invalid bootstrap address \"no-port-here\"");
}

#[test]
fn status_and_down_without_a_cluster() {
    let cache = tempfile::tempdir().unwrap();
    let o = kob(cache.path())
        .args(["cluster", "status"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("no local cluster is running"));
    let o = kob(cache.path())
        .args(["cluster", "down"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(stdout(&o).contains("no local cluster is running"));
}

/// Runs `cluster down` when dropped, so a failing test leaves no JVM behind.
struct Down<'a>(&'a Path);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = kob(self.0).args(["cluster", "down"]).output();
    }
}

/// True while `pid` runs (a zombie awaiting its reaper does not count).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !matches!(
                s.rsplit_once(')')
                    .and_then(|(_, r)| r.trim_start().chars().next()),
                Some('Z' | 'X')
            )
        })
        .unwrap_or(false)
}

#[test]
fn up_status_down() {
    let home = shared_kafka_home();
    let cache = tempfile::tempdir().unwrap();
    let _guard = Down(cache.path());
    let up = || {
        kob(cache.path())
            .env("KAFKA_HOME", &home)
            .args(["cluster", "up"])
            .output()
            .unwrap()
    };

    let started = Instant::now();
    let o = up();
    assert!(
        o.status.success(),
        "up failed: {}{}",
        stdout(&o),
        stderr(&o)
    );
    eprintln!("cluster up took {:.1?}", started.elapsed());
    let out = stdout(&o);
    let last = out.lines().last().unwrap();
    let bootstrap = last
        .strip_prefix("bootstrap.servers=")
        .expect("last line is bootstrap.servers=…");
    assert_eq!(bootstrap.split(',').count(), 3);
    assert!(bootstrap.split(',').all(|a| a.starts_with("127.0.0.1:")));

    // The state file names the running nodes; other commands find the cluster through it.
    let state = daemon::read_state(cache.path())
        .unwrap()
        .expect("state file");
    assert!(state.ready);
    assert_eq!(state.bootstrap, bootstrap);
    assert_eq!(state.broker_version.as_deref(), Some("4.1.1"));
    let pids: Vec<u32> = state.nodes.iter().map(|n| n.pid).collect();
    assert!(pids.iter().all(|&p| running(p)), "{pids:?}");
    assert_eq!(
        daemon::running_local_bootstrap_in(cache.path())
            .unwrap()
            .as_deref(),
        Some(bootstrap)
    );
    let c = ExternalCluster::connect(bootstrap, &[], Duration::from_secs(30)).unwrap();
    assert_eq!(c.brokers(), 3);

    // A second `up` changes nothing and says so; a different size is refused.
    let o = up();
    assert!(o.status.success());
    assert!(stderr(&o).contains("already running"), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().last(), Some(last));
    let o = kob(cache.path())
        .env("KAFKA_HOME", &home)
        .args(["cluster", "up", "--brokers", "2"])
        .output()
        .unwrap();
    assert_error(&o, "already running");

    // A workload that emulates replication links cannot run on it: its
    // nodes have none, and the run would measure another network than it
    // records. Refused before any work, naming the way out.
    let o = kob(cache.path())
        .args(["run", "--quick", "--rtt", "2", "--out"])
        .arg(cache.path().join("never"))
        .output()
        .unwrap();
    assert_error(
        &o,
        "has no replication links, and this workload emulates them",
    );
    assert!(stderr(&o).contains("cluster down"), "{}", stderr(&o));
    assert!(!cache.path().join("never").exists());

    let o = kob(cache.path())
        .args(["cluster", "status"])
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert!(out.contains("3 of 3 nodes running"), "{out}");
    assert!(out.contains("brokers registered: 3 of 3"), "{out}");
    assert_eq!(out.matches(" running ").count(), 3, "{out}");
    assert_eq!(out.lines().last(), Some(last));

    let o = kob(cache.path())
        .args(["cluster", "down"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("stopped 3 node(s)"), "{}", stdout(&o));
    for pid in &pids {
        assert!(!running(*pid), "pid {pid} still runs after down");
    }
    assert!(!daemon::cluster_dir(cache.path()).exists());
    let o = kob(cache.path())
        .args(["cluster", "status"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
}
