//! Devices of a container: `--device` nodes with their cgroup rules, and
//! for `--privileged` every device of the host with access to all.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::error::{EngineError, Result};
use crate::model::HostOptions;

/// Directories of the host's /dev that hold no devices of the container's
/// own (runc's `GetDevices` skips them), and nodes the runtime makes itself.
const SKIP: &[&str] = &[
    "pts",
    "shm",
    "fd",
    "mqueue",
    ".lxc",
    ".lxd-mounts",
    ".udev",
    "console",
    "ptmx",
];

/// One device node: `(path on host, kind c|b, major, minor, mode, uid, gid)`.
fn node(path: &Path) -> Option<(char, u64, u64, u32, u32, u32)> {
    let md = std::fs::symlink_metadata(path).ok()?;
    let ft = md.file_type();
    let kind = if ft.is_char_device() {
        'c'
    } else if ft.is_block_device() {
        'b'
    } else {
        return None;
    };
    let rdev = md.rdev();
    Some((
        kind,
        u64::from(rustix::fs::major(rdev)),
        u64::from(rustix::fs::minor(rdev)),
        md.mode() & 0o7777,
        md.uid(),
        md.gid(),
    ))
}

/// Every device node under `dir` (recursively), skipping [`SKIP`].
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if SKIP.iter().any(|s| name == *s) {
            continue;
        }
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            walk(&e.path(), out);
        } else if ft.is_char_device() || ft.is_block_device() {
            out.push(e.path());
        }
    }
}

/// `linux.devices` and the cgroup device rules (deny all first).
pub(super) fn devices(h: &HostOptions) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut devs = Vec::new();
    let mut rules = vec![json!({ "allow": false, "access": "rwm" })];
    let mut add = |host: &Path, ctr: &Path, access: &str, rules: &mut Vec<Value>| {
        if let Some((kind, major, minor, mode, uid, gid)) = node(host) {
            devs.push(
                json!({ "path": ctr, "type": kind.to_string(), "major": major, "minor": minor,
                              "fileMode": mode, "uid": uid, "gid": gid }),
            );
            rules.push(
                json!({ "allow": true, "type": kind.to_string(), "major": major, "minor": minor,
                               "access": access }),
            );
        }
    };
    if h.privileged {
        let mut all = Vec::new();
        walk(Path::new("/dev"), &mut all);
        for p in all {
            add(&p, &p, "rwm", &mut rules);
        }
        rules.push(json!({ "allow": true, "access": "rwm" }));
    }
    for d in &h.devices {
        let host = Path::new(&d.path_on_host);
        let ctr = if d.path_in_container.is_empty() {
            host
        } else {
            Path::new(&d.path_in_container)
        };
        let access = if d.cgroup_permissions.is_empty() {
            "rwm"
        } else {
            &d.cgroup_permissions
        };
        let md = std::fs::metadata(host).map_err(|e| {
            EngineError::invalid(format!(
                "error gathering device information while adding custom device {:?}: {}",
                d.path_on_host,
                super::oci::errno_text(&e)
            ))
        })?;
        if md.is_dir() {
            let mut found = Vec::new();
            walk(host, &mut found);
            for p in found {
                let rel = p.strip_prefix(host).unwrap_or(&p);
                add(&p, &ctr.join(rel), access, &mut rules);
            }
        } else if node(host).is_some() {
            add(host, ctr, access, &mut rules);
        } else {
            return Err(EngineError::invalid(format!(
                "error gathering device information while adding custom device {:?}: not a device node",
                d.path_on_host
            )));
        }
    }
    for r in &h.device_cgroup_rules {
        rules.push(cgroup_rule(r)?);
    }
    Ok((devs, rules))
}

/// A `--device-cgroup-rule` (`type major:minor access`, `*` for any
/// number; moby's `deviceCgroupRuleRegex`) as a cgroup device rule.
fn cgroup_rule(rule: &str) -> Result<Value> {
    let bad = || {
        EngineError::new(
            crate::error::Kind::System,
            format!("invalid device cgroup rule format: '{rule}'"),
        )
    };
    let parts: Vec<&str> = rule.split(' ').collect();
    let [kind, numbers, access] = parts.as_slice() else {
        return Err(bad());
    };
    let (major, minor) = numbers.split_once(':').ok_or_else(bad)?;
    let number = |n: &str| -> Result<Option<u64>> {
        match n {
            "*" => Ok(None),
            n if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                n.parse().map(Some).map_err(|_| bad())
            }
            _ => Err(bad()),
        }
    };
    let access_ok = (1..=3).contains(&access.len()) && access.bytes().all(|b| b"rwm".contains(&b));
    if !matches!(*kind, "a" | "b" | "c") || !access_ok {
        return Err(bad());
    }
    let mut out = json!({ "allow": true, "type": kind, "access": access });
    if let Some(m) = number(major)? {
        out["major"] = json!(m);
    }
    if let Some(m) = number(minor)? {
        out["minor"] = json!(m);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::cgroup_rule;
    use serde_json::json;

    #[test]
    fn cgroup_rules_as_moby_reads_them() {
        assert_eq!(
            cgroup_rule("c 42:* rmw").unwrap(),
            json!({"allow": true, "type": "c", "major": 42, "access": "rmw"})
        );
        assert_eq!(
            cgroup_rule("b *:* r").unwrap(),
            json!({"allow": true, "type": "b", "access": "r"})
        );
        assert!(cgroup_rule("c 1:2 rr").is_ok());
        for bad in ["x 1:2 r", "c 1:2", "c a:2 r", "c 1:2 rwmx", "a", "c 1:2  r"] {
            let e = cgroup_rule(bad).unwrap_err();
            assert_eq!(
                e.message,
                format!("invalid device cgroup rule format: '{bad}'")
            );
        }
    }
}
