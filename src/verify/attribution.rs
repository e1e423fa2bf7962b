//! Attribution of violations to fault events: each event's record spans,
//! indexed by stream, and what each event was followed by (see *Attribution
//! to fault events* in the [module documentation](super)).

use std::collections::{BTreeMap, HashMap};

use super::verdict::{EventEvidence, EventOutcome};
use crate::faults::events::FaultEvent;

/// Which violation an attribution counts.
#[derive(Debug, Clone, Copy)]
pub(super) enum Charge {
    Reorder,
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
    pub(super) unattributed: u64,
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
    pub(super) fn charge(&mut self, stream: u32, seq: u64, what: Charge) {
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
