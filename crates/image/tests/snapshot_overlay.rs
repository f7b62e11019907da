//! Overlay snapshots on the real kernel, as root: whiteouts and opaque
//! directories of image layers take effect in the merged tree, writes land
//! in the upper directory, an image without layers mounts, and an image of
//! 300 layers mounts although its lower directories are far longer than
//! the one page `mount(2)` takes.

mod store_util;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use store_util::TestStore;
use wharf_image::config::ImageConfig;
use wharf_image::digest::Digest;
use wharf_image::snapshot::{is_mounted, mount_overlay_classic, unmount_overlay};
use wharf_image::store::{Layer, Store};
use wharf_testkit::images::{layer_tar, Entry};

fn image_of(store: &Store, layers: &[Layer]) -> Digest {
    let mut cfg = ImageConfig {
        os: "linux".into(),
        ..ImageConfig::default()
    };
    cfg.rootfs.diff_ids = layers.iter().map(|l| l.diff_id.clone()).collect();
    store.add_image(&cfg.to_json()).unwrap()
}

fn names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn whiteouts_and_opaque_dirs_hide_lower_files() {
    let s = TestStore::new();
    let l1 = s
        .add_layer(
            None,
            &layer_tar(&[
                Entry::dir("a"),
                Entry::file("a/gone", b"1"),
                Entry::file("a/kept", b"2"),
                Entry::dir("d"),
                Entry::file("d/old", b"3"),
                Entry::Dir("private".into(), 0o700),
            ])[..],
        )
        .unwrap();
    let l2 = s
        .add_layer(
            Some(&l1.chain_id),
            &layer_tar(&[
                Entry::whiteout("a/gone"),
                Entry::dir("d"),
                Entry::file("d/.wh..wh..opq", b""),
                Entry::file("d/new", b"4"),
            ])[..],
        )
        .unwrap();
    let id = image_of(&s, &[l1.clone(), l2.clone()]);
    let snap = s.create_snapshot("ws1", Some(&id)).unwrap();
    assert_eq!(snap.lowers, [l2.dir.clone(), l1.dir.clone()]);
    assert_eq!(snap.layers, [l1.chain_id.clone(), l2.chain_id.clone()]);
    assert!(!is_mounted(&snap.merged));

    let merged = s.mount_snapshot(&snap).unwrap();
    assert!(is_mounted(&merged));
    // Mounting again is a no-op.
    assert_eq!(s.mount_snapshot(&snap).unwrap(), merged);
    assert_eq!(names(&merged), ["a", "d", "private"]);
    assert_eq!(names(&merged.join("a")), ["kept"]);
    assert_eq!(names(&merged.join("d")), ["new"]);
    assert_eq!(
        fs::metadata(merged.join("private")).unwrap().mode() & 0o7777,
        0o700
    );

    // Writes go to the upper directory; a deleted lower file becomes a
    // whiteout there.
    fs::write(merged.join("a/written"), b"w").unwrap();
    fs::remove_file(merged.join("a/kept")).unwrap();
    assert_eq!(fs::read(snap.upper.join("a/written")).unwrap(), b"w");
    let wh = fs::symlink_metadata(snap.upper.join("a/kept")).unwrap();
    assert!(wh.file_type().is_char_device() && wh.rdev() == 0);
    // The layers themselves are untouched.
    assert_eq!(fs::read(l1.dir.join("a/kept")).unwrap(), b"2");

    s.unmount_snapshot(&snap).unwrap();
    assert!(!is_mounted(&snap.merged));
    assert!(names(&snap.merged).is_empty());
    s.unmount_snapshot_by_id("ws1").unwrap();

    // A remount sees the same state.
    let merged = s.mount_snapshot(&s.snapshot("ws1").unwrap()).unwrap();
    assert_eq!(names(&merged.join("a")), ["written"]);
    // Removing a mounted snapshot unmounts it.
    s.remove_snapshot("ws1").unwrap();
    assert!(!snap.dir.exists());
    assert!(s.snapshots().unwrap().is_empty());
    assert_eq!(fs::read_dir(s.tmp_dir()).unwrap().count(), 0);
    assert_eq!(
        s.snapshot("ws1").unwrap_err().to_string(),
        "no such snapshot: ws1"
    );
}

#[test]
fn empty_images_and_no_image_mount_an_empty_tree() {
    let s = TestStore::new();
    let id = image_of(&s, &[]);
    for (name, image) in [("empty", Some(&id)), ("none", None)] {
        let snap = s.create_snapshot(name, image).unwrap();
        assert_eq!(snap.lowers, [snap.dir.join("lower")]);
        let merged = s.mount_snapshot(&snap).unwrap();
        assert!(names(&merged).is_empty());
        assert_eq!(fs::metadata(&merged).unwrap().mode() & 0o7777, 0o755);
        fs::create_dir(merged.join("etc")).unwrap();
        fs::write(merged.join("etc/x"), b"x").unwrap();
        assert!(snap.upper.join("etc/x").is_file());
        s.remove_snapshot(name).unwrap();
    }
}

