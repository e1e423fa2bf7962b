//! The per-thread CPU accounting charges a busy thread to its side: a
//! thread named like librdkafka's that spins is the client's, one named like
//! the proxy's that spins is the proxy's, and the sleeping one beside it
//! costs its side (almost) nothing.
//!
//! Its own test binary, so that no other test's threads (a proxy, a
//! librdkafka client) run in the process while it measures; the tests take
//! turns through a lock.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use kafka_order_bench::cpu::{
    current_tid, parse_stat, ticks_per_second, Attribution, CpuSample, Side, SideCpu,
};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// CPU time the spinner works for, by the kernel's own count of its time.
const SPIN: Duration = Duration::from_millis(300);
/// At least this much of the spin must be charged to the spinner's side
/// (the kernel counts in 10 ms ticks).
const AT_LEAST_MS: f64 = 250.0;
/// At most this much may be charged to the sleeper's side.
const AT_MOST_MS: f64 = 30.0;

/// The calling thread's own CPU time, ms, from `/proc/thread-self/stat`.
fn own_cpu_ms() -> f64 {
    let s = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let l = parse_stat(&s).unwrap();
    (l.ticks.user + l.ticks.system) as f64 * 1000.0 / ticks_per_second() as f64
}

/// Runs a thread named `busy` that spins for [`SPIN`] of CPU time beside
/// one named `idle` that sleeps, and returns the sides' CPU time. Both are
/// still alive when the second sample is taken: a thread's time is read
/// from its own `/proc` entry, which goes when it exits.
fn spin_beside(busy: &str, idle: &str, attribution: impl FnOnce(u32) -> Attribution) -> SideCpu {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let (exit_tx, exit_rx) = std::sync::mpsc::channel::<()>();
    let (exit_idle_tx, exit_idle_rx) = std::sync::mpsc::channel::<()>();
    let spinner = std::thread::Builder::new()
        .name(busy.into())
        .spawn(move || {
            tid_tx.send(current_tid().unwrap()).unwrap();
            go_rx.recv().unwrap();
            let start = own_cpu_ms();
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut x = 0u64;
            while own_cpu_ms() - start < SPIN.as_millis() as f64 && Instant::now() < deadline {
                for i in 0..1_000_000u64 {
                    x = x.wrapping_add(i.wrapping_mul(i));
                }
                std::hint::black_box(x);
            }
            done_tx.send(()).unwrap();
            exit_rx.recv().unwrap();
        })
        .unwrap();
    let spinner_tid = tid_rx.recv().unwrap();
    // Sleeps until told to exit.
    let sleeper = std::thread::Builder::new()
        .name(idle.into())
        .spawn(move || exit_idle_rx.recv().unwrap())
        .unwrap();
    let attribution = attribution(spinner_tid);
    let before = CpuSample::now();
    go_tx.send(()).unwrap();
    done_rx.recv().unwrap();
    let after = CpuSample::now();
    exit_tx.send(()).unwrap();
    exit_idle_tx.send(()).unwrap();
    spinner.join().unwrap();
    sleeper.join().unwrap();
    after.since(&before, &attribution)
}

#[test]
fn a_spinning_librdkafka_thread_is_the_clients() {
    let d = spin_beside("rdk:test", "kob-proxy-io", |_| Attribution::default());
    assert!(d.client.total_ms() >= AT_LEAST_MS, "client got {d:#?}");
    assert!(d.proxy.total_ms() <= AT_MOST_MS, "proxy got {d:#?}");
    assert_eq!(d.threads[0].name, "rdk:test");
    assert_eq!(d.threads[0].side, Side::Client);
}

#[test]
fn a_spinning_proxy_thread_is_the_proxys() {
    let d = spin_beside("kob-proxy-io", "rdk:test", |_| Attribution::default());
    assert!(d.proxy.total_ms() >= AT_LEAST_MS, "proxy got {d:#?}");
    assert!(d.client.total_ms() <= AT_MOST_MS, "client got {d:#?}");
}

/// The thread that sends the client's records counts as the client's
/// whatever its name; unnamed, it would be the suite's.
#[test]
fn a_spinning_sender_is_the_clients_by_id() {
    let d = spin_beside("kob-sender", "kob-proxy", |tid| Attribution {
        senders: [tid].into(),
        librdkafka: None,
    });
    assert!(d.client.total_ms() >= AT_LEAST_MS, "client got {d:#?}");
    assert!(d.proxy.total_ms() <= AT_MOST_MS, "proxy got {d:#?}");
    let d = spin_beside("kob-sender", "kob-proxy", |_| Attribution::default());
    assert!(d.suite.total_ms() >= AT_LEAST_MS, "suite got {d:#?}");
    assert!(d.client.total_ms() <= AT_MOST_MS, "client got {d:#?}");
}

/// A client in its own process (the Java driver's JVM) is read by pid: a
/// busy child is charged, an idle one is not, a gone one gives nothing.
#[test]
fn a_client_process_is_read_by_pid() {
    use kafka_order_bench::cpu::ClientProbe;
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut busy = std::process::Command::new("sh")
        .args(["-c", "while :; do :; done"])
        .spawn()
        .unwrap();
    let mut idle = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let (busy_probe, idle_probe) = (
        ClientProbe::Process(vec![busy.id()]),
        ClientProbe::Process(vec![idle.id()]),
    );
    let (b0, i0) = (busy_probe.start(), idle_probe.start());
    std::thread::sleep(Duration::from_millis(1500));
    let b = busy_probe.client_cpu(&b0, 1000, None).unwrap();
    let i = idle_probe.client_cpu(&i0, 1000, None).unwrap();
    busy.kill().unwrap();
    idle.kill().unwrap();
    busy.wait().unwrap();
    idle.wait().unwrap();
    // Even on a loaded machine a spinning process gets a share of 1.5 s.
    assert!(b.user_ms + b.system_ms >= 200.0, "busy child: {b:?}");
    assert_eq!(b.cpu_us_per_record, Some(b.user_ms + b.system_ms));
    assert!(i.user_ms + i.system_ms <= AT_MOST_MS, "idle child: {i:?}");
    // Reaped: nothing to read.
    assert_eq!(busy_probe.client_cpu(&b0, 1000, None), None);
}

/// The in-process probe charges the calling thread, whatever its name, and
/// the librdkafka threads it was given.
#[test]
fn the_in_process_probe_charges_the_calling_thread() {
    use kafka_order_bench::cpu::ClientProbe;
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let probe = ClientProbe::InProcess(Attribution::calling_thread_and_threads_since(
        &kafka_order_bench::cpu::thread_ids(),
    ));
    let start = probe.start();
    let begun = own_cpu_ms();
    let mut x = 0u64;
    while own_cpu_ms() - begun < SPIN.as_millis() as f64 {
        for i in 0..1_000_000u64 {
            x = x.wrapping_add(i.wrapping_mul(i));
        }
        std::hint::black_box(x);
    }
    let c = probe.client_cpu(&start, 300, Some(7.0)).unwrap();
    assert!(c.user_ms + c.system_ms >= AT_LEAST_MS, "{c:?}");
    assert_eq!(c.records, 300);
    assert_eq!(c.wakeups_per_sec, Some(7.0));
    assert!(c.cores > 0.0);
}
