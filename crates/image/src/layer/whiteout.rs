//! Whiteouts, in the two forms a layer takes:
//!
//! - in a tar (OCI image spec, "Representing Changes"): an empty file
//!   `.wh.<name>` deletes `<name>` from the layers below; `.wh..wh..opq` in a
//!   directory hides everything the layers below put in it;
//! - on disk in an overlayfs layer directory (`Documentation/filesystems/
//!   overlayfs.rst`, "whiteouts and opaque directories"): a character device
//!   with device number 0:0 named `<name>`, and the xattr
//!   `trusted.overlay.opaque` = `y` on an opaque directory.
//!
//! Everything here works on directory fds that the caller resolved inside the
//! layer root, with single-component names, and never follows a symlink.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

/// Prefix of a whiteout file in a tar.
pub(crate) const PREFIX: &str = ".wh.";
/// Name of the opaque-directory marker in a tar.
pub(crate) const OPAQUE: &str = ".wh..wh..opq";
/// Prefix of AUFS metadata (`.wh..wh.plnk`, `.wh..wh.aufs`), skipped.
const META_PREFIX: &str = ".wh..wh.";
/// The xattr overlayfs reads to make a directory opaque.
pub(crate) const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
/// Prefix of every xattr overlayfs keeps for itself.
pub(crate) const OVERLAY_XATTR_PREFIX: &str = "trusted.overlay.";

/// What a tar entry's file name means when whiteouts are interpreted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Whiteout {
    /// Not a whiteout: an ordinary entry.
    None,
    /// `.wh..wh..opq`: the parent directory is opaque.
    Opaque,
    /// `.wh.<name>`: `<name>` in the parent directory is deleted.
    Remove(OsString),
    /// AUFS metadata (`.wh..wh.*` other than the opaque marker): ignored.
    Meta,
    /// `.wh.` followed by nothing usable (empty, `.` or `..`).
    Invalid,
}

/// Classifies a single file name.
pub(crate) fn classify(name: &OsStr) -> Whiteout {
    let bytes = name.as_bytes();
    if bytes == OPAQUE.as_bytes() {
        return Whiteout::Opaque;
    }
    if bytes.starts_with(META_PREFIX.as_bytes()) {
        return Whiteout::Meta;
    }
    match bytes.strip_prefix(PREFIX.as_bytes()) {
        None => Whiteout::None,
        Some(b"" | b"." | b"..") => Whiteout::Invalid,
        Some(rest) if rest.contains(&b'/') => Whiteout::Invalid,
        Some(rest) => Whiteout::Remove(OsStr::from_bytes(rest).to_os_string()),
    }
}

/// True for AUFS metadata names (`.wh..wh.*` other than the opaque marker).
pub(crate) fn is_meta(name: &OsStr) -> bool {
    classify(name) == Whiteout::Meta
}

/// Creates the overlay whiteout for `name` in `dir`: a 0:0 character device
/// owned by `uid:gid`. Fails with `EEXIST` if the name is taken.
pub(crate) fn make_device(dir: BorrowedFd<'_>, name: &OsStr, uid: u32, gid: u32) -> io::Result<()> {
    rustix::fs::mknodat(
        dir,
        name,
        FileType::CharacterDevice,
        Mode::empty(),
        rustix::fs::makedev(0, 0),
    )?;
    rustix::fs::chownat(
        dir,
        name,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )?;
    Ok(())
}

/// Marks the directory `dir` (a real fd, not `O_PATH`) opaque for overlayfs.
pub(crate) fn set_opaque(dir: BorrowedFd<'_>) -> io::Result<()> {
    Ok(rustix::fs::fsetxattr(
        dir,
        OPAQUE_XATTR,
        b"y",
        rustix::fs::XattrFlags::empty(),
    )?)
}

/// True when overlayfs treats the directory `dir` as opaque.
pub(crate) fn is_opaque(dir: BorrowedFd<'_>) -> io::Result<bool> {
    let mut buf = [0u8; 4];
    match rustix::fs::fgetxattr(dir, OPAQUE_XATTR, &mut buf[..]) {
        Ok(n) => Ok(&buf[..n] == b"y"),
        Err(rustix::io::Errno::NODATA | rustix::io::Errno::NOTSUP | rustix::io::Errno::RANGE) => {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// True when `st` is an overlay whiteout (a character device 0:0).
pub(crate) fn is_device(st: &rustix::fs::Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice && st.st_rdev == 0
}

/// Removes `name` from `dir`, recursively if it is a directory, never
/// following a symlink. A missing `name` is not an error.
pub(crate) fn remove_all_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) => return Ok(()),
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(rustix::io::Errno::ISDIR) => {}
        Err(e) => return Err(e.into()),
    }
    let sub = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    clear_dir(sub.as_fd(), &mut |_| false)?;
    drop(sub);
    Ok(rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)?)
}

/// Removes every entry of the directory `dir` for which `keep(name)` is false.
pub(crate) fn clear_dir(
    dir: BorrowedFd<'_>,
    keep: &mut dyn FnMut(&Path) -> bool,
) -> io::Result<()> {
    for name in wharf_sys::fs::read_dir_names(dir)? {
        if !keep(Path::new(&name)) {
            remove_all_at(dir, &name)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_names() {
        let c = |s: &str| classify(OsStr::new(s));
        assert_eq!(c("file"), Whiteout::None);
        assert_eq!(c(".wh..wh..opq"), Whiteout::Opaque);
        assert_eq!(c(".wh.foo"), Whiteout::Remove("foo".into()));
        assert_eq!(c(".wh..hidden"), Whiteout::Remove(".hidden".into()));
        assert_eq!(c(".wh..wh.plnk"), Whiteout::Meta);
        assert_eq!(c(".wh."), Whiteout::Invalid);
        assert_eq!(c(".wh.."), Whiteout::Invalid);
        assert_eq!(c(".wh..."), Whiteout::Invalid);
    }
}
