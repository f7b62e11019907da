//! Spawning a command from a process that blocks signals (an init that
//! takes them with sigwaitinfo(2)): the child must start with an empty
//! signal mask, since a mask survives fork(2) and execve(2) (sigprocmask(2))
//! and most programs never clear it.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes `cmd`'s child clear its signal mask just before it execs.
pub fn with_empty_signal_mask(cmd: &mut Command) -> &mut Command {
    let hook = || {
        // SAFETY: sigset_t is plain data; sigemptyset initialises it.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid sigset_t.
        unsafe { libc::sigemptyset(&mut set) };
        // SAFETY: `set` is initialised; the old mask is not wanted.
        let ret = unsafe { libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut()) };
        if ret == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    };
    // SAFETY: the hook runs in the child between fork and exec and only
    // calls sigemptyset(3) and sigprocmask(2), which are async-signal-safe;
    // it allocates nothing and touches no state of other threads.
    unsafe { cmd.pre_exec(hook) }
}
