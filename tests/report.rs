//! The report stage against fixture results: every chart parsed and checked,
//! the summary's numbers computed from the data, byte-identical re-renders.

mod common;

use std::path::{Path, PathBuf};

use kafka_order_bench::grid::Acks;
use kafka_order_bench::report::{self, render};
use kafka_order_bench::results::{Outcome, Results};

const FILES: [&str; 7] = [
    "tradeoff.svg",
    "throughput.svg",
    "latency.svg",
    "violations.svg",
    "profiles.svg",
    "cpu.svg",
    "REPORT.md",
];

fn fixture_path() -> PathBuf {
    common::mixed_file()
}

fn fixture() -> Results {
    Results::load(&fixture_path()).expect("fixture loads")
}

#[test]
fn fixture_file_survives_a_json_round_trip() {
    assert!(
        fixture() == common::mixed(),
        "the fixture does not survive a JSON round trip"
    );
}

fn rendered(results: &Results) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    render(results, &out).expect("render");
    if let Some(keep) = std::env::var_os("KOB_KEEP_REPORT") {
        // For looking at the charts: copy them somewhere that outlives the test.
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        for f in FILES {
            std::fs::copy(out.join(f), keep.join(f)).unwrap();
        }
    }
    (dir, out)
}

/// A `<text>` element: its content and attributes.
type SvgText = (String, Vec<(String, String)>);

fn svg_texts(path: &Path) -> (String, Vec<SvgText>) {
    let text = std::fs::read_to_string(path).unwrap();
    let doc =
        roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            (
                n.text().unwrap_or("").trim().to_string(),
                n.attributes()
                    .map(|a| (a.name().to_string(), a.value().to_string()))
                    .collect(),
            )
        })
        .collect();
    (text, texts)
}

fn count(texts: &[SvgText], s: &str) -> usize {
    texts.iter().filter(|(t, _)| t == s).count()
}

fn has(texts: &[SvgText], s: &str) -> bool {
    texts.iter().any(|(t, _)| t.contains(s))
}

fn attr<'a>(a: &'a [(String, String)], name: &str) -> Option<&'a str> {
    a.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

struct Counts {
    measured: usize,
    rejected: usize,
    failed: usize,
    unexposed: usize,
}

fn counts(r: &Results) -> Counts {
    let mut c = Counts {
        measured: 0,
        rejected: 0,
        failed: 0,
        unexposed: 0,
    };
    for cell in &r.cells {
        match &cell.outcome {
            Outcome::Measured(m) => {
                c.measured += 1;
                if !m.exposure.exposed() {
                    c.unexposed += 1;
                }
            }
            Outcome::Rejected { .. } => c.rejected += 1,
            Outcome::Failed { .. } => c.failed += 1,
        }
    }
    c
}

#[test]
fn writes_every_file_and_nothing_else() {
    let (_d, out) = rendered(&fixture());
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut want: Vec<String> = FILES.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(names, want);
}

#[test]
fn svgs_are_self_contained_xml() {
    let (_d, out) = rendered(&fixture());
    for f in FILES.iter().filter(|f| f.ends_with(".svg")) {
        let (raw, texts) = svg_texts(&out.join(f));
        assert!(!texts.is_empty(), "{f} has no text");
        for banned in ["<script", "href", "@import", "url(", "<image"] {
            assert!(!raw.contains(banned), "{f} contains {banned}");
        }
        // Every text uses the generic family: no font file is needed.
        for (_, a) in &texts {
            assert_eq!(attr(a, "font-family"), Some("sans-serif"), "{f}");
        }
    }
}

