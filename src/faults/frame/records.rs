//! The (stream, sequence) stamps inside a Produce partition's record set.

use super::cursor::Cursor;
use crate::faults::events::{spans_of, RecordSpan};

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
