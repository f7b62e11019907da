//! Resolving and creating paths inside the container's root filesystem
//! without ever leaving it.
//!
//! The rootfs belongs to the image, so any component may be a symlink, and
//! `/etc` or `../../..` in a symlink must mean the container's `/etc`, never
//! the host's. Every lookup here is `openat2(rootfd, path, RESOLVE_IN_ROOT)`:
//! the kernel resolves symlinks and `..` as if `rootfd` were `/`. Missing
//! directories are made with `mkdirat` relative to a directory fd that was
//! itself resolved this way, and what comes back is an `O_PATH` fd that the
//! caller mounts onto with `move_mount` — no path is looked up twice (the
//! check-then-use race of CVE-2021-30465 and the 2025 runc mount races).

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use wharf_sys::fs::{self as sysfs, OFlags, ResolveFlags};

/// Lexically cleans a container path: makes it relative to the root, drops
/// `.`, and applies `..` with the root as a floor (`/../a/./b` → `a/b`,
/// `/` → ``). Symlinks are left for the kernel to resolve.
pub(crate) fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

fn in_root() -> ResolveFlags {
    ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS
}

fn beneath_nofollow() -> ResolveFlags {
    ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS
}

/// Opens `path` inside `root` as an `O_PATH` fd, following symlinks as the
/// container would see them.
pub(crate) fn resolve(root: BorrowedFd<'_>, path: &Path) -> io::Result<OwnedFd> {
    sysfs::openat2(Some(root), &clean(path), OFlags::PATH, 0, in_root())
}

/// Opens `path` inside `root` as an `O_PATH | O_NOFOLLOW` fd, refusing any
/// symlink on the way (`ELOOP`). A symlink as the last component is returned
/// as itself (the caller checks the kind with `fstat`).
pub(crate) fn resolve_nofollow(root: BorrowedFd<'_>, path: &Path) -> io::Result<OwnedFd> {
    sysfs::openat2(
        Some(root),
        &clean(path),
        OFlags::PATH | OFlags::NOFOLLOW,
        0,
        in_root() | ResolveFlags::NO_SYMLINKS,
    )
}

/// Opens the directory `path` inside `root`, creating every missing
/// component with mode `mode` (`mkdir -p`). Returns an `O_PATH` fd.
///
/// A dangling symlink on the way is followed the way the container would
/// follow it (its target read with `readlinkat` and resolved again from
/// `root`), so `/var/run` → `/run` with `/run` missing creates `/run` in
/// the rootfs; never anything outside it.
pub(crate) fn mkdir_all(root: BorrowedFd<'_>, path: &Path, mode: u32) -> io::Result<OwnedFd> {
    mkdir_all_depth(root, &clean(path), mode, 0)
}

/// The kernel's own limit on nested symlinks (`MAXSYMLINKS`).
const MAX_SYMLINKS: usize = 40;

fn mkdir_all_depth(
    root: BorrowedFd<'_>,
    rel: &Path,
    mode: u32,
    depth: usize,
) -> io::Result<OwnedFd> {
    let dir = OFlags::PATH | OFlags::DIRECTORY;
    match sysfs::openat2(Some(root), rel, dir, 0, in_root()) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        other => return other,
    }
    let mut cur = sysfs::openat2(Some(root), Path::new("."), dir, 0, in_root())?;
    let mut prefix = PathBuf::new();
    let names: Vec<&OsStr> = rel.iter().collect();
    for (i, name) in names.iter().enumerate() {
        let parent = prefix.clone();
        prefix.push(name);
        match sysfs::openat2(Some(root), &prefix, dir, 0, in_root()) {
            Ok(fd) => cur = fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                // `name` is missing, or a symlink to something missing:
                // create it right here, under the verified parent.
                match sysfs::mkdirat(cur.as_fd(), Path::new(name), mode) {
                    Err(e) if e.raw_os_error() != Some(libc::EEXIST) => return Err(e),
                    _ => {}
                }
                let entry = sysfs::openat2(
                    Some(cur.as_fd()),
                    Path::new(name),
                    OFlags::PATH | OFlags::NOFOLLOW,
                    0,
                    beneath_nofollow(),
                )?;
                match sysfs::fstat(entry.as_fd())?.kind {
                    sysfs::Kind::Dir => cur = entry,
                    sysfs::Kind::Symlink => {
                        if depth >= MAX_SYMLINKS {
                            return Err(io::Error::from_raw_os_error(libc::ELOOP));
                        }
                        // Continue at the symlink's target, inside the root.
                        let target = sysfs::readlinkat(cur.as_fd(), Path::new(name))?;
                        let mut next = clean(&parent.join(target));
                        next.extend(&names[i + 1..]);
                        return mkdir_all_depth(root, &next, mode, depth + 1);
                    }
                    _ => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(cur)
}

/// Splits a cleaned path into its parent and last component.
pub(crate) fn split(path: &Path) -> io::Result<(PathBuf, &OsStr)> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
    let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok((parent, name))
}

/// Opens the non-directory `path` inside `root`, creating an empty regular
/// file (and its parents) if nothing is there. Returns an `O_PATH` fd.
pub(crate) fn create_file(root: BorrowedFd<'_>, path: &Path) -> io::Result<OwnedFd> {
    let rel = clean(path);
    match sysfs::openat2(Some(root), &rel, OFlags::PATH, 0, in_root()) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        other => return other,
    }
    let (parent, name) = split(&rel)?;
    let parent = mkdir_all(root, &parent, 0o755)?;
    match sysfs::create_file_at(parent.as_fd(), Path::new(name), 0o644) {
        Err(e) if e.raw_os_error() != Some(libc::EEXIST) => return Err(e),
        _ => {}
    }
    sysfs::openat2(
        Some(parent.as_fd()),
        Path::new(name),
        OFlags::PATH | OFlags::NOFOLLOW,
        0,
        beneath_nofollow(),
    )
    .and_then(|fd| {
        // A dangling symlink in the way: refuse rather than follow it.
        if sysfs::fstat(fd.as_fd())?.kind == sysfs::Kind::Symlink {
            return Err(io::Error::from_raw_os_error(libc::ELOOP));
        }
        Ok(fd)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_stays_under_root() {
        assert_eq!(clean(Path::new("/dev/pts")), Path::new("dev/pts"));
        assert_eq!(clean(Path::new("/../../etc")), Path::new("etc"));
        assert_eq!(clean(Path::new("/a/./b/../c/")), Path::new("a/c"));
        assert_eq!(clean(Path::new("/")), Path::new(""));
        assert_eq!(clean(Path::new("relative/x")), Path::new("relative/x"));
    }

    #[test]
    fn split_parent_and_name() {
        let (p, n) = split(Path::new("dev/console")).unwrap();
        assert_eq!((p.as_path(), n), (Path::new("dev"), OsStr::new("console")));
        let (p, n) = split(Path::new("x")).unwrap();
        assert_eq!((p.as_path(), n), (Path::new(""), OsStr::new("x")));
        assert!(split(Path::new("")).is_err());
    }
}
