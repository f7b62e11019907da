//! `exec`: a new process in a running container.
//!
//! Stage 1 marks itself non-dumpable (so no process in the container can
//! open its /proc/<pid>/exe or memory while it holds host resources; see
//! CVE-2016-9962), joins all of the container's namespaces at once through a
//! pidfd of its init, and forks the process that becomes the exec'd program
//! (a pid namespace applies to children only). The runtime puts stage 1 into
//! the container's cgroup before it does anything.

use std::convert::Infallible;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities, Process};
use rustix::process::{Pid, PidfdFlags, WaitOptions};
use wharf_seccomp::Filter;

use crate::channel::{Channel, ChannelError, Message};
use crate::error::{io_err, sys_err, Result, RuntimeError};
use crate::init::{self, InitError};
use crate::namespaces::{flag, Plan};
use crate::state::Status;
use crate::{console, setup, Runtime};

/// What `exec` runs and how.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// `--process`: a process.json replacing all the flags below.
    pub process_json: Option<PathBuf>,
    /// The command and its arguments.
    pub args: Vec<String>,
    /// `--cwd`.
    pub cwd: Option<PathBuf>,
    /// `--env KEY=value`, added to (or replacing in) the container's env.
    pub env: Vec<String>,
    /// `--tty`.
    pub tty: bool,
    /// `--user uid[:gid]`.
    pub user: Option<String>,
    /// `--additional-gids`.
    pub additional_gids: Vec<u32>,
    /// `--cap`: capabilities added to the process's sets.
    pub caps: Vec<String>,
    /// `--no-new-privs`.
    pub no_new_privs: bool,
    /// `--console-socket`.
    pub console_socket: Option<PathBuf>,
    /// `--pid-file`.
    pub pid_file: Option<PathBuf>,
    /// `--detach`.
    pub detach: bool,
    /// `--preserve-fds`.
    pub preserve_fds: u32,
    /// `--ignore-paused`.
    pub ignore_paused: bool,
}

fn bad(msg: impl Into<String>) -> RuntimeError {
    RuntimeError::Process(msg.into())
}

/// Builds the process to run from the container's process and the flags,
/// as runc does.
fn build_process(base: &Process, opts: &ExecOptions) -> Result<Process> {
    if let Some(path) = &opts.process_json {
        let data = std::fs::read(path).map_err(io_err("read process file", path))?;
        let p: Process =
            serde_json::from_slice(&data).map_err(|e| bad(format!("{}: {e}", path.display())))?;
        if p.args().as_ref().is_none_or(|a| a.is_empty()) {
            return Err(bad(format!("{}: args must not be empty", path.display())));
        }
        return Ok(p);
    }
    if opts.args.is_empty() {
        return Err(bad("no command given"));
    }
    let mut p = base.clone();
    p.set_args(Some(opts.args.clone()));
    p.set_terminal(Some(opts.tty));
    if let Some(cwd) = &opts.cwd {
        if !cwd.is_absolute() {
            return Err(bad(format!(
                "cwd {} is not an absolute path",
                cwd.display()
            )));
        }
        p.set_cwd(cwd.clone());
    }
    let mut env = p.env().clone().unwrap_or_default();
    for kv in &opts.env {
        let Some((key, _)) = kv.split_once('=') else {
            return Err(bad(format!("env {kv:?} is not of the form KEY=value")));
        };
        env.retain(|e| e.split_once('=').map(|(k, _)| k) != Some(key));
        env.push(kv.clone());
    }
    p.set_env(Some(env));
    if let Some(user) = &opts.user {
        let (uid, gid) = match user.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (user.as_str(), None),
        };
        let parse = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| bad(format!("user {user:?}: ids must be numbers")))
        };
        p.user_mut().set_uid(parse(uid)?);
        p.user_mut()
            .set_gid(gid.map(parse).transpose()?.unwrap_or(0));
    }
    if !opts.additional_gids.is_empty() {
        p.user_mut()
            .set_additional_gids(Some(opts.additional_gids.clone()));
    }
    if !opts.caps.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        let add: Vec<Capability> = opts
            .caps
            .iter()
            .map(|c| {
                serde_json::from_value(serde_json::Value::String(c.clone()))
                    .map_err(|_| bad(format!("unknown capability {c:?}")))
            })
            .collect::<Result<_>>()?;
        let plus = |set: &Option<Capabilities>| {
            let mut s = set.clone().unwrap_or_default();
            s.extend(add.iter().copied());
            Some(s)
        };
        caps = LinuxCapabilities::default()
            .tap(|c| c.set_bounding(plus(caps.bounding())))
            .tap(|c| c.set_effective(plus(caps.effective())))
            .tap(|c| c.set_permitted(plus(caps.permitted())))
            .tap(|c| c.set_inheritable(caps.inheritable().clone()))
            .tap(|c| c.set_ambient(caps.ambient().clone()));
        p.set_capabilities(Some(caps));
    }
    if opts.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    Ok(p)
}

