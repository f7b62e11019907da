//! `wharf runtime …` and `wharf-runc …`: runc's command line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use wharf_runtime::exec::ExecOptions;
use wharf_runtime::{CreateOptions, Runtime};

use crate::log;

/// The OCI runtime (runc-compatible command line).
#[derive(Debug, Parser)]
#[command(
    name = "wharf-runc",
    version,
    about = "Wharf's OCI runtime (runc-compatible)"
)]
pub struct RuntimeCli {
    /// Root directory for storage of container state.
    #[arg(long, global = true, default_value = Runtime::DEFAULT_ROOT)]
    root: PathBuf,
    /// Write the runtime's log to this file.
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    /// Log format.
    #[arg(long = "log-format", global = true, value_enum, default_value_t)]
    log_format: log::Format,
    /// Log debug output.
    #[arg(long, global = true)]
    debug: bool,
    /// Manage cgroups through systemd.
    #[arg(long = "systemd-cgroup", global = true)]
    systemd_cgroup: bool,
    /// Accepted for compatibility with runc (rootless mode is detected).
    #[arg(long = "rootless", id = "global_rootless")]
    rootless: Option<String>,
    /// Accepted for compatibility with runc (checkpointing is not supported).
    #[arg(long, hide = true)]
    criu: Option<String>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Args, Clone)]
struct CreateArgs {
    /// Path to the bundle directory.
    #[arg(short, long, default_value = ".")]
    bundle: PathBuf,
    /// Unix socket that receives the pty master when process.terminal is set.
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// File to write the container's init pid to.
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Use MS_MOVE and chroot instead of pivot_root.
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    /// Do not create a new session keyring for the container.
    #[arg(long = "no-new-keyring")]
    no_new_keyring: bool,
    /// Pass N more file descriptors (from 3) to the container.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    /// Container id.
    id: String,
}

