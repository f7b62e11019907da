//! A container in Docker's shapes: `GET /containers/{id}/json` (inspect)
//! and the entries of `GET /containers/json` (list), with the list's
//! filters.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use wharf_engine::model::{Container, MountPoint, Status};
use wharf_engine::Engine;

use crate::http::ApiError;

/// Go's zero time as Docker prints it.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Nanoseconds since the epoch of an RFC 3339 time (None for Go's zero
/// time or garbage).
pub fn nanos(t: &str) -> Option<i64> {
    if t.is_empty() || t.starts_with("0001-") {
        return None;
    }
    let t = OffsetDateTime::parse(t, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos()).ok()
}

fn now_nanos() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

/// Go's `units.HumanDuration`.
pub fn human_duration(nanos: i64) -> String {
    let secs = nanos / 1_000_000_000;
    if secs < 1 {
        return "Less than a second".into();
    }
    if secs == 1 {
        return "1 second".into();
    }
    if secs < 60 {
        return format!("{secs} seconds");
    }
    let minutes = secs / 60;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (nanos as f64 / 3.6e12).round() as i64;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", hours / 24 / 365)
}

/// The `Status` column: `Up 3 seconds`, `Exited (0) 2 minutes ago`, …
pub fn status_text(c: &Container) -> String {
    let s = &c.state;
    let now = now_nanos();
    let since = |t: &str| human_duration(nanos(t).map_or(0, |t| now - t));
    match s.status {
        Status::Running | Status::Paused => {
            let up = since(&s.started_at);
            if s.status == Status::Paused {
                return format!("Up {up} (Paused)");
            }
            match &s.health {
                Some(h) if h.status == "starting" => format!("Up {up} (health: starting)"),
                Some(h) if !h.status.is_empty() => format!("Up {up} ({})", h.status),
                _ => format!("Up {up}"),
            }
        }
        Status::Restarting => format!("Restarting ({}) {} ago", s.exit_code, since(&s.finished_at)),
        Status::Removing => "Removal In Progress".into(),
        Status::Dead => "Dead".into(),
        Status::Created => "Created".into(),
        Status::Exited => {
            if nanos(&s.started_at).is_none() {
                "Created".into()
            } else {
                format!("Exited ({}) {} ago", s.exit_code, since(&s.finished_at))
            }
        }
    }
}

fn time_or_zero(t: &str) -> &str {
    if t.is_empty() {
        ZERO_TIME
    } else {
        t
    }
}

fn strs(v: &[String]) -> Value {
    json!(v)
}

fn strs_or_null(v: &[String]) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        json!(v)
    }
}

fn key_set(keys: &[String]) -> Value {
    let m: Map<String, Value> = keys.iter().map(|k| (k.clone(), json!({}))).collect();
    Value::Object(m)
}

/// The network name a mode shows as.
fn network_name(mode: &str) -> &str {
    match mode {
        "" | "default" => "bridge",
        m => m,
    }
}

fn endpoint() -> Value {
    json!({
        "IPAMConfig": null, "Links": null, "Aliases": null, "NetworkID": "",
        "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
        "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "MacAddress": "", "DriverOpts": null
    })
}

fn networks(c: &Container) -> Value {
    let mode = &c.options.host.network_mode;
    if mode.starts_with("container:") {
        return json!({});
    }
    json!({ network_name(mode): endpoint() })
}

/// One `Mounts` entry.
pub fn mount_json(m: &MountPoint) -> Value {
    let mut v = json!({
        "Type": m.kind,
        "Source": m.source.to_string_lossy(),
        "Destination": m.destination,
        "Mode": m.mode,
        "RW": m.rw,
        "Propagation": m.propagation,
    });
    if m.kind == "volume" {
        v["Name"] = json!(m.name.clone().unwrap_or_default());
        v["Driver"] = json!(m.driver.clone().unwrap_or_else(|| "local".into()));
    }
    v
}

