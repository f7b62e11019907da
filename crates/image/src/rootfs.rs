//! Small operations inside a root filesystem that someone else controls
//! (an image's): every path is resolved with `openat2(RESOLVE_IN_ROOT)`, so
//! a symlink in the image cannot send them to the host.

use std::os::fd::AsFd;
use std::path::{Component, Path, PathBuf};

use wharf_sys::fs::{OFlags, ResolveFlags};

/// Creates `path` (as seen inside the root) and its missing parents with
/// mode 0755, owned by the caller. Existing directories are kept.
pub fn mkdir_all(rootfs: &Path, path: &str) -> std::io::Result<()> {
    let root = wharf_sys::fs::openat2(
        None,
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY,
        0,
        ResolveFlags::empty(),
    )?;
    let mut done = PathBuf::new();
    for part in Path::new(path).components() {
        let Component::Normal(part) = part else {
            continue;
        };
        let parent = wharf_sys::fs::openat2(
            Some(root.as_fd()),
            &done,
            OFlags::PATH | OFlags::DIRECTORY,
            0,
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        )?;
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
        mkdir_all(root.path(), "/app/data").unwrap();
        assert!(!outside.path().join("data").exists());
        // The link's target is taken inside the root.
        let inside = root.path().join(outside.path().strip_prefix("/").unwrap());
        assert!(inside.join("data").is_dir());
        mkdir_all(root.path(), "/srv/./www/").unwrap();
        assert!(root.path().join("srv/www").is_dir());
    }
}
