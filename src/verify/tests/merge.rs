//! A parallel read: one checker per share of the partitions, merged, says
//! what one checker reading everything says.

use proptest::prelude::*;

use super::attribution::event;
use super::*;

/// Feeds `reads` (partition, stream, seq; offsets counted per partition)
/// to one checker, and to `readers` checkers split by partition then merged.
fn one_and_merged(
    reads: &[(i32, u32, u64)],
    readers: usize,
    make: &dyn Fn() -> Checker,
) -> (Verdict, Verdict) {
    let mut one = make();
    let mut shares: Vec<Checker> = (0..readers).map(|_| make()).collect();
    let mut offsets = std::collections::HashMap::new();
    for &(p, s, q) in reads {
        let o = offsets.entry(p).or_insert(0i64);
        let v = value(RUN, s, q);
        one.observe(p, *o, Some(&v));
        shares[p as usize % readers].observe(p, *o, Some(&v));
        *o += 1;
    }
    let mut merged = shares.remove(0);
    for s in shares {
        merged.merge(s);
    }
    (one.finish(), merged.finish())
}

/// Everything but the order of examples.
fn same_counts(a: &Verdict, b: &Verdict) {
    let counts = |v: &Verdict| {
        (
            v.records_read,
            v.streams,
            v.reorders.count,
            v.log_duplicates.count,
            v.redeliveries.count,
            v.losses.count,
            v.gaps.count,
            v.possibly_persisted.count,
            v.missing.count,
            v.malformed,
        )
    };
    assert_eq!(counts(a), counts(b));
    assert_eq!(a.reorder_displacement, b.reorder_displacement);
    assert_eq!(a.event_outcomes, b.event_outcomes);
    assert_eq!(a.events, b.events);
    assert_eq!(a.unattributed_violations, b.unattributed_violations);
    assert_eq!(a.partitions, b.partitions);
}

#[test]
fn four_partitions_read_by_two_agree_with_one_reader() {
    // Stream p on partition p; stream 1 has a late batch (an event), stream
    // 2 a duplicate, stream 3 a missing sequence.
    let mut reads = Vec::new();
    for q in 0..40u64 {
        reads.push((0, 0, q));
        let q1 = match q {
            10..=14 => q + 5,
            15..=19 => q - 5,
            _ => q,
        };
        reads.push((1, 1, q1));
        reads.push((2, 2, q));
        if q == 20 {
            reads.push((2, 2, 7));
        }
        if q != 30 {
            reads.push((3, 3, q));
        }
    }
    let events = vec![event(0, "reject", &[(1, 10, 14)])];
    let make = || Checker::new(None, None, BTreeSet::new()).with_events(events.clone());
    let (one, merged) = one_and_merged(&reads, 2, &make);
    same_counts(&one, &merged);
    assert_eq!(
        (
            merged.reorders.count,
            merged.log_duplicates.count,
            merged.missing.count
        ),
        (5, 1, 1)
    );
    let d = merged.event_outcomes[0].depth.clone().unwrap();
    assert_eq!((d.records_overtaking, d.requests_overtaking), (5, 1));
}

#[test]
fn a_stream_on_two_partitions_is_merged_and_its_copies_found() {
    // Stream 0 written to partitions 0 (0..10) and 1 (5..15): 5 copies.
    let mut c0 = Checker::new(None, None, BTreeSet::new());
    let mut c1 = c0.sibling();
    for q in 0..10u64 {
        c0.observe(0, q as i64, Some(&value(RUN, 0, q)));
    }
    for q in 5..15u64 {
        c1.observe(1, q as i64, Some(&value(RUN, 0, q)));
    }
    c0.merge(c1);
    let v = c0.finish();
    assert_eq!(v.streams, 1);
    assert_eq!(v.log_duplicates.count, 5);
    assert_eq!(v.log_duplicates.examples[0].seq, 5);
    assert_eq!(v.log_duplicates.examples[0].partition, None);
    assert_eq!(v.distinct(), 15);
    assert_eq!(v.missing.count, 0);
}

#[test]
fn with_delivery_reports_siblings_share_them() {
    let d = deliveries(10, &(0..10).collect::<Vec<_>>(), &[]);
    let mut c0 = Checker::new(Some(RUN), Some(&d), BTreeSet::new());
    let c1 = c0.sibling();
    for q in (0..10u64).filter(|q| *q != 4) {
        c0.observe(0, q as i64, Some(&value(RUN, 0, q)));
    }
    c0.merge(c1);
    let v = c0.finish();
    assert_eq!((v.losses.count, v.streams), (1, 1));
}

proptest! {
    #[test]
    fn merged_readers_match_one_reader(
        reads in proptest::collection::vec((0i32..6, 0u64..40), 0..400),
        readers in 1usize..4,
    ) {
        // One stream per partition, as the suite writes them.
        let reads: Vec<(i32, u32, u64)> = reads.iter().map(|&(p, q)| (p, p as u32, q)).collect();
        let events = vec![
            event(0, "reject", &[(0, 5, 9)]),
            event(1, "reject", &[(1, 0, 19)]),
            event(2, "lose-ack", &[(2, 10, 12)]),
        ];
        let make = || Checker::new(None, None, BTreeSet::new()).with_events(events.clone());
        let (one, merged) = one_and_merged(&reads, readers, &make);
        let counts = |v: &Verdict| (v.records_read, v.streams, v.reorders.count,
            v.log_duplicates.count, v.missing.count);
        prop_assert_eq!(counts(&one), counts(&merged));
        prop_assert_eq!(&one.reorder_displacement, &merged.reorder_displacement);
        prop_assert_eq!(&one.event_outcomes, &merged.event_outcomes);
        prop_assert_eq!(one.unattributed_violations, merged.unattributed_violations);
        prop_assert_eq!(&one.partitions, &merged.partitions);
    }
}
