//! `--network` (simple and `name=…,alias=…` forms), `--network-alias`,
//! `--ip`, `--ip6`, `--mac-address` as docker CLI 28 turns them into
//! `HostConfig.NetworkMode` and `NetworkingConfig.EndpointsConfig`.

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

/// The container's network flags.
#[derive(Debug, Default)]
pub struct NetFlags<'a> {
    /// `--network` values.
    pub networks: &'a [String],
    /// `--network-alias`.
    pub aliases: &'a [String],
    /// `--ip`.
    pub ip: Option<&'a str>,
    /// `--ip6`.
    pub ip6: Option<&'a str>,
    /// `--mac-address`.
    pub mac: Option<&'a str>,
    /// `--link` (an endpoint setting on user-defined networks).
    pub links: &'a [String],
}

/// One attachment (`opts.NetworkAttachmentOpts`).
#[derive(Debug, Default, Clone)]
struct Attach {
    target: String,
    aliases: Vec<String>,
    ip: String,
    ip6: String,
    mac: String,
    links: Vec<String>,
    driver_opts: Map<String, Value>,
}

/// `container.NetworkMode(n).IsUserDefined()`.
pub fn is_user_defined(mode: &str) -> bool {
    !matches!(mode, "default" | "bridge" | "host" | "none") && !mode.starts_with("container:")
}

/// `--network name=x,alias=a,ip=…` or a plain name.
fn parse_attach(v: &str) -> Result<Attach> {
    if !v.contains('=') {
        return Ok(Attach {
            target: v.to_string(),
            ..Attach::default()
        });
    }
    let mut a = Attach::default();
    for field in v.split(',') {
        let (k, val) = field
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("invalid field '{field}' must be a key=value pair"))?;
        match k.to_ascii_lowercase().as_str() {
            "name" => a.target = val.to_string(),
            "alias" => a.aliases.push(val.to_string()),
            "ip" => a.ip = val.to_string(),
            "ip6" => a.ip6 = val.to_string(),
            "mac-address" => a.mac = val.to_string(),
            "driver-opt" => {
                let (ok, ov) = val.split_once('=').unwrap_or((val, ""));
                a.driver_opts.insert(ok.to_string(), json!(ov));
            }
            _ => bail!("invalid field key {k}"),
        }
    }
    Ok(a)
}

