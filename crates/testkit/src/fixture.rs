//! What the private daemon fixtures ([`Dockerd`](crate::dockerd::Dockerd),
//! [`WharfDaemon`](crate::daemon::WharfDaemon)) share: a kept temporary
//! directory to hold a daemon's roots, the wait for `/_ping`, and the stop
//! with SIGTERM then SIGKILL.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

/// How long a daemon may take to answer `/_ping`.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a daemon may take to stop after SIGTERM.
pub(crate) const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// A file or directory of a fixture could not be made.
#[derive(Debug, thiserror::Error)]
#[error("failed to prepare the fixture's directory {path}")]
pub struct PrepareError {
    /// The path.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// Makes `/tmp/<prefix>XXXXXX` with the sub-directories `subs`; the
/// directory is kept: the fixture's drop removes it.
pub(crate) fn fixture_dir(prefix: &str, subs: &[&str]) -> Result<PathBuf, PrepareError> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .map_err(prepare("/tmp"))?
        .keep();
    for sub in subs {
        fs::create_dir_all(dir.join(sub)).map_err(prepare(dir.join(sub)))?;
    }
    Ok(dir)
}

/// Writes `contents` to `path`, as a [`PrepareError`] when it fails.
pub(crate) fn write_file(path: &Path, contents: &str) -> Result<(), PrepareError> {
    fs::write(path, contents).map_err(prepare(path))
}

/// Turns an I/O error on `path` into a [`PrepareError`].
fn prepare(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> PrepareError {
    let path = path.into();
    move |source| PrepareError { path, source }
}

/// A daemon command with its roots under `dir` as dockerd and `wharf
/// daemon` both take them (`--config-file daemon.json`, `--data-root data`,
/// `--exec-root exec`, `--pidfile <pidfile>`, `-H unix://<socket>`), stdin
/// null and both outputs appended to `dir/<log>`. With `netns`, the daemon
/// runs in that network namespace through `nsenter --net=<netns>`, which
/// execs it (the child's pid is the daemon's).
pub(crate) fn daemon_command(
    program: &Path,
    dir: &Path,
    names: DaemonFiles,
    netns: Option<&Path>,
) -> Result<Command, PrepareError> {
    let log_path = dir.join(names.log);
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(prepare(&log_path))?;
    let log2 = log.try_clone().map_err(prepare(&log_path))?;
    let mut cmd = match netns {
        Some(ns) => crate::netns::net_command(ns, program, &[]),
        None => Command::new(program),
    };
    cmd.args(names.subcommand)
        .arg("--config-file")
        .arg(dir.join("daemon.json"))
        .arg("--data-root")
        .arg(dir.join("data"))
        .arg("--exec-root")
        .arg(dir.join("exec"))
        .arg("--pidfile")
        .arg(dir.join(names.pidfile))
        .arg("-H")
        .arg(format!("unix://{}", dir.join(names.socket).display()))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    Ok(cmd)
}

/// The names a daemon's files have in its fixture directory.
pub(crate) struct DaemonFiles {
    /// Words before the options (`daemon` for `wharf daemon`).
    pub subcommand: &'static [&'static str],
    /// The socket's file name.
    pub socket: &'static str,
    /// The pid file's name.
    pub pidfile: &'static str,
    /// The log's name.
    pub log: &'static str,
}

/// Whether something answers `GET /_ping` with 200 on `socket`.
pub fn ping(socket: &Path) -> bool {
    let Ok(mut s) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.") && buf.contains(" 200 ")
}

/// Waits until the daemon `child` answers `/_ping` on `socket`: false when
/// it exits first or [`START_TIMEOUT`] passes (a hang guard).
pub(crate) fn wait_ready(child: &mut Child, socket: &Path) -> bool {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if ping(socket) {
            return true;
        }
        let exited = child.try_wait().ok().flatten().is_some();
        if exited || Instant::now() > deadline {
            return false;
        }
        sleep(Duration::from_millis(20));
    }
}

/// Sends `sig` to `child`, gives it `grace` to exit, then SIGKILLs and
/// reaps it.
pub(crate) fn stop_child(mut child: Child, sig: Signal, grace: Duration) {
    if let Some(pid) = Pid::from_raw(child.id() as i32) {
        let _ = kill_process(pid, sig);
    }
    let deadline = Instant::now() + grace;
    while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The last `lines` lines of the log file `path` (empty when unreadable).
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    let log = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
