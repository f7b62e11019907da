//! Compiles OCI seccomp profiles into classic BPF programs.
#![forbid(unsafe_code)]
