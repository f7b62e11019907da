//! Where a container's cgroup lives in each hierarchy, from the OCI
//! `linux.cgroupsPath` (see the runtime spec, config-linux.md "Cgroups path").

use std::path::{Component, Path, PathBuf};

use crate::error::{CgroupError, Result};
use crate::layout::Hierarchy;

/// The parent of every default cgroup path: `/wharf/<container id>`.
pub const DEFAULT_PARENT: &str = "wharf";

/// A validated `cgroupsPath`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CgroupPath {
    /// Relative to the root of every hierarchy (the path began with `/`, or
    /// was absent and defaulted to `/wharf/<id>`).
    FromRoot(PathBuf),
    /// Relative to the calling process's own cgroup in each hierarchy.
    FromOwn(PathBuf),
}

impl CgroupPath {
    /// Validates `cgroups_path` (absent → `/wharf/<id>`). `..` components may
    /// not climb above the starting cgroup, `.` and repeated `/` are dropped,
    /// and a path naming the starting cgroup itself is refused. The systemd
    /// driver's `slice:prefix:name` form is accepted and mapped to the path
    /// systemd would use (`/system.slice/prefix-name.scope`); there is no
    /// systemd to talk to, the directories are managed like any other.
    pub fn parse(cgroups_path: Option<&str>, id: &str) -> Result<CgroupPath> {
        let id_ok = !id.is_empty() && !id.contains(['/', '\0']) && id != "." && id != "..";
        if !id_ok {
            return Err(CgroupError::InvalidPath {
                path: id.to_string(),
                reason: "bad container id",
            });
        }
        let raw = match cgroups_path {
            None => return Ok(CgroupPath::FromRoot(Path::new(DEFAULT_PARENT).join(id))),
            Some(p) => p,
        };
        let bad = |reason| CgroupError::InvalidPath {
            path: raw.to_string(),
            reason,
        };
        if raw.contains('\0') {
            return Err(bad("contains a NUL byte"));
        }
        let systemd = systemd_path(raw).map_err(bad)?;
        let (raw_path, from_root) = match &systemd {
            Some(p) => (p.as_str(), true),
            None => (raw, raw.starts_with('/')),
        };
        let mut rel = PathBuf::new();
        for c in Path::new(raw_path).components() {
            match c {
                Component::RootDir | Component::CurDir => {}
                Component::Normal(n) => rel.push(n),
                Component::ParentDir => {
                    if !rel.pop() {
                        return Err(bad("'..' climbs out of the cgroup root"));
                    }
                }
                Component::Prefix(_) => return Err(bad("unexpected prefix")),
            }
        }
        if rel.as_os_str().is_empty() {
            return Err(bad("names the root cgroup, not a cgroup of its own"));
        }
        Ok(if from_root {
            CgroupPath::FromRoot(rel)
        } else {
            CgroupPath::FromOwn(rel)
        })
    }

    /// The path below the starting cgroup.
    pub fn relative(&self) -> &Path {
        match self {
            CgroupPath::FromRoot(p) | CgroupPath::FromOwn(p) => p,
        }
    }

    /// The directory of this cgroup in hierarchy `h`.
    pub fn dir_in(&self, h: &Hierarchy) -> Result<PathBuf> {
        match self {
            CgroupPath::FromRoot(p) => Ok(h.mount_point.join(p)),
            CgroupPath::FromOwn(p) => Ok(h.own_dir()?.join(p)),
        }
    }
}

/// The cgroupfs path of a systemd-style `slice:prefix:name` cgroups path (what
/// podman, containerd and dockerd send with the systemd cgroup driver), as
/// systemd would lay it out: `a-b.slice` nests as `a.slice/a-b.slice`, and the
/// unit is `prefix-name.scope` (or `name` itself when that is a slice).
/// `Ok(None)` when `raw` is not of that form.
fn systemd_path(raw: &str) -> std::result::Result<Option<String>, &'static str> {
    let parts: Vec<&str> = raw.split(':').collect();
    if parts.len() != 3 || raw.contains('/') {
        return Ok(None);
    }
    let (slice, prefix, name) = (parts[0], parts[1], parts[2]);
    if name.is_empty() {
        return Err("systemd form needs a unit name");
    }
    let slice = if slice.is_empty() {
        "system.slice"
    } else {
        slice
    };
    let Some(stem) = slice.strip_suffix(".slice") else {
        return Err("systemd form needs a .slice parent");
    };
    let mut path = String::new();
    if stem != "-" {
        let mut acc = String::new();
        for part in stem.split('-') {
            if part.is_empty() {
                return Err("invalid slice name");
            }
            if !acc.is_empty() {
                acc.push('-');
            }
            acc.push_str(part);
            path.push_str(&format!("/{acc}.slice"));
        }
    }
    let unit = match (name.ends_with(".slice"), prefix.is_empty()) {
        (true, _) => name.to_string(),
        (false, true) => format!("{name}.scope"),
        (false, false) => format!("{prefix}-{name}.scope"),
    };
    Ok(Some(format!("{path}/{unit}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(p: Option<&str>) -> Result<CgroupPath> {
        CgroupPath::parse(p, "c1")
    }

    #[test]
    fn resolves_the_three_forms() {
        assert_eq!(rel(None).unwrap(), CgroupPath::FromRoot("wharf/c1".into()));
        assert_eq!(
            rel(Some("/a//b/./c")).unwrap(),
            CgroupPath::FromRoot("a/b/c".into())
        );
        assert_eq!(
            rel(Some("a/x/../b")).unwrap(),
            CgroupPath::FromOwn("a/b".into())
        );
    }

    #[test]
    fn systemd_form_maps_to_its_cgroupfs_path() {
        let cases = [
            ("system.slice:docker:abc", "system.slice/docker-abc.scope"),
            (
                "user-1000.slice:libpod:x",
                "user.slice/user-1000.slice/libpod-x.scope",
            ),
            (":cri-containerd:id", "system.slice/cri-containerd-id.scope"),
            ("machine.slice::pod.slice", "machine.slice/pod.slice"),
            ("-.slice:p:n", "p-n.scope"),
        ];
        for (raw, want) in cases {
            assert_eq!(
                rel(Some(raw)).unwrap(),
                CgroupPath::FromRoot(want.into()),
                "{raw}"
            );
        }
        for raw in ["a.slice:p:", "nodot:p:n", "a--b.slice:p:n", ".slice:p:n"] {
            assert!(rel(Some(raw)).is_err(), "{raw}");
        }
    }

    #[test]
    fn cgroup_path_escape_rejected() {
        for p in ["/..", "/a/../..", "../x", "a/../../b", "/", "", ".", "a/.."] {
            assert!(
                matches!(rel(Some(p)), Err(CgroupError::InvalidPath { .. })),
                "{p}"
            );
        }
        for id in ["", "a/b", "..", "."] {
            assert!(CgroupPath::parse(None, id).is_err(), "{id}");
        }
    }
}
