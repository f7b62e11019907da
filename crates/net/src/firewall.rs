//! The daemon's packet filter rules: outbound NAT of bridge networks, their
//! isolation from each other, internal networks, and published ports
//! (DNAT from the host's addresses, 127.0.0.1 included, to a container).
//!
//! Two backends give the same rules behind one [`Firewall`]:
//! - nftables: one table, `ip <name>`, of the calling thread's
//!   network namespace; every change is one `nft -f -` run, which nft
//!   applies as one atomic transaction. The rules are fixed; networks and
//!   published ports are elements of sets and maps ([`rules`] says which
//!   and why), so publishing a port is one element added, and reopening
//!   the table after a daemon restart keeps every live container's
//!   elements.
//! - iptables (for hosts without `nft`): chains named after
//!   the table in the nat and filter tables ([`iptables`] says which and
//!   why), with one rule per network and per published port; every change
//!   is one `iptables-save` read and one `iptables-restore --noflush` run
//!   (atomic per table).
//!
//! [`Firewall::open`] picks nftables when `nft` is found, else iptables;
//! `WHARF_FIREWALL=nftables|iptables|iptables-legacy` forces one.
//!
//! Two sysctls are the caller's: `net.ipv4.ip_forward=1` for anything to
//! cross the host ([`enable_forwarding`]), and `route_localnet=1` on each
//! bridge for 127.0.0.1 to reach a container (`link::ensure_bridge` sets
//! it). `icc: false` relies on br_netfilter passing bridged traffic to
//! the ip hooks (`net.bridge.bridge-nf-call-iptables=1`), as Docker's
//! does. With br_netfilter, a container's packet to its own published
//! port is DNATed on the bridge's path and leaves by the port it came in
//! by, so the veth needs hairpin mode on the bridge (`link::attach` sets
//! it).

mod backend;
pub mod iptables;
mod nft;
pub mod rules;
mod xtables;

use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use backend::find_tool;
pub use backend::{nft_path, Backend};

use crate::ipam::Ipv4Net;
use crate::ports::Proto;

/// Errors of the firewall rules.
#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    /// No `nft` executable in `PATH`, `/usr/sbin` or `/sbin`.
    #[error(
        "nft not found: the nftables rules of networks need the nft command (package nftables)"
    )]
    NftMissing,
    /// No `iptables-restore` (or `iptables-save`) executable.
    #[error("{command} not found: the iptables rules of networks need it (package iptables)")]
    IptablesMissing {
        /// The command looked for.
        command: &'static str,
    },
    /// Neither backend's command.
    #[error(
        "neither nft nor iptables-restore found: the rules of networks need nftables or iptables"
    )]
    NoFirewall,
    /// `WHARF_FIREWALL` names no backend.
    #[error(
        "invalid WHARF_FIREWALL value {value:?}: expected nftables, iptables or iptables-legacy"
    )]
    InvalidBackend {
        /// The value.
        value: String,
    },
    /// A command could not be run.
    #[error("failed to run {}", path.display())]
    Spawn {
        /// The executable.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// `nft` refused the batch.
    #[error("failed to {action} in nftables table ip {table}")]
    Nft {
        /// What the batch was for.
        action: &'static str,
        /// The table.
        table: String,
        /// What nft said.
        #[source]
        source: NftError,
    },
    /// `iptables-save` or `iptables-restore` failed.
    #[error("failed to {action} in the iptables chains of {table}")]
    Iptables {
        /// What the run was for.
        action: &'static str,
        /// The table name the chains are named after.
        table: String,
        /// What the command said.
        #[source]
        source: NftError,
    },
    /// A table name nft cannot take unquoted.
    #[error("invalid nftables table name {name:?}")]
    InvalidTable {
        /// The name.
        name: String,
    },
    /// A table name too long for the iptables chains named after it.
    #[error("table name {name:?} too long for iptables chain names (at most {max} characters)")]
    TableTooLong {
        /// The name.
        name: String,
        /// The longest name allowed.
        max: usize,
    },
    /// Not an interface name.
    #[error("invalid interface name {name:?}")]
    InvalidIfname {
        /// The name.
        name: String,
    },
    /// Writing `/proc/sys/net/ipv4/ip_forward` failed.
    #[error("failed to enable IPv4 forwarding")]
    Forwarding(#[source] io::Error),
}

/// What a firewall command (`nft`, `iptables-restore`) wrote on its
/// standard error when it refused a change.
#[derive(Debug, thiserror::Error)]
#[error("{stderr}")]
pub struct NftError {
    /// The command's message, trimmed.
    pub stderr: String,
}

/// The rules of one bridge network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetRules {
    /// Its bridge device.
    pub bridge: String,
    /// Its subnet.
    pub subnet: Ipv4Net,
    /// Internal: no traffic leaves or enters the bridge (no NAT either).
    pub internal: bool,
    /// Inter-container traffic on the bridge allowed.
    pub icc: bool,
}

/// One published port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Protocol.
    pub proto: Proto,
    /// Host address; `None` (or 0.0.0.0) = every address of the host.
    pub host_ip: Option<Ipv4Addr>,
    /// Host port (already reserved, see [`crate::ports::reserve`]).
    pub host_port: u16,
    /// The container's address.
    pub container_ip: Ipv4Addr,
    /// The port inside the container.
    pub container_port: u16,
    /// The container's bridge (checked; the rules find it by address).
    pub bridge: String,
}

impl Published {
    /// The one host address the port is published on; `None` for every
    /// address (`host_ip` unset or 0.0.0.0).
    pub fn host_addr(&self) -> Option<Ipv4Addr> {
        self.host_ip.filter(|ip| *ip != Ipv4Addr::UNSPECIFIED)
    }
}

