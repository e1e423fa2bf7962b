//! What a measured cell records: its windows, throughput and latency (with
//! the full histograms), delivery outcomes, the client's counters, the
//! faults it met, the checker's verdict and the conditions it ran under.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::verify::Verdict;

/// Measurements of one cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Topic the cell wrote.
    pub topic: String,
    /// The configuration the client reports it runs with (librdkafka's view,
    /// after its own defaults and derivations), secrets removed.
    pub effective: BTreeMap<String, String>,
    /// Timed windows of every round, in the order they ran.
    pub samples: Vec<Sample>,
    pub throughput: Throughput,
    /// Produce-to-acknowledgement latency over the windows, at saturation:
    /// the client's own queue is part of it.
    pub latency: Latency,
    /// Latency at a fixed load common to the cells compared with this one.
    pub fixed_load: Option<FixedLoad>,
    pub delivery: DeliveryCounts,
    pub client: ClientCounters,
    pub exposure: Exposure,
    pub verdict: Verdict,
    /// Criterion's estimate, when the cell ran under `cargo bench`.
    pub criterion: Option<CriterionEstimate>,
    /// What else was true while the cell was measured.
    #[serde(default)]
    pub conditions: Conditions,
}

/// The environment during a cell's rounds: a degraded cluster (for reasons
/// other than the cell's own fault profile) or a machine loaded beyond its
/// cores makes a cell's numbers doubtful; the report flags such cells and
/// keeps them out of its conclusion.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conditions {
    /// Brokers seen down during the cell's rounds, not caused by its faults.
    pub degraded: Vec<super::Degradation>,
    /// The machine's load over each of the cell's rounds.
    pub load: Vec<crate::machine::Load>,
    /// The producing client's own CPU over each of the cell's rounds
    /// (librdkafka: its threads and the sending thread; Java: the driver's
    /// JVM), apart from the proxy's and the suite's.
    #[serde(default)]
    pub client_cpu: Vec<crate::cpu::ClientCpu>,
}

impl Conditions {
    /// True when the cluster was degraded while the cell ran.
    pub fn degraded(&self) -> bool {
        !self.degraded.is_empty()
    }

    /// The client's CPU microseconds per record of each round it was
    /// measured in, in round order.
    pub fn cpu_us_per_record_rounds(&self) -> Vec<f64> {
        self.client_cpu
            .iter()
            .filter_map(|c| c.cpu_us_per_record)
            .collect()
    }

    /// Rounds during which something else loaded the machine beyond its cores.
    pub fn busy_rounds(&self) -> usize {
        self.load.iter().filter(|l| l.busy_beyond_cores).count()
    }

    /// The median over the cell's rounds of the machine's busy share (all
    /// cores, 0..=1) less the share the cell's own client used when it was
    /// measured: a client that burns CPU is a result of its setting, not a
    /// busy machine. `None` without load samples (an old results file, or a
    /// platform without `/proc`).
    pub fn median_busy_share(&self) -> Option<f64> {
        let shares: Vec<f64> = self
            .load
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let client = self
                    .client_cpu
                    .get(i)
                    .map_or(0.0, |c| c.cores / f64::from(l.cores.max(1)));
                (l.machine_busy_share - client).max(0.0)
            })
            .collect();
        (!shares.is_empty()).then(|| crate::stats::median(&shares))
    }

    /// The client's CPU over all measured rounds, in microseconds per record
    /// acknowledged, and in cores (CPU time per wall time); `None` when it
    /// was not measured.
    pub fn client_cpu_per_record(&self) -> Option<(f64, f64)> {
        let (mut ms, mut wall, mut records) = (0.0, 0.0, 0u64);
        for c in &self.client_cpu {
            ms += c.user_ms + c.system_ms;
            wall += c.elapsed_ms;
            records += c.records;
        }
        (records > 0 && wall > 0.0).then(|| (ms * 1e3 / records as f64, ms / wall))
    }

    /// The median over the cell's rounds of librdkafka's broker wake-ups
    /// per second; `None` for a client that does not count them.
    pub fn median_wakeups_per_sec(&self) -> Option<f64> {
        let w: Vec<f64> = self
            .client_cpu
            .iter()
            .filter_map(|c| c.wakeups_per_sec)
            .collect();
        (!w.is_empty()).then(|| crate::stats::median(&w))
    }
}

/// One timed window: `records` delivery reports in steady state, timed from
/// the report that opened the window to the one that closed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// The round (from 0) the window belongs to.
    #[serde(default)]
    pub round: u32,
    pub records: u64,
    pub bytes: u64,
    pub elapsed_ns: u64,
    /// Median produce-to-ack latency of this sample's records, microseconds.
    pub p50_us: u64,
    /// 99th percentile produce-to-ack latency of this sample's records, microseconds.
    pub p99_us: u64,
}

