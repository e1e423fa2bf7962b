//! The streaming checker: classifies every record as it is read and judges
//! the rest against the delivery reports at the end. Pure: no I/O, never
//! panics on strange input (see the [module documentation](super) for the
//! rules).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::attribution::{Attribution, Charge};
use super::keys::{KeyEvent, KeyTable, StreamRef};
use super::seqset::{SeqSet, NO_SLOT};
use super::verdict::PartitionCounts;
use super::verdict::{Anomalies, AnomalyKind, Displacement, Example, SeqRange, Verdict};
use super::verdict::{MAX_EXAMPLES, MAX_RANGES};
use crate::delivery::{Deliveries, StreamDeliveries};
use crate::faults::events::FaultEvent;
use crate::record::{self, Stamp};

/// Without delivery reports, sequences at or above this are counted as
/// malformed: no real stream reaches it, and it bounds a stream's bitmap.
pub const SEQ_CAP: u64 = 1 << 32;
/// Streams tracked at most; records that would open another one are counted
/// as malformed.
pub const MAX_STREAMS: usize = 1 << 14;
/// Distinct records remembered per stream (sequence and offset) to name the
/// first copy of a log duplicate. A power of two.
pub const RECENT: usize = 512;

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
    /// The partition its first record was read from.
    partition: Option<i32>,
    /// The delivery reports of this stream, in run mode with reports;
    /// shared by the checkers of a parallel read.
    deliveries: Option<Arc<StreamDeliveries>>,
}

