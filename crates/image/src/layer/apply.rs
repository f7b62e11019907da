//! Applying a layer tar to a directory, safely.
//!
//! Every entry's parent directory is resolved with `openat2(2)` and
//! `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS` relative to the root's fd, so
//! absolute symlinks and `..` in symlinks stay inside the root (a symlink
//! `a -> /etc` followed by `a/passwd` writes `<root>/etc/passwd`). The entry
//! itself is made with an `*at` call on that parent fd and its name, never
//! following a symlink there (`O_NOFOLLOW | O_EXCL`, `AT_SYMLINK_NOFOLLOW`).
//! Names with `..` that climb above the root are rejected; hardlink targets
//! are resolved inside the root the same way.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::{self, BufReader, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Timestamps};
use tar::EntryType;

use super::entry_path::{clean, EntryPath};
use super::meta::Meta;
use super::pipeline::{self, Chunks, Item};
use super::resolve::{errno, Resolver};
use super::whiteout::{self, Whiteout};
use super::{decompress, ApplyOptions, ApplyStats, LayerError};

/// Buffer between the decompressor and the tar reader, and for file data.
const BUF: usize = 1024 * 1024;

/// Applies the layer tar `r` (plain, gzip or zstd) to the existing directory
/// `root`. See [`ApplyOptions`] for how whiteouts are treated. A later entry
/// replaces an earlier one of the same name (a directory stays a directory if
/// the new entry is one too). Directory times are set last, once their
/// contents are written. Nothing is fsynced: see [`super::sync_tree`].
///
/// Run as root: owners are set from the tar's numeric ids.
pub fn apply(r: impl Read, root: &Path, opts: &ApplyOptions) -> Result<ApplyStats, LayerError> {
    apply_tar(decompress(r)?, root, opts)
}

/// [`apply`] for a stream that is already an uncompressed tar (no sniffing:
/// a tar cannot be mistaken for a compressed one, nor a doubly compressed
/// layer accepted). Reads `r` to its end, past the end-of-archive blocks.
pub fn apply_tar(r: impl Read, root: &Path, opts: &ApplyOptions) -> Result<ApplyStats, LayerError> {
    let archive = tar::Archive::new(BufReader::with_capacity(BUF, r));
    pipeline::run(archive, root, *opts)
}

/// Creates the entries of one tar in one root (on the pipeline's worker).
pub(crate) struct Applier {
    res: Resolver,
    opts: ApplyOptions,
    /// Directory times to set at the end.
    dir_times: Vec<(PathBuf, Timestamps)>,
    /// Paths this layer created (flattened apply only: an opaque directory
    /// keeps them).
    created: HashSet<PathBuf>,
    stats: ApplyStats,
}

fn rel_err(path: &Path) -> impl FnOnce(io::Error) -> LayerError + '_ {
    move |source| LayerError::Entry {
        path: path.to_owned(),
        source,
    }
}

impl Applier {
    pub(crate) fn open(root: &Path, opts: ApplyOptions) -> Result<Applier, LayerError> {
        let res = Resolver::open(root).map_err(|source| LayerError::Root {
            path: root.to_owned(),
            source,
        })?;
        Ok(Applier {
            res,
            opts,
            dir_times: Vec::new(),
            created: HashSet::new(),
            stats: ApplyStats::default(),
        })
    }

    fn flatten(&self) -> bool {
        self.opts.whiteouts && !self.opts.overlay
    }

