//! Forwarding a query that is not about a container to the upstream
//! servers, one after the other, each given [`UPSTREAM_TIMEOUT`]. As in
//! Docker, an upstream answering SERVFAIL or REFUSED counts as silent:
//! the next one is asked.
//!
//! The sockets are made by the runtime's threads, which stay in the
//! daemon's own network namespace: that is where the host's resolvers
//! (loopback ones included) are reachable, not inside the container.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

use super::wire;

/// How long one upstream server is given to answer.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest DNS message (the TCP length prefix is 16 bits).
pub const MAX_MESSAGE: usize = u16::MAX as usize;

/// Forwards `query` over UDP; the first upstream's useful reply carrying
/// the query's id, or None when none gave one in time.
pub async fn udp(upstreams: &[SocketAddr], query: &[u8]) -> Option<Vec<u8>> {
    let id = wire::message_id(query)?;
    first_useful(upstreams, |upstream| udp_one(upstream, query, id)).await
}

/// Asks each upstream in turn with `ask`, each given [`UPSTREAM_TIMEOUT`];
/// the first useful reply.
async fn first_useful<F, Fut>(upstreams: &[SocketAddr], ask: F) -> Option<Vec<u8>>
where
    F: Fn(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<Vec<u8>>>,
{
    for upstream in upstreams {
        if let Ok(Ok(reply)) = timeout(UPSTREAM_TIMEOUT, ask(*upstream)).await {
            if useful(&reply) {
                return Some(reply);
            }
        }
    }
    None
}

fn useful(reply: &[u8]) -> bool {
    !matches!(
        wire::rcode(reply),
        Some(wire::RCODE_SERVFAIL | wire::RCODE_REFUSED)
    )
}

async fn udp_one(upstream: SocketAddr, query: &[u8], id: u16) -> io::Result<Vec<u8>> {
    let local: SocketAddr = match upstream {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    // A fresh socket per query: a random source port, and connect() makes
    // the kernel drop datagrams from anyone but the upstream.
    let socket = UdpSocket::bind(local).await?;
    socket.connect(upstream).await?;
    socket.send(query).await?;
    let mut buf = vec![0; MAX_MESSAGE];
    loop {
        let n = socket.recv(&mut buf).await?;
        if n >= wire::HEADER_LEN && wire::message_id(&buf[..n]) == Some(id) {
            buf.truncate(n);
            return Ok(buf);
        }
    }
}

/// Forwards `query` over TCP (the client asked over TCP, usually after a
/// truncated UDP reply); the first upstream's useful reply, or None.
pub async fn tcp(upstreams: &[SocketAddr], query: &[u8]) -> Option<Vec<u8>> {
    first_useful(upstreams, |upstream| tcp_one(upstream, query)).await
}

async fn tcp_one(upstream: SocketAddr, query: &[u8]) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(upstream).await?;
    write_framed(&mut stream, query).await?;
    read_framed(&mut stream, MAX_MESSAGE)
        .await?
        .ok_or(io::ErrorKind::UnexpectedEof.into())
}

/// Reads one length-prefixed message (RFC 1035 4.2.2); None at a clean end
/// of stream. A message longer than `max` is an error (nothing is read).
pub async fn read_framed<R: AsyncReadExt + Unpin>(
    r: &mut R,
    max: usize,
) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0; 2];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = usize::from(u16::from_be_bytes(len));
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "dns message too long",
        ));
    }
    let mut msg = vec![0; len];
    r.read_exact(&mut msg).await?;
    Ok(Some(msg))
}

/// Writes one message with its 2-byte length prefix.
pub async fn write_framed<W: AsyncWriteExt + Unpin>(w: &mut W, msg: &[u8]) -> io::Result<()> {
    let len = u16::try_from(msg.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut framed = Vec::with_capacity(msg.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(msg);
    w.write_all(&framed).await
}
