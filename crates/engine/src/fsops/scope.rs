//! Paths inside a container, resolved the way `docker cp` resolves them,
//! without ever leaving the container.
//!
//! A path is first cleaned lexically (`/a/b/../c` is `/a/c`, `..` stops at
//! `/`), then its symlinks are followed one component at a time in the
//! container's scope: an absolute target restarts at the container's root,
//! `..` stops there. Each component is looked up in the filesystem that
//! holds it — the root filesystem, or the host directory (or file) mounted
//! there as a bind or volume — so a path under a volume reaches the volume.
//!
//! The result names a host directory that is trusted (the merged root or a
//! mount's source) and a path relative to it. Every later open is an
//! `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)` below that directory:
//! a container process that swaps a component for a symlink between the
//! resolution and the open (CVE-2018-15664) can only redirect it to another
//! file of the same filesystem, never to the host.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use wharf_sys::fs::ResolveFlags;

/// Symlinks followed in one resolution at most (Linux's limit).
const MAX_LINKS: usize = 40;

/// A host path mounted into the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewMount {
    /// Path in the container (absolute).
    pub destination: String,
    /// Host path mounted there: a directory or a single file.
    pub source: PathBuf,
    /// Writable.
    pub rw: bool,
}

/// A container's filesystem as `cp` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsView {
    /// The container as the user named it (for error messages).
    pub container: String,
    /// The merged root filesystem on the host.
    pub rootfs: PathBuf,
    /// Binds, volumes and the `/etc` files mounted over it.
    pub mounts: Vec<ViewMount>,
    /// `--read-only`.
    pub read_only_rootfs: bool,
}

/// Where a container path is on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// A trusted host directory: the root filesystem or a mount's source
    /// (the directory holding it, for a file mount).
    pub root: PathBuf,
    /// The path below `root` (empty: `root` itself).
    pub rel: PathBuf,
    /// The mount holding it, or `None` for the root filesystem.
    pub mount: Option<usize>,
}

