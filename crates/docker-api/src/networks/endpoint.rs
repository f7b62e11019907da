//! A container's view of its networks as dockerd shows it: inspect's
//! `NetworkSettings` (the `Networks` map, the top-level fields of the
//! default `bridge` endpoint, the `Ports` map) and the list's `Ports` and
//! `NetworkSettings.Networks`.
//!
//! dockerd keeps a container's entry per network after it stops: the
//! `NetworkID` (set at its first start) stays, the addresses go; `Ports`
//! is `{}` unless it runs. On API < 1.45 a user-defined network's
//! `Aliases` also hold the short id (dockerd 26+ adds it for older
//! clients); since 1.44 `DNSNames` lists the names other containers
//! resolve (name, aliases, short id).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use wharf_engine::model::{Container, Endpoint, EndpointOptions, Status};

use super::shape::PREDEFINED;
use crate::containers::inspect::strs_or_null;

/// Network name → id (see [`super::network_ids`]).
pub type NetIds = BTreeMap<String, String>;

/// The network name a mode shows as (`default` is `bridge`).
pub fn mode_network(mode: &str) -> &str {
    match mode {
        "" | "default" => "bridge",
        m => m,
    }
}

/// How the networks are shown: for inspect at an API version, or in a
/// list (which dockerd fills with the operational fields only).
#[derive(Debug, Clone, Copy)]
pub enum Shown {
    /// `GET /containers/{id}/json` at API 1.`minor`.
    Inspect(u32),
    /// `GET /containers/json`.
    List,
}

/// The endpoint `c` has on `name` now (running, attached; an exited
/// container's record may hold it until its network is torn down).
fn attached<'a>(c: &'a Container, name: &str) -> Option<&'a Endpoint> {
    if !running(c) {
        return None;
    }
    c.network
        .endpoints
        .get(name)
        .filter(|e| !e.endpoint_id.is_empty())
}

fn running(c: &Container) -> bool {
    matches!(c.state.status, Status::Running | Status::Paused)
}

/// The names of `c`'s networks, in the `Networks` map's order. While it
/// runs: its endpoints (none left after it was disconnected from all).
/// Otherwise the engine's record of what it joins at start: the networks
/// it was created with or connected to (keys given as ids resolved by
/// `ids`); `host` and `none` always show.
pub fn network_names(c: &Container, ids: &NetIds) -> Vec<String> {
    let mode = c.options.host.network_mode.as_str();
    if mode.starts_with("container:") {
        return Vec::new();
    }
    if mode == "host" || mode == "none" {
        return vec![mode.to_string()];
    }
    let mut names: Vec<String> = if running(c) {
        c.network.endpoints.keys().cloned().collect()
    } else {
        // The engine records every network at create (its mode's among
        // them) and keeps the record up to date on connect/disconnect.
        c.options.networks.keys().map(|k| resolve(k, ids)).collect()
    };
    names.sort();
    names.dedup();
    names
}

/// A network key as given (name, id or id prefix) → the name.
fn resolve(key: &str, ids: &NetIds) -> String {
    if ids.contains_key(key) {
        return key.to_string();
    }
    ids.iter()
        .find(|(_, id)| !key.is_empty() && id.starts_with(key))
        .map_or_else(|| key.to_string(), |(name, _)| name.clone())
}

/// What `c` asked for on network `name`.
fn options_for<'a>(c: &'a Container, name: &str, ids: &NetIds) -> Option<&'a EndpointOptions> {
    if let Some(e) = c.network.endpoints.get(name) {
        return Some(&e.options);
    }
    c.options
        .networks
        .iter()
        .find(|(k, _)| resolve(k, ids) == name)
        .map(|(_, o)| o)
}

/// The `NetworkID` `c` shows for network `name`: its endpoint's, or,
/// once it has started, the network's (dockerd keeps it after a stop).
pub fn network_id(c: &Container, name: &str, ids: &NetIds) -> String {
    let started = crate::containers::list::nanos(&c.state.started_at).is_some();
    c.network
        .endpoints
        .get(name)
        .map(|e| e.network_id.clone())
        .filter(|id| !id.is_empty())
        .or_else(|| started.then(|| ids.get(name).cloned()).flatten())
        .unwrap_or_default()
}

