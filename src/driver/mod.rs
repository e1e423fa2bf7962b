//! The producer of a cell, whichever client it is.
//!
//! The suite drives every client through one protocol ([`CellProducer`]):
//! a warm-up, rounds of steady-state windows, a fixed-rate phase, then the
//! totals. Two clients implement it:
//!
//! - [`crate::librdkafka::Session`]: librdkafka in process;
//! - [`java`]: the Apache Kafka Java client, built from `drivers/java/` with
//!   Maven once per client version and driven as a subprocess over JSON lines.

pub mod group;
pub mod java;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use hdrhistogram::Histogram;
use rdkafka::config::ClientConfig;

pub use java::{DriverError, JavaClient, JavaDriver, JavaSession};

use crate::cpu::ClientProbe;
use crate::grid::{Cell, Client, Fixed};
use crate::librdkafka::{Created, FixedRate, RoundSpec, Session, SessionError, SessionTotals};
use crate::record::Streams;
use crate::results::{ClientCounters, DeliveryCounts, Latency, Sample};

/// A live count kept by one or several producers (records handed to the
/// client, or acknowledged), read from any thread.
#[derive(Debug, Clone, Default)]
pub struct Counter(Vec<Arc<AtomicU64>>);

impl Counter {
    /// One producer's count.
    pub fn of(count: Arc<AtomicU64>) -> Counter {
        Counter(vec![count])
    }

    /// Several producers' counts, read as their sum.
    pub fn sum(counters: impl IntoIterator<Item = Counter>) -> Counter {
        Counter(counters.into_iter().flat_map(|c| c.0).collect())
    }

    /// The count now.
    pub fn load(&self) -> u64 {
        self.0
            .iter()
            .map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
            .sum()
    }
}

/// One cell's producer, as the suite drives it. `Send`: a cell's several
/// producers each live on a thread of their own ([`group::Group`]).
pub trait CellProducer: Send {
    /// Sends `records` untimed records and waits for their delivery.
    fn warm_up(&mut self, records: u64) -> Result<(), ProducerError>;
    /// One round; returns its timed windows.
    fn round(&mut self, spec: &RoundSpec) -> Result<Vec<Sample>, ProducerError>;
    /// Latency at a fixed rate.
    fn fixed_rate(&mut self, rate: u64, records: u64) -> Result<FixedRate, ProducerError>;
    /// Every window so far.
    fn samples(&self) -> &[Sample];
    /// The latency of each window's records, beside [`CellProducer::samples`].
    fn sample_latency(&self) -> &[Histogram<u64>];
    /// The last `n` windows with the latency of their records.
    fn last_windows(&self, n: usize) -> Vec<(Sample, Histogram<u64>)> {
        let (samples, latency) = (self.samples(), self.sample_latency());
        let from = samples.len().saturating_sub(n);
        samples[from..]
            .iter()
            .cloned()
            .zip(latency[from..].iter().cloned())
            .collect()
    }
    /// Records handed to the client so far.
    fn sent_counter(&self) -> Counter;
    /// Records acknowledged so far.
    fn acked_counter(&self) -> Counter;
    /// The totals; the producer is closed.
    fn finish(self: Box<Self>) -> Result<SessionTotals, ProducerError>;
    /// How to read the client's CPU time around a round ([`crate::cpu`]);
    /// ask from the thread that calls [`CellProducer::round`].
    fn cpu_probe(&self) -> ClientProbe;
    /// The client's own wake-ups per second between `from` and `to`, for
    /// a client that counts them (librdkafka's broker threads).
    fn wakeups_per_sec(&self, _from: Instant, _to: Instant) -> Option<f64> {
        None
    }
}

/// How creating a cell's producer ended.
pub enum Opened {
    Producer(Box<dyn CellProducer>),
    /// The client refused the configuration; its message, verbatim.
    Rejected(String),
}

/// The Java clients a run needs, prepared (fetched and built) once, before
/// any cell runs, so a version Maven cannot fetch fails in seconds.
#[derive(Default)]
pub struct Clients {
    java: std::collections::BTreeMap<String, JavaClient>,
}

