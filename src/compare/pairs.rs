//! Several comparisons of the same two sides, combined into one verdict.
//!
//! A client upgrade is measured as pairs of runs in ABBA order (old, new,
//! new, old): a drift of the cluster or the machine over time favours the new
//! side in one pair and the old side in the other, so a change that is real
//! shows in every pair. The rules: a throughput or client CPU change counts when
//! every pair agrees on it (pairs that disagree are *inconsistent*: drift or
//! noise rather than the client); an ordering or status regression counts
//! from any pair.

use serde::{Deserialize, Serialize};

use super::{CellComparison, ChangeVerdict, Comparison, MetricChange, Regression};

/// What the pairs say together about one metric of one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    /// Every pair regressed.
    Regressed,
    /// Every pair improved.
    Improved,
    /// Some pair regressed or improved, not all the same way.
    Inconsistent,
    /// No pair found a significant change.
    NotSignificant,
    /// Some pair has no value for this metric (a cell not measured there).
    NotAvailable,
}

impl Agreement {
    /// Combines the pairs' verdicts (`None`: the pair had no value).
    pub fn of(verdicts: &[Option<ChangeVerdict>]) -> Agreement {
        if verdicts.is_empty() || verdicts.iter().any(Option::is_none) {
            return Agreement::NotAvailable;
        }
        let all = |v| verdicts.iter().all(|x| *x == Some(v));
        if all(ChangeVerdict::Regressed) {
            Agreement::Regressed
        } else if all(ChangeVerdict::Improved) {
            Agreement::Improved
        } else if all(ChangeVerdict::NotSignificant) {
            Agreement::NotSignificant
        } else {
            Agreement::Inconsistent
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Agreement::Regressed => "regressed",
            Agreement::Improved => "improved",
            Agreement::Inconsistent => "inconsistent",
            Agreement::NotSignificant => "not significant",
            Agreement::NotAvailable => "n/a",
        }
    }
}

/// One cell across the pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CombinedCell {
    pub id: String,
    /// Per pair, in pair order; `None` where the pair has no value.
    pub throughput: Vec<Option<MetricChange>>,
    pub throughput_agreement: Agreement,
    pub client_cpu: Vec<Option<MetricChange>>,
    pub cpu_agreement: Agreement,
    /// Ordering and status regressions of any pair, described, without
    /// repeats.
    pub ordering: Vec<String>,
}

impl CombinedCell {
    pub fn regressed(&self) -> bool {
        !self.ordering.is_empty()
            || self.throughput_agreement == Agreement::Regressed
            || self.cpu_agreement == Agreement::Regressed
    }
}

/// Counts over the combined cells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementCounts {
    pub regressed: usize,
    pub improved: usize,
    pub inconsistent: usize,
}

/// The pairs and what they say together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Combined {
    pub pairs: Vec<Comparison>,
    /// The cells of the first pair, in its order.
    pub cells: Vec<CombinedCell>,
    pub throughput: AgreementCounts,
    pub client_cpu: AgreementCounts,
    /// Cells with an ordering or status regression in at least one pair.
    pub ordering_regressions: usize,
    /// Cells on one side only in any pair (not compared), without repeats.
    pub one_side_only: Vec<String>,
}

impl Combined {
    /// False when any pair is not comparable: then nothing is combined.
    pub fn comparable(&self) -> bool {
        !self.pairs.is_empty() && self.pairs.iter().all(Comparison::comparable)
    }

    pub fn regressed(&self) -> bool {
        self.cells.iter().any(CombinedCell::regressed)
    }
}

fn counts(cells: &[CombinedCell], pick: fn(&CombinedCell) -> Agreement) -> AgreementCounts {
    let n = |a| cells.iter().filter(|c| pick(c) == a).count();
    AgreementCounts {
        regressed: n(Agreement::Regressed),
        improved: n(Agreement::Improved),
        inconsistent: n(Agreement::Inconsistent),
    }
}

fn combine_cell(id: &str, pairs: &[Comparison]) -> CombinedCell {
    let found: Vec<Option<&CellComparison>> = pairs
        .iter()
        .map(|p| p.cells.iter().find(|c| c.id == id))
        .collect();
    let metric = |pick: fn(&CellComparison) -> &Option<MetricChange>| {
        let values: Vec<Option<MetricChange>> = found
            .iter()
            .map(|c| c.and_then(|c| pick(c).clone()))
            .collect();
        let verdicts: Vec<Option<ChangeVerdict>> = values
            .iter()
            .map(|m| m.as_ref().map(|m| m.verdict))
            .collect();
        (values, Agreement::of(&verdicts))
    };
    let (throughput, throughput_agreement) = metric(|c| &c.throughput);
    let (client_cpu, cpu_agreement) = metric(|c| &c.client_cpu);
    let mut ordering: Vec<String> = found
        .iter()
        .flatten()
        .flat_map(|c| c.regressions.iter().filter(|r| r.is_ordering()))
        .map(Regression::describe)
        .collect();
    ordering.sort();
    ordering.dedup();
    CombinedCell {
        id: id.to_string(),
        throughput,
        throughput_agreement,
        client_cpu,
        cpu_agreement,
        ordering,
    }
}

/// Combines the pairs' comparisons (each baseline vs new, the same sides).
pub fn combine(pairs: Vec<Comparison>) -> Combined {
    let comparable = !pairs.is_empty() && pairs.iter().all(Comparison::comparable);
    let cells: Vec<CombinedCell> = if comparable {
        pairs[0]
            .cells
            .iter()
            .map(|c| combine_cell(&c.id, &pairs))
            .collect()
    } else {
        Vec::new()
    };
    let mut one_side_only: Vec<String> = pairs
        .iter()
        .flat_map(|p| p.only_in_base.iter().chain(&p.only_in_new).cloned())
        .collect();
    one_side_only.sort();
    one_side_only.dedup();
    Combined {
        throughput: counts(&cells, |c| c.throughput_agreement),
        client_cpu: counts(&cells, |c| c.cpu_agreement),
        ordering_regressions: cells.iter().filter(|c| !c.ordering.is_empty()).count(),
        cells,
        one_side_only,
        pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ChangeVerdict::*;

    #[test]
    fn agreement_needs_every_pair() {
        assert_eq!(
            Agreement::of(&[Some(Regressed), Some(Regressed)]),
            Agreement::Regressed
        );
        assert_eq!(
            Agreement::of(&[Some(Improved), Some(Improved)]),
            Agreement::Improved
        );
        assert_eq!(
            Agreement::of(&[Some(Regressed), Some(NotSignificant)]),
            Agreement::Inconsistent
        );
        assert_eq!(
            Agreement::of(&[Some(Regressed), Some(Improved)]),
            Agreement::Inconsistent
        );
        assert_eq!(
            Agreement::of(&[Some(NotSignificant), Some(NotSignificant)]),
            Agreement::NotSignificant
        );
        assert_eq!(
            Agreement::of(&[Some(Regressed), None]),
            Agreement::NotAvailable
        );
        assert_eq!(Agreement::of(&[]), Agreement::NotAvailable);
    }
}
