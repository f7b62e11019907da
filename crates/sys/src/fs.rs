//! File-descriptor relative filesystem calls for working inside a directory
//! tree that someone else controls (a container's root filesystem):
//! `openat2(2)` with `RESOLVE_*` scoping, `mkdirat`, `mknodat`, `symlinkat`,
//! `fstat`/`fstatfs` checks. All paths given here are resolved relative to a
//! directory fd; none of these functions follows a path from the process root
//! unless told to with `None`.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, CWD};
pub use rustix::fs::{OFlags, ResolveFlags};

/// `f_type` of procfs (`statfs(2)`).
pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// `f_type` of sysfs.
pub const SYSFS_MAGIC: i64 = 0x6265_6572;
/// `f_type` of tmpfs.
pub const TMPFS_MAGIC: i64 = 0x0102_1994;
/// `f_type` of nsfs, the filesystem of `/proc/*/ns/*` files.
pub const NSFS_MAGIC: i64 = 0x6e73_6673;
/// Inode number of the root directory of every procfs instance.
pub const PROC_ROOT_INO: u64 = 1;

/// `openat2(dirfd, path, {flags | O_CLOEXEC, mode, resolve})`. `dirfd` `None`
/// means the current directory. Retries the `EAGAIN` that the kernel returns
/// when a rename or mount raced with a scoped (`RESOLVE_IN_ROOT`/`BENEATH`)
/// lookup.
pub fn openat2(
    dirfd: Option<BorrowedFd<'_>>,
    path: &Path,
    flags: OFlags,
    mode: u32,
    resolve: ResolveFlags,
) -> io::Result<OwnedFd> {
    let dirfd = dirfd.unwrap_or(CWD);
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let mut tries = 0;
    loop {
        match rustix::fs::openat2(
            dirfd,
            path,
            flags | OFlags::CLOEXEC,
            Mode::from_raw_mode(mode),
            resolve,
        ) {
            Err(rustix::io::Errno::AGAIN) if tries < 64 => tries += 1,
            other => return Ok(other?),
        }
    }
}

/// What a file is, from `fstat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link (only seen through `O_PATH | O_NOFOLLOW`).
    Symlink,
    /// Character device.
    CharDevice,
    /// Block device.
    BlockDevice,
    /// Named pipe.
    Fifo,
    /// Unix socket.
    Socket,
    /// Anything else.
    Unknown,
}

/// The parts of `struct stat` the runtime checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileInfo {
    /// File type.
    pub kind: Kind,
    /// Permission bits (`st_mode & 07777`).
    pub perm: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Inode number.
    pub ino: u64,
    /// Device major number (`st_rdev`), for device files.
    pub rdev_major: u32,
    /// Device minor number (`st_rdev`), for device files.
    pub rdev_minor: u32,
}

/// `fstat(fd)` (works on `O_PATH` descriptors).
pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<FileInfo> {
    let st = rustix::fs::fstat(fd)?;
    let kind = match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => Kind::File,
        FileType::Directory => Kind::Dir,
        FileType::Symlink => Kind::Symlink,
        FileType::CharacterDevice => Kind::CharDevice,
        FileType::BlockDevice => Kind::BlockDevice,
        FileType::Fifo => Kind::Fifo,
        FileType::Socket => Kind::Socket,
        _ => Kind::Unknown,
    };
    Ok(FileInfo {
        kind,
        perm: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        ino: st.st_ino,
        rdev_major: rustix::fs::major(st.st_rdev),
        rdev_minor: rustix::fs::minor(st.st_rdev),
    })
}

/// `fstatfs(fd).f_type`: which filesystem `fd` lives on (`*_MAGIC`).
pub fn fs_magic(fd: BorrowedFd<'_>) -> io::Result<i64> {
    let st = rustix::fs::fstatfs(fd)?;
    #[allow(clippy::unnecessary_cast)]
    Ok(st.f_type as i64)
}

