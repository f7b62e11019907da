//! Drives a runc-compatible command line: `wharf runtime` by default, or any
//! runc-like binary (`WHARF_TEST_RUNTIME=/usr/sbin/runc` runs the same tests
//! against runc, which proves the tests themselves).

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::bundle::Bundle;
use crate::paths::{wharf_path, LocateError};

/// How long one runtime command may take before it is killed; a hang guard,
/// not a performance limit.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Errors driving the runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The runtime binary was not found.
    #[error("failed to locate the runtime binary")]
    Locate(#[source] LocateError),
    /// A temporary directory or output file could not be made or read.
    #[error("failed to prepare {path} for the runtime")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The runtime could not be run, or its output not read.
    #[error("failed to run runtime {bin}")]
    Spawn {
        /// The binary.
        bin: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A command that must succeed failed.
    #[error("runtime command `{command}` failed with {status}: {stderr}")]
    Failed {
        /// The arguments after `--root R`.
        command: String,
        /// Its exit status.
        status: ExitStatus,
        /// What it wrote on stderr.
        stderr: String,
    },
    /// `state` printed something that is not a state object.
    #[error("runtime printed an unreadable state for {id}: {text}")]
    State {
        /// The container id.
        id: String,
        /// What was printed.
        text: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A container did not reach the wanted status in time.
    #[error("container {id} did not reach status {want} (last: {last})")]
    Timeout {
        /// The container id.
        id: String,
        /// The status waited for.
        want: String,
        /// The last status seen.
        last: String,
    },
}

/// The state object `state ID` prints (OCI runtime spec, "State").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerState {
    /// The OCI version.
    pub oci_version: String,
    /// The container id.
    pub id: String,
    /// `creating`, `created`, `running` or `stopped`.
    pub status: String,
    /// The container process's host pid (absent or 0 once stopped).
    pub pid: Option<i32>,
    /// The bundle path.
    pub bundle: String,
}

/// A runtime command line with its own `--root` in a temporary directory.
/// On drop, every container it created is force-deleted, anything still
/// carrying its id (processes, cgroups) is removed, and the directory goes.
pub struct Runtime {
    bin: PathBuf,
    prefix: Vec<String>,
    dir: PathBuf,
    created: Mutex<Vec<String>>,
}

static NEXT_ID: AtomicU32 = AtomicU32::new(1);

impl Runtime {
    /// The runtime named by `$WHARF_TEST_RUNTIME` (a runc-like binary), or
    /// else `wharf runtime` from the workspace's binaries.
    pub fn new() -> Result<Runtime, RuntimeError> {
        match std::env::var_os("WHARF_TEST_RUNTIME") {
            Some(bin) => Self::with_command(bin, &[]),
            None => Self::with_command(wharf_path().map_err(RuntimeError::Locate)?, &["runtime"]),
        }
    }

    /// A runtime run as `bin prefix... --root R <command>`.
    pub fn with_command(bin: impl Into<PathBuf>, prefix: &[&str]) -> Result<Runtime, RuntimeError> {
        let dir = tempfile::Builder::new()
            .prefix("wharf-rt-")
            .tempdir()
            .map_err(|source| RuntimeError::Io {
                path: std::env::temp_dir(),
                source,
            })?
            .keep();
        let rt = Runtime {
            bin: bin.into(),
            prefix: prefix.iter().map(|s| s.to_string()).collect(),
            dir,
            created: Mutex::new(Vec::new()),
        };
        fs::create_dir_all(rt.io_dir()).map_err(|source| RuntimeError::Io {
            path: rt.io_dir(),
            source,
        })?;
        Ok(rt)
    }

    /// The state directory passed as `--root`.
    pub fn root(&self) -> PathBuf {
        self.dir.join("state")
    }

    fn io_dir(&self) -> PathBuf {
        self.dir.join("io")
    }

    /// A container id unique across test processes: `wharf-t<pid>-<n>-<tag>`.
    pub fn unique_id(&self, tag: &str) -> String {
        let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        format!("wharf-t{}-{n}-{tag}", std::process::id())
    }

    /// The command `bin prefix... --root R args...`, not yet run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(&self.prefix)
            .arg("--root")
            .arg(self.root())
            .args(args);
        cmd
    }

    /// Runs `args` with stdout and stderr in files (a container started by
    /// the command keeps them open, so pipes would never reach EOF) and
    /// returns what they held when the runtime exited.
    pub fn run(&self, args: &[&str]) -> Result<Output, RuntimeError> {
        let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        self.run_to(args, &format!("cmd-{n}"))
    }

    fn run_to(&self, args: &[&str], name: &str) -> Result<Output, RuntimeError> {
        let mut cmd = self.command(args);
        output_with_timeout(&mut cmd, &self.io_dir(), name, COMMAND_TIMEOUT).map_err(|source| {
            RuntimeError::Spawn {
                bin: self.bin.clone(),
                source,
            }
        })
    }

    /// Runs `args` and fails unless the command exits 0.
    pub fn run_ok(&self, args: &[&str]) -> Result<Output, RuntimeError> {
        succeeded(args, self.run(args)?)
    }

    fn remember(&self, id: &str) {
        let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        if !created.iter().any(|c| c == id) {
            created.push(id.to_string());
        }
    }

    /// Remembers `id` for force-deletion on drop: for a container made by
    /// a command run with [`Runtime::run`] or [`Runtime::command`].
    pub fn track(&self, id: &str) {
        self.remember(id);
    }

    /// `run --bundle B ID`: runs the container in the foreground; the
    /// output holds what the container and the runtime printed.
    pub fn run_container(&self, bundle: &Bundle, id: &str) -> Result<Output, RuntimeError> {
        self.remember(id);
        let b = bundle.path().to_string_lossy().into_owned();
        self.run_to(&["run", "--bundle", &b, id], id)
    }

    /// `create --bundle B ID`; the container's stdout and stderr go to files
    /// read later with [`Runtime::container_stdout`].
    pub fn create(&self, bundle: &Bundle, id: &str) -> Result<Output, RuntimeError> {
        self.remember(id);
        let b = bundle.path().to_string_lossy().into_owned();
        self.run_to(&["create", "--bundle", &b, id], id)
    }

    /// [`Runtime::create`] that fails unless the command exits 0.
    pub fn create_ok(&self, bundle: &Bundle, id: &str) -> Result<Output, RuntimeError> {
        succeeded(&["create", id], self.create(bundle, id)?)
    }

    /// `run --bundle B [extra…] ID` in the foreground for a new id made
    /// from `tag`, as a test step: panics unless it exits 0 and leaves
    /// nothing behind ([`assert_no_leaks`](crate::assert_no_leaks));
    /// returns what it printed on stdout.
    pub fn run_clean(&self, bundle: &Bundle, tag: &str, extra: &[&str]) -> String {
        let id = self.unique_id(tag);
        self.remember(&id);
        let b = bundle.path().to_string_lossy().into_owned();
        let mut args = vec!["run", "--bundle", &b];
        args.extend_from_slice(extra);
        args.push(&id);
        let out = self.run_to(&args, &id).expect("run");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "run {tag} failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        crate::assert_no_leaks(&id, Some(bundle.path()));
        stdout
    }

    /// `start ID`.
    pub fn start(&self, id: &str) -> Result<Output, RuntimeError> {
        self.run(&["start", id])
    }

    /// `kill ID SIGNAL`.
    pub fn kill(&self, id: &str, signal: &str) -> Result<Output, RuntimeError> {
        self.run(&["kill", id, signal])
    }

    /// `delete ID`, or `delete --force ID`.
    pub fn delete(&self, id: &str, force: bool) -> Result<Output, RuntimeError> {
        if force {
            self.run(&["delete", "--force", id])
        } else {
            self.run(&["delete", id])
        }
    }

    /// `state ID`, parsed.
    pub fn state(&self, id: &str) -> Result<ContainerState, RuntimeError> {
        let out = self.run_ok(&["state", id])?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        serde_json::from_str(&text).map_err(|source| RuntimeError::State {
            id: id.into(),
            text,
            source,
        })
    }

    /// Polls `state ID` until its status is `want` (a hang guard of
    /// [`COMMAND_TIMEOUT`]).
    pub fn wait_status(&self, id: &str, want: &str) -> Result<ContainerState, RuntimeError> {
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let state = self.state(id)?;
            if state.status == want {
                return Ok(state);
            }
            if Instant::now() > deadline {
                return Err(RuntimeError::Timeout {
                    id: id.into(),
                    want: want.into(),
                    last: state.status,
                });
            }
            sleep(Duration::from_millis(10));
        }
    }

    /// What the container `id` (made by [`Runtime::create`] or
    /// [`Runtime::run_container`]) has written to stdout so far, with the
    /// runtime's own output of that command.
    pub fn container_stdout(&self, id: &str) -> String {
        fs::read_to_string(self.io_dir().join(format!("{id}.out"))).unwrap_or_default()
    }

    /// Like [`Runtime::container_stdout`], for stderr.
    pub fn container_stderr(&self, id: &str) -> String {
        fs::read_to_string(self.io_dir().join(format!("{id}.err"))).unwrap_or_default()
    }
}

