//! Small statistics shared by the results, the report and the comparison.

use rand::{Rng, SeedableRng};

/// With no violation in `n_events` fault events, the upper bound at
/// `confidence` on the probability that one event causes a violation:
/// `1 − (1 − confidence)^(1/n)` (≈ 3/n at 95%: the rule of three over
/// events, not records, because a fault's violations come in one burst).
/// 1 (no evidence) for no event.
pub fn upper_bound_per_event(n_events: u64, confidence: f64) -> f64 {
    if n_events == 0 {
        return 1.0;
    }
    1.0 - (1.0 - confidence.clamp(0.0, 1.0)).powf(1.0 / n_events as f64)
}

/// Events a cell needs before "no violation observed" may be said of it
/// (the workload key `min_events`' default); below it the cell is "too few
/// faults to judge".
pub const DEFAULT_MIN_EVENTS: u64 = 20;

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
    let medians: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            for slot in buf.iter_mut() {
                *slot = values[rng.gen_range(0..values.len())];
            }
            median(&buf)
        })
        .collect();
    percentile_interval(medians, confidence)
}

/// The central `confidence` interval of bootstrap replicates.
fn percentile_interval(mut replicates: Vec<f64>, confidence: f64) -> (f64, f64) {
    replicates.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    (
        quantile_sorted(&replicates, tail),
        quantile_sorted(&replicates, 1.0 - tail),
    )
}

/// Percentile-bootstrap confidence interval of the median of values that
/// come in groups sharing their conditions (a cell's windows, grouped by
/// round): each resample draws groups with replacement, then values with
/// replacement within each drawn group, so the interval carries the spread
/// between rounds and not only within them. Fixed seed; with one group it
/// is [`bootstrap_median_ci`].
pub fn bootstrap_median_ci_grouped(groups: &[Vec<f64>], confidence: f64, seed: u64) -> (f64, f64) {
    const RESAMPLES: usize = 2_000;
    let groups: Vec<&Vec<f64>> = groups.iter().filter(|g| !g.is_empty()).collect();
    match groups.len() {
        0 => return (0.0, 0.0),
        1 => return bootstrap_median_ci(groups[0], confidence, seed),
        _ => {}
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut buf = Vec::new();
    let medians: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            buf.clear();
            for _ in 0..groups.len() {
                let g = groups[rng.gen_range(0..groups.len())];
                for _ in 0..g.len() {
                    buf.push(g[rng.gen_range(0..g.len())]);
                }
            }
            median(&buf)
        })
        .collect();
    percentile_interval(medians, confidence)
}

/// Percentile-bootstrap confidence interval of the relative change of
/// medians, `median(new) / median(base) - 1`, resampling each side
/// independently with a fixed seed (Criterion's approach, with medians
/// because a cell's samples are few and a single slow one is common).
/// `None` when a side is empty or the baseline median is not positive.
pub fn bootstrap_relative_change_ci(
    base: &[f64],
    new: &[f64],
    confidence: f64,
    seed: u64,
) -> Option<(f64, f64)> {
    const RESAMPLES: usize = 2_000;
    if base.is_empty() || new.is_empty() || median(base) <= 0.0 {
        return None;
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut b = vec![0.0; base.len()];
    let mut n = vec![0.0; new.len()];
    let mut changes: Vec<f64> = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        for slot in b.iter_mut() {
            *slot = base[rng.gen_range(0..base.len())];
        }
        for slot in n.iter_mut() {
            *slot = new[rng.gen_range(0..new.len())];
        }
        let mb = median(&b);
        // A resample of zeros has no relative change; it says nothing either way.
        if mb > 0.0 {
            changes.push(median(&n) / mb - 1.0);
        }
    }
    if changes.is_empty() {
        return None;
    }
    changes.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    Some((
        quantile_sorted(&changes, tail),
        quantile_sorted(&changes, 1.0 - tail),
    ))
}

