//! The `wharf` binary: one executable for every role (DESIGN.md, "One
//! binary, several roles"). It parses arguments, wires them to the library
//! crates and prints results; it holds no logic of its own.
//!
//! Invoked through a name ending in `runc` (the `wharf-runc` symlink), it is
//! the runc-compatible runtime CLI, so engines can use it as a drop-in.

mod archive_cmd;
mod build_cmd;
mod cli;
mod client;
mod container_spec;
mod daemon_cmd;
mod format;
mod image_cmd;
mod local;
mod log;
mod run_cmd;
mod runc_args;
mod runtime_cli;
mod shim_cmd;

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use cli::{Cli, Command, ImageCommand};
use wharf_image::store::Store;

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
    if args.get(1).is_some_and(|a| a == "shim") {
        return shim_cmd::main();
    }
    if args.get(1).is_some_and(|a| a == "build-internal") {
        return build_cmd::internal_main();
    }
    if args.get(1).is_some_and(|a| a == "daemon") {
        return daemon_cmd::main(args[2..].to_vec());
    }
    // `--root DIR` first: the old local-store commands, kept until every
    // test that drives them runs against the daemon.
    if !args
        .get(1)
        .is_some_and(|a| a.to_string_lossy().starts_with("--root"))
    {
        return client::main(args);
    }
    let cli = Cli::parse_from(args);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    if let Command::Runtime { args } = cli.command {
        return Ok(match runtime_cli::main(args) {
            c if c == ExitCode::SUCCESS => 0,
            _ => 1,
        });
    }
    if matches!(cli.command, Command::Run(_) | Command::Build(_))
        || matches!(
            &cli.command,
            Command::Image {
                command: ImageCommand::Build(_)
            }
        )
    {
        // Processes that enter a container run from a copy of the binary
        // that cannot be written (CVE-2019-5736).
        wharf_sys::cloned_binary::reexec_from_sealed_copy()?;
    }
    let store = Store::open(&cli.root)?;
    let ok = |b: bool| if b { 0 } else { 1 };
    Ok(match cli.command {
        Command::Runtime { .. } => unreachable!("handled above"),
        Command::Build(a)
        | Command::Image {
            command: ImageCommand::Build(a),
        } => {
            build_cmd::build(&store, &a)?;
            0
        }
        Command::Run(a) => run_cmd::run(&store, &a)?.clamp(0, 255) as u8,
        Command::Ps { all: _, quiet } => {
            local_ps(&store, quiet)?;
            0
        }
        Command::Rm {
            force: _,
            containers,
        } => {
            let list = local::Containers::new(&store);
            let mut failed = false;
            for c in containers {
                match list.find(&c).and_then(|r| list.remove(&r.id)) {
                    Ok(()) => println!("{c}"),
                    Err(e) => {
                        eprintln!("Error response from daemon: {e:#}");
                        failed = true;
                    }
                }
            }
            ok(!failed)
        }
        Command::Images(a)
        | Command::Image {
            command: ImageCommand::Ls(a),
        } => {
            image_cmd::images(&store, &a)?;
            0
        }
        Command::Inspect { names }
        | Command::Image {
            command: ImageCommand::Inspect { names },
        } => ok(image_cmd::inspect(&store, &names)?),
        Command::Image {
            command: ImageCommand::Prune { all, force },
        } => {
            image_cmd::prune(&store, all, force)?;
            0
        }
        Command::Rmi(a)
        | Command::Image {
            command: ImageCommand::Rm(a),
        } => ok(image_cmd::rmi(&store, &a)?),
        Command::Tag { source, target }
        | Command::Image {
            command: ImageCommand::Tag { source, target },
        } => {
            image_cmd::tag(&store, &source, &target)?;
            0
        }
        Command::History(a)
        | Command::Image {
            command: ImageCommand::History(a),
        } => {
            image_cmd::history(&store, &a)?;
            0
        }
        Command::Load(a)
        | Command::Image {
            command: ImageCommand::Load(a),
        } => {
            archive_cmd::load(&store, &a)?;
            0
        }
        Command::Save(a)
        | Command::Image {
            command: ImageCommand::Save(a),
        } => {
            archive_cmd::save(&store, &a)?;
            0
        }
        Command::Import(a)
        | Command::Image {
            command: ImageCommand::Import(a),
        } => {
            archive_cmd::import(&store, &a)?;
            0
        }
        Command::Export { output, container } => {
            archive_cmd::export(&store, &container, output.as_deref())?;
            0
        }
        Command::Commit(a) => {
            archive_cmd::commit(&store, &a)?;
            0
        }
    })
}

/// `wharf ps -a`: the containers `wharf run` left (all stopped).
fn local_ps(store: &Store, quiet: bool) -> Result<()> {
    let list = local::Containers::new(store).list()?;
    let mut table = format::Table::new(&[
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ]);
    for r in list {
        if quiet {
            println!("{}", &r.id[..12]);
            continue;
        }
        let mut command = format!("\"{}\"", r.command.join(" "));
        if command.chars().count() > 22 {
            command = format!("{}…\"", command.chars().take(20).collect::<String>());
        }
        let status = match r.exit_code {
            Some(c) => format!("Exited ({c})"),
            None => "Created".to_string(),
        };
        table.row(vec![
            r.id[..12].to_string(),
            r.image_name.clone(),
            command,
            format::ago(Some(&r.created)),
            status,
            String::new(),
            r.name.clone(),
        ]);
    }
    if !quiet {
        print!("{}", table.render());
    }
    Ok(())
}
