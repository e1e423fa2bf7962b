//! The JSON-lines protocol with `kob.Driver` (documented in
//! `drivers/java/README.md`) as typed messages: the [`Request`]s Rust
//! writes, one per line, and the [`Reply`] each gets, one per line (progress
//! lines in between are [`ProgressLine`]s). A recorded exchange,
//! `drivers/java/src/test/resources/exchange.jsonl`, is checked on both
//! sides: here every request serializes to its recorded line and every
//! reply parses; in `ExchangeTest.java` the driver reads every request and
//! writes the recorded replies.

use std::collections::BTreeMap;

use base64::Engine;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::driver::java::DriverError;

/// A setting the client changed: what was asked and what runs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Adjusted {
    pub key: String,
    pub requested: String,
    pub effective: String,
}

/// One request, tagged by its `op`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(super) enum Request {
    /// Creates the session's producer.
    Create {
        topic: String,
        partitions: u32,
        record_bytes: usize,
        /// The stamp's run id is 64 bits; Java has no u64, and its JSON
        /// reader takes a long: the same bits, read as signed.
        run_tag: i64,
        config: BTreeMap<String, String>,
        /// This producer's first stream id ([`crate::record::Streams`]);
        /// left out when 0 (one producer per cell).
        #[serde(default, skip_serializing_if = "is_zero_u32")]
        first_stream: u32,
        /// Keys drawn as [`crate::record::KeyChooser`] does; left out
        /// without keys (records go round robin over the partitions).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        keys: Option<KeysSpec>,
    },
    /// One round of windows.
    Round {
        warmup_records: u64,
        windows: u32,
        records_per_window: u64,
        tail_records: u64,
        burst_records: u64,
    },
    /// Records at a fixed rate.
    FixedRate { rate_per_sec: f64, records: u64 },
    /// Closes the producer and reports every record's outcome.
    Finish,
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

/// A producer's key draw, as the Java driver's `Keys` takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct KeysSpec {
    pub count: u64,
    pub distribution: crate::record::KeyDistribution,
    /// The draw's 64-bit seed, read as signed (see `run_tag`).
    pub seed: i64,
}

impl Request {
    /// The request's `op`, for messages.
    pub(super) fn op(&self) -> &'static str {
        match self {
            Request::Create { .. } => "create",
            Request::Round { .. } => "round",
            Request::FixedRate { .. } => "fixed_rate",
            Request::Finish => "finish",
        }
    }

    /// The request as its line on the wire (without the newline).
    pub(super) fn line(&self) -> String {
        serde_json::to_string(self).expect("a request serializes")
    }
}

/// One reply: an object with one key, the kind of reply.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum Reply {
    Created(CreatedReply),
    Rejected(RejectedReply),
    Round(RoundReply),
    FixedRate(FixedRateReply),
    Finish(FinishReply),
    /// The request failed in the driver; the message says why.
    Error(String),
}

impl Reply {
    /// The reply's kind, for messages.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Reply::Created(_) => "created",
            Reply::Rejected(_) => "rejected",
            Reply::Round(_) => "round",
            Reply::FixedRate(_) => "fixed_rate",
            Reply::Finish(_) => "finish",
            Reply::Error(_) => "error",
        }
    }
}

/// A progress line, written while a phase runs.
#[derive(Debug, Deserialize)]
pub(super) struct ProgressLine {
    pub progress: Progress,
}

#[derive(Debug, Deserialize)]
pub(super) struct Progress {
    pub sent: u64,
    pub acked: u64,
}

