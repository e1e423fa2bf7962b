//! Tests of the checker through its public interface: classification,
//! delivery reports, bounds, missing sequences; attribution to fault events
//! and a reference model are in the submodules.

use std::collections::BTreeSet;

use super::*;
use crate::grid::{Acks, ProducerSettings};
use crate::record::{Stamp, HEADER_BYTES};

mod attribution;
mod depth;
mod keys;
mod merge;
mod model;

const RUN: u64 = 0x6b6f_6231;

fn value(run_id: u64, stream: u32, seq: u64) -> Vec<u8> {
    let mut v = vec![0xAB; 64];
    Stamp {
        run_id,
        stream,
        seq,
        intended_send_ns: 1,
    }
    .write(&mut v);
    v
}

/// Checks `seqs` of stream 0 of [`RUN`], read from partition 0 at offsets 0, 1, 2, ….
fn one_stream(seqs: &[u64], deliveries: Option<&Deliveries>) -> Verdict {
    let mut c = Checker::new(Some(RUN), deliveries, BTreeSet::new());
    for (offset, &seq) in seqs.iter().enumerate() {
        c.observe(0, offset as i64, Some(&value(RUN, 0, seq)));
    }
    c.finish()
}

fn assert_accounts(v: &Verdict, distinct: u64) {
    assert_eq!(
        v.records_read,
        distinct + v.log_duplicates.count + v.redeliveries.count + v.foreign + v.malformed,
        "{v:#?}"
    );
    assert_eq!(v.distinct(), distinct);
}

/// Asserts that `a` holds exactly `examples`: one occurrence per example,
/// in that order.
fn assert_exactly(a: &Anomalies, examples: &[Example]) {
    assert_eq!(a.count, examples.len() as u64, "{a:#?}");
    assert_eq!(a.examples, examples);
}

fn ex(stream: u32, seq: u64, partition: i32, offset: i64, detail: Option<i64>) -> Example {
    Example {
        stream,
        seq,
        partition: Some(partition),
        offset: Some(offset),
        detail,
        run_id: None,
    }
}

fn deliveries(sent: u64, acked: &[u64], failed: &[u64]) -> Deliveries {
    let mut d = Deliveries::default();
    let s = d.stream_mut(0);
    s.sent = sent;
    for &a in acked {
        s.acked.set(a);
    }
    for &f in failed {
        s.failed.set(f);
    }
    d
}
#[test]
fn in_order_stream_is_clean() {
    let v = one_stream(&[0, 1, 2, 3, 4], None);
    assert_eq!(v.records_read, 5);
    assert_eq!(v.streams, 1);
    assert_eq!(v.violations(), 0);
    assert_eq!(v.redeliveries.count, 0);
    assert!(!v.deliveries_known);
    assert_accounts(&v, 5);
}

#[test]
fn reorders_count_backward_steps_with_displacement() {
    let v = one_stream(&[0, 1, 2, 5, 3, 4, 6], None);
    assert_exactly(
        &v.reorders,
        &[ex(0, 3, 0, 4, Some(2)), ex(0, 4, 0, 5, Some(1))],
    );
    assert_eq!(v.reorder_displacement, Displacement { max: 2, sum: 3 });
    assert_eq!(v.log_duplicates.count, 0);
    assert_accounts(&v, 7);
}

#[test]
fn a_late_batch_is_one_reorder_per_record() {
    // A retried batch (2, 3) landing after the next one (4, 5).
    let v = one_stream(&[0, 1, 4, 5, 2, 3, 6], None);
    assert_eq!(v.reorders.count, 2);
    assert_eq!(v.reorder_displacement, Displacement { max: 3, sum: 5 });
}

#[test]
fn log_duplicates_name_the_first_copy_and_are_not_reorders() {
    let v = one_stream(&[0, 1, 2, 1, 3, 0], None);
    assert_exactly(
        &v.log_duplicates,
        &[ex(0, 1, 0, 3, Some(1)), ex(0, 0, 0, 5, Some(0))],
    );
    assert_eq!(v.reorders.count, 0);
    assert_accounts(&v, 4);
}

#[test]
fn a_duplicate_older_than_the_recent_window_has_no_first_offset() {
    let mut seqs: Vec<u64> = (0..RECENT as u64 + 10).collect();
    seqs.push(0);
    seqs.push(RECENT as u64);
    let v = one_stream(&seqs, None);
    assert_eq!(v.log_duplicates.count, 2);
    assert_eq!(v.log_duplicates.examples[0].detail, None);
    assert_eq!(
        v.log_duplicates.examples[1].detail,
        Some(RECENT as i64),
        "a recent first copy is still named"
    );
}

