//! The grid's tests: a workload read from TOML, expanded into cells with
//! stable ids, and the windows sized from the model ceilings.

use std::path::Path;

use super::*;
use crate::faults::FaultProfile;

#[test]
fn faults_run_only_at_their_rtts_and_ids_are_unique() {
    let w = Workload::from_toml(
        "faults = [\"none\", \"reject:1%\"]\n[axes]\nmax_in_flight = [1, 5]\nacks = [1]\nidempotence = [false]\n\
         [network]\nrtt_ms = [0, 0.2, 20]\nfault_rtt_ms = [0]\n",
    )
    .unwrap();
    let ids: Vec<String> = w.cells().iter().map(Cell::id).collect();
    assert_eq!(
        ids,
        [
            "rtt=0ms,inflight=1,acks=1,idem=false,faults=none",
            "rtt=0ms,inflight=5,acks=1,idem=false,faults=none",
            "rtt=0ms,inflight=1,acks=1,idem=false,faults=reject-1pct",
            "rtt=0ms,inflight=5,acks=1,idem=false,faults=reject-1pct",
            "rtt=0.2ms,inflight=1,acks=1,idem=false,faults=none",
            "rtt=0.2ms,inflight=5,acks=1,idem=false,faults=none",
            "rtt=20ms,inflight=1,acks=1,idem=false,faults=none",
            "rtt=20ms,inflight=5,acks=1,idem=false,faults=none",
        ]
    );
    let cells = Workload::default().cells();
    let unique: std::collections::BTreeSet<_> = cells.iter().map(Cell::id).collect();
    assert_eq!(unique.len(), cells.len());
}

#[test]
fn rtt_parses_as_users_write_it_and_bad_values_are_named() {
    assert_eq!(parse_rtt("2ms"), Ok(2_000));
    assert_eq!(parse_rtt("0.2ms"), Ok(200));
    assert_eq!(parse_rtt("500us"), Ok(500));
    assert_eq!(parse_rtt("20"), Ok(20_000));
    assert_eq!(parse_rtt("1s"), Ok(1_000_000));
    assert_eq!(
        parse_rtt("-2ms"),
        Err("RTT \"-2ms\" must be 0 or more".into())
    );
    assert!(parse_rtt("fast")
        .unwrap_err()
        .contains("\"fast\" is not a duration"));
    assert_eq!(fmt_rtt(200), "0.2ms");
    assert_eq!(fmt_rtt(20_000), "20ms");
    assert_eq!(fmt_rtt(0), "0ms");
    let err = Workload::from_toml("[network]\nrtt_ms = [-1]\n").unwrap_err();
    assert!(err.to_string().contains("network RTT -1 ms"), "{err}");
    let err = Workload::from_toml("[network]\nbandwidth_mbit = -5\n").unwrap_err();
    assert!(err.to_string().contains("bandwidth_mbit -5"), "{err}");
}

#[test]
fn windows_are_sized_by_the_model_ceiling_within_bounds() {
    let f = Fixed::default();
    let n = Network::default();
    let cell = |rtt_us, max_in_flight, acks| Cell {
        client: Client::Librdkafka,
        rtt_us,
        settings: ProducerSettings {
            max_in_flight,
            acks,
            idempotence: false,
        },
        faults: FaultProfile::None,
    };
    // 15 records per 16 KiB batch of 1 KiB records (header and framing
    // counted); acks=all at 20 ms waits for the client's and a follower's
    // round trip: 15 / 40 ms.
    assert_eq!(f.records_per_batch(), 15);
    // A batch smaller than one record still carries one.
    let tiny = Fixed {
        batch_bytes: 100,
        ..Fixed::default()
    };
    assert_eq!(tiny.records_per_batch(), 1);
    let slow = cell(20_000, 1, Acks::All);
    assert_eq!(slow.ceiling_records_per_sec(&f, &n), Some(375.0));
    assert_eq!(f.records_per_window(&slow, &n), f.min_records_per_window);
    let mid = cell(2_000, 5, Acks::One);
    assert_eq!(mid.ceiling_records_per_sec(&f, &n), Some(37_500.0));
    assert_eq!(f.records_per_window(&mid, &n), f.max_records_per_window);
    let loopback = cell(0, 1, Acks::One);
    assert_eq!(loopback.ceiling_records_per_sec(&f, &n), None);
    assert_eq!(
        f.records_per_window(&loopback, &n),
        f.max_records_per_window
    );
    assert!(f.tail_records(&mid, &n) >= 5 * 15);
}

