//! Named, parameterised fault profiles and their text forms.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How many faults of one kind a cell gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Amount {
    /// A rate, in parts per million of full batches (`1%`, `0.5%`): every
    /// record draws, so a cell that sends fewer records meets fewer faults.
    Rate { ppm: u32 },
    /// A number of events per cell (`25/cell`), spread evenly over the
    /// cell's records whatever its speed, so slow cells (in-flight 1 at a
    /// long RTT) meet as many faults as fast ones.
    PerCell { events: u32 },
}

/// Most events a `N/cell` amount may ask for.
pub const MAX_EVENTS_PER_CELL: u32 = 100_000;

impl Amount {
    /// The rate in ppm, for a rate amount.
    pub fn rate_ppm(self) -> Option<u32> {
        match self {
            Amount::Rate { ppm } => Some(ppm),
            Amount::PerCell { .. } => None,
        }
    }

    /// The events per cell, for a count amount.
    pub fn per_cell(self) -> Option<u32> {
        match self {
            Amount::PerCell { events } => Some(events),
            Amount::Rate { .. } => None,
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Amount::Rate { ppm } => f.write_str(&fmt_rate(ppm)),
            Amount::PerCell { events } => write!(f, "{events}/cell"),
        }
    }
}

/// One kind of fault with its amount (a rate or a count per cell) and,
/// for stalls and lasting faults, its span in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// Answer a Produce request with a retriable error without forwarding it:
    /// the batch is not appended, later batches are.
    Reject { amount: Amount },
    /// Forward a Produce request, then replace the broker's answer with a
    /// retriable error: the batch is appended but the client does not know.
    LoseAck { amount: Amount },
    /// Hold a Produce request for `ms` milliseconds before forwarding it.
    Delay { amount: Amount, ms: u32 },
    /// Close the client's connection instead of forwarding a Produce request.
    Reset { amount: Amount },
    /// A refusal window (an ISR shrink): from a trigger on, every Produce
    /// request, retries included, on every connection, is answered
    /// NOT_ENOUGH_REPLICAS without being forwarded, for `ms` milliseconds.
    RefuseWindow { amount: Amount, ms: u32 },
    /// A timeout after append: the Produce request is forwarded and
    /// appended, the broker's answer is held for `ms` milliseconds (the
    /// connection's later requests wait behind it, as a broker mutes a
    /// connection while a request waits) and replaced with
    /// REQUEST_TIMED_OUT: ambiguous, the records are in the log.
    TimeoutAfterAppend { amount: Amount, ms: u32 },
    /// A leader move: for `ms` milliseconds every Produce request is
    /// answered NOT_LEADER_OR_FOLLOWER (the client refreshes metadata); the
    /// proxy's Metadata answers then name another node (a second proxy
    /// listener in front of the same broker) as the partition's leader, and
    /// the old one keeps answering NOT_LEADER_OR_FOLLOWER. See
    /// [`crate::faults::proxy`] for what is and is not emulated.
    LeaderMove { amount: Amount, ms: u32 },
    /// Kill the partition leader mid-cell and restart it later.
    Failover,
}

/// A fault kind without its parameters: the keys of a cell's exposure
/// counts, the kinds of fault events, and the first word of a profile part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultName {
    Reject,
    LoseAck,
    Delay,
    Reset,
    RefuseWindow,
    TimeoutAfterAppend,
    LeaderMove,
    Failover,
}

impl FaultName {
    /// Every kind, in report order.
    pub const ALL: [FaultName; 8] = [
        FaultName::Reject,
        FaultName::LoseAck,
        FaultName::Delay,
        FaultName::Reset,
        FaultName::RefuseWindow,
        FaultName::TimeoutAfterAppend,
        FaultName::LeaderMove,
        FaultName::Failover,
    ];

    /// The kinds the fault proxy injects (all but failover, which kills a
    /// broker), in the order of its counters.
    pub const PROXY: [FaultName; 7] = [
        FaultName::Reject,
        FaultName::LoseAck,
        FaultName::Delay,
        FaultName::Reset,
        FaultName::RefuseWindow,
        FaultName::TimeoutAfterAppend,
        FaultName::LeaderMove,
    ];

