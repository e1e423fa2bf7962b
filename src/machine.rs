//! How loaded the machine was while a cell ran, and by whom.
//!
//! Two samples from `/proc` bracket a cell ([`LoadSample::now`] before,
//! [`LoadSample::since`] after): the machine's busy CPU time against the
//! suite's own (this process and its reaped children). When the machine was
//! busier than the suite by more than its cores can absorb, something else
//! competed for the CPU and the cell's numbers are qualified.

use std::time::Instant;

/// One reading of the counters (Linux `/proc`; zeros elsewhere).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadSample {
    /// 1-minute load average (`/proc/loadavg`).
    pub loadavg_1m: f64,
    /// CPU time of the suite in clock ticks: this process, its waited-for
    /// children, and its live descendants (the local cluster's brokers and
    /// the Java driver), each `utime + stime + cutime + cstime` from
    /// `/proc/<pid>/stat`. A cluster started apart (`cluster up`, or an
    /// external one) is not the suite's: it counts as other processes.
    pub self_ticks: u64,
    /// Busy ticks of the whole machine, all cores (`/proc/stat`, `cpu` line,
    /// everything but idle and iowait).
    pub busy_ticks: u64,
    /// All ticks of the whole machine, all cores.
    pub total_ticks: u64,
    pub taken: Instant,
}

/// The load between two samples.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Load {
    /// 1-minute load average at the end of the interval.
    pub loadavg_1m: f64,
    /// Online CPUs.
    pub cores: u32,
    /// Share of the machine's CPU time (all cores) used by the suite's own
    /// process and children, 0..=1.
    pub suite_cpu_share: f64,
    /// Share of the machine's CPU time that was busy, 0..=1.
    pub machine_busy_share: f64,
    /// Something other than the suite kept the machine busy beyond its cores:
    /// the load average exceeded the cores while others used over a quarter
    /// of the CPU, or the machine was nearly saturated mostly by others.
    pub busy_beyond_cores: bool,
}

/// Online CPUs (at least 1).
pub fn cores() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1)
}

impl LoadSample {
    /// Reads the counters now; missing files read as zero.
    pub fn now() -> LoadSample {
        let loadavg_1m = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| parse_loadavg(&s))
            .unwrap_or(0.0);
        let self_ticks = suite_ticks();
        let (busy_ticks, total_ticks) = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| parse_cpu_line(&s))
            .unwrap_or((0, 0));
        LoadSample {
            loadavg_1m,
            self_ticks,
            busy_ticks,
            total_ticks,
            taken: Instant::now(),
        }
    }

    /// The load from `earlier` to `self` on this machine:
    /// `LoadSample::now().since(&before)`.
    pub fn since(&self, earlier: &LoadSample) -> Load {
        self.between(earlier, cores())
    }

    /// The load from `earlier` to `self` on a machine of `cores` CPUs.
    pub fn between(&self, earlier: &LoadSample, cores: u32) -> Load {
        let total = self.total_ticks.saturating_sub(earlier.total_ticks);
        let busy = self.busy_ticks.saturating_sub(earlier.busy_ticks);
        let mine = self.self_ticks.saturating_sub(earlier.self_ticks);
        let share = |x: u64| {
            if total == 0 {
                0.0
            } else {
                (x as f64 / total as f64).clamp(0.0, 1.0)
            }
        };
        let suite = share(mine);
        let machine = share(busy);
        let others = (machine - suite).max(0.0);
        let cores_f = f64::from(cores.max(1));
        let busy_beyond_cores = total > 0
            && ((self.loadavg_1m > cores_f && others > 0.25) || (machine > 0.95 && others > 0.5));
        Load {
            loadavg_1m: self.loadavg_1m,
            cores,
            suite_cpu_share: suite,
            machine_busy_share: machine,
            busy_beyond_cores,
        }
    }
}

impl std::fmt::Display for Load {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "load average {:.2} on {} cores, machine {:.0}% busy, this suite {:.0}%",
            self.loadavg_1m,
            self.cores,
            self.machine_busy_share * 100.0,
            self.suite_cpu_share * 100.0
        )?;
        if self.busy_beyond_cores {
            write!(f, " (loaded beyond its cores by other processes)")?;
        }
        Ok(())
    }
}

fn parse_loadavg(s: &str) -> Option<f64> {
    s.split_whitespace().next()?.parse().ok()
}

/// This process's ticks plus those of its live descendants.
fn suite_ticks() -> u64 {
    let read = |path: String| std::fs::read_to_string(path).ok();
    let own = read("/proc/self/stat".into())
        .and_then(|s| parse_stat(&s))
        .map_or(0, |(_, ticks)| ticks);
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return own;
    };
    let procs: Vec<(u32, u32, u64)> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let (ppid, ticks) = parse_stat(&read(format!("/proc/{pid}/stat"))?)?;
            Some((pid, ppid, ticks))
        })
        .collect();
    own + descendant_ticks(std::process::id(), &procs)
}

