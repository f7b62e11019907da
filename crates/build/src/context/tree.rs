//! The source side of a copy: a directory tree walked one name at a time
//! through directory fds, with symlinks resolved by hand inside the tree (an
//! absolute target starts again at the tree's root, `..` stops at the root —
//! the rules of Docker's `FollowSymlinkInScope`), and `.dockerignore` rules
//! applied to the *resolved* location, as if the tree were the filtered tar
//! the docker CLI sends. Every open is `openat2` of a single name under
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, so nothing outside the tree can be
//! reached even if the tree changes underneath.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Stat};
use wharf_sys::fs::{OFlags, ResolveFlags};

use crate::ignore::{BadPattern, IgnoreRules};

/// Symlinks followed in one lookup before giving up (`ELOOP`), as Linux does.
const MAX_LINKS: usize = 40;

/// A directory tree to copy from.
#[derive(Debug)]
pub(crate) struct Tree {
    root: OwnedFd,
    ignore: Option<IgnoreRules>,
}

/// An object found in a [`Tree`].
#[derive(Debug)]
pub(crate) struct Found {
    /// `O_PATH` descriptor of the object itself (a symlink is not followed).
    pub fd: OwnedFd,
    /// Its real path relative to the root, `/`-separated; empty for the root.
    pub rel: String,
    /// Its metadata (`lstat`).
    pub stat: Stat,
}

/// Whether a path is in the context the docker CLI would send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    Yes,
    No,
    /// An excluded directory that an exception keeps open: it exists only
    /// if something inside it is kept (the tar then holds that something,
    /// and unpacking creates the directory for it).
    IfNotEmpty,
}

/// One directory entry, from [`Tree::list`].
#[derive(Debug)]
pub(crate) struct Entry {
    pub name: OsString,
    pub rel: String,
    pub stat: Stat,
}

pub(crate) fn file_type(stat: &Stat) -> FileType {
    FileType::from_raw_mode(stat.st_mode)
}

fn not_found() -> io::Error {
    io::Error::from(io::ErrorKind::NotFound)
}

