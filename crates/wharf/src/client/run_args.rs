//! `run` and `create` flags, and the container config they make (the JSON
//! body of `POST /containers/create`, as docker CLI builds it).

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Map, Value};

/// `create`: the container flags, the image and its command.
#[derive(Debug, Args)]
#[command(trailing_var_arg = true, disable_help_flag = true)]
pub struct CreateArgs {
    /// Print usage.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// The container's settings.
    #[command(flatten)]
    pub opts: ContainerOpts,
    /// The image.
    pub image: String,
    /// The command and its arguments.
    #[arg(allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `run`: `create`'s flags and how to run it.
#[derive(Debug, Args)]
#[command(trailing_var_arg = true, disable_help_flag = true)]
pub struct RunArgs {
    /// Print usage.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Run container in background and print container ID.
    #[arg(short, long)]
    pub detach: bool,
    /// Override the key sequence for detaching a container.
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Proxy received signals to the process.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub sig_proxy: bool,
    /// The container's settings.
    #[command(flatten)]
    pub opts: ContainerOpts,
    /// The image.
    pub image: String,
    /// The command and its arguments.
    #[arg(allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// The flags `run` and `create` share.
#[derive(Debug, Args, Default)]
pub struct ContainerOpts {
    /// Attach to STDIN, STDOUT or STDERR.
    #[arg(short, long)]
    pub attach: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip).
    #[arg(long, value_parser = super::publish::extra_host)]
    pub add_host: Vec<String>,
    /// Add Linux capabilities.
    #[arg(long)]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities.
    #[arg(long)]
    pub cap_drop: Vec<String>,
    /// Optional parent cgroup for the container.
    #[arg(long)]
    pub cgroup_parent: Option<String>,
    /// Write the container ID to the file.
    #[arg(long)]
    pub cidfile: Option<String>,
    /// CPU shares (relative weight).
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<i64>,
    /// Number of CPUs.
    #[arg(long)]
    pub cpus: Option<f64>,
    /// CPUs in which to allow execution (0-3, 0,1).
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1).
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Add a host device to the container.
    #[arg(long)]
    pub device: Vec<String>,
    /// Set custom DNS servers.
    #[arg(long, value_parser = super::publish::ip_address)]
    pub dns: Vec<String>,
    /// Set DNS options.
    #[arg(long, alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Set custom DNS search domains.
    #[arg(long)]
    pub dns_search: Vec<String>,
    /// Container NIS domain name.
    #[arg(long)]
    pub domainname: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image.
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Set environment variables.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Read in a file of environment variables.
    #[arg(long)]
    pub env_file: Vec<String>,
    /// Expose a port or a range of ports.
    #[arg(long)]
    pub expose: Vec<String>,
    /// Add additional groups to join.
    #[arg(long)]
    pub group_add: Vec<String>,
    /// Command to run to check health.
    #[arg(long)]
    pub health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h).
    #[arg(long)]
    pub health_interval: Option<String>,
    /// Consecutive failures needed to report unhealthy.
    #[arg(long)]
    pub health_retries: Option<i64>,
    /// Start period for the container to initialize.
    #[arg(long)]
    pub health_start_period: Option<String>,
    /// Time between checks during the start period.
    #[arg(long)]
    pub health_start_interval: Option<String>,
    /// Maximum time to allow one check to run.
    #[arg(long)]
    pub health_timeout: Option<String>,
    /// Container host name.
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Run an init inside the container.
    #[arg(long)]
    pub init: bool,
    /// Keep STDIN open even if not attached.
    #[arg(short, long)]
    pub interactive: bool,
    /// IPC mode to use.
    #[arg(long)]
    pub ipc: Option<String>,
    /// Set meta data on a container.
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Read in a line delimited file of labels.
    #[arg(long)]
    pub label_file: Vec<String>,
    /// Add link to another container.
    #[arg(long)]
    pub link: Vec<String>,
    /// Logging driver for the container.
    #[arg(long)]
    pub log_driver: Option<String>,
    /// Log driver options.
    #[arg(long)]
    pub log_opt: Vec<String>,
    /// Memory limit.
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Memory soft limit.
    #[arg(long)]
    pub memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: -1 for unlimited.
    #[arg(long)]
    pub memory_swap: Option<String>,
    /// Attach a filesystem mount to the container.
    #[arg(long)]
    pub mount: Vec<String>,
    /// Assign a name to the container.
    #[arg(long)]
    pub name: Option<String>,
    /// IPv4 address (e.g., 172.30.100.104).
    #[arg(long)]
    pub ip: Option<String>,
    /// IPv6 address (e.g., 2001:db8::33).
    #[arg(long)]
    pub ip6: Option<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33).
    #[arg(long)]
    pub mac_address: Option<String>,
    /// Connect a container to a network.
    #[arg(long, alias = "net")]
    pub network: Vec<String>,
    /// Add network-scoped alias for the container.
    #[arg(long, alias = "net-alias")]
    pub network_alias: Vec<String>,
    /// Disable any container-specified HEALTHCHECK.
    #[arg(long)]
    pub no_healthcheck: bool,
    /// Disable OOM Killer.
    #[arg(long)]
    pub oom_kill_disable: bool,
    /// Tune host's OOM preferences (-1000 to 1000).
    #[arg(long, allow_hyphen_values = true)]
    pub oom_score_adj: Option<i64>,
    /// PID namespace to use.
    #[arg(long)]
    pub pid: Option<String>,
    /// Tune container pids limit (set -1 for unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Set platform if server is multi-platform capable.
    #[arg(long)]
    pub platform: Option<String>,
    /// Give extended privileges to this container.
    #[arg(long)]
    pub privileged: bool,
    /// Publish a container's port(s) to the host.
    #[arg(short, long)]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports.
    #[arg(short = 'P', long)]
    pub publish_all: bool,
    /// Pull image before running ("always", "missing", "never").
    #[arg(long)]
    pub pull: Option<String>,
    /// Suppress the pull output.
    #[arg(short, long)]
    pub quiet: bool,
    /// Mount the container's root filesystem as read only.
    #[arg(long)]
    pub read_only: bool,
    /// Restart policy to apply when a container exits.
    #[arg(long)]
    pub restart: Option<String>,
    /// Automatically remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    /// Runtime to use for this container.
    #[arg(long)]
    pub runtime: Option<String>,
    /// Security Options.
    #[arg(long)]
    pub security_opt: Vec<String>,
    /// Size of /dev/shm.
    #[arg(long)]
    pub shm_size: Option<String>,
    /// Signal to stop the container.
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container.
    #[arg(long, allow_hyphen_values = true)]
    pub stop_timeout: Option<i64>,
    /// Sysctl options.
    #[arg(long)]
    pub sysctl: Vec<String>,
    /// Mount a tmpfs directory.
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// Ulimit options.
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>]).
    #[arg(short, long)]
    pub user: Option<String>,
    /// User namespace to use.
    #[arg(long)]
    pub userns: Option<String>,
    /// UTS namespace to use.
    #[arg(long)]
    pub uts: Option<String>,
    /// Bind mount a volume.
    #[arg(short, long)]
    pub volume: Vec<String>,
    /// Mount volumes from the specified container(s).
    #[arg(long)]
    pub volumes_from: Vec<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
}

