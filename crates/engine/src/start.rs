//! `start` and the exit monitor. A start mounts the rootfs (with the init
//! layer), copies image content up into new volumes, writes the bundle,
//! spawns the container's `wharf shim` (which creates the container),
//! connects the attaches that waited for it, then releases the process.
//! A monitor task waits for the exit through the shim, records it,
//! unmounts, and applies the restart policy or `--rm`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wharf_shim::proto::{LogConfig, ShimConfig};

use crate::error::{EngineError, Kind, Result};
use crate::lifecycle::{is_running, not_running};
use crate::model::{Container, ExitInfo, Health, Status};
use crate::registry::{blocking, now_rfc3339, sys_err, Entry};
use crate::shim_client::ShimClient;
use crate::{mounts, spec, Engine};

/// Docker's `units.RAMInBytes` (binary multiples) for `max-size`.
pub(crate) fn ram_in_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return None,
    };
    Some((n * mul as f64) as u64)
}

/// The shim's log settings for `c` (None: driver `none`).
fn log_config(c: &Container) -> Option<LogConfig> {
    let lc = &c.options.host.log_config;
    if lc.driver == "none" || c.log_path.as_os_str().is_empty() {
        return None;
    }
    let max_size = lc
        .options
        .get("max-size")
        .and_then(|v| ram_in_bytes(v))
        .unwrap_or(0);
    let max_files = lc
        .options
        .get("max-file")
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(1)
        .max(1);
    Some(LogConfig {
        path: c.log_path.clone(),
        max_size,
        max_files,
    })
}

/// The exit code and status Docker gives a start that failed, from the
/// runtime's message.
fn start_failure(msg: &str) -> (i32, Kind) {
    if msg.contains("executable file not found") || msg.contains("no such file or directory") {
        (127, Kind::InvalidArgument)
    } else if msg.contains("permission denied") || msg.contains("is a directory") {
        (126, Kind::InvalidArgument)
    } else {
        (128, Kind::System)
    }
}

/// A start failure's message as Go would word it, which clients match on
/// (the docker CLI's exit codes 126/127): `No such file or directory (os
/// error 2)` becomes `no such file or directory`, and a segment repeated
/// by two layers (`a: a: b`) is said once.
fn go_style(msg: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for part in msg.split(": ") {
        let mut p = part.to_string();
        if let Some(i) = p.find(" (os error ") {
            if p.ends_with(')') {
                p.truncate(i);
                if let Some(first) = p.get(..1) {
                    p = first.to_lowercase() + &p[1..];
                }
            }
        }
        if parts.last() != Some(&p) {
            parts.push(p);
        }
    }
    parts.join(": ")
}

/// Waits (at most 2 s, as Docker waits for a container's streams) until
/// the shim in `dir` has gone: it answers `wait` when the process exited
/// and leaves once its output is drained to the log and the attached
/// streams, so an exit recorded after this has all its output in the log.
async fn wait_shim_gone(dir: &std::path::Path) {
    let pid = std::fs::read_to_string(dir.join(wharf_shim::proto::PID_FILE))
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok());
    let Some(pid) = pid else {
        return;
    };
    let limit = Duration::from_secs(2);
    // A pidfd turns readable when the process ends: no polling delay.
    if let Some(raw) = rustix::process::Pid::from_raw(pid) {
        match rustix::process::pidfd_open(raw, rustix::process::PidfdFlags::empty()) {
            Ok(fd) => {
                let wait = move || {
                    let timeout = rustix::time::Timespec {
                        tv_sec: limit.as_secs() as i64,
                        tv_nsec: 0,
                    };
                    let mut fds = [rustix::event::PollFd::new(
                        &fd,
                        rustix::event::PollFlags::IN,
                    )];
                    while let Err(rustix::io::Errno::INTR) =
                        rustix::event::poll(&mut fds, Some(&timeout))
                    {}
                };
                let _ = tokio::task::spawn_blocking(wait).await;
                return;
            }
            Err(rustix::io::Errno::SRCH) => return,
            Err(_) => {}
        }
    }
    let deadline = Instant::now() + limit;
    let mut nap = Duration::from_millis(1);
    // Gone, or a zombie nobody reaped yet (it no longer runs).
    while wharf_runtime::state::proc_stat(pid).is_some_and(|(state, _)| !matches!(state, 'Z' | 'X'))
        && Instant::now() < deadline
    {
        tokio::time::sleep(nap).await;
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

/// Runs `f` in a task of its own, so that dropping the caller's future
/// does not cut it short.
pub(crate) async fn detached<T: Send + 'static>(
    f: impl std::future::Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    tokio::spawn(f)
        .await
        .map_err(|e| EngineError::system("an engine task failed", e))?
}

