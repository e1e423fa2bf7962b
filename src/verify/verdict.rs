//! What the checker finds: the anomaly kinds, the [`Verdict`] of one cell,
//! and which kinds a configuration is documented to allow.

use std::collections::{BTreeMap, BTreeSet};

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

impl AnomalyKind {
    /// Every kind, in report order.
    pub const ALL: [AnomalyKind; 6] = [
        AnomalyKind::Reorder,
        AnomalyKind::LogDuplicate,
        AnomalyKind::Redelivery,
        AnomalyKind::Loss,
        AnomalyKind::Gap,
        AnomalyKind::PossiblyPersisted,
    ];

    /// The kinds that break an ordering guarantee (the rest are a consumer
    /// matter or a failure the client reported).
    pub const VIOLATIONS: [AnomalyKind; 3] = [
        AnomalyKind::Reorder,
        AnomalyKind::LogDuplicate,
        AnomalyKind::Loss,
    ];

    /// The kind's name in prose, singular: `log duplicate`.
    pub fn label(self) -> &'static str {
        match self {
            AnomalyKind::Reorder => "reorder",
            AnomalyKind::LogDuplicate => "log duplicate",
            AnomalyKind::Redelivery => "redelivery",
            AnomalyKind::Loss => "loss",
            AnomalyKind::Gap => "gap",
            AnomalyKind::PossiblyPersisted => "possibly persisted",
        }
    }

    /// The kind's name in prose, plural: `log duplicates`.
    pub fn plural(self) -> &'static str {
        match self {
            AnomalyKind::Reorder => "reorders",
            AnomalyKind::LogDuplicate => "log duplicates",
            AnomalyKind::Redelivery => "redeliveries",
            AnomalyKind::Loss => "losses",
            AnomalyKind::Gap => "gaps",
            AnomalyKind::PossiblyPersisted => "possibly persisted",
        }
    }

    /// The kind's name as it appears in the JSON (its serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::Reorder => "reorder",
            AnomalyKind::LogDuplicate => "log_duplicate",
            AnomalyKind::Redelivery => "redelivery",
            AnomalyKind::Loss => "loss",
            AnomalyKind::Gap => "gap",
            AnomalyKind::PossiblyPersisted => "possibly_persisted",
        }
    }
}

impl std::fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Examples kept per anomaly kind.
pub const MAX_EXAMPLES: usize = 5;

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
    /// duplicates: the offset of the first copy, when it was among the last
    /// [`RECENT`](super::RECENT) distinct records of its stream. Otherwise absent.
    pub detail: Option<i64>,
    /// Run id of the record, set only when the checker ran without one
    /// (`verify`), where streams of different runs are told apart by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<u64>,
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

/// The evidence against one fault kind in one cell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventEvidence {
    /// Faults of this kind injected.
    pub injected: u64,
    /// Of those, the faults at least one violation was attributed to.
    pub followed_by_violation: u64,
    /// Violations (reorders, log duplicates, losses, missing) attributed to
    /// faults of this kind.
    pub violations: u64,
}

/// What one fault event was followed by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventOutcome {
    /// The event's id ([`FaultEvent::id`](crate::faults::events::FaultEvent::id)).
    pub id: u64,
    pub kind: String,
    /// Records the event touched (its spans' lengths summed).
    pub records: u64,
    pub reorders: u64,
    pub log_duplicates: u64,
    pub losses: u64,
    /// Missing sequences (verify mode only).
    pub missing: u64,
    /// How deep the event's reorders went; absent when it caused none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<Depth>,
}

/// How deep one fault event's disorder went: how many records and requests
/// overtook its records, and how far each of them was displaced.
///
/// A record of the event is *overtaken* by every record of its stream that
/// carries a higher sequence and was read from the log before it. The
/// article's scenario (batch #3 refused, batches #4 to #10 written before
/// #3 is retried) is `records_overtaking` = the records of #4 to #10 and
/// `requests_overtaking` = 7.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Depth {
    /// The most records that overtook one of the event's reordered records:
    /// records of the same stream with a higher sequence, read (distinct,
    /// not copies) before it. Unit: records.
    pub records_overtaking: u64,
    /// The same in requests: for each reordered record, the records that
    /// overtook it divided by the records of its stream the faulted request
    /// carried (the event's span holding it), rounded up; the most over the
    /// event's records. Unit: Produce requests carrying the stream's
    /// partition. The log keeps no request boundaries, so this is exact when
    /// the overtaking requests carried as many records of the stream as the
    /// faulted one (full batches, as under load), and an estimate otherwise.
    pub requests_overtaking: u64,
    /// Displacements of the event's reordered records (highest sequence
    /// already read from the stream minus the record's own). Unit: sequence
    /// numbers.
    pub displacement: DisplacementStats,
}

