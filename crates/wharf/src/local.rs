//! Containers run straight from the store, until the engine exists: an
//! image's snapshot mounted as the root, a bundle with the image's process,
//! and the runtime library in this process. A container is a directory
//! `<root>/containers/<id>/` holding `container.json` and its bundle; its
//! writable layer is the store's snapshot of the same id.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use wharf_image::digest::Digest;
use wharf_image::store::Store;

/// What `wharf run` records about a container.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Record {
    /// 64 hex digits.
    pub id: String,
    /// `--name`, or a generated one.
    pub name: String,
    /// The image id.
    pub image: Digest,
    /// The image as the user named it.
    pub image_name: String,
    /// The command, entrypoint included.
    pub command: Vec<String>,
    /// RFC 3339.
    pub created: String,
    /// Exit code once it stopped.
    pub exit_code: Option<i32>,
}

/// The containers of one store.
pub struct Containers<'a> {
    /// The store.
    pub store: &'a Store,
    dir: PathBuf,
}

impl<'a> Containers<'a> {
    /// The containers kept beside `store`.
    pub fn new(store: &'a Store) -> Self {
        Containers {
            dir: store.root().join("containers"),
            store,
        }
    }

    /// Where the runtime keeps its state for these containers.
    pub fn runtime_root(&self) -> PathBuf {
        self.dir.join(".runtime")
    }

    /// The directory of container `id`.
    pub fn dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Every container, newest first.
    pub fn list(&self) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e).context("failed to list containers"),
        };
        for entry in entries {
            let path = entry?.path().join("container.json");
            if let Ok(bytes) = std::fs::read(&path) {
                if let Ok(r) = serde_json::from_slice::<Record>(&bytes) {
                    out.push(r);
                }
            }
        }
        out.sort_by(|a, b| b.created.cmp(&a.created));
        Ok(out)
    }

    /// The container named `name_or_id` (a name, an id or an id prefix).
    pub fn find(&self, name_or_id: &str) -> Result<Record> {
        let all = self.list()?;
        let name = name_or_id.trim_start_matches('/');
        if let Some(r) = all.iter().find(|r| r.name == name || r.id == name) {
            return Ok(r.clone());
        }
        let matches: Vec<&Record> = all.iter().filter(|r| r.id.starts_with(name)).collect();
        match matches.as_slice() {
            [one] if !name.is_empty() => Ok((*one).clone()),
            [] | [_] => bail!("No such container: {name_or_id}"),
            _ => bail!("multiple containers match {name_or_id}: give more of the id"),
        }
    }

    /// Saves a record (temporary file, fsync, rename).
    pub fn save(&self, record: &Record) -> Result<()> {
        let dir = self.dir(&record.id);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("failed to create {}", dir.display()))?;
        let tmp = dir.join("container.json.tmp");
        let mut file = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut file, &serde_json::to_vec_pretty(record)?)?;
        file.sync_all()?;
        std::fs::rename(&tmp, dir.join("container.json"))?;
        Ok(())
    }

    /// Removes a container: what is left of its process (after a killed
    /// `wharf run`), its snapshot, bundle and record.
    pub fn remove(&self, id: &str) -> Result<()> {
        // A `wharf run` that was killed leaves its container running.
        let _ = wharf_runtime::Runtime::new(self.runtime_root()).delete(id, true);
        self.store
            .remove_snapshot(id)
            .with_context(|| format!("failed to remove the writable layer of container {id}"))?;
        let dir = self.dir(id);
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("failed to remove {}", dir.display()))
            }
            _ => Ok(()),
        }
    }
}

/// A new container id: 64 hex digits from the kernel's random source.
pub fn new_id() -> String {
    let mut bytes = [0u8; 32];
    rustix::rand::getrandom(&mut bytes, rustix::rand::GetRandomFlags::empty())
        .expect("the kernel gives random bytes");
    hex::encode(bytes)
}

/// A docker-style generated name (`adjective_surname`), from the id.
pub fn generated_name(id: &str) -> String {
    const LEFT: [&str; 8] = [
        "brave", "calm", "eager", "keen", "lucid", "quirky", "sharp", "vivid",
    ];
    const RIGHT: [&str; 8] = [
        "curie", "hopper", "lovelace", "noether", "ritchie", "shannon", "thompson", "turing",
    ];
    let n = u64::from_str_radix(&id[..8], 16).unwrap_or(0) as usize;
    format!("{}_{}", LEFT[n % 8], RIGHT[(n / 8) % 8])
}

/// Docker's rule for container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !ok {
        bail!("Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    }
    Ok(())
}

/// The bundle directory of a container.
pub fn bundle_dir(containers: &Containers<'_>, id: &str) -> PathBuf {
    containers.dir(id).join("bundle")
}

/// Creates `path` (absolute, inside `rootfs`) and its parents, each
/// resolved inside the root.
pub fn mkdir_in_root(rootfs: &Path, path: &str) -> Result<()> {
    wharf_image::rootfs::mkdir_all(rootfs, path)
        .with_context(|| format!("failed to create {path} in the container"))
}
