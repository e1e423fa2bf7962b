//! The Java producer driver: Apache Kafka's Java client at a version chosen at
//! run time, driven as a subprocess.
//!
//! [`JavaDriver::prepare`] builds `drivers/java/` (embedded in this binary)
//! with Maven once per client version into `<cache>/java-driver-<version>/`
//! (a temporary directory renamed into place), and returns a [`JavaClient`]:
//! the `java` to run and the classpath. A version Maven cannot fetch is a
//! one-line [`DriverError::CannotFetch`] naming it, meant for preflight.
//!
//! A [`JavaSession`] is one `java kob.Driver` process holding one
//! `KafkaProducer` for one cell. It speaks the JSON-lines protocol documented
//! in `drivers/java/README.md`: `create`, then any number of `round` and
//! `fixed_rate` phases, then `finish`. Progress lines feed
//! [`JavaSession::sent_counter`]; the child is killed when the session drops.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use hdrhistogram::Histogram;
use serde::Deserialize;

use crate::cluster::{cache_dir, find_java};
use crate::delivery::Deliveries;
use crate::grid::{Fixed, ProducerSettings};

mod build;

pub use build::{JavaClient, JavaDriver};

/// Errors of the Java driver: building it, or a session that broke. A
/// configuration the client refuses is not an error ([`JavaCreated::Rejected`]).
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(
        "invalid Java client version {version:?} (hint: a Maven version such as 4.1.1 or 3.9.1)"
    )]
    InvalidVersion { version: String },
    #[error("Java client {version}: `mvn` not found on PATH; it is needed once to fetch org.apache.kafka:kafka-clients:{version} (hint: install Maven, e.g. `apt-get install maven`)")]
    MavenMissing { version: String },
    #[error("Java client {version}: Maven cannot fetch org.apache.kafka:kafka-clients:{version} (log: {})", log.display())]
    CannotFetch { version: String, log: PathBuf },
    #[error("Java client {version}: building the driver failed: {detail} (log: {})", log.display())]
    Build {
        version: String,
        detail: String,
        log: PathBuf,
    },
    #[error("Java client: {0}")]
    Java(String),
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Java driver {op}: {message}")]
    Driver { op: &'static str, message: String },
    #[error("Java driver {op}: unexpected reply {reply:?}: {detail}")]
    Protocol {
        op: &'static str,
        reply: String,
        detail: String,
    },
    #[error("Java driver exited during {op} ({status}); last log lines:\n{log}")]
    Exited {
        op: &'static str,
        status: String,
        log: String,
    },
}

/// The Java client's configuration of a cell: the base (bootstrap and user
/// properties) plus the cell's settings and the run's fixed values, in the
/// Java client's names. `message_timeout_ms` is `delivery.timeout.ms`; since
/// the Java client refuses a delivery timeout below `linger.ms +
/// request.timeout.ms`, `request.timeout.ms` is lowered to fit when the
/// workload's timeout is shorter than its 30 s default.
pub fn java_config(
    base: &BTreeMap<String, String>,
    settings: &ProducerSettings,
    fixed: &Fixed,
) -> BTreeMap<String, String> {
    let mut c = base.clone();
    let mut set = |k: &str, v: String| {
        c.insert(k.to_string(), v);
    };
    set(
        "max.in.flight.requests.per.connection",
        settings.max_in_flight.to_string(),
    );
    set("acks", settings.acks.as_config().to_string());
    set("enable.idempotence", settings.idempotence.to_string());
    set("linger.ms", fixed.linger_ms.to_string());
    set("batch.size", fixed.batch_bytes.to_string());
    set(
        "compression.type",
        fixed.compression.as_config().to_string(),
    );
    set("delivery.timeout.ms", fixed.message_timeout_ms.to_string());
    let room = fixed.message_timeout_ms.saturating_sub(fixed.linger_ms);
    if room < 30_000 && !base.contains_key("request.timeout.ms") {
        set("request.timeout.ms", room.max(1).to_string());
    }
    c
}

/// The keys of an rdkafka configuration, for [`JavaSession::create`]'s base:
/// `bootstrap.servers`, `security.protocol`, SASL and SSL settings share
/// their names between the clients.
pub fn base_from_rdkafka(config: &rdkafka::config::ClientConfig) -> BTreeMap<String, String> {
    config
        .config_map()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A setting the client changed: what was asked and what runs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Adjusted {
    pub key: String,
    pub requested: String,
    pub effective: String,
}

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
    /// `ProducerConfig` values after the client's adjustments, secrets left out.
    pub effective: BTreeMap<String, String>,
    /// Per partition, one past the highest acknowledged offset.
    pub acked_end_offsets: BTreeMap<i32, i64>,
}

