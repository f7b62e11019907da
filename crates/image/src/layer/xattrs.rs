//! Reading a file's xattrs for the tar written by [`super::diff`] and
//! [`super::tar_dir`].

use std::ffi::OsStr;
use std::io;
use std::os::fd::BorrowedFd;
use std::path::PathBuf;

use super::meta::proc_path;

/// Where to read xattrs from: an open file or directory, or a name in a
/// directory that must not be opened (a symlink, a device, a fifo).
#[derive(Clone, Copy)]
pub(crate) enum Source<'a> {
    /// An fd opened for reading.
    Fd(BorrowedFd<'a>),
    /// `name` in the directory `dir`, not followed.
    At(BorrowedFd<'a>, &'a OsStr),
}

/// All xattrs of `src` as (name, value), sorted by name.
pub(crate) fn read(src: Source<'_>) -> io::Result<Vec<(String, Vec<u8>)>> {
    let target = match src {
        Source::Fd(fd) => Target::Fd(fd),
        Source::At(dir, name) => Target::Path(proc_path(dir, name)),
    };
    let list = target.list()?;
    let mut out = Vec::new();
    for raw in list.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let Ok(name) = std::str::from_utf8(raw) else {
            continue;
        };
        match target.get(name) {
            Ok(v) => out.push((name.to_owned(), v)),
            // Removed since the list was read.
            Err(e) if e.raw_os_error() == Some(libc::ENODATA) => {}
            Err(e) => return Err(e),
        }
    }
    out.sort();
    Ok(out)
}

/// What the xattr calls act on: the fd itself (`f*xattr`), or a path that
/// is not followed (`l*xattr`, which have no `*at` form).
enum Target<'a> {
    Fd(BorrowedFd<'a>),
    Path(PathBuf),
}

impl Target<'_> {
    /// The NUL-separated list of names.
    fn list(&self) -> io::Result<Vec<u8>> {
        match self {
            Target::Fd(fd) => fill(
                || rustix::fs::flistxattr_query(fd),
                |buf| rustix::fs::flistxattr(fd, buf),
            ),
            Target::Path(p) => fill(
                || rustix::fs::llistxattr_query(p),
                |buf| rustix::fs::llistxattr(p, buf),
            ),
        }
    }

    /// The value of `name`.
    fn get(&self, name: &str) -> io::Result<Vec<u8>> {
        match self {
            Target::Fd(fd) => fill(
                || rustix::fs::fgetxattr_query(fd, name),
                |buf| rustix::fs::fgetxattr(fd, name, buf),
            ),
            Target::Path(p) => fill(
                || rustix::fs::lgetxattr_query(p, name),
                |buf| rustix::fs::lgetxattr(p, name, buf),
            ),
        }
    }
}

/// Calls `query` to learn the size, then `get` with a buffer of that size,
/// again if the value grew in between (`ERANGE`). A filesystem without
/// xattrs gives an empty value.
fn fill(
    mut query: impl FnMut() -> rustix::io::Result<usize>,
    mut get: impl FnMut(&mut [u8]) -> rustix::io::Result<usize>,
) -> io::Result<Vec<u8>> {
    loop {
        let size = match query() {
            Ok(n) => n,
            Err(rustix::io::Errno::NOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        if size == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; size];
        match get(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(rustix::io::Errno::RANGE) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
