//! The mount list of a container's spec: the runtime's defaults adjusted
//! for `/dev/shm`, privileged, read-only and ipc modes, the `/etc` files,
//! `--tmpfs`, and the container's binds, volumes and tmpfs mounts, parents
//! before children (Docker sorts by depth).

use std::path::Path;

use serde_json::{json, Value};

use crate::error::Result;
use crate::model::Container;

/// Docker's `/dev/shm` size when none is given.
pub(super) const DEFAULT_SHM: i64 = 64 << 20;

/// The options of a tmpfs made for a `--mount type=tmpfs` or `--tmpfs`.
const TMPFS_DEFAULTS: [&str; 3] = ["nosuid", "nodev", "noexec"];

/// A destination without repeated or trailing slashes or `.` parts.
pub(super) fn clean(dest: &str) -> String {
    let parts: Vec<&str> = dest
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

fn depth(dest: &str) -> usize {
    clean(dest).split('/').filter(|p| !p.is_empty()).count()
}

/// Sets `doc["mounts"]` for `c`; `shm` is the host directory bound at
/// `/dev/shm` (`--ipc shareable` or `container:`; see `super::ipc`).
pub(super) fn apply(doc: &mut Value, c: &Container, shm: Option<&Path>) -> Result<()> {
    let h = &c.options.host;
    let mut user: Vec<Value> = Vec::new();
    for m in &c.mounts {
        let mut options: Vec<String> = Vec::new();
        let value = match m.kind.as_str() {
            "tmpfs" => {
                options.extend(TMPFS_DEFAULTS.map(String::from));
                if let Some(spec) = h
                    .mounts
                    .iter()
                    .find(|s| s.kind == "tmpfs" && clean(&s.target) == clean(&m.destination))
                {
                    if let Some(size) = spec.tmpfs_size.filter(|&s| s > 0) {
                        options.push(format!("size={size}"));
                    }
                    if let Some(mode) = spec.tmpfs_mode {
                        options.push(format!("mode={mode:o}"));
                    }
                }
                if !m.rw {
                    options.push("ro".into());
                }
                json!({ "destination": m.destination, "type": "tmpfs", "source": "tmpfs", "options": options })
            }
            _ => {
                options.push("rbind".into());
                let prop = if m.propagation.is_empty() {
                    "rprivate"
                } else {
                    m.propagation.as_str()
                };
                options.push(prop.to_string());
                if !m.rw {
                    options.push("ro".into());
                }
                json!({ "destination": m.destination, "type": "bind", "source": m.source, "options": options })
            }
        };
        user.push(value);
    }
    for (path, opts) in &h.tmpfs {
        let mut options: Vec<String> = TMPFS_DEFAULTS.map(String::from).to_vec();
        options.extend(opts.split(',').filter(|o| !o.is_empty()).map(String::from));
        user.push(
            json!({ "destination": path, "type": "tmpfs", "source": "tmpfs", "options": options }),
        );
    }
    user.sort_by_key(|m| depth(m["destination"].as_str().unwrap_or("/")));
    let taken: Vec<String> = user
        .iter()
        .map(|m| clean(m["destination"].as_str().unwrap_or_default()))
        .collect();

    let mut defaults = doc["mounts"].as_array().cloned().unwrap_or_default();
    // moby's default order (oci/defaults.go).
    const ORDER: [&str; 7] = [
        "/proc",
        "/dev",
        "/dev/pts",
        "/sys",
        "/sys/fs/cgroup",
        "/dev/mqueue",
        "/dev/shm",
    ];
    defaults.sort_by_key(|m| {
        let d = m["destination"].as_str().unwrap_or_default();
        ORDER.iter().position(|o| *o == d).unwrap_or(ORDER.len())
    });
    let mut out: Vec<Value> = Vec::new();
    for mut m in defaults {
        let dest = m["destination"].as_str().unwrap_or_default().to_string();
        if taken.contains(&dest) {
            continue;
        }
        match dest.as_str() {
            "/dev/shm" => match h.ipc_mode.as_str() {
                "none" => continue,
                _ if shm.is_some() => {
                    m = json!({ "destination": "/dev/shm", "type": "bind", "source": shm,
                                "options": ["rbind", "rprivate"] });
                }
                "host" => {
                    m = json!({ "destination": "/dev/shm", "type": "bind", "source": "/dev/shm",
                                "options": ["rbind", "rprivate"] });
                }
                _ => {
                    let size = h.shm_size.filter(|&s| s > 0).unwrap_or(DEFAULT_SHM);
                    m["options"] = json!([
                        "nosuid",
                        "noexec",
                        "nodev",
                        "mode=1777",
                        format!("size={size}")
                    ]);
                }
            },
            "/sys" | "/sys/fs/cgroup" if h.privileged => {
                if let Some(o) = m["options"].as_array_mut() {
                    o.retain(|v| v != "ro");
                }
            }
            "/proc" | "/dev" | "/dev/pts" | "/dev/mqueue" => {}
            _ if h.read_only => {
                if let Some(o) = m["options"].as_array_mut() {
                    if !o.iter().any(|v| v == "ro") {
                        o.push(json!("ro"));
                    }
                }
            }
            _ => {}
        }
        out.push(m);
    }
    for (dest, source) in [
        ("/etc/resolv.conf", &c.resolv_conf_path),
        ("/etc/hostname", &c.hostname_path),
        ("/etc/hosts", &c.hosts_path),
    ] {
        if source.as_os_str().is_empty() || taken.iter().any(|t| t == dest) {
            continue;
        }
        let mut options = vec!["rbind", "rprivate"];
        if h.read_only {
            options.push("ro");
        }
        out.push(
            json!({ "destination": dest, "type": "bind", "source": source, "options": options }),
        );
    }
    out.extend(user);
    doc["mounts"] = Value::Array(out);
    Ok(())
}