fn join_rel(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// A path usable with plain `open(2)` that names the object `fd` stands for
/// (through its `/proc/self/fd` link, not by a path lookup): to reopen an
/// `O_PATH` descriptor for reading, or to hand a directory to code that
/// takes a path.
pub(crate) fn fd_path(fd: &OwnedFd) -> PathBuf {
    use std::os::fd::AsRawFd;
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Opens `name` (one path element) in `dir` without following it.
pub(crate) fn open_name(dir: BorrowedFd<'_>, name: &Path, flags: OFlags) -> io::Result<OwnedFd> {
    wharf_sys::fs::openat2(
        Some(dir),
        name,
        flags | OFlags::NOFOLLOW,
        0,
        ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS,
    )
}

impl Tree {
    /// Opens the tree rooted at `dir`.
    pub(crate) fn open(dir: &Path, ignore: Option<IgnoreRules>) -> io::Result<Tree> {
        let root = wharf_sys::fs::openat2(
            None,
            dir,
            OFlags::PATH | OFlags::DIRECTORY,
            0,
            ResolveFlags::empty(),
        )?;
        let ignore = ignore.filter(|r| !r.is_empty());
        Ok(Tree { root, ignore })
    }

    /// How the rules treat `rel`, judged like the tar the docker CLI sends.
    fn keep(&self, rel: &str, is_dir: bool) -> Keep {
        match &self.ignore {
            None => Keep::Yes,
            Some(rules) if !rules.is_excluded(rel) => Keep::Yes,
            Some(rules) if is_dir && rules.may_include_below(rel) => Keep::IfNotEmpty,
            Some(_) => Keep::No,
        }
    }

    /// Looks `path` up (relative to the root; `..` may not appear except in
    /// symlink targets, where it stops at the root). Symlinks in the middle
    /// are followed inside the tree; the last element is followed too when
    /// `follow_last`. Anything the ignore rules hide is `NotFound`.
    pub(crate) fn lookup(&self, path: &str, follow_last: bool) -> io::Result<Found> {
        let mut pending: Vec<Vec<u8>> = split_rev(path.as_bytes());
        // The directories walked so far: (fd, name), innermost last.
        let mut stack: Vec<(OwnedFd, String)> = Vec::new();
        let mut links = 0;
        while let Some(name) = pending.pop() {
            if name == b".." {
                stack.pop();
                continue;
            }
            let dir = stack.last().map_or(self.root.as_fd(), |(fd, _)| fd.as_fd());
            let os_name = OsString::from_vec(name);
            let fd = open_name(dir, Path::new(&os_name), OFlags::PATH)?;
            let stat = rustix::fs::fstat(&fd)?;
            let name_str = os_name.to_string_lossy().into_owned();
            let parent_rel = stack
                .iter()
                .map(|(_, n)| n.as_str())
                .collect::<Vec<_>>()
                .join("/");
            let rel = join_rel(&parent_rel, &name_str);
            let kind = file_type(&stat);
            if self.keep(&rel, kind == FileType::Directory) == Keep::No {
                return Err(not_found());
            }
            if kind == FileType::Symlink && (!pending.is_empty() || follow_last) {
                links += 1;
                if links > MAX_LINKS {
                    return Err(io::Error::from_raw_os_error(
                        rustix::io::Errno::LOOP.raw_os_error(),
                    ));
                }
                let target = wharf_sys::fs::readlinkat(dir, Path::new(&os_name))?;
                let target = target.as_os_str().as_bytes();
                if target.starts_with(b"/") {
                    stack.clear();
                }
                pending.extend(split_rev(target));
                continue;
            }
            if !pending.is_empty() && kind != FileType::Directory {
                return Err(io::Error::from_raw_os_error(
                    rustix::io::Errno::NOTDIR.raw_os_error(),
                ));
            }
            stack.push((fd, name_str));
        }
        let rel = stack
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>()
            .join("/");
        let fd = match stack.pop() {
            Some((fd, _)) => fd,
            None => self.root.try_clone()?,
        };
        let stat = rustix::fs::fstat(&fd)?;
        let found = Found { fd, rel, stat };
        let is_dir = file_type(&found.stat) == FileType::Directory;
        if !found.rel.is_empty()
            && self.keep(&found.rel, is_dir) == Keep::IfNotEmpty
            && !self.has_visible(&found)?
        {
            return Err(not_found());
        }
        Ok(found)
    }

    /// The visible entries of the directory `dir`, sorted by name (bytes),
    /// with their `lstat`.
    pub(crate) fn list(&self, dir: &Found) -> io::Result<Vec<Entry>> {
        self.entries(dir, false)
    }

    /// Whether the directory `dir` has a visible entry: stops at the first
    /// one instead of listing (and, for excluded directories kept open by an
    /// exception, searching) the whole subtree.
    fn has_visible(&self, dir: &Found) -> io::Result<bool> {
        Ok(!self.entries(dir, true)?.is_empty())
    }

    /// [`Tree::list`], or only its first entry with `first_only`.
    fn entries(&self, dir: &Found, first_only: bool) -> io::Result<Vec<Entry>> {
        let readable = open_name(
            dir.fd.as_fd(),
            Path::new("."),
            OFlags::RDONLY | OFlags::DIRECTORY,
        )?;
        let mut names = wharf_sys::fs::read_dir_names(readable.as_fd())?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let stat =
                match rustix::fs::statat(&readable, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) => st,
                    Err(rustix::io::Errno::NOENT) => continue,
                    Err(e) => return Err(e.into()),
                };
            let rel = join_rel(&dir.rel, &name.to_string_lossy());
            let entry = Entry { name, rel, stat };
            let visible = match self.keep(&entry.rel, file_type(&stat) == FileType::Directory) {
                Keep::Yes => true,
                Keep::No => false,
                Keep::IfNotEmpty => self.has_visible(&self.child(dir, &entry)?)?,
            };
            if visible {
                out.push(entry);
                if first_only {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Opens the entry `name` of the directory `dir` (not following it).
    pub(crate) fn child(&self, dir: &Found, entry: &Entry) -> io::Result<Found> {
        let fd = open_name(dir.fd.as_fd(), Path::new(&entry.name), OFlags::PATH)?;
        Ok(Found {
            fd,
            rel: entry.rel.clone(),
            stat: entry.stat,
        })
    }

    /// The visible paths (relative to the root) matching a `COPY` glob, in
    /// the order of Go's `filepath.Walk`. Symlinks are not walked into.
    pub(crate) fn glob(&self, pattern: &str) -> io::Result<Result<Vec<String>, BadPattern>> {
        let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
        let mut out = Vec::new();
        let root = self.lookup("", false)?;
        if let Err(e) = self.glob_in(&root, &parts, &mut out)? {
            return Ok(Err(e));
        }
        Ok(Ok(out))
    }

    fn glob_in(
        &self,
        dir: &Found,
        parts: &[&str],
        out: &mut Vec<String>,
    ) -> io::Result<Result<(), BadPattern>> {
        let Some((first, rest)) = parts.split_first() else {
            return Ok(Ok(()));
        };
        for entry in self.list(dir)? {
            let name = entry.name.to_string_lossy();
            match crate::ignore::go_match(first, &name) {
                Err(e) => return Ok(Err(e)),
                Ok(false) => continue,
                Ok(true) => {}
            }
            if rest.is_empty() {
                out.push(entry.rel.clone());
            } else if file_type(&entry.stat) == FileType::Directory {
                let child = self.child(dir, &entry)?;
                if let Err(e) = self.glob_in(&child, rest, out)? {
                    return Ok(Err(e));
                }
            }
        }
        Ok(Ok(()))
    }
}

/// The elements of a path, last first (so `pop` yields them in order),
/// without empty and `.` elements.
fn split_rev(path: &[u8]) -> Vec<Vec<u8>> {
    let mut parts: Vec<Vec<u8>> = path
        .split(|b| *b == b'/')
        .filter(|p| !p.is_empty() && *p != b".")
        .map(<[u8]>::to_vec)
        .collect();
    parts.reverse();
    parts
}
