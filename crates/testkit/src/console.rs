//! The receiving end of `--console-socket`: a unix listener that accepts
//! the runtime's connection, takes the pty master it sends with
//! `SCM_RIGHTS` (unix(7)), and reads what the container writes to its
//! terminal.

use std::fs::File;
use std::io::{self, IoSliceMut, Read};
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rustix::net::{recvmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};

/// How long [`receive_master`] waits for the runtime to connect (a hang
/// guard).
pub const ACCEPT_TIMEOUT: Duration = Duration::from_secs(60);

/// Errors receiving or reading a pty master.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The listening socket could not be made.
    #[error("failed to listen on console socket {path}")]
    Listen {
        /// The socket path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// No connection came, or the message carried no descriptor.
    #[error("failed to receive a pty master on {path}")]
    Receive {
        /// The socket path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// A received pty master and the name sent with it.
pub type Received = (OwnedFd, String);

/// A console socket in a temporary directory, removed on drop.
pub struct ConsoleSocket {
    dir: tempfile::TempDir,
    listener: UnixListener,
}

impl ConsoleSocket {
    /// Listens on `<tmp>/console.sock`.
    pub fn new() -> Result<ConsoleSocket, ConsoleError> {
        let dir = tempfile::Builder::new()
            .prefix("wharf-console-")
            .tempdir()
            .map_err(|source| ConsoleError::Listen {
                path: std::env::temp_dir(),
                source,
            })?;
        let path = dir.path().join("console.sock");
        let listener = UnixListener::bind(&path).map_err(|source| ConsoleError::Listen {
            path: path.clone(),
            source,
        })?;
        Ok(ConsoleSocket { dir, listener })
    }

    /// The socket path, for `--console-socket`.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("console.sock")
    }

    /// Starts a thread that accepts one connection and returns the pty
    /// master sent over it, with the name sent alongside (runc sends the
    /// master's path). Call before the runtime connects; join the handle
    /// after.
    pub fn receive_in_background(
        &self,
    ) -> Result<thread::JoinHandle<Result<Received, ConsoleError>>, ConsoleError> {
        let listener = self
            .listener
            .try_clone()
            .map_err(|source| ConsoleError::Listen {
                path: self.path(),
                source,
            })?;
        let path = self.path();
        Ok(thread::spawn(move || receive_master(&listener, &path)))
    }
}

/// Accepts one connection on `listener` and takes the descriptor it
/// carries.
pub fn receive_master(listener: &UnixListener, path: &Path) -> Result<Received, ConsoleError> {
    let err = |source: io::Error| ConsoleError::Receive {
        path: path.to_path_buf(),
        source,
    };
    // A runtime that fails before connecting must not hang the test:
    // accept without blocking, until a deadline.
    listener.set_nonblocking(true).map_err(err)?;
    let deadline = std::time::Instant::now() + ACCEPT_TIMEOUT;
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if std::time::Instant::now() > deadline {
                    return Err(err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the runtime never connected",
                    )));
                }
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(err(e)),
        }
    };
    stream.set_nonblocking(false).map_err(err)?;
    let mut name = [0u8; 4096];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut ancillary = RecvAncillaryBuffer::new(&mut space);
    let msg = recvmsg(
        &stream,
        &mut [IoSliceMut::new(&mut name)],
        &mut ancillary,
        RecvFlags::CMSG_CLOEXEC,
    )
    .map_err(|e| err(e.into()))?;
    let name = String::from_utf8_lossy(&name[..msg.bytes]).into_owned();
    for message in ancillary.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = message {
            if let Some(fd) = fds.next() {
                return Ok((fd, name));
            }
        }
    }
    Err(err(io::Error::other(
        "no SCM_RIGHTS descriptor in the message",
    )))
}

/// Reads from a pty master until `want` appears in the text, the slave
/// side closes (EIO), or `timeout` passes (a hang guard); returns the text
/// read.
pub fn read_master_until(master: OwnedFd, want: &str, timeout: Duration) -> String {
    let (tx, rx) = mpsc::channel();
    let wanted = want.to_string();
    thread::spawn(move || {
        let mut file = File::from(master);
        let mut text = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match file.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    text.extend_from_slice(&buf[..n]);
                    let now = String::from_utf8_lossy(&text).into_owned();
                    if !wanted.is_empty() && now.contains(&wanted) {
                        break;
                    }
                    let _ = tx.send(now);
                }
            }
        }
        let _ = tx.send(String::from_utf8_lossy(&text).into_owned());
    });
    let mut last = String::new();
    let deadline = std::time::Instant::now() + timeout;
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(text) => {
                let done = !want.is_empty() && text.contains(want);
                last = text;
                if done {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    last
}

/// Creates container `id` from `bundle` (process.terminal set) with a
/// fresh console socket, checks that create succeeded, and returns the pty
/// master the runtime sent. The container is tracked for cleanup.
pub fn create_with_console(rt: &crate::Runtime, bundle: &crate::Bundle, id: &str) -> OwnedFd {
    let console = ConsoleSocket::new().expect("console socket");
    let receiver = console.receive_in_background().expect("listen");
    rt.track(id);
    let b = bundle.path().to_string_lossy().into_owned();
    let sock = console.path().to_string_lossy().into_owned();
    let out = rt
        .run(&["create", "--bundle", &b, "--console-socket", &sock, id])
        .expect("create");
    assert!(
        out.status.success(),
        "create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (master, _name) = receiver.join().expect("receiver").expect("pty master");
    master
}
