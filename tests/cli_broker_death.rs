//! A broker SIGKILLed from outside in the middle of `kafka-order-bench run`
//! (not by a fault profile), through the binary, on the real local cluster
//! started with `cluster up`: the run goes on, the cells measured while the
//! broker was down are flagged in `results.json` with the broker named and
//! the span it was down, stderr names the broker, and the exit status is 3.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kafka_order_bench::cluster::{self, daemon};
use kafka_order_bench::exit;

const BIN: &str = env!("CARGO_BIN_EXE_kafka-order-bench");

fn kob(cache: &Path, home: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env("KOB_CACHE_DIR", cache)
        .env("KAFKA_HOME", home)
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .env_remove("CI");
    c
}

/// Stops the test's cluster however the test ends.
struct Down<'a>(&'a Path, &'a Path);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = kob(self.0, self.1).args(["cluster", "down"]).output();
    }
}

const WORKLOAD: &str = r#"
seed = 7
faults = ["none"]
[axes]
max_in_flight = [1, 5]
acks = ["all"]
idempotence = [false]
[network]
rtt_ms = [0.0]
[fixed]
rounds = 3
windows = 3
window_ms = 400
min_records_per_window = 500
max_records_per_window = 3000
warmup_records = 500
latency_ms = 0
"#;

#[test]
fn a_broker_killed_mid_run_is_named_its_cells_flagged_and_the_exit_is_3() {
    let dist = cluster::resolve_kafka(None, &cluster::cache_dir()).expect("Kafka jars");
    let home = dist.libs.parent().unwrap().to_path_buf();
    let cache = tempfile::tempdir().unwrap();
    let _down = Down(cache.path(), &home);
    let up = kob(cache.path(), &home)
        .args(["cluster", "up"])
        .output()
        .unwrap();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let state = daemon::read_state(cache.path())
        .unwrap()
        .expect("state file");
    // Not the node that answers metadata first: any of the three will do,
    // the point is a broker dying under the run.
    let victim = state.nodes.iter().find(|n| n.id == 2).unwrap().clone();

    let dir = tempfile::tempdir().unwrap();
    let workload = dir.path().join("w.toml");
    std::fs::write(&workload, WORKLOAD).unwrap();
    let out = dir.path().join("out");
    let mut run = kob(cache.path(), &home)
        .args(["run", "--workload"])
        .arg(&workload)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(run.stderr.take().unwrap());
    let started = Instant::now();
    let mut lines = Vec::new();
    let mut killed = false;
    for line in stderr.lines() {
        let line = line.unwrap();
        // Into the second round: the cells have run once on a whole cluster.
        if !killed && line.starts_with("round 2/") {
            std::thread::sleep(Duration::from_millis(300));
            let pid = i32::try_from(victim.pid).unwrap();
            assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
            killed = true;
        }
        lines.push(line);
    }
    let status = run.wait().unwrap();
    let stdout = std::io::read_to_string(run.stdout.take().unwrap()).unwrap();
    let err = lines.join("\n");
    eprintln!("{err}\n{stdout}\n(run took {:.0?})", started.elapsed());
    assert!(killed, "the run never reached round 2: {err}");
    assert_eq!(status.code(), Some(exit::DEGRADED_OR_FAILED), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let named = format!("broker {} (127.0.0.1:{}) ", victim.id, victim.port);
    assert!(
        err.contains(&named),
        "stderr does not name {named:?}: {err}"
    );

    let results = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path().join("results.json"))
        .find(|p| p.exists())
        .expect("results.json written");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results).unwrap()).unwrap();
    let cells = json["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2, "both cells recorded");
    for cell in cells {
        let id = cell["id"].as_str().unwrap();
        let outcome = &cell["outcome"];
        if outcome["status"] == "measured" {
            let m = outcome;
            // Every cell ran in rounds 2 and 3, after the kill.
            let degraded = m["conditions"]["degraded"].as_array().unwrap();
            assert!(!degraded.is_empty(), "{id} not flagged: {m}");
            assert!(
                degraded.iter().any(|d| d["broker"] == victim.id),
                "{id}: {degraded:?}"
            );
        } else {
            let message = outcome.to_string();
            assert!(
                message.contains(&named),
                "{id} failed without naming the broker: {message}"
            );
        }
    }
}
