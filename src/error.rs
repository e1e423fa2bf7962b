//! The crate's error convention, and the one printer of an error's causes.
//!
//! Below the front ends every error is a typed enum (`thiserror`) with
//! named fields; `anyhow` is only in the CLI. A cause is printed by exactly
//! one level:
//!
//! - a level whose message quotes its cause (most often to put a hint
//!   after it: `cannot read x.json: No such file … (hint: …)`) keeps it in a
//!   field named `cause`, which is not a [`source`](std::error::Error::source);
//! - a level that does not quote it exposes it as its source (`#[source]`,
//!   `#[from]`, or `#[error(transparent)]` for a wrapper that adds nothing).
//!
//! [`chain`] then prints every level once, `: `-separated: what a user reads
//! on the terminal and what a failed cell's `message` holds in
//! `results.json`. `tests/error_convention.rs` checks that no message
//! quotes its own source.

/// An error and its causes, each level once, `: `-separated.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !text.is_empty() {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::chain;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("reading the results")]
        Read { source: Inner },
    }

    #[derive(Debug, thiserror::Error)]
    enum Inner {
        #[error("cannot read x.json: {cause} (hint: pass a results.json)")]
        Io { cause: std::io::Error },
    }

    #[test]
    fn every_level_once() {
        let e = Outer::Read {
            source: Inner::Io {
                cause: std::io::Error::from_raw_os_error(2),
            },
        };
        let s = chain(&e);
        assert!(
            s.starts_with("reading the results: cannot read x.json: "),
            "{s}"
        );
        assert_eq!(s.matches("os error 2").count(), 1, "{s}");
    }
}
