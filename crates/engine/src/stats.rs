//! Resource usage from cgroups: one sample of what Docker's stats JSON
//! carries, read from the container's cgroup `/wharf/<id>` on v1 or v2
//! (each controller from the v1 hierarchy that has it, else from v2).
//!
//! The basic counters come from [`wharf_cgroups::Cgroup::stats`]; the
//! per-CPU usage, CPU throttling, `memory.stat`, block I/O and the host's
//! total CPU time (`/proc/stat`, what Docker divides by) are read here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use wharf_cgroups::{Cgroup, Layout, Version};

use crate::error::{EngineError, Result};
use crate::model::Status;
use crate::Engine;

/// Linux's USER_HZ: `/proc/stat` and v1 `cpuacct.stat` count in 1/100 s.
const NS_PER_TICK: u64 = 10_000_000;

/// One sample of a container's resource usage. Absent counters are 0 or
/// empty; a container that does not run gives [`Stats::default`]
/// (`read_nano` 0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// When it was read, nanoseconds since the epoch.
    pub read_nano: i64,
    /// CPU.
    pub cpu: CpuStats,
    /// Memory.
    pub memory: MemoryStats,
    /// Tasks.
    pub pids: PidsStats,
    /// Block I/O.
    pub blkio: BlkioStats,
}

/// Docker's `cpu_stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuStats {
    /// CPU time of the container, ns.
    pub total_usage: u64,
    /// Per CPU, ns (v1 only; empty on v2).
    pub percpu_usage: Vec<u64>,
    /// Kernel-mode time, ns.
    pub usage_in_kernelmode: u64,
    /// User-mode time, ns.
    pub usage_in_usermode: u64,
    /// The host's CPU time (busy and idle, all CPUs), ns.
    pub system_cpu_usage: u64,
    /// CPUs online.
    pub online_cpus: u32,
    /// CFS periods.
    pub throttling_periods: u64,
    /// Periods in which the container was throttled.
    pub throttled_periods: u64,
    /// Time throttled, ns.
    pub throttled_time: u64,
}

/// Docker's `memory_stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Bytes in use.
    pub usage: u64,
    /// Peak bytes in use (v1; v2 where `memory.peak` exists).
    pub max_usage: u64,
    /// The limit, or the host's memory when unlimited.
    pub limit: u64,
    /// `memory.stat` (v1: `cache`, `rss`, `total_inactive_file`, …; v2:
    /// `anon`, `file`, `inactive_file`, …).
    pub stats: BTreeMap<String, u64>,
    /// v1 `memory.failcnt`.
    pub failcnt: u64,
}

/// Docker's `pids_stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PidsStats {
    /// Tasks now.
    pub current: u64,
    /// The limit (0: none).
    pub limit: u64,
}

/// Docker's `blkio_stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlkioStats {
    /// Bytes per device and operation.
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    /// Operations per device and operation.
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

/// One block I/O counter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlkioEntry {
    /// Device major.
    pub major: u64,
    /// Device minor.
    pub minor: u64,
    /// `Read`, `Write`, `Sync`, `Async`, `Discard`, `Total` (v1);
    /// `read`, `write` (v2), as Docker reports them.
    pub op: String,
    /// The count.
    pub value: u64,
}

impl Engine {
    /// One sample of a container's usage (all zero when it does not run).
    pub fn stats(&self, name_or_id: &str) -> Result<Stats> {
        let c = self.container(name_or_id)?;
        if !matches!(c.state.status, Status::Running | Status::Paused) {
            return Ok(Stats::default());
        }
        let cg = container_cgroup(&c.id)?;
        sample(&cg)
    }
}

