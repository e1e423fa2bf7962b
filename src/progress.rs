//! What a long run shows while it works, for both front ends (the CLI's
//! `run` and `cargo bench`): a bar per phase on a terminal, plain lines that
//! name their unit otherwise.
//!
//! The suite announces each phase with the work it holds, counted from the
//! grid ([`Work`]): cells for opening and checking, records for the rounds
//! and the fixed-load phase. On a terminal (and not under `CI`) a bar shows
//! the phase, the cell running and the time left at the pace measured so far
//! (hyperfine's `progress_bar.rs`). Without a terminal, a line starts each
//! phase, another reports every tenth of it (at most one every
//! [`LINE_EVERY`]), and a line per finished cell says what it measured, so a
//! CI log shows a long run is alive and what it is doing.

use std::fmt;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::grid::Cell;
use crate::redact;
use crate::report::fmt::int;
use crate::results::{CellResult, Outcome};

/// What a phase's work is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Cells of the grid (opening, checking).
    Cells,
    /// Records to send (the rounds, the fixed-load phase).
    Records,
}

impl Unit {
    /// The plural noun: `cells`, `records`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Cells => "cells",
            Unit::Records => "records",
        }
    }
}

/// The work a phase holds: `amount` of `unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Work {
    pub amount: u64,
    pub unit: Unit,
}

impl Work {
    pub fn cells(amount: u64) -> Work {
        Work {
            amount,
            unit: Unit::Cells,
        }
    }
    pub fn records(amount: u64) -> Work {
        Work {
            amount,
            unit: Unit::Records,
        }
    }
}

impl fmt::Display for Work {
    /// `449,200 records`, `60 cells`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", int(self.amount), self.unit.as_str())
    }
}

/// Hears about a run's progress (the front ends draw a [`Bar`]; tests stay quiet).
pub trait Progress {
    /// A phase begins; `work` is what it holds, counted from the grid.
    fn phase(&mut self, _name: &str, _work: Work) {}
    /// A cell of the phase starts.
    fn working(&mut self, _cell: &Cell) {}
    /// `amount` more of the phase's work (in its [`Work`]'s unit) is done.
    fn advanced(&mut self, _amount: u64) {}
    /// A cell's result is final and saved.
    fn cell_finished(&mut self, _result: &CellResult) {}
    /// A line about the set-up: which cluster, one starting, one ready.
    fn notice(&mut self, _message: &str) {}
}

/// Progress that shows nothing.
pub struct Quiet;
impl Progress for Quiet {}

/// Plain progress lines come at most this often within a phase.
pub const LINE_EVERY: Duration = Duration::from_secs(15);

/// The progress of a run: a bar per phase on a terminal, lines otherwise.
pub struct Bar {
    bar: ProgressBar,
    visible: bool,
    cells: usize,
    finished: usize,
    phase: Option<Phase>,
}

/// The phase in progress, for the plain lines.
struct Phase {
    name: String,
    work: Work,
    done: u64,
    started: Instant,
    last_line: Instant,
    /// The next tenth of the phase that earns a line.
    next_tenth: u64,
}

impl Bar {
    /// Progress for a run of `cells` cells (corrected by the first phase
    /// counted in cells): a bar when stderr is a terminal and `CI` is unset.
    pub fn new(cells: usize) -> Bar {
        let visible = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Bar {
            bar: ProgressBar::hidden(),
            visible,
            cells,
            finished: 0,
            phase: None,
        }
    }

    fn plain_line(&mut self) {
        let Some(p) = &mut self.phase else { return };
        if p.work.amount == 0 || p.done >= p.work.amount {
            return;
        }
        let tenth = p.done * 10 / p.work.amount;
        if tenth < p.next_tenth || p.last_line.elapsed() < LINE_EVERY {
            return;
        }
        p.next_tenth = tenth + 1;
        p.last_line = Instant::now();
        eprintln!(
            "{}: {}% ({} of {}), {} left",
            p.name,
            p.done * 100 / p.work.amount,
            int(p.done),
            p.work,
            left(p.started.elapsed(), p.done, p.work.amount)
        );
    }
}

impl Progress for Bar {
    fn phase(&mut self, name: &str, work: Work) {
        self.bar.finish_and_clear();
        if work.unit == Unit::Cells {
            // Opening and checking hold the cells that passed the filter.
            self.cells = work.amount as usize;
        }
        self.phase = Some(Phase {
            name: name.to_string(),
            work,
            done: 0,
            started: Instant::now(),
            last_line: Instant::now(),
            next_tenth: 1,
        });
        if !self.visible {
            eprintln!("{name}: {work}…");
            return;
        }
        self.bar = ProgressBar::with_draw_target(Some(work.amount), ProgressDrawTarget::stderr());
        self.bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{prefix:>24}} [{{wide_bar}}] {{human_pos}}/{{human_len}} {} {{eta:>4}} left  {{msg}}",
                work.unit.as_str()
            ))
            .expect("valid template")
            .progress_chars("=> "),
        );
        self.bar.set_prefix(name.to_string());
    }

    fn working(&mut self, cell: &Cell) {
        self.bar.set_message(cell.id());
    }

    fn advanced(&mut self, amount: u64) {
        self.bar.inc(amount);
        if let Some(p) = &mut self.phase {
            p.done += amount;
        }
        if !self.visible {
            self.plain_line();
        }
    }

    fn cell_finished(&mut self, result: &CellResult) {
        self.finished += 1;
        let line = format!("[{}/{}] {}", self.finished, self.cells, summary(result));
        if self.visible {
            self.bar.suspend(|| eprintln!("{line}"));
        } else {
            eprintln!("{line}");
        }
    }

    fn notice(&mut self, message: &str) {
        self.bar.suspend(|| eprintln!("{message}"));
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// One line of what a finished cell measured.
pub fn summary(r: &CellResult) -> String {
    match &r.outcome {
        Outcome::Measured(m) => format!(
            "{}: {:.0} records/s ±{:.1}%, {} violations ({} reorders, {} log duplicates, {} losses), {} faults injected",
            r.id,
            m.throughput.records_per_sec,
            m.throughput.ci_half_width_pct,
            m.verdict.violations(),
            m.verdict.reorders.count,
            m.verdict.log_duplicates.count,
            m.verdict.losses.count,
            m.exposure.total_faults(),
        ),
        Outcome::Rejected { message } => {
            format!("{}: rejected by the client: {}", r.id, redact::scrub(message))
        }
        Outcome::Failed { message } => format!("{}: FAILED: {}", r.id, redact::scrub(message)),
    }
}

/// The time left at the pace so far: `2m10s`, `45s`, `?` before any work.
fn left(elapsed: Duration, done: u64, total: u64) -> String {
    if done == 0 {
        return "?".into();
    }
    let secs = elapsed.as_secs_f64() * (total.saturating_sub(done)) as f64 / done as f64;
    let secs = secs.round() as u64;
    if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_names_its_unit() {
        assert_eq!(Work::records(449_200).to_string(), "449,200 records");
        assert_eq!(Work::cells(60).to_string(), "60 cells");
        assert_eq!(Work::cells(0).to_string(), "0 cells");
    }

    #[test]
    fn time_left_at_the_pace_so_far() {
        assert_eq!(left(Duration::from_secs(10), 0, 100), "?");
        assert_eq!(left(Duration::from_secs(10), 25, 100), "30s");
        assert_eq!(left(Duration::from_secs(65), 50, 100), "1m05s");
    }
}
