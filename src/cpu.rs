//! The CPU time a producing client used, from the operating system's
//! per-thread accounting (Linux `/proc`), apart from the proxy's and the
//! rest of the suite's.
//!
//! A [`CpuSample`] reads every thread of this process
//! (`/proc/self/task/<tid>/stat`: name, user and system time) and the
//! process total (`/proc/self/stat`); two samples bracket an interval and
//! [`CpuSample::since`] attributes the difference to three [`Side`]s by
//! [`Attribution`]:
//!
//! - **client**: librdkafka's threads (it names them `rdk:main`,
//!   `rdk:broker<id>`, …) and the threads that call the client (the one that
//!   produces a cell's records), given by id;
//! - **proxy**: the fault proxy and its delay lines (`kob-proxy*`,
//!   `kob-delay-*`, and `async-io`, the timer thread the delay lines wait on);
//! - **suite**: everything else, including threads that exited during the
//!   interval (their time is only in the process total).
//!
//! The Java client runs in its own process: a [`ProcessSample`] of its pid
//! counts all its threads (the JVM's compiler and collector threads too).
//!
//! [`ClientCpu`] is what a cell records: the client side's CPU over a
//! round, per record, beside the client's own wake-up rate. A
//! [`ClientProbe`] says how to read it for either client.
//!
//! Linux accounts CPU time in clock ticks (`USER_HZ`, normally 100 per
//! second), so a figure is exact to about 10 ms per thread: sample over
//! seconds, not milliseconds. Elsewhere than Linux every sample is empty.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// The CPU time (user and system) of one thread or process, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ticks {
    pub user: u64,
    pub system: u64,
}

impl Ticks {
    fn saturating_sub(self, earlier: Ticks) -> Ticks {
        Ticks {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }

    fn add(self, other: Ticks) -> Ticks {
        Ticks {
            user: self.user + other.user,
            system: self.system + other.system,
        }
    }

    fn covers(self, earlier: Ticks) -> bool {
        self.user >= earlier.user && self.system >= earlier.system
    }
}

/// What one `/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat` line says
/// about CPU time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatLine {
    /// The thread's (or process's) name, `comm`: at most 15 bytes, as set
    /// by `pthread_setname_np` or the executable.
    pub comm: String,
    /// Field 14 (`utime`) and 15 (`stime`), in clock ticks.
    pub ticks: Ticks,
}

