//! Named, parameterised fault profiles and their text forms.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One kind of fault with its rate. Rates are in parts per million of
/// Produce requests, so that `0.1%` is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// Answer a Produce request with a retriable error without forwarding it:
    /// the batch is not appended, later batches are.
    Reject { rate_ppm: u32 },
    /// Forward a Produce request, then replace the broker's answer with a
    /// retriable error: the batch is appended but the client does not know.
    LoseAck { rate_ppm: u32 },
    /// Hold a Produce request for `ms` milliseconds before forwarding it.
    Delay { rate_ppm: u32, ms: u32 },
    /// Close the client's connection instead of forwarding a Produce request.
    Reset { rate_ppm: u32 },
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
    Failover,
}

impl FaultName {
    /// Every kind, in report order.
    pub const ALL: [FaultName; 5] = [
        FaultName::Reject,
        FaultName::LoseAck,
        FaultName::Delay,
        FaultName::Reset,
        FaultName::Failover,
    ];

    /// The kinds the fault proxy injects (all but failover, which kills a
    /// broker), in the order of its counters.
    pub const PROXY: [FaultName; 4] = [
        FaultName::Reject,
        FaultName::LoseAck,
        FaultName::Delay,
        FaultName::Reset,
    ];

    /// The name in profiles, JSON and reports: `reject`, `lose-ack`,
    /// `delay`, `reset` or `failover`.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultName::Reject => "reject",
            FaultName::LoseAck => "lose-ack",
            FaultName::Delay => "delay",
            FaultName::Reset => "reset",
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
            FaultName::Failover => "leader failover",
        }
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
            FaultKind::Failover => FaultName::Failover,
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
            .map(|k| k.to_string().replace('%', "pct").replace(':', "-"))
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

fn parse_ms(s: &str) -> Result<u32, String> {
    s.strip_suffix("ms")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("delay {s:?} must be a whole number of milliseconds such as 300ms"))
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        match *self {
            FaultKind::Reject { rate_ppm }
            | FaultKind::LoseAck { rate_ppm }
            | FaultKind::Reset { rate_ppm } => write!(f, "{name}:{}", fmt_rate(rate_ppm)),
            FaultKind::Delay { rate_ppm, ms } => write!(f, "{name}:{}:{ms}ms", fmt_rate(rate_ppm)),
            FaultKind::Failover => f.write_str(name),
        }
    }
}

impl FromStr for FaultKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.trim().split(':').collect();
        let name = parts[0].parse::<FaultName>().ok();
        let kind = match (name, &parts[1..]) {
            (Some(FaultName::Reject), [r]) => FaultKind::Reject { rate_ppm: parse_rate(r)? },
            (Some(FaultName::LoseAck), [r]) => FaultKind::LoseAck { rate_ppm: parse_rate(r)? },
            (Some(FaultName::Delay), [r, ms]) => {
                FaultKind::Delay { rate_ppm: parse_rate(r)?, ms: parse_ms(ms)? }
            }
            (Some(FaultName::Reset), [r]) => FaultKind::Reset { rate_ppm: parse_rate(r)? },
            (Some(FaultName::Failover), []) => FaultKind::Failover,
            (None, []) if parts[0].is_empty() => {
                return Err(
                    "empty fault part (hint: parts are joined with +, e.g. reject:1%+lose-ack:1%, with none before or after a +)"
                        .to_string(),
                )
            }
            _ => {
                return Err(format!(
                    "unknown fault {s:?} (expected none, reject:R%, lose-ack:R%, delay:R%:Nms, reset:R% or failover, mixed with +)"
                ))
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
    fn bad_profiles_name_the_problem() {
        assert!("reject"
            .parse::<FaultProfile>()
            .unwrap_err()
            .contains("unknown fault"));
        assert!("reject:1"
            .parse::<FaultProfile>()
            .unwrap_err()
            .contains("percentage"));
        assert!("reject:0%"
            .parse::<FaultProfile>()
            .unwrap_err()
            .contains("above 0%"));
        assert!("delay:1%:soon"
            .parse::<FaultProfile>()
            .unwrap_err()
            .contains("milliseconds"));
    }

    #[test]
    fn proxy_and_failover_needs() {
        let p: FaultProfile = "failover".parse().unwrap();
        assert!(p.needs_failover() && !p.needs_proxy());
        let p: FaultProfile = "reject:1%".parse().unwrap();
        assert!(!p.needs_failover() && p.needs_proxy());
    }
}
