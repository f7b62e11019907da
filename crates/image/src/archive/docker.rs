//! The docker-archive format: `manifest.json`, a list of
//! `{"Config", "RepoTags", "Layers"}` whose paths lead to files of the
//! archive — `<id>.json` and `<id>/layer.tar` as docker 20.10 writes them,
//! `blobs/sha256/<hex>` as docker 25+ does.
//!
//! A path that names its content (`blobs/sha256/<hex>`, or a config named
//! `<hex>.json`) is verified against that digest. Other layer paths (the
//! legacy `<id>/layer.tar`, whose id is not a content digest) are checked
//! later, when the store computes their diff IDs.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::extract::clean;
use super::oci::parse;
use super::{read_file, verify_bytes, verify_file, ArchiveError, ArchiveImage, Result};
use crate::digest::{is_full_hex, Digest};

/// One entry of `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ManifestEntry {
    /// The config file's path in the archive.
    #[serde(rename = "Config")]
    pub config: String,
    /// Familiar names (`busybox:latest`); `null` when untagged.
    #[serde(rename = "RepoTags")]
    pub repo_tags: Option<Vec<String>>,
    /// The layer files' paths, bottom first.
    #[serde(rename = "Layers")]
    pub layers: Vec<String>,
}

/// Reads every image listed in `dir/manifest.json`.
pub(crate) fn read(dir: &Path) -> Result<Vec<ArchiveImage>> {
    let bytes = read_file(&dir.join("manifest.json"))?;
    let entries: Vec<ManifestEntry> = parse(&bytes, "manifest.json")?;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let config_path = inside(dir, &e.config)?;
        let config = read_file(&config_path)?;
        if let Some(d) = named_digest(&e.config) {
            verify_bytes(&config, &d, None)?;
        }
        let mut layers = Vec::with_capacity(e.layers.len());
        for l in &e.layers {
            let path = inside(dir, l)?;
            if let Some(d) = named_digest(l) {
                verify_file(&path, &d, None)?;
            }
            layers.push(path);
        }
        out.push(ArchiveImage {
            config,
            layers,
            repo_tags: e.repo_tags.unwrap_or_default(),
        });
    }
    Ok(out)
}

/// `rel` (a path from `manifest.json`) below `dir`, if it stays inside and
/// is a regular file of the archive.
fn inside(dir: &Path, rel: &str) -> Result<PathBuf> {
    let missing = || ArchiveError::Missing {
        path: rel.to_string(),
    };
    let clean = clean(Path::new(rel)).ok_or_else(missing)?;
    let path = dir.join(clean);
    // The unpacked archive holds no symlinks, so this is the file itself.
    if path.is_file() {
        Ok(path)
    } else {
        Err(missing())
    }
}

/// The digest a path names by its form: `blobs/sha256/<hex>` or
/// `<hex>.json`.
fn named_digest(rel: &str) -> Option<Digest> {
    let hex = rel
        .strip_prefix("blobs/sha256/")
        .or_else(|| rel.strip_suffix(".json").filter(|h| !h.contains('/')))?;
    if is_full_hex(hex) {
        Digest::from_hex(hex).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_named_paths() {
        let hex = "a".repeat(64);
        assert!(named_digest(&format!("blobs/sha256/{hex}")).is_some());
        assert!(named_digest(&format!("{hex}.json")).is_some());
        assert!(named_digest(&format!("{hex}/layer.tar")).is_none());
        assert!(named_digest("config.json").is_none());
    }
}
