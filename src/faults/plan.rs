//! The seeded fault schedule: which Produce request gets which fault.
//!
//! A [`FaultPlan`] fires **by record**: from (seed, stream, sequence) it
//! draws whether a record is a *trigger*, and the proxy faults the Produce
//! request that carries a trigger record for the first time. Two runs of the
//! same seed and workload therefore fault the same records whatever the
//! batching and the timing (same seed + same workload = the same exposure),
//! and every cell of a grid is faulted at the same records. (An earlier
//! rule, kept as [`FaultPlan::by_request`] for librdkafka's mock cluster,
//! whose error stack is indexed by request, numbered Produce requests; how
//! many records a request held, and so which records a fault hit, then
//! depended on the client's batching. A still earlier timer-driven prototype
//! kept hitting the retries of the same batch and stalled the producer.)
//!
//! # The rule (record-triggered plans, [`FaultPlan::new`])
//!
//! 1. Records with sequence below `warmup` (default [`DEFAULT_WARMUP`] full
//!    batches, i.e. `10 × records_per_batch`) are never triggers, so every
//!    stream starts with a few clean batches (connections, metadata and the
//!    idempotent producer id are settled before the first fault).
//! 2. Every later record draws `u` in `0..1_000_000 × records_per_batch`
//!    from a hash of (seed, stream, sequence) (SplitMix64: stable across
//!    platforms and crate versions). The profile's proxy kinds are laid out
//!    one after the other on that range, each as wide as its rate in parts
//!    per million, in profile order: with 15 records per batch,
//!    `reject:1%+lose-ack:2%` makes a record a `reject` trigger for
//!    `u < 10_000` and a `lose-ack` trigger for `10_000 <= u < 30_000`, so
//!    a record triggers with probability rate / `records_per_batch`, and a
//!    full batch (`records_per_batch` records) with about the profile's rate:
//!    `reject:1%` still means about 1% of Produce requests at full batches.
//!    Rates adding up past 100% are cut at 100% of records.
//! 3. The proxy keeps, per (topic, stream), the highest sequence it has seen
//!    in any Produce request ([`TriggerState`]). A request is faulted when
//!    one of its batches holds the first transmission of a trigger record,
//!    with the kind of the first such trigger (in request order), and **only when it carries
//!    no record already seen** (a retry): a retried batch is never attacked,
//!    neither by its own trigger (it is no longer a first transmission) nor
//!    by a trigger of a new batch riding in the same request. Why: a
//!    faulted batch is retried soon after; faulting the retry again would
//!    attack the same batch again and again (the stall above) and exhaust
//!    its retries, turning reorders into gaps. Several triggers in one
//!    request make one fault.
//!
//! # Counts per cell (`N/cell`, [`FaultPlan::with_cell`])
//!
//! A rate starves slow cells: in-flight 1 at RTT 20 ms sends a few
//! thousand records, and `reject:5%` met it 14 times. A kind written with a
//! count (`reject:25/cell`) gets that many trigger records per cell instead,
//! placed on the cell's records by stratified sampling:
//!
//! 1. The cell's records are numbered globally in send order, `g = seq ×
//!    streams + stream` (the runner sends round-robin over the streams).
//!    The faultable range is from the warm-up (rule 1, on every stream) to
//!    the cell's last full batch per stream, excluded.
//! 2. That range is cut into `N` equal strata; event `k` of the kind is the
//!    record at a seeded offset inside stratum `k` (drawn from seed, the
//!    kind's place in the profile and `k`), at least a batch of every
//!    stream before the next stratum, so two events never share a batch
//!    unless the strata are smaller than one.
//! 3. A count trigger that cannot fire when it is first transmitted (its
//!    request also carries a retry, another trigger fired on the same
//!    request, or a lasting fault is in force) is **kept**: the next
//!    request that carries fresh records and no retry is faulted with it
//!    ([`TriggerState`] holds these in order). So a cell meets its `N`
//!    events as long as records keep coming, whatever its batching and
//!    speed. (A rate trigger that cannot fire is dropped, as before.)
//!
//! The placement is a pure function of (profile, seed, records per batch,
//! the cell's records and streams): every client and run of the same cell
//! meets the same faults on the same records, and cells of other sizes meet
//! event `k` at the same fraction of their run. Where a record is both a
//! count trigger and a rate trigger, the count trigger wins.
//!
//! Records the proxy cannot read (compressed batches, values without the
//! stamped header) carry no trigger. `failover` is not a per-request fault:
//! the plan ignores it (the failover controller acts on it).
//!
//! # The request-indexed rule ([`FaultPlan::by_request`])
//!
//! Kept for librdkafka's mock cluster ([`super::mock`]) and for tests of the
//! proxy's mechanics with unstamped records: Produce requests are numbered
//! 0, 1, 2, …; requests `0..warmup` (default [`DEFAULT_WARMUP`]) are never
//! faulted; every later index draws `u` in `0..1_000_000` from (seed, index)
//! and the kinds are laid out as above; and two consecutive requests are
//! never both faulted (a hit is faulted when the request before it was a
//! miss; inside a run of consecutive hits, a later hit is faulted when its
//! index is even and the two requests before it were both hits).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Range;

