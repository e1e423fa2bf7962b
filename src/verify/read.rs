//! Reading a cell's topic back: the rdkafka consumers that feed every record
//! of a topic, up to the end offsets recorded after the producer flushed, to
//! a [`Checker`].
//!
//! A topic of several partitions is read by several readers in parallel,
//! each with its own consumer, a share of the partitions and a
//! [`Checker::sibling`]; their checkers are merged at the end (see
//! *Parallel reads* in the [module documentation](super)). Memory stays
//! bounded per stream: each reader's checker holds only the streams of its
//! partitions, and the consumers' prefetch (queued records and fetch
//! responses) shares one budget, [`PREFETCH_BUDGET_BYTES`] (see
//! [`prefetch_properties`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::checker::Checker;
use super::verdict::Verdict;

/// Why a topic could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The client configuration was refused (e.g. a bad `-X` property).
    #[error("cannot create a consumer: {cause} (hint: check the -X properties)")]
    Config { cause: Box<KafkaError> },
    /// No broker answered the metadata request.
    #[error("cannot reach the cluster at {bootstrap:?} to read topic {topic:?}: {cause} (hint: check --bootstrap and the -X security properties)")]
    Unreachable {
        bootstrap: String,
        topic: String,
        cause: Box<KafkaError>,
    },
    /// The cluster answered but has no such topic.
    #[error("topic {topic:?} does not exist on the cluster at {bootstrap:?}")]
    UnknownTopic { topic: String, bootstrap: String },
    /// The cluster reported an error for the topic's metadata or offsets.
    #[error("cannot read topic {topic:?}: {message}")]
    Topic { topic: String, message: String },
    /// No record arrived for `waited` before the end offsets were reached.
    #[error(
        "timed out reading topic {topic:?}: no progress for {waited:?}; read {read} of up to \
         {expected} records, {partitions_done} of {partitions} partitions complete{}",
        last_error.as_deref().map(|e| format!(" (last error: {e})")).unwrap_or_default()
    )]
    Timeout {
        topic: String,
        waited: Duration,
        read: u64,
        expected: u64,
        partitions_done: usize,
        partitions: usize,
        last_error: Option<String>,
    },
}

/// The consumer properties `read_topic` sets over the caller's: read
/// everything once, fast, and leave no trace on the cluster (no group
/// membership, no commits). The prefetch properties come on top, from
/// [`prefetch_properties`].
pub const CONSUMER_PROPERTIES: &[(&str, &str)] = &[
    ("enable.auto.commit", "false"),
    ("enable.auto.offset.store", "false"),
    ("enable.partition.eof", "false"),
    ("auto.offset.reset", "earliest"),
    ("allow.auto.create.topics", "false"),
    ("check.crcs", "false"),
    ("fetch.wait.max.ms", "100"),
];

/// The prefetch of all the readers of one read together, in bytes of
/// record data: each of `readers` consumers gets a `1/readers` share
/// (see [`prefetch_properties`]). 32 MiB.
///
/// librdkafka's memory per consumer is about its queue of fetched
/// records plus one fetch response in flight per broker, and each queued
/// record also costs a per-message struct of a few hundred bytes, more
/// than a small record's own bytes. With this budget `verify --topic`
/// (two readers) peaked at 69–80 MiB RSS reading 10 M records of 128
/// bytes over 32 partitions and 128 streams, where a 256 MiB queue with
/// 100 MiB fetches peaked at 875–907 MiB (README, *Performance*).
pub const PREFETCH_BUDGET_BYTES: usize = 32 << 20;

/// `fetch.max.bytes` at least: above librdkafka's default
/// `message.max.bytes` (1000000), which it must not be below.
const MIN_FETCH_BYTES: usize = 1 << 20;

