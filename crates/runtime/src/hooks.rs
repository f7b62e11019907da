//! OCI lifecycle hooks: each runs with the container's state on stdin, its
//! own args and env, and an optional timeout; a failing createRuntime,
//! createContainer, startContainer or prestart hook fails the operation.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
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
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped());
    let spawn_err = |source| HookError::Spawn {
        kind,
        path: path.clone(),
        source,
    };
    let mut child = cmd.spawn().map_err(spawn_err)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is not an error.
        let _ = stdin.write_all(state);
    }
    let deadline = hook
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| (t, Instant::now() + Duration::from_secs(t as u64)));
    let status = loop {
        if let Some(status) = child.try_wait().map_err(spawn_err)? {
            break status;
        }
        if let Some((secs, at)) = deadline {
            if Instant::now() >= at {
                let _ = child.kill();
                let _ = child.wait();
                return Err(HookError::Timeout { kind, path, secs });
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    if status.success() {
        return Ok(());
    }
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
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
