//! One cell's librdkafka producer, in process: produce the cell's records
//! and measure what the client saw.
//!
//! A [`Session`] owns one producer for one cell. Every record goes through one
//! ordered send path (`rd_kafka_produce` on the session's thread, delivery
//! callbacks served by the same thread's polls), so the order of `send()` calls
//! is the order of sequence numbers: any reorder the checker finds happened in
//! the client's retries or the broker, not in the harness.
//!
//! A session lives for the whole run and is driven in phases:
//! [`Session::warm_up`] once (metadata and, with idempotence, producer-id
//! set-up are not timed), then one [`Session::round`] per round of the grid,
//! then optionally [`Session::fixed_rate`] (latency at a fixed load), then
//! [`Session::finish`] for the totals.
//!
//! A round sends without pause: a warm-up, the timed windows, a tail. The
//! windows are delimited by delivery reports: window *i* runs from the
//! report that completes record `warmup + i·n` of the round to the one that
//! completes record `warmup + (i+1)·n`, so a window times `n` records in
//! steady state, with the pipeline full at both ends.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, Producer};

use crate::grid::{Fixed, ProducerSettings};
use crate::record::{Stamp, Streams};
use crate::results::{ClientCounters, DeliveryCounts, Latency, Sample};

use crate::delivery::Deliveries;
use crate::ffi::librdkafka::{self, TopicHandle};
use crate::redact;
use recorder::{error_name, Clock, Recorder, RoundClock, Tally, Timing};
pub use recorder::{merged, new_histogram};

mod recorder;

/// Errors that stop a librdkafka session, and so its cell (as opposed to
/// delivery failures, which are data).
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("producer for topic {topic}: {cause}")]
    Producer { topic: String, cause: KafkaError },
    #[error("topic {topic}: {delivered} of {sent} records still undelivered after {waited_ms} ms (hint: is the cluster reachable? raise message_timeout_ms for slow clusters)")]
    Stalled {
        topic: String,
        sent: u64,
        delivered: u64,
        waited_ms: u64,
    },
}

/// How creating a producer ended: a producer, or the client's refusal.
pub enum Created {
    Session(Box<Session>),
    /// librdkafka refused the configuration; its message, verbatim.
    Rejected(String),
}

/// The librdkafka configuration of a cell: the base (bootstrap and `-X`
/// properties) plus the cell's settings and the run's fixed values.
pub fn producer_config(
    base: &ClientConfig,
    settings: &ProducerSettings,
    fixed: &Fixed,
) -> ClientConfig {
    let mut c = base.clone();
    c.set(
        "max.in.flight.requests.per.connection",
        settings.max_in_flight.to_string(),
    )
    .set("acks", settings.acks.as_config())
    .set("enable.idempotence", settings.idempotence.to_string())
    .set("linger.ms", fixed.linger_ms.to_string())
    .set("batch.size", fixed.batch_bytes.to_string())
    .set("compression.type", fixed.compression.as_config())
    .set("message.timeout.ms", fixed.message_timeout_ms.to_string())
    // TCP_NODELAY, as the Java client always sets: with Nagle on, a
    // request's last partial segment waits for the ACK of the ones before,
    // which on the proxy's loopback hop is a delayed ACK, not the network.
    .set("socket.nagle.disable", "true")
    // A session idles between its rounds while the other cells run, and a
    // run holds a session per cell: once a second is cheap at that count,
    // and `finish` only needs one snapshot taken after the last delivery.
    .set("statistics.interval.ms", "1000");
    c
}

/// One round of a cell: how many records, and how they are timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundSpec {
    /// Records sent first, untimed (the pipeline fills).
    pub warmup: u64,
    /// Timed windows.
    pub windows: u32,
    /// Records per window.
    pub records_per_window: u64,
    /// Records sent after the last window, untimed (the pipeline drains).
    pub tail: u64,
    /// Records per burst: when not 0, every `burst` records the producer
    /// waits until all are acknowledged before it sends more (the
    /// article's experiment: bursts of 100 records); 0 sends without pause.
    pub burst: u64,
}

