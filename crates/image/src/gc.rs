//! Removal: `rmi` with Docker's rules, `image prune`, and garbage
//! collection of blobs, layers and leftovers no record refers to.
//!
//! Docker's `rmi` rules, which [`Store::remove_image`] follows:
//! - by reference: the reference goes ("Untagged"); when it was the last
//!   tag of its repository, that repository's digest references go too; the
//!   image is deleted when no reference is left. If a container (here: a
//!   snapshot) uses the image and this is its only reference, the removal is
//!   refused unless forced.
//! - by ID: refused if the image has references in several repositories or
//!   a snapshot uses it, unless forced; refused even when forced if another
//!   image has it as its parent.
//! - a deleted image's untagged parents are deleted after it ("prune").
//!
//! Snapshots keep the layers they stand on even when their image is
//! deleted by force. Everything that changes runs under the store's
//! exclusive lock, so no layer or blob being added is collected.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;
use std::time::Duration;

use crate::db::Tx;
use crate::digest::{is_full_hex, Digest};
use crate::reference::Reference;
use crate::store::{io_err, Result, Store, StoreError};

/// One line of `docker rmi`'s output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// `Untagged: busybox:latest` (familiar form).
    Untagged(String),
    /// `Deleted: sha256:…`, an image ID or a layer's chain ID.
    Deleted(Digest),
}

/// Entries of `<root>/tmp` younger than this are someone's work in flight.
const TMP_GRACE: Duration = Duration::from_secs(3600);

/// What [`Store::gc`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcStats {
    /// Blobs deleted.
    pub blobs: usize,
    /// Layers (records and directories) deleted.
    pub layers: usize,
    /// Leftover temporary files and orphan snapshot directories deleted.
    pub leftovers: usize,
    /// Bytes freed: blob sizes plus unpacked layer sizes.
    pub bytes: u64,
}

/// Files to delete once the transaction that dropped their records commits.
#[derive(Default)]
struct Doomed {
    blobs: Vec<Digest>,
    layers: Vec<Digest>,
}

/// What a delete conflict is about.
struct Conflict {
    err: StoreError,
    /// A container (snapshot) uses the image.
    used: bool,
}

fn short_id(id: &str) -> &str {
    if is_full_hex(id) {
        &id[..12]
    } else {
        id
    }
}

/// Docker's `isSingleReference`: at most one tag, and all references in
/// one repository.
fn is_single_reference(refs: &[Reference]) -> bool {
    if refs.len() <= 1 {
        return refs.len() == 1;
    }
    let tags: Vec<&Reference> = refs.iter().filter(|r| r.digest().is_none()).collect();
    if tags.len() > 1 {
        return false;
    }
    let single = tags.first().copied().unwrap_or(&refs[0]);
    let mut canonical: Vec<String> = refs
        .iter()
        .filter(|r| r.digest().is_some())
        .map(Reference::name)
        .collect();
    canonical.dedup();
    canonical.len() == 1 && canonical[0] == single.name()
}

impl Store {
    fn refs(&self, tx: &Tx<'_>, id: &Digest) -> Result<Vec<Reference>> {
        tx.refs_of(id)?
            .iter()
            .map(|n| Ok(Reference::parse(n)?))
            .collect()
    }

    /// Removes an image or one of its references, like `docker rmi [-f]`;
    /// returns what was untagged and deleted, in Docker's order. Layers no
    /// other image or snapshot uses are deleted with the image.
    pub fn remove_image(&self, name: &str, force: bool) -> Result<Vec<Removed>> {
        self.remove_image_with(name, force, true)
    }

