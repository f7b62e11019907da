//! Capability numbers and names, as in `include/uapi/linux/capability.h`.

/// Capability names indexed by their bit number (capabilities(7)).
pub const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Docker's default capability set (moby `oci/caps/defaults.go`) as the
/// `CapEff` mask a `docker run` process shows: CHOWN, DAC_OVERRIDE, FOWNER,
/// FSETID, KILL, SETGID, SETUID, SETPCAP, NET_BIND_SERVICE, NET_RAW,
/// SYS_CHROOT, MKNOD, AUDIT_WRITE, SETFCAP. Written here rather than taken
/// from the code under test (`wharf_seccomp::DOCKER_DEFAULT_CAPS`), so that
/// tests compare against an independent expectation; the engine tests check
/// it against a real dockerd.
pub const DOCKER_DEFAULT_CAP_MASK: u64 = 0xa804_25fb;

/// The names of [`DOCKER_DEFAULT_CAP_MASK`], in bit order.
pub fn docker_default_caps() -> Vec<&'static str> {
    CAP_NAMES
        .iter()
        .enumerate()
        .filter(|(bit, _)| DOCKER_DEFAULT_CAP_MASK & (1 << bit) != 0)
        .map(|(_, name)| *name)
        .collect()
}

/// The name of capability bit `bit`; `CAP_<n>` for bits this table does not
/// know.
pub fn cap_name(bit: u32) -> String {
    CAP_NAMES
        .get(bit as usize)
        .map(|n| n.to_string())
        .unwrap_or_else(|| format!("CAP_{bit}"))
}

/// The mask of a list of capability names; unknown names are ignored.
pub fn cap_mask<'a>(names: impl IntoIterator<Item = &'a str>) -> u64 {
    names
        .into_iter()
        .filter_map(|n| CAP_NAMES.iter().position(|c| *c == n))
        .fold(0, |mask, bit| mask | (1u64 << bit))
}
