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
//! [`crate::netem`]) that keeps pipelining and order. An answer the proxy
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
//! # Lasting faults
//!
//! - `refuse-window`: the request that meets the trigger opens a window of
//!   the fault's span; until it closes, **every** Produce request on every
//!   connection, retries included, is answered NOT_ENOUGH_REPLICAS without
//!   being forwarded (an ISR shrink below `min.insync.replicas`, as the
//!   client sees it; the brokers' ISR is not touched). Each refused request
//!   joins the window's event (its records, and [`FaultEvent::requests`]).
//! - `timeout-after-append`: the request is forwarded and appended; its
//!   answer is held for the span and replaced with REQUEST_TIMED_OUT, and
//!   nothing behind it on its connection is forwarded meanwhile (a broker
//!   mutes a connection while a request waits in purgatory). Other
//!   connections carry on. With `acks=0` there is nothing to time out: not
//!   applied, not counted.
//! - `leader-move`: every Produce request is answered NOT_LEADER_OR_FOLLOWER
//!   for the span (the election), and from the move on the request's
//!   partitions are led by the broker's **twin**: a second proxy listener in
//!   front of the same broker, advertised in Metadata as node
//!   `id + `[`TWIN_NODE_OFFSET`] and named there as the partitions' leader.
//!   The client must refresh metadata and open a new connection to the new
//!   leader; the old node keeps answering NOT_LEADER_OR_FOLLOWER for those
//!   partitions, as a deposed leader does. The next move of a partition
//!   moves it back. What is **not** emulated: the log does not change
//!   hands (both nodes write to the same real leader, so nothing is
//!   truncated and no replica lags), leader epochs in Metadata are not
//!   bumped, other partitions riding in a refused request are refused too,
//!   and the replica lists still name the real broker. A real election with
//!   truncation is the `failover` fault.
//!
//! The proxy runs on its own tokio runtime in a background thread, so that
//! synchronous callers (the runner uses rdkafka's `BaseProducer`) can use it.
//! [`Proxy::shutdown`] (also run on drop) signals that thread through a
//! channel and waits for it; every connection is closed. Plaintext only: no
//! TLS or SASL listeners.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;

use super::events::FaultEvent;
use super::frame::{PartitionRecords, DEFAULT_MAX_FRAME_BYTES};
use super::plan::{FaultAction, FaultPlan, TriggerState};
use super::profile::{FaultKind, FaultName};
use crate::netem::Link;

mod conn;
mod discover;

use conn::serve;
use discover::discover;

/// The host every rewritten broker address points at.
const PROXY_HOST: &str = "127.0.0.1";

/// Settings beyond the fault plan.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Largest frame accepted from either side; larger ones close the
    /// connection with [`FrameError::TooLarge`](super::frame::FrameError::TooLarge).
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
    /// Keep a [`ProduceEntry`] for every Produce request (see
    /// [`Proxy::produce_log`]): for tests and diagnostics; off by default,
    /// since a cell makes tens of thousands of requests.
    pub log_produce: bool,
}