/// Parses a `stat` line: the name is between the first `(` and the last
/// `)` (it may hold spaces and parentheses), fields count from 1 with the
/// state as field 3 right after it. `None` for anything else.
pub fn parse_stat(s: &str) -> Option<StatLine> {
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    if close < open {
        return None;
    }
    let comm = s[open + 1..close].to_string();
    let f: Vec<&str> = s[close + 1..].split_whitespace().collect();
    let field = |n: usize| -> Option<u64> { f.get(n - 3)?.parse().ok() };
    Some(StatLine {
        comm,
        ticks: Ticks {
            user: field(14)?,
            system: field(15)?,
        },
    })
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
pub fn ticks_per_second() -> u64 {
    crate::ffi::os::clock_ticks_per_second().unwrap_or(100)
}

/// The calling thread's id (the kernel's tid, as in `/proc/self/task`);
/// `None` where `/proc/thread-self` does not exist.
pub fn current_tid() -> Option<u32> {
    // "/proc/thread-self" links to "<pid>/task/<tid>".
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// The ids of this process's live threads.
pub fn thread_ids() -> BTreeSet<u32> {
    std::fs::read_dir("/proc/self/task")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Who a thread's CPU time is charged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// The producing client: its library's threads and the thread that
    /// sends its records.
    Client,
    /// The fault proxy and its emulated links.
    Proxy,
    /// Everything else in the process.
    Suite,
}

/// Names librdkafka gives its threads (`rdk:main`, `rdk:broker3`, …).
const CLIENT_PREFIXES: &[&str] = &["rdk:"];
/// librdkafka's mock cluster thread stands for the brokers, not a client.
const CLUSTER_NAMES: &[&str] = &["rdk:mock"];
/// The proxy's runtime (`kob-proxy`, `kob-proxy-io`), its delay lines
/// (`kob-delay-<port>`) and the `async-io` timer thread those wait on.
const PROXY_PREFIXES: &[&str] = &["kob-proxy", "kob-delay", "async-io"];

/// How threads are charged to sides (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    /// Threads charged to the client whatever their name: the threads that
    /// produce its records and serve its callbacks.
    pub senders: BTreeSet<u32>,
    /// When set, only these librdkafka threads are the client's, and other
    /// `rdk:` threads (another client in the process: the checker's
    /// consumer, an idle session of another cell) are the suite's. When
    /// unset, every librdkafka thread of the process is the client's.
    pub librdkafka: Option<BTreeSet<u32>>,
}

impl Attribution {
    /// The client is librdkafka's threads and the calling thread.
    pub fn calling_thread() -> Attribution {
        Attribution {
            senders: current_tid().into_iter().collect(),
            librdkafka: None,
        }
    }

    /// The client is the calling thread and the librdkafka threads born
    /// since `before` (from [`thread_ids`]) that are still alive: take
    /// `before` just ahead of creating the client and call this once it
    /// has warmed up (its broker threads exist), with no other librdkafka
    /// client started in between and still alive.
    pub fn calling_thread_and_threads_since(before: &BTreeSet<u32>) -> Attribution {
        Attribution {
            senders: current_tid().into_iter().collect(),
            librdkafka: Some(thread_ids().difference(before).copied().collect()),
        }
    }

    /// The side of thread `tid` named `comm`.
    pub fn side(&self, tid: u32, comm: &str) -> Side {
        if self.senders.contains(&tid) {
            return Side::Client;
        }
        let starts = |prefixes: &[&str]| prefixes.iter().any(|p| comm.starts_with(p));
        if CLUSTER_NAMES.contains(&comm) {
            Side::Suite
        } else if starts(CLIENT_PREFIXES) {
            match &self.librdkafka {
                Some(ours) if !ours.contains(&tid) => Side::Suite,
                _ => Side::Client,
            }
        } else if starts(PROXY_PREFIXES) {
            Side::Proxy
        } else {
            Side::Suite
        }
    }
}

/// One reading of this process's CPU time, per thread and in total.
#[derive(Debug, Clone)]
pub struct CpuSample {
    pub taken: Instant,
    /// The whole process (`/proc/self/stat`): live threads and those that
    /// exited.
    pub process: Ticks,
    /// Each live thread, by id.
    pub threads: BTreeMap<u32, StatLine>,
}

impl CpuSample {
    /// Reads this process and each of its threads now. A thread that ends
    /// while it is read is left out.
    pub fn now() -> CpuSample {
        let threads = thread_ids()
            .into_iter()
            .filter_map(|tid| {
                let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
                Some((tid, parse_stat(&s)?))
            })
            .collect();
        let process = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| parse_stat(&s))
            .map_or_else(Ticks::default, |l| l.ticks);
        CpuSample {
            taken: Instant::now(),
            process,
            threads,
        }
    }

    /// The CPU time from `earlier` to `self`, per side, at this machine's
    /// tick rate.
    pub fn since(&self, earlier: &CpuSample, attribution: &Attribution) -> SideCpu {
        self.between(earlier, attribution, ticks_per_second())
    }

    /// The CPU time from `earlier` to `self`, per side, at `hz` ticks per
    /// second.
    pub fn between(&self, earlier: &CpuSample, attribution: &Attribution, hz: u64) -> SideCpu {
        let mut sides: BTreeMap<Side, Ticks> = BTreeMap::new();
        let mut threads = Vec::new();
        for (&tid, now) in &self.threads {
            // A thread born during the interval spent all its time in it; a
            // recycled id (another name, or less time than before) is a new
            // thread too.
            let used = match earlier.threads.get(&tid) {
                Some(before) if before.comm == now.comm && now.ticks.covers(before.ticks) => {
                    now.ticks.saturating_sub(before.ticks)
                }
                _ => now.ticks,
            };
            let side = attribution.side(tid, &now.comm);
            let entry = sides.entry(side).or_default();
            *entry = entry.add(used);
            if used != Ticks::default() {
                threads.push(ThreadCpu {
                    tid,
                    name: now.comm.clone(),
                    side,
                    cpu: CpuTime::from_ticks(used, hz),
                });
            }
        }
        threads.sort_by(|a, b| b.cpu.total_ms().total_cmp(&a.cpu.total_ms()));
        let get = |s: Side| sides.get(&s).copied().unwrap_or_default();
        let (client, proxy) = (get(Side::Client), get(Side::Proxy));
        // The process total also holds threads that exited in the interval;
        // they are the suite's, as are the live ones no rule claims.
        let process = self.process.saturating_sub(earlier.process);
        let suite = Ticks {
            user: process
                .user
                .saturating_sub(client.user + proxy.user)
                .max(get(Side::Suite).user),
            system: process
                .system
                .saturating_sub(client.system + proxy.system)
                .max(get(Side::Suite).system),
        };
        SideCpu {
            elapsed_ms: duration_ms(self.taken.saturating_duration_since(earlier.taken)),
            client: CpuTime::from_ticks(client, hz),
            proxy: CpuTime::from_ticks(proxy, hz),
            suite: CpuTime::from_ticks(suite, hz),
            threads,
        }
    }
}

