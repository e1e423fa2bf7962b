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
//! Any bytes after the header are padding and are ignored. Keys are ignored.
//! A producer in another language that writes this header can be checked by
//! `kafka-order-bench verify`.

/// Bytes of the stamped header at the start of every value.
pub const HEADER_BYTES: usize = 32;
/// The first four bytes of every value.
pub const MAGIC: [u8; 4] = *b"KOB1";

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
    fn malformed_values_are_classified_not_panicked_on() {
        assert_eq!(Stamp::read(None), Err(Malformed::TooShort));
        assert_eq!(Stamp::read(Some(b"KOB1")), Err(Malformed::TooShort));
        assert_eq!(Stamp::read(Some(&[0u8; 40])), Err(Malformed::BadMagic));
    }
}
