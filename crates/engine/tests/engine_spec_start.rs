//! The spec through a started container (root, needs the `wharf` binary for
//! the shim): copy-up of the image's VOLUME content at the first start, a
//! container joining another's network namespace by name, and commit of a
//! running container paused meanwhile.

mod support;

use std::sync::Arc;

use support::Roots;
use wharf_engine::commit::CommitOptions;
use wharf_engine::{CreateOptions, Engine, Status, WaitCondition};
use wharf_testkit::images::Entry;

const IMAGE: &str = "wharf-spectest:latest";

/// Roots holding [`IMAGE`]: busybox with `/data/a` and `VOLUME /data`.
fn roots() -> Roots {
    let r = Roots::empty("wss-");
    r.add_image(
        IMAGE,
        &[
            Entry::Dir("data".into(), 0o711),
            Entry::file("data/a", b"alpha"),
        ],
        serde_json::json!({ "Cmd": ["sh"], "Volumes": { "/data": {} } }),
    );
    r
}

fn opts(script: &str, binds: &[String]) -> CreateOptions {
    let mut o = support::opts(None, &["sh", "-c", script]);
    o.image = IMAGE.into();
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
    let e = r.open().await;
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
    let e = r.open().await;
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
