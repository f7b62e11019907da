//! A busybox image in a temporary store, and containers made from it with
//! the engine's spec functions and run to their end with `wharf runtime`:
//! no daemon, no shim, so the spec alone is what is tested. Everything is
//! unmounted, deleted and removed on drop.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use wharf_engine::spec;
use wharf_engine::{Container, CreateOptions, MountPoint};
use wharf_image::digest::Digest;
use wharf_image::store::Store;
use wharf_testkit::images::{busybox_rootfs_tar, layer_tar, Entry};

/// A store with the test image; a runtime; a scratch directory.
pub struct Fixture {
    pub dir: PathBuf,
    pub store: Store,
    pub image: Digest,
    pub rt: wharf_testkit::runtime::Runtime,
    snapshots: std::cell::RefCell<Vec<String>>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        for id in self.snapshots.borrow().iter() {
            let _ = self.store.unmount_snapshot_by_id(id);
            let _ = self.store.remove_snapshot(id);
        }
        wharf_testkit::leaks::unmount_under(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A random 64-hex id.
pub fn new_id() -> String {
    let mut b = [0u8; 32];
    rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty()).unwrap();
    hex::encode(b)
}

impl Fixture {
    /// The image: busybox plus `/data` (a file, a sub-directory, a
    /// symlink, a hard link, odd modes) with `VOLUME /data`, `ENV FOO=img`.
    pub fn new() -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("wharf-spec-")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        let store = Store::open(&dir.join("store")).unwrap();
        let base = store.add_layer(None, &busybox_rootfs_tar()[..]).unwrap();
        let extra = layer_tar(&[
            Entry::Dir("data".into(), 0o750),
            Entry::File("data/a".into(), b"alpha".to_vec(), 0o640),
            Entry::dir("data/sub"),
            Entry::File("data/sub/b".into(), b"beta".to_vec(), 0o4755),
            Entry::Symlink("data/link".into(), "/etc/passwd".into()),
            Entry::Hardlink("data/hard".into(), "data/a".into()),
        ]);
        let top = store.add_layer(Some(&base.chain_id), &extra[..]).unwrap();
        let config = serde_json::json!({
            "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
            "config": {
                "Env": ["FOO=img", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                "Cmd": ["sh"],
                "Volumes": { "/data": {} },
                "Labels": { "from": "image" }
            },
            "rootfs": { "type": "layers", "diff_ids": [base.diff_id, top.diff_id] }
        });
        let image = store.add_image(config.to_string().as_bytes()).unwrap();
        Fixture {
            dir,
            store,
            image,
            rt: wharf_testkit::runtime::Runtime::new().unwrap(),
            snapshots: Default::default(),
        }
    }

    /// The image as `resolve` takes it.
    pub fn image(&self) -> wharf_image::store::Image {
        self.store.image_by_id(&self.image).unwrap()
    }

    /// A container record for `opts` (resolved, /etc files written),
    /// its snapshot mounted; returns it and its root.
    pub fn container(&self, opts: CreateOptions, mounts: Vec<MountPoint>) -> (Container, PathBuf) {
        let r = spec::resolve(&opts, &self.image()).unwrap();
        let id = new_id();
        let snap = self.store.create_snapshot(&id, Some(&self.image)).unwrap();
        self.snapshots.borrow_mut().push(id.clone());
        let rootfs = wharf_image::rootfs::mount_with_init(&snap).unwrap();
        let cdir = self.dir.join("containers").join(&id);
        let c = Container {
            id: id.clone(),
            name: format!("t{}", &id[..8]),
            image_id: self.image.to_string(),
            options: opts,
            path: r.path,
            args: r.args,
            env: r.env,
            working_dir: r.working_dir,
            user: r.user,
            labels: r.labels,
            stop_signal: r.stop_signal,
            healthcheck: r.healthcheck,
            exposed_ports: r.exposed_ports,
            mounts,
            snapshot: id.clone(),
            rootfs: rootfs.clone(),
            hostname_path: cdir.join("hostname"),
            hosts_path: cdir.join("hosts"),
            resolv_conf_path: cdir.join("resolv.conf"),
            ..Container::default()
        };
        spec::write_etc_files(&cdir, &c).unwrap();
        (c, rootfs)
    }

    /// Runs `c` to its end; `peer` answers `container:<x>` modes.
    pub fn run_with(
        &self,
        c: &Container,
        rootfs: &Path,
        peer: &dyn Fn(&str) -> wharf_engine::Result<i32>,
    ) -> Output {
        let user = wharf_image::user::resolve(rootfs, &c.user).unwrap();
        let spec = spec::container_spec(c, rootfs, &user, peer).unwrap();
        let bundle = self.dir.join("bundles").join(&c.id);
        std::fs::create_dir_all(&bundle).unwrap();
        std::fs::write(
            bundle.join("config.json"),
            serde_json::to_vec(&spec).unwrap(),
        )
        .unwrap();
        self.rt.track(&c.id);
        let b = bundle.to_string_lossy().into_owned();
        self.rt.run(&["run", "--bundle", &b, &c.id]).unwrap()
    }

    /// Runs `sh -c script` with `opts`; returns (exit code, stdout, stderr).
    pub fn sh(
        &self,
        mut opts: CreateOptions,
        mounts: Vec<MountPoint>,
        script: &str,
    ) -> (i32, String, String) {
        opts.cmd = Some(vec!["sh".into(), "-c".into(), script.into()]);
        let (c, rootfs) = self.container(opts, mounts);
        let out = self.run_with(&c, &rootfs, &|n| {
            Err(wharf_engine::EngineError::not_found(format!(
                "No such container: {n}"
            )))
        });
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Options with the network none (the tests have no bridge).
pub fn opts() -> CreateOptions {
    let mut o = CreateOptions {
        image: "test".into(),
        ..CreateOptions::default()
    };
    o.host.network_mode = "none".into();
    o
}

/// The value of `key:` in /proc/self/status output `status`.
pub fn status_field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {key} in {out}"))
}