/// docker's `units.RAMInBytes`: `512m`, `1g`, `1.5GiB`, bytes when bare.
pub fn ram_in_bytes(s: &str) -> Result<i64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("invalid size: '{s}'"))?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit.trim_end_matches('b').trim_end_matches('i');
    let mul: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => bail!("invalid size: '{s}'"),
    };
    Ok((n * mul) as i64)
}

/// Go's `time.ParseDuration` (`1m30s`, `500ms`, `2h`), in nanoseconds.
pub fn go_duration(s: &str) -> Result<i64> {
    let bad = || anyhow::anyhow!("time: invalid duration \"{s}\"");
    if s == "0" {
        return Ok(0);
    }
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..n_end].parse().map_err(|_| bad())?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mul = match &rest[..u_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        total += n * mul;
        rest = &rest[u_end..];
    }
    Ok(total as i64)
}

/// `K=V` lines of an env or label file; a bare `K` takes the value from
/// our environment (env files) or stays bare.
fn read_kv_file(path: &str, from_env: bool) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("open {path}: no such file or directory"))?;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.contains('=') || !from_env {
            out.push(line.to_string());
        } else if let Ok(v) = std::env::var(line) {
            out.push(format!("{line}={v}"));
        }
    }
    Ok(out)
}

/// `k=v` flags as a JSON object (`k` alone: an empty value).
pub fn kv_map(items: &[String]) -> Map<String, Value> {
    let mut m = Map::new();
    for i in items {
        let (k, v) = i.split_once('=').unwrap_or((i, ""));
        m.insert(k.to_string(), json!(v));
    }
    m
}

