//! The `kafka-order-bench` command line: a thin shell over the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;
use kafka_order_bench::{cluster, exit, interrupt, redact};

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    // Before anything can print a property: every message passes through it.
    let properties = args.properties();
    redact::register(&properties);
    // Only commands that poll for a stop request get the handler: the
    // others keep the default, which ends them at the first Ctrl-C.
    if args.stops_gracefully() {
        interrupt::install(quit_now);
    }
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!(
                "Error: {}",
                redact::redact(&kafka_order_bench::error::chain(e.as_ref()), &properties)
            );
            let code = match interrupt::requested() {
                Some(signal) => signal.exit_code(),
                None => exit::BAD_INPUT,
            };
            ExitCode::from(code as u8)
        }
    }
}

/// The second Ctrl-C or SIGTERM: no broker left behind, and the first
/// signal's exit status.
fn quit_now(first: interrupt::Signal) {
    let nodes = cluster::kill_all_local();
    eprintln!("{}", first.stopped_notice(nodes));
    std::process::exit(first.exit_code());
}