impl RoundSpec {
    /// The round of `cell` under `workload`: a warm-up of one window, the
    /// windows, the tail.
    pub fn for_cell(cell: &crate::grid::Cell, workload: &crate::grid::Workload) -> RoundSpec {
        let (f, n) = (&workload.fixed, &workload.network);
        let per = f.records_per_window(cell, n);
        RoundSpec {
            warmup: per,
            windows: f.windows,
            records_per_window: per,
            tail: f.tail_records(cell, n),
            burst: f.burst_records,
        }
    }

    /// Every record the round sends.
    pub fn records(&self) -> u64 {
        self.warmup + u64::from(self.windows) * self.records_per_window + self.tail
    }
}

/// The latency of a fixed-rate phase.
pub struct FixedRate {
    pub rate_per_sec: u64,
    pub records: u64,
    pub elapsed_ns: u64,
    /// From each record's intended send time to its acknowledgement.
    pub latency: Histogram<u64>,
    /// How late `send()` was against the intended time.
    pub send_delay: Histogram<u64>,
}

/// One cell's producer and everything measured about it so far.
pub struct Session {
    /// Declared before `producer` so that it is dropped first.
    rkt: TopicHandle,
    producer: BaseProducer<Recorder>,
    topic: String,
    run_tag: u64,
    payload: Vec<u8>,
    /// Where each record goes: partition, stream, sequence, key.
    streams: Streams,
    /// The current record's key, when records carry keys.
    key: Vec<u8>,
    /// Timed windows of every round so far, in order.
    samples: Vec<Sample>,
    /// Latency of each window's records, beside `samples`.
    sample_latency: Vec<Histogram<u64>>,
    /// Rounds run so far.
    rounds: u32,
    /// When the last record handed to the client had its delivery report.
    drained_at: Instant,
    message_timeout: Duration,
    /// Records handed to the client so far, for observers on other threads
    /// (the failover controller waits for its planned point on it).
    sent: Arc<AtomicU64>,
    /// This process's threads just before the producer was created: the
    /// librdkafka threads alive after the warm-up that are not among them
    /// are this producer's (see [`Session::cpu_probe`]).
    threads_before: BTreeSet<u32>,
    /// This producer's librdkafka threads, known once it has warmed up.
    own_threads: Option<BTreeSet<u32>>,
}

/// Everything a finished session measured.
pub struct SessionTotals {
    /// Timed windows of every round.
    pub samples: Vec<Sample>,
    /// Latency over every window (at saturation: the client's own queue included).
    pub latency: Latency,
    pub delivery: DeliveryCounts,
    pub deliveries: Deliveries,
    pub client: ClientCounters,
    pub effective: BTreeMap<String, String>,
    /// Per partition, one past the highest acknowledged offset: the log must
    /// reach at least this far before it is read back.
    pub acked_end_offsets: BTreeMap<i32, i64>,
}

impl Session {
    /// Creates the cell's producer. A configuration librdkafka refuses is a
    /// [`Created::Rejected`] carrying its message, not an error.
    pub fn create(
        base: &ClientConfig,
        settings: &ProducerSettings,
        fixed: &Fixed,
        topic: &str,
        run_tag: u64,
        streams: Streams,
    ) -> Result<Created, SessionError> {
        let clock = Clock::new();
        let recorder = Recorder {
            clock,
            tally: Mutex::new(Tally {
                deliveries: Deliveries::default(),
                counts: DeliveryCounts::default(),
                timing: Timing::Off,
                max_acked_offset: BTreeMap::new(),
            }),
            counters: Mutex::new(ClientCounters::default()),
            stats_at: Mutex::new(None),
            wakeups: Mutex::new(Vec::new()),
            acked: Arc::new(AtomicU64::new(0)),
        };
        let config = producer_config(base, settings, fixed);
        let threads_before = crate::cpu::thread_ids();
        let producer = match config.create_with_context::<_, BaseProducer<Recorder>>(recorder) {
            Ok(p) => p,
            Err(KafkaError::ClientCreation(message)) => return Ok(Created::Rejected(message)),
            Err(source) => {
                return Err(SessionError::Producer {
                    topic: topic.into(),
                    cause: source,
                })
            }
        };
        let rkt = TopicHandle::new(&producer, topic).map_err(|source| SessionError::Producer {
            topic: topic.into(),
            cause: source,
        })?;
        let mut payload = vec![0u8; fixed.record_bytes];
        // Incompressible-looking padding so compression settings measure
        // something; deterministic so runs compare.
        let mut x: u32 = 0x9e37_79b9;
        for b in payload.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        Ok(Created::Session(Box::new(Session {
            rkt,
            producer,
            topic: topic.into(),
            run_tag,
            payload,
            streams,
            key: Vec::new(),
            samples: Vec::new(),
            sample_latency: Vec::new(),
            rounds: 0,
            drained_at: Instant::now(),
            message_timeout: Duration::from_millis(u64::from(fixed.message_timeout_ms)),
            sent: Arc::new(AtomicU64::new(0)),
            threads_before,
            own_threads: None,
        })))
    }

