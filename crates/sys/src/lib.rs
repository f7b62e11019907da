//! The one crate of Wharf that contains `unsafe`: thin, safe wrappers over the
//! Linux system calls the runtime needs (namespaces, the mount API and
//! pivot_root, capabilities, rlimits, seccomp, BPF, pidfd, pty, fd passing).
//!
//! It knows nothing of OCI, images or HTTP: every function takes plain values
//! and returns `std::io::Error` or a small typed error. Every `unsafe` block
//! carries a `// SAFETY:` comment explaining why the call is sound.

pub mod bpf;
pub mod cloned_binary;
pub mod fs;
pub mod mount;
pub mod process;
pub mod sched;
pub mod seccomp;
pub mod sigaction;
pub mod signal;
pub mod spawn;
