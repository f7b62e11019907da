//! `Cgroup::apply`: writing OCI `linux.resources` to the control files of
//! whichever hierarchy holds each controller.
//!
//! As in runc, a zero `shares`, `quota`, `period`, memory `limit`,
//! `reservation`, `swap` or pids `limit` means "unset"; `-1` means unlimited.
//! `memory.kernel` and `memory.kernelTCP` are ignored (deprecated, and gone
//! from recent kernels). On v2, `memory.swappiness` and
//! `memory.disableOOMKiller` have no counterpart and are ignored, as runc does;
//! `blockIO.leafWeight` likewise.

use std::collections::BTreeMap;
use std::path::Path;

use oci_spec::runtime::{LinuxCpu, LinuxHugepageLimit, LinuxMemory, LinuxResources};

use crate::cgroup::{Cgroup, Ctl, Place};
use crate::convert::{max_or, shares_to_weight, swap_to_v2};
use crate::error::Result;
use crate::files::{invalid, read_value, unsupported, write_res};

/// Control files that `unified` may not write: they move processes, change
/// the tree or freeze it, which this crate does through its own methods.
const NOT_RESOURCES: &[&str] = &[
    "cgroup.procs",
    "cgroup.threads",
    "cgroup.subtree_control",
    "cgroup.freeze",
    "cgroup.kill",
    "cgroup.type",
];

impl Cgroup {
    /// Writes `res` into this cgroup. A resource that no mounted hierarchy
    /// can enforce fails with [`crate::CgroupError::Unsupported`] naming it.
    pub fn apply(&self, res: &LinuxResources) -> Result<()> {
        if let Some(cpu) = res.cpu() {
            self.apply_cpuset(cpu)?;
        }
        if let Some(devices) = res.devices() {
            let rules = crate::devices::rules(devices)?;
            match self.need(Ctl::Devices, "devices")? {
                Place::V1(d) => crate::devices::apply_v1(d, &rules)?,
                Place::V2(d) => crate::devices::apply_v2(d, &rules)?,
            }
        }
        if let Some(mem) = res.memory() {
            self.apply_memory(mem)?;
        }
        if let Some(cpu) = res.cpu() {
            self.apply_cpu(cpu)?;
        }
        if let Some(pids) = res.pids() {
            if pids.limit() != 0 {
                let d = self.need(Ctl::Pids, "pids.limit")?.dir();
                write_res(d, "pids.max", &max_or(pids.limit()), "pids.limit")?;
            }
        }
        if let Some(io) = res.block_io() {
            self.apply_block_io(io)?;
        }
        if let Some(limits) = res.hugepage_limits() {
            self.apply_hugetlb(limits)?;
        }
        if let Some(rdma) = res.rdma() {
            for (dev, r) in rdma.iter().collect::<BTreeMap<_, _>>() {
                let n = |v: Option<u32>| v.map_or("max".to_string(), |v| v.to_string());
                let line = format!(
                    "{dev} hca_handle={} hca_object={}",
                    n(r.hca_handles()),
                    n(r.hca_objects())
                );
                let d = self.need(Ctl::Rdma, "rdma")?.dir();
                write_res(d, "rdma.max", &line, "rdma")?;
            }
        }
        if let Some(net) = res.network() {
            if let Some(id) = net.class_id() {
                let h = self
                    .v1_dir("net_cls")
                    .ok_or_else(|| unsupported("network.classID"))?;
                write_res(h, "net_cls.classid", &id.to_string(), "network.classID")?;
            }
            for p in net.priorities().iter().flatten() {
                let h = self
                    .v1_dir("net_prio")
                    .ok_or_else(|| unsupported("network.priorities"))?;
                let line = format!("{} {}", p.name(), p.priority());
                write_res(h, "net_prio.ifpriomap", &line, "network.priorities")?;
            }
        }
        if let Some(unified) = res.unified().as_ref().filter(|u| !u.is_empty()) {
            let dir = self.v2_dir().ok_or_else(|| unsupported("unified"))?;
            for (key, value) in unified.iter().collect::<BTreeMap<_, _>>() {
                let res = format!("unified[{key}]");
                if key.is_empty()
                    || key.contains('/')
                    || key == "."
                    || key == ".."
                    || !key.contains('.')
                {
                    return Err(invalid(&res, "not a cgroup control file name"));
                }
                if NOT_RESOURCES.contains(&key.as_str()) {
                    return Err(invalid(&res, "membership and freezing are not resources"));
                }
                write_res(dir, key, value, &res)?;
            }
        }
        Ok(())
    }

