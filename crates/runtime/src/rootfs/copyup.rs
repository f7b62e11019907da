//! `tmpcopyup`: before a new tmpfs covers a directory of the image, copy
//! that directory's content into it, so that e.g. `/tmp` or `/run` keep the
//! files the image ships. Works fd to fd: the source is only ever read
//! through `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` lookups below the
//! destination directory, and symlinks are copied as symlinks.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use wharf_sys::fs::{self as sysfs, Kind, OFlags, ResolveFlags};

fn beneath() -> ResolveFlags {
    ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS
}

/// Copies the tree under `src` (an `O_PATH` directory fd) into `dst` (the
/// root of a detached tmpfs), keeping modes and owners.
pub(super) fn copy_dir(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> io::Result<()> {
    let dir = sysfs::openat2(
        Some(src),
        Path::new("."),
        OFlags::RDONLY | OFlags::DIRECTORY,
        0,
        beneath(),
    )?;
    let info = sysfs::fstat(src)?;
    for name in sysfs::read_dir_names(dir.as_fd())? {
        let name = Path::new(&name);
        let entry = sysfs::openat2(
            Some(src),
            name,
            OFlags::PATH | OFlags::NOFOLLOW,
            0,
            beneath(),
        )?;
        let st = sysfs::fstat(entry.as_fd())?;
        match st.kind {
            Kind::Dir => {
                sysfs::mkdirat(dst, name, 0o700)?;
                let sub = sysfs::openat2(
                    Some(dst),
                    name,
                    OFlags::PATH | OFlags::DIRECTORY,
                    0,
                    beneath(),
                )?;
                copy_dir(entry.as_fd(), sub.as_fd())?;
            }
            Kind::File => {
                let from = sysfs::openat2(
                    Some(src),
                    name,
                    OFlags::RDONLY | OFlags::NOFOLLOW,
                    0,
                    beneath(),
                )?;
                let to = sysfs::create_file_at(dst, name, 0o600)?;
                io::copy(&mut File::from(from), &mut File::from(to))?;
            }
            Kind::Symlink => {
                let target = sysfs::readlinkat(src, name)?;
                sysfs::symlinkat(&target, dst, name)?;
                sysfs::chownat(dst, name, st.uid, st.gid)?;
                continue;
            }
            // Device nodes, fifos and sockets are not copied (runc copies
            // only what `cp -a` of a tmpfs would sensibly hold).
            _ => continue,
        }
        sysfs::chownat(dst, name, st.uid, st.gid)?;
        sysfs::chmodat(dst, name, st.perm)?;
    }
    // The tmpfs root takes the mode and owner of the covered directory.
    let root = sysfs::openat2(
        Some(dst),
        Path::new("."),
        OFlags::RDONLY | OFlags::DIRECTORY,
        0,
        beneath(),
    )?;
    sysfs::fchown(root.as_fd(), info.uid, info.gid)?;
    sysfs::fchmod(root.as_fd(), info.perm)
}
