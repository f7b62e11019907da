//! Commit a container to an image: its writable layer (the snapshot's
//! upper directory) on top of its image, its config merged like Docker's
//! commit (the container's user, env, cmd, entrypoint, ports, volumes,
//! working dir, labels, stop signal and health check), `--change`s
//! applied on top, the container paused meanwhile when asked.

use std::collections::BTreeMap;

use wharf_image::commit::{commit, layer_from_upper, Child};
use wharf_image::config::{Empty, HealthConfig as ImageHealth, RunConfig};
use wharf_image::digest::Digest;
use wharf_image::reference::Reference;

use crate::error::{EngineError, Result};
use crate::model::{Container, Event, Status};
use crate::Engine;

/// Options of `commit`.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// `repo[:tag]` to tag the new image with.
    pub reference: Option<String>,
    /// Commit message.
    pub comment: String,
    /// Author.
    pub author: String,
    /// Dockerfile instructions applied to the config (`--change`).
    pub changes: Vec<String>,
    /// Pause the container while committing.
    pub pause: bool,
}

/// Unpauses the container when dropped, if this commit paused it.
struct Paused<'a> {
    engine: &'a Engine,
    id: Option<String>,
}

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let _ = self.engine.unpause(&id);
        }
    }
}

fn store_err(what: &str) -> impl FnOnce(wharf_image::store::StoreError) -> EngineError + '_ {
    move |e| EngineError::system(what.to_string(), e)
}

/// The container's config as Docker's commit takes it over.
fn container_config(c: &Container, image: &RunConfig) -> RunConfig {
    let opts = &c.options;
    let (entrypoint, cmd) = crate::spec::entrypoint_and_cmd(opts, image);
    let mut volumes: BTreeMap<String, Empty> = image.volumes.clone().unwrap_or_default();
    for v in &opts.volumes {
        volumes.insert(v.clone(), Empty {});
    }
    let ports: BTreeMap<String, Empty> = c
        .exposed_ports
        .iter()
        .map(|p| (p.clone(), Empty {}))
        .collect();
    RunConfig {
        user: c.user.clone(),
        exposed_ports: Some(ports).filter(|p| !p.is_empty()),
        env: Some(c.env.clone()).filter(|e| !e.is_empty()),
        cmd: Some(cmd).filter(|c| !c.is_empty()),
        entrypoint: Some(entrypoint).filter(|e| !e.is_empty()),
        volumes: Some(volumes).filter(|v| !v.is_empty()),
        working_dir: opts
            .working_dir
            .clone()
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| image.working_dir.clone()),
        labels: Some(c.labels.clone()).filter(|l| !l.is_empty()),
        stop_signal: opts
            .stop_signal
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| image.stop_signal.clone()),
        healthcheck: c.healthcheck.as_ref().map(|h| ImageHealth {
            test: h.test.clone(),
            interval: h.interval,
            timeout: h.timeout,
            start_period: h.start_period,
            start_interval: h.start_interval,
            retries: h.retries,
        }),
        shell: image.shell.clone(),
        on_build: image.on_build.clone(),
        ..RunConfig::default()
    }
}

impl Engine {
    /// Commits the container; returns the new image's id.
    pub fn commit(&self, name_or_id: &str, opts: &CommitOptions) -> Result<Digest> {
        let c = self.container(name_or_id)?;
        let reference = match opts.reference.as_deref().filter(|r| !r.is_empty()) {
            Some(r) => Some(
                Reference::parse(r)
                    .map(Reference::with_default_tag)
                    .map_err(|e| EngineError::invalid(e.to_string()))?,
            ),
            None => None,
        };
        let store = self.store();
        let image_id: Digest = c.image_id.parse().map_err(|e| {
            EngineError::system(format!("container {} has a bad image id", c.id), e)
        })?;
        let image = store
            .image_by_id(&image_id)
            .map_err(store_err("failed to read the container's image"))?;
        let mut config = container_config(&c, &image.config.config.clone().unwrap_or_default());
        wharf_build::changes::apply(&mut config, &opts.changes)
            .map_err(|e| EngineError::invalid(full(&e)))?;

        let _paused = Paused {
            engine: self,
            id: (opts.pause && c.state.status == Status::Running)
                .then(|| self.pause(&c.id).map(|()| c.id.clone()))
                .transpose()?,
        };
        let snapshot = store
            .snapshot(&c.snapshot)
            .map_err(store_err("failed to find the container's snapshot"))?;
        let layer = layer_from_upper(store, image.top_layer(), &snapshot.upper)
            .map_err(|e| EngineError::system("failed to commit the writable layer", e))?;
        drop(_paused);

        let mut created_by = vec![c.path.clone()];
        created_by.extend(c.args.iter().cloned());
        let child = Child {
            config: Some(config),
            created_by: Some(created_by.join(" ")),
            author: Some(opts.author.clone()).filter(|a| !a.is_empty()),
            comment: Some(opts.comment.clone()).filter(|a| !a.is_empty()),
            container: Some(c.id.clone()),
        };
        let (id, _) = commit(
            store,
            Some(&image.id),
            Some(&image.config),
            layer.as_ref().map(|l| &l.diff_id),
            &child,
        )
        .map_err(|e| EngineError::system("failed to store the committed image", e))?;
        if let Some(r) = &reference {
            store
                .tag(&id, r)
                .map_err(|e| EngineError::invalid(full(&e)))?;
        }
        let mut attributes = BTreeMap::from([
            ("comment".to_string(), opts.comment.clone()),
            ("imageID".to_string(), id.to_string()),
            ("name".to_string(), c.name.clone()),
        ]);
        if let Some(r) = &reference {
            attributes.insert("imageRef".into(), r.familiar());
        }
        self.events().emit(Event {
            kind: "container".into(),
            action: "commit".into(),
            id: c.id.clone(),
            attributes,
            time_nano: 0,
        });
        Ok(id)
    }
}

/// An error with its causes, `: `-joined.
fn full(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}
