//! `docker-init`: the init `docker run --init` puts at a container's pid 1.
//!
//! The engine bind-mounts this binary read-only at `/sbin/docker-init` and
//! runs `/sbin/docker-init -- CMD ARGS…`, as Docker does with tini. Like
//! tini it blocks every catchable signal, starts the command in a process
//! group of its own (the terminal's foreground group when stdin is a tty),
//! forwards each signal it receives to it, reaps every child that ends
//! (orphans re-parented to pid 1 included), and exits as soon as the
//! command ends: with its exit code, or 128 + the signal that killed it.
//! A command that cannot be started exits 127 (not found) or 126 (not
//! executable), as tini and shells do.
//!
//! A blocked signal reaches pid 1 of a pid namespace even though no
//! handler is installed: the kernel drops only signals whose action is the
//! default and that are not blocked (signal(7), pid_namespaces(7)).

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use rustix::process::{Pid, WaitOptions};
use wharf_sys::signal::SignalSet;

/// Runs the init with its arguments (after the program name): an optional
/// `--`, then the command.
pub fn main(args: Vec<OsString>) -> ExitCode {
    ExitCode::from(run(args))
}

fn fatal(msg: std::fmt::Arguments<'_>) {
    eprintln!("[FATAL wharf init ({})] {msg}", std::process::id());
}

fn run(args: Vec<OsString>) -> u8 {
    let mut args = args.as_slice();
    if args.first().is_some_and(|a| a == "--") {
        args = &args[1..];
    }
    let Some((program, rest)) = args.split_first() else {
        eprintln!("usage: docker-init [--] PROGRAM [ARGS…]");
        return 1;
    };
    // Blocked before the child exists, so no SIGCHLD or forwarded signal
    // can be lost; the child clears its mask before exec.
    let signals = match SignalSet::block_forwardable() {
        Ok(s) => s,
        Err(e) => {
            fatal(format_args!("failed to block signals: {e}"));
            return 1;
        }
    };
    let mut cmd = Command::new(program);
    cmd.args(rest).process_group(0);
    let child = match wharf_sys::spawn::with_empty_signal_mask(&mut cmd).spawn() {
        Ok(c) => c,
        Err(e) => {
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text);
            fatal(format_args!(
                "exec {} failed: {text}",
                program.to_string_lossy()
            ));
            return match e.kind() {
                std::io::ErrorKind::NotFound => 127,
                std::io::ErrorKind::PermissionDenied => 126,
                _ => 1,
            };
        }
    };
    let Some(pid) = Pid::from_raw(child.id() as i32) else {
        return 1;
    };
    // The command owns the terminal, so that ^C reaches it (not a tty:
    // ENOTTY, nothing to do).
    let _ = rustix::termios::tcsetpgrp(std::io::stdin(), pid);
    loop {
        if let Some(code) = reap(pid) {
            return code;
        }
        let sig = match signals.wait() {
            Ok(s) => s,
            Err(e) => {
                fatal(format_args!("failed to wait for signals: {e}"));
                return 1;
            }
        };
        if sig != rustix::process::Signal::CHILD.as_raw() {
            // Gone already: its SIGCHLD is pending, the next reap sees it.
            let _ = wharf_sys::signal::kill(pid.as_raw_nonzero().get(), sig);
        }
    }
}

/// Reaps every child that has ended; the exit code once `main` has.
fn reap(main: Pid) -> Option<u8> {
    let mut code = None;
    loop {
        match rustix::process::wait(WaitOptions::NOHANG) {
            Ok(Some((pid, status))) if pid == main => {
                code = match (status.exit_status(), status.terminating_signal()) {
                    (Some(c), _) => Some(c as u8),
                    (None, Some(sig)) => Some(128u8.wrapping_add(sig as u8)),
                    _ => code,
                };
            }
            Ok(Some(_)) => {}
            // None: children left, none ended; ECHILD: none left.
            Ok(None) | Err(_) => return code,
        }
    }
}