/// `out` when the command exited 0, else [`RuntimeError::Failed`].
fn succeeded(args: &[&str], out: Output) -> Result<Output, RuntimeError> {
    if out.status.success() {
        Ok(out)
    } else {
        Err(RuntimeError::Failed {
            command: args.join(" "),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let created = std::mem::take(self.created.get_mut().unwrap_or_else(|e| e.into_inner()));
        for id in &created {
            let _ = self.run(&["delete", "--force", id]);
            crate::leaks::remove_leftovers(id);
        }
        if crate::leaks::unmount_under(&self.dir) {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Runs `cmd` with stdin from /dev/null and stdout and stderr in the files
/// `dir/name.out` and `dir/name.err` (a container started by the command
/// may keep them open, so pipes might never reach EOF), kills it after
/// `timeout` (a hang guard), and returns what the files held when it exited.
pub fn output_with_timeout(
    cmd: &mut Command,
    dir: &Path,
    name: &str,
    timeout: Duration,
) -> io::Result<Output> {
    let out_path = dir.join(format!("{name}.out"));
    let err_path = dir.join(format!("{name}.err"));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(File::create(&out_path)?)
        .stderr(File::create(&err_path)?)
        .spawn()?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait()? {
            Some(status) => break status,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                break child.wait()?;
            }
            None => sleep(Duration::from_millis(5)),
        }
    };
    Ok(Output {
        status,
        stdout: fs::read(&out_path)?,
        stderr: fs::read(&err_path)?,
    })
}
