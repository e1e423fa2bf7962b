//! One cell's session with the Java driver: `create`, then any number of
//! `round` and `fixed_rate` phases, then `finish`, and what each reports.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::delivery::Deliveries;
use crate::driver::java::config::java_config;
use crate::driver::java::process::DriverProcess;
use crate::driver::java::protocol::{histogram, unexpected, Adjusted, Reply, Request};
use crate::driver::java::{DriverError, JavaClient};
use crate::grid::{Fixed, ProducerSettings};
use crate::redact::{self, RECORDED_JAVA_KEYS};

/// How creating the producer ended.
pub enum JavaCreated {
    Session(Box<JavaSession>),
    /// The Java client refused the configuration.
    Rejected {
        /// The exception's message, verbatim.
        message: String,
        /// The exception's class, e.g. `org.apache.kafka.common.config.ConfigException`.
        exception: String,
    },
}

/// One timed window of a round.
#[derive(Debug, Clone)]
pub struct JavaWindow {
    /// Records completed in the window (acknowledged or failed).
    pub records: u64,
    /// `records` × record size.
    pub bytes: u64,
    /// Of `records`, those that failed.
    pub failed: u64,
    /// From the completion that opened the window to the one that closed it.
    pub elapsed_ns: u64,
    /// Latency of the window's acknowledged records, µs from the stamp's send time.
    pub histogram: Histogram<u64>,
}

/// The outcome of a fixed-rate phase.
#[derive(Debug, Clone)]
pub struct JavaFixedRate {
    pub records: u64,
    /// From the phase's start to its last completion.
    pub elapsed_ns: u64,
    /// µs from each record's intended send time to its acknowledgement.
    pub histogram: Histogram<u64>,
    /// µs from each record's intended send time to the return of its `send()`.
    pub send_delay: Histogram<u64>,
}

/// Everything a finished session reports.
#[derive(Debug, Clone)]
pub struct JavaFinish {
    /// Every record's outcome, per stream.
    pub deliveries: Deliveries,
    /// Failed records per exception class.
    pub failed_by_exception: BTreeMap<String, u64>,
    /// The client's producer-metrics (e.g. `record-retry-total`); a metric
    /// with no value (NaN) is left out.
    pub metrics: BTreeMap<String, f64>,
    /// `ProducerConfig` values after the client's adjustments, the keys of
    /// [`RECORDED_JAVA_KEYS`] only.
    pub effective: BTreeMap<String, String>,
    /// Per partition, one past the highest acknowledged offset.
    pub acked_end_offsets: BTreeMap<i32, i64>,
}

/// One driver process and its producer.
pub struct JavaSession {
    process: DriverProcess,
    record_bytes: u64,
    client_version: String,
    effective: BTreeMap<String, String>,
    adjusted: Vec<Adjusted>,
}

impl JavaSession {
    /// Starts a driver process and creates the cell's producer. A
    /// configuration the client refuses is [`JavaCreated::Rejected`].
    pub fn create(
        client: &JavaClient,
        base: &BTreeMap<String, String>,
        settings: &ProducerSettings,
        fixed: &Fixed,
        topic: &str,
        run_tag: u64,
        streams: &crate::record::Streams,
    ) -> Result<JavaCreated, DriverError> {
        let mut process = DriverProcess::spawn(client)?;
        let request = Request::Create {
            topic: topic.into(),
            partitions: fixed.partitions,
            record_bytes: fixed.record_bytes,
            run_tag: run_tag as i64,
            config: java_config(base, settings, fixed),
            first_stream: streams.first_stream(),
            keys: streams.keys().map(|k| {
                let (count, distribution, seed) = k.spec();
                super::protocol::KeysSpec {
                    count,
                    distribution,
                    seed: seed as i64,
                }
            }),
        };
        let created = match process.call(&request)? {
            Reply::Created(c) => c,
            Reply::Rejected(r) => {
                // The driver waits for finish; it has nothing to report.
                let _ = process.call(&Request::Finish);
                return Ok(JavaCreated::Rejected {
                    message: r.message,
                    exception: r.exception,
                });
            }
            other => return Err(unexpected("create", &other)),
        };
        Ok(JavaCreated::Session(Box::new(JavaSession {
            process,
            record_bytes: fixed.record_bytes as u64,
            client_version: created.client_version,
            effective: redact::recorded_config(created.effective, RECORDED_JAVA_KEYS),
            adjusted: created
                .adjusted
                .into_iter()
                .filter(|a| !redact::is_secret_key(&a.key))
                .collect(),
        })))
    }

