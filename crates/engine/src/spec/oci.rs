//! The runtime spec of a container, built as Docker builds it
//! (moby's `daemon/oci_linux.go`) on the runtime's default spec: process,
//! namespaces, mounts, security and cgroup resources.

use std::path::Path;

use oci_spec::runtime::Spec;
use serde_json::{json, Value};
use wharf_build::dispatch::{get_env, set_env};
use wharf_image::user::ResolvedUser;
use wharf_runtime::spec::{default_spec, DEFAULT_PATH, DOCKER_CAPS};

use super::{devices, mounts, resources};
use crate::error::{EngineError, Result};
use crate::model::Container;

/// What `--security-opt` asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SecurityOpts {
    /// `no-new-privileges[=true]`.
    pub no_new_privileges: bool,
    /// `seccomp=unconfined`.
    pub unconfined: bool,
    /// `seccomp=<profile JSON>`.
    pub profile: Option<String>,
    /// `systempaths=unconfined`: no masked or read-only paths.
    pub unmask: bool,
}

/// Parses `--security-opt`s as Docker's daemon does (`label` and
/// `apparmor` are accepted and have no effect here).
pub(crate) fn security_opts(list: &[String]) -> Result<SecurityOpts> {
    let mut out = SecurityOpts::default();
    for opt in list {
        if opt == "no-new-privileges" {
            out.no_new_privileges = true;
            continue;
        }
        if opt == "disable" {
            continue;
        }
        let Some((key, value)) = opt.split_once('=').or_else(|| opt.split_once(':')) else {
            return Err(EngineError::invalid(format!(
                "invalid --security-opt 1: {opt:?}"
            )));
        };
        match key {
            "label" | "apparmor" => {}
            "seccomp" if value == "unconfined" => out.unconfined = true,
            "seccomp" => {
                super::seccomp::from_moby(value, DOCKER_CAPS)?;
                out.profile = Some(value.to_string());
            }
            "systempaths" if value == "unconfined" => out.unmask = true,
            "no-new-privileges" => {
                out.no_new_privileges = match value {
                    "true" | "1" | "t" | "T" | "TRUE" | "True" => true,
                    "false" | "0" | "f" | "F" | "FALSE" | "False" => false,
                    _ => {
                        return Err(EngineError::invalid(format!(
                            "invalid --security-opt 2: {opt:?}"
                        )))
                    }
                }
            }
            _ => {
                return Err(EngineError::invalid(format!(
                    "invalid --security-opt 2: {opt:?}"
                )))
            }
        }
    }
    Ok(out)
}

/// Where `--init` puts the init in the container (moby's
/// `DefaultInitBinary`): `ps` inside shows `/sbin/docker-init -- CMD`.
pub(crate) const INIT_PATH: &str = "/sbin/docker-init";

/// An io error as Go prints it (`no such file or directory`).
pub(crate) fn errno_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s).to_string();
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => s,
    }
}

