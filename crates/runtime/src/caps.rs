//! Capabilities: OCI names to kernel bit numbers, and applying the five sets.
//!
//! Order matters (capabilities(7)): the bounding set is reduced first, while
//! the process still has CAP_SETPCAP; the uid change happens with
//! PR_SET_KEEPCAPS so the permitted set survives it; then effective,
//! permitted and inheritable are set with capset(2), and ambient capabilities
//! are raised last, since each must already be permitted and inheritable.

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};
use rustix::thread::{CapabilitySet, CapabilitySets};

/// The kernel's number for a capability (linux/capability.h).
pub fn number(cap: Capability) -> u32 {
    use Capability::*;
    match cap {
        Chown => 0,
        DacOverride => 1,
        DacReadSearch => 2,
        Fowner => 3,
        Fsetid => 4,
        Kill => 5,
        Setgid => 6,
        Setuid => 7,
        Setpcap => 8,
        LinuxImmutable => 9,
        NetBindService => 10,
        NetBroadcast => 11,
        NetAdmin => 12,
        NetRaw => 13,
        IpcLock => 14,
        IpcOwner => 15,
        SysModule => 16,
        SysRawio => 17,
        SysChroot => 18,
        SysPtrace => 19,
        SysPacct => 20,
        SysAdmin => 21,
        SysBoot => 22,
        SysNice => 23,
        SysResource => 24,
        SysTime => 25,
        SysTtyConfig => 26,
        Mknod => 27,
        Lease => 28,
        AuditWrite => 29,
        AuditControl => 30,
        Setfcap => 31,
        MacOverride => 32,
        MacAdmin => 33,
        Syslog => 34,
        WakeAlarm => 35,
        BlockSuspend => 36,
        AuditRead => 37,
        Perfmon => 38,
        Bpf => 39,
        CheckpointRestore => 40,
    }
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
