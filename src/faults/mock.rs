//! Fault profiles on librdkafka's mock cluster: a **test fixture only**.
//!
//! The mock cluster (`rdkafka::mocking::MockCluster`) runs in-process and
//! starts in milliseconds, which makes it the place for hermetic tests of the
//! runner and the checker. It is not a Kafka broker: it does not check
//! idempotent producer sequences, it ignores `acks`, and a request failed
//! through its error stack is never appended. Numbers measured on it must
//! never reach a report; this module exists so that tests can put the *same*
//! seeded [`FaultPlan`] on it as the proxy puts on a real cluster.
//!
//! How each kind maps (the mock's error stack for an API key is shared by all
//! its brokers and popped once per request, so entry `i` is the `i`-th
//! Produce request the cluster sees, the same count the proxy keeps):
//!
//! | kind | on the mock | faithful? |
//! |---|---|---|
//! | `reject` | the plan's error code (NOT_ENOUGH_REPLICAS) | yes: not appended, retried |
//! | `lose-ack` (error) | the plan's error code (NOT_ENOUGH_REPLICAS_AFTER_APPEND) | **no**: the mock does not append a failed request, so the client retries a batch that was never written; it exercises the client's path, not the duplicate |
//! | `lose-ack` (drop and reset), `reset` | `ERR__TRANSPORT`: the mock closes the connection | yes for the connection; `lose-ack` again without the append |
//! | `delay` | not mapped (the mock's per-request delays are per broker and not exposed by `rdkafka`); listed in [`MockFaults::unmapped`] | no |
//! | `refuse-window`, `timeout-after-append`, `leader-move` | not mapped (they last a time span; the mock's error stack counts requests); listed in [`MockFaults::unmapped`] | no |
//! | any kind counted per cell (`25/cell`) | not mapped (a count is spread over a cell's records, which the request-indexed rule does not see); listed in [`MockFaults::unmapped`] | no |
//! | `failover` | [`failover`]: move the partition leader, take the old one down, bring it back | roughly: no election, no log truncation |

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::error::KafkaResult;
use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

use super::plan::{FaultAction, FaultPlan, LoseAckMode};
use super::profile::FaultKind;

/// A plan turned into the mock cluster's Produce error stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockFaults {
    /// One entry per Produce request from index 0; `NO_ERROR` lets the
    /// request through. Trailing `NO_ERROR`s are trimmed.
    pub produce_errors: Vec<RDKafkaRespErr>,
    /// Faults scheduled, by kind name, as the proxy would count them
    /// (unmapped kinds excluded).
    pub injected: BTreeMap<String, u64>,
    /// Kinds of the profile that the mock cannot express.
    pub unmapped: Vec<FaultKind>,
}

fn resp_err(code: i16) -> RDKafkaRespErr {
    RDKafkaRespErr::try_from(i32::from(code)).unwrap_or(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN)
}

/// Maps the plan's decisions for the first `requests` Produce requests onto
/// mock error codes (see the module table).
///
/// The mock's error stack is indexed by request, so a record-triggered plan
/// is applied under the request-indexed rule of the same profile and seed
/// ([`FaultPlan::as_by_request`]).
pub fn mock_faults(plan: &FaultPlan, requests: u64) -> MockFaults {
    let plan = &plan.as_by_request();
    let mut produce_errors = Vec::with_capacity(requests.min(1 << 20) as usize);
    let mut injected = BTreeMap::new();
    for i in 0..requests {
        let err = match plan.decide(i) {
            None
            | Some(
                FaultAction::Delay { .. }
                | FaultAction::RefuseWindow { .. }
                | FaultAction::TimeoutAfterAppend { .. }
                | FaultAction::LeaderMove { .. },
            ) => RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR,
            Some(action) => {
                *injected.entry(action.name().to_string()).or_insert(0) += 1;
                match action {
                    FaultAction::Reject { error_code } => resp_err(error_code),
                    FaultAction::LoseAck {
                        mode: LoseAckMode::Error(code),
                    } => resp_err(code),
                    _ => RDKafkaRespErr::RD_KAFKA_RESP_ERR__TRANSPORT,
                }
            }
        };
        produce_errors.push(err);
    }
    while produce_errors.last() == Some(&RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR) {
        produce_errors.pop();
    }
    let unmapped = plan
        .profile()
        .kinds()
        .iter()
        .filter(|k| {
            let single = matches!(
                k,
                FaultKind::Reject { .. } | FaultKind::LoseAck { .. } | FaultKind::Reset { .. }
            );
            let counted = k.amount().and_then(|a| a.per_cell()).is_some();
            !matches!(k, FaultKind::Failover) && (!single || counted)
        })
        .copied()
        .collect();
    MockFaults {
        produce_errors,
        injected,
        unmapped,
    }
}

