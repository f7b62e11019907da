//! The `wharf` binary: one executable for every role (DESIGN.md, "One
//! binary, several roles"). It parses arguments, wires them to the library
//! crates and prints results; it holds no logic of its own.
//!
//! Invoked through a name ending in `runc` (the `wharf-runc` symlink), it is
//! the runc-compatible runtime CLI, so engines can use it as a drop-in.
//! `wharf daemon` is the engine, `wharf shim` and `wharf build-internal`
//! are its helper processes; every other command is the docker-style
//! client, which talks to the daemon over the Docker Engine API only.

mod build_cmd;
mod client;
mod container_spec;
mod daemon_cmd;
mod daemon_net;
mod init_cmd;
mod log;
mod runc_args;
mod runtime_cli;
mod shim_cmd;
mod step_runner;

use std::ffi::OsString;
use std::process::ExitCode;

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
    // `--init`: bind-mounted into containers as /sbin/docker-init.
    if invoked_as == "docker-init" {
        return init_cmd::main(args[1..].to_vec());
    }
    if args.get(1).is_some_and(|a| a == "runtime") {
        return runtime_cli::main(args[2..].to_vec());
    }
    if args.get(1).is_some_and(|a| a == "shim") {
        return shim_cmd::main();
    }
    if args.get(1).is_some_and(|a| a == "build-internal") {
        return build_cmd::internal_main();
    }
    if args.get(1).is_some_and(|a| a == "daemon") {
        return daemon_cmd::main(args[2..].to_vec());
    }
    // Everything else is the docker-style client of `wharf daemon`.
    client::main(args)
}
