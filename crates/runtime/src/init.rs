//! The two processes that turn a bundle into a running container.
//!
//! Stage 1 is forked by the runtime. It joins the namespaces named by path,
//! creates the user namespace (the runtime writes its id maps), then the
//! other new namespaces, and forks stage 2 with `CLONE_PARENT`, so that the
//! container's init is the runtime's child (and, once the runtime exits, the
//! child of the caller's subreaper, e.g. conmon or a shim). A new pid
//! namespace applies only to children of the process that unshared it,
//! which is why two stages are needed.
//!
//! Stage 2 is the container's init: it sets up the root filesystem, the
//! console and the process's identity, reports `Ready`, blocks on the exec
//! fifo until `start`, and executes the user's program.

use std::convert::Infallible;
use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use rustix::fs::{Mode, OFlags};

use crate::channel::{error_chain, Channel, ChannelError, Message};
use crate::config::Bundle;
use crate::namespaces::{self, NamespaceError, Plan};
use crate::rootfs::{self, CgroupMount, RootfsConfig, RootfsError};
use crate::setup::{self, SetupError};
use crate::state::EXEC_FIFO;
use crate::{console, hooks};
use wharf_seccomp::Filter;

/// Everything the setup processes need, prepared by the runtime before the
/// first fork (the children get a copy of it).
#[derive(Debug)]
pub struct InitContext<'a> {
    /// Proof that forking is sound here.
    pub threads: wharf_sys::process::SingleThreaded,
    /// The container id.
    pub id: &'a str,
    /// The validated bundle.
    pub bundle: &'a Bundle,
    /// The namespace plan.
    pub plan: &'a Plan,
    /// The container's state directory (`O_PATH`), to reach the exec fifo
    /// after pivot_root.
    pub state_dir: OwnedFd,
    /// A connected `--console-socket`, when process.terminal is set.
    pub console_socket: Option<OwnedFd>,
    /// The compiled seccomp filter.
    pub seccomp: Option<Filter>,
    /// What a `cgroup` mount shows.
    pub cgroup_mounts: Vec<CgroupMount>,
    /// runc's `--no-pivot`.
    pub no_pivot: bool,
    /// runc's `--no-new-keyring`.
    pub no_new_keyring: bool,
    /// runc's `--preserve-fds`: descriptors 3..3+N are passed on.
    pub preserve_fds: u32,
}

