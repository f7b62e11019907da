//! The spec through a started container (root, needs the `wharf` binary for
//! the shim): copy-up of the image's VOLUME content at the first start, a
//! container joining another's network namespace by name, and commit of a
//! running container paused meanwhile.

use std::path::PathBuf;
use std::sync::Arc;

use wharf_engine::commit::CommitOptions;
use wharf_engine::{CreateOptions, Engine, EngineConfig, Status, WaitCondition};
use wharf_testkit::images::{busybox_rootfs_tar, layer_tar, Entry};

const IMAGE: &str = "wharf-spectest:latest";

struct Roots {
    dir: PathBuf,
    config: EngineConfig,
}

impl Drop for Roots {
    fn drop(&mut self) {
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

fn roots() -> Roots {
    let dir = tempfile::Builder::new()
        .prefix("wss-")
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
    let base = store.add_layer(None, &busybox_rootfs_tar()[..]).unwrap();
    let extra = layer_tar(&[
        Entry::Dir("data".into(), 0o711),
        Entry::file("data/a", b"alpha"),
    ]);
    let top = store.add_layer(Some(&base.chain_id), &extra[..]).unwrap();
    let image = serde_json::json!({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": { "Cmd": ["sh"], "Volumes": { "/data": {} } },
        "rootfs": { "type": "layers", "diff_ids": [base.diff_id, top.diff_id] }
    });
    let id = store.add_image(image.to_string().as_bytes()).unwrap();
    let r = wharf_image::reference::Reference::parse(IMAGE).unwrap();
    store.tag(&id, &r).unwrap();
    Roots { dir, config }
}

fn opts(script: &str, binds: &[String]) -> CreateOptions {
    let mut o = CreateOptions {
        image: IMAGE.into(),
        cmd: Some(vec!["sh".into(), "-c".into(), script.into()]),
        ..CreateOptions::default()
    };
    o.host.network_mode = "none".into();
    o.host.binds = binds.to_vec();
    o
}

async fn run_to_end(e: &Arc<Engine>, o: CreateOptions) -> (String, i32) {
    let c = e.create(o).await.unwrap();
    let waiter = e.wait(&c.id, WaitCondition::NextExit).await.unwrap();
    e.start(&c.id).await.unwrap();
    let exit = waiter.result().await.unwrap();
    (c.id, exit.exit_code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_copies_up_and_later_starts_keep_data() {
    let r = roots();
    let e = Engine::open(r.config.clone()).await.unwrap();
    let out = r.dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let bind = format!("{}:/out", out.display());
    let script = "cat /data/a > /out/first; stat -c %a /data > /out/mode; echo more >> /data/a";
    let (id, code) = run_to_end(&e, opts(script, &[bind.clone(), "vol:/data".into()])).await;
    assert_eq!(code, 0);
    assert_eq!(std::fs::read_to_string(out.join("first")).unwrap(), "alpha");
    assert_eq!(std::fs::read_to_string(out.join("mode")).unwrap(), "711\n");
    e.remove(&id, true, false).await.unwrap();
    // The named volume keeps its content: no second copy-up.
    let (id, code) = run_to_end(
        &e,
        opts("cat /data/a > /out/second", &[bind, "vol:/data".into()]),
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(out.join("second")).unwrap(),
        "alphamore\n"
    );
    e.remove(&id, true, true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_of_another_container_and_paused_commit() {
    let r = roots();
    let e = Engine::open(r.config.clone()).await.unwrap();
    let out = r.dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let bind = format!("{}:/out", out.display());
    let mut peer = opts(
        "touch /made; touch /out/ready; sleep 60",
        std::slice::from_ref(&bind),
    );
    peer.name = Some("peer".into());
    let p = e.create(peer).await.unwrap();
    e.start(&p.id).await.unwrap();
    // Wait (bounded) until the peer wrote its file.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !out.join("ready").exists() {
        assert!(std::time::Instant::now() < deadline, "the peer never ran");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let pid = e.container(&p.id).unwrap().state.pid;
    let peer_ns = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();

    let mut o = opts(
        "readlink /proc/self/ns/net > /out/ns; hostname > /out/name; cat /etc/hosts > /out/hosts",
        &[bind],
    );
    o.host.network_mode = "container:peer".into();
    let (id, code) = run_to_end(&e, o).await;
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(out.join("ns")).unwrap().trim(),
        peer_ns.to_string_lossy()
    );
    assert_eq!(
        std::fs::read_to_string(out.join("name")).unwrap(),
        format!("{}\n", &p.id[..12]),
        "the peer's host name"
    );
    let peer_hosts = e.container(&p.id).unwrap().hosts_path;
    assert_eq!(
        std::fs::read_to_string(out.join("hosts")).unwrap(),
        std::fs::read_to_string(peer_hosts).unwrap(),
        "the peer's /etc/hosts"
    );
    e.remove(&id, true, false).await.unwrap();

    let img = e
        .commit(
            "peer",
            &CommitOptions {
                reference: Some("wharf-peer:snap".into()),
                pause: true,
                ..CommitOptions::default()
            },
        )
        .unwrap();
    assert_eq!(e.container("peer").unwrap().state.status, Status::Running);
    let image = e.store().image_by_id(&img).unwrap();
    let top = image.layers.last().unwrap();
    assert!(
        top.dir.join("made").exists(),
        "the running container's file is committed"
    );
    e.remove("peer", true, true).await.unwrap();
}
