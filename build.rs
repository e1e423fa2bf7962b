//! Records what the results must say about this build: the git revision and
//! the version of the `rdkafka` crate actually locked.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if let Some(rev) = git(&["rev-parse", "--short=12", "HEAD"]) {
        let dirty =
            git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
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
