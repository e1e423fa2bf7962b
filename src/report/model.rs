//! What the charts and the summary show, derived once from [`Results`]:
//! per-cell figures (violations per million records, the rule-of-three
//! bound, exposure), the axes of the grid, and the frontier.

use crate::grid::{Acks, ProducerSettings};
use crate::results::{CellResult, Measurement, Outcome, Results};
use crate::verify::AnomalyKind;

use super::profiles::{self, Profile};

/// The label of the condition a cell ran under: its fault profile, and its
/// emulated RTT when a run has several.
pub fn condition(faults: &str, rtt_us: u64, several_rtts: bool) -> String {
    if several_rtts {
        format!("{faults} · RTT {}", crate::grid::fmt_rtt(rtt_us))
    } else {
        faults.to_string()
    }
}

/// The condition of a cell (see [`Model::fault_profiles`]), prefixed with
/// its client when a run has several.
fn cell_condition(c: &CellResult, several_rtts: bool, several_clients: bool) -> String {
    let condition = condition(&c.faults.to_string(), c.network.rtt_us, several_rtts);
    if several_clients {
        format!("{} · {condition}", c.client)
    } else {
        condition
    }
}

/// Latency at a fixed load, as the report shows it: the only latency it
/// compares across settings (the windows' latency, at saturation, is the
/// depth of the client's queue and stays in `results.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct FixedLoadView {
    pub rate: u64,
    /// Records the quantiles come from.
    pub records: u64,
    pub p50_us: u64,
    /// `None` when too few records lie above it to quote it
    /// ([`crate::results::Latency::quantile_supported`]).
    pub p99_us: Option<u64>,
    pub p999_us: Option<u64>,
}

impl FixedLoadView {
    fn of(f: &crate::results::FixedLoad) -> FixedLoadView {
        let l = &f.latency;
        let quoted = |q: f64, v: u64| l.quantile_supported(q).then_some(v);
        FixedLoadView {
            rate: f.rate_per_sec,
            records: l.count,
            p50_us: l.p50_us,
            p99_us: quoted(0.99, l.p99_us),
            p999_us: quoted(0.999, l.p999_us),
        }
    }
}

/// A run's results prepared for reporting.
#[derive(Debug)]
pub struct Model<'a> {
    pub results: &'a Results,
    /// Cells in the order they ran.
    pub cells: Vec<CellView<'a>>,
    /// The conditions cells ran under, in the order the run first used
    /// them: the fault profile, and the emulated RTT when the run has
    /// several (`none · RTT 2ms`). Each is a panel or a row of the charts.
    pub fault_profiles: Vec<String>,
    /// The emulated client↔broker RTT of each condition, microseconds.
    pub condition_rtt_us: std::collections::BTreeMap<String, u64>,
    /// Values of each axis present in the results, ascending.
    pub in_flights: Vec<u32>,
    pub acks: Vec<Acks>,
    pub idems: Vec<bool>,
    pub profiles: Vec<Profile>,
}

