//! Volumes of the local driver under `<data-root>/volumes/<name>/_data`,
//! metadata in the engine database.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::db::Db;
use crate::error::Result;
use crate::model::Volume;
use crate::Engine;

/// The volume store.
#[derive(Debug)]
pub struct Volumes {
    root: PathBuf,
    db: Arc<Db>,
}

impl Volumes {
    /// Opens the store at `<data_root>/volumes`, creating its table.
    pub fn open(data_root: &Path, db: Arc<Db>) -> Result<Volumes> {
        let _ = (data_root, db);
        todo!()
    }

    /// Creates a volume (a random 64-hex name when `name` is None). An
    /// existing volume of that name is returned as it is (Docker).
    pub fn create(
        &self,
        name: Option<&str>,
        driver: &str,
        labels: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
    ) -> Result<Volume> {
        let _ = (name, driver, labels, options, &self.root, &self.db);
        todo!()
    }

    /// One volume (404 `get <name>: no such volume`).
    pub fn get(&self, name: &str) -> Result<Volume> {
        let _ = name;
        todo!()
    }

    /// Every volume, by name.
    pub fn list(&self) -> Result<Vec<Volume>> {
        todo!()
    }

    /// Removes a volume and its data, whoever uses it (see
    /// [`Engine::volume_remove`] for the in-use check).
    pub fn remove(&self, name: &str) -> Result<()> {
        let _ = name;
        todo!()
    }

    /// Bytes used by its data.
    pub fn size(&self, name: &str) -> Result<i64> {
        let _ = name;
        todo!()
    }
}

impl Engine {
    /// Removes a volume: 409 `remove <name>: volume is in use - [<ids>]`
    /// when a container uses it (even with `force`, as Docker).
    pub fn volume_remove(&self, name: &str, force: bool) -> Result<()> {
        let _ = (name, force);
        todo!()
    }

    /// Removes unused volumes matching `labels` (`k`, `k=v`, `label!=…`);
    /// anonymous ones only unless `all` (API 1.42+). Names and bytes freed.
    pub fn volume_prune(&self, labels: &[String], all: bool) -> Result<(Vec<String>, u64)> {
        let _ = (labels, all);
        todo!()
    }

    /// Ids of the containers that mount the volume.
    pub fn volume_users(&self, name: &str) -> Result<Vec<String>> {
        let _ = name;
        todo!()
    }
}
