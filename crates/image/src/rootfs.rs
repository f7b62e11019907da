//! Small operations inside a root filesystem that someone else controls
//! (an image's): every path is resolved with `openat2(RESOLVE_IN_ROOT)`, so
//! a symlink in the image cannot send them to the host.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use wharf_sys::fs::{OFlags, ResolveFlags};

use crate::snapshot::{self, Snapshot, SnapshotError};

/// Why a container root could not be mounted.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// Making the init layer's directories or files failed.
    #[error("failed to create the init layer {path}")]
    Create {
        /// The init directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The overlay mount failed.
    #[error(transparent)]
    Mount(#[from] SnapshotError),
}

/// Mount points the runtime needs in every container root: directories
/// for the kernel filesystems and files for the bind-mounted `/etc` files.
const INIT_DIRS: &[&str] = &["dev", "proc", "sys", "etc"];
const INIT_FILES: &[&str] = &["etc/hosts", "etc/hostname", "etc/resolv.conf"];

/// Mounts a container's snapshot with an "init" layer between the image
/// and the writable layer, as Docker's overlay2 driver does: the mount
/// points the runtime needs (`/proc`, `/sys`, `/dev`, `/etc/hosts`, …) that
/// the image lacks are made there, so they never show up in the writable
/// layer, in a commit or in a build step's layer. Returns the merged root.
pub fn mount_with_init(s: &Snapshot) -> Result<PathBuf, InitError> {
    if snapshot::is_mounted(&s.merged) {
        return Ok(s.merged.clone());
    }
    let init = s.dir.join("init");
    if !init.exists() {
        make_init(&init, &s.lowers).map_err(|source| InitError::Create {
            path: init.clone(),
            source,
        })?;
    }
    let mut lowers = vec![init];
    lowers.extend(s.lowers.iter().cloned());
    snapshot::mount_overlay(&lowers, &s.upper, &s.work, &s.merged)?;
    Ok(s.merged.clone())
}

/// Builds the init directory beside it and renames it into place.
fn make_init(init: &Path, lowers: &[PathBuf]) -> std::io::Result<()> {
    let tmp = init.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp)?;
    for dir in INIT_DIRS {
        if exists_in(lowers, dir).is_none() {
            std::fs::create_dir(tmp.join(dir))?;
            std::fs::set_permissions(tmp.join(dir), std::fs::Permissions::from_mode(0o755))?;
        }
    }
    for file in INIT_FILES {
        if exists_in(lowers, file).is_some() {
            continue;
        }
        let parent = Path::new(file)
            .parent()
            .expect("init files are in a directory");
        let target = tmp.join(parent);
        if !target.exists() {
            // The image has the directory: keep its owner and mode, since
            // the init layer's copy is what the container sees.
            std::fs::create_dir_all(&target)?;
            if let Some(meta) = exists_in(lowers, &parent.to_string_lossy()) {
                std::fs::set_permissions(
                    &target,
                    std::fs::Permissions::from_mode(meta.mode() & 0o7777),
                )?;
                std::os::unix::fs::lchown(&target, Some(meta.uid()), Some(meta.gid()))?;
            }
        }
        std::fs::write(tmp.join(file), b"")?;
    }
    std::fs::rename(&tmp, init)
}

/// The metadata of `path` in the top-most lower that has it; never follows
/// a symlink in the image (a symlinked component counts as present).
fn exists_in(lowers: &[PathBuf], path: &str) -> Option<std::fs::Metadata> {
    for lower in lowers {
        let mut cur = lower.clone();
        let mut found = true;
        for part in Path::new(path).components() {
            cur.push(part);
            match std::fs::symlink_metadata(&cur) {
                Ok(m) if m.file_type().is_symlink() => return Some(m),
                Ok(_) => {}
                Err(_) => {
                    found = false;
                    break;
                }
            }
        }
        if found {
            return std::fs::symlink_metadata(&cur).ok();
        }
    }
    None
}

/// An `O_PATH` descriptor of the root filesystem at `rootfs`, for
/// [`open_in_root`].
pub(crate) fn open_root(rootfs: &Path) -> std::io::Result<OwnedFd> {
    wharf_sys::fs::openat2(
        None,
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY,
        0,
        ResolveFlags::empty(),
    )
}

/// Opens `path` as seen inside `root`: `..` and symlinks (absolute ones
/// too) stay inside it, magic links are refused.
pub(crate) fn open_in_root(
    root: BorrowedFd<'_>,
    path: &Path,
    flags: OFlags,
) -> std::io::Result<OwnedFd> {
    wharf_sys::fs::openat2(
        Some(root),
        path,
        flags,
        0,
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
}

/// Creates `path` (as seen inside the root) and its missing parents with
/// mode 0755, owned by the caller. Existing directories are kept.
pub fn mkdir_all(rootfs: &Path, path: &str) -> std::io::Result<()> {
    let root = open_root(rootfs)?;
    let mut done = PathBuf::new();
    for part in Path::new(path).components() {
        let Component::Normal(part) = part else {
            continue;
        };
        let parent = open_in_root(root.as_fd(), &done, OFlags::PATH | OFlags::DIRECTORY)?;
        match wharf_sys::fs::mkdirat(parent.as_fd(), Path::new(part), 0o755) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        done.push(part);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_in_the_image_cannot_lead_outside() {
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("app")).unwrap();
        // The link's target does not exist inside the root: refused, and
        // nothing appears outside.
        assert!(mkdir_all(root.path(), "/app/data").is_err());
        assert!(!outside.path().join("data").exists());
        // Once it exists inside, the link is followed there.
        let inside = root.path().join(outside.path().strip_prefix("/").unwrap());
        std::fs::create_dir_all(&inside).unwrap();
        mkdir_all(root.path(), "/app/data").unwrap();
        assert!(inside.join("data").is_dir());
        assert!(!outside.path().join("data").exists());
        mkdir_all(root.path(), "/srv/./www/").unwrap();
        assert!(root.path().join("srv/www").is_dir());
    }
}
