//! Docker's legacy links (`--link name:alias`). On the default bridge a
//! link gives the linking container an `/etc/hosts` line for the target
//! and Docker's `ALIAS_PORT_80_TCP…` environment, taken when it starts;
//! the target must run then. On a user-defined network a link is a name
//! only the linking container resolves (its DNS server answers the alias
//! with the target's address).

use crate::error::{EngineError, Result};
use crate::lifecycle::is_running;
use crate::model::{Container, CreateOptions};
use crate::Engine;

/// `name:alias`, `name` (the alias is the name) or the stored form
/// `/name:/linker/alias` → (name, alias).
pub(crate) fn parse_link(s: &str) -> Result<(String, String)> {
    let (name, alias) = s.split_once(':').unwrap_or((s, s));
    let name = name.trim_start_matches('/');
    let alias = alias.rsplit('/').next().unwrap_or(alias);
    if name.is_empty() || alias.is_empty() {
        return Err(EngineError::invalid(format!("invalid link: {s}")));
    }
    Ok((name.to_string(), alias.to_string()))
}

/// The target of `asker`'s link whose alias is `name`.
pub(crate) fn link_target(links: &[String], name: &str) -> Option<String> {
    links.iter().find_map(|l| {
        let (target, alias) = parse_link(l).ok()?;
        alias.eq_ignore_ascii_case(name).then_some(target)
    })
}

impl Engine {
    /// Checks the links of a create and keeps them as `target:alias`.
    pub(crate) fn resolve_links(&self, opts: &mut CreateOptions) -> Result<()> {
        if opts.host.links.is_empty() {
            return Ok(());
        }
        let mode = opts.host.network_mode.as_str();
        if mode == "host" {
            return Err(EngineError::invalid(
                "conflicting options: host type networking can't be used with links. This would result in undefined behavior",
            ));
        }
        if mode.starts_with("container:") {
            return Err(EngineError::invalid(
                "conflicting options: container type network can't be used with links. This would result in undefined behavior",
            ));
        }
        let mut out = Vec::new();
        for l in &opts.host.links {
            let (name, alias) = parse_link(l)?;
            let target = self
                .container(&name)
                .map_err(|_| EngineError::invalid(format!("could not get container for {name}")))?;
            out.push(format!("{}:{alias}", target.name));
        }
        opts.host.links = out;
        Ok(())
    }

    /// Points the links to the container once named `old` at `new` (a
    /// rename, as Docker keeps links by name).
    pub(crate) fn rename_links(&self, old: &str, new: &str) {
        for e in self.inner.all() {
            let linked = e
                .get()
                .options
                .host
                .links
                .iter()
                .any(|l| parse_link(l).is_ok_and(|(target, _)| target == old));
            if !linked {
                continue;
            }
            let _ = e.modify(self, |r| {
                for l in r.c.options.host.links.iter_mut() {
                    if let Ok((target, alias)) = parse_link(l) {
                        if target == old {
                            *l = format!("{new}:{alias}");
                        }
                    }
                }
                Ok(())
            });
        }
    }

