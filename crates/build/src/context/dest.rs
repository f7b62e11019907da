//! The destination side of a copy: a container's root filesystem, which the
//! image (and earlier `RUN` steps) control. Every path is resolved with
//! `openat2(RESOLVE_IN_ROOT)` against the rootfs directory fd, so a symlink
//! such as `/app -> /etc` or `/app -> ../../..` lands inside the rootfs
//! (`<rootfs>/etc`, `<rootfs>/`), never on the host. Entries are then created
//! by single name relative to an already resolved directory fd, without
//! following a symlink in the last element.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use rustix::fs::{AtFlags, FileType};
use rustix::io::Errno;
use wharf_sys::fs::{OFlags, ResolveFlags};

use super::tree::open_name;

/// Symlinks followed while creating a destination before giving up.
const MAX_LINKS: usize = 40;

/// A container root filesystem to copy into.
#[derive(Debug)]
pub(crate) struct DestRoot {
    root: OwnedFd,
}

/// What a destination name currently holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Existing {
    Nothing,
    Dir,
    Other,
}

fn errno(e: &io::Error) -> Option<Errno> {
    e.raw_os_error().map(Errno::from_raw_os_error)
}

fn components(path: &[u8]) -> Vec<&[u8]> {
    path.split(|b| *b == b'/')
        .filter(|p| !p.is_empty() && *p != b".")
        .collect()
}

fn join(parts: &[&[u8]]) -> Vec<u8> {
    parts.join(&b'/')
}

impl DestRoot {
    pub(crate) fn open(root: &Path) -> io::Result<DestRoot> {
        let root = wharf_sys::fs::openat2(
            None,
            root,
            OFlags::PATH | OFlags::DIRECTORY,
            0,
            ResolveFlags::empty(),
        )?;
        Ok(DestRoot { root })
    }

    fn open_in_root(&self, path: &[u8], flags: OFlags) -> io::Result<OwnedFd> {
        wharf_sys::fs::openat2(
            Some(self.root.as_fd()),
            Path::new(OsStr::from_bytes(path)),
            flags,
            0,
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        )
    }

    /// The existing directory at `path` (symlinks followed inside the root),
    /// or `None` when nothing is there or it is not a directory.
    pub(crate) fn existing_dir(&self, path: &str) -> io::Result<Option<OwnedFd>> {
        match self.open_in_root(path.as_bytes(), OFlags::PATH | OFlags::DIRECTORY) {
            Ok(fd) => Ok(Some(fd)),
            Err(e) if matches!(errno(&e), Some(Errno::NOENT | Errno::NOTDIR)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `mkdir -p` inside the root: returns the directory at `path` and
    /// whether its last element was created here. Missing directories are
    /// made 0755 and owned by `owner`. A dangling symlink on the way is
    /// followed (inside the root) and its target created, like Docker's
    /// `MkdirAll` on a path resolved with `FollowSymlinkInScope`.
    pub(crate) fn mkdir_all(&self, path: &[u8], owner: (u32, u32)) -> io::Result<(OwnedFd, bool)> {
        let mut path: Vec<u8> = path.to_vec();
        let mut links = 0;
        'restart: loop {
            let parts = components(&path);
            let mut dir = self.root.try_clone()?;
            let mut created = false;
            for i in 0..parts.len() {
                let prefix = join(&parts[..=i]);
                match self.open_in_root(&prefix, OFlags::PATH | OFlags::DIRECTORY) {
                    Ok(fd) => {
                        dir = fd;
                        created = false;
                        continue;
                    }
                    Err(e) if errno(&e) == Some(Errno::NOENT) => {}
                    Err(e) => return Err(e),
                }
                let name = Path::new(OsStr::from_bytes(parts[i]));
                match wharf_sys::fs::mkdirat(dir.as_fd(), name, 0o755) {
                    Ok(()) => {
                        wharf_sys::fs::chmodat(dir.as_fd(), name, 0o755)?;
                        wharf_sys::fs::chownat(dir.as_fd(), name, owner.0, owner.1)?;
                        dir = open_name(dir.as_fd(), name, OFlags::PATH | OFlags::DIRECTORY)?;
                        created = true;
                    }
                    Err(e) if errno(&e) == Some(Errno::EXIST) => {
                        // A dangling symlink: carry on at its target.
                        let target = wharf_sys::fs::readlinkat(dir.as_fd(), name)?;
                        links += 1;
                        if links > MAX_LINKS {
                            return Err(Errno::LOOP.into());
                        }
                        path = splice(&parts[..i], target.as_os_str().as_bytes(), &parts[i + 1..]);
                        continue 'restart;
                    }
                    Err(e) => return Err(e),
                }
            }
            return Ok((dir, created));
        }
    }

    /// The place for a file at `path`: its parent directory (created with
    /// owner `owner` where missing) and its name. A symlink in the last
    /// element is followed inside the root, as Docker resolves the whole
    /// destination path; a directory there is reported as [`Existing::Dir`].
    pub(crate) fn leaf(
        &self,
        path: &str,
        owner: (u32, u32),
    ) -> io::Result<(OwnedFd, OsString, Existing)> {
        let mut path: Vec<u8> = path.as_bytes().to_vec();
        let mut links = 0;
        loop {
            let parts = components(&path);
            let Some((last, parents)) = parts.split_last() else {
                return Err(Errno::ISDIR.into());
            };
            let parent_path = join(parents);
            // Bytes, not a string: a symlink target need not be UTF-8.
            let (dir, _) = self.mkdir_all(&parent_path, owner)?;
            let name = OsString::from_vec(last.to_vec());
            match existing(dir.as_fd(), &name)? {
                Some(FileType::Symlink) => {
                    let target = wharf_sys::fs::readlinkat(dir.as_fd(), Path::new(&name))?;
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(Errno::LOOP.into());
                    }
                    path = splice(parents, target.as_os_str().as_bytes(), &[]);
                }
                Some(FileType::Directory) => return Ok((dir, name, Existing::Dir)),
                Some(_) => return Ok((dir, name, Existing::Other)),
                None => return Ok((dir, name, Existing::Nothing)),
            }
        }
    }
}

/// `parents/target/rest`, or `target/rest` for an absolute target; not
/// cleaned, so the kernel resolves `..` after the symlinks before it.
fn splice(parents: &[&[u8]], target: &[u8], rest: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    if !target.starts_with(b"/") {
        out.extend_from_slice(&join(parents));
        out.push(b'/');
    }
    out.extend_from_slice(target);
    for part in rest {
        out.push(b'/');
        out.extend_from_slice(part);
    }
    out
}

/// The type of `name` in `dir` (not following it), if it exists.
pub(crate) fn existing(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Option<FileType>> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(FileType::from_raw_mode(st.st_mode))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Removes `name` from `dir`, a whole directory tree included.
pub(crate) fn remove(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    match existing(dir, name)? {
        None => Ok(()),
        Some(FileType::Directory) => {
            let child = open_name(dir, Path::new(name), OFlags::RDONLY | OFlags::DIRECTORY)?;
            for entry in wharf_sys::fs::read_dir_names(child.as_fd())? {
                remove(child.as_fd(), &entry)?;
            }
            Ok(rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)?)
        }
        Some(_) => Ok(rustix::fs::unlinkat(dir, name, AtFlags::empty())?),
    }
}
