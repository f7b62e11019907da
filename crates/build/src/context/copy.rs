//! `COPY`/`ADD` into a container root filesystem: Docker's directory rules
//! on top of [`super::tree`] (source) and [`super::dest`] (destination).

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::rc::Rc;

use rustix::fs::{AtFlags, FileType, Stat, Timespec, Timestamps, XattrFlags};
use rustix::io::Errno;

use super::dest::{self, DestRoot, Existing};
use super::tree::{fd_path, file_type, open_name, Entry, Found};
use super::{archive, is_missing, Context, ContextError, CopyOptions, CopyStats, Source};

pub(super) fn copy_into(
    ctx: &Context,
    sources: &[Source],
    dest_root: &Path,
    dest: &str,
    opts: &CopyOptions,
) -> Result<CopyStats, ContextError> {
    let instruction = if opts.extract_archives { "ADD" } else { "COPY" };
    let dest_is_dir = dest.ends_with('/') || opts.dest_is_dir_hint;
    if sources.len() > 1 && !dest_is_dir {
        return Err(ContextError::NeedsDirectory { instruction });
    }
    if sources.is_empty() {
        return Err(ContextError::NoSources);
    }
    let root = DestRoot::open(dest_root).map_err(|source| ContextError::Write {
        path: String::new(),
        dest: dest.to_string(),
        source,
    })?;
    let mut copier = Copier {
        ctx,
        opts,
        stats: CopyStats::default(),
        links: HashMap::new(),
    };
    for src in sources {
        copier.copy_source(&root, src, dest, dest_is_dir)?;
    }
    Ok(copier.stats)
}

struct Copier<'a> {
    ctx: &'a Context,
    opts: &'a CopyOptions,
    stats: CopyStats,
    /// Files with several links already copied, by (device, inode): where
    /// the first copy went, so later names become hardlinks to it.
    links: HashMap<(u64, u64), (Rc<OwnedFd>, OsString)>,
}

/// A source's real parent directory and its own directory entry.
fn split_resolved(ctx: &Context, found: Found) -> io::Result<(Found, Entry)> {
    let (parent_rel, name) = match found.rel.rsplit_once('/') {
        Some((p, n)) => (p.to_string(), n.to_string()),
        None => (String::new(), found.rel.clone()),
    };
    let parent = ctx.tree.lookup(&parent_rel, false)?;
    let entry = Entry {
        name: OsString::from(name),
        rel: found.rel,
        stat: found.stat,
    };
    Ok((parent, entry))
}

fn times(stat: &Stat) -> Timestamps {
    #[allow(clippy::unnecessary_cast)]
    let mtime = Timespec {
        tv_sec: stat.st_mtime as i64,
        tv_nsec: stat.st_mtime_nsec as _,
    };
    Timestamps {
        last_access: mtime,
        last_modification: mtime,
    }
}

fn base_name(path: &str) -> OsString {
    OsString::from(path.rsplit('/').next().unwrap_or(path))
}