/// `mkdirat(dirfd, name, mode)`.
pub fn mkdirat(dirfd: BorrowedFd<'_>, name: &Path, mode: u32) -> io::Result<()> {
    Ok(rustix::fs::mkdirat(dirfd, name, Mode::from_raw_mode(mode))?)
}

/// The node types [`mknodat`] creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// Character device.
    Char,
    /// Block device.
    Block,
    /// Named pipe.
    Fifo,
}

/// `mknodat(dirfd, name, kind | perm, makedev(major, minor))`. The umask
/// applies; call [`chmodat`] afterwards for an exact mode.
pub fn mknodat(
    dirfd: BorrowedFd<'_>,
    name: &Path,
    kind: NodeKind,
    perm: u32,
    major: u32,
    minor: u32,
) -> io::Result<()> {
    let file_type = match kind {
        NodeKind::Char => FileType::CharacterDevice,
        NodeKind::Block => FileType::BlockDevice,
        NodeKind::Fifo => FileType::Fifo,
    };
    Ok(rustix::fs::mknodat(
        dirfd,
        name,
        file_type,
        Mode::from_raw_mode(perm),
        rustix::fs::makedev(major, minor),
    )?)
}

/// `fchmodat(dirfd, name, perm, 0)`. Follows a symlink in `name`, so use it
/// only on an entry the caller just created.
pub fn chmodat(dirfd: BorrowedFd<'_>, name: &Path, perm: u32) -> io::Result<()> {
    Ok(rustix::fs::chmodat(
        dirfd,
        name,
        Mode::from_raw_mode(perm),
        AtFlags::empty(),
    )?)
}

/// `fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW)`.
pub fn chownat(dirfd: BorrowedFd<'_>, name: &Path, uid: u32, gid: u32) -> io::Result<()> {
    Ok(rustix::fs::chownat(
        dirfd,
        name,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )?)
}

/// `symlinkat(target, dirfd, name)`.
pub fn symlinkat(target: &Path, dirfd: BorrowedFd<'_>, name: &Path) -> io::Result<()> {
    Ok(rustix::fs::symlinkat(target, dirfd, name)?)
}

/// `unlinkat(dirfd, name, 0)` (not for directories).
pub fn unlinkat(dirfd: BorrowedFd<'_>, name: &Path) -> io::Result<()> {
    Ok(rustix::fs::unlinkat(dirfd, name, AtFlags::empty())?)
}

/// `readlinkat(dirfd, name)`.
pub fn readlinkat(dirfd: BorrowedFd<'_>, name: &Path) -> io::Result<std::path::PathBuf> {
    let target = rustix::fs::readlinkat(dirfd, name, Vec::new())?;
    let bytes = target.into_bytes();
    Ok(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(bytes).into())
}

/// Creates a new empty regular file `name` in `dirfd`:
/// `openat(O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY)`. Fails with `EEXIST` if
/// anything (a symlink included) already has that name.
pub fn create_file_at(dirfd: BorrowedFd<'_>, name: &Path, perm: u32) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        dirfd,
        name,
        OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::from_raw_mode(perm),
    )?)
}

/// `fchmod(fd, perm)` (not on `O_PATH` fds).
pub fn fchmod(fd: BorrowedFd<'_>, perm: u32) -> io::Result<()> {
    Ok(rustix::fs::fchmod(fd, Mode::from_raw_mode(perm))?)
}

/// `fchown(fd, uid, gid)` (not on `O_PATH` fds).
pub fn fchown(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    Ok(rustix::fs::fchown(
        fd,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
    )?)
}

/// The names in the directory `dir` (opened for reading, not `O_PATH`),
/// without `.` and `..`.
pub fn read_dir_names(dir: BorrowedFd<'_>) -> io::Result<Vec<std::ffi::OsString>> {
    let mut names = Vec::new();
    for entry in rustix::fs::Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(
                <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(name.to_vec()),
            );
        }
    }
    Ok(names)
}
