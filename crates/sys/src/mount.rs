//! Mounts: the classic `mount(2)` calls used on trusted host paths, and the
//! file-descriptor based mount API (`fsopen`, `fsmount`, `open_tree`,
//! `move_mount`, `mount_setattr`, Linux 5.12+) used for everything that lands
//! inside a container's root filesystem.
//!
//! The fd-based calls never resolve a path at the moment of mounting: the
//! target is a file descriptor that the caller opened (and verified) before,
//! so a symlink swapped in between cannot redirect the mount (the class of
//! CVE-2021-30465). A new mount is built detached, its flags are set while no
//! one can see it, and only then is it attached.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::CWD;
use rustix::mount::{
    fsconfig_create, fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen, move_mount,
    open_tree, FsMountFlags, FsOpenFlags, MountAttrFlags, MountPropagationFlags, MoveMountFlags,
    OpenTreeFlags, UnmountFlags,
};

/// `MOUNT_ATTR_*` bits of `mount_setattr(2)` and `fsmount(2)`.
pub mod attr {
    /// Read-only mount.
    pub const RDONLY: u64 = 0x0000_0001;
    /// Ignore set-user-id and set-group-id bits.
    pub const NOSUID: u64 = 0x0000_0002;
    /// Do not interpret device files.
    pub const NODEV: u64 = 0x0000_0004;
    /// Do not allow execution.
    pub const NOEXEC: u64 = 0x0000_0008;
    /// The mask of the three access-time modes below.
    pub const ATIME_MASK: u64 = 0x0000_0070;
    /// Update atime relative to mtime/ctime (the kernel's default).
    pub const RELATIME: u64 = 0x0000_0000;
    /// Never update atime.
    pub const NOATIME: u64 = 0x0000_0010;
    /// Always update atime.
    pub const STRICTATIME: u64 = 0x0000_0020;
    /// Do not update directory atime.
    pub const NODIRATIME: u64 = 0x0000_0080;
    /// Do not follow symlinks.
    pub const NOSYMFOLLOW: u64 = 0x0020_0000;
}

/// Mount propagation types (`mount_namespaces(7)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// `MS_PRIVATE`: no events in or out.
    Private,
    /// `MS_SHARED`: events go both ways within the peer group.
    Shared,
    /// `MS_SLAVE`: events come in from the master, none go out.
    Slave,
    /// `MS_UNBINDABLE`: private, and cannot be the source of a bind mount.
    Unbindable,
}

impl Propagation {
    /// The `MS_*` value, as `mount(2)` and `mount_attr.propagation` take it.
    pub fn ms_flag(self) -> u64 {
        u64::from(self.rustix_flag().bits())
    }

    fn rustix_flag(self) -> MountPropagationFlags {
        match self {
            Self::Private => MountPropagationFlags::PRIVATE,
            Self::Shared => MountPropagationFlags::SHARED,
            Self::Slave => MountPropagationFlags::DOWNSTREAM,
            Self::Unbindable => MountPropagationFlags::UNBINDABLE,
        }
    }
}

/// One parameter for [`fs_mount`]: a bare flag (`newinstance`) or a
/// `key=value` pair (`mode=755`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsParam<'a> {
    /// A flag without a value.
    Flag(&'a str),
    /// A key with a string value.
    Value(&'a str, &'a str),
}

