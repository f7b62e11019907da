//! `load` and `save` on the [`Store`]: archives in, archives out.
//!
//! Loading unpacks the archive in the store's own temporary directory (same
//! filesystem, removed afterwards whatever happens), adds each image's
//! layers bottom up — a layer already in the store by chain ID is not
//! unpacked again — checks every layer's diff ID against the config, adds
//! the config and moves the archive's tags to it, as `docker load` does.
//!
//! Saving writes, for each name, the image it resolves to: by tag (or
//! name) keeps that tag, by ID (or digest) saves it untagged. Several
//! names of one image make one image with several tags.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use super::{
    extract, read_dir, write_archive, write_layout, ArchiveError, ArchiveImage, SaveImage,
};
use crate::config::{ConfigError, ImageConfig};
use crate::digest::{chain_id, Digest};
use crate::reference::{Reference, ReferenceError};
use crate::store::{Store, StoreError};

/// Errors of [`load`] and [`save`].
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The archive itself is unreadable, unsafe or inconsistent.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// The archive stream's compression could not be read.
    #[error("failed to decompress the archive")]
    Decompress(#[source] crate::layer::LayerError),
    /// The store's temporary directory could not be used.
    #[error("failed to make a temporary directory in {path}")]
    TempDir {
        /// The store's temporary directory.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An image config in the archive does not parse.
    #[error("invalid config of image {id}")]
    Config {
        /// The image ID.
        id: Digest,
        /// Why.
        #[source]
        source: ConfigError,
    },
    /// The archive lists a different number of layers than the config.
    #[error("image {id} lists {layers} layers but its config has {diff_ids} diff IDs")]
    LayerCount {
        /// The image.
        id: Digest,
        /// Layer files in the archive.
        layers: usize,
        /// diff_ids in the config.
        diff_ids: usize,
    },
    /// A layer whose content does not hash to the diff ID its config gives.
    #[error("layer {index} of image {id} should be {expected} but its content is {actual}")]
    DiffId {
        /// The image.
        id: Digest,
        /// Index of the layer, bottom first.
        index: usize,
        /// The diff ID in the config.
        expected: Digest,
        /// The diff ID of the layer in the archive.
        actual: Digest,
    },
    /// A name in the archive or given to save is not a valid reference.
    #[error("invalid image name {name}")]
    Name {
        /// The name.
        name: String,
        /// Why.
        #[source]
        source: ReferenceError,
    },
    /// A layer file of the archive could not be opened.
    #[error("failed to open layer {path}")]
    Open {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The store refused an operation.
    #[error("failed to {what}")]
    Store {
        /// What was being done, naming the image or layer.
        what: String,
        /// Why.
        #[source]
        source: StoreError,
    },
}

/// One image [`load`] added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The image ID.
    pub id: Digest,
    /// The tags it got (familiar form, `busybox:latest`); empty when the
    /// archive names none, and docker prints "Loaded image ID: …".
    pub tags: Vec<String>,
}

/// Loads every image of the archive tar `r` (docker-archive or OCI layout,
/// as a tar; plain, gzip or zstd) into `store`.
pub fn load(store: &Store, r: impl Read) -> Result<Vec<Loaded>, LoadError> {
    let tmp_root = store.tmp_dir();
    let tmp = tempfile::Builder::new()
        .prefix("load-")
        .tempdir_in(&tmp_root)
        .map_err(|source| LoadError::TempDir {
            path: tmp_root.clone(),
            source,
        })?;
    // `docker load` takes a compressed archive too.
    let r = crate::layer::decompress(r).map_err(LoadError::Decompress)?;
    extract(r, tmp.path())?;
    load_dir(store, tmp.path())
}

/// Loads every image of an archive already unpacked in `dir` (or an OCI
/// layout directory). The directory is trusted: a caller with an untrusted
/// tar uses [`load`], which unpacks it safely first.
pub fn load_dir(store: &Store, dir: &Path) -> Result<Vec<Loaded>, LoadError> {
    let images = read_dir(dir)?;
    // A shared hold on the store from the first layer to the last tag:
    // garbage collection (exclusive) cannot take the new layers away
    // before the image that keeps them is recorded.
    let _lock = hold(store)?;
    let mut loaded = Vec::with_capacity(images.len());
    for img in &images {
        loaded.push(load_image(store, img)?);
    }
    Ok(loaded)
}

fn load_image(store: &Store, img: &ArchiveImage) -> Result<Loaded, LoadError> {
    let id = img.id();
    let config = ImageConfig::parse(&img.config).map_err(|source| LoadError::Config {
        id: id.clone(),
        source,
    })?;
    let diff_ids = config.diff_ids();
    if diff_ids.len() != img.layers.len() {
        return Err(LoadError::LayerCount {
            id,
            layers: img.layers.len(),
            diff_ids: diff_ids.len(),
        });
    }
    let mut parent: Option<Digest> = None;
    for (index, (path, expected)) in img.layers.iter().zip(diff_ids).enumerate() {
        let chain = chain_id(parent.as_ref(), expected);
        let what = || format!("add layer {expected} of image {id}");
        let layer = match store.layer(&chain) {
            Err(StoreError::NoSuchLayer { .. }) => {
                let f = File::open(path).map_err(|source| LoadError::Open {
                    path: path.clone(),
                    source,
                })?;
                store.add_layer(parent.as_ref(), f)
            }
            found => found,
        }
        .map_err(|source| LoadError::Store {
            what: what(),
            source,
        })?;
        if &layer.diff_id != expected {
            return Err(LoadError::DiffId {
                id,
                index,
                expected: expected.clone(),
                actual: layer.diff_id.clone(),
            });
        }
        parent = Some(layer.chain_id.clone());
    }
    let got = store
        .add_image(&img.config)
        .map_err(|source| LoadError::Store {
            what: format!("add image {id}"),
            source,
        })?;
    let mut tags = Vec::new();
    for name in &img.repo_tags {
        let r = parse_name(name)?.with_default_tag();
        store.tag(&got, &r).map_err(|source| LoadError::Store {
            what: format!("tag image {got} as {name}"),
            source,
        })?;
        tags.push(r.familiar());
    }
    Ok(Loaded { id: got, tags })
}

/// Writes the images `names` resolve to as one archive.
pub fn save(store: &Store, names: &[String], out: impl Write) -> Result<(), LoadError> {
    // Held while writing, so that no blob goes away under the archive.
    let _lock = hold(store)?;
    write_archive(out, &to_save(store, names)?)?;
    Ok(())
}

/// Writes the images `names` resolve to as an OCI image layout directory
/// (`dir` created if missing, without a layout in it yet).
pub fn save_dir(store: &Store, names: &[String], dir: &Path) -> Result<(), LoadError> {
    let _lock = hold(store)?;
    write_layout(dir, &to_save(store, names)?)?;
    Ok(())
}

/// The images `names` resolve to, each once, with the tags named.
fn to_save(store: &Store, names: &[String]) -> Result<Vec<SaveImage>, LoadError> {
    let mut images: Vec<SaveImage> = Vec::new();
    for name in names {
        let img = store.image(name).map_err(|source| LoadError::Store {
            what: format!("find image {name}"),
            source,
        })?;
        let tag = tag_of(name, &img.repo_tags);
        let i = match images.iter().position(|s| Digest::of(&s.config) == img.id) {
            Some(i) => i,
            None => {
                let layers = img
                    .layers
                    .iter()
                    .map(|l| (l.diff_id.clone(), store.content().path(&l.diff_id)))
                    .collect();
                images.push(SaveImage {
                    config: img.config_bytes.clone(),
                    layers,
                    tags: Vec::new(),
                });
                images.len() - 1
            }
        };
        if let Some(t) = tag {
            if !images[i].tags.contains(&t) {
                images[i].tags.push(t);
            }
        }
    }
    Ok(images)
}

/// The tag a name given to `save` keeps: its familiar form with the
/// default tag, when it is one of the image's tags (a name that only
/// matched as an ID prefix, or a digest reference, keeps none).
fn tag_of(name: &str, repo_tags: &[String]) -> Option<String> {
    let r = Reference::parse(name).ok()?;
    if r.digest().is_some() {
        return None;
    }
    let familiar = r.with_default_tag().familiar();
    repo_tags.contains(&familiar).then_some(familiar)
}

/// Holds garbage collection off (see [`Store::hold`]).
fn hold(store: &Store) -> Result<crate::store::StoreLock, LoadError> {
    store.hold().map_err(|source| LoadError::Store {
        what: "lock the store".to_string(),
        source,
    })
}

fn parse_name(name: &str) -> Result<Reference, LoadError> {
    Reference::parse(name).map_err(|source| LoadError::Name {
        name: name.to_string(),
        source,
    })
}