/// The cgroup of container `id` (`/wharf/<id>`, as the engine's specs set
/// `cgroupsPath`).
pub fn container_cgroup(id: &str) -> Result<Cgroup> {
    // The mounted hierarchies do not change while the daemon runs; found
    // once, not on every sample of a stats stream.
    static LAYOUT: OnceLock<Layout> = OnceLock::new();
    let layout = match LAYOUT.get() {
        Some(l) => l.clone(),
        None => {
            let l =
                Layout::detect().map_err(|e| EngineError::system("failed to find cgroups", e))?;
            LAYOUT.get_or_init(|| l).clone()
        }
    };
    Cgroup::new(layout, Some(&format!("/wharf/{id}")), id)
        .map_err(|e| EngineError::system(format!("failed to open the cgroup of {id}"), e))
}

/// Where a controller's files are: its v1 hierarchy, else v2.
fn place(cg: &Cgroup, v1: &str, v2: &str) -> Option<(Version, PathBuf)> {
    if let Some((_, d)) = cg
        .dirs()
        .find(|(h, _)| h.version == Version::V1 && h.has(v1))
    {
        return Some((Version::V1, d.to_path_buf()));
    }
    cg.dirs()
        .find(|(h, _)| h.version == Version::V2 && h.has(v2))
        .map(|(_, d)| (Version::V2, d.to_path_buf()))
}

/// Reads one sample of `cg`'s counters.
pub fn sample(cg: &Cgroup) -> Result<Stats> {
    let base = cg
        .stats()
        .map_err(|e| EngineError::system("failed to read cgroup stats", e))?;
    let mut s = Stats {
        read_nano: crate::events::now_nano(),
        ..Stats::default()
    };
    s.cpu.total_usage = base.cpu_usage_ns.unwrap_or(0);
    s.cpu.usage_in_usermode = base.cpu_user_ns.unwrap_or(0);
    s.cpu.usage_in_kernelmode = base.cpu_system_ns.unwrap_or(0);
    s.cpu.system_cpu_usage = system_cpu_usage().unwrap_or(0);
    s.cpu.online_cpus = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1);
    if let Some((Version::V1, d)) = place(cg, "cpuacct", "cpu") {
        if let Some(text) = read(&d, "cpuacct.usage_percpu") {
            s.cpu.percpu_usage = text
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
        }
    }
    if let Some((v, d)) = place(cg, "cpu", "cpu") {
        let stat = keyed(&d, "cpu.stat");
        s.cpu.throttling_periods = get(&stat, "nr_periods");
        s.cpu.throttled_periods = get(&stat, "nr_throttled");
        s.cpu.throttled_time = match v {
            Version::V1 => get(&stat, "throttled_time"),
            Version::V2 => get(&stat, "throttled_usec") * 1000,
        };
    }
    s.memory.usage = base.memory_usage.unwrap_or(0);
    s.memory.max_usage = base.memory_max_usage.unwrap_or(0);
    let host = host_memory().unwrap_or(u64::MAX);
    s.memory.limit = base.memory_limit.unwrap_or(host).min(host);
    if let Some((v, d)) = place(cg, "memory", "memory") {
        s.memory.stats = keyed(&d, "memory.stat");
        if v == Version::V1 {
            s.memory
                .stats
                .retain(|k, _| V1_MEMORY_STAT.contains(&k.as_str()));
            s.memory.failcnt = read(&d, "memory.failcnt")
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0);
        }
    }
    s.pids.current = base.pids_current.unwrap_or(0);
    s.pids.limit = base.pids_limit.unwrap_or(0);
    match place(cg, "blkio", "io") {
        Some((Version::V1, d)) => s.blkio = blkio_v1(&d),
        Some((Version::V2, d)) => s.blkio = blkio_v2(&d),
        None => {}
    }
    Ok(s)
}

fn read(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file)).ok()
}

/// A flat-keyed file (`key value` per line) as a map.
/// The v1 `memory.stat` keys Docker reports (containerd's `MemoryStat`):
/// newer kernels' swap, shmem and workingset counters are left out.
const V1_MEMORY_STAT: [&str; 32] = [
    "cache",
    "rss",
    "rss_huge",
    "mapped_file",
    "dirty",
    "writeback",
    "pgpgin",
    "pgpgout",
    "pgfault",
    "pgmajfault",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "hierarchical_memory_limit",
    "hierarchical_memsw_limit",
    "total_cache",
    "total_rss",
    "total_rss_huge",
    "total_mapped_file",
    "total_dirty",
    "total_writeback",
    "total_pgpgin",
    "total_pgpgout",
    "total_pgfault",
    "total_pgmajfault",
    "total_inactive_anon",
    "total_active_anon",
    "total_inactive_file",
    "total_active_file",
    "total_unevictable",
];

