//! Containers: create, start, stop, kill, restart, pause, wait, remove,
//! rename, update, prune, attach and resize. (being written: H-core)

use std::sync::Arc;

use crate::error::Result;
use crate::model::{
    Container, CreateOptions, ExitInfo, Resources, RestartPolicy, State, WaitCondition,
};
use crate::Engine;

/// The lifecycle's in-memory state (per-container locks, shims, waiters).
#[derive(Default)]
pub(crate) struct Inner {}

/// What `create` returns.
#[derive(Debug, Clone, Default)]
pub struct Created {
    /// The new container's id.
    pub id: String,
    /// Warnings for the client.
    pub warnings: Vec<String>,
}

/// Which streams an attach wants.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttachOptions {
    /// Send stdin.
    pub stdin: bool,
    /// Receive stdout.
    pub stdout: bool,
    /// Receive stderr.
    pub stderr: bool,
}

/// An attached stream: the shim's socket after the handshake. Without a
/// tty, what it yields is already in Docker's 8-byte-header framing;
/// with one, raw bytes. Writing sends stdin; shutting down the write half
/// is stdin's end (a half-close, not a detach).
#[derive(Debug)]
pub struct Attached {
    /// The stream.
    pub stream: tokio::net::UnixStream,
    /// Whether the process has a tty.
    pub tty: bool,
}

/// A registered wait: the API sends its headers once it has one.
#[derive(Debug)]
pub struct Waiter {}

impl Waiter {
    /// Waits for the condition; the exit of the run that ended it.
    pub async fn result(self) -> Result<ExitInfo> {
        todo!()
    }
}

impl Engine {
    /// Creates a container (metadata, snapshot, /etc files, volumes); does not start it.
    pub async fn create(&self, _opts: CreateOptions) -> Result<Created> {
        todo!()
    }

    /// All containers (running only unless `all`), newest first.
    pub fn containers(&self, _all: bool) -> Result<Vec<Container>> {
        todo!()
    }

    /// One container by full id, unique id prefix or name (404 otherwise).
    pub fn container(&self, _name_or_id: &str) -> Result<Container> {
        todo!()
    }

    /// Watches a container's state (for logs --follow and the like).
    pub fn watch_state(&self, _name_or_id: &str) -> Result<tokio::sync::watch::Receiver<State>> {
        todo!()
    }

    /// Starts it (304 NotModified when running). Pending attaches are
    /// connected to the shim before the process runs.
    pub async fn start(self: &Arc<Self>, _name_or_id: &str) -> Result<()> {
        todo!()
    }

    /// Stop signal, then SIGKILL after `timeout` seconds (container's or 10; -1 waits forever).
    pub async fn stop(
        self: &Arc<Self>,
        _name_or_id: &str,
        _timeout: Option<i64>,
        _signal: Option<String>,
    ) -> Result<()> {
        todo!()
    }

    /// Sends a signal (default SIGKILL); 409 when not running.
    pub async fn kill(&self, _name_or_id: &str, _signal: Option<&str>) -> Result<()> {
        todo!()
    }

    /// stop + start.
    pub async fn restart(self: &Arc<Self>, _name_or_id: &str, _timeout: Option<i64>) -> Result<()> {
        todo!()
    }

    /// Freezes it.
    pub fn pause(&self, _name_or_id: &str) -> Result<()> {
        todo!()
    }

    /// Thaws it.
    pub fn unpause(&self, _name_or_id: &str) -> Result<()> {
        todo!()
    }

    /// Registers a wait for `condition`.
    pub async fn wait(&self, _name_or_id: &str, _condition: WaitCondition) -> Result<Waiter> {
        todo!()
    }

    /// Removes it (409 when running and not `force`); `volumes` removes its anonymous volumes.
    pub async fn remove(
        self: &Arc<Self>,
        _name_or_id: &str,
        _force: bool,
        _volumes: bool,
    ) -> Result<()> {
        todo!()
    }

    /// Renames it (409 when the name is taken).
    pub fn rename(&self, _name_or_id: &str, _new_name: &str) -> Result<()> {
        todo!()
    }

    /// Changes its limits (live, through its cgroup) and restart policy; returns warnings.
    pub fn update(
        &self,
        _name_or_id: &str,
        _resources: Option<Resources>,
        _restart: Option<RestartPolicy>,
    ) -> Result<Vec<String>> {
        todo!()
    }

    /// Removes stopped containers created before `until` (ns) and matching
    /// `labels` (`k`, `k=v`, `!k`…); returns their ids and the space freed.
    pub async fn prune(
        self: &Arc<Self>,
        _until: Option<i64>,
        _labels: &[String],
    ) -> Result<(Vec<String>, u64)> {
        todo!()
    }

    /// Attaches to its stdio; for a container not yet started, waits for
    /// the start (and is connected before its process runs).
    pub async fn attach(&self, _name_or_id: &str, _opts: AttachOptions) -> Result<Attached> {
        todo!()
    }

    /// Resizes its pty.
    pub async fn resize(&self, _name_or_id: &str, _height: u16, _width: u16) -> Result<()> {
        todo!()
    }
}
