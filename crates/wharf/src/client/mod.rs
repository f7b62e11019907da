//! The docker-style client: every command is a call (or a few) to the
//! daemon's Docker Engine API, printed as docker CLI 28 prints it.
//! [`main`] parses the arguments, connects and dispatches; errors become
//! docker's messages and exit codes (125 for the CLI's own and the
//! daemon's errors in `run`/`create`, 1 elsewhere).

mod args;
mod build;
mod conn;
mod containers;
mod cp;
mod endpoints;
mod exec;
pub(crate) mod format;
mod images;
mod json;
mod net_args;
mod net_ipam;
mod networks;
mod ps;
mod publish;
mod render;
mod run;
mod run_args;
mod stats;
mod stream;
mod system;
mod template;
mod template_funcs;
mod volumes;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

pub use args::DockerCli;
use args::{Cmd, ContainerCmd, ContainerOp, ImageCmd, ImageOp, SystemCmd, VolumeCmd};
use conn::Client;

/// An exit with a status code and, maybe, a message for stderr.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Exit {
    /// The process exit code.
    pub code: u8,
    /// What to print (nothing when empty).
    pub message: String,
}

/// Exits with `code`, printing nothing more.
pub fn exit(code: u8) -> anyhow::Error {
    Exit {
        code,
        message: String::new(),
    }
    .into()
}

/// Runs the client with the process's arguments.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let cli = match DockerCli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => return ExitCode::from(clap_error(e, &args)),
    };
    if cli.version {
        println!("Wharf version {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let Some(command) = cli.command else {
        use clap::CommandFactory;
        let _ = DockerCli::command().print_help();
        return ExitCode::SUCCESS;
    };
    let name = command_name(&command);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("failed to start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let host = conn::host_from(cli.host.as_deref());
    let result = runtime.block_on(async move {
        let client = Client::connect(&host).await?;
        dispatch(&client, command).await
    });
    // Streams still open (stdin readers) must not keep us alive.
    runtime.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let run_like = name == "run";
            if let Some(exit) = e.downcast_ref::<Exit>() {
                if !exit.message.is_empty() {
                    eprintln!("{}", exit.message);
                }
                return ExitCode::from(exit.code);
            }
            if run_like {
                eprintln!("wharf: {e:#}\n\nRun 'wharf {name} --help' for more information");
                ExitCode::from(125)
            } else {
                eprintln!("{e:#}");
                ExitCode::from(1)
            }
        }
    }
}

/// docker's wording for flag errors; exit 125 (0 for help).
fn clap_error(e: clap::Error, args: &[OsString]) -> u8 {
    use clap::error::{ContextKind, ErrorKind};
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return 0;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return 0;
        }
        _ => {}
    }
    // The command words, after the global flags (`-H host`, `-D`, `-l level`).
    let mut words = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned());
    let mut cmd: Vec<String> = Vec::new();
    while let Some(w) = words.next() {
        match w.as_str() {
            "-H" | "--host" | "-l" | "--log-level" => {
                words.next();
            }
            w if w.starts_with('-') && cmd.is_empty() => {}
            w if w.starts_with('-') => break,
            _ => cmd.push(w),
        }
        if cmd.len() == 2 {
            break;
        }
    }
    let cmd = match cmd.first().map(String::as_str) {
        Some("container" | "image" | "volume" | "system" | "network") => cmd.join(" "),
        _ => cmd.first().cloned().unwrap_or_default(),
    };
    let usage = USAGE
        .iter()
        .find(|(c, _)| *c == cmd)
        .map(|(_, u)| format!("\n\nUsage:  wharf {u}\n"))
        .unwrap_or_default();
    let invalid = e
        .get(ContextKind::InvalidArg)
        .map(|v| v.to_string())
        .unwrap_or_default();
    let msg = match e.kind() {
        ErrorKind::UnknownArgument => {
            let flag = invalid.split('=').next().unwrap_or_default().to_string();
            match flag.strip_prefix("--") {
                Some(_) => format!("unknown flag: {flag}"),
                None => format!(
                    "unknown shorthand flag: '{}' in {flag}",
                    flag.trim_start_matches('-').chars().next().unwrap_or('?')
                ),
            }
        }
        ErrorKind::MissingRequiredArgument | ErrorKind::TooFewValues => {
            eprintln!(
                "wharf: 'wharf {cmd}' requires at least 1 argument{usage}\nSee 'wharf {cmd} --help' for more information"
            );
            return 1;
        }
        ErrorKind::InvalidSubcommand => {
            // A management command's unknown subcommand names its usage
            // (docker's `volume` alone says `COMMAND`).
            let hint = match cmd.split_once(' ') {
                Some(("volume", _)) => {
                    "Usage:  wharf volume COMMAND\n\nRun 'wharf volume --help'".into()
                }
                Some((group, _)) => format!("Usage:  wharf {group}\n\nRun 'wharf {group} --help'"),
                None => "Run 'wharf --help'".into(),
            };
            eprintln!("wharf: unknown command: wharf {cmd}\n\n{hint} for more information");
            return 1;
        }
        // pflag's words for a value its parser refused.
        ErrorKind::ValueValidation => {
            let flag = invalid.split(' ').next().unwrap_or_default();
            let value = e
                .get(ContextKind::InvalidValue)
                .map(|v| v.to_string())
                .unwrap_or_default();
            let why = std::error::Error::source(&e)
                .map(|s| s.to_string())
                .unwrap_or_default();
            format!("invalid argument {value:?} for {flag:?} flag: {why}")
        }
        _ => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            first.trim_start_matches("error: ").to_string()
        }
    };
    eprintln!("{msg}{usage}\nRun 'wharf {cmd} --help' for more information");
    125
}

