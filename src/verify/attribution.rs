//! Attribution of violations to fault events: each event's record spans,
//! indexed by stream, and what each event was followed by (see *Attribution
//! to fault events* in the [module documentation](super)).

use std::collections::{BTreeMap, HashMap};

use super::verdict::{Depth, DisplacementStats, EventEvidence, EventOutcome, HistogramBucket};
use crate::faults::events::FaultEvent;

/// Displacements kept per checker to give exact medians and percentiles
/// per event; past it, events that go on reordering report their histogram,
/// maximum and sum but no quantiles. Bounds the memory a reorder storm costs
/// (8 bytes each).
pub const MAX_KEPT_DISPLACEMENTS: usize = 1 << 20;

/// Which violation an attribution counts.
#[derive(Debug, Clone, Copy)]
pub(super) enum Charge {
    /// A reordered record: its displacement, and the records of its stream
    /// with a higher sequence read before it.
    Reorder {
        displacement: u64,
        overtaking: u64,
    },
    LogDuplicate,
    Loss,
    Missing,
}

/// The events' record spans, indexed by stream, and what each was followed by.
#[derive(Debug, Default)]
pub(super) struct Attribution {
    pub(super) given: bool,
    /// Per stream: (first, last, event index), sorted by first.
    spans: HashMap<u32, Vec<(u64, u64, u32)>>,
    /// Per stream: the widest span minus one, to bound the backward scan.
    widest: HashMap<u32, u64>,
    pub(super) outcomes: Vec<EventOutcome>,
    /// Per event (as `outcomes`): how deep its reorders went so far.
    depths: Vec<DepthAcc>,
    /// Displacements kept across events (see [`MAX_KEPT_DISPLACEMENTS`]).
    kept: usize,
    pub(super) unattributed: u64,
}

/// What one event's reorders add up to while records are read.
#[derive(Debug, Clone)]
struct DepthAcc {
    records_overtaking: u64,
    requests_overtaking: u64,
    count: u64,
    max: u64,
    sum: u64,
    /// Counts per power of two: bucket `k` holds `2^k..=2^(k+1)-1`.
    buckets: [u64; 64],
    values: Vec<u64>,
    /// False once a value could not be kept.
    complete: bool,
}

impl DepthAcc {
    fn new() -> DepthAcc {
        DepthAcc {
            records_overtaking: 0,
            requests_overtaking: 0,
            count: 0,
            max: 0,
            sum: 0,
            buckets: [0; 64],
            values: Vec::new(),
            complete: true,
        }
    }

    fn stats(mut self) -> Option<Depth> {
        if self.count == 0 {
            return None;
        }
        let quantiles = self.complete && self.values.len() as u64 == self.count;
        let (median, p90) = if quantiles {
            self.values.sort_unstable();
            let n = self.values.len();
            let p90_rank = (n * 9).div_ceil(10).max(1) - 1;
            (Some(self.values[(n - 1) / 2]), Some(self.values[p90_rank]))
        } else {
            (None, None)
        };
        let histogram = self
            .buckets
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(k, &count)| HistogramBucket {
                min: 1u64 << k,
                max: if k == 63 {
                    u64::MAX
                } else {
                    (1u64 << (k + 1)) - 1
                },
                count,
            })
            .collect();
        Some(Depth {
            records_overtaking: self.records_overtaking,
            requests_overtaking: self.requests_overtaking,
            displacement: DisplacementStats {
                count: self.count,
                max: self.max,
                sum: self.sum,
                median,
                p90,
                histogram,
            },
        })
    }

    fn merge(&mut self, other: DepthAcc) {
        self.records_overtaking = self.records_overtaking.max(other.records_overtaking);
        self.requests_overtaking = self.requests_overtaking.max(other.requests_overtaking);
        self.count += other.count;
        self.max = self.max.max(other.max);
        self.sum = self.sum.saturating_add(other.sum);
        for (a, b) in self.buckets.iter_mut().zip(other.buckets) {
            *a += b;
        }
        self.complete &= other.complete;
        self.values.extend(other.values);
    }
}

impl Attribution {
    pub(super) fn new(events: &[FaultEvent]) -> Attribution {
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
            a.depths.push(DepthAcc::new());
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

    /// The event whose narrowest span holds `seq` of `stream`, and that
    /// span's length.
    fn find(&self, stream: u32, seq: u64) -> Option<(usize, u64)> {
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
        best.map(|(w, i)| (i, w + 1))
    }

    #[inline]
    pub(super) fn charge(&mut self, stream: u32, seq: u64, what: Charge) {
        if !self.given {
            return;
        }
        let Some((i, span)) = self.find(stream, seq) else {
            self.unattributed += 1;
            return;
        };
        let o = &mut self.outcomes[i];
        match what {
            Charge::Reorder {
                displacement,
                overtaking,
            } => {
                o.reorders += 1;
                let d = &mut self.depths[i];
                d.records_overtaking = d.records_overtaking.max(overtaking);
                d.requests_overtaking = d.requests_overtaking.max(overtaking.div_ceil(span));
                d.count += 1;
                d.max = d.max.max(displacement);
                d.sum = d.sum.saturating_add(displacement);
                if displacement > 0 {
                    d.buckets[displacement.ilog2() as usize] += 1;
                }
                if d.complete && self.kept < MAX_KEPT_DISPLACEMENTS {
                    d.values.push(displacement);
                    self.kept += 1;
                } else {
                    d.complete = false;
                }
            }
            Charge::LogDuplicate => o.log_duplicates += 1,
            Charge::Loss => o.losses += 1,
            Charge::Missing => o.missing += 1,
        }
    }

    /// A fresh attribution over the same events (for a checker reading
    /// other partitions), with nothing charged yet.
    pub(super) fn sibling(&self) -> Attribution {
        Attribution {
            given: self.given,
            spans: self.spans.clone(),
            widest: self.widest.clone(),
            outcomes: self
                .outcomes
                .iter()
                .map(|o| EventOutcome {
                    id: o.id,
                    kind: o.kind.clone(),
                    records: o.records,
                    ..EventOutcome::default()
                })
                .collect(),
            depths: self.outcomes.iter().map(|_| DepthAcc::new()).collect(),
            kept: 0,
            unattributed: 0,
        }
    }

    /// Adds what a [`sibling`](Attribution::sibling) charged.
    pub(super) fn merge(&mut self, other: Attribution) {
        if !self.given {
            return;
        }
        for (a, b) in self.outcomes.iter_mut().zip(other.outcomes) {
            a.reorders += b.reorders;
            a.log_duplicates += b.log_duplicates;
            a.losses += b.losses;
            a.missing += b.missing;
        }
        for (a, b) in self.depths.iter_mut().zip(other.depths) {
            a.merge(b);
        }
        self.kept += other.kept;
        self.unattributed += other.unattributed;
    }

    /// Each event's outcome, with how deep its reorders went.
    pub(super) fn take_outcomes(&mut self) -> Vec<EventOutcome> {
        let depths = std::mem::take(&mut self.depths);
        let mut out = std::mem::take(&mut self.outcomes);
        for (o, d) in out.iter_mut().zip(depths) {
            o.depth = d.stats();
        }
        out
    }

    pub(super) fn evidence(&self) -> BTreeMap<String, EventEvidence> {
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
