use super::*;

/// A librdkafka broker thread's line, as read from
/// `/proc/<pid>/task/<tid>/stat` (utime 9613, stime 212).
const BROKER: &str = "48213 (rdk:broker3) R 48190 48190 6232 34816 48190 4194368 1402 0 0 0 9613 212 0 0 20 0 23 0 110452 2241138688 26811 18446744073709551615 1 1 0 0 0 0 0 4096 17642 0 0 0 -1 1 0 0 0 0 0 0 0 0 0 0 0";

/// `cat`'s own `/proc/self/stat`, captured.
const CAT: &str = "10567 (cat) R 10565 10565 6232 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 110280 3133440 359 18446744073709551615 94919760523264 94919760543145 140730455969456 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94919760559152 94919760560768 94920703918080 140730455972547 140730455972567 140730455972567 140730455973867 0\n";

fn line(comm: &str, user: u64, system: u64) -> StatLine {
    StatLine {
        comm: comm.to_string(),
        ticks: Ticks { user, system },
    }
}

fn sample(process: (u64, u64), threads: &[(u32, &str, u64, u64)]) -> CpuSample {
    CpuSample {
        taken: Instant::now(),
        process: Ticks {
            user: process.0,
            system: process.1,
        },
        threads: threads
            .iter()
            .map(|&(tid, comm, u, s)| (tid, line(comm, u, s)))
            .collect(),
    }
}

#[test]
fn parses_captured_stat_lines() {
    assert_eq!(parse_stat(BROKER), Some(line("rdk:broker3", 9613, 212)));
    assert_eq!(parse_stat(CAT), Some(line("cat", 0, 0)));
    // A name with spaces and a closing parenthesis of its own.
    let odd = "7 (a) b (c)) S 1 1 1 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1";
    assert_eq!(parse_stat(odd), Some(line("a) b (c)", 5, 6)));
}

#[test]
fn refuses_what_is_not_a_stat_line() {
    assert_eq!(parse_stat(""), None);
    assert_eq!(parse_stat("7 (short) S 1 2 3"), None);
    assert_eq!(parse_stat("7 )x( S 1 1 1 0 -1 0 0 0 0 0 5 6"), None);
    assert_eq!(parse_stat("7 (x) S 1 1 1 0 -1 0 0 0 0 0 five 6 0 0"), None);
}

#[test]
fn names_decide_the_side_and_senders_override_them() {
    let a = Attribution {
        senders: [99].into(),
        librdkafka: None,
    };
    assert_eq!(a.side(1, "rdk:broker3"), Side::Client);
    assert_eq!(a.side(1, "rdk:main"), Side::Client);
    assert_eq!(a.side(1, "rdk:mock"), Side::Suite);
    assert_eq!(a.side(1, "kob-proxy-io"), Side::Proxy);
    assert_eq!(a.side(1, "kob-proxy"), Side::Proxy);
    assert_eq!(a.side(1, "kob-delay-40123"), Side::Proxy);
    assert_eq!(a.side(1, "async-io"), Side::Proxy);
    assert_eq!(a.side(1, "kafka-order-ben"), Side::Suite);
    assert_eq!(a.side(1, "kob-health"), Side::Suite);
    assert_eq!(a.side(99, "kafka-order-ben"), Side::Client);

    let only = Attribution {
        senders: BTreeSet::new(),
        librdkafka: Some([5].into()),
    };
    assert_eq!(only.side(5, "rdk:broker1"), Side::Client);
    assert_eq!(only.side(6, "rdk:broker1"), Side::Suite);
}

#[test]
fn differences_are_charged_per_side() {
    let a = Attribution {
        senders: [10].into(),
        librdkafka: None,
    };
    let before = sample(
        (1000, 300),
        &[
            (10, "kafka-order-ben", 100, 10),
            (11, "rdk:broker3", 500, 100),
            (12, "kob-proxy-io", 50, 50),
            (13, "kob-health", 5, 5),
            // Exits during the interval, after 7 more user ticks.
            (14, "kob-signals", 1, 1),
        ],
    );
    let after = sample(
        (1000 + 20 + 90 + 3 + 2 + 4 + 7, 300 + 1 + 10 + 1 + 1),
        &[
            (10, "kafka-order-ben", 120, 11),
            (11, "rdk:broker3", 590, 110),
            (12, "kob-proxy-io", 53, 51),
            (13, "kob-health", 7, 5),
            // Born during the interval.
            (15, "rdk:main", 4, 1),
        ],
    );
    let d = after.between(&before, &a, 100);
    // Client: sender 20+1, broker 90+10, new rdk:main 4+1 ticks of 10 ms.
    assert_eq!(d.client.user_ms, 1140.0);
    assert_eq!(d.client.system_ms, 120.0);
    assert_eq!(d.proxy.user_ms, 30.0);
    assert_eq!(d.proxy.system_ms, 10.0);
    // Suite: kob-health's 2 user ticks and the exited thread's 7, from
    // the process total.
    assert_eq!(d.suite.user_ms, 90.0);
    assert_eq!(d.suite.system_ms, 0.0);
    assert_eq!(d.threads[0].name, "rdk:broker3");
    assert_eq!(d.threads[0].cpu.total_ms(), 1000.0);
    assert_eq!(d.of(Side::Proxy), d.proxy);
}

#[test]
fn a_recycled_thread_id_is_a_new_thread() {
    let a = Attribution::default();
    let before = sample((0, 0), &[(20, "kob-proxy-io", 500, 500)]);
    let after = sample((0, 0), &[(20, "rdk:broker1", 3, 1)]);
    let d = after.between(&before, &a, 100);
    assert_eq!(d.client.total_ms(), 40.0);
    assert_eq!(d.proxy.total_ms(), 0.0);
}

#[test]
fn client_cpu_per_record_and_cores() {
    let cpu = CpuTime {
        user_ms: 900.0,
        system_ms: 100.0,
    };
    let c = ClientCpu::new(cpu, Duration::from_secs(2), 500, Some(12.5));
    assert_eq!(c.cpu_us_per_record, Some(2000.0));
    assert_eq!(c.cores, 0.5);
    assert_eq!(c.elapsed_ms, 2000.0);
    assert_eq!(c.wakeups_per_sec, Some(12.5));
    let none = ClientCpu::new(cpu, Duration::ZERO, 0, None);
    assert_eq!(none.cpu_us_per_record, None);
    assert_eq!(none.cores, 0.0);
    // Loads back from JSON unchanged.
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<ClientCpu>(&json).unwrap(), c);
}

#[test]
fn rates_come_from_two_readings() {
    assert_eq!(rate_per_sec((1_000_000, 10), (3_000_000, 410)), Some(200.0));
    assert_eq!(rate_per_sec((1_000_000, 10), (1_000_000, 410)), None);
    assert_eq!(rate_per_sec((1_000_000, 10), (2_000_000, 5)), None);
}

#[test]
fn the_calling_thread_is_found_in_the_sample() {
    let tid = current_tid().expect("/proc/thread-self");
    assert!(thread_ids().contains(&tid));
    let s = CpuSample::now();
    assert!(
        s.threads.contains_key(&tid),
        "{tid} not in {:?}",
        s.threads.keys()
    );
    assert_eq!(ticks_per_second(), 100);
}