#[test]
fn tradeoff_has_a_point_per_measured_cell_and_marks_what_is_missing() {
    let r = fixture();
    let c = counts(&r);
    let (_d, out) = rendered(&r);
    let (raw, texts) = svg_texts(&out.join("tradeoff.svg"));
    assert!(has(&texts, "Throughput vs ordering violations"));
    assert_eq!(count(&texts, "none · none exposed"), 1);
    assert_eq!(count(&texts, common::FAULTS), 1);
    for s in [
        "acks=all, idempotent",
        "acks=1, not idempotent",
        "acks=all, not idempotent",
    ] {
        assert_eq!(count(&texts, s), 1, "legend entry {s}");
    }
    // Point labels are max.in.flight values in the colour of their series;
    // tick labels are black.
    let labels = texts
        .iter()
        .filter(|(t, a)| t.parse::<u32>().is_ok() && attr(a, "fill") != Some("#222222"))
        .count();
    assert_eq!(labels, c.measured);
    assert!(has(
        &texts,
        &format!(
            "Not plotted: {} rejected and {} failed",
            c.rejected, c.failed
        )
    ));
    assert!(has(&texts, "Hollow marker: no fault reached"));
    // Axis titles with units.
    assert!(has(&texts, "violations per million records (log scale)"));
    assert!(has(&texts, "throughput (records/s)"));
    // The zero band.
    assert!(count(&texts, "0") >= 2);
    assert!(raw.contains("<circle"));
}

#[test]
fn throughput_has_series_with_rejections_named() {
    let (_d, out) = rendered(&fixture());
    let (_, texts) = svg_texts(&out.join("throughput.svg"));
    assert!(has(&texts, "max.in.flight (log scale)"));
    assert!(has(&texts, "t-interval"));
    assert_eq!(count(&texts, "all rejected: needs acks=all"), 1);
    assert_eq!(count(&texts, "rejected at 10: needs in-flight ≤ 5"), 1);
    assert_eq!(
        count(&texts, &format!("failed at 10 ({})", common::FAULTS)),
        1
    );
    // Tick labels of the log axis are the grid's values, once per panel.
    for v in ["1", "5", "10"] {
        assert!(count(&texts, v) >= 2, "tick {v}");
    }
}

#[test]
fn latency_has_a_column_per_quotable_quantile_and_a_row_per_condition() {
    let (_d, out) = rendered(&fixture());
    let (_, texts) = svg_texts(&out.join("latency.svg"));
    // Latency at a fixed load only (the cells without faults): a row per
    // condition that had the phase, never the windows' saturation latency.
    // 5,000 records per cell quote p99 but not p99.9: no p99.9 column.
    assert_eq!(count(&texts, "p99.9 · none"), 0);
    for q in ["p50", "p99"] {
        assert_eq!(count(&texts, &format!("{q} · none")), 1, "{q}");
        assert_eq!(
            count(&texts, &format!("{q} · {}", common::FAULTS)),
            0,
            "{q}"
        );
    }
    assert!(!texts.iter().any(|(t, _)| t.contains("saturation")));
    assert!(has(&texts, "p50 latency (ms, log)"));
    // One cell with 20,000 records quotes p99.9: the column comes back.
    let mut r = fixture();
    let cell = r
        .cells
        .iter_mut()
        .find(|c| c.faults.is_none())
        .expect("a cell without faults");
    let Outcome::Measured(m) = &mut cell.outcome else {
        panic!("measured")
    };
    m.fixed_load.as_mut().expect("fixed load").latency.count = 20_000;
    let (_d2, out2) = rendered(&r);
    let (_, texts2) = svg_texts(&out2.join("latency.svg"));
    assert_eq!(count(&texts2, "p99.9 · none"), 1);
}

