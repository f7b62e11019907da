//! Overlay snapshots: a container's (or build step's) writable layer over an
//! image's read-only layers, `<root>/snapshots/<id>/{upper,work,merged}`.
//!
//! Mounting uses the file-descriptor mount API (`fsopen("overlay")`, one
//! `fsconfig(FSCONFIG_SET_STRING, "lowerdir+", dir)` per layer, top-most
//! first, then `upperdir`, `workdir`, `fsmount`, `move_mount` onto
//! `merged`). `lowerdir+` (Linux 6.8) takes one directory per call, so the
//! option-string limit of `mount(2)` (one page) does not cap the number of
//! layers: images with hundreds of layers mount. On kernels that reject
//! `lowerdir+` (`EINVAL`), the classic `mount(2)` with a `lowerdir=a:b:c`
//! option string is tried instead. overlayfs needs at least one lower
//! directory, so a snapshot of an image without layers (or of no image)
//! gets an empty `lower` directory of its own.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use wharf_sys::mount::{self, FsParam};

use crate::db::{now, SnapshotRow};
use crate::digest::Digest;
use crate::store::{io_err, Result, Store, StoreError};

/// Errors of snapshots and overlay mounts.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A name that cannot be a directory name.
    #[error("invalid snapshot id {id:?}: use 1-128 of [A-Za-z0-9_.-], not starting with . or -")]
    InvalidId {
        /// The name given.
        id: String,
    },
    /// No snapshot by that name.
    #[error("no such snapshot: {id}")]
    NotFound {
        /// The name given.
        id: String,
    },
    /// The name is taken.
    #[error("snapshot {id} already exists")]
    Exists {
        /// The name given.
        id: String,
    },
    /// A path the kernel cannot be given: not UTF-8 (or, for `mount(2)`,
    /// holding `:`, `,` or a backslash).
    #[error("overlay directory {path} cannot be passed to the kernel")]
    BadPath {
        /// The path.
        path: PathBuf,
    },
    /// The overlay mount failed.
    #[error("failed to mount overlay at {merged}")]
    Mount {
        /// The mount point.
        merged: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Unmounting failed.
    #[error("failed to unmount {merged}")]
    Unmount {
        /// The mount point.
        merged: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// A snapshot: where its directories are and what it stands on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Its name.
    pub id: String,
    /// The image it was made from.
    pub image: Option<Digest>,
    /// `<root>/snapshots/<id>`.
    pub dir: PathBuf,
    /// The writable layer.
    pub upper: PathBuf,
    /// overlayfs's work directory.
    pub work: PathBuf,
    /// The mount point of the joined tree.
    pub merged: PathBuf,
    /// The read-only layers, top-most first (at least one directory).
    pub lowers: Vec<PathBuf>,
    /// Chain IDs of the layers, bottom first (empty without layers).
    pub layers: Vec<Digest>,
}

fn valid_id(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b[0] != b'.'
        && b[0] != b'-'
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// Options that make an upper directory diff to a plain layer: no
/// renamed-directory redirects, no metadata-only copies, no inode index,
/// whatever the kernel's defaults are.
const PLAIN_UPPER: [(&str, &str); 3] = [
    ("redirect_dir", "off"),
    ("metacopy", "off"),
    ("index", "off"),
];

/// What separates the options and lower directories of `mount(2)`'s
/// overlay option string (a backslash escapes them).
const OPTION_SEPARATORS: [char; 3] = [':', ',', '\\'];

/// `p` as the kernel takes it in an overlay option: UTF-8 and, for the
/// option string of `mount(2)` (`classic`), without `:`, `,` or `\\`.
fn overlay_path(p: &Path, classic: bool) -> Result<&str, SnapshotError> {
    p.to_str()
        .filter(|s| !classic || !s.contains(OPTION_SEPARATORS))
        .ok_or_else(|| SnapshotError::BadPath { path: p.to_owned() })
}

/// Mounts an overlay of `lowers` (top-most first) with `upper` and `work`
/// on `merged` (see the module docs).
pub fn mount_overlay(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    merged: &Path,
) -> Result<(), SnapshotError> {
    let lowers: Vec<&str> = lowers
        .iter()
        .map(|l| overlay_path(l, false))
        .collect::<Result<_, _>>()?;
    let (upper, work) = (overlay_path(upper, false)?, overlay_path(work, false)?);
    let mount_err = |source| SnapshotError::Mount {
        merged: merged.to_owned(),
        source,
    };
    let mut params: Vec<FsParam<'_>> = lowers
        .iter()
        .map(|l| FsParam::Value("lowerdir+", l))
        .collect();
    params.push(FsParam::Value("upperdir", upper));
    params.push(FsParam::Value("workdir", work));
    params.extend(PLAIN_UPPER.iter().map(|&(k, v)| FsParam::Value(k, v)));
    let fs = match mount::fs_mount("overlay", Some("overlay"), &params, 0) {
        Ok(fs) => fs,
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            return mount_classic(&lowers, upper, work, merged).map_err(|_| mount_err(e));
        }
        Err(e) => return Err(mount_err(e)),
    };
    let target = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(merged)
        .map_err(mount_err)?;
    mount::attach(fs.as_fd(), target.as_fd()).map_err(mount_err)
}

/// The fallback for kernels without `lowerdir+`: `mount(2)` with the whole
/// `lowerdir=a:b:c,upperdir=…,workdir=…` option string, which must fit in
/// one page (`E2BIG` otherwise). Paths must not contain `:`, `,` or `\\`.
pub fn mount_overlay_classic(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    merged: &Path,
) -> Result<(), SnapshotError> {
    let lowers: Vec<&str> = lowers
        .iter()
        .map(|l| overlay_path(l, true))
        .collect::<Result<_, _>>()?;
    let (upper, work) = (overlay_path(upper, true)?, overlay_path(work, true)?);
    mount_classic(&lowers, upper, work, merged).map_err(|source| SnapshotError::Mount {
        merged: merged.to_owned(),
        source,
    })
}

/// `mount(2)` of an overlay; a path holding one of the option string's
/// separators is refused (`EINVAL`) rather than split by the kernel.
fn mount_classic(lowers: &[&str], upper: &str, work: &str, merged: &Path) -> io::Result<()> {
    if lowers
        .iter()
        .chain([&upper, &work])
        .any(|p| p.contains(OPTION_SEPARATORS))
    {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut data = format!(
        "lowerdir={},upperdir={upper},workdir={work}",
        lowers.join(":")
    );
    for (k, v) in PLAIN_UPPER {
        data.push_str(&format!(",{k}={v}"));
    }
    if data.len() >= 4096 {
        return Err(io::Error::from_raw_os_error(libc::E2BIG));
    }
    let data =
        std::ffi::CString::new(data).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    rustix::mount::mount(
        "overlay",
        merged,
        "overlay",
        rustix::mount::MountFlags::empty(),
        data.as_c_str(),
    )?;
    Ok(())
}

/// `true` if something is mounted on `path` (its device differs from its
/// parent directory's).
pub fn is_mounted(path: &Path) -> bool {
    let parent = path.parent().unwrap_or(Path::new("/"));
    match (fs::symlink_metadata(path), fs::metadata(parent)) {
        (Ok(a), Ok(b)) => a.dev() != b.dev(),
        _ => false,
    }
}

/// Unmounts `merged` if mounted; a busy mount is detached (`MNT_DETACH`).
pub fn unmount_overlay(merged: &Path) -> Result<(), SnapshotError> {
    if !is_mounted(merged) {
        return Ok(());
    }
    let err = |source| SnapshotError::Unmount {
        merged: merged.to_owned(),
        source,
    };
    match mount::unmount(merged, false) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
            mount::unmount(merged, true).map_err(err)
        }
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(()),
        Err(e) => Err(err(e)),
    }
}

