//! The Kafka-protocol-aware fault proxy.
//!
//! [`Proxy::start`] asks the upstream cluster for its brokers, opens one
//! listener on `127.0.0.1:0` per broker and hands out [`Proxy::bootstrap`],
//! the addresses a client should use instead of the cluster's. Each accepted
//! connection gets its own upstream connection to the broker its listener
//! stands for, and two halves (one task per connection, mini-redis style):
//!
//! - client → broker: reads whole frames (size-guarded, see [`super::frame`]),
//!   numbers Produce requests across the whole proxy and applies the
//!   [`FaultPlan`]'s decision to each; every other request is forwarded as
//!   the original bytes;
//! - broker → client: answers requests strictly in the order they arrived.
//!   Each request leaves a `Pending` entry in a queue; synthetic answers
//!   (a rejected Produce) wait in that queue behind the upstream answers
//!   before them, so a client never sees responses out of order.
//!
//! With a [`Link`] in [`ProxyConfig::link`], each connection emulates that
//! client↔broker network: requests are delayed by half the round trip
//! between the client and the proxy's logic, responses by the other half
//! between the logic and the client, each through a delay line (see
//! [`super::netem`]) that keeps pipelining and order. An answer the proxy
//! makes up (a `reject`) therefore pays the whole round trip too, as it
//! would coming from a broker. With the default link the pumps read and
//! write the sockets directly, with no extra task.
//!
//! The proxy's sockets have small kernel buffers
//! ([`ProxyConfig::socket_buffer_bytes`]): with Linux's autotuning a
//! loopback receive buffer grows to `tcp_rmem` max (32 MiB here), so the
//! proxy would hold megabytes that a direct connection does not, and an
//! `acks=0` producer (whose delivery report means "written to the socket")
//! would read faster through the proxy than direct.
//!
//! Responses that advertise broker addresses (Metadata, FindCoordinator,
//! DescribeCluster, and the `node_endpoints` of Produce v10+ and Fetch v16+)
//! are decoded, pointed at the proxy's listeners and re-encoded; a broker the
//! proxy has not seen yet gets a listener on the fly. Everything else goes
//! back as the broker's original bytes: some brokers send bytes that a
//! decode/encode round trip would change.
//!
//! `acks=0` Produce requests get no response from a broker, so nothing
//! waits for one (an answer that comes anyway, as from librdkafka's mock
//! cluster, is passed on); a `reject` of one drops it silently (the record is
//! lost, as the client asked not to be told), and `lose-ack` has nothing to
//! lose and is neither applied nor counted.
//!
//! The proxy runs on its own tokio runtime in a background thread, so that
//! synchronous callers (the runner uses rdkafka's `BaseProducer`) can use it.
//! [`Proxy::shutdown`] (also run on drop) signals that thread through a
//! channel and waits for it; every connection is closed. Plaintext only: no
//! TLS or SASL listeners.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, DescribeClusterResponse, FetchResponse,
    FindCoordinatorResponse, MetadataRequest, MetadataResponse, ProduceResponse, RequestHeader,
};
use kafka_protocol::protocol::{Encodable, Message, StrBytes};
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot};

use super::events::FaultEvent;
use super::frame::{
    self, decode_produce, produce_error_response, produce_records, produce_shape, read_frame,
    request_body, request_meta, response_body, response_correlation_id, FrameError,
    PartitionRecords, RequestMeta, DEFAULT_MAX_FRAME_BYTES,
};
use super::netem::{delay_line, DelayRx, DelayTx, Link, LinkCell};
use super::plan::{FaultAction, FaultPlan, LoseAckMode, TriggerState};
use super::profile::{FaultKind, FaultName};

/// The host every rewritten broker address points at.
const PROXY_HOST: &str = "127.0.0.1";