#[test]
fn timed_spans_are_the_windows_of_every_round_inside_the_cell() {
    let w = Workload::default();
    for cell in w.cells() {
        let spans = w.timed_spans(&cell);
        let per = w.fixed.records_per_window(&cell, &w.network);
        assert_eq!(spans.len(), w.fixed.rounds as usize);
        assert!(
            spans[0].start >= w.cell_warmup_records(&cell) + per,
            "{}",
            cell.id()
        );
        assert!(w.cell_warmup_records(&cell) >= w.fixed.warmup_records);
        assert!(spans
            .iter()
            .all(|r| r.end - r.start == u64::from(w.fixed.windows) * per));
        assert!(spans.windows(2).all(|p| p[0].end < p[1].start));
        assert!(spans.last().unwrap().end <= w.records_per_cell(&cell));
    }
}

/// `acks=all` across emulated replication: in-flight hides the client's
/// round trip, not the followers' (one batch per replication RTT);
/// `acks=1`, and `acks=all` without emulated replication, pipeline.
#[test]
fn acks_all_is_capped_at_a_batch_per_replication_round_trip() {
    let f = Fixed::default();
    let n = Network::default();
    assert!(n.replication);
    let cell = |max_in_flight, acks| Cell {
        client: Client::Librdkafka,
        rtt_us: 20_000,
        settings: ProducerSettings {
            max_in_flight,
            acks,
            idempotence: false,
        },
        faults: FaultProfile::None,
    };
    let all = |k| cell(k, Acks::All).ceiling_records_per_sec(&f, &n);
    assert_eq!(all(1), Some(375.0));
    assert_eq!(all(2), Some(750.0));
    assert_eq!(all(100), Some(750.0));
    assert_eq!(
        cell(100, Acks::All).pipelining_ceiling_records_per_sec(&f, &n),
        Some(37_500.0)
    );
    assert_eq!(
        cell(5, Acks::One).ceiling_records_per_sec(&f, &n),
        Some(3_750.0)
    );
    let direct = Network {
        replication: false,
        ..n.clone()
    };
    assert_eq!(
        cell(5, Acks::All).ceiling_records_per_sec(&f, &direct),
        Some(3_750.0)
    );
    // Eight partitions: eight pipelines at most, and windows sized from it.
    let eight = Fixed {
        partitions: 8,
        ..f.clone()
    };
    assert_eq!(
        cell(1, Acks::All).ceiling_records_per_sec(&eight, &n),
        Some(8.0 * 375.0)
    );
    assert_eq!(
        eight.records_per_window(&cell(1, Acks::All), &n),
        (8.0 * 375.0 * f64::from(f.window_ms) / 1e3) as u64
    );
}

#[test]
fn workload_file_overrides_only_what_it_names() {
    let w = Workload::from_toml(
        "seed = 7\n[axes]\nmax_in_flight = [1, 5]\nacks = [1, \"all\"]\n[fixed]\nrecord_bytes = 512\n",
    )
    .unwrap();
    assert_eq!(w.seed, 7);
    assert_eq!(w.axes.max_in_flight, vec![1, 5]);
    assert_eq!(w.axes.acks, vec![Acks::One, Acks::All]);
    assert_eq!(w.axes.idempotence, vec![false, true]);
    assert_eq!(w.fixed.record_bytes, 512);
    assert_eq!(w.fixed.rounds, Fixed::default().rounds);
    assert_eq!(w.cells().len(), 8 * 3 + 8 * 2);
}

