//! What the proxy does to one Produce request it faults, and the error codes
//! it answers with.

use std::fmt;

use super::profile::FaultName;

/// NOT_ENOUGH_REPLICAS: retriable, and librdkafka marks the batch *not
/// persisted*, which is the truth for a request the proxy never forwarded.
pub const NOT_ENOUGH_REPLICAS: i16 = 19;

/// NOT_ENOUGH_REPLICAS_AFTER_APPEND: retriable, and librdkafka marks the batch
/// *possibly persisted*, which is the truth for a request the broker appended.
/// (REQUEST_TIMED_OUT, 7, is handled the same way by librdkafka; 20 is chosen
/// because it says what happened.)
pub const NOT_ENOUGH_REPLICAS_AFTER_APPEND: i16 = 20;

/// REQUEST_TIMED_OUT: retriable; the broker waited for its replicas past
/// the request's timeout after appending, so the records may be in the
/// log (librdkafka marks the batch *possibly persisted*). What
/// `timeout-after-append` answers.
pub const REQUEST_TIMED_OUT: i16 = 7;

/// NOT_LEADER_OR_FOLLOWER: retriable, and the client refreshes its
/// metadata before retrying. What `leader-move` answers.
pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;

/// What `lose-ack` does to the broker's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoseAckMode {
    /// Replace the answer with this retriable error code on every partition.
    Error(i16),
    /// Drop the answer and close the connection (client and broker sides).
    DropAndReset,
}

impl Default for LoseAckMode {
    fn default() -> Self {
        LoseAckMode::Error(NOT_ENOUGH_REPLICAS_AFTER_APPEND)
    }
}

/// One fault to apply to one Produce request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultAction {
    /// Answer with `error_code` on every partition without forwarding.
    Reject { error_code: i16 },
    /// Forward, then lose the broker's answer as `mode` says.
    LoseAck { mode: LoseAckMode },
    /// Hold the request for `ms` milliseconds, then forward it: a *stalled
    /// request*, which holds the requests behind it on its connection too.
    /// Network latency is [`Link`](crate::netem::Link), which does not.
    Delay { ms: u32 },
    /// Close the connection (both sides) instead of forwarding.
    Reset,
    /// Open a refusal window: this request and every Produce request for
    /// the next `ms` milliseconds are answered `error_code` without being
    /// forwarded.
    RefuseWindow { ms: u32, error_code: i16 },
    /// Forward, hold the broker's answer `ms` milliseconds (the
    /// connection's later requests wait behind it), then answer
    /// `error_code` (REQUEST_TIMED_OUT) instead.
    TimeoutAfterAppend { ms: u32, error_code: i16 },
    /// Move the partition's leader: every Produce request for `ms`
    /// milliseconds is answered NOT_LEADER_OR_FOLLOWER, and Metadata names
    /// the other proxy node as leader from then on.
    LeaderMove { ms: u32 },
}

impl FaultAction {
    /// The kind's name as counted in exposure: `reject`, `lose-ack`, `delay`
    /// or `reset`.
    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The fault kind this action injects.
    pub fn kind(&self) -> FaultName {
        match self {
            FaultAction::Reject { .. } => FaultName::Reject,
            FaultAction::LoseAck { .. } => FaultName::LoseAck,
            FaultAction::Delay { .. } => FaultName::Delay,
            FaultAction::Reset => FaultName::Reset,
            FaultAction::RefuseWindow { .. } => FaultName::RefuseWindow,
            FaultAction::TimeoutAfterAppend { .. } => FaultName::TimeoutAfterAppend,
            FaultAction::LeaderMove { .. } => FaultName::LeaderMove,
        }
    }
}

impl fmt::Display for FaultAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultAction::Reject { error_code } => write!(f, "reject(error {error_code})"),
            FaultAction::LoseAck {
                mode: LoseAckMode::Error(code),
            } => write!(f, "lose-ack(error {code})"),
            FaultAction::LoseAck {
                mode: LoseAckMode::DropAndReset,
            } => f.write_str("lose-ack(drop and reset)"),
            FaultAction::Delay { ms } => write!(f, "delay({ms}ms)"),
            FaultAction::Reset => f.write_str("reset"),
            FaultAction::RefuseWindow { ms, error_code } => {
                write!(f, "refuse-window({ms}ms, error {error_code})")
            }
            FaultAction::TimeoutAfterAppend { ms, error_code } => {
                write!(f, "timeout-after-append({ms}ms, error {error_code})")
            }
            FaultAction::LeaderMove { ms } => write!(f, "leader-move({ms}ms)"),
        }
    }
}
