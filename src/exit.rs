//! The exit statuses of every front end, in one place (the README lists them).

/// Everything ran and nothing regressed.
pub const OK: i32 = 0;
/// `compare`: a cell regressed; `verify`: the topic holds ordering violations.
pub const REGRESSION: i32 = 1;
/// Bad input: a flag, workload, property, file or cluster address refused
/// before any work, or runs that `compare` cannot compare. Also any error.
pub const BAD_INPUT: i32 = 2;
/// `run`: the run finished, but a cell failed or was measured while the
/// cluster was degraded (a broker down, partitions under-replicated) or the
/// machine was loaded beyond its cores by something else.
pub const DEGRADED_OR_FAILED: i32 = 3;
/// SIGHUP (128 + 1).
pub const HANGUP: i32 = 129;
/// Ctrl-C / SIGINT (128 + 2).
pub const INTERRUPTED: i32 = 130;
/// SIGTERM (128 + 15).
pub const TERMINATED: i32 = 143;

/// `(code, meaning)`: the exit codes `--help` lists ([`help_text`]).
pub const TABLE: &[(i32, &str)] = &[
    (
        OK,
        "success: everything ran, nothing regressed, no violation (verify)",
    ),
    (
        REGRESSION,
        "compare: a cell regressed; verify: ordering violations found",
    ),
    (
        BAD_INPUT,
        "bad input or an error; nothing (more) was measured",
    ),
    (
        DEGRADED_OR_FAILED,
        "run: a cell failed or was measured on a degraded cluster or an overloaded machine",
    ),
    (HANGUP, "stopped by SIGHUP"),
    (
        INTERRUPTED,
        "stopped by Ctrl-C (SIGINT); finished cells are kept",
    ),
    (TERMINATED, "stopped by SIGTERM; finished cells are kept"),
];

/// The exit codes as `--help` prints them under the commands.
pub fn help_text() -> String {
    let mut s = String::from("Exit codes:\n");
    for (code, meaning) in TABLE {
        s.push_str(&format!("  {code:>3}  {meaning}\n"));
    }
    s
}