impl StreamState {
    fn new(run_id: u64, id: u32, deliveries: Option<Arc<StreamDeliveries>>) -> StreamState {
        StreamState {
            run_id,
            id,
            limit: deliveries.as_ref().map_or(SEQ_CAP, |d| d.sent),
            seen: SeqSet::new(),
            max_seq: 0,
            distinct: 0,
            recent: Vec::new(),
            recent_pos: 0,
            partition: None,
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
#[derive(Debug, Clone)]
struct PartitionState {
    /// What the verdict reports per partition (missing and losses are
    /// added at the end).
    counts: PartitionCounts,
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
        counts: PartitionCounts {
            records_read: 0,
            reorders: 0,
            log_duplicates: 0,
            redeliveries: 0,
            malformed: 0,
            missing: 0,
            losses: 0,
        },
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
    keys: KeyTable,
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
    /// - `permitted`: the kinds the configuration allows (see [`permitted`](super::permitted)),
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
            keys: KeyTable::default(),
        };
        if let (Some(run), Some(deliveries)) = (run_id, deliveries) {
            checker.deliveries_known = true;
            for (i, d) in deliveries.streams.iter().enumerate() {
                let Ok(id) = u32::try_from(i) else { break };
                checker.stream_index.insert((run, id), i as u32);
                checker
                    .streams
                    .push(StreamState::new(run, id, Some(Arc::new(d.clone()))));
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

    /// An empty checker like this one (same run, delivery reports, permitted
    /// kinds and events) for another share of the partitions: a parallel
    /// read gives each reader its own and [`merge`](Checker::merge)s them.
    pub fn sibling(&self) -> Checker {
        Checker {
            run_id: self.run_id,
            deliveries_known: self.deliveries_known,
            streams: self
                .streams
                .iter()
                .filter(|s| s.deliveries.is_some())
                .map(|s| StreamState::new(s.run_id, s.id, s.deliveries.clone()))
                .collect(),
            stream_index: if self.deliveries_known {
                self.stream_index.clone()
            } else {
                HashMap::new()
            },
            attribution: self.attribution.sibling(),
            // Every count starts at zero, as in a new checker.
            ..Checker::new(None, None, self.permitted.clone())
        }
    }

    /// Adds what a [`sibling`](Checker::sibling) read from other partitions.
    ///
    /// Order is promised per partition, so each reader classifies its own
    /// partitions exactly as one reader would. What the merge adds: a
    /// (stream, sequence) that both read (a stream written to several
    /// partitions) is a log duplicate, with no partition or offset in its
    /// example; the partition each was read at is known only to its reader.
    pub fn merge(&mut self, other: Checker) {
        self.records_read += other.records_read;
        self.foreign += other.foreign;
        self.malformed += other.malformed;
        for (into, from) in [
            (&mut self.reorders, other.reorders),
            (&mut self.log_duplicates, other.log_duplicates),
            (&mut self.redeliveries, other.redeliveries),
            (&mut self.possibly_persisted, other.possibly_persisted),
        ] {
            into.count += from.count;
            let room = MAX_EXAMPLES.saturating_sub(into.examples.len());
            into.examples.extend(from.examples.into_iter().take(room));
        }
        self.displacement.max = self.displacement.max.max(other.displacement.max);
        self.displacement.sum = self.displacement.sum.saturating_add(other.displacement.sum);
        self.attribution.merge(other.attribution);
        let verify_mode = self.run_id.is_none();
        let mut stream_of = vec![NO_SLOT; other.streams.len()];
        for (j, theirs) in other.streams.into_iter().enumerate() {
            if theirs.distinct == 0 {
                continue;
            }
            let key = (theirs.run_id, theirs.id);
            let i = match self.stream_index.get(&key) {
                Some(&i) => i as usize,
                None => {
                    self.stream_index.insert(key, self.streams.len() as u32);
                    self.streams
                        .push(StreamState::new(key.0, key.1, theirs.deliveries.clone()));
                    self.streams.len() - 1
                }
            };
            stream_of[j] = i as u32;
            let mine = &mut self.streams[i];
            if mine.distinct > 0 {
                let common = mine.seen.common(&theirs.seen);
                if let Some(p) = theirs.partition {
                    self.partition_mut(p).counts.log_duplicates += common.len() as u64;
                }
                for seq in common {
                    push(&mut self.log_duplicates, || Example {
                        stream: key.1,
                        seq,
                        partition: None,
                        offset: None,
                        detail: None,
                        run_id: verify_mode.then_some(key.0),
                    });
                    self.attribution.charge(key.1, seq, Charge::LogDuplicate);
                }
            }
            let mine = &mut self.streams[i];
            let both = mine.seen.union(&theirs.seen);
            mine.max_seq = if mine.distinct > 0 {
                mine.max_seq.max(theirs.max_seq)
            } else {
                theirs.max_seq
            };
            mine.distinct = mine.distinct + theirs.distinct - both;
            mine.partition = mine.partition.or(theirs.partition);
        }
        self.keys.merge(other.keys, |j| {
            stream_of.get(j as usize).copied().unwrap_or(NO_SLOT)
        });
        let their_partitions = other
            .partitions
            .into_iter()
            .enumerate()
            .map(|(p, part)| (p as i32, part))
            .chain(other.other_partitions);
        for (p, part) in their_partitions {
            if !part.read && part.counts.records_read == 0 {
                continue;
            }
            let mine = self.partition_mut(p);
            let c = &mut mine.counts;
            c.records_read += part.counts.records_read;
            c.reorders += part.counts.reorders;
            c.log_duplicates += part.counts.log_duplicates;
            c.redeliveries += part.counts.redeliveries;
            c.malformed += part.counts.malformed;
            if part.read && (!mine.read || part.last_offset > mine.last_offset) {
                mine.read = true;
                mine.last_offset = part.last_offset;
            }
            // The other reader's stream indices mean nothing here.
            mine.cached_stream = NO_SLOT;
        }
    }

    /// Records observed so far.
    pub fn records_read(&self) -> u64 {
        self.records_read
    }

    /// Pages of the "seen" set of the `i`-th stream opened.
    #[cfg(test)]
    pub(super) fn pages_of(&self, i: usize) -> usize {
        self.streams[i].seen.pages()
    }

    /// Classifies one record read from the log, without a key. Never panics
    /// and, past the first record of a stream or page of 4096 sequences,
    /// never allocates.
    #[inline]
    pub fn observe(&mut self, partition: i32, offset: i64, value: Option<&[u8]>) {
        self.observe_keyed(partition, offset, None, value);
    }

    /// Classifies one record read from the log with its Kafka key (`None`
    /// for a null key): as [`observe`](Checker::observe), and for a keyed
    /// record of a checked stream also per key (see *Keys* in
    /// [`crate::record`]). A keyed record may allocate once per new key.
    #[inline]
    pub fn observe_keyed(
        &mut self,
        partition: i32,
        offset: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) {
        self.records_read += 1;
        let part = self.partition_mut(partition);
        part.counts.records_read += 1;
        let redelivered = part.read && offset <= part.last_offset;
        if !redelivered {
            part.read = true;
            part.last_offset = offset;
        }
        let (cached_key, cached_stream) = (part.cached_key, part.cached_stream);

        let not_checked = |c: &mut Checker| {
            if key.is_some() {
                c.keys.count_keyed();
            }
        };
        let Ok(stamp) = Stamp::read(value) else {
            self.malformed += 1;
            self.partition_mut(partition).counts.malformed += 1;
            not_checked(self);
            return;
        };
        if self.run_id.is_some_and(|r| r != stamp.run_id) {
            self.foreign += 1;
            not_checked(self);
            return;
        }
        let stream_key = (stamp.run_id, stamp.stream);
        let Some(index) =
            self.cached_stream_for(partition, stream_key, (cached_key, cached_stream))
        else {
            self.malformed += 1;
            self.partition_mut(partition).counts.malformed += 1;
            not_checked(self);
            return;
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
            self.partition_mut(partition).counts.malformed += 1;
            not_checked(self);
            return;
        }
        if stream.partition.is_none() {
            stream.partition = Some(partition);
        }
        let example = |detail: Option<i64>| Example {
            stream: stamp.stream,
            seq,
            partition: Some(partition),
            offset: Some(offset),
            detail,
            run_id: example_run,
        };
        let stream_ref = StreamRef {
            index,
            run_id: stamp.run_id,
            id: stamp.stream,
        };
        if redelivered {
            push(&mut self.redeliveries, || example(None));
            self.partition_mut(partition).counts.redeliveries += 1;
            not_checked(self);
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
            self.partition_mut(partition).counts.log_duplicates += 1;
            if let Some(k) = key {
                self.keys
                    .observe(stream_ref, partition, k, KeyEvent::Duplicate);
            }
            return;
        }
        if stream.distinct > 0 && seq < stream.max_seq {
            let d = stream.max_seq - seq;
            self.displacement.max = self.displacement.max.max(d);
            self.displacement.sum = self.displacement.sum.saturating_add(d);
            push(&mut self.reorders, || example(Some(d as i64)));
            if self.attribution.given {
                let overtaking = stream.seen.count_range(seq + 1, stream.max_seq);
                self.attribution.charge(
                    stamp.stream,
                    seq,
                    Charge::Reorder {
                        displacement: d,
                        overtaking,
                    },
                );
            }
            stream.distinct += 1;
            stream.remember(seq, offset);
            self.partition_mut(partition).counts.reorders += 1;
        } else {
            stream.max_seq = seq;
            stream.distinct += 1;
            stream.remember(seq, offset);
        }
        let stream = &self.streams[index as usize];
        if let Some(d) = &stream.deliveries {
            if d.failed.get(seq) {
                push(&mut self.possibly_persisted, || example(None));
            }
        }
        if let Some(k) = key {
            let key_seq = value.and_then(record::key_seq);
            self.keys.observe(
                stream_ref,
                partition,
                k,
                KeyEvent::Distinct { seq, key_seq },
            );
        }
    }

    /// The stream of `key`, from the partition's cache (`cached`: its key
    /// and stream) or by [`stream_for`](Checker::stream_for), which then
    /// refreshes the cache; `None` when the stream may not be opened.
    #[inline]
    fn cached_stream_for(
        &mut self,
        partition: i32,
        key: (u64, u32),
        cached: ((u64, u32), u32),
    ) -> Option<u32> {
        if cached.1 != NO_SLOT && cached.0 == key {
            return Some(cached.1);
        }
        let i = self.stream_for(key)?;
        let part = self.partition_mut(partition);
        part.cached_key = key;
        part.cached_stream = i;
        Some(i)
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
        let mut per_partition: BTreeMap<i32, PartitionCounts> = BTreeMap::new();
        for s in &self.streams {
            let before = (missing.count, losses.count);
            let example_run = verify_mode.then_some(s.run_id);
            let sent = s.deliveries.as_ref().map_or(0, |d| d.sent);
            if sent > 0 || s.distinct > 0 {
                streams = streams.saturating_add(1);
            }
            match &s.deliveries {
                Some(d) => s.judge_reports(
                    d,
                    example_run,
                    &mut self.attribution,
                    &mut losses,
                    &mut gaps,
                ),
                // Without reports: what is absent below the highest read.
                None if s.distinct > 0 && !self.deliveries_known => s.find_missing(
                    example_run,
                    &mut self.attribution,
                    &mut missing,
                    &mut missing_ranges,
                ),
                None => {}
            }
            if let Some(p) = s.partition {
                let c = per_partition.entry(p).or_default();
                c.missing += missing.count - before.0;
                c.losses += losses.count - before.1;
            }
        }
        let read = self
            .partitions
            .iter()
            .enumerate()
            .map(|(p, part)| (p as i32, part))
            .chain(self.other_partitions.iter().map(|(&p, part)| (p, part)))
            .filter(|(_, part)| part.counts.records_read > 0);
        for (p, part) in read {
            let c = per_partition.entry(p).or_default();
            let (missing, losses) = (c.missing, c.losses);
            *c = PartitionCounts {
                missing,
                losses,
                ..part.counts.clone()
            };
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
            event_outcomes: self.attribution.take_outcomes(),
            unattributed_violations: self.attribution.unattributed,
            partitions: per_partition,
            keys: self.keys.finish(verify_mode),
        }
    }
}

impl StreamState {
    /// An example of a record of this stream that is not in the log.
    fn absent(&self, seq: u64, run_id: Option<u64>) -> Example {
        Example {
            stream: self.id,
            seq,
            partition: None,
            offset: None,
            detail: None,
            run_id,
        }
    }

    /// Without delivery reports: counts the sequences absent below the
    /// highest one read, keeps the first as examples and runs of them as
    /// ranges, and charges each to its event.
    fn find_missing(
        &self,
        run_id: Option<u64>,
        attribution: &mut Attribution,
        missing: &mut Anomalies,
        ranges: &mut Vec<SeqRange>,
    ) {
        let attributing = attribution.given;
        let mut run: Option<(u64, u64)> = None;
        let close = |run: &mut Option<(u64, u64)>, ranges: &mut Vec<SeqRange>| {
            if let Some((first, last)) = run.take() {
                if ranges.len() < MAX_RANGES {
                    ranges.push(SeqRange {
                        stream: self.id,
                        first_seq: first,
                        last_seq: last,
                        run_id,
                    });
                }
            }
        };
        for w in 0..=self.max_seq / 64 {
            let valid = if w == self.max_seq / 64 {
                // Bits up to and including max_seq (which is seen).
                let top = self.max_seq % 64;
                if top == 63 {
                    u64::MAX
                } else {
                    (1u64 << (top + 1)) - 1
                }
            } else {
                u64::MAX
            };
            let bits = !self.seen.word(w) & valid;
            if bits == 0 {
                close(&mut run, ranges);
                continue;
            }
            missing.count += u64::from(bits.count_ones());
            let base = w * 64;
            if bits == u64::MAX && !attributing && missing.examples.len() >= MAX_EXAMPLES {
                match &mut run {
                    Some((_, last)) if *last + 1 == base => *last = base + 63,
                    _ => {
                        close(&mut run, ranges);
                        run = Some((base, base + 63));
                    }
                }
                continue;
            }
            for b in 0..64 {
                let seq = base + b;
                if bits & (1 << b) == 0 {
                    close(&mut run, ranges);
                    continue;
                }
                if missing.examples.len() < MAX_EXAMPLES {
                    missing.examples.push(self.absent(seq, run_id));
                }
                attribution.charge(self.id, seq, Charge::Missing);
                match &mut run {
                    Some((_, last)) if *last + 1 == seq => *last = seq,
                    _ => {
                        close(&mut run, ranges);
                        run = Some((seq, seq));
                    }
                }
            }
        }
        close(&mut run, ranges);
    }

    /// With delivery reports: counts what was reported delivered but is not
    /// in the log (losses, charged to their events) and what was reported
    /// failed and is not (gaps).
    fn judge_reports(
        &self,
        d: &StreamDeliveries,
        run_id: Option<u64>,
        attribution: &mut Attribution,
        losses: &mut Anomalies,
        gaps: &mut Anomalies,
    ) {
        let attributing = attribution.given;
        let sent = d.sent;
        for w in 0..sent.div_ceil(64) {
            let tail = sent - w * 64;
            let valid = if tail >= 64 {
                u64::MAX
            } else {
                (1u64 << tail) - 1
            };
            let seen = self.seen.word(w);
            let acked = d.acked.word(w) & valid;
            let failed = d.failed.word(w) & valid;
            for (bits, into, is_loss) in [
                (acked & !seen, &mut *losses, true),
                (failed & !seen, &mut *gaps, false),
            ] {
                into.count += u64::from(bits.count_ones());
                let mut rest = bits;
                while rest != 0 && (into.examples.len() < MAX_EXAMPLES || (is_loss && attributing))
                {
                    let seq = w * 64 + u64::from(rest.trailing_zeros());
                    rest &= rest - 1;
                    if into.examples.len() < MAX_EXAMPLES {
                        into.examples.push(self.absent(seq, run_id));
                    }
                    if is_loss {
                        attribution.charge(self.id, seq, Charge::Loss);
                    }
                }
            }
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
