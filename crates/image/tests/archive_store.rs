//! `load` and `save` on real stores (root: layers keep owners): save → load
//! into another store gives identical digests; names and IDs pick what is
//! tagged; a corrupt or hostile archive is refused and names the blob.

use std::fs;
use std::path::Path;

use serde_json::json;
use wharf_image::archive::{extract, load, load_dir, read_dir, save, save_dir, LoadError};
use wharf_image::digest::Digest;
use wharf_image::reference::Reference;
use wharf_image::store::Store;
use wharf_testkit::images::{busybox_rootfs_tar, layer_tar, Entry};

/// A store in a temporary directory.
fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

/// Adds an image made of `layers` to `store`, tagged `tags`.
fn add_image(store: &Store, layers: &[Vec<u8>], cmd: &str, tags: &[&str]) -> Digest {
    let mut parent: Option<Digest> = None;
    let mut diff_ids = Vec::new();
    for l in layers {
        let layer = store.add_layer(parent.as_ref(), l.as_slice()).unwrap();
        diff_ids.push(layer.diff_id.to_string());
        parent = Some(layer.chain_id);
    }
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": [cmd]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let id = store.add_image(&config).unwrap();
    for t in tags {
        store.tag(&id, &Reference::parse(t).unwrap()).unwrap();
    }
    id
}

fn diff_ids(store: &Store, name: &str) -> Vec<Digest> {
    let img = store.image(name).unwrap();
    img.layers.iter().map(|l| l.diff_id.clone()).collect()
}

fn saved(store: &Store, names: &[&str]) -> Vec<u8> {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut out = Vec::new();
    save(store, &names, &mut out).unwrap();
    out
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn save_load_round_trip_keeps_digests() {
    let (_a_dir, a) = store();
    let base = busybox_rootfs_tar();
    let top = layer_tar(&[Entry::dir("srv"), Entry::file("srv/x", b"x\n")]);
    let one = add_image(&a, std::slice::from_ref(&base), "sh", &["one", "one:2"]);
    let two = add_image(&a, &[base, top], "cat", &["localhost:5000/two:v1"]);
    let archive = saved(&a, &["one:latest", "one:2", "localhost:5000/two:v1"]);

    let (_b_dir, b) = store();
    let loaded = load(&b, archive.as_slice()).unwrap();
    assert_eq!(loaded.len(), 2);
    assert_eq!(loaded[0].id, one);
    assert_eq!(sorted(loaded[0].tags.clone()), ["one:2", "one:latest"]);
    assert_eq!(loaded[1].id, two);
    assert_eq!(loaded[1].tags, ["localhost:5000/two:v1"]);
    for name in ["one:latest", "localhost:5000/two:v1"] {
        assert_eq!(diff_ids(&a, name), diff_ids(&b, name), "{name}");
        assert_eq!(
            a.image(name).unwrap().config_bytes,
            b.image(name).unwrap().config_bytes
        );
    }
    // The same images saved from the second store give the same archive.
    assert_eq!(
        archive,
        saved(&b, &["one:latest", "one:2", "localhost:5000/two:v1"])
    );
    // Loading again changes nothing and reports the same, compressed too.
    assert_eq!(load(&b, archive.as_slice()).unwrap(), loaded);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &archive).unwrap();
    let (_c_dir, c) = store();
    assert_eq!(load(&c, gz.finish().unwrap().as_slice()).unwrap(), loaded);
}

#[test]
fn oci_layout_directory_round_trip() {
    let (a_dir, a) = store();
    let base = layer_tar(&[Entry::file("base", b"base\n")]);
    let top = layer_tar(&[Entry::file("top", b"top\n")]);
    let one = add_image(&a, &[base.clone(), top], "sh", &["one:1"]);
    let two = add_image(&a, &[base], "sh", &[]);
    let layout = a_dir.path().join("layout");
    let names = vec!["one:1".to_string(), two.to_string()];
    save_dir(&a, &names, &layout).unwrap();
    assert!(layout.join("oci-layout").is_file());
    assert!(
        save_dir(&a, &names, &layout).is_err(),
        "an existing layout is not overwritten"
    );
    // As a plain OCI layout, without the docker-archive files.
    fs::remove_file(layout.join("manifest.json")).unwrap();
    fs::remove_file(layout.join("repositories")).unwrap();
    let (_b_dir, b) = store();
    let loaded = load_dir(&b, &layout).unwrap();
    assert_eq!(loaded.len(), 2);
    assert_eq!(
        (loaded[0].id.clone(), loaded[0].tags.clone()),
        (one, vec!["one:1".to_string()])
    );
    assert_eq!(loaded[1].id, two);
    assert!(loaded[1].tags.is_empty());
    assert_eq!(diff_ids(&a, "one:1"), diff_ids(&b, "one:1"));
}

