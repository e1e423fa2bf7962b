//! The bounds-checking cursor that the Produce request walk and the record
//! batch walk read with.

use bytes::Buf;

use super::{malformed, FrameError};

/// A bounds-checking cursor over a request body.
pub(super) struct Cursor<'a> {
    pub(super) buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(super) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FrameError> {
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
    pub(super) fn i16(&mut self, what: &'static str) -> Result<i16, FrameError> {
        Ok(self.take(2, what)?.get_i16())
    }
    pub(super) fn i32(&mut self, what: &'static str) -> Result<i32, FrameError> {
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
    pub(super) fn skip_bytes(
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
    pub(super) fn count(
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
    pub(super) fn skip_tagged_fields(&mut self) -> Result<(), FrameError> {
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