pub use super::action::{
    FaultAction, LoseAckMode, NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT,
};
use super::frame::PartitionRecords;
use super::profile::{Amount, FaultKind, FaultProfile};
use super::splitmix64;

/// Requests (request plans), or full batches per stream (record plans),
/// left alone at the start of every cell.
pub const DEFAULT_WARMUP: u64 = 10;

/// What a plan's decisions are keyed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Trigger records; see the module's rule. `records_per_batch` scales
    /// the per-record probability.
    Records { records_per_batch: u64 },
    /// Produce request indices (the mock cluster's rule).
    Requests,
}

/// A deterministic fault schedule; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultPlan {
    profile: FaultProfile,
    seed: u64,
    trigger: Trigger,
    /// Records (record plans) or requests (request plans) left alone.
    warmup: u64,
    reject_error: i16,
    lose_ack: LoseAckMode,
    /// (upper bound of the kind's slice of the draw's range, kind), in
    /// profile order: the rate kinds.
    slices: Vec<(u64, FaultKind)>,
    /// (kind, events per cell), in profile order: the count kinds.
    counted: Vec<(FaultKind, u32)>,
    /// The cell the count kinds are spread over; None: they never fire.
    cell: Option<CellSize>,
}

/// A cell's records, as the count kinds need them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CellSize {
    /// Records over all streams.
    records: u64,
    /// Streams (partitions), sent round-robin.
    streams: u32,
    /// Where events may lie, as ranges of global record numbers (`g`), in
    /// send order; `None`: the whole faultable range (rule 1 of counts).
    spans: Option<Vec<Range<u64>>>,
}

/// The highest sequence seen per (topic, stream): the state the proxy keeps
/// for a record-triggered plan. See rule 3.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TriggerState {
    highest: HashMap<(String, u32), u64>,
    /// Count triggers kept for the next fresh request (rule 3 of counts).
    pending: VecDeque<FaultAction>,
}

impl TriggerState {
    /// The highest sequence seen on `stream` of `topic`, if any.
    pub fn highest(&self, topic: &str, stream: u32) -> Option<u64> {
        self.highest.get(&(topic.to_string(), stream)).copied()
    }

    /// Count triggers still waiting for a request they can fault.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

impl FaultPlan {
    /// The record-triggered schedule of `profile` under `seed`, for batches
    /// of about `records_per_batch` records (see
    /// [`crate::grid::Fixed::records_per_batch`]),
    /// with the default warm-up (10 full batches per stream) and error codes.
    /// Count kinds (`N/cell`) fire only once the cell is known
    /// ([`with_cell`](FaultPlan::with_cell)).
    pub fn new(profile: &FaultProfile, seed: u64, records_per_batch: u64) -> FaultPlan {
        let rpb = records_per_batch.max(1);
        FaultPlan::build(
            profile,
            seed,
            Trigger::Records {
                records_per_batch: rpb,
            },
            DEFAULT_WARMUP * rpb,
        )
    }

    /// The request-indexed schedule (the mock cluster's rule; see the
    /// module documentation), with the default warm-up and error codes.
    pub fn by_request(profile: &FaultProfile, seed: u64) -> FaultPlan {
        FaultPlan::build(profile, seed, Trigger::Requests, DEFAULT_WARMUP)
    }

    fn build(profile: &FaultProfile, seed: u64, trigger: Trigger, warmup: u64) -> FaultPlan {
        let scale = match trigger {
            Trigger::Records { records_per_batch } => records_per_batch,
            Trigger::Requests => 1,
        };
        let range = 1_000_000 * scale;
        let mut slices = Vec::new();
        let mut counted = Vec::new();
        let mut upper: u64 = 0;
        for kind in profile.kinds() {
            match kind.amount() {
                Some(Amount::Rate { ppm }) => {
                    upper = upper.saturating_add(u64::from(ppm)).min(range);
                    slices.push((upper, *kind));
                }
                // The request-indexed rule has no cell to spread a count over.
                Some(Amount::PerCell { events }) if trigger != Trigger::Requests => {
                    counted.push((*kind, events));
                }
                _ => {}
            }
        }
        FaultPlan {
            profile: profile.clone(),
            seed,
            trigger,
            warmup,
            reject_error: NOT_ENOUGH_REPLICAS,
            lose_ack: LoseAckMode::default(),
            slices,
            counted,
            cell: None,
        }
    }

    /// Spreads the count kinds (`N/cell`) over a cell of `records` records
    /// (all streams) sent round-robin over `streams` streams: see the
    /// module's rules for counts. Rate kinds are unaffected.
    pub fn with_cell(mut self, records: u64, streams: u32) -> FaultPlan {
        self.cell = Some(CellSize {
            records,
            streams: streams.max(1),
            spans: None,
        });
        self
    }

