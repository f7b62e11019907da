//! The runtime's top-level error.

use std::path::PathBuf;

use crate::state::Status;

/// What went wrong in a runtime command.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// config.json is unusable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The id is not acceptable.
    #[error("invalid container id {0:?}: use letters, digits, '_', '+', '-' and '.'")]
    InvalidId(String),
    /// The id is taken.
    #[error("container {0} already exists")]
    Exists(String),
    /// No container has this id.
    #[error("container {0} does not exist")]
    NotFound(String),
    /// The operation does not fit the container's status.
    #[error("cannot {op} container {id}: it is {status}")]
    BadState {
        /// Container id.
        id: String,
        /// Its status.
        status: Status,
        /// The operation.
        op: &'static str,
    },
    /// Setting up the container's processes failed; the message carries
    /// the cause chain from inside.
    #[error("failed to create container {id}: {message}")]
    Init {
        /// Container id.
        id: String,
        /// What init reported.
        message: String,
    },
    /// Setting up an exec'd process failed; the message carries the cause
    /// chain from inside.
    #[error("failed to exec in container {id}: {message}")]
    Exec {
        /// Container id.
        id: String,
        /// What the exec setup process reported.
        message: String,
    },
    /// A cgroup operation failed.
    #[error(transparent)]
    Cgroup(#[from] wharf_cgroups::CgroupError),
    /// The seccomp profile does not compile.
    #[error("invalid config.json: linux.seccomp")]
    Seccomp(#[from] wharf_seccomp::CompileError),
    /// A hook failed.
    #[error(transparent)]
    Hook(#[from] crate::hooks::HookError),
    /// The console socket could not be used.
    #[error(transparent)]
    Console(#[from] crate::console::ConsoleError),
    /// The setup channel failed.
    #[error(transparent)]
    Channel(#[from] crate::channel::ChannelError),
    /// The exec'd process's description is unusable.
    #[error("invalid process: {0}")]
    Process(String),
    /// A signal name or number is unknown.
    #[error("unknown signal {0:?}")]
    Signal(String),
    /// A file operation failed.
    #[error("failed to {op} {path}")]
    Io {
        /// What was attempted.
        op: &'static str,
        /// On which file.
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A system call failed.
    #[error("failed to {op}")]
    Sys {
        /// What was attempted.
        op: String,
        #[source]
        source: std::io::Error,
    },
}

/// Shorthand for the crate's results.
pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

/// Maps an io::Error on a path into [`RuntimeError::Io`].
pub(crate) fn io_err(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> RuntimeError {
    let path = path.into();
    move |source| RuntimeError::Io { op, path, source }
}

/// Maps a system call error into [`RuntimeError::Sys`].
pub(crate) fn sys_err<E: Into<std::io::Error>>(
    op: impl Into<String>,
) -> impl FnOnce(E) -> RuntimeError {
    let op = op.into();
    move |e| RuntimeError::Sys {
        op,
        source: e.into(),
    }
}
