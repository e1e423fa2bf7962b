//! Side by side with the tools Kafka engineers already trust (issue 7).
//!
//! On one cluster, for a few representative cells, runs librdkafka's own
//! `rdkafka_performance`, Apache Kafka's `kafka-producer-perf-test`
//! (`org.apache.kafka.tools.ProducerPerformance`) and kafka-order-bench's own
//! send path ([`librdkafka::Session`]), alternating them (A B C A B C …), each on a
//! fresh topic (1 partition, RF 3, `min.insync.replicas=2`) with the same
//! records, record size, `linger.ms`, `batch.size` and delivery settings.
//! Then reads one topic back with the checker (`verify::read_topic`) and with
//! a plain consumer (`rdkafka_performance -C`), alternating too.
//!
//! Prints medians, spread and the ratio kafka-order-bench / each peer, and
//! writes the table to `reports/peers/peers-<utc>.md`. Run through
//! `make peers` (scripts/peers.sh builds the peers and starts a cluster);
//! timing-dependent, so it lives here and never in `cargo test`.
//!
//! Environment: `PEERS_BOOTSTRAP` (else the running local cluster),
//! `PEERS_RDKAFKA_PERFORMANCE`, `PEERS_KAFKA_TOOLS_LIBS`, `PEERS_LOG4J`,
//! `PEERS_RECORDS` (200000), `PEERS_REPS` (3), `PEERS_CHECK_RECORDS`
//! (1000000), `PEERS_OUT` (reports/peers), `PEERS_CELLS` (e.g. `0,2`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use kafka_order_bench::cluster::{self, Cluster};
use kafka_order_bench::grid::{Acks, Fixed, ProducerSettings};
use kafka_order_bench::librdkafka::{Created, Session};
use kafka_order_bench::{suite, verify};

/// Record value size, bytes.
const RECORD_BYTES: usize = 1024;
const LINGER_MS: u32 = 5;
const BATCH_BYTES: u32 = 1_000_000;
const MESSAGE_TIMEOUT_MS: u32 = 30_000;

#[derive(Clone, Copy)]
enum Tool {
    RdkafkaPerformance,
    ProducerPerformance,
    KafkaOrderBench,
}

impl Tool {
    const ALL: [Tool; 3] = [
        Tool::RdkafkaPerformance,
        Tool::ProducerPerformance,
        Tool::KafkaOrderBench,
    ];
    fn name(self) -> &'static str {
        match self {
            Tool::RdkafkaPerformance => "rdkafka_performance",
            Tool::ProducerPerformance => "kafka-producer-perf-test",
            Tool::KafkaOrderBench => "kafka-order-bench",
        }
    }
    fn slug(self) -> &'static str {
        match self {
            Tool::RdkafkaPerformance => "rdkperf",
            Tool::ProducerPerformance => "javaperf",
            Tool::KafkaOrderBench => "kob",
        }
    }
}

/// One timed run: what the tool itself reported.
#[derive(Clone, Copy, Debug)]
struct Measured {
    records_per_sec: f64,
    p99_ms: f64,
}

struct Env {
    cluster: Box<dyn Cluster>,
    bootstrap: String,
    rdkafka_performance: PathBuf,
    kafka_tools_libs: PathBuf,
    log4j: PathBuf,
    records: u64,
    reps: usize,
    check_records: u64,
    out: PathBuf,
    run_tag: String,
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(key) {
        Ok(v) if !v.is_empty() => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{key}={v:?} is not a valid value")),
        _ => Ok(default),
    }
}

fn main() {
    // Plain `cargo bench` runs every bench target: this one needs
    // rdkafka_performance and minutes, so it runs only from `make peers`.
    if std::env::var_os("KOB_PEERS").is_none() {
        println!("peers: skipped (run `make peers`, which builds the peers and sets KOB_PEERS=1)");
        return;
    }
    if let Err(e) = run() {
        eprintln!("Error: {e:#}");
        std::process::exit(1);
    }
}

/// Prints the suite's set-up notices (which cluster, when it is ready).
struct Notices;

