//! Network emulation: a delay line per direction of a connection.
//!
//! A [`Link`] is what a cell's network looks like: a round-trip time, a
//! jitter and an optional bandwidth. Each direction of a connection gets a
//! [`Schedule`] (the pure arithmetic: when may this chunk leave?) driven by a
//! bounded channel between the task that reads the socket and the task that
//! writes the other side (the shape of toxiproxy's `toxics/latency.go`):
//!
//! - each chunk or frame is stamped with its arrival time and released at
//!   `max(previous release, arrival + one_way + jitter sample)`. The `max`
//!   keeps the order of a connection (TCP never reorders), and nothing
//!   waits for the chunks behind it: the reader keeps reading while earlier
//!   chunks wait, so pipelined requests stay pipelined;
//! - a bandwidth is a token bucket on bytes (a small burst allowance, then
//!   `bytes / rate` of serialisation time per chunk);
//! - the bytes held in a line are bounded ([`Link::buffer_bytes`]): about
//!   the bandwidth-delay product plus a margin, so a slow receiver pushes
//!   back on the sender through the line, as through a real network.
//!
//! Releases wait on `async_io` timers, not tokio's: tokio rounds a sleep up
//! to the next millisecond, which would add about 1 ms to every hop (a
//! "2 ms" link measured 4.5 ms round trip through it). A chunk already due
//! leaves without waiting at all.
//!
//! [`TcpDelay`] is a plain TCP forwarder (no Kafka parsing) through a link
//! that can change at run time; the local cluster puts one in front of each
//! broker's replication listener. The Kafka-aware proxy uses the same lines
//! for client traffic (see [`crate::faults::ProxyConfig::link`]).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// An emulated network link. The default (all zero, no bandwidth limit) is
/// no emulation at all: the proxy then forwards without a delay line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Link {
    /// Round-trip time added to the link: each direction gets half.
    pub rtt: Duration,
    /// Extra one-way delay per chunk, uniform in `[0, jitter]`; never
    /// reorders a connection.
    pub jitter: Duration,
    /// Bytes per second in each direction; None: unlimited.
    pub bandwidth_bytes_per_sec: Option<u64>,
}

/// Bytes a line may hold beyond the bandwidth-delay product.
const BUFFER_MARGIN_BYTES: u64 = 256 * 1024;
/// Bytes a line may hold when the link has no bandwidth: what a loopback
/// TCP connection keeps in flight with Linux's default autotuning cap
/// (`tcp_wmem` max, 4 MiB), i.e. a window, not a rate.
const UNLIMITED_BUFFER_BYTES: u64 = 4 * 1024 * 1024;
/// The token bucket's burst allowance, in bytes.
const BURST_BYTES: u64 = 16 * 1024;

impl Link {
    /// A link with this round-trip time and nothing else.
    pub fn rtt(rtt: Duration) -> Link {
        Link {
            rtt,
            ..Link::default()
        }
    }

    /// Half the round-trip time: the delay of each direction.
    pub fn one_way(&self) -> Duration {
        self.rtt / 2
    }

    /// True when the link emulates nothing (no delay, jitter or bandwidth).
    pub fn is_passthrough(&self) -> bool {
        self.rtt.is_zero() && self.jitter.is_zero() && self.bandwidth_bytes_per_sec.is_none()
    }

    /// Most bytes one direction of a connection holds in its delay line
    /// before the reader stops reading (and TCP pushes back on the sender):
    /// the bandwidth-delay product plus a margin, or a TCP-window-sized
    /// bound when the bandwidth is unlimited.
    pub fn buffer_bytes(&self) -> usize {
        let bytes = match self.bandwidth_bytes_per_sec {
            Some(rate) => {
                let delay = (self.one_way() + self.jitter).as_secs_f64();
                (rate as f64 * delay) as u64 + BUFFER_MARGIN_BYTES
            }
            None => UNLIMITED_BUFFER_BYTES,
        };
        bytes.min(u32::MAX as u64 >> 3) as usize
    }
}

