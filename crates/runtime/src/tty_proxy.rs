//! A terminal for foreground `run` and `exec` without `--console-socket`:
//! like runc, the runtime receives the pty master itself and copies between
//! it and its own standard streams (raw mode on a terminal, window size
//! kept in step), until the container's process exits.

use std::io::{IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::event::{PollFd, PollFlags};
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SocketFlags, SocketType,
};
use rustix::termios::{OptionalActions, Termios};
use wharf_sys::signal::SignalSet;

use crate::error::{sys_err, Result};

/// Our end of an in-process console socket.
#[derive(Debug)]
pub struct ConsoleReceiver {
    ours: OwnedFd,
}

/// A socket pair: the receiver, and the end that init uses as its console
/// socket.
pub fn pair() -> Result<(ConsoleReceiver, OwnedFd)> {
    let (a, b) = rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(sys_err("create the console socket pair"))?;
    Ok((ConsoleReceiver { ours: a }, b))
}

impl ConsoleReceiver {
    /// Receives the pty master that init sent (before it reported ready).
    pub fn recv_master(&self) -> Result<OwnedFd> {
        let mut name = [0u8; 256];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut anc = RecvAncillaryBuffer::new(&mut space);
        rustix::net::recvmsg(
            self.ours.as_fd(),
            &mut [IoSliceMut::new(&mut name)],
            &mut anc,
            RecvFlags::CMSG_CLOEXEC,
        )
        .map_err(sys_err("receive the pty master"))?;
        for msg in anc.drain() {
            if let RecvAncillaryMessage::ScmRights(mut fds) = msg {
                if let Some(fd) = fds.next() {
                    return Ok(fd);
                }
            }
        }
        Err(sys_err("receive the pty master")(std::io::Error::other(
            "no descriptor in the message",
        )))
    }
}

/// Restores the terminal's settings when dropped.
struct RawMode<'a> {
    fd: BorrowedFd<'a>,
    saved: Termios,
}

impl Drop for RawMode<'_> {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(self.fd, OptionalActions::Now, &self.saved);
    }
}

fn raw_mode(fd: BorrowedFd<'_>) -> Option<RawMode<'_>> {
    let saved = rustix::termios::tcgetattr(fd).ok()?;
    let mut raw = saved.clone();
    raw.make_raw();
    rustix::termios::tcsetattr(fd, OptionalActions::Now, &raw).ok()?;
    Some(RawMode { fd, saved })
}

fn copy_winsize(from: BorrowedFd<'_>, to: BorrowedFd<'_>) {
    if let Ok(ws) = rustix::termios::tcgetwinsize(from) {
        let _ = rustix::termios::tcsetwinsize(to, ws);
    }
}

/// Copies between our stdio and `master` until `pid` (our child) exits,
/// forwarding signals to it; returns its exit code.
pub fn proxy_until_exit(master: OwnedFd, signals: &SignalSet, pid: i32) -> Result<i32> {
    let stdin = rustix::stdio::stdin();
    let stdout = rustix::stdio::stdout();
    let _raw = raw_mode(stdin);
    copy_winsize(stdin, master.as_fd());
    let sigfd = signals.signalfd().map_err(sys_err("create a signalfd"))?;
    let mut master_file = std::fs::File::from(master);
    let mut stdin_open = true;
    let mut buf = [0u8; 8192];
    loop {
        if let Some(code) = crate::run::reap(pid) {
            // Drain what the process wrote last.
            drain(&mut master_file, stdout, &mut buf);
            return Ok(code);
        }
        let mut fds = vec![
            PollFd::new(&sigfd, PollFlags::IN),
            PollFd::new(&master_file, PollFlags::IN),
        ];
        if stdin_open {
            fds.push(PollFd::new(&stdin, PollFlags::IN));
        }
        match rustix::event::poll(&mut fds, None) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(sys_err("poll the terminal")(e)),
        }
        let ready: Vec<PollFlags> = fds.iter().map(|f| f.revents()).collect();
        drop(fds);
        if !ready[0].is_empty() {
            while let Some(sig) =
                wharf_sys::signal::read_signalfd(sigfd.as_fd()).map_err(sys_err("read signals"))?
            {
                match sig {
                    libc::SIGCHLD => {}
                    libc::SIGWINCH => copy_winsize(stdin, master_file.as_fd()),
                    _ => {
                        let _ = wharf_sys::signal::kill(pid, sig);
                    }
                }
            }
        }
        if !ready[1].is_empty() {
            match master_file.read(&mut buf) {
                Ok(n) if n > 0 => {
                    let _ = write_all(stdout, &buf[..n]);
                }
                // EIO: every slave descriptor is closed; wait for the exit.
                _ => std::thread::sleep(std::time::Duration::from_millis(1)),
            }
        }
        if ready.len() > 2 && !ready[2].is_empty() {
            match rustix::io::read(stdin, &mut buf) {
                Ok(n) if n > 0 => {
                    let _ = master_file.write_all(&buf[..n]);
                }
                _ => stdin_open = false,
            }
        }
    }
}

fn drain(master: &mut std::fs::File, out: BorrowedFd<'_>, buf: &mut [u8]) {
    let _ = rustix::fs::fcntl_setfl(&*master, rustix::fs::OFlags::NONBLOCK);
    while let Ok(n) = master.read(buf) {
        if n == 0 || write_all(out, &buf[..n]).is_err() {
            break;
        }
    }
}

fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) -> rustix::io::Result<()> {
    while !data.is_empty() {
        let n = rustix::io::write(fd, data)?;
        data = &data[n..];
    }
    Ok(())
}
