//! Finding the cluster's brokers, and pointing every broker address a
//! response advertises at the proxy's listeners.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    metadata_response::MetadataResponseBroker, ApiKey, ApiVersionsRequest, ApiVersionsResponse,
    DescribeClusterResponse, FetchResponse, FindCoordinatorResponse, MetadataRequest,
    MetadataResponse, ProduceResponse, RequestHeader,
};
use kafka_protocol::protocol::{Encodable, Message, StrBytes};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::{
    lock, route, twin_of, ProxiedBroker, ProxyError, Shared, PROXY_HOST, TWIN_NODE_OFFSET,
};
use crate::faults::frame::{self, read_frame, response_body, FrameError};

/// Asks the first bootstrap broker that answers for the cluster's brokers and
/// opens a listener for each.
pub(super) async fn discover(
    shared: &Arc<Shared>,
    bootstrap: &[String],
) -> Result<BTreeMap<i32, ProxiedBroker>, ProxyError> {
    let mut reasons = Vec::new();
    for addr in bootstrap {
        let attempt =
            tokio::time::timeout(shared.config.connect_timeout, fetch_brokers(addr, shared)).await;
        let brokers = match attempt {
            Ok(Ok(brokers)) => brokers,
            Ok(Err(e)) => {
                reasons.push(format!("{addr}: {e}"));
                continue;
            }
            Err(_) => {
                reasons.push(format!(
                    "{addr}: no answer within {:?}",
                    shared.config.connect_timeout
                ));
                continue;
            }
        };
        let mut out = BTreeMap::new();
        for (node, host, port) in brokers {
            let proxy =
                route(shared, &host, port).map_err(|source| ProxyError::Bind { cause: source })?;
            out.insert(
                node,
                ProxiedBroker {
                    upstream: format!("{host}:{port}"),
                    proxy,
                },
            );
        }
        if out.is_empty() {
            reasons.push(format!("{addr}: metadata lists no broker"));
            continue;
        }
        return Ok(out);
    }
    Err(ProxyError::Discovery {
        bootstrap: bootstrap.join(","),
        reason: reasons.join("; "),
    })
}

/// One request/response exchange on a fresh connection.
async fn call<M: Encodable>(
    stream: &mut TcpStream,
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &M,
    max: usize,
) -> Result<Bytes, FrameError> {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("kafka-order-bench-proxy")));
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    let bad = |e: anyhow::Error| FrameError::Malformed {
        what: "request to encode",
        reason: format!("{e:#}"),
    };
    header
        .encode(&mut buf, key.request_header_version(version))
        .map_err(bad)?;
    body.encode(&mut buf, version).map_err(bad)?;
    let n = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&n.to_be_bytes());
    stream.write_all(&buf).await?;
    let mut rbuf = BytesMut::new();
    let frame = read_frame(stream, &mut rbuf, max)
        .await?
        .ok_or(FrameError::Truncated { have: 0, need: 4 })?;
    let (_, body) = response_body(&frame, key, version)?;
    Ok(body)
}

/// (node id, host, port) of every broker, from a Metadata request at the
/// highest version both sides know (found with ApiVersions v0, which every
/// broker answers).
pub(super) async fn fetch_brokers(
    addr: &str,
    shared: &Arc<Shared>,
) -> Result<Vec<(i32, String, i32)>, FrameError> {
    let max = shared.config.max_frame_bytes;
    let mut stream = TcpStream::connect(addr).await?;
    let body = call(
        &mut stream,
        ApiKey::ApiVersions,
        0,
        1,
        &ApiVersionsRequest::default(),
        max,
    )
    .await?;
    let versions: ApiVersionsResponse = frame::decode_response(&body, 0, "ApiVersions response")?;
    let ours = MetadataRequest::VERSIONS;
    let theirs = versions
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::Metadata as i16)
        .map(|k| (k.min_version, k.max_version))
        .unwrap_or((0, 0));
    let version = theirs.1.min(ours.max);
    if version < theirs.0.max(ours.min) {
        return Err(FrameError::Malformed {
            what: "ApiVersions response",
            reason: format!(
                "no common Metadata version (broker {}..{}, proxy {ours})",
                theirs.0, theirs.1
            ),
        });
    }
    // An empty topic list asks for brokers only (v1+; v0 means all topics,
    // which is also fine).
    let request = MetadataRequest::default().with_topics(Some(Vec::new()));
    let body = call(&mut stream, ApiKey::Metadata, version, 2, &request, max).await?;
    let metadata: MetadataResponse = frame::decode_response(&body, version, "Metadata response")?;
    Ok(metadata
        .brokers
        .iter()
        .map(|b| (b.node_id.0, b.host.to_string(), b.port))
        .collect())
}

