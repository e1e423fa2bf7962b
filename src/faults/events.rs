//! Fault events: every fault injected, with the records it touched.
//!
//! A cell's violations come in bursts, one per fault (a refused batch of 15
//! records reorders together), so the faults, not the records, are the
//! trials. The proxy and the failover controller record each fault they
//! inject as a [`FaultEvent`]; the checker ([`crate::verify::Checker::with_events`])
//! attributes every reorder, log duplicate and loss inside an event's
//! [`RecordSpan`]s to that event, and the per-event bound
//! ([`crate::stats::upper_bound_per_event`]) is taken over events.
//!
//! A span is a run of consecutive sequence numbers of one stream, read from
//! the stamped values of a Produce request's record batches (see
//! [`crate::faults::frame::record_spans`]). A compressed batch is not opened:
//! its event carries no span for it, and anomalies in it count as
//! unattributed.

use serde::{Deserialize, Serialize};

/// Consecutive sequence numbers `first_seq..=last_seq` of one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RecordSpan {
    pub stream: u32,
    pub first_seq: u64,
    pub last_seq: u64,
}

impl RecordSpan {
    /// True when `seq` of `stream` lies in this span.
    pub fn contains(&self, stream: u32, seq: u64) -> bool {
        self.stream == stream && self.first_seq <= seq && seq <= self.last_seq
    }

    /// Records in the span.
    pub fn len(&self) -> u64 {
        self.last_seq.saturating_sub(self.first_seq) + 1
    }

    /// Never true: a span holds at least one record (kept for clippy's
    /// `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultEvent {
    /// Numbered from 0 in injection order by whoever injected it (the proxy,
    /// or the failover controller); [`renumber`] makes ids of a merged list
    /// unique.
    pub id: u64,
    /// The fault kind's name: `reject`, `lose-ack`, `delay`, `reset` or
    /// `failover` (the keys of a cell's exposure counts).
    pub kind: String,
    /// The Produce request index the proxy faulted; `None` for a failover.
    pub request_index: Option<u64>,
    /// Milliseconds since the proxy (or failover controller) started.
    pub at_ms: u64,
    /// The records the fault touched: a request's batches, every request a
    /// lasting fault answered during its span, or a failover's window.
    /// Empty when unknown (compressed batches, unstamped records).
    pub records: Vec<RecordSpan>,
    /// A lasting fault's span, milliseconds from `at_ms`: how long a
    /// refusal window or a leader move refused requests, or how long a
    /// timeout after append held its answer. `None` for single-request
    /// faults and failovers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_ms: Option<u64>,
    /// Produce requests a lasting fault answered during its span (the
    /// first one included); 0 for other faults.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub requests: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl FaultEvent {
    /// True when `seq` of `stream` is one of the records this fault touched.
    pub fn touches(&self, stream: u32, seq: u64) -> bool {
        self.records.iter().any(|s| s.contains(stream, seq))
    }

    /// Adds `spans` to the records touched, skipping spans already there (a
    /// retried batch refused twice in one window).
    pub fn touch(&mut self, spans: impl IntoIterator<Item = RecordSpan>) {
        for s in spans {
            if !self.records.contains(&s) {
                self.records.push(s);
            }
        }
    }
}

/// Builds the spans of consecutive sequence numbers from `(stream, seq)`
/// pairs in the order they were read: a new span starts whenever the stream
/// changes or the sequence is not the previous one plus 1.
pub fn spans_of(stamps: impl IntoIterator<Item = (u32, u64)>) -> Vec<RecordSpan> {
    let mut out: Vec<RecordSpan> = Vec::new();
    for (stream, seq) in stamps {
        match out.last_mut() {
            Some(s) if s.stream == stream && s.last_seq.checked_add(1) == Some(seq) => {
                s.last_seq = seq;
            }
            _ => out.push(RecordSpan {
                stream,
                first_seq: seq,
                last_seq: seq,
            }),
        }
    }
    out
}

/// Gives the events of several sources (proxy, failover) unique ids
/// 0, 1, 2, … in `(at_ms, previous id)` order.
pub fn renumber(mut events: Vec<FaultEvent>) -> Vec<FaultEvent> {
    events.sort_by_key(|e| (e.at_ms, e.id));
    for (i, e) in events.iter_mut().enumerate() {
        e.id = i as u64;
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_follow_consecutive_sequences_per_stream() {
        let s = spans_of([(0, 5), (0, 6), (0, 7), (1, 8), (1, 9), (0, 8), (0, 10)]);
        let span = |stream, first_seq, last_seq| RecordSpan {
            stream,
            first_seq,
            last_seq,
        };
        assert_eq!(
            s,
            vec![span(0, 5, 7), span(1, 8, 9), span(0, 8, 8), span(0, 10, 10)]
        );
        assert_eq!(s[0].len(), 3);
        assert!(s[0].contains(0, 6) && !s[0].contains(1, 6) && !s[0].contains(0, 8));
        assert!(spans_of([]).is_empty());
    }

    #[test]
    fn renumbering_orders_by_time() {
        let ev = |id, at_ms| FaultEvent {
            id,
            kind: "reject".into(),
            request_index: None,
            at_ms,
            records: vec![],
            span_ms: None,
            requests: 0,
        };
        let out = renumber(vec![ev(0, 50), ev(0, 10), ev(1, 10)]);
        let got: Vec<(u64, u64)> = out.iter().map(|e| (e.id, e.at_ms)).collect();
        assert_eq!(got, vec![(0, 10), (1, 10), (2, 50)]);
    }
}
