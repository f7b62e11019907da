//! `linux.resources` from Docker's resource options. What this host's
//! cgroups cannot do is left out, as Docker does with a warning: a swap
//! limit without swap accounting, a blkio weight without a weight file.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::model::Resources;

/// CFS period Docker uses for `--cpus`.
const NANO_PERIOD: i64 = 100_000;

pub(super) fn swap_supported() -> bool {
    super::oci::cgroup_v2()
        || Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()
}

pub(super) fn blkio_weight_supported() -> bool {
    if super::oci::cgroup_v2() {
        return true;
    }
    let d = Path::new("/sys/fs/cgroup/blkio");
    d.join("blkio.weight").exists() || d.join("blkio.bfq.weight").exists()
}

/// The resources object, with `devices` as the device rules.
pub(super) fn resources(r: &Resources, devices: Vec<Value>) -> Value {
    let mut out = Map::new();
    out.insert("devices".into(), Value::Array(devices));
    let mut mem = Map::new();
    if r.memory > 0 {
        mem.insert("limit".into(), json!(r.memory));
        // Docker: swap unset is twice the memory; -1 is unlimited.
        let swap = if r.memory_swap == 0 {
            r.memory * 2
        } else {
            r.memory_swap
        };
        if swap_supported() {
            mem.insert("swap".into(), json!(swap));
        }
    }
    if r.memory_reservation > 0 {
        mem.insert("reservation".into(), json!(r.memory_reservation));
    }
    if r.oom_kill_disable {
        mem.insert("disableOOMKiller".into(), json!(true));
    }
    if !mem.is_empty() {
        out.insert("memory".into(), Value::Object(mem));
    }
    let mut cpu = Map::new();
    if r.cpu_shares > 0 {
        cpu.insert("shares".into(), json!(r.cpu_shares));
    }
    if r.nano_cpus > 0 {
        cpu.insert("period".into(), json!(NANO_PERIOD));
        cpu.insert(
            "quota".into(),
            json!(r.nano_cpus * NANO_PERIOD / 1_000_000_000),
        );
    } else {
        if r.cpu_period > 0 {
            cpu.insert("period".into(), json!(r.cpu_period));
        }
        if r.cpu_quota != 0 {
            cpu.insert("quota".into(), json!(r.cpu_quota));
        }
    }
    if !r.cpuset_cpus.is_empty() {
        cpu.insert("cpus".into(), json!(r.cpuset_cpus));
    }
    if !r.cpuset_mems.is_empty() {
        cpu.insert("mems".into(), json!(r.cpuset_mems));
    }
    if !cpu.is_empty() {
        out.insert("cpu".into(), Value::Object(cpu));
    }
    if let Some(limit) = r.pids_limit.filter(|&l| l > 0) {
        out.insert("pids".into(), json!({ "limit": limit }));
    }
    if r.blkio_weight != 0 && blkio_weight_supported() {
        out.insert("blockIO".into(), json!({ "weight": r.blkio_weight }));
    }
    Value::Object(out)
}
