//! Timestamps for run ids and `started_at`, in UTC, without a date crate.

/// Days since 1970-01-01 to a civil (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm), so no date crate is needed for a timestamp.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn utc_parts(t: std::time::SystemTime) -> (i64, u32, u32, u64, u64, u64) {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    (y, mo, d, s / 3_600, s % 3_600 / 60, s % 60)
}

/// RFC 3339 timestamp in UTC, e.g. `2026-11-27T14:04:20Z`.
pub fn rfc3339_utc(t: std::time::SystemTime) -> String {
    let (y, mo, d, h, mi, s) = utc_parts(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Compact UTC timestamp for ids and directory names, e.g. `20261127T140420Z`.
pub fn compact_utc(t: std::time::SystemTime) -> String {
    let (y, mo, d, h, mi, s) = utc_parts(t);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn utc_formats() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_788_260); // 2026-11-27T14:04:20Z
        assert_eq!(rfc3339_utc(t), "2026-11-27T14:04:20Z");
        assert_eq!(compact_utc(t), "20261127T140420Z");
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339_utc(leap), "2000-02-29T00:00:00Z");
    }
}