impl suite::Progress for Notices {
    fn notice(&mut self, message: &str) {
        eprintln!("{message}");
    }
}

fn run() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bootstrap = std::env::var("PEERS_BOOTSTRAP")
        .ok()
        .filter(|b| !b.is_empty());
    let cluster = suite::connect(bootstrap.as_deref(), &[], 3, &mut Notices)?;
    let cache = cluster::cache_dir();
    let env = Env {
        bootstrap: cluster.bootstrap(),
        cluster,
        rdkafka_performance: env_or(
            "PEERS_RDKAFKA_PERFORMANCE",
            root.join("target/peers/rdkafka_performance"),
        )?,
        kafka_tools_libs: env_or(
            "PEERS_KAFKA_TOOLS_LIBS",
            cache.join("kafka-tools-4.1.1/libs"),
        )?,
        log4j: env_or("PEERS_LOG4J", root.join("kafka/peers/log4j2.properties"))?,
        records: env_or("PEERS_RECORDS", 200_000)?,
        reps: env_or("PEERS_REPS", 3)?,
        check_records: env_or("PEERS_CHECK_RECORDS", 1_000_000)?,
        out: env_or("PEERS_OUT", root.join("reports/peers"))?,
        run_tag: format!("{:x}", rand::random::<u32>()),
    };
    if !env.rdkafka_performance.is_file() {
        bail!(
            "no rdkafka_performance at {} (hint: make peers builds it)",
            env.rdkafka_performance.display()
        );
    }
    let cells = selected_cells()?;
    let load_before = uptime();
    let started = Instant::now();
    let mut report = header(&env, &load_before);
    // The brokers' JIT compiles the produce and replication paths on the
    // first records; no tool should pay for that.
    warm_up_cluster(&env)?;

    // Producers: every cell, repetitions interleaved A B C A B C.
    let mut table = String::new();
    for cell in &cells {
        let mut runs: Vec<Vec<Measured>> = vec![Vec::new(); Tool::ALL.len()];
        for rep in 0..env.reps {
            for (i, tool) in Tool::ALL.iter().enumerate() {
                let m = produce_once(&env, *tool, cell, rep)
                    .with_context(|| format!("{} on {}", tool.name(), cell.id()))?;
                eprintln!(
                    "{:<44} rep {} {:<26} {:>10.0} records/s  p99 {:>8.2} ms",
                    cell.id(),
                    rep + 1,
                    tool.name(),
                    m.records_per_sec,
                    m.p99_ms
                );
                runs[i].push(m);
            }
        }
        table.push_str(&cell_rows(cell, &runs));
    }
    report.push_str(&producer_table_header());
    report.push_str(&table);

    // The checker against a plain consumer, on one topic.
    report.push_str(&checker_vs_consumer(&env)?);

    let load_after = uptime();
    let _ = writeln!(
        report,
        "\nLoad after ({:.0} s): `{load_after}`",
        started.elapsed().as_secs_f64()
    );
    println!("{report}");
    std::fs::create_dir_all(&env.out).with_context(|| format!("creating {}", env.out.display()))?;
    let path = env.out.join(format!(
        "peers-{}.md",
        kafka_order_bench::results::compact_utc(SystemTime::now())
    ));
    std::fs::write(&path, &report).with_context(|| format!("writing {}", path.display()))?;
    println!("written: {}", path.display());
    Ok(())
}

/// The cells compared: ordered with idempotence, then the unsafe ones.
fn all_cells() -> Vec<ProducerSettings> {
    let s = |max_in_flight, acks, idempotence| ProducerSettings {
        max_in_flight,
        acks,
        idempotence,
    };
    vec![
        s(1, Acks::All, true),
        s(5, Acks::All, true),
        s(5, Acks::All, false),
        s(5, Acks::One, false),
        s(100, Acks::All, false),
        s(100, Acks::One, false),
    ]
}