impl Copier<'_> {
    fn owner(&self, stat: &Stat) -> (u32, u32) {
        match self.opts.chown {
            Some(owner) => owner,
            None if self.ctx.rootfs => (stat.st_uid, stat.st_gid),
            None => (0, 0),
        }
    }

    fn perm(&self, stat: &Stat) -> u32 {
        self.opts.chmod.unwrap_or(stat.st_mode & 0o7777)
    }

    fn copy_source(
        &mut self,
        root: &DestRoot,
        src: &Source,
        dest: &str,
        dest_is_dir: bool,
    ) -> Result<(), ContextError> {
        let write_err = |source: io::Error| ContextError::Write {
            path: src.path.clone(),
            dest: dest.to_string(),
            source,
        };
        let found = match self.ctx.tree.lookup(&src.resolved, false) {
            Ok(found) => found,
            Err(e) if is_missing(&e) => return Err(self.ctx.not_found(&src.path)),
            Err(e) => return Err(self.ctx.read_error(&src.path, e)),
        };
        let kind = file_type(&found.stat);
        if kind == FileType::Directory {
            let (dir, created) = root.mkdir_all(dest.as_bytes(), (0, 0)).map_err(write_err)?;
            let dir = Rc::new(dir);
            self.copy_tree(&found, &dir).map_err(write_err)?;
            if created {
                let fd = open_name(dir.as_fd(), Path::new("."), wharf_sys::fs::OFlags::RDONLY)
                    .map_err(write_err)?;
                let (uid, gid) = self.opts.chown.unwrap_or((0, 0));
                wharf_sys::fs::fchown(fd.as_fd(), uid, gid).map_err(write_err)?;
                if let Some(mode) = self.opts.chmod {
                    wharf_sys::fs::fchmod(fd.as_fd(), mode).map_err(write_err)?;
                }
            }
            return Ok(());
        }
        let (parent, entry) = split_resolved(self.ctx, found).map_err(write_err)?;
        if self.opts.extract_archives && kind == FileType::RegularFile {
            let file = open_name(
                parent.fd.as_fd(),
                Path::new(&entry.name),
                wharf_sys::fs::OFlags::RDONLY,
            )
            .map_err(|e| self.ctx.read_error(&src.path, e))?;
            let mut file = File::from(file);
            if archive::is_archive(&mut file).map_err(|e| self.ctx.read_error(&src.path, e))? {
                let (dir, _) = root.mkdir_all(dest.as_bytes(), (0, 0)).map_err(write_err)?;
                archive::extract(file, &fd_path(&dir)).map_err(|source| ContextError::Extract {
                    path: src.path.clone(),
                    dest: dest.to_string(),
                    source,
                })?;
                self.stats.archives += 1;
                return Ok(());
            }
        }
        let parent_owner = self.opts.chown.unwrap_or((0, 0));
        let (dir, name) = if dest_is_dir {
            let (dir, _) = root
                .mkdir_all(dest.as_bytes(), parent_owner)
                .map_err(write_err)?;
            (dir, base_name(&src.path))
        } else if let Some(dir) = root.existing_dir(dest).map_err(write_err)? {
            (dir, base_name(&src.path))
        } else {
            let (dir, name, existing) = root.leaf(dest, parent_owner).map_err(write_err)?;
            if existing == Existing::Dir {
                let inner = open_name(
                    dir.as_fd(),
                    Path::new(&name),
                    wharf_sys::fs::OFlags::PATH | wharf_sys::fs::OFlags::DIRECTORY,
                )
                .map_err(write_err)?;
                (inner, base_name(&src.path))
            } else {
                (dir, name)
            }
        };
        self.copy_entry(&parent, &entry, &Rc::new(dir), name)
            .map_err(write_err)
    }

    /// Copies the contents of the source directory `src` into `dst`.
    fn copy_tree(&mut self, src: &Found, dst: &Rc<OwnedFd>) -> io::Result<()> {
        for entry in self.ctx.tree.list(src)? {
            let name = entry.name.clone();
            self.copy_entry(src, &entry, dst, name)?;
        }
        Ok(())
    }

    /// Copies one entry of `src_dir` to `name` in `dst_dir`, replacing what
    /// is there (a directory over a directory merges).
    fn copy_entry(
        &mut self,
        src_dir: &Found,
        entry: &Entry,
        dst_dir: &Rc<OwnedFd>,
        name: OsString,
    ) -> io::Result<()> {
        let stat = &entry.stat;
        let kind = file_type(stat);
        let dst = dst_dir.as_fd();
        let existing = dest::existing(dst, &name)?;
        if existing.is_some()
            && !(kind == FileType::Directory && existing == Some(FileType::Directory))
        {
            dest::remove(dst, &name)?;
        }
        let (uid, gid) = self.owner(stat);
        let name_path = Path::new(&name);
        match kind {
            FileType::Directory => {
                if existing != Some(FileType::Directory) {
                    wharf_sys::fs::mkdirat(dst, name_path, 0o700)?;
                }
                // Readable (not O_PATH): its owner, mode and times are set
                // through it once the contents are in.
                let child_dst = Rc::new(open_name(
                    dst,
                    name_path,
                    wharf_sys::fs::OFlags::RDONLY | wharf_sys::fs::OFlags::DIRECTORY,
                )?);
                let child_src = self.ctx.tree.child(src_dir, entry)?;
                self.copy_tree(&child_src, &child_dst)?;
                self.finish_fd(child_dst.as_fd(), uid, gid, self.perm(stat), stat)?;
                self.stats.dirs += 1;
            }
            FileType::RegularFile => {
                let key = (stat.st_dev, stat.st_ino);
                if stat.st_nlink > 1 {
                    if let Some((first_dir, first_name)) = self.links.get(&key) {
                        rustix::fs::linkat(
                            first_dir.as_fd(),
                            first_name.as_os_str(),
                            dst,
                            name_path,
                            AtFlags::empty(),
                        )?;
                        return Ok(());
                    }
                }
                let mut from = File::from(open_name(
                    src_dir.fd.as_fd(),
                    Path::new(&entry.name),
                    wharf_sys::fs::OFlags::RDONLY,
                )?);
                let to = wharf_sys::fs::create_file_at(dst, name_path, 0o600)?;
                let mut to = File::from(to);
                self.stats.bytes += io::copy(&mut from, &mut to)?;
                self.finish_fd(to.as_fd(), uid, gid, self.perm(stat), stat)?;
                copy_capability(from.as_fd(), to.as_fd())?;
                self.stats.files += 1;
                if stat.st_nlink > 1 {
                    self.links.insert(key, (Rc::clone(dst_dir), name));
                }
            }
            FileType::Symlink => {
                let target = wharf_sys::fs::readlinkat(src_dir.fd.as_fd(), Path::new(&entry.name))?;
                wharf_sys::fs::symlinkat(&target, dst, name_path)?;
                wharf_sys::fs::chownat(dst, name_path, uid, gid)?;
                rustix::fs::utimensat(dst, name_path, &times(stat), AtFlags::SYMLINK_NOFOLLOW)?;
                self.stats.symlinks += 1;
            }
            FileType::Fifo | FileType::CharacterDevice | FileType::BlockDevice => {
                let node = match kind {
                    FileType::Fifo => wharf_sys::fs::NodeKind::Fifo,
                    FileType::CharacterDevice => wharf_sys::fs::NodeKind::Char,
                    _ => wharf_sys::fs::NodeKind::Block,
                };
                let rdev = stat.st_rdev;
                let (major, minor) = (rustix::fs::major(rdev as _), rustix::fs::minor(rdev as _));
                wharf_sys::fs::mknodat(dst, name_path, node, 0o600, major, minor)?;
                wharf_sys::fs::chownat(dst, name_path, uid, gid)?;
                wharf_sys::fs::chmodat(dst, name_path, self.perm(stat))?;
                rustix::fs::utimensat(dst, name_path, &times(stat), AtFlags::SYMLINK_NOFOLLOW)?;
                self.stats.special += 1;
            }
            // Sockets are not copied (nor are they by Docker's tar).
            _ => {}
        }
        Ok(())
    }

    /// Owner, then mode (a chown clears setuid bits), then times.
    fn finish_fd(
        &self,
        fd: BorrowedFd<'_>,
        uid: u32,
        gid: u32,
        perm: u32,
        stat: &Stat,
    ) -> io::Result<()> {
        wharf_sys::fs::fchown(fd, uid, gid)?;
        wharf_sys::fs::fchmod(fd, perm)?;
        rustix::fs::futimens(fd, &times(stat))?;
        Ok(())
    }
}

/// The extended attribute holding file capabilities.
pub(super) const CAPABILITY: &str = "security.capability";

/// Reads a file's capabilities (`security.capability`), if it has any.
pub(super) fn read_capability(fd: BorrowedFd<'_>) -> io::Result<Option<Vec<u8>>> {
    // vfs_cap_data is at most 24 bytes (version 3).
    let mut buf = [0u8; 64];
    match rustix::fs::fgetxattr(fd, CAPABILITY, &mut buf[..]) {
        Ok(n) => Ok(Some(buf[..n].to_vec())),
        Err(Errno::NODATA | Errno::OPNOTSUPP) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// File capabilities travel with the file, as in Docker's tar copy. They are
/// set after the chown, which clears them (capabilities(7)).
fn copy_capability(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> io::Result<()> {
    if let Some(cap) = read_capability(from)? {
        rustix::fs::fsetxattr(to, CAPABILITY, &cap, XattrFlags::empty())?;
    }
    Ok(())
}
