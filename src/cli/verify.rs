//! `kafka-order-bench verify`: check any topic written in the documented
//! record format (see README: record format), e.g. by a Java or Go producer.
//!
//! Verify mode knows no run and no delivery reports: every (run id, stream)
//! is a stream of its own, and losses, gaps and possibly persisted records
//! are not judged. A sequence absent from a stream below the highest one
//! read is **missing** (lost, or never acknowledged). Exit status: 0 no
//! violation, 1 violations (reorders, log duplicates, missing sequences),
//! 2 error.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use kafka_order_bench::verify::{self, AnomalyKind, Checker, Example, SeqRange, Verdict};
use kafka_order_bench::{preflight, redact};

use super::ConnectArgs;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Topic to read, from each partition's first offset to its current end.
    #[arg(long)]
    pub topic: String,
    /// Print the verdict as JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Give up when no record arrives for this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
    /// Read the partitions with this many consumers in parallel (default:
    /// one per partition, at most one per core and 8).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub readers: Option<String>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn run(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let readers = a.readers.as_deref().map(parse_readers).transpose()?;
    // Without --bootstrap, the running `cluster up` cluster, if any: a
    // private cluster started just for this would hold no topic to check.
    let bootstrap = match a.connect.bootstrap.clone() {
        Some(b) => b,
        None => match kafka_order_bench::cluster::daemon::running_local_bootstrap()? {
            Some(b) => b,
            None => bail!(
                "no cluster to read topic {:?} from: pass --bootstrap HOST:PORT, set KAFKA_BOOTSTRAP_SERVERS, or start one with `kafka-order-bench cluster up`",
                a.topic
            ),
        },
    };
    preflight::check_properties(&a.connect.properties, Some(&bootstrap))?;
    let config = kafka_order_bench::cluster::client_config(&bootstrap, &a.connect.properties);
    let checker = Checker::new(None, None, Default::default());
    // The error's message already holds its cause: chaining it again would
    // print librdkafka's text twice.
    let verdict = verify::read_topic_with(
        &config,
        &a.topic,
        None,
        checker,
        Duration::from_secs(a.timeout.max(1)),
        readers,
    )
    .map_err(|e| anyhow::anyhow!(redact::redact(&e.to_string(), &a.connect.properties)))?;

    if verdict.records_read == 0 {
        bail!("topic {:?} holds no records: nothing to check", a.topic);
    }
    if verdict.malformed == verdict.records_read {
        bail!(
            "topic {:?}: none of its {} records is in the kafka-order-bench record format \
             (values must start with the 32-byte KOB1 header; see README: record format)",
            a.topic,
            verdict.records_read
        );
    }
    if a.json {
        let out = serde_json::json!({
            "topic": a.topic,
            "violations": verdict.violations(),
            "missing": verdict.missing.count,
            "missing_note": verify::MISSING_NOTE,
            "verdict": verdict,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", summary(&a.topic, &verdict));
    }
    Ok(if verdict.violations() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--readers`: a whole number from 1 to [`verify::MAX_READERS`].
fn parse_readers(s: &str) -> anyhow::Result<usize> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=verify::MAX_READERS).contains(&n) => Ok(n),
        _ => bail!(
            "--readers {s:?}: expected a number of readers from 1 to {}",
            verify::MAX_READERS
        ),
    }
}

/// The human-readable verdict.
pub fn summary(topic: &str, v: &Verdict) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "topic {topic}: {} records read, {} streams",
        v.records_read, v.streams
    );
    write_counts(&mut s, v);
    write_partitions(&mut s, v);
    write_keys(&mut s, v);
    let examples = examples(v);
    if !examples.is_empty() {
        let _ = writeln!(s, "examples:\n{examples}");
    }
    let _ = writeln!(s, "{}", conclusion(v));
    s
}

/// One line per anomaly kind (or why it is not judged), then missing
/// sequences (without delivery reports) and malformed records.
fn write_counts(s: &mut String, v: &Verdict) {
    for kind in AnomalyKind::ALL {
        let label = kind.label();
        if !v.judged(kind) {
            let _ = writeln!(s, "  {label:<20} not judged (no delivery reports)");
            continue;
        }
        let a = v.of(kind);
        let _ = write!(s, "  {label:<20} {}", a.count);
        if kind == AnomalyKind::Reorder && a.count > 0 {
            let d = &v.reorder_displacement;
            let _ = write!(
                s,
                "  (displacement max {}, mean {:.1})",
                d.max,
                d.sum as f64 / a.count as f64
            );
        }
        let _ = writeln!(s);
    }
    if !v.deliveries_known {
        write_missing(s, v);
    }
    let _ = writeln!(s, "  {:<20} {}", "malformed", v.malformed);
    if v.malformed > 0 {
        let _ = writeln!(
            s,
            "    (not in the record format, or implausible sequence/stream; see README: record format)"
        );
    }
}

/// Partitions with violations, one line each, when more than one was read.
fn write_partitions(s: &mut String, v: &Verdict) {
    if v.partitions.len() < 2 {
        return;
    }
    let bad: Vec<_> = v
        .partitions
        .iter()
        .filter(|(_, c)| c.reorders + c.log_duplicates + c.missing + c.losses > 0)
        .collect();
    let _ = writeln!(
        s,
        "partitions: {} read, {} with violations",
        v.partitions.len(),
        bad.len()
    );
    for (p, c) in bad {
        let _ = write!(
            s,
            "  partition {p:<4} {} records: {} reorders, {} log duplicates",
            c.records_read, c.reorders, c.log_duplicates
        );
        if v.deliveries_known {
            let _ = writeln!(s, ", {} losses", c.losses);
        } else {
            let _ = writeln!(s, ", {} missing", c.missing);
        }
    }
}

/// Order per key, when records carried keys: the totals, then the keys
/// with violations (at most 20 lines).
fn write_keys(s: &mut String, v: &Verdict) {
    let Some(k) = &v.keys else { return };
    let _ = writeln!(
        s,
        "keys: {} keyed records, {} keys (per stream), {} with violations",
        k.keyed_records, k.keys, k.keys_with_violations
    );
    let _ = writeln!(s, "  {:<20} {}", "key reorders", k.reorders);
    let _ = writeln!(s, "  {:<20} {}", "key log duplicates", k.log_duplicates);
    if k.keys_with_key_seq > 0 {
        let _ = writeln!(
            s,
            "  {:<20} {}  (over the {} keys whose records carry a key sequence)",
            "key missing", k.missing, k.keys_with_key_seq
        );
    } else {
        let _ = writeln!(
            s,
            "  {:<20} not judged (no key sequences; see README: record format)",
            "key missing"
        );
    }
    if k.keys_on_several_partitions > 0 {
        let _ = writeln!(
            s,
            "  {} keys on several partitions: no order promised across them, each partition checked apart",
            k.keys_on_several_partitions
        );
    }
    if k.untracked > 0 {
        let _ = writeln!(
            s,
            "  {} keyed records not checked per key (more than {} keys)",
            k.untracked,
            verify::MAX_KEYS
        );
    }
    for c in k.violating.iter().take(20) {
        let _ = write!(
            s,
            "  key {:?} partition {} stream {}: {} records, {} reorders, {} log duplicates",
            c.key, c.partition, c.stream, c.records, c.reorders, c.log_duplicates
        );
        match c.missing {
            Some(m) => {
                let _ = writeln!(s, ", {m} missing");
            }
            None => {
                let _ = writeln!(s);
            }
        }
    }
    if k.keys_with_violations > 20 {
        let _ = writeln!(
            s,
            "  … {} more keys with violations (--json lists up to {})",
            k.keys_with_violations - 20,
            verify::MAX_KEY_REPORTS
        );
    }
}

/// The count of missing sequences and, when any, their ranges and what
/// "missing" means.
fn write_missing(s: &mut String, v: &Verdict) {
    let _ = writeln!(s, "  {:<20} {}", "missing", v.missing.count);
    if v.missing.count > 0 {
        let ranges: Vec<String> = v.missing_ranges.iter().map(range).collect();
        let _ = writeln!(s, "    ranges: {}", ranges.join(", "));
        let _ = writeln!(s, "    ({})", verify::MISSING_NOTE);
    }
}

/// `run 0xff stream 1 seq 9..=11`, or `stream 0 seq 5` for one sequence.
fn range(r: &SeqRange) -> String {
    let run = r.run_id.map(|x| format!("run {x:#x} ")).unwrap_or_default();
    if r.first_seq == r.last_seq {
        format!("{run}stream {} seq {}", r.stream, r.first_seq)
    } else {
        format!(
            "{run}stream {} seq {}..={}",
            r.stream, r.first_seq, r.last_seq
        )
    }
}

/// Every kind's examples, one line each; empty when there are none.
fn examples(v: &Verdict) -> String {
    let mut out = String::new();
    for kind in AnomalyKind::ALL {
        for e in &v.of(kind).examples {
            write_example(&mut out, kind, e);
        }
    }
    out
}

/// `  reorder            run 0xabc stream 0 seq 3 at partition 0 offset 4, displacement 2`.
fn write_example(out: &mut String, kind: AnomalyKind, e: &Example) {
    let _ = write!(out, "  {:<18}", kind.as_str());
    if let Some(run) = e.run_id {
        let _ = write!(out, " run {run:#x}");
    }
    let _ = write!(out, " stream {} seq {}", e.stream, e.seq);
    if let (Some(p), Some(o)) = (e.partition, e.offset) {
        let _ = write!(out, " at partition {p} offset {o}");
    }
    match (kind, e.detail) {
        (AnomalyKind::Reorder, Some(d)) => {
            let _ = write!(out, ", displacement {d}");
        }
        (AnomalyKind::LogDuplicate, Some(o)) => {
            let _ = write!(out, ", first copy at offset {o}");
        }
        _ => {}
    }
    let _ = writeln!(out);
}

/// `no ordering violations`, or their number and kinds.
fn conclusion(v: &Verdict) -> String {
    let n = v.violations();
    if n == 0 {
        return "no ordering violations".into();
    }
    let kinds: Vec<&str> = AnomalyKind::VIOLATIONS
        .into_iter()
        .filter(|k| v.of(*k).count > 0)
        .map(AnomalyKind::as_str)
        .chain((v.missing.count > 0).then_some("missing"))
        .collect();
    format!("{n} ordering violations ({})", kinds.join(", "))
}
