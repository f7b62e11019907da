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
    /// and a path naming the starting cgroup itself is refused.
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
        let mut rel = PathBuf::new();
        for c in Path::new(raw).components() {
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
        Ok(if raw.starts_with('/') {
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
