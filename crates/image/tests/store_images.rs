//! The store on a real filesystem: layers (plain, gzip, zstd), images,
//! references, `rmi` with Docker's rules, prune, gc, corrupt blobs, and
//! several handles on one store at once. Runs as root (layers keep owners
//! and whiteouts are device nodes).

mod store_util;

use std::fs;
use std::io::Write;
use std::time::{Duration, SystemTime};

use store_util::TestStore;
use wharf_image::config::{ImageConfig, RunConfig};
use wharf_image::digest::{chain_id, Digest};
use wharf_image::gc::Removed;
use wharf_image::reference::Reference;
use wharf_image::store::{Store, StoreError};
use wharf_testkit::images::{layer_tar, Entry};

fn config(diff_ids: &[Digest], cmd: &str) -> Vec<u8> {
    let mut cfg = ImageConfig {
        architecture: "amd64".into(),
        os: "linux".into(),
        created: Some("2024-01-02T03:04:05.123456789Z".into()),
        config: Some(RunConfig {
            cmd: Some(vec![cmd.into()]),
            ..RunConfig::default()
        }),
        ..ImageConfig::default()
    };
    cfg.rootfs.diff_ids = diff_ids.to_vec();
    cfg.to_json()
}

fn r(s: &str) -> Reference {
    s.parse().unwrap()
}

/// Adds a one-file layer on `parent` and returns its chain ID.
fn add(store: &Store, parent: Option<&Digest>, name: &str) -> Digest {
    let tar = layer_tar(&[Entry::file(name, name.as_bytes())]);
    store.add_layer(parent, &tar[..]).unwrap().chain_id
}

/// An image of two layers, tagged `tag`; returns (image ID, chain IDs).
fn image(store: &Store, tag: &str, seed: &str) -> (Digest, Vec<Digest>) {
    let l1 = store
        .add_layer(None, &layer_tar(&[Entry::file("base", b"base")])[..])
        .unwrap();
    let l2 = store
        .add_layer(
            Some(&l1.chain_id),
            &layer_tar(&[Entry::file(seed, seed.as_bytes())])[..],
        )
        .unwrap();
    let id = store
        .add_image(&config(&[l1.diff_id, l2.diff_id], seed))
        .unwrap();
    store.tag(&id, &r(tag)).unwrap();
    (id, vec![l1.chain_id, l2.chain_id])
}

#[test]
fn layer_keeps_its_tar_and_unpacks_once_whatever_the_compression() {
    let s = TestStore::new();
    let tar = layer_tar(&[
        Entry::dir("etc"),
        Entry::file("etc/hostname", b"wharf\n"),
        Entry::File("bin/tool".into(), vec![7; 5000], 0o4755),
    ]);
    let layer = s.add_layer(None, &tar[..]).unwrap();
    assert_eq!(layer.diff_id, Digest::of(&tar));
    assert_eq!(layer.chain_id, layer.diff_id);
    assert_eq!(layer.parent, None);
    assert_eq!(layer.size, 5006);
    assert_eq!(s.content().read(&layer.diff_id).unwrap(), tar);
    assert_eq!(
        fs::read(layer.dir.join("etc/hostname")).unwrap(),
        b"wharf\n"
    );
    assert!(layer
        .dir
        .ends_with(format!("layers/{}/diff", layer.chain_id.hex())));

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    assert_eq!(s.add_layer(None, &gz[..]).unwrap(), layer);
    let zst = zstd::encode_all(&tar[..], 3).unwrap();
    assert_eq!(s.add_layer(None, &zst[..]).unwrap(), layer);
    // Compressed twice is not a layer: one decompression, then a tar.
    let mut gz2 = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz2.write_all(&gz).unwrap();
    let gz2 = gz2.finish().unwrap();
    assert!(s.add_layer(None, &gz2[..]).is_err());
    assert_eq!(s.layers().unwrap(), vec![layer.chain_id.clone()]);

    let top = s
        .add_layer(
            Some(&layer.chain_id),
            &layer_tar(&[Entry::file("x", b"x")])[..],
        )
        .unwrap();
    assert_eq!(top.parent.as_ref(), Some(&layer.chain_id));
    assert_eq!(top.chain_id, chain_id(Some(&layer.chain_id), &top.diff_id));
    assert_eq!(s.layer(&top.chain_id).unwrap(), top);
    // Nothing is left in tmp.
    assert_eq!(fs::read_dir(s.tmp_dir()).unwrap().count(), 0);
}

