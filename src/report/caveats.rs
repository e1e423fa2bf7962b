//! Two sections of REPORT.md built from the run itself, not boilerplate:
//! what this run can and cannot tell (the machine, the links, the fault
//! model, the shape, the clients, the statistics), and why the violations it
//! found happen, with the mechanism in the client or broker that causes
//! each.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::grid::Client;
use crate::results::{MachineBound, THROUGHPUT_ESTIMATOR};
use crate::verify::AnomalyKind;

use super::fmt;
use super::model::{Meas, Model};

/// `## What this run can and cannot tell`.
pub(super) fn limits(s: &mut String, m: &Model) {
    let run = &m.results.run;
    let w = &run.workload;
    s.push_str("\n## What this run can and cannot tell\n\n");
    machine(s, m);
    links(s, m);
    faults(s, m);
    let _ = writeln!(
        s,
        "- **Shape**: {} partition{} per topic{}, {}-byte records, `batch.size` {} bytes (about {} records per request), `linger.ms` {}.{}",
        w.fixed.partitions,
        if w.fixed.partitions == 1 { "" } else { "s" },
        match super::text::producers_and_keys(&w.fixed) {
            k if w.fixed.producers == 1 => format!(", one producer per cell{k}"),
            k => k,
        },
        fmt::int(w.fixed.record_bytes as u64),
        fmt::int(u64::from(w.fixed.batch_bytes)),
        w.fixed.records_per_batch(),
        w.fixed.linger_ms,
        if w.fixed.producers == 1 && w.fixed.keys == 0 {
            " Production topics with many partitions and producers share connections and requests differently; this run does not measure that."
        } else {
            " Each producer keeps its own connections: several producers do not share one connection's in-flight limit."
        },
    );
    let clients: BTreeSet<String> = m
        .cells
        .iter()
        .map(|c| match &c.result.client {
            Client::Librdkafka => format!("librdkafka {}", run.librdkafka_version),
            Client::Java(v) => format!("the Java client (kafka-clients {v})"),
        })
        .collect();
    let _ = writeln!(
        s,
        "- **Clients**: {}; other clients, versions and their settings beyond this grid may behave otherwise.",
        clients.into_iter().collect::<Vec<_>>().join(", ")
    );
    let _ = writeln!(
        s,
        "- **Statistics**: throughput is the {THROUGHPUT_ESTIMATOR}, over {} interleaved rounds of {} windows. A figure whose interval overlaps another's is not a difference; a figure from one run is not a result until a rerun agrees (`compare`).",
        w.fixed.rounds, w.fixed.windows
    );
}

/// The machine: cores, how busy, how many cells it bounds.
fn machine(s: &mut String, m: &Model) {
    let run = &m.results.run;
    let busy: Vec<f64> = m
        .results
        .cells
        .iter()
        .filter_map(|c| c.measurement()?.conditions.median_busy_share())
        .collect();
    let measured: Vec<&Meas> = m.cells.iter().filter_map(|c| c.measured()).collect();
    let no_rtt = measured
        .iter()
        .filter(|x| matches!(x.machine_bound, Some(MachineBound::NoRoundTrip)))
        .count();
    let saturated = measured
        .iter()
        .filter(|x| matches!(x.machine_bound, Some(MachineBound::Saturated { .. })))
        .count();
    let busy_text = if busy.is_empty() {
        "no load was sampled".to_string()
    } else {
        let lo = busy.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = busy.iter().copied().fold(0.0, f64::max);
        format!(
            "cells kept it {}–{} busy in their median round (median {})",
            fmt::pct(lo * 100.0),
            fmt::pct(hi * 100.0),
            fmt::pct(crate::stats::median(&busy) * 100.0)
        )
    };
    let shared = if run.cluster.kind == crate::results::ClusterKind::Local {
        format!(
            "shared by the {} brokers, the proxy and the client",
            run.cluster.brokers
        )
    } else {
        "shared by the proxy and the client (the brokers run elsewhere)".to_string()
    };
    let _ = writeln!(
        s,
        "- **Machine**: {} cores {shared}; {busy_text}. {} of {} measured cells are machine-bound ({no_rtt} with no emulated round trip, {saturated} with the cores at least 90% busy): their figures measure this machine, are not ranked, and would differ on another.",
        run.machine.cores,
        no_rtt + saturated,
        measured.len(),
    );
    warm_up(s, m);
}

