//! Rules of the comparison, asserted on exact values.

use super::*;
use crate::grid::{Acks, Cell, ProducerSettings, Workload};
use crate::results::{
    CellNetwork, CellResult, ClientCounters, DeliveryCounts, Exposure, Latency, Measurement,
    Results, RunMeta, Sample, Throughput,
};
use crate::verify::{permitted, Verdict};

/// Relative wobble of a healthy cell's samples: about ±3%.
const WOBBLE: [f64; 10] = [1.0, 0.98, 1.02, 0.99, 1.01, 0.97, 1.03, 1.0, 0.985, 1.015];

fn run(librdkafka: &str) -> RunMeta {
    let workload = Workload {
        faults: vec!["none".parse().unwrap(), "reject:1%".parse().unwrap()],
        // Across a round trip: no cell is machine-bound for want of one.
        network: crate::grid::Network {
            rtt_ms: vec![2.0],
            fault_rtt_ms: Vec::new(),
            ..crate::grid::Network::none()
        },
        ..Workload::quick()
    };
    fixture::run_meta(&format!("run-{librdkafka}"), librdkafka, workload)
}

/// A measured cell whose samples run at `rate` records/s and `p99_us`,
/// each scaled by the wobble.
fn measured(cell: &Cell, rate: f64, p99_us: f64) -> CellResult {
    let samples: Vec<Sample> = WOBBLE
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let records = 10_000u64;
            Sample {
                // Five rounds of two windows: the rounds are the units compared.
                round: i as u32 / 2,
                records,
                bytes: records * 1024,
                elapsed_ns: (records as f64 * 1e9 / (rate * w)).round() as u64,
                p50_us: (p99_us * w / 4.0) as u64,
                p99_us: (p99_us * (2.0 - w)).round() as u64,
            }
        })
        .collect();
    let latency = Latency {
        count: 100_000,
        p50_us: 0,
        p90_us: 0,
        p99_us: p99_us as u64,
        p999_us: 0,
        p9999_us: 0,
        max_us: 0,
        mean_us: 0.0,
        histogram: String::new(),
    };
    let mut faults = BTreeMap::new();
    if !cell.faults.is_none() {
        faults.insert("reject".to_string(), 40);
    }
    CellResult::new(
        cell,
        CellNetwork::requested(cell),
        Outcome::Measured(Box::new(Measurement {
            topic: format!("kob-{}", cell.id()),
            effective: BTreeMap::new(),
            throughput: Throughput::from_samples(&samples, 1024),
            samples,
            latency,
            fixed_load: None,
            delivery: DeliveryCounts::default(),
            client: ClientCounters::default(),
            exposure: Exposure {
                faults_injected: faults,
                client_retries: 40,
                ..Exposure::default()
            },
            verdict: Verdict {
                permitted: permitted(&cell.settings),
                ..Verdict::default()
            },
            criterion: None,
            conditions: Default::default(),
        })),
    )
}

/// A run of the quick grid under `none` and `reject:1%`, every cell
/// measured at a rate that depends on its settings, except the
/// configurations the client rejects (idempotence with in-flight > 5).
fn results(librdkafka: &str) -> Results {
    let meta = run(librdkafka);
    let mut r = Results::new(meta.clone());
    for cell in meta.workload.cells() {
        let s = cell.settings;
        let outcome = if s.idempotence && s.max_in_flight > 5 {
            CellResult::new(
                &cell,
                CellNetwork::requested(&cell),
                Outcome::Rejected {
                    message: "`max.in.flight` must be <= 5 with idempotence".into(),
                },
            )
        } else {
            let rate = 20_000.0 * f64::from(s.max_in_flight.min(5));
            measured(&cell, rate, 2_000.0 + 100.0 * f64::from(s.max_in_flight))
        };
        r.cells.push(outcome);
    }
    r.complete = true;
    r
}

fn cell_mut<'a>(r: &'a mut Results, id: &str) -> &'a mut CellResult {
    r.cells.iter_mut().find(|c| c.id == id).unwrap()
}

