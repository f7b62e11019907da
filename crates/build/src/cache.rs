//! The build cache: which image a step produced, keyed by what determines
//! the step's result.
//!
//! A key is the sha256 of the parent image id, the step as it will be
//! recorded (the expanded instruction and the config the step runs with)
//! and the digest of the step's inputs (the content of a `COPY`'s sources,
//! never their modification times). An entry is one small file,
//! `<root>/build-cache/<key>`, holding the resulting image id; it is written
//! to a temporary file and renamed, so a crash leaves the old entry or the
//! new one (the data is fsynced before the rename). An entry whose image
//! was removed since is a miss.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use wharf_image::digest::Digest;

/// Why the cache could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Creating the cache directory or writing an entry failed.
    #[error("failed to write build cache entry {path}")]
    Write {
        /// The entry or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The cache of one store.
#[derive(Debug, Clone)]
pub struct BuildCache {
    dir: PathBuf,
}

/// The parts of a cache key, hashed in this order.
#[derive(Debug, Clone, Copy)]
pub struct CacheKey<'a> {
    /// The image the step starts from (`None`: an empty `FROM scratch`).
    pub parent: Option<&'a Digest>,
    /// The step as it is recorded in the image's history.
    pub step: &'a str,
    /// The config the step runs with, as JSON.
    pub config: &'a [u8],
    /// Digest of the step's inputs (a `COPY`'s sources); empty if none.
    pub inputs: &'a str,
}

impl CacheKey<'_> {
    /// The key as 64 hex digits.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            self.parent.map_or("", Digest::as_str).as_bytes(),
            self.step.as_bytes(),
            self.config,
            self.inputs.as_bytes(),
        ] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        hex::encode(h.finalize())
    }
}

impl BuildCache {
    /// The cache of the store at `root`.
    pub fn new(root: &Path) -> Self {
        BuildCache {
            dir: root.join("build-cache"),
        }
    }

    /// The image the step with key `hash` ([`CacheKey::hash`]) produced
    /// before, if any.
    pub fn get(&self, hash: &str) -> Option<Digest> {
        let text = std::fs::read_to_string(self.dir.join(hash)).ok()?;
        text.trim().parse().ok()
    }

    /// Records that the step with key `hash` produced `image`.
    pub fn put(&self, hash: &str, image: &Digest) -> Result<(), CacheError> {
        let path = self.dir.join(hash);
        let err = |source| CacheError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(err)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(err)?;
        tmp.write_all(image.as_str().as_bytes()).map_err(err)?;
        tmp.as_file().sync_all().map_err(err)?;
        tmp.persist(&path).map_err(|e| err(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_keys_separate_their_parts() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BuildCache::new(dir.path());
        let parent = Digest::of(b"parent");
        let key = CacheKey {
            parent: Some(&parent),
            step: "RUN echo",
            config: b"{}",
            inputs: "",
        };
        assert_eq!(cache.get(&key.hash()), None);
        let image = Digest::of(b"image");
        cache.put(&key.hash(), &image).unwrap();
        assert_eq!(cache.get(&key.hash()), Some(image));
        // Moving bytes between parts gives another key.
        let shifted = CacheKey {
            step: "RUN ech",
            config: b"o{}",
            ..key
        };
        assert_ne!(shifted.hash(), key.hash());
        assert_eq!(cache.get(&shifted.hash()), None);
    }
}
