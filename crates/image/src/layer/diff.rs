//! Writing a directory tree as a layer tar: [`diff`] for an overlay upper
//! directory (its whiteouts become OCI whiteouts) and [`tar_dir`] for any tree.
//!
//! Entries come depth first with the names of each directory sorted
//! bytewise, so the same tree always gives the same tar. The format is what
//! Go's `archive/tar` (and so docker) writes: ustar headers, with a PAX
//! record where ustar falls short (long names and link targets, ids above
//! 2097151, xattrs as `SCHILY.xattr.*`); owners are numeric only, and a
//! regular file with several links in the tree is written once, the others as
//! hardlinks to its first path.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

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
    links: HashMap<(u64, u64), Vec<u8>>,
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
            let sub = self
                .one(dir, &name, &path)
                .map_err(|source| LayerError::Walk {
                    path: path.clone(),
                    source,
                })?;
            if let Some(sub) = sub {
                self.walk(sub.as_fd(), &path)?;
            }
        }
        Ok(())
    }

    /// Writes the entry for `name`; for a directory, returns it open so that
    /// the caller walks it next.
    fn one(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &OsStr,
        path: &Path,
    ) -> io::Result<Option<OwnedFd>> {
        let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
        let ft = FileType::from_raw_mode(st.st_mode);
        let mut e = Entry::new(path.as_os_str().as_bytes(), &st);
        match ft {
            FileType::Directory => {
                let fd = rustix::fs::openat(
                    dir,
                    name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                e.xattrs(Source::Fd(fd.as_fd()), self.whiteouts)?;
                e.kind = EntryType::Directory;
                e.name.push(b'/');
                self.append(e, io::empty())?;
                if self.whiteouts && whiteout::is_opaque(fd.as_fd())? {
                    let mut name = path.as_os_str().as_bytes().to_vec();
                    name.push(b'/');
                    name.extend_from_slice(OPAQUE.as_bytes());
                    let mut wh = Entry::new(&name, &st);
                    wh.mode = st.st_mode & 0o777;
                    self.append(wh, io::empty())?;
                }
                Ok(Some(fd))
            }
            FileType::RegularFile => {
                if st.st_nlink > 1 {
                    let key = (st.st_dev, st.st_ino);
                    if let Some(first) = self.links.get(&key) {
                        e.kind = EntryType::Link;
                        e.link = first.clone();
                        return self.append(e, io::empty()).map(|()| None);
                    }
                    self.links.insert(key, path.as_os_str().as_bytes().to_vec());
                }
                let fd = rustix::fs::openat(
                    dir,
                    name,
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                let st = rustix::fs::fstat(&fd)?;
                let mut e = Entry::new(path.as_os_str().as_bytes(), &st);
                e.xattrs(Source::Fd(fd.as_fd()), self.whiteouts)?;
                e.size = st.st_size as u64;
                let data = Exact {
                    file: std::fs::File::from(fd),
                    left: e.size,
                };
                self.append(e, data).map(|()| None)
            }
            FileType::Symlink => {
                let target = wharf_sys::fs::readlinkat(dir, Path::new(name))?;
                e.xattrs(Source::At(dir, name), self.whiteouts)?;
                e.kind = EntryType::Symlink;
                e.link = target.into_os_string().into_vec();
                self.append(e, io::empty()).map(|()| None)
            }
            FileType::CharacterDevice if self.whiteouts && whiteout::is_device(&st) => {
                let mut wh = PREFIX.as_bytes().to_vec();
                wh.extend_from_slice(name.as_bytes());
                let wh_path = path.with_file_name(OsStr::from_bytes(&wh));
                let mut e = Entry::new(wh_path.as_os_str().as_bytes(), &st);
                e.mode = 0o600;
                self.append(e, io::empty()).map(|()| None)
            }
            FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo => {
                e.xattrs(Source::At(dir, name), self.whiteouts)?;
                e.kind = match ft {
                    FileType::CharacterDevice => EntryType::Char,
                    FileType::BlockDevice => EntryType::Block,
                    _ => EntryType::Fifo,
                };
                if ft != FileType::Fifo {
                    e.dev = (rustix::fs::major(st.st_rdev), rustix::fs::minor(st.st_rdev));
                }
                self.append(e, io::empty()).map(|()| None)
            }
            // Sockets are not part of an image (docker skips them too).
            _ => Ok(None),
        }
    }

    /// Writes `e` (its PAX record first if it needs one) and its data.
    fn append(&mut self, e: Entry, data: impl Read) -> io::Result<()> {
        let mut pax: Vec<(String, Vec<u8>)> = e.xattrs;
        let mut h = Header::new_ustar();
        h.set_entry_type(e.kind);
        h.set_mode(e.mode);
        h.set_mtime(e.mtime);
        h.set_size(e.size);
        for (key, id, field) in [("uid", e.uid, 0), ("gid", e.gid, 1)] {
            if u64::from(id) > USTAR_MAX_ID {
                pax.push((key.to_owned(), id.to_string().into_bytes()));
            } else if field == 0 {
                h.set_uid(id.into());
            } else {
                h.set_gid(id.into());
            }
        }
        if let Some(u) = h.as_ustar_mut() {
            if !set_ustar_name(u, &e.name) {
                pax.push(("path".to_owned(), e.name.clone()));
                let cut = &e.name[..e.name.len().min(100)];
                u.name[..cut.len()].copy_from_slice(cut);
            }
            if e.link.len() <= 100 {
                u.linkname[..e.link.len()].copy_from_slice(&e.link);
            } else {
                pax.push(("linkpath".to_owned(), e.link.clone()));
                u.linkname.copy_from_slice(&e.link[..100]);
            }
        }
        if matches!(e.kind, EntryType::Char | EntryType::Block) {
            h.set_device_major(e.dev.0)?;
            h.set_device_minor(e.dev.1)?;
        }
        if !pax.is_empty() {
            pax.sort();
            self.tar
                .append_pax_extensions(pax.iter().map(|(k, v)| (k.as_str(), v.as_slice())))?;
        }
        h.set_cksum();
        self.tar.append(&h, data)
    }
}

/// Largest uid/gid a ustar header holds (7 octal digits); larger ones go in
/// a PAX record, as Go's `archive/tar` writes them.
const USTAR_MAX_ID: u64 = 0o7_777_777;

/// One entry about to be written.
struct Entry {
    kind: EntryType,
    name: Vec<u8>,
    link: Vec<u8>,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: u64,
    size: u64,
    dev: (u32, u32),
    /// PAX records `SCHILY.xattr.<name>`.
    xattrs: Vec<(String, Vec<u8>)>,
}

impl Entry {
    /// A regular file entry `name` with the mode, owner and mtime of `st`,
    /// size 0.
    fn new(name: &[u8], st: &Stat) -> Entry {
        Entry {
            kind: EntryType::Regular,
            name: name.to_vec(),
            link: Vec::new(),
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
            mtime: st.st_mtime.max(0) as u64,
            size: 0,
            dev: (0, 0),
            xattrs: Vec::new(),
        }
    }

    /// Reads the xattrs of `src`, without overlayfs' own. In an overlay
    /// upper directory (`upper`), a redirect or metacopy xattr is an error:
    /// the file's data or its old name live in a lower layer, which a layer
    /// tar cannot say.
    fn xattrs(&mut self, src: Source<'_>, upper: bool) -> io::Result<()> {
        let all = xattrs::read(src)?;
        if upper {
            for (n, _) in &all {
                if n == REDIRECT_XATTR || n == METACOPY_XATTR {
                    return Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        format!("{n} set: mount the overlay with redirect_dir=off,metacopy=off"),
                    ));
                }
            }
        }
        self.xattrs = all
            .into_iter()
            .filter(|(n, _)| !n.starts_with(OVERLAY_XATTR_PREFIX))
            .map(|(n, v)| (format!("{PAX_XATTR}{n}"), v))
            .collect();
        Ok(())
    }
}

