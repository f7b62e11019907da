//! A synchronous rtnetlink socket: one request at a time, each sent with
//! `NLM_F_ACK` and answered until its acknowledgement, `NLMSG_DONE` or error
//! (`netlink(7)`, `rtnetlink(7)`).
//!
//! A netlink socket belongs to the network namespace of the thread that made
//! it, for its whole life: open it on a thread inside the namespace to work
//! there.

use std::io;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_REQUEST,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::protocols::NETLINK_ROUTE;
use netlink_sys::{Socket, SocketAddr};

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
}