    /// The `/etc/hosts` lines and environment `c`'s links give it on the
    /// default bridge, as it starts; an error names a target that does not
    /// run there.
    pub(crate) fn link_parts(&self, c: &Container) -> Result<(Vec<String>, Vec<String>)> {
        let (mut hosts, mut env) = (Vec::new(), Vec::new());
        if !c.network.endpoints.contains_key("bridge") {
            return Ok((hosts, env));
        }
        for l in &c.options.host.links {
            let (name, alias) = parse_link(l)?;
            let not_running = || {
                EngineError::conflict(format!(
                    "Cannot link to a non running container: /{name} AS /{}/{alias}",
                    c.name
                ))
            };
            let t = self.container(&name).map_err(|_| not_running())?;
            let ip = match t.network.endpoints.get("bridge") {
                Some(ep) if is_running(t.state.status) => ep.ip_address.clone(),
                _ => return Err(not_running()),
            };
            let mut names = vec![alias.clone()];
            let host = crate::spec::hostname(&t);
            for n in [host, t.name.clone()] {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
            hosts.push(format!("{ip}\t{}", names.join(" ")));
            env.extend(link_env(c, &t, &alias, &ip));
        }
        Ok((hosts, env))
    }
}

/// Docker's link variables for `alias` → `t` at `ip`: `ALIAS_NAME`,
/// `ALIAS_PORT` (the lowest port), `ALIAS_PORT_<port>_<PROTO>` with
/// `_ADDR`, `_PORT`, `_PROTO`, and `ALIAS_ENV_<k>` for the target's own
/// environment (but HOME and PATH).
fn link_env(c: &Container, t: &Container, alias: &str, ip: &str) -> Vec<String> {
    let p = alias.to_ascii_uppercase().replace('-', "_");
    let mut env = vec![format!("{p}_NAME=/{}/{alias}", c.name)];
    let mut ports: Vec<(u16, String)> = t
        .exposed_ports
        .iter()
        .filter_map(|e| {
            let (port, proto) = e.split_once('/').unwrap_or((e, "tcp"));
            Some((port.parse().ok()?, proto.to_string()))
        })
        .collect();
    ports.sort();
    if let Some((port, proto)) = ports.first() {
        env.push(format!("{p}_PORT={proto}://{ip}:{port}"));
    }
    for (port, proto) in &ports {
        let k = format!("{p}_PORT_{port}_{}", proto.to_ascii_uppercase());
        env.push(format!("{k}={proto}://{ip}:{port}"));
        env.push(format!("{k}_ADDR={ip}"));
        env.push(format!("{k}_PORT={port}"));
        env.push(format!("{k}_PROTO={proto}"));
    }
    for kv in &t.env {
        if let Some((k, v)) = kv.split_once('=') {
            if k != "HOME" && k != "PATH" {
                env.push(format!("{p}_ENV_{k}={v}"));
            }
        }
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_parse_in_every_form_docker_sends() {
        let p = |s| parse_link(s).unwrap();
        assert_eq!(p("db:data"), ("db".into(), "data".into()));
        assert_eq!(p("db"), ("db".into(), "db".into()));
        assert_eq!(p("/db:/web/data"), ("db".into(), "data".into()));
        assert!(parse_link(":x").is_err());
        assert_eq!(link_target(&["db:data".into()], "DATA"), Some("db".into()));
        assert_eq!(link_target(&["db:data".into()], "db"), None);
    }

    #[test]
    fn link_env_is_dockers() {
        let c = Container {
            name: "web".into(),
            ..Container::default()
        };
        let t = Container {
            name: "db".into(),
            exposed_ports: vec!["6379/tcp".into(), "53/udp".into()],
            env: vec!["PATH=/bin".into(), "MODE=fast".into()],
            ..Container::default()
        };
        let env = link_env(&c, &t, "my-db", "172.17.0.2");
        assert_eq!(
            env,
            [
                "MY_DB_NAME=/web/my-db",
                "MY_DB_PORT=udp://172.17.0.2:53",
                "MY_DB_PORT_53_UDP=udp://172.17.0.2:53",
                "MY_DB_PORT_53_UDP_ADDR=172.17.0.2",
                "MY_DB_PORT_53_UDP_PORT=53",
                "MY_DB_PORT_53_UDP_PROTO=udp",
                "MY_DB_PORT_6379_TCP=tcp://172.17.0.2:6379",
                "MY_DB_PORT_6379_TCP_ADDR=172.17.0.2",
                "MY_DB_PORT_6379_TCP_PORT=6379",
                "MY_DB_PORT_6379_TCP_PROTO=tcp",
                "MY_DB_ENV_MODE=fast",
            ]
        );
    }
}
