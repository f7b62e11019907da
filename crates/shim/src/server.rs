//! The shim's poll loop: the socket, the processes' streams, their exits.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, WaitOptions};
use wharf_runtime::Runtime;

use crate::jsonlog::{now_rfc3339_nano, JsonLog, LineSplitter};
use crate::process::{Logger, Proc};
use crate::proto::{Exit, Reply, ShimConfig, EXIT_FILE, SOCKET};

/// A request line longer than this is refused.
const MAX_REQUEST: usize = 1 << 20;

/// A control connection reading its request line.
pub(crate) struct Conn {
    /// Taken once the request is read.
    pub stream: Option<UnixStream>,
    pub buf: Vec<u8>,
}

/// The shim.
pub(crate) struct Shim {
    pub cfg: ShimConfig,
    pub rt: Runtime,
    listener: Option<UnixListener>,
    pub conns: Vec<Conn>,
    pub waiters: Vec<UnixStream>,
    /// Waiting for the end of an exec: its id and the stream to answer.
    pub exec_waiters: Vec<(String, UnixStream)>,
    /// procs[0] is init; then execs.
    pub procs: Vec<Proc>,
    pub logger: Option<Logger>,
    pub exit: Option<Exit>,
    /// /dev/null, for the stdio of processes that get none.
    pub null: OwnedFd,
}

/// What a descriptor in the poll set is.
#[derive(Clone, Copy)]
enum Token {
    Listener,
    Conn(usize),
    Pidfd,
    Out(usize, usize),
    Stdin(usize),
    Attach(usize, usize),
}

impl Shim {
    /// A shim serving `init`.
    pub fn new(
        cfg: ShimConfig,
        rt: Runtime,
        listener: UnixListener,
        init: Proc,
        null: OwnedFd,
    ) -> crate::Result<Shim> {
        let logger = match &cfg.log {
            Some(l) => Some(Logger {
                log: JsonLog::open(l.clone())
                    .map_err(crate::io_err(format!("open the log {}", l.path.display())))?,
                split: [LineSplitter::default(), LineSplitter::default()],
            }),
            None => None,
        };
        Ok(Shim {
            cfg,
            rt,
            listener: Some(listener),
            conns: Vec::new(),
            waiters: Vec::new(),
            exec_waiters: Vec::new(),
            procs: vec![init],
            logger,
            exit: None,
            null,
        })
    }

    /// Serves until init has exited and everything is cleaned up.
    pub fn serve(&mut self) {
        while self.exit.is_none() {
            self.turn();
        }
        // Connections that came in meanwhile get their answer.
        while !self.conns.is_empty() {
            self.turn_conns_blocking();
        }
    }

