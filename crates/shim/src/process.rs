//! A process the shim is the parent of (the container's init or an exec):
//! its stdio (pipes, or a pty master), the attached client streams and what
//! flows between them.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use rustix::pipe::PipeFlags;
use wharf_runtime::tty_proxy::ConsoleReceiver;

use crate::jsonlog::{now_rfc3339_nano, JsonLog, LineSplitter};
use crate::proto::{frame_header, STDERR, STDOUT};
use crate::{io_err, Result};

/// Output a process made before anyone attached, kept for the first
/// attach (execs only), at most this much.
const HOLD_MAX: usize = 256 * 1024;
/// An attach with this much unsent output stops the process's output
/// being read until it catches up.
const BACKLOG_MAX: usize = 256 * 1024;
/// How long the last output may take to reach a client at the end.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// The stdio of a process about to be made: the runtime's side is on
/// descriptors 0-2 (or `console`), ours is kept.
pub(crate) struct Stdio {
    /// The console socket end for the runtime (tty).
    pub console: Option<OwnedFd>,
    /// Our ends.
    pub ours: Ours,
}

/// Our ends of a process's stdio.
pub(crate) enum Ours {
    /// Pipes: stdin's write end (None: /dev/null), stdout's and stderr's
    /// read ends (None: /dev/null).
    Pipes([Option<OwnedFd>; 3]),
    /// The pty master will come over this socket.
    Tty(ConsoleReceiver),
}

impl Stdio {
    /// Makes pipes (or a console socket pair) and points descriptors 0-2
    /// at the process's ends. `discard` gives stdout and stderr /dev/null.
    pub fn new(tty: bool, stdin: bool, discard: bool, null: &OwnedFd) -> Result<Stdio> {
        if tty {
            let (receiver, console) =
                wharf_runtime::tty_proxy::pair().map_err(|e| crate::ShimError::Runtime {
                    op: "make a console socket for",
                    id: String::new(),
                    source: Box::new(e),
                })?;
            crate::launch::set_stdio([null, null, null])?;
            return Ok(Stdio {
                console: Some(console),
                ours: Ours::Tty(receiver),
            });
        }
        let pipe = || rustix::pipe::pipe_with(PipeFlags::CLOEXEC).map_err(io_err("make a pipe"));
        let (in_theirs, in_ours) = match stdin {
            true => {
                let (r, w) = pipe()?;
                (Some(r), Some(w))
            }
            false => (None, None),
        };
        let (out, err) = match discard {
            true => ((None, None), (None, None)),
            false => {
                let (r1, w1) = pipe()?;
                let (r2, w2) = pipe()?;
                ((Some(r1), Some(w1)), (Some(r2), Some(w2)))
            }
        };
        crate::launch::set_stdio([
            in_theirs.as_ref().unwrap_or(null),
            out.1.as_ref().unwrap_or(null),
            err.1.as_ref().unwrap_or(null),
        ])?;
        Ok(Stdio {
            console: None,
            ours: Ours::Pipes([in_ours, out.0, err.0]),
        })
    }
}

/// A client attached to a process.
pub(crate) struct Attach {
    pub stream: UnixStream,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// Output not yet sent.
    pub pending: Vec<u8>,
    /// The client has not ended its stdin yet.
    pub reading: bool,
    /// The client is gone.
    pub dead: bool,
}

impl Attach {
    /// Sends what it can of `pending` without blocking.
    pub fn flush(&mut self) {
        while !self.pending.is_empty() && !self.dead {
            match self.stream.write(&self.pending) {
                Ok(0) => self.dead = true,
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.dead = true,
            }
        }
        if self.pending.is_empty() && self.pending.capacity() > 64 * 1024 {
            self.pending = Vec::new();
        }
    }