#[test]
fn unknown_axis_is_named_in_the_error() {
    let err = Workload::from_toml("[axes]\nlinger = [1]\n").unwrap_err();
    assert!(err.to_string().contains("unknown field `linger`"), "{err}");
}

#[test]
fn unknown_acks_value_is_named_in_the_error() {
    let err = Workload::from_toml("[axes]\nacks = [\"some\"]\n").unwrap_err();
    assert!(err.to_string().contains("\"some\""), "{err}");
}

#[test]
fn zero_rounds_is_refused() {
    let err = Workload::from_toml("[fixed]\nrounds = 0\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid workload: rounds and windows must be at least 1"
    );
}

#[test]
fn zero_in_flight_is_refused() {
    let err = Workload::from_toml("[axes]\nmax_in_flight = [0]\n").unwrap_err();
    assert!(err.to_string().contains("max_in_flight must be at least 1"));
}

#[test]
fn example_workload_in_repo_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/default.toml");
    let w = Workload::from_file(&path).unwrap();
    assert_eq!(w, Workload::default(), "the example documents the defaults");
}

/// The error of a workload that fails, as the CLI prints it after `Error: `.
fn invalid(toml: &str) -> String {
    Workload::from_toml(toml).unwrap_err().to_string()
}

#[test]
fn a_lasting_fault_longer_than_the_message_timeout_is_refused() {
    assert_eq!(
        invalid("faults = [\"refuse-window:3/cell:30000ms\"]\n"),
        "invalid workload: fault refuse-window:3/cell:30000ms: a span of 30000 ms is not shorter \
         than message_timeout_ms (30000 ms); records would expire inside it"
    );
    assert_eq!(
        invalid("faults = [\"leader-move:1%:45000ms\"]\n"),
        "invalid workload: fault leader-move:1%:45000ms: a span of 45000 ms is not shorter \
         than message_timeout_ms (30000 ms); records would expire inside it"
    );
}

#[test]
fn refusal_windows_longer_than_a_cell_can_hold_are_refused() {
    // 3 rounds × 3 windows × 250 ms = 2250 ms of timed run per cell.
    let fixed = "[fixed]\nrounds = 3\nwindows = 3\n";
    let invalid = |faults: &str| invalid(&format!("faults = [\"{faults}\"]\n{fixed}"));
    assert_eq!(
        invalid("refuse-window:12/cell:200ms"),
        "invalid workload: fault profile refuse-window:12/cell:200ms: 2400 ms of lasting \
         faults per cell do not fit in a cell's timed run of 2250 ms (rounds × windows × window_ms)"
    );
    assert_eq!(
        invalid("refuse-window:5/cell:200ms+leader-move:5/cell:300ms"),
        "invalid workload: fault profile refuse-window:5/cell:200ms+leader-move:5/cell:300ms: \
         2500 ms of lasting faults per cell do not fit in a cell's timed run of 2250 ms \
         (rounds × windows × window_ms)"
    );
    let w = Workload::from_toml("faults = [\"refuse-window:11/cell:200ms\"]\n").unwrap();
    assert_eq!(w.faults[0].to_string(), "refuse-window:11/cell:200ms");
}

#[test]
fn more_events_per_cell_than_the_smallest_cell_has_batches_is_refused() {
    // In-flight 1 at RTT 20 ms, 3 rounds of 3 timed windows of 200
    // records (the smallest window) in batches of 15: 120 batches to fault.
    let toml = "faults = [\"reject:%N%/cell\"]\n[axes]\nmax_in_flight = [1, 5]\n\
                [network]\nrtt_ms = [20.0]\nfault_rtt_ms = [20.0]\n\
                [fixed]\nrounds = 3\nwindows = 3\n";
    assert_eq!(
        invalid(&toml.replace("%N%", "121")),
        "invalid workload: fault profile reject:121/cell: 121 events per cell, but cell \
         rtt=20ms,inflight=1,acks=1,idem=false,faults=reject-121-per-cell has only 120 batches \
         to fault"
    );
    assert!(Workload::from_toml(&toml.replace("%N%", "120")).is_ok());
}

