//! OCI lifecycle hooks: each runs with the container's state on stdin, its
//! own args and env, and an optional timeout; a failing createRuntime,
//! createContainer, startContainer or prestart hook fails the operation.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

/// A hook that failed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The hook could not be started.
    #[error("failed to run {kind} hook {path}")]
    Spawn {
        /// Hook kind (`prestart`, `createRuntime`, …).
        kind: &'static str,
        /// The hook binary.
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The hook exited non-zero or was killed.
    #[error("{kind} hook {path} failed: {status}{stderr}")]
    Failed {
        /// Hook kind.
        kind: &'static str,
        /// The hook binary.
        path: PathBuf,
        /// How it ended.
        status: String,
        /// What it wrote to stderr, if anything.
        stderr: String,
    },
    /// The hook ran past its timeout and was killed.
    #[error("{kind} hook {path} timed out after {secs} s")]
    Timeout {
        /// Hook kind.
        kind: &'static str,
        /// The hook binary.
        path: PathBuf,
        /// The timeout.
        secs: i64,
    },
}

/// Runs `hooks` in order, giving each `state` (the state JSON) on stdin.
pub fn run(kind: &'static str, hooks: Option<&Vec<Hook>>, state: &[u8]) -> Result<(), HookError> {
    for hook in hooks.into_iter().flatten() {
        run_one(kind, hook, state)?;
    }
    Ok(())
}

/// Runs every one of `hooks`, even after one failed, and returns the
/// failures: poststart and poststop hooks only warn, and "the remaining
/// hooks and lifecycle continue" (runtime spec, config.md).
pub fn run_each(kind: &'static str, hooks: Option<&Vec<Hook>>, state: &[u8]) -> Vec<HookError> {
    hooks
        .into_iter()
        .flatten()
        .filter_map(|hook| run_one(kind, hook, state).err())
        .collect()
}

fn run_one(kind: &'static str, hook: &Hook, state: &[u8]) -> Result<(), HookError> {
    let path = hook.path().clone();
    let mut cmd = Command::new(&path);
    let args = hook.args().as_deref().unwrap_or_default();
    // args[0] is argv[0], as in execve.
    if let Some((first, rest)) = args.split_first() {
        std::os::unix::process::CommandExt::arg0(&mut cmd, first);
        cmd.args(rest);
    }
    cmd.env_clear();
    for kv in hook.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    let spawn_err = |source| HookError::Spawn {
        kind,
        path: path.clone(),
        source,
    };
    // The state and the hook's stderr go through memory files rather than
    // pipes: a hook that never reads its stdin, or writes more than a pipe
    // holds to stderr, can then never block the runtime.
    let stdin = memfile("hook-state", state).map_err(spawn_err)?;
    let stderr = memfile("hook-stderr", b"").map_err(spawn_err)?;
    cmd.stdin(Stdio::from(stdin))
        .stdout(Stdio::inherit())
        .stderr(Stdio::from(stderr.try_clone().map_err(spawn_err)?));
    let mut child = cmd.spawn().map_err(spawn_err)?;
    let status = match hook.timeout().filter(|t| *t > 0) {
        None => child.wait().map_err(spawn_err)?,
        Some(secs) => {
            match wait_timeout(&mut child, Duration::from_secs(secs as u64)).map_err(spawn_err)? {
                Some(status) => status,
                None => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(HookError::Timeout { kind, path, secs });
                }
            }
        }
    };
    if status.success() {
        return Ok(());
    }
    let stderr = tail(stderr, 4096);
    let stderr = stderr.trim();
    Err(HookError::Failed {
        kind,
        path,
        status: status.to_string(),
        stderr: if stderr.is_empty() {
            String::new()
        } else {
            format!(": {stderr}")
        },
    })
}

/// A file in memory holding `data`, positioned at its start.
fn memfile(name: &str, data: &[u8]) -> std::io::Result<std::fs::File> {
    let fd = rustix::fs::memfd_create(name, rustix::fs::MemfdFlags::CLOEXEC)?;
    let mut file = std::fs::File::from(fd);
    file.write_all(data)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

/// The last `max` bytes of a memory file, as text.
fn tail(mut file: std::fs::File, max: u64) -> String {
    let len = file.seek(SeekFrom::End(0)).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(max)));
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    text
}

/// Waits for `child` at most `limit`; `None` if it is still running.
fn wait_timeout(child: &mut Child, limit: Duration) -> std::io::Result<Option<ExitStatus>> {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("a child has a pid");
    let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())?;
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        let timeout = rustix::time::Timespec::try_from(left).unwrap_or(rustix::time::Timespec {
            tv_sec: 1,
            tv_nsec: 0,
        });
        let mut fds = [rustix::event::PollFd::new(
            &pidfd,
            rustix::event::PollFlags::IN,
        )];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}
