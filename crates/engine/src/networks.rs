//! Networks: the predefined `bridge`, `host` and `none`, user-defined
//! bridge networks, and a running container's attachments to them. The
//! records live in the engine's database ([`store`]); `wharf-net` makes
//! the kernel agree: a bridge device and nftables rules per network
//! ([`kernel`]), a network namespace, veth pairs, published ports and a
//! DNS server per running container ([`sandbox`]).

mod build;
mod config;
mod connect;
mod kernel;
mod links;
mod names;
mod predefined;
mod publish;
mod resume;
mod sandbox;
pub(crate) mod store;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use wharf_net::ipam::Ipv4Net;

use crate::error::{EngineError, Kind, Result};
use crate::lifecycle::is_running;
use crate::model::{Endpoint, EndpointOptions, Event, IpamPool, Network, NetworkCreate};
use crate::registry::{blocking, now_rfc3339};
use crate::Engine;

pub use build::BuildNetwork;
pub(crate) use kernel::NetState;

/// A container attached to a network (`network inspect`'s `Containers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkMember {
    /// Container id.
    pub container_id: String,
    /// Container name (without `/`).
    pub name: String,
    /// Its attachment.
    pub endpoint: Endpoint,
}

/// Docker's option naming a bridge network's device.
pub const BRIDGE_NAME_OPTION: &str = "com.docker.network.bridge.name";

/// True for the networks nobody may remove.
pub fn is_predefined(n: &Network) -> bool {
    matches!(n.name.as_str(), "bridge" | "host" | "none") && n.labels.is_empty()
}

/// The pool of a bridge network, parsed.
pub(crate) fn pool_of(n: &Network) -> Result<store::Pool> {
    let p = n
        .ipam
        .first()
        .ok_or_else(|| EngineError::invalid(format!("network {} has no address pool", n.name)))?;
    let subnet: Ipv4Net = p
        .subnet
        .parse()
        .map_err(|e| EngineError::system(format!("network {}: bad subnet", n.name), e))?;
    let range = match p.ip_range.as_str() {
        "" => None,
        r => Some(
            r.parse::<Ipv4Net>()
                .map_err(|e| EngineError::system(format!("network {}: bad range", n.name), e))?,
        ),
    };
    let gateway = p.gateway.parse::<Ipv4Addr>().ok();
    Ok(store::Pool {
        subnet,
        range,
        gateway,
    })
}

impl Engine {
    /// Every network, in creation order (the predefined ones first).
    pub fn networks(&self) -> Result<Vec<Network>> {
        Ok(self.net.store.all())
    }

    /// The network named `name_or_id` (name, full id or unique id
    /// prefix); 404 `network X not found`.
    pub fn network(&self, name_or_id: &str) -> Result<Network> {
        self.net.store.find(name_or_id)
    }

