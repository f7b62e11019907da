//! The daemon side of the shim protocol (see `wharf_shim::proto`): spawning
//! a shim, and one request per connection to its socket.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use wharf_shim::proto::{ErrorKind, Launched, Reply, Request, ShimConfig, EXIT_FILE, SOCKET};

use crate::error::{EngineError, Kind, Result};
use crate::model::ExitInfo;

/// How long a shim may take to create its container.
const SPAWN_TIMEOUT: Duration = Duration::from_secs(120);

/// A reply line longer than this is a broken shim.
const MAX_REPLY: usize = 64 * 1024;

/// Read-only bind mounts of shim executables, attached nowhere, made once
/// per executable path (in practice: the daemon's own binary).
static READ_ONLY_EXES: Mutex<Vec<(PathBuf, Arc<OwnedFd>)>> = Mutex::new(Vec::new());

/// What to execute for `wharf_exe`: the binary through a read-only bind
/// mount of it that is attached nowhere, as `/proc/self/fd/N` (with the
/// descriptor that keeps `N` open until the spawn is done), or
/// `wharf_exe` itself where the mount API is refused.
///
/// The shim forks the processes that enter a container, so it must run
/// from a binary nothing can write through `/proc/<pid>/exe`
/// (CVE-2019-5736). Started from `wharf_exe` it re-executes itself through
/// such a mount (`wharf_sys::cloned_binary`): one more exec of the whole
/// binary, and one mount made and torn down, per container start. Started
/// from this mount it finds itself already read-only and goes on. The
/// descriptor is close-on-exec: `execve(2)` opens the path before it
/// closes those, so the child can exec through its copy of it, and the
/// shim itself inherits nothing.
fn read_only_exe(wharf_exe: &Path) -> (PathBuf, Option<Arc<OwnedFd>>) {
    let mut exes = READ_ONLY_EXES.lock().unwrap_or_else(|p| p.into_inner());
    let found = exes
        .iter()
        .find(|(p, _)| p == wharf_exe)
        .map(|(_, fd)| fd.clone());
    let fd = match found {
        Some(fd) => fd,
        None => {
            let made = wharf_sys::mount::clone_path(wharf_exe, false).and_then(|fd| {
                wharf_sys::mount::set_attr(
                    fd.as_fd(),
                    false,
                    wharf_sys::mount::attr::RDONLY,
                    0,
                    None,
                )
                .map(|()| fd)
            });
            let Ok(fd) = made else {
                return (wharf_exe.to_path_buf(), None);
            };
            let fd = Arc::new(fd);
            exes.push((wharf_exe.to_path_buf(), fd.clone()));
            fd
        }
    };
    (
        PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd())),
        Some(fd),
    )
}

/// A client of one container's shim, known by its directory.
#[derive(Debug, Clone)]
pub struct ShimClient {
    dir: PathBuf,
}