/// When each chunk of one direction may leave: the pure arithmetic of a
/// delay line, with its own seeded jitter.
#[derive(Debug, Clone)]
pub struct Schedule {
    rng: ChaCha8Rng,
    last_release: Option<Instant>,
    /// The token bucket as a theoretical arrival time (GCRA): the instant
    /// the bucket would be full again.
    bucket_tat: Option<Instant>,
}

impl Schedule {
    /// A schedule whose jitter is drawn from `seed`.
    pub fn new(seed: u64) -> Schedule {
        Schedule {
            rng: ChaCha8Rng::seed_from_u64(seed),
            last_release: None,
            bucket_tat: None,
        }
    }

    /// The release time of `bytes` bytes that arrived at `arrival` on
    /// `link`. Calls must come in arrival order; releases never go back.
    pub fn release(&mut self, link: &Link, arrival: Instant, bytes: usize) -> Instant {
        let mut sent = arrival;
        if let Some(rate) = link.bandwidth_bytes_per_sec.filter(|r| *r > 0) {
            let per_byte = 1.0 / rate as f64;
            let burst = Duration::from_secs_f64(BURST_BYTES as f64 * per_byte);
            let cost = Duration::from_secs_f64(bytes as f64 * per_byte);
            let tat = self.bucket_tat.map_or(arrival, |t| t.max(arrival));
            // Conforming once the bucket has room for this chunk.
            sent = arrival.max((tat + cost).checked_sub(burst).unwrap_or(arrival));
            self.bucket_tat = Some(tat + cost);
        }
        let jitter = if link.jitter.is_zero() {
            Duration::ZERO
        } else {
            let nanos = link.jitter.as_nanos().min(u64::MAX as u128) as u64;
            Duration::from_nanos(self.rng.gen_range(0..=nanos))
        };
        let mut release = sent + link.one_way() + jitter;
        if let Some(last) = self.last_release {
            release = release.max(last);
        }
        self.last_release = Some(release);
        release
    }
}

/// Where a link's current settings live: fixed, or changeable at run time.
#[derive(Debug, Clone)]
pub(crate) struct LinkCell(Arc<Mutex<Link>>);

impl LinkCell {
    pub(crate) fn new(link: Link) -> LinkCell {
        LinkCell(Arc::new(Mutex::new(link)))
    }
    pub(crate) fn get(&self) -> Link {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn set(&self, link: Link) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = link;
    }
}

/// One queued chunk: its release time, bytes and share of the line's budget.
struct Slot<T> {
    release: Instant,
    item: T,
    _permit: Option<OwnedSemaphorePermit>,
}

/// The sending end of a delay line (owned by the reader of a socket).
pub(crate) struct DelayTx<T> {
    link: LinkCell,
    schedule: Schedule,
    budget: Arc<Semaphore>,
    budget_bytes: usize,
    tx: mpsc::UnboundedSender<Slot<T>>,
}

/// The receiving end of a delay line: yields items at their release times.
pub(crate) struct DelayRx<T> {
    rx: mpsc::UnboundedReceiver<Slot<T>>,
    head: Option<Slot<T>>,
}

/// A delay line carrying `T` (frames or chunks) on `link`. The byte budget
/// is fixed from the link at creation ([`Link::buffer_bytes`]); a link
/// changed later changes delays and bandwidth, not the budget.
pub(crate) fn delay_line<T>(link: LinkCell, seed: u64) -> (DelayTx<T>, DelayRx<T>) {
    let budget_bytes = link.get().buffer_bytes().max(BURST_BYTES as usize);
    let (tx, rx) = mpsc::unbounded_channel();
    (
        DelayTx {
            link,
            schedule: Schedule::new(seed),
            budget: Arc::new(Semaphore::new(budget_bytes)),
            budget_bytes,
            tx,
        },
        DelayRx { rx, head: None },
    )
}

impl<T> DelayTx<T> {
    /// Queues `item` (`bytes` long) that arrived at `arrival`. Waits while
    /// the line holds its budget of bytes; returns false once the receiving
    /// end is gone.
    pub(crate) async fn send(&mut self, item: T, bytes: usize, arrival: Instant) -> bool {
        let want = bytes.clamp(1, self.budget_bytes) as u32;
        let Ok(permit) = self.budget.clone().acquire_many_owned(want).await else {
            return false;
        };
        let release = self.schedule.release(&self.link.get(), arrival, bytes);
        self.tx
            .send(Slot {
                release,
                item,
                _permit: Some(permit),
            })
            .is_ok()
    }

