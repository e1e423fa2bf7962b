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
//! # How one record is classified
//!
//! [`Checker::observe`] takes records in the order the consumer returns them
//! and puts each into exactly one bucket, first match wins:
//!
//! 1. **malformed**: the value does not carry the stamped header
//!    ([`crate::record`]), or its stream/sequence is implausible (see
//!    *Bounds* below);
//! 2. **foreign**: a well-formed record of another run (run mode only);
//! 3. **redelivery**: its offset is not above the last offset already read
//!    from its partition;
//! 4. **log duplicate**: its sequence was already read from its stream, at
//!    another offset;
//! 5. otherwise it is a **distinct** record, and additionally a **reorder**
//!    when its sequence is below the highest one already read from its
//!    stream.
//!
//! so `records_read = distinct + log duplicates + redeliveries + foreign +
//! malformed` always holds. Losses, gaps and possibly persisted records are
//! judged against the delivery reports; without them (`verify` on a topic
//! some other program wrote) they cannot be, and the verdict says so with
//! [`Verdict::deliveries_known`].
//!
//! # Bounds
//!
//! Memory is bounded by the number of streams and one bitmap per stream, never
//! by a map of every record: the "seen" set of a stream is a bitmap allocated
//! in pages of 4096 sequences on first touch, so a stray huge sequence costs
//! one page, not a bitmap up to it. To keep strange input from growing it
//! anyway, a record is counted as **malformed** when
//! - delivery reports are known and its sequence is not below the number of
//!   records sent on its stream (or its stream was never sent on): it cannot
//!   be one of ours;
//! - delivery reports are unknown and its sequence is `>=` [`SEQ_CAP`] (2^32);
//! - it would open a stream beyond [`MAX_STREAMS`] tracked streams.
//!
//! # Missing sequences (no delivery reports)
//!
//! Without delivery reports (`verify` on a topic another program wrote) a
//! sequence absent from a stream but below the highest one read is
//! **missing**: lost, or never acknowledged (the checker cannot tell which).
//! Sequences above the highest read are unknown and not counted. Missing
//! sequences count as violations. With delivery reports nothing is
//! missing: absent records are losses or gaps.
//!
//! # Attribution to fault events
//!
//! Given the cell's fault events ([`Checker::with_events`]), every reorder,
//! log duplicate, loss and missing sequence whose (stream, sequence) lies in
//! an event's record spans is attributed to that event (to the narrowest
//! span when several hold it: a refused batch inside a failover's window
//! goes to the refused batch). [`Verdict::events`] sums the evidence per
//! event kind, [`Verdict::event_outcomes`] gives it per event, and what no
//! event holds is [`Verdict::unattributed_violations`].
//!
//! The offset of the first copy of a log duplicate is found among the last
//! [`RECENT`] distinct records of its stream (retried batches land close to
//! the original); when the first copy is older than that the example's
//! `detail` is `None`. Offsets of possibly persisted records are known; those
//! of losses and gaps are absent by definition.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use crate::faults::events::FaultEvent;
use crate::grid::{Acks, ProducerSettings};
use crate::record::Stamp;

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
    /// duplicates: the offset of the first copy, when it was among the last
    /// [`RECENT`] distinct records of its stream. Otherwise absent.
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
    /// The event's id ([`FaultEvent::id`]).
    pub id: u64,
    pub kind: String,
    /// Records the event touched (its spans' lengths summed).
    pub records: u64,
    pub reorders: u64,
    pub log_duplicates: u64,
    pub losses: u64,
    /// Missing sequences (verify mode only).
    pub missing: u64,
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
}

impl Verdict {
    /// Ordering violations: reorders, log duplicates, losses and (without
    /// delivery reports) missing sequences.
    pub fn violations(&self) -> u64 {
        self.reorders.count + self.log_duplicates.count + self.losses.count + self.missing.count
    }

    /// Faults injected in this cell, by the events the checker was given.
    pub fn events_injected(&self) -> u64 {
        self.events.values().map(|e| e.injected).sum()
    }

