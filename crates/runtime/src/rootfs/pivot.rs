//! Entering the new root: the propagation set-up before any mount, the
//! rootfs bound onto itself, `pivot_root(2)` (or `MS_MOVE` + `chroot` for
//! `--no-pivot`), and the propagation of the new `/` afterwards.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use wharf_sys::fs::{self as sysfs, OFlags, ResolveFlags};
use wharf_sys::mount::{self as sysmount, Propagation};

use super::{mountinfo, options, RootfsConfig, RootfsError};

fn root_propagation(
    cfg: &RootfsConfig<'_>,
) -> Result<Option<(Propagation, bool, String)>, RootfsError> {
    let word = cfg
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().clone());
    match word {
        None => Ok(None),
        Some(w) if w.is_empty() => Ok(None),
        Some(w) => match options::parse_propagation(&w) {
            Some((p, rec)) => Ok(Some((p, rec, w))),
            None => Err(RootfsError::InvalidPropagation(w)),
        },
    }
}

fn open_dir(path: &Path) -> std::io::Result<OwnedFd> {
    sysfs::openat2(
        None,
        path,
        OFlags::PATH | OFlags::DIRECTORY,
        0,
        ResolveFlags::empty(),
    )
}

/// Makes `/` a recursive slave (or applies `rootfsPropagation`) so that
/// nothing mounted from now on propagates back to the host, makes the mount
/// holding the rootfs private if it is still shared (`pivot_root(2)` refuses
/// a shared parent), binds the rootfs onto itself (so that it is a mount
/// point, which `pivot_root` requires) and returns an `O_PATH` fd of it.
pub(super) fn prepare_root(cfg: &RootfsConfig<'_>) -> Result<OwnedFd, RootfsError> {
    let (p, rec, word) =
        root_propagation(cfg)?.unwrap_or((Propagation::Slave, true, "rslave".into()));
    sysmount::set_propagation(Path::new("/"), p, rec).map_err(|source| {
        RootfsError::Propagation {
            path: "/".into(),
            propagation: word,
            source,
        }
    })?;
    let mounts = mountinfo::read().map_err(|source| RootfsError::Host {
        op: "read the mount table",
        path: "/proc/self/mountinfo".into(),
        source,
    })?;
    if let Some(parent) = mountinfo::containing(&mounts, cfg.rootfs).filter(|m| m.is_shared()) {
        sysmount::set_propagation(&parent.mount_point, Propagation::Private, false).map_err(
            |source| RootfsError::Propagation {
                path: parent.mount_point.clone(),
                propagation: "private".into(),
                source,
            },
        )?;
    }
    sysmount::bind_recursive(cfg.rootfs, cfg.rootfs).map_err(|source| RootfsError::Host {
        op: "bind onto itself the rootfs",
        path: cfg.rootfs.to_path_buf(),
        source,
    })?;
    open_dir(cfg.rootfs).map_err(|source| RootfsError::Host {
        op: "open the rootfs",
        path: cfg.rootfs.to_path_buf(),
        source,
    })
}

