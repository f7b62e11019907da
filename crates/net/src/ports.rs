//! Host port reservation for published ports, as Docker 28's port
//! allocator does it: a port is held with real sockets in the calling
//! thread's network namespace (TCP and SCTP bound and listening, UDP
//! bound) for as long as a container publishes it, so no other process
//! can take it meanwhile; the packets themselves never reach these
//! sockets, the nftables DNAT of [`crate::firewall`] turns them to the
//! container first.
//!
//! A port asked for by number that this process already holds fails with
//! Docker's `Bind for 0.0.0.0:8080 failed: port is already allocated`; one
//! held by another process fails with the kernel's `EADDRINUSE` under
//! `failed to bind host port 0.0.0.0:8080/tcp`. Port 0 takes the next
//! free port of the range after the last one handed out for that address
//! and protocol (a process-wide cursor per address and protocol, as
//! Docker's), so a port just freed is not reused at once and tcp and udp
//! get the same numbers while both are free.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::OwnedFd;
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};

use rustix::net::{ipproto, AddressFamily, SocketFlags, SocketType};

/// How many ports taken by other processes a port-0 request skips before
/// it gives up (Docker's `maxAllocateAttempts`).
const MAX_ATTEMPTS: usize = 10;

/// Docker's range when `ip_local_port_range` cannot be read.
pub const DEFAULT_RANGE: (u16, u16) = (49153, 65535);

/// Errors of port reservation.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// This process already holds the port for that address and protocol.
    #[error("Bind for {ip}:{port} failed: port is already allocated")]
    Allocated {
        /// The host address as asked (0.0.0.0 for any).
        ip: Ipv4Addr,
        /// The port.
        port: u16,
    },
    /// The kernel refused the socket (another process holds the port, or
    /// the protocol is not available).
    #[error("failed to bind host port {ip}:{port}/{proto}")]
    Bind {
        /// The host address.
        ip: Ipv4Addr,
        /// The port.
        port: u16,
        /// The protocol.
        proto: Proto,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
    /// Every port of the range is held.
    #[error("all ports are allocated")]
    Exhausted,
    /// The range is empty or starts at 0.
    #[error("invalid port range {start}-{end}")]
    InvalidRange {
        /// First port.
        start: u16,
        /// Last port.
        end: u16,
    },
    /// `/proc/sys/net/ipv4/ip_local_port_range` unreadable or malformed.
    #[error("failed to read the local port range")]
    LocalRange(#[source] io::Error),
}

/// A transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Proto {
    /// The lower-case name Docker and nft use (`tcp`, `udp`, `sctp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Proto {
    type Err = String;

    fn from_str(s: &str) -> Result<Proto, String> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            "sctp" => Ok(Proto::Sctp),
            _ => Err(format!("invalid proto: {s}")),
        }
    }
}

/// One `-p [host_ip:][host_port]:container_port[/proto]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSpec {
    /// Protocol.
    pub proto: Proto,
    /// Host address; `None` = every address (0.0.0.0).
    pub host_ip: Option<Ipv4Addr>,
    /// Host port; 0 = any free port of the range.
    pub host_port: u16,
    /// Port inside the container.
    pub container_port: u16,
}

/// A held host port: its sockets stay open, and this process refuses the
/// port to others, until the reservation is dropped.
#[derive(Debug)]
pub struct Reservation {
    ip: Ipv4Addr,
    proto: Proto,
    port: u16,
    _socket: OwnedFd,
}

impl Reservation {
    /// The host address (0.0.0.0 for any).
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// The protocol.
    pub fn proto(&self) -> Proto {
        self.proto
    }

    /// The held port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        state().held.remove(&(self.ip, self.proto, self.port));
    }
}

/// What this process holds, and the cursor of each (address, protocol).
struct State {
    held: BTreeSet<(Ipv4Addr, Proto, u16)>,
    last: BTreeMap<(Ipv4Addr, Proto), u16>,
}

