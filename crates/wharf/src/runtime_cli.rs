//! `wharf runtime …` and `wharf-runc …`: runc's command line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use std::ffi::OsString;

use anyhow::{bail, Context, Result};
use wharf_runtime::exec::ExecOptions;
use wharf_runtime::{CreateOptions, Runtime};

use crate::log;
use crate::runc_args::{self, Args};

/// Runs the runtime CLI on `args` (without argv[0]); errors become one
/// line on stderr (and in the log file) and exit status 1.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let args = match runc_args::parse(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("wharf: {e}");
            return ExitCode::FAILURE;
        }
    };
    let format = match args.global.value("log-format").unwrap_or("text") {
        "text" => log::Format::Text,
        "json" => log::Format::Json,
        other => {
            eprintln!("wharf: --log-format: {other:?} is not text or json");
            return ExitCode::FAILURE;
        }
    };
    log::init(args.global.path("log"), format, args.global.on("debug"));
    log::debug(&format!(
        "{:?} {:?} {:?}",
        args.command, args.flags, args.positional
    ));
    match dispatch(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            log::error(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// The one container id a command takes.
fn id(args: &Args) -> Result<&str> {
    match args.positional.first() {
        Some(id) if !id.is_empty() => Ok(id),
        _ => bail!(
            "{}: a container id is required",
            args.command.as_deref().unwrap_or("")
        ),
    }
}

fn create_options(args: &Args) -> Result<CreateOptions> {
    let f = &args.flags;
    Ok(CreateOptions {
        bundle: f.path("bundle").unwrap_or_else(|| PathBuf::from(".")),
        console_socket: f.path("console-socket"),
        pid_file: f.path("pid-file"),
        preserve_fds: f.number("preserve-fds").map_err(anyhow::Error::msg)?,
        no_pivot: f.on("no-pivot"),
        no_new_keyring: f.on("no-new-keyring"),
    })
}

fn dispatch(args: Args) -> Result<u8> {
    if args.global.on("help") || args.command.as_deref() == Some("help") {
        print!("{}", runc_args::HELP);
        return Ok(0);
    }
    if args.global.on("version") {
        println!(
            "wharf-runc version {}\nspec: {}",
            env!("CARGO_PKG_VERSION"),
            wharf_runtime::state::OCI_VERSION
        );
        return Ok(0);
    }
    if args.global.on("systemd-cgroup") {
        bail!("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system); use cgroupfs");
    }
    let Some(command) = args.command.as_deref() else {
        print!("{}", runc_args::HELP);
        return Ok(0);
    };
    if matches!(command, "create" | "run" | "exec") {
        // Processes that enter a container run from a copy of the binary
        // that cannot be written (CVE-2019-5736).
        wharf_sys::cloned_binary::reexec_from_sealed_copy()
            .context("failed to re-execute from a read-only copy of the runtime binary")?;
        let _ = rustix::thread::set_name(c"wharf");
    }
    let root = args
        .global
        .path("root")
        .unwrap_or_else(|| PathBuf::from(Runtime::DEFAULT_ROOT));
    let rt = Runtime::new(root);
    let f = &args.flags;
    match command {
        "create" => {
            rt.create(id(&args)?, &create_options(&args)?)?;
        }
        "start" => rt.start(id(&args)?)?,
        "run" => {
            let code = rt.run(
                id(&args)?,
                &create_options(&args)?,
                f.on("detach"),
                f.on("keep"),
            )?;
            return Ok(code.clamp(0, 255) as u8);
        }
        "state" => std::io::stdout().write_all(&rt.state(id(&args)?)?)?,
        "kill" => {
            let signal = args.positional.get(1).map_or("SIGTERM", String::as_str);
            let sig = wharf_runtime::lifecycle::parse_signal(signal)?;
            rt.kill(id(&args)?, sig, f.on("all"))?;
        }
        "delete" => rt.delete(id(&args)?, f.on("force"))?,
        "list" => list(&rt, f.value("format").unwrap_or("table"), f.on("quiet"))?,
        "ps" => ps(
            &rt,
            f.value("format").unwrap_or("table"),
            id(&args)?,
            &args.positional[1..],
        )?,
        "exec" => return exec(&rt, &args),
        "pause" => rt.pause(id(&args)?)?,
        "resume" => rt.resume(id(&args)?)?,
        "spec" => {
            let bundle = f.path("bundle").unwrap_or_else(|| PathBuf::from("."));
            let path = bundle.join("config.json");
            if path.exists() {
                bail!("{} already exists: remove it first", path.display());
            }
            let spec = wharf_runtime::spec::default_spec(f.on("rootless"));
            let mut text = serde_json::to_string_pretty(&spec)?;
            text.push('\n');
            std::fs::write(&path, text)
                .with_context(|| format!("failed to write {}", path.display()))?;
        }
        "features" => {
            let mut out = serde_json::to_string_pretty(&wharf_runtime::features::features())?;
            out.push('\n');
            std::io::stdout().write_all(out.as_bytes())?;
        }
        other => bail!("unknown command {other:?}"),
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

fn exec(rt: &Runtime, args: &Args) -> Result<u8> {
    let f = &args.flags;
    let id = id(args)?;
    let gids = f
        .values("additional-gids")
        .iter()
        .map(|g| {
            g.parse::<u32>()
                .with_context(|| format!("--additional-gids: {g:?} is not a number"))
        })
        .collect::<Result<Vec<_>>>()?;
    let opts = ExecOptions {
        process_json: f.path("process"),
        args: args.positional[1..].to_vec(),
        cwd: f.path("cwd"),
        env: f.values("env"),
        tty: f.on("tty"),
        user: f.value("user").map(str::to_string),
        additional_gids: gids,
        caps: f.values("cap"),
        no_new_privs: f.on("no-new-privs"),
        console_socket: f.path("console-socket"),
        pid_file: f.path("pid-file"),
        detach: f.on("detach"),
        preserve_fds: f.number("preserve-fds").map_err(anyhow::Error::msg)?,
        ignore_paused: f.on("ignore-paused"),
    };
    let code = rt.exec(id, &opts)?;
    Ok(code.clamp(0, 255) as u8)
}
