//! `run`: create, start, and (in the foreground) wait for the container's
//! init, forwarding signals to it, then delete the container and return
//! its exit status, as runc does.

use rustix::process::{Pid, WaitOptions};
use wharf_sys::signal::SignalSet;

use crate::error::{sys_err, Result};
use crate::{tty_proxy, CreateOptions, Runtime};

impl Runtime {
    /// Runs container `id`. Detached: returns 0 once it started. In the
    /// foreground: returns its exit code (128 + signal if killed).
    /// With `keep`, the stopped container's state stays for inspection.
    pub fn run(&self, id: &str, opts: &CreateOptions, detach: bool, keep: bool) -> Result<i32> {
        // In the foreground without --console-socket, a terminal comes to us.
        let (receiver, console) = match detach || opts.console_socket.is_some() {
            true => (None, None),
            false => {
                let (r, c) = tty_proxy::pair()?;
                (Some(r), Some(c))
            }
        };
        let created = self.create_with_console(id, opts, console)?;
        if detach {
            if let Err(e) = self.start(id) {
                let _ = self.delete(id, true);
                return Err(e);
            }
            return Ok(0);
        }
        // Orphans of a container without its own pid namespace come to us.
        let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
        // Blocked after create, so the container's processes never inherit
        // the blocked mask.
        let signals = SignalSet::block_forwardable().map_err(sys_err("block signals"))?;
        let init = created.state.pid;
        if let Err(e) = self.start(id) {
            let _ = self.delete(id, true);
            return Err(e);
        }
        let master = match (&receiver, created.terminal) {
            (Some(r), true) => Some(r.recv_master()?),
            _ => None,
        };
        let code = match master {
            Some(m) => tty_proxy::proxy_until_exit(m, &signals, init)?,
            None => forward_until_exit(&signals, init)?,
        };
        if !keep {
            self.delete(id, true)?;
        }
        Ok(code)
    }
}

/// Waits for `pid` (a child of ours), forwarding every signal we get to it;
/// returns its exit code.
pub fn wait_forwarding(pid: i32) -> Result<i32> {
    let signals = SignalSet::block_forwardable().map_err(sys_err("block signals"))?;
    forward_until_exit(&signals, pid)
}

fn forward_until_exit(signals: &SignalSet, pid: i32) -> Result<i32> {
    loop {
        if let Some(code) = reap(pid) {
            return Ok(code);
        }
        let sig = signals.wait().map_err(sys_err("wait for signals"))?;
        if sig != libc::SIGCHLD {
            let _ = wharf_sys::signal::kill(pid, sig);
        }
    }
}

/// Reaps every exited child; returns init's exit code once it has exited.
pub(crate) fn reap(init: i32) -> Option<i32> {
    let mut result = None;
    loop {
        match rustix::process::wait(WaitOptions::NOHANG) {
            Ok(Some((pid, status))) => {
                if pid == Pid::from_raw(init).expect("pid is positive") {
                    result = Some(match (status.exit_status(), status.terminating_signal()) {
                        (Some(code), _) => code,
                        (None, Some(sig)) => 128 + sig,
                        (None, None) => 255,
                    });
                }
            }
            Ok(None) | Err(_) => return result,
        }
    }
}
