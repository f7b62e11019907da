//! rename and update. Update writes the new limits to the running
//! container's cgroup first and records them only when the kernel took
//! them; the next start's spec carries them too.

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};

use crate::error::{EngineError, Result};
use crate::model::{Resources, RestartPolicy, Status};
use crate::registry::sys_err;
use crate::{names, restart, Engine};

/// Docker's minimum memory limit.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// `new` laid over `old`: the fields `new` sets (non-zero, non-empty).
fn merge(old: &Resources, new: &Resources) -> Resources {
    let pick = |o: i64, n: i64| if n != 0 { n } else { o };
    let pick_s = |o: &String, n: &String| if n.is_empty() { o.clone() } else { n.clone() };
    Resources {
        memory: pick(old.memory, new.memory),
        memory_swap: pick(old.memory_swap, new.memory_swap),
        memory_reservation: pick(old.memory_reservation, new.memory_reservation),
        nano_cpus: pick(old.nano_cpus, new.nano_cpus),
        cpu_shares: pick(old.cpu_shares, new.cpu_shares),
        cpu_period: pick(old.cpu_period, new.cpu_period),
        cpu_quota: pick(old.cpu_quota, new.cpu_quota),
        cpuset_cpus: pick_s(&old.cpuset_cpus, &new.cpuset_cpus),
        cpuset_mems: pick_s(&old.cpuset_mems, &new.cpuset_mems),
        pids_limit: new.pids_limit.or(old.pids_limit),
        blkio_weight: if new.blkio_weight != 0 {
            new.blkio_weight
        } else {
            old.blkio_weight
        },
        oom_kill_disable: old.oom_kill_disable,
    }
}

/// The OCI resources for the fields `new` sets (what a live update writes).
fn oci_resources(new: &Resources) -> LinuxResources {
    let mut res = LinuxResources::default();
    if new.memory != 0 || new.memory_swap != 0 || new.memory_reservation != 0 {
        let mut m = LinuxMemory::default();
        if new.memory != 0 {
            m.set_limit(Some(new.memory));
        }
        if new.memory_swap != 0 {
            m.set_swap(Some(new.memory_swap));
        }
        if new.memory_reservation != 0 {
            m.set_reservation(Some(new.memory_reservation));
        }
        res.set_memory(Some(m));
    }
    let mut cpu = LinuxCpu::default();
    let mut any_cpu = false;
    if new.cpu_shares != 0 {
        cpu.set_shares(Some(new.cpu_shares as u64));
        any_cpu = true;
    }
    if new.nano_cpus != 0 {
        cpu.set_period(Some(100_000));
        cpu.set_quota(Some(new.nano_cpus * 100_000 / 1_000_000_000));
        any_cpu = true;
    }
    if new.cpu_period != 0 {
        cpu.set_period(Some(new.cpu_period as u64));
        any_cpu = true;
    }
    if new.cpu_quota != 0 {
        cpu.set_quota(Some(new.cpu_quota));
        any_cpu = true;
    }
    if !new.cpuset_cpus.is_empty() {
        cpu.set_cpus(Some(new.cpuset_cpus.clone()));
        any_cpu = true;
    }
    if !new.cpuset_mems.is_empty() {
        cpu.set_mems(Some(new.cpuset_mems.clone()));
        any_cpu = true;
    }
    if any_cpu {
        res.set_cpu(Some(cpu));
    }
    if let Some(limit) = new.pids_limit {
        let mut p = LinuxPids::default();
        p.set_limit(if limit <= 0 { -1 } else { limit });
        res.set_pids(Some(p));
    }
    if new.blkio_weight != 0 {
        let mut b = LinuxBlockIo::default();
        b.set_weight(Some(new.blkio_weight));
        res.set_block_io(Some(b));
    }
    res
}

