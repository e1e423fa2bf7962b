//! Records what the results must say about this build: the git revision and
//! the version of the `rdkafka` crate actually locked.

use std::path::Path;
use std::process::Command;

/// What the binary and the Java driver are built from.
const SOURCES: &[&str] = &[
    "Cargo.toml",
    "build.rs",
    "src",
    "benches",
    "drivers/java/pom.xml",
    "drivers/java/src",
];

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    // The revision moves with HEAD: a commit, checkout or reset appends to
    // .git/logs/HEAD. "-dirty" says the code that was built differs from
    // it, so it is judged on the sources of the binary and the Java driver
    // only, and recomputed when they change. (Not .git/index: every
    // `git add` would relink every test binary.)
    for watched in [".git/HEAD", ".git/logs/HEAD"].iter().chain(SOURCES) {
        if Path::new(watched).exists() {
            println!("cargo:rerun-if-changed={watched}");
        }
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if let Some(rev) = git(&["rev-parse", "--short=12", "HEAD"]) {
        let mut status = vec!["status", "--porcelain", "--untracked-files=no", "--"];
        status.extend(SOURCES);
        let dirty = git(&status).is_some_and(|s| !s.is_empty());
        let suffix = if dirty { "-dirty" } else { "" };
        println!("cargo:rustc-env=KOB_GIT_REVISION={rev}{suffix}");
    }
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"rdkafka\"" {
            if let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = ")) {
                println!(
                    "cargo:rustc-env=KOB_RDKAFKA_CRATE_VERSION={}",
                    v.trim_matches('"')
                );
            }
            break;
        }
    }
}
