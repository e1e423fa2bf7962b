//! The producer's context: what the delivery callbacks and the statistics
//! callback record for a [`Session`](super::Session), timed against the
//! session's clock and the current phase's windows.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::ClientContext;

use super::RoundSpec;
use crate::delivery::Deliveries;
use crate::ffi::librdkafka::possibly_persisted;
use crate::record::Stamp;
use crate::results::{ClientCounters, DeliveryCounts};

/// The monotonic clock of a session, expressed in nanoseconds since the Unix
/// epoch so the stamps mean something outside this process.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    base: Instant,
    base_epoch_ns: u64,
}

impl Clock {
    pub(super) fn new() -> Clock {
        let base_epoch_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Clock {
            base: Instant::now(),
            base_epoch_ns,
        }
    }

    #[inline]
    pub(super) fn now_ns(&self) -> u64 {
        self.base_epoch_ns + self.base.elapsed().as_nanos() as u64
    }
}

/// Latency histograms track microseconds from 1 µs to one hour.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Every histogram of `parts` in one; values past the bounds (an hour)
/// are dropped, not fatal (a Java window's histogram may have other bounds).
pub fn merged<'a>(parts: impl IntoIterator<Item = &'a Histogram<u64>>) -> Histogram<u64> {
    let mut total = new_histogram();
    for h in parts {
        let _ = total.add(h);
    }
    total
}

/// What the delivery callbacks write. Callbacks run on the session's own
/// thread (inside `poll`), so the lock is never contended.
pub(super) struct Tally {
    pub(super) deliveries: Deliveries,
    pub(super) counts: DeliveryCounts,
    /// What the current phase times; warm-up deliveries are not timed.
    pub(super) timing: Timing,
    /// Highest offset the broker acknowledged, per partition.
    pub(super) max_acked_offset: BTreeMap<i32, i64>,
}

/// How delivery reports are timed in the current phase.
pub(super) enum Timing {
    Off,
    /// A round: delivery reports counted against the window boundaries.
    Round(RoundClock),
    /// The fixed-rate phase: every acknowledged record's latency.
    Fixed(Histogram<u64>),
}

/// The window boundaries of a round, as delivery-report counts, and when
/// each was reached.
pub(super) struct RoundClock {
    /// Delivery reports (acknowledged or failed) so far in this round.
    pub(super) done: u64,
    /// Report counts that open window 0, close window 0 (= open 1), …
    pub(super) boundaries: Vec<u64>,
    /// Clock reading (ns) at each boundary reached so far.
    pub(super) reached_ns: Vec<u64>,
    /// Latency of the records acknowledged inside each window.
    pub(super) latency: Vec<Histogram<u64>>,
}

impl RoundClock {
    pub(super) fn new(spec: &RoundSpec, now_ns: u64) -> RoundClock {
        let boundaries = (0..=u64::from(spec.windows))
            .map(|i| spec.warmup + i * spec.records_per_window)
            .collect();
        let mut reached_ns = Vec::with_capacity(spec.windows as usize + 1);
        if spec.warmup == 0 {
            // No warm-up: the first window opens with the round.
            reached_ns.push(now_ns);
        }
        RoundClock {
            done: 0,
            boundaries,
            reached_ns,
            latency: (0..spec.windows).map(|_| new_histogram()).collect(),
        }
    }

    /// Counts one delivery report; returns the window it fell in, if any.
    #[inline]
    pub(super) fn report(&mut self, now_ns: u64) -> Option<usize> {
        self.done += 1;
        // A report at a boundary closes the window before it; the reports
        // after it, up to the next boundary, belong to the next window.
        let reached = self.reached_ns.len();
        let window = (reached >= 1 && reached <= self.latency.len()).then(|| reached - 1);
        if reached < self.boundaries.len() && self.done >= self.boundaries[reached] {
            self.reached_ns.push(now_ns);
        }
        window
    }
}

/// The producer's context: delivery reports and statistics.
pub(super) struct Recorder {
    pub(super) clock: Clock,
    pub(super) tally: Mutex<Tally>,
    pub(super) counters: Mutex<ClientCounters>,
    /// Records acknowledged so far, for observers on other threads (the
    /// failover controller waits for acknowledgements to resume).
    pub(super) acked: Arc<AtomicU64>,
    /// When the last statistics snapshot arrived, to wait for one taken
    /// after the last delivery.
    pub(super) stats_at: Mutex<Option<Instant>>,
    /// Every statistics snapshot's broker wake-ups, in arrival order.
    pub(super) wakeups: Mutex<Vec<WakeupReading>>,
}

