//! Opening the engine and live restore: re-attaching to the shims of
//! running containers, recording the exits that happened while no daemon
//! ran, finishing the creates and removals a crash interrupted, and
//! applying restart policies.

use std::sync::Arc;

use crate::error::{EngineError, Result};
use crate::model::{Container, ExitInfo, Status};
use crate::records::Phase;
use crate::registry::{now_rfc3339, Entry, Inner};
use crate::shim_client::ShimClient;
use crate::{db, events, restart, volumes, Engine, EngineConfig};

/// See [`Engine::open`].
pub(crate) async fn open(config: EngineConfig) -> Result<Arc<Engine>> {
    let engine = tokio::task::spawn_blocking(move || open_blocking(config))
        .await
        .map_err(|e| EngineError::system("failed to open the engine", e))??;
    let engine = Arc::new(engine);
    let mut to_start = Vec::new();
    for entry in engine.inner.all() {
        if let Some(e) = engine.reconcile(&entry).await {
            to_start.push(e);
        }
    }
    engine.resume_networks().await;
    for entry in to_start {
        let engine = engine.clone();
        tokio::spawn(async move {
            let _op = entry.op.lock().await;
            if let Err(e) = engine.start_locked(&entry, false).await {
                eprintln!("wharf: failed to start {} on boot: {e}", entry.id);
            }
        });
    }
    Ok(engine)
}

/// The directories, the stores, the rows: everything before the shims.
fn open_blocking(config: EngineConfig) -> Result<Engine> {
    let mkdir = |p: std::path::PathBuf| {
        std::fs::create_dir_all(&p)
            .map_err(|e| EngineError::system(format!("failed to create {}", p.display()), e))
    };
    mkdir(config.data_root.join("containers"))?;
    for d in ["runtime", "shims", "bundles"] {
        mkdir(config.exec_root.join(d))?;
    }
    let store = wharf_image::store::Store::open(&config.data_root).map_err(|e| {
        EngineError::system(
            format!(
                "failed to open the image store in {}",
                config.data_root.display()
            ),
            e,
        )
    })?;
    let db = Arc::new(db::Db::open(&config.data_root.join("wharf.db"))?);
    db.migrate_containers()?;
    let volumes = volumes::Volumes::open(&config.data_root, db.clone())?;
    let net = crate::networks::NetState::open(db.clone(), &config.network)?;
    let engine = Engine {
        config,
        store,
        db,
        inner: Inner::default(),
        events: events::Events::new(1000),
        volumes,
        execs: crate::exec::Execs::new(),
        net,
    };
    engine.open_networks()?;
    for (phase, row) in engine.db.load_containers()? {
        match (phase, row) {
            // A removal cut short before its row said so.
            (Phase::Ready, Ok(c)) if c.state.status == Status::Removing => {
                if engine.remove_parts(&c.id).is_ok() {
                    let _ = engine.db.delete_container(&c.id);
                }
            }
            (Phase::Ready, Ok(c)) => {
                let name = c.name.clone();
                engine.inner.insert(Entry::new(c), &name);
            }
            (Phase::Creating, Ok(c)) => engine.undo_create(&c),
            (Phase::Removing, Ok(c)) => {
                if engine.remove_parts(&c.id).is_ok() {
                    let _ = engine.db.delete_container(&c.id);
                }
            }
            (_, Err((id, e))) => {
                eprintln!("wharf: {}; its parts are removed", e.full_message());
                if engine.remove_parts(&id).is_ok() {
                    let _ = engine.db.delete_container(&id);
                }
            }
        }
    }
    // A directory whose removal a crash or power loss cut short.
    if let Err(e) = engine.store.remove_orphan_snapshots() {
        eprintln!("wharf: failed to remove orphan snapshot directories: {e}");
    }
    // A record whose directory a power loss took (they are not synced).
    if let Err(e) = engine.store.repair_snapshot_dirs() {
        eprintln!("wharf: failed to repair snapshot directories: {e}");
    }
    Ok(engine)
}

impl Engine {
    /// Brings one container found on open up to date; returns it when its
    /// restart policy asks for a start.
    async fn reconcile(self: &Arc<Self>, entry: &Arc<Entry>) -> Option<Arc<Entry>> {
        let c = entry.get();
        let client = ShimClient::new(self.shim_dir(&c.id));
        let was_running = matches!(c.state.status, Status::Running | Status::Paused);
        if was_running && client.is_alive() {
            entry.rec().shim_live = true;
            entry.rec().started = Some(std::time::Instant::now());
            // The freezer may have changed while no daemon watched.
            if let Ok(rc) = self.runtime().load(&c.id) {
                let paused = rc.status == wharf_runtime::Status::Paused;
                let _ = entry.modify(self, |r| {
                    r.c.state.status = if paused {
                        Status::Paused
                    } else {
                        Status::Running
                    };
                    Ok(())
                });
            }
            self.spawn_monitor(entry.clone(), client);
            crate::health::spawn(self.clone(), c.id.clone());
            return None;
        }
        if was_running || c.state.status == Status::Restarting {
            let exit = ShimClient::read_exit(&self.shim_dir(&c.id)).unwrap_or_else(|| ExitInfo {
                exit_code: 255,
                oom_killed: false,
                finished_at: now_rfc3339(),
            });
            if c.state.status == Status::Restarting {
                let _ = entry.modify(self, |r| {
                    r.c.state.status = Status::Exited;
                    Ok(())
                });
            } else {
                // Records it like a live exit: die event, policy, --rm.
                self.handle_exit(entry, exit).await;
                return None;
            }
        } else if client.is_alive() {
            // A start that never completed: its shim holds a created
            // container. Kill it; the start was not reported as done.
            let _ = client.kill(libc::SIGKILL, true).await;
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), client.wait()).await;
        }
        let engine = self.clone();
        let id = c.id.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let _ = engine.store().unmount_snapshot_by_id(&id);
            let runtime = engine.runtime();
            if runtime.root.join(&id).exists() {
                let _ = runtime.delete(&id, true);
            }
        })
        .await;
        let c: Container = entry.get();
        if c.options.host.auto_remove && c.state.status == Status::Exited {
            let _op = entry.op.lock().await;
            let _ = self.remove_locked(entry, true).await;
            return None;
        }
        let started_before = c.state.started_at != crate::registry::ZERO_TIME;
        let policy = &c.options.host.restart;
        (started_before
            && c.state.status == Status::Exited
            && restart::start_on_boot(
                policy,
                c.state.exit_code,
                c.restart_count,
                c.state.manually_stopped,
            ))
        .then(|| entry.clone())
    }
}
