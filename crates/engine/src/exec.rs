//! Exec: processes started in a running container by its shim.
//!
//! Records live in memory only, as in Docker: an exec does not survive the
//! daemon. The process is built from the container's own process (the
//! bundle's config.json: capabilities, rlimits, env, user) with the exec's
//! command, env, working directory and user applied, like Docker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oci_spec::runtime::{Capability, LinuxCapabilities, Process};
use tokio::io::AsyncReadExt;

use crate::error::{EngineError, Kind, Result};
use crate::lifecycle::Attached;
use crate::model::{Container, ExecInfo, ExecOptions, Status};
use crate::Engine;

/// At most this much of a captured exec's output is kept.
const CAPTURE_MAX: usize = 4096;

/// The exec records of an engine.
#[derive(Debug, Default)]
pub struct Execs {
    map: Mutex<HashMap<String, Record>>,
}

#[derive(Debug, Clone)]
struct Record {
    info: ExecInfo,
    started: bool,
    /// Its `exec_die` event went out.
    died: bool,
}

impl Execs {
    /// No execs.
    pub(crate) fn new() -> Execs {
        Execs::default()
    }

    fn get(&self, id: &str) -> Result<Record> {
        self.map
            .lock()
            .expect("execs lock")
            .get(id)
            .cloned()
            .ok_or_else(|| EngineError::not_found(format!("No such exec instance: {id}")))
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut Record)) {
        if let Some(r) = self.map.lock().expect("execs lock").get_mut(id) {
            f(r);
        }
    }
}

fn not_running(c: &Container) -> EngineError {
    match c.state.status {
        Status::Paused => EngineError::conflict(format!(
            "Container {} is paused, unpause the container before exec",
            c.id
        )),
        _ => EngineError::conflict(format!("Container {} is not running", c.id)),
    }
}

impl Engine {
    /// Registers an exec (409 when the container is not running).
    pub fn exec_create(&self, container: &str, opts: ExecOptions) -> Result<String> {
        let c = self.container(container)?;
        if c.state.status != Status::Running {
            return Err(not_running(&c));
        }
        if opts.cmd.is_empty() {
            return Err(EngineError::invalid("No exec command specified"));
        }
        let id = crate::names::new_id();
        let info = ExecInfo {
            id: id.clone(),
            container_id: c.id.clone(),
            options: opts,
            running: false,
            exit_code: None,
            pid: 0,
        };
        self.execs.map.lock().expect("execs lock").insert(
            id.clone(),
            Record {
                info,
                started: false,
                died: false,
            },
        );
        self.emit_exec(&c, "exec_create", &id);
        Ok(id)
    }

    /// Starts it: detached (None) or with its stdio attached.
    pub async fn exec_start(
        self: &Arc<Self>,
        exec_id: &str,
        detach: bool,
    ) -> Result<Option<Attached>> {
        let rec = self.execs.get(exec_id)?;
        if rec.started {
            return Err(EngineError::conflict(format!(
                "Exec {exec_id} has already been started"
            )));
        }
        let c = self.container(&rec.info.container_id)?;
        if c.state.status != Status::Running {
            return Err(not_running(&c));
        }
        let opts = &rec.info.options;
        let process = self.exec_process(&c, opts)?;
        self.execs.update(exec_id, |r| r.started = true);
        let shim = self.shim(&c.id)?;
        let stdin = opts.attach_stdin && !detach;
        let pid = match shim.exec(exec_id, &process, opts.tty, stdin, detach).await {
            Ok(pid) => pid,
            Err(e) => {
                self.execs.update(exec_id, |r| r.info.exit_code = Some(126));
                return Err(e);
            }
        };
        self.execs.update(exec_id, |r| {
            r.info.pid = pid;
            r.info.running = true;
        });
        self.emit_exec(&c, "exec_start", exec_id);
        self.watch_exec(&c, exec_id);
        if detach {
            return Ok(None);
        }
        let stream = shim
            .attach(Some(exec_id), stdin, opts.attach_stdout, opts.attach_stderr)
            .await?;
        Ok(Some(Attached {
            stream,
            tty: opts.tty,
        }))
    }

    /// Resizes its pty.
    pub async fn exec_resize(&self, exec_id: &str, height: u16, width: u16) -> Result<()> {
        let rec = self.execs.get(exec_id)?;
        if !rec.started {
            return Err(EngineError::conflict(format!(
                "Exec {exec_id} is not running"
            )));
        }
        let shim = self.shim(&rec.info.container_id)?;
        shim.resize(Some(exec_id), height, width).await
    }