#[test]
fn failed_layer_leaves_nothing() {
    let s = TestStore::new();
    let mut tar = layer_tar(&[Entry::file("a", &[1; 3000]), Entry::file("b", b"b")]);
    tar.truncate(1200); // inside a's content
    assert!(s.add_layer(None, &tar[..]).is_err());
    let missing: Digest = format!("sha256:{}", "0".repeat(64)).parse().unwrap();
    let err = s
        .add_layer(Some(&missing), &layer_tar(&[])[..])
        .unwrap_err();
    assert_eq!(err.to_string(), format!("no such layer: {missing}"));
    assert!(s.layers().unwrap().is_empty());
    assert!(s.content().list().unwrap().is_empty());
    assert_eq!(fs::read_dir(s.tmp_dir()).unwrap().count(), 0);
    assert_eq!(fs::read_dir(s.root().join("layers")).unwrap().count(), 0);
}

#[test]
fn images_are_found_by_reference_and_id() {
    let s = TestStore::new();
    let (id, chain) = image(&s, "busybox", "one");
    let img = s.image("busybox").unwrap();
    assert_eq!(img.id, id);
    assert_eq!(img.id, Digest::of(&img.config_bytes));
    assert_eq!(img.repo_tags, ["busybox:latest"]);
    assert!(img.repo_digests.is_empty());
    assert_eq!(
        img.layers
            .iter()
            .map(|l| l.chain_id.clone())
            .collect::<Vec<_>>(),
        chain
    );
    assert_eq!(img.size, 4 + 3);
    assert_eq!(img.created.unwrap().unix_timestamp(), 1_704_164_645);
    assert_eq!(
        img.config.config.as_ref().unwrap().cmd.as_deref().unwrap(),
        ["one"]
    );
    for name in [
        "busybox:latest",
        "docker.io/library/busybox",
        id.as_str(),
        id.hex(),
        &id.hex()[..12],
        &id.hex()[..3],
    ] {
        assert_eq!(s.image_id(name).unwrap(), id, "{name}");
    }
    assert_eq!(
        s.image(&format!("sha256:{}", &id.hex()[..8])).unwrap().id,
        id
    );

    let e = s.image("nothere").unwrap_err().to_string();
    assert_eq!(e, "no such image: nothere:latest");
    let e = s.image("localhost:5000/x:1").unwrap_err().to_string();
    assert_eq!(e, "no such image: localhost:5000/x:1");

    // A digest reference (a manifest's digest) and a second tag.
    let manifest = s.content().put(b"{\"manifest\":1}").unwrap();
    s.tag(&id, &r("busybox").with_digest(&manifest)).unwrap();
    s.tag(&id, &r("localhost:5000/tools/bb:1.0")).unwrap();
    let img = s.image(&format!("busybox@{manifest}")).unwrap();
    assert_eq!(
        img.repo_tags,
        ["busybox:latest", "localhost:5000/tools/bb:1.0"]
    );
    assert_eq!(img.repo_digests, [format!("busybox@{manifest}")]);
    let both = format!("busybox:1@{manifest}").parse().unwrap();
    assert!(matches!(
        s.tag(&id, &both),
        Err(StoreError::TagWithDigest { .. })
    ));

    // A tag moves; untag removes.
    let (id2, _) = image(&s, "other", "two");
    s.tag(&id2, &r("busybox")).unwrap();
    assert_eq!(s.image_id("busybox").unwrap(), id2);
    s.untag(&r("busybox")).unwrap();
    assert_eq!(
        s.image("busybox").unwrap_err().to_string(),
        "no such image: busybox:latest"
    );
    assert_eq!(
        s.untag(&r("busybox")).unwrap_err().to_string(),
        "no such image: busybox:latest"
    );
    assert_eq!(s.images().unwrap().len(), 2);

    // Parents, as the builder records them.
    s.set_parent(&id2, Some(&id)).unwrap();
    assert_eq!(s.parent(&id2).unwrap(), Some(id.clone()));
    assert!(s.has_children(&id).unwrap());
    assert_eq!(s.children(&id).unwrap(), vec![id2.clone()]);
}