#[derive(Debug, Deserialize)]
pub(super) struct CreatedReply {
    #[serde(default)]
    pub client_version: String,
    pub effective: BTreeMap<String, String>,
    pub adjusted: Vec<Adjusted>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RejectedReply {
    pub message: String,
    pub exception: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct WindowReply {
    pub records: u64,
    pub bytes: u64,
    #[serde(default)]
    pub failed: u64,
    pub elapsed_ns: u64,
    pub histogram: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct RoundReply {
    pub windows: Vec<WindowReply>,
}

#[derive(Debug, Deserialize)]
pub(super) struct FixedRateReply {
    pub records: u64,
    pub elapsed_ns: u64,
    pub histogram: String,
    pub send_delay: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct FailedRange {
    pub first: u64,
    pub last: u64,
    pub exception: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct StreamReply {
    pub stream: u32,
    pub sent: u64,
    pub acked: Vec<(u64, u64)>,
    pub failed: Vec<FailedRange>,
}

#[derive(Debug, Deserialize)]
pub(super) struct FinishReply {
    pub deliveries: Vec<StreamReply>,
    pub metrics: BTreeMap<String, Option<f64>>,
    pub effective: BTreeMap<String, String>,
    #[serde(default)]
    pub acked_end_offsets: BTreeMap<String, i64>,
}

/// Reads a base64 V2 (compressed) HdrHistogram as the Java side wrote it.
pub fn decode_histogram(b64: &str) -> Result<Histogram<u64>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| format!("histogram is not base64: {e}"))?;
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("histogram does not decode: {e:?}"))
}

/// A histogram of a reply to `op`, or a protocol error naming it.
pub(super) fn histogram(op: &'static str, b64: &str) -> Result<Histogram<u64>, DriverError> {
    decode_histogram(b64).map_err(|detail| DriverError::Protocol {
        op,
        reply: b64.chars().take(40).collect(),
        detail,
    })
}

/// The error for a reply of the wrong kind.
pub(super) fn unexpected(op: &'static str, reply: &Reply) -> DriverError {
    DriverError::Protocol {
        op,
        reply: reply.kind().into(),
        detail: format!("a {} reply to {op}", reply.kind()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The recorded exchange (`drivers/java/src/test/resources/exchange.jsonl`,
    /// also read by `ExchangeTest.java`): every request is what [`Request`]
    /// writes, byte for byte, and every line the driver wrote reads as a
    /// typed [`Reply`] or [`ProgressLine`], histograms included.
    #[test]
    fn the_recorded_exchange_reads_and_writes_typed() {
        let recorded = include_str!("../../../drivers/java/src/test/resources/exchange.jsonl");
        let (mut ops, mut kinds) = (Vec::new(), Vec::new());
        for line in recorded.lines() {
            if let Some(request) = line.strip_prefix("> ") {
                let typed: Request = serde_json::from_str(request).expect(request);
                assert_eq!(typed.line(), request, "Request writes the recorded line");
                ops.push(typed.op());
            } else if let Some(out) = line.strip_prefix("< ") {
                if out.starts_with("{\"progress\":") {
                    let p: ProgressLine = serde_json::from_str(out).expect(out);
                    assert!(p.progress.acked <= p.progress.sent, "{out}");
                    continue;
                }
                let reply: Reply = serde_json::from_str(out).expect(out);
                match &reply {
                    Reply::Round(r) => {
                        assert_eq!(r.windows.len(), 2);
                        for w in &r.windows {
                            let h = decode_histogram(&w.histogram).unwrap();
                            assert_eq!(h.len(), w.records);
                        }
                    }
                    Reply::FixedRate(r) => {
                        assert_eq!(decode_histogram(&r.histogram).unwrap().len(), r.records);
                        assert_eq!(decode_histogram(&r.send_delay).unwrap().len(), r.records);
                    }
                    Reply::Finish(f) if !f.deliveries.is_empty() => {
                        let sent: u64 = f.deliveries.iter().map(|d| d.sent).sum();
                        assert_eq!(sent, 6 + 2 * 9 + 3 + 6, "round and fixed-rate records");
                        assert!(f.metrics.contains_key("record-send-total"));
                    }
                    Reply::Created(c) => assert_eq!(c.effective["acks"], "-1"),
                    Reply::Rejected(r) => {
                        assert_eq!(
                            r.exception,
                            "org.apache.kafka.common.config.ConfigException"
                        );
                        assert!(r.message.contains("at most 5"), "{}", r.message);
                    }
                    _ => {}
                }
                kinds.push(reply.kind());
            }
        }
        assert_eq!(
            ops,
            [
                "create",
                "round",
                "fixed_rate",
                "finish",
                "create",
                "finish",
                "round"
            ]
        );
        assert_eq!(
            kinds,
            [
                "created",
                "round",
                "fixed_rate",
                "finish",
                "rejected",
                "finish",
                "error"
            ]
        );
        // A reply of two kinds, or of none, is refused.
        assert!(serde_json::from_str::<Reply>(r#"{"round":{"windows":[]},"error":"x"}"#).is_err());
        assert!(serde_json::from_str::<Reply>(r#"{"rounds":{"windows":[]}}"#).is_err());
    }

    #[test]
    fn a_histogram_the_java_side_wrote_decodes_exactly() {
        // drivers/java's HdrHistogram 2.2.2, encodeIntoCompressedByteBuffer:
        // 1..=1000 µs once each and 250,000 µs ten times.
        let h = decode_histogram(include_str!("../../../tests/fixtures/java-hdr-v2.b64")).unwrap();
        assert_eq!(h.len(), 1010);
        assert_eq!(h.min(), 1);
        assert_eq!(h.count_at(500), 1);
        assert_eq!(h.count_at(250_000), 10);
        assert_eq!(h.value_at_quantile(0.5), 505);
        assert!(h.equivalent(h.max(), 250_000));
        // Merges with the suite's own histograms (same bounds).
        let mut ours = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        ours.record(7).unwrap();
        ours.add(&h).unwrap();
        assert_eq!(ours.len(), 1011);
    }

    #[test]
    fn broken_histograms_are_errors_not_panics() {
        assert!(decode_histogram("not base64!")
            .unwrap_err()
            .contains("base64"));
        assert!(decode_histogram("AAAA")
            .unwrap_err()
            .contains("does not decode"));
    }
}
