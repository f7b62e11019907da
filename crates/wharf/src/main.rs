//! The `wharf` binary: one executable for every role (DESIGN.md, "One
//! binary, several roles"). It parses arguments, wires them to the library
//! crates and prints results; it holds no logic of its own.
//!
//! Invoked through a name ending in `runc` (the `wharf-runc` symlink), it is
//! the runc-compatible runtime CLI, so engines can use it as a drop-in.

mod log;
mod runtime_cli;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Wharf: a container platform.
#[derive(Debug, Parser)]
#[command(name = "wharf", version, about = "Wharf: a container platform")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The OCI runtime, with runc's command line.
    #[command(disable_help_flag = false)]
    Runtime(runtime_cli::RuntimeCli),
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let invoked_as = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if invoked_as.ends_with("runc") {
        return runtime_cli::main(runtime_cli::RuntimeCli::parse_from(args));
    }
    match Cli::parse_from(args).command {
        Command::Runtime(cli) => runtime_cli::main(cli),
    }
}
