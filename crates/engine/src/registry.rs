//! The containers in memory: one [`Entry`] per container, found by id,
//! name or unique id prefix. An entry carries the async lock that
//! serializes the operations on its container, its record (a copy of the
//! database row, changed only through [`Entry::modify`], which writes the
//! row in the same step) and the channels that waiters and watchers follow.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use tokio::sync::{oneshot, watch};

use crate::error::{EngineError, Result};
use crate::model::{Container, Event, ExitInfo, State, Status};
use crate::restart::Backoff;
use crate::Engine;

/// Go's zero time, as Docker shows a time that never was.
pub(crate) const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Now in RFC 3339 with nanoseconds (Docker's RFC3339Nano).
pub(crate) fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| ZERO_TIME.to_string())
}

/// Runs blocking work (SQLite, mounts, file trees) from async code: in
/// place on a multi-threaded runtime, telling it to move other tasks away.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// A mapper of a cause to a 500 saying `what` failed.
pub(crate) fn sys_err<E>(what: impl Into<String>) -> impl FnOnce(E) -> EngineError
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let what = what.into();
    move |e| EngineError::system(what, e)
}

/// How the runs of a container went, for waiters.
#[derive(Debug, Clone, Default)]
pub(crate) struct Life {
    /// Exits recorded since the daemon opened.
    pub exits: u64,
    /// The last exit.
    pub last: ExitInfo,
    /// The container is gone.
    pub removed: bool,
}

/// An attach waiting for the container's next start.
pub(crate) struct PendingAttach {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub reply: oneshot::Sender<Result<tokio::net::UnixStream>>,
}

/// What the engine knows of one container beyond its row.
pub(crate) struct Rec {
    /// The container (the row's content).
    pub c: Container,
    /// A shim serves it (spawned, not yet reaped).
    pub shim_live: bool,
    /// Attaches waiting for the next start.
    pub pending: Vec<PendingAttach>,
    /// The restart back-off.
    pub backoff: Backoff,
    /// Bumped by every manual start, stop, kill and removal: a policy
    /// restart scheduled before is dropped.
    pub gen: u64,
    /// The next exit is final (stop, kill with the stop signal): no policy restart.
    pub exit_on_next: bool,
    /// When the current run started.
    pub started: Option<Instant>,
}

/// One container.
pub(crate) struct Entry {
    /// Its id.
    pub id: String,
    /// Serializes start, stop, remove and exit handling.
    pub op: tokio::sync::Mutex<()>,
    rec: Mutex<Rec>,
    state_tx: watch::Sender<State>,
    /// Exits and removal, for waiters.
    pub life: watch::Sender<Life>,
}

impl Entry {
    pub(crate) fn new(c: Container) -> Arc<Entry> {
        let (state_tx, _) = watch::channel(c.state.clone());
        let last = ExitInfo {
            exit_code: c.state.exit_code,
            oom_killed: c.state.oom_killed,
            finished_at: c.state.finished_at.clone(),
        };
        let (life, _) = watch::channel(Life {
            last,
            ..Life::default()
        });
        Arc::new(Entry {
            id: c.id.clone(),
            op: tokio::sync::Mutex::new(()),
            rec: Mutex::new(Rec {
                c,
                shim_live: false,
                pending: Vec::new(),
                backoff: Backoff::default(),
                gen: 0,
                exit_on_next: false,
                started: None,
            }),
            state_tx,
            life,
        })
    }

    /// The record, locked (for reads and changes that are not persisted).
    pub(crate) fn rec(&self) -> MutexGuard<'_, Rec> {
        self.rec.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of the container.
    pub(crate) fn get(&self) -> Container {
        self.rec().c.clone()
    }

    /// Its status now.
    pub(crate) fn status(&self) -> Status {
        self.rec().c.state.status
    }

    /// Runs `f` on the record; a changed container is written to the
    /// database before the lock is let go (and nothing changes when that
    /// fails or `f` fails). State watchers see the new state.
    pub(crate) fn modify<T>(
        &self,
        engine: &Engine,
        f: impl FnOnce(&mut Rec) -> Result<T>,
    ) -> Result<T> {
        let mut rec = self.rec();
        let before = rec.c.clone();
        let out = match f(&mut rec) {
            Ok(v) => v,
            Err(e) => {
                rec.c = before;
                return Err(e);
            }
        };
        if rec.c != before {
            match engine.db().save_container(&rec.c) {
                Ok(Ok(())) => {}
                Ok(Err(holder)) => {
                    let name = rec.c.name.clone();
                    rec.c = before;
                    return Err(name_conflict(&name, &holder));
                }
                Err(e) => {
                    rec.c = before;
                    return Err(e);
                }
            }
            if rec.c.state != before.state {
                self.state_tx.send_replace(rec.c.state.clone());
            }
        }
        Ok(out)
    }

