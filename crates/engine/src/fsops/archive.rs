//! `docker cp`: stat, get (a tar of a path) and put (extract a tar into a
//! directory) on a container's filesystem, with Docker's path rules:
//!
//! - stat and get resolve the directory part of the path and leave the last
//!   component alone (a symlink is reported and archived as a symlink, with
//!   its fully resolved target in `link_target`), unless the path ends in
//!   `/` or `/.`, which follow it;
//! - a directory is archived under its base name (`etc/…`), under `./…`
//!   for a path ending in `/.` (its contents), under `/…` for the root;
//! - put follows the whole path, which must be an existing directory, and
//!   extracts into it (the tar's owners kept, or the container user's with
//!   `copy_uid_gid`).

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, FileType, OFlags};

use super::scope::{self, FsView, Located};
use super::tar_out::TarOut;
use crate::error::{EngineError, Result};
use crate::model::PathStat;

/// A resolved `cp` source: where it is and what it is called in the tar.
struct Source {
    /// The container path, resolved (for `link_target`).
    parts: Vec<OsString>,
    loc: Located,
    /// The name Docker gives it (`etc`, `.`, `/`).
    name: String,
}

/// How a path given to `cp` ends.
fn trailing(path: &str) -> Option<&'static str> {
    if path.ends_with("/.") {
        Some(".")
    } else if path.ends_with('/') && path != "/" {
        Some("/")
    } else {
        None
    }
}

impl FsView {
    fn not_found(&self, path: &str) -> EngineError {
        EngineError::not_found(format!(
            "Could not find the file {path} in container {}",
            self.container
        ))
    }

    fn io_error(&self, path: &str, e: io::Error) -> EngineError {
        if scope::missing(&e) {
            self.not_found(path)
        } else {
            EngineError::system(
                format!("failed to access {path} in container {}", self.container),
                e,
            )
        }
    }

    fn source(&self, path: &str) -> Result<Source> {
        let cleaned = scope::clean(path.as_bytes());
        let (parts, name) = match trailing(path) {
            Some(t) => {
                let parts = self
                    .resolve(&cleaned, true)
                    .map_err(|e| self.io_error(path, e))?;
                let name = if t == "." {
                    ".".to_string()
                } else {
                    cleaned
                        .last()
                        .map_or("/".into(), |n| n.to_string_lossy().into_owned())
                };
                (parts, name)
            }
            None => {
                let parts = self
                    .resolve(&cleaned, false)
                    .map_err(|e| self.io_error(path, e))?;
                let name = cleaned
                    .last()
                    .map_or("/".into(), |n| n.to_string_lossy().into_owned());
                (parts, name)
            }
        };
        let loc = self.locate(&parts);
        Ok(Source { parts, loc, name })
    }

    /// Opens the parent of `loc` and gives the entry's name in it (`.` for
    /// a root).
    fn parent_of(&self, loc: &Located, path: &str) -> Result<(OwnedFd, OsString)> {
        let root = scope::open_root(&loc.root).map_err(|e| self.io_error(path, e))?;
        match loc.rel.file_name() {
            None => Ok((root, ".".into())),
            Some(name) => {
                let parent = loc.rel.parent().unwrap_or(Path::new(""));
                let dir = scope::open_in(&root, parent, OFlags::PATH | OFlags::DIRECTORY)
                    .map_err(|e| self.io_error(path, e))?;
                Ok((dir, name.to_owned()))
            }
        }
    }