#[test]
fn redeliveries_are_counted_apart_from_log_duplicates() {
    let mut c = Checker::new(Some(RUN), None, BTreeSet::new());
    // Offsets 0, 1, 2, then the consumer re-reads 1 and 2, then goes on.
    for (offset, seq) in [(0, 0), (1, 1), (2, 2), (1, 1), (2, 2), (3, 3)] {
        c.observe(0, offset, Some(&value(RUN, 0, seq)));
    }
    let v = c.finish();
    assert_exactly(
        &v.redeliveries,
        &[ex(0, 1, 0, 1, None), ex(0, 2, 0, 2, None)],
    );
    assert_eq!(v.log_duplicates.count, 0);
    assert_eq!(v.reorders.count, 0);
    assert_eq!(v.violations(), 0);
    assert_accounts(&v, 4);
}

#[test]
fn losses_gaps_and_possibly_persisted_against_delivery_reports() {
    // Sent 0..10: 0..=7 acked, 8 and 9 failed. The log lacks 3 (a loss)
    // and 8 (a gap) and holds 9 (possibly persisted).
    let d = deliveries(10, &[0, 1, 2, 3, 4, 5, 6, 7], &[8, 9]);
    let v = one_stream(&[0, 1, 2, 4, 5, 6, 7, 9], Some(&d));
    assert!(v.deliveries_known);
    let absent = |seq| Example {
        stream: 0,
        seq,
        partition: None,
        offset: None,
        detail: None,
        run_id: None,
    };
    assert_exactly(&v.losses, &[absent(3)]);
    assert_exactly(&v.gaps, &[absent(8)]);
    assert_exactly(&v.possibly_persisted, &[ex(0, 9, 0, 7, None)]);
    assert_eq!(v.reorders.count, 0);
    assert_eq!(v.violations(), 1);
    assert_accounts(&v, 8);
}

#[test]
fn losses_across_word_boundaries_are_counted_exactly() {
    // 200 acked, only the even ones in the log: 100 losses.
    let acked: Vec<u64> = (0..200).collect();
    let d = deliveries(200, &acked, &[]);
    let evens: Vec<u64> = (0..200).step_by(2).collect();
    let v = one_stream(&evens, Some(&d));
    assert_eq!(v.losses.count, 100);
    let first: Vec<u64> = v.losses.examples.iter().map(|e| e.seq).collect();
    assert_eq!(first, vec![1, 3, 5, 7, 9]);
    // A stream never read at all: every acked record is lost.
    let v = one_stream(&[], Some(&d));
    assert_eq!(v.losses.count, 200);
    assert_eq!(v.streams, 1);
}

#[test]
fn interleaved_streams_across_partitions_are_checked_apart() {
    let mut c = Checker::new(Some(RUN), None, BTreeSet::new());
    // Partition 0 holds streams 0 and 2 interleaved; partition 1 holds stream 1.
    let reads: [(i32, i64, u32, u64); 9] = [
        (0, 0, 0, 0),
        (1, 0, 1, 0),
        (0, 1, 2, 1),
        (0, 2, 0, 1),
        (1, 1, 1, 2),
        (0, 3, 2, 0), // stream 2 steps back by 1
        (1, 2, 1, 1), // stream 1 steps back by 1
        (0, 4, 0, 2),
        (1, 3, 1, 3),
    ];
    for (p, o, s, q) in reads {
        c.observe(p, o, Some(&value(RUN, s, q)));
    }
    let v = c.finish();
    assert_eq!(v.streams, 3);
    assert_exactly(
        &v.reorders,
        &[ex(2, 0, 0, 3, Some(1)), ex(1, 1, 1, 2, Some(1))],
    );
    assert_eq!(v.reorder_displacement, Displacement { max: 1, sum: 2 });
    assert_eq!(v.log_duplicates.count, 0);
    assert_eq!(v.redeliveries.count, 0);
    assert_accounts(&v, 9);
}

