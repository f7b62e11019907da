//! A synchronous rtnetlink socket: one request at a time, each sent with
//! `NLM_F_ACK` and answered until its acknowledgement, `NLMSG_DONE` or error
//! (`netlink(7)`, `rtnetlink(7)`).
//!
//! A netlink socket belongs to the network namespace of the thread that made
//! it, for its whole life: open it on a thread inside the namespace to work
//! there.

use std::io;
use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{
    DefaultNla, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP,
    NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, LinkProtoInfoBridge};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::protocols::NETLINK_ROUTE;
use netlink_sys::{Socket, SocketAddr};

use crate::ipam::Ipv4Net;

/// Room for one datagram: the kernel's dump messages stay below 32 KiB.
const RECV_BUF: usize = 64 * 1024;

/// An rtnetlink socket in the namespace of the thread that opened it.
pub(crate) struct Rtnl {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl Rtnl {
    /// Opens a route netlink socket, bound to a port the kernel picks and
    /// connected to the kernel.
    pub(crate) fn open() -> io::Result<Rtnl> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(Rtnl {
            socket,
            seq: 0,
            buf: Vec::with_capacity(RECV_BUF),
        })
    }

    /// Sends `msg` with `NLM_F_REQUEST | NLM_F_ACK | flags` and returns the
    /// messages that answered it (none for a plain change); a negative
    /// acknowledgement becomes its errno.
    pub(crate) fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        packet.finalize();
        let mut bytes = vec![0; packet.buffer_len()];
        packet.serialize(&mut bytes);
        self.socket.send(&bytes, 0)?;
        self.answers()
    }

    /// Reads datagrams until the answer to the current request ends.
    fn answers(&mut self) -> io::Result<Vec<RouteNetlinkMessage>> {
        let mut out = Vec::new();
        loop {
            self.buf.clear();
            self.socket.recv(&mut self.buf, 0)?;
            let mut rest = &self.buf[..];
            while !rest.is_empty() {
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(rest)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                // Messages are padded to 4 bytes (NLMSG_ALIGN).
                let len = (msg.header.length as usize).div_ceil(4) * 4;
                rest = rest.get(len.max(1)..).unwrap_or_default();
                if msg.header.sequence_number != self.seq {
                    continue;
                }
                match msg.payload {
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) if e.code.is_none() => return Ok(out),
                    NetlinkPayload::Error(e) => return Err(e.to_io()),
                    NetlinkPayload::InnerMessage(m) => out.push(m),
                    _ => {}
                }
            }
        }
    }

    /// Sets `IFF_UP` on the link with index `index` (and its MTU when given).
    pub(crate) fn set_up(&mut self, index: u32, mtu: Option<u32>) -> io::Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        msg.attributes.extend(mtu.map(LinkAttribute::Mtu));
        self.request(RouteNetlinkMessage::SetLink(msg), 0).map(drop)
    }

    /// The link named `name`, or `None` when there is none (`ENODEV`).
    pub(crate) fn link(&mut self, name: &str) -> io::Result<Option<LinkMessage>> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        match self.request(RouteNetlinkMessage::GetLink(msg), 0) {
            Ok(answers) => Ok(answers.into_iter().find_map(|m| match m {
                RouteNetlinkMessage::NewLink(link) => Some(link),
                _ => None,
            })),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The IPv4 addresses of the link `index`, with their prefix lengths.
    pub(crate) fn addresses(&mut self, index: u32) -> io::Result<Vec<(Ipv4Addr, u8)>> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        let answers = self.request(RouteNetlinkMessage::GetAddress(msg), NLM_F_DUMP)?;
        Ok(answers
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) if a.header.index == index => Some(a),
                _ => None,
            })
            .flat_map(|a| {
                let prefix = a.header.prefix_len;
                a.attributes.into_iter().filter_map(move |attr| match attr {
                    AddressAttribute::Local(IpAddr::V4(ip)) => Some((ip, prefix)),
                    _ => None,
                })
            })
            .collect())
    }

    /// Adds `address/prefix` to the link `index` (with its broadcast address
    /// when the subnet has one, as `ip addr add … brd +` does).
    pub(crate) fn add_address(
        &mut self,
        index: u32,
        address: Ipv4Addr,
        prefix: u8,
    ) -> io::Result<()> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        msg.header.prefix_len = prefix;
        msg.header.index = index;
        msg.attributes.push(AddressAttribute::Local(address.into()));
        msg.attributes
            .push(AddressAttribute::Address(address.into()));
        if let Some(net) = Ipv4Net::new(address, prefix).filter(|_| prefix < 31) {
            msg.attributes
                .push(AddressAttribute::Broadcast(net.broadcast()));
        }
        self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
    }

    /// Adds the default route of the main table via `gateway` on link `index`.
    pub(crate) fn add_default_route(&mut self, index: u32, gateway: Ipv4Addr) -> io::Result<()> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet;
        msg.header.table = RouteHeader::RT_TABLE_MAIN;
        msg.header.protocol = RouteProtocol::Boot;
        msg.header.scope = RouteScope::Universe;
        msg.header.kind = RouteType::Unicast;
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
        msg.attributes.push(RouteAttribute::Oif(index));
        self.request(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
    }

    /// Creates the link `msg` describes (`NLM_F_CREATE | NLM_F_EXCL`).
    pub(crate) fn create_link(&mut self, msg: LinkMessage) -> io::Result<()> {
        self.request(RouteNetlinkMessage::NewLink(msg), NLM_F_CREATE | NLM_F_EXCL)
            .map(drop)
    }

    /// Deletes the link named `name` (a veth takes its peer along).
    pub(crate) fn delete_link(&mut self, name: &str) -> io::Result<()> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        self.request(RouteNetlinkMessage::DelLink(msg), 0).map(drop)
    }

    /// Turns hairpin mode on for the bridge port `index`, so that a frame
    /// may leave by the port it came in (a container reaching its own
    /// published port through the host's DNAT): an `AF_BRIDGE` setlink with
    /// a nested `IFLA_PROTINFO` holding `IFLA_BRPORT_MODE` (`rtnetlink(7)`,
    /// `bridge link set … hairpin on`).
    pub(crate) fn set_hairpin(&mut self, index: u32) -> io::Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.interface_family = AddressFamily::Bridge;
        msg.header.index = index;
        msg.attributes
            .push(LinkAttribute::ProtoInfoBridge(vec![hairpin_on()]));
        self.request(RouteNetlinkMessage::SetLink(msg), 0).map(drop)
    }

    /// Whether the bridge port `index` has hairpin mode on (an `AF_BRIDGE`
    /// link dump, the only way the kernel reports port settings).
    pub(crate) fn hairpin(&mut self, index: u32) -> io::Result<bool> {
        let mut msg = LinkMessage::default();
        msg.header.interface_family = AddressFamily::Bridge;
        let answers = self.request(RouteNetlinkMessage::GetLink(msg), NLM_F_DUMP)?;
        Ok(answers.iter().any(|m| match m {
            RouteNetlinkMessage::NewLink(link) if link.header.index == index => {
                link.attributes.iter().any(|attr| match attr {
                    LinkAttribute::ProtoInfoBridge(port) => port.contains(&hairpin_on()),
                    _ => false,
                })
            }
            _ => false,
        }))
    }
}

/// `IFLA_BRPORT_MODE` = 1 (`<linux/if_link.h>`): hairpin mode on.
fn hairpin_on() -> LinkProtoInfoBridge {
    const IFLA_BRPORT_MODE: u16 = 4;
    LinkProtoInfoBridge::Other(DefaultNla::new(IFLA_BRPORT_MODE, vec![1]))
}