#[test]
fn violations_heatmap_has_a_square_per_cell_with_its_marking() {
    let r = fixture();
    let c = counts(&r);
    let (_d, out) = rendered(&r);
    let (_, texts) = svg_texts(&out.join("violations.svg"));
    // Panels: idempotence × fault profile.
    for idem in ["idempotent", "not idempotent"] {
        for f in ["none", common::FAULTS] {
            assert_eq!(count(&texts, &format!("{idem} · faults: {f}")), 1);
        }
    }
    // Each square's first line is bold at the square size; the grid is 3 × 2 per panel.
    let size = format!("{}", 17.0f64 / 1.24);
    let squares = texts
        .iter()
        .filter(|(_, a)| {
            attr(a, "font-weight") == Some("bold") && attr(a, "font-size") == Some(size.as_str())
        })
        .count();
    assert_eq!(squares, r.cells.len());
    assert_eq!(squares, 24);
    assert_eq!(count(&texts, "rejected"), c.rejected);
    assert_eq!(count(&texts, "needs acks=all"), 6);
    assert_eq!(count(&texts, "needs in-flight ≤ 5"), 2);
    assert_eq!(count(&texts, "failed"), c.failed);
    assert_eq!(count(&texts, "not exposed"), c.unexposed);
    // The violating cells: kinds apart.
    assert!(
        has(&texts, "R 820 D 90 L 15"),
        "{:?}",
        texts.iter().map(|t| &t.0).collect::<Vec<_>>()
    );
    assert!(has(&texts, "R 185 D 60"));
    assert_eq!(count(&texts, "D 45"), 1);
    // Clean and exposed: zero with its bound per fault event, never per
    // record: 40 events, 1 − 0.05^(1/40) = 7.2%.
    assert_eq!(count(&texts, "< 7.2% per event (40)"), 3);
    assert!(!texts
        .iter()
        .any(|(t, _)| t.contains("/M") && t.starts_with('<')));
}

#[test]
fn profiles_chart_labels_every_profile_and_places_ranges() {
    let (_d, out) = rendered(&fixture());
    let (_, texts) = svg_texts(&out.join("profiles.svg"));
    for p in report::profiles::builtin() {
        assert_eq!(
            count(&texts, &format!("{} · {}", p.sector, p.use_case)),
            1,
            "{} {}",
            p.sector,
            p.use_case
        );
    }
    // Netflix 5-10 with idempotence: 10 is refused by the client.
    assert!(has(&texts, "Netflix · in-flight 5-10 · idempotent"));
    assert!(has(&texts, "10 rejected"));
    // YouTube 50-100 is outside this grid.
    assert!(count(&texts, "not in this run's grid") >= 2);
    assert!(has(&texts, "throughput (records/s)"));
    assert!(has(&texts, "p99 latency (ms, log)"));
}

#[test]
fn summary_conclusion_is_computed_from_the_results() {
    let (_d, out) = rendered(&fixture());
    let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    // Fastest clean and exposed cell under faults: in-flight 5, acks=all, idempotent,
    // 118,000 × 0.97 × 0.7 = 80,122 records/s; fastest overall is in-flight 10,
    // acks=1, not idempotent at 131,000 × 1.2 × 0.7 = 110,040: 27.2% slower.
    assert!(md.contains(&format!(
        "Under `{}` (7 measured, 6 exposed to faults): the fastest setting with no violation observed is **in-flight 5, acks=all, idempotent** at 80,122 records/s",
        common::FAULTS
    )), "{md}");
    assert!(
        md.contains("**in-flight 10, acks=1, not idempotent** at 110,040 records/s"),
        "{md}"
    );
    assert!(md.contains("costs 27.2% of throughput"), "{md}");
    assert!(md.contains("3 settings violated ordering"), "{md}");
    assert!(md.contains("in-flight 10, acks=1, not idempotent: 925 violations per million: 164 reorders (820/M), 18 log duplicates (90/M), 3 losses (15/M)."), "{md}");
    assert!(md.contains("no fault reached any cell"), "{md}");
    assert!(
        md.contains("9 measured cells saw no fault (all 8 under `none`; under"),
        "{md}"
    );
    assert!(md.contains(&format!(
        "6 cells rejected by the client with \"{}\"",
        common::REJECT_ACKS
    )));
    assert!(md.contains(&format!(
        "2 cells rejected by the client with \"{}\"",
        common::REJECT_IN_FLIGHT
    )));
    assert!(md.contains(common::FAILED));
    // Environment.
    for s in [
        "librdkafka 2.10.0",
        "Apache Kafka 4.1.0, 3 brokers",
        "Fixture CPU",
        "| Seed | 42 |",
        "5 interleaved rounds of 2 windows per cell",
        "2026-03-01T12:00:00Z",
    ] {
        assert!(md.contains(s), "{s}");
    }
    // Charts linked relatively, and the table has a row per cell.
    for f in FILES.iter().filter(|f| f.ends_with(".svg")) {
        assert!(md.contains(&format!("]({f})")), "{f}");
    }
    let rows = md
        .lines()
        .filter(|l| l.starts_with("| 1 |") || l.starts_with("| 5 |") || l.starts_with("| 10 |"))
        .count();
    assert_eq!(rows, 24);
    // The frontier under faults: the clean idempotent cell and the three
    // violating cells, each faster than the one before; the failed and
    // slower clean cells are off it.
    let frontier: Vec<&str> = md
        .lines()
        .filter(|l| l.contains("measured, on frontier") && l.contains(common::FAULTS))
        .collect();
    assert_eq!(frontier.len(), 4, "{frontier:#?}");
    assert!(frontier.iter().any(|l| l.starts_with("| 5 | all | true |")));
}

