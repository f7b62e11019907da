//! A private engine over temporary roots with a busybox image, for the
//! I/O tests (logs, stats, top, cp, health). Dropping it kills what its
//! containers left (shims by their pid files, runtime state), unmounts and
//! removes the roots.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wharf_engine::{CreateOptions, Engine, EngineConfig, Event};

/// The image every test uses.
pub const IMAGE: &str = "hio-busybox:latest";

/// Roots in one temporary directory.
pub struct Roots {
    pub dir: PathBuf,
    pub config: EngineConfig,
}

impl Roots {
    /// New roots holding the busybox image.
    pub fn new() -> Roots {
        let dir = tempfile::Builder::new()
            .prefix("wharf-hio-")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        let config = EngineConfig {
            data_root: dir.join("data"),
            exec_root: dir.join("exec"),
            wharf_exe: wharf_testkit::paths::wharf_path().unwrap(),
        };
        std::fs::create_dir_all(&config.data_root).unwrap();
        let store = wharf_image::store::Store::open(&config.data_root).unwrap();
        let layer = store
            .add_layer(None, &wharf_testkit::images::busybox_rootfs_tar()[..])
            .unwrap();
        let image = serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id.to_string()]},
        });
        let id = store
            .add_image(&serde_json::to_vec(&image).unwrap())
            .unwrap();
        store
            .tag(
                &id,
                &wharf_image::reference::Reference::parse(IMAGE).unwrap(),
            )
            .unwrap();
        Roots { dir, config }
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

/// Options running `cmd` in busybox without a network.
pub fn opts(cmd: &[&str]) -> CreateOptions {
    CreateOptions {
        image: IMAGE.into(),
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
        host: wharf_engine::HostOptions {
            network_mode: "none".into(),
            ..Default::default()
        },
        ..Default::default()
    }
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
