//! Process creation and replacement: `clone3`, `execve`, `unshare`, `setns`
//! and `close_range`.
//!
//! Forking is only sound in a single-threaded process: the child gets a copy
//! of one thread, and any lock another thread held stays locked forever. The
//! runtime is single-threaded by design (STYLE.md, "Async"), and every
//! function here that creates a process is `unsafe` to make callers say so.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Which side of a fork the caller is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fork {
    /// In the parent, with the child's pid.
    Parent(i32),
    /// In the child.
    Child,
}

/// Arguments of `clone3(2)` that the runtime uses.
#[derive(Debug, Default, Clone, Copy)]
pub struct CloneArgs<'a> {
    /// `CLONE_*` flags, namespaces included (`CLONE_NEWPID`, …), plus
    /// `CLONE_PARENT` to make the child a sibling of the caller.
    pub flags: u64,
    /// A cgroup v2 directory to start the child in (`CLONE_INTO_CGROUP`).
    pub cgroup: Option<BorrowedFd<'a>>,
    /// Signal sent to the parent when the child exits (normally `SIGCHLD`).
    pub exit_signal: Option<i32>,
}

#[repr(C)]
#[derive(Default)]
struct RawCloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Creates a child process with `clone3(2)`, like `fork` but with flags.
///
/// # Safety
/// The caller must be single-threaded. In the child, only the calling
/// thread exists; the child must eventually `exec` or `_exit`.
pub unsafe fn clone3(args: CloneArgs<'_>) -> io::Result<Fork> {
    // With CLONE_PARENT the child inherits the caller's own exit signal, and
    // clone3 insists on exit_signal being 0 (kernel/fork.c,
    // clone3_args_valid).
    let exit_signal = if args.flags & libc::CLONE_PARENT as u64 != 0 {
        0
    } else {
        args.exit_signal.unwrap_or(libc::SIGCHLD) as u64
    };
    let mut raw = RawCloneArgs {
        flags: args.flags,
        exit_signal,
        ..RawCloneArgs::default()
    };
    if let Some(fd) = args.cgroup {
        raw.flags |= CLONE_INTO_CGROUP;
        raw.cgroup = fd.as_raw_fd() as u64;
    }
    // SAFETY: `raw` is a valid clone_args structure of the size we pass; with
    // no stack given, clone3 behaves like fork, which the caller promised is
    // sound in this (single-threaded) process.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut raw as *mut RawCloneArgs,
            std::mem::size_of::<RawCloneArgs>(),
        )
    };
    match ret {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Fork::Child),
        pid => Ok(Fork::Parent(pid as i32)),
    }
}

/// Plain `fork()` through `clone3`.
///
/// # Safety
/// As for [`clone3`].
pub unsafe fn fork() -> io::Result<Fork> {
    // SAFETY: forwarded to the caller.
    unsafe { clone3(CloneArgs::default()) }
}

