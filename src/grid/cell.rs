//! A cell (a grid point under one fault profile): its stable ids, its model
//! ceilings, and the cells a workload expands to.

use serde::{Deserialize, Serialize};

use crate::faults::FaultProfile;
use crate::grid::network::ms_to_us;
use crate::grid::{fmt_rtt, Acks, Client, Fixed, Network, ProducerSettings, Workload};

/// One cell: a grid point under one fault profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// The producer client.
    #[serde(default)]
    pub client: Client,
    /// The emulated client↔broker round trip, microseconds (0: none).
    #[serde(default)]
    pub rtt_us: u64,
    pub settings: ProducerSettings,
    pub faults: FaultProfile,
}

impl Cell {
    /// Stable, readable id, e.g. `rtt=2ms,inflight=5,acks=all,idem=true,faults=none`.
    /// It doubles as a file name: it contains no `/`, space or `%`.
    pub fn id(&self) -> String {
        format!(
            "{}rtt={},{},faults={}",
            self.client_prefix(),
            fmt_rtt(self.rtt_us),
            self.settings.id(),
            self.faults.slug()
        )
    }

    /// The Criterion benchmark id of the cell, `group/function`:
    /// `rtt=2ms,faults=none/inflight=5,acks=all,idem=true`.
    pub fn bench_id(&self) -> String {
        format!("{}/{}", self.bench_group(), self.settings.id())
    }

    /// The Criterion group of the cell: its network and fault profile.
    pub fn bench_group(&self) -> String {
        format!(
            "{}rtt={},faults={}",
            self.client_prefix(),
            fmt_rtt(self.rtt_us),
            self.faults.slug()
        )
    }

    /// `client=java-4.1.1,` for a client other than the default, else empty.
    fn client_prefix(&self) -> String {
        self.client
            .slug()
            .map(|c| format!("client={c},"))
            .unwrap_or_default()
    }

    /// The round trips a record waits for before its acknowledgement,
    /// microseconds: the client's, plus a follower's fetch (the
    /// replication RTT, [`Network::replication_rtt_us`]) with `acks=all`
    /// when replication links are emulated. `None` with `acks=0` (nothing
    /// to wait for).
    pub fn ack_rtt_us(&self, network: &Network) -> Option<u64> {
        match self.settings.acks {
            Acks::Zero => None,
            Acks::One => Some(self.rtt_us),
            Acks::All => Some(self.rtt_us + network.replication_rtt_us(self.rtt_us).unwrap_or(0)),
        }
    }

    /// What pipelining alone allows, records/s: `max.in.flight` full
    /// batches per acknowledgement round trip ([`Cell::ack_rtt_us`]). The
    /// windows are sized from it ([`Fixed::records_per_window`]). `None`
    /// where there is no round trip to wait for (RTT 0 or `acks=0`): then
    /// CPU and the broker set the limit.
    pub fn pipelining_ceiling_records_per_sec(
        &self,
        fixed: &Fixed,
        network: &Network,
    ) -> Option<f64> {
        let rtt = self.ack_rtt_us(network).filter(|&r| r > 0)?;
        let per_trip = f64::from(self.settings.max_in_flight) * fixed.records_per_batch() as f64;
        Some(per_trip * 1e6 / rtt as f64)
    }

    /// The model ceiling of throughput, records/s: the
    /// [pipelining ceiling](Cell::pipelining_ceiling_records_per_sec), and
    /// with `acks=all` across emulated replication links no more than one
    /// batch per replication round trip. A broker reads a connection's
    /// next request only once it has answered the one before (Kafka's
    /// socket server mutes the connection meanwhile), and an `acks=all`
    /// answer waits for a follower's fetch: more requests in flight hide
    /// the client's round trip, not the followers'. Measured here: `acks=all`
    /// at RTT 20 ms flat at ~700 records/s from in-flight 3 to 100.
    ///
    /// That is one partition's bound. With `fixed.partitions` partitions
    /// the ceiling is that many times it: every partition its own
    /// pipeline, which a client reaches only if it packs every ready
    /// partition of a broker into one request (the Java producer does;
    /// librdkafka writes one partition per request, so the per-connection
    /// limit holds it below). Each of `fixed.producers` producers has its
    /// own connections, so its own pipelines: the ceiling counts every
    /// stream (producer × partition). An upper bound, not a prediction.
    pub fn ceiling_records_per_sec(&self, fixed: &Fixed, network: &Network) -> Option<f64> {
        let pipelined = self.pipelining_ceiling_records_per_sec(fixed, network)?;
        let replication_us = network
            .replication_rtt_us(self.rtt_us)
            .filter(|&r| r > 0 && self.settings.acks == Acks::All);
        let per_partition = match replication_us {
            Some(r) => pipelined.min(fixed.records_per_batch() as f64 * 1e6 / r as f64),
            None => pipelined,
        };
        Some(per_partition * f64::from(fixed.streams()))
    }
}

