//! Kafka's length-prefixed frames, read with a size guard and a typed error,
//! and the few pieces of a frame the proxy must look inside.
//!
//! Every Kafka request and response is a big-endian `i32` size followed by
//! that many bytes. [`decode_frame`] takes whole frames off a buffer (the
//! shape of rskafka's `protocol/frame.rs`); [`read_frame`] does it from a
//! socket. Nothing here panics on bad input: a negative or oversized size, a
//! stream that ends mid-frame and garbage inside a frame all come back as a
//! [`FrameError`].
//!
//! Decoding itself is done by the `kafka-protocol` crate, with one guard in
//! front: that crate allocates an array's capacity from the count on the
//! wire before reading the elements, so a garbage count could ask for
//! gigabytes and abort the process. [`produce_shape`] walks a Produce request
//! first and checks every count and length against the bytes really there;
//! only requests that pass are handed to `kafka-protocol`. Responses come
//! from the upstream broker, which the proxy trusts.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ProduceRequest, ProduceResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, Message};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::events::{spans_of, RecordSpan};

/// Kafka's default `socket.request.max.bytes` (100 MiB): no broker accepts a
/// larger request, and no client asks for a larger response by default.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 100 * 1024 * 1024;

/// More partitions than this in one Produce request is treated as garbage
/// rather than decoded (a real one holds a few hundred at most).
pub const MAX_PRODUCE_PARTITIONS: usize = 100_000;

/// Why a frame could not be read or understood.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The size prefix is above the guard.
    #[error("frame of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge { size: usize, max: usize },
    /// The size prefix is negative.
    #[error("frame size {size} is negative")]
    NegativeSize { size: i32 },
    /// The stream ended inside a frame.
    #[error("stream ended after {have} of {need} bytes of a frame")]
    Truncated { have: usize, need: usize },
    /// The frame's content does not parse.
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    /// Reading from the socket failed.
    #[error("reading a frame: {source}")]
    Io {
        #[from]
        source: std::io::Error,
    },
}

fn malformed(what: &'static str, reason: impl ToString) -> FrameError {
    FrameError::Malformed {
        what,
        reason: reason.to_string(),
    }
}

/// Takes one whole frame (size prefix included) off the front of `buf`, or
/// returns `Ok(None)` when `buf` does not hold a whole frame yet (having
/// reserved room for the rest).
pub fn decode_frame(buf: &mut BytesMut, max: usize) -> Result<Option<Bytes>, FrameError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let size = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if size < 0 {
        return Err(FrameError::NegativeSize { size });
    }
    let size = size as usize;
    if size > max {
        return Err(FrameError::TooLarge { size, max });
    }
    if buf.len() < 4 + size {
        buf.reserve(4 + size - buf.len());
        return Ok(None);
    }
    Ok(Some(buf.split_to(4 + size).freeze()))
}

/// Reads the next whole frame (size prefix included) from `reader`, using
/// `buf` for bytes read ahead. `Ok(None)` is a clean end of stream between
/// frames; an end inside a frame is [`FrameError::Truncated`].
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
    max: usize,
) -> Result<Option<Bytes>, FrameError> {
    loop {
        if let Some(frame) = decode_frame(buf, max)? {
            return Ok(Some(frame));
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(16 * 1024);
        }
        if reader.read_buf(buf).await? == 0 {
            if buf.is_empty() {
                return Ok(None);
            }
            let need = if buf.len() >= 4 {
                4 + i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize
            } else {
                4
            };
            return Err(FrameError::Truncated {
                have: buf.len(),
                need,
            });
        }
    }
}

/// The fixed start of every request header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestMeta {
    /// The API key (0 is Produce, 3 Metadata, …); unknown keys are kept.
    pub api_key: i16,
    /// The API version.
    pub api_version: i16,
    /// The correlation id the response will carry.
    pub correlation_id: i32,
}

/// Reads the fixed start of the request header of `frame` (size prefix
/// included).
pub fn request_meta(frame: &[u8]) -> Result<RequestMeta, FrameError> {
    if frame.len() < 12 {
        return Err(malformed(
            "request header",
            format!(
                "{} bytes, shorter than the 8-byte fixed header",
                frame.len().saturating_sub(4)
            ),
        ));
    }
    Ok(RequestMeta {
        api_key: i16::from_be_bytes([frame[4], frame[5]]),
        api_version: i16::from_be_bytes([frame[6], frame[7]]),
        correlation_id: i32::from_be_bytes([frame[8], frame[9], frame[10], frame[11]]),
    })
}

