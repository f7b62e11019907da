//! Capabilities: OCI names to kernel bit numbers, and applying the five sets.
//!
//! Order matters (capabilities(7)): the bounding set is reduced first, while
//! the process still has CAP_SETPCAP; the uid change happens with
//! PR_SET_KEEPCAPS so the permitted set survives it; then effective,
//! permitted and inheritable are set with capset(2), and ambient capabilities
//! are raised last, since each must already be permitted and inheritable.

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};
use rustix::thread::{CapabilitySet, CapabilitySets};

/// Every capability the spec names: its kernel number
/// (linux/capability.h) and its name.
pub const TABLE: &[(Capability, u32, &str)] = {
    use Capability::*;
    &[
        (Chown, 0, "CAP_CHOWN"),
        (DacOverride, 1, "CAP_DAC_OVERRIDE"),
        (DacReadSearch, 2, "CAP_DAC_READ_SEARCH"),
        (Fowner, 3, "CAP_FOWNER"),
        (Fsetid, 4, "CAP_FSETID"),
        (Kill, 5, "CAP_KILL"),
        (Setgid, 6, "CAP_SETGID"),
        (Setuid, 7, "CAP_SETUID"),
        (Setpcap, 8, "CAP_SETPCAP"),
        (LinuxImmutable, 9, "CAP_LINUX_IMMUTABLE"),
        (NetBindService, 10, "CAP_NET_BIND_SERVICE"),
        (NetBroadcast, 11, "CAP_NET_BROADCAST"),
        (NetAdmin, 12, "CAP_NET_ADMIN"),
        (NetRaw, 13, "CAP_NET_RAW"),
        (IpcLock, 14, "CAP_IPC_LOCK"),
        (IpcOwner, 15, "CAP_IPC_OWNER"),
        (SysModule, 16, "CAP_SYS_MODULE"),
        (SysRawio, 17, "CAP_SYS_RAWIO"),
        (SysChroot, 18, "CAP_SYS_CHROOT"),
        (SysPtrace, 19, "CAP_SYS_PTRACE"),
        (SysPacct, 20, "CAP_SYS_PACCT"),
        (SysAdmin, 21, "CAP_SYS_ADMIN"),
        (SysBoot, 22, "CAP_SYS_BOOT"),
        (SysNice, 23, "CAP_SYS_NICE"),
        (SysResource, 24, "CAP_SYS_RESOURCE"),
        (SysTime, 25, "CAP_SYS_TIME"),
        (SysTtyConfig, 26, "CAP_SYS_TTY_CONFIG"),
        (Mknod, 27, "CAP_MKNOD"),
        (Lease, 28, "CAP_LEASE"),
        (AuditWrite, 29, "CAP_AUDIT_WRITE"),
        (AuditControl, 30, "CAP_AUDIT_CONTROL"),
        (Setfcap, 31, "CAP_SETFCAP"),
        (MacOverride, 32, "CAP_MAC_OVERRIDE"),
        (MacAdmin, 33, "CAP_MAC_ADMIN"),
        (Syslog, 34, "CAP_SYSLOG"),
        (WakeAlarm, 35, "CAP_WAKE_ALARM"),
        (BlockSuspend, 36, "CAP_BLOCK_SUSPEND"),
        (AuditRead, 37, "CAP_AUDIT_READ"),
        (Perfmon, 38, "CAP_PERFMON"),
        (Bpf, 39, "CAP_BPF"),
        (CheckpointRestore, 40, "CAP_CHECKPOINT_RESTORE"),
    ]
};

/// The kernel's number for a capability.
pub fn number(cap: Capability) -> u32 {
    TABLE
        .iter()
        .find(|(c, _, _)| *c == cap)
        .map(|(_, n, _)| *n)
        .expect("every Capability is in TABLE")
}

/// The name of capability number `n` (`CAP_CHOWN` for 0).
pub fn name(n: u32) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|(_, m, _)| *m == n)
        .map(|(_, _, name)| *name)
}

/// The highest capability number this kernel knows
/// (/proc/sys/kernel/cap_last_cap).
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// A set of capabilities as the kernel's bit mask.
pub fn mask(caps: &Option<Capabilities>) -> u64 {
    caps.iter()
        .flatten()
        .map(|c| 1u64 << number(*c))
        .fold(0, |a, b| a | b)
}

/// Reduces the bounding set to `caps.bounding`.
pub fn drop_bounding(caps: &LinuxCapabilities) -> std::io::Result<()> {
    let keep = mask(caps.bounding());
    for n in 0..=last_cap() {
        if keep & (1 << n) == 0 {
            rustix::thread::remove_capability_from_bounding_set(single(n))?;
        }
    }
    Ok(())
}

fn single(n: u32) -> CapabilitySet {
    CapabilitySet::from_bits_retain(1 << n)
}

/// Sets effective, permitted and inheritable, then raises ambient.
pub fn apply(caps: &LinuxCapabilities) -> std::io::Result<()> {
    let sets = CapabilitySets {
        effective: CapabilitySet::from_bits_retain(mask(caps.effective())),
        permitted: CapabilitySet::from_bits_retain(mask(caps.permitted())),
        inheritable: CapabilitySet::from_bits_retain(mask(caps.inheritable())),
    };
    rustix::thread::set_capabilities(None, sets)?;
    let ambient = mask(caps.ambient());
    if ambient != 0 {
        for n in 0..=last_cap() {
            if ambient & (1 << n) != 0 {
                rustix::thread::configure_capability_in_ambient_set(single(n), true)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_spec_names() {
        for (cap, n, name) in TABLE {
            let parsed: Capability = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(parsed, *cap, "{name}");
            assert_eq!(number(*cap), *n);
        }
        assert_eq!(name(21), Some("CAP_SYS_ADMIN"));
        assert_eq!(TABLE.len(), 41);
    }
}
