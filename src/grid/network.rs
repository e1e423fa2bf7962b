//! The emulated network of a workload: round-trip times and bandwidth, and
//! how round-trip times are written (`2ms`, `500us`).

use serde::{Deserialize, Serialize};

/// The emulated network: round-trip times as an axis, and what every link shares.
///
/// The client↔broker link of every cell goes through the suite's proxy,
/// which delays each frame by half the round trip in each direction. On
/// the local cluster, broker↔broker replication links get the same round
/// trip when `replication` is on (a follower in another zone, a stretched
/// cluster), so `acks=all` pays for it as a multi-zone cluster does; or
/// their own round trip, `replication_rtt_ms`, the same for every cell (a
/// client across regions from a cluster within one region).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Network {
    /// Client↔broker round-trip times, milliseconds: one axis of the grid.
    pub rtt_ms: Vec<f64>,
    /// The round-trip times at which fault profiles other than `none` run
    /// (faults need many requests, which long round trips make slow).
    /// Empty: every RTT.
    pub fault_rtt_ms: Vec<f64>,
    /// Broker↔broker links get the cell's RTT too (local cluster only).
    pub replication: bool,
    /// Broker↔broker round trip, milliseconds, for every cell, instead of
    /// the cell's client RTT (needs `replication`; local cluster only).
    /// Unset: the cell's RTT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication_rtt_ms: Option<f64>,
    /// Jitter added to each frame's delay, uniform in 0..jitter_ms; it never
    /// reorders frames on a connection.
    pub jitter_ms: f64,
    /// Bandwidth of each direction of each link, Mbit/s; 0 is unlimited.
    pub bandwidth_mbit: f64,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            rtt_ms: vec![0.0, 2.0, 20.0],
            fault_rtt_ms: vec![20.0],
            replication: true,
            replication_rtt_ms: None,
            jitter_ms: 0.0,
            bandwidth_mbit: 0.0,
        }
    }
}

impl Network {
    /// No emulation: every link as it is.
    pub fn none() -> Network {
        Network {
            rtt_ms: vec![0.0],
            fault_rtt_ms: Vec::new(),
            replication: false,
            replication_rtt_ms: None,
            jitter_ms: 0.0,
            bandwidth_mbit: 0.0,
        }
    }

    /// True when any link is shaped (a delay, jitter or a bandwidth limit).
    pub fn emulates(&self) -> bool {
        self.rtt_ms.iter().any(|&r| r > 0.0)
            || self.replication_rtt_ms.is_some_and(|r| r > 0.0)
            || self.jitter_ms > 0.0
            || self.bandwidth_mbit > 0.0
    }

    /// The broker↔broker round trip of a cell whose client RTT is
    /// `cell_rtt_us`, microseconds: `replication_rtt_ms` when set, else the
    /// cell's; `None` when replication links are not emulated.
    pub fn replication_rtt_us(&self, cell_rtt_us: u64) -> Option<u64> {
        self.replication
            .then(|| self.replication_rtt_ms.map_or(cell_rtt_us, ms_to_us))
    }

    /// Bandwidth in bytes per second, when limited.
    pub fn bandwidth_bytes_per_sec(&self) -> Option<u64> {
        (self.bandwidth_mbit > 0.0).then(|| (self.bandwidth_mbit * 1e6 / 8.0) as u64)
    }

    pub(super) fn validate(&self) -> Result<(), String> {
        if self.rtt_ms.is_empty() {
            return Err("network.rtt_ms needs at least one value (0 for no delay)".into());
        }
        for &r in self.rtt_ms.iter().chain(&self.fault_rtt_ms) {
            if !r.is_finite() || !(0.0..=10_000.0).contains(&r) {
                return Err(format!(
                    "network RTT {r} ms is out of range (expected 0 to 10000 ms)"
                ));
            }
        }
        if let Some(r) = self.replication_rtt_ms {
            if !r.is_finite() || !(0.0..=10_000.0).contains(&r) {
                return Err(format!(
                    "network.replication_rtt_ms {r} is out of range (expected 0 to 10000 ms)"
                ));
            }
            if !self.replication {
                return Err(format!(
                    "network.replication_rtt_ms {r} needs replication = true (the local \
                     cluster's replication links)"
                ));
            }
        }
        if !self.jitter_ms.is_finite() || self.jitter_ms < 0.0 {
            return Err(format!(
                "network.jitter_ms {} must be 0 or more",
                self.jitter_ms
            ));
        }
        if !self.bandwidth_mbit.is_finite() || self.bandwidth_mbit < 0.0 {
            return Err(format!(
                "network.bandwidth_mbit {} must be more than 0 (or 0 for unlimited)",
                self.bandwidth_mbit
            ));
        }
        Ok(())
    }
}

/// Parses a round-trip time as users write it: `2ms`, `0.2ms`, `500us`,
/// `1s`, or a bare number of milliseconds. Returns microseconds.
pub fn parse_rtt(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1e6)
    } else {
        (t, 1e3)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("RTT {text:?} is not a duration (expected e.g. 2ms, 0.2ms, 500us)"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("RTT {text:?} must be 0 or more"));
    }
    let us = value * scale;
    if us > 10_000_000.0 {
        return Err(format!("RTT {text:?} is above 10 s"));
    }
    Ok(us.round() as u64)
}

/// Writes microseconds the way cell ids and reports show an RTT: `0ms`,
/// `0.2ms`, `20ms`.
pub fn fmt_rtt(rtt_us: u64) -> String {
    if rtt_us % 1000 == 0 {
        format!("{}ms", rtt_us / 1000)
    } else {
        let s = format!("{:.3}", rtt_us as f64 / 1e3);
        format!("{}ms", s.trim_end_matches('0').trim_end_matches('.'))
    }
}

pub(super) fn ms_to_us(ms: f64) -> u64 {
    (ms * 1e3).round() as u64
}