fn scale_samples(c: &mut CellResult, rate_factor: f64, p99_factor: f64) {
    let Outcome::Measured(m) = &mut c.outcome else {
        panic!("not measured")
    };
    for s in &mut m.samples {
        s.elapsed_ns = (s.elapsed_ns as f64 / rate_factor).round() as u64;
        s.p99_us = (s.p99_us as f64 * p99_factor).round() as u64;
    }
}

const IDEM: &str = "rtt=2ms,inflight=5,acks=all,idem=true,faults=reject-1pct";
const PLAIN: &str = "rtt=2ms,inflight=5,acks=1,idem=false,faults=none";

fn find<'a>(c: &'a Comparison, id: &str) -> &'a CellComparison {
    c.cells.iter().find(|x| x.id == id).unwrap()
}

#[test]
fn identical_runs_show_no_change() {
    let base = results("2.3.0");
    let c = compare(&base, &base.clone(), &CompareOptions::default());
    assert!(c.comparable() && !c.regressed());
    assert_eq!(c.summary.cells_compared, 24);
    assert_eq!(c.summary.cells.not_significant, 24);
    // 24 cells, 4 rejected on each side (idem=true, in-flight 10, two acks, two profiles).
    assert_eq!(c.summary.throughput.not_significant, 20);
    // Latency is not judged from windows taken at saturation.
    assert_eq!(c.summary.client_cpu.not_significant, 0);
    let m = find(&c, PLAIN).throughput.as_ref().unwrap();
    // Each side is resampled on its own, so the interval has the width
    // of the samples' spread even for identical data.
    assert_eq!(m.change, 0.0);
    assert!(m.change_ci_low < 0.0 && m.change_ci_high > 0.0, "{m:?}");
    assert!(m.change_ci_low > -0.05 && m.change_ci_high < 0.05, "{m:?}");
    assert!(m.p_value > 0.9, "{}", m.p_value);
    assert!(c.only_in_base.is_empty() && c.only_in_new.is_empty());
    assert!(c.notes[0].starts_with("Both runs used librdkafka 2.3.0"));
}

#[test]
fn real_throughput_drop_is_regressed() {
    let base = results("2.3.0");
    let mut new = results("2.10.0");
    scale_samples(cell_mut(&mut new, PLAIN), 0.8, 1.0);
    let c = compare(&base, &new, &CompareOptions::default());
    assert!(c.comparable() && c.regressed());
    let cell = find(&c, PLAIN);
    let m = cell.throughput.as_ref().unwrap();
    assert_eq!(m.verdict, ChangeVerdict::Regressed);
    assert!((m.change + 0.2).abs() < 0.01, "{}", m.change);
    assert!(m.change_ci_high < -0.05 && m.change_ci_low > -0.3, "{m:?}");
    assert!(m.p_value < 0.001, "{}", m.p_value);
    assert!(matches!(
        cell.regressions[..],
        [Regression::Throughput { .. }]
    ));
    assert!(cell.client_cpu.is_none());
    assert_eq!(c.summary.cells.regressed, 1);
    assert_eq!(c.summary.throughput.regressed, 1);
    assert_eq!(c.summary.ordering_regressions, 0);
    assert!(c.notes.is_empty(), "{:?}", c.notes);
}

#[test]
fn throughput_gain_is_improved() {
    let base = results("2.3.0");
    let mut new = results("2.10.0");
    scale_samples(cell_mut(&mut new, PLAIN), 1.3, 1.0);
    let c = compare(&base, &new, &CompareOptions::default());
    assert!(!c.regressed());
    assert_eq!(find(&c, PLAIN).verdict, ChangeVerdict::Improved);
    assert_eq!(c.summary.cells.improved, 1);
}