/// A distribution of displacements. Unit: sequence numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplacementStats {
    /// Displacements counted (reordered records).
    pub count: u64,
    pub max: u64,
    /// Sum of all displacements, so a mean can be derived.
    pub sum: u64,
    /// The lower median (the value at rank `(count - 1) / 2` of the sorted
    /// values); absent when the checker stopped keeping values (past
    /// [`MAX_KEPT_DISPLACEMENTS`](super::MAX_KEPT_DISPLACEMENTS) in one cell).
    pub median: Option<u64>,
    /// The 90th percentile, nearest rank (the value at rank
    /// `ceil(0.9 count) - 1`); absent as `median` is.
    pub p90: Option<u64>,
    /// Counts per power-of-two bucket, non-empty buckets only, in order:
    /// always exact.
    pub histogram: Vec<HistogramBucket>,
}

/// Displacements in `min..=max` and how many there were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistogramBucket {
    pub min: u64,
    pub max: u64,
    pub count: u64,
}

impl EventOutcome {
    /// Violations attributed to this event.
    pub fn violations(&self) -> u64 {
        self.reorders + self.log_duplicates + self.losses + self.missing
    }
}

/// A run of consecutive missing sequences of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqRange {
    pub stream: u32,
    pub first_seq: u64,
    pub last_seq: u64,
    /// Run id of the stream, set only in verify mode (as in [`Example`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<u64>,
}

/// What the report says about missing sequences.
pub const MISSING_NOTE: &str =
    "a missing sequence is absent from its stream but below the highest \
     sequence read: it was lost, or never acknowledged (without delivery reports the checker \
     cannot tell which); sequences above the highest read are unknown and not counted";

/// Missing ranges kept as examples.
pub const MAX_RANGES: usize = 10;

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
    /// Whether the producer's delivery reports were known. When false
    /// (`verify` on a topic read cold), losses, gaps and possibly persisted
    /// records cannot be judged and their counts are zero by construction.
    #[serde(default)]
    pub deliveries_known: bool,
    /// Without delivery reports: sequences absent from a stream below the
    /// highest one read (see [`MISSING_NOTE`]). Always 0 with reports.
    #[serde(default)]
    pub missing: Anomalies,
    /// The first [`MAX_RANGES`] runs of missing sequences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_ranges: Vec<SeqRange>,
    /// Evidence per fault kind (`reject`, `lose-ack`, …, `failover`), when
    /// the checker was given the cell's events. Empty without events.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub events: BTreeMap<String, EventEvidence>,
    /// What each event was followed by, in event order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_outcomes: Vec<EventOutcome>,
    /// Violations that no event's records hold (with events given).
    #[serde(default)]
    pub unattributed_violations: u64,
    /// Counts per partition read (the map's keys are partition ids).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        with = "partition_keys"
    )]
    pub partitions: BTreeMap<i32, PartitionCounts>,
    /// Order per key, when records carried keys (see *Keys* in
    /// [`crate::record`]); absent when none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<KeyVerdict>,
}

/// What one partition held. Every count is of records, as in [`Verdict`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionCounts {
    pub records_read: u64,
    pub reorders: u64,
    pub log_duplicates: u64,
    pub redeliveries: u64,
    pub malformed: u64,
    /// Missing sequences (without delivery reports) of the streams first
    /// read from this partition.
    pub missing: u64,
    /// Losses (with delivery reports) of the streams first read from this
    /// partition; a stream never read is on no partition and not counted here.
    pub losses: u64,
}