    /// Queues `item` behind the others without a delay of its own and
    /// without using the budget: an error or end marker, kept in order.
    pub(crate) fn send_marker(&mut self, item: T) -> bool {
        let release = self.schedule.last_release.unwrap_or_else(Instant::now);
        self.tx
            .send(Slot {
                release,
                item,
                _permit: None,
            })
            .is_ok()
    }
}

impl<T> DelayRx<T> {
    /// The next item at its release time; None once the sender is gone and
    /// the line is empty.
    pub(crate) async fn recv(&mut self) -> Option<T> {
        let slot = match self.head.take() {
            Some(s) => s,
            None => self.rx.recv().await?,
        };
        if slot.release > Instant::now() {
            async_io::Timer::at(slot.release.into_std()).await;
        }
        Some(slot.item)
    }

    /// The next item if it is due now, without waiting.
    pub(crate) fn try_recv_due(&mut self) -> Option<T> {
        if self.head.is_none() {
            self.head = self.rx.try_recv().ok();
        }
        match &self.head {
            Some(s) if s.release <= Instant::now() => self.head.take().map(|s| s.item),
            _ => None,
        }
    }
}

/// Why a [`TcpDelay`] could not start.
#[derive(Debug, thiserror::Error)]
pub enum TcpDelayError {
    #[error("binding a delay line listener on 127.0.0.1:0: {cause}")]
    Bind { cause: std::io::Error },
    #[error("starting the delay line runtime: {cause}")]
    Runtime { cause: std::io::Error },
}

/// A plain TCP forwarder through an emulated [`Link`], in both directions:
/// listens on `127.0.0.1:0` and connects each accepted connection to its
/// target. Knows nothing of Kafka. The target may come and go (a broker
/// killed and restarted): a connection it refuses is closed, and the
/// listener keeps accepting. Stopped on [`TcpDelay::shutdown`] or drop.
pub struct TcpDelay {
    addr: SocketAddr,
    target: SocketAddr,
    link: LinkCell,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for TcpDelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpDelay")
            .field("addr", &self.addr)
            .field("target", &self.target)
            .field("link", &self.link.get())
            .finish()
    }
}

/// Bytes read from a socket at once by a [`TcpDelay`].
const CHUNK_BYTES: usize = 64 * 1024;

