//! Usage counters of a cgroup, for `events --stats` and `docker stats`.

use std::path::Path;

use crate::cgroup::{Cgroup, Ctl, Place};
use crate::error::Result;
use crate::files::{read_keyed, read_u64};

/// A snapshot of a cgroup's counters; `None` where this layout has no such
/// counter (or the limit is `max`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Memory in use, bytes (v1 `memory.usage_in_bytes`, v2 `memory.current`).
    pub memory_usage: Option<u64>,
    /// Peak memory use, bytes (v1 `memory.max_usage_in_bytes`, v2 `memory.peak`).
    pub memory_max_usage: Option<u64>,
    /// Memory limit, bytes (v1 `memory.limit_in_bytes`, v2 `memory.max`).
    pub memory_limit: Option<u64>,
    /// How often the OOM killer killed a process of the cgroup.
    pub oom_kills: Option<u64>,
    /// Total CPU time, nanoseconds (v1 `cpuacct.usage`, v2 `cpu.stat usage_usec`).
    pub cpu_usage_ns: Option<u64>,
    /// User CPU time, nanoseconds.
    pub cpu_user_ns: Option<u64>,
    /// System CPU time, nanoseconds.
    pub cpu_system_ns: Option<u64>,
    /// Number of tasks (`pids.current`).
    pub pids_current: Option<u64>,
    /// Task limit (`pids.max`).
    pub pids_limit: Option<u64>,
}

/// v1 memory limits at or above this are "no limit".
const V1_UNLIMITED: u64 = 0x7fff_ffff_ffff_f000;

/// v1 `cpuacct.stat` counts in USER_HZ ticks, which is 100 on Linux.
const NS_PER_TICK: u64 = 10_000_000;

impl Cgroup {
    /// Reads the current counters.
    pub fn stats(&self) -> Result<Stats> {
        let mut s = Stats::default();
        match self.place(Ctl::Memory) {
            Some(Place::V1(d)) => {
                s.memory_usage = read_u64(d, "memory.usage_in_bytes")?;
                s.memory_max_usage = read_u64(d, "memory.max_usage_in_bytes")?;
                // v1 shows "unlimited" as the largest page multiple below 2^63.
                s.memory_limit =
                    read_u64(d, "memory.limit_in_bytes")?.filter(|&l| l < V1_UNLIMITED);
                s.oom_kills = read_keyed(d, "memory.oom_control", "oom_kill")?;
            }
            Some(Place::V2(d)) => {
                s.memory_usage = read_u64(d, "memory.current")?;
                s.memory_max_usage = read_u64(d, "memory.peak")?;
                s.memory_limit = read_u64(d, "memory.max")?;
                s.oom_kills = read_keyed(d, "memory.events", "oom_kill")?;
            }
            None => {}
        }
        match self.place(Ctl::Cpuacct) {
            Some(Place::V1(d)) => {
                s.cpu_usage_ns = read_u64(d, "cpuacct.usage")?;
                let ticks = |k| {
                    Ok::<_, crate::CgroupError>(
                        read_keyed(d, "cpuacct.stat", k)?.map(|t| t * NS_PER_TICK),
                    )
                };
                s.cpu_user_ns = ticks("user")?;
                s.cpu_system_ns = ticks("system")?;
            }
            Some(Place::V2(d)) => v2_cpu(d, &mut s)?,
            None => {}
        }
        if let Some(p) = self.place(Ctl::Pids) {
            s.pids_current = read_u64(p.dir(), "pids.current")?;
            s.pids_limit = read_u64(p.dir(), "pids.max")?;
        }
        Ok(s)
    }
}

fn v2_cpu(d: &Path, s: &mut Stats) -> Result<()> {
    let us = |k| Ok::<_, crate::CgroupError>(read_keyed(d, "cpu.stat", k)?.map(|v| v * 1000));
    s.cpu_usage_ns = us("usage_usec")?;
    s.cpu_user_ns = us("user_usec")?;
    s.cpu_system_ns = us("system_usec")?;
    Ok(())
}
