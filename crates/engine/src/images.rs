//! Image operations that involve containers and events: removal with
//! Docker's conflict rules for containers that use an image, tag, prune,
//! import, load and save. Each emits Docker's image events (`tag`,
//! `untag`, `delete`, `import`, `load`, `save`, `prune`) with the image ID
//! as the actor and its labels among the attributes.

use std::collections::BTreeMap;

use wharf_image::digest::Digest;
use wharf_image::gc::Removed;
use wharf_image::reference::Reference;
use wharf_image::store::{Image, StoreError};

use crate::error::{EngineError, Kind, Result};
use crate::model::{Container, Event, Status};
use crate::Engine;

mod transfer;

pub use transfer::{import_config, ImportOptions, LoadReport};

/// The image store's error as the engine reports it, with Docker's wording
/// and status: a missing image is 404 `No such image: x`, a bad name 400,
/// a delete conflict 409.
pub fn store_error(e: StoreError) -> EngineError {
    let kind = match &e {
        StoreError::NoSuchImage { .. } | StoreError::NoSuchLayer { .. } => Kind::NotFound,
        StoreError::AmbiguousId { .. } => Kind::NotFound,
        StoreError::Reference(_) | StoreError::TagWithDigest { .. } => Kind::InvalidArgument,
        StoreError::DeleteConflict { .. } | StoreError::ReferenceInUse { .. } => Kind::Conflict,
        _ => Kind::System,
    };
    let message = match &e {
        StoreError::NoSuchImage { name } => format!("No such image: {name}"),
        other => other.to_string(),
    };
    match kind {
        Kind::System => EngineError::system("image store", e),
        _ => EngineError::new(kind, message),
    }
}

/// `e` and its causes, `: `-joined.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// The table of the last tag times.
const TAG_TIMES: &str =
    "CREATE TABLE IF NOT EXISTS image_tag_times (id TEXT PRIMARY KEY, time TEXT NOT NULL)";

impl Engine {
    /// The image `name` names (404 `No such image: name`).
    pub fn image(&self, name: &str) -> Result<Image> {
        self.store().image(name).map_err(store_error)
    }

    /// Every image, newest first.
    pub fn images(&self) -> Result<Vec<Image>> {
        self.store().images().map_err(store_error)
    }

    /// Containers created from image `id`.
    pub fn image_users(&self, id: &Digest) -> Result<Vec<Container>> {
        Ok(self
            .containers(true)?
            .into_iter()
            .filter(|c| c.image_id == id.as_str())
            .collect())
    }

    /// Emits an image event for `id` named `name`, with the image's labels.
    pub fn image_event(&self, action: &str, id: &Digest, name: &str) {
        let mut attributes = BTreeMap::new();
        if let Ok(img) = self.store().image_by_id(id) {
            if let Some(labels) = img.config.config.and_then(|c| c.labels) {
                attributes.extend(labels);
            }
        }
        attributes.insert("name".to_string(), name.to_string());
        match action {
            "tag" => self.record_tag_time(id),
            "delete" => {
                let _ = self.db().write(|tx| {
                    tx.execute_batch(TAG_TIMES)?;
                    tx.execute("DELETE FROM image_tag_times WHERE id = ?1", [id.as_str()])
                });
            }
            _ => {}
        }
        self.events().emit(Event {
            kind: "image".into(),
            action: action.into(),
            id: id.to_string(),
            attributes,
            time_nano: 0,
        });
    }

    /// Remembers now as the last time image `id` got a tag (inspect's
    /// `Metadata.LastTagTime`); best effort.
    fn record_tag_time(&self, id: &Digest) {
        let now = wharf_image::config::format_time(time::OffsetDateTime::now_utc());
        let _ = self.db().write(|tx| {
            tx.execute_batch(TAG_TIMES)?;
            tx.execute(
                "INSERT OR REPLACE INTO image_tag_times (id, time) VALUES (?1, ?2)",
                (id.as_str(), now.as_str()),
            )
        });
    }

    /// When image `id` last got a tag through this engine (RFC 3339).
    pub fn image_last_tag_time(&self, id: &Digest) -> Option<String> {
        self.db()
            .read(|c| {
                c.query_row(
                    "SELECT time FROM image_tag_times WHERE id = ?1",
                    [id.as_str()],
                    |r| r.get::<_, String>(0),
                )
            })
            .ok()
    }

    /// Tags image `name` as `target` (`repo[:tag]`; `latest` by default).
    pub fn image_tag(&self, name: &str, target: &str) -> Result<Digest> {
        let id = self.store().image_id(name).map_err(store_error)?;
        let r = Reference::parse(target)
            .map_err(|e| EngineError::invalid(e.to_string()))?
            .with_default_tag();
        self.store().tag(&id, &r).map_err(store_error)?;
        self.image_event("tag", &id, &r.familiar());
        Ok(id)
    }

    /// `docker rmi`: Docker's rules (see `wharf_image::gc`) plus the
    /// containers' share: an image a running container uses is never
    /// deleted (`cannot be forced`); removing its last reference by force
    /// only untags it.
    pub fn image_remove(&self, name: &str, force: bool) -> Result<Vec<Removed>> {
        self.image_remove_with(name, force, true)
    }

