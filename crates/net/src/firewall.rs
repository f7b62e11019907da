//! The daemon's nftables rules: outbound NAT of bridge networks, their
//! isolation from each other, internal networks, and published ports
//! (DNAT from the host's addresses, 127.0.0.1 included, to a container).
//!
//! Everything lives in one table, `ip <name>`, of the calling thread's
//! network namespace; every change is one `nft -f -` run, which nft
//! applies as one atomic transaction. The rules are fixed; networks and
//! published ports are elements of sets and maps ([`rules`] says which and
//! why), so publishing a port is one element added, and reopening the
//! table after a daemon restart keeps every live container's elements.
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

pub mod rules;

use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::ipam::Ipv4Net;
use crate::ports::Proto;

/// Errors of the nftables rules.
#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    /// No `nft` executable in `PATH`, `/usr/sbin` or `/sbin`.
    #[error(
        "nft not found: the nftables rules of networks need the nft command (package nftables)"
    )]
    NftMissing,
    /// `nft` could not be run.
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
    /// A table name nft cannot take unquoted.
    #[error("invalid nftables table name {name:?}")]
    InvalidTable {
        /// The name.
        name: String,
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

/// What `nft` wrote on its standard error when it refused a batch.
#[derive(Debug, thiserror::Error)]
#[error("{stderr}")]
pub struct NftError {
    /// nft's message, trimmed.
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

/// The daemon's table, opened.
#[derive(Debug, Clone)]
pub struct Firewall {
    table: String,
    nft: PathBuf,
}

impl Firewall {
    /// Creates the table, its sets, maps and chains where missing and
    /// writes its rules afresh, keeping every element (networks and
    /// published ports of a daemon that ran before).
    pub fn open(table: &str) -> Result<Firewall, FirewallError> {
        rules::check_table(table)?;
        let fw = Firewall {
            table: table.to_string(),
            nft: nft_path().ok_or(FirewallError::NftMissing)?,
        };
        fw.run("set up the rules", &rules::open_batch(table))?;
        Ok(fw)
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Adds a network's elements (idempotent).
    pub fn add_network(&self, n: &NetRules) -> Result<(), FirewallError> {
        rules::check_ifname(&n.bridge)?;
        let add = rules::element_lines("add", &self.table, &rules::network_elements(n, false));
        self.run("add a network", &add)
    }

    /// Removes a network's elements; missing ones are fine.
    pub fn remove_network(&self, n: &NetRules) -> Result<(), FirewallError> {
        rules::check_ifname(&n.bridge)?;
        let all = rules::network_elements(n, true);
        // `delete` of a missing element fails the whole batch, so each is
        // added first (a no-op when present), then deleted.
        let mut batch = rules::element_lines("add", &self.table, &all);
        batch.push_str(&rules::element_lines("delete", &self.table, &all));
        self.run("remove a network", &batch)
    }

    /// Maps a host port to a container's; an element left for the same
    /// host port by a container that is gone is replaced.
    pub fn publish(&self, p: &Published) -> Result<(), FirewallError> {
        rules::check_ifname(&p.bridge)?;
        let (map, element, key) = rules::port_element(p);
        let add = rules::element_lines("add", &self.table, &[(map, element.clone())]);
        match self.run("publish a port", &add) {
            Err(e) if exists(&e) => {
                let mut batch = rules::element_lines("delete", &self.table, &[(map, key)]);
                batch.push_str(&add);
                self.run("publish a port", &batch)
            }
            r => r,
        }
    }

    /// Removes a published port; a missing element, or the host port now
    /// mapped to another container, is fine (nothing of this one is left).
    pub fn unpublish(&self, p: &Published) -> Result<(), FirewallError> {
        let one = port_elements(std::slice::from_ref(p))?;
        let mut batch = rules::element_lines("add", &self.table, &one);
        batch.push_str(&rules::element_lines("delete", &self.table, &one));
        match self.run("unpublish a port", &batch) {
            Err(e) if exists(&e) => Ok(()),
            r => r,
        }
    }

    /// [`Firewall::publish`] for several ports (a container's) in one nft
    /// run; when one host port was left to a container that is gone, the
    /// ports are published one by one instead.
    pub fn publish_all(&self, ps: &[Published]) -> Result<(), FirewallError> {
        let batch = rules::element_lines("add", &self.table, &port_elements(ps)?);
        match self.run("publish ports", &batch) {
            Err(e) if exists(&e) => ps.iter().try_for_each(|p| self.publish(p)),
            r => r,
        }
    }

    /// [`Firewall::unpublish`] for several ports in one nft run (one by
    /// one when a host port is now another container's).
    pub fn unpublish_all(&self, ps: &[Published]) -> Result<(), FirewallError> {
        let elements = port_elements(ps)?;
        let mut batch = rules::element_lines("add", &self.table, &elements);
        batch.push_str(&rules::element_lines("delete", &self.table, &elements));
        match self.run("unpublish ports", &batch) {
            Err(e) if exists(&e) => ps.iter().try_for_each(|p| self.unpublish(p)),
            r => r,
        }
    }

    /// Deletes the table with everything in it.
    pub fn destroy(self) -> Result<(), FirewallError> {
        self.run("delete the table", &rules::destroy_batch(&self.table))
    }

    /// Deletes table `ip <table>` if it exists.
    pub fn destroy_table(table: &str) -> Result<(), FirewallError> {
        rules::check_table(table)?;
        let fw = Firewall {
            table: table.to_string(),
            nft: nft_path().ok_or(FirewallError::NftMissing)?,
        };
        fw.destroy()
    }

    /// Feeds `batch` to `nft -f -` (in the calling thread's network
    /// namespace: the child inherits the namespaces of the thread that
    /// forks it).
    fn run(&self, action: &'static str, batch: &str) -> Result<(), FirewallError> {
        if batch.is_empty() {
            return Ok(());
        }
        let out =
            nft_batch(&self.nft, &["-f", "-"], batch).map_err(|source| FirewallError::Spawn {
                path: self.nft.clone(),
                source,
            })?;
        if out.status.success() {
            return Ok(());
        }
        Err(FirewallError::Nft {
            action,
            table: self.table.clone(),
            source: NftError {
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            },
        })
    }
}

/// Runs `nft args…` with `batch` on its standard input.
fn nft_batch(nft: &Path, args: &[&str], batch: &str) -> io::Result<Output> {
    let mut child = Command::new(nft)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let written = child
        .stdin
        .take()
        .map(|mut s| s.write_all(batch.as_bytes()));
    let out = child.wait_with_output()?;
    // A write error matters only if nft then says it succeeded.
    match written {
        Some(Err(e)) if out.status.success() => Err(e),
        _ => Ok(out),
    }
}

/// The `(map, key : value)` of each port, bridges checked.
fn port_elements(ps: &[Published]) -> Result<Vec<(&'static str, String)>, FirewallError> {
    ps.iter()
        .map(|p| {
            rules::check_ifname(&p.bridge)?;
            let (map, element, _) = rules::port_element(p);
            Ok((map, element))
        })
        .collect()
}

/// True when nft refused an element because its key is there with
/// another value (`EEXIST`, "File exists").
fn exists(e: &FirewallError) -> bool {
    matches!(e, FirewallError::Nft { source, .. } if source.stderr.contains("File exists"))
}

/// The `nft` executable: `PATH` first, then the sbin directories a
/// daemon's `PATH` may lack.
pub fn nft_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from));
    find_nft(dirs)
}

/// The first executable `nft` in `dirs`.
fn find_nft(mut dirs: impl Iterator<Item = PathBuf>) -> Option<PathBuf> {
    dirs.find_map(|d| Some(d.join("nft")).filter(|p| is_executable(p)))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
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