trait Tap: Sized {
    fn tap(mut self, f: impl FnOnce(&mut Self) -> &mut Self) -> Self {
        f(&mut self);
        self
    }
}
impl Tap for LinuxCapabilities {}

/// What the exec stages need (copied into them by fork).
struct ExecContext {
    threads: wharf_sys::process::SingleThreaded,
    process: Process,
    init_pidfd: OwnedFd,
    /// The init's root directory (`/proc/<pid>/root`), entered after setns.
    init_root: OwnedFd,
    ns_flags: i32,
    seccomp: Option<Filter>,
    console_socket: Option<OwnedFd>,
    preserve_fds: u32,
}

impl Runtime {
    /// Runs a process in container `id`; returns its exit code, or 0 when
    /// detached.
    pub fn exec(&self, id: &str, opts: &ExecOptions) -> Result<i32> {
        let c = self.load_for_exec(id, opts.ignore_paused)?;
        let spec = c.spec()?;
        let base = spec.process().clone().unwrap_or_default();
        let process = build_process(&base, opts)?;
        let terminal = process.terminal() == Some(true);
        // In the foreground without --console-socket, the pty comes to us.
        let mut receiver = None;
        let console_socket = if terminal && opts.console_socket.is_none() && !opts.detach {
            let (r, theirs) = crate::tty_proxy::pair()?;
            receiver = Some(r);
            Some(theirs)
        } else {
            crate::create::connect_console(opts.console_socket.as_deref(), terminal)?
        };
        let pid = self.spawn_exec(&c, &spec, process, console_socket, opts.preserve_fds)?;
        if let Some(path) = &opts.pid_file {
            crate::create::write_pid_file(path, pid)?;
        }
        if opts.detach {
            return Ok(0);
        }
        match receiver {
            Some(r) => {
                let master = r.recv_master()?;
                let signals = wharf_sys::signal::SignalSet::block_forwardable()
                    .map_err(sys_err("block signals"))?;
                crate::tty_proxy::proxy_until_exit(master, &signals, pid)
            }
            None => crate::run::wait_forwarding(pid),
        }
    }

    /// Starts `process` in container `id` and returns its host pid at once;
    /// the caller is its parent and reaps it. Its stdio is the caller's
    /// descriptors 0-2; with process.terminal, the pty master is sent over
    /// `console` (one end of [`crate::tty_proxy::pair`]) instead.
    pub fn exec_process(
        &self,
        id: &str,
        process: Process,
        console: Option<OwnedFd>,
    ) -> Result<i32> {
        let c = self.load_for_exec(id, false)?;
        if process.args().as_ref().is_none_or(|a| a.is_empty()) {
            return Err(bad("process args must not be empty"));
        }
        let console = match process.terminal() == Some(true) {
            true => Some(console.ok_or(console::ConsoleError::NoSocket)?),
            false => None,
        };
        let spec = c.spec()?;
        self.spawn_exec(&c, &spec, process, console, 0)
    }

    fn load_for_exec(&self, id: &str, ignore_paused: bool) -> Result<crate::lifecycle::Container> {
        let c = self.load(id)?;
        match c.status {
            Status::Running | Status::Created => Ok(c),
            Status::Paused if ignore_paused => Ok(c),
            status => Err(RuntimeError::BadState {
                id: id.to_string(),
                status,
                op: "exec in",
            }),
        }
    }