    /// The name in profiles, JSON and reports: `reject`, `lose-ack`,
    /// `delay`, `reset`, `refuse-window`, `timeout-after-append`,
    /// `leader-move` or `failover`.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultName::Reject => "reject",
            FaultName::LoseAck => "lose-ack",
            FaultName::Delay => "delay",
            FaultName::Reset => "reset",
            FaultName::RefuseWindow => "refuse-window",
            FaultName::TimeoutAfterAppend => "timeout-after-append",
            FaultName::LeaderMove => "leader-move",
            FaultName::Failover => "failover",
        }
    }

    /// What the fault does, in prose: `refused request`.
    pub fn label(self) -> &'static str {
        match self {
            FaultName::Reject => "refused request",
            FaultName::LoseAck => "lost acknowledgement",
            FaultName::Delay => "delayed request",
            FaultName::Reset => "connection reset",
            FaultName::RefuseWindow => "refusal window",
            FaultName::TimeoutAfterAppend => "timeout after append",
            FaultName::LeaderMove => "leader move",
            FaultName::Failover => "leader failover",
        }
    }

    /// True for the kinds with a time span (lasting faults): their events
    /// carry [`FaultEvent::span_ms`](crate::faults::FaultEvent::span_ms).
    pub fn lasts(self) -> bool {
        matches!(
            self,
            FaultName::RefuseWindow | FaultName::TimeoutAfterAppend | FaultName::LeaderMove
        )
    }
}

impl fmt::Display for FaultName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FaultName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FaultName::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown fault kind {s:?}"))
    }
}

impl FaultKind {
    /// The kind without its parameters.
    pub fn kind(&self) -> FaultName {
        match self {
            FaultKind::Reject { .. } => FaultName::Reject,
            FaultKind::LoseAck { .. } => FaultName::LoseAck,
            FaultKind::Delay { .. } => FaultName::Delay,
            FaultKind::Reset { .. } => FaultName::Reset,
            FaultKind::RefuseWindow { .. } => FaultName::RefuseWindow,
            FaultKind::TimeoutAfterAppend { .. } => FaultName::TimeoutAfterAppend,
            FaultKind::LeaderMove { .. } => FaultName::LeaderMove,
            FaultKind::Failover => FaultName::Failover,
        }
    }

    /// How many of this fault a cell gets; `None` for failover.
    pub fn amount(&self) -> Option<Amount> {
        match *self {
            FaultKind::Reject { amount }
            | FaultKind::LoseAck { amount }
            | FaultKind::Delay { amount, .. }
            | FaultKind::Reset { amount }
            | FaultKind::RefuseWindow { amount, .. }
            | FaultKind::TimeoutAfterAppend { amount, .. }
            | FaultKind::LeaderMove { amount, .. } => Some(amount),
            FaultKind::Failover => None,
        }
    }

    /// The span of a lasting fault, milliseconds (`None` for single-request
    /// faults, `delay` included: its stall is a parameter, not a window).
    pub fn span_ms(&self) -> Option<u32> {
        match *self {
            FaultKind::RefuseWindow { ms, .. }
            | FaultKind::TimeoutAfterAppend { ms, .. }
            | FaultKind::LeaderMove { ms, .. } => Some(ms),
            _ => None,
        }
    }

    /// The kind's name without parameters (see [`FaultName::as_str`]).
    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }
}

/// A fault profile: no faults, or one or more fault kinds mixed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FaultProfile {
    kinds: Vec<FaultKind>,
}

#[allow(non_upper_case_globals)]
impl FaultProfile {
    /// The profile with no faults.
    pub const None: FaultProfile = FaultProfile { kinds: Vec::new() };

    /// A profile of the given kinds, in the given order.
    pub fn new(kinds: Vec<FaultKind>) -> FaultProfile {
        FaultProfile { kinds }
    }

    /// The fault kinds of this profile; empty for `none`.
    pub fn kinds(&self) -> &[FaultKind] {
        &self.kinds
    }

    /// True for the profile that injects nothing.
    pub fn is_none(&self) -> bool {
        self.kinds.is_empty()
    }

