//! Published ports: `-p` bindings and `-P`'s exposed ports, each held on
//! the host by a socket of the daemon (so nothing else takes the port)
//! and forwarded by a DNAT element in the daemon's nftables table to the
//! container's address on its first network.

use std::net::Ipv4Addr;

use wharf_net::firewall::Published;
use wharf_net::ports::{PortSpec, Proto};

use super::kernel::Live;
use crate::error::{EngineError, Result};
use crate::model::{Container, Network, NetworkState, PortMapping};
use crate::Engine;

/// `80/tcp` → (80, tcp); a bare `80` is tcp.
pub(crate) fn parse_port_key(key: &str) -> Result<(u16, Proto)> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| EngineError::invalid(format!("invalid port {key}")))?;
    let proto = match proto.to_ascii_lowercase().as_str() {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        "sctp" => Proto::Sctp,
        _ => return Err(EngineError::invalid(format!("invalid proto in port {key}"))),
    };
    Ok((port, proto))
}

/// A host port as given: empty (any), `8080`, or a range `8000-8010`.
pub(crate) fn parse_host_ports(s: &str) -> Result<Vec<u16>> {
    let bad = || EngineError::invalid(format!("invalid hostPort: {s}"));
    let s = s.trim();
    if s.is_empty() {
        return Ok(vec![0]);
    }
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a: u16 = a.parse().map_err(|_| bad())?;
    let b: u16 = b.parse().map_err(|_| bad())?;
    if a > b {
        return Err(bad());
    }
    Ok((a..=b).collect())
}

/// One binding to set up: container port, proto, host address (None:
/// all), the host ports to try in turn (0: any).
type Binding = (u16, Proto, Option<Ipv4Addr>, Vec<u16>);

/// The bindings of `c`: `-p`'s, then `-P`'s for the exposed ports `-p`
/// left out.
fn bindings(c: &Container) -> Result<Vec<Binding>> {
    let h = &c.options.host;
    let mut out = Vec::new();
    for (key, list) in &h.port_bindings {
        let (port, proto) = parse_port_key(key)?;
        for b in list {
            let ip = match b.host_ip.as_str() {
                "" | "0.0.0.0" => None,
                // IPv6 bindings are not supported yet: IPv4 only.
                s if s.contains(':') => continue,
                s => Some(s.parse::<Ipv4Addr>().map_err(|_| {
                    EngineError::invalid(format!("invalid host IP address {s} in port binding"))
                })?),
            };
            out.push((port, proto, ip, parse_host_ports(&b.host_port)?));
        }
    }
    if h.publish_all_ports {
        for key in &c.exposed_ports {
            if h.port_bindings.contains_key(key) {
                continue;
            }
            let (port, proto) = parse_port_key(key)?;
            out.push((port, proto, None, vec![0]));
        }
    }
    Ok(out)
}

impl Engine {
    /// Publishes the ports of `c` on its first network `n` (none on an
    /// internal network, as Docker); `st.ports` and `live` get them.
    pub(crate) fn publish_ports(
        &self,
        c: &Container,
        n: &Network,
        st: &mut NetworkState,
        live: &mut Live,
    ) -> Result<()> {
        let wanted = bindings(c)?;
        if wanted.is_empty() || n.internal {
            return Ok(());
        }
        let ep = st.endpoints.get(&n.name).ok_or_else(|| {
            EngineError::invalid(format!("{} is not on network {}", c.name, n.name))
        })?;
        let container_ip: Ipv4Addr = ep
            .ip_address
            .parse()
            .map_err(|e| EngineError::system("bad endpoint address", e))?;
        let endpoint_id = ep.endpoint_id.clone();
        let firewall = self.net.firewall()?;
        let range = port_range();
        let failed = |e: Box<dyn std::error::Error + Send + Sync>| {
            EngineError::system(
                format!(
                    "driver failed programming external connectivity on endpoint {} ({endpoint_id})",
                    c.name
                ),
                e,
            )
        };
        let mut rules = Vec::new();
        for (port, proto, host_ip, host_ports) in wanted {
            let mut last = None;
            let mut got = None;
            for hp in host_ports {
                let spec = PortSpec {
                    proto,
                    host_ip,
                    host_port: hp,
                    container_port: port,
                };
                match wharf_net::ports::reserve(&spec, range) {
                    Ok(r) => {
                        got = Some(r);
                        break;
                    }
                    Err(e) => last = Some(e),
                }
            }
            let (host_port, reservation) = match (got, last) {
                (Some(r), _) => r,
                (None, Some(e)) => return Err(failed(e.into())),
                (None, None) => continue,
            };
            live.ports.push(reservation);
            st.ports.push(PortMapping {
                container_port: port,
                proto: proto.as_str().into(),
                host_ip: host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED).to_string(),
                host_port,
            });
            rules.push(Published {
                proto,
                host_ip,
                host_port,
                container_ip,
                container_port: port,
                bridge: n.bridge.clone(),
            });
        }
        // One nft run for all of them.
        firewall.publish_all(&rules).map_err(|e| failed(e.into()))
    }

    /// The DNAT elements `st.ports` stand for (to remove them, or to add
    /// them again after a restart).
    pub(crate) fn recorded_rules(&self, st: &NetworkState) -> Vec<Published> {
        let Some((ip, bridge)) = st.endpoints.get(&st.primary).and_then(|ep| {
            let n = self.net.store.find(&ep.network_id).ok()?;
            Some((ep.ip_address.parse::<Ipv4Addr>().ok()?, n.bridge))
        }) else {
            return Vec::new();
        };
        st.ports
            .iter()
            .filter_map(|m| {
                Some(Published {
                    proto: m.proto.parse().ok()?,
                    host_ip: host_ip_of(m),
                    host_port: m.host_port,
                    container_ip: ip,
                    container_port: m.container_port,
                    bridge: bridge.clone(),
                })
            })
            .collect()
    }

    /// Removes the DNAT elements of `st.ports` (the sockets go with the
    /// container's [`Live`]).
    pub(crate) fn unpublish_ports(&self, id: &str, st: &NetworkState) {
        let rules = self.recorded_rules(st);
        if rules.is_empty() {
            return;
        }
        let unpublished = self.net.firewall().and_then(|f| {
            f.unpublish_all(&rules)
                .map_err(|e| EngineError::system("the firewall refused", e))
        });
        if let Err(e) = unpublished {
            eprintln!(
                "wharf: failed to unpublish the ports of {id}: {}",
                e.full_message()
            );
        }
    }
}

/// The host address of a mapping (None: every address).
pub(crate) fn host_ip_of(m: &PortMapping) -> Option<Ipv4Addr> {
    m.host_ip
        .parse::<Ipv4Addr>()
        .ok()
        .filter(|i| !i.is_unspecified())
}

/// The kernel's local port range, where `-p 80` finds a host port.
pub(crate) fn port_range() -> (u16, u16) {
    wharf_net::ports::ip_local_port_range().unwrap_or(wharf_net::ports::DEFAULT_RANGE)
}