#[test]
fn foreign_runs_are_counted_in_run_mode_and_are_streams_in_verify_mode() {
    let reads = [(RUN, 0), (RUN + 1, 5), (RUN, 1), (RUN + 1, 0), (RUN, 2)];
    let observe = |c: &mut Checker| {
        for (o, (run, seq)) in reads.iter().enumerate() {
            c.observe(0, o as i64, Some(&value(*run, 0, *seq)));
        }
    };
    let mut c = Checker::new(Some(RUN), None, BTreeSet::new());
    observe(&mut c);
    let v = c.finish();
    assert_eq!(v.foreign, 2);
    assert_eq!(v.streams, 1);
    assert_eq!(v.violations(), 0);
    assert_accounts(&v, 3);

    let mut c = Checker::new(None, None, BTreeSet::new());
    observe(&mut c);
    let v = c.finish();
    assert_eq!(v.foreign, 0);
    assert_eq!(v.streams, 2);
    assert_eq!(v.reorders.count, 1, "run+1's stream steps back 5 → 0");
    assert_eq!(v.reorders.examples[0].run_id, Some(RUN + 1));
    assert_eq!(v.reorders.examples[0].detail, Some(5));
    assert_accounts(&v, 5);
}

#[test]
fn malformed_records_are_counted_never_panicked_on() {
    let mut c = Checker::new(Some(RUN), None, BTreeSet::new());
    let mut bad_magic = value(RUN, 0, 0);
    bad_magic[..4].copy_from_slice(b"KOB2");
    let short = value(RUN, 0, 0)[..HEADER_BYTES - 1].to_vec();
    c.observe(0, 0, None);
    c.observe(0, 1, Some(&[]));
    c.observe(0, 2, Some(&short));
    c.observe(0, 3, Some(&bad_magic));
    c.observe(0, 4, Some(&value(RUN, 0, 0)));
    // A malformed record read again is malformed again, not a redelivery.
    c.observe(0, 3, Some(&bad_magic));
    let v = c.finish();
    assert_eq!(v.records_read, 6);
    assert_eq!(v.malformed, 5);
    assert_eq!(v.redeliveries.count, 0);
    assert_eq!(v.streams, 1);
    assert_accounts(&v, 1);
}

#[test]
fn a_header_alone_is_enough() {
    let mut c = Checker::new(None, None, BTreeSet::new());
    let v = value(7, 1, 0);
    c.observe(0, 0, Some(&v[..HEADER_BYTES]));
    let v = c.finish();
    assert_eq!((v.malformed, v.streams), (0, 1));
}

#[test]
fn implausible_sequences_and_streams_are_malformed() {
    // With delivery reports: seq >= sent, or a stream never sent on.
    let d = deliveries(3, &[0, 1, 2], &[]);
    let mut c = Checker::new(Some(RUN), Some(&d), BTreeSet::new());
    for (o, (stream, seq)) in [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (0, u64::MAX)]
        .into_iter()
        .enumerate()
    {
        c.observe(0, o as i64, Some(&value(RUN, stream, seq)));
    }
    let v = c.finish();
    assert_eq!(v.malformed, 3);
    assert_eq!(v.streams, 1);
    assert_eq!(v.violations(), 0);
    assert_accounts(&v, 3);

    // Without: seq >= SEQ_CAP. The largest plausible one costs one page,
    // and the step back from it is an exact displacement.
    let mut c = Checker::new(None, None, BTreeSet::new());
    for (o, seq) in [u64::MAX, SEQ_CAP, SEQ_CAP - 1, 0].into_iter().enumerate() {
        c.observe(0, o as i64, Some(&value(RUN, 0, seq)));
    }
    assert_eq!(c.pages_of(0), 2);
    let v = c.finish();
    assert_eq!(v.malformed, 2);
    assert_eq!(v.reorders.count, 1);
    assert_eq!(v.reorders.examples[0].detail, Some((SEQ_CAP - 1) as i64));
    assert_eq!(
        v.reorder_displacement,
        Displacement {
            max: SEQ_CAP - 1,
            sum: SEQ_CAP - 1
        }
    );
    assert_accounts(&v, 2);
}

#[test]
fn streams_beyond_the_cap_are_malformed() {
    let mut c = Checker::new(None, None, BTreeSet::new());
    for s in 0..=MAX_STREAMS as u32 {
        c.observe(0, i64::from(s), Some(&value(RUN, s, 0)));
    }
    let v = c.finish();
    assert_eq!(v.streams as usize, MAX_STREAMS);
    assert_eq!(v.malformed, 1);
    assert_accounts(&v, MAX_STREAMS as u64);
}

