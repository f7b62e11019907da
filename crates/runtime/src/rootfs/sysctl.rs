//! `linux.sysctl`: writes to `/proc/sys/<name with dots as slashes>` through
//! the container's procfs, with every step checked: `/proc` must be the root
//! of a procfs (not a bind of something else, not a symlink), the file is
//! opened below it with no symlinks and no mount crossings, and it must
//! itself be on procfs (CVE-2025-52881: writes redirected by a mount over a
//! procfs file).

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use wharf_sys::fs::{self as sysfs, OFlags, ResolveFlags, PROC_ROOT_INO, PROC_SUPER_MAGIC};

use super::{safe_path, RootfsError};

/// `net.ipv4.ip_forward` → `sys/net/ipv4/ip_forward`; `None` for names
/// that are empty, contain `/`, or have an empty or `..` component.
pub(super) fn sysctl_path(name: &str) -> Option<PathBuf> {
    if name.is_empty() || name.contains('/') || name.contains('\0') || name.contains("..") {
        return None;
    }
    let mut p = PathBuf::from("sys");
    for part in name.split('.') {
        if part.is_empty() {
            return None;
        }
        p.push(part);
    }
    Some(p)
}

/// Writes one sysctl.
pub(super) fn write(root: &OwnedFd, name: &str, value: &str) -> Result<(), RootfsError> {
    let rel = sysctl_path(name).ok_or_else(|| RootfsError::SysctlName(name.to_owned()))?;
    let err = |source| RootfsError::Sysctl {
        name: name.to_owned(),
        value: value.to_owned(),
        source,
    };
    let not_proc = |path: &str| RootfsError::Unsafe {
        op: "write sysctls through",
        path: path.into(),
        reason: "it is not procfs",
    };
    let proc = safe_path::resolve_nofollow(root.as_fd(), Path::new("/proc")).map_err(err)?;
    let st = sysfs::fstat(proc.as_fd()).map_err(err)?;
    if sysfs::fs_magic(proc.as_fd()).map_err(err)? != PROC_SUPER_MAGIC || st.ino != PROC_ROOT_INO {
        return Err(not_proc("/proc"));
    }
    let file: OwnedFd = sysfs::openat2(
        Some(proc.as_fd()),
        &rel,
        OFlags::WRONLY | OFlags::NOFOLLOW,
        0,
        ResolveFlags::BENEATH
            | ResolveFlags::NO_SYMLINKS
            | ResolveFlags::NO_MAGICLINKS
            | ResolveFlags::NO_XDEV,
    )
    .map_err(err)?;
    if sysfs::fs_magic(file.as_fd()).map_err(err)? != PROC_SUPER_MAGIC {
        return Err(not_proc("/proc/sys"));
    }
    std::fs::File::from(file)
        .write_all(value.as_bytes())
        .map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_proc_sys_paths() {
        assert_eq!(
            sysctl_path("net.ipv4.ip_forward").unwrap(),
            Path::new("sys/net/ipv4/ip_forward")
        );
        assert_eq!(
            sysctl_path("kernel.shm_rmid_forced").unwrap(),
            Path::new("sys/kernel/shm_rmid_forced")
        );
    }

    #[test]
    fn escaping_names_are_rejected() {
        for bad in [
            "",
            "a/b",
            "..",
            "net..ipv4",
            ".net",
            "net.",
            "kernel.../x",
            "a\0b",
        ] {
            assert!(sysctl_path(bad).is_none(), "{bad:?}");
        }
    }
}