/// `type=bind,source=/a,target=/b,readonly` → a Mount.
fn parse_mount(m: &str) -> Result<Value> {
    let mut out = Map::new();
    let mut kind = "volume".to_string();
    let mut bind = Map::new();
    let mut vol = Map::new();
    let mut tmpfs = Map::new();
    for field in m.split(',') {
        let (k, v) = field.split_once('=').unwrap_or((field, ""));
        match k.to_ascii_lowercase().as_str() {
            "type" => kind = v.to_string(),
            "source" | "src" => {
                out.insert("Source".into(), json!(v));
            }
            "target" | "destination" | "dst" => {
                out.insert("Target".into(), json!(v));
            }
            "readonly" | "ro" => {
                out.insert(
                    "ReadOnly".into(),
                    json!(v.is_empty() || v == "true" || v == "1"),
                );
            }
            "consistency" => {
                out.insert("Consistency".into(), json!(v));
            }
            "bind-propagation" => {
                bind.insert("Propagation".into(), json!(v));
            }
            "volume-nocopy" => {
                vol.insert(
                    "NoCopy".into(),
                    json!(v.is_empty() || v == "true" || v == "1"),
                );
            }
            "volume-label" => {
                let (lk, lv) = v.split_once('=').unwrap_or((v, ""));
                let labels = vol.entry("Labels").or_insert_with(|| json!({}));
                labels[lk] = json!(lv);
            }
            "tmpfs-size" => {
                tmpfs.insert("SizeBytes".into(), json!(ram_in_bytes(v)?));
            }
            "tmpfs-mode" => {
                tmpfs.insert(
                    "Mode".into(),
                    json!(u32::from_str_radix(v, 8).context("invalid tmpfs-mode")?),
                );
            }
            other => bail!("invalid field '{other}' must be a key=value pair"),
        }
    }
    if !out.contains_key("Target") {
        bail!("invalid argument \"{m}\" for \"--mount\" flag: target is required");
    }
    out.insert("Type".into(), json!(kind));
    if !bind.is_empty() {
        out.insert("BindOptions".into(), Value::Object(bind));
    }
    if !vol.is_empty() {
        out.insert("VolumeOptions".into(), Value::Object(vol));
    }
    if !tmpfs.is_empty() {
        out.insert("TmpfsOptions".into(), Value::Object(tmpfs));
    }
    Ok(Value::Object(out))
}