/// The correlation id of a response `frame` (size prefix included).
pub fn response_correlation_id(frame: &[u8]) -> Result<i32, FrameError> {
    if frame.len() < 8 {
        return Err(malformed("response header", "shorter than 4 bytes"));
    }
    Ok(i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]))
}

/// The request body of `frame` (size prefix included): what follows the
/// request header, whose layout depends on the API key and version.
pub fn request_body(frame: &Bytes, meta: &RequestMeta) -> Result<Bytes, FrameError> {
    let key = ApiKey::try_from(meta.api_key).map_err(|_| {
        malformed(
            "request header",
            format!("unknown API key {}", meta.api_key),
        )
    })?;
    let header_version = key.request_header_version(meta.api_version);
    let mut buf = frame.slice(4..);
    RequestHeader::decode(&mut buf, header_version)
        .map_err(|e| malformed("request header", format!("{e:#}")))?;
    Ok(buf)
}

/// The response body of `frame` (size prefix included) for a request with
/// this API key and version, with its header.
pub fn response_body(
    frame: &Bytes,
    key: ApiKey,
    api_version: i16,
) -> Result<(ResponseHeader, Bytes), FrameError> {
    let mut buf = frame.slice(4..);
    let header = ResponseHeader::decode(&mut buf, key.response_header_version(api_version))
        .map_err(|e| malformed("response header", format!("{e:#}")))?;
    Ok((header, buf))
}

/// What the proxy needs to know of a Produce request before forwarding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProduceShape {
    /// `acks`: 0 means the broker sends no response.
    pub acks: i16,
    /// Partitions in the request, over all topics.
    pub partitions: usize,
}

/// A bounds-checking cursor over a request body.
struct Cursor<'a> {
    buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FrameError> {
        if self.buf.len() < n {
            return Err(malformed(
                "produce request",
                format!("{what} needs {n} bytes, {} left", self.buf.len()),
            ));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    fn i16(&mut self, what: &'static str) -> Result<i16, FrameError> {
        Ok(self.take(2, what)?.get_i16())
    }
    fn i32(&mut self, what: &'static str) -> Result<i32, FrameError> {
        Ok(self.take(4, what)?.get_i32())
    }
    fn uvarint(&mut self, what: &'static str) -> Result<u32, FrameError> {
        let mut value: u32 = 0;
        for i in 0..5 {
            let b = self.take(1, what)?[0];
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed(
            "produce request",
            format!("{what}: varint longer than 5 bytes"),
        ))
    }
    /// A count or length that must fit in what is left (`unit` bytes each).
    fn bounded(&self, n: i64, unit: usize, what: &'static str) -> Result<usize, FrameError> {
        if n < 0 || (n as u64).saturating_mul(unit as u64) > self.buf.len() as u64 {
            return Err(malformed(
                "produce request",
                format!(
                    "{what} of {n} does not fit in the {} bytes left",
                    self.buf.len()
                ),
            ));
        }
        Ok(n as usize)
    }
    /// A string or bytes field; `nullable` allows the null encoding.
    fn skip_bytes(
        &mut self,
        flexible: bool,
        wide: bool,
        nullable: bool,
        what: &'static str,
    ) -> Result<(), FrameError> {
        let len: i64 = if flexible {
            i64::from(self.uvarint(what)?) - 1
        } else if wide {
            i64::from(self.i32(what)?)
        } else {
            i64::from(self.i16(what)?)
        };
        if len == -1 && nullable {
            return Ok(());
        }
        let len = self.bounded(len, 1, what)?;
        self.take(len, what)?;
        Ok(())
    }
    /// An array count; every element takes at least `min_elem` bytes.
    fn count(
        &mut self,
        flexible: bool,
        min_elem: usize,
        what: &'static str,
    ) -> Result<usize, FrameError> {
        let n: i64 = if flexible {
            i64::from(self.uvarint(what)?) - 1
        } else {
            i64::from(self.i32(what)?)
        };
        self.bounded(n, min_elem, what)
    }
    fn skip_tagged_fields(&mut self) -> Result<(), FrameError> {
        let n = i64::from(self.uvarint("tagged field count")?);
        let n = self.bounded(n, 2, "tagged field count")?;
        for _ in 0..n {
            self.uvarint("tag")?;
            let size = i64::from(self.uvarint("tagged field size")?);
            let size = self.bounded(size, 1, "tagged field size")?;
            self.take(size, "tagged field")?;
        }
        Ok(())
    }
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

/// Attribute bits of a record batch that name its compression codec.
const COMPRESSION_MASK: i16 = 0x07;
/// Bytes of a v2 record batch header, up to and including the record count.
const BATCH_HEADER_BYTES: usize = 61;

/// The runs of consecutive (stream, sequence) stamps ([`crate::record`]) in
/// a Produce partition's record set: one or more v2 record batches. Never
/// panics: a compressed batch, an old message format, an unstamped value or
/// bytes that do not parse end or skip the walk, so the spans are what could
/// be read up to there (possibly none).
pub fn record_spans(records: &[u8]) -> Vec<RecordSpan> {
    let mut stamps = Vec::new();
    let mut rest = records;
    while rest.len() >= BATCH_HEADER_BYTES {
        let batch_len = i32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]);
        let Ok(batch_len) = usize::try_from(batch_len) else {
            break;
        };
        let Some(end) = batch_len.checked_add(12).filter(|e| *e <= rest.len()) else {
            break;
        };
        let (batch, tail) = rest.split_at(end);
        rest = tail;
        if batch.len() < BATCH_HEADER_BYTES {
            continue;
        }
        let magic = batch[16];
        let attributes = i16::from_be_bytes([batch[21], batch[22]]);
        if magic != 2 || attributes & COMPRESSION_MASK != 0 {
            continue;
        }
        let count = i32::from_be_bytes([batch[57], batch[58], batch[59], batch[60]]);
        let mut c = Cursor {
            buf: &batch[BATCH_HEADER_BYTES..],
        };
        for _ in 0..count.max(0) {
            match next_record_value(&mut c) {
                Some(value) => {
                    if let Ok(stamp) = crate::record::Stamp::read(value) {
                        stamps.push((stamp.stream, stamp.seq));
                    }
                }
                None => break,
            }
        }
    }
    spans_of(stamps)
}

