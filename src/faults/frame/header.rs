//! Request and response headers: the fixed start the proxy peeks at, and
//! the whole header decoded to reach the body behind it.

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::Decodable;

use super::{malformed, FrameError};

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
