//! An external broker's release, as far as the protocol reveals it.
//!
//! Brokers do not announce their release; they answer ApiVersions with the
//! version range of each API they serve. A few of those ranges changed in
//! known releases, which bounds the release from below, e.g. `≥ 4.0` (4.0
//! dropped Produce v0–v2). Only PLAINTEXT listeners are probed: the request
//! is ApiVersions v0 over a plain TCP connection.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const API_PRODUCE: i16 = 0;
const API_FETCH: i16 = 1;
const API_VERSIONS: i16 = 18;

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

/// ApiVersions v0 request frame: size, header v1 (key, version, correlation
/// id, client id), empty body.
fn request(correlation: i32) -> Vec<u8> {
    let client = b"kafka-order-bench";
    let mut m = Vec::new();
    m.extend_from_slice(&API_VERSIONS.to_be_bytes());
    m.extend_from_slice(&0i16.to_be_bytes());
    m.extend_from_slice(&correlation.to_be_bytes());
    m.extend_from_slice(&(client.len() as i16).to_be_bytes());
    m.extend_from_slice(client);
    let mut out = (m.len() as i32).to_be_bytes().to_vec();
    out.extend(m);
    out
}

fn parse_response(b: &[u8], correlation: i32) -> std::io::Result<Vec<ApiRange>> {
    let bad = |what: &str| std::io::Error::other(format!("malformed ApiVersions response: {what}"));
    let i16_at =
        |o: usize| -> Option<i16> { Some(i16::from_be_bytes(b.get(o..o + 2)?.try_into().ok()?)) };
    let i32_at =
        |o: usize| -> Option<i32> { Some(i32::from_be_bytes(b.get(o..o + 4)?.try_into().ok()?)) };
    if i32_at(0) != Some(correlation) {
        return Err(bad("wrong correlation id"));
    }
    let error = i16_at(4).ok_or_else(|| bad("short"))?;
    if error != 0 {
        return Err(std::io::Error::other(format!(
            "ApiVersions error code {error}"
        )));
    }
    let n = i32_at(6).ok_or_else(|| bad("short"))?;
    if !(0..=1000).contains(&n) {
        return Err(bad("implausible API count"));
    }
    (0..n as usize)
        .map(|i| {
            let o = 10 + i * 6;
            Some(ApiRange {
                key: i16_at(o)?,
                min: i16_at(o + 2)?,
                max: i16_at(o + 4)?,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad("truncated API list"))
}

/// The release range the ranges reveal, e.g. `≥ 4.0`.
pub fn release_from(ranges: &[ApiRange]) -> Option<String> {
    let get = |k: i16| ranges.iter().find(|r| r.key == k);
    let produce = get(API_PRODUCE)?;
    let fetch = get(API_FETCH)?;
    let text = if produce.min >= 3 {
        // KIP-896: 4.0 removed Produce v0-v2.
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
    use std::net::TcpListener;

    fn response(correlation: i32, ranges: &[(i16, i16, i16)]) -> Vec<u8> {
        let mut b = correlation.to_be_bytes().to_vec();
        b.extend_from_slice(&0i16.to_be_bytes());
        b.extend_from_slice(&(ranges.len() as i32).to_be_bytes());
        for (k, lo, hi) in ranges {
            for v in [k, lo, hi] {
                b.extend_from_slice(&v.to_be_bytes());
            }
        }
        let mut out = (b.len() as i32).to_be_bytes().to_vec();
        out.extend(b);
        out
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
            s.write_all(&response(corr, &[(0, 3, 13), (1, 4, 18), (18, 0, 4)]))
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
