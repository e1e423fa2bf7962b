//! The record format: what every value this suite produces starts with.
//!
//! A record's value begins with a 32-byte header, all integers big-endian:
//!
//! | offset | size | field                                                   |
//! |-------:|-----:|---------------------------------------------------------|
//! | 0      | 4    | magic `KOB1` (ASCII)                                    |
//! | 4      | 8    | run id (u64): the same for every record of one run      |
//! | 12     | 4    | stream id (u32): one stream per producer and partition  |
//! | 16     | 8    | sequence number (u64): 0, 1, 2, … in `send()` order      |
//! | 24     | 8    | intended send time, nanoseconds since the Unix epoch    |
//!
//! Any bytes after the header are padding and are ignored, but for the
//! optional key extension below. A producer in another language that writes
//! this header can be checked by `kafka-order-bench verify`.
//!
//! # Keys
//!
//! A record may carry a Kafka key: any bytes, chosen by the producer (the
//! key's bytes are the key; a null key is no key). Order is promised per
//! partition, so per key only while the key maps to one partition, as with
//! the default partitioner. The checker then also checks order **per key**:
//! within one stream (one producer × one partition), the records of one key
//! must appear in the log in the order they were sent. That order needs no
//! field of its own: a producer's `send()` order of one key's records is
//! their order in the stream, so the stream sequence already gives it (a
//! record of key K whose sequence is below the highest sequence already read
//! for K on its stream is a per-key reorder).
//!
//! What the stream sequence cannot say is *which key* a record absent from
//! the log had. A producer that wants missing records counted per key
//! writes the **key extension** right after the header:
//!
//! | offset | size | field                                                   |
//! |-------:|-----:|---------------------------------------------------------|
//! | 32     | 4    | magic `KOBK` (ASCII)                                    |
//! | 36     | 8    | key sequence (u64): 0, 1, 2, … per key and stream, in `send()` order |
//!
//! i.e. the number of records with the same key the producer sent earlier
//! to the same partition. With it, key sequences absent below the highest
//! one read are **missing** for that key; without it, per-key missing
//! records are not judged (reorders and log duplicates still are).

/// Bytes of the stamped header at the start of every value.
pub const HEADER_BYTES: usize = 32;
/// The first four bytes of every value.
pub const MAGIC: [u8; 4] = *b"KOB1";

/// The first four bytes of the optional key extension, right after the header.
pub const KEY_MAGIC: [u8; 4] = *b"KOBK";
/// Bytes of the header and the key extension together.
pub const KEYED_HEADER_BYTES: usize = HEADER_BYTES + 12;

/// The key sequence of a value that carries the key extension (see
/// *Keys* in the module documentation); `None` otherwise. Never panics.
#[inline]
pub fn key_seq(value: &[u8]) -> Option<u64> {
    let ext = value.get(HEADER_BYTES..KEYED_HEADER_BYTES)?;
    if ext[0..4] != KEY_MAGIC {
        return None;
    }
    Some(u64::from_be_bytes(ext[4..12].try_into().expect("8 bytes")))
}

/// Writes the key extension with `key_seq` into bytes
/// `HEADER_BYTES..KEYED_HEADER_BYTES` of `buf`.
///
/// # Panics
/// If `buf` is shorter than [`KEYED_HEADER_BYTES`].
pub fn write_key_seq(buf: &mut [u8], key_seq: u64) {
    let ext = &mut buf[HEADER_BYTES..KEYED_HEADER_BYTES];
    ext[0..4].copy_from_slice(&KEY_MAGIC);
    ext[4..12].copy_from_slice(&key_seq.to_be_bytes());
}

/// The header of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub run_id: u64,
    pub stream: u32,
    pub seq: u64,
    pub intended_send_ns: u64,
}

/// Why a value is not a record of this format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Fewer than [`HEADER_BYTES`] bytes, or no value at all.
    TooShort,
    /// The value does not start with [`MAGIC`].
    BadMagic,
}

impl Stamp {
    /// Writes the header into the first [`HEADER_BYTES`] of `buf`.
    ///
    /// # Panics
    /// If `buf` is shorter than [`HEADER_BYTES`]; the workload validation
    /// guarantees it is not.
    #[inline]
    pub fn write(&self, buf: &mut [u8]) {
        let h = &mut buf[..HEADER_BYTES];
        h[0..4].copy_from_slice(&MAGIC);
        h[4..12].copy_from_slice(&self.run_id.to_be_bytes());
        h[12..16].copy_from_slice(&self.stream.to_be_bytes());
        h[16..24].copy_from_slice(&self.seq.to_be_bytes());
        h[24..32].copy_from_slice(&self.intended_send_ns.to_be_bytes());
    }

    /// Reads the header of a value; never panics.
    #[inline]
    pub fn read(value: Option<&[u8]>) -> Result<Stamp, Malformed> {
        let v = value.ok_or(Malformed::TooShort)?;
        if v.len() < HEADER_BYTES {
            return Err(Malformed::TooShort);
        }
        if v[0..4] != MAGIC {
            return Err(Malformed::BadMagic);
        }
        let u64_at = |i: usize| u64::from_be_bytes(v[i..i + 8].try_into().expect("8 bytes"));
        Ok(Stamp {
            run_id: u64_at(4),
            stream: u32::from_be_bytes(v[12..16].try_into().expect("4 bytes")),
            seq: u64_at(16),
            intended_send_ns: u64_at(24),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = Stamp {
            run_id: 0xdead_beef_0102_0304,
            stream: 7,
            seq: 123_456_789,
            intended_send_ns: 1_700_000_000_000_000_000,
        };
        let mut buf = vec![0xAA; 1024];
        s.write(&mut buf);
        assert_eq!(&buf[..4], b"KOB1");
        assert_eq!(Stamp::read(Some(&buf)), Ok(s));
    }

    #[test]
    fn header_layout_is_big_endian_at_documented_offsets() {
        let s = Stamp {
            run_id: 1,
            stream: 2,
            seq: 3,
            intended_send_ns: 4,
        };
        let mut buf = [0u8; HEADER_BYTES];
        s.write(&mut buf);
        assert_eq!(buf[11], 1);
        assert_eq!(buf[15], 2);
        assert_eq!(buf[23], 3);
        assert_eq!(buf[31], 4);
    }

    #[test]
    fn key_extension_round_trips_and_is_optional() {
        let mut buf = vec![0u8; 64];
        assert_eq!(key_seq(&buf), None);
        write_key_seq(&mut buf, 0x0102);
        assert_eq!(&buf[32..36], b"KOBK");
        assert_eq!(buf[43], 2);
        assert_eq!(key_seq(&buf), Some(0x0102));
        assert_eq!(key_seq(&buf[..KEYED_HEADER_BYTES - 1]), None);
        assert_eq!(key_seq(&[]), None);
    }

    #[test]
    fn malformed_values_are_classified_not_panicked_on() {
        assert_eq!(Stamp::read(None), Err(Malformed::TooShort));
        assert_eq!(Stamp::read(Some(b"KOB1")), Err(Malformed::TooShort));
        assert_eq!(Stamp::read(Some(&[0u8; 40])), Err(Malformed::BadMagic));
    }
}