/// A zigzag varint (records use them for lengths and deltas).
fn varlong(c: &mut Cursor<'_>) -> Option<i64> {
    let mut value: u64 = 0;
    for i in 0..10 {
        let b = c.take(1, "varint").ok()?[0];
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(((value >> 1) as i64) ^ -((value & 1) as i64));
        }
    }
    None
}

/// Reads one record of a v2 batch and returns its value (`Some(None)` for a
/// null value); `None` when the bytes do not parse.
fn next_record_value<'a>(c: &mut Cursor<'a>) -> Option<Option<&'a [u8]>> {
    let len = usize::try_from(varlong(c)?).ok()?;
    if len > c.buf.len() {
        return None;
    }
    let (record, tail) = c.buf.split_at(len);
    c.buf = tail;
    let mut r = Cursor { buf: record };
    r.take(1, "attributes").ok()?;
    varlong(&mut r)?; // timestamp delta
    varlong(&mut r)?; // offset delta
    let key_len = varlong(&mut r)?;
    if key_len > 0 {
        r.take(usize::try_from(key_len).ok()?, "key").ok()?;
    }
    let value_len = varlong(&mut r)?;
    if value_len < 0 {
        return Some(None);
    }
    let value = r.take(usize::try_from(value_len).ok()?, "value").ok()?;
    Some(Some(value))
}

/// Encodes a whole response frame (size prefix, header, body).
pub fn encode_response<M: Encodable>(
    key: ApiKey,
    api_version: i16,
    header: &ResponseHeader,
    body: &M,
) -> Result<Bytes, FrameError> {
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header
        .encode(&mut buf, key.response_header_version(api_version))
        .map_err(|e| malformed("response to encode", format!("{e:#}")))?;
    body.encode(&mut buf, api_version)
        .map_err(|e| malformed("response to encode", format!("{e:#}")))?;
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf.freeze())
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