    /// True when this profile needs the fault proxy between client and brokers.
    pub fn needs_proxy(&self) -> bool {
        self.kinds.iter().any(|k| !matches!(k, FaultKind::Failover))
    }

    /// True when this profile kills a broker.
    pub fn needs_failover(&self) -> bool {
        self.kinds.contains(&FaultKind::Failover)
    }

    /// The profile spelled for file names and cell ids, e.g. `reject-1pct`.
    pub fn slug(&self) -> String {
        if self.kinds.is_empty() {
            return "none".into();
        }
        self.kinds
            .iter()
            .map(|k| {
                k.to_string()
                    .replace('%', "pct")
                    .replace("/cell", "-per-cell")
                    .replace(':', "-")
            })
            .collect::<Vec<_>>()
            .join("+")
    }
}

fn fmt_rate(ppm: u32) -> String {
    // 10_000 ppm is 1%; print the shortest exact decimal.
    let whole = ppm / 10_000;
    let frac = ppm % 10_000;
    if frac == 0 {
        format!("{whole}%")
    } else {
        let digits = format!("{frac:04}");
        format!("{whole}.{}%", digits.trim_end_matches('0'))
    }
}

fn parse_rate(s: &str) -> Result<u32, String> {
    let num = s
        .strip_suffix('%')
        .ok_or_else(|| format!("rate {s:?} must be a percentage such as 1% or 0.5%"))?;
    let pct: f64 = num
        .parse()
        .map_err(|_| format!("rate {s:?} is not a number followed by %"))?;
    if !(pct > 0.0 && pct <= 100.0) {
        return Err(format!("rate {s:?} must be above 0% and at most 100%"));
    }
    let ppm = (pct * 10_000.0).round();
    if (ppm - pct * 10_000.0).abs() > 1e-6 {
        return Err(format!("rate {s:?} has more precision than 0.0001%"));
    }
    Ok(ppm as u32)
}

/// `25/cell`, or a rate (see [`parse_rate`]).
fn parse_amount(s: &str) -> Result<Amount, String> {
    if let Some(n) = s.strip_suffix("/cell") {
        let events: u32 = n.parse().map_err(|_| {
            format!("event count {s:?} is not a whole number followed by /cell, such as 25/cell")
        })?;
        if events == 0 || events > MAX_EVENTS_PER_CELL {
            return Err(format!(
                "event count {s:?} must be from 1/cell to {MAX_EVENTS_PER_CELL}/cell"
            ));
        }
        return Ok(Amount::PerCell { events });
    }
    if !s.ends_with('%') {
        return Err(format!(
            "amount {s:?} must be a percentage such as 1% or 0.5%, or a count per cell such as 25/cell"
        ));
    }
    parse_rate(s).map(|ppm| Amount::Rate { ppm })
}

/// A whole number of milliseconds written `300ms`; `what` names it in the
/// error (`delay`, `span`).
fn parse_ms(s: &str, what: &str) -> Result<u32, String> {
    s.strip_suffix("ms")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("{what} {s:?} must be a whole number of milliseconds such as 300ms"))
}

/// A lasting fault's span: [`parse_ms`], and at least 1 ms.
fn parse_span(s: &str) -> Result<u32, String> {
    let ms = parse_ms(s, "span")?;
    if ms == 0 {
        return Err(format!("span {s:?} must be at least 1ms"));
    }
    Ok(ms)
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        match *self {
            FaultKind::Reject { amount }
            | FaultKind::LoseAck { amount }
            | FaultKind::Reset { amount } => write!(f, "{name}:{amount}"),
            FaultKind::Delay { amount, ms }
            | FaultKind::RefuseWindow { amount, ms }
            | FaultKind::TimeoutAfterAppend { amount, ms }
            | FaultKind::LeaderMove { amount, ms } => write!(f, "{name}:{amount}:{ms}ms"),
            FaultKind::Failover => f.write_str(name),
        }
    }
}

/// Every form, for the message of an unknown fault.
const FORMS: &str = "none, reject:A, lose-ack:A, delay:A:Nms, reset:A, refuse-window:A:Nms, \
timeout-after-append:A:Nms, leader-move:A:Nms or failover, mixed with +; \
A is a rate such as 1% or a count per cell such as 25/cell";

