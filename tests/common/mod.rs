//! Fixture results for the report tests, built from the schema's own types so
//! they cannot drift from it, and written to a temporary file by
//! [`mixed_file`] for the tests that need one (nothing is committed: old
//! schema versions are guarded by `tests/fixtures/v1/`).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kafka_order_bench::faults::FaultProfile;
use kafka_order_bench::grid::{Acks, Axes, Fixed, Network, ProducerSettings, Workload};
use kafka_order_bench::results::*;
use kafka_order_bench::verify::{self, Anomalies, Example, Verdict};

pub const FAULTS: &str = "reject:1%+lose-ack:1%";
pub const REJECT_IN_FLIGHT: &str =
    "`max.in.flight.requests.per.connection` must be set <= 5 when `enable.idempotence` is true";
pub const REJECT_ACKS: &str = "`acks` must be set to `all` when `enable.idempotence` is true";
pub const FAILED: &str =
    "cluster error: timed out after 30s waiting for topic metadata (broker 2 unreachable)";

pub fn settings(in_flight: u32, acks: Acks, idem: bool) -> ProducerSettings {
    ProducerSettings {
        max_in_flight: in_flight,
        acks,
        idempotence: idem,
    }
}

fn anomalies(count: u64, first_seq: u64) -> Anomalies {
    Anomalies {
        count,
        examples: (0..count.min(2))
            .map(|i| Example {
                stream: 0,
                seq: first_seq + i * 97,
                partition: Some(0),
                offset: Some((first_seq + i * 97) as i64 + 3),
                detail: Some(4),
                run_id: None,
            })
            .collect(),
    }
}

