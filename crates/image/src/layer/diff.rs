//! Writing a directory tree as a layer tar: [`diff`] for an overlay upper
//! directory (its whiteouts become OCI whiteouts) and [`tar_dir`] for any tree.
//!
//! Entries come depth first with the names of each directory sorted
//! bytewise, so the same tree always gives the same tar. Headers are GNU
//! format (long names as `././@LongLink` records, as GNU tar writes them),
//! xattrs are PAX `SCHILY.xattr.*` records, owners are numeric only, and a
//! regular file with several links in the tree is written once, the others as
//! hardlinks to its first path.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use tar::{EntryType, Header};

use super::meta::PAX_XATTR;
use super::whiteout::{self, OPAQUE, OVERLAY_XATTR_PREFIX, PREFIX};
use super::xattrs::{self, Source};
use super::LayerError;

/// Output buffer.
const BUF: usize = 1024 * 1024;

/// Writes the overlay upper directory `upper` as an OCI layer tar: a 0:0
/// character device `<name>` becomes an empty file `.wh.<name>`, a directory
/// with `trusted.overlay.opaque=y` is followed by `<dir>/.wh..wh..opq`, and the
/// `trusted.overlay.*` xattrs are left out. Assumes the overlay was mounted
/// without `redirect_dir` and `metacopy` (a renamed directory is copied up
/// whole, a file's data is always in the upper layer).
pub fn diff(upper: &Path, out: impl Write) -> Result<(), LayerError> {
    write_tree(upper, out, true)
}

/// Writes the whole tree `dir` (not `dir` itself) as a tar, every file as it
/// is, without interpreting whiteouts (for `wharf export` and build contexts).
/// `trusted.overlay.*` xattrs are left out.
pub fn tar_dir(dir: &Path, out: impl Write) -> Result<(), LayerError> {
    write_tree(dir, out, false)
}

fn write_tree(dir: &Path, out: impl Write, whiteouts: bool) -> Result<(), LayerError> {
    let root = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| LayerError::Root {
        path: dir.to_owned(),
        source: e.into(),
    })?;
    let mut walker = Walker {
        tar: tar::Builder::new(BufWriter::with_capacity(BUF, out)),
        links: HashMap::new(),
        whiteouts,
    };
    walker.walk(root.as_fd(), Path::new(""))?;
    let out = walker.tar.into_inner().map_err(LayerError::Write)?;
    out.into_inner()
        .map_err(|e| LayerError::Write(e.into_error()))?
        .flush()
        .map_err(LayerError::Write)
}

struct Walker<W: Write> {
    tar: tar::Builder<BufWriter<W>>,
    /// First path of each multiply-linked regular file, by (dev, ino).
    links: HashMap<(u64, u64), PathBuf>,
    whiteouts: bool,
}

impl<W: Write> Walker<W> {
    fn walk(&mut self, dir: BorrowedFd<'_>, rel: &Path) -> Result<(), LayerError> {
        let walk_err = |source| LayerError::Walk {
            path: rel.to_owned(),
            source,
        };
        let mut names = wharf_sys::fs::read_dir_names(dir).map_err(walk_err)?;
        names.sort_unstable();
        for name in names {
            let path = rel.join(&name);
            self.one(dir, &name, &path)
                .map_err(|source| LayerError::Walk {
                    path: path.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    fn one(&mut self, dir: BorrowedFd<'_>, name: &OsStr, path: &Path) -> io::Result<()> {
        let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
        let ft = FileType::from_raw_mode(st.st_mode);
        let mut h = header(&st);
        match ft {
            FileType::Directory => {
                let fd = rustix::fs::openat(
                    dir,
                    name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                self.xattrs(Source::Fd(fd.as_fd()))?;
                h.set_entry_type(EntryType::Directory);
                let mut dir_name = path.as_os_str().as_bytes().to_vec();
                dir_name.push(b'/');
                self.tar
                    .append_data(&mut h, OsStr::from_bytes(&dir_name), io::empty())?;
                if self.whiteouts && whiteout::is_opaque(fd.as_fd())? {
                    let mut wh = header(&st);
                    wh.set_mode(st.st_mode & 0o777);
                    self.tar
                        .append_data(&mut wh, path.join(OPAQUE), io::empty())?;
                }
                self.walk(fd.as_fd(), path).map_err(io::Error::other)
            }
            FileType::RegularFile => {
                if st.st_nlink > 1 {
                    let key = (st.st_dev, st.st_ino);
                    if let Some(first) = self.links.get(&key) {
                        h.set_entry_type(EntryType::Link);
                        let first = first.clone();
                        return self.tar.append_link(&mut h, path, first);
                    }
                    self.links.insert(key, path.to_owned());
                }
                let fd = rustix::fs::openat(
                    dir,
                    name,
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                let st = rustix::fs::fstat(&fd)?;
                let mut h = header(&st);
                self.xattrs(Source::Fd(fd.as_fd()))?;
                h.set_size(st.st_size as u64);
                let data = Exact {
                    file: std::fs::File::from(fd),
                    left: st.st_size as u64,
                };
                self.tar.append_data(&mut h, path, data)
            }
            FileType::Symlink => {
                let target = wharf_sys::fs::readlinkat(dir, Path::new(name))?;
                self.xattrs(Source::At(dir, name))?;
                h.set_entry_type(EntryType::Symlink);
                self.tar.append_link(&mut h, path, target)
            }
            FileType::CharacterDevice if self.whiteouts && whiteout::is_device(&st) => {
                let mut wh_name = PREFIX.as_bytes().to_vec();
                wh_name.extend_from_slice(name.as_bytes());
                h.set_mode(0o600);
                let wh_path = path.with_file_name(OsStr::from_bytes(&wh_name));
                self.tar.append_data(&mut h, wh_path, io::empty())
            }
            FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo => {
                self.xattrs(Source::At(dir, name))?;
                h.set_entry_type(match ft {
                    FileType::CharacterDevice => EntryType::Char,
                    FileType::BlockDevice => EntryType::Block,
                    _ => EntryType::Fifo,
                });
                if ft != FileType::Fifo {
                    h.set_device_major(rustix::fs::major(st.st_rdev))?;
                    h.set_device_minor(rustix::fs::minor(st.st_rdev))?;
                }
                self.tar.append_data(&mut h, path, io::empty())
            }
            // Sockets are not part of an image (docker skips them too).
            _ => Ok(()),
        }
    }

    /// Writes the PAX record with the xattrs of the entry about to follow.
    fn xattrs(&mut self, src: Source<'_>) -> io::Result<()> {
        let list = xattrs::read(src)?;
        let keep: Vec<(String, Vec<u8>)> = list
            .into_iter()
            .filter(|(n, _)| !n.starts_with(OVERLAY_XATTR_PREFIX))
            .map(|(n, v)| (format!("{PAX_XATTR}{n}"), v))
            .collect();
        if keep.is_empty() {
            return Ok(());
        }
        self.tar
            .append_pax_extensions(keep.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
    }
}

/// A GNU header with the mode, owner and mtime of `st`; regular file type,
/// size 0.
fn header(st: &Stat) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(EntryType::Regular);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(st.st_uid.into());
    h.set_gid(st.st_gid.into());
    h.set_mtime(st.st_mtime.max(0) as u64);
    h.set_size(0);
    h
}

/// Reads exactly `left` bytes of `file`: a file that shrank while being
/// archived is an error rather than a corrupt tar; one that grew is cut.
struct Exact {
    file: std::fs::File,
    left: u64,
}

impl Read for Exact {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.file.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while being archived",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}