fn selected_cells() -> anyhow::Result<Vec<ProducerSettings>> {
    let all = all_cells();
    let Ok(filter) = std::env::var("PEERS_CELLS") else {
        return Ok(all);
    };
    filter
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let i: usize = s.trim().parse().context("PEERS_CELLS takes indices")?;
            all.get(i)
                .copied()
                .with_context(|| format!("PEERS_CELLS: no cell {i} (0..{})", all.len()))
        })
        .collect()
}

fn fixed(records: u64) -> Fixed {
    Fixed {
        record_bytes: RECORD_BYTES,
        warmup_records: records.min(1_000),
        linger_ms: LINGER_MS,
        batch_bytes: BATCH_BYTES,
        message_timeout_ms: MESSAGE_TIMEOUT_MS,
        partitions: 1,
        ..Fixed::default()
    }
}

/// The delivery settings every tool gets, in librdkafka / Java property names.
/// Retries and backoff are pinned because rdkafka_performance lowers them.
fn common_properties(cell: &ProducerSettings) -> Vec<(&'static str, String)> {
    vec![
        ("acks", cell.acks.as_config().into()),
        ("enable.idempotence", cell.idempotence.to_string()),
        (
            "max.in.flight.requests.per.connection",
            cell.max_in_flight.to_string(),
        ),
        ("linger.ms", LINGER_MS.to_string()),
        ("batch.size", BATCH_BYTES.to_string()),
        ("compression.type", "none".into()),
        ("retry.backoff.ms", "100".into()),
    ]
}

fn produce_once(
    env: &Env,
    tool: Tool,
    cell: &ProducerSettings,
    rep: usize,
) -> anyhow::Result<Measured> {
    let topic = cluster::topic_name(&[
        "peers",
        &env.run_tag,
        &cell.id(),
        tool.slug(),
        &rep.to_string(),
    ]);
    cluster::create_topic(env.cluster.as_ref(), &topic, 1)?;
    let result = match tool {
        Tool::RdkafkaPerformance => rdkafka_performance(env, cell, &topic),
        Tool::ProducerPerformance => producer_performance(env, cell, &topic),
        Tool::KafkaOrderBench => kafka_order_bench(env, cell, &topic, env.records),
    };
    // Free the disk (and the brokers' page cache) before the next run.
    let _ = cluster::delete_topic(env.cluster.as_ref(), &topic);
    result
}

