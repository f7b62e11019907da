//! The shim's answers to the daemon's requests.

use std::os::unix::net::UnixStream;

use rustix::process::Signal;

use crate::process::{Attach, Proc, Stdio};
use crate::proto::{ErrorKind, Reply, Request};
use crate::server::{send_reply, Shim};
use crate::{chain, launch};

fn not_running(id: &str) -> Reply {
    Reply::error(
        ErrorKind::Conflict,
        format!("container {id} is not running"),
    )
}

/// Answers an attach with what an ended exec left, then ends the stream.
fn send_held(stream: UnixStream, held: &[u8]) {
    let Ok(mut ours) = stream.try_clone() else {
        return;
    };
    send_reply(stream, &Reply::ok());
    let _ = std::io::Write::write_all(&mut ours, held);
    let _ = ours.shutdown(std::net::Shutdown::Both);
}

impl Shim {
    /// Answers one request on `stream`; `wait` and `attach` keep it.
    /// `rest` is what the client sent after the request line (stdin of an
    /// attach).
    pub(crate) fn handle(&mut self, stream: UnixStream, line: &[u8], rest: &[u8]) {
        let req: Request = match serde_json::from_slice(line) {
            Ok(r) => r,
            Err(e) => {
                let msg = format!("bad request: {e}");
                return send_reply(stream, &Reply::error(ErrorKind::Invalid, msg));
            }
        };
        let reply = match req {
            Request::Start => self.start(),
            Request::State => self.state(),
            Request::Kill { signal, all } => self.kill(signal, all),
            Request::Resize {
                exec,
                height,
                width,
            } => match self.find(exec.as_deref()) {
                Ok(p) => match self.procs[p].resize(height, width) {
                    Ok(()) => Reply::ok(),
                    Err(e) => Reply::error(ErrorKind::Conflict, format!("failed to resize: {e}")),
                },
                Err(r) => r,
            },
            Request::Wait => match &self.exit {
                Some(exit) => Reply::exit(exit),
                None => {
                    self.waiters.push(stream);
                    return;
                }
            },
            Request::Attach {
                exec,
                stdin,
                stdout,
                stderr,
            } => {
                let p = match self.find(exec.as_deref()) {
                    Ok(p) if self.procs[p].pidfd.is_some() => p,
                    Ok(p) => {
                        // An exec that ended before its attach came: its
                        // output was kept.
                        return match self.procs[p].hold.take() {
                            Some(held) => send_held(stream, &held),
                            None => send_reply(stream, &not_running(&self.cfg.id)),
                        };
                    }
                    Err(r) => return send_reply(stream, &r),
                };
                let Ok(ours) = stream.try_clone() else {
                    return;
                };
                send_reply(stream, &Reply::ok());
                if stdin {
                    self.procs[p].stdin_pending.extend_from_slice(rest);
                    self.procs[p].push_stdin();
                }
                self.procs[p].attach(Attach {
                    stream: ours,
                    stdin,
                    stdout,
                    stderr,
                    pending: Vec::new(),
                    reading: true,
                    dead: false,
                });
                return;
            }
            Request::Exec {
                exec,
                process,
                tty,
                stdin,
                detach,
            } => self.exec(exec, *process, tty, stdin, detach),
            Request::ExecWait { exec } => match self.find(Some(&exec)) {
                Ok(_) => match self.ended_exec(&exec) {
                    Some(reply) => reply,
                    None => {
                        self.exec_waiters.push((exec, stream));
                        return;
                    }
                },
                Err(r) => r,
            },
            Request::ExecState { exec } => match self.find(Some(&exec)) {
                Ok(p) => {
                    let proc_ = &self.procs[p];
                    let reply = Reply {
                        ok: true,
                        pid: Some(proc_.pid),
                        running: Some(proc_.status.is_none()),
                        exit_code: proc_.status,
                        ..Reply::default()
                    };
                    // An ended exec whose exit was collected is forgotten
                    // (as containerd deletes it), so health checks do not
                    // pile up records.
                    if proc_.pidfd.is_none() && proc_.hold.is_none() {
                        self.procs.remove(p);
                    }
                    reply
                }
                Err(r) => r,
            },
        };
        send_reply(stream, &reply);
    }

