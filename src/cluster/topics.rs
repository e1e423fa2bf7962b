//! The suite's topics: their names, how they are made and removed, and
//! what the brokers say about their partitions.
//!
//! [`create_topic`] and [`delete_topic`] check the name (every topic of the
//! suite starts with [`TOPIC_PREFIX`], and no other is ever deleted), then
//! hand the work to the cluster ([`Cluster::make_topic`],
//! [`Cluster::remove_topic`]): a real cluster through the Admin API
//! ([`admin_create`], [`admin_delete`]), the mock cluster through its own API.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::metadata::Metadata;
use rdkafka::producer::{BaseProducer, Producer};

use super::{wait_for, Cluster, ClusterError, OP_TIMEOUT, TOPIC_PREFIX};

pub(super) fn metadata_client(cfg: &ClientConfig) -> Result<BaseProducer, ClusterError> {
    metadata_client_config(cfg)
        .create()
        .map_err(|e| ClusterError::ClientConfig(e.to_string()))
}

fn metadata_client_config(cfg: &ClientConfig) -> ClientConfig {
    let mut cfg = cfg.clone();
    // Reconnect quickly to a restarted node rather than backing off for seconds.
    cfg.set("reconnect.backoff.max.ms", "500");
    cfg
}

fn admin_client(cfg: &ClientConfig) -> Result<AdminClient<DefaultClientContext>, ClusterError> {
    metadata_client_config(cfg)
        .create()
        .map_err(|e| ClusterError::ClientConfig(e.to_string()))
}

/// Runs an rdkafka admin future to completion from synchronous code, also
/// when called from inside a tokio runtime.
pub(super) fn block_on<F: std::future::Future + Send>(fut: F) -> F::Output
where
    F::Output: Send,
{
    let run = move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("cannot build a tokio runtime")
            .block_on(fut)
    };
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| s.spawn(run).join().expect("admin thread panicked"))
    } else {
        run()
    }
}

/// A topic as [`create_topic`] made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i32,
    /// Set on the topic when the replication factor is 3; otherwise the broker default.
    pub min_insync_replicas: Option<i32>,
}

/// Replication factor for a cluster of `brokers`: `min(3, brokers)`.
pub fn replication_factor(brokers: u32) -> i32 {
    brokers.clamp(1, 3) as i32
}

/// A legal topic name for the suite: [`TOPIC_PREFIX`] followed by `parts`
/// joined with `.`, where `=` becomes `-` and any other character Kafka does
/// not allow becomes `_` (so a cell id like `inflight=5,acks=all` fits).
pub fn topic_name(parts: &[&str]) -> String {
    let body: String = parts
        .join(".")
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '_' | '-' => c,
            '=' => '-',
            ',' => '.',
            _ => '_',
        })
        .collect();
    let mut name = format!("{TOPIC_PREFIX}{body}");
    name.truncate(249);
    name
}

fn check_topic_name(name: &str) -> Result<(), ClusterError> {
    let bad = |reason: &str| ClusterError::BadTopicName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if !name.starts_with(TOPIC_PREFIX) {
        return Err(bad(&format!(
            "the suite's topics start with {TOPIC_PREFIX:?} (hint: build names with cluster::topic_name)"
        )));
    }
    if name.len() > 249 {
        return Err(bad("longer than 249 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(bad(
            "Kafka allows only ASCII letters, digits, '.', '_' and '-'",
        ));
    }
    Ok(())
}

/// Creates `name` with `partitions` partitions, replication factor
/// `min(3, brokers)` and `min.insync.replicas=2` when that factor is 3, and
/// returns once every partition has a leader and a full ISR and its
/// leader serves it.
pub fn create_topic(
    cluster: &dyn Cluster,
    name: &str,
    partitions: i32,
) -> Result<TopicSpec, ClusterError> {
    check_topic_name(name)?;
    if partitions < 1 {
        return Err(ClusterError::BadTopicName {
            name: name.to_string(),
            reason: format!("{partitions} partitions; a topic needs at least 1"),
        });
    }
    let rf = replication_factor(cluster.brokers());
    let spec = TopicSpec {
        name: name.to_string(),
        partitions,
        replication_factor: rf,
        min_insync_replicas: (rf == 3).then_some(2),
    };
    cluster.make_topic(&spec)?;
    Ok(spec)
}

