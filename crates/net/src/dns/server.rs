//! The serving loops: one task for UDP, one for TCP, both on the tokio
//! runtime that started the server. Each task owns its listening socket
//! and the tasks it spawned (a `JoinSet`), so aborting the two tasks drops
//! everything and closes the sockets.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinSet;
use tokio::time::timeout;

use super::answer::{self, Action};
use super::Names;
use super::{forward, wire};

/// Queries being forwarded at once over UDP; more get REFUSED at once
/// (Docker's answer when its limit is reached).
pub const MAX_FORWARDS: usize = 128;
/// TCP connections served at once; more are closed at once.
pub const MAX_CONNECTIONS: usize = 32;
/// Largest query taken over TCP (a query is one question: small).
pub const MAX_TCP_QUERY: usize = 4096;
/// How long a TCP connection may stay idle (RFC 7766 suggests seconds).
pub const TCP_IDLE: Duration = Duration::from_secs(10);
/// Largest UDP query read; a longer datagram is cut and gets FORMERR.
const UDP_BUFFER: usize = 4096;

/// What every query needs: who asks, the names, where to forward.
pub struct Context {
    /// The asking container, passed to [`Names`].
    pub asker: String,
    /// The container names.
    pub names: Arc<dyn Names>,
    /// Upstream servers, in the daemon's namespace.
    pub upstreams: Arc<[SocketAddr]>,
    /// Counts answers, to rotate several addresses.
    pub turns: AtomicUsize,
}

impl Context {
    fn turn(&self) -> usize {
        self.turns.fetch_add(1, Ordering::Relaxed)
    }
}

/// Serves UDP queries until the task is aborted.
pub async fn serve_udp(socket: UdpSocket, cx: Arc<Context>) {
    let mut buf = vec![0; UDP_BUFFER];
    let mut forwards: JoinSet<Option<(SocketAddr, Vec<u8>)>> = JoinSet::new();
    loop {
        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                // Errors here are per datagram (ICMP reports): go on.
                let Ok((n, peer)) = received else { continue };
                let msg = &buf[..n];
                match answer::decide(msg, &cx.asker, cx.names.as_ref(), false, cx.turn()) {
                    Action::Reply(reply) => {
                        let _ = socket.send_to(&reply, peer).await;
                    }
                    Action::Forward if forwards.len() < MAX_FORWARDS => {
                        let msg = msg.to_vec();
                        let upstreams = Arc::clone(&cx.upstreams);
                        forwards.spawn(async move {
                            let reply = match forward::udp(&upstreams, &msg).await {
                                Some(reply) => reply,
                                None => answer::failure(&msg, wire::RCODE_SERVFAIL, false)?,
                            };
                            Some((peer, reply))
                        });
                    }
                    Action::Forward => {
                        if let Some(reply) = answer::failure(msg, wire::RCODE_REFUSED, false) {
                            let _ = socket.send_to(&reply, peer).await;
                        }
                    }
                    Action::Drop => {}
                }
            }
            Some(done) = forwards.join_next(), if !forwards.is_empty() => {
                if let Ok(Some((peer, reply))) = done {
                    let _ = socket.send_to(&reply, peer).await;
                }
            }
        }
    }
}

/// Accepts TCP connections until the task is aborted.
pub async fn serve_tcp(listener: TcpListener, cx: Arc<Context>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) if connections.len() < MAX_CONNECTIONS => {
                    connections.spawn(serve_connection(stream, Arc::clone(&cx)));
                }
                Ok(_) => {}
                // EMFILE and the like: wait a little rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Serves the queries of one connection, one after the other, until the
/// client closes it, stays idle (or does not read) for [`TCP_IDLE`], or
/// sends garbage.
async fn serve_connection(mut stream: TcpStream, cx: Arc<Context>) {
    loop {
        let msg = match timeout(TCP_IDLE, forward::read_framed(&mut stream, MAX_TCP_QUERY)).await {
            Ok(Ok(Some(msg))) => msg,
            _ => return,
        };
        let reply = match answer::decide(&msg, &cx.asker, cx.names.as_ref(), true, cx.turn()) {
            Action::Reply(reply) => reply,
            Action::Forward => match forward::tcp(&cx.upstreams, &msg).await {
                Some(reply) => reply,
                None => match answer::failure(&msg, wire::RCODE_SERVFAIL, true) {
                    Some(reply) => reply,
                    None => return,
                },
            },
            Action::Drop => return,
        };
        let written = timeout(TCP_IDLE, forward::write_framed(&mut stream, &reply)).await;
        if !matches!(written, Ok(Ok(()))) {
            return;
        }
    }
}