/// docker's usage line of each command.
const USAGE: &[(&str, &str)] = &[
    ("run", "run [OPTIONS] IMAGE [COMMAND] [ARG...]"),
    ("create", "create [OPTIONS] IMAGE [COMMAND] [ARG...]"),
    ("start", "start [OPTIONS] CONTAINER [CONTAINER...]"),
    ("ps", "ps [OPTIONS]"),
    ("exec", "exec [OPTIONS] CONTAINER COMMAND [ARG...]"),
    ("logs", "logs [OPTIONS] CONTAINER"),
    ("stop", "stop [OPTIONS] CONTAINER [CONTAINER...]"),
    ("restart", "restart [OPTIONS] CONTAINER [CONTAINER...]"),
    ("kill", "kill [OPTIONS] CONTAINER [CONTAINER...]"),
    ("rm", "rm [OPTIONS] CONTAINER [CONTAINER...]"),
    ("pause", "pause CONTAINER [CONTAINER...]"),
    ("unpause", "unpause CONTAINER [CONTAINER...]"),
    ("inspect", "inspect [OPTIONS] NAME|ID [NAME|ID...]"),
    ("cp", "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-"),
    ("top", "top CONTAINER [ps OPTIONS]"),
    ("stats", "stats [OPTIONS] [CONTAINER...]"),
    ("port", "port CONTAINER [PRIVATE_PORT[/PROTO]]"),
    ("rename", "rename CONTAINER NEW_NAME"),
    ("wait", "wait CONTAINER [CONTAINER...]"),
    ("attach", "attach [OPTIONS] CONTAINER"),
    ("events", "events [OPTIONS]"),
    ("images", "images [OPTIONS] [REPOSITORY[:TAG]]"),
    ("commit", "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]"),
    ("save", "save [OPTIONS] IMAGE [IMAGE...]"),
    ("load", "load [OPTIONS]"),
    ("import", "import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]"),
    ("export", "export [OPTIONS] CONTAINER"),
    ("tag", "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]"),
    ("rmi", "rmi [OPTIONS] IMAGE [IMAGE...]"),
    ("history", "history [OPTIONS] IMAGE"),
    ("version", "version [OPTIONS]"),
    ("info", "info [OPTIONS]"),
    ("volume create", "volume create [OPTIONS] [VOLUME]"),
    ("volume ls", "volume ls [OPTIONS]"),
    (
        "volume inspect",
        "volume inspect [OPTIONS] VOLUME [VOLUME...]",
    ),
    ("volume rm", "volume rm [OPTIONS] VOLUME [VOLUME...]"),
    ("volume prune", "volume prune [OPTIONS]"),
    ("image ls", "image ls [OPTIONS] [REPOSITORY[:TAG]]"),
    ("image rm", "image rm [OPTIONS] IMAGE [IMAGE...]"),
    ("image prune", "image prune [OPTIONS]"),
    ("image inspect", "image inspect [OPTIONS] IMAGE [IMAGE...]"),
    ("image history", "image history [OPTIONS] IMAGE"),
    (
        "image tag",
        "image tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
    ),
    ("image save", "image save [OPTIONS] IMAGE [IMAGE...]"),
    ("image load", "image load [OPTIONS]"),
    (
        "image import",
        "image import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
    ),
    ("network create", "network create [OPTIONS] NETWORK"),
    ("network ls", "network ls [OPTIONS]"),
    (
        "network inspect",
        "network inspect [OPTIONS] NETWORK [NETWORK...]",
    ),
    ("network rm", "network rm NETWORK [NETWORK...]"),
    (
        "network connect",
        "network connect [OPTIONS] NETWORK CONTAINER",
    ),
    (
        "network disconnect",
        "network disconnect [OPTIONS] NETWORK CONTAINER",
    ),
    ("network prune", "network prune [OPTIONS]"),
    ("system df", "system df [OPTIONS]"),
    ("system prune", "system prune [OPTIONS]"),
    ("system info", "system info [OPTIONS]"),
    ("system events", "system events [OPTIONS]"),
    ("container ls", "container ls [OPTIONS]"),
    ("container prune", "container prune [OPTIONS]"),
    ("build", "build [OPTIONS] PATH | URL | -"),
    ("image build", "image build [OPTIONS] PATH | URL | -"),
];