/// The prefetch properties of one of `readers` consumers sharing
/// [`PREFETCH_BUDGET_BYTES`]; its share `S` goes
/// - half to queued records: `queued.max.messages.kbytes` = `S/2`, and
///   `queued.min.messages` = `S/2` ÷ 512 bytes, so that small records
///   (each with its per-message struct) are bounded by count too;
/// - half to fetch responses in flight: `fetch.max.bytes` = `S/8` (for up
///   to 4 brokers, one response each; at least 1 MiB, more than the
///   eighth with more than 4 readers) and
///   `max.partition.fetch.bytes` a quarter of that;
///
/// and `fetch.queue.backoff.ms` is 1: a consumer whose queue is full
/// fetches again 1 ms later, not librdkafka's default 1 s (with a queue
/// this small, the default stalls the read: 0.1 M records/s measured).
/// A plain consumer compared with a read of `n` readers is given the same
/// total budget with `prefetch_properties(1)`.
pub fn prefetch_properties(readers: usize) -> Vec<(&'static str, String)> {
    let share = PREFETCH_BUDGET_BYTES / readers.max(1);
    let queue = share / 2;
    let fetch = (share / 8).max(MIN_FETCH_BYTES);
    vec![
        (
            "queued.max.messages.kbytes",
            (queue / 1024).max(1).to_string(),
        ),
        ("queued.min.messages", (queue / 512).max(1).to_string()),
        ("fetch.max.bytes", fetch.to_string()),
        ("max.partition.fetch.bytes", (fetch / 4).to_string()),
        ("fetch.queue.backoff.ms", "1".to_string()),
    ]
}

/// Readers at most in a parallel read.
pub const MAX_READERS: usize = 8;

/// The readers [`read_topic`] uses for `partitions` partitions with
/// records: one per partition, at most one per core and [`MAX_READERS`].
pub fn default_readers(partitions: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    partitions.min(cores).clamp(1, MAX_READERS)
}

/// Reads `topic` from each partition's low watermark up to its end offset
/// and feeds every record to `checker`, with [`default_readers`] readers.
///
/// - `config`: the base client configuration (bootstrap.servers and any `-X`
///   properties); [`CONSUMER_PROPERTIES`] are set over it. Partitions are
///   assigned, never subscribed: no group is joined (a `group.id` is set
///   when none is given, as librdkafka requires one) and nothing is committed.
/// - `end_offsets`: the high watermark per partition recorded after the
///   producer flushed; records at or past it are not the cell's and are not
///   read. `None` fetches the current high watermarks first.
/// - `timeout`: the longest wait without a new record (and for each metadata
///   or watermark request, at most 10 s of it), not a limit on the whole read.
pub fn read_topic(
    config: &ClientConfig,
    topic: &str,
    end_offsets: Option<&BTreeMap<i32, i64>>,
    checker: Checker,
    timeout: Duration,
) -> Result<Verdict, VerifyError> {
    read_topic_with(config, topic, end_offsets, checker, timeout, None)
}

