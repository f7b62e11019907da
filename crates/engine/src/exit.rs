//! What happens when a container's process ended: the exit is recorded
//! (State.ExitCode, OOMKilled, FinishedAt), the rootfs unmounted, the
//! events `oom` and `die` emitted, waiters woken; then `--rm` removes the
//! container, or its restart policy starts it again after Docker's back-off.

use std::sync::Arc;
use std::time::Duration;

use crate::model::{ExitInfo, Status};
use crate::registry::{blocking, now_rfc3339, Entry};
use crate::Engine;

impl Engine {
    /// Records the exit of the current run of `entry` and applies the
    /// container's policy.
    pub(crate) async fn handle_exit(self: &Arc<Self>, entry: &Arc<Entry>, exit: ExitInfo) {
        let op = entry.op.lock().await;
        let finished_at = if exit.finished_at.is_empty() {
            now_rfc3339()
        } else {
            exit.finished_at.clone()
        };
        let recorded = entry.modify(self, |r| {
            r.shim_live = false;
            let ran = r.started.take().map(|t| t.elapsed()).unwrap_or_default();
            let auto_remove = r.c.options.host.auto_remove;
            let delay = if auto_remove || r.exit_on_next || r.c.state.status == Status::Removing {
                None
            } else {
                r.backoff.next(
                    &r.c.options.host.restart,
                    exit.exit_code,
                    r.c.restart_count,
                    r.c.state.manually_stopped,
                    ran,
                )
            };
            let s = &mut r.c.state;
            s.pid = 0;
            s.exit_code = exit.exit_code;
            s.oom_killed = exit.oom_killed;
            s.finished_at = finished_at.clone();
            if s.status != Status::Removing {
                s.status = if delay.is_some() {
                    Status::Restarting
                } else {
                    Status::Exited
                };
            }
            if delay.is_some() {
                r.c.restart_count += 1;
            }
            Ok((delay, r.gen, auto_remove, r.c.clone()))
        });
        let (delay, gen, auto_remove, c) = match recorded {
            Ok(v) => v,
            Err(e) => {
                eprintln!("wharf: failed to record the exit of {}: {e}", entry.id);
                (None, 0, false, entry.get())
            }
        };
        let id = c.id.clone();
        self.forget_execs(&id);
        self.network_down_entry(entry);
        let removing = auto_remove && c.state.status != Status::Removing;
        // A `--rm` container's removal (below) unmounts its rootfs and
        // /dev/shm and deletes its bundle itself, once: the last unmount of
        // an overlay syncs the filesystem under its upper directory.
        if !removing {
            let engine = self.clone();
            blocking(move || {
                let _ = engine.store().unmount_snapshot_by_id(&id);
                let _ = std::fs::remove_dir_all(engine.bundle_dir(&id));
                crate::spec::release_shm(&engine.container_dir(&id));
            });
        }
        if exit.oom_killed {
            self.emit_container(&c, "oom", &[]);
        }
        self.emit_container(&c, "die", &[("exitCode", exit.exit_code.to_string())]);
        entry.life.send_modify(|l| {
            l.exits += 1;
            l.last = ExitInfo {
                exit_code: exit.exit_code,
                oom_killed: exit.oom_killed,
                finished_at,
            };
        });
        if removing {
            if let Err(e) = self.remove_locked(entry, true).await {
                eprintln!("wharf: failed to auto-remove {}: {e}", entry.id);
            }
            return;
        }
        drop(op);
        if let Some(delay) = delay {
            self.schedule_restart(entry.clone(), delay, gen);
        }
    }

    /// Starts the container again after `delay`, unless a manual
    /// operation came in between (its generation moved on).
    fn schedule_restart(self: &Arc<Self>, entry: Arc<Entry>, delay: Duration, gen: u64) {
        let engine = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _op = entry.op.lock().await;
            {
                let r = entry.rec();
                if r.gen != gen || r.c.state.status != Status::Restarting {
                    return;
                }
            }
            if let Err(e) = engine.start_locked(&entry, false).await {
                eprintln!("wharf: failed to restart {}: {e}", entry.id);
            }
        });
    }
}