    /// Ordering violations of kinds the configuration does not permit.
    pub fn unpermitted_violations(&self) -> u64 {
        [
            AnomalyKind::Reorder,
            AnomalyKind::LogDuplicate,
            AnomalyKind::Loss,
        ]
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

    /// True for the kinds in [`AnomalyKind::VIOLATIONS`].
    pub fn is_violation(self) -> bool {
        AnomalyKind::VIOLATIONS.contains(&self)
    }

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
/// Without delivery reports, sequences at or above this are counted as
/// malformed: no real stream reaches it, and it bounds a stream's bitmap.
pub const SEQ_CAP: u64 = 1 << 32;
/// Streams tracked at most; records that would open another one are counted
/// as malformed.
pub const MAX_STREAMS: usize = 1 << 14;
/// Distinct records remembered per stream (sequence and offset) to name the
/// first copy of a log duplicate. A power of two.
pub const RECENT: usize = 512;

const PAGE_BITS: u64 = 4096;
const PAGE_WORDS: usize = (PAGE_BITS / 64) as usize;
const NO_SLOT: u32 = u32::MAX;

/// A set of sequence numbers: a bitmap allocated in pages of [`PAGE_BITS`]
/// on first touch, so memory follows the sequences seen, not the largest one.
#[derive(Debug, Default)]
struct SeqSet {
    pages: Vec<[u64; PAGE_WORDS]>,
    slots: HashMap<u64, u32>,
    /// The page last touched and its slot: streams are read mostly in order,
    /// so almost every lookup hits it.
    last_page: u64,
    last_slot: u32,
}

impl SeqSet {
    fn new() -> SeqSet {
        SeqSet {
            last_slot: NO_SLOT,
            ..SeqSet::default()
        }
    }

    /// Sets `seq`; returns whether it was already set.
    #[inline]
    fn set(&mut self, seq: u64) -> bool {
        let page = seq / PAGE_BITS;
        let slot = if self.last_slot != NO_SLOT && self.last_page == page {
            self.last_slot
        } else {
            self.slot_for(page)
        };
        let bit = seq % PAGE_BITS;
        let word = &mut self.pages[slot as usize][(bit / 64) as usize];
        let mask = 1u64 << (bit % 64);
        let was = *word & mask != 0;
        *word |= mask;
        was
    }

    #[cold]
    fn slot_for(&mut self, page: u64) -> u32 {
        let next = self.pages.len() as u32;
        let slot = *self.slots.entry(page).or_insert(next);
        if slot == next {
            self.pages.push([0; PAGE_WORDS]);
        }
        self.last_page = page;
        self.last_slot = slot;
        slot
    }

    /// The 64 bits starting at sequence `64 * w`.
    fn word(&self, w: u64) -> u64 {
        let page = w / PAGE_WORDS as u64;
        self.slots.get(&page).map_or(0, |&s| {
            self.pages[s as usize][(w % PAGE_WORDS as u64) as usize]
        })
    }
}

/// What the checker keeps per stream.
#[derive(Debug)]
struct StreamState {
    run_id: u64,
    id: u32,
    /// Sequences at or above this are not plausible (malformed).
    limit: u64,
    seen: SeqSet,
    /// Highest sequence read so far, valid when `distinct > 0`.
    max_seq: u64,
    distinct: u64,
    /// Ring of the last [`RECENT`] distinct (sequence, offset) pairs.
    recent: Vec<(u64, i64)>,
    recent_pos: usize,
    /// The delivery reports of this stream, in run mode with reports.
    deliveries: Option<StreamDeliveries>,
}

impl StreamState {
    fn new(run_id: u64, id: u32, deliveries: Option<StreamDeliveries>) -> StreamState {
        StreamState {
            run_id,
            id,
            limit: deliveries.as_ref().map_or(SEQ_CAP, |d| d.sent),
            seen: SeqSet::new(),
            max_seq: 0,
            distinct: 0,
            recent: Vec::new(),
            recent_pos: 0,
            deliveries,
        }
    }

    #[inline]
    fn remember(&mut self, seq: u64, offset: i64) {
        if self.recent.len() < RECENT {
            self.recent.push((seq, offset));
        } else {
            self.recent[self.recent_pos] = (seq, offset);
            self.recent_pos = (self.recent_pos + 1) & (RECENT - 1);
        }
    }

    fn recent_offset(&self, seq: u64) -> Option<i64> {
        self.recent.iter().find(|(s, _)| *s == seq).map(|&(_, o)| o)
    }
}

/// What the checker keeps per partition.
#[derive(Debug, Clone, Copy)]
struct PartitionState {
    /// Last offset read, valid when `read` is true.
    last_offset: i64,
    read: bool,
    /// The stream of the last record read here and its index: a partition
    /// mostly holds one stream, so this spares a hash lookup per record.
    cached_key: (u64, u32),
    cached_stream: u32,
}

impl PartitionState {
    const NEW: PartitionState = PartitionState {
        last_offset: 0,
        read: false,
        cached_key: (0, 0),
        cached_stream: NO_SLOT,
    };
}

/// Partitions with ids below this live in a vector; others in a map.
const DENSE_PARTITIONS: usize = 1 << 12;

/// The streaming checker: feed it every record read back with
/// [`observe`](Checker::observe), then take the [`Verdict`] with
/// [`finish`](Checker::finish). See the module documentation for the rules.
#[derive(Debug)]
pub struct Checker {
    run_id: Option<u64>,
    deliveries_known: bool,
    permitted: BTreeSet<AnomalyKind>,
    streams: Vec<StreamState>,
    stream_index: HashMap<(u64, u32), u32>,
    partitions: Vec<PartitionState>,
    other_partitions: HashMap<i32, PartitionState>,
    records_read: u64,
    foreign: u64,
    malformed: u64,
    reorders: Anomalies,
    displacement: Displacement,
    log_duplicates: Anomalies,
    redeliveries: Anomalies,
    possibly_persisted: Anomalies,
    attribution: Attribution,
}

/// Which violation an attribution counts.
#[derive(Debug, Clone, Copy)]
enum Charge {
    Reorder,
    LogDuplicate,
    Loss,
    Missing,
}

/// The events' record spans, indexed by stream, and what each was followed by.
#[derive(Debug, Default)]
struct Attribution {
    given: bool,
    /// Per stream: (first, last, event index), sorted by first.
    spans: HashMap<u32, Vec<(u64, u64, u32)>>,
    /// Per stream: the widest span minus one, to bound the backward scan.
    widest: HashMap<u32, u64>,
    outcomes: Vec<EventOutcome>,
    unattributed: u64,
}

impl Attribution {
    fn new(events: &[FaultEvent]) -> Attribution {
        let mut a = Attribution {
            given: true,
            ..Attribution::default()
        };
        for (i, e) in events.iter().enumerate() {
            a.outcomes.push(EventOutcome {
                id: e.id,
                kind: e.kind.clone(),
                records: e.records.iter().map(|r| r.len()).sum(),
                ..EventOutcome::default()
            });
            for r in &e.records {
                a.spans
                    .entry(r.stream)
                    .or_default()
                    .push((r.first_seq, r.last_seq, i as u32));
                let w = a.widest.entry(r.stream).or_insert(0);
                *w = (*w).max(r.last_seq.saturating_sub(r.first_seq));
            }
        }
        for v in a.spans.values_mut() {
            v.sort_unstable();
        }
        a
    }

    /// The event whose narrowest span holds `seq` of `stream`.
    fn find(&self, stream: u32, seq: u64) -> Option<usize> {
        let spans = self.spans.get(&stream)?;
        let widest = self.widest.get(&stream).copied().unwrap_or(0);
        let end = spans.partition_point(|s| s.0 <= seq);
        let mut best: Option<(u64, usize)> = None;
        for &(first, last, i) in spans[..end].iter().rev() {
            if seq - first > widest {
                break;
            }
            let width = last - first;
            if last >= seq && best.map_or(true, |(w, _)| width < w) {
                best = Some((width, i as usize));
            }
        }
        best.map(|(_, i)| i)
    }

    #[inline]
    fn charge(&mut self, stream: u32, seq: u64, what: Charge) {
        if !self.given {
            return;
        }
        let Some(i) = self.find(stream, seq) else {
            self.unattributed += 1;
            return;
        };
        let o = &mut self.outcomes[i];
        match what {
            Charge::Reorder => o.reorders += 1,
            Charge::LogDuplicate => o.log_duplicates += 1,
            Charge::Loss => o.losses += 1,
            Charge::Missing => o.missing += 1,
        }
    }

    fn evidence(&self) -> BTreeMap<String, EventEvidence> {
        let mut out: BTreeMap<String, EventEvidence> = BTreeMap::new();
        for o in &self.outcomes {
            let e = out.entry(o.kind.clone()).or_default();
            e.injected += 1;
            let v = o.violations();
            if v > 0 {
                e.followed_by_violation += 1;
                e.violations += v;
            }
        }
        out
    }
}

impl Checker {
    /// A checker for one cell (run mode) or one topic (verify mode).
    ///
    /// - `run_id`: `Some(tag)` checks the records of that run; records of other
    ///   runs are counted as `foreign`. `None` (verify mode): every
    ///   (run id, stream id) pair is a stream of its own.
    /// - `deliveries`: what the producer was told, indexed by stream id. `None`
    ///   when unknown: losses, gaps and possibly persisted records are then
    ///   not judged (`Verdict::deliveries_known` is false). Reports apply to
    ///   stream ids of the given run, so they are ignored when `run_id` is
    ///   `None`.
    /// - `permitted`: the kinds the configuration allows (see [`permitted`]),
    ///   copied into the verdict.
    pub fn new(
        run_id: Option<u64>,
        deliveries: Option<&Deliveries>,
        permitted: BTreeSet<AnomalyKind>,
    ) -> Checker {
        let mut checker = Checker {
            run_id,
            deliveries_known: false,
            permitted,
            streams: Vec::new(),
            stream_index: HashMap::new(),
            partitions: Vec::new(),
            other_partitions: HashMap::new(),
            records_read: 0,
            foreign: 0,
            malformed: 0,
            reorders: Anomalies::default(),
            displacement: Displacement::default(),
            log_duplicates: Anomalies::default(),
            redeliveries: Anomalies::default(),
            possibly_persisted: Anomalies::default(),
            attribution: Attribution::default(),
        };
        if let (Some(run), Some(deliveries)) = (run_id, deliveries) {
            checker.deliveries_known = true;
            for (i, d) in deliveries.streams.iter().enumerate() {
                let Ok(id) = u32::try_from(i) else { break };
                checker.stream_index.insert((run, id), i as u32);
                checker
                    .streams
                    .push(StreamState::new(run, id, Some(d.clone())));
            }
        }
        checker
    }

    /// Attributes anomalies to these fault events (the proxy's
    /// [`crate::faults::Proxy::events`] and the failover controller's, ids
    /// unique, e.g. through [`crate::faults::events::renumber`]); see the
    /// module documentation. The verdict then carries [`Verdict::events`].
    pub fn with_events(mut self, events: Vec<FaultEvent>) -> Checker {
        self.attribution = Attribution::new(&events);
        self
    }

    /// Records observed so far.
    pub fn records_read(&self) -> u64 {
        self.records_read
    }

    /// Classifies one record read from the log. Never panics and, past the
    /// first record of a stream or page of 4096 sequences, never allocates.
    #[inline]
    pub fn observe(&mut self, partition: i32, offset: i64, value: Option<&[u8]>) {
        self.records_read += 1;
        let part = self.partition_mut(partition);
        let redelivered = part.read && offset <= part.last_offset;
        if !redelivered {
            part.read = true;
            part.last_offset = offset;
        }
        let (cached_key, cached_stream) = (part.cached_key, part.cached_stream);

        let Ok(stamp) = Stamp::read(value) else {
            self.malformed += 1;
            return;
        };
        if self.run_id.is_some_and(|r| r != stamp.run_id) {
            self.foreign += 1;
            return;
        }
        let key = (stamp.run_id, stamp.stream);
        let index = if cached_stream != NO_SLOT && cached_key == key {
            cached_stream
        } else {
            match self.stream_for(key) {
                Some(i) => {
                    let part = self.partition_mut(partition);
                    part.cached_key = key;
                    part.cached_stream = i;
                    i
                }
                None => {
                    self.malformed += 1;
                    return;
                }
            }
        };
        let seq = stamp.seq;
        let example_run = if self.run_id.is_none() {
            Some(stamp.run_id)
        } else {
            None
        };
        let stream = &mut self.streams[index as usize];
        if seq >= stream.limit {
            self.malformed += 1;
            return;
        }
        let example = |detail: Option<i64>| Example {
            stream: stamp.stream,
            seq,
            partition: Some(partition),
            offset: Some(offset),
            detail,
            run_id: example_run,
        };
        if redelivered {
            push(&mut self.redeliveries, || example(None));
            return;
        }
        if stream.seen.set(seq) {
            let wants_example = self.log_duplicates.examples.len() < MAX_EXAMPLES;
            let first = if wants_example {
                stream.recent_offset(seq)
            } else {
                None
            };
            push(&mut self.log_duplicates, || example(first));
            self.attribution
                .charge(stamp.stream, seq, Charge::LogDuplicate);
            return;
        }
        if stream.distinct > 0 && seq < stream.max_seq {
            let d = stream.max_seq - seq;
            self.displacement.max = self.displacement.max.max(d);
            self.displacement.sum = self.displacement.sum.saturating_add(d);
            push(&mut self.reorders, || example(Some(d as i64)));
            self.attribution.charge(stamp.stream, seq, Charge::Reorder);
        } else {
            stream.max_seq = seq;
        }
        stream.distinct += 1;
        stream.remember(seq, offset);
        if let Some(d) = &stream.deliveries {
            if d.failed.get(seq) {
                push(&mut self.possibly_persisted, || example(None));
            }
        }
    }

    #[inline]
    fn partition_mut(&mut self, partition: i32) -> &mut PartitionState {
        match usize::try_from(partition) {
            Ok(p) if p < DENSE_PARTITIONS => {
                if p >= self.partitions.len() {
                    self.partitions.resize(p + 1, PartitionState::NEW);
                }
                &mut self.partitions[p]
            }
            _ => self
                .other_partitions
                .entry(partition)
                .or_insert(PartitionState::NEW),
        }
    }

    /// The index of a stream, opening it when allowed.
    #[cold]
    fn stream_for(&mut self, key: (u64, u32)) -> Option<u32> {
        if let Some(&i) = self.stream_index.get(&key) {
            return Some(i);
        }
        // With delivery reports every stream of the run is known up front: a
        // stream id never sent on is not ours.
        if self.deliveries_known || self.streams.len() >= MAX_STREAMS {
            return None;
        }
        let i = self.streams.len() as u32;
        self.streams.push(StreamState::new(key.0, key.1, None));
        self.stream_index.insert(key, i);
        Some(i)
    }

    /// The verdict: counts, examples, and losses, gaps and possibly persisted
    /// records judged against the delivery reports.
    pub fn finish(mut self) -> Verdict {
        let mut losses = Anomalies::default();
        let mut gaps = Anomalies::default();
        let mut missing = Anomalies::default();
        let mut missing_ranges: Vec<SeqRange> = Vec::new();
        let mut streams = 0u32;
        let verify_mode = self.run_id.is_none();
        let attributing = self.attribution.given;
        for s in &self.streams {
            let example_run = verify_mode.then_some(s.run_id);
            let absent = |seq: u64| Example {
                stream: s.id,
                seq,
                partition: None,
                offset: None,
                detail: None,
                run_id: example_run,
            };
            let sent = s.deliveries.as_ref().map_or(0, |d| d.sent);
            if sent > 0 || s.distinct > 0 {
                streams = streams.saturating_add(1);
            }
            let Some(d) = &s.deliveries else {
                // Without reports: what is absent below the highest read.
                if s.distinct == 0 || self.deliveries_known {
                    continue;
                }
                let mut run: Option<(u64, u64)> = None;
                let close = |run: &mut Option<(u64, u64)>, ranges: &mut Vec<SeqRange>| {
                    if let Some((first, last)) = run.take() {
                        if ranges.len() < MAX_RANGES {
                            ranges.push(SeqRange {
                                stream: s.id,
                                first_seq: first,
                                last_seq: last,
                                run_id: example_run,
                            });
                        }
                    }
                };
                for w in 0..=s.max_seq / 64 {
                    let valid = if w == s.max_seq / 64 {
                        // Bits up to and including max_seq (which is seen).
                        let top = s.max_seq % 64;
                        if top == 63 {
                            u64::MAX
                        } else {
                            (1u64 << (top + 1)) - 1
                        }
                    } else {
                        u64::MAX
                    };
                    let bits = !s.seen.word(w) & valid;
                    if bits == 0 {
                        close(&mut run, &mut missing_ranges);
                        continue;
                    }
                    missing.count += u64::from(bits.count_ones());
                    let base = w * 64;
                    if bits == u64::MAX && !attributing && missing.examples.len() >= MAX_EXAMPLES {
                        match &mut run {
                            Some((_, last)) if *last + 1 == base => *last = base + 63,
                            _ => {
                                close(&mut run, &mut missing_ranges);
                                run = Some((base, base + 63));
                            }
                        }
                        continue;
                    }
                    for b in 0..64 {
                        let seq = base + b;
                        if bits & (1 << b) == 0 {
                            close(&mut run, &mut missing_ranges);
                            continue;
                        }
                        if missing.examples.len() < MAX_EXAMPLES {
                            missing.examples.push(absent(seq));
                        }
                        self.attribution.charge(s.id, seq, Charge::Missing);
                        match &mut run {
                            Some((_, last)) if *last + 1 == seq => *last = seq,
                            _ => {
                                close(&mut run, &mut missing_ranges);
                                run = Some((seq, seq));
                            }
                        }
                    }
                }
                close(&mut run, &mut missing_ranges);
                continue;
            };
            for w in 0..sent.div_ceil(64) {
                let tail = sent - w * 64;
                let valid = if tail >= 64 {
                    u64::MAX
                } else {
                    (1u64 << tail) - 1
                };
                let word = |b: &Bitmap| b.words.get(w as usize).copied().unwrap_or(0);
                let seen = s.seen.word(w);
                let acked = word(&d.acked) & valid;
                let failed = word(&d.failed) & valid;
                for (bits, into, is_loss) in [
                    (acked & !seen, &mut losses, true),
                    (failed & !seen, &mut gaps, false),
                ] {
                    into.count += u64::from(bits.count_ones());
                    let mut rest = bits;
                    while rest != 0
                        && (into.examples.len() < MAX_EXAMPLES || (is_loss && attributing))
                    {
                        let seq = w * 64 + u64::from(rest.trailing_zeros());
                        rest &= rest - 1;
                        if into.examples.len() < MAX_EXAMPLES {
                            into.examples.push(absent(seq));
                        }
                        if is_loss {
                            self.attribution.charge(s.id, seq, Charge::Loss);
                        }
                    }
                }
            }
        }
        let events = self.attribution.evidence();
        Verdict {
            records_read: self.records_read,
            streams,
            foreign: self.foreign,
            malformed: self.malformed,
            reorders: self.reorders,
            reorder_displacement: self.displacement,
            log_duplicates: self.log_duplicates,
            redeliveries: self.redeliveries,
            losses,
            gaps,
            possibly_persisted: self.possibly_persisted,
            permitted: self.permitted,
            deliveries_known: self.deliveries_known,
            missing,
            missing_ranges,
            events,
            event_outcomes: std::mem::take(&mut self.attribution.outcomes),
            unattributed_violations: self.attribution.unattributed,
        }
    }
}

/// Counts one anomaly and keeps it as an example while there are few.
#[inline]
fn push(into: &mut Anomalies, example: impl FnOnce() -> Example) {
    into.count += 1;
    if into.examples.len() < MAX_EXAMPLES {
        into.examples.push(example());
    }
}

/// Why a topic could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The client configuration was refused (e.g. a bad `-X` property).
    #[error("cannot create a consumer: {source} (hint: check the -X properties)")]
    Config { source: Box<KafkaError> },
    /// No broker answered the metadata request.
    #[error("cannot reach the cluster at {bootstrap:?} to read topic {topic:?}: {source} (hint: check --bootstrap and the -X security properties)")]
    Unreachable {
        bootstrap: String,
        topic: String,
        source: Box<KafkaError>,
    },
    /// The cluster answered but has no such topic.
    #[error("topic {topic:?} does not exist on the cluster at {bootstrap:?}")]
    UnknownTopic { topic: String, bootstrap: String },
    /// The cluster reported an error for the topic's metadata or offsets.
    #[error("cannot read topic {topic:?}: {message}")]
    Topic { topic: String, message: String },
    /// No record arrived for `waited` before the end offsets were reached.
    #[error(
        "timed out reading topic {topic:?}: no progress for {waited:?}; read {read} of up to \
         {expected} records, {partitions_done} of {partitions} partitions complete{}",
        last_error.as_deref().map(|e| format!(" (last error: {e})")).unwrap_or_default()
    )]
    Timeout {
        topic: String,
        waited: Duration,
        read: u64,
        expected: u64,
        partitions_done: usize,
        partitions: usize,
        last_error: Option<String>,
    },
}

