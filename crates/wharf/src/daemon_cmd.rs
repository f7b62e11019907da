//! `wharf daemon`: the engine behind the Docker Engine API. Takes dockerd's
//! flags for where things live (`-H/--host`, `--data-root`, `--exec-root`,
//! `--pidfile`, `--config-file`, the TLS flags), opens the engine, listens
//! and serves until SIGTERM or SIGINT. Containers keep running when it
//! stops; the next daemon finds them again.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;

use crate::daemon_net;
use wharf_docker_api::server::{self, Listen, TlsOptions};
use wharf_engine::{Engine, EngineConfig};

/// The config file read when `--config-file` is not given (if it exists).
const DEFAULT_CONFIG: &str = "/etc/wharf/daemon.json";

/// `wharf daemon` flags (dockerd's names).
#[derive(Debug, Parser, Default)]
#[command(
    name = "wharf daemon",
    about = "Run the Wharf engine (Docker Engine API)"
)]
struct DaemonArgs {
    /// Daemon socket(s) to connect to (unix:///path, tcp://127.0.0.1:2375).
    #[arg(short = 'H', long = "host")]
    hosts: Vec<String>,
    /// Root directory of persistent state (default /var/lib/wharf).
    #[arg(long)]
    data_root: Option<PathBuf>,
    /// Root directory for execution state files (default /run/wharf).
    #[arg(long)]
    exec_root: Option<PathBuf>,
    /// Path to use for the daemon PID file (default <exec-root>/wharf.pid).
    #[arg(short = 'p', long)]
    pidfile: Option<PathBuf>,
    /// Daemon configuration file (JSON, dockerd's daemon.json keys).
    #[arg(long)]
    config_file: Option<PathBuf>,
    /// Use TLS; implied by --tlsverify.
    #[arg(long)]
    tls: bool,
    /// Use TLS and verify the remote (mutual TLS).
    #[arg(long)]
    tlsverify: bool,
    /// Trust certs signed only by this CA.
    #[arg(long)]
    tlscacert: Option<PathBuf>,
    /// Path to TLS certificate file.
    #[arg(long)]
    tlscert: Option<PathBuf>,
    /// Path to TLS key file.
    #[arg(long)]
    tlskey: Option<PathBuf>,
    /// Enable debug mode.
    #[arg(short = 'D', long)]
    debug: bool,
    /// The networking flags.
    #[command(flatten)]
    net: daemon_net::NetArgs,
}

/// daemon.json keys that are accepted and have no effect here.
const IGNORED_KEYS: &[&str] = &[
    "log-level",
    "experimental",
    "live-restore",
    "storage-driver",
    "deprecated-key-path",
    "cgroup-parent",
    "iptables",
    "ip6tables",
    "ip-forward",
    "ip-masq",
    "userland-proxy",
    "log-driver",
];