impl Sample {
    pub fn records_per_sec(&self) -> f64 {
        if self.elapsed_ns == 0 {
            return 0.0;
        }
        self.records as f64 * 1e9 / self.elapsed_ns as f64
    }
}

/// Throughput over the windows: the geometric mean of the round medians of
/// window rates and its 95% confidence interval, a Student t-interval over
/// the log round medians ([`crate::stats::rounds_t_interval`]), since
/// windows of one round share that round's conditions and the rounds are
/// the independent units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    pub records_per_sec: f64,
    pub records_per_sec_ci_low: f64,
    pub records_per_sec_ci_high: f64,
    /// Half the interval's width as a percentage of the median.
    #[serde(default)]
    pub ci_half_width_pct: f64,
    pub mib_per_sec: f64,
}

/// How [`Throughput`] is estimated, in the words the report uses.
pub const THROUGHPUT_ESTIMATOR: &str = crate::stats::THROUGHPUT_METHOD;

impl Throughput {
    /// Estimate and t-interval of the windows' rates, grouped by round.
    pub fn from_samples(samples: &[Sample], record_bytes: usize) -> Throughput {
        let mut by_round: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
        for s in samples {
            by_round
                .entry(s.round)
                .or_default()
                .push(s.records_per_sec());
        }
        let groups: Vec<Vec<f64>> = by_round.into_values().collect();
        let iv = crate::stats::rounds_t_interval(&groups, 0.95);
        Throughput {
            records_per_sec: iv.estimate,
            records_per_sec_ci_low: iv.low,
            records_per_sec_ci_high: iv.high,
            ci_half_width_pct: iv.half_width_pct(),
            mib_per_sec: iv.estimate * record_bytes as f64 / (1024.0 * 1024.0),
        }
    }
}

/// Latency at a fixed load: records sent at `rate_per_sec`, each timed from
/// its intended send time (coordinated omission corrected).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedLoad {
    /// The rate, records/s, common to the cells this one is compared with.
    pub rate_per_sec: u64,
    /// How the rate was chosen, e.g. `50% of the slowest cell (1,234 records/s)` or `--rate`.
    pub rate_basis: String,
    pub records: u64,
    /// Intended send time to acknowledgement.
    pub latency: Latency,
    /// How late `send()` was against the intended time.
    pub send_delay: Latency,
}

/// Latency quantiles in microseconds, and the full histogram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub count: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub p9999_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
    /// The HdrHistogram (values in microseconds) in its V2 deflate
    /// serialization, base64: histograms of several runs can be merged.
    pub histogram: String,
}

impl Latency {
    /// Quantiles of a histogram of microsecond values.
    pub fn from_histogram(h: &hdrhistogram::Histogram<u64>) -> Latency {
        use base64::Engine;
        use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
        let mut buf = Vec::new();
        // Serializing into a Vec cannot fail for a valid histogram.
        V2DeflateSerializer::new()
            .serialize(h, &mut buf)
            .expect("serialize histogram");
        Latency {
            count: h.len(),
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            p9999_us: h.value_at_quantile(0.9999),
            max_us: h.max(),
            mean_us: h.mean(),
            histogram: base64::engine::general_purpose::STANDARD.encode(buf),
        }
    }

    /// Whether the `q` quantile (0..1) rests on enough records to be
    /// quoted: at least [`Latency::RECORDS_ABOVE_QUANTILE`] records lie above
    /// it, so p99 needs 1,000 records and p99.9 10,000. Below that the
    /// quantile is a handful of the slowest records (at 172 records, p99.9
    /// is the maximum), and reports print "n too small" instead.
    pub fn quantile_supported(&self, q: f64) -> bool {
        self.count as f64 * (1.0 - q) >= Self::RECORDS_ABOVE_QUANTILE as f64 - 1e-9
    }

    /// Records that must lie above a quoted quantile.
    pub const RECORDS_ABOVE_QUANTILE: u64 = 10;

    /// Decodes the serialized histogram.
    pub fn histogram(&self) -> Option<hdrhistogram::Histogram<u64>> {
        use base64::Engine;
        use hdrhistogram::serialization::Deserializer;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.histogram)
            .ok()?;
        Deserializer::new()
            .deserialize(&mut std::io::Cursor::new(bytes))
            .ok()
    }
}