/// CPU time, user and system, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CpuTime {
    /// Time in user mode, ms.
    pub user_ms: f64,
    /// Time in the kernel on the thread's behalf, ms.
    pub system_ms: f64,
}

impl CpuTime {
    /// `ticks` at `hz` ticks per second.
    pub fn from_ticks(ticks: Ticks, hz: u64) -> CpuTime {
        let ms = |t: u64| t as f64 * 1000.0 / hz.max(1) as f64;
        CpuTime {
            user_ms: ms(ticks.user),
            system_ms: ms(ticks.system),
        }
    }

    /// User plus system, ms.
    pub fn total_ms(&self) -> f64 {
        self.user_ms + self.system_ms
    }
}

/// One thread's CPU time over an interval.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadCpu {
    pub tid: u32,
    pub name: String,
    pub side: Side,
    pub cpu: CpuTime,
}

/// CPU time over an interval, per side.
#[derive(Debug, Clone, PartialEq)]
pub struct SideCpu {
    /// Wall time between the two samples, ms.
    pub elapsed_ms: f64,
    pub client: CpuTime,
    pub proxy: CpuTime,
    pub suite: CpuTime,
    /// Each live thread that used CPU in the interval, busiest first.
    pub threads: Vec<ThreadCpu>,
}

impl SideCpu {
    /// The time of `side`.
    pub fn of(&self, side: Side) -> CpuTime {
        match side {
            Side::Client => self.client,
            Side::Proxy => self.proxy,
            Side::Suite => self.suite,
        }
    }
}

/// One reading of another process's CPU time (all its threads, live and
/// exited): the Java driver's JVM.
#[derive(Debug, Clone, Copy)]
pub struct ProcessSample {
    pub pid: u32,
    pub taken: Instant,
    pub ticks: Ticks,
}

impl ProcessSample {
    /// Reads process `pid` now; `None` when it does not exist (any more).
    pub fn of(pid: u32) -> Option<ProcessSample> {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Some(ProcessSample {
            pid,
            taken: Instant::now(),
            ticks: parse_stat(&s)?.ticks,
        })
    }

    /// The process's CPU time from `earlier` to `self`, at this machine's
    /// tick rate.
    pub fn since(&self, earlier: &ProcessSample) -> CpuTime {
        CpuTime::from_ticks(self.ticks.saturating_sub(earlier.ticks), ticks_per_second())
    }
}

/// The CPU a producing client used over a cell's timed windows, and the
/// client's own signal that explains it.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClientCpu {
    /// The client's CPU time in user mode over the windows, ms. librdkafka:
    /// its threads and the thread that produces; Java: the driver's JVM.
    pub user_ms: f64,
    /// The client's CPU time in the kernel over the windows, ms.
    pub system_ms: f64,
    /// Wall time the CPU time was taken over, ms.
    pub elapsed_ms: f64,
    /// Records acknowledged in the windows.
    pub records: u64,
    /// `(user_ms + system_ms)` per record, in microseconds; `None` without
    /// records.
    pub cpu_us_per_record: Option<f64>,
    /// CPU time per wall time: 1.0 is one core kept busy.
    pub cores: f64,
    /// librdkafka's broker thread wake-ups (statistics `wakeups`, summed
    /// over brokers) per second of the statistics' own clock; `None` for a
    /// client that does not count them (Java) or without two snapshots.
    pub wakeups_per_sec: Option<f64>,
}

impl ClientCpu {
    /// `cpu` used over `elapsed` for `records` records, with `wakeups` per
    /// second if known.
    pub fn new(
        cpu: CpuTime,
        elapsed: Duration,
        records: u64,
        wakeups_per_sec: Option<f64>,
    ) -> ClientCpu {
        let elapsed_ms = duration_ms(elapsed);
        let total = cpu.total_ms();
        ClientCpu {
            user_ms: cpu.user_ms,
            system_ms: cpu.system_ms,
            elapsed_ms,
            records,
            cpu_us_per_record: (records > 0).then(|| total * 1000.0 / records as f64),
            cores: if elapsed_ms > 0.0 {
                total / elapsed_ms
            } else {
                0.0
            },
            wakeups_per_sec,
        }
    }

    /// The in-process client's share of `sides`, for `records` records.
    pub fn in_process(sides: &SideCpu, records: u64, wakeups_per_sec: Option<f64>) -> ClientCpu {
        ClientCpu::new(
            sides.client,
            Duration::from_secs_f64(sides.elapsed_ms.max(0.0) / 1000.0),
            records,
            wakeups_per_sec,
        )
    }

