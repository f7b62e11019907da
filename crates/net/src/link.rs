//! Links, addresses and routes over rtnetlink, synchronously: the bridge of
//! a network, and the veth pair that joins a container's namespace to it.
//!
//! Every function works in the network namespace of the calling thread
//! (run it inside [`NetNs::run`](crate::netns::NetNs::run) to work elsewhere).

mod rtnl;

use std::io;

/// Brings `lo` up in the calling thread's namespace (index 1 in every
/// network namespace).
pub(crate) fn loopback_up() -> io::Result<()> {
    rtnl::Rtnl::open()?.set_up(1, None)
}
