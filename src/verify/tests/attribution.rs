//! Violations charged to the fault events whose records they touch.

use super::*;
use crate::faults::events::FaultEvent;

pub(super) fn event(id: u64, kind: &str, spans: &[(u32, u64, u64)]) -> FaultEvent {
    FaultEvent {
        id,
        kind: kind.into(),
        request_index: Some(id),
        at_ms: id,
        records: spans
            .iter()
            .map(|&(stream, first_seq, last_seq)| crate::faults::RecordSpan {
                stream,
                first_seq,
                last_seq,
            })
            .collect(),
        span_ms: None,
        requests: 0,
    }
}

fn check_with(seqs: &[u64], d: Option<&Deliveries>, events: Vec<FaultEvent>) -> Verdict {
    let mut c = Checker::new(Some(RUN), d, BTreeSet::new()).with_events(events);
    for (offset, &seq) in seqs.iter().enumerate() {
        c.observe(0, offset as i64, Some(&value(RUN, 0, seq)));
    }
    c.finish()
}

#[test]
fn a_refused_batch_landing_late_is_fifteen_reorders_of_one_event() {
    // Batches of 15: 150..165 is refused, 165..180 lands first, then the
    // retry of 150..165, then the rest.
    let mut seqs: Vec<u64> = (0..150).collect();
    seqs.extend(165..180);
    seqs.extend(150..165);
    seqs.extend(180..300);
    let events = vec![
        event(0, "reject", &[(0, 150, 164)]),
        event(1, "reject", &[(0, 240, 254)]),
    ];
    let v = check_with(&seqs, None, events);
    assert_eq!(v.reorders.count, 15);
    assert_eq!(
        v.events["reject"],
        EventEvidence {
            injected: 2,
            followed_by_violation: 1,
            violations: 15
        }
    );
    assert_eq!(v.event_outcomes[0].reorders, 15);
    assert_eq!(v.event_outcomes[0].records, 15);
    assert_eq!(v.event_outcomes[1].violations(), 0);
    assert_eq!(v.unattributed_violations, 0);
    assert_eq!(v.events_injected(), 2);
}

#[test]
fn duplicates_and_losses_go_to_their_event_the_rest_is_unattributed() {
    // 0..100 sent and acked. 20..30 written twice (a lost ack); 60..70
    // lost in a failover whose window is 50..80; 90 lost outside any event;
    // 5 reordered with no event.
    let acked: Vec<u64> = (0..100).collect();
    let d = deliveries(100, &acked, &[]);
    let mut seqs: Vec<u64> = (0..5).chain(6..30).chain(20..30).collect();
    seqs.push(5);
    seqs.extend((30..100).filter(|q| !(60..70).contains(q) && *q != 90));
    let events = vec![
        event(0, "lose-ack", &[(0, 20, 29)]),
        event(1, "failover", &[(0, 50, 80)]),
        // A refused batch inside the failover's window: the narrower span wins.
        event(2, "reject", &[(0, 65, 69)]),
    ];
    let v = check_with(&seqs, Some(&d), events);
    assert_eq!(
        (v.log_duplicates.count, v.losses.count, v.reorders.count),
        (10, 11, 1)
    );
    assert_eq!(v.event_outcomes[0].log_duplicates, 10);
    assert_eq!(v.event_outcomes[1].losses, 5);
    assert_eq!(v.event_outcomes[2].losses, 5);
    assert_eq!(
        v.unattributed_violations, 2,
        "the loss of 90 and the reorder of 5"
    );
    assert_eq!(v.events["failover"].followed_by_violation, 1);
    assert_eq!(
        v.missing.count, 0,
        "with delivery reports nothing is missing"
    );
    let json = serde_json::to_string(&v).unwrap();
    assert_eq!(serde_json::from_str::<Verdict>(&json).unwrap(), v);
}

#[test]
fn without_events_nothing_is_attributed() {
    let v = one_stream(&[0, 2, 1], None);
    assert!(v.events.is_empty() && v.event_outcomes.is_empty());
    assert_eq!(v.unattributed_violations, 0);
}
