//! The values every cell of a run shares, and how a cell's windows are
//! sized from them.

use serde::{Deserialize, Serialize};

use crate::grid::{Cell, Compression, Network};
use crate::record::{KeyChooser, KeyDistribution, Streams};

fn is_one(n: &u32) -> bool {
    *n == 1
}
fn is_zero(n: &u64) -> bool {
    *n == 0
}
fn is_uniform(d: &KeyDistribution) -> bool {
    *d == KeyDistribution::Uniform
}

/// Bytes of a record batch's header (Kafka's message format v2: base
/// offset, length, epoch, magic, CRC, attributes, offsets, timestamps,
/// producer id, epoch and sequence, record count).
pub const BATCH_HEADER_BYTES: u64 = 61;

/// Bytes each record adds beside its value in a v2 batch (length,
/// attributes, timestamp and offset deltas, key length, value length and
/// header count as varints) for the suite's unkeyed, header-less records
/// of about 1 KiB: an estimate, within a byte or two.
pub const RECORD_OVERHEAD_BYTES: u64 = 12;

/// Everything that is the same for every cell of a run.
///
/// A cell is measured in interleaved **rounds** (every cell once per round,
/// in an order shuffled from the seed). One producer per cell lives for the
/// whole run; in each round it sends without pause: an untimed warm-up,
/// `windows` timed **windows**, and an untimed tail, so no window pays for
/// the pipeline filling or draining. A window is a fixed number of records
/// (see [`Fixed::records_per_window`]), so a cell sends the same records, and
/// meets the same seeded faults, whichever front end drives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fixed {
    /// Size of each record's value, in bytes (the stamped header included).
    pub record_bytes: usize,
    /// Rounds over the whole grid.
    pub rounds: u32,
    /// Timed windows per cell and round.
    pub windows: u32,
    /// Target duration of one window, in milliseconds, at the pipelining
    /// ceiling; the window's record count is derived from it.
    pub window_ms: u32,
    /// Fewest records in a window (slow cells: long round trips, in-flight 1).
    pub min_records_per_window: u64,
    /// Most records in a window (cells with no round trip to wait for).
    pub max_records_per_window: u64,
    /// Records per burst (0: none): every `burst_records` records of a round
    /// the producer waits until all are acknowledged before sending more,
    /// as the article's experiment sends 100 records and checks them.
    pub burst_records: u64,
    /// Records sent once per cell before its first round, untimed, so
    /// connections, metadata and producer-id set-up are paid before timing;
    /// at least one round's worth ([`crate::grid::Workload::cell_warmup_records`]).
    pub warmup_records: u64,
    /// `linger.ms`.
    pub linger_ms: u32,
    /// `batch.size`, in bytes. The default is the Java producer's (16 KiB),
    /// not librdkafka's (1 MB): with 1 MB batches a cell is a few dozen
    /// Produce requests, too few for `max.in.flight` to matter or for a
    /// per-request fault rate to hit anything.
    pub batch_bytes: u32,
    /// `compression.type`.
    pub compression: Compression,
    /// Partitions of each cell's topic.
    pub partitions: u32,
    /// Producers per cell, each its own client instance writing every
    /// partition: one stream per producer and partition
    /// ([`crate::record::Streams`]). Each sends a window's records per
    /// window; the cell's window is theirs together.
    #[serde(skip_serializing_if = "is_one")]
    pub producers: u32,
    /// Keys (0: none, records go round robin over the partitions): each
    /// record's key is drawn from this many, by `key_distribution`, and
    /// decides its partition ([`crate::record::KeyChooser`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub keys: u64,
    /// How keys are drawn: `uniform` or `zipf`.
    #[serde(skip_serializing_if = "is_uniform")]
    pub key_distribution: KeyDistribution,
    /// The rate of the fixed-load latency phase, records/s. 0 derives it per
    /// group of compared cells (same network and fault profile) as
    /// `latency_rate_fraction` of the slowest measured cell's throughput.
    pub rate_per_sec: u64,
    /// Fraction of the slowest cell's throughput the latency phase runs at.
    pub latency_rate_fraction: f64,
    /// Duration of the fixed-load latency phase per cell, milliseconds
    /// (0 skips it). Runs on cells without faults.
    pub latency_ms: u32,
    /// Fewest records of a cell's fixed-load phase, whatever `latency_ms`
    /// gives at its rate: p99 is quoted from 1,000 records, p99.9 from
    /// 10,000 ([`crate::results::Latency::quantile_supported`]).
    pub latency_min_records: u64,
    /// Fewest fault events before a zero-violation cell is called "no
    /// violation observed"; below it the cell is "too few faults to judge".
    pub min_events: u64,
    /// `message.timeout.ms`: how long a record may wait for delivery before it is failed.
    pub message_timeout_ms: u32,
}

