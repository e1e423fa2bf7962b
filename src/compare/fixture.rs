//! Test support, not API: the metadata of the synthetic runs that the
//! comparison's unit tests and its CLI tests (`tests/compare_cli.rs`) build,
//! in one place so that both describe a run the same way. Hidden from the
//! documentation; public only because integration tests cannot see
//! `#[cfg(test)]` code.

use crate::grid::Workload;
use crate::results::{ClusterKind, ClusterMeta, Driver, MachineMeta, RunMeta};

/// A run of `workload` by the CLI with librdkafka `librdkafka`, on a local
/// 3-broker Kafka 4.0.0 cluster and an 8-core Linux machine.
pub fn run_meta(run_id: &str, librdkafka: &str, workload: Workload) -> RunMeta {
    RunMeta {
        run_id: run_id.into(),
        run_tag: 7,
        started_at: "2026-01-01T00:00:00Z".into(),
        tool_version: "0.1.0".into(),
        git_revision: None,
        librdkafka_version: librdkafka.into(),
        rdkafka_crate_version: "0.39.0".into(),
        cluster: ClusterMeta {
            kind: ClusterKind::Local,
            broker_version: Some("4.0.0".into()),
            brokers: 3,
            bootstrap: "127.0.0.1:9092".into(),
        },
        machine: MachineMeta {
            os: "linux".into(),
            arch: "x86_64".into(),
            cpu_model: Some("Test CPU".into()),
            cores: 8,
            memory_bytes: Some(1 << 34),
        },
        workload,
        driver: Driver::Cli,
        cluster_warm_up: None,
    }
}