    /// [`Store::remove_image`]; with `prune` false (`docker rmi --no-prune`)
    /// the deleted image's untagged parents stay.
    pub fn remove_image_with(&self, name: &str, force: bool, prune: bool) -> Result<Vec<Removed>> {
        let _lock = self.lock(true)?;
        let mut records = Vec::new();
        let mut doomed = Doomed::default();
        self.db.write(|tx| {
            let id = self.resolve(tx, name)?;
            let mut refs = self.refs(tx, &id)?;
            let by_id = id.as_str().starts_with(name) || id.hex().starts_with(name);
            let mut quiet = false;
            if !by_id {
                let r = Reference::parse(name)?.with_default_tag();
                if !force && is_single_reference(&refs) {
                    if let Some(snap) = tx.snapshots_of(&id)?.first() {
                        return Err(StoreError::ReferenceInUse {
                            reference: name.into(),
                            container: short_id(snap).into(),
                            image: id.short().into(),
                        });
                    }
                }
                if !tx.delete_ref(&r.to_string())? {
                    return Err(StoreError::NoSuchImage { name: name.into() });
                }
                records.push(Removed::Untagged(r.familiar()));
                refs.retain(|x| x != &r);
                if r.digest().is_none()
                    && !refs
                        .iter()
                        .any(|x| x.digest().is_none() && x.name() == r.name())
                {
                    // The repository's last tag went: its digests go too.
                    for x in refs
                        .iter()
                        .filter(|x| x.digest().is_some() && x.name() == r.name())
                    {
                        tx.delete_ref(&x.to_string())?;
                        records.push(Removed::Untagged(x.familiar()));
                    }
                    refs.retain(|x| !(x.digest().is_some() && x.name() == r.name()));
                }
                if !refs.is_empty() {
                    return Ok(());
                }
                quiet = true;
            } else if is_single_reference(&refs) {
                if let Some(c) = self.conflict(tx, &id, !force, false)? {
                    return Err(c.err);
                }
                for r in &refs {
                    tx.delete_ref(&r.to_string())?;
                    records.push(Removed::Untagged(r.familiar()));
                }
            }
            self.delete_image(
                tx,
                &id,
                (force, quiet, prune),
                &mut records,
                Some(&mut doomed),
            )
        })?;
        self.delete_files(&doomed)?;
        Ok(records)
    }

    /// Docker's `checkImageDeleteConflict`: a child image (hard), then with
    /// `soft`: references (if `active_refs`), a snapshot using the image.
    fn conflict(
        &self,
        tx: &Tx<'_>,
        id: &Digest,
        soft: bool,
        active_refs: bool,
    ) -> Result<Option<Conflict>> {
        let conflict = |hard, reason: String, used| Conflict {
            err: StoreError::DeleteConflict {
                image: id.short().into(),
                hard,
                reason,
            },
            used,
        };
        if !tx.children(id)?.is_empty() {
            return Ok(Some(conflict(
                true,
                "image has dependent child images".into(),
                false,
            )));
        }
        if !soft {
            return Ok(None);
        }
        if active_refs && !tx.refs_of(id)?.is_empty() {
            return Ok(Some(conflict(
                false,
                "image is referenced in multiple repositories".into(),
                false,
            )));
        }
        if let Some(snap) = tx.snapshots_of(id)?.first() {
            let reason = format!(
                "image is being used by stopped container {}",
                short_id(snap)
            );
            return Ok(Some(conflict(false, reason, true)));
        }
        Ok(None)
    }

    /// Docker's `imageDeleteHelper`: deletes image `id` and its references,
    /// then (quietly, when `prune`) its untagged parents. With `doomed`,
    /// layers left without users go too, and the files to delete are added
    /// to it.
    fn delete_image(
        &self,
        tx: &Tx<'_>,
        id: &Digest,
        (force, quiet, prune): (bool, bool, bool),
        records: &mut Vec<Removed>,
        mut doomed: Option<&mut Doomed>,
    ) -> Result<()> {
        if let Some(c) = self.conflict(tx, id, !force, true)? {
            let dangling = tx.refs_of(id)?.is_empty() && tx.children(id)?.is_empty();
            if quiet && (!dangling || c.used) {
                return Ok(());
            }
            return Err(c.err);
        }
        let row = self.require_image(tx, id)?;
        for r in self.refs(tx, id)? {
            tx.delete_ref(&r.to_string())?;
            records.push(Removed::Untagged(r.familiar()));
        }
        let layers = tx.image_layers(id)?;
        let blobs = tx.image_blobs(id)?;
        tx.delete_image(id)?;
        records.push(Removed::Deleted(id.clone()));
        if let Some(doomed) = doomed.as_deref_mut() {
            doomed.blobs.push(id.clone());
            doomed.blobs.extend(blobs);
            for chain in layers.iter().rev() {
                if tx.layer_in_use(chain)? {
                    break;
                }
                if let Some(l) = tx.layer(chain)? {
                    tx.delete_layer(chain)?;
                    records.push(Removed::Deleted(chain.clone()));
                    doomed.layers.push(chain.clone());
                    if !tx.diff_id_in_use(&l.diff_id)? {
                        doomed.blobs.push(l.diff_id);
                    }
                }
            }
        }
        match row.parent {
            Some(parent) if prune && tx.image(&parent)?.is_some() => {
                self.delete_image(tx, &parent, (false, true, true), records, doomed)
            }
            _ => Ok(()),
        }
    }

    fn delete_files(&self, doomed: &Doomed) -> Result<()> {
        for b in &doomed.blobs {
            self.content.delete(b)?;
        }
        for l in &doomed.layers {
            remove_tree(&self.layer_home(l))?;
        }
        Ok(())
    }