impl Default for Fixed {
    fn default() -> Self {
        Fixed {
            record_bytes: 1024,
            rounds: 5,
            windows: 2,
            window_ms: 250,
            min_records_per_window: 200,
            max_records_per_window: 8_000,
            burst_records: 0,
            warmup_records: 1_000,
            linger_ms: 5,
            batch_bytes: 16_384,
            compression: Compression::None,
            partitions: 1,
            producers: 1,
            keys: 0,
            key_distribution: KeyDistribution::Uniform,
            rate_per_sec: 0,
            latency_rate_fraction: 0.5,
            latency_ms: 1_000,
            latency_min_records: 1_000,
            min_events: crate::stats::DEFAULT_MIN_EVENTS,
            message_timeout_ms: 30_000,
        }
    }
}

impl Fixed {
    /// Records in one full batch: what fits in `batch.size` once the
    /// batch header (`BATCH_HEADER_BYTES`) and each record's own framing
    /// (`RECORD_OVERHEAD_BYTES`) are counted, at least 1. With 1,024-byte
    /// records and 16 KiB batches that is 15, not 16: measured, librdkafka
    /// sent 44,233 records in 2,954 requests (14.97 per request).
    pub fn records_per_batch(&self) -> u64 {
        let room = u64::from(self.batch_bytes).saturating_sub(BATCH_HEADER_BYTES);
        (room / (self.record_bytes as u64 + RECORD_OVERHEAD_BYTES)).max(1)
    }

    /// Streams of a cell: one per producer and partition.
    pub fn streams(&self) -> u32 {
        self.partitions.max(1) * self.producers.max(1)
    }

    /// Producer `producer`'s streams and key draw in a run seeded `seed`.
    pub fn producer_streams(&self, producer: u32, seed: u64) -> Streams {
        let keys = (self.keys > 0).then(|| {
            KeyChooser::new(
                self.keys,
                self.key_distribution,
                crate::record::key_seed(seed, producer),
            )
        });
        Streams::new(producer, self.partitions, keys)
    }

    /// Records in one window of one producer of `cell`: `window_ms` at its
    /// share of the model ceiling ([`Cell::ceiling_records_per_sec`]: with
    /// `acks=all`, at most a batch per replication round trip), within the
    /// workload's bounds.
    /// A pure function of the workload and the cell, so a cell's record
    /// count (and with it its exposure to seeded faults) never depends on
    /// how fast this run happened to be.
    pub fn records_per_window(&self, cell: &Cell, network: &Network) -> u64 {
        let (lo, hi) = (self.min_records_per_window, self.max_records_per_window);
        match cell.ceiling_records_per_sec(self, network) {
            Some(rate) => {
                let per_producer = rate / f64::from(self.producers.max(1));
                ((per_producer * f64::from(self.window_ms) / 1e3) as u64).clamp(lo, hi)
            }
            None => hi,
        }
    }

    /// The untimed records after a round's last window, per producer: enough that the
    /// last window closes while the pipeline is still full.
    pub fn tail_records(&self, cell: &Cell, network: &Network) -> u64 {
        let per_window = self.records_per_window(cell, network);
        let in_flight = u64::from(cell.settings.max_in_flight) * self.records_per_batch();
        in_flight.max(per_window / 2).min(per_window)
    }
}
