//! Synchronous signal handling for a process that waits on its child:
//! signals are blocked and taken one at a time with `sigwaitinfo(2)`, so no
//! handler runs at an arbitrary point of the program.

use std::io;

/// A blocked set of signals that [`SignalSet::wait`] takes.
#[derive(Debug)]
pub struct SignalSet {
    set: libc::sigset_t,
}

impl SignalSet {
    /// Blocks every signal that can be caught (all but SIGKILL and SIGSTOP,
    /// and the synchronous fault signals) and returns the set.
    pub fn block_forwardable() -> io::Result<SignalSet> {
        // SAFETY: sigset_t is plain data; sigfillset/sigdelset initialise it.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid sigset_t.
        unsafe {
            libc::sigfillset(&mut set);
            for sig in [
                libc::SIGKILL,
                libc::SIGSTOP,
                libc::SIGSEGV,
                libc::SIGBUS,
                libc::SIGILL,
                libc::SIGFPE,
                libc::SIGTRAP,
                libc::SIGABRT,
            ] {
                libc::sigdelset(&mut set, sig);
            }
        }
        // SAFETY: `set` is initialised; the old mask is not needed.
        let ret = unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if ret == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(SignalSet { set })
    }

    /// Waits for the next blocked signal and returns its number.
    pub fn wait(&self) -> io::Result<i32> {
        loop {
            // SAFETY: `set` is initialised; a null siginfo pointer is allowed.
            let sig = unsafe { libc::sigwaitinfo(&self.set, std::ptr::null_mut()) };
            if sig == -1 {
                let err = io::Error::last_os_error();
                if err.raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return Err(err);
            }
            return Ok(sig);
        }
    }

    /// Unblocks the set again (in a child before exec).
    pub fn unblock(&self) -> io::Result<()> {
        // SAFETY: `set` is initialised.
        let ret = unsafe { libc::sigprocmask(libc::SIG_UNBLOCK, &self.set, std::ptr::null_mut()) };
        if ret == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// Sends signal number `sig` to `pid` (any number, real-time ones
/// included). Signals are not memory-unsafe; this only exists because
/// `rustix` takes named signals.
pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: kill(2) takes plain integers.
    let ret = unsafe { libc::kill(pid, sig) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl SignalSet {
    /// A signalfd(2) for the (blocked) set, for waiting on signals together
    /// with other descriptors in poll(2).
    pub fn signalfd(&self) -> io::Result<std::os::fd::OwnedFd> {
        // SAFETY: `set` is initialised; -1 asks for a new descriptor.
        let fd = unsafe { libc::signalfd(-1, &self.set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
        if fd == -1 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: signalfd returned a new descriptor that nothing else owns.
        Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
    }
}

/// Reads one pending signal number from a signalfd; `None` when none is
/// pending.
pub fn read_signalfd(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<Option<i32>> {
    let mut info = [0u8; std::mem::size_of::<libc::signalfd_siginfo>()];
    match rustix::io::read(fd, &mut info) {
        Ok(n) if n == info.len() => {
            // ssi_signo is the first field, a u32 in native byte order.
            Ok(Some(
                u32::from_ne_bytes([info[0], info[1], info[2], info[3]]) as i32,
            ))
        }
        Ok(_) => Ok(None),
        Err(rustix::io::Errno::AGAIN) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