impl FromStr for FaultKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.trim().split(':').collect();
        if parts.len() == 1 && parts[0].is_empty() {
            return Err(
                "empty fault part (hint: parts are joined with +, e.g. reject:1%+lose-ack:1%, with none before or after a +)"
                    .to_string(),
            );
        }
        let Ok(name) = parts[0].parse::<FaultName>() else {
            return Err(format!(
                "unknown fault kind {:?} in {s:?} (expected {FORMS})",
                parts[0]
            ));
        };
        let a = parse_amount;
        let kind = match (name, &parts[1..]) {
            (FaultName::Reject, [r]) => FaultKind::Reject { amount: a(r)? },
            (FaultName::LoseAck, [r]) => FaultKind::LoseAck { amount: a(r)? },
            (FaultName::Delay, [r, ms]) => FaultKind::Delay {
                amount: a(r)?,
                ms: parse_ms(ms, "delay")?,
            },
            (FaultName::Reset, [r]) => FaultKind::Reset { amount: a(r)? },
            (FaultName::RefuseWindow, [r, ms]) => FaultKind::RefuseWindow {
                amount: a(r)?,
                ms: parse_span(ms)?,
            },
            (FaultName::TimeoutAfterAppend, [r, ms]) => FaultKind::TimeoutAfterAppend {
                amount: a(r)?,
                ms: parse_ms(ms, "span")?,
            },
            (FaultName::LeaderMove, [r, ms]) => FaultKind::LeaderMove {
                amount: a(r)?,
                ms: parse_span(ms)?,
            },
            (FaultName::Failover, []) => FaultKind::Failover,
            _ => {
                let example = match name {
                    FaultName::Reject | FaultName::LoseAck | FaultName::Reset => {
                        format!("{name}:1% or {name}:25/cell")
                    }
                    FaultName::Delay => "delay:1%:300ms or delay:25/cell:300ms".to_string(),
                    FaultName::Failover => "failover".to_string(),
                    other => format!("{other}:3/cell:200ms"),
                };
                return Err(format!("fault {s:?} is not of the form {example}"));
            }
        };
        Ok(kind)
    }
}

impl fmt::Display for FaultProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kinds.is_empty() {
            return f.write_str("none");
        }
        let parts: Vec<String> = self.kinds.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join("+"))
    }
}

impl FromStr for FaultProfile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s == "none" {
            return Ok(FaultProfile::None);
        }
        let kinds = s
            .split('+')
            .map(str::parse)
            .collect::<Result<Vec<FaultKind>, _>>()?;
        Ok(FaultProfile { kinds })
    }
}

