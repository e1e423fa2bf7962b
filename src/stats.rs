//! Small statistics shared by the results, the report and the comparison.

use rand::{Rng, SeedableRng};

/// Median of the values (mean of the middle two for an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The `q` quantile (0..=1) of sorted values, linearly interpolated.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Percentile-bootstrap confidence interval of the median, with a fixed seed
/// so the same samples always give the same interval.
pub fn bootstrap_median_ci(values: &[f64], confidence: f64, seed: u64) -> (f64, f64) {
    const RESAMPLES: usize = 2_000;
    match values.len() {
        0 => return (0.0, 0.0),
        1 => return (values[0], values[0]),
        _ => {}
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut buf = vec![0.0; values.len()];
    let mut medians: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            for slot in buf.iter_mut() {
                *slot = values[rng.gen_range(0..values.len())];
            }
            median(&buf)
        })
        .collect();
    medians.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    (
        quantile_sorted(&medians, tail),
        quantile_sorted(&medians, 1.0 - tail),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_and_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn bootstrap_interval_brackets_median_and_is_deterministic() {
        let v: Vec<f64> = (1..=21).map(f64::from).collect();
        let (lo, hi) = bootstrap_median_ci(&v, 0.95, 1);
        assert!(
            lo <= 11.0 && hi >= 11.0 && lo >= 1.0 && hi <= 21.0,
            "{lo} {hi}"
        );
        assert!(hi - lo < 10.0);
        assert_eq!((lo, hi), bootstrap_median_ci(&v, 0.95, 1));
    }
}