/// Whether the host's cgroups are the unified (v2) hierarchy.
pub(crate) fn cgroup_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// See [`super::container_spec`].
pub(super) fn build(
    c: &Container,
    rootfs: &Path,
    user: &ResolvedUser,
    env: &super::StartEnv<'_>,
) -> Result<Spec> {
    let peer_pid = env.peer_pid;
    let h = &c.options.host;
    let sec = security_opts(&h.security_opt)?;
    let mut doc = serde_json::to_value(default_spec(false))
        .map_err(|e| EngineError::system("failed to build the default spec", e))?;
    doc["root"] = json!({ "path": rootfs, "readonly": h.read_only });

    // A container joining another's network takes its host name and its
    // /etc/hosts and resolv.conf too (Docker shares them with the network).
    let net_peer = match h.network_mode.strip_prefix("container:") {
        Some(peer) => Some(peer_pid(peer)?),
        None => None,
    };
    let name = match net_peer {
        Some(pid) if c.options.hostname.as_deref().unwrap_or_default().is_empty() => {
            std::fs::read_to_string(format!("/proc/{pid}/root/etc/hostname"))
                .map(|n| n.trim().to_string())
                .ok()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| super::hostname(c))
        }
        _ => super::hostname(c),
    };

    // Process.
    let caps = super::tweak_caps(DOCKER_CAPS, &h.cap_add, &h.cap_drop, h.privileged)?;
    let process = &mut doc["process"];
    process["terminal"] = json!(c.options.tty);
    let mut args = vec![c.path.clone()];
    args.extend(c.args.iter().cloned());
    let init = match (h.init, &env.init) {
        (Some(true), Some(bin)) => Some(bin.clone()),
        (Some(true), None) => {
            return Err(EngineError::invalid(
                "--init needs the init binary, which this engine was not given",
            ))
        }
        _ => None,
    };
    if init.is_some() {
        // moby: the init runs the container's command as its child.
        args.splice(0..0, [INIT_PATH.to_string(), "--".to_string()]);
    }
    process["args"] = json!(args);
    process["env"] = json!(process_env(c, user, &name));
    let cwd = if c.working_dir.is_empty() {
        "/"
    } else {
        &c.working_dir
    };
    process["cwd"] = json!(cwd);
    if cwd != "/" {
        wharf_image::rootfs::mkdir_all(rootfs, cwd).map_err(|e| {
            EngineError::system(format!("failed to create the working directory {cwd}"), e)
        })?;
    }
    // runc's GetExecUser, as Docker shows it: the primary group first;
    // the passwd user's memberships unless a group was named.
    let mut gids = vec![user.gid];
    if !c.user.contains(':') {
        gids.extend(user.additional_gids.iter().filter(|&&g| g != user.gid));
    }
    for g in &h.group_add {
        let gid = resolve_group(rootfs, g)?;
        if !gids.contains(&gid) {
            gids.push(gid);
        }
    }
    process["user"] = json!({ "uid": user.uid, "gid": user.gid, "additionalGids": gids });
    // A user other than root starts without effective and permitted
    // capabilities (moby, since CVE-2022-24769); the bounding set stays.
    let held: &[String] = if user.uid == 0 { &caps } else { &[] };
    process["capabilities"] = json!({ "bounding": caps, "effective": held, "permitted": held });
    process["noNewPrivileges"] = json!(sec.no_new_privileges);
    process["oomScoreAdj"] = json!(h.oom_score_adj);
    let rlimits: Vec<Value> = h
        .ulimits
        .iter()
        .map(|u| {
            json!({ "type": format!("RLIMIT_{}", u.name.to_ascii_uppercase()),
                    "soft": u.soft, "hard": u.hard })
        })
        .collect();
    if rlimits.is_empty() {
        // Docker sets none: the container inherits the daemon's limits.
        process.as_object_mut().map(|p| p.remove("rlimits"));
    } else {
        process["rlimits"] = json!(rlimits);
    }

    // Before the namespaces: the ipc peer's checks come first (Docker's).
    let shm = super::ipc::shm_source(c, env)?;

    // Namespaces and hostname.
    let mut namespaces = vec![json!({ "type": "mount" })];
    let mut ns = |kind: &str, mode: &str| -> Result<()> {
        match mode {
            "host" => {}
            m if m.starts_with("container:") => {
                let pid = peer_pid(&m["container:".len()..])?;
                let file = match kind {
                    "network" => "net",
                    other => other,
                };
                namespaces.push(json!({ "type": kind, "path": format!("/proc/{pid}/ns/{file}") }));
            }
            _ => namespaces.push(json!({ "type": kind })),
        }
        Ok(())
    };
    if c.network.sandbox_key.as_os_str().is_empty() {
        ns("network", &h.network_mode)?;
    }
    ns("ipc", &h.ipc_mode)?;
    ns("pid", &h.pid_mode)?;
    ns("uts", &h.uts_mode)?;
    if !c.network.sandbox_key.as_os_str().is_empty() {
        // The namespace the engine made and connected before the start.
        namespaces.push(json!({ "type": "network", "path": c.network.sandbox_key }));
    }
    if cgroup_v2() {
        namespaces.push(json!({ "type": "cgroup" }));
    }
    doc["linux"]["namespaces"] = json!(namespaces);
    if h.uts_mode == "host" {
        doc.as_object_mut().map(|d| d.remove("hostname"));
    } else {
        doc["hostname"] = json!(name);
        if let Some(d) = c.options.domainname.as_deref().filter(|d| !d.is_empty()) {
            doc["domainname"] = json!(d);
        }
    }

    if let Some(pid) = net_peer {
        // The peer's files, copied into ours: a mount of another mount
        // namespace cannot be bound (open_tree(2) refuses it).
        for (file, ours) in [
            ("hosts", &c.hosts_path),
            ("resolv.conf", &c.resolv_conf_path),
            ("hostname", &c.hostname_path),
        ] {
            if ours.as_os_str().is_empty() {
                continue;
            }
            if let Ok(text) = std::fs::read(format!("/proc/{pid}/root/etc/{file}")) {
                std::fs::write(ours, text).map_err(|e| {
                    EngineError::system(format!("failed to write {}", ours.display()), e)
                })?;
            }
        }
    }
    mounts::apply(&mut doc, c, shm.as_deref())?;
    if let Some(bin) = init {
        if let Some(list) = doc["mounts"].as_array_mut() {
            list.push(json!({ "destination": INIT_PATH, "type": "bind",
                              "source": bin, "options": ["bind", "ro"] }));
        }
    }

    // Security.
    let linux = &mut doc["linux"];
    if h.privileged || sec.unmask {
        linux.as_object_mut().map(|l| l.remove("maskedPaths"));
        linux.as_object_mut().map(|l| l.remove("readonlyPaths"));
    }
    if h.privileged || sec.unconfined {
        linux.as_object_mut().map(|l| l.remove("seccomp"));
    } else {
        let profile = match &sec.profile {
            Some(p) => super::seccomp::from_moby(p, &caps)?,
            None => wharf_seccomp::docker_profile(&caps),
        };
        linux["seccomp"] = serde_json::to_value(profile)
            .map_err(|e| EngineError::system("failed to encode the seccomp profile", e))?;
    }
    if !h.sysctls.is_empty() {
        linux["sysctl"] = json!(h.sysctls);
    }
    linux["cgroupsPath"] = json!(format!("/wharf/{}", c.id));
    let (devs, rules) = devices::devices(h)?;
    linux["devices"] = json!(devs);
    linux["resources"] = resources::resources(&h.resources, rules);

    let spec: Spec = serde_json::from_value(doc)
        .map_err(|e| EngineError::system("the container's spec is not valid", e))?;
    wharf_runtime::config::validate(&spec).map_err(|e| EngineError::invalid(e.to_string()))?;
    Ok(spec)
}