/// Asks the cluster whether it would create a cell topic of `partitions`
/// partitions (and the replication factor [`create_topic`] uses), without
/// creating it (CreateTopics with `validate_only`): a cluster whose policy
/// or limits refuse that shape says so before any cell runs.
pub fn check_topic_shape(cluster: &dyn Cluster, partitions: i32) -> Result<(), ClusterError> {
    let rf = replication_factor(cluster.brokers());
    let name = topic_name(&["shape-check"]);
    let admin = admin_client(&cluster.client_config())?;
    let topic = NewTopic::new(&name, partitions, TopicReplication::Fixed(rf));
    let refused = |message: String| ClusterError::Shape {
        partitions,
        replication_factor: rf,
        message,
    };
    let options = admin_options().validate_only(true);
    let results =
        block_on(admin.create_topics([&topic], &options)).map_err(|e| refused(e.to_string()))?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => return Err(refused(code.to_string())),
        }
    }
    Ok(())
}

/// Deletes a topic the suite created, and waits until brokers stop listing it.
/// Names without [`TOPIC_PREFIX`] are refused; a topic already gone is fine.
pub fn delete_topic(cluster: &dyn Cluster, name: &str) -> Result<(), ClusterError> {
    check_own_topic(name)?;
    cluster.remove_topic(name)
}

/// [`delete_topic`] without waiting for the brokers to stop listing it.
pub(super) fn delete_topic_inner(
    cluster: &dyn Cluster,
    name: &str,
    wait: bool,
) -> Result<(), ClusterError> {
    check_own_topic(name)?;
    admin_delete(&cluster.client_config(), name, wait)
}

fn check_own_topic(name: &str) -> Result<(), ClusterError> {
    match name.starts_with(TOPIC_PREFIX) {
        true => Ok(()),
        false => Err(ClusterError::ForeignTopic(name.to_string())),
    }
}

fn admin_options() -> AdminOptions {
    AdminOptions::new()
        .request_timeout(Some(OP_TIMEOUT))
        .operation_timeout(Some(OP_TIMEOUT))
}

/// [`Cluster::make_topic`] through the Admin API: creates the topic, then
/// waits until every partition has a leader and a full ISR, and until
/// each leader serves its partition.
pub fn admin_create(cfg: &ClientConfig, spec: &TopicSpec) -> Result<(), ClusterError> {
    let (name, rf) = (spec.name.as_str(), spec.replication_factor);
    let admin = admin_client(cfg)?;
    let min_isr_text = spec.min_insync_replicas.map(|m| m.to_string());
    let mut topic = NewTopic::new(name, spec.partitions, TopicReplication::Fixed(rf));
    if let Some(m) = &min_isr_text {
        topic = topic.set("min.insync.replicas", m);
    }
    let admin_err = |message: String| ClusterError::Admin {
        op: "creating topic",
        topic: name.to_string(),
        message,
    };
    let results = block_on(admin.create_topics([&topic], &admin_options()))
        .map_err(|e| admin_err(e.to_string()))?;
    for r in results {
        r.map_err(|(_, code)| admin_err(code.to_string()))?;
    }
    let client = metadata_client(cfg)?;
    wait_for(
        &format!("topic {name} to have a leader and {rf} in-sync replicas"),
        OP_TIMEOUT,
        || {
            let md = client
                .client()
                .fetch_metadata(Some(name), Duration::from_secs(5))
                .ok()?;
            let t = md.topics().iter().find(|t| t.name() == name)?;
            let ready = t.error().is_none()
                && t.partitions().len() == spec.partitions as usize
                && t.partitions().iter().all(|p| {
                    p.error().is_none() && p.leader() >= 0 && p.isr().len() == rf as usize
                });
            ready.then_some(())
        },
    )?;
    wait_for_leaders_to_serve(cfg, spec)
}

/// Waits until each partition's leader answers a ListOffsets request as
/// leader. Metadata lists a leader and a full ISR before that broker has
/// taken the partition on. Measured on the local KRaft cluster: a
/// producer's first batches to 0 to 12 of a fresh topic's 32 partitions
/// came back `NOT_LEADER_OR_FOLLOWER` (7 tries, librdkafka 2.16); in a
/// run at 32 partitions, RTT 20 ms, 15 and 45 records were resent in the
/// two no-fault cells without this wait and none with it; in an earlier
/// such run a no-fault cell (librdkafka, in-flight 5, not idempotent)
/// reordered 15 records: partition 9's first batch, retried behind the
/// next.
/// A cell measures a topic its leaders serve, not the topic's first
/// second.
fn wait_for_leaders_to_serve(cfg: &ClientConfig, spec: &TopicSpec) -> Result<(), ClusterError> {
    let consumer: BaseConsumer = metadata_client_config(cfg)
        .create()
        .map_err(|e| ClusterError::ClientConfig(e.to_string()))?;
    let mut serving = 0;
    wait_for(
        &format!(
            "every partition of {} to be served by its leader",
            spec.name
        ),
        OP_TIMEOUT,
        || {
            while serving < spec.partitions {
                consumer
                    .fetch_watermarks(&spec.name, serving, Duration::from_secs(5))
                    .ok()?;
                serving += 1;
            }
            Some(())
        },
    )
}

