//! The failures of issue 13, each reproduced through the binary and checked
//! against the new behaviour. No cluster: each probe fails before one starts.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kafka-order-bench");

/// A command with a private cache and temporary directory, so anything a
/// cluster start would create (jars, data directories) is visible.
struct Sandbox {
    _root: tempfile::TempDir,
    cache: PathBuf,
    tmp: PathBuf,
    work: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let root = tempfile::tempdir().unwrap();
        let cache = root.path().join("cache");
        let tmp = root.path().join("tmp");
        let work = root.path().join("work");
        for d in [&cache, &tmp, &work] {
            std::fs::create_dir_all(d).unwrap();
        }
        Sandbox {
            _root: root,
            cache,
            tmp,
            work,
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .current_dir(&self.work)
            .env("KOB_CACHE_DIR", &self.cache)
            .env("TMPDIR", &self.tmp)
            .env_remove("KAFKA_BOOTSTRAP_SERVERS")
            .env_remove("KAFKA_HOME")
            .env("CI", "1");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Every byte under the sandbox's directories, as text.
    fn all_files_text(&self) -> String {
        let mut out = String::new();
        for d in [&self.cache, &self.tmp, &self.work] {
            collect(d, &mut out);
        }
        out
    }

    fn is_empty(dir: &Path) -> bool {
        std::fs::read_dir(dir).unwrap().next().is_none()
    }
}

fn collect(dir: &Path, out: &mut String) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        out.push_str(&p.display().to_string());
        out.push('\n');
        if p.is_dir() {
            collect(&p, out);
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn run_to_an_unwritable_out_fails_in_seconds_before_any_jvm() {
    let s = Sandbox::new();
    let start = Instant::now();
    let o = s.run(&["run", "--quick", "--out", "/proc/forbidden"]);
    let took = start.elapsed();
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let err = stderr(&o);
    assert!(
        err.starts_with("Error: cannot write into the output directory /proc/forbidden: "),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(err.matches("os error").count(), 1, "{err}");
    // No jar fetched, no cluster directory made, nothing printed about a start.
    assert!(Sandbox::is_empty(&s.cache), "{}", s.all_files_text());
    assert!(Sandbox::is_empty(&s.tmp), "{}", s.all_files_text());
    assert!(!err.contains("starting a local"), "{err}");
}

#[test]
fn planted_secrets_reach_no_output() {
    let s = Sandbox::new();
    let secrets = [
        "PLANTED-JAAS-7f3a",
        "PLANTED-TYPO-91c2",
        "PLANTED-PW-44de",
        "PLANTED-KEYPW-0b17",
    ];
    let jaas = format!(
        "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"{}\";",
        secrets[0]
    );
    let typo = format!("sasl.pasword={}", secrets[1]);
    let pw = format!("sasl.password={}", secrets[2]);
    let oauth = format!("ssl.key.password={}", secrets[3]);
    let out = s.work.join("out");
    let out = out.to_str().unwrap();
    let mut probes: Vec<Vec<String>> = Vec::new();
    // Every front end, each bad property alone and beside valid secrets.
    for bad in [&jaas, &typo] {
        for front in [
            vec!["run", "--quick", "--out", out],
            vec!["run", "--quick", "--out", out, "--bootstrap", "127.0.0.1:1"],
            vec!["verify", "--topic", "kob-x", "--bootstrap", "127.0.0.1:1"],
            vec!["cluster", "up"],
            vec!["cluster", "status", "--bootstrap", "127.0.0.1:1"],
        ] {
            let mut a: Vec<String> = front.iter().map(|x| x.to_string()).collect();
            for p in [&pw, &oauth, bad] {
                a.push("-X".into());
                a.push(p.clone());
            }
            probes.push(a);
        }
    }
    // Valid secrets only, to an unreachable cluster: the connect error path.
    for front in [
        vec!["run", "--quick", "--out", out, "--bootstrap", "127.0.0.1:1"],
        vec!["verify", "--topic", "kob-x", "--bootstrap", "127.0.0.1:1"],
    ] {
        let mut a: Vec<String> = front.iter().map(|x| x.to_string()).collect();
        for p in [
            &pw,
            &oauth,
            "security.protocol=SASL_PLAINTEXT",
            "sasl.mechanism=PLAIN",
        ] {
            a.push("-X".into());
            a.push(p.to_string());
        }
        probes.push(a);
    }
    for args in &probes {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = s.cmd(&args).env("KOB_X", &pw).output().unwrap();
        assert_ne!(code(&o), 0, "{args:?} succeeded");
        let text = format!("{}{}", stdout(&o), stderr(&o));
        for secret in secrets {
            assert!(!text.contains(secret), "{args:?} printed {secret}: {text}");
        }
        assert!(text.contains("Error: "), "{args:?}: {text}");
        // The refused key is named.
        if args.iter().any(|a| a.starts_with("sasl.pasword")) {
            assert!(text.contains("sasl.pasword"), "{args:?}: {text}");
        }
    }
    let files = s.all_files_text();
    for secret in secrets {
        assert!(!files.contains(secret), "a file holds {secret}");
    }
}

#[test]
fn verify_prints_the_client_error_once() {
    let s = Sandbox::new();
    let o = s.run(&[
        "verify",
        "--topic",
        "kob-x",
        "--bootstrap",
        "127.0.0.1:1",
        "-X",
        "no.such.property=1",
    ]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert_eq!(
        err.matches("No such configuration property").count(),
        1,
        "{err}"
    );
}

#[test]
fn empty_fault_part_is_named() {
    let s = Sandbox::new();
    for p in ["reject:1%+", "+reject:1%", "reject:1%++lose-ack:1%"] {
        let o = s.run(&["run", "--quick", "--faults", p]);
        assert_eq!(code(&o), 2);
        let err = stderr(&o);
        assert!(err.contains("empty fault part"), "{p}: {err}");
        assert!(!err.contains("unknown fault \"\""), "{p}: {err}");
    }
}

#[test]
fn report_to_an_unwritable_out_names_the_directory_given() {
    let s = Sandbox::new();
    let results = common::mixed_file();
    let o = s.run(&[
        "report",
        results.to_str().unwrap(),
        "--out",
        "/proc/forbidden",
    ]);
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with("Error: cannot write report into /proc/forbidden: "),
        "{err}"
    );
    assert_eq!(err.matches("os error").count(), 1, "{err}");
}

#[test]
fn a_missing_input_prints_its_os_error_once() {
    let s = Sandbox::new();
    let base = common::mixed_file();
    let o = s.run(&["compare", "/no/such/base.json", base.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(err.contains("/no/such/base.json"), "{err}");
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
}

#[test]
fn run_with_a_bad_property_starts_nothing() {
    let s = Sandbox::new();
    let start = Instant::now();
    let o = s.run(&["run", "--quick", "-X", "acks=banana"]);
    assert_eq!(code(&o), 2);
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(stderr(&o).contains("-X acks"), "{}", stderr(&o));
    assert!(Sandbox::is_empty(&s.cache));
    assert!(Sandbox::is_empty(&s.tmp));
    assert!(!s.work.join("reports").exists());
}

#[test]
fn bad_lasting_faults_exit_2_before_any_cell_runs() {
    let s = Sandbox::new();
    for (profile, want) in [
        (
            "refuse-window:3/cell:-5ms",
            "span \"-5ms\" must be a whole number of milliseconds such as 300ms",
        ),
        (
            "leader-move:x/cell:100ms",
            "event count \"x/cell\" is not a whole number",
        ),
        (
            "isr-shrink:3/cell:200ms",
            "unknown fault kind \"isr-shrink\"",
        ),
        (
            // --quick: 2 rounds × 2 windows × 250 ms.
            "refuse-window:20/cell:200ms",
            "Error: invalid workload: fault profile refuse-window:20/cell:200ms: 4000 ms of \
             lasting faults per cell do not fit in a cell's timed run of 1000 ms",
        ),
    ] {
        let o = s.run(&["run", "--quick", "--faults", profile]);
        assert_eq!(code(&o), 2, "{profile}");
        let err = stderr(&o);
        assert!(err.contains(want), "{profile}: {err}");
        assert!(
            !err.contains("cluster"),
            "{profile}: nothing started: {err}"
        );
    }
}
