//! The frame module's unit tests: whole frames, headers, Produce requests
//! at every version, record spans, and garbage that must never panic.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse, RequestHeader, TopicName};
use kafka_protocol::protocol::{Encodable, StrBytes};
use proptest::prelude::*;

use super::*;
use crate::faults::events::RecordSpan;

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
