//! The `mounts` of config.json, performed in order inside the rootfs.
//!
//! Every mount is built detached — `fsopen`/`fsmount` for a new filesystem,
//! `open_tree(OPEN_TREE_CLONE)` for a bind — gets its flags with
//! `mount_setattr` while nobody can see it (so a read-only bind is never
//! writable, not even for an instant, and no remount of the bind is
//! needed), and is then attached with `move_mount` onto an fd of the
//! destination resolved in the rootfs. Propagation words apply afterwards.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount;
use wharf_sys::fs as sysfs;
use wharf_sys::mount::{self as sysmount, attr, FsParam};

use super::options::{self, MountOptions};
use super::{safe_path, RootfsConfig, RootfsError};

/// Paths under `/proc` that may be bind-mount destinations (lxcfs-style
/// fake files); anything else under `/proc` is refused, as runc does.
const PROC_BIND_ALLOWED: &[&str] = &[
    "proc/cpuinfo",
    "proc/diskstats",
    "proc/meminfo",
    "proc/stat",
    "proc/swaps",
    "proc/uptime",
    "proc/loadavg",
    "proc/slabinfo",
    "proc/net/dev",
    "proc/sys/kernel/ns_last_pid",
    "proc/sys/crypto/fips_enabled",
    "proc/pressure/cpu",
    "proc/pressure/io",
    "proc/pressure/memory",
];

/// State shared by the mounts of one container.
pub(super) struct Ctx<'a> {
    pub cfg: &'a RootfsConfig<'a>,
    root: OwnedFd,
}

/// One mount being performed, for error messages.
pub(super) struct Job<'m> {
    pub from: String,
    pub dest: PathBuf,
    pub fstype: &'m str,
}

impl Job<'_> {
    pub fn err(&self, source: std::io::Error) -> RootfsError {
        RootfsError::Mount {
            from: self.from.clone(),
            destination: self.dest.clone(),
            fstype: self.fstype.to_owned(),
            source,
        }
    }

    pub fn path_err(&self, op: &'static str) -> impl FnOnce(std::io::Error) -> RootfsError + '_ {
        move |source| RootfsError::Path {
            op,
            path: self.dest.clone(),
            source,
        }
    }
}

impl<'a> Ctx<'a> {
    pub fn new(cfg: &'a RootfsConfig<'a>, root: OwnedFd) -> Self {
        Self { cfg, root }
    }

