//! Containers: the types of the lifecycle API and the lookups. The
//! operations live beside: create in [`crate::create`], start and the exit
//! monitor in [`crate::start`], stop/kill/restart/pause in
//! [`crate::stop`], remove and prune in [`crate::remove`], wait, attach and
//! resize in [`crate::attach`], rename and update in [`crate::update`].

use tokio::sync::watch;

use crate::error::{EngineError, Result};
use crate::model::{Container, ExitInfo, State, Status, WaitCondition};
use crate::registry::Life;
use crate::shim_client::ShimClient;
use crate::Engine;

pub(crate) use crate::registry::Inner;

/// The length of a short id (`docker ps`'s).
pub(crate) const SHORT_ID: usize = 12;

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
pub struct Waiter {
    pub(crate) rx: watch::Receiver<Life>,
    pub(crate) condition: WaitCondition,
    /// Exits seen when the wait was registered.
    pub(crate) seen: u64,
    /// Already satisfied.
    pub(crate) ready: Option<ExitInfo>,
}

impl Waiter {
    /// Waits for the condition; the exit of the run that ended it.
    pub async fn result(mut self) -> Result<ExitInfo> {
        if let Some(exit) = self.ready {
            return Ok(exit);
        }
        loop {
            {
                let life = self.rx.borrow_and_update();
                let done = match self.condition {
                    WaitCondition::Removed => life.removed,
                    _ => life.exits > self.seen || life.removed,
                };
                if done {
                    return Ok(life.last.clone());
                }
            }
            if self.rx.changed().await.is_err() {
                // The entry is gone: it was removed.
                return Ok(self.rx.borrow().last.clone());
            }
        }
    }
}

/// Running in the sense of Docker's `State.Running` (restarting counts).
pub(crate) fn is_running(s: Status) -> bool {
    matches!(s, Status::Running | Status::Paused | Status::Restarting)
}

/// Docker's 409 for an operation that needs a running container.
pub(crate) fn not_running(id: &str) -> EngineError {
    EngineError::conflict(format!("Container {id} is not running"))
}

impl Engine {
    /// All containers (running only unless `all`), newest first.
    pub fn containers(&self, all: bool) -> Result<Vec<Container>> {
        let mut out: Vec<Container> = self
            .inner
            .all()
            .iter()
            .map(|e| e.get())
            .filter(|c| all || is_running(c.state.status))
            .collect();
        // RFC 3339 with trimmed fractions does not sort as text.
        out.sort_by_cached_key(|c| {
            let t = time::OffsetDateTime::parse(
                &c.created,
                &time::format_description::well_known::Rfc3339,
            )
            .map(|t| t.unix_timestamp_nanos())
            .unwrap_or(0);
            (std::cmp::Reverse(t), std::cmp::Reverse(c.id.clone()))
        });
        Ok(out)
    }

    /// One container by full id, unique id prefix or name (404 otherwise).
    pub fn container(&self, name_or_id: &str) -> Result<Container> {
        Ok(self.entry(name_or_id)?.get())
    }

    /// The full id of a container named by id, prefix or name.
    pub fn find_id(&self, name_or_id: &str) -> Result<String> {
        Ok(self.entry(name_or_id)?.id.clone())
    }

    /// Watches a container's state (for logs --follow and the like).
    pub fn watch_state(&self, name_or_id: &str) -> Result<watch::Receiver<State>> {
        Ok(self.entry(name_or_id)?.watch_state())
    }

    /// The client of the shim of a running container (409 when none runs).
    pub fn shim(&self, name_or_id: &str) -> Result<ShimClient> {
        let e = self.entry(name_or_id)?;
        if !e.rec().shim_live {
            return Err(not_running(&e.id));
        }
        Ok(ShimClient::new(self.shim_dir(&e.id)))
    }

    /// `<exec-root>/shims/<short id>`: the short id (12 digits, unique
    /// among the containers, see create) keeps `shim.sock` within the 108
    /// bytes of a unix socket path even under a long exec root.
    pub(crate) fn shim_dir(&self, id: &str) -> std::path::PathBuf {
        self.config()
            .exec_root
            .join("shims")
            .join(&id[..id.len().min(SHORT_ID)])
    }

    /// `<exec-root>/bundles/<id>`.
    pub(crate) fn bundle_dir(&self, id: &str) -> std::path::PathBuf {
        self.config().exec_root.join("bundles").join(id)
    }

    /// The runtime library over `<exec-root>/runtime`.
    pub(crate) fn runtime(&self) -> wharf_runtime::Runtime {
        wharf_runtime::Runtime::new(self.config().exec_root.join("runtime"))
    }
}
