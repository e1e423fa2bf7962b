//! Every `unsafe` call of the crate, each behind a safe function whose
//! documentation states what it relies on. The crate root denies
//! `unsafe_code`; this module alone is allowed it, so a reviewer reads the
//! unsafe code here and nowhere else.
//!
//! - [`librdkafka`]: the C client, where `rdkafka` has no safe wrapper for
//!   what the runner needs (a topic handle, message status, the effective
//!   configuration).
//! - [`os`]: libc calls (signals, pipes, file locks, process set-up between
//!   fork and exec, free disk space, the clock tick rate).

pub(crate) mod librdkafka;
pub(crate) mod os;