/// Go's `net.ParseMAC` (6, 8 or 20 octets, `:` or `-` separated).
fn valid_mac(m: &str) -> bool {
    let m = m.trim();
    let sep = if m.contains('-') { '-' } else { ':' };
    let parts: Vec<&str> = m.split(sep).collect();
    [6, 8, 20].contains(&parts.len())
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `applyContainerOptions`: the old flags onto the first attachment.
fn apply_flags(a: &mut Attach, f: &NetFlags) -> Result<()> {
    if !a.aliases.is_empty() && !f.aliases.is_empty() {
        bail!("conflicting options: cannot specify both --network-alias and per-network alias");
    }
    if !a.ip.is_empty() && f.ip.is_some() {
        bail!("conflicting options: cannot specify both --ip and per-network IPv4 address");
    }
    if !a.ip6.is_empty() && f.ip6.is_some() {
        bail!("conflicting options: cannot specify both --ip6 and per-network IPv6 address");
    }
    if !a.mac.is_empty() && f.mac.is_some() {
        bail!("conflicting options: cannot specify both --mac-address and per-network MAC address");
    }
    if !f.aliases.is_empty() {
        a.aliases = f.aliases.to_vec();
    }
    if let Some(ip) = f.ip {
        a.ip = ip.to_string();
    }
    if let Some(ip6) = f.ip6 {
        a.ip6 = ip6.to_string();
    }
    if let Some(m) = f.mac {
        a.mac = m.to_string();
    }
    if is_user_defined(&a.target) && !f.links.is_empty() {
        a.links = f.links.to_vec();
    }
    Ok(())
}

/// An `EndpointSettings` as docker CLI 28 sends it (every field, the
/// daemon's own empty).
pub fn settings(
    ipam: Value,
    links: &[String],
    aliases: &[String],
    mac: &str,
    driver_opts: Value,
    gw_priority: i64,
) -> Value {
    let list = |l: &[String]| if l.is_empty() { Value::Null } else { json!(l) };
    json!({
        "IPAMConfig": ipam,
        "Links": list(links),
        "Aliases": list(aliases),
        "MacAddress": mac,
        "DriverOpts": driver_opts,
        "GwPriority": gw_priority,
        "NetworkID": "",
        "EndpointID": "",
        "Gateway": "",
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "DNSNames": null,
    })
}

/// `parseNetworkAttachmentOpt`: the endpoint settings, and whether any
/// field is set (docker leaves an empty one out for a lone network).
fn endpoint(a: &Attach) -> Result<(Value, bool)> {
    if a.target.trim().is_empty() {
        bail!("no name set for network");
    }
    if !is_user_defined(&a.target) && !a.aliases.is_empty() {
        bail!("network-scoped aliases are only supported for user-defined networks");
    }
    let mut ipam = Value::Null;
    if !a.ip.is_empty() || !a.ip6.is_empty() {
        let mut m = Map::new();
        if !a.ip.is_empty() {
            m.insert("IPv4Address".into(), json!(a.ip));
        }
        if !a.ip6.is_empty() {
            m.insert("IPv6Address".into(), json!(a.ip6));
        }
        ipam = Value::Object(m);
    }
    if !a.mac.is_empty() && !valid_mac(&a.mac) {
        bail!("{} is not a valid mac address", a.mac);
    }
    let set = !ipam.is_null()
        || !a.aliases.is_empty()
        || !a.mac.is_empty()
        || !a.driver_opts.is_empty()
        || !a.links.is_empty();
    let driver_opts = if a.driver_opts.is_empty() {
        Value::Null
    } else {
        Value::Object(a.driver_opts.clone())
    };
    let ep = settings(ipam, &a.links, &a.aliases, &a.mac, driver_opts, 0);
    Ok((ep, set))
}

/// `HostConfig.NetworkMode` and `EndpointsConfig` for the flags.
pub fn networking(f: &NetFlags) -> Result<(String, Map<String, Value>)> {
    let mut endpoints = Map::new();
    let attaches: Vec<Attach> = f
        .networks
        .iter()
        .map(|n| parse_attach(n))
        .collect::<Result<_>>()?;
    if attaches.is_empty() {
        let mut a = Attach {
            target: "default".into(),
            ..Attach::default()
        };
        apply_flags(&mut a, f)?;
        endpoints.insert("default".into(), endpoint(&a)?.0);
    }
    let (mut user, mut other) = (false, false);
    for (i, a) in attaches.iter().enumerate() {
        let mut a = a.clone();
        if is_user_defined(&a.target) {
            user = true;
        } else {
            other = true;
        }
        if i == 0 {
            apply_flags(&mut a, f)?;
        }
        let (ep, set) = endpoint(&a)?;
        if endpoints.contains_key(&a.target) {
            bail!("network {:?} is specified multiple times", a.target);
        }
        if i == 0 && attaches.len() == 1 && !set {
            continue;
        }
        endpoints.insert(a.target.clone(), ep);
    }
    if user && other {
        bail!("conflicting options: cannot attach both user-defined and non-user-defined network-modes");
    }
    let mode = attaches
        .first()
        .map_or_else(|| "default".to_string(), |a| a.target.clone());
    Ok((mode, endpoints))
}

/// Whether an endpoint asks for a MAC address (API 1.44 and later only).
pub fn wants_mac(endpoints: &Map<String, Value>) -> bool {
    endpoints
        .values()
        .any(|e| e["MacAddress"].as_str().is_some_and(|m| !m.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn network_flags_become_endpoints_like_docker() {
        let nets = s(&["un"]);
        let aliases = s(&["web"]);
        let (mode, eps) = networking(&NetFlags {
            networks: &nets,
            aliases: &aliases,
            ip: Some("10.77.0.200"),
            ..NetFlags::default()
        })
        .unwrap();
        assert_eq!(mode, "un");
        assert_eq!(eps["un"]["Aliases"], json!(["web"]));
        assert_eq!(
            eps["un"]["IPAMConfig"],
            json!({"IPv4Address": "10.77.0.200"})
        );
        // A lone network without settings is left out; none at all is "default".
        let (mode, eps) = networking(&NetFlags {
            networks: &nets,
            ..NetFlags::default()
        })
        .unwrap();
        assert_eq!((mode.as_str(), eps.len()), ("un", 0));
        let (mode, eps) = networking(&NetFlags::default()).unwrap();
        assert_eq!(mode, "default");
        assert!(eps["default"]["IPAMConfig"].is_null());
        let err = |nets: &[&str], aliases: &[&str], mac: Option<&str>| {
            let (n, a) = (s(nets), s(aliases));
            networking(&NetFlags {
                networks: &n,
                aliases: &a,
                mac,
                ..NetFlags::default()
            })
            .unwrap_err()
            .to_string()
        };
        assert_eq!(
            err(&[], &["web"], None),
            "network-scoped aliases are only supported for user-defined networks"
        );
        assert_eq!(
            err(&["un", "host"], &[], None),
            "conflicting options: cannot attach both user-defined and non-user-defined network-modes"
        );
        assert_eq!(err(&[], &[], Some("zz")), "zz is not a valid mac address");
        let (_, eps) = networking(&NetFlags {
            networks: &s(&["name=un,alias=a,ip=10.0.0.5"]),
            ..NetFlags::default()
        })
        .unwrap();
        assert_eq!(eps["un"]["Aliases"], json!(["a"]));
    }
}
