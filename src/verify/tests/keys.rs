//! Order per key and counts per partition, on hand-built logs.

use super::*;
use crate::record::write_key_seq;

fn keyed_value(stream: u32, seq: u64, key_seq: Option<u64>) -> Vec<u8> {
    let mut v = value(RUN, stream, seq);
    if let Some(k) = key_seq {
        write_key_seq(&mut v, k);
    }
    v
}

/// One stream (0) on partition 0, keys "a" and "b" alternating by sequence
/// (even → a, odd → b), each with its key sequence (seq / 2).
fn alternating(seqs: &[u64], key_seqs: bool) -> Verdict {
    let mut c = Checker::new(None, None, BTreeSet::new());
    for (o, &q) in seqs.iter().enumerate() {
        let key: &[u8] = if q % 2 == 0 { b"a" } else { b"b" };
        let ks = key_seqs.then_some(q / 2);
        c.observe_keyed(0, o as i64, Some(key), Some(&keyed_value(0, q, ks)));
    }
    c.finish()
}

#[test]
fn a_stream_reorder_between_keys_is_not_a_key_reorder() {
    // 0 1 3 2 4 5: 2 (key a) steps back from 3 (key b): a stream reorder,
    // but key a read 0 then 2, in order.
    let v = alternating(&[0, 1, 3, 2, 4, 5], true);
    assert_eq!(v.reorders.count, 1);
    let k = v.keys.unwrap();
    assert_eq!((k.keyed_records, k.keys, k.reorders), (6, 2, 0));
    assert_eq!((k.missing, k.keys_with_key_seq), (0, 2));
    assert_eq!(k.keys_with_violations, 0);
    assert!(k.violating.is_empty());
}