/// [`Cluster::remove_topic`] through the Admin API; with `wait`, returns
/// once the brokers stop listing the topic. A topic already gone is fine.
pub fn admin_delete(cfg: &ClientConfig, name: &str, wait: bool) -> Result<(), ClusterError> {
    let admin = admin_client(cfg)?;
    let admin_err = |message: String| ClusterError::Admin {
        op: "deleting topic",
        topic: name.to_string(),
        message,
    };
    let results = block_on(admin.delete_topics(&[name], &admin_options()))
        .map_err(|e| admin_err(e.to_string()))?;
    for r in results {
        match r {
            Ok(_) => {}
            Err((_, rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition)) => return Ok(()),
            Err((_, code)) => return Err(admin_err(code.to_string())),
        }
    }
    if !wait {
        return Ok(());
    }
    let client = metadata_client(cfg)?;
    wait_for(&format!("topic {name} to disappear"), OP_TIMEOUT, || {
        let md = client
            .client()
            .fetch_metadata(Some(name), Duration::from_secs(5))
            .ok()?;
        let gone = md
            .topics()
            .iter()
            .all(|t| t.name() != name || t.error().is_some());
        gone.then_some(())
    })
}

/// One partition as the brokers currently describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    /// Leader's node id, None while the partition has no leader.
    pub leader: Option<i32>,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// Fetches one partition's leader, replicas and ISR; Ok(None) when the topic
/// or partition does not exist.
pub fn partition_state(
    cluster: &dyn Cluster,
    topic: &str,
    partition: i32,
) -> Result<Option<PartitionState>, ClusterError> {
    let client = metadata_client(&cluster.client_config())?;
    partition_state_with(&client, topic, partition)
}

pub(super) fn partition_state_with(
    client: &BaseProducer,
    topic: &str,
    partition: i32,
) -> Result<Option<PartitionState>, ClusterError> {
    let md = fetch_metadata(client, Some(topic))?;
    Ok(find_partition(&md, topic, partition))
}

pub(super) fn fetch_metadata(
    client: &BaseProducer,
    topic: Option<&str>,
) -> Result<Metadata, ClusterError> {
    client
        .client()
        .fetch_metadata(topic, Duration::from_secs(10))
        .map_err(|e| ClusterError::Admin {
            op: "fetching metadata for",
            topic: topic.unwrap_or("all topics").to_string(),
            message: e.to_string(),
        })
}

fn find_partition(md: &Metadata, topic: &str, partition: i32) -> Option<PartitionState> {
    let t = md.topics().iter().find(|t| t.name() == topic)?;
    if t.error().is_some() {
        return None;
    }
    let p = t.partitions().iter().find(|p| p.id() == partition)?;
    Some(PartitionState {
        leader: (p.leader() >= 0).then_some(p.leader()),
        replicas: p.replicas().to_vec(),
        isr: p.isr().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ExternalCluster;

    #[test]
    fn topic_names_are_prefixed_and_legal() {
        assert_eq!(
            topic_name(&["r1", "inflight=5,acks=all,idem=true"]),
            "kob-r1.inflight-5.acks-all.idem-true"
        );
        assert_eq!(topic_name(&["a b/c"]), "kob-a_b_c");
        assert!(check_topic_name(&topic_name(&["x"; 300])).is_ok());
        assert!(check_topic_name("orders")
            .unwrap_err()
            .to_string()
            .contains("start with \"kob-\""));
        assert!(check_topic_name("kob-a b").is_err());
    }

    #[test]
    fn replication_factor_is_min_3() {
        assert_eq!(replication_factor(1), 1);
        assert_eq!(replication_factor(2), 2);
        assert_eq!(replication_factor(3), 3);
        assert_eq!(replication_factor(9), 3);
    }

    #[test]
    fn delete_refuses_foreign_topics_without_contacting_anyone() {
        let c = ExternalCluster::unchecked("127.0.0.1:1", &[], 3);
        let e = delete_topic(&c, "orders").unwrap_err();
        assert!(matches!(e, ClusterError::ForeignTopic(_)));
        assert!(e.to_string().contains("only deletes topics it created"));
    }
}
