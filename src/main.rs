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
            eprintln!("Error: {}", redact::redact(&error_chain(&e), &properties));
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

/// `{:#}` of an anyhow error, each cause printed once: a cause whose text
/// the message already holds (an OS error a typed error also shows in its
/// own message) is not repeated.
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[test]
    fn each_cause_is_printed_once() {
        let io = std::io::Error::from_raw_os_error(2);
        let typed = anyhow::anyhow!("cannot read x.json: {io}");
        let e = anyhow::Error::from(io).context(typed.to_string());
        let s = error_chain(&e);
        assert_eq!(s.matches("os error 2").count(), 1, "{s}");
        let e = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_chain(&e), "outer: inner");
    }
}