fn keyed(dir: &Path, file: &str) -> BTreeMap<String, u64> {
    read(dir, file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

fn get(map: &BTreeMap<String, u64>, key: &str) -> u64 {
    map.get(key).copied().unwrap_or(0)
}

/// v1: the first of the CFQ, BFQ and throttle files that has entries (as
/// runc reads them).
fn blkio_v1(dir: &Path) -> BlkioStats {
    let pick = |suffix: &str| {
        ["blkio.", "blkio.bfq.", "blkio.throttle."]
            .iter()
            .map(|p| parse_blkio_v1(&read(dir, &format!("{p}{suffix}")).unwrap_or_default()))
            .find(|v| !v.is_empty())
            .unwrap_or_default()
    };
    BlkioStats {
        io_service_bytes_recursive: pick("io_service_bytes_recursive"),
        io_serviced_recursive: pick("io_serviced_recursive"),
    }
}

/// `8:0 Read 4096` lines (the `Total` line without a device is skipped).
pub fn parse_blkio_v1(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [dev, op, value] = f[..] else {
                return None;
            };
            let (major, minor) = dev.split_once(':')?;
            Some(BlkioEntry {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
                op: op.to_string(),
                value: value.parse().ok()?,
            })
        })
        .collect()
}

fn blkio_v2(dir: &Path) -> BlkioStats {
    parse_io_stat(&read(dir, "io.stat").unwrap_or_default())
}

/// v2 `io.stat` (`8:0 rbytes=1 wbytes=2 rios=3 wios=4 …`) as Docker maps
/// it: bytes and operations, `read` and `write`.
pub fn parse_io_stat(text: &str) -> BlkioStats {
    let mut out = BlkioStats::default();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some((major, minor)) = f.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse(), minor.parse()) else {
            continue;
        };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse() else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut out.io_service_bytes_recursive, "read"),
                "wbytes" => (&mut out.io_service_bytes_recursive, "write"),
                "rios" => (&mut out.io_serviced_recursive, "read"),
                "wios" => (&mut out.io_serviced_recursive, "write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_string(),
                value,
            });
        }
    }
    out
}

/// The host's CPU time from the `cpu` line of `/proc/stat`: user, nice,
/// system, idle, iowait, irq, softirq (the seven fields Docker sums), ns.
pub fn system_cpu_usage() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Option<Vec<u64>> = line
        .split_whitespace()
        .skip(1)
        .take(7)
        .map(|v| v.parse().ok())
        .collect();
    let ticks = ticks?;
    (ticks.len() == 7).then(|| ticks.iter().sum::<u64>() * NS_PER_TICK)
}

/// `MemTotal` of `/proc/meminfo`, bytes.
fn host_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blkio_formats() {
        let v1 = parse_blkio_v1("8:0 Read 4096\n8:0 Write 0\n8:0 Total 4096\nTotal 4096\n");
        assert_eq!(v1.len(), 3);
        assert_eq!(v1[0].op, "Read");
        assert_eq!((v1[0].major, v1[0].minor, v1[0].value), (8, 0, 4096));
        let v2 = parse_io_stat("254:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");
        assert_eq!(v2.io_service_bytes_recursive.len(), 2);
        assert_eq!(v2.io_service_bytes_recursive[1].op, "write");
        assert_eq!(v2.io_service_bytes_recursive[1].value, 20);
        assert_eq!(v2.io_serviced_recursive[0].value, 1);
    }

    #[test]
    fn host_counters() {
        assert!(system_cpu_usage().unwrap() > 0);
        assert!(host_memory().unwrap() > 0);
    }
}
