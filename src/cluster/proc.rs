//! Child processes of the local cluster: spawning JVMs that cannot outlive
//! their owner, stopping them, and reading their state from `/proc`.
//!
//! A JVM owned by this process is spawned with `PR_SET_PDEATHSIG = SIGKILL`,
//! so even a SIGKILLed test or benchmark leaves no broker behind. The kernel
//! sends that signal when the *thread* that forked the child exits, not the
//! process; every owned JVM is therefore forked by one spawner thread that
//! lives as long as the process, whichever thread asked for the node.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::ffi::os;

struct SpawnRequest {
    cmd: Command,
    reply: mpsc::Sender<io::Result<Child>>,
}

fn spawner() -> &'static Mutex<mpsc::Sender<SpawnRequest>> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        thread::Builder::new()
            .name("kob-jvm-spawner".into())
            .spawn(move || {
                // The sender lives in a static, so this loop never ends and the
                // thread (the JVMs' "parent" for PDEATHSIG) lives with the process.
                for mut req in rx {
                    let _ = req.reply.send(req.cmd.spawn());
                }
            })
            .expect("cannot start the JVM spawner thread");
        Mutex::new(tx)
    })
}

/// Spawns `cmd` so that it is SIGKILLed when this process dies, in its own
/// process group (a terminal's Ctrl-C reaches this process, which stops the
/// cluster in order, rather than every JVM at once).
pub(crate) fn spawn_owned(mut cmd: Command) -> io::Result<Child> {
    os::own_group_and_die_with(&mut cmd, std::process::id());
    let (reply, rx) = mpsc::channel();
    spawner()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send(SpawnRequest { cmd, reply })
        .map_err(|_| io::Error::other("JVM spawner thread is gone"))?;
    rx.recv()
        .map_err(|_| io::Error::other("JVM spawner thread is gone"))?
}

/// Spawns `cmd` in a new session, detached from this process: used by
/// `cluster up`, whose JVMs must outlive the command.
pub(crate) fn spawn_detached(mut cmd: Command) -> io::Result<Child> {
    os::new_session(&mut cmd);
    cmd.spawn()
}

/// Sends `signal` to `pid`; false when no such process exists.
pub(crate) fn signal(pid: u32, signal: libc::c_int) -> bool {
    // A pid past i32::MAX would wrap to a negative pid_t, which addresses a
    // process group (-1: every process the user owns): refuse it.
    i32::try_from(pid).is_ok_and(|pid| os::kill(pid, signal))
}

/// True while `pid` exists and is not a zombie.
pub(crate) fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .map(|state| state != "Z" && state != "X")
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Resident set size of `pid` in bytes, from `/proc/<pid>/status`.
pub(crate) fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// True when `pid` is a process whose command line contains `needle`: the
/// guard against signalling a recycled pid that is no longer our JVM.
pub(crate) fn cmdline_contains(pid: u32, needle: &str) -> bool {
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(raw) => raw
            .split(|b| *b == 0)
            .any(|arg| String::from_utf8_lossy(arg).contains(needle)),
        Err(_) => false,
    }
}

/// Stops processes: SIGTERM to all, up to `grace` for them to exit, then
/// SIGKILL to the rest. Children are reaped; other pids are polled until gone.
pub(crate) fn terminate(children: &mut [&mut Child], others: &[u32], grace: Duration) {
    for c in children.iter() {
        signal(c.id(), libc::SIGTERM);
    }
    for &pid in others {
        signal(pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    let all_gone = |children: &mut [&mut Child]| {
        let mut gone = true;
        for c in children.iter_mut() {
            if matches!(c.try_wait(), Ok(None)) {
                gone = false;
            }
        }
        gone && others.iter().all(|&p| !alive(p))
    };
    while Instant::now() < deadline {
        if all_gone(children) {
            return;
        }
        thread::sleep(Duration::from_millis(50));
    }
    for c in children.iter_mut() {
        if matches!(c.try_wait(), Ok(None)) {
            let _ = c.kill();
        }
        let _ = c.wait();
    }
    for &pid in others {
        signal(pid, libc::SIGKILL);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while others.iter().any(|&p| alive(p)) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
}

/// Finds an executable on `PATH`.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// The last `lines` lines of a log file, or a note saying why there are none.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(raw) => {
            let text = String::from_utf8_lossy(&raw);
            let all: Vec<&str> = text.lines().collect();
            let start = all.len().saturating_sub(lines);
            if all.is_empty() {
                "  (the log is empty)".to_string()
            } else {
                all[start..]
                    .iter()
                    .map(|l| format!("  | {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }
        Err(e) => format!("  (cannot read {}: {e})", path.display()),
    }
}

/// What an interrupt must clean up for one live cluster.
#[derive(Debug, Default, Clone)]
pub(crate) struct Registered {
    pub pids: Vec<u32>,
    /// Directories and files to remove once the processes are gone.
    pub remove: Vec<PathBuf>,
}

fn registry() -> &'static Mutex<BTreeMap<u64, Registered>> {
    static REGISTRY: OnceLock<Mutex<BTreeMap<u64, Registered>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(BTreeMap::new()))
}

/// Records (or replaces) what cluster `id` must clean up on an interrupt.
pub(crate) fn register(id: u64, what: Registered) {
    registry()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id, what);
}

pub(crate) fn unregister(id: u64) {
    registry()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&id);
}

/// A fresh id for [`register`].
pub(crate) fn next_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// SIGKILLs every registered process and removes the registered paths.
/// Returns how many processes were signalled.
pub(crate) fn kill_registered() -> usize {
    let all: Vec<Registered> =
        std::mem::take(&mut *registry().lock().unwrap_or_else(|p| p.into_inner()))
            .into_values()
            .collect();
    let mut n = 0;
    for r in &all {
        for &pid in &r.pids {
            if signal(pid, libc::SIGKILL) {
                n += 1;
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while all.iter().flat_map(|r| &r.pids).any(|&p| alive(p)) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    for r in &all {
        for p in &r.remove {
            if p.is_dir() {
                let _ = std::fs::remove_dir_all(p);
            } else {
                let _ = std::fs::remove_file(p);
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_has_rss() {
        let me = std::process::id();
        assert!(alive(me));
        assert!(rss_bytes(me).unwrap() > 0);
        assert!(!alive(u32::MAX - 1));
    }

    #[test]
    fn owned_child_is_reaped_by_terminate() {
        let mut child = spawn_owned({
            let mut c = Command::new("sleep");
            c.arg("30");
            c
        })
        .unwrap();
        let pid = child.id();
        assert!(alive(pid));
        assert!(cmdline_contains(pid, "30"));
        terminate(&mut [&mut child], &[], Duration::from_secs(2));
        assert!(!alive(pid));
    }

    #[test]
    fn tail_keeps_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        std::fs::write(&p, "a\nb\nc\n").unwrap();
        assert_eq!(tail(&p, 2), "  | b\n  | c");
        assert!(tail(&dir.path().join("missing"), 2).contains("cannot read"));
    }
}
