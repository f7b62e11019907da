//! The veth pair that joins a container's network namespace to a bridge.
//!
//! The pair is made in one request with its peer already inside the
//! container's namespace (`IFLA_NET_NS_FD` in the peer's attributes), named
//! and with its MAC: the peer never appears in the host's namespace under a
//! name that could clash. The host end is enslaved to the bridge and up in
//! the same request; hairpin mode, then (inside) the peer's state, its IPv4
//! address and the default route follow.

use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd};

use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};

use super::{failed, index_of, open, LinkError};
use crate::netns::NetNs;

/// One container's link to a bridge network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The bridge the host end joins.
    pub bridge: String,
    /// The host end's name ([`host_ifname_for`](super::host_ifname_for)).
    pub host_ifname: String,
    /// The container end's name inside the namespace (`eth0`).
    pub ifname: String,
    /// The container's address.
    pub address: Ipv4Addr,
    /// The prefix length of the network.
    pub prefix_len: u8,
    /// The default route's gateway (none on an internal network).
    pub gateway: Option<Ipv4Addr>,
    /// The container end's MAC address.
    pub mac: [u8; 6],
    /// The MTU of both ends (the kernel's default when `None`).
    pub mtu: Option<u32>,
}

/// Joins `ns` to the bridge: a veth pair whose host end `a.host_ifname` is a
/// port of `a.bridge` with hairpin on, and whose end `a.ifname` in `ns` has
/// `a.mac`, `a.address/a.prefix_len` and the default route via `a.gateway`.
/// On failure nothing is left (the host end, and with it the peer, is
/// deleted).
pub fn attach(ns: &NetNs, a: &Attachment) -> Result<(), LinkError> {
    let mut nl = open()?;
    let bridge = index_of(&mut nl, &a.bridge)?;

    // The peer comes up later, from inside: asking for IFF_UP on a peer made
    // in another namespace fails with ENOTCONN (kernel 6.18).
    let mut peer = LinkMessage::default();
    peer.attributes
        .push(LinkAttribute::IfName(a.ifname.clone()));
    peer.attributes
        .push(LinkAttribute::NetNsFd(ns.as_fd().as_raw_fd()));
    peer.attributes.push(LinkAttribute::Address(a.mac.to_vec()));
    peer.attributes.extend(a.mtu.map(LinkAttribute::Mtu));

    let mut host = LinkMessage::default();
    host.header.flags = LinkFlags::Up;
    host.header.change_mask = LinkFlags::Up;
    host.attributes
        .push(LinkAttribute::IfName(a.host_ifname.clone()));
    host.attributes.push(LinkAttribute::Controller(bridge));
    host.attributes.extend(a.mtu.map(LinkAttribute::Mtu));
    host.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
    ]));

    if let Err(e) = nl.create_link(host) {
        // Nothing of ours exists yet: never delete a clashing link.
        let clash = if e.raw_os_error() == Some(libc::EEXIST) && !super::link_exists(&a.host_ifname)
        {
            &a.ifname
        } else {
            &a.host_ifname
        };
        return Err(failed("create veth", clash)(e));
    }
    let configured = (|| {
        let index = index_of(&mut nl, &a.host_ifname)?;
        nl.set_hairpin(index)
            .map_err(failed("set hairpin on", &a.host_ifname))?;
        // A socket keeps the namespace it was made in: open one inside.
        ns.run(|| configure_inside(a))?
    })();
    if configured.is_err() {
        let _ = nl.delete_link(&a.host_ifname);
    }
    configured
}

/// Inside the container's namespace: the container end (already named, with
/// its MAC) up, its address and the default route.
fn configure_inside(a: &Attachment) -> Result<(), LinkError> {
    let mut nl = open()?;
    let index = index_of(&mut nl, &a.ifname)?;
    nl.set_up(index, None)
        .map_err(failed("bring up", &a.ifname))?;
    nl.add_address(index, a.address, a.prefix_len)
        .map_err(|source| LinkError::Netlink {
            op: "address",
            name: a.ifname.clone(),
            source,
        })?;
    if let Some(gateway) = a.gateway {
        nl.add_default_route(index, gateway)
            .map_err(|source| LinkError::Netlink {
                op: "add the default route on",
                name: a.ifname.clone(),
                source,
            })?;
    }
    Ok(())
}

/// Removes a container's link by its host end (the peer goes with it); a
/// missing link is fine.
pub fn detach(host_ifname: &str) -> Result<(), LinkError> {
    super::delete_link(host_ifname)
}
