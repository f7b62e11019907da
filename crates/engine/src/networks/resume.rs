//! A daemon that starts again finds its running containers connected
//! (their namespaces, veth pairs and nftables elements outlive it) but
//! must hold their published ports and serve their DNS again; what
//! stopped or died while no daemon ran is undone.

use std::collections::BTreeSet;
use std::sync::Arc;

use wharf_net::netns::NetNs;
use wharf_net::ports::PortSpec;

use super::kernel::Live;
use crate::lifecycle::is_running;
use crate::model::Container;
use crate::registry::blocking;
use crate::Engine;

impl Engine {
    /// After live restore: takes the running containers' networks up
    /// again and undoes the rest.
    pub(crate) async fn resume_networks(self: &Arc<Self>) {
        let mut running = BTreeSet::new();
        for entry in self.inner.all() {
            let c = entry.get();
            if is_running(c.state.status) && entry.rec().shim_live {
                running.insert(c.id.clone());
                if !c.network.sandbox_key.as_os_str().is_empty() {
                    blocking(|| self.resume_one(&c));
                }
            } else if !c.network.endpoints.is_empty() || !c.network.ports.is_empty() {
                self.network_down_entry(&entry);
            }
        }
        blocking(|| self.sweep_networks(&running));
    }

    /// Holds the ports of `c` and serves its DNS again.
    fn resume_one(self: &Arc<Self>, c: &Container) {
        let mut live = Live::default();
        let range = super::publish::port_range();
        for m in &c.network.ports {
            let Ok(proto) = m.proto.parse() else {
                continue;
            };
            let spec = PortSpec {
                proto,
                host_ip: super::publish::host_ip_of(m),
                host_port: m.host_port,
                container_port: m.container_port,
            };
            match wharf_net::ports::reserve(&spec, range) {
                Ok((_, r)) => live.ports.push(r),
                Err(e) => eprintln!(
                    "wharf: failed to hold port {} of {} again: {e}",
                    m.host_port, c.id
                ),
            }
        }
        let rules = self.recorded_rules(&c.network);
        if !rules.is_empty() {
            if let Err(e) = self.net.firewall().and_then(|f| {
                f.publish_all(&rules)
                    .map_err(|e| crate::EngineError::system("failed to publish again", e))
            }) {
                eprintln!("wharf: the ports of {}: {}", c.id, e.full_message());
            }
        }
        let dns = c
            .network
            .endpoints
            .values()
            .any(|ep| !ep.dns_names.is_empty());
        if dns {
            match NetNs::open(&c.network.sandbox_key) {
                Ok(ns) => match self.start_dns(c, &ns, &c.network.endpoints) {
                    Ok(s) => live.dns = Some(s),
                    Err(e) => eprintln!("wharf: {}", e.full_message()),
                },
                Err(e) => eprintln!(
                    "wharf: failed to open the network namespace of {}: {e}",
                    c.id
                ),
            }
        }
        self.net
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(c.id.clone(), live);
    }

    /// Frees the addresses and namespace files no running container holds.
    fn sweep_networks(&self, running: &BTreeSet<String>) {
        match self.net.store.holders() {
            Ok(holders) => {
                for id in holders.difference(running) {
                    let _ = self.net.store.release(id, None);
                }
            }
            Err(e) => eprintln!("wharf: failed to list the address holders: {e}"),
        }
        let dir = self.netns_dir();
        let Ok(files) = std::fs::read_dir(&dir) else {
            return;
        };
        let shorts: BTreeSet<&str> = running
            .iter()
            .map(|id| &id[..id.len().min(crate::lifecycle::SHORT_ID)])
            .collect();
        for f in files.flatten() {
            let name = f.file_name();
            if !shorts.contains(name.to_string_lossy().as_ref()) {
                let _ = NetNs::remove(&f.path());
            }
        }
    }
}