static STATE: Mutex<State> = Mutex::new(State {
    held: BTreeSet::new(),
    last: BTreeMap::new(),
});

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Holds the host port of `spec` (or, for port 0, the next free port of
/// `range`, inclusive) in the calling thread's network namespace.
pub fn reserve(spec: &PortSpec, range: (u16, u16)) -> Result<(u16, Reservation), PortError> {
    let ip = spec.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
    let proto = spec.proto;
    let mut st = state();
    if spec.host_port != 0 {
        let port = spec.host_port;
        if st.held.contains(&(ip, proto, port)) {
            return Err(PortError::Allocated { ip, port });
        }
        let r = hold(ip, proto, port)?;
        st.held.insert((ip, proto, port));
        return Ok((port, r));
    }
    let (start, end) = range;
    if start == 0 || start > end {
        return Err(PortError::InvalidRange { start, end });
    }
    // Docker's portRange starts with last = end, so the first port given
    // is the range's start; after that each search begins after the last
    // port given, wrapping at the end.
    let mut port = st
        .last
        .get(&(ip, proto))
        .copied()
        .filter(|p| (start..=end).contains(p))
        .unwrap_or(end);
    let mut failures = 0;
    for _ in start..=end {
        port = if port >= end { start } else { port + 1 };
        if st.held.contains(&(ip, proto, port)) {
            continue;
        }
        st.last.insert((ip, proto), port);
        match hold(ip, proto, port) {
            Ok(r) => {
                st.held.insert((ip, proto, port));
                return Ok((port, r));
            }
            Err(PortError::Bind { source, .. })
                if source.raw_os_error() == Some(libc::EADDRINUSE)
                    && failures + 1 < MAX_ATTEMPTS =>
            {
                failures += 1;
            }
            Err(e) => return Err(e),
        }
    }
    Err(PortError::Exhausted)
}

/// Opens the socket that holds `ip:port/proto`.
///
/// TCP sets `SO_REUSEADDR` as Docker does: it lets the bind succeed while
/// old connections of an earlier user of the port sit in TIME_WAIT, and it
/// does not share the port: the kernel refuses any other bind to a port
/// that has a listening socket, `SO_REUSEADDR` or not
/// (`inet_csk_bind_conflict`); only `SO_REUSEPORT` on both sockets would,
/// and it is not set. UDP leaves it off: two UDP sockets with
/// `SO_REUSEADDR` could share the port. See socket(7), tcp(7).
fn hold(ip: Ipv4Addr, proto: Proto, port: u16) -> Result<Reservation, PortError> {
    let fail = |source: io::Error| PortError::Bind {
        ip,
        port,
        proto,
        source,
    };
    let (kind, protocol) = match proto {
        Proto::Tcp => (SocketType::STREAM, ipproto::TCP),
        Proto::Udp => (SocketType::DGRAM, ipproto::UDP),
        Proto::Sctp => (SocketType::STREAM, ipproto::SCTP),
    };
    let fd = rustix::net::socket_with(
        AddressFamily::INET,
        kind,
        SocketFlags::CLOEXEC,
        Some(protocol),
    )
    .map_err(|e| fail(e.into()))?;
    if proto == Proto::Tcp {
        rustix::net::sockopt::set_socket_reuseaddr(&fd, true).map_err(|e| fail(e.into()))?;
    }
    rustix::net::bind(&fd, &SocketAddrV4::new(ip, port)).map_err(|e| fail(e.into()))?;
    if proto != Proto::Udp {
        // Listening is what makes the kernel refuse the port to others;
        // no connection is ever accepted (the DNAT comes first).
        rustix::net::listen(&fd, 1).map_err(|e| fail(e.into()))?;
    }
    Ok(Reservation {
        ip,
        proto,
        port,
        _socket: fd,
    })
}

/// The kernel's ephemeral port range of the calling thread's network
/// namespace (`/proc/sys/net/ipv4/ip_local_port_range`, see ip(7)), which
/// Docker's allocator uses for port 0.
pub fn ip_local_port_range() -> Result<(u16, u16), PortError> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .map_err(PortError::LocalRange)?;
    parse_port_range(&text).ok_or_else(|| {
        PortError::LocalRange(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not two ports: {:?}", text.trim()),
        ))
    })
}

/// Parses `32768\t60999`; `None` unless two ports with start ≤ end.
pub fn parse_port_range(text: &str) -> Option<(u16, u16)> {
    let mut it = text.split_whitespace().map(str::parse::<u16>);
    match (it.next(), it.next(), it.next()) {
        (Some(Ok(a)), Some(Ok(b)), None) if a > 0 && a <= b => Some((a, b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_parses() {
        assert_eq!(parse_port_range("32768\t60999\n"), Some((32768, 60999)));
        assert_eq!(parse_port_range("1024 1024"), Some((1024, 1024)));
        assert_eq!(parse_port_range("60999 32768"), None);
        assert_eq!(parse_port_range("0 10"), None);
        assert_eq!(parse_port_range("1 2 3"), None);
        assert_eq!(parse_port_range("x"), None);
    }

    #[test]
    fn proto_names() {
        for p in [Proto::Tcp, Proto::Udp, Proto::Sctp] {
            assert_eq!(p.to_string().parse::<Proto>(), Ok(p));
        }
        assert_eq!("TCP".parse::<Proto>(), Ok(Proto::Tcp));
        assert!("icmp".parse::<Proto>().is_err());
    }

    #[test]
    fn allocated_text_is_dockers() {
        let e = PortError::Allocated {
            ip: Ipv4Addr::UNSPECIFIED,
            port: 8080,
        };
        assert_eq!(
            e.to_string(),
            "Bind for 0.0.0.0:8080 failed: port is already allocated"
        );
    }
}