    /// Its state and exit code.
    pub fn exec_inspect(&self, exec_id: &str) -> Result<ExecInfo> {
        let rec = self.execs.get(exec_id)?;
        if !rec.info.running {
            return Ok(rec.info);
        }
        // Ask its shim; a shim that is gone took the exec with it.
        let state = self
            .shim(&rec.info.container_id)
            .and_then(|s| s.exec_state_blocking(exec_id));
        let (running, code) = match state {
            Ok(s) => s,
            Err(e) if e.kind == Kind::NotFound => (false, None),
            Err(_) => (false, None),
        };
        self.execs.update(exec_id, |r| {
            r.info.running = running;
            r.info.exit_code = code;
        });
        if let (false, Some(code), Ok(c)) = (running, code, self.container(&rec.info.container_id))
        {
            self.exec_died(&c, exec_id, code);
        }
        Ok(self.execs.get(exec_id)?.info)
    }

    /// Docker's event of an exec: `exec_create: <cmd> <args…>` (and
    /// `exec_start: …`) with the exec's id among the container's attributes.
    fn emit_exec(&self, c: &Container, what: &str, exec_id: &str) {
        let Ok(rec) = self.execs.get(exec_id) else {
            return;
        };
        let cmd = &rec.info.options.cmd;
        let action = match cmd.split_first() {
            Some((first, rest)) => format!("{what}: {first} {}", rest.join(" ")),
            None => format!("{what}: "),
        };
        self.emit_container(c, &action, &[("execID", exec_id.to_string())]);
    }

    /// Waits in the background for a started exec to end, records its exit
    /// code and sends `exec_die` (once, whoever learns of the end first).
    fn watch_exec(self: &Arc<Self>, c: &Container, exec_id: &str) {
        let engine = self.clone();
        let (c, exec_id) = (c.clone(), exec_id.to_string());
        let Ok(shim) = self.shim(&c.id) else {
            return;
        };
        tokio::spawn(async move {
            if let Ok(code) = shim.exec_wait(&exec_id).await {
                engine.execs.update(&exec_id, |r| {
                    r.info.running = false;
                    r.info.exit_code = Some(code);
                });
                engine.exec_died(&c, &exec_id, code);
            }
        });
    }

    fn exec_died(&self, c: &Container, exec_id: &str, code: i32) {
        let mut first = false;
        self.execs
            .update(exec_id, |r| first = !std::mem::replace(&mut r.died, true));
        if first {
            self.emit_container(
                c,
                "exec_die",
                &[
                    ("execID", exec_id.to_string()),
                    ("exitCode", code.to_string()),
                ],
            );
        }
    }

    /// Docker's `ExecIDs` of a container: its execs created and not yet
    /// started, or still running (sorted; Docker's order is a map's). An
    /// exec's end is recorded by its watcher ([`Engine::exec_start`]), so
    /// this asks no shim.
    pub fn exec_ids(&self, container_id: &str) -> Vec<String> {
        let mut ids: Vec<String> = {
            let map = self.execs.map.lock().expect("execs lock");
            map.values()
                .filter(|r| r.info.container_id == container_id && r.info.exit_code.is_none())
                .map(|r| r.info.id.clone())
                .collect()
        };
        ids.sort();
        ids
    }

    /// Forgets the execs of a container whose process ended (Docker drops
    /// them with the run: inspecting one is then a 404).
    pub(crate) fn forget_execs(&self, container_id: &str) {
        self.execs
            .map
            .lock()
            .expect("execs lock")
            .retain(|_, r| r.info.container_id != container_id);
    }

    /// Runs `cmd` to its end within `timeout` (health checks); exit code and
    /// combined output (at most 4 KiB kept).
    pub async fn exec_capture(
        self: &Arc<Self>,
        container: &str,
        cmd: Vec<String>,
        timeout: Duration,
    ) -> Result<(i32, Vec<u8>)> {
        let opts = ExecOptions {
            cmd,
            attach_stdout: true,
            attach_stderr: true,
            ..ExecOptions::default()
        };
        let id = self.exec_create(container, opts)?;
        let output = self.capture(&id, timeout).await;
        let code = match &output {
            Ok(_) => self.captured_code(&id).await,
            Err(_) => Ok(None),
        };
        self.execs.map.lock().expect("execs lock").remove(&id);
        let output = output?;
        Ok((code?.unwrap_or(-1), output))
    }