#[test]
fn ambiguous_prefix_and_missing_layers_are_errors() {
    let s = TestStore::new();
    let mut ids = Vec::new();
    // 40 images: two of them share a first hex digit.
    for i in 0..40 {
        ids.push(s.add_image(&config(&[], &format!("cmd{i}"))).unwrap());
    }
    let first = &ids[0].hex()[..1];
    let e = s.image(first).unwrap_err();
    assert!(matches!(e, StoreError::AmbiguousId { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!("multiple IDs found with provided prefix: {first}")
    );

    let diff = Digest::of(b"not a layer");
    let e = s
        .add_image(&config(std::slice::from_ref(&diff), "x"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!("image config needs layer {diff} (chain {diff}), which is not in the store")
    );
    assert!(s.add_image(b"{not json").is_err());
}

#[test]
fn rmi_by_tag_untags_and_deletes_the_last() {
    let s = TestStore::new();
    let (id, chain) = image(&s, "app:1", "app");
    s.tag(&id, &r("app:2")).unwrap();
    assert_eq!(
        s.remove_image("app:1", false).unwrap(),
        [Removed::Untagged("app:1".into())]
    );
    assert_eq!(s.image("app:2").unwrap().id, id);

    let removed = s.remove_image("app:2", false).unwrap();
    let want = vec![
        Removed::Untagged("app:2".into()),
        Removed::Deleted(id.clone()),
        Removed::Deleted(chain[1].clone()),
        Removed::Deleted(chain[0].clone()),
    ];
    assert_eq!(removed, want);
    assert!(s.images().unwrap().is_empty());
    assert!(s.layers().unwrap().is_empty());
    assert!(s.content().list().unwrap().is_empty());
    assert_eq!(fs::read_dir(s.root().join("layers")).unwrap().count(), 0);
    let e = s.remove_image("app:2", false).unwrap_err().to_string();
    assert_eq!(e, "no such image: app:2");
}

#[test]
fn rmi_keeps_layers_other_images_use_and_digest_refs_follow_the_last_tag() {
    let s = TestStore::new();
    let (a, chain_a) = image(&s, "a", "a");
    let (b, _) = image(&s, "b", "b");
    let manifest = Digest::of(b"manifest of a");
    s.tag(&a, &r("a").with_digest(&manifest)).unwrap();
    let removed = s.remove_image("a", false).unwrap();
    let want = vec![
        Removed::Untagged("a:latest".into()),
        Removed::Untagged(format!("a@{manifest}")),
        Removed::Deleted(a.clone()),
        Removed::Deleted(chain_a[1].clone()),
    ];
    assert_eq!(removed, want);
    // The shared base layer stays, and b is whole.
    assert!(s.has_layer(&chain_a[0]).unwrap());
    let img = s.image("b").unwrap();
    assert_eq!(img.id, b);
    for l in &img.layers {
        s.content().verify(&l.diff_id).unwrap();
        assert!(l.dir.is_dir());
    }
}

#[test]
fn rmi_by_id_follows_dockers_conflicts() {
    let s = TestStore::new();
    let (id, _) = image(&s, "one", "x");
    s.tag(&id, &r("two")).unwrap();
    let e = s.remove_image(id.short(), false).unwrap_err().to_string();
    assert_eq!(
        e,
        format!("conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories", id.short())
    );
    let removed = s.remove_image(id.short(), true).unwrap();
    assert_eq!(
        removed[..2],
        [
            Removed::Untagged("one:latest".into()),
            Removed::Untagged("two:latest".into())
        ]
    );
    assert_eq!(removed[2], Removed::Deleted(id.clone()));

    // An image with one tag goes by ID without force.
    let (id, _) = image(&s, "single", "y");
    let removed = s.remove_image(id.as_str(), false).unwrap();
    assert_eq!(
        removed[..2],
        [
            Removed::Untagged("single:latest".into()),
            Removed::Deleted(id)
        ]
    );

    // A parent of another image cannot go, even by force.
    let (base, _) = image(&s, "base", "z");
    let (child, _) = image(&s, "child", "w");
    s.set_parent(&child, Some(&base)).unwrap();
    s.untag(&r("base")).unwrap();
    let e = s.remove_image(base.hex(), true).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "conflict: unable to delete {} (cannot be forced) - image has dependent child images",
            base.short()
        )
    );
    // Deleting the child takes the untagged parent along.
    let removed = s.remove_image("child", false).unwrap();
    assert!(removed.contains(&Removed::Deleted(child)));
    assert!(removed.contains(&Removed::Deleted(base)), "{removed:?}");
    assert!(s.images().unwrap().is_empty());
}

#[test]
fn rmi_refuses_an_image_a_snapshot_uses() {
    let s = TestStore::new();
    let (id, chain) = image(&s, "busybox", "sh");
    let snap = s.create_snapshot("ctr1", Some(&id)).unwrap();
    let e = s.remove_image("busybox", false).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "conflict: unable to remove repository reference \"busybox\" (must force) - container ctr1 is using its referenced image {}",
            id.short()
        )
    );
    s.untag(&r("busybox")).unwrap();
    let e = s.remove_image(id.hex(), false).unwrap_err().to_string();
    assert_eq!(
        e,
        format!("conflict: unable to delete {} (must be forced) - image is being used by stopped container ctr1", id.short())
    );
    // Prune leaves it too.
    assert!(s.prune(true).unwrap().is_empty());
    // Forced, the image goes but the snapshot keeps its layers.
    let removed = s.remove_image(id.hex(), true).unwrap();
    assert_eq!(removed, [Removed::Deleted(id.clone())]);
    s.gc().unwrap();
    for c in &chain {
        assert!(s.has_layer(c).unwrap());
    }
    let merged = s.mount_snapshot(&snap).unwrap();
    assert_eq!(fs::read(merged.join("sh")).unwrap(), b"sh");
    s.unmount_snapshot(&snap).unwrap();
    s.remove_snapshot("ctr1").unwrap();
    let stats = s.gc().unwrap();
    assert_eq!(stats.layers, 2);
    assert!(s.layers().unwrap().is_empty());
    assert!(s.content().list().unwrap().is_empty());
}

