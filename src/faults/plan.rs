//! The seeded fault schedule: which Produce request gets which fault.
//!
//! A [`FaultPlan`] is a pure function of (profile, seed, request index): the
//! proxy numbers the Produce requests it sees 0, 1, 2, … and asks
//! [`FaultPlan::decide`] about each. Scheduling by request count rather than
//! by a timer matters: a timer-driven prototype kept hitting the retries of the
//! same batch and stalled the producer at about 100 records/s, and its faults
//! landed at different places in every cell.
//!
//! # The rule
//!
//! 1. Requests `0..warmup` (default [`DEFAULT_WARMUP`]) are never faulted, so
//!    every cell starts with a few clean batches (connections, metadata and
//!    the idempotent producer id are settled before the first fault).
//! 2. Every later index draws a number `u` in `0..1_000_000` from a hash of
//!    (seed, index) (SplitMix64: stable across platforms and crate versions).
//!    The profile's proxy kinds are laid out one after the other on that
//!    range, each as wide as its rate in parts per million, in profile order:
//!    `reject:1%+lose-ack:2%` hits `reject` for `u < 10_000` and `lose-ack`
//!    for `10_000 <= u < 30_000`. Rates adding up past 100% are cut at 100%.
//! 3. Two consecutive requests are never both faulted. A hit is faulted when
//!    the request before it was a miss; inside a run of consecutive hits, a
//!    later hit is faulted when its index is even and the two requests
//!    before it were both hits. (Three draws per decision, so it stays O(1)
//!    at any rate; at 100% every even index after the warm-up is faulted.)
//!    Why: a faulted batch is retried soon after, often as the very next
//!    Produce request; faulting that one too would attack the same batch
//!    again and again (the stall above) and exhaust its retries, turning
//!    reorders into gaps. At a 1% rate this skips about 1% of the hits.
//!
//! `failover` is not a per-request fault: the plan ignores it (the failover
//! controller acts on it).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use super::profile::{FaultKind, FaultProfile};

/// Produce requests left alone at the start of every cell.
pub const DEFAULT_WARMUP: u64 = 10;

/// NOT_ENOUGH_REPLICAS: retriable, and librdkafka marks the batch *not
/// persisted*, which is the truth for a request the proxy never forwarded.
pub const NOT_ENOUGH_REPLICAS: i16 = 19;

/// NOT_ENOUGH_REPLICAS_AFTER_APPEND: retriable, and librdkafka marks the batch
/// *possibly persisted*, which is the truth for a request the broker appended.
/// (REQUEST_TIMED_OUT, 7, is handled the same way by librdkafka; 20 is chosen
/// because it says what happened.)
pub const NOT_ENOUGH_REPLICAS_AFTER_APPEND: i16 = 20;

/// What `lose-ack` does to the broker's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoseAckMode {
    /// Replace the answer with this retriable error code on every partition.
    Error(i16),
    /// Drop the answer and close the connection (client and broker sides).
    DropAndReset,
}

impl Default for LoseAckMode {
    fn default() -> Self {
        LoseAckMode::Error(NOT_ENOUGH_REPLICAS_AFTER_APPEND)
    }
}

/// One fault to apply to one Produce request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultAction {
    /// Answer with `error_code` on every partition without forwarding.
    Reject { error_code: i16 },
    /// Forward, then lose the broker's answer as `mode` says.
    LoseAck { mode: LoseAckMode },
    /// Hold the request for `ms` milliseconds, then forward it: a *stalled
    /// request*, which holds the requests behind it on its connection too.
    /// Network latency is [`super::netem::Link`], which does not.
    Delay { ms: u32 },
    /// Close the connection (both sides) instead of forwarding.
    Reset,
}

impl FaultAction {
    /// The kind's name as counted in exposure: `reject`, `lose-ack`, `delay`
    /// or `reset`.
    pub fn name(&self) -> &'static str {
        match self {
            FaultAction::Reject { .. } => "reject",
            FaultAction::LoseAck { .. } => "lose-ack",
            FaultAction::Delay { .. } => "delay",
            FaultAction::Reset => "reset",
        }
    }
}

