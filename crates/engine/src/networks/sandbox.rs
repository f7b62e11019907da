//! A container's network at start and stop: its network namespace (a
//! file under `<exec-root>/netns`, made before the runtime runs so that
//! the spec joins it by path), one veth pair and address per network,
//! its published ports, and its DNS server on user-defined networks.
//! Everything a start set up is undone by [`Engine::network_down`], which
//! also runs when a later step of the start fails.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;

use wharf_net::link::{self, Attachment};
use wharf_net::netns::NetNs;

use super::kernel::Live;
use crate::error::{EngineError, Result};
use crate::model::{Container, Endpoint, EndpointOptions, Network, NetworkState};
use crate::registry::{blocking, Entry};
use crate::Engine;

/// The network a mode names (None: the container has no network of
/// the engine's: `host`, `none`, `container:`, or no default bridge).
pub(crate) fn mode_network(mode: &str, default_bridge: bool) -> Option<&str> {
    match mode {
        "host" | "none" => None,
        m if m.starts_with("container:") => None,
        "" | "default" | "bridge" => default_bridge.then_some("bridge"),
        name => Some(name),
    }
}

/// True for a network whose containers resolve each other by name.
pub(crate) fn has_dns(n: &Network) -> bool {
    n.driver == "bridge" && !super::is_predefined(n)
}

impl Engine {
    /// True when the daemon has a default bridge network.
    pub(crate) fn default_bridge(&self) -> bool {
        self.config().network.bridge != "none"
    }

    /// The networks `c` joins when it starts, its mode's first.
    pub(crate) fn wanted_networks(&self, c: &Container) -> Result<Vec<(Network, EndpointOptions)>> {
        let Some(primary) = mode_network(&c.options.host.network_mode, self.default_bridge())
        else {
            return Ok(Vec::new());
        };
        let mut out: Vec<(Network, EndpointOptions)> = Vec::new();
        let given = &c.options.networks;
        // Its networks were resolved at create (its mode's among them);
        // one disconnected from its mode's network does not join it.
        if given.contains_key(primary) {
            let n = self.network(primary)?;
            out.push((n, given.get(primary).cloned().unwrap_or_default()));
        }
        for (key, opts) in given {
            if key == primary {
                continue;
            }
            let n = self.network(key)?;
            if !out.iter().any(|(x, _)| x.id == n.id) {
                out.push((n, opts.clone()));
            }
        }
        Ok(out)
    }

    /// Sets up the network of `c`, about to start: its namespace, its
    /// endpoints, its published ports and its DNS server. On failure
    /// nothing of it is left.
    pub(crate) async fn network_up(self: &Arc<Self>, c: &Container) -> Result<NetworkState> {
        let wanted = self.wanted_networks(c)?;
        if wanted.is_empty() {
            return Ok(NetworkState::default());
        }
        let mut st = NetworkState {
            sandbox_key: self.netns_path(&c.id),
            sandbox_id: crate::names::new_id(),
            ..NetworkState::default()
        };
        let result = blocking(|| self.network_up_blocking(c, &wanted, &mut st));
        if let Err(e) = result {
            self.network_down(&c.id, &st);
            return Err(e);
        }
        Ok(st)
    }

    fn network_up_blocking(
        self: &Arc<Self>,
        c: &Container,
        wanted: &[(Network, EndpointOptions)],
        st: &mut NetworkState,
    ) -> Result<()> {
        // (NetNs::create makes the directory, private, when missing.)
        let ns = NetNs::create(&st.sandbox_key).map_err(|e| {
            EngineError::system(
                format!("failed to create the network namespace of {}", c.id),
                e,
            )
        })?;
        for (i, (n, opts)) in wanted.iter().enumerate() {
            if i == 0 {
                st.primary = n.name.clone();
            }
            let ep = self.endpoint_up(c, &ns, n, opts, i, i == 0)?;
            st.endpoints.insert(n.name.clone(), ep);
        }
        let mut live = Live::default();
        if let Some((primary, _)) = wanted.first() {
            self.publish_ports(c, primary, st, &mut live)?;
        }
        if wanted.iter().any(|(n, _)| has_dns(n)) {
            live.dns = Some(self.start_dns(c, &ns, &st.endpoints)?);
        }
        self.net
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(c.id.clone(), live);
        Ok(())
    }