/// Runs `wharf daemon` with `args` (the words after `daemon`).
pub fn main(args: Vec<OsString>) -> ExitCode {
    let mut argv = vec![OsString::from("wharf daemon")];
    argv.extend(args);
    let args = match DaemonArgs::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 125 } else { 0 });
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wharf daemon: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(mut args: DaemonArgs) -> Result<()> {
    merge_config(&mut args)?;
    let data_root = args
        .data_root
        .clone()
        .unwrap_or_else(|| "/var/lib/wharf".into());
    let exec_root = args
        .exec_root
        .clone()
        .unwrap_or_else(|| "/run/wharf".into());
    let pidfile = args
        .pidfile
        .clone()
        .unwrap_or_else(|| exec_root.join("wharf.pid"));
    let hosts = if args.hosts.is_empty() {
        vec![Listen::Unix(server::DEFAULT_SOCKET.into())]
    } else {
        args.hosts
            .iter()
            .map(|h| server::parse_host(h))
            .collect::<Result<Vec<_>, _>>()?
    };
    let tls = tls_options(&args)?;
    server::validate(&hosts, tls.as_ref())?;
    wharf_docker_api::router::set_debug(args.debug);
    let wharf_exe = std::env::current_exe().context("failed to find the wharf executable")?;
    let config = EngineConfig {
        data_root,
        exec_root,
        wharf_exe,
        network: args.net.config()?,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the tokio runtime")?;
    let result = rt.block_on(async move {
        let _pid = PidFile::create(&pidfile)?;
        let engine = Engine::open(config)
            .await
            .context("failed to open the engine")?;
        let listeners = server::bind(&hosts, tls.as_ref()).await?;
        for h in &hosts {
            eprintln!("wharf daemon: API listen on {h}");
        }
        server::serve(engine, listeners, shutdown_signal()).await;
        eprintln!("wharf daemon: stopped");
        Ok(())
    });
    // Blocking readers (logs, tars) notice their closed channels and end;
    // none may hold the exit up for long.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    result
}

/// The TLS files when `--tlsverify` (or `--tls`) is on.
fn tls_options(args: &DaemonArgs) -> Result<Option<TlsOptions>> {
    if !args.tls && !args.tlsverify {
        return Ok(None);
    }
    if !args.tlsverify {
        bail!("--tls without --tlsverify is not supported: clients must present certificates");
    }
    let need = |p: &Option<PathBuf>, flag: &str| {
        p.clone()
            .with_context(|| format!("--tlsverify needs {flag}"))
    };
    Ok(Some(TlsOptions {
        ca: need(&args.tlscacert, "--tlscacert")?,
        cert: need(&args.tlscert, "--tlscert")?,
        key: need(&args.tlskey, "--tlskey")?,
    }))
}

/// Reads daemon.json into `args`; a setting given both ways is an error,
/// as with dockerd.
fn merge_config(args: &mut DaemonArgs) -> Result<()> {
    let (path, explicit) = match &args.config_file {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(DEFAULT_CONFIG), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(e).with_context(|| format!("failed to read config file {}", path.display()))
        }
    };
    let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
        .with_context(|| format!("invalid config file {}", path.display()))?;
    let mut conflicts = Vec::new();
    let mut unknown = Vec::new();
    for (k, val) in &v {
        let s = || {
            val.as_str()
                .map(String::from)
                .with_context(|| format!("config file {}: {k} must be a string", path.display()))
        };
        let b = || {
            val.as_bool()
                .with_context(|| format!("config file {}: {k} must be a boolean", path.display()))
        };
        let mut set_path = |slot: &mut Option<PathBuf>| -> Result<()> {
            if slot.is_some() {
                conflicts.push(k.clone());
            } else {
                *slot = Some(PathBuf::from(s()?));
            }
            Ok(())
        };
        match k.as_str() {
            "data-root" | "graph" => set_path(&mut args.data_root)?,
            "exec-root" => set_path(&mut args.exec_root)?,
            "pidfile" => set_path(&mut args.pidfile)?,
            "tlscacert" => set_path(&mut args.tlscacert)?,
            "tlscert" => set_path(&mut args.tlscert)?,
            "tlskey" => set_path(&mut args.tlskey)?,
            "debug" => args.debug |= b()?,
            "tls" => args.tls |= b()?,
            "tlsverify" => args.tlsverify |= b()?,
            "hosts" => {
                let list = val
                    .as_array()
                    .and_then(|a| a.iter().map(|h| h.as_str().map(String::from)).collect())
                    .with_context(|| {
                        format!(
                            "config file {}: hosts must be a list of strings",
                            path.display()
                        )
                    })?;
                if args.hosts.is_empty() {
                    args.hosts = list;
                } else {
                    conflicts.push(k.clone());
                }
            }
            k if IGNORED_KEYS.contains(&k) => {}
            k if daemon_net::KEYS.contains(&k) => {
                let merged = args.net.merge_key(k, val);
                if merged.with_context(|| format!("config file {}: {k}", path.display()))?
                    == Some(true)
                {
                    conflicts.push(k.to_string());
                }
            }
            _ => unknown.push(k.clone()),
        }
    }
    if !unknown.is_empty() {
        bail!(
            "the following directives don't match any configuration option: {}",
            unknown.join(", ")
        );
    }
    if !conflicts.is_empty() {
        bail!(
            "the following directives are specified both as a flag and in the configuration file: {}",
            conflicts.join(", ")
        );
    }
    Ok(())
}

/// The pid file: refused when it names a live process, removed on drop.
struct PidFile(PathBuf);

impl PidFile {
    fn create(path: &Path) -> Result<PidFile> {
        if let Ok(old) = std::fs::read_to_string(path) {
            if let Ok(pid) = old.trim().parse::<u32>() {
                if pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists() {
                    bail!(
                        "pid file found, ensure wharf daemon is not running or delete {}",
                        path.display()
                    );
                }
            }
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("failed to create {}", parent.display()))?;
        }
        std::fs::write(path, format!("{}", std::process::id()))
            .with_context(|| format!("failed to write pid file {}", path.display()))?;
        Ok(PidFile(path.to_path_buf()))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Resolves at the first SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => eprintln!("wharf daemon: SIGTERM, shutting down"),
        _ = int.recv() => eprintln!("wharf daemon: SIGINT, shutting down"),
    }
}
