//! The container's terminal: a pty made inside the container (from its own
//! devpts instance), whose master goes to the caller over `--console-socket`
//! with SCM_RIGHTS, as runc does, and whose slave becomes the process's
//! stdio, controlling terminal and `/dev/console`.

use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
use rustix::pty::OpenptFlags;

/// A console that could not be set up or handed over.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// process.terminal is set but no --console-socket was given.
    #[error("process.terminal is true but no console socket was given (use --console-socket)")]
    NoSocket,
    /// Connecting to the console socket failed.
    #[error("failed to connect to console socket {path}")]
    Connect {
        /// The socket path.
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A pty operation failed.
    #[error("failed to {step}")]
    Pty {
        /// What was attempted.
        step: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// Mounting /dev/console failed.
    #[error(transparent)]
    Mount(#[from] crate::rootfs::RootfsError),
}

fn pty(step: &'static str) -> impl FnOnce(rustix::io::Errno) -> ConsoleError {
    move |e| ConsoleError::Pty {
        step,
        source: e.into(),
    }
}

/// Connects to `--console-socket` (before any fork, in the runtime's own
/// mount namespace).
pub fn connect(path: &Path) -> Result<OwnedFd, ConsoleError> {
    let stream =
        std::os::unix::net::UnixStream::connect(path).map_err(|source| ConsoleError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(stream.into())
}

/// Inside the container (after pivot_root, or after joining its mount
/// namespace): makes the pty, sends the master, makes the slave stdio and
/// the controlling terminal, and for init binds it on /dev/console.
pub fn setup_pty(
    socket: BorrowedFd<'_>,
    size: Option<oci_spec::runtime::Box>,
    bind_console: bool,
) -> Result<(), ConsoleError> {
    let master =
        rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
            .map_err(pty("open /dev/ptmx"))?;
    rustix::pty::grantpt(&master).map_err(pty("grant the pty"))?;
    rustix::pty::unlockpt(&master).map_err(pty("unlock the pty"))?;
    let name = rustix::pty::ptsname(&master, Vec::new()).map_err(pty("name the pty"))?;
    let slave_path = PathBuf::from(name.to_string_lossy().into_owned());
    let slave = rustix::fs::open(
        &slave_path,
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(pty("open the pty slave"))?;
    if let Some(size) = size {
        let ws = rustix::termios::Winsize {
            ws_row: size.height() as u16,
            ws_col: size.width() as u16,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&slave, ws).map_err(pty("set the console size"))?;
    }
    send_fd(socket, master.as_fd(), b"/dev/ptmx")
        .map_err(pty("send the pty master to the console socket"))?;
    drop(master);
    if bind_console {
        crate::rootfs::mount_console(&slave_path)?;
    }
    wharf_sys::process::dup_onto_stdio(slave.as_fd()).map_err(|source| ConsoleError::Pty {
        step: "make the pty the standard streams",
        source,
    })?;
    wharf_sys::process::set_controlling_terminal(slave.as_fd()).map_err(|source| {
        ConsoleError::Pty {
            step: "make the pty the controlling terminal",
            source,
        }
    })?;
    Ok(())
}

/// Sends `fd` with SCM_RIGHTS over a connected unix socket.
pub fn send_fd(socket: BorrowedFd<'_>, fd: BorrowedFd<'_>, name: &[u8]) -> rustix::io::Result<()> {
    let fds = [fd];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut buf = SendAncillaryBuffer::new(&mut space);
    buf.push(SendAncillaryMessage::ScmRights(&fds));
    rustix::net::sendmsg(socket, &[IoSlice::new(name)], &mut buf, SendFlags::NOSIGNAL)?;
    Ok(())
}