    /// [`with_cell`](FaultPlan::with_cell), with the count kinds' events
    /// placed only on the records of `spans` (global record numbers `g`, in
    /// send order, e.g. a cell's timed windows): the strata are cut over
    /// the spans laid end to end, so spans of equal length get the same
    /// number of events whenever the count is a multiple of the spans.
    pub fn with_cell_spans(
        mut self,
        records: u64,
        streams: u32,
        spans: Vec<Range<u64>>,
    ) -> FaultPlan {
        self.cell = Some(CellSize {
            records,
            streams: streams.max(1),
            spans: Some(spans),
        });
        self
    }

    /// The plan that never faults anything.
    pub fn none() -> FaultPlan {
        FaultPlan::by_request(&FaultProfile::None, 0)
    }

    /// Leave the first `warmup` records of every stream (record plans) or
    /// the first `warmup` requests (request plans) alone.
    pub fn with_warmup(mut self, warmup: u64) -> FaultPlan {
        self.warmup = warmup;
        self
    }

    /// The error code `reject` answers with (default NOT_ENOUGH_REPLICAS, 19;
    /// NOT_LEADER_OR_FOLLOWER, 6, also makes librdkafka refresh metadata).
    pub fn with_reject_error(mut self, error_code: i16) -> FaultPlan {
        self.reject_error = error_code;
        self
    }

    /// What `lose-ack` does (default: NOT_ENOUGH_REPLICAS_AFTER_APPEND, 20).
    pub fn with_lose_ack(mut self, mode: LoseAckMode) -> FaultPlan {
        self.lose_ack = mode;
        self
    }

    /// The profile this plan schedules.
    pub fn profile(&self) -> &FaultProfile {
        &self.profile
    }

    /// The seed this plan was built with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// What the plan's decisions are keyed on.
    pub fn trigger_kind(&self) -> Trigger {
        self.trigger
    }

    /// How many records per stream (record plans) or requests (request
    /// plans) at the start are never faulted.
    pub fn warmup(&self) -> u64 {
        self.warmup
    }

    /// True when no request is ever faulted.
    pub fn is_empty(&self) -> bool {
        self.slices.is_empty() && (self.counted.is_empty() || self.cell.is_none())
    }

    /// The same profile, seed, error codes and warm-up count under the
    /// request-indexed rule (what the mock cluster can express).
    pub fn as_by_request(&self) -> FaultPlan {
        let mut p = FaultPlan::build(&self.profile, self.seed, Trigger::Requests, DEFAULT_WARMUP);
        p.reject_error = self.reject_error;
        p.lose_ack = self.lose_ack;
        if self.trigger == Trigger::Requests {
            p.warmup = self.warmup;
        }
        p
    }

    /// Request-indexed plans: the fault for the Produce request numbered
    /// `index` (from 0), if any. Record-triggered plans decide with
    /// [`decide_request`](FaultPlan::decide_request) and answer `None` here.
    pub fn decide(&self, index: u64) -> Option<FaultAction> {
        if self.trigger != Trigger::Requests {
            return None;
        }
        let kind = self.draw(index)?;
        let hit = |i: Option<u64>| i.is_some_and(|i| self.draw(i).is_some());
        let previous_hit = hit(index.checked_sub(1));
        if previous_hit && !(index % 2 == 0 && hit(index.checked_sub(2))) {
            return None;
        }
        Some(self.action(kind))
    }

    /// Record-triggered plans: the fault whose trigger is record `seq` of
    /// `stream`, if any (rules 1 and 2). `None` for request plans.
    pub fn trigger(&self, stream: u32, seq: u64) -> Option<FaultAction> {
        self.trigger_of(stream, seq).map(|(a, _)| a)
    }

    /// [`trigger`](FaultPlan::trigger), and whether it is a count trigger
    /// (kept until it can fire).
    fn trigger_of(&self, stream: u32, seq: u64) -> Option<(FaultAction, bool)> {
        let Trigger::Records { records_per_batch } = self.trigger else {
            return None;
        };
        if seq < self.warmup {
            return None;
        }
        if let Some(kind) = self.count_trigger(stream, seq) {
            return Some((self.action(kind), true));
        }
        if self.slices.is_empty() {
            return None;
        }
        let h = splitmix64(splitmix64(self.seed ^ splitmix64(seq)) ^ u64::from(stream));
        let u = h % (1_000_000 * records_per_batch);
        self.slices
            .iter()
            .find(|(upper, _)| u < *upper)
            .map(|(_, kind)| (self.action(*kind), false))
    }

