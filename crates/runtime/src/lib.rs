//! The OCI runtime.
#![forbid(unsafe_code)]