/// Phase 2: makes the rootfs the process's `/` and leaves no way back to the
/// old root, then changes directory to the new `/`.
pub fn pivot(cfg: &RootfsConfig<'_>) -> Result<(), RootfsError> {
    let err = |op: &'static str| {
        move |source| RootfsError::Pivot {
            op,
            rootfs: cfg.rootfs.to_path_buf(),
            source,
        }
    };
    let new_root = open_dir(cfg.rootfs).map_err(err("open the new root"))?;
    if cfg.no_pivot {
        return move_root(cfg, &new_root);
    }
    let old_root = open_dir(Path::new("/")).map_err(err("open the old root"))?;
    sysmount::fchdir(new_root.as_fd()).map_err(err("enter the new root"))?;
    // pivot_root(".", "."): new_root and put_old may be the same directory
    // (pivot_root(2), NOTES). The old root is then mounted on top of the new
    // root at "/", which spares us a put_old directory inside the image.
    // The kernel also requires that new_root is a mount point (the self
    // bind of prepare) and that neither it nor its parent is shared.
    sysmount::pivot_root(Path::new("."), Path::new(".")).map_err(err("pivot_root"))?;
    // Our cwd is still the new root; step into the old root stacked above it
    // through the fd we kept, and detach it. Make it a recursive slave first
    // so that the unmount does not propagate to the host's peer mounts.
    sysmount::fchdir(old_root.as_fd()).map_err(err("enter the old root"))?;
    sysmount::set_propagation(Path::new("."), Propagation::Slave, true)
        .map_err(err("make the old root rslave"))?;
    sysmount::unmount(Path::new("."), true).map_err(err("detach the old root"))?;
    sysmount::chdir(Path::new("/")).map_err(err("chdir to the new root"))
}

/// `--no-pivot`: hides the host's full procfs and sysfs mounts (a later
/// procfs/sysfs mount in a nested user namespace must not be allowed just
/// because an unmasked one is still reachable), moves the rootfs over `/`
/// and chroots into it. The old root stays underneath; this mode is for
/// ramdisk roots where `pivot_root` is impossible.
fn move_root(cfg: &RootfsConfig<'_>, new_root: &OwnedFd) -> Result<(), RootfsError> {
    let err = |op: &'static str| {
        move |source| RootfsError::Pivot {
            op,
            rootfs: cfg.rootfs.to_path_buf(),
            source,
        }
    };
    let mounts = mountinfo::read().map_err(err("read the mount table"))?;
    for m in mounts.iter().filter(|m| {
        (m.fstype == "proc" || m.fstype == "sysfs")
            && m.root == Path::new("/")
            && !m.mount_point.starts_with(cfg.rootfs)
    }) {
        let p = &m.mount_point;
        match sysmount::set_propagation(p, Propagation::Slave, true) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            other => other.map_err(err("make a host procfs/sysfs rslave"))?,
        }
        if let Err(e) = sysmount::unmount(p, true) {
            if !matches!(e.raw_os_error(), Some(libc::EINVAL | libc::EPERM)) {
                return Err(err("detach a host procfs/sysfs")(e));
            }
            // Locked (user namespace): cover it with an empty tmpfs instead.
            let dir = open_dir(p).map_err(err("open a host procfs/sysfs"))?;
            let tmp = sysmount::fs_mount("tmpfs", Some("tmpfs"), &[], 0)
                .map_err(err("cover a host procfs/sysfs"))?;
            sysmount::attach(tmp.as_fd(), dir.as_fd()).map_err(err("cover a host procfs/sysfs"))?;
        }
    }
    sysmount::fchdir(new_root.as_fd()).map_err(err("enter the new root"))?;
    sysmount::move_path(cfg.rootfs, Path::new("/")).map_err(err("move the rootfs onto /"))?;
    sysmount::chroot(Path::new(".")).map_err(err("chroot"))?;
    sysmount::chdir(Path::new("/")).map_err(err("chdir to the new root"))
}

/// An `O_PATH` fd of `/` after the pivot.
pub(super) fn open_new_root() -> Result<OwnedFd, RootfsError> {
    open_dir(Path::new("/")).map_err(|source| RootfsError::Host {
        op: "open",
        path: "/".into(),
        source,
    })
}

/// Applies `rootfsPropagation`, if set, to the new `/`.
pub(super) fn set_root_propagation(
    cfg: &RootfsConfig<'_>,
    root: &OwnedFd,
) -> Result<(), RootfsError> {
    if let Some((p, rec, word)) = root_propagation(cfg)? {
        sysmount::set_attr(root.as_fd(), rec, 0, 0, Some(p)).map_err(|source| {
            RootfsError::Propagation {
                path: "/".into(),
                propagation: word,
                source,
            }
        })?;
    }
    Ok(())
}