/// Entrypoint and Cmd as Docker shows them: the entrypoint the container
/// runs with (the user's, else the image's) and the rest of its argv.
fn entrypoint_and_cmd(engine: &Engine, c: &Container) -> (Value, Value) {
    let image_ep = || -> Vec<String> {
        c.image_id
            .parse()
            .ok()
            .and_then(|d| engine.store().image_by_id(&d).ok())
            .and_then(|i| i.config.config.and_then(|rc| rc.entrypoint))
            .unwrap_or_default()
    };
    let ep = match &c.options.entrypoint {
        Some(e) => e.clone(),
        None => image_ep(),
    };
    let mut argv = Vec::with_capacity(c.args.len() + 1);
    if !c.path.is_empty() {
        argv.push(c.path.clone());
    }
    argv.extend(c.args.iter().cloned());
    let k = if argv.starts_with(&ep) { ep.len() } else { 0 };
    let cmd = &argv[k..];
    let ep_v = if k == 0 { Value::Null } else { json!(ep) };
    let cmd_v = if cmd.is_empty() && c.options.cmd.is_none() {
        Value::Null
    } else {
        json!(cmd)
    };
    (ep_v, cmd_v)
}

fn health_json(c: &Container) -> Option<Value> {
    let h = c.state.health.as_ref()?;
    let log: Vec<Value> = h
        .log
        .iter()
        .map(|p| {
            json!({"Start": p.start, "End": p.end, "ExitCode": p.exit_code, "Output": p.output})
        })
        .collect();
    Some(json!({"Status": h.status, "FailingStreak": h.failing_streak, "Log": log}))
}