fn rdkafka_performance(
    env: &Env,
    cell: &ProducerSettings,
    topic: &str,
) -> anyhow::Result<Measured> {
    let lat = env.out.join(format!(".latency-{}.txt", std::process::id()));
    std::fs::create_dir_all(&env.out)?;
    let mut cmd = Command::new(&env.rdkafka_performance);
    cmd.args(["-P", "-t", topic, "-p", "0", "-b", &env.bootstrap])
        .args(["-s", &RECORD_BYTES.to_string()])
        .args(["-c", &env.records.to_string()])
        // Per-message latency (it stamps each payload, as we do), to a file.
        .arg("-l")
        .arg("-A")
        .arg(&lat);
    for (k, v) in common_properties(cell) {
        cmd.arg("-X").arg(format!("{k}={v}"));
    }
    cmd.args(["-X", "message.send.max.retries=2147483647"])
        .args(["-X", &format!("message.timeout.ms={MESSAGE_TIMEOUT_MS}")]);
    // rdkafka_performance exits 1 when its count of produce() calls differs
    // from its delivered count, and a produce() refused with a full queue
    // (retried) makes that count one short: "199999 messages produced …
    // 200000 delivered (0 failed)". Judge by the delivery counts below.
    let out = output_any_status(&mut cmd)?;
    // "% 200000 messages produced (…), 200000 delivered (offset …, 0 failed) in 1845ms: 108401 msgs/s …"
    let line = out
        .lines()
        .rev()
        .find(|l| l.contains("messages produced"))
        .context("no summary line")?;
    let delivered = number_before(line, " delivered")?;
    let failed = number_before(line, " failed)")?;
    let ms = number_before(line, "ms:")?;
    if failed > 0.0 || delivered < env.records as f64 {
        bail!("{delivered} of {} delivered: {line}", env.records);
    }
    let mut lat_us: Vec<u64> = std::fs::read_to_string(&lat)?
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let _ = std::fs::remove_file(&lat);
    lat_us.sort_unstable();
    let p99 = lat_us
        .get(((lat_us.len() as f64 * 0.99).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(0);
    Ok(Measured {
        records_per_sec: delivered / (ms / 1000.0),
        p99_ms: p99 as f64 / 1000.0,
    })
}

fn producer_performance(
    env: &Env,
    cell: &ProducerSettings,
    topic: &str,
) -> anyhow::Result<Measured> {
    let mut cmd = Command::new("java");
    cmd.arg("-Xmx1g")
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            env.log4j.display()
        ))
        .arg("-cp")
        .arg(format!("{}/*", env.kafka_tools_libs.display()))
        .arg("org.apache.kafka.tools.ProducerPerformance")
        .args(["--topic", topic])
        .args(["--num-records", &env.records.to_string()])
        .args(["--record-size", &RECORD_BYTES.to_string()])
        .args(["--throughput", "-1"])
        .arg("--producer-props")
        .arg(format!("bootstrap.servers={}", env.bootstrap));
    for (k, v) in common_properties(cell) {
        cmd.arg(format!("{k}={v}"));
    }
    // The Java client's message.timeout.ms; it must exceed linger.ms +
    // request.timeout.ms (30 s in both clients).
    cmd.arg(format!(
        "delivery.timeout.ms={}",
        MESSAGE_TIMEOUT_MS.max(30_000 + LINGER_MS)
    ))
    .arg("retries=2147483647");
    let out = output(&mut cmd)?;
    // "200000 records sent, 95057.0 records/sec (92.83 MB/sec), 150.23 ms avg latency, 500.00 ms max latency, 140 ms 50th, 300 ms 95th, 400 ms 99th, 480 ms 99.9th."
    let line = out
        .lines()
        .rev()
        .find(|l| l.contains("records sent") && l.contains("99th"))
        .context("no summary line")?;
    Ok(Measured {
        records_per_sec: number_before(line, " records/sec")?,
        p99_ms: number_before(line, " ms 99th")?,
    })
}

fn kafka_order_bench(
    env: &Env,
    cell: &ProducerSettings,
    topic: &str,
    records: u64,
) -> anyhow::Result<Measured> {
    let fixed = fixed(records);
    let tag: u64 = rand::random();
    let mut session = match Session::create(
        &env.cluster.client_config(),
        cell,
        &fixed,
        topic,
        tag,
        fixed.producer_streams(0, 0),
    )? {
        Created::Session(s) => s,
        Created::Rejected(m) => bail!("rejected: {m}"),
    };
    // As the CLI does: connection, metadata and producer id are not timed.
    session.warm_up(fixed.warmup_records)?;
    let one_window = kafka_order_bench::librdkafka::RoundSpec {
        warmup: 0,
        windows: 1,
        records_per_window: records,
        tail: 0,
        burst: 0,
    };
    let sample = session
        .round(&one_window)?
        .pop()
        .context("the timed window did not complete")?;
    let run = session.finish()?;
    if run.delivery.failed > 0 {
        bail!("{} records failed", run.delivery.failed);
    }
    Ok(Measured {
        records_per_sec: sample.records_per_sec(),
        p99_ms: sample.p99_us as f64 / 1000.0,
    })
}

fn warm_up_cluster(env: &Env) -> anyhow::Result<()> {
    eprintln!("warming up the cluster…");
    let topic = cluster::topic_name(&["peers", &env.run_tag, "warmup"]);
    cluster::create_topic(env.cluster.as_ref(), &topic, 1)?;
    let settings = ProducerSettings {
        max_in_flight: 5,
        acks: Acks::All,
        idempotence: true,
    };
    let result = kafka_order_bench(env, &settings, &topic, 4 * suite::CLUSTER_WARMUP_RECORDS);
    let _ = cluster::delete_topic(env.cluster.as_ref(), &topic);
    result.map(|_| ())
}

