//! A fake cgroup tree of plain files for seam tests: a mountinfo and a
//! `/proc/self/cgroup` naming directories under a temporary root, and the
//! control files the kernel would show in each cgroup directory.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;
use wharf_cgroups::Layout;

/// Which of the three layouts to imitate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    V1,
    V2,
    Hybrid,
}

pub struct Tree {
    pub tmp: TempDir,
    pub kind: Kind,
    /// (mount point, v1 controllers or "" for v2)
    pub mounts: Vec<(PathBuf, String)>,
}

const V2_CONTROLLERS: &str = "cpuset cpu io memory hugetlb pids rdma";

fn v1_files(ctrl: &str) -> &'static [&'static str] {
    match ctrl {
        "cpu" => &[
            "cpu.shares",
            "cpu.cfs_period_us",
            "cpu.cfs_quota_us",
            "cpu.cfs_burst_us",
            "cpu.rt_period_us",
            "cpu.rt_runtime_us",
            "cpu.idle",
        ],
        "cpuacct" => &["cpuacct.usage", "cpuacct.stat"],
        "cpuset" => &["cpuset.cpus", "cpuset.mems"],
        "memory" => &[
            "memory.limit_in_bytes",
            "memory.soft_limit_in_bytes",
            "memory.memsw.limit_in_bytes",
            "memory.swappiness",
            "memory.oom_control",
            "memory.usage_in_bytes",
            "memory.max_usage_in_bytes",
        ],
        "pids" => &["pids.max", "pids.current"],
        "blkio" => &[
            "blkio.weight",
            "blkio.leaf_weight",
            "blkio.weight_device",
            "blkio.leaf_weight_device",
            "blkio.throttle.read_bps_device",
            "blkio.throttle.write_bps_device",
            "blkio.throttle.read_iops_device",
            "blkio.throttle.write_iops_device",
        ],
        "hugetlb" => &["hugetlb.2MB.limit_in_bytes", "hugetlb.1GB.limit_in_bytes"],
        "devices" => &["devices.allow", "devices.deny"],
        "freezer" => &["freezer.state"],
        "net_cls" => &["net_cls.classid"],
        "net_prio" => &["net_prio.ifpriomap"],
        _ => &[],
    }
}

fn v2_files(ctrl: &str) -> &'static [&'static str] {
    match ctrl {
        "cpu" => &[
            "cpu.weight",
            "cpu.max",
            "cpu.max.burst",
            "cpu.idle",
            "cpu.stat",
        ],
        "cpuset" => &["cpuset.cpus", "cpuset.mems"],
        "memory" => &[
            "memory.max",
            "memory.low",
            "memory.swap.max",
            "memory.current",
            "memory.events",
        ],
        "io" => &["io.weight", "io.max"],
        "hugetlb" => &["hugetlb.2MB.max", "hugetlb.1GB.max"],
        "pids" => &["pids.max", "pids.current"],
        "rdma" => &["rdma.max"],
        _ => &[],
    }
}