/// Pushes the plan's first `requests` Produce decisions onto `cluster`'s
/// error stack (replacing what was there) and returns what was pushed.
pub fn apply<C: ClientContext>(
    cluster: &MockCluster<'_, C>,
    plan: &FaultPlan,
    requests: u64,
) -> MockFaults {
    let faults = mock_faults(plan, requests);
    cluster.clear_request_errors(RDKafkaApiKey::Produce);
    if !faults.produce_errors.is_empty() {
        cluster.request_errors(RDKafkaApiKey::Produce, &faults.produce_errors);
    }
    faults
}

/// The mock's stand-in for a leader failover: makes `to` the leader of
/// `topic`/`partition`, takes broker `from` down for `down_for`, then brings
/// it back. Blocks for `down_for`.
pub fn failover<C: ClientContext>(
    cluster: &MockCluster<'_, C>,
    topic: &str,
    partition: i32,
    from: i32,
    to: i32,
    down_for: Duration,
) -> KafkaResult<()> {
    cluster.partition_leader(topic, partition, Some(to))?;
    cluster.broker_down(from)?;
    std::thread::sleep(down_for);
    cluster.broker_up(from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::FaultProfile;

    #[test]
    fn lasting_and_counted_kinds_are_reported_unmapped() {
        let p = plan("reject:25/cell+refuse-window:10%:50ms+reset:5%");
        let f = mock_faults(&p, 500);
        let names: Vec<String> = f.unmapped.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["reject:25/cell", "refuse-window:10%:50ms"]);
        assert!(f.injected.contains_key("reset"), "{:?}", f.injected);
        assert!(
            !f.injected.contains_key("refuse-window"),
            "{:?}",
            f.injected
        );
        assert!(!f.injected.contains_key("reject"), "{:?}", f.injected);
    }

    fn plan(text: &str) -> FaultPlan {
        FaultPlan::by_request(&text.parse::<FaultProfile>().unwrap(), 3)
    }

    #[test]
    fn none_pushes_nothing() {
        let f = mock_faults(&plan("none"), 1000);
        assert!(f.produce_errors.is_empty() && f.injected.is_empty() && f.unmapped.is_empty());
    }

    #[test]
    fn entries_follow_the_plan_index_for_index() {
        let p = plan("reject:10%+lose-ack:10%+reset:5%");
        let f = mock_faults(&p, 500);
        for (i, err) in f.produce_errors.iter().enumerate() {
            let want = match p.decide(i as u64) {
                None => RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR,
                Some(FaultAction::Reject { .. }) => {
                    RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS
                }
                Some(FaultAction::LoseAck { .. }) => {
                    RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND
                }
                Some(_) => RDKafkaRespErr::RD_KAFKA_RESP_ERR__TRANSPORT,
            };
            assert_eq!(*err, want, "request {i}");
        }
        assert_eq!(f.injected, p.counts(0..500));
    }

    #[test]
    fn delay_is_reported_unmapped() {
        let f = mock_faults(&plan("delay:50%:10ms"), 100);
        assert!(f.produce_errors.is_empty());
        assert_eq!(
            f.unmapped,
            vec![FaultKind::Delay {
                amount: crate::faults::profile::Amount::Rate { ppm: 500_000 },
                ms: 10
            }]
        );
    }
}
