//! The OCI spec of a container: the image and its create options resolved
//! into a process ([`resolve`], at create time, validating every option
//! with Docker's messages), the `/etc/hostname`, `/etc/hosts` and
//! `/etc/resolv.conf` files ([`write_etc_files`]) and the runtime's
//! config.json ([`container_spec`], at each start).

mod caps;
mod devices;
mod mounts;
mod oci;
mod resources;
mod seccomp;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use wharf_build::dispatch::{get_env, set_env};
use wharf_image::user::ResolvedUser;

use crate::error::{EngineError, Result};
use crate::model::{Container, CreateOptions, HealthConfig};

pub use caps::{all_caps, normalize_cap, tweak_caps};
pub(crate) use oci::errno_text;
pub use validate::{parse_size, validate_host};

/// The process and metadata of a container, resolved from its options and
/// its image's config as `docker create` does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolved {
    /// Executable: the first word of entrypoint + cmd.
    pub path: String,
    /// The rest of entrypoint + cmd.
    pub args: Vec<String>,
    /// The config's environment: the options' entries, then the image's
    /// whose keys the options do not set (Docker's merge). PATH, HOSTNAME,
    /// TERM and HOME are added for the process by [`container_spec`].
    pub env: Vec<String>,
    /// Working directory: the options', else the image's; empty when
    /// neither sets one (the process then runs in `/`).
    pub working_dir: String,
    /// User as given (resolved against the rootfs at start).
    pub user: String,
    /// Image labels overlaid with the options'.
    pub labels: BTreeMap<String, String>,
    /// Stop signal (`SIGTERM` by default).
    pub stop_signal: String,
    /// The options' health check, else the image's.
    pub healthcheck: Option<HealthConfig>,
    /// Exposed ports, image's and options' (`80/tcp`), sorted.
    pub exposed_ports: Vec<String>,
    /// Anonymous volume paths: the image's VOLUMEs and the options'.
    pub volumes: Vec<String>,
}

/// Resolves and validates `opts` against `image`: every option is checked
/// here with Docker's wording (the API answers 400).
pub fn resolve(opts: &CreateOptions, image: &wharf_image::store::Image) -> Result<Resolved> {
    let cfg = image.config.config.clone().unwrap_or_default();
    validate_host(opts)?;
    let (entrypoint, cmd) = entrypoint_and_cmd(opts, &cfg);
    let mut argv: Vec<String> = entrypoint;
    argv.extend(cmd);
    if argv.is_empty() {
        return Err(EngineError::invalid("No command specified"));
    }
    let path = argv.remove(0);

    let mut env: Vec<String> = Vec::new();
    for kv in &opts.env {
        // A bare `KEY` has no value on the daemon's side: the client
        // resolves it; the daemon drops it.
        if let Some((k, v)) = kv.split_once('=') {
            if k.is_empty() {
                return Err(EngineError::invalid(format!(
                    "invalid environment variable: {kv}"
                )));
            }
            set_env(&mut env, k, v);
        }
    }
    for kv in cfg.env.iter().flatten() {
        let key = kv.split_once('=').map_or(kv.as_str(), |(k, _)| k);
        if get_env(&env, key).is_none() && kv.contains('=') {
            env.push(kv.clone());
        }
    }

    let working_dir = match opts.working_dir.as_deref().filter(|w| !w.is_empty()) {
        Some(w) => w.to_string(),
        // Unset stays empty, as in Docker's Config; the process runs in `/`.
        None => cfg.working_dir.clone(),
    };
    let mut labels = cfg.labels.clone().unwrap_or_default();
    labels.extend(opts.labels.clone());
    let stop_signal = opts
        .stop_signal
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| Some(cfg.stop_signal.clone()).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "SIGTERM".to_string());
    if wharf_runtime::lifecycle::parse_signal(&stop_signal).is_err() {
        return Err(EngineError::invalid(format!(
            "Invalid signal: {stop_signal}"
        )));
    }
    let healthcheck = match &opts.healthcheck {
        Some(h) if !h.test.is_empty() => Some(h.clone()),
        // Only durations given: the image's test with the options' timings.
        Some(h) => image_health(&cfg).map(|img| HealthConfig {
            interval: pick(h.interval, img.interval),
            timeout: pick(h.timeout, img.timeout),
            retries: pick(h.retries, img.retries),
            start_period: pick(h.start_period, img.start_period),
            start_interval: pick(h.start_interval, img.start_interval),
            test: img.test,
        }),
        None => image_health(&cfg),
    };
    if let Some(h) = &healthcheck {
        validate::healthcheck(h)?;
    }
    let mut exposed_ports: Vec<String> = cfg
        .exposed_ports
        .iter()
        .flat_map(|m| m.keys().cloned())
        .chain(opts.exposed_ports.iter().map(|p| normalize_port(p)))
        .collect();
    exposed_ports.sort();
    exposed_ports.dedup();
    let mut volumes: Vec<String> = cfg.volumes.iter().flat_map(|m| m.keys().cloned()).collect();
    for v in &opts.volumes {
        if !volumes.contains(v) {
            volumes.push(v.clone());
        }
    }
    Ok(Resolved {
        path,
        args: argv,
        env,
        working_dir,
        user: opts.user.clone().unwrap_or_else(|| cfg.user.clone()),
        labels,
        stop_signal,
        healthcheck,
        exposed_ports,
        volumes,
    })
}

