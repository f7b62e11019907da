//! The `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` files Docker
//! bind-mounts into every container, written into the container's
//! directory, and the container's host name.

use std::path::{Path, PathBuf};

use crate::error::{EngineError, Result};
use crate::model::Container;

/// The UTS hostname of `c`: `--hostname`, else the host's with
/// `--network host` or `--uts host` (Docker), else the first 12 digits
/// of its id.
pub fn hostname(c: &Container) -> String {
    if let Some(h) = c.options.hostname.as_deref().filter(|h| !h.is_empty()) {
        return h.to_string();
    }
    if c.options.host.network_mode == "host" || c.options.host.uts_mode == "host" {
        if let Ok(h) = rustix::system::uname().nodename().to_str() {
            return h.to_string();
        }
    }
    c.id.chars().take(12).collect()
}

/// The paths of `c`'s `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf`
/// sources: its fields, or `dir/<name>` where they are empty.
pub fn etc_paths(dir: &Path, c: &Container) -> [(&'static str, PathBuf); 3] {
    let or = |p: &PathBuf, name: &str| {
        if p.as_os_str().is_empty() {
            dir.join(name)
        } else {
            p.clone()
        }
    };
    [
        ("/etc/hostname", or(&c.hostname_path, "hostname")),
        ("/etc/hosts", or(&c.hosts_path, "hosts")),
        ("/etc/resolv.conf", or(&c.resolv_conf_path, "resolv.conf")),
    ]
}

/// Writes `hostname`, `hosts` and `resolv.conf` for `c` into `dir`
/// (`<data-root>/containers/<id>/`) at the paths `c.hostname_path`,
/// `c.hosts_path` and `c.resolv_conf_path` (when empty: `dir/<name>`).
pub fn write_etc_files(dir: &Path, c: &Container) -> Result<()> {
    write_etc_files_with(dir, c, &[])
}

/// [`write_etc_files`] with `links`, the `/etc/hosts` lines of its legacy
/// links (after `--add-host`'s, as Docker writes them).
pub fn write_etc_files_with(dir: &Path, c: &Container, links: &[String]) -> Result<()> {
    let io = |what: &Path| {
        let what = what.display().to_string();
        move |e| EngineError::system(format!("failed to write {what}"), e)
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let host = &c.options.host;
    let name = hostname(c);
    let mut hosts = match host.network_mode.as_str() {
        // Docker copies the host's file unless --add-host asks for more.
        "host" if host.extra_hosts.is_empty() => {
            std::fs::read_to_string("/etc/hosts").unwrap_or_default()
        }
        _ => String::from(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
             fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n\
             ff02::2\tip6-allrouters\n",
        ),
    };
    for extra in &host.extra_hosts {
        // `name:ip` (Docker's CLI form) or `name=ip`.
        if let Some((n, ip)) = extra.split_once([':', '=']) {
            hosts.push_str(&format!("{ip}\t{n}\n"));
        }
    }
    for l in links {
        hosts.push_str(l);
        hosts.push('\n');
    }
    // Its own address last (its first network's; loopback without one),
    // none with `none` or `host`.
    if host.network_mode != "none" && host.network_mode != "host" {
        let own = c
            .network
            .endpoints
            .get(&c.network.primary)
            .map_or("127.0.0.1", |ep| ep.ip_address.as_str());
        let domain = c.options.domainname.as_deref().unwrap_or_default();
        if domain.is_empty() {
            hosts.push_str(&format!("{own}\t{name}\n"));
        } else {
            hosts.push_str(&format!("{own}\t{name}.{domain} {name}\n"));
        }
    }
    let embedded_dns = c
        .network
        .endpoints
        .values()
        .any(|ep| !ep.dns_names.is_empty());
    let resolv = if embedded_dns {
        embedded_resolv_conf(host)
    } else {
        resolv_conf(host)
    };
    let [(_, hostname_path), (_, hosts_path), (_, resolv_path)] = etc_paths(dir, c);
    for (path, content) in [
        (hostname_path, format!("{name}\n")),
        (hosts_path, hosts),
        (resolv_path, resolv),
    ] {
        std::fs::write(&path, content).map_err(io(&path))?;
    }
    Ok(())
}

/// The resolv.conf of a container on a user-defined network: its DNS
/// server (which forwards to `--dns` or the host's servers), the host's
/// or `--dns-search` search list, `ndots:0` and `--dns-option`.
fn embedded_resolv_conf(host: &crate::model::HostOptions) -> String {
    let mut out = String::new();
    if host.dns_search.is_empty() {
        let base = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        for line in base.lines() {
            if matches!(line.split_whitespace().next(), Some("search" | "domain")) {
                out.push_str(line);
                out.push('\n');
            }
        }
    } else {
        out.push_str(&format!("search {}\n", host.dns_search.join(" ")));
    }
    out.push_str("nameserver 127.0.0.11\n");
    let mut options = vec!["ndots:0".to_string()];
    options.extend(
        host.dns_options
            .iter()
            .filter(|o| !o.starts_with("ndots:"))
            .cloned(),
    );
    if let Some(n) = host.dns_options.iter().find(|o| o.starts_with("ndots:")) {
        options[0] = n.clone();
    }
    out.push_str(&format!("options {}\n", options.join(" ")));
    out
}

/// The container's resolv.conf as Docker writes it: without `--dns`,
/// `--dns-search` or `--dns-option`, the host's file with its loopback
/// name servers left out (they are unreachable from a namespace of its
/// own); with any of them, a file built from them and the host's values
/// for the rest: `search`, then `nameserver` lines, then `options`.
/// Without a usable name server, Google's (Docker's fallback).
pub(crate) fn resolv_conf(host: &crate::model::HostOptions) -> String {
    let base = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let own_netns = host.network_mode != "host";
    let usable = |ns: &str| !own_netns || !(ns.starts_with("127.") || ns == "::1");
    let words = |key: &str| -> Vec<String> {
        base.lines()
            .filter_map(|l| l.split_once(char::is_whitespace))
            .filter(|(k, _)| *k == key)
            .flat_map(|(_, v)| v.split_whitespace().map(str::to_string))
            .collect()
    };
    let fallback = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
    if host.dns.is_empty() && host.dns_search.is_empty() && host.dns_options.is_empty() {
        let mut out = String::new();
        for line in base.lines() {
            let mut w = line.split_whitespace();
            if w.next() == Some("nameserver") && !w.next().is_some_and(usable) {
                continue;
            }
            out.push_str(line);
            out.push('\n');
        }
        if own_netns && !out.lines().any(|l| l.starts_with("nameserver")) {
            out.push_str(fallback);
        }
        return out;
    }
    let servers: Vec<String> = if host.dns.is_empty() {
        words("nameserver")
            .into_iter()
            .filter(|n| usable(n))
            .collect()
    } else {
        host.dns.clone()
    };
    let search = if host.dns_search.is_empty() {
        words("search")
    } else {
        host.dns_search.clone()
    };
    let options = if host.dns_options.is_empty() {
        words("options")
    } else {
        host.dns_options.clone()
    };
    let mut out = String::new();
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    for ns in &servers {
        out.push_str(&format!("nameserver {ns}\n"));
    }
    if servers.is_empty() {
        out.push_str(fallback);
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(network: &str) -> Container {
        let mut c = Container {
            id: "0123456789abcdef".repeat(4),
            ..Container::default()
        };
        c.options.host.network_mode = network.into();
        c
    }

    #[test]
    fn etc_files_follow_docker() {
        let tmp = tempfile::tempdir().unwrap();
        let mut c = container("none");
        c.options.host.extra_hosts = vec!["db:10.0.0.2".into()];
        c.options.host.dns = vec!["9.9.9.9".into()];
        c.options.host.dns_search = vec!["example.com".into()];
        c.options.host.dns_options = vec!["ndots:2".into()];
        write_etc_files(tmp.path(), &c).unwrap();
        let read = |n: &str| std::fs::read_to_string(tmp.path().join(n)).unwrap();
        assert_eq!(read("hostname"), "0123456789ab\n");
        let hosts = read("hosts");
        assert!(hosts.starts_with("127.0.0.1\tlocalhost\n"), "{hosts}");
        assert!(
            !hosts.contains("0123456789ab"),
            "none lists no own address: {hosts}"
        );
        assert!(hosts.ends_with("10.0.0.2\tdb\n"), "{hosts}");
        let resolv = read("resolv.conf");
        assert!(!resolv
            .lines()
            .any(|l| l.starts_with("nameserver") && l != "nameserver 9.9.9.9"));
        assert_eq!(
            resolv,
            "search example.com\nnameserver 9.9.9.9\noptions ndots:2\n"
        );

        let mut c = container("bridge");
        c.options.hostname = Some("web".into());
        c.options.domainname = Some("example.org".into());
        write_etc_files(tmp.path(), &c).unwrap();
        assert!(read("hosts").ends_with("127.0.0.1\tweb.example.org web\n"));
        assert_eq!(read("hostname"), "web\n");
        assert_eq!(
            hostname(&container("host")),
            rustix::system::uname().nodename().to_str().unwrap()
        );
    }
}