impl Clients {
    /// Prepares every Java client of `clients`.
    pub fn prepare(clients: &[Client]) -> Result<Clients, DriverError> {
        let mut out = Clients::default();
        for c in clients {
            if let Client::Java(v) = c {
                if !out.java.contains_key(v) {
                    out.java.insert(v.clone(), JavaDriver::prepare(v)?);
                }
            }
        }
        Ok(out)
    }

    /// Creates `cell`'s producers on `base` (bootstrap and `-X` properties):
    /// `fixed.producers` client instances, each numbering its own streams
    /// and drawing its own keys from `seed`; several are driven as one
    /// [`group::Group`]. A refused configuration is refused by the first.
    pub fn open(
        &self,
        cell: &Cell,
        base: &ClientConfig,
        fixed: &Fixed,
        topic: &str,
        run_tag: u64,
        seed: u64,
    ) -> Result<Opened, ProducerError> {
        let mut producers = Vec::new();
        for i in 0..fixed.producers.max(1) {
            let streams = fixed.producer_streams(i, seed);
            match self.open_one(cell, base, fixed, topic, run_tag, streams)? {
                Opened::Producer(p) => producers.push(p),
                rejected @ Opened::Rejected(_) => return Ok(rejected),
            }
        }
        Ok(Opened::Producer(if producers.len() == 1 {
            producers.pop().expect("one producer")
        } else {
            Box::new(group::Group::new(producers))
        }))
    }

    /// Creates one producer of `cell`, writing `streams`.
    fn open_one(
        &self,
        cell: &Cell,
        base: &ClientConfig,
        fixed: &Fixed,
        topic: &str,
        run_tag: u64,
        streams: Streams,
    ) -> Result<Opened, ProducerError> {
        match &cell.client {
            Client::Librdkafka => Ok(
                match Session::create(base, &cell.settings, fixed, topic, run_tag, streams)? {
                    Created::Session(s) => Opened::Producer(s),
                    Created::Rejected(m) => Opened::Rejected(m),
                },
            ),
            Client::Java(v) => {
                let client = self
                    .java
                    .get(v)
                    .ok_or_else(|| ProducerError::JavaNotPrepared {
                        version: v.to_string(),
                    })?;
                let base = java::base_from_rdkafka(base);
                match JavaSession::create(
                    client,
                    &base,
                    &cell.settings,
                    fixed,
                    topic,
                    run_tag,
                    &streams,
                )? {
                    java::JavaCreated::Session(s) => Ok(Opened::Producer(Box::new(JavaProducer {
                        session: *s,
                        samples: Vec::new(),
                        latency: Vec::new(),
                        rounds: 0,
                    }))),
                    java::JavaCreated::Rejected { message, .. } => Ok(Opened::Rejected(message)),
                }
            }
        }
    }
}

