//! Produce requests: the guarded walk that checks one before it is decoded,
//! the records it carries, and the error response a broker that appended
//! nothing would send.

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Message};

use super::cursor::Cursor;
use super::records::record_spans;
use super::response::encode_response;
use super::{malformed, FrameError};
use crate::faults::events::RecordSpan;

/// More partitions than this in one Produce request is treated as garbage
/// rather than decoded (a real one holds a few hundred at most).
pub const MAX_PRODUCE_PARTITIONS: usize = 100_000;

/// What the proxy needs to know of a Produce request before forwarding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProduceShape {
    /// `acks`: 0 means the broker sends no response.
    pub acks: i16,
    /// Partitions in the request, over all topics.
    pub partitions: usize,
}

/// Walks a Produce request body (as `kafka-protocol` would decode it, for
/// the versions it knows) checking every count and length against the bytes
/// left, and returns its `acks` and partition count. A body that passes is
/// safe to give to [`decode_produce`].
pub fn produce_shape(body: &[u8], version: i16) -> Result<ProduceShape, FrameError> {
    let versions = ProduceRequest::VERSIONS;
    if version < versions.min || version > versions.max {
        return Err(malformed(
            "produce request",
            format!("version {version} is outside {versions}"),
        ));
    }
    let flexible = version >= 9;
    let mut c = Cursor { buf: body };
    c.skip_bytes(flexible, false, true, "transactional id")?;
    let acks = c.i16("acks")?;
    c.i32("timeout")?;
    // Smallest topic: an empty name (or a UUID) and an empty partition list.
    let topics = c.count(flexible, 2, "topic count")?;
    let mut partitions = 0usize;
    for _ in 0..topics {
        if version >= 13 {
            c.take(16, "topic id")?;
        } else {
            c.skip_bytes(flexible, false, false, "topic name")?;
        }
        // Smallest partition: an index and a null record set.
        let n = c.count(flexible, 5, "partition count")?;
        partitions += n;
        if partitions > MAX_PRODUCE_PARTITIONS {
            return Err(malformed(
                "produce request",
                format!("more than {MAX_PRODUCE_PARTITIONS} partitions"),
            ));
        }
        for _ in 0..n {
            c.i32("partition index")?;
            c.skip_bytes(flexible, true, true, "records")?;
            if flexible {
                c.skip_tagged_fields()?;
            }
        }
        if flexible {
            c.skip_tagged_fields()?;
        }
    }
    if flexible {
        c.skip_tagged_fields()?;
    }
    Ok(ProduceShape { acks, partitions })
}

/// Decodes a Produce request body with `kafka-protocol`, after
/// [`produce_shape`] has checked it.
pub fn decode_produce(body: &Bytes, version: i16) -> Result<ProduceRequest, FrameError> {
    produce_shape(body, version)?;
    let mut buf = body.clone();
    ProduceRequest::decode(&mut buf, version)
        .map_err(|e| malformed("produce request", format!("{e:#}")))
}

/// The records one partition of a Produce request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRecords {
    /// The topic's name, or (Produce v13+, which names topics by id) its id
    /// in hex.
    pub topic: String,
    pub partition: i32,
    /// Runs of consecutive stamped sequences (see [`record_spans`]).
    pub spans: Vec<RecordSpan>,
}

/// The stamped records of every partition of a decoded Produce request.
pub fn produce_records(request: &ProduceRequest) -> Vec<PartitionRecords> {
    let mut out = Vec::new();
    for topic in &request.topic_data {
        let name = if topic.name.0.is_empty() {
            topic.topic_id.simple().to_string()
        } else {
            topic.name.0.to_string()
        };
        for p in &topic.partition_data {
            let spans = p.records.as_deref().map(record_spans).unwrap_or_default();
            out.push(PartitionRecords {
                topic: name.clone(),
                partition: p.index,
                spans,
            });
        }
    }
    out
}

/// A Produce response frame for `request` that carries `error_code` on
/// every partition of it, as a broker that appended nothing would send.
pub fn produce_error_response(
    request: &ProduceRequest,
    api_version: i16,
    correlation_id: i32,
    error_code: i16,
) -> Result<Bytes, FrameError> {
    use kafka_protocol::messages::produce_response::{
        LeaderIdAndEpoch, PartitionProduceResponse, TopicProduceResponse,
    };
    let responses = request
        .topic_data
        .iter()
        .map(|topic| {
            let partitions = topic
                .partition_data
                .iter()
                .map(|p| {
                    PartitionProduceResponse::default()
                        .with_index(p.index)
                        .with_error_code(error_code)
                        .with_base_offset(-1)
                        .with_log_append_time_ms(-1)
                        .with_log_start_offset(-1)
                        .with_current_leader(
                            LeaderIdAndEpoch::default()
                                .with_leader_id((-1).into())
                                .with_leader_epoch(-1),
                        )
                })
                .collect();
            TopicProduceResponse::default()
                .with_name(topic.name.clone())
                .with_topic_id(topic.topic_id)
                .with_partition_responses(partitions)
        })
        .collect();
    let response = ProduceResponse::default().with_responses(responses);
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    encode_response(ApiKey::Produce, api_version, &header, &response)
}