/// The consumer properties `read_topic` sets over the caller's: read
/// everything once, fast, and leave no trace on the cluster (no group
/// membership, no commits).
pub const CONSUMER_PROPERTIES: &[(&str, &str)] = &[
    ("enable.auto.commit", "false"),
    ("enable.auto.offset.store", "false"),
    ("enable.partition.eof", "false"),
    ("auto.offset.reset", "earliest"),
    ("allow.auto.create.topics", "false"),
    ("check.crcs", "false"),
    ("fetch.max.bytes", "104857600"),
    ("max.partition.fetch.bytes", "16777216"),
    ("queued.max.messages.kbytes", "262144"),
    ("fetch.wait.max.ms", "100"),
];

/// Reads `topic` from each partition's low watermark up to its end offset
/// and feeds every record to `checker`.
///
/// - `config`: the base client configuration (bootstrap.servers and any `-X`
///   properties); [`CONSUMER_PROPERTIES`] are set over it. Partitions are
///   assigned, never subscribed: no group is joined (a `group.id` is set
///   when none is given, as librdkafka requires one) and nothing is committed.
/// - `end_offsets`: the high watermark per partition recorded after the
///   producer flushed; records at or past it are not the cell's and are not
///   read. `None` fetches the current high watermarks first.
/// - `timeout`: the longest wait without a new record (and for each metadata
///   or watermark request, at most 10 s of it), not a limit on the whole read.
pub fn read_topic(
    config: &ClientConfig,
    topic: &str,
    end_offsets: Option<&BTreeMap<i32, i64>>,
    mut checker: Checker,
    timeout: Duration,
) -> Result<Verdict, VerifyError> {
    let bootstrap = config.get("bootstrap.servers").unwrap_or("").to_string();
    let mut config = config.clone();
    for (k, v) in CONSUMER_PROPERTIES {
        config.set(*k, *v);
    }
    // librdkafka refuses assign() without a group id; with assign() and no
    // commits the group is never joined.
    if config.get("group.id").is_none() {
        config.set("group.id", "kafka-order-bench-verify");
    }
    let consumer: BaseConsumer = config
        .create()
        .map_err(|e| VerifyError::Config { source: e.into() })?;
    let request_timeout = timeout.min(Duration::from_secs(10));

    let metadata = consumer
        .fetch_metadata(Some(topic), request_timeout)
        .map_err(|e| VerifyError::Unreachable {
            bootstrap: bootstrap.clone(),
            topic: topic.to_string(),
            source: e.into(),
        })?;
    let unknown = || VerifyError::UnknownTopic {
        topic: topic.to_string(),
        bootstrap: bootstrap.clone(),
    };
    let meta = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .ok_or_else(unknown)?;
    match meta.error() {
        None => {}
        Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) => return Err(unknown()),
        Some(e) => {
            return Err(VerifyError::Topic {
                topic: topic.to_string(),
                message: format!("{e:?}"),
            })
        }
    }
    if meta.partitions().is_empty() {
        return Err(unknown());
    }

    // Where each partition starts and ends; partitions with nothing to read
    // are left out of the assignment.
    let mut ends: BTreeMap<i32, i64> = BTreeMap::new();
    let mut expected = 0u64;
    let mut assignment = TopicPartitionList::new();
    for p in meta.partitions() {
        let id = p.id();
        let (low, high) = consumer
            .fetch_watermarks(topic, id, request_timeout)
            .map_err(|e| VerifyError::Topic {
                topic: topic.to_string(),
                message: format!("cannot fetch the watermarks of partition {id}: {e}"),
            })?;
        let end = end_offsets
            .and_then(|m| m.get(&id).copied())
            .unwrap_or(high);
        if end > low {
            expected += (end - low) as u64;
            ends.insert(id, end);
            assignment
                .add_partition_offset(topic, id, Offset::Offset(low))
                .map_err(|e| VerifyError::Topic {
                    topic: topic.to_string(),
                    message: e.to_string(),
                })?;
        }
    }
    let partitions = ends.len();
    if partitions == 0 {
        return Ok(checker.finish());
    }
    consumer
        .assign(&assignment)
        .map_err(|e| VerifyError::Topic {
            topic: topic.to_string(),
            message: format!("cannot assign its partitions: {e}"),
        })?;

    let mut remaining: BTreeMap<i32, i64> = ends;
    let mut last_progress = Instant::now();
    let mut progressed = false;
    let mut last_error: Option<String> = None;
    let done = |consumer: &BaseConsumer, p: i32| {
        // Stop fetching what lies past the end; a failure only costs reads.
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, p);
        let _ = consumer.pause(&tpl);
    };
    while !remaining.is_empty() {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let (p, offset) = (m.partition(), m.offset());
                let Some(&end) = remaining.get(&p) else {
                    continue;
                };
                if offset < end {
                    checker.observe(p, offset, m.payload());
                    progressed = true;
                }
                if offset + 1 >= end {
                    remaining.remove(&p);
                    done(&consumer, p);
                }
                continue;
            }
            Some(Err(e)) => last_error = Some(e.to_string()),
            None => {
                // Transaction markers and compaction leave offsets no record
                // carries: a partition whose position passed its end is done.
                if let Ok(position) = consumer.position() {
                    for e in position.elements_for_topic(topic) {
                        let p = e.partition();
                        if let (Some(&end), Offset::Offset(at)) = (remaining.get(&p), e.offset()) {
                            if at >= end {
                                remaining.remove(&p);
                                done(&consumer, p);
                            }
                        }
                    }
                }
            }
        }
        if progressed {
            progressed = false;
            last_progress = Instant::now();
        } else if last_progress.elapsed() >= timeout {
            return Err(VerifyError::Timeout {
                topic: topic.to_string(),
                waited: timeout,
                read: checker.records_read(),
                expected,
                partitions_done: partitions - remaining.len(),
                partitions,
                last_error,
            });
        }
    }
    Ok(checker.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{HEADER_BYTES, MAGIC};
    use proptest::prelude::*;

    const RUN: u64 = 0x6b6f_6231;

    fn value(run_id: u64, stream: u32, seq: u64) -> Vec<u8> {
        let mut v = vec![0xAB; 64];
        Stamp {
            run_id,
            stream,
            seq,
            intended_send_ns: 1,
        }
        .write(&mut v);
        v
    }

    /// Checks `seqs` of stream 0 of [`RUN`], read from partition 0 at offsets 0, 1, 2, ….
    fn one_stream(seqs: &[u64], deliveries: Option<&Deliveries>) -> Verdict {
        let mut c = Checker::new(Some(RUN), deliveries, BTreeSet::new());
        for (offset, &seq) in seqs.iter().enumerate() {
            c.observe(0, offset as i64, Some(&value(RUN, 0, seq)));
        }
        c.finish()
    }

    fn assert_accounts(v: &Verdict, distinct: u64) {
        assert_eq!(
            v.records_read,
            distinct + v.log_duplicates.count + v.redeliveries.count + v.foreign + v.malformed,
            "{v:#?}"
        );
        assert_eq!(v.distinct(), distinct);
    }

    fn ex(stream: u32, seq: u64, partition: i32, offset: i64, detail: Option<i64>) -> Example {
        Example {
            stream,
            seq,
            partition: Some(partition),
            offset: Some(offset),
            detail,
            run_id: None,
        }
    }

    fn deliveries(sent: u64, acked: &[u64], failed: &[u64]) -> Deliveries {
        let mut d = Deliveries::default();
        let s = d.stream_mut(0);
        s.sent = sent;
        for &a in acked {
            s.acked.set(a);
        }
        for &f in failed {
            s.failed.set(f);
        }
        d
    }

    #[test]
    fn in_order_stream_is_clean() {
        let v = one_stream(&[0, 1, 2, 3, 4], None);
        assert_eq!(v.records_read, 5);
        assert_eq!(v.streams, 1);
        assert_eq!(v.violations(), 0);
        assert_eq!(v.redeliveries.count, 0);
        assert!(!v.deliveries_known);
        assert_accounts(&v, 5);
    }

    #[test]
    fn reorders_count_backward_steps_with_displacement() {
        let v = one_stream(&[0, 1, 2, 5, 3, 4, 6], None);
        assert_eq!(v.reorders.count, 2);
        assert_eq!(
            v.reorders.examples,
            vec![ex(0, 3, 0, 4, Some(2)), ex(0, 4, 0, 5, Some(1))]
        );
        assert_eq!(v.reorder_displacement, Displacement { max: 2, sum: 3 });
        assert_eq!(v.log_duplicates.count, 0);
        assert_accounts(&v, 7);
    }

    #[test]
    fn a_late_batch_is_one_reorder_per_record() {
        // A retried batch (2, 3) landing after the next one (4, 5).
        let v = one_stream(&[0, 1, 4, 5, 2, 3, 6], None);
        assert_eq!(v.reorders.count, 2);
        assert_eq!(v.reorder_displacement, Displacement { max: 3, sum: 5 });
    }

    #[test]
    fn log_duplicates_name_the_first_copy_and_are_not_reorders() {
        let v = one_stream(&[0, 1, 2, 1, 3, 0], None);
        assert_eq!(v.log_duplicates.count, 2);
        assert_eq!(
            v.log_duplicates.examples,
            vec![ex(0, 1, 0, 3, Some(1)), ex(0, 0, 0, 5, Some(0))]
        );
        assert_eq!(v.reorders.count, 0);
        assert_accounts(&v, 4);
    }

    #[test]
    fn a_duplicate_older_than_the_recent_window_has_no_first_offset() {
        let mut seqs: Vec<u64> = (0..RECENT as u64 + 10).collect();
        seqs.push(0);
        seqs.push(RECENT as u64);
        let v = one_stream(&seqs, None);
        assert_eq!(v.log_duplicates.count, 2);
        assert_eq!(v.log_duplicates.examples[0].detail, None);
        assert_eq!(
            v.log_duplicates.examples[1].detail,
            Some(RECENT as i64),
            "a recent first copy is still named"
        );
    }

    #[test]
    fn redeliveries_are_counted_apart_from_log_duplicates() {
        let mut c = Checker::new(Some(RUN), None, BTreeSet::new());
        // Offsets 0, 1, 2, then the consumer re-reads 1 and 2, then goes on.
        for (offset, seq) in [(0, 0), (1, 1), (2, 2), (1, 1), (2, 2), (3, 3)] {
            c.observe(0, offset, Some(&value(RUN, 0, seq)));
        }
        let v = c.finish();
        assert_eq!(v.redeliveries.count, 2);
        assert_eq!(
            v.redeliveries.examples,
            vec![ex(0, 1, 0, 1, None), ex(0, 2, 0, 2, None)]
        );
        assert_eq!(v.log_duplicates.count, 0);
        assert_eq!(v.reorders.count, 0);
        assert_eq!(v.violations(), 0);
        assert_accounts(&v, 4);
    }

    #[test]
    fn losses_gaps_and_possibly_persisted_against_delivery_reports() {
        // Sent 0..10: 0..=7 acked, 8 and 9 failed. The log lacks 3 (a loss)
        // and 8 (a gap) and holds 9 (possibly persisted).
        let d = deliveries(10, &[0, 1, 2, 3, 4, 5, 6, 7], &[8, 9]);
        let v = one_stream(&[0, 1, 2, 4, 5, 6, 7, 9], Some(&d));
        assert!(v.deliveries_known);
        let absent = |seq| Example {
            stream: 0,
            seq,
            partition: None,
            offset: None,
            detail: None,
            run_id: None,
        };
        assert_eq!(v.losses.count, 1);
        assert_eq!(v.losses.examples, vec![absent(3)]);
        assert_eq!(v.gaps.count, 1);
        assert_eq!(v.gaps.examples, vec![absent(8)]);
        assert_eq!(v.possibly_persisted.count, 1);
        assert_eq!(v.possibly_persisted.examples, vec![ex(0, 9, 0, 7, None)]);
        assert_eq!(v.reorders.count, 0);
        assert_eq!(v.violations(), 1);
        assert_accounts(&v, 8);
    }

    #[test]
    fn losses_across_word_boundaries_are_counted_exactly() {
        // 200 acked, only the even ones in the log: 100 losses.
        let acked: Vec<u64> = (0..200).collect();
        let d = deliveries(200, &acked, &[]);
        let evens: Vec<u64> = (0..200).step_by(2).collect();
        let v = one_stream(&evens, Some(&d));
        assert_eq!(v.losses.count, 100);
        let first: Vec<u64> = v.losses.examples.iter().map(|e| e.seq).collect();
        assert_eq!(first, vec![1, 3, 5, 7, 9]);
        // A stream never read at all: every acked record is lost.
        let v = one_stream(&[], Some(&d));
        assert_eq!(v.losses.count, 200);
        assert_eq!(v.streams, 1);
    }

    #[test]
    fn interleaved_streams_across_partitions_are_checked_apart() {
        let mut c = Checker::new(Some(RUN), None, BTreeSet::new());
        // Partition 0 holds streams 0 and 2 interleaved; partition 1 holds stream 1.
        let reads: [(i32, i64, u32, u64); 9] = [
            (0, 0, 0, 0),
            (1, 0, 1, 0),
            (0, 1, 2, 1),
            (0, 2, 0, 1),
            (1, 1, 1, 2),
            (0, 3, 2, 0), // stream 2 steps back by 1
            (1, 2, 1, 1), // stream 1 steps back by 1
            (0, 4, 0, 2),
            (1, 3, 1, 3),
        ];
        for (p, o, s, q) in reads {
            c.observe(p, o, Some(&value(RUN, s, q)));
        }
        let v = c.finish();
        assert_eq!(v.streams, 3);
        assert_eq!(v.reorders.count, 2);
        assert_eq!(
            v.reorders.examples,
            vec![ex(2, 0, 0, 3, Some(1)), ex(1, 1, 1, 2, Some(1))]
        );
        assert_eq!(v.reorder_displacement, Displacement { max: 1, sum: 2 });
        assert_eq!(v.log_duplicates.count, 0);
        assert_eq!(v.redeliveries.count, 0);
        assert_accounts(&v, 9);
    }

    #[test]
    fn foreign_runs_are_counted_in_run_mode_and_are_streams_in_verify_mode() {
        let reads = [(RUN, 0), (RUN + 1, 5), (RUN, 1), (RUN + 1, 0), (RUN, 2)];
        let observe = |c: &mut Checker| {
            for (o, (run, seq)) in reads.iter().enumerate() {
                c.observe(0, o as i64, Some(&value(*run, 0, *seq)));
            }
        };
        let mut c = Checker::new(Some(RUN), None, BTreeSet::new());
        observe(&mut c);
        let v = c.finish();
        assert_eq!(v.foreign, 2);
        assert_eq!(v.streams, 1);
        assert_eq!(v.violations(), 0);
        assert_accounts(&v, 3);

        let mut c = Checker::new(None, None, BTreeSet::new());
        observe(&mut c);
        let v = c.finish();
        assert_eq!(v.foreign, 0);
        assert_eq!(v.streams, 2);
        assert_eq!(v.reorders.count, 1, "run+1's stream steps back 5 → 0");
        assert_eq!(v.reorders.examples[0].run_id, Some(RUN + 1));
        assert_eq!(v.reorders.examples[0].detail, Some(5));
        assert_accounts(&v, 5);
    }

    #[test]
    fn malformed_records_are_counted_never_panicked_on() {
        let mut c = Checker::new(Some(RUN), None, BTreeSet::new());
        let mut bad_magic = value(RUN, 0, 0);
        bad_magic[..4].copy_from_slice(b"KOB2");
        let short = value(RUN, 0, 0)[..HEADER_BYTES - 1].to_vec();
        c.observe(0, 0, None);
        c.observe(0, 1, Some(&[]));
        c.observe(0, 2, Some(&short));
        c.observe(0, 3, Some(&bad_magic));
        c.observe(0, 4, Some(&value(RUN, 0, 0)));
        // A malformed record read again is malformed again, not a redelivery.
        c.observe(0, 3, Some(&bad_magic));
        let v = c.finish();
        assert_eq!(v.records_read, 6);
        assert_eq!(v.malformed, 5);
        assert_eq!(v.redeliveries.count, 0);
        assert_eq!(v.streams, 1);
        assert_accounts(&v, 1);
    }

    #[test]
    fn a_header_alone_is_enough() {
        let mut c = Checker::new(None, None, BTreeSet::new());
        let v = value(7, 1, 0);
        c.observe(0, 0, Some(&v[..HEADER_BYTES]));
        let v = c.finish();
        assert_eq!((v.malformed, v.streams), (0, 1));
    }

    #[test]
    fn implausible_sequences_and_streams_are_malformed() {
        // With delivery reports: seq >= sent, or a stream never sent on.
        let d = deliveries(3, &[0, 1, 2], &[]);
        let mut c = Checker::new(Some(RUN), Some(&d), BTreeSet::new());
        for (o, (stream, seq)) in [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (0, u64::MAX)]
            .into_iter()
            .enumerate()
        {
            c.observe(0, o as i64, Some(&value(RUN, stream, seq)));
        }
        let v = c.finish();
        assert_eq!(v.malformed, 3);
        assert_eq!(v.streams, 1);
        assert_eq!(v.violations(), 0);
        assert_accounts(&v, 3);

        // Without: seq >= SEQ_CAP. The largest plausible one costs one page,
        // and the step back from it is an exact displacement.
        let mut c = Checker::new(None, None, BTreeSet::new());
        for (o, seq) in [u64::MAX, SEQ_CAP, SEQ_CAP - 1, 0].into_iter().enumerate() {
            c.observe(0, o as i64, Some(&value(RUN, 0, seq)));
        }
        assert_eq!(c.streams[0].seen.pages.len(), 2);
        let v = c.finish();
        assert_eq!(v.malformed, 2);
        assert_eq!(v.reorders.count, 1);
        assert_eq!(v.reorders.examples[0].detail, Some((SEQ_CAP - 1) as i64));
        assert_eq!(
            v.reorder_displacement,
            Displacement {
                max: SEQ_CAP - 1,
                sum: SEQ_CAP - 1
            }
        );
        assert_accounts(&v, 2);
    }

    #[test]
    fn streams_beyond_the_cap_are_malformed() {
        let mut c = Checker::new(None, None, BTreeSet::new());
        for s in 0..=MAX_STREAMS as u32 {
            c.observe(0, i64::from(s), Some(&value(RUN, s, 0)));
        }
        let v = c.finish();
        assert_eq!(v.streams as usize, MAX_STREAMS);
        assert_eq!(v.malformed, 1);
        assert_accounts(&v, MAX_STREAMS as u64);
    }

    #[test]
    fn odd_partitions_and_offsets_do_not_panic() {
        let mut c = Checker::new(None, None, BTreeSet::new());
        for (p, o) in [
            (-1, i64::MIN),
            (i32::MAX, i64::MAX),
            (i32::MIN, -5),
            (5000, 0),
        ] {
            c.observe(p, o, Some(&value(RUN, p as u32, 0)));
        }
        let v = c.finish();
        assert_eq!(v.records_read, 4);
        assert_eq!(v.redeliveries.count, 0);
        assert_accounts(&v, 4);
    }

    #[test]
    fn examples_stop_at_five_counts_do_not() {
        let seqs: Vec<u64> = (0..20).rev().collect();
        let v = one_stream(&seqs, None);
        assert_eq!(v.reorders.count, 19);
        assert_eq!(v.reorders.examples.len(), MAX_EXAMPLES);
        assert_eq!(v.reorder_displacement, Displacement { max: 19, sum: 190 });
    }

    #[test]
    fn deliveries_without_a_run_id_are_ignored() {
        let d = deliveries(3, &[0, 1, 2], &[]);
        let c = Checker::new(None, Some(&d), BTreeSet::new());
        let v = c.finish();
        assert!(!v.deliveries_known);
        assert_eq!(v.losses.count, 0);
        assert!(!v.judged(AnomalyKind::Loss));
        assert!(v.judged(AnomalyKind::Reorder));
    }

    #[test]
    fn permitted_kinds_are_carried_and_unpermitted_violations_counted() {
        let settings = ProducerSettings {
            max_in_flight: 5,
            acks: Acks::All,
            idempotence: false,
        };
        let mut c = Checker::new(Some(RUN), None, permitted(&settings));
        for (o, seq) in [0u64, 2, 1].into_iter().enumerate() {
            c.observe(0, o as i64, Some(&value(RUN, 0, seq)));
        }
        let v = c.finish();
        assert!(v.permitted.contains(&AnomalyKind::Reorder));
        assert_eq!(v.violations(), 1);
        assert_eq!(v.unpermitted_violations(), 0);
    }

    #[test]
    fn verdict_json_round_trips_and_reads_without_new_fields() {
        let v = one_stream(&[1, 0], None);
        let json = serde_json::to_string(&v).unwrap();
        assert!(
            !json.contains("run_id"),
            "run mode examples carry no run id"
        );
        assert_eq!(serde_json::from_str::<Verdict>(&json).unwrap(), v);
        let old = json.replace(",\"deliveries_known\":false", "");
        assert_ne!(old, json);
        assert_eq!(serde_json::from_str::<Verdict>(&old).unwrap(), v);
    }

    fn event(id: u64, kind: &str, spans: &[(u32, u64, u64)]) -> FaultEvent {
        FaultEvent {
            id,
            kind: kind.into(),
            request_index: Some(id),
            at_ms: id,
            records: spans
                .iter()
                .map(|&(stream, first_seq, last_seq)| crate::faults::RecordSpan {
                    stream,
                    first_seq,
                    last_seq,
                })
                .collect(),
        }
    }

    fn check_with(seqs: &[u64], d: Option<&Deliveries>, events: Vec<FaultEvent>) -> Verdict {
        let mut c = Checker::new(Some(RUN), d, BTreeSet::new()).with_events(events);
        for (offset, &seq) in seqs.iter().enumerate() {
            c.observe(0, offset as i64, Some(&value(RUN, 0, seq)));
        }
        c.finish()
    }

    #[test]
    fn a_refused_batch_landing_late_is_fifteen_reorders_of_one_event() {
        // Batches of 15: 150..165 is refused, 165..180 lands first, then the
        // retry of 150..165, then the rest.
        let mut seqs: Vec<u64> = (0..150).collect();
        seqs.extend(165..180);
        seqs.extend(150..165);
        seqs.extend(180..300);
        let events = vec![
            event(0, "reject", &[(0, 150, 164)]),
            event(1, "reject", &[(0, 240, 254)]),
        ];
        let v = check_with(&seqs, None, events);
        assert_eq!(v.reorders.count, 15);
        assert_eq!(
            v.events["reject"],
            EventEvidence {
                injected: 2,
                followed_by_violation: 1,
                violations: 15
            }
        );
        assert_eq!(v.event_outcomes[0].reorders, 15);
        assert_eq!(v.event_outcomes[0].records, 15);
        assert_eq!(v.event_outcomes[1].violations(), 0);
        assert_eq!(v.unattributed_violations, 0);
        assert_eq!(v.events_injected(), 2);
    }

    #[test]
    fn duplicates_and_losses_go_to_their_event_the_rest_is_unattributed() {
        // 0..100 sent and acked. 20..30 written twice (a lost ack); 60..70
        // lost in a failover whose window is 50..80; 90 lost outside any event;
        // 5 reordered with no event.
        let acked: Vec<u64> = (0..100).collect();
        let d = deliveries(100, &acked, &[]);
        let mut seqs: Vec<u64> = (0..5).chain(6..30).chain(20..30).collect();
        seqs.push(5);
        seqs.extend((30..100).filter(|q| !(60..70).contains(q) && *q != 90));
        let events = vec![
            event(0, "lose-ack", &[(0, 20, 29)]),
            event(1, "failover", &[(0, 50, 80)]),
            // A refused batch inside the failover's window: the narrower span wins.
            event(2, "reject", &[(0, 65, 69)]),
        ];
        let v = check_with(&seqs, Some(&d), events);
        assert_eq!(
            (v.log_duplicates.count, v.losses.count, v.reorders.count),
            (10, 11, 1)
        );
        assert_eq!(v.event_outcomes[0].log_duplicates, 10);
        assert_eq!(v.event_outcomes[1].losses, 5);
        assert_eq!(v.event_outcomes[2].losses, 5);
        assert_eq!(
            v.unattributed_violations, 2,
            "the loss of 90 and the reorder of 5"
        );
        assert_eq!(v.events["failover"].followed_by_violation, 1);
        assert_eq!(
            v.missing.count, 0,
            "with delivery reports nothing is missing"
        );
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(serde_json::from_str::<Verdict>(&json).unwrap(), v);
    }

    #[test]
    fn without_events_nothing_is_attributed() {
        let v = one_stream(&[0, 2, 1], None);
        assert!(v.events.is_empty() && v.event_outcomes.is_empty());
        assert_eq!(v.unattributed_violations, 0);
    }

    #[test]
    fn missing_sequences_below_the_highest_read_without_delivery_reports() {
        // Stream 0: 0..1000 without 700..=704; stream 1: 0..=10 without 3.
        // Nothing above the highest read counts.
        let mut c = Checker::new(None, None, BTreeSet::new());
        for (o, q) in (0..1000).filter(|q| !(700..=704).contains(q)).enumerate() {
            c.observe(0, o as i64, Some(&value(RUN, 0, q)));
        }
        for q in (0..=10).filter(|q| *q != 3) {
            c.observe(1, i64::from(q as u32), Some(&value(RUN, 1, q)));
        }
        let v = c.finish();
        assert_eq!(v.missing.count, 6);
        let seqs: Vec<(u32, u64)> = v
            .missing
            .examples
            .iter()
            .map(|e| (e.stream, e.seq))
            .collect();
        assert_eq!(seqs, vec![(0, 700), (0, 701), (0, 702), (0, 703), (0, 704)]);
        assert_eq!(v.missing.examples[0].run_id, Some(RUN));
        let ranges: Vec<(u32, u64, u64)> = v
            .missing_ranges
            .iter()
            .map(|r| (r.stream, r.first_seq, r.last_seq))
            .collect();
        assert_eq!(ranges, vec![(0, 700, 704), (1, 3, 3)]);
        assert_eq!(v.violations(), 6);
        // A long gap: ranges merge across whole words.
        let mut c = Checker::new(None, None, BTreeSet::new());
        for (o, q) in [0u64, 1, 5000].into_iter().enumerate() {
            c.observe(0, o as i64, Some(&value(RUN, 0, q)));
        }
        let v = c.finish();
        assert_eq!(v.missing.count, 4998);
        assert_eq!(
            (v.missing_ranges[0].first_seq, v.missing_ranges[0].last_seq),
            (2, 4999)
        );
        assert_eq!(v.missing_ranges.len(), 1);
    }

    /// A reference model of one stream read in order, with every record kept.
    fn model(seqs: &[u64]) -> (u64, u64, u64, Displacement) {
        let mut seen = BTreeSet::new();
        let (mut dups, mut reorders, mut max) = (0, 0, None::<u64>);
        let mut disp = Displacement::default();
        for &s in seqs {
            if !seen.insert(s) {
                dups += 1;
                continue;
            }
            match max {
                Some(m) if s < m => {
                    reorders += 1;
                    disp.max = disp.max.max(m - s);
                    disp.sum += m - s;
                }
                _ => max = Some(s),
            }
        }
        (seen.len() as u64, dups, reorders, disp)
    }

    fn arbitrary_value() -> impl Strategy<Value = Option<Vec<u8>>> {
        prop_oneof![
            Just(None),
            proptest::collection::vec(any::<u8>(), 0..80).prop_map(Some),
            // Past the magic check, so the rest is read as a header.
            proptest::collection::vec(any::<u8>(), 0..60).prop_map(|rest| {
                let mut v = MAGIC.to_vec();
                v.extend(rest);
                Some(v)
            }),
            // A well-formed record with small fields, so streams repeat.
            (0u64..3, 0u32..3, 0u64..20).prop_map(|(r, s, q)| Some(value(RUN + r, s, q))),
        ]
    }

    proptest! {
        #[test]
        fn permuted_and_duplicated_streams_match_the_model(
            n in 0u64..300,
            picks in proptest::collection::vec(any::<prop::sample::Index>(), 0..500),
            rereads in proptest::collection::vec((any::<prop::sample::Index>(), 1usize..4), 0..5),
        ) {
            let seqs: Vec<u64> = if n == 0 {
                Vec::new()
            } else {
                picks.iter().map(|i| i.index(n as usize) as u64).collect()
            };
            let acked: Vec<u64> = (0..n).collect();
            let d = deliveries(n, &acked, &[]);
            let mut c = Checker::new(Some(RUN), Some(&d), BTreeSet::new());
            let mut expected_rereads = 0u64;
            for (o, &seq) in seqs.iter().enumerate() {
                c.observe(3, o as i64, Some(&value(RUN, 0, seq)));
                // Now and then the consumer seeks back and reads a few again.
                for (at, back) in &rereads {
                    if !seqs.is_empty() && at.index(seqs.len()) == o {
                        let from = o.saturating_sub(*back);
                        for (ro, &rs) in seqs.iter().enumerate().take(o + 1).skip(from) {
                            c.observe(3, ro as i64, Some(&value(RUN, 0, rs)));
                            expected_rereads += 1;
                        }
                    }
                }
            }
            let v = c.finish();
            let (distinct, dups, reorders, disp) = model(&seqs);
            prop_assert_eq!(v.records_read, seqs.len() as u64 + expected_rereads);
            prop_assert_eq!(v.redeliveries.count, expected_rereads);
            prop_assert_eq!(v.log_duplicates.count, dups);
            prop_assert_eq!(v.reorders.count, reorders);
            prop_assert_eq!(&v.reorder_displacement, &disp);
            prop_assert_eq!(v.losses.count, n - distinct);
            prop_assert_eq!(v.distinct(), distinct);
            prop_assert_eq!(
                v.records_read,
                distinct + v.log_duplicates.count + v.redeliveries.count + v.foreign + v.malformed
            );
        }

        #[test]
        fn arbitrary_input_never_panics_and_always_accounts(
            records in proptest::collection::vec(
                (-2i32..4, -3i64..40, arbitrary_value()), 0..200),
            run_mode in any::<bool>(),
        ) {
            let d = deliveries(10, &[0, 1, 2], &[3, 4]);
            let mut c = if run_mode {
                Checker::new(Some(RUN), Some(&d), BTreeSet::new())
            } else {
                Checker::new(None, None, BTreeSet::new())
            };
            for (p, o, v) in &records {
                c.observe(*p, *o, v.as_deref());
            }
            let v = c.finish();
            prop_assert_eq!(v.records_read, records.len() as u64);
            let counted = v.log_duplicates.count + v.redeliveries.count + v.foreign + v.malformed;
            prop_assert!(counted <= v.records_read);
            prop_assert!(v.reorders.count <= v.distinct());
            prop_assert!(v.possibly_persisted.count <= v.distinct());
            for a in [&v.reorders, &v.log_duplicates, &v.redeliveries, &v.losses, &v.gaps] {
                prop_assert!(a.examples.len() <= MAX_EXAMPLES);
                prop_assert!(a.examples.len() as u64 <= a.count);
            }
        }
    }
}
