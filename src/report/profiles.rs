//! The industry profiles (`data/profiles.toml`): settings the seed article
//! attributes to companies, looked up in a run's results.

use serde::Deserialize;

use crate::grid::Acks;

/// The profiles file, compiled in so a report never depends on the working directory.
const PROFILES_TOML: &str = include_str!("../../data/profiles.toml");

/// One industry profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub sector: String,
    pub company: String,
    pub use_case: String,
    /// Inclusive range of `max.in.flight`; `lo == hi` for a single value.
    pub in_flight_lo: u32,
    pub in_flight_hi: u32,
    pub idempotence: bool,
    /// `acks` as the data file gives it; `None` when the source does not say.
    pub acks: Option<Acks>,
}

impl Profile {
    /// `acks` to look the profile up with: the given one, else `all`.
    pub fn acks_or_assumed(&self) -> Acks {
        self.acks.unwrap_or(Acks::All)
    }

    /// `5` or `1-3`.
    pub fn in_flight_text(&self) -> String {
        if self.in_flight_lo == self.in_flight_hi {
            self.in_flight_lo.to_string()
        } else {
            format!("{}-{}", self.in_flight_lo, self.in_flight_hi)
        }
    }

    pub fn covers(&self, in_flight: u32) -> bool {
        (self.in_flight_lo..=self.in_flight_hi).contains(&in_flight)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    profile: Vec<RawProfile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    sector: String,
    company: String,
    use_case: String,
    max_in_flight: String,
    idempotence: bool,
    acks: Option<Acks>,
}

/// Parses a profiles file.
pub fn parse(text: &str) -> Result<Vec<Profile>, String> {
    let file: File = toml::from_str(text).map_err(|e| e.message().to_string())?;
    file.profile
        .into_iter()
        .map(|p| {
            let range = |s: &str| -> Option<(u32, u32)> {
                match s.split_once('-') {
                    Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
                    None => {
                        let v = s.trim().parse().ok()?;
                        Some((v, v))
                    }
                }
            };
            let (lo, hi) = range(&p.max_in_flight)
                .filter(|(lo, hi)| *lo >= 1 && lo <= hi)
                .ok_or_else(|| {
                    format!(
                        "{} {}: max_in_flight {:?} is not N or LO-HI with 1 <= LO <= HI",
                        p.company, p.use_case, p.max_in_flight
                    )
                })?;
            Ok(Profile {
                sector: p.sector,
                company: p.company,
                use_case: p.use_case,
                in_flight_lo: lo,
                in_flight_hi: hi,
                idempotence: p.idempotence,
                acks: p.acks,
            })
        })
        .collect()
}

/// The profiles shipped in `data/profiles.toml`.
pub fn builtin() -> Vec<Profile> {
    // A unit test parses the file, so this cannot fail in a released build.
    parse(PROFILES_TOML).expect("data/profiles.toml parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_profiles_parse() {
        let p = builtin();
        assert_eq!(p.len(), 12);
        let visa = p.iter().find(|p| p.company == "Visa").unwrap();
        assert_eq!((visa.in_flight_lo, visa.in_flight_hi), (1, 3));
        assert!(visa.idempotence && visa.acks.is_none());
        assert_eq!(visa.in_flight_text(), "1-3");
    }

    #[test]
    fn bad_range_is_named() {
        let e = parse(
            "[[profile]]\nsector='s'\ncompany='c'\nuse_case='u'\nmax_in_flight='5-1'\nidempotence=true\n",
        )
        .unwrap_err();
        assert!(e.contains("\"5-1\""), "{e}");
    }
}
