//! The names a container's DNS server answers: the names, aliases and
//! short ids of the running containers that share a user-defined network
//! with the asker, as Docker's embedded DNS answers them. A name on a
//! network the asker is not on is not ours to answer, so it is forwarded
//! like any other name (and the host's servers do not know it).

use std::net::Ipv4Addr;
use std::sync::{Arc, Weak};

use crate::lifecycle::is_running;
use crate::model::Container;
use crate::Engine;

/// What one query may see.
struct Scope {
    /// The (id, name) of the asker's user-defined networks.
    nets: Vec<(String, String)>,
    /// Every running container.
    all: Vec<Container>,
    /// The asker's links (`target:alias`): names only it resolves.
    links: Vec<String>,
}

/// [`wharf_net::dns::Names`] over the engine's containers.
pub(crate) struct EngineNames {
    engine: Weak<Engine>,
}

impl EngineNames {
    pub(crate) fn new(engine: &Arc<Engine>) -> EngineNames {
        EngineNames {
            engine: Arc::downgrade(engine),
        }
    }

    /// The asker's user-defined networks and every running container.
    fn scope(&self, asker: &str) -> Option<Scope> {
        let engine = self.engine.upgrade()?;
        let me = engine.entry(asker).ok()?.get();
        let nets: Vec<(String, String)> = me
            .network
            .endpoints
            .iter()
            .filter(|(_, ep)| !ep.dns_names.is_empty())
            .map(|(name, ep)| (ep.network_id.clone(), name.clone()))
            .collect();
        if nets.is_empty() {
            return None;
        }
        let all = engine
            .inner
            .all()
            .into_iter()
            .map(|e| e.get())
            .filter(|c| is_running(c.state.status))
            .collect();
        Some(Scope {
            nets,
            all,
            links: me.options.host.links,
        })
    }
}

impl wharf_net::dns::Names for EngineNames {
    fn lookup(&self, asker: &str, name: &str) -> Option<Vec<Ipv4Addr>> {
        let Scope { nets, all, links } = self.scope(asker)?;
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let name = super::links::link_target(&links, &name)
            .map(|t| t.to_ascii_lowercase())
            .unwrap_or(name);
        let mut out = Vec::new();
        for (net_id, net_name) in &nets {
            // `web` or `web.<network>`.
            let bare = name
                .strip_suffix(&format!(".{}", net_name.to_ascii_lowercase()))
                .unwrap_or(&name);
            for c in &all {
                for ep in c.network.endpoints.values() {
                    if &ep.network_id != net_id
                        || !ep.dns_names.iter().any(|n| n.eq_ignore_ascii_case(bare))
                    {
                        continue;
                    }
                    if let Ok(ip) = ep.ip_address.parse::<Ipv4Addr>() {
                        if !out.contains(&ip) {
                            out.push(ip);
                        }
                    }
                }
            }
        }
        (!out.is_empty()).then_some(out)
    }

    fn reverse(&self, asker: &str, ip: Ipv4Addr) -> Option<String> {
        let Scope { nets, all, .. } = self.scope(asker)?;
        let ip = ip.to_string();
        for (net_id, net_name) in &nets {
            for c in &all {
                for ep in c.network.endpoints.values() {
                    if &ep.network_id == net_id && ep.ip_address == ip {
                        return Some(format!("{}.{net_name}", c.name));
                    }
                }
            }
        }
        None
    }
}
