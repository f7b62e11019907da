//! `GET /info`: the fields the docker CLI's `docker info` and the Docker
//! SDK for Python read, filled from this host and this engine.

use std::path::Path;

use http::StatusCode;
use serde_json::{json, Map, Value};
use wharf_engine::{Engine, Status};

use super::{kernel_version, ENGINE_VERSION};
use crate::http::{json, ApiResult, Ctx};
use crate::images::pipe::blocking;

/// `GET /info`.
pub(crate) async fn info(ctx: Ctx) -> ApiResult {
    let engine = ctx.engine.clone();
    let v = ctx.clone();
    let body = blocking(move || Ok(info_value(&engine, &v))).await?;
    Ok(json(StatusCode::OK, &body))
}

fn info_value(engine: &Engine, ctx: &Ctx) -> Value {
    let containers = engine.containers(true).unwrap_or_default();
    let count =
        |f: &dyn Fn(Status) -> bool| containers.iter().filter(|c| f(c.state.status)).count();
    let running = count(&|s| matches!(s, Status::Running | Status::Restarting));
    let paused = count(&|s| s == Status::Paused);
    let images = engine.store().images().map(|i| i.len()).unwrap_or(0);
    let data_root = &engine.config().data_root;
    let uname = rustix::system::uname();
    let (os_name, os_version) = os_release();
    let v2 = cgroup_v2();
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("ID", json!(engine_id(data_root)));
    put("Containers", json!(containers.len()));
    put("ContainersRunning", json!(running));
    put("ContainersPaused", json!(paused));
    put(
        "ContainersStopped",
        json!(containers.len() - running - paused),
    );
    put("Images", json!(images));
    put("Driver", json!("overlay2"));
    put(
        "DriverStatus",
        json!([
            ["Backing Filesystem", backing_fs(data_root)],
            ["Supports d_type", "true"],
            ["Using metacopy", "false"],
            ["Native Overlay Diff", "true"],
            ["userxattr", "false"]
        ]),
    );
    put(
        "Plugins",
        json!({
            "Volume": ["local"],
            "Network": ["host", "null"],
            "Authorization": null,
            "Log": ["json-file"],
        }),
    );
    let memcg = |f: &str| v2 || Path::new("/sys/fs/cgroup/memory").join(f).exists();
    put("MemoryLimit", json!(true));
    put("SwapLimit", json!(memcg("memory.memsw.limit_in_bytes")));
    if !ctx.at_least(42) {
        put("KernelMemory", json!(memcg("memory.kmem.limit_in_bytes")));
    }
    if !v2 {
        put(
            "KernelMemoryTCP",
            json!(memcg("memory.kmem.tcp.limit_in_bytes")),
        );
    }
    put("CpuCfsPeriod", json!(true));
    put("CpuCfsQuota", json!(true));
    put("CPUShares", json!(true));
    put("CPUSet", json!(true));
    put("PidsLimit", json!(true));
    put(
        "IPv4Forwarding",
        json!(read_trim("/proc/sys/net/ipv4/ip_forward") == "1"),
    );
    // As dockerd's sysinfo reads them (br_netfilter's switches).
    put(
        "BridgeNfIptables",
        json!(read_trim("/proc/sys/net/bridge/bridge-nf-call-iptables") == "1"),
    );
    put(
        "BridgeNfIp6tables",
        json!(read_trim("/proc/sys/net/bridge/bridge-nf-call-ip6tables") == "1"),
    );
    put("Debug", json!(false));
    put("NFd", json!(count_dir("/proc/self/fd")));
    put("OomKillDisable", json!(!v2));
    put("NGoroutines", json!(count_dir("/proc/self/task")));
    put(
        "SystemTime",
        json!(wharf_image::config::format_time(
            time::OffsetDateTime::now_utc()
        )),
    );
    put("LoggingDriver", json!("json-file"));
    put("CgroupDriver", json!("cgroupfs"));
    put("CgroupVersion", json!(if v2 { "2" } else { "1" }));
    put("NEventsListener", json!(super::events::listeners()));
    put("KernelVersion", json!(kernel_version()));
    put("OperatingSystem", json!(os_name));
    put("OSVersion", json!(os_version));
    put("OSType", json!("linux"));
    put("Architecture", json!(uname.machine().to_string_lossy()));
    put("IndexServerAddress", json!("https://index.docker.io/v1/"));
    put(
        "RegistryConfig",
        json!({
            "AllowNondistributableArtifactsCIDRs": null,
            "AllowNondistributableArtifactsHostnames": null,
            "InsecureRegistryCIDRs": ["127.0.0.0/8"],
            "IndexConfigs": {
                "docker.io": { "Name": "docker.io", "Mirrors": [], "Secure": true, "Official": true }
            },
            "Mirrors": null,
        }),
    );
    put("NCPU", json!(ncpu()));
    put("MemTotal", json!(mem_total()));
    put("GenericResources", Value::Null);
    put("DockerRootDir", json!(data_root.display().to_string()));
    for (k, env) in [
        ("HttpProxy", "HTTP_PROXY"),
        ("HttpsProxy", "HTTPS_PROXY"),
        ("NoProxy", "NO_PROXY"),
    ] {
        let val = std::env::var(env)
            .or_else(|_| std::env::var(env.to_lowercase()))
            .unwrap_or_default();
        put(k, json!(val));
    }
    put("Name", json!(uname.nodename().to_string_lossy()));
    put("Labels", json!([]));
    put("ExperimentalBuild", json!(false));
    put("ServerVersion", json!(ENGINE_VERSION));
    let exe = engine.config().wharf_exe.display().to_string();
    put(
        "Runtimes",
        json!({ "wharf": { "path": format!("{exe} runtime") } }),
    );
    put("DefaultRuntime", json!("wharf"));
    put(
        "Swarm",
        json!({
            "NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
            "ControlAvailable": false, "Error": "", "RemoteManagers": null,
        }),
    );
    put("LiveRestoreEnabled", json!(true));
    put("Isolation", json!(""));
    // `--init` runs the wharf binary as /sbin/docker-init.
    put("InitBinary", json!("docker-init"));
    put("ContainerdCommit", json!({ "ID": "", "Expected": "" }));
    let ours = env!("CARGO_PKG_VERSION");
    put("RuncCommit", json!({ "ID": ours, "Expected": ours }));
    put("InitCommit", json!({ "ID": "", "Expected": "" }));
    let mut security = vec!["name=seccomp,profile=builtin".to_string()];
    if v2 {
        security.push("name=cgroupns".into());
    }
    put("SecurityOptions", json!(security));
    if ctx.at_least(44) {
        put("CDISpecDirs", json!([]));
    }
    let mut warnings = Vec::new();
    if !memcg("memory.memsw.limit_in_bytes") {
        warnings.push("WARNING: No swap limit support");
    }
    put("Warnings", json!(warnings));
    Value::Object(m)
}