/// The checker's throughput against a plain librdkafka consumer, both reading
/// the same topic from the beginning, alternating.
fn checker_vs_consumer(env: &Env) -> anyhow::Result<String> {
    let n = env.check_records;
    let topic = cluster::topic_name(&["peers", &env.run_tag, "checker"]);
    cluster::create_topic(env.cluster.as_ref(), &topic, 1)?;
    let result = (|| -> anyhow::Result<String> {
        let settings = ProducerSettings {
            max_in_flight: 5,
            acks: Acks::All,
            idempotence: true,
        };
        let fixed = fixed(n);
        let tag: u64 = rand::random();
        let config = env.cluster.client_config();
        let Created::Session(mut session) = Session::create(
            &config,
            &settings,
            &fixed,
            &topic,
            tag,
            fixed.producer_streams(0, 0),
        )?
        else {
            bail!("the checker's producer was rejected");
        };
        session.warm_up(n)?;
        let run = session.finish()?;
        let end = suite::settled_end_offsets(&config, &topic, 1, &run.acked_end_offsets)?;
        let mut checker_rps = Vec::new();
        let mut consumer_rps = Vec::new();
        for rep in 0..env.reps {
            let checker = verify::Checker::new(
                Some(tag),
                Some(&run.deliveries),
                verify::permitted(&settings),
            );
            let t = Instant::now();
            let verdict = verify::read_topic(
                &config,
                &topic,
                Some(&end),
                checker,
                Duration::from_secs(300),
            )?;
            let secs = t.elapsed().as_secs_f64();
            if verdict.records_read != n || verdict.violations() != 0 {
                bail!(
                    "checker read {} of {n} records, {} violations",
                    verdict.records_read,
                    verdict.violations()
                );
            }
            checker_rps.push(n as f64 / secs);
            let c = plain_consumer(env, &topic, n)?;
            consumer_rps.push(c);
            eprintln!(
                "checker rep {}: checker {:>10.0} records/s, rdkafka_performance -C {:>10.0} records/s",
                rep + 1,
                n as f64 / secs,
                c
            );
        }
        let (ck, co) = (median(&checker_rps), median(&consumer_rps));
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\n## Checker vs a plain consumer ({n} records of {RECORD_BYTES} B, 1 partition, {} repetitions, alternating)\n",
            env.reps
        );
        let _ = writeln!(s, "| reader | median records/s | spread (min–max) |");
        let _ = writeln!(s, "|---|---:|---:|");
        let _ = writeln!(
            s,
            "| checker (`verify::read_topic`, wall clock incl. connect) | {ck:.0} | {} |",
            spread(&checker_rps)
        );
        let _ = writeln!(
            s,
            "| `rdkafka_performance -C -o beginning -e` (its own figure, from first record) | {co:.0} | {} |",
            spread(&consumer_rps)
        );
        let _ = writeln!(s, "\nchecker / consumer = **{:.2}**", ck / co);
        Ok(s)
    })();
    let _ = cluster::delete_topic(env.cluster.as_ref(), &topic);
    result
}

fn plain_consumer(env: &Env, topic: &str, n: u64) -> anyhow::Result<f64> {
    let out = output(
        Command::new(&env.rdkafka_performance)
            .args(["-C", "-t", topic, "-p", "0", "-o", "beginning", "-e"])
            .args(["-b", &env.bootstrap])
            // The checker's fetch settings, so the two differ only in what
            // they do with a record.
            .args(
                verify::CONSUMER_PROPERTIES
                    .iter()
                    .filter(|(k, _)| {
                        k.contains("fetch") || k.starts_with("queued") || *k == "check.crcs"
                    })
                    .flat_map(|(k, v)| ["-X".to_string(), format!("{k}={v}")]),
            ),
    )?;
    // "% 1000000 messages (1024000000 bytes) consumed in 2345ms: 426439 msgs/s (436.67 MB/s)"
    let line = out
        .lines()
        .rev()
        .find(|l| l.contains("consumed in"))
        .context("no summary line from rdkafka_performance -C")?;
    let msgs = number_before(line, " messages (")?;
    let ms = number_before(line, "ms:")?;
    if msgs < n as f64 {
        bail!("plain consumer read {msgs} of {n}: {line}");
    }
    Ok(msgs / (ms / 1000.0))
}

