//! `-p/--publish` and `--expose` as docker CLI 28 reads them (go-connections'
//! `nat.ParsePortSpec`, errors word for word): `8080:80`, `127.0.0.1:8080:80`,
//! `127.0.0.1::80`, `[::1]:80:80`, `80`, `8000-8001:80-81`, `8000-8010:80`
//! (a host range to pick from), `/udp`, `/sctp`, and the long form
//! `target=80,published=8080,protocol=udp`.

use std::net::IpAddr;

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

/// One binding: the container port key (`80/tcp`), host IP and host port
/// (either may be empty).
pub type Binding = (String, String, String);

/// `nat.ParsePortRange`: `80` or `80-81`, each a u16, start ≤ end.
fn port_range(s: &str) -> Result<(u32, u32)> {
    if s.is_empty() {
        bail!("empty string specified for ports");
    }
    let num = |p: &str| -> Result<u32> {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            bail!("strconv.ParseUint: parsing \"{p}\": invalid syntax");
        }
        match p.parse::<u16>() {
            Ok(n) => Ok(u32::from(n)),
            Err(_) => bail!("strconv.ParseUint: parsing \"{p}\": value out of range"),
        }
    };
    match s.split_once('-') {
        None => {
            let n = num(s)?;
            Ok((n, n))
        }
        Some((a, b)) => {
            let (a, b) = (num(a)?, num(b.split('-').next().unwrap_or(b))?);
            if b < a {
                bail!("invalid range specified for port: {s}");
            }
            Ok((a, b))
        }
    }
}

/// `nat.SplitProtoPort`: (proto, port); `tcp` when none is given.
fn split_proto(raw: &str) -> (String, String) {
    let parts: Vec<&str> = raw.split('/').collect();
    if raw.is_empty() || parts[0].is_empty() {
        return (String::new(), String::new());
    }
    match parts.get(1) {
        None | Some(&"") => ("tcp".into(), parts[0].into()),
        Some(p) => (p.to_string(), parts[0].into()),
    }
}

/// The long form (`target=80,published=8080,protocol=udp`) as the short one.
fn long_form(raw: &str) -> Result<String> {
    let (mut target, mut published, mut proto) = (String::new(), String::new(), "tcp".to_string());
    for field in raw.split(',') {
        let (k, v) = field
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("invalid field {field}"))?;
        match k.to_ascii_lowercase().as_str() {
            "target" => target = v.to_string(),
            "published" => published = v.to_string(),
            "protocol" => proto = v.to_string(),
            "mode" => {}
            _ => bail!("invalid field key {k}"),
        }
    }
    Ok(format!(
        "{}:{target}/{proto}",
        published.parse::<u32>().unwrap_or(0)
    ))
}

/// `nat.ParsePortSpec`: one `-p` value as its bindings.
pub fn parse_publish(raw: &str) -> Result<Vec<Binding>> {
    let raw = if raw.contains('=') {
        long_form(raw)?
    } else {
        raw.to_string()
    };
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let (mut ip, host, ctr) = match n {
        1 => (String::new(), "", parts[0]),
        2 => (String::new(), parts[0], parts[1]),
        3 => (parts[0].to_string(), parts[1], parts[2]),
        _ => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
    };
    let (proto, ctr) = split_proto(ctr);
    if let Some(inner) = ip.strip_prefix('[') {
        match inner.strip_suffix(']') {
            Some(i) => ip = i.to_string(),
            None => bail!("invalid IP address {ip}: address {ip}:: missing ']' in address"),
        }
    }
    if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
        bail!("invalid IP address: {ip}");
    }
    if ctr.is_empty() {
        bail!("no port specified: {raw}<empty>");
    }
    let Ok((start, end)) = port_range(&ctr) else {
        bail!("invalid containerPort: {ctr}");
    };
    let (mut hstart, mut hend) = (0, 0);
    if !host.is_empty() {
        let Ok(r) = port_range(host) else {
            bail!("invalid hostPort: {host}");
        };
        (hstart, hend) = r;
    }
    if !host.is_empty() && end - start != hend - hstart && end != start {
        bail!("invalid ranges specified for container and host Ports: {ctr} and {host}");
    }
    let proto = proto.to_ascii_lowercase();
    if !["tcp", "udp", "sctp"].contains(&proto.as_str()) {
        bail!("invalid proto: {proto}");
    }
    let mut out = Vec::new();
    for i in 0..=(end - start) {
        let mut host_port = String::new();
        if !host.is_empty() {
            host_port = (hstart + i).to_string();
        }
        if start == end && hstart != hend {
            host_port = format!("{host_port}-{hend}");
        }
        out.push((format!("{}/{proto}", start + i), ip.clone(), host_port));
    }
    Ok(out)
}

/// `ExposedPorts` and `PortBindings` for `-p` and `--expose` values.
pub fn ports(
    publish: &[String],
    expose: &[String],
) -> Result<(Map<String, Value>, Map<String, Value>)> {
    let mut exposed = Map::new();
    let mut bindings = Map::new();
    for p in publish {
        for (port, ip, host) in parse_publish(p)? {
            exposed.insert(port.clone(), json!({}));
            let list = bindings.entry(port).or_insert_with(|| json!([]));
            if let Value::Array(a) = list {
                a.push(json!({"HostIp": ip, "HostPort": host}));
            }
        }
    }
    for e in expose {
        if e.contains(':') {
            bail!("invalid port format for --expose: {e}");
        }
        let (proto, port) = split_proto(e);
        let (start, end) = port_range(&port).map_err(|err| {
            anyhow::anyhow!("invalid range format for --expose: {e}, error: {err}")
        })?;
        for p in start..=end {
            exposed
                .entry(format!("{p}/{proto}"))
                .or_insert_with(|| json!({}));
        }
    }
    Ok((exposed, bindings))
}