impl CreateArgs {
    fn options(&self) -> CreateOptions {
        CreateOptions {
            bundle: self.bundle.clone(),
            console_socket: self.console_socket.clone(),
            pid_file: self.pid_file.clone(),
            preserve_fds: self.preserve_fds,
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Create a container; its process waits for `start`.
    Create(CreateArgs),
    /// Start the user process of a created container.
    Start {
        /// Container id.
        id: String,
    },
    /// Create and start a container (and wait for it unless --detach).
    Run {
        #[command(flatten)]
        create: CreateArgs,
        /// Do not wait for the container.
        #[arg(short, long)]
        detach: bool,
        /// Keep the container's state after it exits.
        #[arg(long)]
        keep: bool,
    },
    /// Print the state of a container as JSON.
    State {
        /// Container id.
        id: String,
    },
    /// Send a signal to a container's init (default SIGTERM).
    Kill {
        /// Send to every process of the container.
        #[arg(short, long)]
        all: bool,
        /// Container id.
        id: String,
        /// Signal name or number.
        #[arg(default_value = "SIGTERM")]
        signal: String,
    },
    /// Delete a container.
    Delete {
        /// Kill a running container first.
        #[arg(short, long)]
        force: bool,
        /// Container id.
        id: String,
    },
    /// List containers.
    List {
        /// table or json.
        #[arg(short, long, default_value = "table")]
        format: String,
        /// Print only ids.
        #[arg(short, long)]
        quiet: bool,
    },
    /// List the processes of a container.
    Ps {
        /// table or json.
        #[arg(short, long, default_value = "table")]
        format: String,
        /// Container id.
        id: String,
        /// Options for ps(1) (default -ef).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Run a new process in a container.
    Exec(ExecArgs),
    /// Freeze every process of a container.
    Pause {
        /// Container id.
        id: String,
    },
    /// Thaw a paused container.
    Resume {
        /// Container id.
        id: String,
    },
    /// Write a default config.json with secure defaults.
    Spec {
        /// Where to write config.json.
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
        /// A spec for a container run by an unprivileged user.
        #[arg(long)]
        rootless: bool,
    },
    /// Print what this runtime supports, as JSON.
    Features,
}

#[derive(Debug, Args)]
struct ExecArgs {
    /// Unix socket that receives the pty master.
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// Working directory in the container.
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// Environment variables (KEY=value).
    #[arg(short, long)]
    env: Vec<String>,
    /// Allocate a pty.
    #[arg(short, long)]
    tty: bool,
    /// uid[:gid].
    #[arg(short, long)]
    user: Option<String>,
    /// Additional gids.
    #[arg(short = 'g', long = "additional-gids")]
    additional_gids: Vec<u32>,
    /// A process.json to run instead of the arguments.
    #[arg(short, long)]
    process: Option<PathBuf>,
    /// Do not wait for the process.
    #[arg(short, long)]
    detach: bool,
    /// File to write the process's pid to.
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Set no_new_privs for the process.
    #[arg(long = "no-new-privs")]
    no_new_privs: bool,
    /// Add a capability to the process.
    #[arg(short, long)]
    cap: Vec<String>,
    /// Pass N more file descriptors (from 3).
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    /// Run even in a paused container.
    #[arg(long = "ignore-paused")]
    ignore_paused: bool,
    /// Accepted for compatibility (SELinux is not supported).
    #[arg(long = "process-label", hide = true)]
    process_label: Option<String>,
    /// Accepted for compatibility (AppArmor is not supported).
    #[arg(long, hide = true)]
    apparmor: Option<String>,
    /// Container id.
    id: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// Runs the runtime CLI; errors become one line on stderr and exit 1.
pub fn main(cli: RuntimeCli) -> ExitCode {
    log::init(cli.log.clone(), cli.log_format, cli.debug);
    log::debug(&format!("{:?}", cli.command));
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            log::error(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: RuntimeCli) -> Result<u8> {
    if cli.systemd_cgroup {
        bail!("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system); use cgroupfs");
    }
    if matches!(cli.command, Cmd::Create(_) | Cmd::Run { .. } | Cmd::Exec(_)) {
        // Processes that enter a container run from a sealed copy of the
        // binary (CVE-2019-5736).
        wharf_sys::cloned_binary::reexec_from_sealed_copy()
            .context("failed to re-execute from a sealed copy of the runtime binary")?;
        let _ = rustix::thread::set_name(c"wharf");
    }
    let rt = Runtime::new(&cli.root);
    match cli.command {
        Cmd::Create(args) => {
            rt.create(&args.id, &args.options())?;
        }
        Cmd::Start { id } => rt.start(&id)?,
        Cmd::Run {
            create,
            detach,
            keep,
        } => {
            let code = rt.run(&create.id, &create.options(), detach, keep)?;
            return Ok(code.clamp(0, 255) as u8);
        }
        Cmd::State { id } => std::io::stdout().write_all(&rt.state(&id)?)?,
        Cmd::Kill { all, id, signal } => {
            let sig = wharf_runtime::lifecycle::parse_signal(&signal)?;
            rt.kill(&id, sig, all)?;
        }
        Cmd::Delete { force, id } => rt.delete(&id, force)?,
        Cmd::List { format, quiet } => list(&rt, &format, quiet)?,
        Cmd::Ps {
            format,
            id,
            ps_args,
        } => ps(&rt, &format, &id, &ps_args)?,
        Cmd::Exec(args) => return exec(&rt, args),
        Cmd::Pause { id } => rt.pause(&id)?,
        Cmd::Resume { id } => rt.resume(&id)?,
        Cmd::Spec { bundle, rootless } => {
            let path = bundle.join("config.json");
            if path.exists() {
                bail!("{} already exists: remove it first", path.display());
            }
            let spec = wharf_runtime::spec::default_spec(rootless);
            let mut text = serde_json::to_string_pretty(&spec)?;
            text.push('\n');
            std::fs::write(&path, text)
                .with_context(|| format!("failed to write {}", path.display()))?;
        }
        Cmd::Features => {
            let mut out = serde_json::to_string_pretty(&wharf_runtime::features::features())?;
            out.push('\n');
            std::io::stdout().write_all(out.as_bytes())?;
        }
    }
    Ok(0)
}

fn list(rt: &Runtime, format: &str, quiet: bool) -> Result<()> {
    let containers = rt.list()?;
    let mut out = std::io::stdout().lock();
    if quiet {
        for c in &containers {
            writeln!(out, "{}", c.state.id)?;
        }
        return Ok(());
    }
    match format {
        "json" => {
            let docs: Vec<_> = containers.iter().map(|c| c.state.oci(c.status)).collect();
            writeln!(out, "{}", serde_json::to_string(&docs)?)?;
        }
        "table" => {
            writeln!(
                out,
                "{:<12} {:<10} {:<10} {:<40} {:<31} OWNER",
                "ID", "PID", "STATUS", "BUNDLE", "CREATED"
            )?;
            for c in &containers {
                let doc = c.state.oci(c.status);
                writeln!(
                    out,
                    "{:<12} {:<10} {:<10} {:<40} {:<31} root",
                    doc.id,
                    doc.pid,
                    doc.status.to_string(),
                    doc.bundle.display(),
                    doc.created
                )?;
            }
        }
        other => bail!("invalid format {other:?}: use table or json"),
    }
    Ok(())
}

fn ps(rt: &Runtime, format: &str, id: &str, ps_args: &[String]) -> Result<()> {
    let pids = rt.pids(id)?;
    match format {
        "json" => println!("{}", serde_json::to_string(&pids)?),
        "table" => {
            let args: Vec<String> = if ps_args.is_empty() {
                vec!["-ef".into()]
            } else {
                ps_args.to_vec()
            };
            let output = std::process::Command::new("ps")
                .args(&args)
                .output()
                .context("failed to run ps")?;
            if !output.status.success() {
                bail!(
                    "ps {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&output.stderr).trim()
                );
            }
            let text = String::from_utf8_lossy(&output.stdout);
            let mut lines = text.lines();
            let header = lines.next().unwrap_or_default();
            let pid_col = header
                .split_whitespace()
                .position(|h| h == "PID")
                .context("ps output has no PID column")?;
            println!("{header}");
            for line in lines {
                let pid = line
                    .split_whitespace()
                    .nth(pid_col)
                    .and_then(|p| p.parse::<i32>().ok());
                if pid.is_some_and(|p| pids.contains(&p)) {
                    println!("{line}");
                }
            }
        }
        other => bail!("invalid format {other:?}: use table or json"),
    }
    Ok(())
}

fn exec(rt: &Runtime, args: ExecArgs) -> Result<u8> {
    let opts = ExecOptions {
        process_json: args.process,
        args: args.command,
        cwd: args.cwd,
        env: args.env,
        tty: args.tty,
        user: args.user,
        additional_gids: args.additional_gids,
        caps: args.cap,
        no_new_privs: args.no_new_privs,
        console_socket: args.console_socket,
        pid_file: args.pid_file,
        detach: args.detach,
        preserve_fds: args.preserve_fds,
        ignore_paused: args.ignore_paused,
    };
    let code = rt.exec(&args.id, &opts)?;
    Ok(code.clamp(0, 255) as u8)
}