    /// The count kind whose event lies on record `seq` of `stream`, if any
    /// (the module's rules for counts).
    fn count_trigger(&self, stream: u32, seq: u64) -> Option<FaultKind> {
        let (Some(cell), Trigger::Records { records_per_batch }) = (&self.cell, self.trigger)
        else {
            return None;
        };
        let streams = u64::from(cell.streams);
        if self.counted.is_empty() || u64::from(stream) >= streams {
            return None;
        }
        let g = seq.checked_mul(streams)?.checked_add(u64::from(stream))?;
        let stride = records_per_batch.saturating_mul(streams);
        let lo = self.warmup.saturating_mul(streams);
        let hi = cell.records.saturating_sub(stride);
        if g < lo || g >= hi {
            return None;
        }
        // The faultable records laid end to end: `v` is g's place among them.
        let whole = lo..hi;
        let whole = std::slice::from_ref(&whole);
        let clipped = cell
            .spans
            .as_deref()
            .unwrap_or(whole)
            .iter()
            .map(|r| r.start.max(lo)..r.end.min(hi))
            .filter(|r| r.start < r.end);
        let mut v = None;
        let mut len = 0;
        for r in clipped {
            if r.contains(&g) {
                v = Some(len + (g - r.start));
            }
            len += r.end - r.start;
        }
        let v = v?;
        let start = |k: u64, n: u64| ((u128::from(k) * u128::from(len)) / u128::from(n)) as u64;
        for (i, &(kind, events)) in self.counted.iter().enumerate() {
            let n = u64::from(events).min(len);
            // The stratum holding v: the last k whose start is at most v.
            let mut k = ((u128::from(v) * u128::from(n)) / u128::from(len)) as u64;
            while k + 1 < n && start(k + 1, n) <= v {
                k += 1;
            }
            while k > 0 && start(k, n) > v {
                k -= 1;
            }
            let (from, to) = (start(k, n), start(k + 1, n));
            let room = (to - from).saturating_sub(stride).max(1);
            let h = splitmix64(splitmix64(self.seed ^ splitmix64(k)) ^ ((i as u64 + 1) << 32));
            if from + h % room == v {
                return Some(kind);
            }
        }
        None
    }

    /// The fault for one Produce request: request `index` (from 0) carrying
    /// `parts`, with `state` the proxy's memory of sequences already seen
    /// and of count triggers kept (updated here). A pure function of its
    /// arguments: the proxy's whole decision, testable without a network.
    /// Request plans ignore `parts` for the decision (but still update
    /// `state`).
    pub fn decide_request(
        &self,
        state: &mut TriggerState,
        index: u64,
        parts: &[PartitionRecords],
    ) -> Option<FaultAction> {
        self.decide_request_in(state, index, parts, false)
    }

    /// [`decide_request`](FaultPlan::decide_request) for a request a
    /// lasting fault already answers when `held` (a refusal window or a
    /// leader move is in force): nothing fires, the sequences are
    /// remembered, and count triggers are kept for later.
    pub fn decide_request_in(
        &self,
        state: &mut TriggerState,
        index: u64,
        parts: &[PartitionRecords],
        held: bool,
    ) -> Option<FaultAction> {
        let mut retry = false;
        let mut fresh = false;
        let mut first: Option<(FaultAction, bool)> = None;
        let mut kept: Vec<FaultAction> = Vec::new();
        for part in parts {
            for span in &part.spans {
                let key = (part.topic.clone(), span.stream);
                let highest = state.highest.get(&key).copied();
                if highest.is_some_and(|h| span.first_seq <= h) {
                    retry = true;
                }
                let from = highest.map_or(span.first_seq, |h| span.first_seq.max(h + 1));
                fresh |= from <= span.last_seq;
                if self.trigger != Trigger::Requests {
                    for seq in from..=span.last_seq {
                        match (self.trigger_of(span.stream, seq), first) {
                            (None, _) => {}
                            (Some(t), None) => first = Some(t),
                            (Some((a, true)), Some(_)) => kept.push(a),
                            (Some((_, false)), Some(_)) => {}
                        }
                    }
                }
                let top = highest.map_or(span.last_seq, |h| h.max(span.last_seq));
                state.highest.insert(key, top);
            }
        }
        if self.trigger == Trigger::Requests {
            return if held { None } else { self.decide(index) };
        }
        if retry || held {
            if let Some((a, true)) = first {
                state.pending.push_back(a);
            }
            state.pending.extend(kept);
            return None;
        }
        state.pending.extend(kept);
        match first {
            Some((a, _)) => Some(a),
            None if fresh => state.pending.pop_front(),
            None => None,
        }
    }

    /// Request plans: every fault injected at the indices in `range`, in
    /// order. Record plans: every trigger among sequences `range` of stream
    /// 0, as (sequence, action).
    pub fn schedule(&self, range: Range<u64>) -> Vec<(u64, FaultAction)> {
        match self.trigger {
            Trigger::Requests => range
                .filter_map(|i| self.decide(i).map(|a| (i, a)))
                .collect(),
            Trigger::Records { .. } => self.triggers(0, range),
        }
    }

    /// Record plans: the trigger records among sequences `range` of
    /// `stream`, as (sequence, action).
    pub fn triggers(&self, stream: u32, range: Range<u64>) -> Vec<(u64, FaultAction)> {
        range
            .filter_map(|q| self.trigger(stream, q).map(|a| (q, a)))
            .collect()
    }