impl Tree {
    /// Builds the tree; this process's own cgroup is `/own` everywhere.
    pub fn new(kind: Kind) -> Tree {
        let tmp = tempfile::tempdir().unwrap();
        let v1: &[&str] = match kind {
            Kind::V1 => &[
                "cpu,cpuacct",
                "cpuset",
                "memory",
                "pids",
                "blkio",
                "hugetlb",
                "devices",
                "freezer",
                "net_cls,net_prio",
                "name=systemd",
            ],
            Kind::Hybrid => &[
                "cpu",
                "cpuacct",
                "cpuset",
                "memory",
                "devices",
                "freezer",
                "blkio",
                "pids",
                "name=systemd",
            ],
            Kind::V2 => &[],
        };
        let mut mounts = Vec::new();
        let mut mi = String::new();
        let mut pc = String::new();
        for (i, c) in v1.iter().enumerate() {
            let mp = tmp.path().join(c.replace("name=", ""));
            mi += &format!(
                "{} 1 0:{} / {} rw,relatime - cgroup cgroup rw,{c}\n",
                30 + i,
                30 + i,
                mp.display()
            );
            pc += &format!("{}:{c}:/own\n", i + 1);
            mounts.push((mp, c.to_string()));
        }
        let v2 = match kind {
            Kind::V1 => None,
            Kind::V2 => Some((tmp.path().join("cgroup"), V2_CONTROLLERS)),
            Kind::Hybrid => Some((tmp.path().join("unified"), "hugetlb")),
        };
        if let Some((mp, controllers)) = &v2 {
            mi += &format!(
                "50 1 0:50 / {} rw - cgroup2 cgroup2 rw,nsdelegate\n",
                mp.display()
            );
            pc += "0::/own\n";
            fs::create_dir_all(mp).unwrap();
            fs::write(mp.join("cgroup.controllers"), format!("{controllers}\n")).unwrap();
            mounts.push((mp.clone(), String::new()));
        }
        mi += "60 1 0:60 / /tmp rw - tmpfs tmpfs rw\n";
        fs::write(tmp.path().join("mountinfo"), mi).unwrap();
        fs::write(tmp.path().join("proc_cgroup"), pc).unwrap();
        let tree = Tree { tmp, kind, mounts };
        // Root and own cgroups, as the kernel shows them.
        tree.add_cgroup(Path::new(""));
        tree.add_cgroup(Path::new("own"));
        for (mp, c) in &tree.mounts {
            if c == "cpuset" {
                fs::write(mp.join("cpuset.cpus"), "0-3\n").unwrap();
                fs::write(mp.join("cpuset.mems"), "0\n").unwrap();
            }
            if c.is_empty() && kind == Kind::V2 {
                fs::write(mp.join("cpuset.cpus.effective"), "0-3\n").unwrap();
            }
        }
        tree
    }

    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    pub fn layout(&self) -> Layout {
        Layout::from_files(
            &self.root().join("mountinfo"),
            &self.root().join("proc_cgroup"),
        )
        .unwrap()
    }

    /// Creates `rel` (and its ancestors) with empty control files in every
    /// hierarchy, as mkdir on cgroupfs would.
    pub fn add_cgroup(&self, rel: &Path) {
        let mut levels = vec![PathBuf::new()];
        for c in rel.components() {
            let next = levels.last().unwrap().join(c);
            levels.push(next);
        }
        for (mp, ctrls) in &self.mounts {
            for level in &levels {
                let dir = mp.join(level);
                fs::create_dir_all(&dir).unwrap();
                let mut files: Vec<&str> = vec!["cgroup.procs"];
                if ctrls.is_empty() {
                    files.extend([
                        "cgroup.subtree_control",
                        "cgroup.freeze",
                        "cgroup.events",
                        "cgroup.controllers",
                    ]);
                    let offered = fs::read_to_string(mp.join("cgroup.controllers")).unwrap();
                    for c in offered.split_whitespace() {
                        files.extend(v2_files(c));
                    }
                } else {
                    for c in ctrls.split(',') {
                        files.extend(v1_files(c));
                    }
                }
                for f in files {
                    let p = dir.join(f);
                    if !p.exists() {
                        fs::write(&p, "").unwrap();
                    }
                }
                if ctrls.is_empty() && !level.as_os_str().is_empty() {
                    let offered = fs::read_to_string(mp.join("cgroup.controllers")).unwrap();
                    fs::write(dir.join("cgroup.controllers"), offered).unwrap();
                }
            }
        }
    }

    /// The mount point holding `ctrl` (v1 controller list contains it, or v2).
    pub fn mount(&self, ctrl: &str) -> PathBuf {
        self.mounts
            .iter()
            .find(|(_, c)| c.split(',').any(|x| x == ctrl))
            .or_else(|| self.mounts.iter().find(|(_, c)| c.is_empty()))
            .map(|(m, _)| m.clone())
            .unwrap()
    }

    /// What was written to `file` in the cgroup `rel` of the hierarchy of `ctrl`.
    pub fn read(&self, ctrl: &str, rel: &str, file: &str) -> String {
        let p = self.mount(ctrl).join(rel).join(file);
        fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }
}