/// `GET /containers/{id}/json`.
pub fn inspect(engine: &Engine, c: &Container) -> Value {
    let o = &c.options;
    let h = &o.host;
    let r = &h.resources;
    let s = &c.state;
    let running = matches!(s.status, Status::Running | Status::Paused);
    let mut state = json!({
        "Status": s.status.as_str(),
        "Running": running,
        "Paused": s.status == Status::Paused,
        "Restarting": s.status == Status::Restarting,
        "OOMKilled": s.oom_killed,
        "Dead": s.status == Status::Dead,
        "Pid": s.pid,
        "ExitCode": s.exit_code,
        "Error": s.error,
        "StartedAt": time_or_zero(&s.started_at),
        "FinishedAt": time_or_zero(&s.finished_at),
    });
    if let Some(hj) = health_json(c) {
        state["Health"] = hj;
    }
    let (entrypoint, cmd) = entrypoint_and_cmd(engine, c);
    let mut config = json!({
        "Hostname": o.hostname.clone().unwrap_or_else(|| c.id.chars().take(12).collect()),
        "Domainname": o.domainname.clone().unwrap_or_default(),
        "User": c.user,
        "AttachStdin": o.attach_stdin,
        "AttachStdout": o.attach_stdout,
        "AttachStderr": o.attach_stderr,
        "Tty": o.tty,
        "OpenStdin": o.open_stdin,
        "StdinOnce": o.stdin_once,
        "Env": strs_or_null(&c.env),
        "Cmd": cmd,
        "Image": o.image,
        "Volumes": if o.volumes.is_empty() { Value::Null } else { key_set(&o.volumes) },
        "WorkingDir": c.working_dir,
        "Entrypoint": entrypoint,
        "OnBuild": null,
        "Labels": c.labels,
    });
    if !c.exposed_ports.is_empty() {
        config["ExposedPorts"] = key_set(&c.exposed_ports);
    }
    if o.stop_signal.is_some() || !matches!(c.stop_signal.as_str(), "" | "SIGTERM") {
        config["StopSignal"] = json!(c.stop_signal);
    }
    if let Some(t) = o.stop_timeout {
        config["StopTimeout"] = json!(t);
    }
    if let Some(hc) = &c.healthcheck {
        config["Healthcheck"] = json!({
            "Test": hc.test, "Interval": hc.interval, "Timeout": hc.timeout,
            "Retries": hc.retries, "StartPeriod": hc.start_period,
            "StartInterval": hc.start_interval,
        });
    }
    let port_bindings: Map<String, Value> = h
        .port_bindings
        .iter()
        .map(|(k, v)| {
            let list: Vec<Value> = v
                .iter()
                .map(|b| json!({"HostIp": b.host_ip, "HostPort": b.host_port}))
                .collect();
            (k.clone(), json!(list))
        })
        .collect();
    let host_config = json!({
        "Binds": strs_or_null(&h.binds),
        "ContainerIDFile": "",
        "LogConfig": {
            "Type": if h.log_config.driver.is_empty() { "json-file" } else { &h.log_config.driver },
            "Config": h.log_config.options,
        },
        "NetworkMode": h.network_mode,
        "PortBindings": port_bindings,
        "RestartPolicy": {
            "Name": if h.restart.name.is_empty() { "no" } else { &h.restart.name },
            "MaximumRetryCount": h.restart.maximum_retry_count,
        },
        "AutoRemove": h.auto_remove,
        "VolumeDriver": "",
        "VolumesFrom": null,
        "CapAdd": strs_or_null(&h.cap_add),
        "CapDrop": strs_or_null(&h.cap_drop),
        "CgroupnsMode": "host",
        "Dns": strs(&h.dns),
        "DnsOptions": strs(&h.dns_options),
        "DnsSearch": strs(&h.dns_search),
        "ExtraHosts": strs_or_null(&h.extra_hosts),
        "GroupAdd": strs_or_null(&h.group_add),
        "IpcMode": if h.ipc_mode.is_empty() { "private" } else { &h.ipc_mode },
        "Cgroup": "",
        "Links": null,
        "OomScoreAdj": h.oom_score_adj,
        "PidMode": h.pid_mode,
        "Privileged": h.privileged,
        "PublishAllPorts": h.publish_all_ports,
        "ReadonlyRootfs": h.read_only,
        "SecurityOpt": strs_or_null(&h.security_opt),
        "UTSMode": h.uts_mode,
        "UsernsMode": "",
        "ShmSize": h.shm_size.unwrap_or(64 * 1024 * 1024),
        "Runtime": "runc",
        "ConsoleSize": [0, 0],
        "Isolation": "",
    });
    let resources = json!({
        "CpuShares": r.cpu_shares,
        "Memory": r.memory,
        "NanoCpus": r.nano_cpus,
        "CgroupParent": "",
        "BlkioWeight": r.blkio_weight,
        "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": [],
        "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteIOps": [],
        "CpuPeriod": r.cpu_period,
        "CpuQuota": r.cpu_quota,
        "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0,
        "CpusetCpus": r.cpuset_cpus,
        "CpusetMems": r.cpuset_mems,
        "Devices": h.devices.iter().map(|d| json!({
            "PathOnHost": d.path_on_host,
            "PathInContainer": d.path_in_container,
            "CgroupPermissions": d.cgroup_permissions,
        })).collect::<Vec<_>>(),
        "DeviceCgroupRules": null,
        "DeviceRequests": null,
        "KernelMemory": 0,
        "KernelMemoryTCP": 0,
        "MemoryReservation": r.memory_reservation,
        "MemorySwap": r.memory_swap,
        "MemorySwappiness": null,
        "OomKillDisable": r.oom_kill_disable,
        "PidsLimit": r.pids_limit.filter(|p| *p > 0),
        "Ulimits": h.ulimits.iter().map(|u| json!({
            "Name": u.name, "Soft": u.soft, "Hard": u.hard,
        })).collect::<Vec<_>>(),
        "CpuCount": 0,
        "CpuPercent": 0,
        "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0,
        "MaskedPaths": if h.privileged { Value::Null } else { json!([
            "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
            "/proc/sched_debug", "/proc/scsi", "/sys/firmware"]) },
        "ReadonlyPaths": if h.privileged { Value::Null } else { json!([
            "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]) },
    });
    let mut host_config = host_config;
    if !h.tmpfs.is_empty() {
        host_config["Tmpfs"] = json!(h.tmpfs);
    }
    if !h.sysctls.is_empty() {
        host_config["Sysctls"] = json!(h.sysctls);
    }
    if let Some(init) = h.init {
        host_config["Init"] = json!(init);
    }
    if let (Some(hc), Value::Object(res)) = (host_config.as_object_mut(), resources) {
        hc.extend(res);
    }
    let ports = if h.network_mode == "none" || h.network_mode == "host" {
        json!({})
    } else {
        let m: Map<String, Value> = c
            .exposed_ports
            .iter()
            .map(|p| (p.clone(), Value::Null))
            .collect();
        Value::Object(m)
    };
    let network_settings = json!({
        "Bridge": "", "SandboxID": "", "HairpinMode": false,
        "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports, "SandboxKey": "",
        "SecondaryIPAddresses": null, "SecondaryIPv6Addresses": null,
        "EndpointID": "", "Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "MacAddress": "",
        "Networks": networks(c),
    });
    let graph = match engine.store().snapshot(&c.snapshot) {
        Ok(snap) => {
            let lowers: Vec<String> = snap
                .lowers
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            let mut data = json!({
                "MergedDir": snap.merged.to_string_lossy(),
                "UpperDir": snap.upper.to_string_lossy(),
                "WorkDir": snap.work.to_string_lossy(),
            });
            if !lowers.is_empty() {
                data["LowerDir"] = json!(lowers.join(":"));
            }
            json!({"Data": data, "Name": "overlay2"})
        }
        Err(_) => json!({"Data": null, "Name": "overlay2"}),
    };
    json!({
        "Id": c.id,
        "Created": c.created,
        "Path": c.path,
        "Args": c.args,
        "State": state,
        "Image": c.image_id,
        "ResolvConfPath": c.resolv_conf_path.to_string_lossy(),
        "HostnamePath": c.hostname_path.to_string_lossy(),
        "HostsPath": c.hosts_path.to_string_lossy(),
        "LogPath": c.log_path.to_string_lossy(),
        "Name": format!("/{}", c.name),
        "RestartCount": c.restart_count,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": null,
        "HostConfig": host_config,
        "GraphDriver": graph,
        "Mounts": c.mounts.iter().map(mount_json).collect::<Vec<_>>(),
        "Config": config,
        "NetworkSettings": network_settings,
    })
}

/// One entry of `GET /containers/json`.
pub fn list_entry(c: &Container) -> Value {
    let mut command = vec![c.path.clone()];
    command.extend(c.args.iter().cloned());
    let created = nanos(&c.created).map_or(0, |n| n / 1_000_000_000);
    json!({
        "Id": c.id,
        "Names": [format!("/{}", c.name)],
        "Image": c.options.image,
        "ImageID": c.image_id,
        "Command": command.join(" "),
        "Created": created,
        "Ports": [],
        "Labels": c.labels,
        "State": c.state.status.as_str(),
        "Status": status_text(c),
        "HostConfig": { "NetworkMode": c.options.host.network_mode },
        "NetworkSettings": { "Networks": networks(c) },
        "Mounts": c.mounts.iter().map(mount_json).collect::<Vec<_>>(),
    })
}

/// The filters `GET /containers/json` knows.
const FILTERS: &[&str] = &[
    "id", "name", "label", "status", "ancestor", "before", "since", "exited", "health", "volume",
    "network", "publish", "expose", "is-task",
];

/// Keeps the containers matching `filters` (Docker's list filters).
pub fn filter(
    engine: &Engine,
    mut list: Vec<Container>,
    filters: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<Container>, ApiError> {
    for k in filters.keys() {
        if !FILTERS.contains(&k.as_str()) {
            return Err(ApiError::bad_request(format!("invalid filter '{k}'")));
        }
    }
    let get = |k: &str| filters.get(k).filter(|v| !v.is_empty());
    if let Some(st) = get("status") {
        for s in st {
            if !matches!(
                s.as_str(),
                "created" | "restarting" | "running" | "removing" | "paused" | "exited" | "dead"
            ) {
                return Err(ApiError::bad_request(format!(
                    "invalid filter 'status={s}'"
                )));
            }
        }
        list.retain(|c| st.iter().any(|s| s == c.state.status.as_str()));
    }
    if let Some(ids) = get("id") {
        list.retain(|c| ids.iter().any(|i| c.id.starts_with(i.as_str())));
    }
    if let Some(names) = get("name") {
        list.retain(|c| {
            names
                .iter()
                .any(|n| c.name.contains(n.trim_start_matches('/')))
        });
    }
    if let Some(labels) = get("label") {
        list.retain(|c| {
            labels.iter().all(|l| match l.split_once('=') {
                Some((k, v)) => c.labels.get(k).is_some_and(|x| x == v),
                None => c.labels.contains_key(l),
            })
        });
    }
    if let Some(codes) = get("exited") {
        let mut want = Vec::new();
        for c in codes {
            want.push(
                c.parse::<i32>()
                    .map_err(|_| ApiError::bad_request(format!("invalid filter 'exited={c}'")))?,
            );
        }
        list.retain(|c| c.state.status == Status::Exited && want.contains(&c.state.exit_code));
    }
    if let Some(hs) = get("health") {
        list.retain(|c| {
            let h = c
                .state
                .health
                .as_ref()
                .map_or("none", |h| h.status.as_str());
            hs.iter().any(|x| x == h)
        });
    }
    if let Some(ancestors) = get("ancestor") {
        let ids: Vec<String> = ancestors
            .iter()
            .filter_map(|a| engine.store().image_id(a).ok().map(|d| d.to_string()))
            .collect();
        list.retain(|c| {
            ancestors
                .iter()
                .any(|a| *a == c.options.image || c.image_id.contains(a.as_str()))
                || ids.contains(&c.image_id)
        });
    }
    if let Some(vols) = get("volume") {
        list.retain(|c| {
            c.mounts.iter().any(|m| {
                vols.iter()
                    .any(|v| m.name.as_deref() == Some(v.as_str()) || m.destination == *v)
            })
        });
    }
    if let Some(nets) = get("network") {
        list.retain(|c| {
            nets.iter()
                .any(|n| network_name(&c.options.host.network_mode) == n)
        });
    }
    // `list` is newest first: `before` keeps what was created before the
    // named container, `since` what came after it.
    for (key, after) in [("before", false), ("since", true)] {
        if let Some(refs) = get(key) {
            let r = &refs[0];
            let pivot = engine.container(r).map_err(ApiError::from)?;
            let pn = nanos(&pivot.created).unwrap_or(0);
            list.retain(|c| {
                let n = nanos(&c.created).unwrap_or(0);
                if after {
                    n > pn
                } else {
                    n < pn
                }
            });
        }
    }
    Ok(list)
}

/// Bytes of the regular files under `dir` (symlinks not followed).
fn dir_size(dir: &std::path::Path) -> i64 {
    let mut total = 0i64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(m) = e.path().symlink_metadata() else {
                continue;
            };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() {
                total += i64::try_from(m.len()).unwrap_or(0);
            }
        }
    }
    total
}

/// Docker's `SizeRw` (what the container wrote) and `SizeRootFs` (that
/// plus its image), for `size=1`.
pub fn sizes(engine: &Engine, c: &Container) -> (i64, i64) {
    let rw = engine
        .store()
        .snapshot(&c.snapshot)
        .map(|s| dir_size(&s.upper))
        .unwrap_or(0);
    let image = c
        .image_id
        .parse()
        .ok()
        .and_then(|d| engine.store().image_by_id(&d).ok())
        .map_or(0, |i| i64::try_from(i.size).unwrap_or(0));
    (rw, rw + image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_read_like_go_units() {
        let s = 1_000_000_000i64;
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(s), "1 second");
        assert_eq!(human_duration(59 * s), "59 seconds");
        assert_eq!(human_duration(60 * s), "About a minute");
        assert_eq!(human_duration(5 * 60 * s), "5 minutes");
        assert_eq!(human_duration(3600 * s), "About an hour");
        assert_eq!(human_duration(3 * 3600 * s), "3 hours");
        assert_eq!(human_duration(3 * 86400 * s), "3 days");
        assert_eq!(human_duration(20 * 86400 * s), "2 weeks");
    }

    #[test]
    fn status_text_of_created_and_exited() {
        let mut c = Container::default();
        assert_eq!(status_text(&c), "Created");
        c.state.status = Status::Exited;
        c.state.exit_code = 3;
        c.state.started_at = "2020-01-01T00:00:00Z".into();
        c.state.finished_at = "2020-01-01T00:00:01Z".into();
        assert!(
            status_text(&c).starts_with("Exited (3) "),
            "{}",
            status_text(&c)
        );
    }
}
