//! The typed channel between the runtime process and the container's setup
//! processes (a `SOCK_SEQPACKET` pair: one message per packet, so no framing).
//!
//! An error inside the forked children travels back as [`Message::Error`]
//! with its whole cause chain, so it reaches the user's terminal instead of
//! being lost in a child's stderr (youki's `process/message.rs` idea).

use std::io::{self, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendFlags, SocketFlags,
    SocketType,
};
use serde::{Deserialize, Serialize};

/// What the processes tell each other while a container is being set up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum Message {
    /// The runtime did what the child waited for (cgroup placement, id
    /// maps, hooks): go on.
    Continue,
    /// Stage 1 has its new user namespace: write its id maps.
    MapIds,
    /// Stage 1 created the container's init process (host pid).
    InitPid(i32),
    /// To init: stage 1 is gone, set up the container; this is your pid on
    /// the host (for hooks' state).
    Start {
        /// Init's pid in the runtime's pid namespace.
        host_pid: i32,
    },
    /// Init has done its mounts: run the createRuntime (and prestart) hooks.
    RunHooks,
    /// The seccomp listener descriptor comes with this message
    /// (SCM_RIGHTS): hand it to linux.seccomp.listenerPath.
    SeccompListener,
    /// Init is ready and waits for `start` (or, for exec, is about to exec).
    Ready,
    /// Something failed; the text carries the whole cause chain.
    Error(String),
}

/// The largest message: errors are cut to fit (see [`error_chain`]).
const MAX_MESSAGE: usize = 16 * 1024;

/// One end of the channel.
#[derive(Debug)]
pub struct Channel {
    fd: OwnedFd,
}

/// A channel failure.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The socket failed.
    #[error("failed to {op} on the setup channel")]
    Io {
        /// send, receive or create.
        op: &'static str,
        #[source]
        source: io::Error,
    },
    /// The peer closed the channel without saying why (it died).
    #[error("the container's setup process exited without a report")]
    Closed,
    /// The peer sent something else than expected.
    #[error("unexpected message on the setup channel: {0:?}")]
    Unexpected(Message),
    /// The peer failed and said why.
    #[error("{0}")]
    Remote(String),
}

impl Channel {
    /// A connected pair, both ends close-on-exec.
    pub fn pair() -> Result<(Channel, Channel), ChannelError> {
        let (a, b) = rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|e| ChannelError::Io {
            op: "create",
            source: e.into(),
        })?;
        Ok((Channel { fd: a }, Channel { fd: b }))
    }

    /// Sends one message.
    pub fn send(&self, msg: &Message) -> Result<(), ChannelError> {
        let data = serde_json::to_vec(msg).expect("messages always serialize");
        rustix::net::send(self.fd.as_fd(), &data, SendFlags::NOSIGNAL).map_err(|e| {
            ChannelError::Io {
                op: "send",
                source: e.into(),
            }
        })?;
        Ok(())
    }

    /// Sends one message with a descriptor attached (SCM_RIGHTS).
    pub fn send_with_fd(&self, msg: &Message, fd: BorrowedFd<'_>) -> Result<(), ChannelError> {
        let data = serde_json::to_vec(msg).expect("messages always serialize");
        crate::console::send_fd(self.fd.as_fd(), fd, &data).map_err(|e| ChannelError::Io {
            op: "send",
            source: e.into(),
        })
    }

    /// Receives one message; an [`Message::Error`] becomes `Err(Remote)`.
    pub fn recv(&self) -> Result<Message, ChannelError> {
        self.recv_with_fd().map(|(msg, _)| msg)
    }

    /// Receives one message and the descriptor sent with it, if any.
    pub fn recv_with_fd(&self) -> Result<(Message, Option<OwnedFd>), ChannelError> {
        let mut buf = vec![0u8; MAX_MESSAGE];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut anc = RecvAncillaryBuffer::new(&mut space);
        let n = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match rustix::net::recvmsg(self.fd.as_fd(), &mut iov, &mut anc, RecvFlags::CMSG_CLOEXEC)
            {
                Ok(r) => break r.bytes,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    return Err(ChannelError::Io {
                        op: "receive",
                        source: e.into(),
                    })
                }
            }
        };
        let mut fd = None;
        for msg in anc.drain() {
            if let RecvAncillaryMessage::ScmRights(mut fds) = msg {
                fd = fds.next();
            }
        }
        if n == 0 {
            return Err(ChannelError::Closed);
        }
        match serde_json::from_slice(&buf[..n]) {
            Ok(Message::Error(text)) => Err(ChannelError::Remote(text)),
            Ok(msg) => Ok((msg, fd)),
            Err(_) => Err(ChannelError::Closed),
        }
    }

    /// Receives one message and checks that it is `want`.
    pub fn expect(&self, want: Message) -> Result<(), ChannelError> {
        match self.recv()? {
            m if m == want => Ok(()),
            m => Err(ChannelError::Unexpected(m)),
        }
    }
}

/// Renders an error with its whole `source()` chain on one line:
/// `outer: inner: innermost`.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = full_chain(err);
    if text.len() > MAX_MESSAGE / 2 {
        let mut cut = MAX_MESSAGE / 2;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// The whole chain, uncut.
fn full_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !text.ends_with(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        cause = c.source();
    }
    text
}