/// Moves the calling thread into new namespaces (`unshare(2)`).
///
/// Only namespace flags are accepted (`CLONE_NEW*`), never `CLONE_FILES` or
/// `CLONE_FS`, so no other thread can be affected.
pub fn unshare(flags: i32) -> io::Result<()> {
    const NS_FLAGS: i32 = libc::CLONE_NEWNS
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUSER
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWCGROUP
        | libc::CLONE_NEWTIME;
    if flags & !NS_FLAGS != 0 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: namespace flags only change which namespaces this thread is in;
    // they share no memory or descriptor table with other threads.
    let ret = unsafe { libc::unshare(flags) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Joins the namespaces named by `nstype` of the process behind `fd`
/// (a pidfd, joining several at once atomically) or the single namespace
/// behind a `/proc/<pid>/ns/<kind>` file descriptor.
pub fn setns(fd: BorrowedFd<'_>, nstype: i32) -> io::Result<()> {
    // SAFETY: setns only reads the descriptor and flags.
    let ret = unsafe { libc::setns(fd.as_raw_fd(), nstype) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Marks every descriptor from `first` upwards close-on-exec
/// (`close_range(first, ~0, CLOSE_RANGE_CLOEXEC)`), so that nothing the
/// runtime had open leaks into the container's process.
pub fn cloexec_from(first: u32) -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;
    // SAFETY: close_range with CLOEXEC only flips descriptor flags.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Replaces the process image (`execve(2)`). Returns only on failure.
pub fn execve(path: &CString, args: &[CString], env: &[CString]) -> io::Error {
    let argv = null_terminated(args);
    let envp = null_terminated(env);
    // SAFETY: all pointers are to NUL-terminated strings kept alive by the
    // borrowed vectors, and both arrays end in a null pointer.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    io::Error::last_os_error()
}

/// `execveat(fd, "", …, AT_EMPTY_PATH)`: executes an open file, such as a
/// sealed memfd. Returns only on failure.
pub fn fexecve(fd: BorrowedFd<'_>, args: &[CString], env: &[CString]) -> io::Error {
    let argv = null_terminated(args);
    let envp = null_terminated(env);
    // SAFETY: as for execve; the empty path with AT_EMPTY_PATH names `fd`.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    io::Error::last_os_error()
}

fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// Ends the process at once without running destructors or flushing stdio
/// buffers that belong to the parent (`_exit(2)`), as a forked child must.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no user-space state.
    unsafe { libc::_exit(code) }
}

/// Makes the terminal on `fd` the controlling terminal (`TIOCSCTTY`).
pub fn set_controlling_terminal(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument, no memory.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Clears close-on-exec on descriptor number `fd`, which the caller of the
/// runtime passed on purpose (`--preserve-fds`).
pub fn clear_cloexec(fd: i32) -> io::Result<()> {
    // SAFETY: F_SETFD on a descriptor number only changes its flags; an
    // invalid number fails with EBADF.
    let ret = unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Joins a new session keyring named `name` (keyctl(2),
/// `KEYCTL_JOIN_SESSION_KEYRING`), so the container does not share the
/// host's session keyring.
pub fn join_session_keyring(name: &std::ffi::CStr) -> io::Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: the name is a valid NUL-terminated string.
    let ret =
        unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes `fd` the standard input, output and error (`dup2` onto 0, 1, 2).
pub fn dup_onto_stdio(fd: BorrowedFd<'_>) -> io::Result<()> {
    for target in 0..3 {
        // SAFETY: dup2 onto the standard descriptors replaces them
        // atomically; nothing in this process holds them as owned values.
        let ret = unsafe { libc::dup2(fd.as_raw_fd(), target) };
        if ret == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A fork was asked for in a process that has more than one thread.
#[derive(Debug, thiserror::Error)]
#[error("refusing to fork: the process has {threads} threads (it must have one)")]
pub struct MultiThreaded {
    /// How many threads there were.
    pub threads: usize,
}

/// The number of threads of this process (`/proc/self/stat`, field 20).
pub fn thread_count() -> io::Result<usize> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let rest = stat
        .rfind(')')
        .map(|i| &stat[i + 2..])
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad /proc/self/stat"))?;
    rest.split(' ')
        .nth(17)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad /proc/self/stat"))
}

/// Proof that the process was single-threaded when it was checked, which
/// makes forking sound. It cannot be sent to another thread; a child forked
/// from a single-threaded process is single-threaded too, so a token may be
/// used in forked children (where /proc may no longer show the process).
#[derive(Debug)]
pub struct SingleThreaded {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl SingleThreaded {
    /// Checks the thread count in /proc/self/stat.
    pub fn check() -> io::Result<SingleThreaded> {
        let threads = thread_count()?;
        if threads != 1 {
            return Err(io::Error::other(MultiThreaded { threads }));
        }
        Ok(SingleThreaded {
            _not_send: std::marker::PhantomData,
        })
    }
}

/// [`clone3`] made safe by a [`SingleThreaded`] token.
pub fn clone3_single_threaded(_token: &SingleThreaded, args: CloneArgs<'_>) -> io::Result<Fork> {
    // SAFETY: the token proves the process had one thread when checked; the
    // runtime starts no threads, and children of a single-threaded process
    // are single-threaded.
    unsafe { clone3(args) }
}
