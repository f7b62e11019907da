//! Docker's (moby's) default seccomp profile.
//!
//! `docker_profile.json` reproduces `moby/profiles` `seccomp/default.json`
//! as of 2026: kernel 6.13 syscalls, no `io_uring_*`, `socket(2)` limited to
//! the address families the kernel still implements except `AF_ALG` and
//! `AF_VSOCK`. Like moby's file it is conditional: rules carry `includes`
//! and `excludes` on architectures, capabilities and kernel versions, and an
//! `archMap` names each native architecture's sub-architectures. moby
//! resolves those for each container (`setupSeccomp`); [`docker_profile`]
//! does the same for amd64.

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompBuilder, LinuxSyscall,
    LinuxSyscallBuilder,
};
use serde::Deserialize;

const DOCKER_PROFILE: &str = include_str!("docker_profile.json");

/// The capabilities `docker run` grants by default.
pub const DOCKER_DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// The Go architecture name moby matches `includes.arches` against.
const GOARCH: &str = "amd64";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MobyProfile {
    default_action: LinuxSeccompAction,
    default_errno_ret: Option<u32>,
    arch_map: Vec<ArchMap>,
    syscalls: Vec<MobySyscall>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMap {
    architecture: Arch,
    sub_architectures: Option<Vec<Arch>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MobySyscall {
    names: Vec<String>,
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Vec<LinuxSeccompArg>,
    #[serde(default)]
    includes: Conditions,
    #[serde(default)]
    excludes: Conditions,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Conditions {
    #[serde(default)]
    arches: Vec<String>,
    #[serde(default)]
    caps: Vec<String>,
    /// Only `"4.8"` occurs; every kernel Wharf supports is newer.
    #[serde(default)]
    #[allow(dead_code)]
    min_kernel: Option<String>,
}

impl MobySyscall {
    /// moby's `setupSeccomp`: excluded by any listed arch or cap, included
    /// only when the arch is listed and all listed caps are held.
    fn applies(&self, caps: &[&str]) -> bool {
        let has = |c: &String| caps.contains(&c.as_str());
        if self.excludes.arches.iter().any(|a| a == GOARCH) || self.excludes.caps.iter().any(has) {
            return false;
        }
        if !self.includes.arches.is_empty() && !self.includes.arches.iter().any(|a| a == GOARCH) {
            return false;
        }
        self.includes.caps.iter().all(has)
    }

    fn to_oci(&self) -> LinuxSyscall {
        let mut b = LinuxSyscallBuilder::default()
            .names(self.names.clone())
            .action(self.action);
        if let Some(e) = self.errno_ret {
            b = b.errno_ret(e);
        }
        if !self.args.is_empty() {
            b = b.args(self.args.clone());
        }
        b.build().expect("all fields set")
    }
}

/// Docker's default profile resolved for an amd64 container holding `caps`
/// (names with the `CAP_` prefix, as in the OCI bounding set), the way
/// moby does it: architectures x86_64, x86 and x32; `arch_prctl` and
/// `modify_ldt`; the capability-gated groups for the capabilities held;
/// without CAP_SYS_ADMIN, `clone` only without namespace flags (`flags &
/// 0x7E020000 == 0`) and `clone3` failing with `ENOSYS` so that libc falls
/// back to `clone`. Kernel conditions (`minKernel: 4.8`) are taken as met.
pub fn docker_profile<S: AsRef<str>>(caps: &[S]) -> LinuxSeccomp {
    // The JSON is part of the crate and checked by the tests; it cannot fail.
    let moby: MobyProfile =
        serde_json::from_str(DOCKER_PROFILE).expect("embedded docker_profile.json is valid");
    let caps: Vec<&str> = caps.iter().map(AsRef::as_ref).collect();
    let mut arches = Vec::new();
    for m in moby
        .arch_map
        .iter()
        .filter(|m| m.architecture == Arch::ScmpArchX86_64)
    {
        arches.push(m.architecture);
        arches.extend(m.sub_architectures.iter().flatten().copied());
    }
    let syscalls: Vec<LinuxSyscall> = moby
        .syscalls
        .iter()
        .filter(|s| s.applies(&caps))
        .map(MobySyscall::to_oci)
        .collect();
    let mut b = LinuxSeccompBuilder::default()
        .default_action(moby.default_action)
        .architectures(arches)
        .syscalls(syscalls);
    if let Some(e) = moby.default_errno_ret {
        b = b.default_errno_ret(e);
    }
    b.build().expect("all fields set")
}

/// Docker's default profile as `docker run` applies it on amd64 with the
/// default capability set ([`DOCKER_DEFAULT_CAPS`]).
pub fn docker_default() -> LinuxSeccomp {
    docker_profile(&DOCKER_DEFAULT_CAPS)
}
