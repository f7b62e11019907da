//! The feature list that `runc features` reports for seccomp.

use oci_spec::runtime::{Arch, LinuxSeccompAction as Act, Seccomp};

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