/// One driver process and its producer.
pub struct JavaSession {
    child: Child,
    stdin: Option<ChildStdin>,
    replies: Receiver<String>,
    sent: Arc<AtomicU64>,
    acked: Arc<AtomicU64>,
    log: Arc<Mutex<VecDeque<String>>>,
    record_bytes: u64,
    client_version: String,
    effective: BTreeMap<String, String>,
    adjusted: Vec<Adjusted>,
}

const LOG_LINES: usize = 30;

#[derive(Deserialize)]
struct Progress {
    sent: u64,
    acked: u64,
}

#[derive(Deserialize)]
struct CreatedReply {
    #[serde(default)]
    client_version: String,
    effective: BTreeMap<String, String>,
    adjusted: Vec<Adjusted>,
}

#[derive(Deserialize)]
struct RejectedReply {
    message: String,
    exception: String,
}

#[derive(Deserialize)]
struct WindowReply {
    records: u64,
    bytes: u64,
    #[serde(default)]
    failed: u64,
    elapsed_ns: u64,
    histogram: String,
}

#[derive(Deserialize)]
struct RoundReply {
    windows: Vec<WindowReply>,
}

#[derive(Deserialize)]
struct FixedRateReply {
    records: u64,
    elapsed_ns: u64,
    histogram: String,
    send_delay: String,
}

#[derive(Deserialize)]
struct FailedRange {
    first: u64,
    last: u64,
    exception: String,
}

#[derive(Deserialize)]
struct StreamReply {
    stream: u32,
    sent: u64,
    acked: Vec<(u64, u64)>,
    failed: Vec<FailedRange>,
}

#[derive(Deserialize)]
struct FinishReply {
    deliveries: Vec<StreamReply>,
    metrics: BTreeMap<String, Option<f64>>,
    effective: BTreeMap<String, String>,
    #[serde(default)]
    acked_end_offsets: BTreeMap<String, i64>,
}