    /// The place of `ctl`, or an unsupported-resource error naming `resource`.
    pub(crate) fn need(&self, ctl: Ctl, resource: &str) -> Result<Place<'_>> {
        self.place(ctl).ok_or_else(|| unsupported(resource))
    }

    fn v1_dir(&self, controller: &str) -> Option<&Path> {
        self.dirs()
            .find(|(h, _)| h.version == crate::Version::V1 && h.has(controller))
            .map(|(_, d)| d)
    }

    fn apply_cpuset(&self, cpu: &LinuxCpu) -> Result<()> {
        for (value, file, res) in [
            (cpu.cpus(), "cpuset.cpus", "cpu.cpus"),
            (cpu.mems(), "cpuset.mems", "cpu.mems"),
        ] {
            if let Some(v) = value {
                write_res(self.need(Ctl::Cpuset, res)?.dir(), file, v, res)?;
            }
        }
        Ok(())
    }

    fn apply_cpu(&self, cpu: &LinuxCpu) -> Result<()> {
        let nz = |v: Option<u64>| v.filter(|&v| v != 0);
        let shares = nz(cpu.shares());
        let period = nz(cpu.period());
        let quota = cpu.quota().filter(|&q| q != 0);
        let rt = cpu.realtime_runtime().filter(|&v| v != 0);
        let rt_period = nz(cpu.realtime_period());
        let any = shares.is_some()
            || period.is_some()
            || quota.is_some()
            || rt.is_some()
            || rt_period.is_some();
        if !any && cpu.idle().is_none() && cpu.burst().is_none() {
            return Ok(());
        }
        match self.need(Ctl::Cpu, "cpu")? {
            Place::V1(d) => {
                let w = |file, v: String, res| write_res(d, file, &v, res);
                if let Some(s) = shares {
                    w("cpu.shares", s.to_string(), "cpu.shares")?;
                }
                if let Some(p) = period {
                    w("cpu.cfs_period_us", p.to_string(), "cpu.period")?;
                }
                if let Some(q) = quota {
                    w("cpu.cfs_quota_us", q.max(-1).to_string(), "cpu.quota")?;
                }
                if let Some(b) = cpu.burst() {
                    w("cpu.cfs_burst_us", b.to_string(), "cpu.burst")?;
                }
                if let Some(p) = rt_period {
                    w("cpu.rt_period_us", p.to_string(), "cpu.realtimePeriod")?;
                }
                if let Some(r) = rt {
                    w("cpu.rt_runtime_us", r.to_string(), "cpu.realtimeRuntime")?;
                }
                if let Some(i) = cpu.idle() {
                    w("cpu.idle", i.to_string(), "cpu.idle")?;
                }
            }
            Place::V2(d) => {
                if rt.is_some() || rt_period.is_some() {
                    return Err(unsupported(
                        "cpu.realtimeRuntime/realtimePeriod (cgroup v2)",
                    ));
                }
                if let Some(s) = shares {
                    write_res(
                        d,
                        "cpu.weight",
                        &shares_to_weight(s).to_string(),
                        "cpu.shares",
                    )?;
                }
                if quota.is_some() || period.is_some() {
                    let mut v = quota
                        .filter(|&q| q > 0)
                        .map_or("max".to_string(), |q| q.to_string());
                    if let Some(p) = period {
                        v = format!("{v} {p}");
                    }
                    write_res(d, "cpu.max", &v, "cpu.quota")?;
                }
                if let Some(b) = cpu.burst() {
                    write_res(d, "cpu.max.burst", &b.to_string(), "cpu.burst")?;
                }
                if let Some(i) = cpu.idle() {
                    write_res(d, "cpu.idle", &i.to_string(), "cpu.idle")?;
                }
            }
        }
        Ok(())
    }

    fn apply_memory(&self, m: &LinuxMemory) -> Result<()> {
        let limit = m.limit().filter(|&v| v != 0);
        let swap = m.swap().filter(|&v| v != 0);
        let reservation = m.reservation().filter(|&v| v != 0);
        let oom = m.disable_oom_killer() == Some(true);
        if limit.is_none()
            && swap.is_none()
            && reservation.is_none()
            && m.swappiness().is_none()
            && !oom
        {
            return Ok(());
        }
        match self.need(Ctl::Memory, "memory")? {
            Place::V1(d) => {
                let memsw = "memory.memsw.limit_in_bytes";
                match swap {
                    Some(-1) if !d.join(memsw).exists() => {}
                    Some(s) => {
                        if !d.join(memsw).exists() {
                            return Err(unsupported("memory.swap"));
                        }
                        // The kernel keeps memory <= memsw at every moment, so
                        // raise memsw first when it grows, the limit first otherwise.
                        let cur = read_value(d, memsw)?
                            .and_then(|v| v.parse::<i64>().ok())
                            .unwrap_or(-1);
                        let swap_first = s == -1 || cur < 0 || s > cur;
                        if swap_first {
                            write_res(d, memsw, &s.to_string(), "memory.swap")?;
                        }
                        if let Some(l) = limit {
                            write_res(d, "memory.limit_in_bytes", &l.to_string(), "memory.limit")?;
                        }
                        if !swap_first {
                            write_res(d, memsw, &s.to_string(), "memory.swap")?;
                        }
                    }
                    None => {}
                }
                if let (Some(l), None) = (limit, swap) {
                    write_res(d, "memory.limit_in_bytes", &l.to_string(), "memory.limit")?;
                }
                if let Some(r) = reservation {
                    write_res(
                        d,
                        "memory.soft_limit_in_bytes",
                        &r.to_string(),
                        "memory.reservation",
                    )?;
                }
                if let Some(s) = m.swappiness() {
                    if s > 100 {
                        return Err(invalid("memory.swappiness", format!("{s} is above 100")));
                    }
                    write_res(d, "memory.swappiness", &s.to_string(), "memory.swappiness")?;
                }
                if oom {
                    write_res(d, "memory.oom_control", "1", "memory.disableOOMKiller")?;
                }
            }
            Place::V2(d) => {
                let v2swap = swap_to_v2(swap.unwrap_or(0), limit.unwrap_or(0))
                    .map_err(|r| invalid("memory.swap", r))?;
                if let Some(s) = v2swap {
                    if s == -1 && !d.join("memory.swap.max").exists() {
                        // No swap accounting: unlimited is what there is.
                    } else {
                        write_res(d, "memory.swap.max", &max_or(s), "memory.swap")?;
                    }
                }
                if let Some(l) = limit {
                    write_res(d, "memory.max", &max_or(l), "memory.limit")?;
                }
                if let Some(r) = reservation {
                    write_res(d, "memory.low", &max_or(r), "memory.reservation")?;
                }
            }
        }
        Ok(())
    }

    fn apply_hugetlb(&self, limits: &[LinuxHugepageLimit]) -> Result<()> {
        for l in limits {
            let size = l.page_size();
            let res = format!("hugepageLimits[{size}]");
            let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let unit_ok = ["KB", "MB", "GB"].iter().any(|u| size.ends_with(u));
            if !unit_ok
                || digits.len() + 2 != size.len()
                || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(invalid(&res, "page size must look like 2MB"));
            }
            match self.need(Ctl::Hugetlb, &res)? {
                Place::V1(d) => write_res(
                    d,
                    &format!("hugetlb.{size}.limit_in_bytes"),
                    &l.limit().to_string(),
                    &res,
                )?,
                Place::V2(d) => {
                    write_res(d, &format!("hugetlb.{size}.max"), &max_or(l.limit()), &res)?;
                    // Since Linux 5.7 reservations are limited separately; keep
                    // them in step, as runc does, so that mmap fails early.
                    let rsvd = format!("hugetlb.{size}.rsvd.max");
                    if d.join(&rsvd).exists() {
                        write_res(d, &rsvd, &max_or(l.limit()), &res)?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl<'a> Place<'a> {
    /// The directory, whichever version.
    pub(crate) fn dir(self) -> &'a Path {
        match self {
            Place::V1(d) | Place::V2(d) => d,
        }
    }
}