#[test]
fn a_fixture_change_moves_the_conclusion() {
    let mut r = fixture();
    // Make the idempotent in-flight 5 cell under faults slower, and give it a reorder.
    let target = format!(
        "rtt=20ms,inflight=5,acks=all,idem=true,faults={}",
        "reject-1pct+lose-ack-1pct"
    );
    let cell = r.cells.iter_mut().find(|c| c.id == target).expect("cell");
    let Outcome::Measured(m) = &mut cell.outcome else {
        panic!()
    };
    m.throughput.records_per_sec = 60_000.0;
    let (_d, out) = rendered(&r);
    let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(
        md.contains("**in-flight 5, acks=all, idempotent** at 60,000 records/s"),
        "{md}"
    );
    assert!(md.contains("costs 45.5% of throughput"), "{md}");

    m_reorder(&mut r, &target);
    let (_d, out) = rendered(&r);
    let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    // Now in-flight 1, acks=1, not idempotent is the fastest clean exposed cell.
    assert!(
        md.contains(
            "no violation observed is **in-flight 1, acks=1, not idempotent** at 34,440 records/s"
        ),
        "{md}"
    );
    assert!(
        md.contains("Not allowed by this configuration (reorder)"),
        "{md}"
    );
}

fn m_reorder(r: &mut Results, id: &str) {
    let cell = r.cells.iter_mut().find(|c| c.id == id).unwrap();
    let Outcome::Measured(m) = &mut cell.outcome else {
        panic!()
    };
    m.verdict.reorders.count = 1;
}

#[test]
fn rendering_twice_gives_identical_bytes() {
    let r = fixture();
    let (_a, one) = rendered(&r);
    let (_b, two) = rendered(&r);
    for f in FILES {
        assert!(
            std::fs::read(one.join(f)).unwrap() == std::fs::read(two.join(f)).unwrap(),
            "{f} differs between renders"
        );
    }
}

#[test]
fn renders_into_an_existing_run_directory_beside_the_results() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.json");
    std::fs::copy(fixture_path(), &results).unwrap();
    let files = report::render_default(&results).unwrap();
    assert_eq!(files.dir, dir.path());
    assert_eq!(files.files.len(), FILES.len());
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // No staging directory is left behind.
    // The rendered files and the results beside them.
    assert_eq!(names.len(), FILES.len() + 1, "{names:?}");
    assert!(names.iter().all(|n| !n.starts_with(".report-")));
}

#[test]
fn a_single_profile_run_with_one_acks_value_still_renders() {
    let mut r = fixture();
    r.cells
        .retain(|c| c.faults.is_none() && c.requested.acks == Acks::All);
    let (_d, out) = rendered(&r);
    let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(
        md.contains("6 cells under 1 fault profile (`none`)"),
        "{md}"
    );
    let (_, texts) = svg_texts(&out.join("violations.svg"));
    assert_eq!(count(&texts, "rejected"), 1);
}