/// The daemon's rules, opened.
#[derive(Debug, Clone)]
pub struct Firewall {
    inner: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    Nft(nft::Nft),
    Iptables(xtables::Xtables),
}

/// Calls the same method on whichever backend.
macro_rules! each {
    ($fw:expr, $b:ident => $call:expr) => {
        match &$fw.inner {
            Inner::Nft($b) => $call,
            Inner::Iptables($b) => $call,
        }
    };
}

impl Firewall {
    /// [`Firewall::open_with`] the backend of [`Backend::detect`].
    pub fn open(table: &str) -> Result<Firewall, FirewallError> {
        rules::check_table(table)?;
        Firewall::open_with(table, Backend::detect()?)
    }

    /// Creates the table (or chains) where missing and writes the fixed
    /// rules afresh, keeping every network and published port of a daemon
    /// that ran before.
    pub fn open_with(table: &str, backend: Backend) -> Result<Firewall, FirewallError> {
        let fw = Firewall::new(table, backend)?;
        each!(fw, b => b.open())?;
        Ok(fw)
    }

    /// The backend's handle, names checked, nothing run.
    fn new(table: &str, backend: Backend) -> Result<Firewall, FirewallError> {
        rules::check_table(table)?;
        let inner = match backend {
            Backend::Nftables => Inner::Nft(nft::Nft::new(table)?),
            Backend::Iptables => Inner::Iptables(xtables::Xtables::new(table, false)?),
            Backend::IptablesLegacy => Inner::Iptables(xtables::Xtables::new(table, true)?),
        };
        Ok(Firewall { inner })
    }

    /// The table's name (iptables: the prefix of the chains).
    pub fn table(&self) -> &str {
        each!(self, b => b.table())
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        match &self.inner {
            Inner::Nft(_) => Backend::Nftables,
            Inner::Iptables(x) if x.legacy() => Backend::IptablesLegacy,
            Inner::Iptables(_) => Backend::Iptables,
        }
    }

    /// Adds a network's rules (idempotent).
    pub fn add_network(&self, n: &NetRules) -> Result<(), FirewallError> {
        rules::check_ifname(&n.bridge)?;
        each!(self, b => b.add_network(n))
    }

    /// Removes a network's rules; missing ones are fine.
    pub fn remove_network(&self, n: &NetRules) -> Result<(), FirewallError> {
        rules::check_ifname(&n.bridge)?;
        each!(self, b => b.remove_network(n))
    }

    /// Maps a host port to a container's; a mapping left for the same
    /// host port by a container that is gone is replaced.
    pub fn publish(&self, p: &Published) -> Result<(), FirewallError> {
        self.publish_all(std::slice::from_ref(p))
    }

    /// Removes a published port; a missing mapping, or the host port now
    /// mapped to another container, is fine (nothing of this one is left).
    pub fn unpublish(&self, p: &Published) -> Result<(), FirewallError> {
        self.unpublish_all(std::slice::from_ref(p))
    }

    /// [`Firewall::publish`] for several ports (a container's) in one run
    /// (nftables: one by one when a host port was left to a container
    /// that is gone).
    pub fn publish_all(&self, ps: &[Published]) -> Result<(), FirewallError> {
        check_bridges(ps)?;
        each!(self, b => b.publish_all(ps))
    }

    /// [`Firewall::unpublish`] for several ports in one run.
    pub fn unpublish_all(&self, ps: &[Published]) -> Result<(), FirewallError> {
        check_bridges(ps)?;
        each!(self, b => b.unpublish_all(ps))
    }

    /// Deletes the table (or chains) with everything in it.
    pub fn destroy(self) -> Result<(), FirewallError> {
        each!(self, b => b.destroy())
    }

    /// Deletes the table (or chains) `table` of the backend of
    /// [`Backend::detect`] if it exists.
    pub fn destroy_table(table: &str) -> Result<(), FirewallError> {
        Firewall::destroy_table_with(table, Backend::detect()?)
    }

    /// Deletes the table (or chains) `table` of `backend` if it exists.
    pub fn destroy_table_with(table: &str, backend: Backend) -> Result<(), FirewallError> {
        Firewall::new(table, backend)?.destroy()
    }
}

fn check_bridges(ps: &[Published]) -> Result<(), FirewallError> {
    ps.iter().try_for_each(|p| rules::check_ifname(&p.bridge))
}

/// Runs `cmd args…` with `input` on its standard input (in the calling
/// thread's network namespace: the child inherits the namespaces of the
/// thread that forks it); stdout is kept.
fn run_with_input(cmd: &Path, args: &[&str], input: &str) -> io::Result<Output> {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let written = child
        .stdin
        .take()
        .map(|mut s| s.write_all(input.as_bytes()));
    let out = child.wait_with_output()?;
    // A write error matters only if the command then says it succeeded.
    match written {
        Some(Err(e)) if out.status.success() => Err(e),
        _ => Ok(out),
    }
}

/// A command's standard error, trimmed.
fn stderr_of(out: &Output) -> NftError {
    NftError {
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    }
}

/// Sets `net.ipv4.ip_forward=1` in the calling thread's network namespace
/// (without it nothing is routed between the bridges and the outside; see
/// ip-sysctl.rst). Docker does the same at start.
pub fn enable_forwarding() -> Result<(), FirewallError> {
    const FILE: &str = "/proc/sys/net/ipv4/ip_forward";
    if std::fs::read_to_string(FILE).is_ok_and(|v| v.trim() == "1") {
        return Ok(());
    }
    std::fs::write(FILE, "1").map_err(FirewallError::Forwarding)
}

#[cfg(test)]
mod tests;