    /// The exit code of a captured exec that ended (its `exec_die` sent).
    async fn captured_code(&self, id: &str) -> Result<Option<i32>> {
        let r = self.execs.get(id)?;
        let shim = self.shim(&r.info.container_id)?;
        let code = shim.exec_state(id).await?.1;
        if let (Some(code), Ok(c)) = (code, self.container(&r.info.container_id)) {
            self.exec_died(&c, id, code);
        }
        Ok(code)
    }

    async fn capture(self: &Arc<Self>, id: &str, timeout: Duration) -> Result<Vec<u8>> {
        let attached = self
            .exec_start(id, false)
            .await?
            .expect("attached exec has a stream");
        let mut stream = attached.stream;
        let read = async {
            // Frames: 8-byte header, then the payload.
            let mut out = Vec::new();
            let mut header = [0u8; 8];
            loop {
                match stream.read_exact(&mut header).await {
                    Ok(_) => {}
                    Err(_) => return out,
                }
                let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
                let mut payload = vec![0u8; len as usize];
                if stream.read_exact(&mut payload).await.is_err() {
                    return out;
                }
                let room = CAPTURE_MAX.saturating_sub(out.len());
                out.extend_from_slice(&payload[..payload.len().min(room)]);
            }
        };
        match tokio::time::timeout(timeout, read).await {
            Ok(out) => Ok(out),
            Err(_) => {
                if let Ok(rec) = self.execs.get(id) {
                    if rec.info.pid > 0 {
                        let _ = wharf_sys::signal::kill(rec.info.pid, libc::SIGKILL);
                    }
                }
                Err(EngineError::new(
                    Kind::System,
                    format!("Health check exceeded timeout ({}s)", timeout.as_secs_f64()),
                ))
            }
        }
    }

    /// The exec's process: the container's, with the exec's options.
    fn exec_process(&self, c: &Container, opts: &ExecOptions) -> Result<Process> {
        let config = self.bundle_dir(&c.id).join("config.json");
        let spec = oci_spec::runtime::Spec::load(&config).map_err(|e| {
            EngineError::system(format!("failed to read the spec of container {}", c.id), e)
        })?;
        let mut p = spec.process().clone().unwrap_or_default();
        p.set_args(Some(opts.cmd.clone()));
        p.set_terminal(Some(opts.tty));
        p.set_console_size(None);
        let mut env = p.env().clone().unwrap_or_default();
        if opts.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
            env.push("TERM=xterm".into());
        }
        for kv in &opts.env {
            let key = kv.split_once('=').map_or(kv.as_str(), |(k, _)| k);
            env.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != key);
            env.push(kv.clone());
        }
        p.set_env(Some(env));
        if let Some(dir) = opts.working_dir.as_deref().filter(|d| !d.is_empty()) {
            p.set_cwd(dir.into());
        }
        let user = opts.user.as_deref().filter(|u| !u.is_empty());
        if let Some(user) = user {
            let u = wharf_image::user::resolve(&c.rootfs, user)
                .map_err(|e| EngineError::new(Kind::System, e.to_string()))?;
            p.user_mut().set_uid(u.uid);
            p.user_mut().set_gid(u.gid);
            p.user_mut().set_additional_gids(Some(u.additional_gids));
        }
        let mut caps = p.capabilities().clone().unwrap_or_default();
        if opts.privileged {
            let all: std::collections::HashSet<Capability> = crate::spec::all_caps()
                .into_iter()
                .filter_map(|name| serde_json::from_value(serde_json::Value::String(name)).ok())
                .collect();
            caps = LinuxCapabilities::default();
            caps.set_bounding(Some(all.clone()));
            caps.set_effective(Some(all.clone()));
            caps.set_permitted(Some(all));
        }
        // A user other than root starts without effective and permitted
        // capabilities (moby, since CVE-2022-24769).
        if p.user().uid() != 0 {
            caps.set_effective(Some(Default::default()));
            caps.set_permitted(Some(Default::default()));
        } else if user.is_some() && !opts.privileged {
            caps.set_effective(caps.bounding().clone());
            caps.set_permitted(caps.bounding().clone());
        }
        p.set_capabilities(Some(caps));
        Ok(p)
    }
}