    /// Forks the exec stages and waits until the process is ready to run
    /// its program; returns its pid.
    fn spawn_exec(
        &self,
        c: &crate::lifecycle::Container,
        spec: &oci_spec::runtime::Spec,
        process: Process,
        console_socket: Option<OwnedFd>,
        preserve_fds: u32,
    ) -> Result<i32> {
        let id = c.state.id.as_str();
        let linux = spec.linux().clone().unwrap_or_default();
        let seccomp = linux
            .seccomp()
            .as_ref()
            .map(wharf_seccomp::compile)
            .transpose()?;
        let plan = Plan::new(spec);
        let ns_flags = crate::namespaces::ALL
            .into_iter()
            .filter(|t| plan.has(*t))
            .map(flag)
            .fold(0, |a, b| a | b);
        let pid =
            Pid::from_raw(c.state.pid).ok_or_else(|| RuntimeError::NotFound(id.to_string()))?;
        let init_pidfd = rustix::process::pidfd_open(pid, PidfdFlags::empty())
            .map_err(sys_err(format!("open pidfd of init {}", c.state.pid)))?;
        let init_root = rustix::fs::open(
            format!("/proc/{}/root", c.state.pid),
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(sys_err(format!("open the root of init {}", c.state.pid)))?;
        if !c.state.init_alive() {
            return Err(RuntimeError::BadState {
                id: id.to_string(),
                status: Status::Stopped,
                op: "exec in",
            });
        }
        let threads = wharf_sys::process::SingleThreaded::check()
            .map_err(sys_err("check that the runtime is single-threaded"))?;
        let ctx = ExecContext {
            threads,
            process,
            init_pidfd,
            init_root,
            ns_flags,
            seccomp,
            console_socket,
            preserve_fds,
        };
        let cg = c.cgroup()?;
        let (parent, child) = Channel::pair()?;
        let (fork, in_v2) = crate::cgroup::fork_into(&ctx.threads, &cg)
            .map_err(sys_err("fork the exec setup process"))?;
        let stage1 = match fork {
            wharf_sys::process::Fork::Child => {
                drop(parent);
                init::run_child(&child, || {
                    cg.enter_self(in_v2)?;
                    exec_stage1(&ctx, &child)
                })
            }
            wharf_sys::process::Fork::Parent(pid) => pid,
        };
        drop(child);
        let result = (|| -> Result<i32> {
            let pid = match parent.recv()? {
                Message::InitPid(pid) => pid,
                other => return Err(ChannelError::Unexpected(other).into()),
            };
            let _ = rustix::process::waitpid(Pid::from_raw(stage1), WaitOptions::empty());
            parent.send(&Message::Start { host_pid: pid })?;
            let remote = |e: ChannelError| match e {
                ChannelError::Remote(message) => RuntimeError::Exec {
                    id: id.to_string(),
                    message,
                },
                other => other.into(),
            };
            loop {
                match parent.recv_with_fd().map_err(remote)? {
                    (Message::Ready, _) => break,
                    (Message::SeccompListener, Some(fd)) => {
                        crate::seccomp_listener::hand_over(spec, id, &c.state.bundle, pid, fd)?;
                        parent.send(&Message::Continue)?;
                    }
                    (other, _) => return Err(ChannelError::Unexpected(other).into()),
                }
            }
            Ok(pid)
        })();
        match result {
            Ok(pid) => Ok(pid),
            Err(e) => {
                let p = Pid::from_raw(stage1).expect("pid is positive");
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
                let _ = rustix::process::waitpid(Some(p), WaitOptions::empty());
                Err(e)
            }
        }
    }
}

fn exec_stage1(ctx: &ExecContext, chan: &Channel) -> Result<(), InitError> {
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .map_err(|e| InitError::Step {
            step: "make the exec process non-dumpable".into(),
            source: e.into(),
        })?;
    wharf_sys::process::setns(ctx.init_pidfd.as_fd(), ctx.ns_flags).map_err(|source| {
        InitError::Step {
            step: "join the container's namespaces".into(),
            source,
        }
    })?;
    // setns(2) into a mount namespace puts us at what is mounted on the
    // namespace's root, which is the container's root only when the runtime
    // runs at the root of its own namespace; under a chroot (a build
    // sandbox, a VM's initramfs) it is not. Enter the root the init has.
    rustix::process::fchdir(ctx.init_root.as_fd())
        .and_then(|()| rustix::process::chroot("."))
        .map_err(|e| InitError::Step {
            step: "enter the container's root".into(),
            source: e.into(),
        })?;
    let fork = wharf_sys::process::clone3_single_threaded(
        &ctx.threads,
        wharf_sys::process::CloneArgs {
            flags: libc::CLONE_PARENT as u64,
            ..Default::default()
        },
    )
    .map_err(|source| InitError::Step {
        step: "fork the exec'd process".into(),
        source,
    })?;
    match fork {
        wharf_sys::process::Fork::Child => init::run_child(chan, || match exec_stage2(ctx, chan) {
            Ok(never) => match never {},
            Err(e) => Err(e),
        }),
        wharf_sys::process::Fork::Parent(pid) => chan.send(&Message::InitPid(pid))?,
    }
    Ok(())
}

fn exec_stage2(ctx: &ExecContext, chan: &Channel) -> Result<Infallible, InitError> {
    match chan.recv()? {
        Message::Start { .. } => {}
        other => return Err(ChannelError::Unexpected(other).into()),
    }
    let process = &ctx.process;
    if process.terminal() == Some(true) {
        rustix::process::setsid().map_err(|e| InitError::Step {
            step: "start a new session".into(),
            source: e.into(),
        })?;
        let socket = ctx
            .console_socket
            .as_ref()
            .ok_or(console::ConsoleError::NoSocket)?;
        console::setup_pty(socket.as_fd(), process.console_size(), false)?;
    }
    setup::set_rlimits(process)?;
    setup::set_scheduling(process)?;
    let target = setup::resolve_exec(process)?;
    let late_filter = init::secure_process(process, ctx.seccomp.as_ref(), chan)?;
    chan.send(&Message::Ready)?;
    init::exec_final(late_filter, ctx.preserve_fds, target)
}