#[test]
fn prune_removes_dangling_then_all_unused() {
    let s = TestStore::new();
    let (tagged, _) = image(&s, "keep", "k");
    let dangling = s.add_image(&config(&[], "dangling")).unwrap();
    let removed = s.prune(false).unwrap();
    assert_eq!(removed, [Removed::Deleted(dangling)]);
    assert_eq!(s.images().unwrap().len(), 1);
    let removed = s.prune(true).unwrap();
    assert_eq!(
        removed,
        [
            Removed::Untagged("keep:latest".into()),
            Removed::Deleted(tagged)
        ]
    );
    // Layers and blobs are gc's: it reports the bytes.
    let stats = s.gc().unwrap();
    assert_eq!(stats.layers, 2);
    assert!(stats.blobs >= 3);
    assert!(stats.bytes > 0);
    assert!(s.content().list().unwrap().is_empty());
}

#[test]
fn gc_removes_only_what_nothing_refers_to() {
    let s = TestStore::new();
    let (id, chain) = image(&s, "kept", "kept");
    let manifest = s.put_image_blob(&id, b"{\"schemaVersion\":2}").unwrap();
    let stray_blob = s.content().put(b"stray").unwrap();
    let stray_layer = add(&s, None, "stray");
    // Old leftovers in tmp go; recent ones may be work in flight.
    fs::create_dir(s.tmp_dir().join("leftover")).unwrap();
    fs::write(s.tmp_dir().join("leftover/file"), b"x").unwrap();
    let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
    fs::File::open(s.tmp_dir().join("leftover"))
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    fs::write(s.tmp_dir().join("in-flight"), b"x").unwrap();
    fs::create_dir_all(s.root().join("snapshots/orphan/upper")).unwrap();

    let stats = s.gc().unwrap();
    assert_eq!(stats.layers, 1);
    assert_eq!(stats.blobs, 2); // the stray blob and the stray layer's tar
    assert_eq!(stats.leftovers, 2);
    assert!(!s.content().exists(&stray_blob));
    assert!(!s.has_layer(&stray_layer).unwrap());
    assert!(!s.root().join("layers").join(stray_layer.hex()).exists());
    assert!(!s.root().join("snapshots/orphan").exists());
    assert!(!s.tmp_dir().join("leftover").exists());
    assert!(s.tmp_dir().join("in-flight").exists());

    let img = s.image("kept").unwrap();
    s.content().verify(&id).unwrap();
    s.content().verify(&manifest).unwrap();
    for (l, c) in img.layers.iter().zip(&chain) {
        assert_eq!(&l.chain_id, c);
        s.content().verify(&l.diff_id).unwrap();
        assert!(l.dir.is_dir());
    }
    assert_eq!(s.image_blobs(&id).unwrap(), [manifest]);
    assert_eq!(s.gc().unwrap(), Default::default());
}