impl Serialize for FaultProfile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FaultProfile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip() {
        for text in [
            "none",
            "reject:1%",
            "lose-ack:0.5%",
            "delay:2%:300ms",
            "reset:0.1%",
            "failover",
            "reject:1%+lose-ack:1%+failover",
        ] {
            let p: FaultProfile = text.parse().unwrap();
            assert_eq!(p.to_string(), text);
        }
    }

    #[test]
    fn slugs_are_file_name_safe() {
        let p: FaultProfile = "reject:1%+delay:0.25%:300ms".parse().unwrap();
        assert_eq!(p.slug(), "reject-1pct+delay-0.25pct-300ms");
        assert_eq!(FaultProfile::None.slug(), "none");
    }

    #[test]
    fn new_forms_round_trip_with_their_slugs() {
        for (text, slug) in [
            ("reject:25/cell", "reject-25-per-cell"),
            ("lose-ack:10/cell", "lose-ack-10-per-cell"),
            ("delay:5/cell:300ms", "delay-5-per-cell-300ms"),
            ("reset:3/cell", "reset-3-per-cell"),
            (
                "refuse-window:3/cell:200ms",
                "refuse-window-3-per-cell-200ms",
            ),
            ("refuse-window:0.5%:200ms", "refuse-window-0.5pct-200ms"),
            (
                "timeout-after-append:10/cell:500ms",
                "timeout-after-append-10-per-cell-500ms",
            ),
            (
                "timeout-after-append:10/cell:0ms",
                "timeout-after-append-10-per-cell-0ms",
            ),
            ("leader-move:3/cell:300ms", "leader-move-3-per-cell-300ms"),
            (
                "reject:25/cell+refuse-window:3/cell:200ms",
                "reject-25-per-cell+refuse-window-3-per-cell-200ms",
            ),
        ] {
            let p: FaultProfile = text.parse().unwrap();
            assert_eq!(p.to_string(), text);
            assert_eq!(p.slug(), slug);
            assert!(p.needs_proxy() && !p.needs_failover());
        }
        let p: FaultProfile = "refuse-window:3/cell:200ms".parse().unwrap();
        assert_eq!(
            p.kinds(),
            [FaultKind::RefuseWindow {
                amount: Amount::PerCell { events: 3 },
                ms: 200
            }]
        );
        assert_eq!(p.kinds()[0].span_ms(), Some(200));
        assert_eq!(p.kinds()[0].amount().unwrap().per_cell(), Some(3));
        assert!(FaultName::LeaderMove.lasts() && !FaultName::Delay.lasts());
        for name in FaultName::ALL {
            assert_eq!(name.as_str().parse::<FaultName>(), Ok(name));
        }
    }

    #[test]
    fn bad_profiles_name_the_problem() {
        let err = |s: &str| s.parse::<FaultProfile>().unwrap_err();
        assert_eq!(
            err("reject"),
            "fault \"reject\" is not of the form reject:1% or reject:25/cell"
        );
        assert_eq!(
            err("reject:1"),
            "amount \"1\" must be a percentage such as 1% or 0.5%, or a count per cell such as 25/cell"
        );
        assert_eq!(
            err("reject:0%"),
            "rate \"0%\" must be above 0% and at most 100%"
        );
        assert_eq!(
            err("delay:1%:soon"),
            "delay \"soon\" must be a whole number of milliseconds such as 300ms"
        );
        assert_eq!(
            err("reject:x/cell"),
            "event count \"x/cell\" is not a whole number followed by /cell, such as 25/cell"
        );
        assert_eq!(
            err("reject:-3/cell"),
            "event count \"-3/cell\" is not a whole number followed by /cell, such as 25/cell"
        );
        assert_eq!(
            err("reject:0/cell"),
            "event count \"0/cell\" must be from 1/cell to 100000/cell"
        );
        assert_eq!(
            err("refuse-window:3/cell:-200ms"),
            "span \"-200ms\" must be a whole number of milliseconds such as 300ms"
        );
        assert_eq!(
            err("refuse-window:3/cell:abc"),
            "span \"abc\" must be a whole number of milliseconds such as 300ms"
        );
        assert_eq!(
            err("refuse-window:3/cell:1.5ms"),
            "span \"1.5ms\" must be a whole number of milliseconds such as 300ms"
        );
        assert_eq!(
            err("leader-move:3/cell:0ms"),
            "span \"0ms\" must be at least 1ms"
        );
        assert_eq!(
            err("refuse-window:3/cell"),
            "fault \"refuse-window:3/cell\" is not of the form refuse-window:3/cell:200ms"
        );
        assert_eq!(
            err("timeout-after-append:5%"),
            "fault \"timeout-after-append:5%\" is not of the form timeout-after-append:3/cell:200ms"
        );
        assert_eq!(
            err("isr-shrink:3/cell:200ms"),
            "unknown fault kind \"isr-shrink\" in \"isr-shrink:3/cell:200ms\" (expected none, \
             reject:A, lose-ack:A, delay:A:Nms, reset:A, refuse-window:A:Nms, \
             timeout-after-append:A:Nms, leader-move:A:Nms or failover, mixed with +; \
             A is a rate such as 1% or a count per cell such as 25/cell)"
        );
        assert!(err("reject:1%+").starts_with("empty fault part"));
    }

    #[test]
    fn proxy_and_failover_needs() {
        let p: FaultProfile = "failover".parse().unwrap();
        assert!(p.needs_failover() && !p.needs_proxy());
        let p: FaultProfile = "reject:1%".parse().unwrap();
        assert!(!p.needs_failover() && p.needs_proxy());
    }
}