/// One entry of `NetworkSettings.Networks`.
pub fn endpoint_settings(c: &Container, name: &str, ids: &NetIds, shown: Shown) -> Value {
    let ep = attached(c, name);
    let opts = options_for(c, name, ids).cloned().unwrap_or_default();
    let user_defined = !PREDEFINED.contains(&name);
    let ipam = match &opts.ipv4_address {
        Some(ip) => json!({ "IPv4Address": ip }),
        None => Value::Null,
    };
    let short_id = c.id.get(..12).unwrap_or(&c.id).to_string();
    let (aliases, dns_names) = match shown {
        Shown::List => (Value::Null, Value::Null),
        Shown::Inspect(minor) => {
            let mut aliases = opts.aliases.clone();
            // dockerd 26+ adds it back for older clients, whatever the
            // container's state.
            if minor < 45 && user_defined && !aliases.contains(&short_id) {
                aliases.push(short_id);
            }
            let dns = match ep {
                // dockerd names endpoints on user-defined networks only.
                Some(e) if minor >= 44 && user_defined => strs_or_null(&e.dns_names),
                _ => Value::Null,
            };
            (strs_or_null(&aliases), dns)
        }
    };
    let network_id = network_id(c, name, ids);
    // Since dockerd 25 the field is also the configured address, kept
    // while the container does not run.
    let mac = match ep {
        Some(e) => e.mac_address.clone(),
        None => opts.mac_address.clone().unwrap_or_default(),
    };
    let e = ep.cloned().unwrap_or_default();
    json!({
        "IPAMConfig": ipam,
        "Links": null,
        "Aliases": aliases,
        "MacAddress": mac,
        "DriverOpts": null,
        "NetworkID": network_id,
        "EndpointID": e.endpoint_id,
        "Gateway": e.gateway,
        "IPAddress": e.ip_address,
        "IPPrefixLen": e.prefix_len,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "DNSNames": dns_names,
    })
}

/// `NetworkSettings.Networks`.
pub fn networks_json(c: &Container, ids: &NetIds, shown: Shown) -> Value {
    let m: Map<String, Value> = network_names(c, ids)
        .into_iter()
        .map(|n| {
            let v = endpoint_settings(c, &n, ids, shown);
            (n, v)
        })
        .collect();
    Value::Object(m)
}

/// `80` → `80/tcp`.
fn port_key(p: &str) -> String {
    if p.contains('/') {
        p.to_string()
    } else {
        format!("{p}/tcp")
    }
}

/// The published and exposed ports of a running container with a
/// network of its own: `80/tcp` → its bindings (empty: exposed only).
pub fn port_map(c: &Container) -> BTreeMap<String, Vec<(String, u16)>> {
    let mut out = BTreeMap::new();
    let mode = c.options.host.network_mode.as_str();
    let own_net = !(mode == "host" || mode == "none" || mode.starts_with("container:"));
    if !own_net || !running(c) {
        return out;
    }
    for p in c
        .exposed_ports
        .iter()
        .chain(c.options.host.port_bindings.keys())
    {
        out.entry(port_key(p)).or_default();
    }
    for m in &c.network.ports {
        out.entry(format!("{}/{}", m.container_port, m.proto))
            .or_default()
            .push((m.host_ip.clone(), m.host_port));
    }
    out
}

/// Inspect's `NetworkSettings.Ports`: a binding list, or null for a port
/// exposed and not published.
pub fn ports_json(c: &Container) -> Value {
    let m: Map<String, Value> = port_map(c)
        .into_iter()
        .map(|(k, binds)| {
            let v = if binds.is_empty() {
                Value::Null
            } else {
                binds
                    .iter()
                    .map(|(ip, port)| json!({"HostIp": ip, "HostPort": port.to_string()}))
                    .collect()
            };
            (k, v)
        })
        .collect();
    Value::Object(m)
}

/// The list's `Ports`: `{IP, PrivatePort, PublicPort, Type}` per binding,
/// `{PrivatePort, Type}` per port exposed only; by port, type, address.
pub fn port_entries(c: &Container) -> Vec<Value> {
    let mut rows: Vec<(u16, String, String, u16)> = Vec::new();
    for (key, binds) in port_map(c) {
        let (port, proto) = key.split_once('/').unwrap_or((&key, "tcp"));
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        if binds.is_empty() {
            rows.push((port, proto.to_string(), String::new(), 0));
        }
        for (ip, public) in binds {
            rows.push((port, proto.to_string(), ip, public));
        }
    }
    rows.sort();
    rows.into_iter()
        .map(|(private, proto, ip, public)| {
            if public == 0 {
                json!({"PrivatePort": private, "Type": proto})
            } else {
                json!({"IP": ip, "PrivatePort": private, "PublicPort": public, "Type": proto})
            }
        })
        .collect()
}

/// Inspect's whole `NetworkSettings` at API 1.`minor`.
pub fn network_settings(c: &Container, ids: &NetIds, minor: u32) -> Value {
    let b = attached(c, "bridge").cloned().unwrap_or_default();
    json!({
        "Bridge": "",
        "SandboxID": c.network.sandbox_id,
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports_json(c),
        "SandboxKey": c.network.sandbox_key.to_string_lossy(),
        "SecondaryIPAddresses": null,
        "SecondaryIPv6Addresses": null,
        "EndpointID": b.endpoint_id,
        "Gateway": b.gateway,
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": b.ip_address,
        "IPPrefixLen": b.prefix_len,
        "IPv6Gateway": "",
        "MacAddress": b.mac_address,
        "Networks": networks_json(c, ids, Shown::Inspect(minor)),
    })
}

#[cfg(test)]
mod tests;
