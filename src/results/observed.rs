//! What the suite observed around a cell's numbers, recorded with them:
//! brokers that were down while the cell ran, and the leader failovers it
//! injected. Defined here, with the rest of the schema, so a change to the
//! code that observes them cannot change the file format unseen.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::faults::{FaultEvent, FaultName, RecordSpan};

/// A broker as messages name it: `broker 2 (127.0.0.1:9092)`, or
/// `broker 2` when its address is not known.
pub fn broker_name(id: i32, address: Option<&String>) -> String {
    match address {
        Some(a) => format!("broker {id} ({a})"),
        None => format!("broker {id}"),
    }
}

/// A stretch of time during which a broker was down, relative to
/// the start of the health watch ([`crate::cluster::health::Watch`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Degradation {
    pub broker: i32,
    /// `host:port`, when known.
    pub address: Option<String>,
    /// First sample that saw it down, ms after the watch started.
    pub from_ms: u64,
    /// First sample that saw it up again (or the watch's end), ms.
    pub to_ms: u64,
}

impl fmt::Display for Degradation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} was down from {:.1} s to {:.1} s",
            broker_name(self.broker, self.address.as_ref()),
            self.from_ms as f64 / 1000.0,
            self.to_ms as f64 / 1000.0
        )
    }
}

/// What one leader kill did ([`crate::path::failover`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailoverOutcome {
    /// The node killed.
    pub node: i32,
    /// Records sent (the session's counter) at the kill.
    pub sent_at_kill: u64,
    /// Milliseconds from the kill until the partition had another leader;
    /// `None` if it had none within the patience.
    pub new_leader_ms: Option<u64>,
    /// Milliseconds from the kill until the acknowledged counter moved
    /// again (the producer resumed); `None` if it did not.
    pub resumed_ms: Option<u64>,
    /// Milliseconds waited before the kill for a full ISR.
    pub in_sync_wait_ms: u64,
    /// Sent-record counts the failover covers: from the count
    /// [`WINDOW_LOOKBACK`](crate::path::failover::WINDOW_LOOKBACK) before the kill to the count when the producer
    /// resumed (or the restart, if it never did).
    pub window_first_sent: u64,
    pub window_last_sent: u64,
    /// Milliseconds since the controller started, at the kill.
    pub at_ms: u64,
}

impl FailoverOutcome {
    /// The failover as a fault event touching its window on every stream:
    /// sent-record counts are spread round robin over `streams` streams
    /// (stream `s` gets sequences `count / streams`, rounded out by one), so
    /// the window is given per stream.
    pub fn event(&self, id: u64, streams: u32) -> FaultEvent {
        let streams = streams.max(1);
        let n = u64::from(streams);
        let records = (0..streams)
            .map(|stream| RecordSpan {
                stream,
                first_seq: (self.window_first_sent / n).saturating_sub(1),
                last_seq: self.window_last_sent / n + 1,
            })
            .collect();
        FaultEvent {
            id,
            kind: FaultName::Failover.as_str().into(),
            request_index: None,
            at_ms: self.at_ms,
            records,
            span_ms: None,
            requests: 0,
        }
    }
}