/// The ticks of every descendant of `root` among `(pid, ppid, ticks)`.
fn descendant_ticks(root: u32, procs: &[(u32, u32, u64)]) -> u64 {
    let mut parents = vec![root];
    let mut total = 0;
    while let Some(parent) = parents.pop() {
        for &(pid, ppid, ticks) in procs {
            if ppid == parent && pid != root {
                total += ticks;
                parents.push(pid);
            }
        }
    }
    total
}

/// (ppid, utime + stime + cutime + cstime) from `/proc/<pid>/stat`: fields
/// 4 and 14..=17, counted after the parenthesised command name (which may
/// hold spaces).
fn parse_stat(s: &str) -> Option<(u32, u64)> {
    let (_, rest) = s.rsplit_once(')')?;
    // rest starts with the state (field 3).
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Option<u64> {
        let v: i64 = f.get(n - 3)?.parse().ok()?;
        Some(v.max(0) as u64)
    };
    let ppid = u32::try_from(field(4)?).ok()?;
    Some((ppid, field(14)? + field(15)? + field(16)? + field(17)?))
}

/// (busy, total) ticks from the aggregate `cpu` line of `/proc/stat`.
fn parse_cpu_line(s: &str) -> Option<(u64, u64)> {
    let line = s.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 4 {
        return None;
    }
    // user nice system idle iowait irq softirq steal guest guest_nice;
    // guest time is already counted in user.
    let total: u64 = v.iter().take(8).sum();
    let idle = v[3] + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(load: f64, me: u64, busy: u64, total: u64) -> LoadSample {
        LoadSample {
            loadavg_1m: load,
            self_ticks: me,
            busy_ticks: busy,
            total_ticks: total,
            taken: Instant::now(),
        }
    }

    #[test]
    fn parses_proc_files() {
        assert_eq!(parse_loadavg("2.50 1.00 0.50 3/200 1234\n"), Some(2.5));
        let stat = "1234 (kafka order (bench)) S 1 2 3 4 5 6 7 8 9 10 100 20 30 4 20 0 1";
        assert_eq!(parse_stat(stat), Some((1, 154)));
        let cpu = "cpu  100 10 50 800 40 0 0 0 0 0\ncpu0 1 2 3 4\n";
        assert_eq!(parse_cpu_line(cpu), Some((160, 1000)));
    }

    #[test]
    fn another_process_loading_the_machine_is_flagged() {
        let a = sample(0.5, 0, 0, 0);
        // 2 cores, 1000 ticks: machine 98% busy, the suite only 30%.
        let b = sample(3.6, 300, 980, 1000);
        let l = b.between(&a, 2);
        assert!((l.suite_cpu_share - 0.3).abs() < 1e-9);
        assert!((l.machine_busy_share - 0.98).abs() < 1e-9);
        assert!(l.busy_beyond_cores);
        assert!(l.to_string().contains("beyond its cores"), "{l}");
    }

    #[test]
    fn the_suite_alone_saturating_the_machine_is_not_flagged() {
        let a = sample(0.5, 0, 0, 0);
        let b = sample(2.4, 900, 980, 1000);
        assert!(!b.between(&a, 2).busy_beyond_cores);
        // No ticks elapsed: nothing to judge.
        assert!(!a.between(&a, 2).busy_beyond_cores);
    }

    #[test]
    fn descendants_are_the_suites_and_strangers_are_not() {
        // 10 is the suite; 11 a broker it started, 12 that broker's child;
        // 20 a stranger with a child 21.
        let procs = [
            (10, 1, 1000),
            (11, 10, 300),
            (12, 11, 40),
            (20, 1, 500),
            (21, 20, 7),
        ];
        assert_eq!(descendant_ticks(10, &procs), 340);
        assert_eq!(descendant_ticks(20, &procs), 7);
        assert_eq!(descendant_ticks(12, &procs), 0);
    }

    /// A child process burning CPU counts as the suite's.
    #[test]
    fn a_busy_child_is_counted_as_the_suite() {
        let before = LoadSample::now();
        let mut child = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let during = LoadSample::now();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            during.self_ticks >= before.self_ticks + 20,
            "a child busy for a second added {} ticks",
            during.self_ticks - before.self_ticks
        );
    }

    #[test]
    fn live_sample_is_sane() {
        let a = LoadSample::now();
        let mut x = 0u64;
        for i in 0..3_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        std::hint::black_box(x);
        let l = LoadSample::now().since(&a);
        assert!((0.0..=1.0).contains(&l.suite_cpu_share));
        assert!((0.0..=1.0).contains(&l.machine_busy_share));
        assert!(l.cores >= 1);
    }
}
