//! `network create`'s IPAM flags (`--subnet`, `--ip-range`, `--gateway`,
//! `--aux-address`) paired up as docker CLI 28 does it, with its client-side
//! errors; each subnet one entry of `IPAM.Config`, in the order given.

use std::net::IpAddr;

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

/// A parsed CIDR: the network's first address and the prefix length.
struct Cidr {
    net: IpAddr,
    prefix: u8,
}

/// Go's `net.ParseCIDR`, error text included.
fn parse_cidr(s: &str) -> Result<Cidr> {
    let bad = || anyhow::anyhow!("invalid CIDR address: {s}");
    let (ip, len) = s.split_once('/').ok_or_else(bad)?;
    let ip: IpAddr = ip.parse().map_err(|_| bad())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix: u8 = len
        .parse()
        .ok()
        .filter(|p| *p <= max && !len.starts_with('+'))
        .ok_or_else(bad)?;
    Ok(Cidr {
        net: mask(ip, prefix),
        prefix,
    })
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}

/// docker's `subnetMatches`: is `data` (an address or a CIDR) inside
/// `subnet`?
fn subnet_matches(subnet: &str, data: &str) -> Result<bool> {
    let s = parse_cidr(subnet).map_err(|e| anyhow::anyhow!("invalid subnet: {e}"))?;
    let ip = if data.contains('/') {
        let (ip, _) = data.split_once('/').unwrap_or((data, ""));
        parse_cidr(data)?;
        ip.parse::<IpAddr>().ok()
    } else {
        data.parse::<IpAddr>().ok()
    };
    Ok(ip.is_some_and(|ip| ip.is_ipv4() == s.net.is_ipv4() && mask(ip, s.prefix) == s.net))
}

/// The subnet of `items` that holds `value`, docker's error when none.
fn owner(subnets: &[String], value: &str) -> Result<Option<usize>> {
    for (i, s) in subnets.iter().enumerate() {
        if subnet_matches(s, value)? {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// The `IPAM.Config` list for `network create`'s flags.
pub fn ipam_config(
    subnets: &[String],
    ranges: &[String],
    gateways: &[String],
    aux: &[String],
) -> Result<Vec<Value>> {
    if subnets.len() < ranges.len() || subnets.len() < gateways.len() {
        bail!("every ip-range or gateway must have a corresponding subnet");
    }
    let mut entries: Vec<Map<String, Value>> = Vec::new();
    for (i, s) in subnets.iter().enumerate() {
        for k in &subnets[..i] {
            if subnet_matches(s, k)? || subnet_matches(k, s)? {
                bail!("multiple overlapping subnet configuration is not supported");
            }
        }
        let mut m = Map::new();
        m.insert("Subnet".into(), json!(s));
        entries.push(m);
    }
    // (key, values, word in errors, preposition of "the same subnet").
    let singles = [
        ("IPRange", ranges, "range", "ranges", "on"),
        ("Gateway", gateways, "gateway", "gateways", "for"),
    ];
    for (key, values, one, many, prep) in singles {
        for v in values {
            let Some(i) = owner(subnets, v)? else {
                bail!("no matching subnet for {one} {v}");
            };
            if let Some(old) = entries[i].get(key).and_then(Value::as_str) {
                bail!(
                    "cannot configure multiple {many} ({v}, {old}) {prep} the same subnet ({})",
                    subnets[i]
                );
            }
            entries[i].insert(key.into(), json!(v));
        }
    }
    for a in aux {
        let (name, addr) = a.split_once('=').unwrap_or((a, ""));
        let Some(i) = owner(subnets, addr)? else {
            bail!("no matching subnet for aux-address {addr}");
        };
        let e = entries[i]
            .entry("AuxiliaryAddresses")
            .or_insert_with(|| json!({}));
        e[name] = json!(addr);
    }
    Ok(entries.into_iter().map(Value::Object).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn subnets_ranges_and_gateways_pair_like_docker() {
        let c = ipam_config(
            &s(&["10.77.0.0/24"]),
            &s(&["10.77.0.128/25"]),
            &s(&["10.77.0.1"]),
            &[],
        )
        .unwrap();
        assert_eq!(
            c,
            [
                json!({"Subnet": "10.77.0.0/24", "IPRange": "10.77.0.128/25", "Gateway": "10.77.0.1"})
            ]
        );
        let err = |sub: &[&str], r: &[&str], g: &[&str]| {
            ipam_config(&s(sub), &s(r), &s(g), &[])
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&["10.300.0.0/16"], &["10.1.0.0/24"], &[]),
            "invalid subnet: invalid CIDR address: 10.300.0.0/16"
        );
        assert_eq!(
            err(&[], &[], &["10.1.0.1"]),
            "every ip-range or gateway must have a corresponding subnet"
        );
        assert_eq!(
            err(&["10.1.0.0/16", "10.1.2.0/24"], &[], &[]),
            "multiple overlapping subnet configuration is not supported"
        );
        assert_eq!(
            err(&["10.1.0.0/16"], &[], &["10.2.0.1"]),
            "no matching subnet for gateway 10.2.0.1"
        );
        assert_eq!(
            err(&["10.1.0.0/16"], &["10.2.0.0/24"], &[]),
            "no matching subnet for range 10.2.0.0/24"
        );
        // A lone subnet is the daemon's to check.
        assert!(ipam_config(&s(&["10.300.0.0/16"]), &[], &[], &[]).is_ok());
        let aux = ipam_config(&s(&["10.88.0.0/24"]), &[], &[], &s(&["a=10.88.0.5"])).unwrap();
        assert_eq!(aux[0]["AuxiliaryAddresses"]["a"], "10.88.0.5");
    }
}