    /// The answer to an exec's waiters once it has ended (None before).
    pub(crate) fn ended_exec(&self, exec: &str) -> Option<Reply> {
        let p = self.find(Some(exec)).ok()?;
        let proc_ = &self.procs[p];
        let code = proc_.status?;
        Some(Reply {
            ok: true,
            pid: Some(proc_.pid),
            running: Some(false),
            exit_code: Some(code),
            ..Reply::default()
        })
    }

    /// The index of init (None) or of an exec.
    fn find(&self, exec: Option<&str>) -> Result<usize, Reply> {
        match exec {
            None => Ok(0),
            Some(id) => self
                .procs
                .iter()
                .position(|p| p.exec_id.as_deref() == Some(id))
                .ok_or_else(|| Reply::error(ErrorKind::NotFound, format!("no such exec: {id}"))),
        }
    }

    fn start(&mut self) -> Reply {
        if self.exit.is_some() {
            return not_running(&self.cfg.id);
        }
        match self.rt.start(&self.cfg.id) {
            Ok(()) => Reply::ok(),
            Err(e) => Reply::error(ErrorKind::System, chain(&e)),
        }
    }

    fn state(&self) -> Reply {
        match &self.exit {
            Some(exit) => Reply {
                pid: Some(self.procs[0].pid),
                ..Reply::exit(exit)
            },
            None => Reply {
                ok: true,
                pid: Some(self.procs[0].pid),
                running: Some(self.procs[0].status.is_none()),
                ..Reply::default()
            },
        }
    }

    fn kill(&mut self, signal: i32, all: bool) -> Reply {
        if self.exit.is_some() || self.procs[0].status.is_some() {
            return not_running(&self.cfg.id);
        }
        let Some(sig) = Signal::from_named_raw(signal) else {
            return Reply::error(ErrorKind::Invalid, format!("invalid signal {signal}"));
        };
        match self.rt.kill(&self.cfg.id, sig, all) {
            Ok(()) => Reply::ok(),
            Err(e @ wharf_runtime::RuntimeError::BadState { .. }) => {
                Reply::error(ErrorKind::Conflict, chain(&e))
            }
            Err(e) => Reply::error(ErrorKind::System, chain(&e)),
        }
    }

    fn exec(
        &mut self,
        exec: String,
        mut process: oci_spec::runtime::Process,
        tty: bool,
        stdin: bool,
        detach: bool,
    ) -> Reply {
        if self.exit.is_some() || self.procs[0].status.is_some() {
            return not_running(&self.cfg.id);
        }
        if self.find(Some(&exec)).is_ok() {
            return Reply::error(ErrorKind::Conflict, format!("exec {exec} already exists"));
        }
        process.set_terminal(Some(tty));
        let stdio = match Stdio::new(tty, stdin, detach && !tty, &self.null) {
            Ok(s) => s,
            Err(e) => return Reply::error(ErrorKind::System, chain(&e)),
        };
        let pid = self.rt.exec_process(&self.cfg.id, process, stdio.console);
        if let Err(e) = launch::set_stdio([&self.null, &self.null, &self.null]) {
            return Reply::error(ErrorKind::System, chain(&e));
        }
        let pid = match pid {
            Ok(pid) => pid,
            Err(e) => {
                let kind = match e {
                    wharf_runtime::RuntimeError::BadState { .. } => ErrorKind::Conflict,
                    _ => ErrorKind::System,
                };
                return Reply::error(kind, chain(&e));
            }
        };
        match Proc::new(pid, stdio.ours, tty, false) {
            Ok(mut p) => {
                p.exec_id = Some(exec);
                if !detach {
                    p.hold = Some(Vec::new());
                }
                self.procs.push(p);
                Reply {
                    ok: true,
                    pid: Some(pid),
                    ..Reply::default()
                }
            }
            Err(e) => Reply::error(ErrorKind::System, chain(&e)),
        }
    }
}