    /// Applies one entry; `data` is its content.
    pub(crate) fn entry(
        &mut self,
        item: Item,
        data: &mut Chunks<'_, '_>,
    ) -> Result<(), LayerError> {
        let Item {
            kind,
            raw,
            meta,
            link,
            dev: (major, minor),
        } = item;
        let path = clean(&raw).ok_or_else(|| LayerError::Escape { path: raw.clone() })?;
        if self.opts.whiteouts {
            // AUFS metadata at the top (`.wh..wh.plnk/`, `.wh..wh.aufs`), as
            // docker skips it.
            if path
                .full()
                .components()
                .next()
                .is_some_and(|c| whiteout::is_meta(c.as_os_str()))
            {
                return Ok(());
            }
            if let Some(name) = &path.name {
                match whiteout::classify(name) {
                    Whiteout::None => {}
                    Whiteout::Meta => return Ok(()),
                    Whiteout::Invalid => return Err(LayerError::Escape { path: raw }),
                    Whiteout::Opaque => return self.opaque(&path.parent).map_err(rel_err(&raw)),
                    Whiteout::Remove(target) => {
                        return self
                            .whiteout(&path.parent, &target, &meta)
                            .map_err(rel_err(&raw))
                    }
                }
            }
        }
        let Some(name) = path.name.clone() else {
            if kind != EntryType::Directory {
                return Err(LayerError::Unsupported {
                    path: raw,
                    kind: kind.as_byte(),
                });
            }
            // "./": the root itself.
            let root = self.res.root();
            meta.apply_fd(root.as_fd()).map_err(rel_err(&raw))?;
            self.dir_times.push((PathBuf::new(), meta.times()));
            return Ok(());
        };
        match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => self
                .file(&path, &name, data, &meta)
                .map_err(rel_err(&raw))?,
            EntryType::Directory => self.dir(&path, &name, &meta).map_err(rel_err(&raw))?,
            EntryType::Symlink => {
                let target = link.ok_or_else(|| LayerError::Entry {
                    path: raw.clone(),
                    source: io::Error::new(io::ErrorKind::InvalidData, "symlink without target"),
                })?;
                self.symlink(&path, &name, &target, &meta)
                    .map_err(rel_err(&raw))?
            }
            EntryType::Link => self.hardlink(&raw, &path, &name, &link.unwrap_or_default())?,
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let ft = match kind {
                    EntryType::Char => FileType::CharacterDevice,
                    EntryType::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                self.node(&path, &name, ft, major, minor, &meta)
                    .map_err(rel_err(&raw))?
            }
            other => {
                return Err(LayerError::Unsupported {
                    path: raw,
                    kind: other.as_byte(),
                })
            }
        }
        self.stats.files += 1;
        if self.flatten() {
            self.created.insert(path.full());
        }
        Ok(())
    }

    /// Sets the directory times recorded along the way.
    pub(crate) fn finish(mut self) -> Result<ApplyStats, LayerError> {
        self.res.forget();
        for (path, times) in std::mem::take(&mut self.dir_times) {
            let fd = match self.res.open_in_root(&path, OFlags::NOFOLLOW) {
                Ok(fd) => fd,
                // Removed or replaced by a later entry.
                Err(e)
                    if matches!(
                        errno(&e),
                        Some(
                            rustix::io::Errno::NOENT
                                | rustix::io::Errno::NOTDIR
                                | rustix::io::Errno::LOOP
                        )
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(rel_err(&path)(e)),
            };
            rustix::fs::futimens(&fd, &times).map_err(|e| rel_err(&path)(e.into()))?;
        }
        Ok(self.stats)
    }

    /// The directory `rel`, resolved inside the root, made if missing.
    fn dir_fd(&mut self, rel: &Path) -> io::Result<Rc<OwnedFd>> {
        let flatten = self.flatten();
        let created = &mut self.created;
        self.res.dir(rel, &mut |p| {
            if flatten {
                created.insert(p.to_owned());
            }
        })
    }

    /// Runs `create`; if the name is taken, removes what is there (unless
    /// `keep_dir` and it is a directory, then returns false) and runs it again.
    fn create(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &OsStr,
        keep_dir: bool,
        mut create: impl FnMut() -> io::Result<()>,
    ) -> io::Result<bool> {
        match create() {
            Err(e) if errno(&e) == Some(rustix::io::Errno::EXIST) => {}
            other => return other.map(|()| true),
        }
        if keep_dir {
            let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
            if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                return Ok(false);
            }
        }
        self.res.forget();
        whiteout::remove_all_at(dir, name)?;
        create().map(|()| true)
    }

    fn file(
        &mut self,
        path: &EntryPath,
        name: &OsStr,
        data: &mut Chunks<'_, '_>,
        meta: &Meta,
    ) -> io::Result<()> {
        let dir = self.dir_fd(&path.parent)?;
        let mut fd = None;
        self.create(dir.as_fd(), name, false, || {
            fd = Some(wharf_sys::fs::create_file_at(
                dir.as_fd(),
                Path::new(name),
                0o600,
            )?);
            Ok(())
        })?;
        let mut file = std::fs::File::from(fd.expect("created"));
        self.stats.bytes += data.each(|chunk| file.write_all(chunk))?;
        meta.apply_fd(file.as_fd())?;
        rustix::fs::futimens(&file, &meta.times())?;
        Ok(())
    }

    fn dir(&mut self, path: &EntryPath, name: &OsStr, meta: &Meta) -> io::Result<()> {
        let parent = self.dir_fd(&path.parent)?;
        self.create(parent.as_fd(), name, true, || {
            Ok(rustix::fs::mkdirat(
                parent.as_fd(),
                name,
                Mode::from_raw_mode(0o700),
            )?)
        })?;
        let fd = rustix::fs::openat(
            parent.as_fd(),
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        meta.apply_fd(fd.as_fd())?;
        let full = path.full();
        self.dir_times.push((full.clone(), meta.times()));
        // The next entries are most likely this directory's children.
        self.res.remember(full, fd);
        Ok(())
    }

    fn symlink(
        &mut self,
        path: &EntryPath,
        name: &OsStr,
        target: &Path,
        meta: &Meta,
    ) -> io::Result<()> {
        let dir = self.dir_fd(&path.parent)?;
        self.create(dir.as_fd(), name, false, || {
            Ok(rustix::fs::symlinkat(target, dir.as_fd(), name)?)
        })?;
        meta.apply_at(dir.as_fd(), name, true)
    }

    fn node(
        &mut self,
        path: &EntryPath,
        name: &OsStr,
        ft: FileType,
        major: u32,
        minor: u32,
        meta: &Meta,
    ) -> io::Result<()> {
        let dir = self.dir_fd(&path.parent)?;
        self.create(dir.as_fd(), name, false, || {
            Ok(rustix::fs::mknodat(
                dir.as_fd(),
                name,
                ft,
                Mode::from_raw_mode(0o600),
                rustix::fs::makedev(major, minor),
            )?)
        })?;
        meta.apply_at(dir.as_fd(), name, false)
    }

    fn hardlink(
        &mut self,
        raw: &Path,
        path: &EntryPath,
        name: &OsStr,
        target_raw: &Path,
    ) -> Result<(), LayerError> {
        let bad = |source: io::Error| LayerError::BadHardlink {
            path: raw.to_owned(),
            target: target_raw.to_owned(),
            source,
        };
        let target = clean(target_raw).ok_or_else(|| {
            bad(io::Error::new(
                io::ErrorKind::InvalidInput,
                "link target climbs above the layer root",
            ))
        })?;
        let Some(target_name) = &target.name else {
            return Err(bad(io::Error::from(io::ErrorKind::IsADirectory)));
        };
        if target.full() == path.full() {
            return Ok(());
        }
        let target_dir = self
            .res
            .open_in_root(&target.parent, OFlags::PATH)
            .map_err(bad)?;
        // The target must exist before anything is replaced for it.
        rustix::fs::statat(
            &target_dir,
            target_name.as_os_str(),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|e| bad(e.into()))?;
        let dir = self.dir_fd(&path.parent).map_err(rel_err(raw))?;
        self.create(dir.as_fd(), name, false, || {
            // No AT_SYMLINK_FOLLOW: a symlink target is linked itself.
            Ok(rustix::fs::linkat(
                &target_dir,
                target_name.as_os_str(),
                dir.as_fd(),
                name,
                AtFlags::empty(),
            )?)
        })
        .map_err(bad)?;
        Ok(())
    }

    /// `.wh.<target>` in `parent`. A whiteout applies to the layers below
    /// only (OCI image spec, "Whiteouts"): what this layer made is kept.
    fn whiteout(&mut self, parent: &Path, target: &OsStr, meta: &Meta) -> io::Result<()> {
        let dir = self.dir_fd(parent)?;
        if self.opts.overlay {
            // The layer directory started empty: anything there is ours.
            match whiteout::make_device(dir.as_fd(), target, meta.uid, meta.gid) {
                Err(e) if errno(&e) == Some(rustix::io::Errno::EXIST) => {}
                other => {
                    other?;
                    self.stats.files += 1;
                }
            }
        } else if !self.created.contains(&parent.join(target)) {
            self.res.forget();
            whiteout::remove_all_at(dir.as_fd(), target)?;
        }
        Ok(())
    }

    /// `.wh..wh..opq` in `dir`.
    fn opaque(&mut self, dir: &Path) -> io::Result<()> {
        let fd = self.dir_fd(dir)?;
        if self.opts.overlay {
            whiteout::set_opaque(fd.as_fd())
        } else {
            self.res.forget();
            let created = &self.created;
            whiteout::clear_dir(fd.as_fd(), &mut |name| created.contains(&dir.join(name)))
        }
    }
}
