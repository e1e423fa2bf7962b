//! The checker: read a cell's topic back and classify every record.
//!
//! Vocabulary (the one the reports use):
//! - **reorder**: a record whose sequence number is lower than the highest one
//!   already read from its stream (a backward step); its *displacement* is that
//!   highest sequence minus its own.
//! - **log duplicate**: the same (stream, sequence) stored at two offsets.
//! - **redelivery**: the same offset read twice; a consumer matter, counted apart.
//! - **loss**: a record the client reported delivered that is not in the log.
//! - **gap**: a record the client reported failed that is not in the log.
//! - **possibly persisted**: a record the client reported failed that *is* in the log.
//!
//! Memory is bounded by the number of streams and one bitmap per stream.
//! The checker never panics on foreign or malformed records: it counts them.
//!
//! IMPLEMENTATION PENDING (being written): the types below are the contract.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::grid::{Acks, ProducerSettings};

/// The kinds of anomaly the checker reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    Reorder,
    LogDuplicate,
    Redelivery,
    Loss,
    Gap,
    PossiblyPersisted,
}

/// One example of an anomaly, enough to find the record with a console consumer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    pub stream: u32,
    pub seq: u64,
    /// Partition the record was read from; absent for records not in the log.
    pub partition: Option<i32>,
    /// Offset the record was read at; absent for records not in the log.
    pub offset: Option<i64>,
    /// For reorders: highest sequence already read minus this one. For log
    /// duplicates: the offset of the first copy. Otherwise absent.
    pub detail: Option<i64>,
}

/// Count and first examples of one anomaly kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anomalies {
    pub count: u64,
    /// The first few occurrences, in the order they were found.
    pub examples: Vec<Example>,
}

/// Distribution of reorder displacements.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Displacement {
    pub max: u64,
    /// Sum of all displacements, so a mean can be derived.
    pub sum: u64,
}

/// What the checker found in one cell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Records read from the log (all partitions, from the first offset to the
    /// high watermark recorded after the producer flushed).
    pub records_read: u64,
    /// Streams seen in the log or in the delivery reports.
    pub streams: u32,
    /// Well-formed records of another run (a reused topic).
    pub foreign: u64,
    /// Records that are not in the documented format.
    pub malformed: u64,
    pub reorders: Anomalies,
    pub reorder_displacement: Displacement,
    pub log_duplicates: Anomalies,
    pub redeliveries: Anomalies,
    pub losses: Anomalies,
    pub gaps: Anomalies,
    pub possibly_persisted: Anomalies,
    /// The kinds this configuration is documented to allow.
    pub permitted: BTreeSet<AnomalyKind>,
}

impl Verdict {
    /// Ordering violations: reorders, log duplicates and losses.
    pub fn violations(&self) -> u64 {
        self.reorders.count + self.log_duplicates.count + self.losses.count
    }

    /// The anomalies of one kind.
    pub fn of(&self, kind: AnomalyKind) -> &Anomalies {
        match kind {
            AnomalyKind::Reorder => &self.reorders,
            AnomalyKind::LogDuplicate => &self.log_duplicates,
            AnomalyKind::Redelivery => &self.redeliveries,
            AnomalyKind::Loss => &self.losses,
            AnomalyKind::Gap => &self.gaps,
            AnomalyKind::PossiblyPersisted => &self.possibly_persisted,
        }
    }
}

/// The kinds a configuration is documented to allow.
pub fn permitted(settings: &ProducerSettings) -> BTreeSet<AnomalyKind> {
    let mut kinds = BTreeSet::from([AnomalyKind::Gap, AnomalyKind::PossiblyPersisted]);
    if !settings.idempotence {
        // Retries without sequence numbers: a retried batch can land after
        // later ones, or twice.
        kinds.insert(AnomalyKind::Reorder);
        kinds.insert(AnomalyKind::LogDuplicate);
    }
    if settings.acks != Acks::All {
        // The leader acknowledged before followers had the record.
        kinds.insert(AnomalyKind::Loss);
    }
    kinds
}

/// A growable set of sequence numbers, one bit each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bitmap {
    words: Vec<u64>,
}

impl Bitmap {
    /// Sets bit `i`; returns whether it was already set.
    #[inline]
    pub fn set(&mut self, i: u64) -> bool {
        let (w, b) = ((i / 64) as usize, i % 64);
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        let mask = 1u64 << b;
        let was = self.words[w] & mask != 0;
        self.words[w] |= mask;
        was
    }

    #[inline]
    pub fn get(&self, i: u64) -> bool {
        let (w, b) = ((i / 64) as usize, i % 64);
        self.words
            .get(w)
            .is_some_and(|word| word & (1u64 << b) != 0)
    }

    /// Number of bits set.
    pub fn count(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }
}

/// What the producer was told about each record of one stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamDeliveries {
    /// Records handed to `send()`, numbered 0..sent.
    pub sent: u64,
    /// Sequences the client reported delivered.
    pub acked: Bitmap,
    /// Sequences the client reported failed.
    pub failed: Bitmap,
}

/// Delivery reports of one cell, indexed by stream id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deliveries {
    pub streams: Vec<StreamDeliveries>,
}

impl Deliveries {
    /// The stream's reports, created on first use.
    pub fn stream_mut(&mut self, stream: u32) -> &mut StreamDeliveries {
        let i = stream as usize;
        if i >= self.streams.len() {
            self.streams.resize_with(i + 1, StreamDeliveries::default);
        }
        &mut self.streams[i]
    }
}
