//! `create`: the runtime's side of making a container, up to the point where
//! its init waits for `start`.
//!
//! Every resource is registered with a [`Cleanup`] guard as soon as it
//! exists; a failure at any step removes them all again (process, cgroup,
//! state directory), so a failed create leaves nothing behind.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxNamespaceType;
use rustix::fs::{Mode, OFlags};

use crate::channel::{Channel, ChannelError, Message};
use crate::config::Bundle;
use crate::error::{io_err, sys_err, Result, RuntimeError};
use crate::init::{self, InitContext};
use crate::namespaces::Plan;
use crate::state::{self, ContainerState, EXEC_FIFO};
use crate::{cgroup, console, hooks, Runtime};

/// Options of `create` (and `run`) beyond the bundle.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// The bundle directory.
    pub bundle: PathBuf,
    /// `--console-socket`.
    pub console_socket: Option<PathBuf>,
    /// `--pid-file`.
    pub pid_file: Option<PathBuf>,
    /// `--preserve-fds`.
    pub preserve_fds: u32,
    /// `--no-pivot`.
    pub no_pivot: bool,
    /// `--no-new-keyring`.
    pub no_new_keyring: bool,
}

/// A created container: its state and its init process.
#[derive(Debug)]
pub struct Created {
    /// The persisted state.
    pub state: ContainerState,
    /// Whether init has a terminal (process.terminal).
    pub terminal: bool,
}

/// Removes what a failed create made, in reverse order.
struct Cleanup<'a> {
    dir: &'a Path,
    cgroup: Option<wharf_cgroups::Cgroup>,
    pids: Vec<i32>,
    armed: bool,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        for pid in &self.pids {
            let pid = rustix::process::Pid::from_raw(*pid);
            if let Some(pid) = pid {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
            }
        }
        if let Some(cg) = &self.cgroup {
            let _ = cgroup::kill_and_destroy(cg);
        }
        let _ = std::fs::remove_dir_all(self.dir);
    }
}

/// Checks a container id: like runc, letters, digits and `_+-.`, and never
/// `.` or `..`, since it names a directory.
pub fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(RuntimeError::InvalidId(id.to_string()))
    }
}

/// The state given to hooks on stdin.
pub fn hook_state(id: &str, pid: i32, bundle: &Bundle, status: &str) -> Vec<u8> {
    let annotations = bundle.spec.annotations().clone().unwrap_or_default();
    let doc = serde_json::json!({
        "ociVersion": state::OCI_VERSION,
        "id": id,
        "status": status,
        "pid": pid,
        "bundle": bundle.dir,
        "annotations": annotations,
    });
    serde_json::to_vec(&doc).expect("state always serializes")
}

impl Runtime {
    /// Creates container `id` from a bundle; init waits for `start`.
    pub fn create(&self, id: &str, opts: &CreateOptions) -> Result<Created> {
        self.create_with_console(id, opts, None)
    }