/// Order per key: within one stream (one producer × one partition), the
/// records of one key in `send()` order. Counts are of records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVerdict {
    /// Records read that carried a key (null keys are no key).
    pub keyed_records: u64,
    /// (stream, key) pairs checked.
    pub keys: u64,
    /// Keys read from more than one partition: order is promised per
    /// partition, so such a key has no order of its own; each partition's
    /// share is still checked apart.
    pub keys_on_several_partitions: u64,
    /// Keyed records not checked per key: past
    /// [`MAX_KEYS`](super::MAX_KEYS) pairs, or a key whose hash another held.
    pub untracked: u64,
    /// Distinct records whose stream sequence is below the highest already
    /// read for their key on their stream. Each is also a stream reorder.
    pub reorders: u64,
    /// Log duplicates of keyed records, each counted for its key.
    pub log_duplicates: u64,
    /// Key sequences absent below the highest read, over the keys whose
    /// every record carried the key extension (`keys_with_key_seq`).
    pub missing: u64,
    /// Keys whose every record carried a key sequence: missing judged.
    pub keys_with_key_seq: u64,
    /// Keys with at least one reorder, log duplicate or missing record.
    pub keys_with_violations: u64,
    /// The first [`MAX_KEY_REPORTS`](super::MAX_KEY_REPORTS) of them, by
    /// partition, stream and key.
    pub violating: Vec<KeyCounts>,
}

/// One key's counts on one stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCounts {
    /// The key: its text when UTF-8, else `0x` and its hex; a trailing `…`
    /// when it is longer than the bytes kept.
    pub key: String,
    /// The partition its first record was read from.
    pub partition: i32,
    pub stream: u32,
    /// Run id of the stream, set only in verify mode (as in [`Example`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<u64>,
    /// Distinct records of the key read.
    pub records: u64,
    pub reorders: u64,
    pub log_duplicates: u64,
    /// Missing key sequences; absent when not every record carried one.
    pub missing: Option<u64>,
}

impl Verdict {
    /// Ordering violations: reorders, log duplicates, losses and (without
    /// delivery reports) missing sequences. Per-key counts are a breakdown
    /// of these, never added to them.
    pub fn violations(&self) -> u64 {
        self.reorders.count + self.log_duplicates.count + self.losses.count + self.missing.count
    }

    /// Faults injected in this cell, by the events the checker was given.
    pub fn events_injected(&self) -> u64 {
        self.events.values().map(|e| e.injected).sum()
    }

    /// Ordering violations of kinds the configuration does not permit.
    pub fn unpermitted_violations(&self) -> u64 {
        AnomalyKind::VIOLATIONS
            .into_iter()
            .filter(|k| !self.permitted.contains(k))
            .map(|k| self.of(k).count)
            .sum()
    }

    /// Whether the checker could judge this kind at all: losses, gaps and
    /// possibly persisted records need the delivery reports.
    pub fn judged(&self, kind: AnomalyKind) -> bool {
        match kind {
            AnomalyKind::Loss | AnomalyKind::Gap | AnomalyKind::PossiblyPersisted => {
                self.deliveries_known
            }
            AnomalyKind::Reorder | AnomalyKind::LogDuplicate | AnomalyKind::Redelivery => true,
        }
    }

    /// Records read once each from the checked streams: everything read that
    /// is not a copy, a re-read, foreign or malformed.
    pub fn distinct(&self) -> u64 {
        self.records_read
            .saturating_sub(self.log_duplicates.count)
            .saturating_sub(self.redeliveries.count)
            .saturating_sub(self.foreign)
            .saturating_sub(self.malformed)
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

/// The per-partition map with its keys as JSON strings, read back through
/// strings: a verdict sits inside the internally tagged `Outcome`, whose
/// buffered content cannot turn a string key into an `i32` by itself.
mod partition_keys {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::PartitionCounts;

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<i32, PartitionCounts>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let text: BTreeMap<String, &PartitionCounts> =
            map.iter().map(|(k, v)| (k.to_string(), v)).collect();
        text.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<i32, PartitionCounts>, D::Error> {
        let text = BTreeMap::<String, PartitionCounts>::deserialize(d)?;
        text.into_iter()
            .map(|(k, v)| {
                k.parse::<i32>()
                    .map(|p| (p, v))
                    .map_err(|_| serde::de::Error::custom(format!("partition id {k:?}")))
            })
            .collect()
    }
}