/// As [`read_topic`], with `readers` readers (`None`: [`default_readers`];
/// never more than the partitions with records, nor [`MAX_READERS`]).
pub fn read_topic_with(
    config: &ClientConfig,
    topic: &str,
    end_offsets: Option<&BTreeMap<i32, i64>>,
    mut checker: Checker,
    timeout: Duration,
    readers: Option<usize>,
) -> Result<Verdict, VerifyError> {
    let bootstrap = config.get("bootstrap.servers").unwrap_or("").to_string();
    let request_timeout = timeout.min(Duration::from_secs(10));
    let planner = consumer(config, 1)?;
    let Some(plan) = plan(&planner, &bootstrap, topic, end_offsets, request_timeout)? else {
        return Ok(checker.finish());
    };
    let n = readers
        .unwrap_or_else(|| default_readers(plan.len()))
        .clamp(1, MAX_READERS)
        .min(plan.len());
    if n == 1 {
        let cell = assign(&planner, topic, plan)?;
        drain(&planner, topic, cell, &mut checker, timeout)?;
        return Ok(checker.finish());
    }
    drop(planner);
    // Partitions dealt round-robin: neighbours, often of similar size, go
    // to different readers.
    let mut shares: Vec<Vec<Share>> = vec![Vec::new(); n];
    for (i, p) in plan.into_iter().enumerate() {
        shares[i % n].push(p);
    }
    type Read = Result<(Checker, u64, usize), VerifyError>;
    let results: Vec<Read> = std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| {
                let mut mine = checker.sibling();
                scope.spawn(move || -> Read {
                    let consumer = consumer(config, n)?;
                    let cell = assign(&consumer, topic, share)?;
                    let (expected, partitions) = (cell.expected, cell.ends.len());
                    drain(&consumer, topic, cell, &mut mine, timeout)?;
                    Ok((mine, expected, partitions))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a reader never panics"))
            .collect()
    });
    // A reader that timed out reports the whole topic's progress.
    let mut totals = (0u64, 0u64, 0usize, 0usize);
    let mut timed_out: Option<(Duration, Option<String>)> = None;
    let mut checkers = Vec::new();
    for r in results {
        match r {
            Ok((c, expected, partitions)) => {
                totals.0 += c.records_read();
                totals.1 += expected;
                totals.2 += partitions;
                totals.3 += partitions;
                checkers.push(c);
            }
            Err(VerifyError::Timeout {
                waited,
                read,
                expected,
                partitions_done,
                partitions,
                last_error,
                ..
            }) => {
                totals.0 += read;
                totals.1 += expected;
                totals.2 += partitions_done;
                totals.3 += partitions;
                if timed_out.as_ref().map_or(true, |t| t.1.is_none()) {
                    timed_out = Some((waited, last_error));
                }
            }
            Err(e) => return Err(e),
        }
    }
    if let Some((waited, last_error)) = timed_out {
        return Err(VerifyError::Timeout {
            topic: topic.to_string(),
            waited,
            read: totals.0,
            expected: totals.1,
            partitions_done: totals.2,
            partitions: totals.3,
            last_error,
        });
    }
    for c in checkers {
        checker.merge(c);
    }
    Ok(checker.finish())
}

/// A consumer on `config` with [`CONSUMER_PROPERTIES`] and
/// [`prefetch_properties`]`(readers)` set over it.
fn consumer(config: &ClientConfig, readers: usize) -> Result<BaseConsumer, VerifyError> {
    let mut config = config.clone();
    for (k, v) in CONSUMER_PROPERTIES {
        config.set(*k, *v);
    }
    for (k, v) in prefetch_properties(readers) {
        config.set(k, v);
    }
    // librdkafka refuses a fetch.max.bytes below message.max.bytes, which
    // a -X property may have raised.
    let at_least = |key: &str| config.get(key).and_then(|v| v.parse::<usize>().ok());
    if let (Some(message), Some(fetch)) =
        (at_least("message.max.bytes"), at_least("fetch.max.bytes"))
    {
        if message > fetch {
            config.set("fetch.max.bytes", message.to_string());
        }
    }
    // librdkafka refuses assign() without a group id; with assign() and no
    // commits the group is never joined.
    if config.get("group.id").is_none() {
        config.set("group.id", "kafka-order-bench-verify");
    }
    config
        .create()
        .map_err(|e| VerifyError::Config { cause: e.into() })
}

/// One partition to read: (partition, first offset, end offset).
type Share = (i32, i64, i64);

/// What is left to read of a topic once its partitions are assigned.
struct Assigned {
    /// The end offset of each partition with records to read.
    ends: BTreeMap<i32, i64>,
    /// Records between the low watermarks and the end offsets.
    expected: u64,
}

/// Every partition of `topic` with records below its end offset, as
/// (partition, low watermark, end offset); `None` when there is nothing to
/// read.
fn plan(
    consumer: &BaseConsumer,
    bootstrap: &str,
    topic: &str,
    end_offsets: Option<&BTreeMap<i32, i64>>,
    request_timeout: Duration,
) -> Result<Option<Vec<Share>>, VerifyError> {
    let metadata = consumer
        .fetch_metadata(Some(topic), request_timeout)
        .map_err(|e| VerifyError::Unreachable {
            bootstrap: bootstrap.to_string(),
            topic: topic.to_string(),
            cause: e.into(),
        })?;
    let unknown = || VerifyError::UnknownTopic {
        topic: topic.to_string(),
        bootstrap: bootstrap.to_string(),
    };
    let meta = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .ok_or_else(unknown)?;
    match meta.error() {
        None => {}
        Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) => return Err(unknown()),
        Some(e) => {
            return Err(VerifyError::Topic {
                topic: topic.to_string(),
                message: format!("{e:?}"),
            })
        }
    }
    if meta.partitions().is_empty() {
        return Err(unknown());
    }

    // Where each partition starts and ends; partitions with nothing to read
    // are left out.
    let mut plan = Vec::new();
    for p in meta.partitions() {
        let id = p.id();
        let (low, high) = consumer
            .fetch_watermarks(topic, id, request_timeout)
            .map_err(|e| VerifyError::Topic {
                topic: topic.to_string(),
                message: format!("cannot fetch the watermarks of partition {id}: {e}"),
            })?;
        let end = end_offsets
            .and_then(|m| m.get(&id).copied())
            .unwrap_or(high);
        if end > low {
            plan.push((id, low, end));
        }
    }
    plan.sort_unstable();
    Ok((!plan.is_empty()).then_some(plan))
}