/// Creates a new, detached mount of a filesystem: `fsopen(fstype)`, one
/// `fsconfig` per parameter (plus `source` if given), `FSCONFIG_CMD_CREATE`,
/// then `fsmount` with `attrs` (`attr::*`). Attach it with [`attach`].
pub fn fs_mount(
    fstype: &str,
    source: Option<&str>,
    params: &[FsParam<'_>],
    attrs: u64,
) -> io::Result<OwnedFd> {
    let fs = fsopen(fstype, FsOpenFlags::FSOPEN_CLOEXEC)?;
    configure(&fs, source, params).map_err(|e| with_fs_log(&fs, e))?;
    let attrs = u32::try_from(attrs).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    Ok(fsmount(
        &fs,
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::from_bits_retain(attrs),
    )?)
}

fn configure(fs: &OwnedFd, source: Option<&str>, params: &[FsParam<'_>]) -> rustix::io::Result<()> {
    if let Some(source) = source.filter(|s| !s.is_empty()) {
        fsconfig_set_string(fs, "source", source)?;
    }
    for param in params {
        match *param {
            FsParam::Flag(key) => fsconfig_set_flag(fs, key)?,
            FsParam::Value(key, value) => fsconfig_set_string(fs, key, value)?,
        }
    }
    fsconfig_create(fs)
}

/// Adds the filesystem's own explanation to an `fsconfig` failure: the
/// kernel queues messages such as `e tmpfs: Bad value for 'mode'` on the
/// context fd (`fsopen(2)`, "Message retrieval interface"). The error keeps
/// its kind; its text becomes `<message> (os error N)`.
fn with_fs_log(fs: &OwnedFd, err: rustix::io::Errno) -> io::Error {
    let mut messages = Vec::new();
    let mut buf = [0u8; 1024];
    while let Ok(n) = rustix::io::read(fs, &mut buf) {
        let line = String::from_utf8_lossy(&buf[..n]).into_owned();
        if let Some(msg) = line.strip_prefix("e ") {
            messages.push(msg.to_owned());
        }
    }
    let err = io::Error::from(err);
    if messages.is_empty() {
        return err;
    }
    let code = err.raw_os_error().unwrap_or(0);
    io::Error::new(
        err.kind(),
        format!("{} (os error {code})", messages.join("; ")),
    )
}

/// Clones the mount at `path` (resolved from the current directory, following
/// symlinks) into a detached bind mount: `open_tree(OPEN_TREE_CLONE)`, with
/// `AT_RECURSIVE` when `recursive` (rbind).
pub fn clone_path(path: &Path, recursive: bool) -> io::Result<OwnedFd> {
    let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
    if recursive {
        flags |= OpenTreeFlags::AT_RECURSIVE;
    }
    Ok(open_tree(CWD, path, flags)?)
}

/// Like [`clone_path`] for the file or directory that `fd` (often `O_PATH`)
/// refers to (`AT_EMPTY_PATH`): the result is a bind mount of exactly the
/// object the caller verified.
pub fn clone_fd(fd: BorrowedFd<'_>, recursive: bool) -> io::Result<OwnedFd> {
    let mut flags = OpenTreeFlags::OPEN_TREE_CLONE
        | OpenTreeFlags::OPEN_TREE_CLOEXEC
        | OpenTreeFlags::AT_EMPTY_PATH;
    if recursive {
        flags |= OpenTreeFlags::AT_RECURSIVE;
    }
    Ok(open_tree(fd, "", flags)?)
}

/// Attaches the detached mount `mnt` on top of the file or directory `target`
/// refers to: `move_mount(MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)`.
/// The kernel requires both to be of the same kind (directory or not).
pub fn attach(mnt: BorrowedFd<'_>, target: BorrowedFd<'_>) -> io::Result<()> {
    Ok(move_mount(
        mnt,
        "",
        target,
        "",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )?)
}

/// Changes the flags of the mount whose root `fd` is (attached or detached):
/// `mount_setattr(fd, "", AT_EMPTY_PATH [| AT_RECURSIVE], attr)`.
/// `set`/`clear` are `attr::*` bits; to change the access-time mode, put
/// `attr::ATIME_MASK` in `clear` and the mode in `set`. `propagation`, when
/// given, also changes the propagation type.
pub fn set_attr(
    fd: BorrowedFd<'_>,
    recursive: bool,
    set: u64,
    clear: u64,
    propagation: Option<Propagation>,
) -> io::Result<()> {
    /// `struct mount_attr` of `<linux/mount.h>` (MOUNT_ATTR_SIZE_VER0).
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    const SYS_MOUNT_SETATTR: libc::c_long = 442;
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clear,
        propagation: propagation.map_or(0, Propagation::ms_flag),
        userns_fd: 0,
    };
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: mount_setattr(2) reads a NUL-terminated path (a static empty
    // C string) and `size_of::<MountAttr>()` bytes from `&attr`, a live,
    // properly laid out `#[repr(C)]` struct; `fd` is a valid borrowed fd.
    // Nothing is written to user memory.
    let rc = unsafe {
        libc::syscall(
            SYS_MOUNT_SETATTR,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `mount(NULL, path, NULL, MS_<propagation> [| MS_REC], NULL)` on a trusted
/// path (`/` or a host path), e.g. to make the whole namespace a slave.
pub fn set_propagation(path: &Path, propagation: Propagation, recursive: bool) -> io::Result<()> {
    let mut flags = propagation.rustix_flag();
    if recursive {
        flags |= MountPropagationFlags::REC;
    }
    Ok(rustix::mount::mount_change(path, flags)?)
}

/// `mount(source, target, NULL, MS_BIND | MS_REC, NULL)` on trusted host paths.
pub fn bind_recursive(source: &Path, target: &Path) -> io::Result<()> {
    Ok(rustix::mount::mount_bind_recursive(source, target)?)
}

/// `mount(source, target, NULL, MS_MOVE, NULL)` on trusted paths.
pub fn move_path(source: &Path, target: &Path) -> io::Result<()> {
    Ok(rustix::mount::mount_move(source, target)?)
}

/// `umount2(path, MNT_DETACH)` when `detach`, else `umount2(path, 0)`.
pub fn unmount(path: &Path, detach: bool) -> io::Result<()> {
    let flags = if detach {
        UnmountFlags::DETACH
    } else {
        UnmountFlags::empty()
    };
    Ok(rustix::mount::unmount(path, flags)?)
}

/// `pivot_root(new_root, put_old)`; see `pivot_root(2)` for the rules (both
/// must be directories on mounts, `new_root` a mount point, neither on a
/// shared mount, `put_old` at or under `new_root`).
pub fn pivot_root(new_root: &Path, put_old: &Path) -> io::Result<()> {
    Ok(rustix::process::pivot_root(new_root, put_old)?)
}

/// `chroot(path)`.
pub fn chroot(path: &Path) -> io::Result<()> {
    Ok(rustix::process::chroot(path)?)
}

/// `fchdir(fd)`.
pub fn fchdir(fd: impl AsFd) -> io::Result<()> {
    Ok(rustix::process::fchdir(fd)?)
}

/// `chdir(path)`.
pub fn chdir(path: &Path) -> io::Result<()> {
    Ok(rustix::process::chdir(path)?)
}
