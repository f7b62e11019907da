//! The image store: one directory (`--root`) holding blobs, unpacked
//! layers, snapshots and the SQLite metadata.
//!
//! ```text
//! <root>/wharf.db                  metadata (WAL)
//! <root>/blobs/sha256/<hex>        configs, manifests, uncompressed layer tars
//! <root>/layers/<chain-hex>/diff   an unpacked layer (an overlay lower dir)
//! <root>/snapshots/<id>/{upper,work,merged}
//! <root>/tmp/                      temporary files, renamed into place
//! ```
//!
//! A layer is stored once, keyed by its chain ID; an image is its config
//! (the image ID is the config's digest) plus the layers its `diff_ids`
//! name. Several processes may use one store at once: the database
//! serializes the writers, and a shared `flock` on `<root>/lock` keeps
//! [`Store::gc`] (which takes it exclusively) away from writes in flight.
//! Removal (`rmi`, prune, gc) is in [`crate::gc`], snapshots in
//! [`crate::snapshot`].

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::config::{ConfigError, ImageConfig};
use crate::content::{lock_file, sync_dir, ContentError, ContentStore};
use crate::db::{now, Db, DbError, ImageRow, LayerRow, Tx};
use crate::digest::{chain_id, chain_ids, is_full_hex, Digest, DigestError};
use crate::layer::{self, ApplyOptions, LayerError};
use crate::reference::{Reference, ReferenceError};
use crate::snapshot::SnapshotError;