/// Docker's process environment: PATH, HOSTNAME (and TERM with a tty),
/// then the config's env replacing or adding, then HOME unless set.
fn process_env(c: &Container, user: &ResolvedUser, hostname: &str) -> Vec<String> {
    let mut env = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={hostname}"),
    ];
    if c.options.tty {
        env.push("TERM=xterm".to_string());
    }
    for kv in &c.env {
        if let Some((k, v)) = kv.split_once('=') {
            set_env(&mut env, k, v);
        }
    }
    if get_env(&env, "HOME").is_none() {
        env.push(format!("HOME={}", user.home));
    }
    env
}

/// A `--group-add` entry: a number, or a name in the image's /etc/group.
fn resolve_group(rootfs: &Path, group: &str) -> Result<u32> {
    if let Ok(n) = group.parse::<u32>() {
        return Ok(n);
    }
    let text = read_in_root(rootfs, "etc/group").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let gid = f.nth(1)?.parse::<u32>().ok()?;
            Some((name.to_string(), gid))
        })
        .find(|(n, _)| n == group)
        .map(|(_, g)| g)
        .ok_or_else(|| {
            EngineError::invalid(format!(
                "Unable to find group {group}: no matching entries in group file"
            ))
        })
}

/// Reads `path` as seen inside `rootfs` (symlinks stay inside it).
pub(crate) fn read_in_root(rootfs: &Path, path: &str) -> std::io::Result<String> {
    use std::io::Read;
    use wharf_sys::fs::{OFlags, ResolveFlags};
    let root = wharf_sys::fs::openat2(
        None,
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY,
        0,
        ResolveFlags::empty(),
    )?;
    let fd = wharf_sys::fs::openat2(
        Some(std::os::fd::AsFd::as_fd(&root)),
        Path::new(path),
        OFlags::RDONLY,
        0,
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )?;
    let mut s = String::new();
    std::fs::File::from(fd).read_to_string(&mut s)?;
    Ok(s)
}