/// The broker threads' wake-ups in one statistics snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WakeupReading {
    /// When the snapshot reached the context (inside a poll).
    pub(super) arrived: Instant,
    /// librdkafka's clock when it took the snapshot (`ts`), µs.
    pub(super) ts_us: u64,
    /// Wake-ups of all the client's broker threads so far.
    pub(super) wakeups: u64,
}

/// Snapshots that reach the context closer together than this were queued
/// while nobody polled (they are taken a second apart).
const BURST: Duration = Duration::from_millis(500);

/// The wake-up rate, per second of librdkafka's clock, between the first
/// and the last of `readings` that arrived from `from` to `to`; `None`
/// with fewer than two. Snapshots queued while the session idled arrive
/// together at the first poll: of such a burst only the newest counts, so
/// the rate is not diluted by the idle time.
pub(super) fn wakeups_per_sec(
    readings: &[WakeupReading],
    from: Instant,
    to: Instant,
) -> Option<f64> {
    let inside: Vec<&WakeupReading> = readings
        .iter()
        .filter(|r| r.arrived >= from && r.arrived <= to)
        .collect();
    let mut first = 0;
    while first + 1 < inside.len()
        && inside[first + 1]
            .arrived
            .duration_since(inside[first].arrived)
            < BURST
    {
        first += 1;
    }
    let (a, b) = (inside.get(first)?, inside.last()?);
    crate::cpu::rate_per_sec((a.ts_us, a.wakeups), (b.ts_us, b.wakeups))
}

#[derive(serde::Deserialize)]
struct RawStats {
    /// Records transmitted, counted again each time a failed batch's records
    /// are re-batched and sent.
    #[serde(default)]
    txmsgs: u64,
    /// librdkafka's monotonic clock when the snapshot was taken, µs.
    #[serde(default)]
    ts: u64,
    #[serde(default)]
    brokers: BTreeMap<String, RawBroker>,
}

#[derive(serde::Deserialize)]
struct RawBroker {
    #[serde(default)]
    tx: u64,
    #[serde(default)]
    txretries: u64,
    #[serde(default)]
    txerrs: u64,
    #[serde(default)]
    req_timeouts: u64,
    #[serde(default)]
    connects: Option<u64>,
    #[serde(default)]
    disconnects: Option<u64>,
    /// Times the broker thread woke up: each pass of its serve loop's
    /// poll (`rd_kafka_broker_ops_io_serve`), whether for I/O, an op or
    /// a timeout.
    #[serde(default)]
    wakeups: u64,
}

impl ClientContext for Recorder {
    fn stats_raw(&self, statistics: &[u8]) {
        // librdkafka's counters are cumulative per client, so the last
        // snapshot is the cell's total.
        let Ok(raw) = serde_json::from_slice::<RawStats>(statistics) else {
            return;
        };
        let mut c = ClientCounters {
            records_transmitted: raw.txmsgs,
            ..ClientCounters::default()
        };
        for b in raw.brokers.values() {
            c.requests += b.tx;
            c.retries += b.txretries;
            c.request_errors += b.txerrs;
            c.request_timeouts += b.req_timeouts;
            c.connects += b.connects.unwrap_or(0);
            c.disconnects += b.disconnects.unwrap_or(0);
        }
        *self.counters.lock().expect("counters lock") = c;
        self.wakeups
            .lock()
            .expect("wakeups lock")
            .push(WakeupReading {
                arrived: Instant::now(),
                ts_us: raw.ts,
                wakeups: raw.brokers.values().map(|b| b.wakeups).sum(),
            });
        *self.stats_at.lock().expect("stats lock") = Some(Instant::now());
    }

    // librdkafka logs transient broker errors (the faults we inject) at
    // warning level; they are data here, counted in the statistics.
    fn log(&self, _level: rdkafka::config::RDKafkaLogLevel, _fac: &str, _log_message: &str) {}
    fn error(&self, _error: KafkaError, _reason: &str) {}
}

