//! Writing a tar of a tree inside a container, walking it with `*at` calls
//! that never follow a symlink (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`), so a
//! container that swaps a directory for a symlink during the walk cannot
//! make it read the host.
//!
//! Directories mounted into the container (binds, volumes) are archived
//! from their host source, as the container sees them.
//!
//! Entry names are chosen by the caller (`etc/…`, `./…`, `/…` as Docker
//! names them); names and link targets longer than the 100 bytes of a
//! header go in GNU long-name records, which Go's `archive/tar` reads.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use tar::{EntryType, Header};

/// A tar being written.
pub(crate) struct TarOut<W: Write> {
    w: BufWriter<W>,
    /// First name of each multiply-linked file, by (dev, ino).
    links: HashMap<(u64, u64), Vec<u8>>,
    /// Mounts by their path in the container (`/data`) → host source.
    mounts: HashMap<Vec<u8>, PathBuf>,
}

impl<W: Write> TarOut<W> {
    /// A tar writer; `mounts` maps container paths (cleaned, absolute) to
    /// the host paths mounted there.
    pub(crate) fn new(out: W, mounts: HashMap<Vec<u8>, PathBuf>) -> Self {
        TarOut {
            w: BufWriter::with_capacity(256 * 1024, out),
            links: HashMap::new(),
            mounts,
        }
    }

    /// Writes `name` (in `dir`), which is `ctr_path` in the container, as
    /// `tar_name`, and everything below it.
    pub(crate) fn entry(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &OsStr,
        tar_name: &[u8],
        ctr_path: &[u8],
    ) -> io::Result<()> {
        let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
        let mut h = Header::new_gnu();
        h.set_mode(st.st_mode & 0o7777);
        h.set_uid(u64::from(st.st_uid));
        h.set_gid(u64::from(st.st_gid));
        h.set_mtime(st.st_mtime.max(0) as u64);
        h.set_size(0);
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => {
                let fd = rustix::fs::openat(
                    dir,
                    name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                h.set_entry_type(EntryType::Directory);
                let mut own = tar_name.to_vec();
                if !own.ends_with(b"/") {
                    own.push(b'/');
                }
                self.write(h, &own, None, io::empty(), 0)?;
                let mut names = wharf_sys::fs::read_dir_names(fd.as_fd())?;
                names.sort_unstable();
                for child in names {
                    let mut child_name = own.clone();
                    child_name.extend_from_slice(child.as_bytes());
                    let mut child_path = ctr_path.to_vec();
                    if !child_path.ends_with(b"/") {
                        child_path.push(b'/');
                    }
                    child_path.extend_from_slice(child.as_bytes());
                    match self.mounts.get(&child_path).cloned() {
                        Some(source) => self.mounted(&source, &child_name, &child_path)?,
                        None => self.entry(fd.as_fd(), &child, &child_name, &child_path)?,
                    }
                }
                Ok(())
            }
            FileType::RegularFile => {
                if st.st_nlink > 1 {
                    let key = (st.st_dev, st.st_ino);
                    if let Some(first) = self.links.get(&key).cloned() {
                        h.set_entry_type(EntryType::Link);
                        return self.write(h, tar_name, Some(&first), io::empty(), 0);
                    }
                    self.links.insert(key, tar_name.to_vec());
                }
                let fd = rustix::fs::openat(
                    dir,
                    name,
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                let size = rustix::fs::fstat(&fd)?.st_size.max(0) as u64;
                h.set_entry_type(EntryType::Regular);
                h.set_size(size);
                let file = std::fs::File::from(fd);
                self.write(h, tar_name, None, file, size)
            }
            FileType::Symlink => {
                let target = wharf_sys::fs::readlinkat(dir, std::path::Path::new(name))?;
                h.set_entry_type(EntryType::Symlink);
                self.write(
                    h,
                    tar_name,
                    Some(target.as_os_str().as_bytes()),
                    io::empty(),
                    0,
                )
            }
            t @ (FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo) => {
                h.set_entry_type(match t {
                    FileType::CharacterDevice => EntryType::Char,
                    FileType::BlockDevice => EntryType::Block,
                    _ => EntryType::Fifo,
                });
                if t != FileType::Fifo {
                    h.set_device_major(rustix::fs::major(st.st_rdev))?;
                    h.set_device_minor(rustix::fs::minor(st.st_rdev))?;
                }
                self.write(h, tar_name, None, io::empty(), 0)
            }
            // Sockets cannot be archived (Docker skips them too).
            _ => Ok(()),
        }
    }

    /// Writes what is mounted at `ctr_path` from its host `source` (a
    /// trusted path); a source that is gone is left out.
    fn mounted(
        &mut self,
        source: &std::path::Path,
        tar_name: &[u8],
        ctr_path: &[u8],
    ) -> io::Result<()> {
        let (Some(parent), Some(name)) = (source.parent(), source.file_name()) else {
            return Ok(());
        };
        let Ok(dir) = rustix::fs::open(
            parent,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) else {
            return Ok(());
        };
        match self.entry(dir.as_fd(), name, tar_name, ctr_path) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            other => other,
        }
    }

    /// Writes a header named `name` (with `link`), then `size` bytes of
    /// `data` (zero-padded if the file shrank meanwhile) and the padding.
    fn write(
        &mut self,
        mut h: Header,
        name: &[u8],
        link: Option<&[u8]>,
        data: impl Read,
        size: u64,
    ) -> io::Result<()> {
        if name.len() > 100 {
            self.long(EntryType::GNULongName, name)?;
        }
        if let Some(link) = link {
            if link.len() > 100 {
                self.long(EntryType::GNULongLink, link)?;
            }
            let old = h.as_old_mut();
            old.linkname = [0; 100];
            let n = link.len().min(100);
            old.linkname[..n].copy_from_slice(&link[..n]);
        }
        let old = h.as_old_mut();
        old.name = [0; 100];
        let n = name.len().min(100);
        old.name[..n].copy_from_slice(&name[..n]);
        h.set_cksum();
        self.w.write_all(h.as_bytes())?;
        let copied = io::copy(&mut data.take(size), &mut self.w)?;
        let missing = size - copied;
        io::copy(&mut io::repeat(0).take(missing), &mut self.w)?;
        self.pad(size)
    }

    /// A GNU long name (`L`) or long link (`K`) record.
    fn long(&mut self, kind: EntryType, value: &[u8]) -> io::Result<()> {
        let mut h = Header::new_gnu();
        let tag = b"././@LongLink";
        h.as_old_mut().name[..tag.len()].copy_from_slice(tag);
        h.set_mode(0o644);
        h.set_entry_type(kind);
        let size = value.len() as u64 + 1;
        h.set_size(size);
        h.set_cksum();
        self.w.write_all(h.as_bytes())?;
        self.w.write_all(value)?;
        self.w.write_all(&[0])?;
        self.pad(size)
    }

    fn pad(&mut self, size: u64) -> io::Result<()> {
        let rem = (size % 512) as usize;
        if rem != 0 {
            self.w.write_all(&[0u8; 512][..512 - rem])?;
        }
        Ok(())
    }

    /// The end-of-archive blocks, and flush.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.w.write_all(&[0u8; 1024])?;
        self.w.flush()
    }
}