/// Points every broker address a response advertises at the proxy. Returns
/// the original bytes when there is nothing to rewrite.
pub(super) fn rewrite(
    frame: Bytes,
    key: ApiKey,
    version: i16,
    shared: &Arc<Shared>,
) -> Result<Bytes, FrameError> {
    let (header, body) = response_body(&frame, key, version)?;
    let bind_err = |e: std::io::Error| FrameError::Io { cause: e };
    let to_proxy = |host: &mut StrBytes, port: &mut i32| -> Result<(), FrameError> {
        if host.is_empty() || *port < 0 {
            return Ok(());
        }
        let addr = route(shared, host, *port).map_err(bind_err)?;
        *host = StrBytes::from_static_str(PROXY_HOST);
        *port = i32::from(addr.port());
        Ok(())
    };
    match key {
        ApiKey::Metadata => {
            let mut m: MetadataResponse =
                frame::decode_response(&body, version, "Metadata response")?;
            // Every twin a leader move opened is a node of the cluster.
            let mut twins = Vec::new();
            for b in &m.brokers {
                if let Some(addr) = twin_of(shared, &format!("{}:{}", b.host, b.port)) {
                    twins.push(
                        MetadataResponseBroker::default()
                            .with_node_id((b.node_id.0 + TWIN_NODE_OFFSET).into())
                            .with_host(StrBytes::from_static_str(PROXY_HOST))
                            .with_port(i32::from(addr.port()))
                            .with_rack(b.rack.clone()),
                    );
                }
            }
            for b in &mut m.brokers {
                to_proxy(&mut b.host, &mut b.port)?;
            }
            m.brokers.extend(twins);
            // Partitions moved to a twin are led by it.
            let moved: Vec<(String, i32)> = lock(&shared.moves)
                .on_twin
                .iter()
                .filter(|(_, on)| **on)
                .map(|(k, _)| k.clone())
                .collect();
            if !moved.is_empty() {
                for t in &mut m.topics {
                    let name = t.name.as_ref().map(|n| n.0.to_string());
                    let id = t.topic_id.simple().to_string();
                    for p in &mut t.partitions {
                        let hit = moved.iter().any(|(topic, partition)| {
                            *partition == p.partition_index
                                && (Some(topic) == name.as_ref() || *topic == id)
                        });
                        if hit && p.leader_id.0 >= 0 {
                            p.leader_id = (p.leader_id.0 + TWIN_NODE_OFFSET).into();
                        }
                    }
                }
            }
            frame::encode_response(key, version, &header, &m)
        }
        ApiKey::FindCoordinator => {
            let mut m: FindCoordinatorResponse =
                frame::decode_response(&body, version, "FindCoordinator response")?;
            if m.node_id.0 >= 0 {
                to_proxy(&mut m.host, &mut m.port)?;
            }
            for c in &mut m.coordinators {
                if c.node_id.0 >= 0 {
                    to_proxy(&mut c.host, &mut c.port)?;
                }
            }
            frame::encode_response(key, version, &header, &m)
        }
        ApiKey::DescribeCluster => {
            let mut m: DescribeClusterResponse =
                frame::decode_response(&body, version, "DescribeCluster response")?;
            for b in &mut m.brokers {
                to_proxy(&mut b.host, &mut b.port)?;
            }
            frame::encode_response(key, version, &header, &m)
        }
        ApiKey::Produce => {
            if version > ProduceResponse::VERSIONS.max {
                return Ok(frame);
            }
            let mut m: ProduceResponse =
                frame::decode_response(&body, version, "Produce response")?;
            if m.node_endpoints.is_empty() {
                return Ok(frame);
            }
            for e in &mut m.node_endpoints {
                to_proxy(&mut e.host, &mut e.port)?;
            }
            frame::encode_response(key, version, &header, &m)
        }
        ApiKey::Fetch => {
            if version > FetchResponse::VERSIONS.max {
                return Ok(frame);
            }
            let mut m: FetchResponse = frame::decode_response(&body, version, "Fetch response")?;
            if m.node_endpoints.is_empty() {
                return Ok(frame);
            }
            for e in &mut m.node_endpoints {
                to_proxy(&mut e.host, &mut e.port)?;
            }
            frame::encode_response(key, version, &header, &m)
        }
        _ => Ok(frame),
    }
}