    /// The rootfs, as an `O_PATH` fd.
    pub fn root(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    /// Opens (creating it if missing: a directory, or an empty file when
    /// `dir` is false) the destination of `job` inside the rootfs. A
    /// destination that only reaches procfs through a symlink (`/foo` →
    /// `/proc`, then `/foo/sys/kernel/core_pattern`) is refused: the
    /// lexical `/proc` check cannot see it, the fd can.
    pub fn target(&self, job: &Job<'_>, dir: bool) -> Result<OwnedFd, RootfsError> {
        let fd = if dir {
            safe_path::mkdir_all(self.root(), &job.dest, 0o755)
        } else {
            safe_path::create_file(self.root(), &job.dest)
        }
        .map_err(job.path_err("create"))?;
        let magic = sysfs::fs_magic(fd.as_fd()).map_err(job.path_err("stat"))?;
        if magic == sysfs::PROC_SUPER_MAGIC && !safe_path::clean(&job.dest).starts_with("proc") {
            return Err(RootfsError::Refused {
                destination: job.dest.clone(),
                reason: "it resolves into procfs through a symlink",
            });
        }
        Ok(fd)
    }

    /// Performs one spec mount.
    pub fn mount(&mut self, m: &Mount) -> Result<(), RootfsError> {
        let dest = Path::new("/").join(safe_path::clean(m.destination()));
        let fstype = m.typ().as_deref().unwrap_or("none");
        let words = m.options().clone().unwrap_or_default();
        let opts = options::parse(&words).map_err(|option| RootfsError::UnsupportedOption {
            option,
            destination: dest.clone(),
        })?;
        let source = m.source().as_deref().map(Path::to_path_buf);
        let job = Job {
            from: source
                .as_deref()
                .map_or_else(|| fstype.to_owned(), |s| s.display().to_string()),
            dest,
            fstype,
        };
        if job.dest == Path::new("/") {
            return Err(RootfsError::Refused {
                destination: job.dest,
                reason: "a mount cannot replace the root filesystem",
            });
        }
        check_proc_destination(&job, fstype, opts.bind || fstype == "bind")?;
        if opts.remount {
            return self.remount(&job, &opts);
        }
        let attached = if opts.bind || fstype == "bind" {
            let src = source.ok_or_else(|| RootfsError::Refused {
                destination: job.dest.clone(),
                reason: "a bind mount needs a source",
            })?;
            self.bind(&job, &self.cfg.bundle.join(src), &opts)?
        } else if fstype == "cgroup" || fstype == "cgroup2" {
            super::cgroup_mount::mount(self, &job, &opts)?
        } else {
            self.new_fs(&job, fstype, m.source().as_deref(), &opts)?
        };
        apply_propagation(&job, attached.as_fd(), &opts)
    }

    /// A bind (or rbind) of the host path `src`, a file or a directory.
    fn bind(&self, job: &Job<'_>, src: &Path, opts: &MountOptions) -> Result<OwnedFd, RootfsError> {
        let tree = sysmount::clone_path(src, opts.recursive).map_err(|e| job.err(e))?;
        set_flags(job, tree.as_fd(), opts)?;
        let is_dir = sysfs::fstat(tree.as_fd()).map_err(|e| job.err(e))?.kind == sysfs::Kind::Dir;
        let target = self.target(job, is_dir)?;
        sysmount::attach(tree.as_fd(), target.as_fd()).map_err(|e| job.err(e))?;
        Ok(tree)
    }

    /// A new filesystem of type `fstype` at a directory destination. `sysfs`
    /// falls back to a read-only rbind of the host's `/sys` where the kernel
    /// refuses a new one (a user namespace without its own network
    /// namespace), as runc does.
    fn new_fs(
        &self,
        job: &Job<'_>,
        fstype: &str,
        source: Option<&Path>,
        opts: &MountOptions,
    ) -> Result<OwnedFd, RootfsError> {
        let target = self.target(job, true)?;
        let source = source.and_then(Path::to_str).unwrap_or(fstype);
        let mnt = match new_fs_detached(fstype, source, opts) {
            Err(e) if fstype == "sysfs" && e.kind() == std::io::ErrorKind::PermissionDenied => {
                let mut ro = opts.clone();
                ro.recursive = true;
                ro.rec_attrs.set |= attr::RDONLY;
                let tree = sysmount::clone_path(Path::new("/sys"), true).map_err(|e| job.err(e))?;
                set_flags(job, tree.as_fd(), &ro)?;
                tree
            }
            other => other.map_err(|e| job.err(e))?,
        };
        if opts.tmpcopyup {
            if fstype != "tmpfs" {
                return Err(RootfsError::UnsupportedOption {
                    option: "tmpcopyup".into(),
                    destination: job.dest.clone(),
                });
            }
            super::copyup::copy_dir(target.as_fd(), mnt.as_fd()).map_err(|e| job.err(e))?;
        }
        sysmount::attach(mnt.as_fd(), target.as_fd()).map_err(|e| job.err(e))?;
        Ok(mnt)
    }

    /// `remount`: new flags for the mount already at the destination.
    fn remount(&self, job: &Job<'_>, opts: &MountOptions) -> Result<(), RootfsError> {
        let fd = safe_path::resolve(self.root(), &job.dest).map_err(job.path_err("resolve"))?;
        set_flags(job, fd.as_fd(), opts)?;
        apply_propagation(job, fd.as_fd(), opts)
    }
}

/// Builds a detached mount of a new `fstype` filesystem with the data words
/// and per-mount flags of `opts`.
pub(super) fn new_fs_detached(
    fstype: &str,
    source: &str,
    opts: &MountOptions,
) -> std::io::Result<OwnedFd> {
    let mut params: Vec<FsParam<'_>> = opts.sb_flags.iter().map(|f| FsParam::Flag(f)).collect();
    for word in &opts.data {
        params.push(match options::split_param(word) {
            (k, Some(v)) => FsParam::Value(k, v),
            (k, None) => FsParam::Flag(k),
        });
    }
    // A new mount has no flags to clear: only the set bits matter, and the
    // recursive ones are the same as the plain ones for a single mount.
    let (set, _) = opts.attrs.setattr_bits();
    let (rset, _) = opts.rec_attrs.setattr_bits();
    let atime = opts
        .attrs
        .atime
        .or(opts.rec_attrs.atime)
        .unwrap_or(attr::RELATIME);
    let flags = ((set | rset) & !attr::ATIME_MASK) | atime;
    sysmount::fs_mount(fstype, Some(source), &params, flags)
}

/// Applies the per-mount and recursive flags of `opts` to a (detached or
/// attached) mount.
pub(super) fn set_flags(
    job: &Job<'_>,
    mnt: BorrowedFd<'_>,
    opts: &MountOptions,
) -> Result<(), RootfsError> {
    if !opts.rec_attrs.is_empty() {
        let (set, clear) = opts.rec_attrs.setattr_bits();
        sysmount::set_attr(mnt, true, set, clear, None).map_err(|e| job.err(e))?;
    }
    if !opts.attrs.is_empty() {
        let (set, clear) = opts.attrs.setattr_bits();
        sysmount::set_attr(mnt, false, set, clear, None).map_err(|e| job.err(e))?;
    }
    Ok(())
}

fn apply_propagation(
    job: &Job<'_>,
    mnt: BorrowedFd<'_>,
    opts: &MountOptions,
) -> Result<(), RootfsError> {
    for &(p, rec) in &opts.propagation {
        sysmount::set_attr(mnt, rec, 0, 0, Some(p)).map_err(|e| job.err(e))?;
    }
    Ok(())
}

/// `/proc` itself may only get a procfs; below it only a few lxcfs-style
/// files may be bind-mounted (a bind over e.g. `/proc/self/attr` would
/// defeat LSM confinement).
fn check_proc_destination(job: &Job<'_>, fstype: &str, bind: bool) -> Result<(), RootfsError> {
    let rel = safe_path::clean(&job.dest);
    if rel == Path::new("proc") {
        if fstype == "proc" && !bind {
            return Ok(());
        }
        return Err(RootfsError::Refused {
            destination: job.dest.clone(),
            reason: "only a procfs may be mounted on /proc",
        });
    }
    if rel.starts_with("proc") && !PROC_BIND_ALLOWED.iter().any(|p| rel == Path::new(p)) {
        return Err(RootfsError::Refused {
            destination: job.dest.clone(),
            reason: "mounts under /proc are limited to a few lxcfs files",
        });
    }
    Ok(())
}
