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
//!
//! - `read.rs`: whole frames off a buffer or a socket;
//! - `header.rs`: request and response headers, and the bodies behind them;
//! - `produce.rs`: the guarded walk and decoding of Produce requests, their
//!   records, and the error responses the proxy makes up for them;
//! - `records.rs`: the stamps inside a Produce partition's record batches;
//! - `response.rs`: responses decoded and encoded whole, for rewriting;
//! - `cursor.rs`: the bounds-checking cursor the walks read with.

mod cursor;
mod header;
mod produce;
mod read;
mod records;
mod response;

pub use header::{request_body, request_meta, response_body, response_correlation_id, RequestMeta};
pub use produce::{
    decode_produce, produce_error_response, produce_records, produce_shape, PartitionRecords,
    ProduceShape, MAX_PRODUCE_PARTITIONS,
};
pub use read::{decode_frame, read_frame};
pub use records::record_spans;
pub use response::{decode_response, encode_response};

/// Kafka's default `socket.request.max.bytes` (100 MiB): no broker accepts a
/// larger request, and no client asks for a larger response by default.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 100 * 1024 * 1024;

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
    #[error("reading a frame: {cause}")]
    Io { cause: std::io::Error },
}

impl From<std::io::Error> for FrameError {
    fn from(cause: std::io::Error) -> FrameError {
        FrameError::Io { cause }
    }
}

fn malformed(what: &'static str, reason: impl ToString) -> FrameError {
    FrameError::Malformed {
        what,
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests;