/// Components of a lexically cleaned absolute path (`..` stops at `/`).
pub fn clean(path: &[u8]) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::new();
    for c in Path::new(OsStr::from_bytes(path)).components() {
        match c {
            Component::Normal(n) => out.push(n.to_owned()),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// The absolute container path of `parts`.
pub fn join(parts: &[OsString]) -> String {
    let mut s = String::new();
    for p in parts {
        s.push('/');
        s.push_str(&p.to_string_lossy());
    }
    if s.is_empty() {
        s.push('/');
    }
    s
}

impl FsView {
    /// The host location of the container path `parts` (already resolved):
    /// the mount with the longest destination that holds it, else the root
    /// filesystem.
    pub fn locate(&self, parts: &[OsString]) -> Located {
        let mut best: Option<(usize, usize)> = None;
        for (i, m) in self.mounts.iter().enumerate() {
            let dest = clean(m.destination.as_bytes());
            if dest.len() <= parts.len()
                && parts[..dest.len()] == dest[..]
                && best.is_none_or(|(_, n)| dest.len() > n)
            {
                best = Some((i, dest.len()));
            }
        }
        let Some((i, n)) = best else {
            return Located {
                root: self.rootfs.clone(),
                rel: parts.iter().collect(),
                mount: None,
            };
        };
        let m = &self.mounts[i];
        let below: PathBuf = parts[n..].iter().collect();
        if m.source.is_dir() {
            return Located {
                root: m.source.clone(),
                rel: below,
                mount: Some(i),
            };
        }
        // A file mount: its directory is the root, the file's name the path.
        let root = m.source.parent().unwrap_or(Path::new("/")).to_path_buf();
        let mut rel = PathBuf::from(m.source.file_name().unwrap_or_default());
        rel.extend(&below);
        Located {
            root,
            rel,
            mount: Some(i),
        }
    }

    /// Follows the symlinks of the cleaned path `parts` in the container's
    /// scope; the last component is followed only with `follow_last`.
    /// Missing components are kept as they are (the caller's open fails).
    pub fn resolve(&self, parts: &[OsString], follow_last: bool) -> io::Result<Vec<OsString>> {
        let mut todo: VecDeque<OsString> = parts.iter().cloned().collect();
        let mut done: Vec<OsString> = Vec::new();
        let mut links = 0;
        while let Some(c) = todo.pop_front() {
            if c == ".." {
                done.pop();
                continue;
            }
            if c == "." || c.is_empty() {
                continue;
            }
            done.push(c);
            if todo.is_empty() && !follow_last {
                break;
            }
            let Some(target) = self.readlink(&done)? else {
                continue;
            };
            links += 1;
            if links > MAX_LINKS {
                return Err(io::Error::from_raw_os_error(libc::ELOOP));
            }
            done.pop();
            if target.as_bytes().starts_with(b"/") {
                done.clear();
            }
            for part in Path::new(&target).components().rev() {
                match part {
                    Component::Normal(n) => todo.push_front(n.to_owned()),
                    Component::ParentDir => todo.push_front("..".into()),
                    _ => {}
                }
            }
        }
        Ok(done)
    }

    /// The target of `parts` if it is a symlink; `None` if it is not one
    /// or does not exist.
    fn readlink(&self, parts: &[OsString]) -> io::Result<Option<OsString>> {
        let loc = self.locate(parts);
        let Some(name) = loc.rel.file_name() else {
            return Ok(None); // a mount or the root itself
        };
        let parent = loc.rel.parent().unwrap_or(Path::new(""));
        let root = open_root(&loc.root)?;
        let dir = match open_in(&root, parent, OFlags::PATH | OFlags::DIRECTORY) {
            Ok(d) => d,
            Err(e) if missing(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        match wharf_sys::fs::readlinkat(dir.as_fd(), Path::new(name)) {
            Ok(t) => Ok(Some(t.into_os_string())),
            Err(e) if missing(&e) || e.raw_os_error() == Some(libc::EINVAL) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// ENOENT or ENOTDIR: the path is not there.
pub fn missing(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR))
}

/// Opens a trusted host directory (the root of a lookup).
pub fn open_root(root: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Opens `rel` below `root` with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`.
pub fn open_in(root: &OwnedFd, rel: &Path, flags: OFlags) -> io::Result<OwnedFd> {
    wharf_sys::fs::openat2(
        Some(root.as_fd()),
        rel,
        flags,
        0,
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_clean_stays_at_root() {
        let p = |s: &str| join(&clean(s.as_bytes()));
        assert_eq!(p("/a/b/../c"), "/a/c");
        assert_eq!(p("../../etc/passwd"), "/etc/passwd");
        assert_eq!(p("/"), "/");
        assert_eq!(p("a/./b/"), "/a/b");
    }

    #[test]
    fn longest_mount_wins() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(dir.path().join("hosts"), "").unwrap();
        let view = FsView {
            container: "c".into(),
            rootfs: dir.path().join("root"),
            mounts: vec![
                ViewMount {
                    destination: "/data".into(),
                    source: a.clone(),
                    rw: true,
                },
                ViewMount {
                    destination: "/data/sub".into(),
                    source: b.clone(),
                    rw: true,
                },
                ViewMount {
                    destination: "/etc/hosts".into(),
                    source: dir.path().join("hosts"),
                    rw: true,
                },
            ],
            read_only_rootfs: false,
        };
        let l = view.locate(&clean(b"/data/sub/x"));
        assert_eq!((l.root, l.rel, l.mount), (b, PathBuf::from("x"), Some(1)));
        let l = view.locate(&clean(b"/data/subway"));
        assert_eq!((l.root, l.rel), (a, PathBuf::from("subway")));
        let l = view.locate(&clean(b"/etc/hosts"));
        assert_eq!(
            (l.root, l.rel),
            (dir.path().to_path_buf(), PathBuf::from("hosts"))
        );
        let l = view.locate(&clean(b"/etc/passwd"));
        assert_eq!(
            (l.root, l.rel, l.mount),
            (dir.path().join("root"), PathBuf::from("etc/passwd"), None)
        );
    }
}
