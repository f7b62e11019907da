//! `Cgroup`: one container's cgroup across every mounted hierarchy.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::Duration;

use crate::error::{CgroupError, Result};
use crate::files;
use crate::layout::{Hierarchy, Layout, Version};
use crate::path::CgroupPath;

/// A controller, placed in a v1 hierarchy when one has it bound, otherwise
/// in the v2 hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ctl {
    Cpu,
    Cpuacct,
    Cpuset,
    Memory,
    Pids,
    Io,
    Hugetlb,
    Devices,
    Freezer,
    Rdma,
}

impl Ctl {
    fn v1(self) -> &'static str {
        match self {
            Ctl::Cpu => "cpu",
            Ctl::Cpuacct => "cpuacct",
            Ctl::Cpuset => "cpuset",
            Ctl::Memory => "memory",
            Ctl::Pids => "pids",
            Ctl::Io => "blkio",
            Ctl::Hugetlb => "hugetlb",
            Ctl::Devices => "devices",
            Ctl::Freezer => "freezer",
            Ctl::Rdma => "rdma",
        }
    }

    /// The v2 controller name; `None` for features every v2 cgroup has
    /// (device filtering through BPF, `cgroup.freeze`).
    fn v2(self) -> Option<&'static str> {
        match self {
            Ctl::Cpu | Ctl::Cpuacct => Some("cpu"),
            Ctl::Cpuset => Some("cpuset"),
            Ctl::Memory => Some("memory"),
            Ctl::Pids => Some("pids"),
            Ctl::Io => Some("io"),
            Ctl::Hugetlb => Some("hugetlb"),
            Ctl::Rdma => Some("rdma"),
            Ctl::Devices | Ctl::Freezer => None,
        }
    }
}

/// Where a controller's files for this cgroup are.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Place<'a> {
    V1(&'a Path),
    V2(&'a Path),
}

/// One container's cgroup: the same path in every mounted hierarchy
/// (including named v1 hierarchies such as `name=systemd`).
#[derive(Clone, Debug)]
pub struct Cgroup {
    layout: Layout,
    path: CgroupPath,
    /// `dirs[i]` is the directory in `layout.hierarchies()[i]`.
    dirs: Vec<PathBuf>,
}

impl Cgroup {
    /// The cgroup for OCI `cgroupsPath` (`None` → `/wharf/<id>`) in `layout`.
    /// Nothing is created yet; see [`Cgroup::create`].
    pub fn new(layout: Layout, cgroups_path: Option<&str>, id: &str) -> Result<Cgroup> {
        let path = CgroupPath::parse(cgroups_path, id)?;
        let dirs = layout
            .hierarchies()
            .iter()
            .map(|h| path.dir_in(h))
            .collect::<Result<_>>()?;
        Ok(Cgroup { layout, path, dirs })
    }

    /// The layout this cgroup was resolved in.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The validated path below the starting cgroup.
    pub fn path(&self) -> &CgroupPath {
        &self.path
    }

    /// Each hierarchy with this cgroup's directory in it.
    pub fn dirs(&self) -> impl Iterator<Item = (&Hierarchy, &Path)> {
        self.layout
            .hierarchies()
            .iter()
            .zip(self.dirs.iter().map(PathBuf::as_path))
    }

    /// The directory in the v2 hierarchy, if there is one (open it for
    /// `clone3(CLONE_INTO_CGROUP)` on pure-v2 hosts).
    pub fn v2_dir(&self) -> Option<&Path> {
        self.dirs()
            .find(|(h, _)| h.version == Version::V2)
            .map(|(_, d)| d)
    }

    /// Where `ctl`'s files are, or `None` when no hierarchy offers it.
    pub(crate) fn place(&self, ctl: Ctl) -> Option<Place<'_>> {
        if let Some((_, d)) = self
            .dirs()
            .find(|(h, _)| h.version == Version::V1 && h.has(ctl.v1()))
        {
            return Some(Place::V1(d));
        }
        let (h, d) = self.dirs().find(|(h, _)| h.version == Version::V2)?;
        match ctl.v2() {
            Some(c) if !h.has(c) => None,
            _ => Some(Place::V2(d)),
        }
    }

    /// Creates the directory in every hierarchy (`mkdir -p`). On v1 `cpuset`,
    /// empty `cpuset.cpus`/`cpuset.mems` are copied from the parent (a v1
    /// cpuset cgroup accepts no task until both are set). On v2, every
    /// controller an ancestor offers is enabled in its `cgroup.subtree_control`
    /// (a controller that cannot be enabled, e.g. below a cgroup holding
    /// processes, is left out; applying a resource that needs it then fails
    /// as unsupported).
    pub fn create(&self) -> Result<()> {
        for (h, dir) in self.dirs() {
            let mut levels = vec![h.mount_point.clone()];
            if let Ok(rel) = dir.strip_prefix(&h.mount_point) {
                for c in rel.components() {
                    let next = levels[levels.len() - 1].join(c);
                    levels.push(next);
                }
            }
            for (i, level) in levels.iter().enumerate() {
                if i > 0 {
                    mkdir(level)?;
                    if h.version == Version::V1 && h.has("cpuset") {
                        for file in ["cpuset.cpus", "cpuset.mems"] {
                            copy_if_empty(&levels[i - 1], level, file)?;
                        }
                    }
                }
                if h.version == Version::V2 && i + 1 < levels.len() {
                    enable_controllers(level)?;
                }
            }
        }
        Ok(())
    }

    /// Moves process `pid` into this cgroup in every hierarchy.
    pub fn add_process(&self, pid: i32) -> Result<()> {
        for (_, dir) in self.dirs() {
            files::write(dir, "cgroup.procs", &pid.to_string())?;
        }
        Ok(())
    }

    /// Moves the calling process, which must be single-threaded, into this
    /// cgroup: in every v1 hierarchy it writes `0` ("this thread") to
    /// `tasks`; in the v2 hierarchy it writes `0` to `cgroup.procs`, unless
    /// `in_v2` says the process was already born there (clone3 with
    /// `CLONE_INTO_CGROUP`).
    ///
    /// This is much faster than [`Cgroup::add_process`] on v1: a thread
    /// that moves itself through `tasks` does not take the global
    /// threadgroup lock, whose write side waits for an RCU grace period
    /// (5–15 ms here; kernel/cgroup/cgroup.c, cgroup_procs_write_start).
    pub fn enter_self(&self, in_v2: bool) -> Result<()> {
        for (h, dir) in self.dirs() {
            match h.version {
                Version::V1 => files::write(dir, "tasks", "0")?,
                Version::V2 if !in_v2 => files::write(dir, "cgroup.procs", "0")?,
                Version::V2 => {}
            }
        }
        Ok(())
    }

    /// The processes in this cgroup (not its descendants), the union over
    /// every hierarchy, sorted. Missing directories count as empty.
    pub fn procs(&self) -> Result<Vec<i32>> {
        let mut pids = BTreeSet::new();
        for (_, dir) in self.dirs() {
            if let Some(text) = files::read_opt(dir, "cgroup.procs")? {
                pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
            }
        }
        Ok(pids.into_iter().collect())
    }

    /// Removes the cgroup from every hierarchy, child cgroups first. Its
    /// processes must have exited (kill them, e.g. every pid of
    /// [`Cgroup::procs`], and reap them first). `EBUSY` (a process that was
    /// just killed is still leaving) is retried a few times with short
    /// sleeps; directories that do not exist are fine, so calling it twice
    /// is too. On v2 the device filter programs are detached first.
    pub fn destroy(&self) -> Result<()> {
        for (h, dir) in self.dirs() {
            if h.version == Version::V2 && dir.is_dir() {
                crate::devices::detach(dir)?;
            }
            remove_tree(dir)?;
        }
        Ok(())
    }
}