#[test]
fn odd_partitions_and_offsets_do_not_panic() {
    let mut c = Checker::new(None, None, BTreeSet::new());
    for (p, o) in [
        (-1, i64::MIN),
        (i32::MAX, i64::MAX),
        (i32::MIN, -5),
        (5000, 0),
    ] {
        c.observe(p, o, Some(&value(RUN, p as u32, 0)));
    }
    let v = c.finish();
    assert_eq!(v.records_read, 4);
    assert_eq!(v.redeliveries.count, 0);
    assert_accounts(&v, 4);
}

#[test]
fn examples_stop_at_five_counts_do_not() {
    let seqs: Vec<u64> = (0..20).rev().collect();
    let v = one_stream(&seqs, None);
    assert_eq!(v.reorders.count, 19);
    assert_eq!(v.reorders.examples.len(), MAX_EXAMPLES);
    assert_eq!(v.reorder_displacement, Displacement { max: 19, sum: 190 });
}

#[test]
fn deliveries_without_a_run_id_are_ignored() {
    let d = deliveries(3, &[0, 1, 2], &[]);
    let c = Checker::new(None, Some(&d), BTreeSet::new());
    let v = c.finish();
    assert!(!v.deliveries_known);
    assert_eq!(v.losses.count, 0);
    assert!(!v.judged(AnomalyKind::Loss));
    assert!(v.judged(AnomalyKind::Reorder));
}

#[test]
fn permitted_kinds_are_carried_and_unpermitted_violations_counted() {
    let settings = ProducerSettings {
        max_in_flight: 5,
        acks: Acks::All,
        idempotence: false,
    };
    let mut c = Checker::new(Some(RUN), None, permitted(&settings));
    for (o, seq) in [0u64, 2, 1].into_iter().enumerate() {
        c.observe(0, o as i64, Some(&value(RUN, 0, seq)));
    }
    let v = c.finish();
    assert!(v.permitted.contains(&AnomalyKind::Reorder));
    assert_eq!(v.violations(), 1);
    assert_eq!(v.unpermitted_violations(), 0);
}

#[test]
fn verdict_json_round_trips_and_reads_without_new_fields() {
    let v = one_stream(&[1, 0], None);
    let json = serde_json::to_string(&v).unwrap();
    assert!(
        !json.contains("run_id"),
        "run mode examples carry no run id"
    );
    assert_eq!(serde_json::from_str::<Verdict>(&json).unwrap(), v);
    let old = json.replace(",\"deliveries_known\":false", "");
    assert_ne!(old, json);
    assert_eq!(serde_json::from_str::<Verdict>(&old).unwrap(), v);
}
#[test]
fn missing_sequences_below_the_highest_read_without_delivery_reports() {
    // Stream 0: 0..1000 without 700..=704; stream 1: 0..=10 without 3.
    // Nothing above the highest read counts.
    let mut c = Checker::new(None, None, BTreeSet::new());
    for (o, q) in (0..1000).filter(|q| !(700..=704).contains(q)).enumerate() {
        c.observe(0, o as i64, Some(&value(RUN, 0, q)));
    }
    for q in (0..=10).filter(|q| *q != 3) {
        c.observe(1, i64::from(q as u32), Some(&value(RUN, 1, q)));
    }
    let v = c.finish();
    assert_eq!(v.missing.count, 6);
    let seqs: Vec<(u32, u64)> = v
        .missing
        .examples
        .iter()
        .map(|e| (e.stream, e.seq))
        .collect();
    assert_eq!(seqs, vec![(0, 700), (0, 701), (0, 702), (0, 703), (0, 704)]);
    assert_eq!(v.missing.examples[0].run_id, Some(RUN));
    let ranges: Vec<(u32, u64, u64)> = v
        .missing_ranges
        .iter()
        .map(|r| (r.stream, r.first_seq, r.last_seq))
        .collect();
    assert_eq!(ranges, vec![(0, 700, 704), (1, 3, 3)]);
    assert_eq!(v.violations(), 6);
    // A long gap: ranges merge across whole words.
    let mut c = Checker::new(None, None, BTreeSet::new());
    for (o, q) in [0u64, 1, 5000].into_iter().enumerate() {
        c.observe(0, o as i64, Some(&value(RUN, 0, q)));
    }
    let v = c.finish();
    assert_eq!(v.missing.count, 4998);
    assert_eq!(
        (v.missing_ranges[0].first_seq, v.missing_ranges[0].last_seq),
        (2, 4999)
    );
    assert_eq!(v.missing_ranges.len(), 1);
}