    /// A network event (`connect`, `disconnect`) for each endpoint of `st`,
    /// as Docker sends them when a container starts and stops.
    pub(crate) fn emit_endpoints(&self, id: &str, st: &NetworkState, action: &str) {
        for ep in st.endpoints.values() {
            if let Ok(n) = self.net.store.find(&ep.network_id) {
                self.emit_network(&n, action, &[("container", id.to_string())]);
            }
        }
    }

    /// `<exec-root>/netns`: the namespace files of containers and builds.
    pub(crate) fn netns_dir(&self) -> PathBuf {
        self.config().exec_root.join("netns")
    }

    /// `<exec-root>/netns/<short id>`.
    pub(crate) fn netns_path(&self, id: &str) -> PathBuf {
        self.netns_dir()
            .join(&id[..id.len().min(crate::lifecycle::SHORT_ID)])
    }

    /// Joins `c` (namespace `ns`) to network `n` as its `index`-th
    /// interface.
    pub(crate) fn endpoint_up(
        &self,
        c: &Container,
        ns: &NetNs,
        n: &Network,
        opts: &EndpointOptions,
        index: usize,
        default_route: bool,
    ) -> Result<Endpoint> {
        if n.driver != "bridge" {
            return Err(EngineError::invalid(format!(
                "container {} cannot join network {} (driver {}) besides another",
                c.name, n.name, n.driver
            )));
        }
        let pool = super::pool_of(n)?;
        let wanted = match opts.ipv4_address.as_deref().filter(|a| !a.is_empty()) {
            Some(a) => Some(check_address(&pool, a)?),
            None => None,
        };
        let ip = self.net.store.allocate(n, &pool, &c.id, wanted)?;
        let endpoint_id = crate::names::new_id();
        let mac = match opts.mac_address.as_deref().filter(|m| !m.is_empty()) {
            Some(m) => parse_mac(m)?,
            None => link::mac_from_ip(ip),
        };
        let a = Attachment {
            bridge: n.bridge.clone(),
            host_ifname: link::host_ifname_for(&endpoint_id),
            ifname: format!("eth{index}"),
            address: ip,
            prefix_len: pool.subnet.prefix(),
            gateway: if default_route && !n.internal {
                pool.gateway
            } else {
                None
            },
            mac,
            mtu: n
                .options
                .get("com.docker.network.driver.mtu")
                .and_then(|m| m.parse().ok()),
        };
        if let Err(e) = link::attach(ns, &a) {
            let _ = self.net.store.release(&c.id, Some(&n.id));
            return Err(EngineError::system(
                format!("failed to connect {} to network {}", c.name, n.name),
                e,
            ));
        }
        let short = &c.id[..crate::lifecycle::SHORT_ID];
        let dns_names = if has_dns(n) {
            // Docker's DNSNames: the name, the aliases, the short id and
            // the host name given with --hostname.
            let mut v = vec![c.name.clone()];
            v.extend(opts.aliases.iter().cloned());
            v.push(short.to_string());
            if let Some(h) = c.options.hostname.as_deref().filter(|h| !h.is_empty()) {
                if !v.iter().any(|x| x == h) {
                    v.push(h.to_string());
                }
            }
            v
        } else {
            Vec::new()
        };
        Ok(Endpoint {
            network_id: n.id.clone(),
            endpoint_id,
            ip_address: ip.to_string(),
            prefix_len: pool.subnet.prefix(),
            gateway: pool.gateway.map(|g| g.to_string()).unwrap_or_default(),
            mac_address: format_mac(&mac),
            options: opts.clone(),
            dns_names,
            host_ifname: a.host_ifname,
            ifname: a.ifname,
        })
    }