fn mkdir(path: &Path) -> Result<()> {
    match fs::create_dir(path) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(CgroupError::Mkdir {
            path: path.into(),
            source: e,
        }),
        _ => Ok(()),
    }
}

fn copy_if_empty(parent: &Path, dir: &Path, file: &str) -> Result<()> {
    let current = files::read_value(dir, file)?;
    if current.as_deref() == Some("") {
        if let Some(v) = files::read_value(parent, file)?.filter(|v| !v.is_empty()) {
            files::write(dir, file, &v)?;
        }
    }
    Ok(())
}

/// Enables in `dir/cgroup.subtree_control` every controller `dir` offers.
fn enable_controllers(dir: &Path) -> Result<()> {
    let offered = files::read_opt(dir, "cgroup.controllers")?.unwrap_or_default();
    let enabled = files::read_opt(dir, "cgroup.subtree_control")?.unwrap_or_default();
    let enabled: Vec<&str> = enabled
        .split_whitespace()
        .map(|c| c.trim_start_matches('+'))
        .collect();
    let missing: Vec<String> = offered
        .split_whitespace()
        .filter(|c| !enabled.contains(c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() || files::write(dir, "cgroup.subtree_control", &missing.join(" ")).is_ok()
    {
        return Ok(());
    }
    for c in &missing {
        // One by one, so that one refused controller leaves the others on.
        let _ = files::write(dir, "cgroup.subtree_control", c);
    }
    Ok(())
}

/// `rmdir` of `dir` and every cgroup below it, deepest first.
fn remove_tree(dir: &Path) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(CgroupError::Read {
                path: dir.into(),
                source,
            })
        }
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&entry.path())?;
        }
    }
    let mut attempt = 0;
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(16) && attempt < 10 => {
                // EBUSY: the last task of a cgroup leaves it asynchronously.
                attempt += 1;
                sleep(Duration::from_millis(10 * attempt));
            }
            Err(source) => {
                return Err(CgroupError::Rmdir {
                    path: dir.into(),
                    source,
                })
            }
        }
    }
}