/// Two-sided p-value of the Mann–Whitney U (Wilcoxon rank-sum) test that
/// `a` and `b` come from the same distribution. Exact for small samples
/// without ties, normal approximation with tie and continuity corrections
/// otherwise. 1 when either side is empty or every value is tied.
pub fn mann_whitney_p(a: &[f64], b: &[f64]) -> f64 {
    let (na, nb) = (a.len(), b.len());
    if na == 0 || nb == 0 {
        return 1.0;
    }
    // Rank the pooled values, ties sharing their mean rank.
    let mut pooled: Vec<(f64, bool)> = a
        .iter()
        .map(|&v| (v, true))
        .chain(b.iter().map(|&v| (v, false)))
        .collect();
    pooled.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = pooled.len();
    let mut rank_sum_a = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && pooled[j + 1].0 == pooled[i].0 {
            j += 1;
        }
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        rank_sum_a += mean_rank * pooled[i..=j].iter().filter(|p| p.1).count() as f64;
        i = j + 1;
    }
    let u = rank_sum_a - (na * (na + 1)) as f64 / 2.0;
    let (naf, nbf, nf) = (na as f64, nb as f64, n as f64);
    if tie_term == 0.0 && na * nb <= 400 {
        let dist = mann_whitney_exact(na, nb);
        let total: f64 = dist.iter().sum();
        let u = u.round() as usize;
        let below: f64 = dist[..=u].iter().sum::<f64>() / total;
        let above: f64 = dist[u..].iter().sum::<f64>() / total;
        return (2.0 * below.min(above)).min(1.0);
    }
    let mean = naf * nbf / 2.0;
    let var = naf * nbf / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
    if var <= 0.0 {
        return 1.0;
    }
    let z = ((u - mean).abs() - 0.5).max(0.0) / var.sqrt();
    erfc(z / std::f64::consts::SQRT_2).min(1.0)
}

/// Number of orderings of `na` + `nb` distinct values giving each U from 0 to na·nb.
fn mann_whitney_exact(na: usize, nb: usize) -> Vec<f64> {
    // counts[i][j][u]: orderings of i values of `a` and j of `b` with U = u.
    // The largest value is either an `a` (beating all j b's) or a `b`.
    let max_u = na * nb;
    let mut counts = vec![vec![vec![0.0f64; max_u + 1]; nb + 1]; na + 1];
    for i in 0..=na {
        for j in 0..=nb {
            if i == 0 || j == 0 {
                counts[i][j][0] = 1.0;
                continue;
            }
            for u in 0..=i * j {
                let from_a = if u >= j { counts[i - 1][j][u - j] } else { 0.0 };
                counts[i][j][u] = from_a + counts[i][j - 1][u];
            }
        }
    }
    std::mem::take(&mut counts[na][nb])
}

/// Complementary error function (Numerical Recipes' Chebyshev fit,
/// relative error below 1.2e-7: ample for a p-value).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_event_bounds() {
        let b = upper_bound_per_event(14, 0.95);
        assert!((b - 0.192_66).abs() < 1e-4, "{b}");
        assert_eq!(format!("{:.1}%", b * 100.0), "19.3%");
        assert!((upper_bound_per_event(1, 0.95) - 0.95).abs() < 1e-12);
        assert_eq!(upper_bound_per_event(0, 0.95), 1.0);
        // About 3/n for many events.
        let b = upper_bound_per_event(300, 0.95);
        assert!((b - 0.01).abs() < 0.0002, "{b}");
    }

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

    #[test]
    fn mann_whitney_exact_and_approximate() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [6.0, 7.0, 8.0, 9.0, 10.0];
        // Complete separation of 5 and 5: 2 of C(10,5) = 252 orderings.
        assert!((mann_whitney_p(&a, &b) - 2.0 / 252.0).abs() < 1e-12);
        assert!((mann_whitney_p(&b, &a) - 2.0 / 252.0).abs() < 1e-12);
        assert!(mann_whitney_p(&a, &a.map(|v| v + 0.5)) > 0.3);
        assert!(mann_whitney_p(&[1.0, 3.0, 5.0], &[2.0, 4.0, 6.0]) > 0.5);
        assert_eq!(mann_whitney_p(&[], &a), 1.0);
        assert_eq!(mann_whitney_p(&[1.0, 1.0], &[1.0, 1.0]), 1.0);
        // With ties: the normal approximation, still small for separated samples.
        let p = mann_whitney_p(&[1.0, 1.0, 2.0, 2.0, 3.0], &[7.0, 7.0, 8.0, 9.0, 9.0]);
        assert!(p < 0.02 && p > 0.005, "{p}");
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.959_964 / std::f64::consts::SQRT_2) - 0.05).abs() < 1e-6);
    }

    #[test]
    fn relative_change_interval_brackets_the_change() {
        let base: Vec<f64> = (0..10).map(|i| 100.0 + f64::from(i)).collect();
        let new: Vec<f64> = base.iter().map(|v| v * 0.8).collect();
        let (lo, hi) = bootstrap_relative_change_ci(&base, &new, 0.95, 7).unwrap();
        assert!(lo < -0.2 + 1e-9 && hi > -0.2 - 1e-9, "{lo} {hi}");
        assert!(hi < 0.0, "{hi}");
        assert_eq!(
            Some((lo, hi)),
            bootstrap_relative_change_ci(&base, &new, 0.95, 7)
        );
        assert_eq!(bootstrap_relative_change_ci(&[], &new, 0.95, 7), None);
        assert_eq!(bootstrap_relative_change_ci(&[0.0], &new, 0.95, 7), None);
    }
}