/// docker's `ValidateIPAddress` (`--dns`): the address in canonical form.
pub fn ip_address(v: &str) -> Result<String, String> {
    v.trim()
        .parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| format!("IP address is not correctly formatted: {v}"))
}

/// docker's `ValidateExtraHost` (`--add-host`): `name:ip`, `name=ip`,
/// `name:[ip]` or `name:host-gateway`, sent as `name:ip`.
pub fn extra_host(v: &str) -> Result<String, String> {
    let (name, mut addr) = match v.split_once('=').or_else(|| v.split_once(':')) {
        Some((n, a)) if !n.is_empty() => (n, a),
        _ => return Err(format!("bad format for add-host: {v:?}")),
    };
    if addr != "host-gateway" {
        if addr.len() > 2 && addr.starts_with('[') && addr.ends_with(']') {
            addr = &addr[1..addr.len() - 1];
        }
        if ip_address(addr).is_err() {
            return Err(format!("invalid IP address in add-host: {addr:?}"));
        }
    }
    Ok(format!("{name}:{addr}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(raw: &str) -> Vec<(String, String, String)> {
        parse_publish(raw).unwrap()
    }

    fn b(port: &str, ip: &str, host: &str) -> Binding {
        (port.into(), ip.into(), host.into())
    }

    #[test]
    fn every_publish_form_like_docker() {
        assert_eq!(one("8080:80"), [b("80/tcp", "", "8080")]);
        assert_eq!(
            one("127.0.0.1:8080:80/udp"),
            [b("80/udp", "127.0.0.1", "8080")]
        );
        assert_eq!(one("127.0.0.1::80"), [b("80/tcp", "127.0.0.1", "")]);
        assert_eq!(one("[::1]:80:80"), [b("80/tcp", "::1", "80")]);
        assert_eq!(one("80/sctp"), [b("80/sctp", "", "")]);
        assert_eq!(
            one("8000-8001:80-81"),
            [b("80/tcp", "", "8000"), b("81/tcp", "", "8001")]
        );
        assert_eq!(one("8000-8010:80"), [b("80/tcp", "", "8000-8010")]);
        assert_eq!(
            one("target=80,published=8080,protocol=udp"),
            [b("80/udp", "", "8080")]
        );
        let err = |raw: &str| parse_publish(raw).unwrap_err().to_string();
        assert_eq!(err("99999:80"), "invalid hostPort: 99999");
        assert_eq!(err("80:99999"), "invalid containerPort: 99999");
        assert_eq!(err("abc"), "invalid containerPort: abc");
        assert_eq!(err("80-79"), "invalid containerPort: 80-79");
        assert_eq!(err("1.2.3:80:80"), "invalid IP address: 1.2.3");
        assert_eq!(err("80/xyz"), "invalid proto: xyz");
        assert_eq!(err("127.0.0.1::"), "no port specified: 127.0.0.1::<empty>");
        assert_eq!(
            err("8000-8002:80-81"),
            "invalid ranges specified for container and host Ports: 80-81 and 8000-8002"
        );
    }

    #[test]
    fn dns_and_extra_hosts_checked_like_docker() {
        assert_eq!(ip_address("9.9.9.9").unwrap(), "9.9.9.9");
        assert_eq!(
            ip_address("x").unwrap_err(),
            "IP address is not correctly formatted: x"
        );
        assert_eq!(extra_host("foo=1.2.3.4").unwrap(), "foo:1.2.3.4");
        assert_eq!(extra_host("v6:[::1]").unwrap(), "v6:::1");
        assert_eq!(extra_host("gw:host-gateway").unwrap(), "gw:host-gateway");
        assert_eq!(
            extra_host("foo").unwrap_err(),
            "bad format for add-host: \"foo\""
        );
        assert_eq!(
            extra_host("foo:bar").unwrap_err(),
            "invalid IP address in add-host: \"bar\""
        );
    }

    #[test]
    fn expose_ranges_and_errors_like_docker() {
        let (exposed, bindings) =
            ports(&["8080:80".into()], &["90-91".into(), "53/udp".into()]).unwrap();
        let keys: Vec<&String> = exposed.keys().collect();
        assert_eq!(keys.len(), 4);
        for k in ["80/tcp", "90/tcp", "91/tcp", "53/udp"] {
            assert!(exposed.contains_key(k), "{k}");
        }
        assert_eq!(
            bindings["80/tcp"],
            json!([{"HostIp": "", "HostPort": "8080"}])
        );
        let err = |e: &str| ports(&[], &[e.into()]).unwrap_err().to_string();
        assert_eq!(err("80:90"), "invalid port format for --expose: 80:90");
        assert_eq!(
            err("abc"),
            "invalid range format for --expose: abc, error: strconv.ParseUint: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            err("90-80"),
            "invalid range format for --expose: 90-80, error: invalid range specified for port: 90-80"
        );
    }
}
