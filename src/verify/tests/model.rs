//! The checker against a reference model that keeps every record, and
//! arbitrary input that must never make it panic.

use proptest::prelude::*;

use super::*;
use crate::record::MAGIC;
/// A reference model of one stream read in order, with every record kept.
fn model(seqs: &[u64]) -> (u64, u64, u64, Displacement) {
    let mut seen = BTreeSet::new();
    let (mut dups, mut reorders, mut max) = (0, 0, None::<u64>);
    let mut disp = Displacement::default();
    for &s in seqs {
        if !seen.insert(s) {
            dups += 1;
            continue;
        }
        match max {
            Some(m) if s < m => {
                reorders += 1;
                disp.max = disp.max.max(m - s);
                disp.sum += m - s;
            }
            _ => max = Some(s),
        }
    }
    (seen.len() as u64, dups, reorders, disp)
}

fn arbitrary_value() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        proptest::collection::vec(any::<u8>(), 0..80).prop_map(Some),
        // Past the magic check, so the rest is read as a header.
        proptest::collection::vec(any::<u8>(), 0..60).prop_map(|rest| {
            let mut v = MAGIC.to_vec();
            v.extend(rest);
            Some(v)
        }),
        // A well-formed record with small fields, so streams repeat.
        (0u64..3, 0u32..3, 0u64..20).prop_map(|(r, s, q)| Some(value(RUN + r, s, q))),
    ]
}

proptest! {
    #[test]
    fn permuted_and_duplicated_streams_match_the_model(
        n in 0u64..300,
        picks in proptest::collection::vec(any::<prop::sample::Index>(), 0..500),
        rereads in proptest::collection::vec((any::<prop::sample::Index>(), 1usize..4), 0..5),
    ) {
        let seqs: Vec<u64> = if n == 0 {
            Vec::new()
        } else {
            picks.iter().map(|i| i.index(n as usize) as u64).collect()
        };
        let acked: Vec<u64> = (0..n).collect();
        let d = deliveries(n, &acked, &[]);
        let mut c = Checker::new(Some(RUN), Some(&d), BTreeSet::new());
        let mut expected_rereads = 0u64;
        for (o, &seq) in seqs.iter().enumerate() {
            c.observe(3, o as i64, Some(&value(RUN, 0, seq)));
            // Now and then the consumer seeks back and reads a few again.
            for (at, back) in &rereads {
                if !seqs.is_empty() && at.index(seqs.len()) == o {
                    let from = o.saturating_sub(*back);
                    for (ro, &rs) in seqs.iter().enumerate().take(o + 1).skip(from) {
                        c.observe(3, ro as i64, Some(&value(RUN, 0, rs)));
                        expected_rereads += 1;
                    }
                }
            }
        }
        let v = c.finish();
        let (distinct, dups, reorders, disp) = model(&seqs);
        prop_assert_eq!(v.records_read, seqs.len() as u64 + expected_rereads);
        prop_assert_eq!(v.redeliveries.count, expected_rereads);
        prop_assert_eq!(v.log_duplicates.count, dups);
        prop_assert_eq!(v.reorders.count, reorders);
        prop_assert_eq!(&v.reorder_displacement, &disp);
        prop_assert_eq!(v.losses.count, n - distinct);
        prop_assert_eq!(v.distinct(), distinct);
        prop_assert_eq!(
            v.records_read,
            distinct + v.log_duplicates.count + v.redeliveries.count + v.foreign + v.malformed
        );
    }

    #[test]
    fn arbitrary_input_never_panics_and_always_accounts(
        records in proptest::collection::vec(
            (-2i32..4, -3i64..40, arbitrary_value()), 0..200),
        run_mode in any::<bool>(),
    ) {
        let d = deliveries(10, &[0, 1, 2], &[3, 4]);
        let mut c = if run_mode {
            Checker::new(Some(RUN), Some(&d), BTreeSet::new())
        } else {
            Checker::new(None, None, BTreeSet::new())
        };
        for (p, o, v) in &records {
            c.observe(*p, *o, v.as_deref());
        }
        let v = c.finish();
        prop_assert_eq!(v.records_read, records.len() as u64);
        let counted = v.log_duplicates.count + v.redeliveries.count + v.foreign + v.malformed;
        prop_assert!(counted <= v.records_read);
        prop_assert!(v.reorders.count <= v.distinct());
        prop_assert!(v.possibly_persisted.count <= v.distinct());
        for a in [&v.reorders, &v.log_duplicates, &v.redeliveries, &v.losses, &v.gaps] {
            prop_assert!(a.examples.len() <= MAX_EXAMPLES);
            prop_assert!(a.examples.len() as u64 <= a.count);
        }
    }
}
