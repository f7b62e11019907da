//! The `wharf` binary: one executable for every role (DESIGN.md, "One
//! binary, several roles"). It parses arguments, wires them to the library
//! crates and prints results; it holds no logic of its own.
//!
//! Invoked through a name ending in `runc` (the `wharf-runc` symlink), it is
//! the runc-compatible runtime CLI, so engines can use it as a drop-in.

mod log;
mod runc_args;
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
    /// The OCI runtime, with runc's command line (`wharf runtime --help`).
    Runtime {
        /// runc's global flags, command and arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let invoked_as = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The runtime path skips clap: it is on every container's hot path.
    if invoked_as.ends_with("runc") {
        return runtime_cli::main(args[1..].to_vec());
    }
    if args.get(1).is_some_and(|a| a == "runtime") {
        return runtime_cli::main(args[2..].to_vec());
    }
    match Cli::parse_from(args).command {
        Command::Runtime { args } => runtime_cli::main(args),
    }
}