/// The warnings Docker's create answers with for `opts` on this host
/// (options accepted but without effect).
pub fn warnings(opts: &CreateOptions) -> Vec<String> {
    let h = &opts.host;
    let mut out = Vec::new();
    if h.resources.blkio_weight != 0 && !resources::blkio_weight_supported() {
        out.push(
            "Your kernel does not support Block I/O weight or the cgroup is not mounted. \
             Weight discarded."
                .to_string(),
        );
    }
    if h.resources.memory > 0 && h.resources.memory_swap != 0 && !resources::swap_supported() {
        out.push(
            "Your kernel does not support swap limit capabilities or the cgroup is not \
             mounted. Memory limited without swap."
                .to_string(),
        );
    }
    if h.resources.oom_kill_disable && h.resources.memory == 0 {
        out.push(
            "OOM killer is disabled for the container, but no memory limit is set, this can \
             result in the system running out of resources."
                .to_string(),
        );
    }
    if h.network_mode == "host" && (!h.port_bindings.is_empty() || h.publish_all_ports) {
        out.push("Published ports are discarded when using host network mode".to_string());
    }
    out
}

/// Docker's merge of entrypoint and cmd: an entrypoint given by the user
/// (even an empty one) runs with the user's cmd alone; otherwise the
/// image's entrypoint runs with the user's cmd, or the image's when the
/// user gave none.
pub(crate) fn entrypoint_and_cmd(
    opts: &CreateOptions,
    cfg: &wharf_image::config::RunConfig,
) -> (Vec<String>, Vec<String>) {
    match &opts.entrypoint {
        Some(ep) => (
            ep.iter().filter(|s| !s.is_empty()).cloned().collect(),
            opts.cmd.clone().unwrap_or_default(),
        ),
        None => {
            let cmd = match &opts.cmd {
                Some(c) if !c.is_empty() => c.clone(),
                _ => cfg.cmd.clone().unwrap_or_default(),
            };
            (cfg.entrypoint.clone().unwrap_or_default(), cmd)
        }
    }
}

fn pick(mine: i64, theirs: i64) -> i64 {
    if mine != 0 {
        mine
    } else {
        theirs
    }
}

fn image_health(cfg: &wharf_image::config::RunConfig) -> Option<HealthConfig> {
    cfg.healthcheck.as_ref().map(|h| HealthConfig {
        test: h.test.clone(),
        interval: h.interval,
        timeout: h.timeout,
        retries: h.retries,
        start_period: h.start_period,
        start_interval: h.start_interval,
    })
}

