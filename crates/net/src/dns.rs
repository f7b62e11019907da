//! The embedded DNS server of user-defined networks, as Docker's: every
//! container on such a network has `nameserver 127.0.0.11` in its
//! resolv.conf, and a server listening there (UDP and TCP port 53, inside
//! the container's network namespace) answers the names of the containers
//! the asker shares a network with, and forwards everything else to the
//! daemon's own resolvers.
//!
//! The engine knows who may resolve what; it answers through [`Names`].
//! The server binds its sockets on a thread inside the container's
//! namespace ([`NetNs::run`]): a socket keeps the namespace it was made in,
//! so the tokio tasks serving it can run on any thread. Forwarding sockets
//! are made by those tasks, hence in the daemon's namespace.

mod answer;
mod forward;
mod server;
pub mod wire;

#[cfg(test)]
mod tests;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::netns::{NetNs, NetnsError};

pub use forward::UPSTREAM_TIMEOUT;

/// The address the server listens on inside a container (Docker's).
pub const DNS_ADDR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);
/// The DNS port.
pub const DNS_PORT: u16 = 53;

/// Errors of the DNS server.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The server was started outside a tokio runtime.
    #[error("the dns server needs a tokio runtime")]
    NoRuntime(#[source] tokio::runtime::TryCurrentError),
    /// No thread could be run in the container's namespace.
    #[error("failed to enter the network namespace of the dns server")]
    Netns(#[source] NetnsError),
    /// A socket could not be bound (inside the container's namespace).
    #[error("failed to bind the dns server's {proto} socket on {addr}")]
    Bind {
        /// "udp" or "tcp".
        proto: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A socket could not be handed to the runtime.
    #[error("failed to register the dns server's sockets with the runtime")]
    Register(#[source] io::Error),
}

/// The container names, as the engine knows them. `asker` is the value
/// given to [`DnsServer::start`] (the asking container); the answer must
/// only cover the networks the asker is on, so nothing leaks between
/// networks: a name the asker may not resolve is `None`.
pub trait Names: Send + Sync {
    /// The addresses of `name` (lower case, no trailing dot: a container
    /// name, alias or `name.network`), or None if it is not a container
    /// name the asker may resolve (the query is then forwarded).
    fn lookup(&self, asker: &str, name: &str) -> Option<Vec<Ipv4Addr>>;
    /// The name of the container with address `ip` on a network of the
    /// asker (Docker answers `name.network`), or None (forwarded).
    fn reverse(&self, asker: &str, ip: Ipv4Addr) -> Option<String>;
}

/// A running DNS server. Dropping it aborts its tasks, which closes its
/// sockets as soon as the runtime gets to them; [`DnsServer::stop`]
/// waits for that. Its sockets hold the container's namespace alive: stop
/// the server when the container stops. For an `--internal` network give
/// no upstreams (Docker forwards nothing there: other names get SERVFAIL).
pub struct DnsServer {
    udp: JoinHandle<()>,
    tcp: JoinHandle<()>,
    addr: SocketAddr,
}

impl DnsServer {
    /// Binds UDP and TCP on 127.0.0.11:53 inside `ns` and serves there on
    /// the current tokio runtime. `127.0.0.0/8` is on the namespace's `lo`
    /// (it must be up), so the address needs no adding.
    pub fn start(
        ns: &NetNs,
        asker: String,
        names: Arc<dyn Names>,
        upstreams: Vec<SocketAddr>,
    ) -> Result<DnsServer, DnsError> {
        let addr = SocketAddr::V4(SocketAddrV4::new(DNS_ADDR, DNS_PORT));
        let (udp, tcp) = ns.run(move || bind(addr)).map_err(DnsError::Netns)??;
        Self::serve(udp, tcp, asker, names, upstreams)
    }

    /// Serves on sockets the caller bound (in whatever namespace) on the
    /// current tokio runtime.
    pub fn serve(
        udp: std::net::UdpSocket,
        tcp: std::net::TcpListener,
        asker: String,
        names: Arc<dyn Names>,
        upstreams: Vec<SocketAddr>,
    ) -> Result<DnsServer, DnsError> {
        let handle = tokio::runtime::Handle::try_current().map_err(DnsError::NoRuntime)?;
        let _entered = handle.enter();
        let addr = udp.local_addr().map_err(DnsError::Register)?;
        let register = |udp: std::net::UdpSocket, tcp: std::net::TcpListener| {
            udp.set_nonblocking(true)?;
            tcp.set_nonblocking(true)?;
            Ok((
                tokio::net::UdpSocket::from_std(udp)?,
                tokio::net::TcpListener::from_std(tcp)?,
            ))
        };
        let (udp, tcp) = register(udp, tcp).map_err(DnsError::Register)?;
        let cx = Arc::new(server::Context {
            asker,
            names,
            upstreams: upstreams.into(),
            turns: Default::default(),
        });
        Ok(DnsServer {
            udp: handle.spawn(server::serve_udp(udp, Arc::clone(&cx))),
            tcp: handle.spawn(server::serve_tcp(tcp, cx)),
            addr,
        })
    }

    /// The address served (UDP; TCP is on the same port when started by
    /// [`DnsServer::start`]).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server and waits until its sockets are closed.
    pub async fn stop(mut self) {
        self.udp.abort();
        self.tcp.abort();
        let _ = (&mut self.udp).await;
        let _ = (&mut self.tcp).await;
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.udp.abort();
        self.tcp.abort();
    }
}

fn bind(addr: SocketAddr) -> Result<(std::net::UdpSocket, std::net::TcpListener), DnsError> {
    let err = |proto| {
        move |source| DnsError::Bind {
            proto,
            addr,
            source,
        }
    };
    let udp = std::net::UdpSocket::bind(addr).map_err(err("udp"))?;
    let tcp = std::net::TcpListener::bind(addr).map_err(err("tcp"))?;
    Ok((udp, tcp))
}

/// The upstream servers of a resolv.conf text: each `nameserver` line's
/// address, port 53, in order, without repeats. Loopback addresses are
/// kept (forwarding happens from the daemon's namespace, where they work).
/// An empty list means no resolver: the engine picks Docker's defaults.
pub fn upstreams_from_resolv_conf(text: &str) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("nameserver") {
            continue;
        }
        // An IPv6 address may carry a zone (`fe80::1%eth0`): not usable here.
        let Some(Ok(ip)) = words.next().map(str::parse::<IpAddr>) else {
            continue;
        };
        let addr = SocketAddr::new(ip, DNS_PORT);
        if !out.contains(&addr) {
            out.push(addr);
        }
    }
    out
}
