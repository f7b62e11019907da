//! Discovery: which cgroup hierarchies are mounted where, with which
//! controllers, and where this process sits in each of them.
//!
//! The sources are `/proc/self/mountinfo` (see proc(5)): field 4 is the root
//! of the mount within its filesystem, field 5 the mount point, and after the
//! ` - ` separator come the filesystem type and the super-block options, which
//! for a v1 `cgroup` mount list its controllers (`cpu,cpuacct`) or its name
//! (`name=systemd`); and `/proc/self/cgroup` (see cgroups(7)):
//! `hierarchy-id:controller-list:path`, with `0::path` for cgroup v2. For v2
//! the controllers are those listed in `cgroup.controllers` at the mount point.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{CgroupError, Result};
use crate::files;

/// Every cgroup v1 controller the kernel knows, used to tell controllers from
/// other super-block options (`rw`, `noprefix`, `xattr`, `release_agent=`…).
const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
    "debug",
];

/// The cgroup version of a hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// A legacy `cgroup` hierarchy.
    V1,
    /// The unified `cgroup2` hierarchy.
    V2,
}

/// How the host arranges its hierarchies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Only v1 hierarchies.
    Legacy,
    /// v1 controller hierarchies plus a v2 hierarchy (often at
    /// `/sys/fs/cgroup/unified`).
    Hybrid,
    /// A v2 hierarchy and no v1 hierarchy with controllers (named v1
    /// hierarchies such as `name=systemd` may still exist).
    Unified,
}

/// One mounted cgroup hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hierarchy {
    /// v1 or v2.
    pub version: Version,
    /// Where it is mounted, e.g. `/sys/fs/cgroup/memory`.
    pub mount_point: PathBuf,
    /// The cgroup shown at the mount point, relative to the hierarchy's root
    /// (mountinfo field 4; `/` unless a sub-cgroup was bind-mounted).
    pub root: PathBuf,
    /// v1: the controllers bound to it (without `name=`); v2: the contents of
    /// `cgroup.controllers` at the mount point.
    pub controllers: Vec<String>,
    /// The name of a v1 named hierarchy (`systemd` for `name=systemd`).
    pub name: Option<String>,
    /// This process's cgroup in this hierarchy, as `/proc/self/cgroup` lists it.
    pub own_cgroup: Option<PathBuf>,
}

impl Hierarchy {
    /// Whether `controller` is bound to (v1) or available in (v2) this hierarchy.
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }

    /// The `data` argument for mounting this hierarchy again (inside a
    /// container): `cpu,cpuacct`, `name=systemd`, or empty for v2.
    pub fn mount_options(&self) -> String {
        match (self.version, &self.name) {
            (Version::V2, _) => String::new(),
            (Version::V1, Some(name)) => {
                let mut opts = self.controllers.clone();
                opts.push(format!("name={name}"));
                opts.join(",")
            }
            (Version::V1, None) => self.controllers.join(","),
        }
    }

    /// The directory of this process's own cgroup, when it is visible
    /// through this mount.
    pub fn own_dir(&self) -> Result<PathBuf> {
        let err = || CgroupError::OwnCgroup {
            mount_point: self.mount_point.clone(),
        };
        let own = self.own_cgroup.as_ref().ok_or_else(err)?;
        let rel = own.strip_prefix(&self.root).map_err(|_| err())?;
        Ok(self.mount_point.join(rel))
    }

    /// The key deciding whether two mounts show the same hierarchy.
    fn key(&self) -> Key {
        let mut c = self.controllers.clone();
        c.sort();
        (
            self.version,
            if self.version == Version::V2 {
                vec![]
            } else {
                c
            },
            self.name.clone(),
        )
    }
}

/// What identifies a hierarchy: version, sorted v1 controllers, v1 name.
type Key = (Version, Vec<String>, Option<String>);

/// The set of hierarchies of a host, as seen by this process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    hierarchies: Vec<Hierarchy>,
}

/// The hierarchies of this process's mount namespace (`/proc/self/mountinfo`
/// and `/proc/self/cgroup`).
pub fn hierarchies() -> Result<Vec<Hierarchy>> {
    Ok(Layout::detect()?.hierarchies)
}

impl Layout {
    /// Reads this process's `/proc/self/mountinfo` and `/proc/self/cgroup`.
    pub fn detect() -> Result<Layout> {
        Layout::from_files(
            Path::new("/proc/self/mountinfo"),
            Path::new("/proc/self/cgroup"),
        )
    }

    /// Reads the given mountinfo and proc cgroup files (seam tests point these
    /// at a temporary tree whose mount points are plain directories).
    pub fn from_files(mountinfo: &Path, proc_cgroup: &Path) -> Result<Layout> {
        let read = |p: &Path| {
            fs::read_to_string(p).map_err(|source| CgroupError::Read {
                path: p.into(),
                source,
            })
        };
        let mut hierarchies = parse_mountinfo(&read(mountinfo)?, mountinfo)?;
        if hierarchies.is_empty() {
            return Err(CgroupError::NoHierarchy);
        }
        let own = parse_proc_cgroup(&read(proc_cgroup)?, proc_cgroup)?;
        for h in &mut hierarchies {
            if h.version == Version::V2 {
                let list = files::read(&h.mount_point, "cgroup.controllers")?;
                h.controllers = list.split_whitespace().map(str::to_string).collect();
            }
            h.own_cgroup = own
                .iter()
                .find(|(k, _)| *k == h.key())
                .map(|(_, p)| p.clone());
        }
        Ok(Layout { hierarchies })
    }