    /// The running containers attached to network `id`.
    pub fn network_members(&self, id: &str) -> Result<Vec<NetworkMember>> {
        let mut out = Vec::new();
        for e in self.inner.all() {
            let c = e.get();
            if !is_running(c.state.status) {
                continue;
            }
            for ep in c.network.endpoints.values() {
                if ep.network_id == id {
                    out.push(NetworkMember {
                        container_id: c.id.clone(),
                        name: c.name.clone(),
                        endpoint: ep.clone(),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.container_id.cmp(&b.container_id));
        Ok(out)
    }

    /// Creates a bridge network, its device and its rules; 409 when the
    /// name is taken, 403 when its subnet overlaps another network's.
    pub fn network_create(&self, opts: NetworkCreate) -> Result<Network> {
        let _guard = self.net.lock_changes();
        let n = self.plan_network(opts)?;
        blocking(|| self.net.realize(&n))?;
        if let Err(e) = self.net.store.save(&n) {
            let _ = blocking(|| self.net.unrealize(&n));
            return Err(e);
        }
        self.emit_network(&n, "create", &[]);
        Ok(n)
    }

    /// Checks a create and fills in what it left out.
    fn plan_network(&self, opts: NetworkCreate) -> Result<Network> {
        match opts.driver.as_str() {
            "" | "bridge" => {}
            "host" | "null" => {
                return Err(EngineError::new(
                    Kind::Forbidden,
                    format!(
                        "only one instance of \"{}\" network is allowed",
                        opts.driver
                    ),
                ))
            }
            d => return Err(EngineError::not_found(format!("plugin \"{d}\" not found"))),
        }
        crate::names::validate(&opts.name)
            .map_err(|_| EngineError::invalid(format!("invalid network name {:?}", opts.name)))?;
        if opts.enable_ipv6 {
            return Err(EngineError::invalid(
                "IPv6 networks are not supported yet: create the network without --ipv6",
            ));
        }
        if self.net.store.all().iter().any(|n| n.name == opts.name) {
            return Err(EngineError::conflict(format!(
                "network with name {} already exists",
                opts.name
            )));
        }
        if opts.ipam.len() > 1 {
            return Err(EngineError::invalid(
                "only one IPv4 address pool per network is supported",
            ));
        }
        let taken = self.taken_subnets(None);
        let pool = match opts.ipam.first() {
            Some(p) => checked_pool(p, &taken)?,
            None => {
                let subnet = self.free_pool(&taken, None)?;
                IpamPool {
                    subnet: subnet.to_string(),
                    gateway: first_host(subnet).to_string(),
                    ip_range: String::new(),
                }
            }
        };
        let id = crate::names::new_id();
        let bridge = match opts.options.get(BRIDGE_NAME_OPTION) {
            Some(b) => {
                kernel::check_bridge_name(b)?;
                if self.net.store.all().iter().any(|n| &n.bridge == b) {
                    return Err(EngineError::conflict(format!(
                        "bridge name {b} is used by another network"
                    )));
                }
                b.clone()
            }
            None => format!("br-{}", &id[..12]),
        };
        Ok(Network {
            id,
            name: opts.name,
            driver: "bridge".into(),
            created: now_rfc3339(),
            internal: opts.internal,
            attachable: opts.attachable,
            enable_ipv6: false,
            ipam: vec![pool],
            ipam_options: opts.ipam_options,
            options: opts.options,
            labels: opts.labels,
            bridge,
        })
    }

    /// The subnets of the networks (but `except`).
    fn taken_subnets(&self, except: Option<&str>) -> Vec<Ipv4Net> {
        self.net
            .store
            .all()
            .iter()
            .filter(|n| Some(n.id.as_str()) != except)
            .filter_map(|n| n.ipam.first()?.subnet.parse().ok())
            .collect()
    }

    /// The first default pool that overlaps neither a network nor a route
    /// of the host (but the routes through `own`, the device the pool is
    /// for: a restart with an empty database finds its old route there).
    fn free_pool(&self, taken: &[Ipv4Net], own: Option<&str>) -> Result<Ipv4Net> {
        let mut all = taken.to_vec();
        all.extend(
            wharf_net::ipam::routes()
                .into_iter()
                .filter(|(dev, _)| Some(dev.as_str()) != own)
                .map(|(_, net)| net),
        );
        let pools = self.net.default_pools(&self.config().network)?;
        wharf_net::ipam::pick_pool(&pools, &all).ok_or_else(|| {
            EngineError::invalid(
                "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network",
            )
        })
    }

    /// Removes a user-defined network without running containers.
    pub fn network_remove(&self, name_or_id: &str) -> Result<()> {
        let _guard = self.net.lock_changes();
        let n = self.network(name_or_id)?;
        if is_predefined(&n) {
            return Err(EngineError::new(
                Kind::Forbidden,
                format!("{} is a pre-defined network and cannot be removed", n.name),
            ));
        }
        if !self.network_members(&n.id)?.is_empty() {
            return Err(EngineError::new(
                Kind::Forbidden,
                format!(
                    "error while removing network: network {} id {} has active endpoints",
                    n.name, n.id
                ),
            ));
        }
        blocking(|| self.net.unrealize(&n))?;
        self.net.store.delete(&n.id)?;
        self.emit_network(&n, "destroy", &[]);
        Ok(())
    }

    /// Removes the user-defined networks without running containers for
    /// which `selected` holds; their names.
    pub fn networks_prune(&self, selected: &dyn Fn(&Network) -> bool) -> Result<Vec<String>> {
        let mut gone = Vec::new();
        for n in self.net.store.all() {
            if is_predefined(&n) || !selected(&n) || !self.network_members(&n.id)?.is_empty() {
                continue;
            }
            match self.network_remove(&n.id) {
                Ok(()) => gone.push(n.name),
                Err(e) if e.kind == Kind::NotFound || e.kind == Kind::Forbidden => {}
                Err(e) => return Err(e),
            }
        }
        Ok(gone)
    }

    /// Connects a container to a network (live when it runs; recorded
    /// for its next start otherwise).
    pub async fn network_connect(
        self: &Arc<Self>,
        network: &str,
        container: &str,
        opts: EndpointOptions,
    ) -> Result<()> {
        let entry = self.entry(container)?;
        let n = self.network(network)?;
        let engine = self.clone();
        crate::start::detached(async move {
            let _op = entry.op.lock().await;
            engine.connect_locked(&entry, &n, opts).await
        })
        .await
    }

    /// Disconnects a container from a network (live when it runs).
    pub async fn network_disconnect(
        self: &Arc<Self>,
        network: &str,
        container: &str,
        force: bool,
    ) -> Result<()> {
        let entry = self.entry(container)?;
        let n = match self.network(network) {
            Ok(n) => n,
            Err(e) if force && e.kind == Kind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let engine = self.clone();
        crate::start::detached(async move {
            let _op = entry.op.lock().await;
            engine.disconnect_locked(&entry, &n).await
        })
        .await
    }

    /// Emits a network event (`create`, `destroy`, `connect`, `disconnect`).
    pub(crate) fn emit_network(&self, n: &Network, action: &str, extra: &[(&str, String)]) {
        let mut attributes = BTreeMap::new();
        attributes.insert("name".to_string(), n.name.clone());
        attributes.insert("type".to_string(), n.driver.clone());
        for (k, v) in extra {
            attributes.insert((*k).to_string(), v.clone());
        }
        self.events().emit(Event {
            kind: "network".into(),
            action: action.into(),
            id: n.id.clone(),
            attributes,
            time_nano: 0,
        });
    }
}

/// Docker's `invalid network config` error: one fault on its line, more
/// as a `* ` list.
fn invalid_config(faults: Vec<String>) -> EngineError {
    let text = match faults.as_slice() {
        [one] => one.clone(),
        many => format!("* {}", many.join("\n* ")),
    };
    EngineError::invalid(format!("invalid network config:\n{text}"))
}

/// The first host address of a subnet (Docker's default gateway).
pub(crate) fn first_host(subnet: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(subnet.network()) + 1)
}

/// A pool a create asked for, checked as Docker checks it (since API
/// 1.44, `ValidateIPAM`: every fault listed, 400), then against the other
/// networks (403).
fn checked_pool(p: &IpamPool, taken: &[Ipv4Net]) -> Result<IpamPool> {
    let mut faults = Vec::new();
    let Ok(subnet) = p.subnet.parse::<Ipv4Net>() else {
        return Err(invalid_config(vec![format!(
            "invalid subnet {}: invalid CIDR block notation",
            p.subnet
        )]));
    };
    if subnet.addr() != subnet.network() {
        faults.push(format!(
            "invalid subnet {subnet}: it should be {}",
            subnet.trunc()
        ));
    }
    let range = match p.ip_range.as_str() {
        "" => None,
        r => match r.parse::<Ipv4Net>() {
            Err(_) => {
                faults.push(format!("invalid ip-range {r}: invalid CIDR block notation"));
                None
            }
            Ok(range) => {
                if range.prefix() < subnet.prefix() {
                    faults.push(format!(
                        "invalid ip-range {r}: CIDR block is bigger than its parent subnet {subnet}"
                    ));
                }
                if range.addr() != range.network() {
                    faults.push(format!(
                        "invalid ip-range {r}: it should be {}",
                        range.trunc()
                    ));
                }
                if !range.overlaps(&subnet) {
                    faults.push(format!(
                        "invalid ip-range {r}: parent subnet {subnet} doesn't contain ip-range"
                    ));
                }
                Some(range.trunc())
            }
        },
    };
    let gateway = match p.gateway.as_str() {
        "" => None,
        g => match g.parse::<Ipv4Addr>() {
            Err(_) => {
                faults.push(format!("invalid gateway {g}: invalid address"));
                None
            }
            Ok(ip) if !subnet.contains(ip) => {
                faults.push(format!(
                    "invalid gateway {g}: parent subnet {subnet} doesn't contain this address"
                ));
                None
            }
            Ok(ip) => Some(ip),
        },
    };
    if !faults.is_empty() {
        return Err(invalid_config(faults));
    }
    let subnet = subnet.trunc();
    if taken.iter().any(|t| t.overlaps(&subnet)) {
        return Err(EngineError::new(
            Kind::Forbidden,
            "Pool overlaps with other one on this address space",
        ));
    }
    let gateway = match gateway {
        None => first_host(subnet),
        Some(ip) if ip == subnet.network() || ip == subnet.broadcast() => {
            return Err(EngineError::invalid(format!(
                "failed to allocate gateway ({ip}): Requested address is out of range"
            )))
        }
        Some(ip) => ip,
    };
    Ok(IpamPool {
        subnet: subnet.to_string(),
        gateway: gateway.to_string(),
        ip_range: range.map(|r| r.to_string()).unwrap_or_default(),
    })
}