/// Reads a base64 V2 (compressed) HdrHistogram as the Java side wrote it.
pub fn decode_histogram(b64: &str) -> Result<Histogram<u64>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| format!("histogram is not base64: {e}"))?;
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("histogram does not decode: {e:?}"))
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
    ) -> Result<JavaCreated, DriverError> {
        let mut session = Self::spawn(client, fixed.record_bytes as u64)?;
        let request = serde_json::json!({
            "op": "create",
            "topic": topic,
            "partitions": fixed.partitions,
            "record_bytes": fixed.record_bytes,
            // The stamp's run id is 64 bits; Java has no u64, and its JSON
            // reader takes a long: the same bits, read as signed.
            "run_tag": run_tag as i64,
            "config": java_config(base, settings, fixed),
        });
        let reply = session.call("create", &request)?;
        if let Some(r) = reply.get("rejected") {
            let r: RejectedReply = parse("create", &reply, r)?;
            // The driver waits for finish; it has nothing to report.
            let _ = session.call("finish", &serde_json::json!({"op": "finish"}));
            return Ok(JavaCreated::Rejected {
                message: r.message,
                exception: r.exception,
            });
        }
        let created: CreatedReply = parse("create", &reply, field("create", &reply, "created")?)?;
        session.client_version = created.client_version;
        session.effective = created.effective;
        session.adjusted = created.adjusted;
        Ok(JavaCreated::Session(Box::new(session)))
    }

    fn spawn(client: &JavaClient, record_bytes: u64) -> Result<JavaSession, DriverError> {
        let mut child = Command::new(&client.java)
            .arg("-cp")
            .arg(&client.classpath)
            .arg("kob.Driver")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| DriverError::Io {
                action: "run",
                path: client.java.clone(),
                source,
            })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let sent = Arc::new(AtomicU64::new(0));
        let acked = Arc::new(AtomicU64::new(0));
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, replies) = mpsc::channel();
        {
            let (sent, acked) = (Arc::clone(&sent), Arc::clone(&acked));
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if line.starts_with("{\"progress\":") {
                        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                            if let Ok(p) = serde_json::from_value::<Progress>(v["progress"].clone())
                            {
                                sent.fetch_max(p.sent, Ordering::Relaxed);
                                acked.fetch_max(p.acked, Ordering::Relaxed);
                            }
                        }
                        continue;
                    }
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    let mut l = log.lock().expect("log lock");
                    if l.len() == LOG_LINES {
                        l.pop_front();
                    }
                    l.push_back(line);
                }
            });
        }
        Ok(JavaSession {
            child,
            stdin,
            replies,
            sent,
            acked,
            log,
            record_bytes,
            client_version: String::new(),
            effective: BTreeMap::new(),
            adjusted: Vec::new(),
        })
    }

    /// Sends one request and waits for its reply; `{"error":…}` is an error.
    fn call(
        &mut self,
        op: &'static str,
        request: &serde_json::Value,
    ) -> Result<serde_json::Value, DriverError> {
        let line = request.to_string() + "\n";
        let written = self
            .stdin
            .as_mut()
            .map(|s| s.write_all(line.as_bytes()).and_then(|_| s.flush()));
        if !matches!(written, Some(Ok(()))) {
            return Err(self.exited(op));
        }
        let Ok(reply) = self.replies.recv() else {
            return Err(self.exited(op));
        };
        let value: serde_json::Value =
            serde_json::from_str(&reply).map_err(|e| DriverError::Protocol {
                op,
                reply: reply.clone(),
                detail: e.to_string(),
            })?;
        if let Some(message) = value.get("error") {
            return Err(DriverError::Driver {
                op,
                message: message.as_str().unwrap_or(&reply).to_string(),
            });
        }
        Ok(value)
    }

    fn exited(&mut self, op: &'static str) -> DriverError {
        // Give the process a moment to finish dying so its status is known.
        let deadline = Instant::now() + Duration::from_secs(2);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break s.to_string(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(None) => break "still running, not answering".to_string(),
                Err(e) => break e.to_string(),
            }
        };
        std::thread::sleep(Duration::from_millis(50));
        let log = self.log.lock().expect("log lock");
        DriverError::Exited {
            op,
            status,
            log: log.iter().cloned().collect::<Vec<_>>().join("\n"),
        }
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
        Arc::clone(&self.sent)
    }

    /// A live count of the acknowledged records, updated like [`Self::sent_counter`].
    pub fn acked_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.acked)
    }

    /// Sends `warmup + windows·per_window + tail` records without pause and
    /// returns the windows (see `drivers/java/README.md` for how they are
    /// delimited).
    pub fn round(
        &mut self,
        warmup: u64,
        windows: u32,
        per_window: u64,
        tail: u64,
    ) -> Result<Vec<JavaWindow>, DriverError> {
        let reply = self.call(
            "round",
            &serde_json::json!({
                "op": "round",
                "warmup_records": warmup,
                "windows": windows,
                "records_per_window": per_window,
                "tail_records": tail,
            }),
        )?;
        let r: RoundReply = parse("round", &reply, field("round", &reply, "round")?)?;
        r.windows
            .into_iter()
            .map(|w| {
                Ok(JavaWindow {
                    records: w.records,
                    bytes: w.bytes,
                    failed: w.failed,
                    elapsed_ns: w.elapsed_ns,
                    histogram: histogram("round", &reply, &w.histogram)?,
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
        let reply = self.call(
            "fixed_rate",
            &serde_json::json!({"op": "fixed_rate", "rate_per_sec": rate_per_sec, "records": records}),
        )?;
        let r: FixedRateReply = parse(
            "fixed_rate",
            &reply,
            field("fixed_rate", &reply, "fixed_rate")?,
        )?;
        Ok(JavaFixedRate {
            records: r.records,
            elapsed_ns: r.elapsed_ns,
            histogram: histogram("fixed_rate", &reply, &r.histogram)?,
            send_delay: histogram("fixed_rate", &reply, &r.send_delay)?,
        })
    }

    /// Record size in bytes.
    pub fn record_bytes(&self) -> u64 {
        self.record_bytes
    }

    /// Closes the producer and returns every record's outcome, the client's
    /// metrics and its effective configuration; the process exits.
    pub fn finish(mut self) -> Result<JavaFinish, DriverError> {
        let reply = self.call("finish", &serde_json::json!({"op": "finish"}))?;
        let r: FinishReply = parse("finish", &reply, field("finish", &reply, "finish")?)?;
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
        self.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(JavaFinish {
            deliveries,
            failed_by_exception,
            metrics: r
                .metrics
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect(),
            effective: r.effective,
            acked_end_offsets,
        })
    }
}

impl Drop for JavaSession {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn field<'a>(
    op: &'static str,
    reply: &'a serde_json::Value,
    key: &str,
) -> Result<&'a serde_json::Value, DriverError> {
    reply.get(key).ok_or_else(|| DriverError::Protocol {
        op,
        reply: reply.to_string(),
        detail: format!("no {key:?} field"),
    })
}

fn parse<T: serde::de::DeserializeOwned>(
    op: &'static str,
    reply: &serde_json::Value,
    v: &serde_json::Value,
) -> Result<T, DriverError> {
    T::deserialize(v).map_err(|e| DriverError::Protocol {
        op,
        reply: reply.to_string(),
        detail: e.to_string(),
    })
}

fn histogram(
    op: &'static str,
    reply: &serde_json::Value,
    b64: &str,
) -> Result<Histogram<u64>, DriverError> {
    decode_histogram(b64).map_err(|detail| DriverError::Protocol {
        op,
        reply: reply.to_string(),
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::build::{check_version, mvn_failure, sources_hash, SOURCES};
    use super::*;
    use crate::grid::Acks;

    #[test]
    fn a_histogram_the_java_side_wrote_decodes_exactly() {
        // drivers/java's HdrHistogram 2.2.2, encodeIntoCompressedByteBuffer:
        // 1..=1000 µs once each and 250,000 µs ten times.
        let h = decode_histogram(include_str!("../../../tests/fixtures/java-hdr-v2.b64")).unwrap();
        assert_eq!(h.len(), 1010);
        assert_eq!(h.min(), 1);
        assert_eq!(h.count_at(500), 1);
        assert_eq!(h.count_at(250_000), 10);
        assert_eq!(h.value_at_quantile(0.5), 505);
        assert!(h.equivalent(h.max(), 250_000));
        // Merges with the suite's own histograms (same bounds).
        let mut ours = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        ours.record(7).unwrap();
        ours.add(&h).unwrap();
        assert_eq!(ours.len(), 1011);
    }

    #[test]
    fn broken_histograms_are_errors_not_panics() {
        assert!(decode_histogram("not base64!")
            .unwrap_err()
            .contains("base64"));
        assert!(decode_histogram("AAAA")
            .unwrap_err()
            .contains("does not decode"));
    }

    #[test]
    fn versions_are_checked_before_they_reach_a_path() {
        for ok in ["4.1.1", "3.9.1", "4.0.0-rc1", "2.8.2_x"] {
            assert!(check_version(ok).is_ok(), "{ok}");
        }
        for bad in ["", "../4.1.1", "4.1.1/x", "-Dx", "4 1", "4.1.1;rm"] {
            let e = check_version(bad).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("invalid Java client version {bad:?} (hint: a Maven version such as 4.1.1 or 3.9.1)")
            );
        }
    }

    #[test]
    fn a_version_that_does_not_resolve_is_one_line_naming_it() {
        let log = "[ERROR] Failed to execute goal on project kob-java-driver: Could not resolve dependencies for project kafka-order-bench:kob-java-driver:jar:1: The following artifacts could not be resolved: org.apache.kafka:kafka-clients:jar:0.0.1 (absent): Could not find artifact org.apache.kafka:kafka-clients:jar:0.0.1 in central";
        let e = mvn_failure("0.0.1", log, PathBuf::from("/c/java-driver-0.0.1.mvn.log"));
        assert_eq!(
            e.to_string(),
            "Java client 0.0.1: Maven cannot fetch org.apache.kafka:kafka-clients:0.0.1 (log: /c/java-driver-0.0.1.mvn.log)"
        );
        let e = mvn_failure(
            "0.11.0.0",
            "[INFO] x\n[ERROR] Driver.java:[3,1] cannot find symbol\n",
            PathBuf::from("/l"),
        );
        assert_eq!(
            e.to_string(),
            "Java client 0.11.0.0: building the driver failed: [ERROR] Driver.java:[3,1] cannot find symbol (log: /l)"
        );
    }

    #[test]
    fn the_cell_config_in_java_names() {
        let base = BTreeMap::from([("bootstrap.servers".to_string(), "h:1".to_string())]);
        let s = ProducerSettings {
            max_in_flight: 5,
            acks: Acks::All,
            idempotence: true,
        };
        let fixed = Fixed::default();
        let c = java_config(&base, &s, &fixed);
        let expect = [
            ("acks", "all"),
            ("batch.size", "16384"),
            ("bootstrap.servers", "h:1"),
            ("compression.type", "none"),
            ("delivery.timeout.ms", "30000"),
            ("enable.idempotence", "true"),
            ("linger.ms", "5"),
            ("max.in.flight.requests.per.connection", "5"),
            // 30000 − linger 5: the client refuses delivery < linger + request timeout.
            ("request.timeout.ms", "29995"),
        ];
        let got: Vec<(&str, &str)> = c.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, expect);
        let long = Fixed {
            message_timeout_ms: 120_000,
            ..Fixed::default()
        };
        assert!(!java_config(&base, &s, &long).contains_key("request.timeout.ms"));
    }

    #[test]
    fn an_edit_to_any_source_changes_the_build_name() {
        let h = sources_hash();
        assert_eq!(h.len(), 16);
        assert_eq!(h, sources_hash());
        // Every Java source of the module is embedded (a new file must be listed).
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("drivers/java/src/main/java/kob");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = SOURCES
            .iter()
            .filter_map(|(p, _)| p.strip_prefix("src/main/java/kob/"))
            .map(String::from)
            .collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }
}