impl Engine {
    /// Starts it (304 NotModified when running). Pending attaches are
    /// connected to the shim before the process runs.
    ///
    /// The start runs in a task of its own: a caller that goes away (a
    /// client hanging up) never leaves a shim spawned and unrecorded.
    pub async fn start(self: &Arc<Self>, name_or_id: &str) -> Result<()> {
        let entry = self.entry(name_or_id)?;
        let engine = self.clone();
        detached(async move {
            let _op = entry.op.lock().await;
            engine.start_locked(&entry, true).await
        })
        .await
    }

    /// Starts the container of `entry`, whose op lock the caller holds.
    /// `manual`: by the user (resets the restart count and the back-off).
    pub(crate) async fn start_locked(
        self: &Arc<Self>,
        entry: &Arc<Entry>,
        manual: bool,
    ) -> Result<()> {
        let c = entry.get();
        match c.state.status {
            Status::Running => {
                return Err(EngineError::new(
                    Kind::NotModified,
                    "container already started",
                ))
            }
            Status::Paused => {
                return Err(EngineError::conflict(
                    "cannot start a paused container, try unpause instead",
                ))
            }
            Status::Removing => {
                return Err(EngineError::conflict(format!(
                    "Container {} is marked for removal and cannot be started",
                    c.id
                )))
            }
            Status::Dead => {
                return Err(EngineError::conflict(format!(
                    "Container {} is marked for removal and cannot be started",
                    c.id
                )))
            }
            Status::Restarting if manual => {}
            _ => {}
        }
        if manual {
            entry.modify(self, |r| {
                r.backoff.reset();
                r.gen += 1;
                r.c.restart_count = 0;
                r.c.state.manually_stopped = false;
                Ok(())
            })?;
        }
        match self.launch(entry, &c).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let msg = go_style(&e.full_message());
                let (code, kind) = start_failure(&msg);
                let _ = blocking(|| self.store().unmount_snapshot_by_id(&c.id));
                let _ = entry.modify(self, |r| {
                    r.shim_live = false;
                    r.c.state.error = msg.clone();
                    r.c.state.exit_code = code;
                    r.c.state.pid = 0;
                    if r.c.state.status != Status::Created {
                        r.c.state.status = Status::Exited;
                        r.c.state.finished_at = now_rfc3339();
                    }
                    Ok(())
                });
                for p in std::mem::take(&mut entry.rec().pending) {
                    let _ = p.reply.send(Err(EngineError::new(kind, msg.clone())));
                }
                // As Docker: a `--rm` container that cannot start is removed
                // (its client waits for the removal).
                if c.options.host.auto_remove {
                    if let Err(e) = self.remove_locked(entry, true).await {
                        eprintln!("wharf: failed to auto-remove {}: {e}", c.id);
                    }
                }
                Err(EngineError {
                    kind,
                    message: msg,
                    source: None,
                })
            }
        }
    }

    /// Mounts, writes the bundle, spawns the shim, connects pending
    /// attaches, starts, records the run and spawns its monitor.
    async fn launch(self: &Arc<Self>, entry: &Arc<Entry>, c: &Container) -> Result<()> {
        let net = self.network_up(c).await?;
        let c = entry.modify(self, |r| {
            r.c.network = net;
            Ok(r.c.clone())
        })?;
        self.emit_endpoints(&c.id, &c.network, "connect");
        let result = self.launch_in_network(entry, &c).await;
        if result.is_err() {
            self.network_down_entry(entry);
        }
        result
    }

    /// [`Engine::launch`] once the container's network is up.
    async fn launch_in_network(self: &Arc<Self>, entry: &Arc<Entry>, c: &Container) -> Result<()> {
        let id = c.id.clone();
        let cfg = blocking(|| self.prepare_bundle(c))?;
        let (client, pid) = ShimClient::spawn(&self.config().wharf_exe, &cfg).await?;
        let pending = {
            let mut r = entry.rec();
            r.shim_live = true;
            std::mem::take(&mut r.pending)
        };
        for p in pending {
            let s = client.attach(None, p.stdin, p.stdout, p.stderr).await;
            let _ = p.reply.send(s);
        }
        if let Err(e) = client.start().await {
            let _ = client.kill(libc::SIGKILL, true).await;
            let _ = tokio::time::timeout(Duration::from_secs(10), client.wait()).await;
            return Err(e);
        }
        let health = c
            .healthcheck
            .as_ref()
            .filter(|h| !h.test.is_empty() && h.test[0] != "NONE")
            .map(|_| Health {
                status: "starting".into(),
                ..Health::default()
            });
        let c = entry.modify(self, |r| {
            let s = &mut r.c.state;
            s.status = Status::Running;
            s.pid = pid;
            s.started_at = now_rfc3339();
            s.exit_code = 0;
            s.oom_killed = false;
            s.error.clear();
            s.health = health.clone();
            r.exit_on_next = false;
            r.started = Some(Instant::now());
            Ok(r.c.clone())
        })?;
        self.emit_container(&c, "start", &[]);
        self.spawn_monitor(entry.clone(), client);
        if health.is_some() {
            crate::health::spawn(self.clone(), id);
        }
        Ok(())
    }

    /// Everything blocking before the shim: rootfs, copy-up, spec, bundle,
    /// the leftovers of a previous run.
    fn prepare_bundle(&self, c: &Container) -> Result<ShimConfig> {
        let snap = self
            .store()
            .snapshot(&c.snapshot)
            .map_err(sys_err(format!("failed to find the rootfs of {}", c.id)))?;
        let rootfs = wharf_image::rootfs::mount_with_init(&snap)
            .map_err(sys_err(format!("failed to mount the rootfs of {}", c.id)))?;
        mounts::copy_up(self, &c.mounts, &rootfs)?;
        let (link_hosts, link_env) = self.link_parts(c)?;
        if !c.network.endpoints.is_empty() {
            spec::write_etc_files_with(&self.container_dir(&c.id), c, &link_hosts)?;
        }
        let user = wharf_image::user::resolve(&rootfs, &c.user)
            .map_err(|e| EngineError::new(Kind::System, e.to_string()))?;
        let peer = |name: &str| -> Result<i32> {
            let p = self.container(name)?;
            if !is_running(p.state.status) || p.state.pid == 0 {
                return Err(not_running(&p.id));
            }
            Ok(p.state.pid)
        };
        let lookup = |name: &str| self.container(name);
        let env = spec::StartEnv {
            peer_pid: &peer,
            peer: Some(&lookup),
            init: Some(self.config().wharf_exe.clone()),
        };
        // Link variables come first: the container's own env overrides them.
        let with_links;
        let c = if link_env.is_empty() {
            c
        } else {
            let mut x = c.clone();
            x.env = link_env.into_iter().chain(c.env.iter().cloned()).collect();
            with_links = x;
            &with_links
        };
        let oci = spec::container_spec_with(c, &rootfs, &user, &env)?;
        let bundle = self.bundle_dir(&c.id);
        std::fs::create_dir_all(&bundle)
            .map_err(sys_err(format!("failed to create {}", bundle.display())))?;
        let json = serde_json::to_vec(&oci).map_err(sys_err("failed to serialize the spec"))?;
        let config = bundle.join("config.json");
        std::fs::write(&config, json)
            .map_err(sys_err(format!("failed to write {}", config.display())))?;
        // A previous run's state: its shim is gone (the container is not
        // running), so its runtime state and exit file are stale.
        let runtime = self.runtime();
        if runtime.root.join(&c.id).exists() {
            let _ = runtime.delete(&c.id, true);
        }
        let dir = self.shim_dir(&c.id);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(sys_err(format!("failed to create {}", dir.display())))?;
        Ok(ShimConfig {
            id: c.id.clone(),
            bundle,
            runtime_root: runtime.root.clone(),
            dir,
            log: log_config(c),
            tty: c.options.tty,
            open_stdin: c.options.open_stdin,
            stdin_once: c.options.stdin_once,
        })
    }

    /// Waits for the exit of the run that `client` serves, then handles it.
    pub(crate) fn spawn_monitor(self: &Arc<Self>, entry: Arc<Entry>, client: ShimClient) {
        let engine = self.clone();
        tokio::spawn(async move {
            let dir = engine.shim_dir(&entry.id);
            let exit = loop {
                match client.wait().await {
                    Ok(exit) => {
                        // A `--rm` container is removed next, which
                        // tolerates a shim still deleting the container's
                        // cgroups (its output is in the log before its
                        // answer); a container that may start again must
                        // not meet its previous shim's cleanup.
                        if !entry.rec().c.options.host.auto_remove {
                            wait_shim_gone(&dir).await;
                        }
                        break exit;
                    }
                    Err(_) if client.is_alive() => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(_) => {
                        break ShimClient::read_exit(&dir).unwrap_or_else(|| ExitInfo {
                            exit_code: 255,
                            oom_killed: false,
                            finished_at: now_rfc3339(),
                        })
                    }
                }
            };
            engine.handle_exit(&entry, exit).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_failures_worded_for_the_docker_cli() {
        let m = go_style("failed to create container x: failed to create container x: exec: \"/no\": No such file or directory (os error 2)");
        assert_eq!(
            m,
            "failed to create container x: exec: \"/no\": no such file or directory"
        );
        assert_eq!(start_failure(&m).0, 127);
        assert_eq!(start_failure("exec: \"/etc\": is a directory").0, 126);
        assert_eq!(start_failure("cgroup: oops").0, 128);
        assert_eq!(ram_in_bytes("10m"), Some(10 << 20));
        assert_eq!(ram_in_bytes("1.5k"), Some(1536));
        assert_eq!(ram_in_bytes("x"), None);
    }
}