    /// All hierarchies, in mountinfo order.
    pub fn hierarchies(&self) -> &[Hierarchy] {
        &self.hierarchies
    }

    /// The v2 hierarchy, if one is mounted.
    pub fn v2(&self) -> Option<&Hierarchy> {
        self.hierarchies.iter().find(|h| h.version == Version::V2)
    }

    /// The v1 hierarchy that `controller` is bound to, if any.
    pub fn v1(&self, controller: &str) -> Option<&Hierarchy> {
        self.hierarchies
            .iter()
            .find(|h| h.version == Version::V1 && h.has(controller))
    }

    /// Legacy, hybrid or unified.
    pub fn mode(&self) -> Mode {
        let v1 = self
            .hierarchies
            .iter()
            .any(|h| h.version == Version::V1 && !h.controllers.is_empty());
        match (v1, self.v2().is_some()) {
            (true, true) => Mode::Hybrid,
            (false, true) => Mode::Unified,
            _ => Mode::Legacy,
        }
    }
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The cgroup mounts of a mountinfo file, one per hierarchy (later mounts of
/// the same hierarchy, e.g. bind mounts, are dropped).
fn parse_mountinfo(text: &str, path: &Path) -> Result<Vec<Hierarchy>> {
    let mut out: Vec<Hierarchy> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let bad = || CgroupError::Parse {
            path: path.into(),
            line: line.to_string(),
        };
        let (left, right) = line.split_once(" - ").ok_or_else(bad)?;
        let fields: Vec<&str> = left.split(' ').collect();
        let tail: Vec<&str> = right.split(' ').collect();
        if fields.len() < 6 || tail.len() < 3 {
            return Err(bad());
        }
        let version = match tail[0] {
            "cgroup" => Version::V1,
            "cgroup2" => Version::V2,
            _ => continue,
        };
        let mut controllers = Vec::new();
        let mut name = None;
        if version == Version::V1 {
            for opt in tail[2].split(',') {
                if let Some(n) = opt.strip_prefix("name=") {
                    name = Some(n.to_string());
                } else if V1_CONTROLLERS.contains(&opt) {
                    controllers.push(opt.to_string());
                }
            }
        }
        let h = Hierarchy {
            version,
            mount_point: PathBuf::from(unescape(fields[4])),
            root: PathBuf::from(unescape(fields[3])),
            controllers,
            name,
            own_cgroup: None,
        };
        if !out.iter().any(|o| o.key() == h.key()) {
            out.push(h);
        }
    }
    Ok(out)
}

/// The lines of `/proc/<pid>/cgroup` as (hierarchy key, path).
fn parse_proc_cgroup(text: &str, path: &Path) -> Result<Vec<(Key, PathBuf)>> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut it = line.splitn(3, ':');
        let (Some(id), Some(list), Some(p)) = (it.next(), it.next(), it.next()) else {
            return Err(CgroupError::Parse {
                path: path.into(),
                line: line.to_string(),
            });
        };
        let key = if id == "0" && list.is_empty() {
            (Version::V2, vec![], None)
        } else {
            let mut controllers = Vec::new();
            let mut name = None;
            for c in list.split(',') {
                match c.strip_prefix("name=") {
                    Some(n) => name = Some(n.to_string()),
                    None => controllers.push(c.to_string()),
                }
            }
            controllers.sort();
            (Version::V1, controllers, name)
        };
        out.push((key, PathBuf::from(p)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
        assert_eq!(unescape(r"/a\\x"), r"/a\\x");
    }

    #[test]
    fn parses_v1_options_and_named() {
        let mi = "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n\
                  32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
                  33 31 0:29 / /mnt/again rw - cgroup cgroup rw,cpuacct,cpu\n\
                  41 31 0:38 /sub /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n\
                  42 31 0:38 / /tmp rw - tmpfs tmpfs rw\n";
        let hs = parse_mountinfo(mi, Path::new("mi")).unwrap();
        assert_eq!(hs.len(), 3);
        assert_eq!(hs[0].name.as_deref(), Some("systemd"));
        assert!(hs[0].controllers.is_empty());
        assert_eq!(hs[0].mount_options(), "name=systemd");
        assert_eq!(hs[1].mount_options(), "cpu,cpuacct");
        assert_eq!(hs[2].version, Version::V2);
        assert_eq!(hs[2].root, Path::new("/sub"));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_mountinfo("garbage line\n", Path::new("mi")).is_err());
        assert!(parse_proc_cgroup("nocolons\n", Path::new("c")).is_err());
    }
}
