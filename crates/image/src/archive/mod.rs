//! Image archives: the docker-archive format (what `docker save` writes) and
//! the OCI image layout, read and written.
//!
//! Reading works on a directory: [`extract`] unpacks an untrusted archive tar
//! safely (directories and regular files only), then [`read_dir`] finds the
//! images in it — through `manifest.json` (docker-archive, as docker 20.10
//! and 25+ write it) or through `oci-layout` + `index.json` (OCI layout,
//! nested indexes included) — and verifies every blob named by a digest.
//!
//! Writing ([`write_archive`]) produces what docker 25+ writes: an OCI layout
//! (`oci-layout`, `index.json`, `blobs/sha256/…`) that also carries
//! `manifest.json` and `repositories`, so that docker 20.10 (through
//! `manifest.json`) and OCI tools (through `index.json`) both read it.
//!
//! The read and write core knows only plain types; [`load`] and [`save`]
//! connect it to the [`Store`](crate::store::Store).

mod docker;
mod extract;
mod load;
mod oci;
mod write;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::digest::{Digest, DigestError};
use crate::reference::ReferenceError;

pub use extract::extract;
pub use load::{load, load_dir, save, save_dir, LoadError, Loaded};
pub use write::{write_archive, write_layout, SaveImage};

/// Errors reading or writing an image archive.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The archive stream could not be read (or is not a tar).
    #[error("failed to read the archive")]
    Read(#[source] io::Error),
    /// The archive stream could not be written.
    #[error("failed to write the archive")]
    Write(#[source] io::Error),
    /// A file of the unpacked archive could not be read or written.
    #[error("failed to access {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// An entry of the archive tar that is never unpacked.
    #[error("refusing archive entry {path}: {reason}")]
    UnsafeEntry {
        /// The entry's name as written in the tar.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Neither `manifest.json` nor an OCI layout.
    #[error("archive is neither a docker archive (manifest.json) nor an OCI layout (index.json)")]
    UnknownFormat,
    /// A JSON file of the archive does not parse.
    #[error("invalid {file} in the archive")]
    Json {
        /// The file (or blob digest).
        file: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A reference to a file the archive does not hold, or one that climbs
    /// out of it.
    #[error("archive refers to {path}, which it does not hold")]
    Missing {
        /// The path as written in the archive.
        path: String,
    },
    /// A digest that does not parse or is not sha256.
    #[error("invalid digest in the archive")]
    Digest(#[source] DigestError),
    /// A blob whose content does not match the digest that names it.
    #[error(
        "blob {digest} in the archive does not match its digest (its content hashes to {actual})"
    )]
    DigestMismatch {
        /// The digest that names the blob.
        digest: Digest,
        /// The digest of what the archive holds.
        actual: Digest,
    },
    /// A blob whose size is not the one its descriptor gives.
    #[error("blob {digest} in the archive has {actual} bytes, its descriptor says {expected}")]
    SizeMismatch {
        /// The blob.
        digest: Digest,
        /// The size in the descriptor.
        expected: u64,
        /// The size in the archive.
        actual: u64,
    },
    /// A manifest, index or layer of a kind this store cannot hold.
    #[error("unsupported {what} {media_type} ({digest})")]
    Unsupported {
        /// "manifest", "layer" …
        what: &'static str,
        /// Its media type.
        media_type: String,
        /// Its digest.
        digest: String,
    },
    /// An index with manifests, none of them for this platform.
    #[error("no image for {platform} in index {digest}")]
    NoPlatform {
        /// `os/arch`.
        platform: String,
        /// The index.
        digest: String,
    },
    /// Nesting of indexes deeper than any real archive has.
    #[error("indexes nested too deep at {digest}")]
    TooDeep {
        /// The innermost index reached.
        digest: String,
    },
    /// A tag given to [`write_archive`] is not an image reference.
    #[error("invalid image name {name}")]
    Name {
        /// The tag.
        name: String,
        /// Why.
        #[source]
        source: ReferenceError,
    },
    /// A layer file given to [`write_archive`] does not hash to its diff ID.
    #[error(
        "layer {diff_id} ({path}) does not match its diff ID (its content hashes to {actual})"
    )]
    LayerMismatch {
        /// The diff ID it should have.
        diff_id: Digest,
        /// The file.
        path: PathBuf,
        /// What it hashes to.
        actual: Digest,
    },
}