/// overlayfs' xattr for a renamed directory (`redirect_dir=on`).
const REDIRECT_XATTR: &str = "trusted.overlay.redirect";
/// overlayfs' xattr for a file copied up without its data (`metacopy=on`).
const METACOPY_XATTR: &str = "trusted.overlay.metacopy";

/// Puts `name` in the ustar `name` field, or split at a `/` into `prefix`
/// and `name`; false if it fits neither way (then it goes in a PAX record).
fn set_ustar_name(u: &mut tar::UstarHeader, name: &[u8]) -> bool {
    if name.len() <= 100 {
        u.name[..name.len()].copy_from_slice(name);
        return true;
    }
    // The prefix ends at a '/' that is not the last byte, within 155 bytes,
    // and leaves at most 100 bytes of name.
    let start = name.len().saturating_sub(101);
    let split = name[..name.len() - 1]
        .iter()
        .enumerate()
        .skip(start)
        .find(|&(i, &b)| b == b'/' && i <= 155)
        .map(|(i, _)| i);
    match split {
        Some(i) if i > 0 => {
            u.prefix[..i].copy_from_slice(&name[..i]);
            let rest = &name[i + 1..];
            u.name[..rest.len()].copy_from_slice(rest);
            true
        }
        _ => false,
    }
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
