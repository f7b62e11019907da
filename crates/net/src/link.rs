//! Links, addresses and routes over rtnetlink, synchronously: the bridge of
//! a network, and the veth pair that joins a container's namespace to it.
//!
//! Every function works in the network namespace of the calling thread
//! (call it inside [`NetNs::run`](crate::netns::NetNs::run) to work in
//! another one) and opens one netlink socket per call.

mod rtnl;
mod veth;

use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};

use crate::netns::NetnsError;
use rtnl::Rtnl;
pub use veth::{attach, detach, Attachment};

/// Errors of link handling.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// No rtnetlink socket could be opened.
    #[error("failed to open a netlink socket")]
    Socket(#[source] io::Error),
    /// A link of that name exists already.
    #[error("link {name} already exists")]
    Exists {
        /// The link.
        name: String,
    },
    /// No link of that name exists.
    #[error("link {name} not found")]
    NotFound {
        /// The link.
        name: String,
    },
    /// The link exists but is no bridge.
    #[error("link {name} is not a bridge")]
    NotBridge {
        /// The link.
        name: String,
    },
    /// The kernel refused a request about a link.
    #[error("failed to {op} link {name}")]
    Netlink {
        /// What was asked (`create`, `address`, …).
        op: &'static str,
        /// The link.
        name: String,
        /// The errno the kernel answered.
        #[source]
        source: io::Error,
    },
    /// A per-interface sysctl could not be written.
    #[error("failed to write {path}")]
    Sysctl {
        /// The `/proc/sys` file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The container's namespace could not be entered.
    #[error(transparent)]
    Netns(#[from] NetnsError),
}

/// Maps a failed request about the link `name`: `EEXIST` and `ENODEV` get
/// their own variants, anything else names the operation.
fn failed(op: &'static str, name: &str) -> impl FnOnce(io::Error) -> LinkError {
    let name = name.to_owned();
    move |source| match source.raw_os_error() {
        Some(libc::EEXIST) => LinkError::Exists { name },
        Some(libc::ENODEV) => LinkError::NotFound { name },
        _ => LinkError::Netlink { op, name, source },
    }
}

fn open() -> Result<Rtnl, LinkError> {
    Rtnl::open().map_err(LinkError::Socket)
}

/// The interface index of the link `name`, which must exist.
fn index_of(nl: &mut Rtnl, name: &str) -> Result<u32, LinkError> {
    match nl.link(name).map_err(failed("read", name))? {
        Some(link) => Ok(link.header.index),
        None => Err(LinkError::NotFound {
            name: name.to_owned(),
        }),
    }
}

/// Makes sure the bridge `name` exists, holds `gateway/prefix` and is up;
/// creates it (with `mtu` when given) if absent. Also sets its
/// `route_localnet` to 1, so that DNAT of 127.0.0.1 to a container may
/// route out of it. Returns its interface index.
pub fn ensure_bridge(
    name: &str,
    gateway: Ipv4Addr,
    prefix: u8,
    mtu: Option<u32>,
) -> Result<u32, LinkError> {
    let mut nl = open()?;
    let link = match nl.link(name).map_err(failed("read", name))? {
        Some(link) => link,
        None => {
            let mut msg = LinkMessage::default();
            msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
            msg.attributes.extend(mtu.map(LinkAttribute::Mtu));
            msg.attributes
                .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                    InfoKind::Bridge,
                )]));
            match nl.create_link(msg) {
                // Another caller made it meanwhile: use theirs.
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                other => other.map_err(failed("create", name))?,
            }
            nl.link(name)
                .map_err(failed("read", name))?
                .ok_or_else(|| LinkError::NotFound {
                    name: name.to_owned(),
                })?
        }
    };
    if !is_bridge(&link) {
        return Err(LinkError::NotBridge {
            name: name.to_owned(),
        });
    }
    let index = link.header.index;
    let addresses = nl
        .addresses(index)
        .map_err(failed("read addresses of", name))?;
    if !addresses.contains(&(gateway, prefix)) {
        match nl.add_address(index, gateway, prefix) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            other => other.map_err(failed("address", name))?,
        }
    }
    if !link.header.flags.contains(LinkFlags::Up) || mtu.is_some() {
        nl.set_up(index, mtu).map_err(failed("bring up", name))?;
    }
    let path = PathBuf::from(format!("/proc/sys/net/ipv4/conf/{name}/route_localnet"));
    std::fs::write(&path, "1").map_err(|source| LinkError::Sysctl { path, source })?;
    Ok(index)
}