#[test]
fn bad_fault_strings_in_a_workload_are_one_line_naming_the_value() {
    for (profile, want) in [
        (
            "isr-shrink:3/cell:200ms",
            "unknown fault kind \"isr-shrink\" in \"isr-shrink:3/cell:200ms\"",
        ),
        (
            "refuse-window:3/cell:-5ms",
            "span \"-5ms\" must be a whole number of milliseconds such as 300ms",
        ),
        (
            "refuse-window:3/cell:soon",
            "span \"soon\" must be a whole number of milliseconds such as 300ms",
        ),
        (
            "reject:-25/cell",
            "event count \"-25/cell\" is not a whole number followed by /cell, such as 25/cell",
        ),
    ] {
        let err = invalid(&format!("faults = [\"{profile}\"]\n"));
        assert!(err.contains(want), "{profile}: {err}");
        assert!(!err.contains('\n'), "{profile}: {err}");
    }
    assert_eq!(
        invalid("[network]\nrtt_ms = [-2.0]\n"),
        "invalid workload: network RTT -2 ms is out of range (expected 0 to 10000 ms)"
    );
    let err = invalid("[network]\nrtt_ms = [\"fast\"]\n");
    assert!(err.contains("invalid type") && !err.contains('\n'), "{err}");
}

/// A client 20 ms from a cluster whose brokers are 1 ms apart: `acks=all`
/// waits for 21 ms, and in-flight buys up to one batch per 1 ms.
#[test]
fn a_replication_rtt_of_its_own_sets_the_acks_all_ceiling() {
    let f = Fixed::default();
    let n = Workload::from_toml("[network]\nrtt_ms = [20.0]\nreplication_rtt_ms = 1.0\n")
        .unwrap()
        .network;
    assert_eq!(n.replication_rtt_us(20_000), Some(1_000));
    assert_eq!(Network::default().replication_rtt_us(20_000), Some(20_000));
    assert_eq!(Network::none().replication_rtt_us(20_000), None);
    let cell = |max_in_flight| Cell {
        client: Client::Librdkafka,
        rtt_us: 20_000,
        settings: ProducerSettings {
            max_in_flight,
            acks: Acks::All,
            idempotence: false,
        },
        faults: FaultProfile::None,
    };
    assert_eq!(cell(1).ack_rtt_us(&n), Some(21_000));
    let ceiling = |k| cell(k).ceiling_records_per_sec(&f, &n).unwrap().round();
    // 15 records per batch: 15 / 21 ms, 75 / 21 ms, then 15 per 1 ms.
    assert_eq!(
        (ceiling(1), ceiling(5), ceiling(100)),
        (714.0, 3571.0, 15_000.0)
    );
}

#[test]
fn a_bad_replication_rtt_is_refused() {
    assert_eq!(
        invalid("[network]\nreplication_rtt_ms = -1.0\n"),
        "invalid workload: network.replication_rtt_ms -1 is out of range (expected 0 to 10000 ms)"
    );
    assert_eq!(
        invalid("[network]\nreplication = false\nreplication_rtt_ms = 1.0\n"),
        "invalid workload: network.replication_rtt_ms 1 needs replication = true (the local \
         cluster's replication links)"
    );
    let err = invalid("[network]\nreplication_rtt_ms = \"1ms\"\n");
    assert!(err.contains("invalid type") && !err.contains('\n'), "{err}");
}

