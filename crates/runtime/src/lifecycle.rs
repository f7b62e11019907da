//! The commands on an existing container: start, state, kill, delete,
//! pause, resume, list and ps.

use std::io::Read;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rustix::fs::{Mode, OFlags};
use rustix::process::{Pid, PidfdFlags, Signal};

use crate::error::{io_err, sys_err, Result, RuntimeError};
use crate::state::{ContainerState, Status, CONFIG_COPY, EXEC_FIFO};
use crate::{cgroup, config, hooks, Runtime};

/// A container as found on disk, with its live status.
#[derive(Debug)]
pub struct Container {
    /// The state directory.
    pub dir: PathBuf,
    /// The persisted state.
    pub state: ContainerState,
    /// The status right now.
    pub status: Status,
}

impl Container {
    /// Open the container's cgroup.
    pub fn cgroup(&self) -> Result<wharf_cgroups::Cgroup> {
        cgroup::open(self.state.cgroups_path.as_deref(), &self.state.id)
    }

    /// The spec the container was created with.
    pub fn spec(&self) -> Result<oci_spec::runtime::Spec> {
        Ok(config::parse_spec(&self.dir.join(CONFIG_COPY))?)
    }

    fn state_json(&self, status: Status) -> Vec<u8> {
        serde_json::to_vec(&self.state.oci(status)).expect("state always serializes")
    }
}

impl Runtime {
    /// Loads container `id` and works out its status.
    pub fn load(&self, id: &str) -> Result<Container> {
        crate::create::validate_id(id)?;
        let dir = self.root.join(id);
        let state = match ContainerState::load(&dir) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RuntimeError::NotFound(id.to_string()))
            }
            Err(e) => return Err(io_err("read state of", &dir)(e)),
        };
        let status = if !state.init_alive() {
            Status::Stopped
        } else if dir.join(EXEC_FIFO).exists() {
            Status::Created
        } else if cgroup::open(state.cgroups_path.as_deref(), id)
            .ok()
            .and_then(|cg| cg.freezer_state().ok())
            .is_some_and(|s| s == wharf_cgroups::FreezerState::Frozen)
        {
            Status::Paused
        } else {
            Status::Running
        };
        Ok(Container { dir, state, status })
    }

    /// The OCI state document of container `id`.
    pub fn state(&self, id: &str) -> Result<Vec<u8>> {
        let c = self.load(id)?;
        let mut out = serde_json::to_vec_pretty(&c.state.oci(c.status)).expect("state serializes");
        out.push(b'\n');
        Ok(out)
    }

    /// Every container under the root, sorted by id.
    pub fn list(&self) -> Result<Vec<Container>> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("list", &self.root)(e)),
        };
        let mut out: Vec<Container> = entries
            .flatten()
            .filter_map(|e| self.load(&e.file_name().to_string_lossy()).ok())
            .collect();
        out.sort_by(|a, b| a.state.id.cmp(&b.state.id));
        Ok(out)
    }

    /// Releases a created container's init to run the user's program.
    pub fn start(&self, id: &str) -> Result<()> {
        let c = self.load(id)?;
        if c.status != Status::Created {
            return Err(RuntimeError::BadState {
                id: id.to_string(),
                status: c.status,
                op: "start",
            });
        }
        let fifo = c.dir.join(EXEC_FIFO);
        // Non-blocking open never waits for a writer; then wait for init's
        // byte, watching that init is still alive (a blocking open would
        // hang forever if it died).
        let fd = rustix::fs::open(
            &fifo,
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io_err("open exec fifo", &fifo)(e.into()))?;
        let mut file = std::fs::File::from(fd);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut pfd = [rustix::event::PollFd::new(
                &file,
                rustix::event::PollFlags::IN,
            )];
            let timeout = rustix::time::Timespec {
                tv_sec: 0,
                tv_nsec: 20_000_000,
            };
            let _ = rustix::event::poll(&mut pfd, Some(&timeout));
            let mut buf = [0u8; 1];
            if let Ok(1) = file.read(&mut buf) {
                break;
            }
            if !c.state.init_alive() || Instant::now() > deadline {
                return Err(RuntimeError::Init {
                    id: id.to_string(),
                    message: "init exited before it could be started".into(),
                });
            }
        }
        std::fs::remove_file(&fifo).map_err(io_err("remove exec fifo", &fifo))?;
        if !c.state.poststart.is_empty() {
            let state = c.state_json(Status::Running);
            for e in hooks::run_each("poststart", Some(&c.state.poststart), &state) {
                // A failing poststart hook is logged, not fatal (runtime spec).
                log::warn(&crate::channel::error_chain(&e));
            }
        }
        Ok(())
    }

    /// Sends `signal` to init, or with `all` to every process of the container.
    pub fn kill(&self, id: &str, signal: Signal, all: bool) -> Result<()> {
        let c = self.load(id)?;
        if c.status == Status::Stopped && !all {
            return Err(RuntimeError::BadState {
                id: id.to_string(),
                status: c.status,
                op: "kill",
            });
        }
        if all {
            let cg = c.cgroup()?;
            if signal == Signal::KILL {
                let _ = cg.thaw();
            }
            for pid in cg.procs()? {
                if let Some(pid) = Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(pid, signal);
                }
            }
            return Ok(());
        }
        signal_init(&c.state, signal)
    }

    /// Removes a container. A running or paused one needs `force`, which
    /// kills it first.
    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        let c = match self.load(id) {
            Err(RuntimeError::NotFound(_)) if force => return Ok(()),
            other => other?,
        };
        if matches!(c.status, Status::Running | Status::Paused) && !force {
            return Err(RuntimeError::BadState {
                id: id.to_string(),
                status: c.status,
                op: "delete",
            });
        }
        if c.status != Status::Stopped {
            let _ = signal_init(&c.state, Signal::KILL);
        }
        if let Ok(cg) = c.cgroup() {
            // Without a pid namespace of its own, processes may outlive init.
            cgroup::kill_and_destroy(&cg)?;
        }
        wait_gone(&c.state);
        std::fs::remove_dir_all(&c.dir).map_err(io_err("remove state directory", &c.dir))?;
        if !c.state.poststop.is_empty() {
            let state = c.state_json(Status::Stopped);
            for e in hooks::run_each("poststop", Some(&c.state.poststop), &state) {
                log::warn(&crate::channel::error_chain(&e));
            }
        }
        Ok(())
    }

    /// Freezes every process of a running container.
    pub fn pause(&self, id: &str) -> Result<()> {
        let c = self.load(id)?;
        if c.status != Status::Running {
            return Err(RuntimeError::BadState {
                id: id.to_string(),
                status: c.status,
                op: "pause",
            });
        }
        Ok(c.cgroup()?.freeze()?)
    }

    /// Thaws a paused container.
    pub fn resume(&self, id: &str) -> Result<()> {
        let c = self.load(id)?;
        if c.status != Status::Paused {
            return Err(RuntimeError::BadState {
                id: id.to_string(),
                status: c.status,
                op: "resume",
            });
        }
        Ok(c.cgroup()?.thaw()?)
    }

    /// The host pids of every process in the container.
    pub fn pids(&self, id: &str) -> Result<Vec<i32>> {
        let c = self.load(id)?;
        let mut pids = c.cgroup()?.procs()?;
        pids.sort_unstable();
        Ok(pids)
    }
}

