//! The container's root filesystem, set up by the container's init process
//! after it entered its new mount namespace (and user namespace, if any),
//! while it is single-threaded and root in that namespace.
//!
//! Three phases, called in order by init:
//! 1. [`prepare`]: mount propagation of `/`, the rootfs bound onto itself,
//!    every `mounts` entry of config.json in order, and `/dev`.
//! 2. [`pivot`]: `pivot_root` into the rootfs (or `MS_MOVE` + `chroot`).
//! 3. [`finalize`]: sysctls, `readonlyPaths`, `maskedPaths`, `root.readonly`
//!    and `rootfsPropagation`, all seen from inside.
//!
//! [`mount_console`] binds the console pty over `/dev/console` after
//! [`pivot`]. Everything inside the rootfs is reached through file
//! descriptors resolved with `RESOLVE_IN_ROOT` (see `safe_path`), and mounts
//! are attached with `move_mount` onto those fds.

mod cgroup_mount;
mod copyup;
mod devices;
mod masked;
mod mountinfo;
mod mounts;
mod options;
mod pivot;
mod safe_path;
mod sysctl;

use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

pub use pivot::pivot;

/// What the rootfs setup needs to know, beyond config.json.
#[derive(Debug, Clone, Copy)]
pub struct RootfsConfig<'a> {
    /// The validated spec.
    pub spec: &'a Spec,
    /// Absolute, canonical host path of `root.path`.
    pub rootfs: &'a Path,
    /// The bundle directory: relative mount sources resolve against it.
    pub bundle: &'a Path,
    /// `--no-pivot`: `MS_MOVE` + `chroot` instead of `pivot_root`.
    pub no_pivot: bool,
    /// In a new user namespace: devices are bind-mounted from the host
    /// instead of created with `mknod`.
    pub in_user_ns: bool,
    /// In a new cgroup namespace: `cgroup` mounts are real cgroup mounts
    /// rather than bind mounts of the container's host directories.
    pub cgroup_ns: bool,
    /// The hierarchies a `type: cgroup` mount shows, one entry each.
    pub cgroup_mounts: &'a [CgroupMount],
}

/// One cgroup hierarchy as the container sees it under a `cgroup` mount:
/// at `<dest>/<name>` (v1, or the v2 tree at `<dest>/unified` on a hybrid
/// host), or at `<dest>` itself when `name` is empty (pure v2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    /// A cgroup2 hierarchy.
    pub v2: bool,
    /// Directory under the mount: `cpu,cpuacct`, `systemd`, `unified`, or ``.
    pub name: String,
    /// v1 mount data: `cpu,cpuacct`, `name=systemd`. Unused for v2.
    pub options: String,
    /// The container's own cgroup directory on the host in this hierarchy.
    pub host_dir: PathBuf,
}