/// Docker's verification of an update (400, no prefix).
fn validate(new: &Resources, merged: &Resources) -> Result<()> {
    if new.memory != 0 && new.memory < MIN_MEMORY {
        return Err(EngineError::invalid("Minimum memory limit allowed is 6MB"));
    }
    if new.nano_cpus != 0 && (new.cpu_period != 0 || new.cpu_quota != 0) {
        return Err(EngineError::invalid(
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ));
    }
    if new.memory > 0 && new.memory_swap > 0 && new.memory_swap < new.memory {
        return Err(EngineError::invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    if merged.memory > 0 && merged.memory_swap > 0 && merged.memory_swap < merged.memory {
        return Err(EngineError::invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    Ok(())
}

/// [`validate`], then moby's `UpdateContainer` rule: a new memory limit
/// above the swap limit already set (0 and -1 included, moby#39541) must
/// come with a new swap limit (409).
fn validate_as_docker(id: &str, old: &Resources, new: &Resources) -> Result<()> {
    // Docker verifies the request alone first; [`Engine::update`] checks
    // the merged limits after.
    validate(new, new)?;
    if new.memory > 0 && new.memory_swap == 0 && new.memory > old.memory_swap {
        return Err(EngineError::conflict(format!(
            "Cannot update container {id}: Memory limit should be smaller than already set \
             memoryswap limit, update the memoryswap at the same time"
        )));
    }
    Ok(())
}

impl Engine {
    /// Checks an update of its limits as dockerd does, including the rule
    /// that [`Engine::update`] leaves to the API: a memory limit alone may
    /// not go above the swap limit already set (none and -1 included).
    pub fn update_check(&self, name_or_id: &str, resources: &Resources) -> Result<()> {
        let c = self.container(name_or_id)?;
        validate_as_docker(&c.id, &c.options.host.resources, resources)
    }

    /// Renames it (409 when the name is taken).
    pub fn rename(&self, name_or_id: &str, new_name: &str) -> Result<()> {
        let entry = self.entry(name_or_id)?;
        let alloc = |e: EngineError| EngineError {
            message: format!("Error when allocating new name: {}", e.message),
            ..e
        };
        let new = names::validate(new_name).map_err(|_| {
            alloc(EngineError::invalid(format!(
                "Invalid container name (/{}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                new_name.trim_start_matches('/')
            )))
        })?;
        let old = entry.get().name;
        if old == new {
            return Err(EngineError::invalid(
                "Renaming a container with the same name as its current name",
            ));
        }
        let c = entry
            .modify(self, |r| {
                r.c.name = new.clone();
                r.c.options.name = Some(new.clone());
                // Its name on its user networks changes at once.
                for ep in r.c.network.endpoints.values_mut() {
                    for n in ep.dns_names.iter_mut().filter(|n| **n == old) {
                        *n = new.clone();
                    }
                }
                Ok(r.c.clone())
            })
            .map_err(alloc)?;
        self.inner.rename(&c.id, &old, &new);
        self.rename_links(&old, &new);
        self.emit_container(&c, "rename", &[("oldName", format!("/{old}"))]);
        Ok(())
    }

    /// Changes its limits (live, through its cgroup) and restart policy; returns warnings.
    pub fn update(
        &self,
        name_or_id: &str,
        resources: Option<Resources>,
        restart_policy: Option<RestartPolicy>,
    ) -> Result<Vec<String>> {
        let entry = self.entry(name_or_id)?;
        let c = entry.get();
        let cannot = |e: EngineError| EngineError {
            message: format!("Cannot update container {}: {}", c.id, e.message),
            ..e
        };
        if let Some(p) = &restart_policy {
            restart::validate(p)?;
            if c.options.host.auto_remove && restart::is_set(p) {
                return Err(EngineError::invalid(
                    "Restart policy cannot be updated because AutoRemove is enabled for the container",
                ));
            }
        }
        let c = entry.modify(self, |r| {
            if let Some(new) = &resources {
                let old = r.c.options.host.resources.clone();
                let merged = merge(&old, new);
                validate(new, &merged)?;
                if matches!(r.c.state.status, Status::Running | Status::Paused) {
                    self.apply_live(&r.c.id, new).map_err(cannot)?;
                }
                r.c.options.host.resources = merged;
            }
            if let Some(p) = &restart_policy {
                r.c.options.host.restart = p.clone();
            }
            Ok(r.c.clone())
        })?;
        self.emit_container(&c, "update", &[]);
        Ok(Vec::new())
    }

    /// Writes the fields `new` sets to the container's cgroup.
    fn apply_live(&self, id: &str, new: &Resources) -> Result<()> {
        let ctr = self
            .runtime()
            .load(id)
            .map_err(sys_err("failed to load its runtime state"))?;
        let cg = ctr.cgroup().map_err(sys_err("failed to open its cgroup"))?;
        cg.apply(&oci_resources(new))
            .map_err(sys_err("failed to write its cgroup limits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_unset_fields() {
        let old = Resources {
            memory: 100 << 20,
            cpu_shares: 512,
            ..Default::default()
        };
        let new = Resources {
            memory: 200 << 20,
            ..Default::default()
        };
        let m = merge(&old, &new);
        assert_eq!(m.memory, 200 << 20);
        assert_eq!(m.cpu_shares, 512);
        let res = oci_resources(&new);
        assert_eq!(res.memory().as_ref().unwrap().limit(), Some(200 << 20));
        assert!(res.cpu().is_none());
    }

    #[test]
    fn docker_update_checks() {
        let old = Resources::default();
        let small = Resources {
            memory: 1 << 20,
            ..Default::default()
        };
        let check = |old: &Resources, new: &Resources| validate_as_docker("c1", old, new);
        let mem = |memory: i64, memory_swap: i64| Resources {
            memory,
            memory_swap,
            ..Default::default()
        };

        let e = check(&old, &small).unwrap_err();
        assert_eq!(e.message, "Minimum memory limit allowed is 6MB");
        let swap = Resources {
            memory: 100 << 20,
            memory_swap: 50 << 20,
            ..Default::default()
        };
        assert!(check(&old, &swap).is_err());
        let merged_bad = validate(&mem(100 << 20, 0), &mem(100 << 20, 50 << 20));
        assert_eq!(
            merged_bad.unwrap_err().kind,
            crate::error::Kind::InvalidArgument
        );
        // A memory limit alone above the swap limit set (none, -1, or
        // smaller) is a conflict; under it, or with a swap limit, it goes.
        for swap_set in [0, -1, 64 << 20] {
            let e = check(&mem(32 << 20, swap_set), &mem(100 << 20, 0)).unwrap_err();
            assert_eq!(e.kind, crate::error::Kind::Conflict);
            assert!(e
                .message
                .starts_with("Cannot update container c1: Memory limit"));
        }
        assert!(check(&mem(64 << 20, 128 << 20), &mem(32 << 20, 0)).is_ok());
        assert!(check(&mem(0, 0), &mem(32 << 20, 64 << 20)).is_ok());
    }
}