/// A cell measured while a broker was down is flagged in the table, listed
/// with the broker and the span, and left out of the conclusion: the
/// fastest judged cell becomes the next one.
#[test]
fn a_cell_measured_on_a_degraded_cluster_is_flagged_and_left_out_of_the_conclusion() {
    let mut r = fixture();
    let target = "rtt=20ms,inflight=5,acks=all,idem=true,faults=reject-1pct+lose-ack-1pct";
    let cell = r.cells.iter_mut().find(|c| c.id == target).expect("cell");
    let Outcome::Measured(m) = &mut cell.outcome else {
        panic!()
    };
    m.conditions
        .degraded
        .push(kafka_order_bench::results::Degradation {
            broker: 2,
            address: Some("127.0.0.1:40123".into()),
            from_ms: 1_500,
            to_ms: 9_000,
        });
    let (_d, out) = rendered(&r);
    let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(
        md.contains("**1 cell measured under qualified conditions**"),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "- `{target}`: broker 2 (127.0.0.1:40123) was down from 1.5 s to 9.0 s"
        )),
        "{md}"
    );
    assert!(
        md.lines()
            .any(|l| l.starts_with("| 5 | all | true |") && l.contains("**qualified**")),
        "{md}"
    );
    // 6 judged of the 7 measured; the flagged cell no longer leads.
    assert!(
        md.contains(&format!(
            "Under `{}` (7 measured, 1 machine-bound or qualified and left out, 5 exposed to faults)",
            common::FAULTS
        )),
        "{md}"
    );
    assert!(
        !md.contains("no violation observed is **in-flight 5, acks=all, idempotent**"),
        "{md}"
    );
}

/// A setting is named the fastest only when its interval separates from
/// the runner-up's; otherwise the report names the tie. A machine-bound
/// cell is shown but never ranked.
#[test]
fn ties_are_named_and_machine_bound_cells_are_not_ranked() {
    let mut r = fixture();
    // Under `none`: in-flight 10, acks=1, not idempotent leads at 157,200
    // (CI 152,484–160,344); bring the runner-up's interval up to it.
    let runner_up = "rtt=20ms,inflight=10,acks=all,idem=false,faults=none";
    let cell = r
        .cells
        .iter_mut()
        .find(|c| c.id == runner_up)
        .expect("cell");
    let Outcome::Measured(m) = &mut cell.outcome else {
        panic!()
    };
    m.throughput.records_per_sec_ci_high = 155_000.0;
    let (_d, out) = rendered(&r);
    let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(
        md.contains("Fastest: a tie, 2 settings whose 95% intervals overlap the fastest's: in-flight 10, acks=1, not idempotent (157,200 records/s"),
        "{md}"
    );

    // The leader without a round trip: machine-bound, shown, not ranked.
    let leader = "rtt=20ms,inflight=10,acks=1,idem=false,faults=none";
    let cell = r.cells.iter_mut().find(|c| c.id == leader).expect("cell");
    cell.network.rtt_us = 0;
    cell.network.replication_rtt_us = 0;
    let (_d, out) = rendered(&r);
    let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(
        md.contains("Under `none · RTT 0ms` (1 measured, 1 machine-bound or qualified and left out): no cell gives a figure to rank"),
        "{md}"
    );
    assert!(
        md.lines()
            .any(|l| l.starts_with("| 10 | 1 | false | `none · RTT 0ms`")
                && l.contains("machine-bound")),
        "{md}"
    );
    // Under `none · RTT 20ms` the runner-ups now lead, as a tie.
    assert!(
        md.contains("Fastest: a tie, 2 settings whose 95% intervals overlap the fastest's: in-flight 5, acks=1, not idempotent"),
        "{md}"
    );
}

