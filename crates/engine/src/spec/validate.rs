//! Checks of a container's options before anything is made, with the
//! messages Docker's daemon (or, for what only its CLI checks, its CLI)
//! answers; all are 400s.

use crate::error::{EngineError, Result};
use crate::model::{CreateOptions, HealthConfig, HostOptions, Resources};

/// Docker's smallest memory limit.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// The `--ulimit` names Docker knows.
pub(crate) const ULIMITS: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// The `json-file` driver's options.
const JSON_FILE_OPTS: &[&str] = &[
    "max-size",
    "max-file",
    "compress",
    "labels",
    "labels-regex",
    "env",
    "env-regex",
    "tag",
];

fn bad(msg: impl Into<String>) -> EngineError {
    EngineError::invalid(msg)
}

/// Checks every host option of `opts` (and its working dir and mounts).
pub fn validate_host(opts: &CreateOptions) -> Result<()> {
    let h = &opts.host;
    if let Some(w) = opts.working_dir.as_deref().filter(|w| !w.is_empty()) {
        if !w.starts_with('/') {
            return Err(bad(format!(
                "the working directory '{w}' is invalid, it needs to be an absolute path"
            )));
        }
    }
    restart(h)?;
    modes(opts)?;
    resources(&h.resources)?;
    if h.oom_score_adj < -1000 || h.oom_score_adj > 1000 {
        return Err(bad(format!(
            "Invalid value {}, range for oom score adj is [-1000, 1000]",
            h.oom_score_adj
        )));
    }
    if h.shm_size.is_some_and(|s| s < 0) {
        return Err(bad("SHM size can not be less than 0"));
    }
    super::tweak_caps(&[], &h.cap_add, &h.cap_drop, false)?;
    super::oci::security_opts(&h.security_opt)?;
    for d in &h.devices {
        device(d)?;
    }
    for u in &h.ulimits {
        if !ULIMITS.contains(&u.name.as_str()) {
            return Err(bad(format!("invalid ulimit type: {}", u.name)));
        }
        if u.soft > u.hard {
            return Err(bad(format!(
                "ulimit soft limit must be less than or equal to hard limit: {} > {}",
                u.soft, u.hard
            )));
        }
    }
    for name in h.sysctls.keys() {
        sysctl(name, h)?;
    }
    log_config(h)?;
    for b in h.port_bindings.values().flatten() {
        if !b.host_port.is_empty() && !valid_port_range(&b.host_port) {
            return Err(bad(format!(
                "invalid port specification: {:?}",
                b.host_port
            )));
        }
    }
    crate::mounts::validate(opts)?;
    Ok(())
}

/// `80` or `8000-8010`, within 1..=65535.
fn valid_port_range(s: &str) -> bool {
    let port = |p: &str| p.parse::<u16>().is_ok_and(|n| n > 0);
    match s.split_once('-') {
        Some((a, b)) => port(a) && port(b) && a.parse::<u16>().ok() <= b.parse::<u16>().ok(),
        None => port(s),
    }
}

fn restart(h: &HostOptions) -> Result<()> {
    let r = &h.restart;
    match r.name.as_str() {
        "" | "no" | "always" | "unless-stopped" | "on-failure" => {}
        other => return Err(bad(format!("invalid restart policy '{other}'"))),
    }
    if r.maximum_retry_count < 0 {
        return Err(bad("maximum retry count cannot be negative"));
    }
    if r.maximum_retry_count > 0 && r.name != "on-failure" {
        return Err(bad(format!(
            "maximum retry count cannot be used with restart policy '{}'",
            r.name
        )));
    }
    if h.auto_remove && !matches!(r.name.as_str(), "" | "no") {
        return Err(bad(
            "can't create 'AutoRemove' container with restart policy",
        ));
    }
    Ok(())
}

