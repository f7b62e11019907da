//! Container networking below the engine: network namespaces kept as
//! files, links, addresses and routes over rtnetlink (bridge, veth), IPv4
//! address management, host port reservation, the nftables rules of
//! outbound NAT, isolation and published ports, and the embedded DNS
//! server of user-defined networks.
//!
//! It knows nothing of Docker's JSON shapes or of the engine's records:
//! the engine decides which container gets which address and port, keeps
//! that in its database, and calls this crate to make the kernel agree.
#![forbid(unsafe_code)]

pub mod dns;
pub mod firewall;
pub mod ipam;
pub mod link;
pub mod netns;
pub mod ports;