/// Why a cell measured under `conditions` is not a clean result, if it is not.
pub fn qualification(conditions: &crate::results::Conditions) -> Option<String> {
    let mut why: Vec<String> = conditions.degraded.iter().map(|d| d.to_string()).collect();
    let busy = conditions.busy_rounds();
    if busy > 0 {
        why.push(format!(
            "other processes loaded the machine beyond its cores in {busy} of {} rounds",
            conditions.load.len()
        ));
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// One cell as the report sees it.
#[derive(Debug)]
pub struct CellView<'a> {
    pub result: &'a CellResult,
    pub settings: ProducerSettings,
    /// The cell's condition (see [`Model::fault_profiles`]).
    pub faults: String,
    /// The emulated client↔broker RTT, microseconds.
    pub rtt_us: u64,
    pub state: State,
}

/// What became of a cell, with the figures the report needs.
#[derive(Debug)]
pub enum State {
    Measured(Box<Meas>),
    Rejected { message: String, short: String },
    Failed { message: String, short: String },
}

impl State {
    /// What became of a cell, from its outcome.
    fn of(c: &CellResult) -> State {
        match &c.outcome {
            Outcome::Measured(m) => State::Measured(Box::new(Meas::of(m, c.machine_bound()))),
            Outcome::Rejected { message } => State::Rejected {
                message: message.clone(),
                short: short_reason(message),
            },
            Outcome::Failed { message } => State::Failed {
                message: message.clone(),
                short: truncate(message, 22),
            },
        }
    }
}

/// Figures of a measured cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Meas {
    pub rps: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Latency at a fixed load, when the cell had that phase.
    pub fixed_load: Option<FixedLoadView>,
    /// Half the throughput interval's width, % of the median.
    pub ci_half_width_pct: f64,
    /// Records checked: the larger of records read back and records the
    /// client reported delivered (a lost record is checked without being read).
    pub checked: u64,
    pub reorders: u64,
    /// Keyed records: (per-key reorders, (key, producer) pairs with a
    /// violation, pairs read); `None` without keys.
    pub per_key: Option<(u64, u64, u64)>,
    pub duplicates: u64,
    pub losses: u64,
    /// Faults injected, all kinds.
    pub faults_injected: u64,
    pub faults_by_kind: Vec<(String, u64)>,
    pub retries: u64,
    /// Records the client transmitted again after a failed request.
    pub records_resent: u64,
    /// Violation kinds found that the configuration is documented not to allow.
    pub unexpected: Vec<AnomalyKind>,
    /// Fault events the cell saw (the checker's events when it had them,
    /// else the faults injected): the trials of the per-event bound.
    pub events: u64,
    /// Violation kinds the configuration permits.
    pub permitted: Vec<AnomalyKind>,
    /// Why the cell's figures are qualified, when they are: the cluster
    /// was degraded (which broker, when) or other processes loaded the
    /// machine beyond its cores. Such a cell is shown, flagged, and left
    /// out of the conclusion.
    pub qualified: Option<String>,
    /// Why the cell measures the machine rather than the setting, if it
    /// does: shown, never ranked, on no frontier, in no conclusion.
    pub machine_bound: Option<crate::results::MachineBound>,
    /// The client's own CPU: microseconds per record and cores, over the
    /// rounds; `None` when not measured.
    pub client_cpu: Option<(f64, f64)>,
    /// The client's CPU microseconds per record of each round.
    pub client_cpu_rounds: Vec<f64>,
    /// librdkafka's broker wake-ups per second (median round).
    pub wakeups_per_sec: Option<f64>,
}

/// What the evidence lets the report say of a cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Judgement {
    /// At least one violation.
    Violations,
    /// No violation in `events` >= the minimum: the per-event bound holds.
    NoViolation { events: u64, bound: f64 },
    /// No violation, but fewer events than the minimum.
    TooFew { events: u64 },
}

impl Meas {
    /// The figures of a measured cell.
    fn of(m: &Measurement, machine_bound: Option<crate::results::MachineBound>) -> Meas {
        let v = &m.verdict;
        let mut unexpected = Vec::new();
        for kind in AnomalyKind::VIOLATIONS {
            if v.of(kind).count > 0 && !v.permitted.contains(&kind) {
                unexpected.push(kind);
            }
        }
        Meas {
            rps: m.throughput.records_per_sec,
            ci_low: m.throughput.records_per_sec_ci_low,
            ci_high: m.throughput.records_per_sec_ci_high,
            fixed_load: m.fixed_load.as_ref().map(FixedLoadView::of),
            ci_half_width_pct: m.throughput.ci_half_width_pct,
            checked: v.records_read.max(m.delivery.acked),
            reorders: v.reorders.count,
            per_key: v
                .keys
                .as_ref()
                .map(|k| (k.reorders, k.keys_with_violations, k.keys)),
            duplicates: v.log_duplicates.count,
            losses: v.losses.count,
            faults_injected: m.exposure.total_faults(),
            faults_by_kind: m
                .exposure
                .faults_injected
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| (k.clone(), *n))
                .collect(),
            retries: m.exposure.client_retries,
            records_resent: m.exposure.records_resent,
            unexpected,
            events: if v.events.is_empty() {
                m.exposure.total_faults()
            } else {
                v.events_injected()
            },
            permitted: AnomalyKind::VIOLATIONS
                .into_iter()
                .filter(|k| v.permitted.contains(k))
                .collect(),
            qualified: qualification(&m.conditions),
            machine_bound,
            client_cpu: m.conditions.client_cpu_per_record(),
            client_cpu_rounds: m.conditions.cpu_us_per_record_rounds(),
            wakeups_per_sec: m.conditions.median_wakeups_per_sec(),
        }
    }

    /// The count of one violation kind; 0 for the kinds that are not
    /// violations.
    pub fn count(&self, kind: AnomalyKind) -> u64 {
        match kind {
            AnomalyKind::Reorder => self.reorders,
            AnomalyKind::LogDuplicate => self.duplicates,
            AnomalyKind::Loss => self.losses,
            _ => 0,
        }
    }

    pub fn violations(&self) -> u64 {
        AnomalyKind::VIOLATIONS.iter().map(|k| self.count(*k)).sum()
    }

    /// A count as a rate per million records checked.
    pub fn per_million(&self, count: u64) -> f64 {
        if self.checked == 0 {
            0.0
        } else {
            count as f64 * 1e6 / self.checked as f64
        }
    }

    /// Ordering violations per million records checked.
    pub fn violations_pm(&self) -> f64 {
        self.per_million(self.violations())
    }

    /// Whether conclusions may rest on the cell: measured on a healthy
    /// cluster and a quiet machine, and not machine-bound.
    pub fn judged(&self) -> bool {
        self.qualified.is_none() && self.machine_bound.is_none()
    }

    pub fn exposed(&self) -> bool {
        self.faults_injected > 0
    }

    /// The judgement with at least `min_events` events required before
    /// "no violation observed" (bound at 95% per event).
    pub fn judgement(&self, min_events: u64) -> Judgement {
        if self.violations() > 0 {
            Judgement::Violations
        } else if self.events >= min_events.max(1) {
            Judgement::NoViolation {
                events: self.events,
                bound: crate::stats::upper_bound_per_event(self.events, 0.95),
            }
        } else {
            Judgement::TooFew {
                events: self.events,
            }
        }
    }
}