fn is_bridge(link: &LinkMessage) -> bool {
    link.attributes.iter().any(|attr| match attr {
        LinkAttribute::LinkInfo(infos) => infos.contains(&LinkInfo::Kind(InfoKind::Bridge)),
        _ => false,
    })
}

/// Deletes the link `name` (a bridge, or a veth with its peer); a missing
/// link is fine.
pub fn delete_link(name: &str) -> Result<(), LinkError> {
    match open()?.delete_link(name) {
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(()),
        other => other.map_err(failed("delete", name)),
    }
}

/// What the kernel reports about a link (for checks and inspection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    /// The interface index.
    pub index: u32,
    /// Whether it is administratively up (`IFF_UP`).
    pub up: bool,
    /// Its MTU.
    pub mtu: Option<u32>,
    /// Its MAC address, for an Ethernet link.
    pub mac: Option<[u8; 6]>,
    /// The index of the bridge it is a port of.
    pub controller: Option<u32>,
    /// Whether it is a bridge port with hairpin mode on.
    pub hairpin: bool,
    /// Its IPv4 addresses with their prefix lengths.
    pub addresses: Vec<(Ipv4Addr, u8)>,
}

/// The state of the link `name`, `None` when there is no such link.
pub fn link_state(name: &str) -> Result<Option<LinkState>, LinkError> {
    let mut nl = open()?;
    let Some(link) = nl.link(name).map_err(failed("read", name))? else {
        return Ok(None);
    };
    let mut state = LinkState {
        index: link.header.index,
        up: link.header.flags.contains(LinkFlags::Up),
        mtu: None,
        mac: None,
        controller: None,
        hairpin: false,
        addresses: nl
            .addresses(link.header.index)
            .map_err(failed("read addresses of", name))?,
    };
    for attr in link.attributes {
        match attr {
            LinkAttribute::Mtu(mtu) => state.mtu = Some(mtu),
            LinkAttribute::Address(mac) => state.mac = mac.try_into().ok(),
            LinkAttribute::Controller(index) => state.controller = Some(index),
            _ => {}
        }
    }
    if state.controller.is_some() {
        state.hairpin = nl
            .hairpin(state.index)
            .map_err(failed("read bridge port", name))?;
    }
    Ok(Some(state))
}

/// Whether a link named `name` exists (false also when netlink fails).
pub fn link_exists(name: &str) -> bool {
    Rtnl::open()
        .and_then(|mut nl| nl.link(name))
        .is_ok_and(|link| link.is_some())
}

/// The MAC address Docker gives a container: `02:42` followed by the four
/// bytes of its IPv4 address (locally administered, unicast).
pub fn mac_from_ip(ip: Ipv4Addr) -> [u8; 6] {
    let [a, b, c, d] = ip.octets();
    [0x02, 0x42, a, b, c, d]
}

/// The host-side name of an endpoint's veth: `veth` and 7 hex digits, the
/// start of the endpoint id when that is hex (the engine's ids are), else
/// a hash of it. 11 characters, within `IFNAMSIZ`.
pub fn host_ifname_for(endpoint_id: &str) -> String {
    let start = endpoint_id.get(..7).unwrap_or("");
    if start.len() == 7 && start.bytes().all(|b| b.is_ascii_hexdigit()) {
        return format!("veth{}", start.to_ascii_lowercase());
    }
    // FNV-1a: stable across runs and builds, unlike std's hasher.
    let hash = endpoint_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("veth{:07x}", hash & 0x0fff_ffff)
}

/// Brings `lo` up in the calling thread's namespace (index 1 in every
/// network namespace).
pub(crate) fn loopback_up() -> io::Result<()> {
    Rtnl::open()?.set_up(1, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_is_02_42_and_the_address() {
        assert_eq!(
            mac_from_ip(Ipv4Addr::new(172, 17, 0, 2)),
            [0x02, 0x42, 172, 17, 0, 2]
        );
    }

    #[test]
    fn host_ifname_takes_the_id_start_or_a_hash() {
        assert_eq!(host_ifname_for("AB12cd9e0f"), "vethab12cd9");
        let hashed = host_ifname_for("not-hex-at-all");
        assert_eq!(hashed.len(), 11);
        assert!(hashed[4..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(hashed, host_ifname_for("not-hex-at-all"));
        assert_ne!(hashed, host_ifname_for("not-hex-at-all2"));
        assert_eq!(host_ifname_for("").len(), 11);
    }
}
