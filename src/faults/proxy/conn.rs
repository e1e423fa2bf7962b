//! One proxied connection: the client → broker half that applies the fault
//! plan to Produce requests, and the broker → client half that answers in
//! request order.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;

use super::discover::rewrite;
use super::{lock, twin_route, Held, Shared};
use crate::faults::frame::{
    self, decode_produce, produce_error_response, produce_records, produce_shape, read_frame,
    request_body, request_meta, response_correlation_id, FrameError, RequestMeta,
};
use crate::faults::plan::{FaultAction, LoseAckMode, NOT_LEADER_OR_FOLLOWER};
use crate::netem::{delay_line, DelayRx, DelayTx, LinkCell};

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
    /// Send these bytes instead, not before the instant
    /// (`timeout-after-append`: the broker's answer is held).
    ReplaceAt(Bytes, tokio::time::Instant),
    /// Drop it and close the connection (`lose-ack`, drop-and-reset).
    DropAndReset,
}

/// Which node a connection stands for: a broker, or its twin (see
/// `leader-move` in the module documentation).
#[derive(Debug, Clone, Copy)]
struct Node<'a> {
    upstream: &'a str,
    twin: bool,
}

pub(super) async fn serve(client: TcpStream, upstream: String, twin: bool, shared: Arc<Shared>) {
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
        r = requests(&mut inlet, &mut broker_write, tx, &shared, Node { upstream: &upstream, twin }) => r,
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
                        cause: std::io::ErrorKind::BrokenPipe.into(),
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
    node: Node<'_>,
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
        let (then, action, hold) = if meta.api_key == ApiKey::Produce as i16 {
            match produce(&frame, &meta, shared, node)? {
                Step::Forward(then) => (then, None, None),
                Step::ForwardAfter(then, ms) => (then, Some(ms), None),
                Step::ForwardThenHold(then, until) => (then, None, Some(until)),
                Step::Answer(bytes, _) => {
                    let _ = pending.send(Pending::Synthetic(bytes));
                    continue;
                }
                Step::Swallow(_) => continue,
                Step::Reset => {
                    broker.flush().await?;
                    return Ok(End::Reset);
                }
            }
        } else {
            (Some(then_for(&meta)), None, None)
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
        if let Some(until) = hold {
            // A timeout after append: the broker mutes a connection while a
            // request waits for its replicas, so nothing behind this request
            // is forwarded before its (held) answer is due.
            broker.flush().await?;
            tokio::time::sleep_until(until).await;
        }
    }
}

/// What to do with one Produce request. `Forward(None)` forwards a request
/// that gets no response (`acks=0`).
enum Step {
    Forward(Option<Then>),
    ForwardAfter(Option<Then>, u32),
    /// Forward, then forward nothing more on this connection until then.
    ForwardThenHold(Option<Then>, tokio::time::Instant),
    /// Answer with these bytes (carrying this error code), not forwarded.
    Answer(Bytes, i16),
    /// Drop an `acks=0` request refused with this code.
    Swallow(i16),
    Reset,
}

fn produce(
    frame: &Bytes,
    meta: &RequestMeta,
    shared: &Arc<Shared>,
    node: Node<'_>,
) -> Result<Step, FrameError> {
    let at = std::time::Instant::now();
    let (index, step) = decide(frame, meta, shared, at, node)?;
    let refused_with = match &step {
        Step::Answer(_, code) | Step::Swallow(code) => Some(*code),
        _ => None,
    };
    shared.log_produce(index, at, refused_with, node.twin);
    Ok(step)
}

