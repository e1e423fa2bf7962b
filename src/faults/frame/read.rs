//! Whole length-prefixed frames, taken off a buffer or read from a socket.

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::FrameError;

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
