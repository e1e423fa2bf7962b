//! Signals during a local cluster's start-up, on the real cluster: the run
//! stops within seconds with 130 (Ctrl-C) or 143 (SIGTERM), its own wording,
//! and leaves no JVM and no data directory behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kafka-order-bench");

/// The Kafka jars the suite fetched into the default cache.
fn kafka_home() -> PathBuf {
    let cache = std::env::var_os("KOB_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/kafka-order-bench")
        });
    kafka_order_bench::cluster::resolve_kafka(None, &cache)
        .expect("Kafka jars (fetched with mvn on first use)")
        .libs
        .parent()
        .unwrap()
        .to_path_buf()
}

fn cluster_dirs(tmp: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("kob-cluster-")
        })
        .collect()
}

/// Pids of processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) {
            if String::from_utf8_lossy(&raw).contains(needle) {
                out.push(pid);
            }
        }
    }
    out
}

fn signal_during_start(signal: i32, code: i32, wording: &str) {
    let root = tempfile::tempdir().unwrap();
    let (cache, tmp) = (root.path().join("cache"), root.path().join("tmp"));
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    let child = Command::new(BIN)
        .args(["run", "--quick", "--no-report", "--out"])
        .arg(root.path().join("out"))
        .env("KOB_CACHE_DIR", &cache)
        .env("KAFKA_HOME", kafka_home())
        .env("TMPDIR", &tmp)
        .env("CI", "1")
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the cluster's data directory exists and the JVMs run.
    let deadline = Instant::now() + Duration::from_secs(60);
    let dir = loop {
        if let Some(d) = cluster_dirs(&tmp).pop() {
            // A broker JVM (not the storage formatter) runs.
            let brokers = processes_mentioning(&d.to_string_lossy())
                .into_iter()
                .filter(|pid| {
                    std::fs::read(format!("/proc/{pid}/cmdline"))
                        .map(|c| String::from_utf8_lossy(&c).contains("kafka.Kafka"))
                        .unwrap_or(false)
                })
                .count();
            if brokers == 3 {
                break d;
            }
        }
        assert!(Instant::now() < deadline, "no JVM started");
        std::thread::sleep(Duration::from_millis(100));
    };
    std::thread::sleep(Duration::from_secs(1));
    // SAFETY: signalling our own child by pid.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    let sent = Instant::now();
    let out = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}");
    // A few seconds on a loaded 2-core machine: the JVMs get SIGTERM and a grace.
    assert!(took < Duration::from_secs(15), "took {took:?}: {err}");
    assert!(err.contains(wording), "{err}");
    assert!(!err.contains("warming up"), "{err}");
    assert!(
        processes_mentioning(&dir.to_string_lossy()).is_empty(),
        "JVM left behind"
    );
    assert!(
        !dir.exists(),
        "data directory {} left behind",
        dir.display()
    );
    assert!(
        !root.path().join("out").exists()
            || std::fs::read_dir(root.path().join("out"))
                .unwrap()
                .next()
                .is_none()
    );
}

#[test]
fn ctrl_c_during_cluster_start_exits_130_quickly_and_cleanly() {
    signal_during_start(
        libc::SIGINT,
        130,
        "interrupted while the local cluster was starting",
    );
}

#[test]
fn sigterm_during_cluster_start_exits_143_with_its_own_wording() {
    signal_during_start(
        libc::SIGTERM,
        143,
        "terminated while the local cluster was starting",
    );
}
