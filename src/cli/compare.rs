//! `kafka-order-bench compare`: a new run against a baseline, with an exit
//! status a CI pipeline can gate on.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use kafka_order_bench::compare::{self, pairs, CompareOptions, Comparison};
use kafka_order_bench::results::Results;

/// Exit status when nothing regressed.
const EXIT_OK: u8 = 0;
/// Exit status when any cell regressed.
const EXIT_REGRESSED: u8 = 1;
/// Exit status for bad input or runs that cannot be compared (also what
/// `main` returns for any error).
const EXIT_BAD_INPUT: u8 = 2;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 when nothing regressed, 1 when any cell regressed \
(throughput, client CPU per record, a new anomaly kind, or a cell that changed between measured and \
rejected), 2 on bad input or runs that are not comparable. With --pair, 1 when a throughput or \
client CPU change regressed in every pair or any pair has an ordering or status regression."
)]
pub struct CompareArgs {
    /// Results file of the baseline run, e.g. reports/<run-id>/results.json.
    #[arg(
        value_name = "BASE.json",
        required_unless_present = "pair",
        conflicts_with = "pair"
    )]
    pub base: Option<PathBuf>,
    /// Results file of the new run.
    #[arg(value_name = "NEW.json", required_unless_present = "pair")]
    pub new: Option<PathBuf>,
    /// One pair of runs (baseline, new) of several, e.g. an old and a new client run in ABBA
    /// order: each pair is compared into DIR/pair-<k>/, and pairs.md and pairs.json in DIR
    /// combine them. Repeat for each pair.
    #[arg(long, num_args = 2, value_names = ["BASE.json", "NEW.json"], action = clap::ArgAction::Append)]
    pub pair: Vec<PathBuf>,
    /// Directory for compare.md, compare.svg and compare.json [default: the current directory].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Relative change treated as noise: 0.05 or 5% for ±5%.
    #[arg(long, default_value = "0.05", value_parser = parse_noise)]
    pub noise: f64,
}

fn parse_noise(s: &str) -> Result<f64, String> {
    let (num, scale) = match s.trim().strip_suffix('%') {
        Some(p) => (p, 100.0),
        None => (s.trim(), 1.0),
    };
    let v: f64 = num.trim().parse().map_err(|_| {
        format!("expected a fraction such as 0.05 or a percentage such as 5%, got {s:?}")
    })?;
    let v = v / scale;
    if !(0.0..1.0).contains(&v) {
        return Err(format!(
            "noise must be at least 0 and below 1 (100%), got {s:?} (hint: 5% is 0.05)"
        ));
    }
    Ok(v)
}

pub fn run(a: CompareArgs) -> anyhow::Result<ExitCode> {
    let opts = CompareOptions {
        noise: a.noise,
        ..CompareOptions::default()
    };
    // Never into an input's directory (it may be a committed report).
    let out = a.out.unwrap_or_else(|| PathBuf::from("."));
    match (a.base, a.new) {
        (Some(base), Some(new)) => compare_two(&base, &new, &opts, &out),
        _ => compare_pairs(&a.pair, &opts, &out),
    }
}

fn not_comparable(c: &Comparison) -> String {
    let what: Vec<String> = c
        .differences
        .iter()
        .map(|d| format!("{} ({} vs {})", d.field, d.base, d.new))
        .collect();
    format!("the runs are not comparable: {} differ", what.join(", "))
}

fn compare_pairs(files: &[PathBuf], opts: &CompareOptions, out: &Path) -> anyhow::Result<ExitCode> {
    let mut comparisons = Vec::new();
    for pair in files.chunks(2) {
        let base = Results::load(&pair[0])?;
        let new = Results::load(&pair[1])?;
        comparisons.push(compare::compare(&base, &new, opts));
    }
    let combined = pairs::combine(comparisons);
    let (md, json) = compare::write_pairs(&combined, out)
        .with_context(|| format!("writing the comparisons into {}", out.display()))?;
    for (k, c) in combined.pairs.iter().enumerate() {
        if !c.comparable() {
            eprintln!("Error: pair {}: {}", k + 1, not_comparable(c));
        }
    }
    let code = if !combined.comparable() {
        EXIT_BAD_INPUT
    } else {
        println!(
            "{} pairs, {} cells: {} with an ordering or status regression; throughput {} / client CPU {} regressed in every pair, {} / {} inconsistent",
            combined.pairs.len(),
            combined.cells.len(),
            combined.ordering_regressions,
            combined.throughput.regressed,
            combined.client_cpu.regressed,
            combined.throughput.inconsistent,
            combined.client_cpu.inconsistent
        );
        if combined.regressed() {
            EXIT_REGRESSED
        } else {
            EXIT_OK
        }
    };
    println!(
        "Result: {}; wrote {}, {} and pair-*/",
        match code {
            EXIT_OK => "no regression",
            EXIT_REGRESSED => "REGRESSED",
            _ => "not comparable",
        },
        md.display(),
        json.display()
    );
    Ok(ExitCode::from(code))
}

fn compare_two(
    base: &Path,
    new: &Path,
    opts: &CompareOptions,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let base = Results::load(base)?;
    let new = Results::load(new)?;
    let c = compare::compare(&base, &new, opts);
    let written = compare::write(&c, out)
        .with_context(|| format!("writing the comparison into {}", out.display()))?;

    println!(
        "librdkafka {} ({}) → {} ({})",
        c.base.librdkafka_version, c.base.run_id, c.new.librdkafka_version, c.new.run_id
    );
    for note in &c.notes {
        println!("note: {note}");
    }
    let code = if !c.comparable() {
        eprintln!("Error: {}", not_comparable(&c));
        EXIT_BAD_INPUT
    } else {
        let s = &c.summary;
        println!(
            "{} cells compared: {} (noise ±{:.1}%)",
            s.cells_compared,
            kafka_order_bench::compare::markdown::verdict_counts(&s.cells),
            c.options.noise * 100.0
        );
        for (id, r) in c.worst_regressions(5) {
            println!("  regressed {id}: {}", r.describe());
        }
        if !c.only_in_base.is_empty() || !c.only_in_new.is_empty() {
            println!(
                "{} cells only in the baseline, {} only in the new run",
                c.only_in_base.len(),
                c.only_in_new.len()
            );
        }
        if c.regressed() {
            EXIT_REGRESSED
        } else {
            EXIT_OK
        }
    };
    println!(
        "wrote {}, {}, {}",
        written.markdown.display(),
        written.svg.display(),
        written.json.display()
    );
    Ok(ExitCode::from(code))
}

#[cfg(test)]
mod tests {
    use super::parse_noise;

    #[test]
    fn noise_takes_fractions_and_percentages() {
        assert_eq!(parse_noise("0.05"), Ok(0.05));
        assert_eq!(parse_noise("5%"), Ok(0.05));
        assert_eq!(parse_noise("0"), Ok(0.0));
        assert!(parse_noise("5").unwrap_err().contains("hint: 5% is 0.05"));
        assert!(parse_noise("-1%").is_err());
        assert!(parse_noise("abc").unwrap_err().contains("got \"abc\""));
    }
}
