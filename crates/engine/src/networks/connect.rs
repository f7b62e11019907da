//! `network connect` and `disconnect`: recorded in the container's
//! networks for its next start, and done live (a veth pair added to or
//! removed from its namespace) when it runs.

use std::sync::Arc;

use wharf_net::netns::NetNs;

use super::sandbox::has_dns;
use crate::error::{EngineError, Kind, Result};
use crate::lifecycle::is_running;
use crate::model::{EndpointOptions, Network};
use crate::registry::{blocking, Entry};
use crate::Engine;

impl Engine {
    /// Connects the container of `entry` (op lock held) to `n`.
    pub(crate) async fn connect_locked(
        self: &Arc<Self>,
        entry: &Arc<Entry>,
        n: &Network,
        opts: EndpointOptions,
    ) -> Result<()> {
        let c = entry.get();
        bridge_only(n)?;
        let mode = c.options.host.network_mode.as_str();
        if mode == "host" || mode.starts_with("container:") {
            return Err(EngineError::new(
                Kind::Forbidden,
                "container sharing network namespace with another container or host cannot be connected to any other network",
            ));
        }
        if mode == "none" {
            return Err(EngineError::new(
                Kind::Forbidden,
                "container cannot be connected to multiple networks with one of the networks in private (none) mode",
            ));
        }
        let joined = self.wanted_networks(&c)?;
        if joined.iter().any(|(x, _)| x.id == n.id) {
            return Err(EngineError::new(
                Kind::Forbidden,
                format!(
                    "endpoint with name {} already exists in network {}",
                    c.name, n.name
                ),
            ));
        }
        super::config::check_endpoint(&opts, has_dns(n))?;
        let running = is_running(c.state.status) && !c.network.sandbox_key.as_os_str().is_empty();
        let mut dns_started = false;
        let endpoint = if running {
            let ns = NetNs::open(&c.network.sandbox_key).map_err(|e| {
                EngineError::system(
                    format!("failed to open the network namespace of {}", c.id),
                    e,
                )
            })?;
            let index = next_index(&c.network.endpoints);
            let ep = blocking(|| self.endpoint_up(&c, &ns, n, &opts, index, false))?;
            let dns_needed = has_dns(n)
                && self
                    .net
                    .live
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&c.id)
                    .is_some_and(|l| l.dns.is_none());
            if dns_needed {
                let mut endpoints = c.network.endpoints.clone();
                endpoints.insert(n.name.clone(), ep.clone());
                match blocking(|| self.start_dns_for(&c, &ns, &endpoints)) {
                    Ok(()) => dns_started = true,
                    Err(e) => {
                        let _ = wharf_net::link::detach(&ep.host_ifname);
                        let _ = self.net.store.release(&c.id, Some(&n.id));
                        return Err(e);
                    }
                }
            }
            Some(ep)
        } else {
            None
        };
        let c = entry.modify(self, |r| {
            r.c.options.networks.insert(n.name.clone(), opts.clone());
            if let Some(ep) = &endpoint {
                r.c.network.endpoints.insert(n.name.clone(), ep.clone());
            }
            Ok(r.c.clone())
        })?;
        if dns_started {
            // As Docker: its first user-defined network turns the
            // container's resolv.conf to the embedded server.
            let (links, _) = self.link_parts(&c).unwrap_or_default();
            blocking(|| crate::spec::write_etc_files_with(&self.container_dir(&c.id), &c, &links))?;
        }
        self.emit_network(n, "connect", &[("container", c.id.clone())]);
        Ok(())
    }

    /// Disconnects the container of `entry` (op lock held) from `n`.
    pub(crate) async fn disconnect_locked(
        self: &Arc<Self>,
        entry: &Arc<Entry>,
        n: &Network,
    ) -> Result<()> {
        let c = entry.get();
        bridge_only(n)?;
        let joined = self.wanted_networks(&c)?;
        if !joined.iter().any(|(x, _)| x.id == n.id) {
            return Err(EngineError::new(
                Kind::Forbidden,
                format!("container {} is not connected to network {}", c.id, n.name),
            ));
        }
        let ep = c.network.endpoints.get(&n.name).cloned();
        if let Some(ep) = &ep {
            blocking(|| {
                if n.name == c.network.primary && !c.network.ports.is_empty() {
                    self.unpublish_ports(&c.id, &c.network);
                }
                let _ = wharf_net::link::detach(&ep.host_ifname);
                self.net.store.release(&c.id, Some(&n.id))
            })?;
        }
        let c = entry.modify(self, |r| {
            r.c.options.networks.remove(&n.name);
            r.c.options.networks.remove(&n.id);
            r.c.network.endpoints.remove(&n.name);
            if r.c.network.primary == n.name {
                r.c.network.ports.clear();
            }
            Ok(r.c.clone())
        })?;
        self.emit_network(n, "disconnect", &[("container", c.id.clone())]);
        Ok(())
    }

    /// Starts the DNS server of a running container that joined its
    /// first user-defined network.
    fn start_dns_for(
        self: &Arc<Self>,
        c: &crate::model::Container,
        ns: &NetNs,
        endpoints: &std::collections::BTreeMap<String, crate::model::Endpoint>,
    ) -> Result<()> {
        let server = self.start_dns(c, ns, endpoints)?;
        if let Some(l) = self
            .net
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&c.id)
        {
            l.dns = Some(server);
        }
        Ok(())
    }
}

/// Only bridge networks are connected and disconnected (Docker's words).
fn bridge_only(n: &Network) -> Result<()> {
    if n.driver == "bridge" {
        return Ok(());
    }
    Err(EngineError::new(
        Kind::Forbidden,
        "container cannot be disconnected from host network or connected to host network",
    ))
}

/// The lowest `ethN` no endpoint uses.
fn next_index(endpoints: &std::collections::BTreeMap<String, crate::model::Endpoint>) -> usize {
    (0..)
        .find(|i| !endpoints.values().any(|e| e.ifname == format!("eth{i}")))
        .unwrap_or(0)
}