/// A failure while setting up the root filesystem. The io cause is in
/// `#[source]`; the message names the object and the step.
#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    /// Changing mount propagation failed.
    #[error("failed to make {path} {propagation}")]
    Propagation {
        /// The mount point.
        path: PathBuf,
        /// The propagation word (`rslave`, `private`, …).
        propagation: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// `rootfsPropagation` or a mount option is not a known word.
    #[error("invalid rootfs propagation {0:?}")]
    InvalidPropagation(String),
    /// A mount option Wharf does not support.
    #[error("mount option {option:?} on {destination} is not supported")]
    UnsupportedOption {
        /// The option.
        option: String,
        /// The mount destination.
        destination: PathBuf,
    },
    /// A mount entry that is refused for safety or sense.
    #[error("refusing to mount on {destination}: {reason}")]
    Refused {
        /// The mount destination.
        destination: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// A mount failed.
    #[error("failed to mount {from} on {destination} (type {fstype})")]
    Mount {
        /// The mount source (host path, or the fs name).
        from: String,
        /// The destination inside the container.
        destination: PathBuf,
        /// The filesystem type, or `bind`.
        fstype: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A path inside the rootfs could not be resolved or created.
    #[error("failed to {op} {path} inside the container root")]
    Path {
        /// `resolve`, `create`, `open`, …
        op: &'static str,
        /// The container path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A host path (mount source, device, the rootfs) failed.
    #[error("failed to {op} {path}")]
    Host {
        /// What was being done.
        op: &'static str,
        /// The host path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A device node could not be created.
    #[error("failed to create device {path}")]
    Device {
        /// The device path in the container.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Something is not what it must be (a symlink where a masked path is,
    /// `/dev/null` that is not the null device, `/proc` that is not procfs).
    #[error("refusing to {op} {path}: {reason}")]
    Unsafe {
        /// What was to be done.
        op: &'static str,
        /// The container path.
        path: PathBuf,
        /// What was wrong.
        reason: &'static str,
    },
    /// A step of `pivot_root` or of the `MS_MOVE` + `chroot` fallback failed.
    #[error("failed to {op} while switching to the new root {rootfs}")]
    Pivot {
        /// The step.
        op: &'static str,
        /// The rootfs host path.
        rootfs: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Masking a path failed.
    #[error("failed to mask {path}")]
    Mask {
        /// The masked path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Making a path (or `/`) read-only failed.
    #[error("failed to make {path} read-only")]
    Readonly {
        /// The container path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A sysctl name that is not a plain dotted name.
    #[error("invalid sysctl name {0:?}")]
    SysctlName(String),
    /// Writing a sysctl failed.
    #[error("failed to set sysctl {name} to {value:?}")]
    Sysctl {
        /// The sysctl name.
        name: String,
        /// The value.
        value: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Mounting the console failed.
    #[error("failed to mount console {slave} on /dev/console")]
    Console {
        /// The pty slave path.
        slave: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// Phase 1, before `pivot_root`: sets the propagation of `/` (rslave by
/// default, or `rootfsPropagation`), binds the rootfs onto itself, performs
/// every spec mount in order and sets up `/dev` (default and `linux.devices`
/// nodes, the `/dev/fd` family of symlinks, `/dev/ptmx`) unless `/dev` is
/// itself a bind mount.
pub fn prepare(cfg: &RootfsConfig<'_>) -> Result<(), RootfsError> {
    let root = pivot::prepare_root(cfg)?;
    let mut ctx = mounts::Ctx::new(cfg, root);
    for m in cfg.spec.mounts().as_deref().unwrap_or_default() {
        ctx.mount(m)?;
    }
    if devices::needs_dev_setup(cfg.spec) {
        devices::setup(cfg, ctx.root())?;
    }
    Ok(())
}

/// Phase 3, after [`pivot`], from inside the container: writes
/// `linux.sysctl`, applies `readonlyPaths` and `maskedPaths`, remounts `/`
/// read-only if `root.readonly`, then sets `rootfsPropagation` on `/`.
///
/// Sysctls come first so that a `readonlyPaths` entry of `/proc/sys` (as
/// Docker's default has) does not make them fail.
pub fn finalize(cfg: &RootfsConfig<'_>) -> Result<(), RootfsError> {
    let root = pivot::open_new_root()?;
    let linux = cfg.spec.linux().as_ref();
    if let Some(sysctls) = linux.and_then(|l| l.sysctl().as_ref()) {
        let mut names: Vec<_> = sysctls.iter().collect();
        names.sort();
        for (name, value) in names {
            sysctl::write(&root, name, value)?;
        }
    }
    for path in linux
        .and_then(|l| l.readonly_paths().as_ref())
        .into_iter()
        .flatten()
    {
        masked::readonly_path(&root, Path::new(path))?;
    }
    for path in linux
        .and_then(|l| l.masked_paths().as_ref())
        .into_iter()
        .flatten()
    {
        masked::mask_path(&root, Path::new(path))?;
    }
    if cfg.spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
        masked::readonly_root(&root)?;
    }
    pivot::set_root_propagation(cfg, &root)
}

/// Binds the pty slave `slave` over `/dev/console` (created if missing).
/// Call after [`pivot`].
pub fn mount_console(slave: &Path) -> Result<(), RootfsError> {
    let root = pivot::open_new_root()?;
    devices::mount_console(&root, slave)
}
