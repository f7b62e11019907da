//! Docker's copy-up: the image's content at a volume's destination copied
//! into the new, empty volume — files, directories, symlinks, device
//! nodes, fifos and hard links, with owners, modes, times and extended
//! attributes.
//!
//! The source is the container's root filesystem, built from image layers
//! that anyone may have written: it is only ever walked through descriptors,
//! each child opened with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` below its
//! parent, and symlinks are copied as symlinks, never followed. The
//! destination is created with `O_EXCL | O_NOFOLLOW` below descriptors too.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, Timestamps};

fn beneath() -> ResolveFlags {
    ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS
}

fn open_beneath(dir: BorrowedFd<'_>, name: &Path, flags: OFlags) -> io::Result<OwnedFd> {
    wharf_sys::fs::openat2(Some(dir), name, flags | OFlags::NOFOLLOW, 0, beneath())
}

/// Opens `path` (absolute, as seen in the container) inside `rootfs` as a
/// directory; `None` when it is missing or not a directory.
pub(super) fn open_in_root(rootfs: &Path, path: &str) -> io::Result<Option<OwnedFd>> {
    let root = wharf_sys::fs::openat2(
        None,
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY,
        0,
        ResolveFlags::empty(),
    )?;
    match wharf_sys::fs::openat2(
        Some(root.as_fd()),
        Path::new(path.trim_start_matches('/')),
        OFlags::RDONLY | OFlags::DIRECTORY,
        0,
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether the directory `dir` has no entries.
pub(super) fn is_empty_dir(dir: &Path) -> io::Result<bool> {
    Ok(std::fs::read_dir(dir)?.next().is_none())
}

struct Copier {
    /// The destination root, for hard links.
    dst_root: OwnedFd,
    /// Source (dev, ino) of files with several links → their copy's path.
    links: HashMap<(u64, u64), PathBuf>,
}

/// Copies the content of directory `src` into the empty directory `dst`,
/// then gives `dst` the owner and mode of `src` (Docker's copyOwnership).
pub(super) fn copy_tree(src: BorrowedFd<'_>, dst: &Path) -> io::Result<()> {
    let dst_root = wharf_sys::fs::openat2(
        None,
        dst,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW,
        0,
        ResolveFlags::empty(),
    )?;
    let mut c = Copier {
        dst_root: rustix::io::dup(&dst_root)?,
        links: HashMap::new(),
    };
    c.copy_dir(src, dst_root.as_fd(), Path::new(""))?;
    let st = rustix::fs::fstat(src)?;
    rustix::fs::fchown(
        &dst_root,
        Some(rustix::fs::Uid::from_raw(st.st_uid)),
        Some(rustix::fs::Gid::from_raw(st.st_gid)),
    )?;
    rustix::fs::fchmod(&dst_root, Mode::from_raw_mode(st.st_mode & 0o7777))?;
    Ok(())
}

impl Copier {
    fn copy_dir(&mut self, src: BorrowedFd<'_>, dst: BorrowedFd<'_>, rel: &Path) -> io::Result<()> {
        for name in wharf_sys::fs::read_dir_names(src)? {
            let name = PathBuf::from(name);
            self.copy_entry(src, dst, &name, &rel.join(&name))?;
        }
        Ok(())
    }

    fn copy_entry(
        &mut self,
        src_dir: BorrowedFd<'_>,
        dst_dir: BorrowedFd<'_>,
        name: &Path,
        rel: &Path,
    ) -> io::Result<()> {
        let probe = open_beneath(src_dir, name, OFlags::PATH)?;
        let st = rustix::fs::fstat(&probe)?;
        let perm = st.st_mode & 0o7777;
        let kind = FileType::from_raw_mode(st.st_mode);
        let owner = (
            Some(rustix::fs::Uid::from_raw(st.st_uid)),
            Some(rustix::fs::Gid::from_raw(st.st_gid)),
        );
        let times = Timestamps {
            last_access: rustix::fs::Timespec {
                tv_sec: st.st_atime as _,
                tv_nsec: st.st_atime_nsec as _,
            },
            last_modification: rustix::fs::Timespec {
                tv_sec: st.st_mtime as _,
                tv_nsec: st.st_mtime_nsec as _,
            },
        };
        match kind {
            FileType::Directory => {
                rustix::fs::mkdirat(dst_dir, name, Mode::from_raw_mode(0o700))?;
                let s = open_beneath(src_dir, name, OFlags::RDONLY | OFlags::DIRECTORY)?;
                let d = open_beneath(dst_dir, name, OFlags::RDONLY | OFlags::DIRECTORY)?;
                self.copy_dir(s.as_fd(), d.as_fd(), rel)?;
                copy_xattrs(s.as_fd(), d.as_fd());
                rustix::fs::fchown(&d, owner.0, owner.1)?;
                rustix::fs::fchmod(&d, Mode::from_raw_mode(perm))?;
                rustix::fs::futimens(&d, &times)?;
            }
            FileType::RegularFile => {
                if st.st_nlink > 1 {
                    let key = (st.st_dev, st.st_ino);
                    if let Some(first) = self.links.get(&key) {
                        rustix::fs::linkat(&self.dst_root, first, dst_dir, name, AtFlags::empty())?;
                        return Ok(());
                    }
                    self.links.insert(key, rel.to_path_buf());
                }
                let s = open_beneath(src_dir, name, OFlags::RDONLY)?;
                let d = rustix::fs::openat(
                    dst_dir,
                    name,
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )?;
                let (mut from, mut to) = (File::from(s), File::from(d));
                io::copy(&mut from, &mut to)?;
                copy_xattrs(from.as_fd(), to.as_fd());
                rustix::fs::fchown(&to, owner.0, owner.1)?;
                // After chown, which clears set-id bits.
                rustix::fs::fchmod(&to, Mode::from_raw_mode(perm))?;
                rustix::fs::futimens(&to, &times)?;
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(src_dir, name, Vec::new())?;
                rustix::fs::symlinkat(target.as_c_str(), dst_dir, name)?;
                rustix::fs::chownat(dst_dir, name, owner.0, owner.1, AtFlags::SYMLINK_NOFOLLOW)?;
                rustix::fs::utimensat(dst_dir, name, &times, AtFlags::SYMLINK_NOFOLLOW)?;
            }
            FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo => {
                rustix::fs::mknodat(dst_dir, name, kind, Mode::from_raw_mode(perm), st.st_rdev)?;
                rustix::fs::chownat(dst_dir, name, owner.0, owner.1, AtFlags::SYMLINK_NOFOLLOW)?;
                rustix::fs::chmodat(dst_dir, name, Mode::from_raw_mode(perm), AtFlags::empty())?;
                rustix::fs::utimensat(dst_dir, name, &times, AtFlags::SYMLINK_NOFOLLOW)?;
            }
            // Sockets are not content; Docker skips them too.
            _ => {}
        }
        Ok(())
    }
}

/// Copies the extended attributes of `src` to `dst` (best effort: a
/// filesystem without xattrs, or a namespace we may not write, is skipped).
fn copy_xattrs(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) {
    let mut names = vec![0u8; 4096];
    let Ok(n) = rustix::fs::flistxattr(src, &mut names) else {
        return;
    };
    for name in names[..n].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let Ok(name) = std::ffi::CString::new(name) else {
            continue;
        };
        let mut value = vec![0u8; 65536];
        if let Ok(len) = rustix::fs::fgetxattr(src, &name, &mut value) {
            let _ =
                rustix::fs::fsetxattr(dst, &name, &value[..len], rustix::fs::XattrFlags::empty());
        }
    }
}