/// Signals init through a pidfd, after checking that the pid still belongs
/// to the container's init (its start time), so a reused pid is never hit.
fn signal_init(state: &ContainerState, signal: Signal) -> Result<()> {
    let pid = Pid::from_raw(state.pid).ok_or_else(|| RuntimeError::NotFound(state.id.clone()))?;
    let pidfd = rustix::process::pidfd_open(pid, PidfdFlags::empty())
        .map_err(sys_err(format!("open pidfd of init {}", state.pid)))?;
    if !state.init_alive() {
        return Err(RuntimeError::BadState {
            id: state.id.clone(),
            status: Status::Stopped,
            op: "kill",
        });
    }
    rustix::process::pidfd_send_signal(pidfd.as_fd(), signal).map_err(sys_err(format!(
        "send signal {} to init {}",
        signal.as_raw(),
        state.pid
    )))
}

/// Waits (briefly) until init is gone or a zombie.
fn wait_gone(state: &ContainerState) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while state.init_alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Parses a signal as runc does: a number, `KILL`, or `SIGKILL`.
pub fn parse_signal(s: &str) -> Result<Signal> {
    let bad = || RuntimeError::Signal(s.to_string());
    if let Ok(n) = s.parse::<i32>() {
        return Signal::from_named_raw(n).ok_or_else(bad);
    }
    let name = s.to_ascii_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name);
    crate::signals::by_name(name).ok_or_else(bad)
}

/// Warnings that do not fail a command.
pub(crate) mod log {
    /// Prints a warning to stderr.
    pub fn warn(msg: &str) {
        eprintln!("wharf: warning: {msg}");
    }
}
