//! A cell's path to the cluster, and everything that shapes it.
//!
//! Between a cell's producer and the brokers stand the things that make a
//! cell more than a loopback benchmark: the emulated network (a delay line on
//! every client↔broker frame, and on the brokers' replication links), the
//! seeded fault plan (both carried by the proxy), and leader failovers. Each
//! is a [`Shaper`]; [`CellPath::open`] picks the ones a cell needs, and the
//! suite only ever talks to the [`CellPath`]: a new way to shape a path is a
//! new `Shaper`, not a change to the suite.
//!
//! Every cell goes through the proxy, `none` included, so fault profiles and
//! `none` are measured through the same path; `--direct` bypasses it (and so
//! cannot emulate a network or inject proxy faults).

use crate::driver::Counter;

use std::time::Duration;

pub mod failover;

use crate::cluster::{Cluster, LocalCluster};
use crate::driver::ProducerError;
use crate::faults::{FaultEvent, FaultName, FaultPlan, Proxy, ProxyConfig, ProxyError};
use crate::grid::{Cell, Workload};
use crate::librdkafka::RoundSpec;
use crate::netem::Link;
use crate::results::{CellNetwork, Exposure, Sample};
use failover::{with_failovers, Counters, FailoverPlan, FailoverReport, FailoverSchedule};

/// The result of one round's sending.
pub type RoundResult = Result<Vec<Sample>, ProducerError>;

/// Live counts of a cell's records, for shapers that act at a planned record.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Records handed to the client so far.
    pub sent: Counter,
    /// Records the broker acknowledged so far.
    pub acked: Counter,
}

/// One thing that shapes a cell's path. Every method has a neutral default.
pub trait Shaper {
    /// Sets what this shaper keeps per cell on shared parts of the cluster
    /// (the replication links) before any send of the cell: a round, the
    /// warm-up or the fixed-load phase, since cells of other RTTs run in
    /// between.
    fn prepare(&mut self) {}

    /// Runs one round of the cell: `round` sends its records. A shaper that
    /// acts during a round (a failover) wraps the call; `sent` counts the
    /// records handed to the client so far, for shapers that act at a
    /// planned record.
    fn round(
        &mut self,
        round: &mut dyn FnMut() -> RoundResult,
        _progress: &Progress,
    ) -> RoundResult {
        round()
    }

    /// Adds what this shaper injected to the cell's exposure.
    fn record(&self, _exposure: &mut Exposure) {}

    /// The fault events this shaper injected (ids are renumbered by the path).
    fn events(&self) -> Vec<FaultEvent> {
        Vec::new()
    }

    /// A problem met while shaping (e.g. a failover that could not restart
    /// its node): the cell's numbers would mislead, so it fails with it.
    fn error(&self) -> Option<String> {
        None
    }
}

/// Why a cell's path cannot be built on this cluster: the cell fails with
/// it, before its producer starts.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error("fault profile {profile} needs the proxy (hint: drop --direct)")]
    FaultsNeedProxy { profile: String },
    #[error("an emulated RTT needs the proxy (hint: drop --direct, or use --rtt 0)")]
    RttNeedsProxy,
    #[error(
        "security.protocol={protocol}: the suite's proxy (network emulation and proxy faults) \
         reads Kafka's wire protocol and needs a PLAINTEXT listener \
         (hint: use the local cluster, or --direct --rtt 0 with only the none/failover profiles)"
    )]
    ProxyNeedsPlaintext { protocol: String },
    #[error(
        "network.replication_rtt_ms {rtt_ms} needs the local cluster's emulated replication \
         links (hint: run without --bootstrap, and without --direct)"
    )]
    ReplicationNeedsLocal { rtt_ms: f64 },
    #[error(
        "the failover fault needs a cluster this process starts and can kill nodes of \
         (hint: run without --bootstrap and stop any `cluster up` cluster)"
    )]
    FailoverNeedsLocal,
    #[error(transparent)]
    Proxy(#[from] ProxyError),
}

/// The proxy reads Kafka's wire protocol, so it can carry only a PLAINTEXT
/// listener: `security_protocol` is the client's setting, if any.
pub fn proxy_can_carry(security_protocol: Option<&str>) -> Result<(), PathError> {
    match security_protocol {
        Some(p) if !p.eq_ignore_ascii_case("plaintext") => Err(PathError::ProxyNeedsPlaintext {
            protocol: p.to_string(),
        }),
        _ => Ok(()),
    }
}

/// The path of one cell: the bootstrap its producer uses, and its shapers.
pub struct CellPath<'a> {
    bootstrap: String,
    network: CellNetwork,
    shapers: Vec<Box<dyn Shaper + 'a>>,
}

