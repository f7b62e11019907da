//! Signal dispositions for a long-lived parent (the shim): a signal can be
//! caught by a handler that does nothing, so that it only interrupts a
//! blocking call. Unlike `SIG_IGN`, a caught signal goes back to its
//! default action in a process that calls execve(2) (signal(7), "Execution
//! of signal handlers"), so the parent's choice never leaks into the
//! container's processes it forks.

use std::io;

extern "C" fn nothing(_sig: libc::c_int) {}

/// Catches `sig` with a handler that does nothing. With `SA_RESTART`, most
/// interrupted system calls resume, but poll(2) and its kin still fail with
/// EINTR (they are never restarted, signal(7)): the signal wakes a poll loop
/// and nothing else.
pub fn catch_noop(sig: i32) -> io::Result<()> {
    // SAFETY: sigaction is plain data; zeroed is a valid empty value.
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = nothing as extern "C" fn(libc::c_int) as libc::sighandler_t;
    act.sa_flags = libc::SA_RESTART;
    // SAFETY: `act.sa_mask` is a valid sigset_t inside `act`.
    unsafe { libc::sigemptyset(&mut act.sa_mask) };
    // SAFETY: `act` is initialised and the handler is async-signal-safe
    // (it does nothing); the old action is not wanted.
    let ret = unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