    /// Sends everything left (waiting at most [`FLUSH_TIMEOUT`]) and ends
    /// the stream.
    pub fn finish(mut self) {
        if !self.dead && !self.pending.is_empty() {
            let _ = self.stream.set_nonblocking(false);
            let _ = self.stream.set_write_timeout(Some(FLUSH_TIMEOUT));
            let _ = self.stream.write_all(&self.pending);
        }
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

/// The json-file log of init's output.
pub(crate) struct Logger {
    pub log: JsonLog,
    pub split: [LineSplitter; 2],
}

impl Logger {
    /// Logs a chunk of stream `i` (0 stdout, 1 stderr).
    pub fn write(&mut self, i: usize, data: &[u8]) {
        let name = if i == 0 { "stdout" } else { "stderr" };
        let time = now_rfc3339_nano();
        let log = &mut self.log;
        self.split[i].feed(data, |line| {
            let _ = log.write(name, line, &time);
        });
    }

    /// Logs what remains unterminated.
    pub fn flush(&mut self) {
        let time = now_rfc3339_nano();
        for (i, name) in ["stdout", "stderr"].into_iter().enumerate() {
            let log = &mut self.log;
            self.split[i].flush(|line| {
                let _ = log.write(name, line, &time);
            });
        }
    }
}

/// A process of the container and its streams.
pub(crate) struct Proc {
    /// None for init.
    pub exec_id: Option<String>,
    pub pid: i32,
    pub pidfd: Option<OwnedFd>,
    /// Its exit code once reaped.
    pub status: Option<i32>,
    pub tty: bool,
    /// The pty master (tty).
    pub master: Option<OwnedFd>,
    /// Stdin's write end (pipes).
    pub stdin: Option<OwnedFd>,
    /// Stdin bytes the process has not taken yet.
    pub stdin_pending: Vec<u8>,
    /// Output read ends (pipes; for a tty, `out[0]` is unused and the
    /// master is read).
    pub out: [Option<OwnedFd>; 2],
    /// The master gave EOF/EIO.
    pub master_done: bool,
    pub attaches: Vec<Attach>,
    pub stdin_once: bool,
    /// Output kept until the first attach (execs).
    pub hold: Option<Vec<u8>>,
}

fn nonblocking(fd: &OwnedFd) {
    let _ = rustix::io::ioctl_fionbio(fd, true);
}

impl Proc {
    /// A process just made with `ours` as its stdio.
    pub fn new(pid: i32, ours: Ours, terminal: bool, stdin_once: bool) -> Result<Proc> {
        let (master, stdin, out) = match ours {
            Ours::Tty(receiver) if terminal => {
                let master = receiver
                    .recv_master()
                    .map_err(|e| crate::ShimError::Runtime {
                        op: "receive the pty master of",
                        id: pid.to_string(),
                        source: Box::new(e),
                    })?;
                nonblocking(&master);
                (Some(master), None, [None, None])
            }
            Ours::Tty(_) => (None, None, [None, None]),
            Ours::Pipes([i, o, e]) => {
                for fd in [&i, &o, &e].into_iter().flatten() {
                    nonblocking(fd);
                }
                (None, i, [o, e])
            }
        };
        let raw = rustix::process::Pid::from_raw(pid).ok_or_else(|| crate::ShimError::Io {
            op: format!("watch process {pid}"),
            source: std::io::Error::from(ErrorKind::InvalidInput),
        })?;
        let pidfd = rustix::process::pidfd_open(raw, rustix::process::PidfdFlags::empty())
            .map_err(io_err(format!("open a pidfd of process {pid}")))?;
        Ok(Proc {
            exec_id: None,
            pid,
            pidfd: Some(pidfd),
            status: None,
            tty: master.is_some(),
            master_done: false,
            master,
            stdin,
            stdin_pending: Vec::new(),
            out,
            attaches: Vec::new(),
            stdin_once,
            hold: None,
        })
    }

    /// Whether some client is behind on output, or the output kept for a
    /// client to come is full: then output is not read, and the process
    /// waits on its full pipe (Docker's back-pressure).
    pub fn backlogged(&self) -> bool {
        self.hold.as_ref().is_some_and(|h| h.len() > HOLD_MAX) || self.client_behind()
    }

    fn client_behind(&self) -> bool {
        self.attaches.iter().any(|a| a.pending.len() > BACKLOG_MAX)
    }

    /// Reads what output stream `i` has (without blocking) and passes it
    /// on; returns false once the stream ended.
    pub fn pump(&mut self, i: usize, mut log: Option<&mut Logger>) -> bool {
        let mut buf = [0u8; 16 * 1024];
        loop {
            let fd = match (self.tty, i) {
                (true, _) => self.master.as_ref(),
                (false, i) => self.out[i].as_ref(),
            };
            let Some(fd) = fd else { return false };
            match rustix::io::read(fd, &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if let Some(log) = log.as_deref_mut() {
                        log.write(i, &buf[..n]);
                    }
                    self.deliver(i, &buf[..n]);
                    if self.backlogged() {
                        return true;
                    }
                }
                Err(rustix::io::Errno::AGAIN) => return true,
                Err(rustix::io::Errno::INTR) => {}
                // EIO: every slave descriptor of the pty is closed.
                Err(_) => break,
            }
        }
        if self.tty {
            self.master_done = true;
        } else {
            self.out[i] = None;
        }
        false
    }

    /// Whether output stream `i` is still open.
    pub fn out_open(&self, i: usize) -> bool {
        match self.tty {
            true => i == 0 && self.master.is_some() && !self.master_done,
            false => self.out[i].is_some(),
        }
    }

    fn deliver(&mut self, i: usize, data: &[u8]) {
        let stream = if i == 0 { STDOUT } else { STDERR };
        let header = frame_header(stream, data.len());
        let tty = self.tty;
        let push = |v: &mut Vec<u8>| {
            if !tty {
                v.extend_from_slice(&header);
            }
            v.extend_from_slice(data);
        };
        if self.attaches.is_empty() {
            if let Some(hold) = &mut self.hold {
                push(hold);
            }
            return;
        }
        for a in &mut self.attaches {
            if (i == 0 && a.stdout) || (i == 1 && a.stderr) {
                push(&mut a.pending);
                a.flush();
            }
        }
    }

    /// Adds an attached client (sending what was held for it).
    pub fn attach(&mut self, mut a: Attach) {
        let _ = a.stream.set_nonblocking(true);
        if let Some(hold) = self.hold.take() {
            a.pending = hold;
            a.flush();
        }
        if !a.stdin {
            a.reading = false;
        }
        self.attaches.push(a);
    }

    /// The stdin descriptor (pipe or pty master).
    pub fn stdin_fd(&self) -> Option<&OwnedFd> {
        match self.tty {
            true => self.master.as_ref(),
            false => self.stdin.as_ref(),
        }
    }

    /// Writes what it can of the pending stdin bytes.
    pub fn push_stdin(&mut self) {
        while !self.stdin_pending.is_empty() {
            let Some(fd) = self.stdin_fd() else {
                self.stdin_pending.clear();
                return;
            };
            match rustix::io::write(fd, &self.stdin_pending) {
                Ok(n) => {
                    self.stdin_pending.drain(..n);
                }
                Err(rustix::io::Errno::AGAIN) => return,
                Err(rustix::io::Errno::INTR) => {}
                Err(_) => {
                    self.stdin_pending.clear();
                    self.stdin = None;
                }
            }
        }
    }

    /// Reads stdin bytes from attach `j`; handles its half-close.
    pub fn read_attach(&mut self, j: usize) {
        let mut buf = [0u8; 8192];
        let a = &mut self.attaches[j];
        match a.stream.read(&mut buf) {
            Ok(0) => {
                a.reading = false;
                // The client ended its stdin. That ends the process's
                // stdin for an exec, or with stdin_once (Docker).
                if a.stdin && (self.exec_id.is_some() || self.stdin_once) && !self.tty {
                    self.stdin = None;
                }
            }
            Ok(n) => {
                if a.stdin {
                    self.stdin_pending.extend_from_slice(&buf[..n]);
                    self.push_stdin();
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(_) => {
                a.dead = true;
                a.reading = false;
            }
        }
    }

    /// Resizes the pty.
    pub fn resize(&self, height: u16, width: u16) -> std::io::Result<()> {
        let master = self
            .master
            .as_ref()
            .ok_or_else(|| std::io::Error::other("the process has no tty"))?;
        let ws = rustix::termios::Winsize {
            ws_row: height,
            ws_col: width,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(master.as_fd(), ws)?;
        Ok(())
    }

    /// After the exit: reads the last output, then ends every stream.
    pub fn close(&mut self, mut log: Option<&mut Logger>) {
        for i in 0..2 {
            // pump stops at EAGAIN (nothing more now) or when a client is
            // behind: then wait for that client, and read on.
            while self.out_open(i) && self.pump(i, log.as_deref_mut()) && self.client_behind() {
                for a in &mut self.attaches {
                    a.finish_pending();
                }
            }
        }
        for a in self.attaches.drain(..) {
            a.finish();
        }
        self.stdin = None;
        self.out = [None, None];
        self.master = None;
        self.pidfd = None;
    }
}

impl Attach {
    /// Sends all pending output, blocking at most [`FLUSH_TIMEOUT`].
    fn finish_pending(&mut self) {
        if self.dead {
            self.pending.clear();
            return;
        }
        let _ = self.stream.set_nonblocking(false);
        let _ = self.stream.set_write_timeout(Some(FLUSH_TIMEOUT));
        if self.stream.write_all(&self.pending).is_err() {
            self.dead = true;
        }
        self.pending.clear();
        let _ = self.stream.set_nonblocking(true);
    }
}