#[test]
fn reorders_duplicates_and_missing_are_counted_per_key() {
    // Key a: 0 2 4 6 8 (10 never read: above its highest, not counted);
    // key b: 1 3 5 7 9 11. 6 before 4 and 5: two stream reorders, of which
    // one (4) is key a's; 5 is in order for key b. 3 twice: a copy for b.
    // 9 absent: b's key sequence 4 missing.
    let v = alternating(&[0, 1, 2, 3, 6, 4, 5, 3, 7, 8, 11], true);
    assert_eq!(v.reorders.count, 2);
    assert_eq!(v.log_duplicates.count, 1);
    assert_eq!(v.missing.count, 2, "9 and 10 in the stream");
    let k = v.keys.unwrap();
    assert_eq!((k.reorders, k.log_duplicates, k.missing), (1, 1, 1));
    assert_eq!(k.keys_with_violations, 2);
    let got: Vec<(String, u64, u64, Option<u64>, u64)> = k
        .violating
        .iter()
        .map(|c| {
            (
                c.key.clone(),
                c.reorders,
                c.log_duplicates,
                c.missing,
                c.records,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("a".into(), 1, 0, Some(0), 5),
            ("b".into(), 0, 1, Some(1), 5)
        ]
    );
    assert_eq!(k.violating[0].run_id, Some(RUN));
}

#[test]
fn without_key_sequences_missing_is_not_judged_per_key() {
    let v = alternating(&[0, 1, 2, 3, 6, 4, 5, 3, 7, 8, 11], false);
    let k = v.keys.unwrap();
    assert_eq!((k.reorders, k.log_duplicates, k.missing), (1, 1, 0));
    assert_eq!(k.keys_with_key_seq, 0);
    assert!(k.violating.iter().all(|c| c.missing.is_none()));
}

#[test]
fn keys_are_per_stream_and_a_key_on_two_partitions_is_flagged() {
    let mut c = Checker::new(None, None, BTreeSet::new());
    // Key "k" on stream 0 (partition 0) and on stream 1 (partition 1);
    // key 0xff00 (not UTF-8) only on stream 1. Each in order.
    let reads: [(i32, u32, u64, &[u8]); 5] = [
        (0, 0, 0, b"k"),
        (1, 1, 0, b"k"),
        (0, 0, 1, b"k"),
        (1, 1, 2, &[0xff, 0]),
        (1, 1, 1, &[0xff, 0]),
    ];
    for (o, &(p, s, q, key)) in reads.iter().enumerate() {
        c.observe_keyed(p, o as i64, Some(key), Some(&value(RUN, s, q)));
    }
    c.observe_keyed(1, 10, None, Some(&value(RUN, 1, 3)));
    let v = c.finish();
    let k = v.keys.unwrap();
    assert_eq!((k.keyed_records, k.keys), (5, 3));
    assert_eq!(k.keys_on_several_partitions, 1);
    assert_eq!(k.reorders, 1);
    assert_eq!(k.violating.len(), 1);
    assert_eq!(k.violating[0].key, "0xff00");
    assert_eq!((k.violating[0].partition, k.violating[0].stream), (1, 1));
    assert_eq!(v.partitions[&0].records_read, 2);
    assert_eq!(v.partitions[&1].records_read, 4);
    assert_eq!(v.partitions[&1].reorders, 1);
}

#[test]
fn unkeyed_records_have_no_key_verdict_and_old_json_loads() {
    let v = one_stream(&[0, 2, 1], None);
    assert_eq!(v.keys, None);
    let json = serde_json::to_string(&v).unwrap();
    assert!(!json.contains("\"keys\""));
    let old = json.replace(
        &format!(
            ",\"partitions\":{}",
            serde_json::to_string(&v.partitions).unwrap()
        ),
        "",
    );
    assert_ne!(old, json);
    let back: Verdict = serde_json::from_str(&old).unwrap();
    assert!(back.partitions.is_empty());
}

#[test]
fn counts_per_partition_add_up_to_the_verdict() {
    let mut c = Checker::new(None, None, BTreeSet::new());
    // Partition 0: stream 0 with 2 reordered, 1 copy; partition 1: stream 1
    // missing 2, one redelivery, one malformed.
    for (o, q) in [0u64, 3, 1, 2, 1, 4].into_iter().enumerate() {
        c.observe(0, o as i64, Some(&value(RUN, 0, q)));
    }
    for (o, q) in [0u64, 1, 3, 4].into_iter().enumerate() {
        c.observe(1, o as i64, Some(&value(RUN, 1, q)));
    }
    c.observe(1, 3, Some(&value(RUN, 1, 4)));
    c.observe(1, 4, Some(b"junk"));
    let v = c.finish();
    let p0 = &v.partitions[&0];
    let p1 = &v.partitions[&1];
    assert_eq!(
        (p0.records_read, p0.reorders, p0.log_duplicates, p0.missing),
        (6, 2, 1, 0)
    );
    assert_eq!(
        (p1.records_read, p1.redeliveries, p1.malformed, p1.missing),
        (6, 1, 1, 1)
    );
    let sum = |f: fn(&PartitionCounts) -> u64| v.partitions.values().map(f).sum::<u64>();
    assert_eq!(sum(|c| c.records_read), v.records_read);
    assert_eq!(sum(|c| c.reorders), v.reorders.count);
    assert_eq!(sum(|c| c.missing), v.missing.count);
}

#[test]
fn keys_merge_across_readers() {
    // Partitions 0 and 1 read apart; a key on each, with a reorder and a
    // missing key sequence.
    let mut c0 = Checker::new(None, None, BTreeSet::new());
    let mut c1 = c0.sibling();
    for (o, (q, ks)) in [(0u64, 0u64), (2, 2), (1, 1)].into_iter().enumerate() {
        c0.observe_keyed(0, o as i64, Some(b"x"), Some(&keyed_value(0, q, Some(ks))));
    }
    for (o, (q, ks)) in [(0u64, 0u64), (1, 2)].into_iter().enumerate() {
        c1.observe_keyed(1, o as i64, Some(b"y"), Some(&keyed_value(1, q, Some(ks))));
    }
    c0.merge(c1);
    let v = c0.finish();
    let k = v.keys.unwrap();
    assert_eq!((k.keys, k.reorders, k.missing), (2, 1, 1));
    let got: Vec<(&str, i32)> = k
        .violating
        .iter()
        .map(|c| (c.key.as_str(), c.partition))
        .collect();
    assert_eq!(got, vec![("x", 0), ("y", 1)]);
    assert_eq!(v.partitions.len(), 2);
}