    /// Undoes what [`Engine::network_up`] (or a connect) set up for the
    /// container `id`, as far as `st` says it got; failures are logged,
    /// the rest still undone.
    pub(crate) fn network_down(&self, id: &str, st: &NetworkState) {
        let live = self
            .net
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        drop(live);
        self.unpublish_ports(id, st);
        // Deleting a veth pair waits for the kernel's RCU grace periods
        // (20-30 ms): done on a thread of its own so that a stop or a
        // `--rm` does not wait for it. The addresses go back at once: a
        // container that gets one at once has the same MAC too (it is made
        // from the address), so the dying pair misleads nobody.
        let links: Vec<String> = st
            .endpoints
            .values()
            .map(|e| e.host_ifname.clone())
            .collect();
        if !links.is_empty() {
            let id = id.to_string();
            std::thread::spawn(move || {
                for l in links {
                    if let Err(e) = link::detach(&l) {
                        eprintln!("wharf: failed to delete {l} of {id}: {e}");
                    }
                }
            });
        }
        if let Err(e) = self.net.store.release(id, None) {
            eprintln!("wharf: failed to release the addresses of {id}: {e}");
        }
        if !st.sandbox_key.as_os_str().is_empty() {
            if let Err(e) = NetNs::remove(&st.sandbox_key) {
                eprintln!(
                    "wharf: failed to remove the network namespace {}: {e}",
                    st.sandbox_key.display()
                );
            }
        }
    }

    /// Takes the network state out of `entry`'s record (but the last
    /// sandbox's id and key) and undoes it.
    pub(crate) fn network_down_entry(&self, entry: &Arc<Entry>) {
        let st = entry
            .modify(self, |r| {
                let st = std::mem::take(&mut r.c.network);
                // Inspect keeps showing the last sandbox, as Docker's does.
                r.c.network.sandbox_id = st.sandbox_id.clone();
                r.c.network.sandbox_key = st.sandbox_key.clone();
                Ok(st)
            })
            .unwrap_or_default();
        if st != NetworkState::default() {
            blocking(|| self.network_down(&entry.id, &st));
            self.emit_endpoints(&entry.id, &st, "disconnect");
        }
    }

    /// The DNS server of `c` in `ns`, whose attachments are `endpoints`:
    /// names of the containers on its user-defined networks; the rest
    /// forwarded to `--dns` or the host's name servers.
    pub(crate) fn start_dns(
        self: &Arc<Self>,
        c: &Container,
        ns: &NetNs,
        endpoints: &std::collections::BTreeMap<String, Endpoint>,
    ) -> Result<wharf_net::dns::DnsServer> {
        // An internal network reaches nothing outside: nothing is
        // forwarded from a container whose user networks are all internal.
        let outside = endpoints.values().any(|ep| {
            !ep.dns_names.is_empty()
                && self
                    .net
                    .store
                    .find(&ep.network_id)
                    .is_ok_and(|n| !n.internal)
        });
        let upstreams = if !outside {
            Vec::new()
        } else if c.options.host.dns.is_empty() {
            let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
            wharf_net::dns::upstreams_from_resolv_conf(&text)
        } else {
            c.options
                .host
                .dns
                .iter()
                .filter_map(|d| d.parse::<Ipv4Addr>().ok())
                .map(|ip| std::net::SocketAddr::from((ip, 53)))
                .collect()
        };
        let names = Arc::new(super::names::EngineNames::new(self));
        wharf_net::dns::DnsServer::start(ns, c.id.clone(), names, upstreams).map_err(|e| {
            EngineError::system(format!("failed to start the DNS server of {}", c.id), e)
        })
    }
}

/// A `--ip` checked against the network's pool.
pub(crate) fn check_address(pool: &super::store::Pool, a: &str) -> Result<Ipv4Addr> {
    let ip: Ipv4Addr = a
        .parse()
        .map_err(|_| EngineError::invalid(format!("invalid IPv4 address: {a}")))?;
    let inside = pool
        .range
        .map_or(pool.subnet.contains(ip), |r| r.contains(ip));
    if !inside || ip == pool.subnet.network() || ip == pool.subnet.broadcast() {
        return Err(EngineError::invalid(format!(
            "Invalid address {a}: It does not belong to any of this network's subnets"
        )));
    }
    Ok(ip)
}

/// `02:42:ac:11:00:02`.
pub(crate) fn parse_mac(m: &str) -> Result<[u8; 6]> {
    let bad = || EngineError::invalid(format!("invalid MAC address: {m}"));
    let parts: Vec<&str> = m.split(':').collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (b, p) in mac.iter_mut().zip(parts) {
        *b = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    Ok(mac)
}

/// `[2, 0x42, …]` as `02:42:…`.
pub(crate) fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