    /// Processes' CPU time together between two readings of each (in the
    /// same order), over the longest span, for `records` records.
    pub fn of_processes(
        before: &[ProcessSample],
        after: &[ProcessSample],
        records: u64,
    ) -> ClientCpu {
        let ticks = before
            .iter()
            .zip(after)
            .map(|(b, a)| a.ticks.saturating_sub(b.ticks))
            .fold(Ticks::default(), Ticks::add);
        let elapsed = before
            .iter()
            .zip(after)
            .map(|(b, a)| a.taken.saturating_duration_since(b.taken))
            .max()
            .unwrap_or_default();
        ClientCpu::new(
            CpuTime::from_ticks(ticks, ticks_per_second()),
            elapsed,
            records,
            None,
        )
    }
}

/// How to read one client's CPU time: what a [`crate::driver::CellProducer`]
/// hands the suite to bracket a round with [`ClientProbe::start`] and
/// [`ClientProbe::client_cpu`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientProbe {
    /// A client in this process (librdkafka): its threads, by [`Attribution`].
    InProcess(Attribution),
    /// A client in processes of its own (the Java driver's JVM, one per
    /// producer of the cell), by pid.
    Process(Vec<u32>),
    /// Nothing to read (not Linux, or no process to read).
    None,
}

/// A [`ClientProbe`]'s first reading.
#[derive(Debug, Clone)]
pub enum ProbeStart {
    InProcess(CpuSample),
    /// One sample per process; `None` if one could not be read.
    Process(Option<Vec<ProcessSample>>),
    None,
}

impl ClientProbe {
    /// Several client instances of one cell read as one client: their
    /// threads together (in process) or their processes together; `None`
    /// when they are of different kinds or one cannot be read.
    pub fn merge(probes: Vec<ClientProbe>) -> ClientProbe {
        let mut probes = probes.into_iter();
        let Some(mut out) = probes.next() else {
            return ClientProbe::None;
        };
        for p in probes {
            out = match (out, p) {
                (ClientProbe::InProcess(mut a), ClientProbe::InProcess(b)) => {
                    a.senders.extend(b.senders);
                    a.librdkafka = match (a.librdkafka, b.librdkafka) {
                        (Some(mut x), Some(y)) => {
                            x.extend(y);
                            Some(x)
                        }
                        _ => None,
                    };
                    ClientProbe::InProcess(a)
                }
                (ClientProbe::Process(mut a), ClientProbe::Process(b)) => {
                    a.extend(b);
                    ClientProbe::Process(a)
                }
                _ => ClientProbe::None,
            };
        }
        out
    }

    /// Reads the client's CPU time now, at the start of an interval.
    pub fn start(&self) -> ProbeStart {
        match self {
            ClientProbe::InProcess(_) => ProbeStart::InProcess(CpuSample::now()),
            ClientProbe::Process(pids) => {
                ProbeStart::Process(pids.iter().map(|&p| ProcessSample::of(p)).collect())
            }
            ClientProbe::None => ProbeStart::None,
        }
    }

    /// The client's CPU from `start` to now, for `records` records, with
    /// the client's wake-ups per second if it counts them; `None` when the
    /// CPU time could not be read (the process has gone, or no `/proc`).
    pub fn client_cpu(
        &self,
        start: &ProbeStart,
        records: u64,
        wakeups_per_sec: Option<f64>,
    ) -> Option<ClientCpu> {
        match (self, start) {
            (ClientProbe::InProcess(attribution), ProbeStart::InProcess(before)) => {
                if before.threads.is_empty() {
                    return None;
                }
                let sides = CpuSample::now().since(before, attribution);
                Some(ClientCpu::in_process(&sides, records, wakeups_per_sec))
            }
            (ClientProbe::Process(pids), ProbeStart::Process(Some(before))) => {
                let after: Vec<ProcessSample> = pids
                    .iter()
                    .map(|&p| ProcessSample::of(p))
                    .collect::<Option<_>>()?;
                Some(ClientCpu {
                    wakeups_per_sec,
                    ..ClientCpu::of_processes(before, &after, records)
                })
            }
            _ => None,
        }
    }
}

/// A count's rate between two readings `(clock µs, count)` of a cumulative
/// counter; `None` when no time passed between them or the counter went
/// back (a new client).
pub fn rate_per_sec(earlier: (u64, u64), later: (u64, u64)) -> Option<f64> {
    let dt_us = later.0.checked_sub(earlier.0).filter(|&d| d > 0)?;
    let n = later.1.checked_sub(earlier.1)?;
    Some(n as f64 * 1e6 / dt_us as f64)
}

fn duration_ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests;
