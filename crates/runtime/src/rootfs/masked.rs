//! `maskedPaths`, `readonlyPaths` and `root.readonly`, applied from inside
//! the container after the pivot.
//!
//! Each path is opened once with `RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS`
//! and `O_NOFOLLOW`, and the mount goes onto that fd: a path that is (or
//! passes through) a symlink is refused rather than followed, so an image
//! cannot point a mask at a file of its choosing. The `/dev/null` used for
//! masking files is checked to be the real null device (char 1:3) on the
//! very fd that is bound (CVE-2025-31133: a `/dev/null` replaced by a
//! symlink turned the mask into a writable bind of a procfs file).

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use wharf_sys::fs::{self as sysfs, Kind};
use wharf_sys::mount::{self as sysmount, attr};

use super::{safe_path, RootfsError};

/// Opens a masked/readonly path; `None` if it does not exist.
fn open_target(
    root: &OwnedFd,
    path: &Path,
    op: &'static str,
) -> Result<Option<OwnedFd>, RootfsError> {
    let unsafe_path = || RootfsError::Unsafe {
        op,
        path: path.to_path_buf(),
        reason: "it is or passes through a symlink",
    };
    let fd = match safe_path::resolve_nofollow(root.as_fd(), path) {
        Ok(fd) => fd,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
            return Ok(None)
        }
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(unsafe_path()),
        Err(source) => {
            return Err(RootfsError::Path {
                op: "open",
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let kind = sysfs::fstat(fd.as_fd())
        .map_err(|source| RootfsError::Path {
            op: "stat",
            path: path.to_path_buf(),
            source,
        })?
        .kind;
    if kind == Kind::Symlink {
        return Err(unsafe_path());
    }
    Ok(Some(fd))
}

/// The container's `/dev/null`, verified to be the null device.
fn dev_null(root: &OwnedFd) -> Result<OwnedFd, RootfsError> {
    let not_null = || RootfsError::Unsafe {
        op: "mask with",
        path: "/dev/null".into(),
        reason: "it is not the null device (char 1:3)",
    };
    let fd = match open_target(root, Path::new("/dev/null"), "mask with") {
        Ok(Some(fd)) => fd,
        Ok(None) | Err(RootfsError::Unsafe { .. }) => return Err(not_null()),
        Err(e) => return Err(e),
    };
    let st = sysfs::fstat(fd.as_fd()).map_err(|source| RootfsError::Path {
        op: "stat",
        path: "/dev/null".into(),
        source,
    })?;
    if st.kind != Kind::CharDevice || (st.rdev_major, st.rdev_minor) != (1, 3) {
        return Err(not_null());
    }
    Ok(fd)
}

/// Masks `path`: an empty read-only tmpfs over a directory, `/dev/null`
/// over anything else. A missing path is skipped.
pub(super) fn mask_path(root: &OwnedFd, path: &Path) -> Result<(), RootfsError> {
    let Some(target) = open_target(root, path, "mask")? else {
        return Ok(());
    };
    let err = |source| RootfsError::Mask {
        path: path.to_path_buf(),
        source,
    };
    let is_dir = sysfs::fstat(target.as_fd()).map_err(err)?.kind == Kind::Dir;
    let mnt = if is_dir {
        sysmount::fs_mount("tmpfs", Some("tmpfs"), &[], attr::RDONLY).map_err(err)?
    } else {
        let null = dev_null(root)?;
        sysmount::clone_fd(null.as_fd(), false).map_err(err)?
    };
    sysmount::attach(mnt.as_fd(), target.as_fd()).map_err(err)
}

/// Makes `path` read-only: a recursive bind of it onto itself, made
/// read-only (all submounts included) before it is attached.
pub(super) fn readonly_path(root: &OwnedFd, path: &Path) -> Result<(), RootfsError> {
    let Some(target) = open_target(root, path, "make read-only")? else {
        return Ok(());
    };
    let err = |source: io::Error| RootfsError::Readonly {
        path: path.to_path_buf(),
        source,
    };
    let tree = sysmount::clone_fd(target.as_fd(), true).map_err(err)?;
    sysmount::set_attr(tree.as_fd(), true, attr::RDONLY, 0, None).map_err(err)?;
    sysmount::attach(tree.as_fd(), target.as_fd()).map_err(err)
}

/// `root.readonly`: makes the root mount (not its submounts) read-only.
pub(super) fn readonly_root(root: &OwnedFd) -> Result<(), RootfsError> {
    sysmount::set_attr(root.as_fd(), false, attr::RDONLY, 0, None).map_err(|source| {
        RootfsError::Readonly {
            path: "/".into(),
            source,
        }
    })
}