/// Assigns `partitions` (partition, from, end) of `topic` to `consumer`.
fn assign(
    consumer: &BaseConsumer,
    topic: &str,
    partitions: Vec<Share>,
) -> Result<Assigned, VerifyError> {
    let mut ends: BTreeMap<i32, i64> = BTreeMap::new();
    let mut expected = 0u64;
    let mut assignment = TopicPartitionList::new();
    for (id, low, end) in partitions {
        expected += (end - low) as u64;
        ends.insert(id, end);
        assignment
            .add_partition_offset(topic, id, Offset::Offset(low))
            .map_err(|e| VerifyError::Topic {
                topic: topic.to_string(),
                message: e.to_string(),
            })?;
    }
    consumer
        .assign(&assignment)
        .map_err(|e| VerifyError::Topic {
            topic: topic.to_string(),
            message: format!("cannot assign its partitions: {e}"),
        })?;
    Ok(Assigned { ends, expected })
}

/// Polls until every assigned partition has reached its end offset, feeding
/// each record below it to `checker`; fails after `timeout` without a record.
fn drain(
    consumer: &BaseConsumer,
    topic: &str,
    cell: Assigned,
    checker: &mut Checker,
    timeout: Duration,
) -> Result<(), VerifyError> {
    let partitions = cell.ends.len();
    let mut remaining: BTreeMap<i32, i64> = cell.ends;
    let mut last_progress = Instant::now();
    let mut progressed = false;
    let mut last_error: Option<String> = None;
    let done = |consumer: &BaseConsumer, p: i32| {
        // Stop fetching what lies past the end; a failure only costs reads.
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, p);
        let _ = consumer.pause(&tpl);
    };
    while !remaining.is_empty() {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let (p, offset) = (m.partition(), m.offset());
                let Some(&end) = remaining.get(&p) else {
                    continue;
                };
                if offset < end {
                    checker.observe_keyed(p, offset, m.key(), m.payload());
                    progressed = true;
                }
                if offset + 1 >= end {
                    remaining.remove(&p);
                    done(consumer, p);
                }
                continue;
            }
            Some(Err(e)) => last_error = Some(e.to_string()),
            None => {
                // Transaction markers and compaction leave offsets no record
                // carries: a partition whose position passed its end is done.
                if let Ok(position) = consumer.position() {
                    for e in position.elements_for_topic(topic) {
                        let p = e.partition();
                        if let (Some(&end), Offset::Offset(at)) = (remaining.get(&p), e.offset()) {
                            if at >= end {
                                remaining.remove(&p);
                                done(consumer, p);
                            }
                        }
                    }
                }
            }
        }
        if progressed {
            progressed = false;
            last_progress = Instant::now();
        } else if last_progress.elapsed() >= timeout {
            return Err(VerifyError::Timeout {
                topic: topic.to_string(),
                waited: timeout,
                read: checker.records_read(),
                expected: cell.expected,
                partitions_done: partitions - remaining.len(),
                partitions,
                last_error,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(props: &[(&str, String)], key: &str) -> usize {
        props
            .iter()
            .find(|(k, _)| *k == key)
            .unwrap()
            .1
            .parse()
            .unwrap()
    }

    #[test]
    fn the_readers_queues_share_half_the_budget() {
        for n in 1..=MAX_READERS {
            let p = prefetch_properties(n);
            let queue = number(&p, "queued.max.messages.kbytes") * 1024;
            assert!(n * queue <= PREFETCH_BUDGET_BYTES / 2, "{n} readers");
            assert!(number(&p, "fetch.max.bytes") >= MIN_FETCH_BYTES);
            assert!(number(&p, "max.partition.fetch.bytes") > 0);
        }
        assert_eq!(
            number(&prefetch_properties(2), "fetch.max.bytes"),
            number(&prefetch_properties(1), "fetch.max.bytes") / 2
        );
    }

    #[test]
    fn librdkafka_accepts_every_readers_share() {
        // No broker listens there; creating a consumer connects to none.
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", "127.0.0.1:9");
        for n in 1..=MAX_READERS {
            assert!(consumer(&config, n).is_ok(), "{n} readers");
        }
        // fetch.max.bytes below message.max.bytes would be refused.
        config.set("message.max.bytes", "4000000");
        for n in 1..=MAX_READERS {
            assert!(
                consumer(&config, n).is_ok(),
                "{n} readers, message.max.bytes 4000000"
            );
        }
    }
}
