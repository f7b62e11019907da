//! Directories inside a layer root, resolved the safe way.
//!
//! `openat2(2)` with `RESOLVE_IN_ROOT` treats the root's fd as `/` for the
//! whole lookup: `..` stops there and absolute symlinks restart there, so a
//! chain of symlinks written by a hostile layer cannot leave the root.
//! `RESOLVE_NO_MAGICLINKS` refuses `/proc/self/fd/*`-style jumps. Missing
//! directories are made one component at a time with `mkdirat` on the fd of
//! the (already resolved) directory above.
//!
//! Resolved directories stay open in a small cache: layer tars list a
//! directory's entries together, so most lookups are hits. The cache must be
//! dropped ([`Resolver::forget`]) whenever anything is removed from the
//! tree, since a removed directory or symlink changes what a path means.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rustix::fs::{Mode, OFlags};

/// Directories kept open at most.
const CACHE: usize = 64;

/// The root of a tree being written, and the directories resolved in it.
pub(crate) struct Resolver {
    root: Rc<OwnedFd>,
    cache: HashMap<PathBuf, Rc<OwnedFd>>,
}

/// The errno of an `io::Error`, if it has one.
pub(crate) fn errno(e: &io::Error) -> Option<rustix::io::Errno> {
    e.raw_os_error().map(rustix::io::Errno::from_raw_os_error)
}

impl Resolver {
    /// Opens `root` (a trusted path, chosen by the caller).
    pub fn open(root: &Path) -> io::Result<Resolver> {
        let fd = rustix::fs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Resolver {
            root: Rc::new(fd),
            cache: HashMap::new(),
        })
    }

    /// The root directory's fd.
    pub fn root(&self) -> Rc<OwnedFd> {
        self.root.clone()
    }

    /// `openat2(root, rel, O_RDONLY | O_DIRECTORY | extra, RESOLVE_IN_ROOT |
    /// RESOLVE_NO_MAGICLINKS)`; `O_PATH` in `extra` for a handle only
    /// (`O_RDONLY` is 0, so it combines with `O_PATH` as it is).
    pub fn open_in_root(&self, rel: &Path, extra: OFlags) -> io::Result<OwnedFd> {
        crate::rootfs::open_in_root(
            self.root.as_fd(),
            rel,
            OFlags::RDONLY | OFlags::DIRECTORY | extra,
        )
    }

    /// The directory `rel` (relative to the root), resolved inside the root
    /// and created (0755, root-owned, as docker does) where missing; `made`
    /// hears of each directory created.
    pub fn dir(&mut self, rel: &Path, made: &mut dyn FnMut(&Path)) -> io::Result<Rc<OwnedFd>> {
        if rel.as_os_str().is_empty() {
            return Ok(self.root.clone());
        }
        if let Some(fd) = self.cache.get(rel) {
            return Ok(fd.clone());
        }
        let fd = match self.open_in_root(rel, OFlags::empty()) {
            Err(e) if errno(&e) == Some(rustix::io::Errno::NOENT) => self.mkdir_all(rel, made)?,
            other => other?,
        };
        Ok(self.remember(rel.to_owned(), fd))
    }

    /// Caches `fd` as the directory `rel` (which the caller resolved safely).
    pub fn remember(&mut self, rel: PathBuf, fd: OwnedFd) -> Rc<OwnedFd> {
        if self.cache.len() >= CACHE {
            self.cache.clear();
        }
        let fd = Rc::new(fd);
        self.cache.insert(rel, fd.clone());
        fd
    }

    /// Drops every cached directory.
    pub fn forget(&mut self) {
        self.cache.clear();
    }

    fn mkdir_all(&mut self, rel: &Path, made: &mut dyn FnMut(&Path)) -> io::Result<OwnedFd> {
        let mut prefix = PathBuf::new();
        let mut cur: Option<OwnedFd> = None;
        for c in rel.components() {
            prefix.push(c);
            let fd = match self.open_in_root(&prefix, OFlags::empty()) {
                Err(e) if errno(&e) == Some(rustix::io::Errno::NOENT) => {
                    // A dangling symlink here fails with EEXIST: its target
                    // is not made (docker fails the same way).
                    let parent = cur.as_ref().map_or(self.root.as_fd(), |f| f.as_fd());
                    rustix::fs::mkdirat(parent, c.as_os_str(), Mode::from_raw_mode(0o755))?;
                    made(&prefix);
                    self.open_in_root(&prefix, OFlags::empty())?
                }
                other => other?,
            };
            cur = Some(fd);
        }
        cur.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))
    }
}
