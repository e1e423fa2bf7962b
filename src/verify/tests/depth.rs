//! Disorder depth per fault event: records and requests overtaking, and
//! the displacement distribution, on hand-built logs.

use super::attribution::event;
use super::*;
use crate::verify::seqset::SeqSet;

fn check(seqs: &[u64], events: Vec<crate::faults::events::FaultEvent>) -> Verdict {
    let mut c = Checker::new(Some(RUN), None, BTreeSet::new()).with_events(events);
    for (offset, &seq) in seqs.iter().enumerate() {
        c.observe(0, offset as i64, Some(&value(RUN, 0, seq)));
    }
    c.finish()
}

#[test]
fn the_articles_scenario_batch_three_overtaken_by_four_to_ten() {
    // Batches of 15: #0 is 0..15, … #3 is 45..60, refused; #4..#10
    // (60..165) are written before #3's retry; then the rest.
    let mut seqs: Vec<u64> = (0..45).collect();
    seqs.extend(60..165);
    seqs.extend(45..60);
    seqs.extend(165..200);
    let v = check(&seqs, vec![event(0, "reject", &[(0, 45, 59)])]);
    let o = &v.event_outcomes[0];
    assert_eq!(o.reorders, 15);
    let d = o
        .depth
        .as_ref()
        .expect("an event that reordered has a depth");
    assert_eq!(d.records_overtaking, 105, "batches #4 to #10");
    assert_eq!(d.requests_overtaking, 7);
    // Displacements 164 - s for s in 45..60: 105..=119.
    let s = &d.displacement;
    assert_eq!((s.count, s.max, s.sum), (15, 119, (105..=119).sum::<u64>()));
    assert_eq!(s.median, Some(112));
    assert_eq!(s.p90, Some(118), "rank ceil(13.5) - 1 = 13");
    assert_eq!(
        s.histogram,
        vec![HistogramBucket {
            min: 64,
            max: 127,
            count: 15
        }]
    );
}

#[test]
fn overtaking_counts_records_read_displacement_counts_sequences() {
    // Batches of 15 from 0; #2 (30..45) and #4 (60..75) refused; #3 and
    // #5..#9 (75..150) land; then #2's retry, then #4's.
    let mut seqs: Vec<u64> = (0..30).collect();
    seqs.extend(45..60);
    seqs.extend(75..150);
    seqs.extend(30..45);
    seqs.extend(60..75);
    seqs.extend(150..160);
    let v = check(
        &seqs,
        vec![
            event(0, "reject", &[(0, 30, 44)]),
            event(1, "reject", &[(0, 60, 74)]),
            event(2, "reject", &[(0, 150, 159)]),
        ],
    );
    let d0 = v.event_outcomes[0].depth.clone().unwrap();
    // Overtaken by #3 and #5..#9 (90 records, 6 requests); displaced by
    // 149 - s, which also counts #4's sequences, not yet in the log.
    assert_eq!((d0.records_overtaking, d0.requests_overtaking), (90, 6));
    assert_eq!((d0.displacement.max, d0.displacement.count), (119, 15));
    assert_eq!(d0.displacement.median, Some(112));
    let d1 = v.event_outcomes[1].depth.clone().unwrap();
    assert_eq!((d1.records_overtaking, d1.requests_overtaking), (75, 5));
    assert_eq!(d1.displacement.max, 89);
    assert_eq!(d1.displacement.median, Some(82));
    assert_eq!(
        d1.displacement.histogram,
        vec![HistogramBucket {
            min: 64,
            max: 127,
            count: 15
        }]
    );
    assert_eq!(v.event_outcomes[2].depth, None, "no reorder, no depth");
    assert_eq!(v.reorders.count, 30);
}

#[test]
fn requests_round_up_and_buckets_split_by_powers_of_two() {
    // A span of 4 (10..14) overtaken by 6 records (14..20): 2 requests of 4.
    let mut seqs: Vec<u64> = (0..10).collect();
    seqs.extend(14..20);
    seqs.extend(10..14);
    let v = check(&seqs, vec![event(0, "reject", &[(0, 10, 13)])]);
    let d = v.event_outcomes[0].depth.clone().unwrap();
    assert_eq!((d.records_overtaking, d.requests_overtaking), (6, 2));
    // Displacements 19 - s: 9, 8, 7, 6.
    assert_eq!(d.displacement.median, Some(7));
    assert_eq!(d.displacement.p90, Some(9));
    let buckets: Vec<(u64, u64, u64)> = d
        .displacement
        .histogram
        .iter()
        .map(|b| (b.min, b.max, b.count))
        .collect();
    assert_eq!(buckets, vec![(4, 7, 2), (8, 15, 2)]);
}

#[test]
fn outcomes_without_depth_still_load() {
    let v = check(&[0, 2, 1], vec![event(0, "reject", &[(0, 1, 1)])]);
    let json = serde_json::to_string(&v).unwrap();
    assert!(json.contains("\"depth\""));
    assert_eq!(serde_json::from_str::<Verdict>(&json).unwrap(), v);
    let old = r#"{"id":3,"kind":"reject","records":15,"reorders":0,"log_duplicates":0,"losses":0,"missing":0}"#;
    let o: EventOutcome = serde_json::from_str(old).unwrap();
    assert_eq!((o.id, o.depth), (3, None));
}

#[test]
fn range_counts_cross_pages_and_skip_absent_ones() {
    let mut s = SeqSet::new();
    for q in [0u64, 1, 63, 64, 4095, 4096, 5000, 3 * 4096 + 7, 1 << 31] {
        s.set(q);
    }
    assert_eq!(s.count_range(0, 0), 1);
    assert_eq!(s.count_range(1, 64), 3);
    assert_eq!(s.count_range(2, 4095), 3);
    assert_eq!(s.count_range(0, 4096 * 4), 8);
    assert_eq!(s.count_range(4096, 1 << 31), 4);
    assert_eq!(s.count_range(4097, (1 << 31) - 1), 2);
    assert_eq!(s.count_range(5, 4), 0);
    let mut t = SeqSet::new();
    for q in [1u64, 2, 5000, 9000] {
        t.set(q);
    }
    assert_eq!(s.common(&t), vec![1, 5000]);
    assert_eq!(s.union(&t), 2);
    assert_eq!(s.count_range(0, u64::MAX / 2), 11);
}