/// The name of the body of `POST /containers/create` for these flags.
pub fn create_body(o: &ContainerOpts, image: &str, command: &[String]) -> Result<Value> {
    if o.rm
        && o.restart
            .as_deref()
            .is_some_and(|r| r != "no" && !r.is_empty())
    {
        bail!("conflicting options: cannot specify both --restart and --rm");
    }
    let mut env = Vec::new();
    for f in &o.env_file {
        env.extend(read_kv_file(f, true)?);
    }
    for e in &o.env {
        if e.contains('=') {
            env.push(e.clone());
        } else if let Ok(v) = std::env::var(e) {
            env.push(format!("{e}={v}"));
        } else {
            env.push(e.clone());
        }
    }
    let mut labels = Vec::new();
    for f in &o.label_file {
        labels.extend(read_kv_file(f, false)?);
    }
    labels.extend(o.label.iter().cloned());

    let (exposed, bindings) = super::publish::ports(&o.publish, &o.expose)?;
    let (network, endpoints) = super::endpoints::networking(&super::endpoints::NetFlags {
        networks: &o.network,
        aliases: &o.network_alias,
        ip: o.ip.as_deref(),
        ip6: o.ip6.as_deref(),
        mac: o.mac_address.as_deref(),
        links: &o.link,
    })?;
    let mut binds = Vec::new();
    let mut volumes = Map::new();
    for v in &o.volume {
        // `/ctr` alone is an anonymous volume; anything with a `:` names a source.
        let parts: Vec<&str> = v.split(':').collect();
        if parts.len() == 1 {
            volumes.insert(v.clone(), json!({}));
        } else {
            binds.push(v.clone());
        }
    }
    let mut mounts = Vec::new();
    for m in &o.mount {
        mounts.push(parse_mount(m)?);
    }
    let mut tmpfs = Map::new();
    for t in &o.tmpfs {
        let (path, opts) = t.split_once(':').unwrap_or((t, ""));
        tmpfs.insert(path.to_string(), json!(opts));
    }
    let restart = match o.restart.as_deref() {
        None | Some("") => json!({"Name": "no", "MaximumRetryCount": 0}),
        Some(r) => {
            let (name, count) = r.split_once(':').unwrap_or((r, "0"));
            let count: i64 = count.parse().map_err(|_| {
                anyhow::anyhow!(
                    "invalid restart policy format: maximum retry count must be an integer"
                )
            })?;
            json!({"Name": name, "MaximumRetryCount": count})
        }
    };
    let mut ulimits = Vec::new();
    for u in &o.ulimit {
        let (name, vals) = u
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("invalid ulimit argument: {u}"))?;
        let (soft, hard) = vals.split_once(':').unwrap_or((vals, vals));
        let soft: i64 = soft
            .parse()
            .with_context(|| format!("invalid ulimit soft value {soft}"))?;
        let hard: i64 = hard
            .parse()
            .with_context(|| format!("invalid ulimit hard value {hard}"))?;
        ulimits.push(json!({"Name": name, "Soft": soft, "Hard": hard}));
    }
    let mut devices = Vec::new();
    for d in &o.device {
        let parts: Vec<&str> = d.split(':').collect();
        let (src, dst, perms) = match parts.as_slice() {
            [s] => (*s, *s, "rwm"),
            [s, p] if p.chars().all(|c| "rwm".contains(c)) => (*s, *s, *p),
            [s, t] => (*s, *t, "rwm"),
            [s, t, p] => (*s, *t, *p),
            _ => bail!("invalid device specification: {d}"),
        };
        devices
            .push(json!({"PathOnHost": src, "PathInContainer": dst, "CgroupPermissions": perms}));
    }
    let mut security = Vec::new();
    for s in &o.security_opt {
        match s.split_once(['=', ':']) {
            Some(("seccomp", profile)) if profile != "unconfined" => {
                let text = std::fs::read_to_string(profile)
                    .with_context(|| format!("opening seccomp profile ({profile}) failed"))?;
                let compact: Value = serde_json::from_str(&text).with_context(|| {
                    format!("compacting json for seccomp profile ({profile}) failed")
                })?;
                security.push(format!("seccomp={compact}"));
            }
            _ => security.push(s.clone()),
        }
    }
    let mut healthcheck = Value::Null;
    if o.no_healthcheck {
        healthcheck = json!({"Test": ["NONE"]});
    } else if o.health_cmd.is_some()
        || o.health_interval.is_some()
        || o.health_timeout.is_some()
        || o.health_retries.is_some()
        || o.health_start_period.is_some()
    {
        let dur = |d: &Option<String>| -> Result<i64> { d.as_deref().map_or(Ok(0), go_duration) };
        let mut h = Map::new();
        if let Some(c) = &o.health_cmd {
            h.insert("Test".into(), json!(["CMD-SHELL", c]));
        }
        h.insert("Interval".into(), json!(dur(&o.health_interval)?));
        h.insert("Timeout".into(), json!(dur(&o.health_timeout)?));
        h.insert("StartPeriod".into(), json!(dur(&o.health_start_period)?));
        h.insert(
            "StartInterval".into(),
            json!(dur(&o.health_start_interval)?),
        );
        h.insert("Retries".into(), json!(o.health_retries.unwrap_or(0)));
        healthcheck = Value::Object(h);
    }
    let entrypoint = match &o.entrypoint {
        Some(e) if e.is_empty() => json!([""]),
        Some(e) => json!([e]),
        None => Value::Null,
    };
    let attach = |s: &str| {
        if o.attach.is_empty() {
            s != "stdin" || o.interactive
        } else {
            o.attach.iter().any(|a| a.eq_ignore_ascii_case(s))
        }
    };
    let memory = o
        .memory
        .as_deref()
        .map(ram_in_bytes)
        .transpose()?
        .unwrap_or(0);
    let memory_swap = match o.memory_swap.as_deref() {
        Some("-1") => -1,
        Some(s) => ram_in_bytes(s)?,
        None => 0,
    };
    let mut log_config = Map::new();
    log_config.insert(
        "Type".into(),
        json!(o.log_driver.clone().unwrap_or_default()),
    );
    log_config.insert("Config".into(), Value::Object(kv_map(&o.log_opt)));
    let sysctls = kv_map(&o.sysctl);
    let host_config = json!({
        "Binds": if binds.is_empty() { Value::Null } else { json!(binds) },
        "ContainerIDFile": o.cidfile.clone().unwrap_or_default(),
        "LogConfig": log_config,
        "NetworkMode": network,
        "PortBindings": bindings,
        "RestartPolicy": restart,
        "AutoRemove": o.rm,
        "VolumeDriver": "",
        "VolumesFrom": if o.volumes_from.is_empty() { Value::Null } else { json!(o.volumes_from) },
        "CapAdd": if o.cap_add.is_empty() { Value::Null } else { json!(o.cap_add) },
        "CapDrop": if o.cap_drop.is_empty() { Value::Null } else { json!(o.cap_drop) },
        "CgroupnsMode": "",
        "Dns": o.dns,
        "DnsOptions": o.dns_option,
        "DnsSearch": o.dns_search,
        "ExtraHosts": if o.add_host.is_empty() { Value::Null } else { json!(o.add_host) },
        "Links": if o.link.is_empty() { Value::Null } else { json!(o.link) },
        "GroupAdd": if o.group_add.is_empty() { Value::Null } else { json!(o.group_add) },
        "IpcMode": o.ipc.clone().unwrap_or_default(),
        "Cgroup": "",
        "OomScoreAdj": o.oom_score_adj.unwrap_or(0),
        "PidMode": o.pid.clone().unwrap_or_default(),
        "Privileged": o.privileged,
        "PublishAllPorts": o.publish_all,
        "ReadonlyRootfs": o.read_only,
        "SecurityOpt": if security.is_empty() { Value::Null } else { json!(security) },
        "Tmpfs": if tmpfs.is_empty() { Value::Null } else { Value::Object(tmpfs) },
        "UTSMode": o.uts.clone().unwrap_or_default(),
        "UsernsMode": o.userns.clone().unwrap_or_default(),
        "ShmSize": o.shm_size.as_deref().map(ram_in_bytes).transpose()?.unwrap_or(0),
        "Sysctls": if sysctls.is_empty() { Value::Null } else { Value::Object(sysctls) },
    });
    let resources = json!({
        "Runtime": o.runtime.clone().unwrap_or_default(),
        "Init": if o.init { json!(true) } else { Value::Null },
        "CpuShares": o.cpu_shares.unwrap_or(0),
        "Memory": memory,
        "NanoCpus": o.cpus.map_or(0, |c| (c * 1e9).round() as i64),
        "CgroupParent": o.cgroup_parent.clone().unwrap_or_default(),
        "CpusetCpus": o.cpuset_cpus.clone().unwrap_or_default(),
        "CpusetMems": o.cpuset_mems.clone().unwrap_or_default(),
        "Devices": devices,
        "MemoryReservation": o.memory_reservation.as_deref().map(ram_in_bytes).transpose()?.unwrap_or(0),
        "MemorySwap": memory_swap,
        "OomKillDisable": o.oom_kill_disable,
        "PidsLimit": o.pids_limit,
        "Ulimits": if ulimits.is_empty() { Value::Null } else { json!(ulimits) },
        "Mounts": if mounts.is_empty() { Value::Null } else { json!(mounts) },
    });
    let mut host_config = host_config;
    if let (Some(h), Value::Object(r)) = (host_config.as_object_mut(), resources) {
        h.extend(r);
    }
    let labels_map = kv_map(&labels);
    let mut body = json!({
        "Hostname": o.hostname.clone().unwrap_or_default(),
        "Domainname": o.domainname.clone().unwrap_or_default(),
        "User": o.user.clone().unwrap_or_default(),
        "AttachStdin": attach("stdin"),
        "AttachStdout": attach("stdout"),
        "AttachStderr": attach("stderr"),
        "ExposedPorts": if exposed.is_empty() { Value::Null } else { Value::Object(exposed) },
        "Tty": o.tty,
        "OpenStdin": o.interactive,
        "StdinOnce": o.interactive && attach("stdin"),
        "Env": env,
        "Cmd": if command.is_empty() { Value::Null } else { json!(command) },
        "Image": image,
        "Volumes": if volumes.is_empty() { Value::Null } else { Value::Object(volumes) },
        "WorkingDir": o.workdir.clone().unwrap_or_default(),
        "Entrypoint": entrypoint,
        "OnBuild": Value::Null,
        "Labels": labels_map,
        "HostConfig": host_config,
        "NetworkingConfig": {"EndpointsConfig": endpoints},
    });
    if !healthcheck.is_null() {
        body["Healthcheck"] = healthcheck;
    }
    if let Some(s) = &o.stop_signal {
        body["StopSignal"] = json!(s);
    }
    if let Some(t) = o.stop_timeout {
        body["StopTimeout"] = json!(t);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_like_docker() {
        assert_eq!(ram_in_bytes("512m").unwrap(), 512 << 20);
        assert_eq!(ram_in_bytes("1g").unwrap(), 1 << 30);
        assert_eq!(ram_in_bytes("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(ram_in_bytes("100").unwrap(), 100);
        assert!(ram_in_bytes("x").is_err());
        assert_eq!(go_duration("1m30s").unwrap(), 90_000_000_000);
        assert_eq!(go_duration("500ms").unwrap(), 500_000_000);
        assert!(go_duration("5").is_err());
    }

    #[test]
    fn mount_specs() {
        let m = parse_mount("type=bind,src=/a,dst=/b,readonly").unwrap();
        assert_eq!(m["Type"], "bind");
        assert_eq!(m["ReadOnly"], true);
        assert!(parse_mount("type=bind,src=/a").is_err());
    }
}
