//! Phrases the summary's sections share (the conclusion, the tables, the
//! network section): a setting in bold, a throughput with its interval,
//! violations by kind, fixed-load quantiles, plurals. Each is written here
//! once so the same figure reads the same in every section.

use crate::grid::ProducerSettings;
use crate::verify::AnomalyKind;

use super::fmt;
use super::model::{setting_text, Meas};

pub(super) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `in-flight 5, acks=all, idempotent` in bold.
pub(super) fn b(s: &ProducerSettings) -> String {
    format!("**{}**", setting_text(s))
}

pub(super) fn rate_ci(x: &Meas) -> String {
    format!(
        "{} records/s (95% CI {}–{})",
        fmt::rate(x.rps),
        fmt::rate(x.ci_low),
        fmt::rate(x.ci_high)
    )
}

pub(super) fn kinds_text(x: &Meas) -> String {
    let mut parts = Vec::new();
    for kind in AnomalyKind::VIOLATIONS {
        let n = x.count(kind);
        if n > 0 {
            parts.push(format!(
                "{} {} ({}/M)",
                fmt::int(n),
                kind.plural(),
                fmt::sig3(x.per_million(n))
            ));
        }
    }
    parts.join(", ")
}

/// The fixed-load p50, p99 and p99.9 cells of a table: `–` without the
/// phase, "n too small" where too few records lie above a quantile.
pub(super) fn fixed_load_cells(x: &Meas) -> [String; 3] {
    match &x.fixed_load {
        None => ["–".into(), "–".into(), "–".into()],
        Some(f) => {
            let q = |v: Option<u64>| v.map_or_else(|| "n too small".to_string(), fmt::ms);
            [fmt::ms(f.p50_us), q(f.p99_us), q(f.p999_us)]
        }
    }
}

/// The producers and keys of a cell beyond the default (one producer,
/// no keys): `""` for the default, else e.g. `", 4 producers per cell (each
/// its own client instance), 1,000 keys (zipf; a key's partition is its
/// index mod partitions)"`.
pub(super) fn producers_and_keys(f: &crate::grid::Fixed) -> String {
    let mut s = String::new();
    if f.producers > 1 {
        s.push_str(&format!(
            ", {} producers per cell (each its own client instance)",
            f.producers
        ));
    }
    if f.keys > 0 {
        s.push_str(&format!(
            ", {} key{} ({}; a key's partition is its index mod partitions)",
            super::fmt::int(f.keys),
            plural(f.keys as usize),
            f.key_distribution.name()
        ));
    }
    s
}
