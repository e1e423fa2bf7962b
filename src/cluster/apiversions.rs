//! An external broker's release, as far as the protocol reveals it.
//!
//! Brokers do not announce their release; they answer ApiVersions with the
//! version range of each API they serve. A few of those ranges changed in
//! known releases, which bounds the release from below, e.g. `≥ 4.0` (4.0
//! dropped Produce v0–v2). Only PLAINTEXT listeners are probed: the request
//! is ApiVersions v0 over a plain TCP connection, encoded and decoded by
//! `kafka-protocol`.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

const API_PRODUCE: i16 = ApiKey::Produce as i16;
const API_FETCH: i16 = ApiKey::Fetch as i16;

/// One API's supported versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRange {
    pub key: i16,
    pub min: i16,
    pub max: i16,
}

/// Sends ApiVersions v0 to `addr` (`host:port`) and returns every range.
pub fn api_versions(addr: &str, timeout: Duration) -> std::io::Result<Vec<ApiRange>> {
    let sa = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{addr} resolves to nothing")))?;
    let mut s = TcpStream::connect_timeout(&sa, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(&request(7))?;
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let len = i32::from_be_bytes(len);
    if !(6..=1 << 20).contains(&len) {
        return Err(std::io::Error::other(format!(
            "implausible ApiVersions response size {len}"
        )));
    }
    let mut body = vec![0u8; len as usize];
    s.read_exact(&mut body)?;
    parse_response(&body, 7)
}

/// ApiVersions v0 request frame: size, header, empty body, encoded by
/// `kafka-protocol` (as the proxy's frames are).
fn request(correlation: i32) -> Vec<u8> {
    let key = ApiKey::ApiVersions;
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(0)
        .with_correlation_id(correlation)
        .with_client_id(Some(StrBytes::from_static_str("kafka-order-bench")));
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header
        .encode(&mut buf, key.request_header_version(0))
        .expect("a request header encodes");
    ApiVersionsRequest::default()
        .encode(&mut buf, 0)
        .expect("an empty request encodes");
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    buf.to_vec()
}

fn parse_response(b: &[u8], correlation: i32) -> std::io::Result<Vec<ApiRange>> {
    let bad =
        |e: anyhow::Error| std::io::Error::other(format!("malformed ApiVersions response: {e:#}"));
    let mut buf = Bytes::copy_from_slice(b);
    let header = ResponseHeader::decode(&mut buf, ApiKey::ApiVersions.response_header_version(0))
        .map_err(bad)?;
    if header.correlation_id != correlation {
        return Err(std::io::Error::other(
            "malformed ApiVersions response: wrong correlation id",
        ));
    }
    let response = ApiVersionsResponse::decode(&mut buf, 0).map_err(bad)?;
    if response.error_code != 0 {
        return Err(std::io::Error::other(format!(
            "ApiVersions error code {}",
            response.error_code
        )));
    }
    Ok(response
        .api_keys
        .iter()
        .map(|k| ApiRange {
            key: k.api_key,
            min: k.min_version,
            max: k.max_version,
        })
        .collect())
}

/// The release range the ranges reveal, e.g. `≥ 4.0`.
pub fn release_from(ranges: &[ApiRange]) -> Option<String> {
    let get = |k: i16| ranges.iter().find(|r| r.key == k);
    let produce = get(API_PRODUCE)?;
    let fetch = get(API_FETCH)?;
    let text = if fetch.min >= 4 || produce.min >= 3 {
        // KIP-896: 4.0 removed Fetch v0-v3 and Produce v0-v2. A 4.x broker
        // still advertises Produce from v0 (Apache Kafka 4.1.1 answers
        // Produce 0-13, Fetch 4-18), so Fetch is the telling range.
        "≥ 4.0"
    } else if fetch.max >= 13 {
        // Fetch v13 (topic ids) arrived in 3.1.
        "3.1 to 3.9"
    } else if produce.max >= 9 {
        // Produce v9 (flexible versions) arrived in 2.4.
        "2.4 to 3.0"
    } else {
        "< 2.4"
    };
    Some(format!("{text} (from ApiVersions)"))
}

/// The release of the first answering broker among `bootstrap`'s addresses,
/// when the client talks PLAINTEXT to them (`properties` set no other
/// `security.protocol`).
pub fn probe(
    bootstrap: &str,
    properties: &[(String, String)],
    timeout: Duration,
) -> Option<String> {
    let plaintext = properties
        .iter()
        .rev()
        .find(|(k, _)| k == "security.protocol")
        .map_or(true, |(_, v)| v.eq_ignore_ascii_case("plaintext"));
    if !plaintext {
        return None;
    }
    bootstrap
        .split(',')
        .map(|a| a.trim())
        .filter(|a| !a.contains("://") || a.to_ascii_uppercase().starts_with("PLAINTEXT://"))
        .map(|a| a.split_once("://").map_or(a, |(_, x)| x))
        .find_map(|a| api_versions(a, timeout).ok())
        .and_then(|r| release_from(&r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::api_versions_response::ApiVersion;
    use std::net::TcpListener;

    /// A broker's ApiVersions v0 answer, as `kafka-protocol` encodes it.
    fn response(correlation: i32, ranges: &[(i16, i16, i16)]) -> Vec<u8> {
        let key = ApiKey::ApiVersions;
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        ResponseHeader::default()
            .with_correlation_id(correlation)
            .encode(&mut buf, key.response_header_version(0))
            .unwrap();
        let api_keys = ranges
            .iter()
            .map(|&(k, lo, hi)| {
                ApiVersion::default()
                    .with_api_key(k)
                    .with_min_version(lo)
                    .with_max_version(hi)
            })
            .collect();
        ApiVersionsResponse::default()
            .with_api_keys(api_keys)
            .encode(&mut buf, 0)
            .unwrap();
        let size = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&size.to_be_bytes());
        buf.to_vec()
    }

    #[test]
    fn releases_from_ranges() {
        let r = |p: (i16, i16), f: i16| {
            vec![
                ApiRange {
                    key: 0,
                    min: p.0,
                    max: p.1,
                },
                ApiRange {
                    key: 1,
                    min: 0,
                    max: f,
                },
            ]
        };
        // What Apache Kafka 4.1.1 answers: Produce still from v0.
        let mut kafka_4_1 = r((0, 13), 18);
        kafka_4_1[1].min = 4;
        assert_eq!(
            release_from(&kafka_4_1).unwrap(),
            "≥ 4.0 (from ApiVersions)"
        );
        assert_eq!(
            release_from(&r((3, 12), 17)).unwrap(),
            "≥ 4.0 (from ApiVersions)"
        );
        assert_eq!(
            release_from(&r((0, 9), 15)).unwrap(),
            "3.1 to 3.9 (from ApiVersions)"
        );
        assert_eq!(
            release_from(&r((0, 9), 12)).unwrap(),
            "2.4 to 3.0 (from ApiVersions)"
        );
        assert_eq!(
            release_from(&r((0, 8), 11)).unwrap(),
            "< 2.4 (from ApiVersions)"
        );
        assert_eq!(release_from(&[]), None);
    }

    #[test]
    fn probes_a_fake_broker_over_tcp() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut len = [0u8; 4];
            s.read_exact(&mut len).unwrap();
            let mut req = vec![0u8; i32::from_be_bytes(len) as usize];
            s.read_exact(&mut req).unwrap();
            assert_eq!(&req[0..2], &18i16.to_be_bytes());
            let corr = i32::from_be_bytes(req[4..8].try_into().unwrap());
            s.write_all(&response(corr, &[(0, 0, 13), (1, 4, 18), (18, 0, 4)]))
                .unwrap();
        });
        let v = probe(&addr, &[], Duration::from_secs(2));
        server.join().unwrap();
        assert_eq!(v.as_deref(), Some("≥ 4.0 (from ApiVersions)"));
        let sasl = [("security.protocol".to_string(), "SASL_SSL".to_string())];
        assert_eq!(probe(&addr, &sasl, Duration::from_millis(200)), None);
        assert_eq!(probe("127.0.0.1:1", &[], Duration::from_millis(200)), None);
    }
}