impl Store {
    fn snapshot_from_row(&self, row: SnapshotRow) -> Snapshot {
        let dir = self.root.join("snapshots").join(&row.id);
        let mut lowers: Vec<PathBuf> = row
            .layers
            .iter()
            .rev()
            .map(|c| self.layer_home(c).join("diff"))
            .collect();
        if lowers.is_empty() {
            lowers.push(dir.join("lower"));
        }
        Snapshot {
            id: row.id,
            image: row.image,
            upper: dir.join("upper"),
            work: dir.join("work"),
            merged: dir.join("merged"),
            dir,
            lowers,
            layers: row.layers,
        }
    }

    /// Creates snapshot `id` over the layers of `image` (none: an empty
    /// tree). Only directories are made; see [`Store::mount_snapshot`].
    pub fn create_snapshot(&self, id: &str, image: Option<&Digest>) -> Result<Snapshot> {
        self.new_snapshot(id, image, None)
    }

    /// Creates snapshot `id` over the layer `top` (a chain ID) and the
    /// layers below it, without an image.
    pub fn create_snapshot_on_layer(&self, id: &str, top: Option<&Digest>) -> Result<Snapshot> {
        self.new_snapshot(id, None, top)
    }

    fn new_snapshot(
        &self,
        id: &str,
        image: Option<&Digest>,
        top: Option<&Digest>,
    ) -> Result<Snapshot> {
        if !valid_id(id) {
            return Err(SnapshotError::InvalidId { id: id.into() }.into());
        }
        let _lock = self.lock(false)?;
        let work = self.temp_dir("snapshot-")?;
        // Neither the record nor the directory is synced (see
        // [`Store::repair_snapshot_dirs`]): a snapshot is made for every
        // container, and each flush waits for every dirty file on the disk.
        let row = self.db.write_unsynced(|tx| {
            let layers = match (image, top) {
                (Some(img), _) => {
                    self.require_image(tx, img)?;
                    tx.image_layers(img)?
                }
                (None, Some(top)) => {
                    let mut chain = Vec::new();
                    let mut next = Some(top.clone());
                    while let Some(c) = next {
                        let l = tx
                            .layer(&c)?
                            .ok_or(StoreError::NoSuchLayer { chain_id: c })?;
                        next = l.parent;
                        chain.push(l.chain_id);
                    }
                    chain.reverse();
                    chain
                }
                (None, None) => Vec::new(),
            };
            let row = SnapshotRow {
                id: id.into(),
                image: image.cloned(),
                layers,
                created: now(),
            };
            if !tx.insert_snapshot(&row)? {
                return Err(SnapshotError::Exists { id: id.into() }.into());
            }
            Ok::<_, StoreError>(row)
        })?;
        let snap = self.snapshot_from_row(row);
        let made = self.make_snapshot_dirs(&snap, work.path());
        if let Err(e) = made {
            let _ = self.db.write_unsynced(|tx| tx.delete_snapshot(id));
            return Err(e);
        }
        Ok(snap)
    }