    /// How many faults of each kind [`schedule`](FaultPlan::schedule) holds
    /// over `range`.
    pub fn counts(&self, range: Range<u64>) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for (_, action) in self.schedule(range) {
            *counts.entry(action.name().to_string()).or_insert(0) += 1;
        }
        counts
    }

    /// Request plans: the kind whose slice the index's draw falls in,
    /// before the consecutive-request rule.
    fn draw(&self, index: u64) -> Option<FaultKind> {
        if index < self.warmup || self.slices.is_empty() {
            return None;
        }
        let u = splitmix64(self.seed ^ splitmix64(index)) % 1_000_000;
        self.slices
            .iter()
            .find(|(upper, _)| u < *upper)
            .map(|(_, kind)| *kind)
    }

    fn action(&self, kind: FaultKind) -> FaultAction {
        match kind {
            FaultKind::Reject { .. } => FaultAction::Reject {
                error_code: self.reject_error,
            },
            FaultKind::LoseAck { .. } => FaultAction::LoseAck {
                mode: self.lose_ack,
            },
            FaultKind::Delay { ms, .. } => FaultAction::Delay { ms },
            FaultKind::Reset { .. } => FaultAction::Reset,
            FaultKind::RefuseWindow { ms, .. } => FaultAction::RefuseWindow {
                ms,
                error_code: NOT_ENOUGH_REPLICAS,
            },
            FaultKind::TimeoutAfterAppend { ms, .. } => FaultAction::TimeoutAfterAppend {
                ms,
                error_code: REQUEST_TIMED_OUT,
            },
            FaultKind::LeaderMove { ms, .. } => FaultAction::LeaderMove { ms },
            FaultKind::Failover => unreachable!("failover has no slice"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::events::RecordSpan;

    fn plan(text: &str, seed: u64) -> FaultPlan {
        FaultPlan::by_request(&text.parse().unwrap(), seed)
    }

    fn rplan(text: &str, seed: u64, rpb: u64) -> FaultPlan {
        FaultPlan::new(&text.parse().unwrap(), seed, rpb)
    }

    fn part(topic: &str, stream: u32, first_seq: u64, last_seq: u64) -> PartitionRecords {
        PartitionRecords {
            topic: topic.into(),
            partition: stream as i32,
            spans: vec![RecordSpan {
                stream,
                first_seq,
                last_seq,
            }],
        }
    }

    /// Drives a record plan with batches of `rpb` records of one stream,
    /// in order, never retried: the faulted batches' first sequences.
    fn faulted_batches(p: &FaultPlan, rpb: u64, batches: u64) -> Vec<u64> {
        let mut state = TriggerState::default();
        (0..batches)
            .filter(|&b| {
                let parts = [part("t", 0, b * rpb, b * rpb + rpb - 1)];
                p.decide_request(&mut state, b, &parts).is_some()
            })
            .map(|b| b * rpb)
            .collect()
    }

    #[test]
    fn none_and_failover_never_fault() {
        for p in [plan("none", 1), plan("failover", 1)] {
            assert!(p.is_empty());
            assert!(p.schedule(0..100_000).is_empty());
        }
    }

    #[test]
    fn same_seed_same_schedule_other_seed_other_schedule() {
        let a = plan("reject:1%+lose-ack:1%", 42).schedule(0..100_000);
        let b = plan("reject:1%+lose-ack:1%", 42).schedule(0..100_000);
        let c = plan("reject:1%+lose-ack:1%", 43).schedule(0..100_000);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn decisions_do_not_depend_on_call_order() {
        let p = plan("reject:30%", 7);
        let forward: Vec<_> = (0..2000).map(|i| p.decide(i)).collect();
        let backward: Vec<_> = (0..2000).rev().map(|i| p.decide(i)).collect();
        assert!(forward.iter().eq(backward.iter().rev()));
    }

    #[test]
    fn warmup_is_left_alone() {
        let p = plan("reject:100%", 1);
        assert!((0..DEFAULT_WARMUP).all(|i| p.decide(i).is_none()));
        assert!(p.decide(DEFAULT_WARMUP).is_some());
        let p = p.with_warmup(0);
        assert!(p.decide(0).is_some());
    }

    #[test]
    fn never_two_consecutive_faults() {
        for text in ["reject:100%", "reject:50%", "reset:20%+delay:20%:5ms"] {
            let s = plan(text, 9).schedule(0..50_000);
            assert!(!s.is_empty());
            assert!(s.windows(2).all(|w| w[1].0 > w[0].0 + 1), "{text}");
        }
        // At 100% exactly every other request after the warm-up is faulted.
        let s = plan("reject:100%", 9).schedule(0..30);
        let idx: Vec<u64> = s.iter().map(|(i, _)| *i).collect();
        assert_eq!(idx, vec![10, 12, 14, 16, 18, 20, 22, 24, 26, 28]);
    }

    #[test]
    fn rates_and_mixes_come_out_as_asked() {
        let n = 1_000_000;
        let counts = plan("reject:1%+lose-ack:2%+delay:0.5%:100ms", 5).counts(0..n);
        let rate = |k: &str| counts[k] as f64 / n as f64;
        // Rule 3 takes about rate × total rate (3.5%) off each kind.
        assert!((rate("reject") - 0.01).abs() < 0.001, "{counts:?}");
        assert!((rate("lose-ack") - 0.02).abs() < 0.0015, "{counts:?}");
        assert!((rate("delay") - 0.005).abs() < 0.0007, "{counts:?}");
        assert!(!counts.contains_key("reset"));
    }

    #[test]
    fn actions_carry_codes_and_parameters() {
        let p = plan("reject:100%", 1).with_warmup(0).with_reject_error(6);
        assert_eq!(p.decide(0), Some(FaultAction::Reject { error_code: 6 }));
        let p = plan("lose-ack:100%", 1).with_warmup(0);
        assert_eq!(
            p.decide(0),
            Some(FaultAction::LoseAck {
                mode: LoseAckMode::Error(NOT_ENOUGH_REPLICAS_AFTER_APPEND)
            })
        );
        let p = p.with_lose_ack(LoseAckMode::DropAndReset);
        assert_eq!(p.decide(0).unwrap().name(), "lose-ack");
        let p = plan("delay:100%:250ms", 1).with_warmup(0);
        assert_eq!(p.decide(0), Some(FaultAction::Delay { ms: 250 }));
    }

    #[test]
    fn schedule_is_pinned() {
        // A change to the mixer or the rule changes every published schedule;
        // this test makes that a deliberate act.
        let idx: Vec<u64> = plan("reject:1%", 1)
            .schedule(0..2000)
            .iter()
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(idx, PINNED);
    }

    #[test]
    fn record_triggers_fault_first_transmissions_whatever_the_batching() {
        let p = rplan("reject:5%+lose-ack:5%", 42, 15);
        let n = 20_000u64;
        let triggers: Vec<u64> = p.triggers(0, 0..n).iter().map(|(q, _)| *q).collect();
        assert!(triggers.len() > 50, "{}", triggers.len());
        assert!(
            triggers.iter().all(|&q| q >= 150),
            "10 full batches are left alone"
        );
        // Batches of 15, and batches of 1..=31 records: every trigger lies
        // in a faulted request, and every faulted request holds a trigger.
        for sizes in [vec![15u64], (1..=31).collect::<Vec<_>>()] {
            let mut state = TriggerState::default();
            let (mut at, mut i, mut faulted) = (0u64, 0usize, Vec::new());
            while at < n {
                let len = sizes[i % sizes.len()].min(n - at);
                let parts = [part("t", 0, at, at + len - 1)];
                if let Some(a) = p.decide_request(&mut state, i as u64, &parts) {
                    let first = triggers.iter().find(|&&q| q >= at && q < at + len);
                    let first = first.expect("a faulted request holds a trigger");
                    assert_eq!(p.trigger(0, *first), Some(a));
                    faulted.push((at, at + len));
                }
                at += len;
                i += 1;
            }
            for q in &triggers {
                assert!(faulted.iter().any(|&(a, b)| a <= *q && *q < b), "{q}");
            }
            assert_eq!(state.highest("t", 0), Some(n - 1));
        }
    }

    #[test]
    fn retries_are_never_faulted() {
        let p = rplan("reject:100%", 1, 1).with_warmup(0);
        let mut state = TriggerState::default();
        let batch = [part("t", 0, 0, 14)];
        assert!(p.decide_request(&mut state, 0, &batch).is_some());
        assert_eq!(p.decide_request(&mut state, 1, &batch), None, "its retry");
        // A retry riding with a new batch of another stream: left alone too.
        let mixed = [part("t", 0, 0, 14), part("t", 1, 0, 14)];
        assert_eq!(p.decide_request(&mut state, 2, &mixed), None);
        // New records again: faulted; the same stream of another topic is
        // another stream.
        assert!(p
            .decide_request(&mut state, 3, &[part("t", 0, 15, 29)])
            .is_some());
        assert!(p
            .decide_request(&mut state, 4, &[part("u", 0, 0, 14)])
            .is_some());
        // Nothing stamped: nothing to trigger on.
        let empty = [PartitionRecords {
            topic: "t".into(),
            partition: 0,
            spans: vec![],
        }];
        assert_eq!(p.decide_request(&mut state, 5, &empty), None);
    }

    #[test]
    fn record_rates_mean_about_the_rate_of_full_batches() {
        let rpb = 15;
        let p = rplan("reject:1%", 5, rpb);
        let batches = 200_000;
        let faulted = faulted_batches(&p, rpb, batches).len() as f64;
        // 1 - (1 - 0.01/15)^15 = 0.9953% of batches (sd about 0.022%).
        let rate = faulted / (batches - DEFAULT_WARMUP) as f64;
        assert!((rate - 0.009953).abs() < 0.001, "{rate}");
        // The same seed gives the same faulted batches; another does not.
        assert_eq!(
            faulted_batches(&p, rpb, 5_000),
            faulted_batches(&rplan("reject:1%", 5, rpb), rpb, 5_000)
        );
        assert_ne!(
            faulted_batches(&p, rpb, 5_000),
            faulted_batches(&rplan("reject:1%", 6, rpb), rpb, 5_000)
        );
    }

    #[test]
    fn record_plans_do_not_answer_by_index_and_convert_for_the_mock() {
        let p = rplan("reject:100%", 1, 15);
        assert_eq!(p.decide(20), None);
        let q = p.as_by_request();
        assert_eq!(q.trigger_kind(), Trigger::Requests);
        assert_eq!(q.schedule(0..14), plan("reject:100%", 1).schedule(0..14));
        assert_eq!(rplan("none", 1, 15).schedule(0..100_000), vec![]);
    }

    #[test]
    fn record_triggers_are_pinned() {
        let q: Vec<u64> = rplan("reject:1%", 1, 15)
            .triggers(0, 0..30_000)
            .iter()
            .map(|(q, _)| *q)
            .collect();
        assert_eq!(q, PINNED_TRIGGERS);
    }

    fn cplan(text: &str, seed: u64, rpb: u64, records: u64, streams: u32) -> FaultPlan {
        rplan(text, seed, rpb).with_cell(records, streams)
    }

    #[test]
    fn counts_per_cell_place_exactly_n_triggers_a_batch_apart() {
        // The slow cell of issue 22: in-flight 1 at RTT 20 ms sends about
        // 3700 records; reject:5% met it 14 times.
        let (rpb, records) = (16, 3_700);
        let p = cplan("reject:25/cell", 42, rpb, records, 1);
        let q: Vec<u64> = p.triggers(0, 0..records).iter().map(|(q, _)| *q).collect();
        assert_eq!(q.len(), 25, "{q:?}");
        assert!(
            q[0] >= 10 * rpb && *q.last().unwrap() < records - rpb,
            "{q:?}"
        );
        assert!(q.windows(2).all(|w| w[1] - w[0] > rpb), "{q:?}");
        // Driven as batches of 16 with no retry: 25 faulted requests.
        assert_eq!(faulted_batches(&p, rpb, records / rpb).len(), 25);
        // Without the cell, a count never fires.
        assert!(rplan("reject:25/cell", 42, rpb).is_empty());
        assert!(rplan("reject:25/cell", 42, rpb)
            .triggers(0, 0..records)
            .is_empty());
        // A big cell gets 25 too, spread over it.
        let big = cplan("reject:25/cell", 42, rpb, 40_000, 1);
        let q: Vec<u64> = big.triggers(0, 0..40_000).iter().map(|(q, _)| *q).collect();
        assert_eq!(q.len(), 25);
        assert!(q[24] > 38_000 && q[0] < 160 + 1_600, "{q:?}");
    }

    #[test]
    fn counts_over_spans_give_every_span_its_share_and_nothing_outside() {
        // Five rounds of a cell: 1,000 warm-up records, then per round a
        // 200-record warm-up window, two timed windows of 200, a 100 tail.
        let rpb = 15;
        let spans: Vec<Range<u64>> = (0..5)
            .map(|r| 1_200 + r * 700..1_200 + r * 700 + 400)
            .collect();
        let records = 1_000 + 5 * 700;
        let p = rplan("reject:25/cell", 42, rpb).with_cell_spans(records, 1, spans.clone());
        let q: Vec<u64> = p.triggers(0, 0..records).iter().map(|(q, _)| *q).collect();
        assert_eq!(q.len(), 25, "{q:?}");
        for r in &spans {
            assert_eq!(
                q.iter().filter(|g| r.contains(g)).count(),
                5,
                "{r:?}: {q:?}"
            );
        }
        // Without spans, the warm-up and the tails get events too.
        let whole = cplan("reject:25/cell", 42, rpb, records, 1);
        let w: Vec<u64> = whole
            .triggers(0, 0..records)
            .iter()
            .map(|(q, _)| *q)
            .collect();
        assert!(
            w.iter().any(|g| !spans.iter().any(|r| r.contains(g))),
            "{w:?}"
        );
    }

    #[test]
    fn counts_are_per_cell_over_all_streams_and_seeded() {
        let p = cplan("reject:25/cell+lose-ack:5/cell", 7, 15, 9_000, 3);
        let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
        for stream in 0..3 {
            for (_, a) in p.triggers(stream, 0..3_000) {
                *by_kind.entry(a.name()).or_default() += 1;
            }
        }
        assert_eq!(by_kind, BTreeMap::from([("lose-ack", 5), ("reject", 25)]));
        // A stream the cell does not have carries none.
        assert!(p.triggers(3, 0..3_000).is_empty());
        let again = cplan("reject:25/cell+lose-ack:5/cell", 7, 15, 9_000, 3);
        let other = cplan("reject:25/cell+lose-ack:5/cell", 8, 15, 9_000, 3);
        assert_eq!(p.triggers(1, 0..3_000), again.triggers(1, 0..3_000));
        assert_ne!(p.triggers(1, 0..3_000), other.triggers(1, 0..3_000));
    }

    #[test]
    fn count_triggers_that_cannot_fire_are_kept_for_the_next_fresh_request() {
        let p = cplan("reject:1/cell", 3, 10, 1_000, 1);
        let q = p.triggers(0, 0..1_000)[0].0;
        let mut state = TriggerState::default();
        // Everything before the trigger, in one request: no fault.
        assert_eq!(
            p.decide_request(&mut state, 0, &[part("t", 0, 0, q - 1)]),
            None
        );
        // The trigger rides with a retry of record q - 1: kept, not fired.
        assert_eq!(
            p.decide_request(&mut state, 1, &[part("t", 0, q - 1, q)]),
            None
        );
        assert_eq!(state.pending(), 1);
        // A retry alone does not take it; the next fresh request does.
        assert_eq!(p.decide_request(&mut state, 2, &[part("t", 0, q, q)]), None);
        let next = [part("t", 0, q + 1, q + 5)];
        assert_eq!(
            p.decide_request(&mut state, 3, &next),
            Some(FaultAction::Reject {
                error_code: NOT_ENOUGH_REPLICAS
            })
        );
        assert_eq!(state.pending(), 0);
        // Held by a lasting fault: kept the same way.
        let mut state = TriggerState::default();
        let batch = [part("t", 0, 0, q)];
        assert_eq!(p.decide_request_in(&mut state, 0, &batch, true), None);
        assert_eq!(state.pending(), 1);
        assert!(p
            .decide_request(&mut state, 1, &[part("t", 0, q + 1, q + 1)])
            .is_some());
        // A rate trigger that cannot fire is dropped, as before.
        let r = rplan("reject:100%", 1, 1).with_warmup(0);
        let mut state = TriggerState::default();
        assert_eq!(
            r.decide_request_in(&mut state, 0, &[part("t", 0, 0, 0)], true),
            None
        );
        assert_eq!(state.pending(), 0);
    }

    #[test]
    fn two_counted_kinds_in_one_request_make_two_faults() {
        // 2 events in 400 faultable records of 1-record batches, then one
        // request carrying the whole cell: one fault now, one kept.
        let p = cplan("reject:1/cell+refuse-window:1/cell:50ms", 5, 1, 420, 1);
        let all: Vec<(u64, FaultAction)> = p.triggers(0, 0..420);
        assert_eq!(all.len(), 2, "{all:?}");
        let mut state = TriggerState::default();
        let first = p.decide_request(&mut state, 0, &[part("t", 0, 0, 418)]);
        assert_eq!(first, Some(all[0].1));
        assert_eq!(state.pending(), 1);
        let second = p.decide_request(&mut state, 1, &[part("t", 0, 419, 419)]);
        assert_eq!(second, Some(all[1].1));
    }

    #[test]
    fn lasting_kinds_carry_their_spans_and_codes() {
        let p = plan("refuse-window:100%:200ms", 1).with_warmup(0);
        assert_eq!(
            p.decide(0),
            Some(FaultAction::RefuseWindow {
                ms: 200,
                error_code: NOT_ENOUGH_REPLICAS
            })
        );
        let p = plan("timeout-after-append:100%:0ms", 1).with_warmup(0);
        assert_eq!(
            p.decide(0),
            Some(FaultAction::TimeoutAfterAppend {
                ms: 0,
                error_code: REQUEST_TIMED_OUT
            })
        );
        let p = plan("leader-move:100%:300ms", 1).with_warmup(0);
        assert_eq!(p.decide(0), Some(FaultAction::LeaderMove { ms: 300 }));
    }

    #[test]
    fn count_triggers_are_pinned() {
        let q: Vec<u64> = cplan("reject:10/cell", 1, 15, 5_000, 1)
            .triggers(0, 0..5_000)
            .iter()
            .map(|(q, _)| *q)
            .collect();
        assert_eq!(q, PINNED_COUNT_TRIGGERS);
    }

    const PINNED_COUNT_TRIGGERS: [u64; 10] =
        [393, 895, 1190, 1834, 2373, 2901, 3453, 3793, 4427, 4779];

    const PINNED_TRIGGERS: [u64; 18] = [
        837, 1895, 3274, 4765, 6457, 7494, 8566, 9089, 11876, 18253, 19716, 21579, 21905, 22454,
        24062, 25561, 26557, 27213,
    ];

    const PINNED: [u64; 14] = [
        49, 85, 305, 326, 508, 540, 739, 839, 911, 919, 993, 1144, 1485, 1991,
    ];
}