    /// [`Engine::image_remove`]; with `prune` false (`noprune`), the
    /// deleted image's untagged parents are kept.
    pub fn image_remove_with(&self, name: &str, force: bool, prune: bool) -> Result<Vec<Removed>> {
        let image = self.image(name)?;
        let by_id = image.id.as_str().starts_with(name) || image.id.hex().starts_with(name);
        let running = self.image_users(&image.id)?.into_iter().find(|c| {
            matches!(
                c.state.status,
                Status::Running | Status::Paused | Status::Restarting
            )
        });
        let lineage = self.lineage(&image.id);
        let mut records = Vec::new();
        match running {
            Some(c) if by_id => {
                if !self.store().has_children(&image.id).map_err(store_error)? {
                    return Err(EngineError::conflict(format!(
                        "conflict: unable to delete {} (cannot be forced) - image is being used by running container {}",
                        image.id.short(),
                        &c.id[..12.min(c.id.len())]
                    )));
                }
                records = self
                    .store()
                    .remove_image_with(name, force, prune)
                    .map_err(store_error)?;
            }
            Some(_) if force => {
                // By reference with force: the reference goes (and the
                // repository's digests with its last tag, as Docker does);
                // the image stays for its running container.
                let r = Reference::parse(name)
                    .map_err(|e| EngineError::invalid(e.to_string()))?
                    .with_default_tag();
                self.store().untag(&r).map_err(store_error)?;
                records.push(Removed::Untagged(r.familiar()));
                let rest: Vec<&Reference> = image.references.iter().filter(|x| **x != r).collect();
                let last_tag = r.digest().is_none()
                    && !rest
                        .iter()
                        .any(|x| x.digest().is_none() && x.name() == r.name());
                if last_tag {
                    for d in rest
                        .iter()
                        .filter(|x| x.digest().is_some() && x.name() == r.name())
                    {
                        self.store().untag(d).map_err(store_error)?;
                        records.push(Removed::Untagged(d.familiar()));
                    }
                }
            }
            _ => {
                records = self
                    .store()
                    .remove_image_with(name, force, prune)
                    .map_err(store_error)?
            }
        }
        self.removed_events(&image.id, &lineage, &records);
        Ok(records)
    }

    /// Image `id` and its local ancestors: the images a removal may delete.
    fn lineage(&self, id: &Digest) -> Vec<Digest> {
        let mut out = vec![id.clone()];
        while let Some(Ok(Some(p))) = out.last().map(|d| self.store().parent(d)) {
            if out.contains(&p) {
                break;
            }
            out.push(p);
        }
        out
    }

    /// `untag` and `delete` events for what a removal of `id` did (the
    /// layers deleted with it are no events).
    fn removed_events(&self, id: &Digest, lineage: &[Digest], records: &[Removed]) {
        for r in records {
            match r {
                Removed::Untagged(_) => self.image_event("untag", id, id.as_str()),
                Removed::Deleted(d) if lineage.contains(d) => {
                    self.image_event("delete", d, d.as_str())
                }
                Removed::Deleted(_) => {}
            }
        }
    }

    /// `docker image prune`: dangling images (or, with `all`, every image
    /// no container uses) that match `keep` (the caller's label and `until`
    /// filters); returns what went and the bytes reclaimed.
    pub fn image_prune(
        &self,
        all: bool,
        keep: &dyn Fn(&Image) -> bool,
    ) -> Result<(Vec<Removed>, u64)> {
        let store = self.store();
        let before = layer_sizes(self)?;
        let used: Vec<String> = self
            .containers(true)?
            .into_iter()
            .map(|c| c.image_id)
            .collect();
        let mut records = Vec::new();
        for image in self.images()? {
            if used.iter().any(|u| u == image.id.as_str()) || !keep(&image) {
                continue;
            }
            let dangling = image.references.is_empty();
            if !dangling && !all {
                continue;
            }
            if dangling && store.has_children(&image.id).map_err(store_error)? {
                continue;
            }
            let names: Vec<String> = match dangling {
                true => vec![image.id.to_string()],
                false => image.references.iter().map(Reference::familiar).collect(),
            };
            let lineage = self.lineage(&image.id);
            for n in names {
                match store.remove_image(&n, false) {
                    Ok(r) => {
                        self.removed_events(&image.id, &lineage, &r);
                        records.extend(r);
                    }
                    // Gone with an earlier one, or kept by a child or a
                    // snapshot: prune skips it as Docker does.
                    Err(StoreError::NoSuchImage { .. } | StoreError::DeleteConflict { .. }) => {}
                    Err(StoreError::ReferenceInUse { .. }) => {}
                    Err(e) => return Err(store_error(e)),
                }
            }
        }
        store.gc().map_err(store_error)?;
        let after = layer_sizes(self)?;
        let reclaimed: u64 = before
            .iter()
            .filter(|(k, _)| !after.contains_key(*k))
            .map(|(_, v)| v)
            .sum();
        let mut attributes = BTreeMap::new();
        attributes.insert("reclaimed".to_string(), reclaimed.to_string());
        self.events().emit(Event {
            kind: "image".into(),
            action: "prune".into(),
            id: String::new(),
            attributes,
            time_nano: 0,
        });
        Ok((records, reclaimed))
    }
}

/// Chain ID → unpacked size of every layer in the store.
fn layer_sizes(engine: &Engine) -> Result<BTreeMap<Digest, u64>> {
    let store = engine.store();
    let mut out = BTreeMap::new();
    for chain in store.layers().map_err(store_error)? {
        if let Ok(l) = store.layer(&chain) {
            out.insert(chain, l.size);
        }
    }
    Ok(out)
}
