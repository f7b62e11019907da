//! Unit tests: compiled programs are run in a BPF interpreter on synthetic
//! `seccomp_data` and their verdicts checked.

mod args;
mod docker;
mod interp;
mod layout;
mod profile;

use oci_spec::runtime::LinuxSeccomp;
use serde_json::Value;

use crate::arch::{SubArch, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64};
use crate::bpf::{RET_ALLOW, RET_ERRNO, RET_KILL_THREAD};
use crate::{compile, Filter};
use interp::Data;

pub(crate) const EPERM: u32 = RET_ERRNO | 1;
pub(crate) const ENOSYS: u32 = RET_ERRNO | 38;
pub(crate) const ALLOW: u32 = RET_ALLOW;
pub(crate) const KILL: u32 = RET_KILL_THREAD;

/// Parses a profile written as JSON, as it appears in config.json.
pub(crate) fn profile(v: Value) -> LinuxSeccomp {
    serde_json::from_value(v).expect("test profile parses")
}

/// Compiles a JSON profile and checks the program as the kernel would.
pub(crate) fn filter(v: Value) -> Filter {
    let f = compile(&profile(v)).expect("profile compiles");
    interp::check(&f.program);
    f
}

/// The verdict for syscall `name` of `arch` with `args`.
pub(crate) fn call(f: &Filter, arch: SubArch, name: &str, args: &[u64]) -> u32 {
    let nr = arch
        .syscall_nr(name)
        .unwrap_or_else(|| panic!("{name} unknown on {arch:?}"));
    interp::run(&f.program, &Data::new(arch.audit_arch(), nr, args))
}

/// The verdict for a raw (audit arch, nr) pair.
pub(crate) fn raw(f: &Filter, audit_arch: u32, nr: u32, args: &[u64]) -> u32 {
    interp::run(&f.program, &Data::new(audit_arch, nr, args))
}

/// Shorthands for the audit arch values.
pub(crate) const X86_64: u32 = AUDIT_ARCH_X86_64;
pub(crate) const I386: u32 = AUDIT_ARCH_I386;