/// How cells reach the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Route {
    /// Through the suite's proxy (network emulation and proxy faults).
    #[default]
    Proxy,
    /// Straight to the brokers (`--direct`): no emulation, no proxy faults.
    Direct,
}

impl<'a> CellPath<'a> {
    /// Builds the path `cell` needs on `cluster`. Fails with a one-line
    /// reason (and a hint) when the cluster cannot give it.
    pub fn open(
        cluster: &'a dyn Cluster,
        cell: &Cell,
        topic: &str,
        workload: &Workload,
        route: Route,
    ) -> Result<CellPath<'a>, PathError> {
        let mut shapers: Vec<Box<dyn Shaper + 'a>> = Vec::new();
        let mut network = CellNetwork::default();
        let bootstrap = match route {
            Route::Direct => {
                if cell.faults.needs_proxy() {
                    return Err(PathError::FaultsNeedProxy {
                        profile: cell.faults.to_string(),
                    });
                }
                if cell.rtt_us > 0 {
                    return Err(PathError::RttNeedsProxy);
                }
                cluster.bootstrap()
            }
            Route::Proxy => {
                let wire = Wire::start(cluster, cell, workload)?;
                network = wire.network.clone();
                let b = wire.proxy.bootstrap();
                shapers.push(Box::new(wire));
                b
            }
        };
        // Replication links are shaped when the cluster has them (a local
        // cluster this process started with emulate_replication), for every
        // cell, RTT 0 included: cells of other RTTs run in between.
        if let Some(r) = workload.network.replication_rtt_ms {
            if cluster.local().and_then(|l| l.replication_link()).is_none() {
                return Err(PathError::ReplicationNeedsLocal { rtt_ms: r });
            }
        }
        if workload.network.replication && route == Route::Proxy {
            if let Some(local) = cluster.local().filter(|l| l.replication_link().is_some()) {
                let mut link = link(cell, &workload.network);
                let rtt_us = workload
                    .network
                    .replication_rtt_us(cell.rtt_us)
                    .unwrap_or(cell.rtt_us);
                link.rtt = Duration::from_micros(rtt_us);
                network.replication_rtt_us = rtt_us;
                network.links.push("replication".into());
                shapers.push(Box::new(Replication {
                    cluster: local,
                    link,
                }));
            }
        }
        if cell.faults.needs_failover() {
            let local = cluster.local().ok_or(PathError::FailoverNeedsLocal)?;
            let spec = RoundSpec::for_cell(cell, workload);
            shapers.push(Box::new(Failover::new(local, topic, spec, workload)));
        }
        Ok(CellPath {
            bootstrap,
            network,
            shapers,
        })
    }

    /// The bootstrap list the cell's producer connects to.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The network the cell's links were given, for the results.
    pub fn network(&self) -> &CellNetwork {
        &self.network
    }

    /// Runs a send outside the rounds (the warm-up, the fixed-load phase)
    /// on the path the cell's rounds see: every shaper prepared (the
    /// replication links at the cell's RTT), none of the round-scoped
    /// actions (a failover).
    pub fn outside_rounds<T>(&mut self, body: impl FnOnce() -> T) -> T {
        self.prepare();
        body()
    }

    fn prepare(&mut self) {
        for s in &mut self.shapers {
            s.prepare();
        }
    }

    /// Runs one round through every shaper, outermost first.
    pub fn round(
        &mut self,
        progress: &Progress,
        mut body: impl FnMut() -> RoundResult,
    ) -> RoundResult {
        self.prepare();
        fn nest(
            shapers: &mut [Box<dyn Shaper + '_>],
            progress: &Progress,
            body: &mut dyn FnMut() -> RoundResult,
        ) -> RoundResult {
            match shapers.split_first_mut() {
                None => body(),
                Some((first, rest)) => first.round(&mut || nest(rest, progress, body), progress),
            }
        }
        nest(&mut self.shapers, progress, &mut body)
    }

    /// Every fault event of the cell, numbered in the order they happened.
    pub fn events(&self) -> Vec<FaultEvent> {
        crate::faults::events::renumber(self.shapers.iter().flat_map(|s| s.events()).collect())
    }

    /// What every shaper injected.
    pub fn exposure(&self) -> Exposure {
        let mut e = Exposure::default();
        for s in &self.shapers {
            s.record(&mut e);
        }
        e
    }

    /// The first problem any shaper met.
    pub fn error(&self) -> Option<String> {
        self.shapers.iter().find_map(|s| s.error())
    }
}

/// The emulated link of a cell, the same for its client and replication links.
fn link(cell: &Cell, network: &crate::grid::Network) -> Link {
    Link {
        rtt: Duration::from_micros(cell.rtt_us),
        jitter: Duration::from_micros((network.jitter_ms * 1e3) as u64),
        bandwidth_bytes_per_sec: network.bandwidth_bytes_per_sec(),
    }
}