fn command_name(c: &Cmd) -> &'static str {
    let op = match c {
        Cmd::Op(op)
        | Cmd::Container {
            command: ContainerCmd::Op(op),
        } => op,
        _ => return "",
    };
    match op {
        ContainerOp::Run(_) => "run",
        ContainerOp::Create(_) => "create",
        _ => "",
    }
}

async fn dispatch(c: &Client, cmd: Cmd) -> anyhow::Result<u8> {
    match cmd {
        Cmd::Op(op) => container_op(c, op).await,
        Cmd::Ps(a) => ps::ps(c, a).await,
        Cmd::Inspect(a) => containers::inspect(c, a, None).await,
        Cmd::Events(a) => system::events(c, a).await,
        Cmd::Container { command } => match command {
            ContainerCmd::Op(op) => container_op(c, op).await,
            ContainerCmd::Ls(a) => ps::ps(c, a).await,
            ContainerCmd::Inspect(a) => containers::inspect(c, a, Some("container")).await,
            ContainerCmd::Prune(a) => containers::prune(c, a).await,
        },
        Cmd::System { command } => match command {
            SystemCmd::Df(a) => system::df(c, a).await,
            SystemCmd::Prune(a) => system::prune(c, a).await,
            SystemCmd::Info(a) => system::info(c, a).await,
            SystemCmd::Events(a) => system::events(c, a).await,
        },
        Cmd::Volume { command } => match command {
            VolumeCmd::Create(a) => volumes::create(c, a).await,
            VolumeCmd::Ls(a) => volumes::ls(c, a).await,
            VolumeCmd::Inspect(a) => volumes::inspect(c, a).await,
            VolumeCmd::Rm(a) => volumes::rm(c, a).await,
            VolumeCmd::Prune(a) => volumes::prune(c, a).await,
        },
        Cmd::Network { command } => networks::network(c, command).await,
        Cmd::Image { command } => match command {
            ImageCmd::Op(op) => image_op(c, op).await,
            ImageCmd::Ls(a) => images::images(c, a).await,
            ImageCmd::Rm(a) => images::rmi(c, a).await,
            ImageCmd::Prune(a) => images::prune(c, a).await,
            ImageCmd::Inspect(a) => {
                let a = args::InspectArgs {
                    format: a.format,
                    size: false,
                    kind: Some("image".into()),
                    names: a.names,
                };
                containers::inspect(c, a, Some("image")).await
            }
        },
        Cmd::ImageOp(op) => image_op(c, op).await,
        Cmd::Images(a) => images::images(c, a).await,
        Cmd::Rmi(a) => images::rmi(c, a).await,
        Cmd::Version(a) => system::version(c, a).await,
        Cmd::Info(a) => system::info(c, a).await,
    }
}

/// A command of both `wharf X` and `wharf container X`.
async fn container_op(c: &Client, op: ContainerOp) -> anyhow::Result<u8> {
    match op {
        ContainerOp::Run(a) => run::run(c, a).await,
        ContainerOp::Create(a) => run::create(c, a).await,
        ContainerOp::Start(a) => run::start(c, a).await,
        ContainerOp::Exec(a) => exec::exec(c, a).await,
        ContainerOp::Logs(a) => containers::logs(c, a).await,
        ContainerOp::Stop(a) => containers::stop(c, a, false).await,
        ContainerOp::Restart(a) => containers::stop(c, a, true).await,
        ContainerOp::Kill(a) => containers::kill(c, a).await,
        ContainerOp::Rm(a) => containers::rm(c, a).await,
        ContainerOp::Pause(a) => containers::pause(c, a, true).await,
        ContainerOp::Unpause(a) => containers::pause(c, a, false).await,
        ContainerOp::Cp(a) => cp::cp(c, a).await,
        ContainerOp::Top(a) => containers::top(c, a).await,
        ContainerOp::Stats(a) => stats::stats(c, a).await,
        ContainerOp::Port(a) => containers::port(c, a).await,
        ContainerOp::Rename(a) => containers::rename(c, a).await,
        ContainerOp::Wait(a) => containers::wait(c, a).await,
        ContainerOp::Attach(a) => run::attach(c, a).await,
        ContainerOp::Commit(a) => images::commit(c, a).await,
        ContainerOp::Export(a) => images::export(c, a).await,
    }
}

/// A command of both `wharf X` and `wharf image X`.
async fn image_op(c: &Client, op: ImageOp) -> anyhow::Result<u8> {
    match op {
        ImageOp::Build(a) => build::build(c, a).await,
        ImageOp::Save(a) => images::save(c, a).await,
        ImageOp::Load(a) => images::load(c, a).await,
        ImageOp::Import(a) => images::import(c, a).await,
        ImageOp::Tag(a) => images::tag(c, a).await,
        ImageOp::History(a) => images::history(c, a).await,
    }
}
