//! A private engine over temporary roots, shared by the engine's test files
//! (each includes it with `mod support;`): busybox imported as [`BUSYBOX`],
//! images of busybox plus a layer for a test's own needs, create options,
//! and waits on state and events. Dropping [`Roots`] kills what its
//! containers left (shims by their pid files, runtime state), unmounts and
//! removes the roots.

// Each test file uses its own part of the module.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wharf_engine::{CreateOptions, Engine, EngineConfig, Event, Status};
use wharf_image::digest::Digest;
use wharf_image::store::Store;
use wharf_testkit::images::{busybox_rootfs_tar, layer_tar, Entry};

/// The busybox image of [`Roots::new`].
pub const BUSYBOX: &str = "busybox:latest";

/// Roots in one temporary directory.
pub struct Roots {
    /// The directory; removed on drop.
    pub dir: PathBuf,
    /// The engine's configuration: roots under `dir`, the `wharf` binary
    /// as the shim.
    pub config: EngineConfig,
}

impl Roots {
    /// New roots holding busybox as [`BUSYBOX`] with `CMD ["sh"]`.
    pub fn new() -> Roots {
        let roots = Roots::empty("wharf-engine-");
        roots.add_image(
            BUSYBOX,
            &[],
            serde_json::json!({
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Cmd": ["sh"],
            }),
        );
        roots
    }

    /// New roots with no image in `/tmp/<prefix>…`.
    pub fn empty(prefix: &str) -> Roots {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        let config = EngineConfig {
            data_root: dir.join("data"),
            exec_root: dir.join("exec"),
            wharf_exe: wharf_testkit::paths::wharf_path().unwrap(),
            network: wharf_engine::NetworkConfig {
                bridge: "none".into(),
                ..Default::default()
            },
        };
        std::fs::create_dir_all(&config.data_root).unwrap();
        Roots { dir, config }
    }

    /// The image store of the data root.
    pub fn store(&self) -> Store {
        Store::open(&self.config.data_root).unwrap()
    }

    /// Adds busybox plus a layer of `extra` (no layer when empty) as
    /// `name`, with `config` as the image config's `config`; returns the
    /// image id.
    pub fn add_image(&self, name: &str, extra: &[Entry], config: serde_json::Value) -> Digest {
        let store = self.store();
        let base = store.add_layer(None, &busybox_rootfs_tar()[..]).unwrap();
        let mut diff_ids = vec![base.diff_id.to_string()];
        if !extra.is_empty() {
            let top = store
                .add_layer(Some(&base.chain_id), &layer_tar(extra)[..])
                .unwrap();
            diff_ids.push(top.diff_id.to_string());
        }
        let history: Vec<_> = diff_ids
            .iter()
            .map(|_| serde_json::json!({"created": "2024-01-01T00:00:00Z", "created_by": "import"}))
            .collect();
        let image = serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "created": "2024-01-01T00:00:00Z",
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        });
        let id = store.add_image(image.to_string().as_bytes()).unwrap();
        let r = wharf_image::reference::Reference::parse(name).unwrap();
        store.tag(&id, &r).unwrap();
        id
    }

    /// Opens an engine on the roots.
    pub async fn open(&self) -> Arc<Engine> {
        Engine::open(self.config.clone()).await.unwrap()
    }
}

impl Drop for Roots {
    fn drop(&mut self) {
        let shims = self.config.exec_root.join("shims");
        for e in std::fs::read_dir(&shims).into_iter().flatten().flatten() {
            let pid = std::fs::read_to_string(e.path().join("shim.pid")).unwrap_or_default();
            if let Some(pid) = pid
                .trim()
                .parse()
                .ok()
                .and_then(rustix::process::Pid::from_raw)
            {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
        let runtime = wharf_runtime::Runtime::new(self.config.exec_root.join("runtime"));
        for e in std::fs::read_dir(&runtime.root)
            .into_iter()
            .flatten()
            .flatten()
        {
            let id = e.file_name().to_string_lossy().into_owned();
            let _ = runtime.delete(&id, true);
            wharf_testkit::leaks::remove_leftovers(&id);
        }
        wharf_testkit::leaks::unmount_under(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Options running `cmd` in [`BUSYBOX`] without a network.
pub fn opts(name: Option<&str>, cmd: &[&str]) -> CreateOptions {
    CreateOptions {
        name: name.map(str::to_string),
        image: BUSYBOX.into(),
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
        host: wharf_engine::HostOptions {
            network_mode: "none".into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Waits (at most a minute, to not hang a broken run) until `f` holds for
/// the container's state.
pub async fn until(engine: &Engine, id: &str, f: impl Fn(&wharf_engine::Container) -> bool) {
    let mut rx = engine.watch_state(id).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if f(&engine.container(id).unwrap()) {
            return;
        }
        let _ = tokio::time::timeout_at(deadline, rx.changed()).await;
        assert!(
            tokio::time::Instant::now() < deadline,
            "state never came: {:?}",
            engine.container(id).unwrap().state
        );
    }
}

/// The names of every container, newest first (`docker ps -a`).
pub fn names(engine: &Engine) -> Vec<String> {
    engine
        .containers(true)
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect()
}

/// The container's status.
pub fn status(engine: &Engine, id: &str) -> Status {
    engine.container(id).unwrap().state.status
}

/// The next event with `action` (at most a minute, so a broken run fails
/// instead of hanging).
pub async fn event(
    rx: &mut tokio::sync::broadcast::Receiver<Event>,
    id: &str,
    action: &str,
) -> Event {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(e) if e.id == id && e.action == action => return e,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event bus closed: {e}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .unwrap_or_else(|_| panic!("no {action} event for {id}"))
}
