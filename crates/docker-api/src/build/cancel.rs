//! A build whose client went away stops, as dockerd cancels one (its
//! request context ends; the classic builder kills and removes the
//! running step's container). The builder child leads a process group of
//! its own, killed with SIGKILL as soon as the response's channel closes;
//! the step containers it ran (each a session of its own, so outside that
//! group) and their snapshots are then removed by a `wharf build-internal`
//! reap job, which finds the snapshots of builders that are no more.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};
use serde_json::json;
use tokio::sync::oneshot;
use wharf_engine::Engine;

/// The builder's process group, which may be killed until its leader has
/// exited (not yet reaped, so its id is not reused meanwhile).
pub(super) struct Group {
    pid: Option<Pid>,
    alive: Mutex<bool>,
}

impl Group {
    /// The group led by `child` (spawned with `process_group(0)`).
    pub fn of(child: &Child) -> Group {
        Group {
            pid: Pid::from_raw(child.id() as i32),
            alive: Mutex::new(true),
        }
    }

    /// SIGKILLs every process of the group, unless its leader exited.
    pub fn kill(&self) {
        let alive = self.alive.lock().expect("not poisoned");
        if let (true, Some(pid)) = (*alive, self.pid) {
            let _ = rustix::process::kill_process_group(pid, Signal::KILL);
        }
    }

    /// Waits until the leader exits, without reaping it, and from then on
    /// kills nothing; the caller reaps it (`Child::wait`) afterwards.
    pub fn wait_exit(&self) {
        if let Some(pid) = self.pid {
            let opts = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT;
            while let Err(e) = rustix::process::waitid(WaitId::Pid(pid), opts) {
                if e != rustix::io::Errno::INTR {
                    break;
                }
            }
        }
        *self.alive.lock().expect("not poisoned") = false;
    }
}

/// Kills `group` when the client goes away (the response's channel
/// closes) before `done` is sent or dropped, and when the daemon shuts
/// down meanwhile (its runtime drops the watching task): a builder does
/// not outlive its daemon.
pub(super) fn watch_client(
    handle: &tokio::runtime::Handle,
    watch: tokio::sync::mpsc::Sender<bytes::Bytes>,
    group: std::sync::Arc<Group>,
    done: oneshot::Receiver<()>,
) {
    handle.spawn(async move {
        let mut armed = KillOnDrop(Some(group));
        tokio::select! {
            _ = watch.closed() => {}
            // Sent once the builder exited; dropped unsent, it did not.
            r = done => if r.is_ok() {
                armed.0 = None;
            },
        }
    });
}

/// Kills the group it holds when dropped.
struct KillOnDrop(Option<std::sync::Arc<Group>>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(group) = &self.0 {
            group.kill();
        }
    }
}

/// Removes the step containers and snapshots of builders that died, with
/// a `wharf build-internal` reap job (the runtime library runs in that
/// single-threaded child, as for the build itself).
pub(super) fn reap(engine: &Engine, runtime_root: &Path) {
    let job = json!({
        "reap": true,
        "data_root": engine.config().data_root,
        "runtime_root": runtime_root,
    });
    let spawned = Command::new(&engine.config().wharf_exe)
        .arg("build-internal")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn();
    let Ok(mut child) = spawned else {
        return;
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(job.to_string().as_bytes());
    }
    let _ = child.wait();
}