    /// The driver JVM's process id: sample its CPU time with
    /// [`crate::cpu::ProcessSample::of`] around a round.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The client's own version string (`AppInfoParser.getVersion()`).
    pub fn client_version(&self) -> &str {
        &self.client_version
    }

    /// `ProducerConfig` values after the client's adjustments, secrets left out.
    pub fn effective(&self) -> &BTreeMap<String, String> {
        &self.effective
    }

    /// Requested settings the client changed (requested beside effective).
    pub fn adjusted(&self) -> &[Adjusted] {
        &self.adjusted
    }

    /// A live count of the records handed to `send()`, updated every ~50 ms
    /// while a phase runs (the failover controller watches it).
    pub fn sent_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.process.sent)
    }

    /// A live count of the acknowledged records, updated like [`Self::sent_counter`].
    pub fn acked_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.process.acked)
    }

    /// Sends `warmup + windows·per_window + tail` records, without pause or
    /// (`burst` > 0) waiting for every record's acknowledgement after each
    /// `burst` records, and returns the windows (see
    /// `drivers/java/README.md` for how they are delimited).
    pub fn round(
        &mut self,
        warmup: u64,
        windows: u32,
        per_window: u64,
        tail: u64,
        burst: u64,
    ) -> Result<Vec<JavaWindow>, DriverError> {
        let request = Request::Round {
            warmup_records: warmup,
            windows,
            records_per_window: per_window,
            tail_records: tail,
            burst_records: burst,
        };
        let r = match self.process.call(&request)? {
            Reply::Round(r) => r,
            other => return Err(unexpected("round", &other)),
        };
        r.windows
            .into_iter()
            .map(|w| {
                Ok(JavaWindow {
                    records: w.records,
                    bytes: w.bytes,
                    failed: w.failed,
                    elapsed_ns: w.elapsed_ns,
                    histogram: histogram("round", &w.histogram)?,
                })
            })
            .collect()
    }

    /// Sends `records` records at `rate_per_sec`, record *i* due at start +
    /// i/rate; latency counts from the due time.
    pub fn fixed_rate(
        &mut self,
        rate_per_sec: f64,
        records: u64,
    ) -> Result<JavaFixedRate, DriverError> {
        let request = Request::FixedRate {
            rate_per_sec,
            records,
        };
        let r = match self.process.call(&request)? {
            Reply::FixedRate(r) => r,
            other => return Err(unexpected("fixed_rate", &other)),
        };
        Ok(JavaFixedRate {
            records: r.records,
            elapsed_ns: r.elapsed_ns,
            histogram: histogram("fixed_rate", &r.histogram)?,
            send_delay: histogram("fixed_rate", &r.send_delay)?,
        })
    }

    /// Record size in bytes.
    pub fn record_bytes(&self) -> u64 {
        self.record_bytes
    }

    /// Closes the producer and returns every record's outcome, the client's
    /// metrics and its effective configuration; the process exits.
    pub fn finish(mut self) -> Result<JavaFinish, DriverError> {
        let r = match self.process.call(&Request::Finish)? {
            Reply::Finish(r) => r,
            other => return Err(unexpected("finish", &other)),
        };
        let mut deliveries = Deliveries::default();
        let mut failed_by_exception = BTreeMap::new();
        for s in r.deliveries {
            let d = deliveries.stream_mut(s.stream);
            d.sent = s.sent;
            for (first, last) in s.acked {
                for seq in first..=last {
                    d.acked.set(seq);
                }
            }
            for f in s.failed {
                for seq in f.first..=f.last {
                    d.failed.set(seq);
                }
                *failed_by_exception.entry(f.exception).or_insert(0) += f.last - f.first + 1;
            }
        }
        let acked_end_offsets = r
            .acked_end_offsets
            .into_iter()
            .filter_map(|(p, o)| p.parse().ok().map(|p| (p, o)))
            .collect();
        self.process.close_and_wait(Duration::from_secs(10));
        Ok(JavaFinish {
            deliveries,
            failed_by_exception,
            metrics: r
                .metrics
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect(),
            effective: redact::recorded_config(r.effective, RECORDED_JAVA_KEYS),
            acked_end_offsets,
        })
    }
}