/// Decodes a response body with `kafka-protocol`, naming `what` on failure.
pub fn decode_response<M: Decodable>(
    body: &Bytes,
    api_version: i16,
    what: &'static str,
) -> Result<M, FrameError> {
    let mut buf = body.clone();
    M::decode(&mut buf, api_version).map_err(|e| malformed(what, format!("{e:#}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::TopicName;
    use kafka_protocol::protocol::StrBytes;
    use proptest::prelude::*;

    fn frame_of(payload: &[u8]) -> BytesMut {
        let mut b = BytesMut::new();
        b.put_i32(payload.len() as i32);
        b.put_slice(payload);
        b
    }

    fn produce_request(version: i16, acks: i16) -> Bytes {
        let req = ProduceRequest::default()
            .with_acks(acks)
            .with_timeout_ms(30_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_static_str("orders")))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(Bytes::from_static(b"batch-0"))),
                    PartitionProduceData::default()
                        .with_index(3)
                        .with_records(Some(Bytes::from_static(b"batch-3"))),
                ])]);
        let header = RequestHeader::default()
            .with_request_api_key(0)
            .with_request_api_version(version)
            .with_correlation_id(77)
            .with_client_id(Some(StrBytes::from_static_str("t")));
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header
            .encode(&mut buf, ApiKey::Produce.request_header_version(version))
            .unwrap();
        req.encode(&mut buf, version).unwrap();
        let n = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&n.to_be_bytes());
        buf.freeze()
    }

    #[test]
    fn whole_frames_come_off_one_at_a_time() {
        let mut buf = frame_of(b"abc");
        buf.extend_from_slice(&frame_of(b"")[..]);
        buf.extend_from_slice(&[0, 0, 0, 9, 1]);
        let max = 1024;
        assert_eq!(
            &decode_frame(&mut buf, max).unwrap().unwrap()[..],
            b"\0\0\0\x03abc"
        );
        assert_eq!(
            &decode_frame(&mut buf, max).unwrap().unwrap()[..],
            b"\0\0\0\0"
        );
        assert!(decode_frame(&mut buf, max).unwrap().is_none());
        assert_eq!(buf.len(), 5);
    }

    #[test]
    fn oversized_and_negative_sizes_are_typed_errors() {
        let mut buf = BytesMut::from(&[0x7f, 0xff, 0xff, 0xff][..]);
        let err = decode_frame(&mut buf, DEFAULT_MAX_FRAME_BYTES).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame of 2147483647 bytes exceeds the limit of 104857600 bytes"
        );
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xfe][..]);
        let err = decode_frame(&mut buf, 10).unwrap_err();
        assert_eq!(err.to_string(), "frame size -2 is negative");
    }

    #[tokio::test]
    async fn a_stream_ending_mid_frame_is_truncated() {
        let bytes = frame_of(b"hello");
        let mut reader = &bytes[..7];
        let mut buf = BytesMut::new();
        let err = read_frame(&mut reader, &mut buf, 100).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "stream ended after 7 of 9 bytes of a frame"
        );
        let mut reader: &[u8] = &[];
        assert!(read_frame(&mut reader, &mut BytesMut::new(), 100)
            .await
            .unwrap()
            .is_none());
    }

    #[test]
    fn produce_requests_are_understood_at_every_version() {
        for version in 3..=13 {
            let frame = produce_request(version, -1);
            let meta = request_meta(&frame).unwrap();
            assert_eq!(
                (meta.api_key, meta.api_version, meta.correlation_id),
                (0, version, 77)
            );
            let body = request_body(&frame, &meta).unwrap();
            let shape = produce_shape(&body, version).unwrap();
            assert_eq!(
                shape,
                ProduceShape {
                    acks: -1,
                    partitions: 2
                },
                "v{version}"
            );
            let req = decode_produce(&body, version).unwrap();
            let resp = produce_error_response(&req, version, 77, 19).unwrap();
            assert_eq!(response_correlation_id(&resp).unwrap(), 77);
            let (_, body) = response_body(&resp, ApiKey::Produce, version).unwrap();
            let decoded: ProduceResponse = decode_response(&body, version, "t").unwrap();
            let parts = &decoded.responses[0].partition_responses;
            assert_eq!(
                parts
                    .iter()
                    .map(|p| (p.index, p.error_code))
                    .collect::<Vec<_>>(),
                [(0, 19), (3, 19)]
            );
        }
        let frame = produce_request(9, 0);
        let body = request_body(&frame, &request_meta(&frame).unwrap()).unwrap();
        assert_eq!(produce_shape(&body, 9).unwrap().acks, 0);
    }

    #[test]
    fn huge_counts_are_refused_before_decoding() {
        // v8: no transactional id, acks, timeout, then 2^31-1 topics.
        let mut body = BytesMut::new();
        body.put_i16(-1);
        body.put_i16(1);
        body.put_i32(1000);
        body.put_i32(i32::MAX);
        let err = decode_produce(&body.freeze(), 8).unwrap_err();
        assert!(
            err.to_string()
                .contains("topic count of 2147483647 does not fit"),
            "{err}"
        );
    }

    /// A v2 record batch of stamped values for `(stream, seq)`, as a
    /// producer writes it (optionally marked as gzip-compressed).
    fn batch(stamps: &[(u32, u64)], gzip: bool) -> Vec<u8> {
        use kafka_protocol::records::{
            Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
        };
        let records: Vec<Record> = stamps
            .iter()
            .enumerate()
            .map(|(i, &(stream, seq))| {
                let mut v = vec![0u8; 100];
                crate::record::Stamp {
                    run_id: 9,
                    stream,
                    seq,
                    intended_send_ns: 0,
                }
                .write(&mut v);
                Record {
                    transactional: false,
                    control: false,
                    delete_horizon: false,
                    partition_leader_epoch: 0,
                    producer_id: -1,
                    producer_epoch: -1,
                    timestamp_type: TimestampType::Creation,
                    offset: i as i64,
                    // One batch: the encoder splits where offset - sequence changes.
                    sequence: i as i32,
                    timestamp: 0,
                    key: (i % 2 == 0).then(|| Bytes::from_static(b"key")),
                    value: Some(Bytes::from(v)),
                    headers: Default::default(),
                }
            })
            .collect();
        let mut buf = BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        };
        RecordBatchEncoder::encode(&mut buf, &records, &options).unwrap();
        if gzip {
            // Only the attribute bits: the walk must not try to read it.
            buf[22] |= 1;
        }
        buf.to_vec()
    }

    #[test]
    fn record_spans_read_the_stamps_of_each_batch() {
        let span = |stream, first_seq, last_seq| RecordSpan {
            stream,
            first_seq,
            last_seq,
        };
        let one: Vec<(u32, u64)> = (100..115).map(|q| (0, q)).collect();
        assert_eq!(record_spans(&batch(&one, false)), vec![span(0, 100, 114)]);
        // Two batches back to back, the second of another stream.
        let mut two = batch(&one, false);
        two.extend(batch(&[(3, 7), (3, 8)], false));
        assert_eq!(record_spans(&two), vec![span(0, 100, 114), span(3, 7, 8)]);
        // Compressed: not opened. Garbage and truncation: what parsed so far.
        assert!(record_spans(&batch(&one, true)).is_empty());
        let mut cut = batch(&one, false);
        cut.truncate(cut.len() - 1);
        assert!(record_spans(&cut).is_empty());
        assert!(record_spans(b"not a batch at all").is_empty());
        // A value without the KOB1 magic is skipped.
        let mut other = batch(&[(1, 1)], false);
        let at = other.windows(4).position(|w| w == b"KOB1").unwrap();
        other[at..at + 4].copy_from_slice(b"XXXX");
        let mut unstamped = batch(&one, false);
        unstamped.extend(other);
        assert_eq!(record_spans(&unstamped), vec![span(0, 100, 114)]);
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), max in 0usize..1024) {
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(frame)) = decode_frame(&mut buf, max) {
                if let Ok(meta) = request_meta(&frame) {
                    if let Ok(body) = request_body(&frame, &meta) {
                        let _ = decode_produce(&body, meta.api_version);
                    }
                }
                let _ = response_correlation_id(&frame);
            }
        }

        #[test]
        fn random_record_sets_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), flip in 0usize..400, bit in 0u8..8) {
            let _ = record_spans(&bytes);
            let mut b = batch(&[(0, 1), (0, 2), (0, 3)], false);
            let i = flip % b.len();
            b[i] ^= 1 << bit;
            let _ = record_spans(&b);
        }

        #[test]
        fn random_produce_bodies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), version in 0i16..16) {
            let body = Bytes::from(bytes);
            let _ = decode_produce(&body, version);
        }

        #[test]
        fn truncated_and_corrupted_produce_frames_never_panic(version in 3i16..=13, cut in 0usize..200, flip in 0usize..200, bit in 0u8..8) {
            let frame = produce_request(version, 1);
            let mut bytes = frame.to_vec();
            let i = flip % bytes.len();
            bytes[i] ^= 1 << bit;
            bytes.truncate(cut.min(bytes.len()));
            let mut buf = BytesMut::from(&bytes[..]);
            if let Ok(Some(frame)) = decode_frame(&mut buf, DEFAULT_MAX_FRAME_BYTES) {
                if let Ok(meta) = request_meta(&frame) {
                    if let Ok(body) = request_body(&frame, &meta) {
                        if let Ok(req) = decode_produce(&body, meta.api_version) {
                            let _ = produce_error_response(&req, meta.api_version, meta.correlation_id, 19);
                        }
                    }
                }
            }
        }
    }
}
