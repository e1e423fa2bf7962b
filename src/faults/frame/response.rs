//! Responses decoded and encoded whole with `kafka-protocol`, for the
//! proxy to rewrite them.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};

use super::{malformed, FrameError};

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

/// Decodes a response body with `kafka-protocol`, naming `what` on failure.
pub fn decode_response<M: Decodable>(
    body: &Bytes,
    api_version: i16,
    what: &'static str,
) -> Result<M, FrameError> {
    let mut buf = body.clone();
    M::decode(&mut buf, api_version).map_err(|e| malformed(what, format!("{e:#}")))
}