/// `stats` checks its intervals' coverage and its comparison's false
/// changes at the default rounds and windows; it cannot name the grid
/// (it is listed below it), so this holds the two equal.
#[test]
fn stats_checks_its_intervals_at_the_default_rounds_and_windows() {
    let f = Fixed::default();
    let checked = crate::stats::CheckedAt::DEFAULT;
    assert_eq!(
        (f.rounds, f.windows),
        (checked.rounds, checked.windows),
        "new default rounds or windows: set stats::CheckedAt::DEFAULT to them and rerun its tests"
    );
}

#[test]
fn producers_and_keys_that_no_cell_could_run_are_refused_by_value() {
    assert_eq!(
        invalid("[fixed]\nproducers = 0\n"),
        "invalid workload: producers must be at least 1"
    );
    assert_eq!(
        invalid("[fixed]\nproducers = 65\n"),
        "invalid workload: producers = 65: at most 64 per cell (each is its own client instance)"
    );
    assert_eq!(
        invalid("[fixed]\npartitions = 8\nkeys = 3\n"),
        "invalid workload: keys = 3: fewer keys than partitions (8); 5 partitions would get no record"
    );
    assert!(invalid("[fixed]\nkeys = 100000000\n")
        .starts_with("invalid workload: keys = 100000000: more keys than the "));
    assert_eq!(
        invalid("[fixed]\nkeys = 10\nrecord_bytes = 40\n"),
        "invalid workload: keys = 10: record_bytes must be at least 44 (the header and the key extension)"
    );
    assert!(invalid("[fixed]\nkeys = 10\nkey_distribution = \"pareto\"\n").contains("pareto"));
    assert!(
        invalid("faults = [\"reject:10/cell\"]\n[fixed]\nkeys = 10\n")
            .contains("a count of events per cell is placed on records sent round robin")
    );
    assert!(invalid("faults = [\"failover\"]\n[fixed]\nproducers = 2\n")
        .contains("failover runs with one producer per cell"));
    // A rate of faults with keys, and several producers with counts, are fine.
    let w = Workload::from_toml(
        "faults = [\"reject:1%\"]\n[fixed]\nproducers = 4\npartitions = 8\nkeys = 1000\nkey_distribution = \"zipf\"\n",
    )
    .unwrap();
    assert_eq!((w.fixed.streams(), w.fixed.keys), (32, 1000));
    Workload::from_toml("faults = [\"reject:10/cell\"]\n[fixed]\nproducers = 2\n").unwrap();
}

/// Each producer has its own connections: the cell's ceiling counts every
/// stream, a producer's window is its share, and the cell's records (and
/// the span where count faults lie) are every producer's.
#[test]
fn several_producers_share_the_ceiling_and_multiply_the_records() {
    let one = Workload {
        network: Network {
            rtt_ms: vec![20.0],
            ..Network::default()
        },
        faults: vec!["reject:10/cell".parse().unwrap()],
        ..Workload::default()
    };
    let four = Workload {
        fixed: Fixed {
            producers: 4,
            ..one.fixed.clone()
        },
        ..one.clone()
    };
    let (c1, c4) = (&one.cells()[0], &four.cells()[0]);
    assert_eq!(
        c4.ceiling_records_per_sec(&four.fixed, &four.network),
        c1.ceiling_records_per_sec(&one.fixed, &one.network)
            .map(|r| r * 4.0)
    );
    assert_eq!(
        four.fixed.records_per_window(c4, &four.network),
        one.fixed.records_per_window(c1, &one.network)
    );
    let spans1 = one.timed_spans(c1);
    let spans4 = four.timed_spans(c4);
    assert_eq!(spans1.len(), spans4.len());
    for (a, b) in spans1.iter().zip(&spans4) {
        assert_eq!((b.start, b.end), (a.start * 4, a.end * 4));
    }
    // A fault cell has no fixed-load phase: its records are its rounds'.
    assert_eq!(four.records_per_cell(c4), 4 * one.records_per_cell(c1));
}