/// Every error of the store; the crate's top-level error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A blob store error.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// A database error.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A bad reference.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// A bad image config.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A bad digest.
    #[error(transparent)]
    Digest(#[from] DigestError),
    /// A snapshot error.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// Unpacking a layer failed.
    #[error("failed to unpack layer")]
    Layer(#[source] LayerError),
    /// No image by that name or ID (Docker: "No such image: busybox:latest").
    #[error("no such image: {name}")]
    NoSuchImage {
        /// The name or ID given.
        name: String,
    },
    /// An ID prefix matches several images.
    #[error("multiple IDs found with provided prefix: {prefix}")]
    AmbiguousId {
        /// The prefix given.
        prefix: String,
    },
    /// No layer with that chain ID.
    #[error("no such layer: {chain_id}")]
    NoSuchLayer {
        /// The chain ID.
        chain_id: Digest,
    },
    /// An image config names a layer that is not in the store.
    #[error("image config needs layer {diff_id} (chain {chain_id}), which is not in the store")]
    MissingLayer {
        /// The layer's diff ID.
        diff_id: Digest,
        /// Its chain ID.
        chain_id: Digest,
    },
    /// A reference with both a tag and a digest cannot name an image here.
    #[error("refusing to create a tag with a digest reference: {reference}")]
    TagWithDigest {
        /// The reference.
        reference: String,
    },
    /// Docker's `rmi` conflict: the image cannot be deleted as asked.
    #[error("conflict: unable to delete {image} ({}) - {reason}", if *.hard { "cannot be forced" } else { "must be forced" })]
    DeleteConflict {
        /// The image's short ID.
        image: String,
        /// `true` if even `force` cannot delete it.
        hard: bool,
        /// Why.
        reason: String,
    },
    /// Docker's `rmi` of the last tag of an image a container uses.
    #[error("conflict: unable to remove repository reference {reference:?} (must force) - container {container} is using its referenced image {image}")]
    ReferenceInUse {
        /// The reference given.
        reference: String,
        /// The snapshot (container) using the image.
        container: String,
        /// The image's short ID.
        image: String,
    },
    /// A file operation on the store failed.
    #[error("failed to {what} {path}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub(crate) fn io_err<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// A stored layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Chain ID: this layer and everything below it.
    pub chain_id: Digest,
    /// Digest of the uncompressed tar (also its blob's name).
    pub diff_id: Digest,
    /// Chain ID of the layer below.
    pub parent: Option<Digest>,
    /// Unpacked size in bytes.
    pub size: u64,
    /// The unpacked directory, `<root>/layers/<chain-hex>/diff`.
    pub dir: PathBuf,
}

/// A stored image.
#[derive(Debug, Clone)]
pub struct Image {
    /// Image ID, the digest of `config_bytes`.
    pub id: Digest,
    /// The parsed config.
    pub config: ImageConfig,
    /// The config exactly as stored.
    pub config_bytes: Vec<u8>,
    /// `config.created`, parsed.
    pub created: Option<OffsetDateTime>,
    /// Sum of the layer sizes.
    pub size: u64,
    /// Tags in familiar form (`busybox:latest`), oldest first.
    pub repo_tags: Vec<String>,
    /// Digest references in familiar form (`busybox@sha256:…`).
    pub repo_digests: Vec<String>,
    /// Every reference, normalized.
    pub references: Vec<Reference>,
    /// The layers, bottom first.
    pub layers: Vec<Layer>,
    /// The local parent image (set by the builder).
    pub parent: Option<Digest>,
}

impl Image {
    /// The top layer's chain ID (`None` for an image without layers).
    pub fn top_layer(&self) -> Option<&Digest> {
        self.layers.last().map(|l| &l.chain_id)
    }
}

/// An image store rooted at one directory.
#[derive(Debug)]
pub struct Store {
    pub(crate) root: PathBuf,
    pub(crate) db: Db,
    pub(crate) content: ContentStore,
}

/// A held `flock` on `<root>/lock`, released on drop; see [`Store::hold`].
#[derive(Debug)]
pub struct StoreLock(#[allow(dead_code)] File);

impl Store {
    /// Opens the store at `root`, creating its directories and database.
    pub fn open(root: &Path) -> Result<Store> {
        // The blob store makes `blobs` and `tmp`.
        for d in ["layers", "snapshots"] {
            let p = root.join(d);
            fs::create_dir_all(&p).map_err(io_err("create", &p))?;
        }
        let content = ContentStore::new(root)?;
        let db = Db::open(&root.join("wharf.db"))?;
        Ok(Store {
            root: root.to_owned(),
            db,
            content,
        })
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The blob store.
    pub fn content(&self) -> &ContentStore {
        &self.content
    }

    /// The metadata database (for code in this crate that adds records).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// `<root>/tmp`, on the same filesystem as everything else.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// A new anonymous temporary file in `<root>/tmp` (gone when closed).
    pub fn temp_file(&self) -> Result<File> {
        let tmp = self.tmp_dir();
        tempfile::tempfile_in(&tmp).map_err(io_err("create a temporary file in", &tmp))
    }

    /// A new directory `<root>/tmp/<prefix>…`, removed on drop unless it is
    /// renamed away first.
    pub(crate) fn temp_dir(&self, prefix: &str) -> Result<tempfile::TempDir> {
        let tmp = self.tmp_dir();
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(&tmp)
            .map_err(io_err("create a directory in", &tmp))
    }

    /// Holds garbage collection off (a shared lock on `<root>/lock`) until
    /// the guard is dropped: take it around a sequence of calls whose
    /// content is unreferenced in between, such as layers added one by one
    /// before the image that uses them. [`Store::gc`], [`Store::prune`] and
    /// [`Store::remove_image`] wait for every guard, so do not call them
    /// while holding one in the same thread.
    pub fn hold(&self) -> Result<StoreLock> {
        self.lock(false)
    }

    pub(crate) fn lock(&self, exclusive: bool) -> Result<StoreLock> {
        let path = self.root.join("lock");
        let f = lock_file(&path, exclusive).map_err(io_err("lock", &path))?;
        Ok(StoreLock(f))
    }

    /// `<root>/layers/<chain-hex>`.
    pub(crate) fn layer_home(&self, chain_id: &Digest) -> PathBuf {
        self.root.join("layers").join(chain_id.hex())
    }

    fn layer_from_row(&self, row: LayerRow) -> Layer {
        Layer {
            dir: self.layer_home(&row.chain_id).join("diff"),
            chain_id: row.chain_id,
            diff_id: row.diff_id,
            parent: row.parent,
            size: row.size,
        }
    }

    // ---- layers ----

    /// Adds a layer on top of the layer `parent` (a chain ID) from a tar
    /// stream (plain, gzip or zstd): the uncompressed tar is kept as the blob
    /// named by its diff ID, and unpacked (with overlay whiteouts) into
    /// `<root>/layers/<chain-hex>/diff`. The unpack goes to a directory in
    /// `<root>/tmp` renamed into place at the end, so a failure leaves
    /// nothing behind. Adding a layer that exists changes nothing.
    pub fn add_layer(&self, parent: Option<&Digest>, tar: impl Read) -> Result<Layer> {
        let _lock = self.lock(false)?;
        if let Some(p) = parent {
            self.layer(p)?;
        }
        let work = self.temp_dir("layer-")?;
        fs::set_permissions(work.path(), fs::Permissions::from_mode(0o755))
            .map_err(io_err("chmod", work.path()))?;
        let diff = work.path().join("diff");
        fs::create_dir(&diff).map_err(io_err("create", &diff))?;

        let mut blob = self.content.writer()?;
        let stream = layer::decompress(tar).map_err(StoreError::Layer)?;
        let mut tee = Tee {
            inner: stream,
            copy: &mut blob,
        };
        // Decompressed once above: a layer compressed twice is refused, not
        // unwrapped again. apply_tar reads to the end of the stream, past
        // the end-of-archive blocks, so the diff ID is the digest of every
        // byte.
        let stats =
            layer::apply_tar(&mut tee, &diff, &ApplyOptions::LAYER).map_err(StoreError::Layer)?;
        layer::sync_tree(&diff).map_err(StoreError::Layer)?;
        let (diff_id, _) = blob.commit(None)?;
        let chain = chain_id(parent, &diff_id);

        let home = self.layer_home(&chain);
        if !home.join("diff").is_dir() {
            match fs::rename(work.path(), &home) {
                Ok(()) => {
                    let layers = self.root.join("layers");
                    sync_dir(&layers).map_err(io_err("sync", &layers))?;
                }
                // Another process put the same layer in place first.
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTEMPTY | libc::EEXIST)) => {}
                Err(e) => return Err(io_err("rename a layer to", &home)(e)),
            }
        }
        let row = LayerRow {
            chain_id: chain.clone(),
            diff_id,
            parent: parent.cloned(),
            size: stats.bytes,
        };
        let row = self.db.write(|tx| {
            tx.insert_layer(&row)?;
            tx.layer(&chain)
        })?;
        let row = row.ok_or(StoreError::NoSuchLayer { chain_id: chain })?;
        Ok(self.layer_from_row(row))
    }

    /// The layer with chain ID `chain_id`.
    pub fn layer(&self, chain_id: &Digest) -> Result<Layer> {
        let row = self.db.read(|tx| tx.layer(chain_id))?;
        let row = row.ok_or_else(|| StoreError::NoSuchLayer {
            chain_id: chain_id.clone(),
        })?;
        Ok(self.layer_from_row(row))
    }

    /// `true` if the layer `chain_id` is in the store.
    pub fn has_layer(&self, chain_id: &Digest) -> Result<bool> {
        Ok(self.db.read(|tx| tx.layer(chain_id))?.is_some())
    }

    /// Every layer's chain ID.
    pub fn layers(&self) -> Result<Vec<Digest>> {
        Ok(self.db.read(|tx| tx.layer_ids())?)
    }

    // ---- images ----

    /// Adds the image whose config is `config_json` (stored byte for byte;
    /// its digest is the image ID). Every layer its `rootfs.diff_ids` name
    /// must already be in the store. Adding an existing image changes
    /// nothing.
    pub fn add_image(&self, config_json: &[u8]) -> Result<Digest> {
        let _lock = self.lock(false)?;
        let cfg = ImageConfig::parse(config_json)?;
        let chain = chain_ids(cfg.diff_ids());
        let created = cfg
            .created_time()
            .ok()
            .flatten()
            .map(OffsetDateTime::unix_timestamp);
        let id = self.content.put(config_json)?;
        self.db.write(|tx| {
            let mut size = 0;
            for (c, d) in chain.iter().zip(cfg.diff_ids()) {
                let l = tx.layer(c)?.ok_or_else(|| StoreError::MissingLayer {
                    diff_id: d.clone(),
                    chain_id: c.clone(),
                })?;
                size += l.size;
            }
            let row = ImageRow {
                id: id.clone(),
                created,
                size,
                added: now(),
                parent: None,
            };
            tx.insert_image(&row, &chain)?;
            Ok::<_, StoreError>(())
        })?;
        Ok(id)
    }

    /// Records that image `id` keeps `blob` (a manifest, say): the blob
    /// lives as long as the image.
    pub fn add_image_blob(&self, id: &Digest, blob: &Digest) -> Result<()> {
        self.db.write(|tx| {
            self.require_image(tx, id)?;
            tx.add_image_blob(id, blob)?;
            Ok(())
        })
    }

    /// Stores `bytes` as a blob that image `id` keeps (a manifest, say), in
    /// one step, so that no garbage collection runs in between.
    pub fn put_image_blob(&self, id: &Digest, bytes: &[u8]) -> Result<Digest> {
        let _lock = self.lock(false)?;
        let blob = self.content.put(bytes)?;
        self.add_image_blob(id, &blob)?;
        Ok(blob)
    }

    /// The extra blobs image `id` keeps.
    pub fn image_blobs(&self, id: &Digest) -> Result<Vec<Digest>> {
        Ok(self.db.read(|tx| tx.image_blobs(id))?)
    }

    /// Sets image `id`'s local parent (the builder's previous step).
    pub fn set_parent(&self, id: &Digest, parent: Option<&Digest>) -> Result<()> {
        self.db.write(|tx| {
            self.require_image(tx, id)?;
            tx.set_parent(id, parent)?;
            Ok(())
        })
    }

    /// Image `id`'s local parent.
    pub fn parent(&self, id: &Digest) -> Result<Option<Digest>> {
        self.db.read(|tx| Ok(self.require_image(tx, id)?.parent))
    }

    /// The images whose local parent is `id`.
    pub fn children(&self, id: &Digest) -> Result<Vec<Digest>> {
        Ok(self.db.read(|tx| tx.children(id))?)
    }

    /// `true` if some image has `id` as its local parent.
    pub fn has_children(&self, id: &Digest) -> Result<bool> {
        Ok(!self.children(id)?.is_empty())
    }

    pub(crate) fn require_image(&self, tx: &Tx<'_>, id: &Digest) -> Result<ImageRow> {
        tx.image(id)?.ok_or_else(|| StoreError::NoSuchImage {
            name: id.to_string(),
        })
    }

    /// The ID of the image `name` names: a reference (`busybox`,
    /// `busybox:1.36`, `name@sha256:…`), a full ID (with or without
    /// `sha256:`) or a unique prefix of one, in Docker's order.
    pub fn image_id(&self, name: &str) -> Result<Digest> {
        self.db.read(|tx| self.resolve(tx, name))
    }

    pub(crate) fn resolve(&self, tx: &Tx<'_>, name: &str) -> Result<Digest> {
        let parsed = Reference::parse(name).map(Reference::with_default_tag);
        // Docker names the missing image as normalized: `nothere:latest`.
        let shown = parsed
            .as_ref()
            .map_or_else(|_| name.to_owned(), Reference::familiar);
        let missing = || StoreError::NoSuchImage {
            name: shown.clone(),
        };
        if let Ok(d) = name.parse::<Digest>() {
            return tx.image(&d)?.map(|r| r.id).ok_or_else(missing);
        }
        if is_full_hex(name) {
            let d = Digest::from_hex(name)?;
            return tx.image(&d)?.map(|r| r.id).ok_or_else(missing);
        }
        if let Ok(r) = &parsed {
            if let Some(id) = tx.ref_target(&r.to_string())? {
                return Ok(id);
            }
            if r.tag().is_none() {
                if let Some(d) = r.digest() {
                    if tx.image(d)?.is_some() {
                        return Ok(d.clone());
                    }
                }
            }
        }
        let prefix = name.strip_prefix("sha256:").unwrap_or(name);
        if !prefix.is_empty()
            && prefix.len() < 64
            && prefix
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            let mut ids = tx.image_ids_with_prefix(prefix)?;
            match ids.len() {
                0 => {}
                1 => return Ok(ids.remove(0)),
                _ => {
                    return Err(StoreError::AmbiguousId {
                        prefix: name.into(),
                    })
                }
            }
        } else if let Err(e) = parsed {
            // Neither a reference nor an ID: say what is wrong with it.
            return Err(e.into());
        }
        Err(missing())
    }

    /// The image `name` names (see [`Store::image_id`]).
    pub fn image(&self, name: &str) -> Result<Image> {
        let id = self.image_id(name)?;
        self.image_by_id(&id)
    }

    /// The image with ID `id`.
    pub fn image_by_id(&self, id: &Digest) -> Result<Image> {
        let (row, layers, refs) = self.db.read(|tx| {
            let row = self.require_image(tx, id)?;
            let mut layers = Vec::new();
            for c in tx.image_layers(id)? {
                let l = tx
                    .layer(&c)?
                    .ok_or(StoreError::NoSuchLayer { chain_id: c })?;
                layers.push(self.layer_from_row(l));
            }
            Ok::<_, StoreError>((row, layers, tx.refs_of(id)?))
        })?;
        let config_bytes = self.content.read(id)?;
        let config = ImageConfig::parse(&config_bytes)?;
        let created = config.created_time().ok().flatten();
        let mut image = Image {
            id: id.clone(),
            config,
            config_bytes,
            created,
            size: row.size,
            repo_tags: Vec::new(),
            repo_digests: Vec::new(),
            references: Vec::new(),
            layers,
            parent: row.parent,
        };
        for name in refs {
            let r = Reference::parse(&name)?;
            match r.digest() {
                Some(_) => image.repo_digests.push(r.familiar()),
                None => image.repo_tags.push(r.familiar()),
            }
            image.references.push(r);
        }
        Ok(image)
    }

    /// Every image, newest first.
    pub fn images(&self) -> Result<Vec<Image>> {
        let ids = self.db.read(|tx| tx.image_ids())?;
        ids.iter().map(|id| self.image_by_id(id)).collect()
    }

    /// Points `r` at image `id`: a tag (`latest` if `r` has neither tag nor
    /// digest) moves from any other image, or a digest reference
    /// (`name@sha256:…`, the manifest's digest) is recorded.
    pub fn tag(&self, id: &Digest, r: &Reference) -> Result<()> {
        if r.tag().is_some() && r.digest().is_some() {
            return Err(StoreError::TagWithDigest {
                reference: r.familiar(),
            });
        }
        let r = r.clone().with_default_tag();
        self.db.write(|tx| {
            self.require_image(tx, id)?;
            tx.set_ref(&r.to_string(), id)?;
            Ok(())
        })
    }

    /// Removes the reference `r` (`latest` if it has neither tag nor digest).
    pub fn untag(&self, r: &Reference) -> Result<()> {
        let r = r.clone().with_default_tag();
        self.db.write(|tx| match tx.delete_ref(&r.to_string())? {
            true => Ok(()),
            false => Err(StoreError::NoSuchImage { name: r.familiar() }),
        })
    }
}

/// Copies everything read from `inner` into `copy`.
struct Tee<'a, R, W> {
    inner: R,
    copy: &'a mut W,
}

impl<R: Read, W: Write> Read for Tee<'_, R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}
