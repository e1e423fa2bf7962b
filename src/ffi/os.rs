//! libc calls: signals, pipes, file locks, process set-up between fork and
//! exec, free disk space, the clock tick rate.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// Free bytes for an unprivileged user on the file system holding `path`,
/// which must exist; `None` when it cannot be told.
pub(crate) fn free_bytes(path: &Path) -> Option<u64> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs into a zeroed struct with a NUL-terminated path.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut s) != 0 {
            return None;
        }
        Some((s.f_bavail as u64).saturating_mul(s.f_frsize as u64))
    }
}

/// Makes the child `cmd` spawns the leader of its own process group, and
/// SIGKILLed when the process `parent` dies (refusing to start when it has
/// died already).
pub(crate) fn own_group_and_die_with(cmd: &mut Command, parent: u32) {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setpgid(0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl: then nobody
            // would ever send the signal.
            if libc::getppid() as u32 != parent {
                return Err(io::Error::other("parent exited before the JVM started"));
            }
            Ok(())
        });
    }
}

/// Makes the child `cmd` spawns the leader of a new session, detached from
/// this process's terminal and group.
pub(crate) fn new_session(cmd: &mut Command) {
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Sends `signal` to the one process `pid`; false when it cannot (no such
/// process, or `pid` is not positive: 0 and negative pids address process
/// groups or every process, and are refused).
pub(crate) fn kill(pid: libc::pid_t, signal: libc::c_int) -> bool {
    // SAFETY: kill(2) with a concrete, positive pid.
    pid > 0 && unsafe { libc::kill(pid, signal) } == 0
}

/// Takes an exclusive lock on `file`, waiting for it; released when the file
/// is closed.
pub(crate) fn lock_exclusive(file: &File) -> io::Result<()> {
    // SAFETY: flock on a descriptor `file` owns.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A pipe: (read end, write end).
pub(crate) fn pipe() -> io::Result<(libc::c_int, libc::c_int)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe(2) into a two-element array.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((fds[0], fds[1]))
}

/// Writes one byte to `fd`, ignoring failure. Async-signal-safe.
pub(crate) fn write_byte(fd: libc::c_int, b: u8) {
    // SAFETY: writing one byte from a valid stack buffer.
    unsafe {
        libc::write(fd, &b as *const u8 as *const libc::c_void, 1);
    }
}

/// Reads one byte from `fd`: `Ok(Some(b))`, `Ok(None)` at end of file, or
/// the error (`Interrupted` included).
pub(crate) fn read_byte(fd: libc::c_int) -> io::Result<Option<u8>> {
    let mut b = 0u8;
    // SAFETY: reading one byte into a valid buffer.
    let n = unsafe { libc::read(fd, &mut b as *mut u8 as *mut libc::c_void, 1) };
    match n {
        n if n < 0 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        _ => Ok(Some(b)),
    }
}

/// Installs `handler` for `signal`, with SA_RESTART, replacing any earlier
/// handler. `handler` must do only async-signal-safe work.
pub(crate) fn set_handler(signal: libc::c_int, handler: extern "C" fn(libc::c_int)) {
    // SAFETY: a zeroed sigaction with a plain handler and SA_RESTART.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(signal, &sa, std::ptr::null_mut());
    }
}

/// Clock ticks per second, the unit of CPU times in `/proc/<pid>/stat`
/// (`sysconf(_SC_CLK_TCK)`); `None` if the system does not say.
pub(crate) fn clock_ticks_per_second() -> Option<u64> {
    // SAFETY: sysconf reads a constant of the system; no pointers.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(hz).ok().filter(|&hz| hz > 0)
}
