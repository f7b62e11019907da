//! Writing an archive the way docker 25+ does: an OCI image layout that
//! also carries the docker-archive files.
//!
//! ```text
//! blobs/sha256/<hex>   configs, uncompressed layer tars, OCI manifests
//! index.json           one manifest descriptor per name (or one unnamed)
//! manifest.json        [{"Config": "blobs/sha256/…", "RepoTags": […], "Layers": […]}]
//! oci-layout           {"imageLayoutVersion": "1.0.0"}
//! repositories         {"busybox": {"latest": "<top layer hex>"}}
//! ```
//!
//! The tar is reproducible: blobs sorted by digest, then the four files,
//! every entry owned by 0:0 with mode 0644 (directories 0755) and mtime 0.
//! A blob shared by several images is written once.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::docker::ManifestEntry;
use super::oci::{
    Descriptor, Index, Manifest, ANN_IMAGE_NAME, ANN_REF_NAME, MT_OCI_CONFIG, MT_OCI_INDEX,
    MT_OCI_LAYER, MT_OCI_MANIFEST,
};
use super::{io_at, ArchiveError, Result};
use crate::digest::{Digest, DigestReader};
use crate::reference::Reference;

/// One image to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveImage {
    /// The config, exactly as stored (its digest is the image ID).
    pub config: Vec<u8>,
    /// The layers, bottom first: diff ID and the uncompressed tar's path.
    pub layers: Vec<(Digest, PathBuf)>,
    /// Familiar names to save it under (`busybox:latest`); empty when the
    /// image was named by ID.
    pub tags: Vec<String>,
}

/// Where a blob's bytes come from.
enum Blob {
    Bytes(Vec<u8>),
    File(PathBuf),
}

/// Everything an archive holds, before it is written.
struct Layout {
    /// Blobs by digest (sorted: the tar is reproducible).
    blobs: BTreeMap<Digest, Blob>,
    /// The files beside `blobs/`, in the order they are written.
    files: Vec<(&'static str, Vec<u8>)>,
}

/// Writes `images` to `out` as one archive tar.
pub fn write_archive(out: impl Write, images: &[SaveImage]) -> Result<()> {
    let layout = layout(images)?;
    let mut tar = tar::Builder::new(out);
    append_dir(&mut tar, "blobs/")?;
    append_dir(&mut tar, "blobs/sha256/")?;
    for (digest, blob) in &layout.blobs {
        let name = blob_name(digest);
        match blob {
            Blob::Bytes(b) => append_bytes(&mut tar, &name, b)?,
            Blob::File(path) => append_layer(&mut tar, &name, digest, path)?,
        }
    }
    for (name, bytes) in &layout.files {
        append_bytes(&mut tar, name, bytes)?;
    }
    tar.into_inner()
        .and_then(|mut w| w.flush())
        .map_err(ArchiveError::Write)
}

/// Writes `images` as an OCI image layout directory `dir` (created if
/// missing; it must not hold a layout already): the same files as
/// [`write_archive`] puts in its tar.
pub fn write_layout(dir: &Path, images: &[SaveImage]) -> Result<()> {
    let layout = layout(images)?;
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).map_err(io_at(&blobs))?;
    if dir.join("index.json").exists() {
        return Err(ArchiveError::Io {
            path: dir.join("index.json"),
            source: io::Error::from(io::ErrorKind::AlreadyExists),
        });
    }
    for (digest, blob) in &layout.blobs {
        let path = blobs.join(digest.hex());
        match blob {
            Blob::Bytes(b) => fs::write(&path, b).map_err(io_at(&path))?,
            Blob::File(src) => copy_layer(src, &path, digest)?,
        }
    }
    for (name, bytes) in &layout.files {
        let path = dir.join(name);
        fs::write(&path, bytes).map_err(io_at(&path))?;
    }
    Ok(())
}