/// What the client reported for the records of the cell (warm-up included).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryCounts {
    pub sent: u64,
    /// Reported delivered. With `acks=0` the client reports delivery without
    /// hearing from the broker.
    pub acked: u64,
    /// Reported failed.
    pub failed: u64,
    /// Failures by the client's error code name: librdkafka's own
    /// (`rd_kafka_err2name`, lowercase without its leading `_`, e.g.
    /// `msg_timed_out`), or the Java exception's class name.
    pub failed_by_error: BTreeMap<String, u64>,
    /// Of the failed: those whose persistence status librdkafka reported as
    /// possibly persisted (the broker may have written them).
    pub possibly_persisted: u64,
}

impl DeliveryCounts {
    /// Adds another producer's counts (several producers of a cell).
    pub fn add(&mut self, o: &DeliveryCounts) {
        self.sent += o.sent;
        self.acked += o.acked;
        self.failed += o.failed;
        for (k, n) in &o.failed_by_error {
            *self.failed_by_error.entry(k.clone()).or_insert(0) += n;
        }
        self.possibly_persisted += o.possibly_persisted;
    }
}

/// The client's own counters from librdkafka statistics, summed over brokers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientCounters {
    /// Requests sent (`tx`).
    pub requests: u64,
    /// Request retries (`txretries`): requests sent again as they were, after
    /// a timeout or a lost connection. Produce errors the broker answers are
    /// retried by re-queueing the records instead: see `records_resent`.
    pub retries: u64,
    /// Records transmitted (`txmsgs`), retransmissions included.
    #[serde(default)]
    pub records_transmitted: u64,
    /// Records transmitted more than once: `records_transmitted` minus the
    /// records sent. Counts the retries of batches a broker refused.
    #[serde(default)]
    pub records_resent: u64,
    /// Request errors (`txerrs`).
    pub request_errors: u64,
    /// Requests timed out (`req_timeouts`).
    pub request_timeouts: u64,
    /// Connections made (`connects`).
    pub connects: u64,
    /// Connections lost (`disconnects`).
    pub disconnects: u64,
}

impl ClientCounters {
    /// Adds another client instance's counters (several producers of a cell).
    pub fn add(&mut self, o: &ClientCounters) {
        self.requests += o.requests;
        self.retries += o.retries;
        self.records_transmitted += o.records_transmitted;
        self.records_resent += o.records_resent;
        self.request_errors += o.request_errors;
        self.request_timeouts += o.request_timeouts;
        self.connects += o.connects;
        self.disconnects += o.disconnects;
    }
}

/// How hard the faults hit a cell.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exposure {
    /// Faults injected, by kind (`reject`, `lose-ack`, `delay`, `reset`, `failover`).
    pub faults_injected: BTreeMap<String, u64>,
    /// Request retries the client made (librdkafka `txretries`).
    pub client_retries: u64,
    /// Records the client transmitted again after a failed request.
    #[serde(default)]
    pub records_resent: u64,
    /// Each leader failover and what followed it (time to a new leader,
    /// until the producer resumed, the records in its window).
    #[serde(default)]
    pub failovers: Vec<super::FailoverOutcome>,
}

impl Exposure {
    pub fn total_faults(&self) -> u64 {
        self.faults_injected.values().sum()
    }

    /// True when no fault touched the cell: a clean verdict then means nothing
    /// about ordering under faults.
    pub fn exposed(&self) -> bool {
        self.total_faults() > 0
    }
}

/// The 95% upper bound on a rate of events never seen in `n` trials (the
/// rule of three: 3/n), or `None` when there were no trials.
pub fn zero_events_upper_bound(n: u64) -> Option<f64> {
    (n > 0).then(|| 3.0 / n as f64)
}

/// Criterion's estimate of a cell, in records/s (from its time per record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionEstimate {
    pub benchmark_id: String,
    pub mean_records_per_sec: f64,
    pub mean_ci_low: f64,
    pub mean_ci_high: f64,
    pub median_records_per_sec: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_of_three() {
        assert_eq!(zero_events_upper_bound(0), None);
        assert_eq!(zero_events_upper_bound(300), Some(0.01));
    }

    #[test]
    fn latency_histogram_round_trips() {
        let mut h = hdrhistogram::Histogram::<u64>::new(3).unwrap();
        for v in 1..=1000u64 {
            h.record(v).unwrap();
        }
        let l = Latency::from_histogram(&h);
        assert_eq!(l.count, 1000);
        assert_eq!(l.p50_us, 500);
        assert_eq!(l.max_us, 1000);
        assert_eq!(l.histogram().unwrap(), h);
    }
}
