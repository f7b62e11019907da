//! `docker diff`: what a container changed, from its overlay upper
//! directory and the read-only layers below it.
//!
//! Walking the upper directory (names sorted, parents first): a 0:0
//! character device is a whiteout, the path was deleted; anything else was
//! added, or modified if a lower layer has the path — except a directory
//! whose size, mode and modification time equal the lower one's, which was
//! only passed through. A directory holding a change is reported as
//! modified even then (Docker's `diff` shows `C /etc` for a changed
//! `/etc/passwd`). An opaque directory (`rm -rf d; mkdir
//! d`) hides the lower layers' entries: those not present again are
//! deleted, as Docker's full comparison of the two trees reports them.
//!
//! The walk uses `*at` calls that never follow symlinks, and lookups in
//! the lower layers refuse symlinks altogether (`RESOLVE_NO_SYMLINKS`): the
//! upper directory is written by the container.

use std::collections::{BTreeSet, HashSet};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use wharf_sys::fs::ResolveFlags;

use crate::model::Change;

const MODIFIED: u8 = 0;
const ADDED: u8 = 1;
const DELETED: u8 = 2;

/// The changes of the upper directory `upper` over `lowers` (top-most
/// first), in walk order.
pub fn changes(upper: &Path, lowers: &[PathBuf]) -> io::Result<Vec<Change>> {
    let root = rustix::fs::open(
        upper,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let lowers = lowers
        .iter()
        .filter_map(|l| {
            rustix::fs::open(
                l,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok()
        })
        .collect();
    let mut w = Walk {
        lowers,
        out: Vec::new(),
        changed_dirs: HashSet::new(),
    };
    w.dir(root.as_fd(), Path::new(""))?;
    Ok(w.out)
}

struct Walk {
    lowers: Vec<OwnedFd>,
    out: Vec<Change>,
    changed_dirs: HashSet<PathBuf>,
}

impl Walk {
    fn dir(&mut self, dir: BorrowedFd<'_>, rel: &Path) -> io::Result<()> {
        let mut names = wharf_sys::fs::read_dir_names(dir)?;
        names.sort_unstable();
        for name in names {
            let path = rel.join(&name);
            let st = rustix::fs::statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW)?;
            let ft = FileType::from_raw_mode(st.st_mode);
            if ft == FileType::CharacterDevice && st.st_rdev == 0 {
                self.record(&path, DELETED);
                continue;
            }
            let lower = self.lower_stat(&path);
            let is_dir = ft == FileType::Directory;
            let same_dir = match &lower {
                Some(l) if is_dir && FileType::from_raw_mode(l.st_mode) == FileType::Directory => {
                    l.st_size == st.st_size && l.st_mode == st.st_mode && same_time(l, &st)
                }
                _ => false,
            };
            if !same_dir {
                let kind = if lower.is_some() { MODIFIED } else { ADDED };
                self.record(&path, kind);
                if is_dir {
                    self.changed_dirs.insert(path.clone());
                }
            }
            if is_dir {
                let sub = rustix::fs::openat(
                    dir,
                    &name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                self.dir(sub.as_fd(), &path)?;
                if lower.is_some() && is_opaque(sub.as_fd()) {
                    self.hidden(sub.as_fd(), &path)?;
                }
            }
        }
        Ok(())
    }

    /// The lower entries of the opaque directory `rel` that it no longer has.
    fn hidden(&mut self, dir: BorrowedFd<'_>, rel: &Path) -> io::Result<()> {
        let present: HashSet<OsString> = wharf_sys::fs::read_dir_names(dir)?.into_iter().collect();
        let mut gone = BTreeSet::new();
        for lower in &self.lowers {
            let Ok(fd) = open_lower(lower, rel, OFlags::RDONLY | OFlags::DIRECTORY) else {
                continue;
            };
            for n in wharf_sys::fs::read_dir_names(fd.as_fd())? {
                if !present.contains(&n) {
                    gone.insert(n);
                }
            }
        }
        for n in gone {
            self.record(&rel.join(n), DELETED);
        }
        Ok(())
    }

    fn lower_stat(&self, rel: &Path) -> Option<Stat> {
        self.lowers.iter().find_map(|l| {
            let fd = open_lower(l, rel, OFlags::PATH | OFlags::NOFOLLOW).ok()?;
            rustix::fs::fstat(&fd).ok()
        })
    }

    fn record(&mut self, rel: &Path, kind: u8) {
        // The directory holding a change is reported too (as modified),
        // once, before it, as Docker's `diff` shows it.
        if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            if self.changed_dirs.insert(parent.to_path_buf()) {
                self.out.push(change(parent, MODIFIED));
            }
        }
        self.out.push(change(rel, kind));
    }
}

fn change(rel: &Path, kind: u8) -> Change {
    let mut path = String::from("/");
    path.push_str(&String::from_utf8_lossy(rel.as_os_str().as_bytes()));
    Change { path, kind }
}

/// Go's `sameFsTime`: equal, or equal seconds with one side lacking
/// nanoseconds.
fn same_time(a: &Stat, b: &Stat) -> bool {
    a.st_mtime == b.st_mtime
        && (a.st_mtime_nsec == b.st_mtime_nsec || a.st_mtime_nsec == 0 || b.st_mtime_nsec == 0)
}

fn open_lower(lower: &OwnedFd, rel: &Path, flags: OFlags) -> io::Result<OwnedFd> {
    wharf_sys::fs::openat2(
        Some(lower.as_fd()),
        rel,
        flags,
        0,
        ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    )
}

/// `trusted.overlay.opaque=y` on the directory.
fn is_opaque(dir: BorrowedFd<'_>) -> bool {
    let mut buf = [0u8; 4];
    matches!(
        rustix::fs::fgetxattr(dir, OsStr::new("trusted.overlay.opaque"), &mut buf),
        Ok(1) if buf[0] == b'y'
    )
}
