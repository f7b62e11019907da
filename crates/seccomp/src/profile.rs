//! Built-in data: Docker's default profile and the feature list that
//! `runc features` reports.

use oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSeccompAction as Act, Seccomp};

/// Docker's default profile for amd64, as `docker_default.json`.
const DOCKER_DEFAULT: &str = include_str!("docker_default.json");

/// Docker's (moby's) default seccomp profile as `docker run` applies it on
/// amd64 with the default capability set.
///
/// The data follows `moby/profiles` `seccomp/default.json` (2026: kernel 6.13
/// syscalls, no `io_uring_*`, `socket(2)` limited to the address families
/// still in the kernel except `AF_ALG` and `AF_VSOCK`). Its conditional parts
/// are resolved the way moby resolves them for amd64 and Docker's default
/// capabilities (CAP_CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD, NET_RAW,
/// SETGID, SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL,
/// AUDIT_WRITE) on a kernel newer than 4.8:
///
/// - architectures x86_64 with its sub-architectures x86 and x32;
/// - `arch_prctl` and `modify_ldt` (amd64 rules), `chroot` (CAP_SYS_CHROOT),
///   `ptrace`, `process_vm_readv`, `process_vm_writev` (kernel ≥ 4.8);
/// - without CAP_SYS_ADMIN: `clone` only without namespace flags
///   (`flags & 0x7E020000 == 0`) and `clone3` failing with `ENOSYS` so that
///   libc falls back to `clone`;
/// - everything else fails with `EPERM`.
pub fn docker_default() -> LinuxSeccomp {
    // The JSON is part of the crate and checked by the tests; it cannot fail.
    serde_json::from_str(DOCKER_DEFAULT).expect("embedded docker_default.json is a valid profile")
}

/// The seccomp part of `runc features`: the actions, operators,
/// architectures and flags this crate understands. `supportedFlags` is
/// probed on the running kernel.
pub fn features() -> Seccomp {
    let known_flags = [
        ("SECCOMP_FILTER_FLAG_TSYNC", crate::FLAG_TSYNC),
        ("SECCOMP_FILTER_FLAG_LOG", crate::FLAG_LOG),
        ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", crate::FLAG_SPEC_ALLOW),
        (
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
            crate::FLAG_WAIT_KILLABLE_RECV,
        ),
    ];
    let supported: Vec<String> = known_flags
        .iter()
        .filter(|(_, bit)| {
            // WAIT_KILLABLE_RECV is only accepted together with NEW_LISTENER.
            let probe = if *bit == crate::FLAG_WAIT_KILLABLE_RECV {
                bit | crate::FLAG_NEW_LISTENER
            } else {
                *bit
            };
            wharf_sys::seccomp::flag_supported(probe)
        })
        .map(|(name, _)| name.to_string())
        .collect();
    let mut s = Seccomp::default();
    s.set_enabled(Some(true));
    s.set_actions(Some(vec![
        Act::ScmpActAllow,
        Act::ScmpActErrno,
        Act::ScmpActKill,
        Act::ScmpActKillProcess,
        Act::ScmpActKillThread,
        Act::ScmpActLog,
        Act::ScmpActNotify,
        Act::ScmpActTrace,
        Act::ScmpActTrap,
    ]));
    s.set_operators(Some(
        [
            "SCMP_CMP_EQ",
            "SCMP_CMP_GE",
            "SCMP_CMP_GT",
            "SCMP_CMP_LE",
            "SCMP_CMP_LT",
            "SCMP_CMP_MASKED_EQ",
            "SCMP_CMP_NE",
        ]
        .map(String::from)
        .to_vec(),
    ));
    s.set_archs(Some(vec![
        Arch::ScmpArchAarch64,
        Arch::ScmpArchArm,
        Arch::ScmpArchLoongarch64,
        Arch::ScmpArchMips,
        Arch::ScmpArchMips64,
        Arch::ScmpArchMips64n32,
        Arch::ScmpArchMipsel,
        Arch::ScmpArchMipsel64,
        Arch::ScmpArchMipsel64n32,
        Arch::ScmpArchPpc,
        Arch::ScmpArchPpc64,
        Arch::ScmpArchPpc64le,
        Arch::ScmpArchRiscv64,
        Arch::ScmpArchS390,
        Arch::ScmpArchS390x,
        Arch::ScmpArchX32,
        Arch::ScmpArchX86,
        Arch::ScmpArchX86_64,
    ]));
    s.set_known_flags(Some(
        known_flags.iter().map(|(n, _)| n.to_string()).collect(),
    ));
    s.set_supported_flags(Some(supported));
    s
}
