//! The checker: read a cell's topic back and classify every record.
//!
//! Vocabulary (the one the reports use):
//! - **reorder**: a record whose sequence number is lower than the highest one
//!   already read from its stream (a backward step); its *displacement* is that
//!   highest sequence minus its own.
//! - **log duplicate**: the same (stream, sequence) stored at two offsets.
//! - **redelivery**: the same offset read twice; a consumer matter, counted apart.
//! - **loss**: a record the client reported delivered that is not in the log.
//! - **gap**: a record the client reported failed that is not in the log.
//! - **possibly persisted**: a record the client reported failed that *is* in the log.
//!
//! # How one record is classified
//!
//! [`Checker::observe`] takes records in the order the consumer returns them
//! and puts each into exactly one bucket, first match wins:
//!
//! 1. **malformed**: the value does not carry the stamped header
//!    ([`crate::record`]), or its stream/sequence is implausible (see
//!    *Bounds* below);
//! 2. **foreign**: a well-formed record of another run (run mode only);
//! 3. **redelivery**: its offset is not above the last offset already read
//!    from its partition;
//! 4. **log duplicate**: its sequence was already read from its stream, at
//!    another offset;
//! 5. otherwise it is a **distinct** record, and additionally a **reorder**
//!    when its sequence is below the highest one already read from its
//!    stream.
//!
//! so `records_read = distinct + log duplicates + redeliveries + foreign +
//! malformed` always holds. Losses, gaps and possibly persisted records are
//! judged against the delivery reports; without them (`verify` on a topic
//! some other program wrote) they cannot be, and the verdict says so with
//! [`Verdict::deliveries_known`].
//!
//! # Bounds
//!
//! Memory is bounded by the number of streams and one bitmap per stream, never
//! by a map of every record: the "seen" set of a stream is a bitmap allocated
//! in pages of 4096 sequences on first touch, so a stray huge sequence costs
//! one page, not a bitmap up to it. To keep strange input from growing it
//! anyway, a record is counted as **malformed** when
//! - delivery reports are known and its sequence is not below the number of
//!   records sent on its stream (or its stream was never sent on): it cannot
//!   be one of ours;
//! - delivery reports are unknown and its sequence is `>=` [`SEQ_CAP`] (2^32);
//! - it would open a stream beyond [`MAX_STREAMS`] tracked streams.
//!
//! # Missing sequences (no delivery reports)
//!
//! Without delivery reports (`verify` on a topic another program wrote) a
//! sequence absent from a stream but below the highest one read is
//! **missing**: lost, or never acknowledged (the checker cannot tell which).
//! Sequences above the highest read are unknown and not counted. Missing
//! sequences count as violations. With delivery reports nothing is
//! missing: absent records are losses or gaps.
//!
//! # Attribution to fault events
//!
//! Given the cell's fault events ([`Checker::with_events`]), every reorder,
//! log duplicate, loss and missing sequence whose (stream, sequence) lies in
//! an event's record spans is attributed to that event (to the narrowest
//! span when several hold it: a refused batch inside a failover's window
//! goes to the refused batch). [`Verdict::events`] sums the evidence per
//! event kind, [`Verdict::event_outcomes`] gives it per event, and what no
//! event holds is [`Verdict::unattributed_violations`].
//!
//! # Disorder depth
//!
//! For each event that caused reorders, [`EventOutcome::depth`] says how
//! deep they went ([`Depth`]): the most records of the stream that overtook
//! one of its reordered records (a higher sequence, read before it), the
//! same in requests (divided by the records the faulted request carried for
//! that stream, rounded up: the log keeps no request boundaries, so exact
//! for full batches, an estimate otherwise), and the distribution of the
//! reordered records' displacements (max, sum, exact median and 90th
//! percentile while at most [`MAX_KEPT_DISPLACEMENTS`] values are kept,
//! power-of-two histogram always). Displacement counts sequence numbers,
//! overtaking counts records in the log: two refused batches in flight
//! displace the first one past the second's sequences, which did not
//! overtake it.
//!
//! # Parallel reads
//!
//! Order is promised per partition, so partitions can be classified apart:
//! [`Checker::sibling`] gives each reader its own checker and
//! [`Checker::merge`] adds them up, with the same counts as one checker
//! reading everything (a stream written to several partitions has its
//! copies across them found by the merge).
//!
//! The offset of the first copy of a log duplicate is found among the last
//! [`RECENT`] distinct records of its stream (retried batches land close to
//! the original); when the first copy is older than that the example's
//! `detail` is `None`. Offsets of possibly persisted records are known; those
//! of losses and gaps are absent by definition.
//!
//! # Layout
//!
//! The [`Checker`] is pure (no I/O) and streams; it returns a [`Verdict`].
//! [`read_topic`] is the one place that talks to a cluster: it feeds a
//! topic's records to a checker. What the producer was told about each record
//! arrives as [`Deliveries`], defined in [`crate::delivery`], the module run
//! and verify share.

mod attribution;
mod checker;
mod keys;
mod read;
mod seqset;
mod verdict;

pub use attribution::MAX_KEPT_DISPLACEMENTS;
pub use checker::{Checker, MAX_STREAMS, RECENT, SEQ_CAP};
pub use keys::{KEY_BYTES_KEPT, MAX_KEYS, MAX_KEY_REPORTS};
pub use read::{
    default_readers, prefetch_properties, read_topic, read_topic_with, VerifyError,
    CONSUMER_PROPERTIES, MAX_READERS, PREFETCH_BUDGET_BYTES,
};
pub use verdict::{
    permitted, Anomalies, AnomalyKind, Depth, Displacement, DisplacementStats, EventEvidence,
    EventOutcome, Example, HistogramBucket, KeyCounts, KeyVerdict, PartitionCounts, SeqRange,
    Verdict, MAX_EXAMPLES, MAX_RANGES, MISSING_NOTE,
};

/// The run → verify hand-off, also reachable from here because
/// [`Checker::new`] takes it.
pub use crate::delivery::{Bitmap, Deliveries, StreamDeliveries};

#[cfg(test)]
mod tests;