/// Settings beyond the fault plan.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Largest frame accepted from either side; larger ones close the
    /// connection with [`FrameError::TooLarge`].
    pub max_frame_bytes: usize,
    /// How long to wait for an upstream connection (also bounds start-up).
    pub connect_timeout: Duration,
    /// The emulated client↔broker network of every proxied connection:
    /// `rtt / 2` (plus jitter) on requests, `rtt / 2` on responses,
    /// bandwidth in each direction. Default: none.
    pub link: Link,
    /// `SO_RCVBUF` and `SO_SNDBUF` of the proxy's sockets, both sides, so
    /// that the proxy buffers about as much as a broker's own socket does
    /// (Kafka's `socket.receive.buffer.bytes` is 100 KiB) and TCP
    /// backpressure reaches the client. None: the kernel's autotuning.
    pub socket_buffer_bytes: Option<u32>,
}

/// [`ProxyConfig::socket_buffer_bytes`] by default: Kafka's own
/// `socket.receive.buffer.bytes` (the kernel doubles it).
pub const DEFAULT_SOCKET_BUFFER_BYTES: u32 = 100 * 1024;

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            connect_timeout: Duration::from_secs(10),
            link: Link::default(),
            socket_buffer_bytes: Some(DEFAULT_SOCKET_BUFFER_BYTES),
        }
    }
}

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The bootstrap list holds no address.
    #[error("no broker address in bootstrap list {bootstrap:?}")]
    EmptyBootstrap { bootstrap: String },
    /// No bootstrap broker answered the metadata request.
    #[error("could not learn the brokers from {bootstrap}: {reason}")]
    Discovery { bootstrap: String, reason: String },
    /// Binding a listener failed.
    #[error("binding a listener on {PROXY_HOST}:0: {source}")]
    Bind { source: std::io::Error },
    /// The runtime or its thread could not be started.
    #[error("starting the proxy runtime: {source}")]
    Runtime { source: std::io::Error },
    /// The proxy thread ended before reporting.
    #[error("the proxy thread exited during start-up")]
    ThreadGone,
}

/// One upstream broker and the proxy listener standing for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxiedBroker {
    /// The broker's advertised `host:port`.
    pub upstream: String,
    /// The proxy listener clients reach it through.
    pub proxy: SocketAddr,
}

/// A running fault proxy. See the module documentation.
pub struct Proxy {
    shared: Arc<Shared>,
    brokers: BTreeMap<i32, ProxiedBroker>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("bootstrap", &self.bootstrap())
            .field("plan", &self.shared.plan)
            .finish_non_exhaustive()
    }
}

impl Proxy {
    /// Starts a proxy in front of the cluster reachable at
    /// `upstream_bootstrap` (`host:port[,host:port…]`), injecting `plan`.
    pub fn start(upstream_bootstrap: &str, plan: FaultPlan) -> Result<Proxy, ProxyError> {
        Proxy::start_with(upstream_bootstrap, plan, ProxyConfig::default())
    }