/// The cluster's warm-up before the first cell, as measured.
fn warm_up(s: &mut String, m: &Model) {
    let Some(w) = &m.results.run.cluster_warm_up else {
        if m.results.run.cluster.kind == crate::results::ClusterKind::Local {
            s.push_str("- **Warm-up**: this run did not record the cluster's warm-up; its first cells may have measured the brokers warming up.\n");
        }
        return;
    };
    let chunks: Vec<String> = w
        .chunks_records_per_sec
        .iter()
        .map(|r| fmt::rate(*r))
        .collect();
    let _ = writeln!(
        s,
        "- **Warm-up**: before the first cell the cluster took chunks of {} records (`acks=all`, in-flight 5, no emulated link) until the median of the last {span} chunks' throughput rose less than {rise} over the {span} before; {}, after {} chunks in {} s (records/s: {}). Cells then ran in shuffled order every round, so what drift remains spreads over all of them.",
        fmt::int(w.chunk_records),
        if w.settled { "it settled" } else { "it **did not settle** within its time limit, so the first round may be slower than the others" },
        w.chunks_records_per_sec.len(),
        fmt::sig3(w.elapsed_ms / 1e3),
        chunks.join(", "),
        span = crate::results::ClusterWarmUp::SPAN,
        rise = fmt::pct(crate::results::ClusterWarmUp::RISE * 100.0),
    );
}

/// The links: which round trips were emulated, and how.
fn links(s: &mut String, m: &Model) {
    let rtts: BTreeSet<u64> = m.results.cells.iter().map(|c| c.network.rtt_us).collect();
    let replication: BTreeSet<u64> = m
        .results
        .cells
        .iter()
        .map(|c| c.network.replication_rtt_us)
        .collect();
    let rtt_text: Vec<String> = rtts.iter().map(|u| crate::grid::fmt_rtt(*u)).collect();
    let repl = if replication.iter().all(|r| *r == 0) {
        "The brokers' replication links were not delayed (loopback): an `acks=all` answer here waits for a follower on the same machine.".to_string()
    } else {
        "The brokers' replication links had the cell's own RTT (a stretched cluster); a client across regions from a cluster within one region (replication much faster than the client's round trip) is not measured here, and there `acks=all` gains more from in-flight.".to_string()
    };
    let n = &m.results.run.workload.network;
    let _ = writeln!(
        s,
        "- **Network**: loopback, with client↔broker round trips of {} emulated by the suite's proxy as symmetric delay lines (jitter {} ms, bandwidth {}, no loss, never reordering a connection). {repl}",
        rtt_text.join(", "),
        n.jitter_ms,
        if n.bandwidth_mbit > 0.0 {
            format!("{} Mbit/s", n.bandwidth_mbit)
        } else {
            "unlimited".into()
        }
    );
}

/// The fault model: each kind the run injected, what it does and what it
/// leaves out.
fn faults(s: &mut String, m: &Model) {
    let kinds: BTreeSet<&str> = m
        .cells
        .iter()
        .filter_map(|c| c.measured())
        .flat_map(|x| x.faults_by_kind.iter().map(|(k, _)| k.as_str()))
        .collect();
    if kinds.is_empty() {
        s.push_str("- **Faults**: none reached any cell: no zero in this run is evidence of ordering under faults.\n");
        return;
    }
    let described: Vec<String> = kinds.iter().map(|k| fault_text(k)).collect();
    let _ = writeln!(
        s,
        "- **Faults**: synthetic, one event at a time, injected by the suite's proxy (or a broker kill for `failover`): {}. Violation counts are per this run's seeded schedule; the evidence a zero gives is a bound per fault event.",
        described.join("; ")
    );
}

/// What one fault kind does, and what it leaves out.
fn fault_text(kind: &str) -> String {
    match kind {
        "reject" => "`reject` refuses one Produce request with a retriable error without forwarding it, and forwards the next: the most favourable case for a reorder (a lasting condition, such as an ISR shrink, would refuse the requests behind it too)".into(),
        "lose-ack" => "`lose-ack` forwards a Produce request, lets the broker append it, and answers the client with a retriable error: the client sends the records again".into(),
        "refuse-window" => "`refuse-window` refuses every Produce request (retries included) with NOT_ENOUGH_REPLICAS for its span, as an ISR shrink does: the requests behind the first refused one are refused too".into(),
        "leader-move" => "`leader-move` answers every Produce request with NOT_LEADER_OR_FOLLOWER for its span and serves metadata that moves the leader: the client refreshes metadata and sends its retries to the new leader".into(),
        "timeout-after-append" => "`timeout-after-append` forwards a Produce request, lets the broker append it, holds the answer for its span and then answers REQUEST_TIMED_OUT: an ambiguous failure whose records are in the log".into(),
        "delay" => "`delay` holds one Produce request before forwarding it".into(),
        "reset" => "`reset` closes the client's connection instead of forwarding a Produce request".into(),
        "failover" => "`failover` kills the partition leader's broker (SIGKILL) and restarts it once the partition is in sync".into(),
        other => format!("`{other}`"),
    }
}