/// Namespace modes and what conflicts with them.
fn modes(opts: &CreateOptions) -> Result<()> {
    let h = &opts.host;
    let net = h.network_mode.as_str();
    let has_hostname = opts.hostname.as_deref().is_some_and(|s| !s.is_empty());
    match net {
        "" | "default" | "bridge" | "none" | "host" => {}
        n if n.starts_with("container:") => {
            if n.len() == "container:".len() {
                return Err(bad(format!("invalid network mode: {n}")));
            }
            if has_hostname {
                return Err(bad("conflicting options: hostname and the network mode"));
            }
            if !h.port_bindings.is_empty() || h.publish_all_ports {
                return Err(bad(
                    "conflicting options: port publishing and the container type network mode",
                ));
            }
            if !h.dns.is_empty() || !h.dns_search.is_empty() || !h.dns_options.is_empty() {
                return Err(bad("conflicting options: dns and the network mode"));
            }
            if !h.extra_hosts.is_empty() {
                return Err(bad(
                    "conflicting options: custom host-to-IP mapping and the network mode",
                ));
            }
        }
        // A user-defined network: the engine looks it up
        // (`Engine::resolve_networks`).
        _ => {}
    }
    match h.ipc_mode.as_str() {
        "" | "private" | "shareable" | "host" | "none" => {}
        m if m.len() > "container:".len() && m.starts_with("container:") => {}
        m => return Err(bad(format!("Invalid IPC mode: {m}"))),
    }
    match h.pid_mode.as_str() {
        "" | "host" => {}
        m if m.len() > "container:".len() && m.starts_with("container:") => {}
        m => return Err(bad(format!("Invalid PID mode: {m}"))),
    }
    match h.uts_mode.as_str() {
        "" => {}
        "host" if has_hostname => {
            return Err(bad("conflicting options: hostname and the UTS mode"))
        }
        "host" => {}
        m => return Err(bad(format!("Invalid UTS mode: {m}"))),
    }
    Ok(())
}