/// Errors that stop a cell's producer, whichever client it is (as opposed
/// to delivery failures, which are data).
#[derive(Debug, thiserror::Error)]
pub enum ProducerError {
    #[error(transparent)]
    Librdkafka(#[from] SessionError),
    #[error(transparent)]
    Java(#[from] DriverError),
    #[error("Java client {version} was not prepared")]
    JavaNotPrepared { version: String },
}

impl CellProducer for Session {
    fn warm_up(&mut self, records: u64) -> Result<(), ProducerError> {
        Ok(Session::warm_up(self, records)?)
    }
    fn round(&mut self, spec: &RoundSpec) -> Result<Vec<Sample>, ProducerError> {
        Ok(Session::round(self, spec)?)
    }
    fn fixed_rate(&mut self, rate: u64, records: u64) -> Result<FixedRate, ProducerError> {
        Ok(Session::fixed_rate(self, rate, records)?)
    }
    fn samples(&self) -> &[Sample] {
        Session::samples(self)
    }
    fn sample_latency(&self) -> &[Histogram<u64>] {
        Session::sample_latency(self)
    }
    fn sent_counter(&self) -> Counter {
        Counter::of(Session::sent_counter(self))
    }
    fn acked_counter(&self) -> Counter {
        Counter::of(Session::acked_counter(self))
    }
    fn finish(self: Box<Self>) -> Result<SessionTotals, ProducerError> {
        Ok(Session::finish(*self)?)
    }
    fn cpu_probe(&self) -> ClientProbe {
        Session::cpu_probe(self)
    }
    fn wakeups_per_sec(&self, from: Instant, to: Instant) -> Option<f64> {
        Session::wakeups_per_sec(self, from, to)
    }
}

/// The Java driver behind the common protocol.
struct JavaProducer {
    session: JavaSession,
    samples: Vec<Sample>,
    latency: Vec<Histogram<u64>>,
    rounds: u32,
}

impl CellProducer for JavaProducer {
    fn warm_up(&mut self, records: u64) -> Result<(), ProducerError> {
        self.session
            .round(records, 0, 0, 0, 0)
            .map(|_| ())
            .map_err(ProducerError::from)
    }

    fn round(&mut self, spec: &RoundSpec) -> Result<Vec<Sample>, ProducerError> {
        let windows = self.session.round(
            spec.warmup,
            spec.windows,
            spec.records_per_window,
            spec.tail,
            spec.burst,
        )?;
        let round = self.rounds;
        self.rounds += 1;
        let mut out = Vec::with_capacity(windows.len());
        for w in windows {
            let sample = Sample {
                round,
                records: w.records,
                bytes: w.bytes,
                elapsed_ns: w.elapsed_ns.max(1),
                p50_us: w.histogram.value_at_quantile(0.5),
                p99_us: w.histogram.value_at_quantile(0.99),
            };
            self.latency.push(w.histogram);
            self.samples.push(sample.clone());
            out.push(sample);
        }
        Ok(out)
    }

    fn fixed_rate(&mut self, rate: u64, records: u64) -> Result<FixedRate, ProducerError> {
        let r = self.session.fixed_rate(rate as f64, records)?;
        Ok(FixedRate {
            rate_per_sec: rate,
            records: r.records,
            elapsed_ns: r.elapsed_ns,
            latency: r.histogram,
            send_delay: r.send_delay,
        })
    }

    fn samples(&self) -> &[Sample] {
        &self.samples
    }

    fn sample_latency(&self) -> &[Histogram<u64>] {
        &self.latency
    }

    fn sent_counter(&self) -> Counter {
        Counter::of(self.session.sent_counter())
    }

    fn acked_counter(&self) -> Counter {
        Counter::of(self.session.acked_counter())
    }

    fn cpu_probe(&self) -> ClientProbe {
        // The whole JVM: its sending and I/O threads, and its compiler and
        // collector threads, which the client's work costs too.
        ClientProbe::Process(vec![self.session.pid()])
    }

    fn finish(self: Box<Self>) -> Result<SessionTotals, ProducerError> {
        let JavaProducer {
            session,
            samples,
            latency,
            ..
        } = *self;
        let effective = session.effective().clone();
        let done = session.finish()?;
        let total = crate::librdkafka::merged(&latency);
        let mut delivery = DeliveryCounts::default();
        for s in &done.deliveries.streams {
            delivery.sent += s.sent;
            delivery.acked += s.acked.count();
            delivery.failed += s.failed.count();
        }
        delivery.failed_by_error = done.failed_by_exception.clone();
        let metric = |k: &str| done.metrics.get(k).copied().unwrap_or(0.0) as u64;
        let client = ClientCounters {
            requests: metric("request-total"),
            retries: metric("record-retry-total"),
            records_transmitted: metric("record-send-total"),
            records_resent: metric("record-retry-total"),
            request_errors: metric("record-error-total"),
            ..ClientCounters::default()
        };
        let mut effective_all = effective;
        effective_all.extend(done.effective);
        Ok(SessionTotals {
            samples,
            latency: Latency::from_histogram(&total),
            delivery,
            deliveries: done.deliveries,
            client,
            effective: effective_all,
            acked_end_offsets: done.acked_end_offsets,
        })
    }
}