impl ProducerContext for Recorder {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let now = self.clock.now_ns();
        let (message, error) = match result {
            Ok(m) => (m, None),
            Err((e, m)) => (m, Some(e)),
        };
        // Every value this session sends carries a stamp; read it back rather
        // than keeping a map of what is in flight.
        let Ok(stamp) = Stamp::read(message.payload()) else {
            return;
        };
        let mut t = self.tally.lock().expect("tally lock");
        let t = &mut *t;
        let stream = t.deliveries.stream_mut(stamp.stream);
        match error {
            None => {
                stream.acked.set(stamp.seq);
                t.counts.acked += 1;
                self.acked.fetch_add(1, Ordering::Relaxed);
                // acks=0 deliveries carry no offset (-1).
                let offset = message.offset();
                if offset >= 0 {
                    let max = t
                        .max_acked_offset
                        .entry(message.partition())
                        .or_insert(offset);
                    *max = (*max).max(offset);
                }
            }
            Some(e) => {
                stream.failed.set(stamp.seq);
                t.counts.failed += 1;
                *t.counts.failed_by_error.entry(error_name(e)).or_insert(0) += 1;
                if possibly_persisted(message) {
                    t.counts.possibly_persisted += 1;
                }
            }
        }
        let us = (now.saturating_sub(stamp.intended_send_ns) / 1_000).max(1);
        match &mut t.timing {
            Timing::Off => {}
            Timing::Round(clock) => {
                if let Some(w) = clock.report(now) {
                    if error.is_none() {
                        clock.latency[w].saturating_record(us);
                    }
                }
            }
            Timing::Fixed(h) => {
                if error.is_none() {
                    h.saturating_record(us);
                }
            }
        }
    }
}

/// The key of a failure in `failed_by_error`: the client's name for the
/// error code ([`error_code_name`]), or `other` for errors without a code.
pub(super) fn error_name(e: &KafkaError) -> String {
    e.rdkafka_error_code()
        .map_or_else(|| "other".to_string(), error_code_name)
}

/// librdkafka's own name of an error code, lowercase and without the
/// leading `_` of local errors: `_MSG_TIMED_OUT` becomes `msg_timed_out`.
/// Stable across rdkafka crate versions, unlike the Rust enum's `Debug` text.
pub fn error_code_name(code: rdkafka::types::RDKafkaErrorCode) -> String {
    match crate::ffi::librdkafka::error_code_name(code) {
        Some(name) => name.trim_start_matches('_').to_ascii_lowercase(),
        None => format!("error_{}", code as i32),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use rdkafka::types::RDKafkaErrorCode;

    use super::{wakeups_per_sec, WakeupReading};

    #[test]
    fn wakeup_rate_is_taken_between_the_readings_inside_the_interval() {
        let t0 = Instant::now();
        let at = |s: u64, ts_s: u64, wakeups: u64| WakeupReading {
            arrived: t0 + Duration::from_secs(s),
            ts_us: ts_s * 1_000_000,
            wakeups,
        };
        // Idle before the round (second 0), busy through it (1..=3), idle
        // after (4).
        let r = [
            at(0, 100, 10),
            at(1, 101, 20),
            at(2, 102, 50_020),
            at(3, 103, 100_020),
            at(4, 104, 100_030),
        ];
        let (from, to) = (
            t0 + Duration::from_millis(500),
            t0 + Duration::from_millis(3500),
        );
        assert_eq!(wakeups_per_sec(&r, from, to), Some(50_000.0));
        // Snapshots queued while idle (ts 90..=100) arrive together with
        // the round's first poll: only the newest of them counts.
        let burst = |ts_s: u64, wakeups: u64| WakeupReading {
            arrived: t0 + Duration::from_secs(1),
            ts_us: ts_s * 1_000_000,
            wakeups,
        };
        let queued = [
            burst(90, 0),
            burst(95, 5),
            at(1, 101, 20),
            at(2, 102, 50_020),
            at(3, 103, 100_020),
        ];
        assert_eq!(wakeups_per_sec(&queued, from, to), Some(50_000.0));
        // One reading inside: no rate.
        let to = t0 + Duration::from_millis(1500);
        assert_eq!(wakeups_per_sec(&r, from, to), None);
    }

    #[test]
    fn error_names_are_librdkafkas_codes() {
        assert_eq!(
            super::error_code_name(RDKafkaErrorCode::MessageTimedOut),
            "msg_timed_out"
        );
        assert_eq!(
            super::error_code_name(RDKafkaErrorCode::NotEnoughReplicas),
            "not_enough_replicas"
        );
    }
}
