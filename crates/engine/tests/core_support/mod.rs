//! A private engine over temporary roots with a busybox image, for the
//! lifecycle tests. Dropping it kills what its containers left (by their
//! runtime state and the shims' pid files), unmounts and removes the roots.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wharf_engine::{CreateOptions, Engine, EngineConfig, Status};

/// The image every test uses.
pub const IMAGE: &str = "busybox:latest";

/// Roots in one temporary directory.
pub struct Roots {
    pub dir: PathBuf,
    pub config: EngineConfig,
}

impl Roots {
    /// New roots holding the busybox image.
    pub fn new() -> Roots {
        let dir = tempfile::Builder::new()
            .prefix("wharf-core-")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        let config = EngineConfig {
            data_root: dir.join("data"),
            exec_root: dir.join("exec"),
            wharf_exe: wharf_testkit::paths::wharf_path().unwrap(),
        };
        import_busybox(&config.data_root);
        Roots { dir, config }
    }
}

impl Drop for Roots {
    fn drop(&mut self) {
        let shims = self.config.exec_root.join("shims");
        for e in std::fs::read_dir(&shims).into_iter().flatten().flatten() {
            if let Ok(pid) = std::fs::read_to_string(e.path().join("shim.pid")) {
                if let Some(pid) = pid
                    .trim()
                    .parse()
                    .ok()
                    .and_then(rustix::process::Pid::from_raw)
                {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
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

/// Imports the busybox rootfs as `busybox:latest` with `CMD ["sh"]`.
pub fn import_busybox(data_root: &Path) {
    std::fs::create_dir_all(data_root).unwrap();
    let store = wharf_image::store::Store::open(data_root).unwrap();
    let tar = wharf_testkit::images::busybox_rootfs_tar();
    let layer = store.add_layer(None, &tar[..]).unwrap();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"],
        },
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id.to_string()]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "import"}],
    });
    let id = store
        .add_image(serde_json::to_vec(&config).unwrap().as_slice())
        .unwrap();
    let r = wharf_image::reference::Reference::parse(IMAGE).unwrap();
    store.tag(&id, &r).unwrap();
}

/// Opens an engine on `roots`.
pub async fn open(roots: &Roots) -> Arc<Engine> {
    Engine::open(roots.config.clone()).await.unwrap()
}

/// Options running `cmd` in busybox.
pub fn opts(name: Option<&str>, cmd: &[&str]) -> CreateOptions {
    CreateOptions {
        name: name.map(str::to_string),
        image: IMAGE.into(),
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

/// Whether the container's status is `s`.
pub fn status(engine: &Engine, id: &str) -> Status {
    engine.container(id).unwrap().state.status
}
