//! The one error type of this crate.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while discovering, creating, configuring or
/// removing a cgroup. Each variant names the file or path and the operation;
/// the underlying cause, when there is one, is in `source()`.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// Reading a cgroup or proc file failed.
    #[error("failed to read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Writing a value to a cgroup file failed.
    #[error("failed to write {value} to {path}")]
    Write {
        /// The value written (without the trailing newline).
        value: String,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Creating a cgroup directory failed.
    #[error("failed to create cgroup directory {path}")]
    Mkdir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Removing a cgroup directory failed.
    #[error("failed to remove cgroup directory {path}")]
    Rmdir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A line of mountinfo or `/proc/<pid>/cgroup` could not be parsed.
    #[error("malformed line in {path}: {line:?}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The offending line.
        line: String,
    },
    /// The OCI `cgroupsPath` is not acceptable.
    #[error("invalid cgroups path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// This process's own cgroup in a hierarchy is unknown or unreachable.
    #[error("cannot locate this process's cgroup in the hierarchy mounted at {mount_point}")]
    OwnCgroup {
        /// The hierarchy's mount point.
        mount_point: PathBuf,
    },
    /// No cgroup hierarchy is mounted at all.
    #[error("no cgroup hierarchy is mounted")]
    NoHierarchy,
    /// A resource was requested that this host's cgroup layout cannot enforce.
    #[error("resource {resource} is not supported by this host's cgroup layout")]
    Unsupported {
        /// The OCI resource, e.g. `memory.swap` or `hugepageLimits[1GB]`.
        resource: String,
    },
    /// A resource value is out of range or malformed.
    #[error("invalid value for {resource}: {reason}")]
    InvalidValue {
        /// The OCI resource.
        resource: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The kernel refused the generated device-filter program.
    #[error("failed to load the device filter program for {path}")]
    BpfLoad {
        /// The cgroup directory.
        path: PathBuf,
        /// The cause, with the verifier log.
        #[source]
        source: wharf_sys::bpf::BpfLoadError,
    },
    /// Attaching, querying or detaching a device-filter program failed.
    #[error("failed to {op} the device filter program on {path}")]
    Bpf {
        /// `attach`, `query` or `detach`.
        op: &'static str,
        /// The cgroup directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Freezing or thawing did not complete.
    #[error("cgroup {path} did not become {state}")]
    Freeze {
        /// The cgroup directory.
        path: PathBuf,
        /// The state that was awaited.
        state: &'static str,
    },
}

/// Shorthand used throughout the crate.
pub type Result<T, E = CgroupError> = std::result::Result<T, E>;