/// The engine's ID, made once and kept in `<data-root>/engine-id`
/// (Docker 23+ uses a UUID).
pub(crate) fn engine_id(data_root: &Path) -> String {
    let path = data_root.join("engine-id");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim();
        if !s.is_empty() {
            return s.to_string();
        }
    }
    let mut b = [0u8; 16];
    let _ = rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let id = format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    );
    let tmp = data_root.join(format!("engine-id.{}", std::process::id()));
    if std::fs::write(&tmp, &id).is_ok() && std::fs::rename(&tmp, &path).is_ok() {
        return std::fs::read_to_string(&path)
            .unwrap_or(id)
            .trim()
            .to_string();
    }
    id
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn count_dir(path: &str) -> usize {
    std::fs::read_dir(path).map(|d| d.count()).unwrap_or(0)
}

/// `PRETTY_NAME` and `VERSION_ID` of /etc/os-release.
fn os_release() -> (String, String) {
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    let get = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_default()
    };
    let name = get("PRETTY_NAME");
    (
        if name.is_empty() {
            "Linux".into()
        } else {
            name
        },
        get("VERSION_ID"),
    )
}

/// Whether /sys/fs/cgroup is the unified (v2) hierarchy.
fn cgroup_v2() -> bool {
    rustix::fs::statfs("/sys/fs/cgroup").is_ok_and(|s| s.f_type == 0x6367_7270)
}

/// Docker's name for the filesystem under the data root.
fn backing_fs(path: &Path) -> &'static str {
    let Ok(s) = rustix::fs::statfs(path) else {
        return "<unknown>";
    };
    match s.f_type {
        0xEF53 => "extfs",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x0102_1994 => "tmpfs",
        0x794C_7630 => "overlayfs",
        0x2FC1_2FC1 => "zfs",
        _ => "<unknown>",
    }
}

/// CPUs this process may run on (Go's `runtime.NumCPU`).
fn ncpu() -> usize {
    rustix::thread::sched_getaffinity(None)
        .map(|set| set.count() as usize)
        .ok()
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `MemTotal` of /proc/meminfo in bytes.
fn mem_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