impl fmt::Display for FaultAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultAction::Reject { error_code } => write!(f, "reject(error {error_code})"),
            FaultAction::LoseAck {
                mode: LoseAckMode::Error(code),
            } => write!(f, "lose-ack(error {code})"),
            FaultAction::LoseAck {
                mode: LoseAckMode::DropAndReset,
            } => f.write_str("lose-ack(drop and reset)"),
            FaultAction::Delay { ms } => write!(f, "delay({ms}ms)"),
            FaultAction::Reset => f.write_str("reset"),
        }
    }
}

/// A deterministic fault schedule over Produce request indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultPlan {
    profile: FaultProfile,
    seed: u64,
    warmup: u64,
    reject_error: i16,
    lose_ack: LoseAckMode,
    /// (upper bound of the kind's slice of 0..1_000_000, kind), in profile order.
    slices: Vec<(u32, FaultKind)>,
}

impl FaultPlan {
    /// The schedule of `profile` under `seed`, with the default warm-up and
    /// error codes.
    pub fn new(profile: &FaultProfile, seed: u64) -> FaultPlan {
        let mut slices = Vec::new();
        let mut upper: u32 = 0;
        for kind in profile.kinds() {
            let rate = match *kind {
                FaultKind::Reject { rate_ppm }
                | FaultKind::LoseAck { rate_ppm }
                | FaultKind::Delay { rate_ppm, .. }
                | FaultKind::Reset { rate_ppm } => rate_ppm,
                FaultKind::Failover => continue,
            };
            upper = upper.saturating_add(rate).min(1_000_000);
            slices.push((upper, *kind));
        }
        FaultPlan {
            profile: profile.clone(),
            seed,
            warmup: DEFAULT_WARMUP,
            reject_error: NOT_ENOUGH_REPLICAS,
            lose_ack: LoseAckMode::default(),
            slices,
        }
    }

    /// The plan that never faults anything.
    pub fn none() -> FaultPlan {
        FaultPlan::new(&FaultProfile::None, 0)
    }

    /// Leave requests `0..warmup` alone instead of the default.
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

    /// How many requests at the start are never faulted.
    pub fn warmup(&self) -> u64 {
        self.warmup
    }

    /// True when no request is ever faulted.
    pub fn is_empty(&self) -> bool {
        self.slices.is_empty()
    }

    /// The fault for the Produce request numbered `index` (from 0), if any.
    pub fn decide(&self, index: u64) -> Option<FaultAction> {
        let kind = self.draw(index)?;
        let hit = |i: Option<u64>| i.is_some_and(|i| self.draw(i).is_some());
        let previous_hit = hit(index.checked_sub(1));
        if previous_hit && !(index % 2 == 0 && hit(index.checked_sub(2))) {
            return None;
        }
        Some(self.action(kind))
    }

    /// Every fault the plan injects at the indices in `range`, in order.
    pub fn schedule(&self, range: Range<u64>) -> Vec<(u64, FaultAction)> {
        range
            .filter_map(|i| self.decide(i).map(|a| (i, a)))
            .collect()
    }

    /// How many faults of each kind the plan injects at the indices in `range`.
    pub fn counts(&self, range: Range<u64>) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for (_, action) in self.schedule(range) {
            *counts.entry(action.name().to_string()).or_insert(0) += 1;
        }
        counts
    }

    /// The kind whose slice the index's draw falls in, before rule 3.
    fn draw(&self, index: u64) -> Option<FaultKind> {
        if index < self.warmup || self.slices.is_empty() {
            return None;
        }
        let u = (splitmix64(self.seed ^ splitmix64(index)) % 1_000_000) as u32;
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

/// SplitMix64's output function: a bijective 64-bit mixer (Steele, Lea and
/// Flood, 2014). Written out so the schedule never changes under us.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str, seed: u64) -> FaultPlan {
        FaultPlan::new(&text.parse().unwrap(), seed)
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

    const PINNED: [u64; 14] = [
        49, 85, 305, 326, 508, 540, 739, 839, 911, 919, 993, 1144, 1485, 1991,
    ];
}