/// The fate of one Produce request decided at `now`, with its index.
fn decide(
    frame: &Bytes,
    meta: &RequestMeta,
    shared: &Arc<Shared>,
    now: std::time::Instant,
    node: Node<'_>,
) -> Result<(u64, Step), FrameError> {
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
        return Ok((index, Step::Forward(normal())));
    }
    // The records the request carries: what a record plan triggers on and
    // what the event names.
    let parts = produce_records(&decode_produce(&body, meta.api_version)?);
    let refuse = |code: i16| -> Result<Step, FrameError> {
        if !answered {
            return Ok(Step::Swallow(code));
        }
        let request = decode_produce(&body, meta.api_version)?;
        let bytes = produce_error_response(&request, meta.api_version, meta.correlation_id, code)?;
        Ok(Step::Answer(bytes, code))
    };
    // Lock order: held, then triggers, then events.
    let mut held = lock(&shared.held);
    if let Some(h) = held.filter(|h| now < h.until) {
        // Inside a refusal window or a leader move: refused whatever the
        // plan says, retries included; its triggers wait.
        shared
            .plan
            .decide_request_in(&mut lock(&shared.triggers), index, &parts, true);
        shared.touch(h.event, &parts);
        return Ok((index, refuse(h.error_code)?));
    }
    *held = None;
    // After a leader move, the side that no longer leads a moved partition
    // answers NOT_LEADER_OR_FOLLOWER, as a deposed leader does.
    let mut moves = lock(&shared.moves);
    let deposed = parts.iter().any(|p| {
        moves
            .on_twin
            .get(&(p.topic.clone(), p.partition))
            .is_some_and(|&on| on != node.twin)
    });
    if deposed {
        shared
            .plan
            .decide_request_in(&mut lock(&shared.triggers), index, &parts, true);
        if let Some(event) = moves.last_event {
            shared.touch(event, &parts);
        }
        return Ok((index, refuse(NOT_LEADER_OR_FOLLOWER)?));
    }
    let decided = shared
        .plan
        .decide_request(&mut lock(&shared.triggers), index, &parts);
    let Some(action) = decided else {
        return Ok((index, Step::Forward(normal())));
    };
    let step = match action {
        FaultAction::Reject { error_code } => refuse(error_code)?,
        FaultAction::LoseAck { .. } if !answered => return Ok((index, Step::Forward(None))),
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
        FaultAction::RefuseWindow { ms, error_code } => {
            let event = shared.record(index, action, &parts);
            *held = Some(Held {
                until: now + Duration::from_millis(u64::from(ms)),
                error_code,
                event,
            });
            return Ok((index, refuse(error_code)?));
        }
        FaultAction::LeaderMove { ms } => {
            // The request's partitions change sides: to this broker's twin,
            // or back from it.
            for p in &parts {
                let key = (p.topic.clone(), p.partition);
                let on = !moves.on_twin.get(&key).copied().unwrap_or(false);
                moves.on_twin.insert(key, on);
            }
            twin_route(shared, node.upstream)?;
            let event = shared.record(index, action, &parts);
            moves.last_event = Some(event);
            *held = Some(Held {
                until: now + Duration::from_millis(u64::from(ms)),
                error_code: NOT_LEADER_OR_FOLLOWER,
                event,
            });
            return Ok((index, refuse(NOT_LEADER_OR_FOLLOWER)?));
        }
        // Nothing to time out without an answer; neither applied nor counted.
        FaultAction::TimeoutAfterAppend { .. } if !answered => {
            return Ok((index, Step::Forward(None)));
        }
        FaultAction::TimeoutAfterAppend { ms, error_code } => {
            let request = decode_produce(&body, meta.api_version)?;
            let replacement = produce_error_response(
                &request,
                meta.api_version,
                meta.correlation_id,
                error_code,
            )?;
            let until = tokio::time::Instant::now() + Duration::from_millis(u64::from(ms));
            Step::ForwardThenHold(Some(Then::ReplaceAt(replacement, until)), until)
        }
    };
    shared.record(index, action, &parts);
    Ok((index, step))
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
    let mut upstream = Upstream {
        broker,
        buf: BytesMut::with_capacity(64 * 1024),
        max: shared.config.max_frame_bytes,
        unanswered: VecDeque::new(),
    };
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
                upstream.may_answer(correlation_id);
                continue;
            }
            Pending::Upstream {
                correlation_id,
                api_key,
                api_version,
                then,
            } => (correlation_id, api_key, api_version, then),
        };
        let Some(frame) = upstream
            .answer_to(correlation_id, api_key, api_version, client)
            .await?
        else {
            return Ok(End::Closed);
        };
        match then {
            Then::Forward => client.write(&frame).await?,
            Then::Rewrite(key) => {
                let out = rewrite(frame, key, api_version, shared)?;
                client.write(&out).await?;
            }
            Then::Replace(bytes) => client.write(&bytes).await?,
            Then::ReplaceAt(bytes, until) => {
                client.flush().await?;
                tokio::time::sleep_until(until).await;
                client.write(&bytes).await?;
            }
            Then::DropAndReset => {
                client.flush().await?;
                return Ok(End::Reset);
            }
        }
    }
}

/// The broker side of [`responses`]: the socket, the bytes read ahead of the
/// next frame, and the `acks=0` requests a broker may still answer.
struct Upstream<'a> {
    broker: &'a mut OwnedReadHalf,
    buf: BytesMut,
    max: usize,
    unanswered: VecDeque<i32>,
}

impl Upstream<'_> {
    /// Remembers a forwarded `acks=0` Produce request, in case the broker
    /// answers it anyway.
    fn may_answer(&mut self, correlation_id: i32) {
        if self.unanswered.len() == MAX_UNANSWERED {
            self.unanswered.pop_front();
        }
        self.unanswered.push_back(correlation_id);
    }

    /// The broker's response to request `correlation_id`, passing any answer
    /// to an earlier `acks=0` request on to `client` first; `None` when the
    /// broker closed. Any other correlation id is an error.
    async fn answer_to(
        &mut self,
        correlation_id: i32,
        api_key: i16,
        api_version: i16,
        client: &mut Outlet,
    ) -> Result<Option<Bytes>, FrameError> {
        let (frame, got) = loop {
            let frame = match frame::decode_frame(&mut self.buf, self.max)? {
                Some(f) => f,
                None => {
                    // About to wait for the broker: whatever is queued must
                    // reach the client first.
                    client.flush().await?;
                    match read_frame(self.broker, &mut self.buf, self.max).await? {
                        Some(f) => f,
                        None => return Ok(None),
                    }
                }
            };
            let got = response_correlation_id(&frame)?;
            if got == correlation_id {
                // Brokers answer in order: no earlier request will be
                // answered any more.
                self.unanswered.clear();
                break (frame, got);
            }
            match self.unanswered.iter().position(|c| *c == got) {
                Some(at) => {
                    self.unanswered.drain(..=at);
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
        Ok(Some(frame))
    }
}