fn system(message: String, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> EngineError {
    EngineError::system(message, e)
}

/// The reply, or its error as an [`EngineError`] of the matching kind.
fn check(reply: Reply) -> Result<Reply> {
    let Some(error) = reply.error else {
        return Ok(reply);
    };
    let kind = match reply.kind {
        Some(ErrorKind::NotFound) => Kind::NotFound,
        Some(ErrorKind::Conflict) => Kind::Conflict,
        Some(ErrorKind::Invalid) => Kind::InvalidArgument,
        Some(ErrorKind::System) | None => Kind::System,
    };
    Err(EngineError::new(kind, error))
}

impl ShimClient {
    /// A client of the shim serving from `dir` (for a shim already running).
    pub fn new(dir: PathBuf) -> ShimClient {
        ShimClient { dir }
    }

    /// The shim's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts `<wharf_exe> shim` for `cfg`; returns once the container is
    /// created (not started), with its init pid.
    pub async fn spawn(wharf_exe: &Path, cfg: &ShimConfig) -> Result<(ShimClient, i32)> {
        let id = cfg.id.clone();
        let fail =
            |e: std::io::Error| system(format!("failed to start the shim of container {id}"), e);
        let (program, _pin) = read_only_exe(wharf_exe);
        let mut child = tokio::process::Command::new(&program)
            .arg0(wharf_exe)
            .arg("shim")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(false)
            .spawn()
            .map_err(fail)?;
        let mut input = serde_json::to_vec(cfg).expect("config serializes");
        input.push(b'\n');
        let mut stdin = child.stdin.take().expect("piped");
        stdin.write_all(&input).await.map_err(fail)?;
        drop(stdin);
        let stdout = child.stdout.take().expect("piped");
        // One line: the container's processes hold the pipe until they
        // run, so its end is not waited for.
        let mut line = String::new();
        let mut reader = BufReader::new(stdout);
        let read = tokio::time::timeout(SPAWN_TIMEOUT, reader.read_line(&mut line)).await;
        drop(reader);
        // The process we started exits at once (the shim forked); reap it.
        let _ = child.wait().await;
        match read {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(fail(e)),
            Err(_) => {
                return Err(EngineError::new(
                    Kind::System,
                    format!("the shim of container {id} did not answer in time"),
                ))
            }
        }
        let launched: Launched = serde_json::from_str(line.trim()).map_err(|e| {
            system(
                format!("the shim of container {id} answered {:?}", line.trim()),
                e,
            )
        })?;
        match (launched.pid, launched.error) {
            (Some(pid), _) => Ok((ShimClient::new(cfg.dir.clone()), pid)),
            (None, Some(error)) => Err(EngineError::new(Kind::System, error)),
            (None, None) => Err(EngineError::new(
                Kind::System,
                format!("the shim of container {id} exited without creating it"),
            )),
        }
    }

    /// Whether the shim answers on its socket.
    pub fn is_alive(&self) -> bool {
        std::os::unix::net::UnixStream::connect(self.dir.join(SOCKET)).is_ok()
    }

    /// The exit a shim recorded in `dir` (when it is gone).
    pub fn read_exit(dir: &Path) -> Option<ExitInfo> {
        let data = std::fs::read(dir.join(EXIT_FILE)).ok()?;
        let exit: wharf_shim::proto::Exit = serde_json::from_slice(&data).ok()?;
        Some(ExitInfo {
            exit_code: exit.exit_code,
            oom_killed: exit.oom_killed,
            finished_at: exit.finished_at,
        })
    }

    /// Sends `req` and reads the reply line; the connection stays usable.
    async fn call(&self, req: &Request) -> Result<(Reply, UnixStream)> {
        let path = self.dir.join(SOCKET);
        let gone = |e: std::io::Error| {
            system(
                format!("failed to reach the shim at {}", self.dir.display()),
                e,
            )
        };
        let mut stream = UnixStream::connect(&path).await.map_err(gone)?;
        let mut line = serde_json::to_vec(req).expect("request serializes");
        line.push(b'\n');
        stream.write_all(&line).await.map_err(gone)?;
        // Byte by byte: after an attach reply the stream's data follows.
        let mut reply = Vec::new();
        loop {
            let b = stream.read_u8().await.map_err(gone)?;
            if b == b'\n' {
                break;
            }
            reply.push(b);
            if reply.len() > MAX_REPLY {
                return Err(EngineError::new(
                    Kind::System,
                    "the shim's reply is too long",
                ));
            }
        }
        let reply: Reply = serde_json::from_slice(&reply)
            .map_err(|e| system("failed to parse the shim's reply".into(), e))?;
        Ok((check(reply)?, stream))
    }

    /// Starts the created container.
    pub async fn start(&self) -> Result<()> {
        self.call(&Request::Start).await.map(drop)
    }

    /// Init's pid, and its exit once it ended.
    pub async fn state(&self) -> Result<(i32, Option<ExitInfo>)> {
        let (reply, _) = self.call(&Request::State).await?;
        let exit = reply.as_exit().map(|e| ExitInfo {
            exit_code: e.exit_code,
            oom_killed: e.oom_killed,
            finished_at: e.finished_at,
        });
        Ok((reply.pid.unwrap_or(0), exit))
    }

    /// Sends `signal` to init, or with `all` to every process of the container.
    pub async fn kill(&self, signal: i32, all: bool) -> Result<()> {
        self.call(&Request::Kill { signal, all }).await.map(drop)
    }

    /// Waits until init has exited. Fails when the shim is gone: then see
    /// [`ShimClient::read_exit`].
    pub async fn wait(&self) -> Result<ExitInfo> {
        let (reply, _) = self.call(&Request::Wait).await?;
        let e = reply
            .as_exit()
            .ok_or_else(|| EngineError::new(Kind::System, "the shim's wait reply has no exit"))?;
        Ok(ExitInfo {
            exit_code: e.exit_code,
            oom_killed: e.oom_killed,
            finished_at: e.finished_at,
        })
    }

    /// Attaches to init (or an exec): the returned stream carries its
    /// output (8-byte framed without a tty) and takes its stdin.
    pub async fn attach(
        &self,
        exec: Option<&str>,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<UnixStream> {
        let req = Request::Attach {
            exec: exec.map(str::to_string),
            stdin,
            stdout,
            stderr,
        };
        Ok(self.call(&req).await?.1)
    }

    /// Resizes the pty of init (or an exec).
    pub async fn resize(&self, exec: Option<&str>, height: u16, width: u16) -> Result<()> {
        let req = Request::Resize {
            exec: exec.map(str::to_string),
            height,
            width,
        };
        self.call(&req).await.map(drop)
    }

    /// Starts an exec; returns its host pid. Unless `detach`, its output is
    /// kept for the first [`ShimClient::attach`] with its id.
    pub async fn exec(
        &self,
        exec_id: &str,
        process: &oci_spec::runtime::Process,
        tty: bool,
        stdin: bool,
        detach: bool,
    ) -> Result<i32> {
        let req = Request::Exec {
            exec: exec_id.to_string(),
            process: Box::new(process.clone()),
            tty,
            stdin,
            detach,
        };
        let (reply, _) = self.call(&req).await?;
        Ok(reply.pid.unwrap_or(0))
    }

    /// Waits until the exec has ended; its exit code.
    pub async fn exec_wait(&self, exec_id: &str) -> Result<i32> {
        let req = Request::ExecWait {
            exec: exec_id.to_string(),
        };
        let (reply, _) = self.call(&req).await?;
        reply
            .exit_code
            .ok_or_else(|| EngineError::new(Kind::System, "the shim's exec wait reply has no exit"))
    }

    /// [`ShimClient::exec_state`] without an async runtime (a quick local
    /// round trip, for synchronous callers such as exec inspect).
    pub fn exec_state_blocking(&self, exec_id: &str) -> Result<(bool, Option<i32>)> {
        use std::io::{BufRead, Write};
        let path = self.dir.join(SOCKET);
        let gone = |e: std::io::Error| {
            system(
                format!("failed to reach the shim at {}", self.dir.display()),
                e,
            )
        };
        let mut stream = std::os::unix::net::UnixStream::connect(&path).map_err(gone)?;
        let timeout = Some(Duration::from_secs(5));
        stream.set_read_timeout(timeout).map_err(gone)?;
        stream.set_write_timeout(timeout).map_err(gone)?;
        let req = Request::ExecState {
            exec: exec_id.to_string(),
        };
        let mut line = serde_json::to_vec(&req).expect("request serializes");
        line.push(b'\n');
        stream.write_all(&line).map_err(gone)?;
        let mut text = String::new();
        std::io::BufReader::new(stream)
            .read_line(&mut text)
            .map_err(gone)?;
        let reply: Reply = serde_json::from_str(text.trim())
            .map_err(|e| system("failed to parse the shim's reply".into(), e))?;
        let reply = check(reply)?;
        Ok((reply.running.unwrap_or(false), reply.exit_code))
    }

    /// Whether the exec runs, and its exit code once it ended.
    pub async fn exec_state(&self, exec_id: &str) -> Result<(bool, Option<i32>)> {
        let req = Request::ExecState {
            exec: exec_id.to_string(),
        };
        let (reply, _) = self.call(&req).await?;
        Ok((reply.running.unwrap_or(false), reply.exit_code))
    }
}