#[test]
fn noise_sized_wobble_is_not_significant() {
    let base = results("2.3.0");
    let mut new = results("2.10.0");
    // Shuffle the wobble: the same spread, another order.
    if let Outcome::Measured(m) = &mut cell_mut(&mut new, PLAIN).outcome {
        m.samples.reverse();
        m.samples.rotate_left(3);
    }
    // A consistent 3% drop: detectable, but inside the ±5% noise band.
    scale_samples(cell_mut(&mut new, IDEM), 0.97, 1.03);
    let c = compare(&base, &new, &CompareOptions::default());
    assert!(!c.regressed(), "{:?}", c.worst_regressions(3));
    let wobble = find(&c, PLAIN).throughput.as_ref().unwrap();
    assert_eq!(wobble.verdict, ChangeVerdict::NotSignificant);
    assert!(wobble.p_value > 0.5, "{}", wobble.p_value);
    let small = find(&c, IDEM).throughput.as_ref().unwrap();
    assert_eq!(small.verdict, ChangeVerdict::NotSignificant);
    // Detectable (the rank test is significant), but its interval reaches
    // into the noise band: Criterion calls that no change.
    assert!(small.p_value < 0.05, "{small:?}");
    assert!(small.change_ci_high > -0.05, "{small:?}");
    // With a ±0.5% threshold the same 3% drop is a regression.
    let strict = CompareOptions {
        noise: 0.005,
        ..CompareOptions::default()
    };
    let c = compare(&base, &new, &strict);
    let cell = find(&c, IDEM);
    assert_eq!(
        cell.throughput.as_ref().unwrap().verdict,
        ChangeVerdict::Regressed
    );
    // Latency is not judged from the windows (taken at saturation).
    assert!(cell.client_cpu.is_none());
}

#[test]
fn new_reorder_under_same_faults_is_an_ordering_regression_whatever_the_noise() {
    let base = results("2.3.0");
    let mut new = results("2.10.0");
    if let Outcome::Measured(m) = &mut cell_mut(&mut new, IDEM).outcome {
        m.verdict.reorders.count = 3;
    }
    let lenient = CompareOptions {
        noise: 0.99,
        ..CompareOptions::default()
    };
    let c = compare(&base, &new, &lenient);
    assert!(c.regressed());
    let cell = find(&c, IDEM);
    assert_eq!(
        cell.regressions,
        vec![Regression::NewAnomaly {
            anomaly: AnomalyKind::Reorder,
            count: 3,
            permitted: false
        }]
    );
    let o = cell.ordering.as_ref().unwrap();
    assert_eq!((o.base_violations, o.new_violations), (0, 3));
    assert_eq!((o.base_faults_injected, o.new_faults_injected), (40, 40));
    assert_eq!(c.summary.ordering_regressions, 1);
    assert_eq!(
        cell.regressions[0].describe(),
        "reorders 0 → 3 (a guarantee this configuration promises no longer holds)"
    );
}

#[test]
fn more_of_a_kind_already_seen_is_not_an_ordering_regression() {
    let mut base = results("2.3.0");
    let mut new = results("2.10.0");
    if let Outcome::Measured(m) = &mut cell_mut(&mut base, PLAIN).outcome {
        m.verdict.reorders.count = 2;
    }
    if let Outcome::Measured(m) = &mut cell_mut(&mut new, PLAIN).outcome {
        m.verdict.reorders.count = 9;
        m.verdict.gaps.count = 1;
    }
    let c = compare(&base, &new, &CompareOptions::default());
    // Reorders were already there; the gap is a new kind (permitted everywhere).
    assert_eq!(
        find(&c, PLAIN).regressions,
        vec![Regression::NewAnomaly {
            anomaly: AnomalyKind::Gap,
            count: 1,
            permitted: true
        }]
    );
}

#[test]
fn cell_turned_rejected_is_a_regression() {
    let base = results("2.3.0");
    let mut new = results("2.10.0");
    cell_mut(&mut new, IDEM).outcome = Outcome::Rejected {
        message: "Invalid configuration".into(),
    };
    let c = compare(&base, &new, &CompareOptions::default());
    assert!(c.regressed());
    let cell = find(&c, IDEM);
    assert_eq!(
        (cell.base_status, cell.new_status),
        (Status::Measured, Status::Rejected)
    );
    assert_eq!(
        cell.regressions,
        vec![Regression::StatusChanged {
            from: Status::Measured,
            to: Status::Rejected,
            message: Some("Invalid configuration".into())
        }]
    );
    assert!(cell.throughput.is_none() && cell.ordering.is_none());
    assert_eq!(
        cell.regressions[0].describe(),
        "measured → rejected: Invalid configuration"
    );
}