/// `## What to set, from this run`, from the fixture: the idempotent
/// evidence in fault events, the cost ratio where the intervals separate,
/// "cannot tell" where they overlap, and a violation named as one.
#[test]
fn the_decision_section_answers_from_the_cells() {
    let section = |r: &Results| {
        let (_d, out) = rendered(r);
        let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
        let start = md.find("## What to set, from this run").expect("section");
        let end = md[start + 3..]
            .find("\n## ")
            .map_or(md.len(), |e| e + start + 3);
        md[start..end].to_string()
    };
    let s = section(&fixture());
    assert!(
        s.contains("### librdkafka 2.10.0 · RTT 20ms (replication RTT 20ms)"),
        "{s}"
    );
    // 19 lose-ack + 21 reject events, none violated: 3/40 = 7.5%, the exact
    // one-sided 95% bound 1 - 0.05^(1/40) = 7.2%.
    assert!(
        s.contains(&format!(
            "in-flight 5, acks=all, idempotent: `{}`: none in 40 events (< 7.2% per event).",
            common::FAULTS
        )),
        "{s}"
    );
    // 118,000 × 0.97 = 114,460 against acks=all in-flight 10 at 131,000.
    assert!(s.contains("(in-flight 5, acks=all, idempotent) against the fastest non-idempotent `acks=all` one (in-flight 10, acks=all, not idempotent): ×0.874 (114,460 vs 131,000 records/s)"), "{s}");
    assert!(
        s.contains("acks=1: in-flight 1 → 5: ×2.88 (141,600 vs 49,200 records/s)"),
        "{s}"
    );

    // Overlapping intervals: no ratio, "cannot tell".
    let mut r = fixture();
    let plain = "rtt=20ms,inflight=10,acks=all,idem=false,faults=none";
    let cell = r.cells.iter_mut().find(|c| c.id == plain).unwrap();
    let Outcome::Measured(m) = &mut cell.outcome else {
        panic!()
    };
    m.throughput.records_per_sec_ci_low = 100_000.0;
    let s = section(&r);
    assert!(
        s.contains(
            "no difference this run can tell (114,460 vs 131,000 records/s, intervals overlap)"
        ),
        "{s}"
    );
    assert!(!s.contains("×0.874"), "{s}");

    // A reorder in the idempotent cell under faults is named as a violation.
    let mut r = fixture();
    m_reorder(
        &mut r,
        &format!(
            "rtt=20ms,inflight=5,acks=all,idem=true,faults={}",
            "reject-1pct+lose-ack-1pct"
        ),
    );
    let s = section(&r);
    assert!(
        s.contains("**violated ordering** (1 reorders, 0 log duplicates, 0 losses)"),
        "{s}"
    );
}

/// `## The article's experiment` (a run in bursts): per cell what the fault
/// events did, each refusal once, and whether in-flight 5 or below kept
/// order, computed from the events.
#[test]
fn the_article_section_says_whether_five_or_below_kept_order() {
    use kafka_order_bench::verify::EventOutcome;
    let faults = "reject-1pct+lose-ack-1pct";
    let with_events = |plain_reordered: u64| {
        let mut r = fixture();
        r.run.workload.fixed.burst_records = 100;
        for (idem, reordered) in [(false, plain_reordered), (true, 0)] {
            let id = format!("rtt=20ms,inflight=5,acks=all,idem={idem},faults={faults}");
            let cell = r.cells.iter_mut().find(|c| c.id == id).unwrap();
            let Outcome::Measured(m) = &mut cell.outcome else {
                panic!()
            };
            m.verdict.event_outcomes = (0..20)
                .map(|i| EventOutcome {
                    id: i,
                    kind: "reject".into(),
                    records: 15,
                    reorders: if i < reordered { 15 } else { 0 },
                    ..EventOutcome::default()
                })
                .collect();
        }
        let (_d, out) = rendered(&r);
        std::fs::read_to_string(out.join("REPORT.md")).unwrap()
    };
    let md = with_events(16);
    assert!(md.contains("## The article's experiment"), "{md}");
    assert!(md.contains("bursts of 100 records"), "{md}");
    assert!(md.contains(&format!("- librdkafka · `{}` · in-flight 5, acks=all, not idempotent: 16 of 20 events reordered;", common::FAULTS)), "{md}");
    assert!(md.contains("- **librdkafka**: without idempotence, in-flight 5: 16 of 20 events reordered: in-flight 5 or below did not keep order when a request was refused. With idempotence, in-flight 5: none in 20 events (< 13.9% per event)."), "{md}");
    // Refused under both profiles, said once.
    let refusal = format!(
        "in-flight 10, acks=all, idempotent: refused by the client: \"{}\"",
        common::REJECT_IN_FLIGHT
    );
    assert_eq!(md.matches(&refusal).count(), 1, "{md}");

    let md = with_events(0);
    assert!(md.contains("in-flight 5: 0 of 20 events reordered: no reorder at in-flight 5 or below in these events."), "{md}");

    // Not a run in bursts: no such section.
    let (_d, out) = rendered(&fixture());
    let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(!md.contains("## The article's experiment"));
}
