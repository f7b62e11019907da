//! IPv4 address management, pure: CIDR networks, the lowest free address
//! of a subnet, the first free pool among Docker's defaults, and the host's
//! own routes (so a pool overlapping a network the host already reaches is
//! skipped, as Docker skips it).
//!
//! Nothing here touches the kernel but [`routes`], which reads
//! `/proc/net/route` (see proc(5)).

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// Errors of address management.
#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    /// Not `a.b.c.d/n` with n ≤ 32: Go's `net.ParseCIDR` wording, which
    /// Docker's messages embed (`Invalid subnet X : invalid CIDR address: X`).
    #[error("invalid CIDR address: {text}")]
    InvalidCidr {
        /// The text as given.
        text: String,
    },
}

/// An IPv4 network in CIDR form; the address is kept as given (the host
/// bits may be set), [`Ipv4Net::network`] masks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Net {
    addr: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Net {
    /// `addr/prefix`; `None` when the prefix is over 32.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Option<Ipv4Net> {
        (prefix <= 32).then_some(Ipv4Net { addr, prefix })
    }

    /// The address as given.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length (0–32).
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The netmask as a number (`/24` → `0xffff_ff00`).
    pub fn mask(&self) -> u32 {
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix))
            .unwrap_or(0)
    }

    /// The network address (host bits cleared).
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    /// The broadcast address (host bits set).
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }

    /// The same network with the host bits cleared (`10.1.2.3/16` →
    /// `10.1.0.0/16`).
    pub fn trunc(&self) -> Ipv4Net {
        Ipv4Net {
            addr: self.network(),
            prefix: self.prefix,
        }
    }

    /// True when `ip` is inside the network.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network())
    }

    /// True when the two networks share an address (one contains the
    /// other's network address).
    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        self.contains(other.network()) || other.contains(self.network())
    }

    /// The addresses a container may get: all but the network and
    /// broadcast addresses, except in a /31 or /32 (RFC 3021), which have
    /// neither.
    pub fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> {
        let (first, last) = (u32::from(self.network()), u32::from(self.broadcast()));
        let (first, last) = if self.prefix >= 31 {
            (first, last)
        } else {
            (first + 1, last - 1)
        };
        (first..=last).map(Ipv4Addr::from)
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Ipv4Net {
    type Err = IpamError;

    fn from_str(s: &str) -> Result<Ipv4Net, IpamError> {
        let bad = || IpamError::InvalidCidr {
            text: s.to_string(),
        };
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        Ipv4Net::new(addr, prefix).ok_or_else(bad)
    }
}

/// The lowest free address of `subnet` (inside `range` when given) that
/// is not in `reserved`; never the network or broadcast address. The
/// caller puts the gateway in `reserved`.
pub fn first_free(
    subnet: Ipv4Net,
    range: Option<Ipv4Net>,
    reserved: &BTreeSet<Ipv4Addr>,
) -> Option<Ipv4Addr> {
    next_free(subnet, range, reserved, None)
}

/// Docker's serial allocation: the first free address of `subnet`
/// (inside `range` when given, never in `reserved`) after `after`, going
/// round to the start when the end is reached; an address just given
/// back is thus not handed out again at once (stale ARP entries and a
/// dying veth pair may still name it).
pub fn next_free(
    subnet: Ipv4Net,
    range: Option<Ipv4Net>,
    reserved: &BTreeSet<Ipv4Addr>,
    after: Option<Ipv4Addr>,
) -> Option<Ipv4Addr> {
    let free = |ip: &Ipv4Addr| range.is_none_or(|r| r.contains(*ip)) && !reserved.contains(ip);
    after
        .and_then(|a| subnet.hosts().filter(|ip| *ip > a).find(free))
        .or_else(|| subnet.hosts().find(free))
}

/// The first network of `size` bits carved from each pool in turn that
/// overlaps none of `taken`; pools are `(base, size)` as Docker's
/// `default-address-pools` (`{"base":"192.168.0.0/16","size":20}`).
pub fn pick_pool(pools: &[(Ipv4Net, u8)], taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    for (base, size) in pools {
        let size = (*size).max(base.prefix());
        if size > 32 {
            continue;
        }
        let step = 1u64 << (32 - u32::from(size));
        let start = u64::from(u32::from(base.network()));
        let end = u64::from(u32::from(base.broadcast()));
        let mut at = start;
        while at <= end {
            let candidate = Ipv4Net::new(Ipv4Addr::from(at as u32), size)?;
            if !taken.iter().any(|t| t.overlaps(&candidate)) {
                return Some(candidate);
            }
            at += step;
        }
    }
    None
}

/// Docker's default pools: 172.17.0.0/16 to 172.31.0.0/16 as /16s, then
/// 192.168.0.0/16 as /20s.
pub fn default_pools() -> Vec<(Ipv4Net, u8)> {
    let mut pools: Vec<(Ipv4Net, u8)> = (17..=31)
        .map(|b| {
            (
                Ipv4Net::new(Ipv4Addr::new(172, b, 0, 0), 16).expect("prefix"),
                16,
            )
        })
        .collect();
    pools.push((
        Ipv4Net::new(Ipv4Addr::new(192, 168, 0, 0), 16).expect("prefix"),
        20,
    ));
    pools
}

/// The host's IPv4 routes but the default one, each with its interface
/// name, read from `/proc/net/route` of the calling thread's network
/// namespace; empty when the file cannot be read.
pub fn routes() -> Vec<(String, Ipv4Net)> {
    std::fs::read_to_string("/proc/thread-self/net/route")
        .or_else(|_| std::fs::read_to_string("/proc/net/route"))
        .map(|text| parse_routes(&text))
        .unwrap_or_default()
}

/// The networks of [`routes`], without their interfaces.
pub fn host_routes() -> Vec<Ipv4Net> {
    routes().into_iter().map(|(_, net)| net).collect()
}

/// Parses `/proc/net/route`: a header line, then `Iface Destination
/// Gateway Flags RefCnt Use Metric Mask …` with the addresses as the
/// kernel's `%08X` of a big-endian `__be32` read as a native number (so on
/// a little-endian machine `0011A8C0` is 192.168.17.0). The default route
/// (mask 0) is left out.
pub fn parse_routes(text: &str) -> Vec<(String, Ipv4Net)> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (Some(iface), Some(dest), Some(mask)) = (cols.first(), cols.get(1), cols.get(7)) else {
            continue;
        };
        let (Ok(dest), Ok(mask)) = (u32::from_str_radix(dest, 16), u32::from_str_radix(mask, 16))
        else {
            continue;
        };
        let mask = u32::from(Ipv4Addr::from(mask.to_ne_bytes()));
        if mask == 0 || mask.leading_ones() + mask.trailing_zeros() != 32 {
            continue;
        }
        let net = Ipv4Net::new(
            Ipv4Addr::from(dest.to_ne_bytes()),
            mask.leading_ones() as u8,
        );
        if let Some(net) = net {
            out.push((iface.to_string(), net.trunc()));
        }
    }
    out
}

#[cfg(test)]
mod tests;