    fn turn(&mut self) {
        let mut tokens = Vec::new();
        let mut flags = Vec::new();
        {
            let mut fds: Vec<PollFd<'_>> = Vec::new();
            if let Some(l) = &self.listener {
                fds.push(PollFd::new(l, PollFlags::IN));
                tokens.push(Token::Listener);
            }
            for (i, c) in self.conns.iter().enumerate() {
                if let Some(stream) = &c.stream {
                    fds.push(PollFd::new(stream, PollFlags::IN));
                    tokens.push(Token::Conn(i));
                }
            }
            for (p, proc_) in self.procs.iter().enumerate() {
                if proc_.status.is_some() {
                    continue;
                }
                if let Some(fd) = &proc_.pidfd {
                    fds.push(PollFd::new(fd, PollFlags::IN));
                    tokens.push(Token::Pidfd);
                }
                let backlogged = proc_.backlogged();
                for i in 0..2 {
                    if backlogged || !proc_.out_open(i) {
                        continue;
                    }
                    let fd = match proc_.tty {
                        true => proc_.master.as_ref(),
                        false => proc_.out[i].as_ref(),
                    };
                    if let Some(fd) = fd {
                        fds.push(PollFd::new(fd, PollFlags::IN));
                        tokens.push(Token::Out(p, i));
                    }
                }
                if !proc_.stdin_pending.is_empty() {
                    if let Some(fd) = proc_.stdin_fd() {
                        fds.push(PollFd::new(fd, PollFlags::OUT));
                        tokens.push(Token::Stdin(p));
                    }
                }
                for (j, a) in proc_.attaches.iter().enumerate() {
                    let mut want = PollFlags::empty();
                    if a.reading && proc_.stdin_pending.is_empty() {
                        want |= PollFlags::IN;
                    }
                    if !a.pending.is_empty() {
                        want |= PollFlags::OUT;
                    }
                    fds.push(PollFd::new(&a.stream, want));
                    tokens.push(Token::Attach(p, j));
                }
            }
            match rustix::event::poll(&mut fds, None) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
            flags.extend(fds.iter().map(PollFd::revents));
        }
        self.reap();
        for (token, ready) in tokens.into_iter().zip(flags) {
            if ready.is_empty() {
                continue;
            }
            match token {
                Token::Listener => self.accept(),
                Token::Conn(i) => self.read_conn(i),
                Token::Pidfd => {}
                Token::Out(p, i) => {
                    let log = if p == 0 { self.logger.as_mut() } else { None };
                    self.procs[p].pump(i, log);
                }
                Token::Stdin(p) => self.procs[p].push_stdin(),
                Token::Attach(p, j) => {
                    let proc_ = &mut self.procs[p];
                    if ready.contains(PollFlags::OUT) {
                        proc_.attaches[j].flush();
                    }
                    if ready.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
                        if proc_.attaches[j].reading {
                            proc_.read_attach(j);
                        } else if ready.intersects(PollFlags::HUP | PollFlags::ERR) {
                            proc_.attaches[j].dead = true;
                        }
                    }
                }
            }
        }
        for proc_ in &mut self.procs {
            proc_.attaches.retain(|a| !a.dead);
        }
        self.conns.retain(|c| c.stream.is_some());
        self.after_exits();
    }

    /// Reaps every exited child, recording the exits of ours.
    fn reap(&mut self) {
        loop {
            match rustix::process::wait(WaitOptions::NOHANG) {
                Ok(Some((pid, status))) => {
                    let code = match (status.exit_status(), status.terminating_signal()) {
                        (Some(code), _) => code,
                        (None, Some(sig)) => 128 + sig,
                        (None, None) => 255,
                    };
                    if let Some(p) = self
                        .procs
                        .iter_mut()
                        .find(|p| p.status.is_none() && Pid::from_raw(p.pid) == Some(pid))
                    {
                        p.status = Some(code);
                    }
                }
                Ok(None) | Err(_) => return,
            }
        }
    }

    /// Ends the streams of execs that exited; cleans up when init did.
    fn after_exits(&mut self) {
        for p in 1..self.procs.len() {
            if self.procs[p].status.is_some() && self.procs[p].pidfd.is_some() {
                self.procs[p].close(None);
            }
        }
        if !self.exec_waiters.is_empty() {
            for (exec, stream) in std::mem::take(&mut self.exec_waiters) {
                match self.ended_exec(&exec) {
                    Some(reply) => send_reply(stream, &reply),
                    None => self.exec_waiters.push((exec, stream)),
                }
            }
        }
        if self.procs[0].status.is_some() && self.exit.is_none() {
            self.finish();
        }
    }

    /// Init exited: record how, remove the container, answer the waiters.
    fn finish(&mut self) {
        let finished_at = now_rfc3339_nano();
        let code = self.procs[0].status.unwrap_or(255);
        let oom_killed = self.oom_killed();
        // With a pid namespace of its own, every other process of the
        // container was killed and gone before init could be reaped
        // (pid_namespaces(7)), so nothing holds its stdio any more: the
        // waiters are answered first and the cgroups removed after.
        // Otherwise processes may outlive init and keep its stdio open:
        // they are killed (with the cgroups) before the output is drained.
        let own_pid_ns = self.rt.load(&self.cfg.id).is_ok_and(|c| c.state.own_pid_ns);
        if !own_pid_ns {
            let _ = self.rt.delete(&self.cfg.id, true);
            self.reap();
        }
        for p in 0..self.procs.len() {
            let log = if p == 0 { self.logger.as_mut() } else { None };
            self.procs[p].close(log);
        }
        if let Some(l) = &mut self.logger {
            l.flush();
        }
        let exit = Exit {
            exit_code: code,
            oom_killed,
            finished_at,
        };
        let _ = write_exit(&self.cfg.dir, &exit);
        // From now on a daemon finds the exit in the file; a new shim for
        // the same container may bind the socket again.
        let _ = std::fs::remove_file(self.cfg.dir.join(SOCKET));
        // Clients that connected before the unlink are in the backlog:
        // take them, so they get their answer rather than a reset.
        self.accept();
        self.listener = None;
        for w in self.waiters.drain(..) {
            send_reply(w, &Reply::exit(&exit));
        }
        if own_pid_ns {
            let _ = self.rt.delete(&self.cfg.id, true);
            self.reap();
        }
        self.exit = Some(exit);
    }

    /// Whether the container's cgroup saw an OOM kill (v2 memory.events or
    /// v1 memory.oom_control, `oom_kill N`).
    fn oom_killed(&self) -> bool {
        let Ok(c) = self.rt.load(&self.cfg.id) else {
            return false;
        };
        let Ok(cg) = c.cgroup() else { return false };
        for (h, dir) in cg.dirs() {
            let file = match h.version {
                wharf_cgroups::Version::V2 => dir.join("memory.events"),
                wharf_cgroups::Version::V1 if h.has("memory") => dir.join("memory.oom_control"),
                _ => continue,
            };
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            let count = text
                .lines()
                .filter_map(|l| l.strip_prefix("oom_kill "))
                .filter_map(|n| n.trim().parse::<u64>().ok())
                .next();
            if count.is_some_and(|n| n > 0) {
                return true;
            }
        }
        false
    }

    fn accept(&mut self) {
        let Some(l) = &self.listener else { return };
        while let Ok((stream, _)) = l.accept() {
            let _ = stream.set_nonblocking(true);
            self.conns.push(Conn {
                stream: Some(stream),
                buf: Vec::new(),
            });
        }
    }

    fn read_conn(&mut self, i: usize) {
        let mut buf = [0u8; 4096];
        let c = &mut self.conns[i];
        let Some(stream) = c.stream.as_mut() else {
            return;
        };
        let line = match stream.read(&mut buf) {
            Ok(0) => None,
            Ok(n) => {
                c.buf.extend_from_slice(&buf[..n]);
                match c.buf.iter().position(|b| *b == b'\n') {
                    Some(end) => {
                        // What follows the line is already stream data.
                        let mut line = std::mem::take(&mut c.buf);
                        let rest = line.split_off(end + 1);
                        line.pop();
                        Some((line, rest))
                    }
                    None if c.buf.len() > MAX_REQUEST => None,
                    None => return,
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => return,
            Err(_) => None,
        };
        let Some(stream) = c.stream.take() else {
            return;
        };
        if let Some((line, rest)) = line {
            self.handle(stream, &line, &rest);
        }
    }

    /// Answers the connections still open, blocking (after init exited).
    fn turn_conns_blocking(&mut self) {
        let conns = std::mem::take(&mut self.conns);
        for c in conns {
            let Some(mut stream) = c.stream else { continue };
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
            let mut line = c.buf;
            let mut buf = [0u8; 4096];
            while !line.contains(&b'\n') && line.len() < MAX_REQUEST {
                match stream.read(&mut buf) {
                    Ok(n) if n > 0 => line.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
            if let Some(end) = line.iter().position(|b| *b == b'\n') {
                self.handle(stream, &line[..end], &line[end + 1..]);
            }
        }
    }
}

/// Writes one reply line (blocking, briefly) and closes the connection.
pub(crate) fn send_reply(mut stream: UnixStream, reply: &Reply) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let mut text = serde_json::to_vec(reply).expect("serializes");
    text.push(b'\n');
    let _ = stream.write_all(&text);
}

/// Writes `exit.json` atomically (a temporary file renamed over it).
///
/// Not fsynced: the file only has to outlive the shim and the daemon
/// (a killed process loses nothing the kernel holds), never a power loss
/// — after a reboot the container is not running either, and a missing
/// file reads as exit 255, what Docker records for a container it lost.
/// An fsync here cost the exit of every container a disk flush (tens of
/// milliseconds on a busy disk) before its waiters heard of it.
fn write_exit(dir: &std::path::Path, exit: &Exit) -> std::io::Result<()> {
    let tmp = dir.join(format!("{EXIT_FILE}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&serde_json::to_vec(exit).expect("serializes"))?;
    std::fs::rename(&tmp, dir.join(EXIT_FILE))
}