/// Plans the blobs and the JSON files of an archive of `images`.
fn layout(images: &[SaveImage]) -> Result<Layout> {
    let mut blobs: BTreeMap<Digest, Blob> = BTreeMap::new();
    let mut index = Vec::new();
    let mut manifest_json = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for img in images {
        let config_digest = Digest::of(&img.config);
        let mut layers = Vec::with_capacity(img.layers.len());
        for (diff_id, path) in &img.layers {
            let size = fs::metadata(path).map_err(io_at(path))?.len();
            layers.push(descriptor(MT_OCI_LAYER, diff_id, size));
            blobs.insert(diff_id.clone(), Blob::File(path.clone()));
        }
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(MT_OCI_MANIFEST.to_string()),
            config: descriptor(MT_OCI_CONFIG, &config_digest, img.config.len() as u64),
            layers,
        };
        let manifest_bytes = to_json(&manifest)?;
        let manifest_digest = Digest::of(&manifest_bytes);
        let manifest_desc = descriptor(
            MT_OCI_MANIFEST,
            &manifest_digest,
            manifest_bytes.len() as u64,
        );
        blobs.insert(config_digest.clone(), Blob::Bytes(img.config.clone()));
        blobs.insert(manifest_digest, Blob::Bytes(manifest_bytes));

        if img.tags.is_empty() {
            index.push(manifest_desc.clone());
        }
        for tag in &img.tags {
            let r = Reference::parse(tag).map_err(|source| ArchiveError::Name {
                name: tag.clone(),
                source,
            })?;
            let mut ann = BTreeMap::new();
            ann.insert(ANN_IMAGE_NAME.to_string(), r.to_string());
            if let (Some(t), None) = (r.tag(), r.digest()) {
                ann.insert(ANN_REF_NAME.to_string(), t.to_string());
                if let Some((top, _)) = img.layers.last() {
                    repositories
                        .entry(r.familiar_name())
                        .or_default()
                        .insert(t.to_string(), top.hex().to_string());
                }
            }
            let mut d = manifest_desc.clone();
            d.annotations = Some(ann);
            index.push(d);
        }
        manifest_json.push(ManifestEntry {
            config: blob_name(&config_digest),
            repo_tags: (!img.tags.is_empty()).then(|| img.tags.clone()),
            layers: img.layers.iter().map(|(d, _)| blob_name(d)).collect(),
        });
    }
    let index = Index {
        schema_version: 2,
        media_type: Some(MT_OCI_INDEX.to_string()),
        manifests: index,
    };
    let mut files = vec![
        ("index.json", to_json(&index)?),
        ("manifest.json", to_json(&manifest_json)?),
        ("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
    ];
    if !repositories.is_empty() {
        files.push(("repositories", to_json(&repositories)?));
    }
    Ok(Layout { blobs, files })
}

/// Copies a layer file to `dest`, checking that it hashes to its diff ID.
fn copy_layer(src: &Path, dest: &Path, diff_id: &Digest) -> Result<()> {
    let f = File::open(src).map_err(io_at(src))?;
    let mut out = File::create(dest).map_err(io_at(dest))?;
    let mut r = DigestReader::new(f);
    io::copy(&mut r, &mut out).map_err(io_at(dest))?;
    let (_, actual, _) = r.finish();
    if &actual != diff_id {
        return Err(ArchiveError::LayerMismatch {
            diff_id: diff_id.clone(),
            path: src.to_path_buf(),
            actual,
        });
    }
    Ok(())
}

fn descriptor(media_type: &str, digest: &Digest, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type.to_string(),
        digest: digest.to_string(),
        size,
        urls: None,
        annotations: None,
        platform: None,
    }
}

fn blob_name(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm(), d.hex())
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|source| ArchiveError::Json {
        file: "output".to_string(),
        source,
    })
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(size);
    h
}

fn append_dir<W: Write>(tar: &mut tar::Builder<W>, name: &str) -> Result<()> {
    let mut h = header(tar::EntryType::Directory, 0o755, 0);
    tar.append_data(&mut h, name, std::io::empty())
        .map_err(ArchiveError::Write)
}

fn append_bytes<W: Write>(tar: &mut tar::Builder<W>, name: &str, bytes: &[u8]) -> Result<()> {
    let mut h = header(tar::EntryType::Regular, 0o644, bytes.len() as u64);
    tar.append_data(&mut h, name, bytes)
        .map_err(ArchiveError::Write)
}

/// Streams a layer file into the tar, checking that it hashes to its diff
/// ID (a store blob that rotted is named, not passed on).
fn append_layer<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    diff_id: &Digest,
    path: &Path,
) -> Result<()> {
    let f = File::open(path).map_err(io_at(path))?;
    let size = f.metadata().map_err(io_at(path))?.len();
    let mut h = header(tar::EntryType::Regular, 0o644, size);
    let mut r = DigestReader::new(f.take(size));
    tar.append_data(&mut h, name, &mut r)
        .map_err(ArchiveError::Write)?;
    let (_, actual, n) = r.finish();
    if &actual != diff_id || n != size {
        return Err(ArchiveError::LayerMismatch {
            diff_id: diff_id.clone(),
            path: path.to_path_buf(),
            actual,
        });
    }
    Ok(())
}
