//! The messages of the JSON-lines protocol with `kob.Driver` (documented in
//! `drivers/java/README.md`) as they arrive, and reading them: a reply's
//! fields and the histograms the Java side encodes.

use std::collections::BTreeMap;

use base64::Engine;
use hdrhistogram::Histogram;
use serde::Deserialize;

use crate::driver::java::DriverError;

/// A setting the client changed: what was asked and what runs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Adjusted {
    pub key: String,
    pub requested: String,
    pub effective: String,
}

#[derive(Deserialize)]
pub(super) struct Progress {
    pub sent: u64,
    pub acked: u64,
}

#[derive(Deserialize)]
pub(super) struct CreatedReply {
    #[serde(default)]
    pub client_version: String,
    pub effective: BTreeMap<String, String>,
    pub adjusted: Vec<Adjusted>,
}

#[derive(Deserialize)]
pub(super) struct RejectedReply {
    pub message: String,
    pub exception: String,
}

#[derive(Deserialize)]
pub(super) struct WindowReply {
    pub records: u64,
    pub bytes: u64,
    #[serde(default)]
    pub failed: u64,
    pub elapsed_ns: u64,
    pub histogram: String,
}

#[derive(Deserialize)]
pub(super) struct RoundReply {
    pub windows: Vec<WindowReply>,
}

#[derive(Deserialize)]
pub(super) struct FixedRateReply {
    pub records: u64,
    pub elapsed_ns: u64,
    pub histogram: String,
    pub send_delay: String,
}

#[derive(Deserialize)]
pub(super) struct FailedRange {
    pub first: u64,
    pub last: u64,
    pub exception: String,
}

#[derive(Deserialize)]
pub(super) struct StreamReply {
    pub stream: u32,
    pub sent: u64,
    pub acked: Vec<(u64, u64)>,
    pub failed: Vec<FailedRange>,
}

#[derive(Deserialize)]
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

pub(super) fn field<'a>(
    op: &'static str,
    reply: &'a serde_json::Value,
    key: &str,
) -> Result<&'a serde_json::Value, DriverError> {
    reply.get(key).ok_or_else(|| DriverError::Protocol {
        op,
        reply: reply.to_string(),
        detail: format!("no {key:?} field"),
    })
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(
    op: &'static str,
    reply: &serde_json::Value,
    v: &serde_json::Value,
) -> Result<T, DriverError> {
    T::deserialize(v).map_err(|e| DriverError::Protocol {
        op,
        reply: reply.to_string(),
        detail: e.to_string(),
    })
}

pub(super) fn histogram(
    op: &'static str,
    reply: &serde_json::Value,
    b64: &str,
) -> Result<Histogram<u64>, DriverError> {
    decode_histogram(b64).map_err(|detail| DriverError::Protocol {
        op,
        reply: reply.to_string(),
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
