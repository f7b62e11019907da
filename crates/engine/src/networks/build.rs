//! The network of a build's `RUN` steps. Docker's classic builder runs
//! each step in a container on the default `bridge` network; Wharf's
//! builder runs its steps outside the engine, so the daemon sets up one
//! sandbox for the whole build before it starts the builder: a network
//! namespace file, a veth pair on the default bridge with an address
//! (held under the pseudo-container id `build-<id>`, outbound traffic
//! masqueraded by the bridge's rules) and the resolv.conf a container on
//! the default bridge gets. Every step joins the namespace by path. The
//! sandbox goes when the build ends; one a dead daemon left is swept at
//! the next start like a dead container's (an address holder and a
//! namespace file that no running container owns).

use std::net::Ipv4Addr;
use std::path::PathBuf;

use wharf_net::link;
use wharf_net::netns::NetNs;

use crate::error::{EngineError, Result};
use crate::model::{Container, EndpointOptions};
use crate::Engine;

/// The sandbox a build's steps share on the default bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildNetwork {
    /// `build-<id>`: the holder of the address, and the namespace file's name.
    pub holder: String,
    /// The network namespace file the steps join.
    pub netns: PathBuf,
    /// The steps' address on the default bridge.
    pub address: Ipv4Addr,
    /// The prefix length of the bridge's subnet.
    pub prefix_len: u8,
    /// The default route's gateway (the bridge's address).
    pub gateway: Option<Ipv4Addr>,
    /// The steps' `/etc/resolv.conf`: the host's without loopback name
    /// servers, as a container on the default bridge gets it.
    pub resolv_conf: String,
    /// The host end of the veth pair.
    host_ifname: String,
}

impl Engine {
    /// Sets up the sandbox of build `build_id` (letters, digits and `-`)
    /// on the default bridge; None when the daemon has no default bridge
    /// (its steps then get only loopback, as containers do). Blocking: call
    /// it from a blocking thread. On failure nothing of it is left.
    pub fn build_network_up(&self, build_id: &str) -> Result<Option<BuildNetwork>> {
        if build_id.is_empty()
            || !build_id
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        {
            return Err(EngineError::invalid(format!(
                "invalid build id {build_id:?}"
            )));
        }
        if !self.default_bridge() {
            return Ok(None);
        }
        let n = self.network("bridge")?;
        let holder = format!("build-{build_id}");
        let path = self.netns_dir().join(&holder);
        let ns = NetNs::create(&path).map_err(|e| {
            EngineError::system(
                format!("failed to create the network namespace of {holder}"),
                e,
            )
        })?;
        // A pseudo-container: the endpoint code needs only its id and name.
        let pseudo = Container {
            id: holder.clone(),
            name: holder.clone(),
            ..Container::default()
        };
        let ep = match self.endpoint_up(&pseudo, &ns, &n, &EndpointOptions::default(), 0, true) {
            Ok(ep) => ep,
            Err(e) => {
                let _ = NetNs::remove(&path);
                return Err(e);
            }
        };
        let mut b = BuildNetwork {
            holder,
            netns: path,
            address: ep.ip_address.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
            prefix_len: ep.prefix_len,
            gateway: ep.gateway.parse().ok(),
            resolv_conf: String::new(),
            host_ifname: ep.host_ifname,
        };
        // What a container on the default bridge gets: the host's file
        // without its loopback name servers.
        b.resolv_conf = crate::spec::resolv_conf(&crate::model::HostOptions::default());
        Ok(Some(b))
    }

    /// Removes what [`Engine::build_network_up`] set up: the veth pair
    /// (before it returns), the address and the namespace file. Failures
    /// are logged; the rest is still undone. Blocking.
    pub fn build_network_down(&self, b: &BuildNetwork) {
        if let Err(e) = link::detach(&b.host_ifname) {
            eprintln!(
                "wharf: failed to delete {} of {}: {e}",
                b.host_ifname, b.holder
            );
        }
        if let Err(e) = self.net.store.release(&b.holder, None) {
            eprintln!("wharf: failed to release the address of {}: {e}", b.holder);
        }
        if let Err(e) = NetNs::remove(&b.netns) {
            eprintln!(
                "wharf: failed to remove the network namespace {}: {e}",
                b.netns.display()
            );
        }
    }
}