impl Workload {
    /// Records `cell` sends in the whole run, at most: the warm-up, every
    /// round (warm-up window, windows, tail), and a bound on the fixed-load
    /// phase (it runs below the slowest cell's throughput). For disk and
    /// time estimates before a run.
    pub fn records_per_cell(&self, cell: &Cell) -> u64 {
        let f = &self.fixed;
        let fixed_load = if cell.faults.is_none() && f.latency_ms > 0 {
            let per = f.records_per_window(cell, &self.network);
            (per * u64::from(f.windows) * u64::from(f.producers.max(1))).max(f.latency_min_records)
        } else {
            0
        };
        let per_producer =
            self.cell_warmup_records(cell) + u64::from(f.rounds) * self.round_records(cell);
        per_producer * u64::from(f.producers.max(1)) + fixed_load
    }

    /// Records one round of one producer of `cell` sends: a warm-up window, the timed
    /// windows, the tail ([`crate::librdkafka::RoundSpec::for_cell`]).
    fn round_records(&self, cell: &Cell) -> u64 {
        let (f, n) = (&self.fixed, &self.network);
        f.records_per_window(cell, n) * (u64::from(f.windows) + 1) + f.tail_records(cell, n)
    }

    /// The untimed records each producer of `cell` sends once, before its first round:
    /// `warmup_records`, and at least one round's worth. Measured: with
    /// 1,000 records the first interleaved round ran 4–8% slower than the
    /// others on average over the cells (three runs), the freshly started
    /// cluster still warming; a round's worth per cell gives the cluster
    /// that time and each cell its own path before timing.
    pub fn cell_warmup_records(&self, cell: &Cell) -> u64 {
        self.fixed.warmup_records.max(self.round_records(cell))
    }

    /// The records of `cell`'s timed windows, as ranges of global record
    /// numbers in send order (one range per round: the cell's warm-up,
    /// then per round a warm-up window, the timed windows, the tail). With
    /// several producers sending side by side, a producer's `i`-th record
    /// is about the cell's `i × producers`-th. Count
    /// faults (`N/cell`) are placed on these only, so every round meets
    /// the same number of events when `N` is a multiple of the rounds.
    pub fn timed_spans(&self, cell: &Cell) -> Vec<std::ops::Range<u64>> {
        let f = &self.fixed;
        let per = f.records_per_window(cell, &self.network);
        let round = self.round_records(cell);
        let warmup = self.cell_warmup_records(cell);
        let n = u64::from(f.producers.max(1));
        (0..u64::from(f.rounds))
            .map(|r| {
                let start = warmup + r * round + per;
                start * n..(start + u64::from(f.windows) * per) * n
            })
            .collect()
    }

    /// Every cell of the run in a stable order: RTT, fault profile, then
    /// idempotence, acks and `max.in.flight`, each in the order the workload
    /// lists them. Fault profiles other than `none` run only at the
    /// network's `fault_rtt_ms` (all RTTs when that is empty).
    pub fn cells(&self) -> Vec<Cell> {
        let fault_rtts: Vec<u64> = self
            .network
            .fault_rtt_ms
            .iter()
            .map(|&m| ms_to_us(m))
            .collect();
        let mut cells = Vec::new();
        for client in &self.axes.clients {
            for rtt_us in self.network.rtt_ms.iter().map(|&m| ms_to_us(m)) {
                for faults in &self.faults {
                    if !faults.is_none() && !fault_rtts.is_empty() && !fault_rtts.contains(&rtt_us)
                    {
                        continue;
                    }
                    for &idempotence in &self.axes.idempotence {
                        for &acks in &self.axes.acks {
                            for &max_in_flight in &self.axes.max_in_flight {
                                cells.push(Cell {
                                    client: client.clone(),
                                    rtt_us,
                                    settings: ProducerSettings {
                                        max_in_flight,
                                        acks,
                                        idempotence,
                                    },
                                    faults: faults.clone(),
                                });
                            }
                        }
                    }
                }
            }
        }
        cells
    }
}
