//! Volumes and commit through the engine (root): a container's named and
//! anonymous volumes, the in-use conflict, prune, and committing a
//! container's writable layer with `--change`s into a tagged image.

mod support;

use support::Roots;
use wharf_engine::commit::CommitOptions;
use wharf_engine::{CreateOptions, Kind};
use wharf_testkit::images::Entry;

const IMAGE: &str = "wharf-voltest:latest";

/// Roots holding [`IMAGE`]: busybox with `/data/a`, `ENV A=1` and
/// `VOLUME /data`.
fn roots() -> Roots {
    let r = Roots::empty("wvc-");
    r.add_image(
        IMAGE,
        &[Entry::dir("data"), Entry::file("data/a", b"alpha")],
        serde_json::json!({ "Env": ["A=1"], "Cmd": ["sh"], "Volumes": { "/data": {} } }),
    );
    r
}

fn opts(binds: &[&str]) -> CreateOptions {
    let mut o = support::opts(None, &["sh", "-c", "echo hi"]);
    o.image = IMAGE.into();
    o.host.binds = binds.iter().map(|s| s.to_string()).collect();
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_of_a_container() {
    let r = roots();
    let e = r.open().await;
    let host = r.dir.join("hostdir/missing");
    let parent = format!("{}:/parent", r.dir.display());
    let bind = format!("{}:/mnt:ro", host.display());
    let c = e
        .create(opts(&["named1:/named", &bind, "/anon2", &parent]))
        .await
        .unwrap();
    let ctr = e.container(&c.id).unwrap();
    assert!(host.is_dir(), "-v creates a missing host directory");
    let by_dest = |d: &str| ctr.mounts.iter().find(|m| m.destination == d).unwrap();
    assert_eq!(by_dest("/named").name.as_deref(), Some("named1"));
    assert!(!by_dest("/named").anonymous);
    assert!(
        by_dest("/data").anonymous,
        "the image's VOLUME gets an anonymous volume"
    );
    assert!(by_dest("/anon2").anonymous);
    let b = by_dest("/mnt");
    assert_eq!(
        (b.kind.as_str(), b.rw, b.mode.as_str()),
        ("bind", false, "ro")
    );
    assert_eq!(e.volumes().list().unwrap().len(), 3);

    assert_eq!(e.volume_users("named1").unwrap(), vec![c.id.clone()]);
    let err = e.volume_remove("named1", true).unwrap_err();
    assert_eq!(err.kind, Kind::Conflict);
    assert_eq!(
        err.message,
        format!("remove named1: volume is in use - [{}]", c.id)
    );
    // In use: prune keeps them.
    let (pruned, _) = e.volume_prune(&[], true).unwrap();
    assert!(pruned.is_empty(), "{pruned:?}");

    // rm -v removes the anonymous volumes, not the named one.
    e.remove(&c.id, true, true).await.unwrap();
    let left: Vec<String> = e
        .volumes()
        .list()
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(left, ["named1"]);
    // A named volume is pruned only with all.
    let anon = e.volumes().create_anonymous().unwrap();
    let (pruned, _) = e.volume_prune(&[], false).unwrap();
    assert_eq!(pruned, [anon.name]);
    let (pruned, _) = e.volume_prune(&[], true).unwrap();
    assert_eq!(pruned, ["named1"]);
    assert_eq!(
        e.volume_remove("nothere", false).unwrap_err().kind,
        Kind::NotFound
    );
    e.volume_remove("nothere", true).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_takes_the_writable_layer_and_changes() {
    let r = roots();
    let e = r.open().await;
    let mut o = opts(&[]);
    o.env = vec!["B=2".into()];
    o.working_dir = Some("/srv".into());
    let c = e.create(o).await.unwrap();
    // What the container wrote: a file in its writable layer.
    let snap = e.store().snapshot(&c.id).unwrap();
    std::fs::create_dir_all(snap.upper.join("srv")).unwrap();
    std::fs::write(snap.upper.join("srv/made"), b"by the container").unwrap();

    let id = e
        .commit(
            &c.id,
            &CommitOptions {
                reference: Some("wharf-committed:v1".into()),
                comment: "msg".into(),
                author: "me".into(),
                changes: vec!["ENV C=3".into(), "CMD [\"cat\", \"/srv/made\"]".into()],
                pause: true,
            },
        )
        .unwrap();
    let img = e.store().image("wharf-committed:v1").unwrap();
    assert_eq!(img.id, id);
    assert_eq!(img.config.comment, "msg");
    assert_eq!(img.config.author, "me");
    assert_eq!(img.config.container, c.id);
    let cfg = img.config.config.clone().unwrap();
    assert_eq!(cfg.env.unwrap(), ["B=2", "A=1", "C=3"]);
    assert_eq!(cfg.cmd.unwrap(), ["cat", "/srv/made"]);
    assert_eq!(cfg.working_dir, "/srv");
    assert!(cfg.volumes.unwrap().contains_key("/data"));
    assert_eq!(img.layers.len(), 3, "one layer more than the parent");
    let top = img.layers.last().unwrap();
    assert_eq!(
        std::fs::read(top.dir.join("srv/made")).unwrap(),
        b"by the container"
    );
    assert_eq!(
        img.config.history.last().unwrap().created_by,
        "sh -c echo hi"
    );

    // A bad change is a 400.
    let err = e
        .commit(
            &c.id,
            &CommitOptions {
                changes: vec!["RUN true".into()],
                ..CommitOptions::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.kind, Kind::InvalidArgument, "{}", err.message);
    e.remove(&c.id, true, true).await.unwrap();
}