    /// Like [`Runtime::create`]; when process.terminal is set and no
    /// `--console-socket` was given, `console` (one end of a socket pair,
    /// see [`crate::tty_proxy`]) receives the pty master instead.
    pub fn create_with_console(
        &self,
        id: &str,
        opts: &CreateOptions,
        console: Option<OwnedFd>,
    ) -> Result<Created> {
        validate_id(id)?;
        let bundle = Bundle::load(&opts.bundle)?;
        let spec = &bundle.spec;
        let linux = spec.linux().as_ref().expect("validated: linux is present");
        let seccomp = linux
            .seccomp()
            .as_ref()
            .map(wharf_seccomp::compile)
            .transpose()?;
        let plan = Plan::new(spec);
        if !plan.has(LinuxNamespaceType::Mount) {
            return Err(crate::config::ConfigError::Invalid {
                field: "linux.namespaces".into(),
                reason: "a mount namespace (new or joined) is required".into(),
            }
            .into());
        }
        let process = spec
            .process()
            .as_ref()
            .expect("validated: process is present");
        let terminal = process.terminal() == Some(true);
        let console_socket = match console {
            Some(fd) if terminal && opts.console_socket.is_none() => Some(fd),
            _ => connect_console(opts.console_socket.as_deref(), terminal)?,
        };

        std::fs::create_dir_all(&self.root).map_err(io_err("create state root", &self.root))?;
        let dir = self.root.join(id);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(RuntimeError::Exists(id.to_string()))
            }
            Err(e) => return Err(io_err("create state directory", &dir)(e)),
        }
        let mut cleanup = Cleanup {
            dir: &dir,
            cgroup: None,
            pids: Vec::new(),
            armed: true,
        };
        std::fs::copy(bundle.dir.join("config.json"), dir.join(state::CONFIG_COPY))
            .map_err(io_err("copy config.json to", &dir))?;
        let fifo = dir.join(EXEC_FIFO);
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, Mode::from_raw_mode(0o622))
            .map_err(|e| io_err("create exec fifo", &fifo)(e.into()))?;
        // The umask took bits off: set 0622 again so that init can write to
        // it as a uid mapped in a user namespace, where root's capabilities
        // do not reach host-owned files.
        rustix::fs::chmod(&fifo, Mode::from_raw_mode(0o622))
            .map_err(|e| io_err("chmod exec fifo", &fifo)(e.into()))?;
        let state_dir = rustix::fs::open(
            &dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io_err("open state directory", &dir)(e.into()))?;

        let cgroups_path = linux
            .cgroups_path()
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned());
        let cg = cgroup::open(cgroups_path.as_deref(), id)?;
        cleanup.cgroup = Some(cg.clone());
        cg.create()?;
        cg.apply(&cgroup::with_default_devices(linux))?;

        let threads = wharf_sys::process::SingleThreaded::check()
            .map_err(sys_err("check that the runtime is single-threaded"))?;
        let ctx = InitContext {
            threads,
            id,
            bundle: &bundle,
            plan: &plan,
            state_dir,
            console_socket,
            seccomp,
            cgroup_mounts: cgroup::mounts(&cg),
            no_pivot: opts.no_pivot,
            no_new_keyring: opts.no_new_keyring,
            preserve_fds: opts.preserve_fds,
        };
        let (parent, child) = Channel::pair()?;
        let (fork, in_v2) = cgroup::fork_into(&ctx.threads, &cg)
            .map_err(sys_err("fork the container's setup process"))?;
        let stage1 = match fork {
            wharf_sys::process::Fork::Child => {
                drop(parent);
                init::run_child(&child, || {
                    cg.enter_self(in_v2)?;
                    init::stage1(&ctx, &child)
                })
            }
            wharf_sys::process::Fork::Parent(pid) => pid,
        };
        drop(child);
        cleanup.pids.push(stage1);
        let init_pid = self
            .drive_setup(&ctx, &parent, stage1, &mut cleanup)
            .map_err(|e| match e {
                RuntimeError::Channel(ChannelError::Remote(message)) => RuntimeError::Init {
                    id: id.to_string(),
                    message,
                },
                other => other,
            })?;

        let pid_start = state::proc_stat(init_pid).map(|(_, s)| s).unwrap_or(0);
        let state = ContainerState {
            id: id.to_string(),
            bundle: bundle.dir.clone(),
            rootfs: bundle.rootfs.clone(),
            pid: init_pid,
            pid_start,
            created: state::now_rfc3339(),
            cgroups_path,
            annotations: spec.annotations().clone().unwrap_or_default(),
            own_pid_ns: plan.is_new(LinuxNamespaceType::Pid),
            poststart: hooks_of(spec, |h| h.poststart()),
            poststop: hooks_of(spec, |h| h.poststop()),
        };
        state.save(&dir).map_err(io_err("write state of", &dir))?;
        if let Some(path) = &opts.pid_file {
            write_pid_file(path, init_pid)?;
        }
        cleanup.armed = false;
        Ok(Created { state, terminal })
    }

    /// The runtime's half of the setup conversation. Returns init's pid.
    fn drive_setup(
        &self,
        ctx: &InitContext<'_>,
        chan: &Channel,
        stage1: i32,
        cleanup: &mut Cleanup<'_>,
    ) -> Result<i32> {
        let init_pid = loop {
            match chan.recv()? {
                Message::MapIds => {
                    write_id_maps(stage1, &ctx.bundle.spec)?;
                    chan.send(&Message::Continue)?;
                }
                Message::InitPid(pid) => break pid,
                other => return Err(ChannelError::Unexpected(other).into()),
            }
        };
        cleanup.pids.insert(0, init_pid);
        // Stage 1 only exits now (it reads nothing more): let init start
        // first, and reap stage 1 while init works.
        chan.send(&Message::Start { host_pid: init_pid })?;
        let stage1_pid = rustix::process::Pid::from_raw(stage1).expect("pid is positive");
        let _ = rustix::process::waitpid(Some(stage1_pid), rustix::process::WaitOptions::empty());
        cleanup.pids.retain(|p| *p != stage1);
        loop {
            match chan.recv_with_fd()? {
                (Message::SeccompListener, Some(fd)) => {
                    let spec = &ctx.bundle.spec;
                    crate::seccomp_listener::hand_over(
                        spec,
                        ctx.id,
                        &ctx.bundle.dir,
                        init_pid,
                        fd,
                    )?;
                    chan.send(&Message::Continue)?;
                }
                (Message::RunHooks, _) => {
                    let hooks = ctx.bundle.spec.hooks().as_ref();
                    let state = hook_state(ctx.id, init_pid, ctx.bundle, "created");
                    hooks::run(
                        "prestart",
                        hooks.and_then(|h| h.prestart().as_ref()),
                        &state,
                    )?;
                    hooks::run(
                        "createRuntime",
                        hooks.and_then(|h| h.create_runtime().as_ref()),
                        &state,
                    )?;
                    chan.send(&Message::Continue)?;
                }
                (Message::Ready, _) => return Ok(init_pid),
                (other, _) => return Err(ChannelError::Unexpected(other).into()),
            }
        }
    }
}