    /// `docker image prune [-a]`: deletes dangling images (no reference, no
    /// child), or with `all` every image no snapshot uses, with their
    /// references. Layers and blobs are left to [`Store::gc`], whose
    /// [`GcStats::bytes`] then tells the space reclaimed.
    pub fn prune(&self, all: bool) -> Result<Vec<Removed>> {
        let _lock = self.lock(true)?;
        let mut records = Vec::new();
        self.db.write(|tx| loop {
            let mut progress = false;
            for id in tx.image_ids()? {
                if tx.image(&id)?.is_none()
                    || !tx.children(&id)?.is_empty()
                    || !tx.snapshots_of(&id)?.is_empty()
                    || (!all && !tx.refs_of(&id)?.is_empty())
                {
                    continue;
                }
                for r in self.refs(tx, &id)? {
                    tx.delete_ref(&r.to_string())?;
                    records.push(Removed::Untagged(r.familiar()));
                }
                self.delete_image(tx, &id, (false, true, true), &mut records, None)?;
                progress |= tx.image(&id)?.is_none();
            }
            if !progress || !all {
                return Ok::<_, StoreError>(());
            }
        })?;
        Ok(records)
    }

    /// Collects garbage: layers no image, snapshot or other layer uses;
    /// blobs no image or layer refers to; layer and snapshot directories
    /// without a record (a snapshot directory that is mounted is left
    /// alone); whatever in `<root>/tmp` has not changed for an hour (work
    /// in flight there may not hold the store's lock). Snapshots themselves
    /// are kept until [`Store::remove_snapshot`].
    pub fn gc(&self) -> Result<GcStats> {
        let _lock = self.lock(true)?;
        let mut stats = GcStats::default();
        let (layers, blobs) = self.db.write(|tx| {
            loop {
                let unused = tx.unused_layers()?;
                if unused.is_empty() {
                    break;
                }
                for chain in unused {
                    if let Some(l) = tx.layer(&chain)? {
                        stats.bytes += l.size;
                    }
                    tx.delete_layer(&chain)?;
                }
            }
            let blobs: HashSet<Digest> = tx.referenced_blobs()?.into_iter().collect();
            Ok::<_, StoreError>((tx.layer_ids()?, blobs))
        })?;
        for entry in read_dir(&self.root.join("layers"))? {
            let keep = entry
                .to_str()
                .and_then(|n| Digest::from_hex(n).ok())
                .is_some_and(|d| layers.binary_search(&d).is_ok());
            if !keep {
                remove_tree(&self.root.join("layers").join(&entry))?;
                stats.layers += 1;
            }
        }
        for b in self.content.list()? {
            if !blobs.contains(&b) {
                stats.bytes += self.content.size(&b).unwrap_or(0);
                self.content.delete(&b)?;
                stats.blobs += 1;
            }
        }
        stats.leftovers += self.remove_orphan_snapshots_locked()?;
        for entry in read_dir(&self.tmp_dir())? {
            let path = self.tmp_dir().join(entry);
            let age = fs::symlink_metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok());
            if age.is_some_and(|a| a >= TMP_GRACE) {
                remove_tree(&path)?;
                stats.leftovers += 1;
            }
        }
        Ok(stats)
    }
}

impl Store {
    /// Deletes the snapshot directories no record names (what a crash or a
    /// power loss in the middle of a removal leaves); one that is mounted
    /// is left alone. Returns how many went.
    pub fn remove_orphan_snapshots(&self) -> Result<usize> {
        let _lock = self.lock(true)?;
        self.remove_orphan_snapshots_locked()
    }

    fn remove_orphan_snapshots_locked(&self) -> Result<usize> {
        let snapshots = self.db.read(|tx| tx.snapshot_ids())?;
        let mut removed = 0;
        for entry in read_dir(&self.root.join("snapshots"))? {
            let dir = self.root.join("snapshots").join(&entry);
            let known = entry
                .to_str()
                .is_some_and(|n| snapshots.iter().any(|s| s == n));
            if !known && !crate::snapshot::is_mounted(&dir.join("merged")) {
                remove_tree(&dir)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn read_dir(dir: &Path) -> Result<Vec<std::ffi::OsString>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(io_err("read", dir))? {
        out.push(e.map_err(io_err("read", dir))?.file_name());
    }
    out.sort();
    Ok(out)
}

/// Removes a file or a whole tree; a missing one is fine.
fn remove_tree(path: &Path) -> Result<()> {
    let r = match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) => Err(e),
    };
    match r {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("remove", path)(e)),
        _ => Ok(()),
    }
}
