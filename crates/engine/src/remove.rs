//! remove and prune. The row is marked `removing` first and deleted last
//! (see [`crate::records`]), so a crash in between is finished by the next
//! open, never leaves a container without its parts.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{EngineError, Kind, Result};
use crate::model::{Container, Event, Status};
use crate::registry::{blocking, Entry};
use crate::Engine;

/// How long a force removal waits for the killed container's exit.
const KILL_WAIT: Duration = Duration::from_secs(30);

/// Bytes of the files under `dir` (not following symlinks).
pub(crate) fn du(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// Whether `c` matches every label filter (`k`, `k=v`, `!k`, `!k=v`).
pub(crate) fn labels_match(c: &Container, filters: &[String]) -> bool {
    filters.iter().all(|f| {
        let (neg, f) = match f.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, f.as_str()),
        };
        let hit = match f.split_once('=') {
            Some((k, v)) => c.labels.get(k).is_some_and(|x| x == v),
            None => c.labels.contains_key(f),
        };
        hit != neg
    })
}

impl Engine {
    /// Removes it (409 when running and not `force`); `volumes` removes its anonymous volumes.
    pub async fn remove(
        self: &Arc<Self>,
        name_or_id: &str,
        force: bool,
        volumes: bool,
    ) -> Result<()> {
        let entry = self.entry(name_or_id)?;
        loop {
            let op = entry.op.lock().await;
            if entry.life.borrow().removed {
                // Removed meanwhile (`--rm` after the kill).
                return Ok(());
            }
            let status = entry.status();
            match status {
                Status::Removing => {
                    return Err(EngineError::conflict(format!(
                        "removal of container {} is already in progress",
                        entry.id
                    )))
                }
                Status::Running | Status::Paused | Status::Restarting if !force => {
                    let what = if status == Status::Restarting {
                        "restarting"
                    } else {
                        "running"
                    };
                    return Err(EngineError::conflict(format!(
                        "You cannot remove a {what} container {}. Stop the container before attempting removal or force remove",
                        entry.id
                    )));
                }
                Status::Restarting => {
                    entry.modify(self, |r| {
                        r.gen += 1;
                        r.c.state.status = Status::Exited;
                        Ok(())
                    })?;
                }
                Status::Running | Status::Paused => {
                    let seen = entry.life.borrow().exits;
                    entry.modify(self, |r| {
                        r.gen += 1;
                        r.exit_on_next = true;
                        Ok(())
                    })?;
                    drop(op);
                    let client = crate::shim_client::ShimClient::new(self.shim_dir(&entry.id));
                    let _ = client.kill(libc::SIGKILL, true).await;
                    if !Self::wait_exit(&entry, seen, Some(KILL_WAIT)).await {
                        return Err(EngineError::new(
                            Kind::System,
                            format!(
                                "Could not kill running container {}, cannot remove",
                                entry.id
                            ),
                        ));
                    }
                    continue;
                }
                _ => {}
            }
            return self.remove_locked(&entry, volumes).await;
        }
    }

    /// Removes a stopped container whose op lock the caller holds. The row
    /// goes to phase `removing` (its name freed) in one transaction, the
    /// files follow, the row goes last; a crash in between is finished by
    /// the next open. As in dockerd (`cleanupContainer`), the files go
    /// before `removed` waiters and the `destroy` event hear of it: a
    /// client of `rm` or `run --rm` (waiting for `condition=removed`) never
    /// sees a removed container's files.
    pub(crate) async fn remove_locked(
        self: &Arc<Self>,
        entry: &Arc<Entry>,
        volumes: bool,
    ) -> Result<()> {
        let c = {
            let mut r = entry.rec();
            r.gen += 1;
            r.c.state.status = Status::Removing;
            r.c.clone()
        };
        let id = c.id.clone();
        if let Err(e) = blocking(|| self.db().begin_removal(&id)) {
            entry.rec().c.state.status = Status::Dead;
            return Err(e);
        }
        if let Err(e) = blocking(|| self.finish_removal(&id)) {
            entry.rec().c.state.status = Status::Dead;
            return Err(e);
        }
        self.inner.remove(&c.id);
        if volumes {
            for m in c
                .mounts
                .iter()
                .filter(|m| m.anonymous && m.kind == "volume")
            {
                if let Some(name) = &m.name {
                    let _ = blocking(|| self.volumes().remove(name));
                }
            }
        }
        for p in std::mem::take(&mut entry.rec().pending) {
            let _ = p.reply.send(Err(crate::registry::no_such_container(&c.id)));
        }
        entry.life.send_modify(|l| l.removed = true);
        self.emit_container(&c, "destroy", &[]);
        Ok(())
    }

    /// Deletes the files of a container whose row is in phase
    /// `removing`, then the row.
    fn finish_removal(&self, id: &str) -> Result<()> {
        self.remove_parts(id).map_err(|e| EngineError {
            message: format!("unable to remove filesystem for {id}: {}", e.message),
            ..e
        })?;
        self.db().delete_container(id)
    }

    /// Removes a container's runtime state, shim and bundle directories,
    /// snapshot and container directory (each may already be gone).
    pub(crate) fn remove_parts(&self, id: &str) -> Result<()> {
        let runtime = self.runtime();
        if runtime.root.join(id).exists() {
            let _ = runtime.delete(id, true);
        }
        let _ = std::fs::remove_dir_all(self.shim_dir(id));
        let _ = std::fs::remove_dir_all(self.bundle_dir(id));
        match self.store().remove_snapshot(id) {
            Ok(()) => {}
            Err(wharf_image::store::StoreError::Snapshot(
                wharf_image::snapshot::SnapshotError::NotFound { .. },
            )) => {}
            Err(e) => return Err(EngineError::system("failed to remove the rootfs", e)),
        }
        let dir = self.container_dir(id);
        crate::spec::release_shm(&dir);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(EngineError::system(
                format!("failed to remove {}", dir.display()),
                e,
            )),
        }
    }

    /// Removes stopped containers created before `until` (ns) and matching
    /// `labels` (`k`, `k=v`, `!k`…); returns their ids and the space freed.
    pub async fn prune(
        self: &Arc<Self>,
        until: Option<i64>,
        labels: &[String],
    ) -> Result<(Vec<String>, u64)> {
        let mut ids = Vec::new();
        let mut freed = 0;
        for c in self.containers(true)? {
            if matches!(
                c.state.status,
                Status::Running | Status::Paused | Status::Restarting | Status::Removing
            ) || !labels_match(&c, labels)
            {
                continue;
            }
            if let Some(until) = until {
                let created = time::OffsetDateTime::parse(
                    &c.created,
                    &time::format_description::well_known::Rfc3339,
                )
                .map(|t| t.unix_timestamp_nanos() as i64)
                .unwrap_or(0);
                if created >= until {
                    continue;
                }
            }
            let size = self
                .store()
                .snapshot(&c.snapshot)
                .map(|s| blocking(|| du(&s.upper)))
                .unwrap_or(0);
            match self.remove(&c.id, false, false).await {
                Ok(()) => {
                    ids.push(c.id);
                    freed += size;
                }
                Err(e) if matches!(e.kind, Kind::Conflict | Kind::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        self.events().emit(Event {
            kind: "container".into(),
            action: "prune".into(),
            id: String::new(),
            attributes: [("reclaimed".to_string(), freed.to_string())].into(),
            time_nano: 0,
        });
        Ok((ids, freed))
    }
}