    /// Watches the state.
    pub(crate) fn watch_state(&self) -> watch::Receiver<State> {
        self.state_tx.subscribe()
    }
}

/// Docker's 409 for a taken name.
pub(crate) fn name_conflict(name: &str, holder: &str) -> EngineError {
    EngineError::conflict(format!(
        "Conflict. The container name \"/{name}\" is already in use by container \"{holder}\". You have to remove (or rename) that container to be able to reuse that name."
    ))
}

/// Docker's 404.
pub(crate) fn no_such_container(name_or_id: &str) -> EngineError {
    EngineError::not_found(format!("No such container: {name_or_id}"))
}

/// The maps from ids and names to entries.
#[derive(Default)]
pub(crate) struct Inner {
    maps: RwLock<Maps>,
}

#[derive(Default)]
struct Maps {
    by_id: HashMap<String, Arc<Entry>>,
    by_name: HashMap<String, String>,
}

impl Inner {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Maps> {
        self.maps.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Maps> {
        self.maps.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds an entry.
    pub(crate) fn insert(&self, e: Arc<Entry>, name: &str) {
        let mut m = self.write();
        m.by_name.insert(name.to_string(), e.id.clone());
        m.by_id.insert(e.id.clone(), e);
    }

    /// Drops an entry.
    pub(crate) fn remove(&self, id: &str) {
        let mut m = self.write();
        m.by_id.remove(id);
        m.by_name.retain(|_, v| v != id);
    }

    /// Points `new` instead of `old` at `id`.
    pub(crate) fn rename(&self, id: &str, old: &str, new: &str) {
        let mut m = self.write();
        if m.by_name.get(old).is_some_and(|v| v == id) {
            m.by_name.remove(old);
        }
        m.by_name.insert(new.to_string(), id.to_string());
    }

    /// Every entry.
    pub(crate) fn all(&self) -> Vec<Arc<Entry>> {
        self.read().by_id.values().cloned().collect()
    }

    /// The entry by full id, name (with or without `/`) or unique id
    /// prefix, in Docker's order.
    pub(crate) fn find(&self, name_or_id: &str) -> Result<Arc<Entry>> {
        let m = self.read();
        if let Some(e) = m.by_id.get(name_or_id) {
            return Ok(e.clone());
        }
        let name = name_or_id.strip_prefix('/').unwrap_or(name_or_id);
        if let Some(e) = m.by_name.get(name).and_then(|id| m.by_id.get(id)) {
            return Ok(e.clone());
        }
        if name_or_id.is_empty() {
            return Err(no_such_container(name_or_id));
        }
        let mut found = m.by_id.iter().filter(|(id, _)| id.starts_with(name_or_id));
        match (found.next(), found.next()) {
            (Some((_, e)), None) => Ok(e.clone()),
            (Some(_), Some(_)) => Err(EngineError::invalid(format!(
                "Multiple IDs found with provided prefix: {name_or_id}"
            ))),
            _ => Err(no_such_container(name_or_id)),
        }
    }
}

impl Engine {
    /// The entry of a container.
    pub(crate) fn entry(&self, name_or_id: &str) -> Result<Arc<Entry>> {
        self.inner.find(name_or_id)
    }

    /// Emits a container event with Docker's attributes: the labels,
    /// `image` (as the user named it), `name`, and `extra`.
    pub(crate) fn emit_container(&self, c: &Container, action: &str, extra: &[(&str, String)]) {
        let mut attributes: BTreeMap<String, String> = c.labels.clone();
        attributes.insert("image".into(), c.options.image.clone());
        attributes.insert("name".into(), c.name.clone());
        for (k, v) in extra {
            attributes.insert((*k).to_string(), v.clone());
        }
        self.events().emit(Event {
            kind: "container".into(),
            action: action.into(),
            id: c.id.clone(),
            attributes,
            time_nano: 0,
        });
    }
}