/// What the proxy did with one Produce request (kept with
/// [`ProxyConfig::log_produce`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProduceEntry {
    /// The request's index across the proxy, from 0.
    pub index: u64,
    /// Microseconds since the proxy started, when its fate was decided.
    pub at_us: u64,
    /// True when it came through a broker's twin listener (the node a
    /// `leader-move` moved a leader to).
    pub via_twin: bool,
    /// The error code the proxy answered it with without forwarding it
    /// (a `reject`, or inside a refusal window or leader move); `None`
    /// when it was forwarded (its answer may still be replaced).
    pub refused_with: Option<i16>,
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
            log_produce: false,
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
    #[error("binding a listener on {PROXY_HOST}:0: {cause}")]
    Bind { cause: std::io::Error },
    /// The runtime or its thread could not be started.
    #[error("starting the proxy runtime: {cause}")]
    Runtime { cause: std::io::Error },
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
                        let _ = ready_tx.send(Err(ProxyError::Runtime { cause: source }));
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
            .map_err(|source| ProxyError::Runtime { cause: source })?;
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

    /// Produce requests answered by a refusal window or a leader move
    /// (the one that opened it included), or held by a timeout after
    /// append.
    pub fn held_requests(&self) -> u64 {
        self.shared.held_requests.load(Ordering::Relaxed)
    }

    /// Every Produce request so far, in decision order, when the proxy was
    /// started with [`ProxyConfig::log_produce`]; empty otherwise.
    pub fn produce_log(&self) -> Vec<ProduceEntry> {
        lock(&self.shared.produce_log).clone()
    }

    /// Partitions whose leader a `leader-move` has put on a broker's twin
    /// listener, as (topic, partition); sorted.
    pub fn moved_to_twin(&self) -> Vec<(String, i32)> {
        let mut v: Vec<(String, i32)> = lock(&self.shared.moves)
            .on_twin
            .iter()
            .filter(|(_, on)| **on)
            .map(|(k, _)| k.clone())
            .collect();
        v.sort();
        v
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

/// Node ids of twins: a broker's twin is node `id + TWIN_NODE_OFFSET`.
pub const TWIN_NODE_OFFSET: i32 = 10_000;

/// Leader moves: which side of a broker (itself, or its twin) leads each
/// moved partition, keyed by (topic, partition) as Produce requests name
/// them (a topic's name, or its id in hex), and the last move's event.
#[derive(Debug, Default)]
struct Moves {
    on_twin: HashMap<(String, i32), bool>,
    last_event: Option<usize>,
}

/// A lasting fault in force: every Produce request until `until` is
/// answered `error_code` and joins event `event`.
#[derive(Debug, Clone, Copy)]
struct Held {
    until: Instant,
    error_code: i16,
    event: usize,
}

/// State shared by the handle and every task.
struct Shared {
    plan: FaultPlan,
    config: ProxyConfig,
    produce_requests: AtomicU64,
    injected: [AtomicU64; FaultName::PROXY.len()],
    /// The refusal window or leader move in force, if any.
    held: Mutex<Option<Held>>,
    /// Produce requests answered by a lasting fault's span (first included).
    held_requests: AtomicU64,
    produce_log: Mutex<Vec<ProduceEntry>>,
    /// Partitions a `leader-move` moved, and where their leaders are now.
    moves: Mutex<Moves>,
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
            held: Mutex::new(None),
            held_requests: AtomicU64::new(0),
            produce_log: Mutex::new(Vec::new()),
            moves: Mutex::new(Moves::default()),
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

    /// Records one injected fault as an event; returns its place in the
    /// event list.
    fn record(&self, index: u64, action: FaultAction, parts: &[PartitionRecords]) -> usize {
        self.injected[kind_slot(&action)].fetch_add(1, Ordering::Relaxed);
        lock(&self.fault_log).push((index, action));
        let span_ms = match action {
            FaultAction::RefuseWindow { ms, .. }
            | FaultAction::TimeoutAfterAppend { ms, .. }
            | FaultAction::LeaderMove { ms } => Some(u64::from(ms)),
            _ => None,
        };
        let lasting = span_ms.is_some();
        if lasting {
            self.held_requests.fetch_add(1, Ordering::Relaxed);
        }
        let mut events = lock(&self.events);
        let id = events.len() as u64;
        events.push(FaultEvent {
            id,
            kind: action.name().to_string(),
            request_index: Some(index),
            at_ms: self.started.elapsed().as_millis() as u64,
            records: parts.iter().flat_map(|p| p.spans.iter().copied()).collect(),
            span_ms,
            requests: u64::from(lasting),
        });
        events.len() - 1
    }

    /// A request answered inside the span of event `event`: its records
    /// join the event's.
    fn touch(&self, event: usize, parts: &[PartitionRecords]) {
        self.held_requests.fetch_add(1, Ordering::Relaxed);
        if let Some(e) = lock(&self.events).get_mut(event) {
            e.requests += 1;
            e.touch(parts.iter().flat_map(|p| p.spans.iter().copied()));
        }
    }

    /// Logs one Produce request's fate, when asked to.
    fn log_produce(&self, index: u64, at: Instant, refused_with: Option<i16>, via_twin: bool) {
        if self.config.log_produce {
            lock(&self.produce_log).push(ProduceEntry {
                index,
                at_us: at.saturating_duration_since(self.started).as_micros() as u64,
                via_twin,
                refused_with,
            });
        }
    }

    fn error(&self, e: impl std::fmt::Display) {
        self.connection_errors.fetch_add(1, Ordering::Relaxed);
        *lock(&self.last_error) = Some(e.to_string());
    }
}

/// The proxy listener for upstream `host:port`, opening one (and its accept
/// loop) the first time a broker is seen. Must run inside the runtime.
fn route(shared: &Arc<Shared>, host: &str, port: i32) -> std::io::Result<SocketAddr> {
    listen(shared, &format!("{host}:{port}"), false)
}

/// The twin listener of upstream `host:port`: a second node in front of the
/// same broker, where a `leader-move` puts a partition's leader.
fn twin_route(shared: &Arc<Shared>, upstream: &str) -> std::io::Result<SocketAddr> {
    listen(shared, upstream, true)
}

/// The twin listener of upstream `host:port`, if one was opened.
fn twin_of(shared: &Arc<Shared>, upstream: &str) -> Option<SocketAddr> {
    lock(&shared.routes).get(&twin_key(upstream)).copied()
}

fn twin_key(upstream: &str) -> String {
    format!("twin:{upstream}")
}

fn listen(shared: &Arc<Shared>, upstream: &str, twin: bool) -> std::io::Result<SocketAddr> {
    let upstream = upstream.to_string();
    let key = if twin {
        twin_key(&upstream)
    } else {
        upstream.clone()
    };
    let mut routes = lock(&shared.routes);
    if let Some(addr) = routes.get(&key) {
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
    routes.insert(key, addr);
    tokio::spawn(accept_loop(listener, upstream, twin, shared.clone()));
    Ok(addr)
}

async fn accept_loop(listener: TcpListener, upstream: String, twin: bool, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                tokio::spawn(serve(socket, upstream.clone(), twin, shared.clone()));
            }
            Err(e) => {
                // Out of file descriptors and the like: back off, keep going.
                shared.error(format!("accepting for {upstream}: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