/// A failure in stage 1 or 2.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// Entering namespaces failed.
    #[error(transparent)]
    Namespace(#[from] NamespaceError),
    /// The root filesystem could not be set up.
    #[error(transparent)]
    Rootfs(#[from] RootfsError),
    /// Process setup failed.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// Joining the container's cgroup failed.
    #[error(transparent)]
    Cgroup(#[from] wharf_cgroups::CgroupError),
    /// The runtime went away or said something unexpected.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// A createContainer or startContainer hook failed.
    #[error(transparent)]
    Hook(#[from] hooks::HookError),
    /// The console could not be set up.
    #[error(transparent)]
    Console(#[from] console::ConsoleError),
    /// The seccomp filter could not be loaded.
    #[error(transparent)]
    Seccomp(#[from] wharf_seccomp::SeccompError),
    /// Another step failed.
    #[error("failed to {step}")]
    Step {
        /// What was attempted.
        step: String,
        #[source]
        source: std::io::Error,
    },
}

fn step(step: impl Into<String>) -> impl FnOnce(std::io::Error) -> InitError {
    let step = step.into();
    move |source| InitError::Step { step, source }
}

fn errno(step_name: impl Into<String>) -> impl FnOnce(rustix::io::Errno) -> InitError {
    let f = step(step_name);
    move |e| f(e.into())
}

/// Runs a child stage: on failure the error goes back over the channel.
/// Never returns.
pub fn run_child(chan: &Channel, f: impl FnOnce() -> Result<(), InitError>) -> ! {
    let code = match f() {
        Ok(()) => 0,
        Err(e) => {
            let _ = chan.send(&Message::Error(error_chain(&e)));
            1
        }
    };
    wharf_sys::process::exit_now(code)
}

/// Stage 1: namespaces, then fork init. Sends `InitPid`.
pub fn stage1(ctx: &InitContext<'_>, chan: &Channel) -> Result<(), InitError> {
    // The caller has put us into the container's cgroup, so the cgroup
    // namespace created below is rooted there.
    namespaces::join_all(ctx.plan)?;
    if ctx.plan.new_user {
        namespaces::unshare(libc::CLONE_NEWUSER)?;
        chan.send(&Message::MapIds)?;
        chan.expect(Message::Continue)?;
        become_root()?;
    } else if ctx.plan.has(LinuxNamespaceType::User) {
        // setns(2) into a user namespace keeps the host ids, unmapped
        // there: become its root as a new one's is become.
        become_root()?;
    }
    namespaces::unshare(ctx.plan.new_flags)?;
    if ctx.plan.is_new(LinuxNamespaceType::Time) {
        write_time_offsets(&ctx.bundle.spec)?;
    }
    let fork = wharf_sys::process::clone3_single_threaded(
        &ctx.threads,
        wharf_sys::process::CloneArgs {
            flags: libc::CLONE_PARENT as u64,
            ..Default::default()
        },
    )
    .map_err(step("fork the container's init"))?;
    match fork {
        wharf_sys::process::Fork::Child => run_child(chan, || match stage2(ctx, chan) {
            Ok(never) => match never {},
            Err(e) => Err(e),
        }),
        wharf_sys::process::Fork::Parent(pid) => chan.send(&Message::InitPid(pid))?,
    }
    Ok(())
}

fn become_root() -> Result<(), InitError> {
    let root = rustix::process::Uid::ROOT;
    let gid = rustix::process::Gid::ROOT;
    rustix::thread::set_thread_res_gid(gid, gid, gid)
        .map_err(errno("become gid 0 in the user namespace"))?;
    rustix::thread::set_thread_res_uid(root, root, root)
        .map_err(errno("become uid 0 in the user namespace"))?;
    Ok(())
}

fn write_time_offsets(spec: &Spec) -> Result<(), InitError> {
    let offsets = spec.linux().as_ref().and_then(|l| l.time_offsets().clone());
    let mut text = String::new();
    for (clock, off) in offsets.iter().flatten() {
        text.push_str(&format!(
            "{clock} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    if !text.is_empty() {
        write_own_proc_file(
            "timens_offsets",
            &text,
            "write /proc/self/timens_offsets".into(),
        )?;
    }
    Ok(())
}

/// Writes `/proc/self/<name>`. Becoming root in a new user namespace
/// changed our uid, which made us non-dumpable (prctl(2),
/// PR_SET_DUMPABLE): /proc/self files then belong to the host's root,
/// unmapped there, and the write is refused. Be dumpable for the write only.
fn write_own_proc_file(name: &str, text: &str, what: String) -> Result<(), InitError> {
    use rustix::process::{dumpable_behavior, set_dumpable_behavior, DumpableBehavior};
    let was = dumpable_behavior().map_err(errno("read the dumpable flag"))?;
    set_dumpable_behavior(DumpableBehavior::Dumpable)
        .map_err(errno(format!("make init dumpable to {what}")))?;
    let written = std::fs::write(format!("/proc/self/{name}"), text).map_err(step(what));
    set_dumpable_behavior(was).map_err(errno("restore the dumpable flag"))?;
    written
}

/// Stage 2, the container's init. Returns only with an error.
fn stage2(ctx: &InitContext<'_>, chan: &Channel) -> Result<Infallible, InitError> {
    let host_pid = match chan.recv()? {
        Message::Start { host_pid } => host_pid,
        other => return Err(ChannelError::Unexpected(other).into()),
    };
    // Die with the runtime while being set up; cleared before `Ready`.
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .map_err(errno("set the parent death signal"))?;
    rustix::process::setsid().map_err(errno("start a new session"))?;
    let spec = &ctx.bundle.spec;
    let process = spec
        .process()
        .as_ref()
        .expect("validated: process is present");
    if let Some(adj) = process.oom_score_adj() {
        // The host's /proc is still mounted here and /proc/self is us.
        write_own_proc_file(
            "oom_score_adj",
            &adj.to_string(),
            format!("set oom_score_adj to {adj}"),
        )?;
    }
    let cfg = RootfsConfig {
        spec,
        rootfs: &ctx.bundle.rootfs,
        bundle: &ctx.bundle.dir,
        no_pivot: ctx.no_pivot,
        in_user_ns: ctx.plan.has(LinuxNamespaceType::User),
        cgroup_ns: ctx.plan.has(LinuxNamespaceType::Cgroup),
        cgroup_mounts: &ctx.cgroup_mounts,
    };
    rootfs::prepare(&cfg)?;
    let hooks = spec.hooks().as_ref();
    if hooks.is_some_and(|h| h.prestart().is_some() || h.create_runtime().is_some()) {
        chan.send(&Message::RunHooks)?;
        chan.expect(Message::Continue)?;
    }
    if let Some(create_container) = hooks.and_then(|h| h.create_container().as_ref()) {
        let state = crate::create::hook_state(ctx.id, host_pid, ctx.bundle, "created");
        hooks::run("createContainer", Some(create_container), &state)?;
    }
    rootfs::pivot(&cfg)?;
    // A missing cwd is made now, as root and before the root turns
    // read-only in finalize (runc does it in prepareRootfs).
    setup::create_cwd(process.cwd())?;
    if let Some(name) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        rustix::system::sethostname(name.as_bytes())
            .map_err(errno(format!("set hostname {name:?}")))?;
    }
    if let Some(name) = spec.domainname().as_deref().filter(|h| !h.is_empty()) {
        rustix::system::setdomainname(name.as_bytes())
            .map_err(errno(format!("set domainname {name:?}")))?;
    }
    if process.terminal() == Some(true) {
        let socket = ctx
            .console_socket
            .as_ref()
            .ok_or(console::ConsoleError::NoSocket)?;
        console::setup_pty(socket.as_fd(), process.console_size(), true)?;
    }
    rootfs::finalize(&cfg)?;
    if !ctx.no_new_keyring {
        let name = CString::new(ctx.id).unwrap_or_default();
        // An unsupported keyring (ENOSYS, or EACCES in some user namespaces)
        // is not fatal, as in runc.
        let _ = wharf_sys::process::join_session_keyring(&name);
    }
    setup::set_rlimits(process)?;
    setup::set_scheduling(process)?;
    setup::set_personality(spec.linux().as_ref().and_then(|l| l.personality().as_ref()))?;
    let target = setup::resolve_exec(process)?;
    let late_filter = secure_process(process, ctx.seccomp.as_ref(), chan)?;
    rustix::process::set_parent_process_death_signal(None)
        .map_err(errno("clear the parent death signal"))?;
    chan.send(&Message::Ready)?;

    let started = (|| {
        wait_for_start(ctx)?;
        if let Some(start_container) = hooks.and_then(|h| h.start_container().as_ref()) {
            let state = crate::create::hook_state(ctx.id, host_pid, ctx.bundle, "running");
            hooks::run("startContainer", Some(start_container), &state)?;
        }
        exec_final(late_filter, ctx.preserve_fds, target)
    })();
    if let Err(e) = &started {
        // `create` has returned and nobody reads the channel any more: as
        // runc does, say it on the container's stderr, where the engine
        // looks.
        eprintln!("wharf init: {}", error_chain(e));
    }
    started
}

/// Switches to the process's identity and loads its seccomp filter, in the
/// order the kernel needs. Without no_new_privs, loading a filter needs
/// CAP_SYS_ADMIN, so it goes on before the capabilities are dropped (and
/// must allow what follows). With no_new_privs it goes on as late as
/// possible, right before exec: that filter is returned for
/// [`exec_final`]. A filter with a notify listener is loaded here in
/// either case, and its descriptor goes to the runtime, which hands it to
/// linux.seccomp.listenerPath.
pub fn secure_process<'f>(
    process: &oci_spec::runtime::Process,
    seccomp: Option<&'f Filter>,
    chan: &Channel,
) -> Result<Option<&'f Filter>, InitError> {
    let no_new_privs = process.no_new_privileges() == Some(true);
    if let Some(filter) = seccomp.filter(|_| !no_new_privs) {
        install_seccomp(filter, chan)?;
    }
    setup::set_identity(process)?;
    setup::enter_cwd(process.cwd())?;
    if !no_new_privs {
        return Ok(None);
    }
    rustix::thread::set_no_new_privs(true).map_err(errno("set no_new_privs"))?;
    match seccomp {
        Some(filter) if filter.needs_listener() => {
            install_seccomp(filter, chan)?;
            Ok(None)
        }
        other => Ok(other),
    }
}

fn install_seccomp(filter: &Filter, chan: &Channel) -> Result<(), InitError> {
    if let Some(listener) = filter.install()? {
        chan.send_with_fd(&Message::SeccompListener, listener.as_fd())?;
        chan.expect(Message::Continue)?;
    }
    Ok(())
}

/// Blocks until `start` opens the exec fifo, then tells it we are going.
fn wait_for_start(ctx: &InitContext<'_>) -> Result<(), InitError> {
    let fifo = rustix::fs::openat(
        ctx.state_dir.as_fd(),
        EXEC_FIFO,
        OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno("open the exec fifo"))?;
    let mut fifo = std::fs::File::from(fifo);
    fifo.write_all(b"0")
        .map_err(step("write to the exec fifo"))?;
    Ok(())
}

/// The end of setup: no descriptor but stdio and the preserved ones
/// survives the exec, and a late seccomp filter goes on last.
pub fn exec_final(
    late_filter: Option<&Filter>,
    preserve_fds: u32,
    target: setup::ExecTarget,
) -> Result<Infallible, InitError> {
    let first_closed = 3 + preserve_fds;
    for fd in 3..first_closed {
        // The caller passed these on purpose: they stay open across exec.
        wharf_sys::process::clear_cloexec(fd as i32)
            .map_err(step(format!("keep preserved descriptor {fd} open")))?;
    }
    wharf_sys::process::cloexec_from(first_closed)
        .map_err(step("mark descriptors close-on-exec"))?;
    if let Some(filter) = late_filter {
        filter.install()?;
    }
    let err = wharf_sys::process::execve(&target.path, &target.args, &target.env);
    Err(InitError::Setup(SetupError::NotExecutable {
        path: PathBuf::from(target.path.to_string_lossy().into_owned()),
        reason: err.to_string(),
    }))
}
