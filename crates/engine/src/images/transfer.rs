//! Images in and out of the store: `import` of a root filesystem tar,
//! `load` of an image archive and `save` of images as one, with Docker's
//! events (`tag`, `import`, `load`, `save`).

use std::io::{Read, Write};

use wharf_image::archive::{LoadError, Loaded};
use wharf_image::commit::{self, Child, CommitError};
use wharf_image::config::RunConfig;
use wharf_image::digest::Digest;
use wharf_image::reference::Reference;
use wharf_image::store::{Image, StoreError};

use super::{error_chain, store_error};
use crate::error::{EngineError, Kind, Result};
use crate::Engine;

/// What `load` did.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// The images loaded, with their tags.
    pub loaded: Vec<Loaded>,
    /// Tags that moved from another image: (tag, the old image's ID).
    pub renamed: Vec<(String, Digest)>,
}

/// What `import` makes of a root filesystem tar.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `repo[:tag]` to tag the new image with.
    pub reference: Option<String>,
    /// Dockerfile instructions applied to the config (`CMD ["sh"]`).
    pub changes: Vec<String>,
    /// The commit message (default `Imported from -`).
    pub message: Option<String>,
}

fn load_error(e: LoadError) -> EngineError {
    match e {
        LoadError::Store { what, source } => {
            let inner = store_error(source);
            if inner.kind == Kind::System {
                EngineError::system(format!("failed to {what}"), inner)
            } else {
                inner
            }
        }
        LoadError::Name { .. } => EngineError::invalid(error_chain(&e)),
        other => EngineError::new(Kind::InvalidArgument, error_chain(&other)),
    }
}

/// The config `--change`s make for an import, refused in Docker's words
/// (`shell is not a valid change command`); callers check before they read
/// the archive.
pub fn import_config(changes: &[String]) -> Result<RunConfig> {
    use wharf_build::changes::ChangeError;
    use wharf_build::dispatch::DispatchError;
    let mut config = RunConfig::default();
    wharf_build::changes::apply(&mut config, changes).map_err(|e| match &e {
        ChangeError::Apply {
            source: DispatchError::NotAChange(keyword),
            ..
        } => EngineError::invalid(format!(
            "{} is not a valid change command",
            keyword.to_lowercase()
        )),
        _ => EngineError::invalid(error_chain(&e)),
    })?;
    Ok(config)
}

fn commit_error(e: CommitError) -> EngineError {
    match e {
        CommitError::Store(s) => store_error(s),
        other => EngineError::system("failed to make the image", other),
    }
}

impl Engine {
    /// `docker import`: a root filesystem tar (plain, gzip, zstd) as a
    /// one-layer image.
    pub fn image_import(&self, tar: impl Read, opts: &ImportOptions) -> Result<Digest> {
        let store = self.store();
        let target = match &opts.reference {
            Some(r) if !r.is_empty() => Some(
                Reference::parse(r)
                    .map_err(|e| EngineError::invalid(e.to_string()))?
                    .with_default_tag(),
            ),
            _ => None,
        };
        let config = import_config(&opts.changes)?;
        let _hold = store.hold().map_err(store_error)?;
        let layer = store.add_layer(None, tar).map_err(|e| match e {
            StoreError::Layer(l) => EngineError::invalid(error_chain(&l)),
            other => store_error(other),
        })?;
        let comment = opts
            .message
            .clone()
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "Imported from -".to_string());
        let (id, _) = commit::commit(
            store,
            None,
            None,
            Some(&layer.diff_id),
            &Child {
                config: Some(config),
                comment: Some(comment),
                ..Child::default()
            },
        )
        .map_err(commit_error)?;
        if let Some(r) = target {
            store.tag(&id, &r).map_err(store_error)?;
            self.image_event("tag", &id, &r.familiar());
        }
        self.image_event("import", &id, id.as_str());
        Ok(id)
    }

    /// `docker load`: every image of a docker-archive or OCI-layout tar.
    pub fn image_load(&self, tar: impl Read) -> Result<LoadReport> {
        let before: Vec<(String, Digest)> = self
            .images()?
            .into_iter()
            .flat_map(|i| {
                let id = i.id.clone();
                i.repo_tags.into_iter().map(move |t| (t, id.clone()))
            })
            .collect();
        let loaded = wharf_image::archive::load(self.store(), tar).map_err(load_error)?;
        let mut renamed = Vec::new();
        for l in &loaded {
            for t in &l.tags {
                if let Some((_, old)) = before.iter().find(|(b, old)| b == t && *old != l.id) {
                    renamed.push((t.clone(), old.clone()));
                }
            }
            // Docker tags loaded images without `tag` events.
            if !l.tags.is_empty() {
                self.record_tag_time(&l.id);
            }
            self.image_event("load", &l.id, l.id.as_str());
        }
        Ok(LoadReport { loaded, renamed })
    }

    /// The names a save stands for: a repository without tag or digest
    /// means every reference of that repository (Docker's `parseNames`),
    /// anything else itself. 404 for a name that names nothing.
    pub fn image_save_names(&self, names: &[String]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut images: Option<Vec<Image>> = None;
        for n in names {
            let repo = Reference::parse(n)
                .ok()
                .filter(|r| r.tag().is_none() && r.digest().is_none());
            if let Some(r) = repo {
                let all = match &mut images {
                    Some(i) => i,
                    None => images.insert(self.images()?),
                };
                let refs: Vec<String> = all
                    .iter()
                    .flat_map(|i| i.references.iter())
                    .filter(|x| x.name() == r.name())
                    .map(Reference::familiar)
                    .collect();
                if !refs.is_empty() {
                    out.extend(refs);
                    continue;
                }
            }
            self.store().image_id(n).map_err(store_error)?;
            out.push(n.clone());
        }
        Ok(out)
    }

    /// `docker save`: the images `names` resolve to (see
    /// [`Engine::image_save_names`]), as one archive.
    pub fn image_save(&self, names: &[String], out: impl Write) -> Result<()> {
        wharf_image::archive::save(self.store(), names, out).map_err(load_error)?;
        let mut seen = Vec::new();
        for n in names {
            if let Ok(id) = self.store().image_id(n) {
                if !seen.contains(&id) {
                    self.image_event("save", &id, id.as_str());
                    seen.push(id);
                }
            }
        }
        Ok(())
    }
}