/// The client↔broker wire: the proxy, carrying the cell's network link and
/// its fault plan.
struct Wire {
    proxy: Proxy,
    network: CellNetwork,
}

impl Wire {
    fn start(cluster: &dyn Cluster, cell: &Cell, workload: &Workload) -> Result<Wire, PathError> {
        proxy_can_carry(cluster.client_config().get("security.protocol"))?;
        let n = &workload.network;
        // Counts per cell (`reject:25/cell`) are spread over the records of
        // this cell's timed windows: a pure function of the workload and the
        // cell, the same number of events in every round.
        let plan = FaultPlan::new(
            &cell.faults,
            workload.seed,
            workload.fixed.records_per_batch(),
        )
        .with_cell_spans(
            workload.records_per_cell(cell),
            workload.fixed.streams(),
            workload.timed_spans(cell),
        );
        let config = ProxyConfig {
            link: link(cell, n),
            ..ProxyConfig::default()
        };
        let proxy = Proxy::start_with(&cluster.bootstrap(), plan, config)?;
        let network = CellNetwork {
            rtt_us: cell.rtt_us,
            replication_rtt_us: 0,
            jitter_us: (n.jitter_ms * 1e3) as u64,
            bandwidth_bytes_per_sec: n.bandwidth_bytes_per_sec(),
            links: vec!["client".into()],
        };
        Ok(Wire { proxy, network })
    }
}

impl Shaper for Wire {
    fn record(&self, exposure: &mut Exposure) {
        for (kind, n) in self.proxy.injected() {
            *exposure.faults_injected.entry(kind).or_insert(0) += n;
        }
    }

    fn events(&self) -> Vec<FaultEvent> {
        self.proxy.events()
    }
}

/// The brokers' replication links at the cell's RTT, set before each send
/// of the cell (cells of other RTTs run in between).
struct Replication<'a> {
    cluster: &'a LocalCluster,
    link: Link,
}

impl Shaper for Replication<'_> {
    fn prepare(&mut self) {
        self.cluster.set_replication_link(self.link);
    }
}

/// Leader failovers: one per round, at a seeded record of the round's windows.
struct Failover<'a> {
    cluster: &'a LocalCluster,
    topic: String,
    spec: RoundSpec,
    seed: u64,
    streams: u32,
    rounds: u32,
    reports: Vec<FailoverReport>,
    error: Option<String>,
}

impl<'a> Failover<'a> {
    fn new(
        cluster: &'a LocalCluster,
        topic: &str,
        spec: RoundSpec,
        workload: &Workload,
    ) -> Failover<'a> {
        Failover {
            cluster,
            topic: topic.into(),
            spec,
            seed: workload.seed,
            streams: workload.fixed.streams(),
            rounds: 0,
            reports: Vec::new(),
            error: None,
        }
    }
}

impl Shaper for Failover<'_> {
    fn round(
        &mut self,
        round: &mut dyn FnMut() -> RoundResult,
        progress: &Progress,
    ) -> RoundResult {
        // One kill inside the round's windows, at a point drawn from the
        // seed and the round: the same records in every run of the seed.
        let start = progress.sent.load() + self.spec.warmup;
        let timed = u64::from(self.spec.windows) * self.spec.records_per_window;
        let drawn = FailoverSchedule::new(
            self.seed ^ u64::from(self.rounds),
            1,
            start,
            start + timed,
            Duration::from_secs(3),
        );
        let plan: FailoverPlan = drawn.plan(0).expect("one kill point");
        let schedule = FailoverSchedule {
            kill_points: vec![plan.kill_after],
            restart_after: plan.restart_after,
        };
        let counters = Counters {
            sent: progress.sent.clone(),
            acked: Some(progress.acked.clone()),
        };
        self.rounds += 1;
        let (out, report) =
            with_failovers(self.cluster, &self.topic, 0, &schedule, counters, round);
        if let Some(e) = &report.error {
            self.error.get_or_insert_with(|| e.clone());
        }
        self.reports.push(report);
        out
    }

    fn record(&self, exposure: &mut Exposure) {
        let kills: u64 = self.reports.iter().map(|r| r.kills).sum();
        *exposure
            .faults_injected
            .entry(FaultName::Failover.as_str().into())
            .or_insert(0) += kills;
        exposure
            .failovers
            .extend(self.reports.iter().flat_map(|r| r.outcomes.iter().cloned()));
    }

    fn events(&self) -> Vec<FaultEvent> {
        let mut events = Vec::new();
        for r in &self.reports {
            events.extend(r.events(events.len() as u64, self.streams));
        }
        events
    }

    fn error(&self) -> Option<String> {
        self.error.clone()
    }
}