impl TcpDelay {
    /// Binds the listener and starts forwarding to `target` through `link`.
    pub fn start(target: SocketAddr, link: Link) -> Result<TcpDelay, TcpDelayError> {
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.set_nonblocking(true).map(|_| l))
            .map_err(|source| TcpDelayError::Bind { cause: source })?;
        let addr = std_listener
            .local_addr()
            .map_err(|source| TcpDelayError::Bind { cause: source })?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| TcpDelayError::Runtime { cause: source })?;
        let cell = LinkCell::new(link);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread_cell = cell.clone();
        let thread = std::thread::Builder::new()
            .name(format!("kob-delay-{}", addr.port()))
            .spawn(move || {
                rt.block_on(async move {
                    let listener = match TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(_) => return,
                    };
                    tokio::select! {
                        _ = stop_rx => {}
                        _ = tcp_accept_loop(listener, target, thread_cell) => {}
                    }
                });
                rt.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(|source| TcpDelayError::Runtime { cause: source })?;
        Ok(TcpDelay {
            addr,
            target,
            link: cell,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Where to connect instead of the target.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where connections are forwarded.
    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// The link now in force.
    pub fn link(&self) -> Link {
        self.link.get()
    }

    /// Changes the link; applies to every chunk read from now on, on open
    /// connections too (a line's byte budget is set when its connection
    /// opens).
    pub fn set_link(&self, link: Link) {
        self.link.set(link);
    }

    /// Stops accepting and closes every connection. Idempotent.
    pub fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TcpDelay {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn tcp_accept_loop(listener: TcpListener, target: SocketAddr, link: LinkCell) {
    let mut seed = 0u64;
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                seed += 1;
                tokio::spawn(tcp_connection(socket, target, link.clone(), seed));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn tcp_connection(client: TcpStream, target: SocketAddr, link: LinkCell, seed: u64) {
    let connect = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(target));
    let Ok(Ok(server)) = connect.await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let (up_tx, up_rx) = delay_line(link.clone(), seed.wrapping_mul(2));
    let (down_tx, down_rx) = delay_line(link, seed.wrapping_mul(2) + 1);
    // Each direction ends at EOF (passed on as a half-close); an error on
    // either ends the connection.
    let up = async { tokio::join!(pump_in(client_read, up_tx), pump_out(up_rx, server_write)) };
    let down = async {
        tokio::join!(
            pump_in(server_read, down_tx),
            pump_out(down_rx, client_write)
        )
    };
    tokio::join!(up, down);
}

/// Socket → line: reads chunks and stamps them; never sleeps.
async fn pump_in(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut line: DelayTx<std::io::Result<Bytes>>,
) {
    loop {
        let mut buf = BytesMut::with_capacity(CHUNK_BYTES);
        match from.read_buf(&mut buf).await {
            Ok(0) => return,
            Ok(n) => {
                if !line.send(Ok(buf.freeze()), n, Instant::now()).await {
                    return;
                }
            }
            Err(e) => {
                line.send_marker(Err(e));
                return;
            }
        }
    }
}

/// Line → socket: writes each chunk at its release time; a half-close at
/// the end, a reset on error.
async fn pump_out(
    mut line: DelayRx<std::io::Result<Bytes>>,
    mut to: tokio::net::tcp::OwnedWriteHalf,
) {
    while let Some(item) = line.recv().await {
        let Ok(chunk) = item else {
            // The other side failed: drop both halves of this direction.
            return;
        };
        if to.write_all(&chunk).await.is_err() {
            return;
        }
    }
    let _ = to.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn one_way_is_half_the_rtt_and_default_is_passthrough() {
        assert_eq!(Link::rtt(ms(20)).one_way(), ms(10));
        assert!(Link::default().is_passthrough());
        assert!(!Link::rtt(ms(1)).is_passthrough());
        let bw = Link {
            bandwidth_bytes_per_sec: Some(1_000_000),
            ..Link::default()
        };
        assert!(!bw.is_passthrough());
    }

    #[test]
    fn buffer_is_the_bandwidth_delay_product_plus_a_margin() {
        let l = Link {
            rtt: ms(20),
            jitter: Duration::ZERO,
            bandwidth_bytes_per_sec: Some(10_000_000),
        };
        assert_eq!(l.buffer_bytes(), 100_000 + 256 * 1024);
        assert_eq!(Link::rtt(ms(20)).buffer_bytes(), 4 * 1024 * 1024);
    }

    #[test]
    fn releases_keep_order_even_when_jitter_would_swap_them() {
        let link = Link {
            rtt: ms(2),
            jitter: ms(50),
            bandwidth_bytes_per_sec: None,
        };
        let mut s = Schedule::new(7);
        let t0 = Instant::now();
        let mut last = t0;
        for i in 0..1000 {
            let r = s.release(&link, t0 + Duration::from_micros(i * 10), 100);
            assert!(r >= last);
            last = r;
        }
    }

    #[test]
    fn bandwidth_paces_a_burst() {
        let link = Link {
            rtt: Duration::ZERO,
            jitter: Duration::ZERO,
            bandwidth_bytes_per_sec: Some(1_000_000),
        };
        let mut s = Schedule::new(1);
        let t0 = Instant::now();
        // 1 MB at once at 1 MB/s: the last chunk leaves about 1 s later,
        // less the burst allowance.
        let mut r = t0;
        for _ in 0..100 {
            r = s.release(&link, t0, 10_000);
        }
        let took = (r - t0).as_secs_f64();
        let want = 1.0 - BURST_BYTES as f64 / 1e6;
        assert!((took - want).abs() < 1e-6, "{took} s, want {want} s");
    }
}