#[test]
fn corrupt_blobs_are_detected_and_named() {
    let s = TestStore::new();
    let (id, _) = image(&s, "c", "c");
    let layer = s.image("c").unwrap().layers[1].clone();

    let path = s.content().path(&id);
    let mut bytes = fs::read(&path).unwrap();
    bytes[5] ^= 1;
    fs::write(&path, &bytes).unwrap();
    let e = s.image("c").unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "blob {id} is corrupt: its content has digest sha256:"
        )),
        "{e}"
    );

    let path = s.content().path(&layer.diff_id);
    let mut bytes = fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n / 3] ^= 0x20;
    fs::write(&path, &bytes).unwrap();
    let e = s.content().verify(&layer.diff_id).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("blob {} is corrupt", layer.diff_id)),
        "{e}"
    );
    let mut r = s.content().open(&layer.diff_id).unwrap();
    let e = std::io::copy(&mut r, &mut std::io::sink()).unwrap_err();
    assert!(e.to_string().contains(layer.diff_id.as_str()), "{e}");
    assert!(s.content().read(&layer.diff_id).is_err());

    // Content written under an expected digest must match it.
    let want = Digest::of(b"right");
    let e = s
        .content()
        .put_reader(&b"wrong"[..], Some(&want))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "digest mismatch: expected {want}, content has digest {}",
            Digest::of(b"wrong")
        )
    );
    assert!(!s.content().exists(&Digest::of(b"wrong")));
    let missing = Digest::of(b"absent");
    assert_eq!(
        s.content().read(&missing).unwrap_err().to_string(),
        format!("blob {missing} not found")
    );
}

#[test]
fn several_handles_write_one_store_at_once() {
    let s = TestStore::new();
    let root = s.root().to_owned();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let root = root.clone();
            std::thread::spawn(move || {
                let store = Store::open(&root).unwrap();
                let mut ids = Vec::new();
                for i in 0..5 {
                    let hold = store.hold().unwrap();
                    let base = store
                        .add_layer(None, &layer_tar(&[Entry::file("shared", b"same")])[..])
                        .unwrap();
                    let name = format!("t{t}-{i}");
                    let top = store
                        .add_layer(
                            Some(&base.chain_id),
                            &layer_tar(&[Entry::file(&name, name.as_bytes())])[..],
                        )
                        .unwrap();
                    let id = store
                        .add_image(&config(&[base.diff_id, top.diff_id], &name))
                        .unwrap();
                    store.tag(&id, &r(&name)).unwrap();
                    drop(hold);
                    if i % 2 == 0 {
                        store.gc().unwrap();
                    }
                    ids.push(id);
                }
                ids
            })
        })
        .collect();
    let ids: Vec<Digest> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(s.images().unwrap().len(), 20);
    assert_eq!(s.layers().unwrap().len(), 21);
    for id in ids {
        let img = s.image_by_id(&id).unwrap();
        for l in img.layers {
            s.content().verify(&l.diff_id).unwrap();
            assert!(l.dir.is_dir());
        }
    }
}

#[test]
fn bad_names_say_what_is_wrong() {
    let s = TestStore::new();
    let e = s.image("Busybox").unwrap_err().to_string();
    assert_eq!(
        e,
        "invalid reference format: repository name (library/Busybox) must be lowercase"
    );
    let e = s.remove_image("a..b", false).unwrap_err().to_string();
    assert_eq!(e, "invalid reference format: a..b");
    // A hex string that is no image's prefix is a missing image.
    assert_eq!(
        s.image("abc123").unwrap_err().to_string(),
        "no such image: abc123:latest"
    );
}

#[test]
fn a_corrupt_blob_is_repaired_by_storing_it_again() {
    let s = TestStore::new();
    let d = s.content().put(b"{\"a\":1}").unwrap();
    fs::write(s.content().path(&d), b"{\"a\":2}").unwrap();
    assert!(s.content().verify(&d).is_err());
    assert_eq!(s.content().put(b"{\"a\":1}").unwrap(), d);
    s.content().verify(&d).unwrap();
}
