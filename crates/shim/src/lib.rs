//! `wharf shim`: the small monitor that is a container's parent. It
//! creates the container with the runtime library, holds its stdio (pipes
//! or the pty), writes its json-file log, runs execs, reaps exit statuses
//! and answers the daemon on a unix socket, so that containers outlive the
//! daemon (live restore). It is single-threaded and never uses an async
//! runtime: one poll loop.
//!
//! [`proto`] is the wire protocol, shared with the daemon's client. The
//! shim depends on the runtime and cgroups crates only; it knows nothing of
//! the engine's database or of HTTP.

#![forbid(unsafe_code)]

pub mod jsonlog;
mod launch;
mod process;
pub mod proto;
mod requests;
mod server;

pub use launch::main;

/// A shim failure.
#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    /// The configuration on stdin is not valid JSON of a [`proto::ShimConfig`].
    #[error("failed to parse the shim configuration")]
    Config(#[source] serde_json::Error),
    /// A system call or file operation failed.
    #[error("failed to {op}")]
    Io {
        /// What was being done.
        op: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The runtime failed.
    #[error("failed to {op} container {id}")]
    Runtime {
        /// What was being done.
        op: &'static str,
        /// The container id.
        id: String,
        /// The cause.
        #[source]
        source: Box<wharf_runtime::RuntimeError>,
    },
}

/// The shim's result.
pub type Result<T, E = ShimError> = std::result::Result<T, E>;

/// Maps an I/O failure to [`ShimError::Io`] naming `op`.
pub(crate) fn io_err<E: Into<std::io::Error>>(
    op: impl Into<String>,
) -> impl FnOnce(E) -> ShimError {
    move |e| ShimError::Io {
        op: op.into(),
        source: e.into(),
    }
}

/// An error and its causes, `: `-joined (what a reply carries).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