/// What a synthetic measured cell should show.
pub struct Spec {
    pub rps: f64,
    pub p50_us: u64,
    pub reorders: u64,
    pub duplicates: u64,
    pub losses: u64,
    /// Faults injected by kind; empty for an unexposed cell.
    pub faults: Vec<(&'static str, u64)>,
}

pub fn measurement(s: &ProducerSettings, spec: &Spec, records: u64) -> Measurement {
    let samples: Vec<Sample> = (0..5u64)
        .map(|i| {
            // Rates spread ±4% around the median, deterministic.
            let rate = spec.rps * (0.96 + 0.02 * i as f64);
            let n = records / 5;
            Sample {
                round: (i % 2) as u32,
                records: n,
                bytes: n * 1024,
                elapsed_ns: (n as f64 * 1e9 / rate).round() as u64,
                p50_us: spec.p50_us,
                p99_us: spec.p50_us * 4,
            }
        })
        .collect();
    let mut verdict = Verdict {
        records_read: records + spec.duplicates - spec.losses,
        streams: 1,
        reorders: anomalies(spec.reorders, 1_000),
        log_duplicates: anomalies(spec.duplicates, 2_000),
        losses: anomalies(spec.losses, 3_000),
        permitted: verify::permitted(s),
        deliveries_known: true,
        ..Verdict::default()
    };
    verdict.reorder_displacement.max = if spec.reorders > 0 { 12 } else { 0 };
    verdict.reorder_displacement.sum = spec.reorders * 5;
    let retries: u64 = spec.faults.iter().map(|(_, n)| n).sum::<u64>() * 2;
    Measurement {
        topic: format!("kob-fixture-{}", s.id().replace([',', '='], "-")),
        effective: BTreeMap::from([
            (
                "acks".to_string(),
                if s.acks == Acks::All {
                    "-1".into()
                } else {
                    s.acks.to_string()
                },
            ),
            ("enable.idempotence".to_string(), s.idempotence.to_string()),
            (
                "max.in.flight.requests.per.connection".to_string(),
                s.max_in_flight.to_string(),
            ),
        ]),
        samples,
        throughput: Throughput {
            records_per_sec: spec.rps,
            // Whole numbers: they survive a JSON round trip exactly.
            records_per_sec_ci_low: (spec.rps * 0.97).round(),
            records_per_sec_ci_high: (spec.rps * 1.02).round(),
            ci_half_width_pct: 2.5,
            mib_per_sec: spec.rps * 1024.0 / (1024.0 * 1024.0),
        },
        latency: Latency {
            count: records,
            p50_us: spec.p50_us,
            p90_us: spec.p50_us * 2,
            p99_us: spec.p50_us * 4,
            p999_us: spec.p50_us * 9,
            p9999_us: spec.p50_us * 15,
            max_us: spec.p50_us * 20,
            mean_us: spec.p50_us as f64 * 1.3,
            histogram: String::new(),
        },
        fixed_load: None,
        delivery: DeliveryCounts {
            sent: records,
            acked: records,
            ..DeliveryCounts::default()
        },
        client: ClientCounters {
            requests: records / 100,
            retries,
            ..ClientCounters::default()
        },
        exposure: Exposure {
            faults_injected: spec
                .faults
                .iter()
                .map(|(k, n)| (k.to_string(), *n))
                .collect(),
            client_retries: retries,
            records_resent: retries * 40,
            failovers: Vec::new(),
        },
        verdict,
        criterion: None,
        conditions: Default::default(),
    }
}

pub fn run_meta(workload: Workload) -> RunMeta {
    RunMeta {
        run_id: "20260301T120000Z-fx01".into(),
        run_tag: 0x6b6f_6266_6978_0001,
        started_at: "2026-03-01T12:00:00Z".into(),
        tool_version: "0.1.0".into(),
        git_revision: Some("0123abc".into()),
        librdkafka_version: "2.10.0".into(),
        rdkafka_crate_version: "0.39.0".into(),
        cluster: ClusterMeta {
            kind: ClusterKind::Local,
            broker_version: Some("4.1.0".into()),
            brokers: 3,
            bootstrap: "127.0.0.1:39092,127.0.0.1:39093,127.0.0.1:39094".into(),
        },
        machine: MachineMeta {
            os: "linux".into(),
            arch: "x86_64".into(),
            cpu_model: Some("Fixture CPU @ 3.0GHz".into()),
            cores: 8,
            memory_bytes: Some(16 << 30),
        },
        workload,
        driver: Driver::Cli,
        cluster_warm_up: None,
    }
}

fn spec(rps: f64, p50_us: u64) -> Spec {
    Spec {
        rps: rps.round(),
        p50_us,
        reorders: 0,
        duplicates: 0,
        losses: 0,
        faults: vec![],
    }
}

/// A run with every kind of cell: measured clean and exposed, measured clean
/// and not exposed, violating (reorders, log duplicates, losses), rejected
/// with librdkafka's own messages, and failed; under two fault profiles.
pub fn mixed() -> Results {
    let faulty: FaultProfile = FAULTS.parse().unwrap();
    let workload = Workload {
        axes: Axes {
            max_in_flight: vec![1, 5, 10],
            acks: vec![Acks::One, Acks::All],
            idempotence: vec![false, true],
            clients: vec![kafka_order_bench::grid::Client::Librdkafka],
        },
        fixed: Fixed {
            warmup_records: 2_000,
            ..Fixed::default()
        },
        // Across a round trip, so that no cell is machine-bound for want of one.
        network: Network {
            rtt_ms: vec![20.0],
            fault_rtt_ms: Vec::new(),
            replication: true,
            ..Network::none()
        },
        faults: vec![FaultProfile::None, faulty.clone()],
        seed: 42,
    };
    let records = 200_000;
    let mut results = Results::new(run_meta(workload.clone()));
    for cell in workload.cells() {
        let s = cell.settings;
        let under_faults = !cell.faults.is_none();
        let base = match s.max_in_flight {
            1 => 41_000.0,
            5 => 118_000.0,
            _ => 131_000.0,
        } * if s.acks == Acks::One { 1.2 } else { 1.0 }
            * if s.idempotence { 0.97 } else { 1.0 };
        let p50 = match s.max_in_flight {
            1 => 900,
            5 => 2_100,
            _ => 3_400,
        };
        let outcome = if s.idempotence && s.acks != Acks::All {
            Outcome::Rejected {
                message: REJECT_ACKS.into(),
            }
        } else if s.idempotence && s.max_in_flight > 5 {
            Outcome::Rejected {
                message: REJECT_IN_FLIGHT.into(),
            }
        } else if under_faults && s == settings(10, Acks::All, false) {
            Outcome::Failed {
                message: FAILED.into(),
            }
        } else if !under_faults {
            let mut m = measurement(&s, &spec(base, p50), records);
            m.fixed_load = Some(fixed_load(p50));
            Outcome::Measured(Box::new(m))
        } else {
            let mut sp = spec(base * 0.7, p50 * 2);
            sp.faults = vec![("lose-ack", 19), ("reject", 21)];
            match (s.max_in_flight, s.acks, s.idempotence) {
                // The fault schedule happened to miss this cell entirely.
                (1, Acks::All, false) => sp.faults.clear(),
                (5, Acks::One, false) => {
                    sp.reorders = 37;
                    sp.duplicates = 12;
                }
                (10, Acks::One, false) => {
                    sp.reorders = 164;
                    sp.duplicates = 18;
                    sp.losses = 3;
                }
                (5, Acks::All, false) => sp.duplicates = 9,
                _ => {}
            }
            Outcome::Measured(Box::new(measurement(&s, &sp, records)))
        };
        let network = CellNetwork {
            rtt_us: cell.rtt_us,
            replication_rtt_us: cell.rtt_us,
            links: vec!["client".into(), "replication".into()],
            ..CellNetwork::default()
        };
        results.cells.push(CellResult::new(&cell, network, outcome));
    }
    results.complete = true;
    results
}

/// A fixed-load phase of 5,000 records at 20,000 records/s: enough for
/// p99, too few for p99.9.
fn fixed_load(p50_us: u64) -> FixedLoad {
    let latency = Latency {
        count: 5_000,
        p50_us: p50_us / 3,
        p90_us: p50_us / 2,
        p99_us: p50_us,
        p999_us: p50_us * 2,
        p9999_us: p50_us * 2,
        max_us: p50_us * 3,
        mean_us: p50_us as f64 / 2.5,
        histogram: String::new(),
    };
    FixedLoad {
        rate_per_sec: 20_000,
        rate_basis: "50% of the slowest cell at this RTT (40,000 records/s)".into(),
        records: 5_000,
        send_delay: latency.clone(),
        latency,
    }
}

/// [`mixed`] saved as a results file, once per test binary.
pub fn mixed_file() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        mixed().save(&results_path(dir.path())).unwrap();
        dir
    });
    results_path(dir.path())
}

fn results_path(dir: &Path) -> PathBuf {
    dir.join("results-mixed.json")
}
