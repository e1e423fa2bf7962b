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

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

pub use super::action::{
    FaultAction, LoseAckMode, NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND,
};
use super::frame::PartitionRecords;
use super::profile::{FaultKind, FaultProfile};
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

/// Records per full batch: `max(1, batch_bytes / record_bytes)`, the
/// `records_per_batch` of [`FaultPlan::new`].
pub fn records_per_batch(batch_bytes: u64, record_bytes: u64) -> u64 {
    (batch_bytes / record_bytes.max(1)).max(1)
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
    /// profile order.
    slices: Vec<(u64, FaultKind)>,
}

/// The highest sequence seen per (topic, stream): the state the proxy keeps
/// for a record-triggered plan. See rule 3.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TriggerState {
    highest: HashMap<(String, u32), u64>,
}

impl TriggerState {
    /// The highest sequence seen on `stream` of `topic`, if any.
    pub fn highest(&self, topic: &str, stream: u32) -> Option<u64> {
        self.highest.get(&(topic.to_string(), stream)).copied()
    }
}

impl FaultPlan {
    /// The record-triggered schedule of `profile` under `seed`, for batches
    /// of about `records_per_batch` records (see [`records_per_batch`]),
    /// with the default warm-up (10 full batches per stream) and error codes.
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
        let mut upper: u64 = 0;
        for kind in profile.kinds() {
            let rate = match *kind {
                FaultKind::Reject { rate_ppm }
                | FaultKind::LoseAck { rate_ppm }
                | FaultKind::Delay { rate_ppm, .. }
                | FaultKind::Reset { rate_ppm } => rate_ppm,
                FaultKind::Failover => continue,
            };
            upper = upper.saturating_add(u64::from(rate)).min(range);
            slices.push((upper, *kind));
        }
        FaultPlan {
            profile: profile.clone(),
            seed,
            trigger,
            warmup,
            reject_error: NOT_ENOUGH_REPLICAS,
            lose_ack: LoseAckMode::default(),
            slices,
        }
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
        self.slices.is_empty()
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
        let Trigger::Records { records_per_batch } = self.trigger else {
            return None;
        };
        if seq < self.warmup || self.slices.is_empty() {
            return None;
        }
        let h = splitmix64(splitmix64(self.seed ^ splitmix64(seq)) ^ u64::from(stream));
        let u = h % (1_000_000 * records_per_batch);
        self.slices
            .iter()
            .find(|(upper, _)| u < *upper)
            .map(|(_, kind)| self.action(*kind))
    }

    /// The fault for one Produce request: request `index` (from 0) carrying
    /// `parts`, with `state` the proxy's memory of sequences already seen
    /// (updated here). A pure function of its arguments: the proxy's whole
    /// decision, testable without a network. Request plans ignore `parts`
    /// for the decision (but still update `state`).
    pub fn decide_request(
        &self,
        state: &mut TriggerState,
        index: u64,
        parts: &[PartitionRecords],
    ) -> Option<FaultAction> {
        let mut retry = false;
        let mut first_trigger: Option<(u64, FaultAction)> = None;
        for part in parts {
            for span in &part.spans {
                let key = (part.topic.clone(), span.stream);
                let highest = state.highest.get(&key).copied();
                if highest.is_some_and(|h| span.first_seq <= h) {
                    retry = true;
                }
                let from = highest.map_or(span.first_seq, |h| span.first_seq.max(h + 1));
                if self.trigger != Trigger::Requests && first_trigger.is_none() {
                    first_trigger = (from..=span.last_seq)
                        .find_map(|seq| self.trigger(span.stream, seq).map(|a| (seq, a)));
                }
                let top = highest.map_or(span.last_seq, |h| h.max(span.last_seq));
                state.highest.insert(key, top);
            }
        }
        match self.trigger {
            Trigger::Requests => self.decide(index),
            Trigger::Records { .. } if retry => None,
            Trigger::Records { .. } => first_trigger.map(|(_, a)| a),
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
        assert_eq!(records_per_batch(16_384, 1024), 16);
        assert_eq!(records_per_batch(100, 1024), 1);
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

    const PINNED_TRIGGERS: [u64; 18] = [
        837, 1895, 3274, 4765, 6457, 7494, 8566, 9089, 11876, 18253, 19716, 21579, 21905, 22454,
        24062, 25561, 26557, 27213,
    ];

    const PINNED: [u64; 14] = [
        49, 85, 305, 326, 508, 540, 739, 839, 911, 919, 993, 1144, 1485, 1991,
    ];
}
