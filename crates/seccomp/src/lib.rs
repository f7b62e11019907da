//! Compiles OCI seccomp profiles (`linux.seccomp` of a runtime config) into
//! classic BPF programs for the kernel's seccomp filter mode, with the
//! semantics runc gets from libseccomp: architecture checks (x86_64, x32 and
//! i386 on an x86_64 kernel), per-ABI syscall tables, argument comparisons on
//! 64-bit values, runc's `-ENOSYS` handling of syscalls newer than the
//! profile, and Docker's default profile as data.
//!
//! The crate is pure: it knows the OCI types (`oci-spec`) and produces
//! [`SockFilter`] instructions. Loading a program into the kernel is done by
//! `wharf_sys::seccomp`, which [`Filter::install`] wraps. It must not depend
//! on the runtime, images or the engine.
//!
//! Using it from a runtime, as runc does: compile the profile before
//! forking (errors reach the user early); in the container's init, install
//! the filter as late as possible, after `no_new_privs` is set and just
//! before `execve`, so that the runtime's own set-up calls are not filtered
//! (without `no_new_privs` the filter must be installed while the process
//! still holds `CAP_SYS_ADMIN`, i.e. before capabilities are dropped). When
//! [`Filter::needs_listener`], send the returned fd to `listenerPath`.
#![forbid(unsafe_code)]

mod arch;
mod asm;
pub mod bpf;
mod codegen;
mod docker;
mod profile;
mod rules;
mod table;
#[cfg(test)]
mod tests;

use std::io;
use std::os::fd::OwnedFd;

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag};

pub use arch::{SubArch, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
pub use bpf::SockFilter;
pub use docker::{docker_default, docker_profile, DOCKER_DEFAULT_CAPS};
pub use profile::features;
pub use rules::action_value;

/// `SECCOMP_FILTER_FLAG_TSYNC`: apply the filter to every thread.
pub const FLAG_TSYNC: u32 = 1;
/// `SECCOMP_FILTER_FLAG_LOG`: log every action except `ALLOW`.
pub const FLAG_LOG: u32 = 2;
/// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`: keep Speculative Store Bypass enabled.
pub const FLAG_SPEC_ALLOW: u32 = 4;
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`: return a user-notification fd.
pub const FLAG_NEW_LISTENER: u32 = 8;
/// `SECCOMP_FILTER_FLAG_TSYNC_ESRCH`: report TSYNC failures as `ESRCH`,
/// which lets TSYNC be combined with NEW_LISTENER.
pub const FLAG_TSYNC_ESRCH: u32 = 16;
/// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`: a notifying task waits killably.
pub const FLAG_WAIT_KILLABLE_RECV: u32 = 32;

/// Errors while compiling a profile.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// A rule names the empty string.
    #[error("empty syscall name in seccomp profile")]
    EmptyName,
    /// An argument index outside 0..=5.
    #[error("argument index {index} out of range for syscall {syscall}")]
    ArgIndex {
        /// The syscall the rule is for.
        syscall: String,
        /// The offending index.
        index: usize,
    },
    /// An errno that does not fit the 16-bit data of a return value.
    #[error("errno {errno} does not fit in a seccomp return value")]
    ErrnoOutOfRange {
        /// The offending value.
        errno: u32,
    },
    /// `SCMP_ACT_NOTIFY` as default action (the runtime could not even send the listener fd).
    #[error("SCMP_ACT_NOTIFY cannot be the default seccomp action")]
    NotifyDefault,
    /// `SCMP_ACT_NOTIFY` on `write` (the runtime needs write to pass the listener fd on).
    #[error("SCMP_ACT_NOTIFY cannot be used for the write syscall")]
    NotifyWrite,
    /// The program exceeds the kernel's 4096-instruction limit.
    #[error("seccomp program of {len} instructions exceeds the kernel limit of 4096")]
    TooLong {
        /// The generated length.
        len: usize,
    },
    /// Internal: a jump to a label never placed.
    #[error("internal error: unbound label in seccomp program")]
    UnboundLabel,
    /// Internal: a jump backwards, which BPF cannot express.
    #[error("internal error: backward jump in seccomp program")]
    BackwardJump,
}

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// The profile could not be compiled.
    #[error("failed to compile seccomp profile")]
    Compile(#[from] CompileError),
    /// The kernel refused the filter.
    #[error("failed to install seccomp filter of {len} instructions with flags {flags:#x}")]
    Install {
        /// Program length.
        len: usize,
        /// `SECCOMP_FILTER_FLAG_*` passed.
        flags: u32,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
}

/// A compiled profile: the program and the `seccomp(2)` flags to load it with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// The BPF program.
    pub program: Vec<SockFilter>,
    /// `SECCOMP_FILTER_FLAG_*` bits; includes `NEW_LISTENER` when a rule notifies.
    pub flags: u32,
}

impl Filter {
    /// Whether loading returns a listener fd (some rule uses `SCMP_ACT_NOTIFY`).
    pub fn needs_listener(&self) -> bool {
        self.flags & FLAG_NEW_LISTENER != 0
    }

    /// Loads the filter into the calling thread (all threads with TSYNC).
    ///
    /// The caller must have set `no_new_privs` or hold `CAP_SYS_ADMIN` in its
    /// user namespace. Returns the listener fd when [`Filter::needs_listener`].
    pub fn install(&self) -> Result<Option<OwnedFd>, SeccompError> {
        wharf_sys::seccomp::install_filter(&bpf::to_libc(&self.program), self.flags).map_err(
            |source| SeccompError::Install {
                len: self.program.len(),
                flags: self.flags,
                source,
            },
        )
    }
}

/// The `seccomp(2)` flags a profile asks for.
///
/// `NEW_LISTENER` is added when a rule uses `SCMP_ACT_NOTIFY`;
/// `WAIT_KILLABLE_RECV` is only valid together with it and is dropped
/// otherwise; TSYNC with a listener also sets `TSYNC_ESRCH`, as the kernel
/// requires.
pub fn filter_flags(profile: &LinuxSeccomp) -> u32 {
    let notify = profile
        .syscalls()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|s| s.action() == LinuxSeccompAction::ScmpActNotify);
    let mut flags = if notify { FLAG_NEW_LISTENER } else { 0 };
    for f in profile.flags().as_deref().unwrap_or_default() {
        flags |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => FLAG_SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv if notify => {
                FLAG_WAIT_KILLABLE_RECV
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => 0,
        };
    }
    if flags & FLAG_TSYNC != 0 && notify {
        flags |= FLAG_TSYNC_ESRCH;
    }
    flags
}

/// Compiles a profile into a filter.
pub fn compile(profile: &LinuxSeccomp) -> Result<Filter, CompileError> {
    let plan = rules::plan(profile)?;
    let program = codegen::generate(&plan)?;
    Ok(Filter {
        program,
        flags: filter_flags(profile),
    })
}
