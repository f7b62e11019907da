//! The OCI runtime: turns a bundle (a root filesystem and a config.json)
//! into an isolated, limited process, and follows the container through the
//! lifecycle of the OCI runtime spec (create, start, kill, delete) plus
//! runc's extras (run, exec, pause, resume, ps, list, spec, features).
//!
//! It depends on `wharf-cgroups`, `wharf-seccomp` and `wharf-sys` only; it
//! knows nothing of images, engines or HTTP. It is synchronous and forks,
//! so it must run in a single-threaded process.
#![forbid(unsafe_code)]

pub mod caps;
pub mod cgroup;
pub mod channel;
pub mod config;
pub mod console;
pub mod create;
pub mod error;
pub mod exec;
pub mod features;
pub mod hooks;
pub mod init;
pub mod lifecycle;
pub mod namespaces;
pub mod rootfs;
pub mod run;
pub mod seccomp_listener;
pub mod setup;
pub mod signals;
pub mod spec;
pub mod state;
pub mod tty_proxy;

pub use create::CreateOptions;
pub use error::{Result, RuntimeError};
pub use state::Status;

use std::path::PathBuf;

/// The runtime, rooted at a state directory (runc's `--root`).
#[derive(Debug, Clone)]
pub struct Runtime {
    /// Where container state lives: `<root>/<id>/`.
    pub root: PathBuf,
}

impl Runtime {
    /// The default state root.
    pub const DEFAULT_ROOT: &'static str = "/run/wharf/runtime";

    /// A runtime keeping its state under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Runtime { root: root.into() }
    }
}
