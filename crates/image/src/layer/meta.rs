//! The metadata of a tar entry (owner, mode, times, xattrs) and how it is put
//! on the file that entry created. Order matters: `chown` clears the setuid and
//! setgid bits and `security.capability`, so the mode and the xattrs are set
//! after it; times last.

use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::PathBuf;

use rustix::fs::{AtFlags, Timespec, Timestamps, XattrFlags};

use super::whiteout::OVERLAY_XATTR_PREFIX;

/// PAX record key prefix of an xattr (as GNU tar, bsdtar and Go write it).
pub(crate) const PAX_XATTR: &str = "SCHILY.xattr.";

/// Owner, mode, times and xattrs of one tar entry.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub uid: u32,
    pub gid: u32,
    /// Permission bits including setuid, setgid and sticky (`& 0o7777`).
    pub mode: u32,
    pub mtime: Timespec,
    pub atime: Timespec,
    /// xattrs to set, `trusted.overlay.*` left out (a layer must not steer
    /// overlayfs with redirects or metacopy; opaque directories come from
    /// `.wh..wh..opq`).
    pub xattrs: Vec<(String, Vec<u8>)>,
}

impl Meta {
    /// Reads the header and PAX records of `entry`.
    pub fn read<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<Meta> {
        let h = entry.header();
        let old = h.as_old();
        let uid = lenient(h.uid(), &old.uid)?;
        let uid = u32::try_from(uid).map_err(|_| invalid("uid out of range"))?;
        let gid = lenient(h.gid(), &old.gid)?;
        let gid = u32::try_from(gid).map_err(|_| invalid("gid out of range"))?;
        let mode = lenient(h.mode().map(u64::from), &old.mode)? as u32 & 0o7777;
        let mtime = Timespec {
            tv_sec: i64::try_from(lenient(h.mtime(), &old.mtime)?).unwrap_or(i64::MAX),
            tv_nsec: 0,
        };
        let mut meta = Meta {
            uid,
            gid,
            mode,
            mtime,
            atime: mtime,
            xattrs: Vec::new(),
        };
        let mut atime = None;
        if let Some(pax) = entry.pax_extensions()? {
            for ext in pax {
                let ext = ext?;
                let Ok(key) = ext.key() else { continue };
                if let Some(name) = key.strip_prefix(PAX_XATTR) {
                    if !name.starts_with(OVERLAY_XATTR_PREFIX) {
                        meta.xattrs
                            .push((name.to_owned(), ext.value_bytes().to_vec()));
                    }
                } else if key == "mtime" {
                    meta.mtime = parse_pax_time(ext.value_bytes())?;
                } else if key == "atime" {
                    atime = Some(parse_pax_time(ext.value_bytes())?);
                }
            }
        }
        meta.atime = atime.unwrap_or(meta.mtime);
        Ok(meta)
    }

    /// atime and mtime for `futimens`/`utimensat`.
    pub fn times(&self) -> Timestamps {
        Timestamps {
            last_access: self.atime,
            last_modification: self.mtime,
        }
    }

    /// Owner, mode and xattrs onto an open (not `O_PATH`) file or directory.
    pub fn apply_fd(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        rustix::fs::fchown(
            fd,
            Some(rustix::fs::Uid::from_raw(self.uid)),
            Some(rustix::fs::Gid::from_raw(self.gid)),
        )?;
        rustix::fs::fchmod(fd, rustix::fs::Mode::from_raw_mode(self.mode))?;
        for (name, value) in &self.xattrs {
            ignore_unsupported(rustix::fs::fsetxattr(
                fd,
                name.as_str(),
                value,
                XattrFlags::empty(),
            ))?;
        }
        Ok(())
    }

    /// Owner, mode (unless `symlink`), xattrs and times onto `name` in `dir`,
    /// which the caller has just created and which is not followed if it is a
    /// symlink.
    pub fn apply_at(&self, dir: BorrowedFd<'_>, name: &OsStr, symlink: bool) -> io::Result<()> {
        rustix::fs::chownat(
            dir,
            name,
            Some(rustix::fs::Uid::from_raw(self.uid)),
            Some(rustix::fs::Gid::from_raw(self.gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )?;
        if !symlink {
            // fchmodat cannot refuse to follow (AT_SYMLINK_NOFOLLOW is
            // EOPNOTSUPP before fchmodat2); `name` is the node just made.
            rustix::fs::chmodat(
                dir,
                name,
                rustix::fs::Mode::from_raw_mode(self.mode),
                AtFlags::empty(),
            )?;
        }
        if !self.xattrs.is_empty() {
            let path = proc_path(dir, name);
            for (xname, value) in &self.xattrs {
                ignore_unsupported(rustix::fs::lsetxattr(
                    &path,
                    xname.as_str(),
                    value,
                    XattrFlags::empty(),
                ))?;
            }
        }
        rustix::fs::utimensat(dir, name, &self.times(), AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(())
    }
}

/// `/proc/self/fd/<dir>/<name>`: a path to `name` inside the directory that
/// `dir` holds, for the `l*xattr` calls that have no `*at` form. The magic
/// link jumps straight to `dir` (no lookup of its path) and the `l` variants
/// do not follow `name`.
pub(crate) fn proc_path(dir: BorrowedFd<'_>, name: &OsStr) -> PathBuf {
    let mut p = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    p.push(name);
    p
}

/// A filesystem that cannot hold an xattr is not an error (docker ignores
/// `ENOTSUP` too); anything else is.
fn ignore_unsupported(r: rustix::io::Result<()>) -> io::Result<()> {
    match r {
        Err(rustix::io::Errno::NOTSUP) => Ok(()),
        other => Ok(other?),
    }
}

/// A numeric header field, with an empty one (all NUL or spaces) read as 0
/// as Go's `archive/tar` does.
fn lenient(parsed: io::Result<u64>, raw: &[u8]) -> io::Result<u64> {
    match parsed {
        Err(_) if raw.iter().all(|&b| b == 0 || b == b' ') => Ok(0),
        other => other,
    }
}

fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Parses a PAX time, `<seconds>[.<fraction>]` (seconds may be negative).
pub(crate) fn parse_pax_time(v: &[u8]) -> io::Result<Timespec> {
    let s = std::str::from_utf8(v).map_err(|_| invalid("bad pax time"))?;
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let tv_sec: i64 = secs.parse().map_err(|_| invalid("bad pax time"))?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("bad pax time"));
    }
    let digits: String = frac.chars().chain("000000000".chars()).take(9).collect();
    let mut tv_nsec: i64 = digits.parse().map_err(|_| invalid("bad pax time"))?;
    let mut tv_sec = tv_sec;
    if secs.starts_with('-') && tv_nsec > 0 {
        // "-1.25" is 1.25 s before the epoch: -2 s + 0.75 s.
        tv_sec -= 1;
        tv_nsec = 1_000_000_000 - tv_nsec;
    }
    Ok(Timespec { tv_sec, tv_nsec })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_times() {
        let t = parse_pax_time(b"1700000000.5").unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (1_700_000_000, 500_000_000));
        let t = parse_pax_time(b"12").unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (12, 0));
        let t = parse_pax_time(b"1.123456789999").unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (1, 123_456_789));
        let t = parse_pax_time(b"-1.25").unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (-2, 750_000_000));
        assert!(parse_pax_time(b"x").is_err());
        assert!(parse_pax_time(b"1.2x").is_err());
    }
}