fn normalize_port(p: &str) -> String {
    if p.contains('/') {
        p.to_string()
    } else {
        format!("{p}/tcp")
    }
}

/// The UTS hostname of `c`: `--hostname`, else the host's with
/// `--network host` (Docker), else the first 12 digits of its id.
pub fn hostname(c: &Container) -> String {
    if let Some(h) = c.options.hostname.as_deref().filter(|h| !h.is_empty()) {
        return h.to_string();
    }
    if c.options.host.network_mode == "host" {
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
    let io = |what: &Path| {
        let what = what.display().to_string();
        move |e| EngineError::system(format!("failed to write {what}"), e)
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let host = &c.options.host;
    let name = hostname(c);
    let mut hosts = match host.network_mode.as_str() {
        "host" => std::fs::read_to_string("/etc/hosts").unwrap_or_default(),
        _ => {
            let mut h = String::from(
                "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
                 fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n\
                 ff02::2\tip6-allrouters\n",
            );
            let domain = c.options.domainname.as_deref().unwrap_or_default();
            // With `none` Docker lists no address of the container's own.
            if host.network_mode != "none" {
                if domain.is_empty() {
                    h.push_str(&format!("127.0.0.1\t{name}\n"));
                } else {
                    h.push_str(&format!("127.0.0.1\t{name}.{domain} {name}\n"));
                }
            }
            h
        }
    };
    for extra in &host.extra_hosts {
        // `name:ip` (Docker's CLI form) or `name=ip`.
        if let Some((n, ip)) = extra.split_once([':', '=']) {
            hosts.push_str(&format!("{ip}\t{n}\n"));
        }
    }
    let resolv = resolv_conf(host);
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

/// The container's resolv.conf: the host's, with `--dns`, `--dns-search`
/// and `--dns-option` replacing its lines (Docker). Loopback name servers
/// of the host are useless in a new network namespace and are dropped.
fn resolv_conf(host: &crate::model::HostOptions) -> String {
    let base = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let own_netns = host.network_mode != "host";
    let mut out = String::new();
    for line in base.lines() {
        let word = line.split_whitespace().next().unwrap_or_default();
        let replaced = (word == "nameserver" && !host.dns.is_empty())
            || (matches!(word, "search" | "domain") && !host.dns_search.is_empty())
            || (word == "options" && !host.dns_options.is_empty());
        let loopback = word == "nameserver"
            && own_netns
            && line
                .split_whitespace()
                .nth(1)
                .is_some_and(|a| a.starts_with("127.") || a == "::1");
        if !replaced && !loopback {
            out.push_str(line);
            out.push('\n');
        }
    }
    for ns in &host.dns {
        out.push_str(&format!("nameserver {ns}\n"));
    }
    if !host.dns_search.is_empty() {
        out.push_str(&format!("search {}\n", host.dns_search.join(" ")));
    }
    if !host.dns_options.is_empty() {
        out.push_str(&format!("options {}\n", host.dns_options.join(" ")));
    }
    out
}

/// The runtime spec of `c`, whose root filesystem is mounted at `rootfs`
/// and whose user resolved to `user`. `peer_pid` maps the container named in
/// a `container:<name|id>` network/ipc/pid mode to the host pid of its
/// running init (an error, e.g. 409, when it does not run); the spec joins
/// that process's namespaces by `/proc/<pid>/ns/<kind>`. The working
/// directory is created in `rootfs` when missing (Docker).
pub fn container_spec(
    c: &Container,
    rootfs: &Path,
    user: &ResolvedUser,
    peer_pid: &dyn Fn(&str) -> Result<i32>,
) -> Result<Spec> {
    oci::build(c, rootfs, user, peer_pid)
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
        assert!(resolv.contains("nameserver 9.9.9.9\nsearch example.com\noptions ndots:2\n"));

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