fn hooks_of(
    spec: &oci_spec::runtime::Spec,
    kind: impl Fn(&oci_spec::runtime::Hooks) -> &Option<Vec<oci_spec::runtime::Hook>>,
) -> Vec<oci_spec::runtime::Hook> {
    spec.hooks()
        .as_ref()
        .and_then(|h| kind(h).clone())
        .unwrap_or_default()
}

/// Writes `/proc/<pid>/uid_map` and `gid_map` from the spec.
fn write_id_maps(pid: i32, spec: &oci_spec::runtime::Spec) -> Result<()> {
    let linux = spec.linux().as_ref().expect("validated: linux is present");
    for (file, maps) in [
        ("uid_map", linux.uid_mappings()),
        ("gid_map", linux.gid_mappings()),
    ] {
        let text: String = maps
            .iter()
            .flatten()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect();
        let path = PathBuf::from(format!("/proc/{pid}/{file}"));
        std::fs::write(&path, text).map_err(io_err("write id mappings to", path))?;
    }
    Ok(())
}

/// Writes the pid file atomically, as runc does.
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let path = std::path::absolute(path).map_err(io_err("resolve pid file", path))?;
    state::write_atomic(&path, pid.to_string().as_bytes()).map_err(io_err("write pid file", path))
}

/// Opens a fresh `--console-socket` connection; kept for exec.
pub(crate) fn connect_console(path: Option<&Path>, terminal: bool) -> Result<Option<OwnedFd>> {
    match (terminal, path) {
        (true, Some(p)) => Ok(Some(console::connect(p)?)),
        (true, None) => Err(console::ConsoleError::NoSocket.into()),
        (false, _) => Ok(None),
    }
}