    /// `HEAD /archive`: what is at `path`.
    pub fn stat(&self, path: &str) -> Result<PathStat> {
        let src = self.source(path)?;
        let (dir, name) = self.parent_of(&src.loc, path)?;
        let st = rustix::fs::statat(&dir, &name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| self.io_error(path, e.into()))?;
        let mut link_target = String::new();
        if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
            let full = self
                .resolve(&src.parts, true)
                .map_err(|e| self.io_error(path, e))?;
            link_target = scope::join(&full);
        }
        Ok(PathStat {
            name: src.name,
            size: st.st_size,
            mode: go_mode(st.st_mode),
            mtime: rfc3339(st.st_mtime, st.st_mtime_nsec as i64),
            link_target,
        })
    }

    /// `GET /archive`: writes a tar of `path` to `out`.
    pub fn get(&self, path: &str, out: impl Write) -> Result<PathStat> {
        let stat = self.stat(path)?;
        let src = self.source(path)?;
        let (dir, name) = self.parent_of(&src.loc, path)?;
        let mounts = self
            .mounts
            .iter()
            .map(|m| {
                let dest = scope::join(&scope::clean(m.destination.as_bytes()));
                (dest.into_bytes(), m.source.clone())
            })
            .collect();
        let mut tar = TarOut::new(out, mounts);
        let ctr_path = scope::join(&src.parts);
        tar.entry(dir.as_fd(), &name, src.name.as_bytes(), ctr_path.as_bytes())
            .and_then(|()| tar.finish())
            .map_err(|e| {
                EngineError::system(
                    format!("failed to archive {path} in container {}", self.container),
                    e,
                )
            })?;
        Ok(stat)
    }

    /// `PUT /archive`: extracts the tar `input` (plain or compressed) into
    /// the directory `path`.
    pub fn put(&self, path: &str, input: impl Read, opts: PutOptions) -> Result<()> {
        let cleaned = scope::clean(path.as_bytes());
        let parts = self
            .resolve(&cleaned, true)
            .map_err(|e| self.io_error(path, e))?;
        let loc = self.locate(&parts);
        let (dir, name) = self.parent_of(&loc, path)?;
        let st = rustix::fs::statat(&dir, &name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| self.io_error(path, e.into()))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
            return Err(EngineError::invalid("extraction point is not a directory"));
        }
        match loc.mount {
            Some(i) if !self.mounts[i].rw => {
                return Err(EngineError::invalid("mounted volume is marked read-only"))
            }
            None if self.read_only_rootfs => {
                return Err(EngineError::invalid("container rootfs is marked read-only"))
            }
            _ => {}
        }
        super::extract::extract(self, &parts, input, opts)
    }
}

/// Options of [`FsView::put`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// Refuse to replace a directory with a non-directory or the reverse.
    pub no_overwrite_dir_non_dir: bool,
    /// Owner of every extracted file (`copyUIDGID`); `None` keeps the tar's.
    pub chown: Option<(u32, u32)>,
}

/// Go's `os.FileMode` of a `st_mode`: permissions, then Go's own type and
/// special bits.
pub fn go_mode(st_mode: u32) -> u32 {
    const DIR: u32 = 1 << 31;
    const SYMLINK: u32 = 1 << 27;
    const DEVICE: u32 = 1 << 26;
    const PIPE: u32 = 1 << 25;
    const SOCKET: u32 = 1 << 24;
    const SETUID: u32 = 1 << 23;
    const SETGID: u32 = 1 << 22;
    const CHAR: u32 = 1 << 21;
    const STICKY: u32 = 1 << 20;
    let mut m = st_mode & 0o777;
    m |= match FileType::from_raw_mode(st_mode) {
        FileType::Directory => DIR,
        FileType::Symlink => SYMLINK,
        FileType::Fifo => PIPE,
        FileType::Socket => SOCKET,
        FileType::BlockDevice => DEVICE,
        FileType::CharacterDevice => DEVICE | CHAR,
        _ => 0,
    };
    for (bit, go) in [(0o4000, SETUID), (0o2000, SETGID), (0o1000, STICKY)] {
        if st_mode & bit != 0 {
            m |= go;
        }
    }
    m
}

/// RFC 3339 with nanoseconds trimmed (Go's `RFC3339Nano`), UTC.
pub fn rfc3339(secs: i64, nsec: i64) -> String {
    let fixed = crate::logs::format_time(secs.saturating_mul(1_000_000_000).saturating_add(nsec));
    // 2006-01-02T15:04:05.000000000Z → trim the fraction's trailing zeros.
    let (head, frac) = fixed
        .trim_end_matches('Z')
        .split_once('.')
        .unwrap_or((&fixed, ""));
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{head}Z")
    } else {
        format!("{head}.{frac}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_modes_match_docker() {
        // Values seen in X-Docker-Container-Path-Stat from dockerd.
        assert_eq!(go_mode(0o040755), 2147484141);
        assert_eq!(go_mode(0o120777), 134218239);
        assert_eq!(go_mode(0o041777), 2148532735);
        assert_eq!(go_mode(0o100644), 420);
    }

    #[test]
    fn times_like_go() {
        assert_eq!(rfc3339(1_700_000_000, 0), "2023-11-14T22:13:20Z");
        assert_eq!(
            rfc3339(1_700_000_000, 355_263_300),
            "2023-11-14T22:13:20.3552633Z"
        );
    }

    #[test]
    fn trailing_forms() {
        assert_eq!(trailing("/etc/."), Some("."));
        assert_eq!(trailing("/etc/"), Some("/"));
        assert_eq!(trailing("/"), None);
        assert_eq!(trailing("/etc"), None);
    }
}