impl<'a> CellView<'a> {
    pub fn measured(&self) -> Option<&Meas> {
        match &self.state {
            State::Measured(m) => Some(m),
            _ => None,
        }
    }

    /// `in-flight 5, acks=all, idempotent`.
    pub fn setting_text(&self) -> String {
        setting_text(&self.settings)
    }
}

/// `in-flight 5, acks=all, idempotent`.
pub fn setting_text(s: &ProducerSettings) -> String {
    format!(
        "in-flight {}, acks={}, {}",
        s.max_in_flight,
        s.acks,
        if s.idempotence {
            "idempotent"
        } else {
            "not idempotent"
        }
    )
}

/// `acks=all, idempotent`: one line of the per-series charts.
pub fn series_text(acks: Acks, idem: bool) -> String {
    format!(
        "acks={acks}, {}",
        if idem { "idempotent" } else { "not idempotent" }
    )
}

/// A few words for a chart square from a client's refusal, e.g.
/// ``"`acks` must be set to `all` when `enable.idempotence` is true"`` →
/// `needs acks=all`. Unknown messages are cut short.
pub fn short_reason(message: &str) -> String {
    let short_name = |name: &str| -> String {
        match name {
            "max.in.flight.requests.per.connection" | "max.in.flight" => "in-flight".into(),
            "enable.idempotence" => "idempotence".into(),
            other => other.to_string(),
        }
    };
    // librdkafka: "`A` must be set <= 5 when `B` is true" or "`A` must be set to `all` when …".
    let parts: Vec<&str> = message.split('`').collect();
    if parts.len() >= 3 {
        if let Some(rest) = parts[2].trim().strip_prefix("must be set") {
            let name = short_name(parts[1]);
            let rest = rest.trim();
            if rest == "to" && parts.len() >= 4 {
                return format!("needs {name}={}", parts[3]);
            }
            let cond: String = rest.split(" when").next().unwrap_or(rest).trim().into();
            let cond = cond.replace("<=", "≤").replace(">=", "≥");
            if !cond.is_empty() {
                return format!("needs {name} {cond}");
            }
        }
    }
    truncate(message, 22)
}

/// The first `n` characters of a one-line text, with `…` when cut.
pub fn truncate(text: &str, n: usize) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    if line.chars().count() <= n {
        line.to_string()
    } else {
        let cut: String = line.chars().take(n.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    }
}

