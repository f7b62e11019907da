//! Resolving an image's `User` (`name`, `uid`, `name:group`, `uid:gid`) to
//! numeric ids with the image's own `/etc/passwd` and `/etc/group`, as
//! Docker does before it starts a container or a build step.
//!
//! The files are opened inside the root filesystem with
//! `openat2(RESOLVE_IN_ROOT)`: an image whose `/etc/passwd` is a symlink to
//! `/etc/shadow` reads the image's shadow file, never the host's.

use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use wharf_sys::fs::OFlags;

use crate::rootfs::{open_in_root, open_root};

/// Numeric identity of a container process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups: the groups of `/etc/group` that list the user.
    pub additional_gids: Vec<u32>,
    /// Home directory from `/etc/passwd`, `/` when unknown (Docker's `HOME`).
    pub home: String,
}

/// Why a user could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// A name that is neither in `/etc/passwd` nor numeric.
    #[error("unable to find user {0}: no matching entries in passwd file")]
    NoSuchUser(String),
    /// A group name that is neither in `/etc/group` nor numeric.
    #[error("unable to find group {0}: no matching entries in group file")]
    NoSuchGroup(String),
    /// Reading a database file inside the root failed.
    #[error("failed to read {path} in the container's root filesystem")]
    Read {
        /// The file, as seen inside the container.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Resolves `spec` (empty means root) against the databases in `rootfs`.
pub fn resolve(rootfs: &Path, spec: &str) -> Result<ResolvedUser, UserError> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user = if user.is_empty() { "0" } else { user };
    let root = open_root(rootfs).map_err(|source| UserError::Read {
        path: PathBuf::from("/"),
        source,
    })?;
    let passwd = read_in_root(root.as_fd(), "etc/passwd")?;
    let entry = passwd
        .lines()
        .filter_map(PasswdEntry::parse)
        .find(|e| e.name == user || (user.parse::<u32>().ok() == Some(e.uid)));
    let (uid, mut gid, home, name) = match (&entry, user.parse::<u32>()) {
        (Some(e), _) => (e.uid, e.gid, e.home.to_string(), Some(e.name)),
        // A numeric uid needs no passwd entry; its group is then root.
        (None, Ok(uid)) => (uid, 0, "/".to_string(), None),
        (None, Err(_)) => return Err(UserError::NoSuchUser(user.to_string())),
    };
    let groups = read_in_root(root.as_fd(), "etc/group")?;
    let groups: Vec<GroupEntry> = groups.lines().filter_map(GroupEntry::parse).collect();
    if let Some(group) = group.filter(|g| !g.is_empty()) {
        gid = match groups.iter().find(|g| g.name == group) {
            Some(g) => g.gid,
            None => group
                .parse()
                .map_err(|_| UserError::NoSuchGroup(group.to_string()))?,
        };
    }
    // Docker adds the groups that list the user only when no group was given.
    let additional_gids = match (name, group) {
        (Some(name), None) => groups
            .iter()
            .filter(|g| g.gid != gid && g.members.split(',').any(|m| m == name))
            .map(|g| g.gid)
            .collect(),
        _ => Vec::new(),
    };
    let home = if home.is_empty() {
        "/".to_string()
    } else {
        home
    };
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
        home,
    })
}

/// Reads a small file inside `root`; a missing file reads as empty, like
/// an image without `/etc/passwd`.
fn read_in_root(root: BorrowedFd<'_>, path: &str) -> Result<String, UserError> {
    let err = |source| UserError::Read {
        path: Path::new("/").join(path),
        source,
    };
    let fd = match open_in_root(root, Path::new(path), OFlags::RDONLY) {
        Ok(fd) => fd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(err(e)),
    };
    let mut text = String::new();
    std::fs::File::from(fd)
        .take(16 << 20)
        .read_to_string(&mut text)
        .map_err(err)?;
    Ok(text)
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

impl<'a> PasswdEntry<'a> {
    fn parse(line: &'a str) -> Option<Self> {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 || line.starts_with('#') {
            return None;
        }
        Some(PasswdEntry {
            name: f[0],
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: f.get(5).copied().unwrap_or(""),
        })
    }
}

struct GroupEntry<'a> {
    name: &'a str,
    gid: u32,
    members: &'a str,
}

impl<'a> GroupEntry<'a> {
    fn parse(line: &'a str) -> Option<Self> {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 3 || line.starts_with('#') {
            return None;
        }
        Some(GroupEntry {
            name: f[0],
            gid: f[2].parse().ok()?,
            members: f.get(3).copied().unwrap_or(""),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\nwww:x:33:\nstaff:x:50:www,bob\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn names_and_numbers_resolve_like_docker() {
        let root = rootfs();
        let r = resolve(root.path(), "www").unwrap();
        assert_eq!(
            (r.uid, r.gid, r.additional_gids.clone()),
            (33, 33, vec![50])
        );
        assert_eq!(r.home, "/var/www");
        assert_eq!(resolve(root.path(), "").unwrap().uid, 0);
        let r = resolve(root.path(), "1234").unwrap();
        assert_eq!((r.uid, r.gid, r.home.as_str()), (1234, 0, "/"));
        let r = resolve(root.path(), "www:staff").unwrap();
        assert_eq!((r.uid, r.gid, r.additional_gids.len()), (33, 50, 0));
        assert_eq!(resolve(root.path(), "33:7").unwrap().gid, 7);
    }

    #[test]
    fn unknown_names_are_errors() {
        let root = rootfs();
        let e = resolve(root.path(), "nobody").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to find user nobody: no matching entries in passwd file"
        );
        assert!(matches!(
            resolve(root.path(), "www:nogroup"),
            Err(UserError::NoSuchGroup(_))
        ));
    }

    #[test]
    fn passwd_symlink_out_of_the_root_stays_inside() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        // Resolved against the image's root, where /etc/shadow does not
        // exist: the image has no users, and the host's files stay unread.
        std::os::unix::fs::symlink("/../../../../etc/shadow", root.path().join("etc/passwd"))
            .unwrap();
        assert!(matches!(
            resolve(root.path(), "root"),
            Err(UserError::NoSuchUser(_))
        ));
    }
}