    /// Builds the snapshot's directories in `work` and renames it into place.
    fn make_snapshot_dirs(&self, snap: &Snapshot, work: &Path) -> Result<()> {
        fs::set_permissions(work, fs::Permissions::from_mode(0o700))
            .map_err(io_err("chmod", work))?;
        for d in ["upper", "work", "merged"] {
            let p = work.join(d);
            fs::create_dir(&p).map_err(io_err("create", &p))?;
        }
        if snap.layers.is_empty() {
            let p = work.join("lower");
            fs::create_dir(&p).map_err(io_err("create", &p))?;
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755))
                .map_err(io_err("chmod", &p))?;
        }
        // The merged root takes the upper directory's owner and mode: copy
        // them from the top layer's root, as docker's overlay2 does.
        let upper = work.join("upper");
        let (mode, uid, gid) = match fs::metadata(&snap.lowers[0]) {
            Ok(m) if !snap.layers.is_empty() => (m.mode() & 0o7777, m.uid(), m.gid()),
            _ => (0o755, 0, 0),
        };
        std::os::unix::fs::chown(&upper, Some(uid), Some(gid)).map_err(io_err("chown", &upper))?;
        fs::set_permissions(&upper, fs::Permissions::from_mode(mode))
            .map_err(io_err("chmod", &upper))?;
        if snap.dir.exists() {
            // Left over from a crash after the record went away.
            unmount_overlay(&snap.merged)?;
            fs::remove_dir_all(&snap.dir).map_err(io_err("remove", &snap.dir))?;
        }
        fs::rename(work, &snap.dir).map_err(io_err("rename a snapshot to", &snap.dir))
    }

    /// Makes the directories again of every snapshot whose record outlived
    /// them, and returns how many. Snapshot records and directories are
    /// written without waiting for the disk, so a power loss (never a
    /// crash of a process: the kernel keeps what was written) may keep one
    /// and lose the other. A directory without a record is removed by
    /// [`Store::remove_orphan_snapshots`]; a record without a directory
    /// gets empty ones here, which is what its writable layer held when it
    /// was made — anything written to it since was in the same unsynced
    /// state and lost with it. Runs under the exclusive lock, so no
    /// snapshot is being made meanwhile.
    pub fn repair_snapshot_dirs(&self) -> Result<usize> {
        let _lock = self.lock(true)?;
        let mut repaired = 0;
        for snap in self.snapshots()? {
            if snap.dir.exists() {
                continue;
            }
            let work = self.temp_dir("snapshot-")?;
            self.make_snapshot_dirs(&snap, work.path())?;
            repaired += 1;
        }
        Ok(repaired)
    }

    /// The snapshot `id`.
    pub fn snapshot(&self, id: &str) -> Result<Snapshot> {
        let row = self.db.read(|tx| tx.snapshot(id))?;
        let row = row.ok_or_else(|| SnapshotError::NotFound { id: id.into() })?;
        Ok(self.snapshot_from_row(row))
    }

    /// Every snapshot, oldest first.
    pub fn snapshots(&self) -> Result<Vec<Snapshot>> {
        // One read: a snapshot removed meanwhile is not half listed.
        let rows = self.db.read(|tx| {
            let mut rows = Vec::new();
            for id in tx.snapshot_ids()? {
                rows.extend(tx.snapshot(&id)?);
            }
            Ok::<_, StoreError>(rows)
        })?;
        Ok(rows
            .into_iter()
            .map(|r| self.snapshot_from_row(r))
            .collect())
    }

    /// Mounts the snapshot's overlay on its `merged` directory and returns
    /// that path; a snapshot already mounted is left as it is.
    pub fn mount_snapshot(&self, s: &Snapshot) -> Result<PathBuf> {
        if !is_mounted(&s.merged) {
            mount_overlay(&s.lowers, &s.upper, &s.work, &s.merged)?;
        }
        Ok(s.merged.clone())
    }

    /// Unmounts the snapshot (nothing happens if it is not mounted).
    pub fn unmount_snapshot(&self, s: &Snapshot) -> Result<()> {
        Ok(unmount_overlay(&s.merged)?)
    }

    /// Unmounts the snapshot `id`.
    pub fn unmount_snapshot_by_id(&self, id: &str) -> Result<()> {
        let s = self.snapshot(id)?;
        self.unmount_snapshot(&s)
    }

    /// Unmounts and deletes snapshot `id`, its record and its directories.
    ///
    /// The directory leaves `snapshots/` (one rename) before the record
    /// goes, so a crash in between leaves a record without a directory,
    /// which the next removal finishes, never a directory no record names.
    pub fn remove_snapshot(&self, id: &str) -> Result<()> {
        let _lock = self.lock(false)?;
        let s = self.snapshot(id)?;
        unmount_overlay(&s.merged)?;
        let trash = self.temp_dir("removing-")?;
        let dest = trash.path().join(id);
        // Without an fsync of `snapshots/` a power loss may undo the
        // rename but not the record's removal: [`Store::remove_orphan_snapshots`]
        // finds such a directory.
        let moved = match fs::rename(&s.dir, &dest) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(io_err("move away", &s.dir)(e)),
        };
        self.db.write_unsynced(|tx| tx.delete_snapshot(id))?;
        if !moved {
            return Ok(());
        }
        trash.close().map_err(io_err("remove", &dest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A power loss kept a snapshot's record but not its directory: the
    /// repair makes empty ones again, once.
    #[test]
    fn record_without_directory_is_repaired() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::open(root.path()).unwrap();
        let snap = store.create_snapshot("lost", None).unwrap();
        let kept = store.create_snapshot("kept", None).unwrap();
        fs::write(kept.upper.join("file"), b"x").unwrap();
        fs::remove_dir_all(&snap.dir).unwrap();
        assert_eq!(store.repair_snapshot_dirs().unwrap(), 1);
        for d in [&snap.upper, &snap.work, &snap.merged, &snap.lowers[0]] {
            assert!(d.is_dir(), "{}", d.display());
        }
        assert_eq!(fs::read(kept.upper.join("file")).unwrap(), b"x");
        assert_eq!(store.repair_snapshot_dirs().unwrap(), 0);
        store.remove_snapshot("lost").unwrap();
        store.remove_snapshot("kept").unwrap();
        assert!(!snap.dir.exists());
    }
}
