//! Ctrl-C, SIGTERM and SIGHUP: the one signal handler of a process.
//!
//! A front end (the CLI, the Criterion bench) calls [`install`] once. The
//! first signal only records itself: long operations poll [`requested`]
//! (the suite between and inside cells, the local cluster while it starts)
//! and stop within a few seconds, keeping what is finished. A second signal
//! runs the front end's action, which stops at once: it kills every local
//! broker of this process (`cluster::kill_all_local`, a front end's call:
//! this module knows no cluster) and exits with the first signal's code.
//!
//! Library code never installs a handler and never exits; it only asks
//! [`requested`].

use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::OnceLock;

use crate::ffi::os;

/// A stop request, by the signal that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C): exit status 130.
    Interrupt,
    /// SIGTERM (e.g. `kill`, a CI timeout): exit status 143.
    Terminate,
    /// SIGHUP (the terminal went away): exit status 129.
    Hangup,
}

impl Signal {
    fn from_raw(sig: i32) -> Option<Signal> {
        match sig {
            libc::SIGINT => Some(Signal::Interrupt),
            libc::SIGTERM => Some(Signal::Terminate),
            libc::SIGHUP => Some(Signal::Hangup),
            _ => None,
        }
    }

    /// The conventional exit status: 128 + the signal number.
    pub fn exit_code(self) -> i32 {
        match self {
            Signal::Interrupt => crate::exit::INTERRUPTED,
            Signal::Terminate => crate::exit::TERMINATED,
            Signal::Hangup => crate::exit::HANGUP,
        }
    }

    /// One word for messages: "interrupted", "terminated", "hung up".
    pub fn word(self) -> &'static str {
        match self {
            Signal::Interrupt => "interrupted",
            Signal::Terminate => "terminated",
            Signal::Hangup => "hung up",
        }
    }

    /// What the user is told when a second signal has stopped `nodes`
    /// local Kafka nodes at once.
    pub fn stopped_notice(self, nodes: usize) -> String {
        match nodes {
            0 => self.word().to_string(),
            n => format!("{}: stopped {n} Kafka node(s)", self.word()),
        }
    }

    /// What the user is told when the first signal arrives.
    pub fn first_notice(self) -> &'static str {
        match self {
            Signal::Interrupt => {
                "interrupted: stopping after saving finished cells (Ctrl-C again to quit now)"
            }
            Signal::Terminate => {
                "terminated (SIGTERM): stopping after saving finished cells (a second SIGTERM stops at once)"
            }
            Signal::Hangup => "hung up (SIGHUP): stopping after saving finished cells",
        }
    }
}

/// The first signal received (0: none yet).
static FIRST: AtomicI32 = AtomicI32::new(0);
/// Signals received so far.
static COUNT: AtomicU32 = AtomicU32::new(0);
/// Write end of the self-pipe the handler thread reads.
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    // Only async-signal-safe work here: atomics and write(2).
    let _ = FIRST.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    COUNT.fetch_add(1, Ordering::SeqCst);
    let fd = PIPE_WRITE.load(Ordering::SeqCst);
    if fd >= 0 {
        os::write_byte(fd, sig as u8);
    }
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP; `on_second` runs
/// (on the handler's thread) when a second signal arrives, with the first
/// one; a front end exits there. Idempotent: the first call's action is
/// kept. It replaces any earlier handler of these signals.
pub fn install(on_second: fn(Signal)) {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let Ok((read_fd, write_fd)) = os::pipe() else {
            return;
        };
        PIPE_WRITE.store(write_fd, Ordering::SeqCst);
        let _ = std::thread::Builder::new()
            .name("kob-signals".into())
            .spawn(move || watch(read_fd, on_second));
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            os::set_handler(sig, on_signal);
        }
    });
}

/// The handler thread: prints the notice of the first signal, and runs
/// `on_second` on every later one.
fn watch(read_fd: libc::c_int, on_second: fn(Signal)) {
    let mut seen = 0u32;
    loop {
        match os::read_byte(read_fd) {
            Ok(Some(_)) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) | Ok(None) => return,
        }
        seen += 1;
        let Some(first) = requested() else { continue };
        if seen == 1 {
            eprintln!("\n{}", first.first_notice());
        } else {
            on_second(first);
        }
    }
}

/// The first stop request received, if any. Cheap: poll it in loops.
pub fn requested() -> Option<Signal> {
    Signal::from_raw(FIRST.load(Ordering::SeqCst))
}

/// How many signals arrived (a second one stops the process by itself).
pub fn count() -> u32 {
    COUNT.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_words() {
        assert_eq!(Signal::Interrupt.exit_code(), 130);
        assert_eq!(Signal::Terminate.exit_code(), 143);
        assert_eq!(Signal::Hangup.exit_code(), 129);
        assert_eq!(Signal::from_raw(libc::SIGTERM), Some(Signal::Terminate));
        assert_eq!(Signal::Interrupt.stopped_notice(0), "interrupted");
        assert_eq!(
            Signal::Terminate.stopped_notice(3),
            "terminated: stopped 3 Kafka node(s)"
        );
        assert_eq!(Signal::from_raw(0), None);
        assert!(Signal::Terminate.first_notice().contains("SIGTERM"));
        assert!(!Signal::Terminate.first_notice().contains("Ctrl-C"));
    }
}