#[test]
fn snapshot_on_a_layer_without_an_image() {
    let s = TestStore::new();
    let l1 = s
        .add_layer(None, &layer_tar(&[Entry::file("one", b"1")])[..])
        .unwrap();
    let l2 = s
        .add_layer(
            Some(&l1.chain_id),
            &layer_tar(&[Entry::file("two", b"2")])[..],
        )
        .unwrap();
    let snap = s
        .create_snapshot_on_layer("step-3", Some(&l2.chain_id))
        .unwrap();
    assert_eq!(snap.image, None);
    assert_eq!(snap.layers, [l1.chain_id.clone(), l2.chain_id.clone()]);
    let merged = s.mount_snapshot(&snap).unwrap();
    assert_eq!(names(&merged), ["one", "two"]);
    // The snapshot keeps its layers through gc.
    s.unmount_snapshot(&snap).unwrap();
    assert_eq!(s.gc().unwrap().layers, 0);
    assert!(l1.dir.is_dir() && l2.dir.is_dir());
    s.remove_snapshot("step-3").unwrap();
    assert_eq!(s.gc().unwrap().layers, 2);
}

#[test]
fn snapshot_names_and_duplicates_are_checked() {
    let s = TestStore::new();
    s.create_snapshot("dup", None).unwrap();
    assert_eq!(
        s.create_snapshot("dup", None).unwrap_err().to_string(),
        "snapshot dup already exists"
    );
    for bad in ["", "../x", "a/b", ".hidden", "-x", &"x".repeat(129)] {
        assert!(s.create_snapshot(bad, None).is_err(), "{bad:?}");
    }
    let ghost = Digest::of(b"no image");
    let e = s
        .create_snapshot("ghost", Some(&ghost))
        .unwrap_err()
        .to_string();
    assert_eq!(e, format!("no such image: {ghost}"));
    assert!(s.snapshot("ghost").is_err());
    assert!(s.remove_snapshot("ghost").is_err());
    assert_eq!(s.snapshots().unwrap().len(), 1);
    assert_eq!(fs::read_dir(s.tmp_dir()).unwrap().count(), 0);
}

/// A removal cut short leaves a record without its directory (removed
/// again without error), never a directory without its record; such a
/// directory (a power loss) is swept, a mounted or recorded one is kept.
#[test]
fn removal_cut_short_leaves_nothing_unnamed() {
    let s = TestStore::new();
    let kept = s.create_snapshot("kept", None).unwrap();
    s.mount_snapshot(&kept).unwrap();
    let half = s.create_snapshot("half", None).unwrap();
    fs::remove_dir_all(&half.dir).unwrap();
    s.remove_snapshot("half").unwrap();
    assert!(s.snapshot("half").is_err());

    fs::create_dir_all(s.root().join("snapshots/orphan/upper")).unwrap();
    assert_eq!(s.remove_orphan_snapshots().unwrap(), 1);
    assert_eq!(names(&s.root().join("snapshots")), ["kept"]);
    assert!(is_mounted(&kept.merged));
    s.remove_snapshot("kept").unwrap();
    assert!(names(&s.root().join("snapshots")).is_empty());
    assert_eq!(fs::read_dir(s.tmp_dir()).unwrap().count(), 0);
}

#[test]
fn three_hundred_layers_mount() {
    const N: usize = 300;
    let s = TestStore::new();
    let mut layers: Vec<Layer> = Vec::new();
    for i in 0..N {
        let tar = layer_tar(&[
            Entry::file(&format!("f{i:03}"), b"x"),
            Entry::file("top", i.to_string().as_bytes()),
        ]);
        let parent = layers.last().map(|l| l.chain_id.clone());
        layers.push(s.add_layer(parent.as_ref(), &tar[..]).unwrap());
    }
    let id = image_of(&s, &layers);
    let snap = s.create_snapshot("tall", Some(&id)).unwrap();
    assert_eq!(snap.lowers.len(), N);
    let option_len: usize = snap.lowers.iter().map(|l| l.as_os_str().len() + 1).sum();
    assert!(
        option_len > 4096 * 5,
        "lowerdir would be {option_len} bytes"
    );

    let merged = s.mount_snapshot(&snap).unwrap();
    let files = names(&merged);
    assert_eq!(files.len(), N + 1);
    assert_eq!(files[0], "f000");
    assert_eq!(files[N - 1], format!("f{:03}", N - 1));
    assert_eq!(
        fs::read_to_string(merged.join("top")).unwrap(),
        (N - 1).to_string()
    );
    s.unmount_snapshot(&snap).unwrap();
    // mount(2) cannot take this many: its options fit in one page.
    let e = mount_overlay_classic(&snap.lowers, &snap.upper, &snap.work, &snap.merged).unwrap_err();
    let source = std::error::Error::source(&e).unwrap().to_string();
    assert!(source.contains("os error 7"), "{e}: {source}");
    assert!(!is_mounted(&snap.merged));
    s.remove_snapshot("tall").unwrap();
}

#[test]
fn classic_mount_fallback_works_for_a_few_layers() {
    let s = TestStore::new();
    let l1 = s
        .add_layer(
            None,
            &layer_tar(&[Entry::file("low", b"1"), Entry::file("both", b"low")])[..],
        )
        .unwrap();
    let l2 = s
        .add_layer(
            Some(&l1.chain_id),
            &layer_tar(&[Entry::file("both", b"high"), Entry::whiteout("low")])[..],
        )
        .unwrap();
    let id = image_of(&s, &[l1, l2]);
    let snap = s.create_snapshot("classic", Some(&id)).unwrap();
    mount_overlay_classic(&snap.lowers, &snap.upper, &snap.work, &snap.merged).unwrap();
    assert!(is_mounted(&snap.merged));
    assert_eq!(names(&snap.merged), ["both"]);
    assert_eq!(fs::read(snap.merged.join("both")).unwrap(), b"high");
    unmount_overlay(&snap.merged).unwrap();
    assert!(!is_mounted(&snap.merged));
    s.remove_snapshot("classic").unwrap();
}