#[test]
fn rejected_turned_measured_is_a_regression_failed_baseline_is_not() {
    let mut base = results("2.3.0");
    let mut new = results("2.10.0");
    let rejected = "rtt=2ms,inflight=10,acks=all,idem=true,faults=none";
    let m = measured(
        &Cell {
            client: Default::default(),
            rtt_us: 0,
            settings: ProducerSettings {
                max_in_flight: 10,
                acks: Acks::All,
                idempotence: true,
            },
            faults: "none".parse().unwrap(),
        },
        100_000.0,
        2_000.0,
    );
    cell_mut(&mut new, rejected).outcome = m.outcome;
    cell_mut(&mut base, PLAIN).outcome = Outcome::Failed {
        message: "timed out".into(),
    };
    let c = compare(&base, &new, &CompareOptions::default());
    assert_eq!(c.summary.cells.regressed, 1);
    assert!(matches!(
        find(&c, rejected).regressions[..],
        [Regression::StatusChanged {
            from: Status::Rejected,
            to: Status::Measured,
            ..
        }]
    ));
    let recovered = find(&c, PLAIN);
    assert!(recovered.regressions.is_empty());
    assert_eq!(recovered.base_message.as_deref(), Some("timed out"));
}

#[test]
fn an_unknown_broker_version_alone_is_a_note() {
    let base = results("2.3.0");
    let mut new = results("2.3.0");
    new.run.cluster.broker_version = None;
    let c = compare(&base, &new, &CompareOptions::default());
    assert!(c.comparable(), "{:?}", c.differences);
    assert!(
        c.notes
            .iter()
            .any(|n| n.starts_with("Broker version 4.0.0 vs (unknown): unknown for the new run")),
        "{:?}",
        c.notes
    );
}

#[test]
fn incomparable_runs_are_refused_with_the_reason() {
    let base = results("2.3.0");
    let mut new = results("2.10.0");
    new.run.workload.fixed.record_bytes = 512;
    new.run.cluster.broker_version = Some("3.9.1".into());
    new.run.cluster.brokers = 1;
    let c = compare(&base, &new, &CompareOptions::default());
    assert!(!c.comparable() && !c.regressed());
    assert!(!c.summary.comparable);
    assert!(c.cells.is_empty());
    let diff = |f: &str, b: &str, n: &str| Difference {
        field: f.into(),
        base: b.into(),
        new: n.into(),
    };
    assert_eq!(
        c.differences,
        vec![
            diff("workload.fixed.record_bytes", "1024", "512"),
            diff("cluster.brokers", "3", "1"),
            diff("cluster.broker_version", "4.0.0", "3.9.1"),
        ]
    );
    let md = render_markdown(&c);
    assert!(md.contains("**Not comparable**"), "{md}");
    assert!(
        md.contains("| `workload.fixed.record_bytes` | 1024 | 512 |"),
        "{md}"
    );
}

#[test]
fn seed_and_disjoint_grids_are_refused() {
    let base = results("2.3.0");
    let mut new = results("2.3.0");
    new.run.workload.seed = 43;
    new.cells.retain(|c| c.faults.is_none());
    for c in &mut new.cells {
        c.id = c.id.replace("faults=none", "faults=failover");
    }
    let c = compare(&base, &new, &CompareOptions::default());
    let fields: Vec<&str> = c.differences.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, ["workload.seed", "cells"]);
}

#[test]
fn different_librdkafka_and_subset_grid_are_comparable_and_noted() {
    let base = results("2.3.0");
    let mut new = results("2.10.0");
    new.cells.retain(|c| c.faults.is_none());
    new.run.workload.faults.truncate(1);
    new.complete = false;
    new.run.machine.cores = 4;
    let c = compare(&base, &new, &CompareOptions::default());
    assert!(c.comparable(), "{:?}", c.differences);
    assert_eq!(c.summary.cells_compared, 12);
    assert_eq!(c.only_in_base.len(), 12);
    assert!(c
        .only_in_base
        .iter()
        .all(|id| id.ends_with("faults=reject-1pct")));
    assert!(c.only_in_new.is_empty());
    assert_eq!(c.notes.len(), 3, "{:?}", c.notes);
    assert!(c.notes[0].contains("8 vs 4 cores"));
    assert!(c.notes[1].contains("interrupted"));
    assert!(c.notes[2].contains("grids differ"));
}