    /// The timed windows of every round so far.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// The latency of each window's records, beside [`Session::samples`].
    pub fn sample_latency(&self) -> &[Histogram<u64>] {
        &self.sample_latency
    }

    /// A live count of the records handed to the client, warm-up included.
    pub fn sent_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.sent)
    }

    /// A live count of the records acknowledged, warm-up included.
    pub fn acked_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.producer.context().acked)
    }

    /// Sends `records` untimed records and waits for their delivery, so that
    /// connection, metadata and producer-id set-up are paid before timing.
    pub fn warm_up(&mut self, records: u64) -> Result<(), SessionError> {
        self.tally().timing = Timing::Off;
        let start = Instant::now();
        for _ in 0..records {
            self.send_one(None);
        }
        let drained = self.wait_delivered(start);
        // Metadata has arrived and the leaders were written to: every
        // broker thread this producer needs has started.
        self.own_threads = Some(
            crate::cpu::thread_ids()
                .difference(&self.threads_before)
                .copied()
                .collect(),
        );
        drained
    }

    /// How to read this producer's CPU time around a round, from the
    /// thread that will call [`Session::round`]: that thread, and the
    /// librdkafka threads that appeared while this producer was created
    /// and warmed up (so neither another cell's idle producer nor the
    /// checker's consumer counts); every librdkafka thread of the process
    /// before the warm-up.
    pub fn cpu_probe(&self) -> crate::cpu::ClientProbe {
        crate::cpu::ClientProbe::InProcess(crate::cpu::Attribution {
            senders: crate::cpu::current_tid().into_iter().collect(),
            librdkafka: self.own_threads.clone(),
        })
    }

    /// Runs one round (see the module documentation) as fast as the client
    /// takes records, and returns its timed windows. Windows the round did
    /// not complete (records failed before a boundary) are left out.
    pub fn round(&mut self, spec: &RoundSpec) -> Result<Vec<Sample>, SessionError> {
        let now = self.clock().now_ns();
        self.tally().timing = Timing::Round(RoundClock::new(spec, now));
        let start = Instant::now();
        let mut waited = Ok(());
        for i in 0..spec.records() {
            self.send_one(None);
            if spec.burst > 0 && (i + 1) % spec.burst == 0 {
                waited = self.wait_delivered(start);
                if waited.is_err() {
                    break;
                }
            }
        }
        let waited = waited.and_then(|()| self.wait_delivered(start));
        let Timing::Round(clock) = std::mem::replace(&mut self.tally().timing, Timing::Off) else {
            unreachable!("the round's timing is set above")
        };
        waited?;
        let round = self.rounds;
        self.rounds += 1;
        let bytes_per = self.payload.len() as u64;
        let mut windows = Vec::new();
        for (i, pair) in clock.reached_ns.windows(2).enumerate() {
            let h = &clock.latency[i];
            let sample = Sample {
                round,
                records: spec.records_per_window,
                bytes: spec.records_per_window * bytes_per,
                elapsed_ns: pair[1].saturating_sub(pair[0]).max(1),
                p50_us: h.value_at_quantile(0.5),
                p99_us: h.value_at_quantile(0.99),
            };
            self.samples.push(sample.clone());
            self.sample_latency.push(h.clone());
            windows.push(sample);
        }
        Ok(windows)
    }

    /// Sends `records` records at `rate` records/s: record *i* is due at
    /// start + i/rate, and its latency counts from then, however late
    /// `send()` got to it (coordinated omission corrected); how late it was
    /// is recorded apart.
    pub fn fixed_rate(&mut self, rate: u64, records: u64) -> Result<FixedRate, SessionError> {
        // From an empty queue: nothing sent earlier waits ahead of the phase.
        self.wait_delivered(Instant::now())?;
        self.tally().timing = Timing::Fixed(new_histogram());
        let clock = self.clock();
        let interval = 1_000_000_000 / rate.max(1);
        let mut send_delay = new_histogram();
        let start = Instant::now();
        let start_ns = clock.now_ns();
        for i in 0..records {
            let due = start_ns + i * interval;
            self.wait_until(&clock, due);
            self.send_one(Some(due));
            let late_us = clock.now_ns().saturating_sub(due) / 1_000;
            send_delay.saturating_record(late_us.max(1));
        }
        let waited = self.wait_delivered(start);
        let elapsed = start.elapsed();
        let Timing::Fixed(latency) = std::mem::replace(&mut self.tally().timing, Timing::Off)
        else {
            unreachable!("the phase's timing is set above")
        };
        waited?;
        Ok(FixedRate {
            rate_per_sec: rate,
            records,
            elapsed_ns: elapsed.as_nanos() as u64,
            latency,
            send_delay,
        })
    }

    /// librdkafka's broker thread wake-ups per second (its statistics'
    /// `wakeups`, summed over brokers) between the first and the last
    /// statistics snapshot served from `from` to `to`; `None` with fewer
    /// than two (snapshots come once a second, and are served by the polls
    /// of [`Session::round`] and the other phases). Take `from` and `to`
    /// around a round for the round's rate.
    pub fn wakeups_per_sec(&self, from: Instant, to: Instant) -> Option<f64> {
        let readings = self
            .producer
            .context()
            .wakeups
            .lock()
            .expect("wakeups lock");
        recorder::wakeups_per_sec(&readings, from, to)
    }

    /// Waits for a statistics snapshot taken after the last delivery, reads
    /// the effective configuration and returns everything measured.
    pub fn finish(self) -> Result<SessionTotals, SessionError> {
        // Snapshots queued while the session idled are served by this poll;
        // one that arrived after the last delivery holds the final counts.
        let fresh = || {
            self.producer
                .context()
                .stats_at
                .lock()
                .expect("stats lock")
                .is_some_and(|at| at > self.drained_at)
        };
        let deadline = Instant::now() + Duration::from_secs(3);
        self.producer.poll(Duration::ZERO);
        while !fresh() && Instant::now() < deadline {
            self.producer.poll(Duration::from_millis(20));
        }
        // What librdkafka runs with, after its defaults and its own
        // derivations (e.g. idempotence forcing `acks=all`).
        let effective =
            librdkafka::effective_config(&self.producer, redact::RECORDED_LIBRDKAFKA_KEYS);
        let ctx = self.producer.context();
        let mut client = ctx.counters.lock().expect("counters lock").clone();
        let sent = self.streams.total();
        client.records_resent = client.records_transmitted.saturating_sub(sent);
        let mut t = ctx.tally.lock().expect("tally lock");
        let mut delivery = std::mem::take(&mut t.counts);
        delivery.sent = sent;
        let mut deliveries = std::mem::take(&mut t.deliveries);
        for (stream, sent) in self.streams.sent() {
            deliveries.stream_mut(stream).sent = sent;
        }
        let latency = Latency::from_histogram(&merged(&self.sample_latency));
        let acked_end_offsets = t
            .max_acked_offset
            .iter()
            .map(|(&p, &o)| (p, o + 1))
            .collect();
        drop(t);
        Ok(SessionTotals {
            samples: self.samples.clone(),
            latency,
            delivery,
            deliveries,
            client,
            effective,
            acked_end_offsets,
        })
    }

    fn clock(&self) -> Clock {
        self.producer.context().clock
    }

    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.producer.context().tally.lock().expect("tally lock")
    }

    /// Serves delivery reports until `due`, then returns.
    fn wait_until(&self, clock: &Clock, due: u64) {
        loop {
            let now = clock.now_ns();
            if now >= due {
                return;
            }
            self.producer.poll(Duration::ZERO);
            let left = due - now;
            if left > 200_000 {
                std::thread::sleep(Duration::from_nanos(left - 100_000));
            } else {
                std::hint::spin_loop();
            }
        }
    }

    /// Stamps and sends the next record of the next stream. The only path by
    /// which this suite produces anything. `intended_ns` is the record's due
    /// time in fixed-rate mode; otherwise the stamp is the time of sending.
    #[inline]
    fn send_one(&mut self, intended_ns: Option<u64>) {
        let next = self.streams.next_record();
        let (stream, seq) = (next.stream, next.seq);
        let handed = self.sent.fetch_add(1, Ordering::Relaxed);
        let stamp_ns = intended_ns.unwrap_or_else(|| self.producer.context().clock.now_ns());
        Stamp {
            run_id: self.run_tag,
            stream,
            seq,
            intended_send_ns: stamp_ns,
        }
        .write(&mut self.payload);
        let key = next.key.map(|(k, key_seq)| {
            crate::record::write_key_seq(&mut self.payload, key_seq);
            crate::record::write_key(&mut self.key, k);
        });
        let key = key.map(|()| self.key.as_slice());
        loop {
            // `rd_kafka_produce` on the topic handle: a copied value, the
            // key if any, no opaque, and no per-record topic lookup.
            match self.rkt.produce(next.partition as i32, key, &self.payload) {
                Ok(()) => break,
                Err(RDKafkaErrorCode::QueueFull) => {
                    // The local queue is full: serve delivery reports until
                    // there is room (10 ms: see `wait_delivered`).
                    self.producer.poll(Duration::from_millis(10));
                }
                Err(code) => {
                    let e = KafkaError::MessageProduction(code);
                    // Refused before it entered the queue: a failure the
                    // checker must see as such (a gap if absent).
                    let mut t = self.tally();
                    let t = &mut *t;
                    t.deliveries.stream_mut(stream).failed.set(seq);
                    t.counts.failed += 1;
                    *t.counts.failed_by_error.entry(error_name(&e)).or_insert(0) += 1;
                    break;
                }
            }
        }
        // Serve delivery reports often enough that callbacks keep up.
        if handed % 64 == 0 {
            self.producer.poll(Duration::ZERO);
        }
    }

    /// Polls until every record handed to the client has a delivery report.
    /// Short polls, not `flush()`: `flush` polls in 100 ms steps and would
    /// quantise every window's end.
    fn wait_delivered(&mut self, since: Instant) -> Result<(), SessionError> {
        // Each record gets its report within message.timeout.ms; allow that
        // plus a margin before calling the cell stalled.
        let limit = self.message_timeout + Duration::from_secs(30);
        while self.producer.in_flight_count() > 0 {
            // rdkafka's poll serves events until its deadline, asking
            // librdkafka to block for the remaining whole milliseconds: the
            // last millisecond of every poll is a busy loop. A 10 ms poll
            // blocks for 9 of them (reports are still served the moment
            // they arrive) instead of spinning a core the brokers need.
            self.producer.poll(Duration::from_millis(10));
            if since.elapsed() > limit {
                let sent = self.streams.total();
                let t = self.tally();
                return Err(SessionError::Stalled {
                    topic: self.topic.clone(),
                    sent,
                    delivered: t.counts.acked + t.counts.failed,
                    waited_ms: since.elapsed().as_millis() as u64,
                });
            }
        }
        // Reports queued by librdkafka but not yet served by a poll.
        self.producer.poll(Duration::ZERO);
        self.drained_at = Instant::now();
        Ok(())
    }
}

/// librdkafka's version string, e.g. `2.12.1`.
pub fn librdkafka_version() -> String {
    rdkafka::util::get_rdkafka_version().1
}