    /// [`Proxy::start`] with explicit settings.
    pub fn start_with(
        upstream_bootstrap: &str,
        plan: FaultPlan,
        config: ProxyConfig,
    ) -> Result<Proxy, ProxyError> {
        let bootstrap: Vec<String> = upstream_bootstrap
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if bootstrap.is_empty() {
            return Err(ProxyError::EmptyBootstrap {
                bootstrap: upstream_bootstrap.to_string(),
            });
        }
        let shared = Arc::new(Shared::new(plan, config));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("kob-proxy".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("kob-proxy-io")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(source) => {
                        let _ = ready_tx.send(Err(ProxyError::Runtime { source }));
                        return;
                    }
                };
                rt.block_on(async move {
                    let found = discover(&thread_shared, &bootstrap).await;
                    let ok = found.is_ok();
                    let _ = ready_tx.send(found);
                    if ok {
                        // Either a stop message or the Proxy being dropped
                        // without one ends the wait.
                        let _ = stop_rx.await;
                    }
                });
                // Dropping the runtime cancels every accept loop and
                // connection task, which closes their sockets.
                rt.shutdown_timeout(Duration::from_secs(2));
            })
            .map_err(|source| ProxyError::Runtime { source })?;
        let brokers = match ready_rx.recv() {
            Ok(Ok(brokers)) => brokers,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(ProxyError::ThreadGone);
            }
        };
        Ok(Proxy {
            shared,
            brokers,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The bootstrap list to give clients: the proxy's listener for every
    /// broker the cluster advertised at start-up, comma-separated.
    pub fn bootstrap(&self) -> String {
        self.brokers
            .values()
            .map(|b| b.proxy.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The brokers learned at start-up, by node id.
    pub fn brokers(&self) -> &BTreeMap<i32, ProxiedBroker> {
        &self.brokers
    }

    /// The fault plan being injected.
    pub fn plan(&self) -> &FaultPlan {
        &self.shared.plan
    }

    /// Faults injected so far, by kind (`reject`, `lose-ack`, `delay`,
    /// `reset`). Every proxy kind of the plan's profile is present, at 0 if
    /// it never fired.
    pub fn injected(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for kind in self.shared.plan.profile().kinds() {
            let name = match kind {
                FaultKind::Failover => continue,
                other => other.name(),
            };
            out.insert(name.to_string(), 0);
        }
        for (i, name) in FaultName::PROXY.iter().enumerate() {
            let n = self.shared.injected[i].load(Ordering::Relaxed);
            if n > 0 {
                out.insert(name.to_string(), n);
            }
        }
        out
    }

    /// Every fault injected so far as (Produce request index, action), in
    /// index order.
    pub fn fault_log(&self) -> Vec<(u64, FaultAction)> {
        let mut log = lock(&self.shared.fault_log).clone();
        log.sort_by_key(|(i, _)| *i);
        log
    }

    /// Every fault injected so far, with the records its request carried,
    /// in injection order (ids 0, 1, 2, …).
    pub fn events(&self) -> Vec<FaultEvent> {
        lock(&self.shared.events).clone()
    }

    /// Produce requests seen so far (the next request's index).
    pub fn produce_requests(&self) -> u64 {
        self.shared.produce_requests.load(Ordering::Relaxed)
    }

    /// Client connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Connections closed because of an error (malformed or oversized frame,
    /// unreachable broker, …), not counting injected resets.
    pub fn connection_errors(&self) -> u64 {
        self.shared.connection_errors.load(Ordering::Relaxed)
    }

    /// The most recent connection error, for diagnostics.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.shared.last_error).clone()
    }

    /// Stops accepting, closes every connection and waits for the proxy
    /// thread. Idempotent; counters stay readable afterwards.
    pub fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn kind_slot(action: &FaultAction) -> usize {
    let kind = action.kind();
    FaultName::PROXY
        .iter()
        .position(|k| *k == kind)
        .expect("every proxy action is a proxy kind")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// State shared by the handle and every task.
struct Shared {
    plan: FaultPlan,
    config: ProxyConfig,
    produce_requests: AtomicU64,
    injected: [AtomicU64; 4],
    fault_log: Mutex<Vec<(u64, FaultAction)>>,
    /// The plan's memory of sequences seen, and the events injected.
    triggers: Mutex<TriggerState>,
    events: Mutex<Vec<FaultEvent>>,
    started: Instant,
    connections: AtomicU64,
    connection_errors: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// Upstream `host:port` → the proxy listener standing for it.
    routes: Mutex<HashMap<String, SocketAddr>>,
}

impl Shared {
    fn new(plan: FaultPlan, config: ProxyConfig) -> Shared {
        Shared {
            plan,
            config,
            produce_requests: AtomicU64::new(0),
            injected: Default::default(),
            fault_log: Mutex::new(Vec::new()),
            triggers: Mutex::new(TriggerState::default()),
            events: Mutex::new(Vec::new()),
            started: Instant::now(),
            connections: AtomicU64::new(0),
            connection_errors: AtomicU64::new(0),
            last_error: Mutex::new(None),
            routes: Mutex::new(HashMap::new()),
        }
    }

    fn record(&self, index: u64, action: FaultAction, parts: &[PartitionRecords]) {
        self.injected[kind_slot(&action)].fetch_add(1, Ordering::Relaxed);
        lock(&self.fault_log).push((index, action));
        let mut events = lock(&self.events);
        let id = events.len() as u64;
        events.push(FaultEvent {
            id,
            kind: action.name().to_string(),
            request_index: Some(index),
            at_ms: self.started.elapsed().as_millis() as u64,
            records: parts.iter().flat_map(|p| p.spans.iter().copied()).collect(),
        });
    }

    fn error(&self, e: impl std::fmt::Display) {
        self.connection_errors.fetch_add(1, Ordering::Relaxed);
        *lock(&self.last_error) = Some(e.to_string());
    }
}

/// The proxy listener for upstream `host:port`, opening one (and its accept
/// loop) the first time a broker is seen. Must run inside the runtime.
fn route(shared: &Arc<Shared>, host: &str, port: i32) -> std::io::Result<SocketAddr> {
    let upstream = format!("{host}:{port}");
    let mut routes = lock(&shared.routes);
    if let Some(addr) = routes.get(&upstream) {
        return Ok(*addr);
    }
    let socket = TcpSocket::new_v4()?;
    if let Some(bytes) = shared.config.socket_buffer_bytes {
        // Set before listen so accepted sockets inherit them (and the
        // window scale is chosen for them).
        socket.set_recv_buffer_size(bytes)?;
        socket.set_send_buffer_size(bytes)?;
    }
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let listener = socket.listen(1024)?;
    let addr = listener.local_addr()?;
    routes.insert(upstream.clone(), addr);
    tokio::spawn(accept_loop(listener, upstream, shared.clone()));
    Ok(addr)
}

async fn accept_loop(listener: TcpListener, upstream: String, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                tokio::spawn(serve(socket, upstream.clone(), shared.clone()));
            }
            Err(e) => {
                // Out of file descriptors and the like: back off, keep going.
                shared.error(format!("accepting for {upstream}: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Asks the first bootstrap broker that answers for the cluster's brokers and
/// opens a listener for each.
async fn discover(
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
            let proxy = route(shared, &host, port).map_err(|source| ProxyError::Bind { source })?;
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
async fn fetch_brokers(
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

/// How a connection ended.
enum End {
    /// The client (or the broker) closed it.
    Closed,
    /// A fault closed it.
    Reset,
}

/// What answers one request, queued in request order.
enum Pending {
    /// Forwarded upstream: the next upstream response answers it.
    Upstream {
        correlation_id: i32,
        api_key: i16,
        api_version: i16,
        then: Then,
    },
    /// Not forwarded: these bytes answer it.
    Synthetic(Bytes),
    /// Forwarded `acks=0` Produce: a real broker sends no answer, but
    /// librdkafka's mock cluster ignores `acks` and does. If one comes it is
    /// passed on as is (the client discards it, as it would directly).
    Unanswered { correlation_id: i32 },
}

/// `acks=0` correlation ids remembered at most, in case a broker answers
/// them; only reached by a long pure `acks=0` stream with no other request.
const MAX_UNANSWERED: usize = 1 << 20;

/// What to do with an upstream response.
enum Then {
    /// Send the original bytes.
    Forward,
    /// Point advertised broker addresses at the proxy.
    Rewrite(ApiKey),
    /// Send these bytes instead (`lose-ack` with an error code).
    Replace(Bytes),
    /// Drop it and close the connection (`lose-ack`, drop-and-reset).
    DropAndReset,
}

async fn serve(client: TcpStream, upstream: String, shared: Arc<Shared>) {
    shared.connections.fetch_add(1, Ordering::Relaxed);
    let connect = tokio::time::timeout(
        shared.config.connect_timeout,
        connect_upstream(&upstream, shared.config.socket_buffer_bytes),
    );
    let broker = match connect.await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return shared.error(format!("connecting to {upstream}: {e}")),
        Err(_) => return shared.error(format!("connecting to {upstream}: timed out")),
    };
    let _ = client.set_nodelay(true);
    let _ = broker.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (mut broker_read, broker_write) = broker.into_split();
    let (tx, rx) = mpsc::unbounded_channel();
    let client_write = BufWriter::with_capacity(64 * 1024, client_write);
    let mut broker_write = BufWriter::with_capacity(64 * 1024, broker_write);
    let link = shared.config.link;
    let max = shared.config.max_frame_bytes;
    let (mut inlet, mut outlet, tasks) = if link.is_passthrough() {
        (
            Inlet::Direct(client_read, BytesMut::with_capacity(64 * 1024)),
            Outlet::Direct(client_write),
            None,
        )
    } else {
        let cell = LinkCell::new(link);
        let seed = shared.connections.load(Ordering::Relaxed);
        let (req_tx, req_rx) = delay_line(cell.clone(), seed.wrapping_mul(2));
        let (resp_tx, resp_rx) = delay_line(cell, seed.wrapping_mul(2) + 1);
        let reader = tokio::spawn(read_into_line(client_read, req_tx, max));
        let writer = tokio::spawn(write_from_line(resp_rx, client_write));
        (
            Inlet::Delayed(req_rx),
            Outlet::Delayed(Box::new(resp_tx)),
            Some((reader, writer)),
        )
    };
    let outcome = tokio::select! {
        r = requests(&mut inlet, &mut broker_write, tx, &shared) => r,
        r = responses(&mut broker_read, &mut outlet, rx, &shared) => r,
    };
    if let Err(e) = outcome {
        shared.error(format!("connection to {upstream}: {e}"));
    }
    drop(outlet);
    if let Some((reader, writer)) = tasks {
        reader.abort();
        // Responses already in the line still reach the client (in time),
        // then the writer closes its half.
        let drain = link.one_way() + link.jitter + Duration::from_secs(1);
        let _ = tokio::time::timeout(drain, writer).await;
    }
    // Returning drops all halves: both sockets close.
}

/// A socket to `upstream` with the proxy's buffer sizes.
async fn connect_upstream(upstream: &str, buffer: Option<u32>) -> std::io::Result<TcpStream> {
    let mut last = None;
    for addr in tokio::net::lookup_host(upstream).await? {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(bytes) = buffer {
            socket.set_recv_buffer_size(bytes)?;
            socket.set_send_buffer_size(bytes)?;
        }
        match socket.connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no address resolved")
    }))
}

/// Where `requests` reads client frames: the socket, or the far end of the
/// request direction's delay line.
enum Inlet {
    Direct(OwnedReadHalf, BytesMut),
    Delayed(DelayRx<Result<Bytes, FrameError>>),
}

impl Inlet {
    /// A frame that can be had without waiting.
    fn ready(&mut self, max: usize) -> Result<Option<Bytes>, FrameError> {
        match self {
            Inlet::Direct(_, buf) => frame::decode_frame(buf, max),
            Inlet::Delayed(line) => line.try_recv_due().transpose(),
        }
    }

    /// The next frame; None when the client closed.
    async fn next(&mut self, max: usize) -> Result<Option<Bytes>, FrameError> {
        match self {
            Inlet::Direct(read, buf) => read_frame(read, buf, max).await,
            Inlet::Delayed(line) => line.recv().await.transpose(),
        }
    }
}

/// Where `responses` writes to the client: the socket, or the near end of
/// the response direction's delay line.
enum Outlet {
    Direct(BufWriter<OwnedWriteHalf>),
    Delayed(Box<DelayTx<Bytes>>),
}

impl Outlet {
    async fn write(&mut self, frame: &Bytes) -> Result<(), FrameError> {
        match self {
            Outlet::Direct(w) => w.write_all(frame).await?,
            Outlet::Delayed(line) => {
                if !line
                    .send(frame.clone(), frame.len(), tokio::time::Instant::now())
                    .await
                {
                    return Err(FrameError::Io {
                        source: std::io::ErrorKind::BrokenPipe.into(),
                    });
                }
            }
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), FrameError> {
        if let Outlet::Direct(w) = self {
            w.flush().await?;
        }
        Ok(())
    }
}

/// Client socket → request delay line: stamps each frame as it arrives and
/// keeps reading while earlier frames wait. A frame error is queued behind
/// the frames before it.
async fn read_into_line(
    mut client: OwnedReadHalf,
    mut line: DelayTx<Result<Bytes, FrameError>>,
    max: usize,
) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        match read_frame(&mut client, &mut buf, max).await {
            Ok(Some(frame)) => {
                let len = frame.len();
                if !line.send(Ok(frame), len, tokio::time::Instant::now()).await {
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                line.send_marker(Err(e));
                return;
            }
        }
    }
}

/// Response delay line → client socket: writes each frame at its release
/// time, flushing when nothing else is due.
async fn write_from_line(mut line: DelayRx<Bytes>, mut client: BufWriter<OwnedWriteHalf>) {
    loop {
        let frame = match line.try_recv_due() {
            Some(f) => f,
            None => {
                if client.flush().await.is_err() {
                    return;
                }
                match line.recv().await {
                    Some(f) => f,
                    None => break,
                }
            }
        };
        if client.write_all(&frame).await.is_err() {
            return;
        }
    }
    let _ = client.flush().await;
}

/// Client → broker: forwards requests, applying the plan to Produce requests.
async fn requests(
    client: &mut Inlet,
    broker: &mut BufWriter<OwnedWriteHalf>,
    pending: mpsc::UnboundedSender<Pending>,
    shared: &Arc<Shared>,
) -> Result<End, FrameError> {
    let max = shared.config.max_frame_bytes;
    loop {
        // Flush only when no further request is already buffered, so a burst
        // of pipelined requests goes out in one write.
        let frame = match client.ready(max)? {
            Some(f) => f,
            None => {
                broker.flush().await?;
                match client.next(max).await? {
                    Some(f) => f,
                    None => return Ok(End::Closed),
                }
            }
        };
        let meta = request_meta(&frame)?;
        let (then, action) = if meta.api_key == ApiKey::Produce as i16 {
            match produce(&frame, &meta, shared)? {
                Step::Forward(then) => (then, None),
                Step::ForwardAfter(then, ms) => (then, Some(ms)),
                Step::Answer(bytes) => {
                    let _ = pending.send(Pending::Synthetic(bytes));
                    continue;
                }
                Step::Swallow => continue,
                Step::Reset => {
                    broker.flush().await?;
                    return Ok(End::Reset);
                }
            }
        } else {
            (Some(then_for(&meta)), None)
        };
        if let Some(ms) = action {
            // The `delay:` fault is a *stalled request*: sleeping here holds
            // every request behind this one too, which is the point. Network
            // latency is the link's delay line, which does not.
            broker.flush().await?;
            tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
        }
        let _ = pending.send(match then {
            Some(then) => Pending::Upstream {
                correlation_id: meta.correlation_id,
                api_key: meta.api_key,
                api_version: meta.api_version,
                then,
            },
            None => Pending::Unanswered {
                correlation_id: meta.correlation_id,
            },
        });
        broker.write_all(&frame).await?;
    }
}

/// What to do with one Produce request. `Forward(None)` forwards a request
/// that gets no response (`acks=0`).
enum Step {
    Forward(Option<Then>),
    ForwardAfter(Option<Then>, u32),
    Answer(Bytes),
    Swallow,
    Reset,
}

fn produce(frame: &Bytes, meta: &RequestMeta, shared: &Arc<Shared>) -> Result<Step, FrameError> {
    let body = request_body(frame, meta)?;
    // A Produce request the proxy cannot read is refused rather than
    // forwarded: without `acks` it cannot know whether an answer will come,
    // and guessing wrong would desynchronise every later response.
    let shape = produce_shape(&body, meta.api_version)?;
    let answered = shape.acks != 0;
    let normal = || {
        if answered {
            Some(then_for(meta))
        } else {
            None
        }
    };
    let index = shared.produce_requests.fetch_add(1, Ordering::Relaxed);
    if shared.plan.is_empty() {
        return Ok(Step::Forward(normal()));
    }
    // The records the request carries: what a record plan triggers on and
    // what the event names.
    let parts = produce_records(&decode_produce(&body, meta.api_version)?);
    let decided = shared
        .plan
        .decide_request(&mut lock(&shared.triggers), index, &parts);
    let Some(action) = decided else {
        return Ok(Step::Forward(normal()));
    };
    let step = match action {
        FaultAction::Reject { error_code } => {
            if answered {
                let request = decode_produce(&body, meta.api_version)?;
                Step::Answer(produce_error_response(
                    &request,
                    meta.api_version,
                    meta.correlation_id,
                    error_code,
                )?)
            } else {
                Step::Swallow
            }
        }
        FaultAction::LoseAck { .. } if !answered => return Ok(Step::Forward(None)),
        FaultAction::LoseAck {
            mode: LoseAckMode::Error(code),
        } => {
            let request = decode_produce(&body, meta.api_version)?;
            let replacement =
                produce_error_response(&request, meta.api_version, meta.correlation_id, code)?;
            Step::Forward(Some(Then::Replace(replacement)))
        }
        FaultAction::LoseAck {
            mode: LoseAckMode::DropAndReset,
        } => Step::Forward(Some(Then::DropAndReset)),
        FaultAction::Delay { ms } => Step::ForwardAfter(normal(), ms),
        FaultAction::Reset => Step::Reset,
    };
    shared.record(index, action, &parts);
    Ok(step)
}

/// Which responses need their broker addresses rewritten.
fn then_for(meta: &RequestMeta) -> Then {
    let key = ApiKey::try_from(meta.api_key);
    match key {
        Ok(k @ (ApiKey::Metadata | ApiKey::FindCoordinator | ApiKey::DescribeCluster)) => {
            Then::Rewrite(k)
        }
        Ok(ApiKey::Produce) if meta.api_version >= 10 => Then::Rewrite(ApiKey::Produce),
        Ok(ApiKey::Fetch) if meta.api_version >= 16 => Then::Rewrite(ApiKey::Fetch),
        _ => Then::Forward,
    }
}

/// Broker → client: answers requests in the order they came.
async fn responses(
    broker: &mut OwnedReadHalf,
    client: &mut Outlet,
    mut pending: mpsc::UnboundedReceiver<Pending>,
    shared: &Arc<Shared>,
) -> Result<End, FrameError> {
    let max = shared.config.max_frame_bytes;
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut unanswered: VecDeque<i32> = VecDeque::new();
    loop {
        let next = match pending.try_recv() {
            Ok(p) => p,
            Err(_) => {
                client.flush().await?;
                match pending.recv().await {
                    Some(p) => p,
                    None => return Ok(End::Closed),
                }
            }
        };
        let (correlation_id, api_key, api_version, then) = match next {
            Pending::Synthetic(bytes) => {
                client.write(&bytes).await?;
                continue;
            }
            Pending::Unanswered { correlation_id } => {
                if unanswered.len() == MAX_UNANSWERED {
                    unanswered.pop_front();
                }
                unanswered.push_back(correlation_id);
                continue;
            }
            Pending::Upstream {
                correlation_id,
                api_key,
                api_version,
                then,
            } => (correlation_id, api_key, api_version, then),
        };
        let (frame, got) = loop {
            let frame = match frame::decode_frame(&mut buf, max)? {
                Some(f) => f,
                None => {
                    // About to wait for the broker: whatever is queued must
                    // reach the client first.
                    client.flush().await?;
                    match read_frame(broker, &mut buf, max).await? {
                        Some(f) => f,
                        None => return Ok(End::Closed),
                    }
                }
            };
            let got = response_correlation_id(&frame)?;
            if got == correlation_id {
                // Brokers answer in order: no earlier request will be
                // answered any more.
                unanswered.clear();
                break (frame, got);
            }
            match unanswered.iter().position(|c| *c == got) {
                Some(at) => {
                    unanswered.drain(..=at);
                    client.write(&frame).await?;
                }
                None => break (frame, got),
            }
        };
        if got != correlation_id {
            return Err(FrameError::Malformed {
                what: "response order",
                reason: format!(
                    "broker answered correlation id {got} where {correlation_id} (api {api_key} v{api_version}) was due"
                ),
            });
        }
        match then {
            Then::Forward => client.write(&frame).await?,
            Then::Rewrite(key) => {
                let out = rewrite(frame, key, api_version, shared)?;
                client.write(&out).await?;
            }
            Then::Replace(bytes) => client.write(&bytes).await?,
            Then::DropAndReset => {
                client.flush().await?;
                return Ok(End::Reset);
            }
        }
    }
}

/// Points every broker address a response advertises at the proxy. Returns
/// the original bytes when there is nothing to rewrite.
fn rewrite(
    frame: Bytes,
    key: ApiKey,
    version: i16,
    shared: &Arc<Shared>,
) -> Result<Bytes, FrameError> {
    let (header, body) = response_body(&frame, key, version)?;
    let bind_err = |e: std::io::Error| FrameError::Io { source: e };
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
            for b in &mut m.brokers {
                to_proxy(&mut b.host, &mut b.port)?;
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
