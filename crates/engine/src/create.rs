//! `create`: a container's row, snapshot, directory, /etc files and
//! volumes, in the order that keeps a crash harmless (see
//! [`crate::records`]): the row first (it reserves the name), then the
//! parts, then the row marked ready. A failure undoes what was made.

use std::path::PathBuf;

use crate::error::{EngineError, Kind, Result};
use crate::lifecycle::Created;
use crate::model::{Container, CreateOptions, NetworkState, State};
use crate::registry::{blocking, name_conflict, now_rfc3339, Entry, ZERO_TIME};
use crate::{mounts, names, spec, Engine};

/// How many generated names are tried before falling back to the id.
const NAME_TRIES: u32 = 6;

/// Docker's 404 for an image, naming it as Docker does (`x:latest`).
pub(crate) fn no_such_image(name: &str) -> EngineError {
    let shown = wharf_image::reference::Reference::parse(name)
        .ok()
        .filter(|r| r.digest().is_none())
        .map(|r| r.with_default_tag().familiar())
        .unwrap_or_else(|| name.to_string());
    EngineError::not_found(format!("No such image: {shown}"))
}

/// The store's error on an image lookup, as the API answers it.
fn image_err(name: &str, e: wharf_image::store::StoreError) -> EngineError {
    use wharf_image::store::StoreError;
    match e {
        StoreError::NoSuchImage { .. } | StoreError::Reference(_) => no_such_image(name),
        StoreError::AmbiguousId { .. } => EngineError::invalid(e.to_string()),
        e => EngineError::system(format!("failed to look up image {name}"), e),
    }
}

impl Engine {
    /// Creates a container (metadata, snapshot, /etc files, volumes); does not start it.
    pub async fn create(&self, opts: CreateOptions) -> Result<Created> {
        blocking(|| self.create_blocking(opts))
    }

    /// `<data-root>/containers/<id>`.
    pub(crate) fn container_dir(&self, id: &str) -> PathBuf {
        self.config().data_root.join("containers").join(id)
    }

    fn create_blocking(&self, opts: CreateOptions) -> Result<Created> {
        if opts.image.is_empty() {
            return Err(EngineError::invalid(
                "config cannot be empty in order to create a container",
            ));
        }
        let image = self
            .store()
            .image(&opts.image)
            .map_err(|e| image_err(&opts.image, e))?;
        let resolved = spec::resolve(&opts, &image)?;
        let opts = self.resolve_networks(opts)?;
        let given = match opts.name.as_deref() {
            Some(n) if !n.is_empty() => Some(names::validate(n)?),
            _ => None,
        };
        let id = self.new_id();
        let dir = self.container_dir(&id);
        let log_none = opts.host.log_config.driver == "none";
        let mut c = Container {
            id: id.clone(),
            name: String::new(),
            created: now_rfc3339(),
            image_id: image.id.to_string(),
            path: resolved.path.clone(),
            args: resolved.args.clone(),
            env: resolved.env.clone(),
            working_dir: resolved.working_dir.clone(),
            user: resolved.user.clone(),
            labels: resolved.labels.clone(),
            stop_signal: resolved.stop_signal.clone(),
            healthcheck: resolved.healthcheck.clone(),
            exposed_ports: resolved.exposed_ports.clone(),
            state: State {
                started_at: ZERO_TIME.into(),
                finished_at: ZERO_TIME.into(),
                ..State::default()
            },
            restart_count: 0,
            mounts: Vec::new(),
            snapshot: id.clone(),
            rootfs: PathBuf::new(),
            log_path: if log_none {
                PathBuf::new()
            } else {
                dir.join(format!("{id}-json.log"))
            },
            hostname_path: dir.join("hostname"),
            hosts_path: dir.join("hosts"),
            resolv_conf_path: dir.join("resolv.conf"),
            network: NetworkState::default(),
            options: opts,
        };
        self.reserve_name(&mut c, given)?;
        if let Err(e) = self.make_parts(&mut c, &resolved.volumes, &image.id) {
            self.undo_create(&c);
            return Err(e);
        }
        if let Err(e) = self.db().finish_create(&c) {
            self.undo_create(&c);
            return Err(e);
        }
        let entry = Entry::new(c.clone());
        self.inner.insert(entry, &c.name);
        self.emit_container(&c, "create", &[]);
        Ok(Created {
            id,
            warnings: Vec::new(),
        })
    }

    /// A new id whose short form no other container has (the shim's
    /// directory is named by it).
    fn new_id(&self) -> String {
        loop {
            let id = names::new_id();
            let short = &id[..crate::lifecycle::SHORT_ID];
            if self.inner.all().iter().all(|e| !e.id.starts_with(short)) {
                return id;
            }
        }
    }

    /// Inserts the row under the given name or a generated one.
    fn reserve_name(&self, c: &mut Container, given: Option<String>) -> Result<()> {
        if let Some(name) = given {
            c.name = name;
            return match self.db().insert_container(c)? {
                Ok(()) => Ok(()),
                Err(holder) => Err(name_conflict(&c.name, &holder)),
            };
        }
        for retry in 0..=NAME_TRIES {
            c.name = if retry == NAME_TRIES {
                c.id[..12].to_string()
            } else {
                names::generate(retry)
            };
            if self.db().insert_container(c)?.is_ok() {
                return Ok(());
            }
        }
        Err(EngineError::new(
            Kind::System,
            "failed to generate a unique container name",
        ))
    }

    /// The snapshot, the container directory with its /etc files, and the mounts.
    fn make_parts(
        &self,
        c: &mut Container,
        anon: &[String],
        image: &wharf_image::digest::Digest,
    ) -> Result<()> {
        let snap = self
            .store()
            .create_snapshot(&c.id, Some(image))
            .map_err(|e| {
                EngineError::system(format!("failed to create the rootfs of {}", c.id), e)
            })?;
        c.rootfs = snap.merged;
        let dir = self.container_dir(&c.id);
        std::fs::create_dir_all(&dir)
            .map_err(|e| EngineError::system(format!("failed to create {}", dir.display()), e))?;
        spec::write_etc_files(&dir, c)?;
        c.mounts = mounts::prepare(self, &c.id, &c.options, anon)?;
        Ok(())
    }

    /// Removes what a failed create made; the row goes last.
    pub(crate) fn undo_create(&self, c: &Container) {
        for m in c.mounts.iter().filter(|m| m.anonymous) {
            if let Some(name) = &m.name {
                let _ = self.volumes().remove(name);
            }
        }
        let _ = std::fs::remove_dir_all(self.container_dir(&c.id));
        match self.store().remove_snapshot(&c.id) {
            Ok(()) => {}
            Err(wharf_image::store::StoreError::Snapshot(
                wharf_image::snapshot::SnapshotError::NotFound { .. },
            )) => {}
            Err(e) => {
                // Keep the row: the next open tries again.
                eprintln!("wharf: failed to remove the snapshot of {}: {e}", c.id);
                return;
            }
        }
        let _ = self.db().delete_container(&c.id);
    }
}