#[test]
fn save_by_id_has_no_tag() {
    let (_dir, s) = store();
    let id = add_image(
        &s,
        &[layer_tar(&[Entry::file("f", b"f")])],
        "x",
        &["named:1"],
    );
    for name in [id.to_string(), id.hex().to_string(), id.short().to_string()] {
        let archive = saved(&s, &[&name]);
        let dir = tempfile::tempdir().unwrap();
        extract(archive.as_slice(), dir.path()).unwrap();
        let images = read_dir(dir.path()).unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].id(), id);
        assert!(images[0].repo_tags.is_empty(), "saved by {name}");
        let (_d2, other) = store();
        let loaded = load(&other, archive.as_slice()).unwrap();
        assert_eq!(loaded[0].id, id);
        assert!(loaded[0].tags.is_empty());
    }
    // By name and by ID: one image, the name's tag.
    let archive = saved(&s, &["named:1", &id.to_string()]);
    let (_d3, other) = store();
    let loaded = load(&other, archive.as_slice()).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].tags, ["named:1"]);
}

#[test]
fn unknown_name_is_an_error() {
    let (_dir, s) = store();
    let err = save(&s, &["nothere".to_string()], &mut Vec::new()).unwrap_err();
    assert!(err.to_string().contains("nothere"), "{err}");
}

/// Rewrites one member of an archive tar.
fn tamper(archive: &[u8], member: &str, f: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    extract(archive, dir.path()).unwrap();
    let path = dir.path().join(member);
    let mut bytes = fs::read(&path).unwrap();
    f(&mut bytes);
    fs::write(&path, bytes).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    b.append_dir_all(".", dir.path()).unwrap();
    b.into_inner().unwrap()
}

fn assert_store_empty(s: &Store) {
    assert!(s.images().unwrap().is_empty(), "no image was added");
}

#[test]
fn corrupt_layer_blob_is_named_and_nothing_loaded() {
    let (_dir, s) = store();
    let layer = layer_tar(&[Entry::file("data", &[7u8; 4096])]);
    add_image(&s, &[layer], "x", &["victim:1"]);
    let archive = saved(&s, &["victim:1"]);
    let diff_id = diff_ids(&s, "victim:1").remove(0);
    let bad = tamper(&archive, &format!("blobs/sha256/{}", diff_id.hex()), |b| {
        b[1000] ^= 0xff
    });
    let (_d2, other) = store();
    let err = load(&other, bad.as_slice()).unwrap_err();
    assert!(err.to_string().contains(diff_id.as_str()), "{err}");
    assert_store_empty(&other);
}

/// A legacy-style archive (no digest in the layer's path) whose layer is
/// not the one the config names: caught when the store hashes it.
#[test]
fn layer_not_matching_config_is_refused() {
    let good = layer_tar(&[Entry::file("a", b"a")]);
    let evil = layer_tar(&[Entry::file("a", b"evil")]);
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [Digest::of(&good).to_string()]},
    }))
    .unwrap();
    let manifest = json!([{"Config": "c.json", "RepoTags": ["x:1"], "Layers": ["l/layer.tar"]}]);
    let tar = layer_tar(&[
        Entry::file("c.json", &config),
        Entry::dir("l"),
        Entry::file("l/layer.tar", &evil),
        Entry::file("manifest.json", manifest.to_string().as_bytes()),
    ]);
    let (_dir, s) = store();
    let err = load(&s, tar.as_slice()).unwrap_err();
    assert!(matches!(err, LoadError::DiffId { .. }), "{err}");
    assert!(
        err.to_string().contains(&Digest::of(&good).to_string()),
        "{err}"
    );
    assert_store_empty(&s);
}

#[test]
fn dotdot_archive_is_refused_and_writes_nothing_outside() {
    let (dir, s) = store();
    let mut h = tar::Header::new_gnu();
    let name = b"../../escaped-by-archive";
    h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
    h.set_mode(0o644);
    h.set_size(1);
    h.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    b.append(&h, &b"x"[..]).unwrap();
    let tar = b.into_inner().unwrap();
    let err = load(&s, tar.as_slice()).unwrap_err();
    assert!(err.to_string().contains("escaped-by-archive"), "{err}");
    assert!(!dir.path().join("escaped-by-archive").exists());
    assert!(!dir
        .path()
        .parent()
        .unwrap()
        .join("escaped-by-archive")
        .exists());
    let leftovers: Vec<_> = fs::read_dir(s.tmp_dir()).unwrap().collect();
    assert!(leftovers.is_empty(), "the unpack directory is removed");
    assert!(!Path::new("/escaped-by-archive").exists());
}