#[test]
fn worst_regressions_put_broken_guarantees_first() {
    let base = results("2.3.0");
    let mut new = results("2.10.0");
    scale_samples(cell_mut(&mut new, PLAIN), 0.5, 1.0);
    scale_samples(
        cell_mut(&mut new, "rtt=2ms,inflight=1,acks=1,idem=false,faults=none"),
        0.8,
        1.0,
    );
    if let Outcome::Measured(m) = &mut cell_mut(&mut new, IDEM).outcome {
        m.verdict.log_duplicates.count = 1;
    }
    let c = compare(&base, &new, &CompareOptions::default());
    let worst: Vec<&str> = c.worst_regressions(5).iter().map(|(id, _)| *id).collect();
    assert_eq!(
        worst,
        [
            IDEM,
            PLAIN,
            "rtt=2ms,inflight=1,acks=1,idem=false,faults=none"
        ]
    );
    let md = render_markdown(&c);
    assert!(
        md.contains(
            "**Regressed**: 3 of 24 cells regressed (1 with an ordering or status regression)."
        ),
        "{md}"
    );
    assert!(
        md.contains("- Throughput: 2 regressed, 0 improved, 18 not significant, 0 machine-bound (not compared)."),
        "{md}"
    );
    assert!(
        md.contains(
            "1. `rtt=2ms,inflight=5,acks=all,idem=true,faults=reject-1pct`: log duplicates 0 → 1"
        ),
        "{md}"
    );
    assert!(
        md.contains("| librdkafka | **2.3.0** | **2.10.0** |"),
        "{md}"
    );
}

#[test]
fn svg_is_deterministic_and_parses() {
    let base = results("2.3.0");
    let mut new = results("2.10.0");
    scale_samples(cell_mut(&mut new, PLAIN), 0.8, 1.0);
    let c = compare(&base, &new, &CompareOptions::default());
    let svg = render_svg(&c);
    assert_eq!(
        svg,
        render_svg(&compare(&base, &new, &CompareOptions::default()))
    );
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    for cell in &c.cells {
        assert!(texts.contains(&cell.id.as_str()), "{} missing", cell.id);
    }
    // One dot per cell measured on both sides (throughput; latency is not
    // judged).
    let circles = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .count();
    assert_eq!(circles, 20);
    let red = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle") && n.attribute("fill") == Some("#C82828"))
        .count();
    assert_eq!(red, 1);
}

#[test]
fn comparison_json_round_trips() {
    let base = results("2.3.0");
    let mut new = results("2.10.0");
    scale_samples(cell_mut(&mut new, PLAIN), 0.8, 1.0);
    let c = compare(&base, &new, &CompareOptions::default());
    let json = serde_json::to_string(&c).unwrap();
    let back: Comparison = serde_json::from_str(&json).unwrap();
    // serde_json may round the last bit of a float when parsing: compare
    // everything else.
    assert_eq!(back.summary, c.summary);
    assert_eq!(back.differences, c.differences);
    let verdicts = |c: &Comparison| -> Vec<(String, ChangeVerdict, usize)> {
        c.cells
            .iter()
            .map(|x| (x.id.clone(), x.verdict, x.regressions.len()))
            .collect()
    };
    assert_eq!(verdicts(&back), verdicts(&c));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let r = &v["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == PLAIN)
        .unwrap()["regressions"][0];
    assert_eq!(r["kind"], "throughput");
}

#[test]
fn svg_says_machine_bound_cells_are_not_compared() {
    let mut base = results("2.3.0");
    let mut new = results("2.10.0");
    for r in [&mut base, &mut new] {
        let c = cell_mut(r, PLAIN);
        c.network.rtt_us = 0;
        c.network.replication_rtt_us = 0;
    }
    let c = compare(&base, &new, &CompareOptions::default());
    assert_eq!(find(&c, PLAIN).verdict, ChangeVerdict::MachineBound);
    let svg = render_svg(&c);
    assert!(svg.contains("machine-bound, not compared"), "{svg}");
}