/// Result of this module.
pub type Result<T, E = ArchiveError> = std::result::Result<T, E>;

/// One image found in an unpacked archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveImage {
    /// The image config, exactly as stored (its sha256 is the image ID).
    pub config: Vec<u8>,
    /// The layer files, bottom first: plain, gzip or zstd tars inside the
    /// unpacked archive.
    pub layers: Vec<PathBuf>,
    /// The names it was saved under (`busybox:latest`, familiar form).
    pub repo_tags: Vec<String>,
}

impl ArchiveImage {
    /// The image ID: the digest of its config.
    pub fn id(&self) -> Digest {
        Digest::of(&self.config)
    }
}

/// The images of an archive unpacked in `dir`, in archive order; an image
/// listed twice (once per tag, as OCI indexes do) appears once with all its
/// tags.
pub fn read_dir(dir: &Path) -> Result<Vec<ArchiveImage>> {
    let images = if dir.join("manifest.json").is_file() {
        docker::read(dir)?
    } else if dir.join("index.json").is_file() {
        oci::read(dir)?
    } else {
        return Err(ArchiveError::UnknownFormat);
    };
    Ok(merge(images))
}

/// Joins images with the same config, keeping the first one's layers and
/// every tag once.
fn merge(images: Vec<ArchiveImage>) -> Vec<ArchiveImage> {
    let mut out: Vec<ArchiveImage> = Vec::new();
    let mut seen: BTreeMap<Digest, usize> = BTreeMap::new();
    for img in images {
        match seen.get(&img.id()) {
            Some(&i) => {
                for t in img.repo_tags {
                    if !out[i].repo_tags.contains(&t) {
                        out[i].repo_tags.push(t);
                    }
                }
            }
            None => {
                seen.insert(img.id(), out.len());
                out.push(img);
            }
        }
    }
    out
}

/// The path of blob `d` below an OCI layout in `dir`.
fn blob_path(dir: &Path, d: &Digest) -> PathBuf {
    dir.join("blobs").join(d.algorithm()).join(d.hex())
}

/// Hashes the file at `path` and fails unless it is `expected` (and, when
/// given, `size` bytes long).
fn verify_file(path: &Path, expected: &Digest, size: Option<u64>) -> Result<()> {
    let f = std::fs::File::open(path).map_err(io_at(path))?;
    let mut r = crate::digest::DigestReader::new(f);
    io::copy(&mut r, &mut io::sink()).map_err(io_at(path))?;
    let (_, actual, n) = r.finish();
    check(expected, &actual, size, n)
}

/// Fails unless `bytes` hash to `expected` (and have `size` bytes).
fn verify_bytes(bytes: &[u8], expected: &Digest, size: Option<u64>) -> Result<()> {
    check(expected, &Digest::of(bytes), size, bytes.len() as u64)
}

fn check(expected: &Digest, actual: &Digest, size: Option<u64>, n: u64) -> Result<()> {
    if actual != expected {
        return Err(ArchiveError::DigestMismatch {
            digest: expected.clone(),
            actual: actual.clone(),
        });
    }
    match size {
        Some(s) if s != n => Err(ArchiveError::SizeMismatch {
            digest: expected.clone(),
            expected: s,
            actual: n,
        }),
        _ => Ok(()),
    }
}

/// Reads a file of the unpacked archive.
fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(io_at(path))
}

/// [`ArchiveError::Io`] on `path`.
fn io_at(path: &Path) -> impl FnOnce(io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io {
        path: path.to_path_buf(),
        source,
    }
}