impl<'a> Model<'a> {
    pub fn new(results: &'a Results) -> Model<'a> {
        Self::with_profiles(results, profiles::builtin())
    }

    pub fn with_profiles(results: &'a Results, profiles: Vec<Profile>) -> Model<'a> {
        let several_rtts = distinct(results.cells.iter().map(|c| c.network.rtt_us)).len() > 1;
        let several_clients =
            distinct(results.cells.iter().map(|c| c.client.to_string())).len() > 1;
        let mut fault_profiles: Vec<String> = Vec::new();
        let mut condition_rtt_us = std::collections::BTreeMap::new();
        let mut cells = Vec::with_capacity(results.cells.len());
        for c in &results.cells {
            let condition = cell_condition(c, several_rtts, several_clients);
            if !fault_profiles.contains(&condition) {
                fault_profiles.push(condition.clone());
                condition_rtt_us.insert(condition.clone(), c.network.rtt_us);
            }
            cells.push(CellView {
                result: c,
                settings: c.requested,
                faults: condition,
                rtt_us: c.network.rtt_us,
                state: State::of(c),
            });
        }
        let in_flights = distinct(cells.iter().map(|c| c.settings.max_in_flight));
        let acks = distinct(cells.iter().map(|c| c.settings.acks));
        let idems = distinct(cells.iter().map(|c| c.settings.idempotence));
        Model {
            results,
            cells,
            fault_profiles,
            condition_rtt_us,
            in_flights,
            acks,
            idems,
            profiles,
        }
    }

    /// The cell of a setting under a fault profile (the last one, if a run repeated it).
    pub fn cell(&self, s: &ProducerSettings, faults: &str) -> Option<&CellView<'a>> {
        self.cells
            .iter()
            .rev()
            .find(|c| c.settings == *s && c.faults == faults)
    }

    /// Measured cells of one fault profile whose figures are neither
    /// qualified nor machine-bound (`Meas::judged`): what conclusions,
    /// rankings and frontiers are drawn from.
    pub fn judged_in<'m>(
        &'m self,
        faults: &'m str,
    ) -> impl Iterator<Item = (&'m CellView<'a>, &'m Meas)> + 'm {
        self.measured_in(faults).filter(|(_, m)| m.judged())
    }

    /// The conditions (fault profile and RTT) in which some measured cell
    /// has what `has` asks for, in the model's order.
    pub fn conditions_with(&self, has: impl Fn(&Meas) -> bool) -> Vec<&String> {
        self.fault_profiles
            .iter()
            .filter(|f| self.measured_in(f).any(|(_, x)| has(x)))
            .collect()
    }

    /// Measured cells of one fault profile.
    pub fn measured_in<'m>(
        &'m self,
        faults: &'m str,
    ) -> impl Iterator<Item = (&'m CellView<'a>, &'m Meas)> + 'm {
        self.cells
            .iter()
            .filter(move |c| c.faults == faults)
            .filter_map(|c| c.measured().map(|m| (c, m)))
    }

    /// The frontier of one fault profile: judged cells (`Meas::judged`)
    /// that no other beats on both throughput (higher) and violations per
    /// million (lower), ordered by violations, then throughput descending.
    pub fn frontier<'m>(&'m self, faults: &'m str) -> Vec<&'m CellView<'a>> {
        let pts: Vec<(&CellView<'a>, f64, f64)> = self
            .judged_in(faults)
            .map(|(c, m)| (c, m.violations_pm(), m.rps))
            .collect();
        let mut front: Vec<(&CellView<'a>, f64, f64)> = pts
            .iter()
            .filter(|(_, v, r)| {
                !pts.iter()
                    .any(|(_, v2, r2)| v2 <= v && r2 >= r && (v2 < v || r2 > r))
            })
            .copied()
            .collect();
        front.sort_by(|a, b| a.1.total_cmp(&b.1).then(b.2.total_cmp(&a.2)));
        front.into_iter().map(|(c, _, _)| c).collect()
    }

    /// Whether a cell is on its fault profile's frontier.
    pub fn on_frontier(&self, cell: &CellView<'a>) -> bool {
        self.frontier(&cell.faults)
            .iter()
            .any(|c| std::ptr::eq(c.result, cell.result))
    }

    pub fn count(&self, pred: impl Fn(&CellView<'a>) -> bool) -> usize {
        self.cells.iter().filter(|c| pred(c)).count()
    }
}

/// The distinct values, ascending.
fn distinct<T: Ord>(values: impl Iterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = values.collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_reasons_from_librdkafka_messages() {
        assert_eq!(
            short_reason("`max.in.flight.requests.per.connection` must be set <= 5 when `enable.idempotence` is true"),
            "needs in-flight ≤ 5"
        );
        assert_eq!(
            short_reason("`acks` must be set to `all` when `enable.idempotence` is true"),
            "needs acks=all"
        );
        assert_eq!(
            short_reason("Java producer configuration properties are not supported"),
            "Java producer configu…"
        );
    }
}