/// `## Why the violations happen`: the mechanism behind each kind of
/// violation the run found, per client.
pub(super) fn mechanisms(s: &mut String, m: &Model) {
    let mut found: BTreeSet<(String, AnomalyKind, bool)> = BTreeSet::new();
    for c in &m.cells {
        let Some(x) = c.measured() else { continue };
        for kind in AnomalyKind::VIOLATIONS {
            if x.count(kind) > 0 {
                let client = match &c.result.client {
                    Client::Librdkafka => "librdkafka".to_string(),
                    Client::Java(_) => "java".to_string(),
                };
                found.insert((client, kind, c.settings.max_in_flight == 1));
            }
        }
    }
    let idempotent_clean = m.cells.iter().any(|c| {
        c.settings.idempotence
            && c.measured()
                .is_some_and(|x| x.exposed() && x.violations() == 0)
    });
    if found.is_empty() && !idempotent_clean {
        return;
    }
    s.push_str("\n## Why the violations happen\n\n");
    let mut said = BTreeSet::new();
    for (client, kind, at_one) in &found {
        let text = match (client.as_str(), kind) {
            ("librdkafka", AnomalyKind::Reorder) => LIBRDKAFKA_REORDER,
            ("java", AnomalyKind::Reorder) => JAVA_REORDER,
            (_, AnomalyKind::LogDuplicate) => DUPLICATE,
            (_, AnomalyKind::Loss) => LOSS,
            _ => continue,
        };
        if said.insert(text) {
            let _ = writeln!(
                s,
                "- {text}{}",
                if *at_one && client == "librdkafka" && *kind == AnomalyKind::Reorder {
                    " This run saw it at in-flight 1 too."
                } else {
                    ""
                }
            );
        }
    }
    let lasting = m.cells.iter().any(|c| {
        c.measured().is_some_and(|x| {
            x.faults_by_kind
                .iter()
                .any(|(k, _)| k == "refuse-window" || k == "leader-move")
        })
    });
    if lasting {
        let _ = writeln!(s, "- {LASTING}");
    }
    if idempotent_clean {
        let _ = writeln!(s, "- {IDEMPOTENT}");
    }
}

const LASTING: &str = "**Lasting refusals** (`refuse-window`, `leader-move`) refuse every request that reaches the broker during their span, not one: the requests behind the first refused one come back refused with it, so whether order survives depends on how the client re-queues several failed batches (and, for a leader move, on when it learns the new leader), not only on how many were in flight. What each client did per event is in *What to set, from this run*.";

const LIBRDKAFKA_REORDER: &str = "**Reorders with librdkafka, not idempotent, at any in-flight.** librdkafka builds the next ProduceRequest while one is in flight (`queue.buffering.backpressure.threshold`, default 1; `rd_kafka_broker_outbufs_space` in `src/rdkafka_broker.c`), and a refused batch goes back into the partition's queue (`rd_kafka_toppar_retry_msgq`, `src/rdkafka_partition.c`) behind a request already built: the next batch is written first. Only the idempotent producer waits for in-flight requests to drain and re-sorts the retried records by sequence (`src/rdkafka_request.c`, librdkafka 2.12.1).";

const JAVA_REORDER: &str = "**Reorders with the Java client, not idempotent, with in-flight above 1.** The Sender keeps up to `max.in.flight` requests per connection; when one fails with a retriable error, its batch is re-enqueued (`RecordAccumulator.reenqueue`) while the later requests are already appended, so it lands behind them. At in-flight 1 the next request waits for the previous answer, so a retry cannot be overtaken.";

const DUPLICATE: &str = "**Log duplicates without idempotence.** When the broker appends a batch but the client gets an error instead of the acknowledgement (a lost answer, a timeout), the client sends the batch again and the broker appends it a second time. The idempotent producer's batches carry a producer id and sequence numbers, and the broker drops a batch it has already appended (`ProducerStateManager`).";

const LOSS: &str = "**Losses.** A record the client reported delivered is not in the log: with `acks=1` a leader can acknowledge a batch that no follower copied before it failed; with `acks=all` this is a client, broker or checker bug.";

const IDEMPOTENT: &str = "**No violation with idempotence** wherever faults reached an idempotent cell: the broker checks each batch's sequence number per producer and partition and refuses a gap or a repeat, and the client retries in sequence order. The evidence is bounded per fault event in the tables above.";
