//! A container in Docker's shape for `GET /containers/{id}/json`
//! (inspect), and its sizes for `size=1`.

use serde_json::{json, Map, Value};
use wharf_engine::model::{Container, MountPoint, Status};
use wharf_engine::Engine;

use crate::networks::endpoint;

/// Go's zero time as Docker prints it.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

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

/// A list, or null when empty (as Go prints a nil slice).
pub(crate) fn strs_or_null(v: &[String]) -> Value {
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

/// `HostConfig.Links` as Docker stores them: `/target:/linker/alias`.
fn links(c: &Container) -> Value {
    let v: Vec<String> = c
        .options
        .host
        .links
        .iter()
        .map(|l| {
            let (t, a) = l.split_once(':').unwrap_or((l, l));
            format!("/{t}:/{}/{a}", c.name)
        })
        .collect();
    strs_or_null(&v)
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

/// `GET /containers/{id}/json` at API `version` (the networks' fields
/// differ by version).
pub fn inspect(engine: &Engine, c: &Container, version: (u32, u32)) -> Value {
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
    if !o.shell.is_empty() {
        config["Shell"] = json!(o.shell);
    }
    if let Some(hc) = &c.healthcheck {
        // Go's omitempty: zero durations and retries are left out.
        let mut h = Map::new();
        if !hc.test.is_empty() {
            h.insert("Test".into(), json!(hc.test));
        }
        for (key, v) in [
            ("Interval", hc.interval),
            ("Timeout", hc.timeout),
            ("StartPeriod", hc.start_period),
            ("StartInterval", hc.start_interval),
            ("Retries", hc.retries),
        ] {
            if v != 0 {
                h.insert(key.into(), json!(v));
            }
        }
        config["Healthcheck"] = Value::Object(h);
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
        "Links": links(c),
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
        "DeviceCgroupRules": strs_or_null(&h.device_cgroup_rules),
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
    let network_settings =
        endpoint::network_settings(c, &crate::networks::network_ids(engine), version.1);
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
        // Docker forgets a container's execs when its process ends.
        "ExecIDs": if running { strs_or_null(&engine.exec_ids(&c.id)) } else { Value::Null },
        "HostConfig": host_config,
        "GraphDriver": graph,
        "Mounts": c.mounts.iter().map(mount_json).collect::<Vec<_>>(),
        "Config": config,
        "NetworkSettings": network_settings,
    })
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