/// Runs a command to completion; its stdout whatever its exit status.
fn output_any_status(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("running {:?}", cmd.get_program()))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command to completion; its stdout, or an error with both streams.
fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("running {:?}", cmd.get_program()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "{:?} exited with {}:\n{}\n{}",
            cmd.get_program(),
            out.status,
            tail(&stdout),
            tail(&String::from_utf8_lossy(&out.stderr))
        );
    }
    Ok(stdout)
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

/// The number that ends right before `marker` in `line`.
fn number_before(line: &str, marker: &str) -> anyhow::Result<f64> {
    let end = line
        .find(marker)
        .with_context(|| format!("no {marker:?} in {line:?}"))?;
    let start = line[..end]
        .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or(0, |i| i + 1);
    line[start..end]
        .parse()
        .with_context(|| format!("no number before {marker:?} in {line:?}"))
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// Min–max, and their width relative to the median.
fn spread(v: &[f64]) -> String {
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!(
        "{min:.0}–{max:.0} (±{:.0}%)",
        50.0 * (max - min) / median(v)
    )
}

fn producer_table_header() -> String {
    "## Producers\n\n\
     Throughput is each tool's own figure (records delivered / time to the last delivery report); \
     p99 is produce-to-acknowledgement latency. Ratio = kafka-order-bench median / peer median, \
     and in brackets the range of per-repetition ratios (runs side by side).\n\n\
     | cell | tool | median records/s | spread (min–max) | median p99 ms | kob / tool |\n\
     |---|---|---:|---:|---:|---:|\n"
        .to_string()
}

fn cell_rows(cell: &ProducerSettings, runs: &[Vec<Measured>]) -> String {
    let rps = |i: usize| {
        runs[i]
            .iter()
            .map(|m| m.records_per_sec)
            .collect::<Vec<_>>()
    };
    let kob = rps(2);
    let mut s = String::new();
    for (i, tool) in Tool::ALL.iter().enumerate() {
        let r = rps(i);
        let p99: Vec<f64> = runs[i].iter().map(|m| m.p99_ms).collect();
        let ratio = if i == 2 {
            "—".to_string()
        } else {
            let paired: Vec<f64> = kob.iter().zip(&r).map(|(k, p)| k / p).collect();
            let lo = paired.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = paired.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!("**{:.2}** ({lo:.2}–{hi:.2})", median(&kob) / median(&r))
        };
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} | {} | {:.1} | {} |",
            cell.id(),
            tool.name(),
            median(&r),
            spread(&r),
            median(&p99),
            ratio
        );
    }
    s
}

fn header(env: &Env, load: &str) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut s = String::new();
    let _ = writeln!(s, "# kafka-order-bench vs its peers\n");
    let _ = writeln!(
        s,
        "- Cluster: {} ({} brokers, Apache Kafka {}), topics of 1 partition, RF 3, min.insync.replicas 2",
        env.bootstrap,
        env.cluster.brokers(),
        env.cluster
            .broker_version()
            .unwrap_or_else(|| "4.1.1 as pinned by kafka/pom.xml".into())
    );
    let _ = writeln!(
        s,
        "- Each run: {} records of {RECORD_BYTES} B as fast as possible, linger.ms={LINGER_MS}, batch.size={BATCH_BYTES}, no compression, fresh topic; {} repetitions, tools alternating",
        env.records, env.reps
    );
    let _ = writeln!(
        s,
        "- Clients: librdkafka {} (kafka-order-bench and rdkafka_performance, same static library), Apache Kafka Java client 4.1.1 (kafka-producer-perf-test)",
        kafka_order_bench::librdkafka::librdkafka_version()
    );
    let _ = writeln!(s, "- Machine: {cpu}, {cores} cores; the brokers share it");
    let _ = writeln!(s, "- Load before: `{load}`\n");
    s
}

fn uptime() -> String {
    Command::new("uptime")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| read_loadavg(Path::new("/proc/loadavg")))
}

fn read_loadavg(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default().trim().into()
}