fn resources(r: &Resources) -> Result<()> {
    if r.memory != 0 && r.memory < MIN_MEMORY {
        return Err(bad("Minimum memory limit allowed is 6MB"));
    }
    if r.memory_swap > 0 && r.memory == 0 {
        return Err(bad(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ));
    }
    if r.memory > 0 && r.memory_swap > 0 && r.memory_swap < r.memory {
        return Err(bad(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    if r.memory_reservation != 0 && r.memory_reservation < MIN_MEMORY {
        return Err(bad("Minimum memory reservation allowed is 6MB"));
    }
    if r.memory > 0 && r.memory_reservation > 0 && r.memory < r.memory_reservation {
        return Err(bad(
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        ));
    }
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get()) as i64;
    if r.nano_cpus > 0 && r.cpu_quota > 0 {
        return Err(bad(
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        ));
    }
    if r.nano_cpus > 0 && r.cpu_period > 0 {
        return Err(bad(
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ));
    }
    if r.nano_cpus < 0
        || r.nano_cpus > ncpu * 1_000_000_000
        || (r.nano_cpus > 0 && r.nano_cpus < 10_000_000)
    {
        return Err(bad(format!(
            "Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
        )));
    }
    if r.cpu_period != 0 && !(1000..=1_000_000).contains(&r.cpu_period) {
        return Err(bad(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ));
    }
    if r.cpu_quota > 0 && r.cpu_quota < 1000 {
        return Err(bad("CPU cfs quota can not be less than 1ms (i.e. 1000)"));
    }
    cpuset(
        &r.cpuset_cpus,
        "cpus",
        "CPUs",
        &online("/sys/devices/system/cpu/online", "0"),
    )?;
    cpuset(
        &r.cpuset_mems,
        "mems",
        "memory nodes",
        &online("/sys/devices/system/node/online", "0"),
    )?;
    if r.blkio_weight != 0 && !(10..=1000).contains(&r.blkio_weight) {
        return Err(bad("Range of blkio weight is from 10 to 1000"));
    }
    Ok(())
}

fn online(path: &str, default: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| default.to_string())
}

/// Parses a cpuset list (`0-2,4`) into its members.
pub(crate) fn parse_list(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if a > b || b - a > 4096 {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

fn cpuset(value: &str, field: &str, what: &str, available: &str) -> Result<()> {
    if value.is_empty() {
        return Ok(());
    }
    let Some(wanted) = parse_list(value) else {
        return Err(bad(format!(
            "Invalid value {value} for cpuset {field}: invalid format: {value}"
        )));
    };
    let have = parse_list(available).unwrap_or_default();
    if wanted.iter().any(|c| !have.contains(c)) {
        return Err(bad(format!(
            "Requested {what} are not available - requested {value}, available: {available}"
        )));
    }
    Ok(())
}

fn device(d: &crate::model::DeviceMapping) -> Result<()> {
    if let Some(m) = d
        .cgroup_permissions
        .chars()
        .find(|c| !matches!(c, 'r' | 'w' | 'm'))
    {
        let _ = m;
        return Err(bad(format!("bad mode specified: {}", d.cgroup_permissions)));
    }
    if !d.path_in_container.is_empty() && !d.path_in_container.starts_with('/') {
        return Err(bad(format!(
            "{} is not an absolute path",
            d.path_in_container
        )));
    }
    if let Err(e) = std::fs::metadata(&d.path_on_host) {
        return Err(bad(format!(
            "error gathering device information while adding custom device {:?}: {}",
            d.path_on_host,
            super::oci::errno_text(&e)
        )));
    }
    Ok(())
}

fn sysctl(name: &str, h: &HostOptions) -> Result<()> {
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if IPC.contains(&name) || name.starts_with("fs.mqueue.") {
        if h.ipc_mode == "host" {
            return Err(bad(format!(
                "sysctl {name:?} is not allowed in the hosts ipc namespace"
            )));
        }
    } else if name.starts_with("net.") {
        if h.network_mode == "host" {
            return Err(bad(format!(
                "sysctl {name:?} not allowed in host network namespace"
            )));
        }
    } else {
        return Err(bad(format!(
            "sysctl {name:?} is not in a separate kernel namespace"
        )));
    }
    Ok(())
}

fn log_config(h: &HostOptions) -> Result<()> {
    let l = &h.log_config;
    match l.driver.as_str() {
        "" | "json-file" => {
            for (k, v) in &l.options {
                if !JSON_FILE_OPTS.contains(&k.as_str()) {
                    return Err(bad(format!(
                        "unknown log opt '{k}' for json-file log driver"
                    )));
                }
                if k == "max-size" && !matches!(parse_size(v), Ok(s) if s >= 0) {
                    return Err(bad(format!(
                        "failed to initialize logging driver: invalid size: '{v}'"
                    )));
                }
                if k == "max-file" && !matches!(v.parse::<i64>(), Ok(n) if n >= 1) {
                    return Err(bad(
                        "failed to initialize logging driver: max-file cannot be less than 1",
                    ));
                }
            }
        }
        "none" => {
            if let Some(k) = l.options.keys().next() {
                return Err(bad(format!("unknown log opt '{k}' for none log driver")));
            }
        }
        d => {
            return Err(bad(format!(
                "error looking up logging plugin {d}: plugin \"{d}\" not found"
            )))
        }
    }
    Ok(())
}

/// Checks a health check's timings.
pub(crate) fn healthcheck(h: &HealthConfig) -> Result<()> {
    const MS: i64 = 1_000_000;
    let short = |v: i64| v != 0 && v < MS;
    if short(h.interval) {
        return Err(bad("Interval in Healthcheck cannot be less than 1ms"));
    }
    if short(h.timeout) {
        return Err(bad("Timeout in Healthcheck cannot be less than 1ms"));
    }
    if h.retries < 0 {
        return Err(bad("Retries in Healthcheck cannot be negative"));
    }
    if short(h.start_period) {
        return Err(bad("StartPeriod in Healthcheck cannot be less than 1ms"));
    }
    if short(h.start_interval) {
        return Err(bad("StartInterval in Healthcheck cannot be less than 1ms"));
    }
    Ok(())
}

/// Docker's `RAMInBytes`: `1024`, `10k`, `10m`, `1.5g`, `10MB`, `2GiB`…
/// (binary units); an error names the text.
pub fn parse_size(s: &str) -> Result<i64> {
    let err = || bad(format!("invalid size: '{s}'"));
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| err())?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(&unit);
    let mult: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return Err(err()),
    };
    Ok((n * mult) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_docker() {
        assert_eq!(parse_size("10m").unwrap(), 10 << 20);
        assert_eq!(parse_size("1k").unwrap(), 1024);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("512").unwrap(), 512);
        assert_eq!(
            parse_size("abc").unwrap_err().message,
            "invalid size: 'abc'"
        );
    }

    #[test]
    fn port_ranges() {
        assert!(valid_port_range("80") && valid_port_range("8000-8010"));
        assert!(!valid_port_range("abc") && !valid_port_range("0") && !valid_port_range("9-1"));
        assert!(!valid_port_range("70000"));
    }

    #[test]
    fn lists_parse() {
        assert_eq!(parse_list("0-2,5").unwrap(), [0, 1, 2, 5]);
        assert!(parse_list("abc").is_none());
        assert!(parse_list("3-1").is_none());
    }
}
