//! Volumes of the local driver and Docker's copy-up (root): the image's
//! content at the volume's destination lands in a new empty volume with
//! modes, owners, symlinks and hard links; a volume with content is left
//! alone; nothing outside the image's root is read; a container sees it.

mod spec_support;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::Arc;

use spec_support::{opts, Fixture};
use wharf_engine::db::Db;
use wharf_engine::mounts::copy_image_path;
use wharf_engine::volumes::Volumes;
use wharf_engine::MountPoint;
use wharf_testkit::images::{layer_tar, Entry};

#[test]
fn copy_up_fills_a_new_volume_once() {
    let f = Fixture::new();
    let db = Arc::new(Db::open(&f.dir.join("wharf.db")).unwrap());
    let vols = Volumes::open(&f.dir.join("data"), db).unwrap();
    let v = vols
        .create(Some("vol1"), "local", BTreeMap::new(), BTreeMap::new())
        .unwrap();
    let (c, rootfs) = f.container(opts(), vec![]);
    let _ = c;
    assert!(copy_image_path(&rootfs, "/data", &v.mountpoint).unwrap());
    let d = &v.mountpoint;
    assert_eq!(std::fs::read(d.join("a")).unwrap(), b"alpha");
    assert_eq!(std::fs::read(d.join("sub/b")).unwrap(), b"beta");
    let md = |p: &str| std::fs::symlink_metadata(d.join(p)).unwrap();
    assert_eq!(md("a").permissions().mode() & 0o7777, 0o640);
    assert_eq!(
        md("sub/b").permissions().mode() & 0o7777,
        0o4755,
        "set-uid survives"
    );
    assert_eq!(
        md("").permissions().mode() & 0o7777,
        0o750,
        "the root takes the image dir's mode"
    );
    assert_eq!(
        std::fs::read_link(d.join("link")).unwrap().to_str(),
        Some("/etc/passwd")
    );
    assert_eq!(md("hard").ino(), md("a").ino(), "hard links stay linked");
    let mtime = std::fs::metadata(rootfs.join("data/a")).unwrap().mtime();
    assert_eq!(md("a").mtime(), mtime);
    assert_eq!(vols.size("vol1").unwrap(), 5 + 4);

    // Not empty any more: a second copy leaves it alone.
    std::fs::remove_file(d.join("a")).unwrap();
    assert!(!copy_image_path(&rootfs, "/data", &v.mountpoint).unwrap());
    assert!(!d.join("a").exists());
    // A path the image lacks copies nothing.
    let v2 = vols
        .create(Some("vol2"), "local", BTreeMap::new(), BTreeMap::new())
        .unwrap();
    assert!(!copy_image_path(&rootfs, "/nothere", &v2.mountpoint).unwrap());
    vols.remove("vol1").unwrap();
    vols.remove("vol2").unwrap();
}

/// `layer_symlink_escape` for copy-up: an image whose volume path is a
/// symlink to `/` (or whose content links out) copies the image's files,
/// never the host's.
#[test]
fn copy_up_symlink_escape() {
    let f = Fixture::new();
    let canary = f.dir.join("canary");
    std::fs::create_dir_all(&canary).unwrap();
    std::fs::write(canary.join("secret"), b"host secret").unwrap();
    let evil = layer_tar(&[
        Entry::Symlink("evil".into(), canary.to_string_lossy().into_owned()),
        Entry::dir("data2"),
        Entry::Symlink("data2/out".into(), "../../../../../..".into()),
    ]);
    let img = f.image();
    let top = f.store.add_layer(img.top_layer(), &evil[..]).unwrap();
    let snap = f
        .store
        .create_snapshot_on_layer("escape-test", Some(&top.chain_id))
        .unwrap();
    let rootfs = wharf_image::rootfs::mount_with_init(&snap).unwrap();
    struct Unmount<'a>(&'a Fixture, wharf_image::snapshot::Snapshot);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = self.0.store.unmount_snapshot(&self.1);
            let _ = self.0.store.remove_snapshot(&self.1.id);
        }
    }
    let _guard = Unmount(&f, snap);
    let vol = f.dir.join("vol-escape");
    std::fs::create_dir_all(&vol).unwrap();
    // `/evil` resolves inside the root: the canary's path does not exist
    // there, so nothing is copied.
    assert!(!copy_image_path(&rootfs, "/evil", &vol).unwrap());
    assert!(std::fs::read_dir(&vol).unwrap().next().is_none());
    // A symlink inside is copied as a symlink, not followed.
    assert!(copy_image_path(&rootfs, "/data2", &vol).unwrap());
    assert!(std::fs::symlink_metadata(vol.join("out"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_dir(&vol).unwrap().count(), 1);
}

#[test]
fn a_container_sees_its_volume() {
    let f = Fixture::new();
    let db = Arc::new(Db::open(&f.dir.join("wharf.db")).unwrap());
    let vols = Volumes::open(&f.dir.join("data"), db).unwrap();
    let v = vols.create_anonymous().unwrap();
    let (_, rootfs) = f.container(opts(), vec![]);
    copy_image_path(&rootfs, "/data", &v.mountpoint).unwrap();
    let point = MountPoint {
        kind: "volume".into(),
        name: Some(v.name.clone()),
        source: v.mountpoint.clone(),
        destination: "/data".into(),
        driver: Some("local".into()),
        rw: true,
        anonymous: true,
        copy_data: true,
        ..MountPoint::default()
    };
    let (code, out, err) = f.sh(
        opts(),
        vec![point],
        "cat /data/a; echo; echo new > /data/new; ls /data",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("alpha\n"), "{out}");
    assert_eq!(std::fs::read(v.mountpoint.join("new")).unwrap(), b"new\n");
    vols.remove(&v.name).unwrap();
}

/// Two starts on one new volume at once: exactly one copies.
#[test]
fn concurrent_copy_up_copies_once() {
    let f = Fixture::new();
    let db = Arc::new(Db::open(&f.dir.join("wharf.db")).unwrap());
    let vols = Volumes::open(&f.dir.join("data"), db).unwrap();
    let v = vols
        .create(Some("shared"), "local", BTreeMap::new(), BTreeMap::new())
        .unwrap();
    let (_, rootfs) = f.container(opts(), vec![]);
    let copied: Vec<bool> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| copy_image_path(&rootfs, "/data", &v.mountpoint).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(copied.iter().filter(|&&c| c).count(), 1, "{copied:?}");
    assert_eq!(std::fs::read(v.mountpoint.join("a")).unwrap(), b"alpha");
    vols.remove("shared").unwrap();
}

/// Owners, extended attributes, fifos and device nodes survive the copy.
#[test]
fn copy_up_keeps_owners_xattrs_and_nodes() {
    use std::os::unix::fs::FileTypeExt;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let src = root.join("srv");
    std::fs::create_dir_all(src.join("d")).unwrap();
    std::fs::write(src.join("d/f"), b"x").unwrap();
    std::os::unix::fs::chown(src.join("d/f"), Some(1234), Some(5678)).unwrap();
    std::os::unix::fs::chown(src.join("d"), Some(42), Some(43)).unwrap();
    rustix::fs::setxattr(
        src.join("d/f"),
        "user.wharf",
        b"kept",
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        src.join("fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o640),
        0,
    )
    .unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        src.join("null"),
        rustix::fs::FileType::CharacterDevice,
        rustix::fs::Mode::from_raw_mode(0o666),
        rustix::fs::makedev(1, 3),
    )
    .unwrap();
    let vol = tmp.path().join("vol/_data");
    std::fs::create_dir_all(&vol).unwrap();
    assert!(copy_image_path(&root, "/srv", &vol).unwrap());
    let md = |p: &str| std::fs::symlink_metadata(vol.join(p)).unwrap();
    assert_eq!((md("d/f").uid(), md("d/f").gid()), (1234, 5678));
    assert_eq!((md("d").uid(), md("d").gid()), (42, 43));
    let mut buf = [0u8; 16];
    let n = rustix::fs::getxattr(vol.join("d/f"), "user.wharf", &mut buf).unwrap();
    assert_eq!(&buf[..n], b"kept");
    assert!(md("fifo").file_type().is_fifo());
    assert_eq!(md("fifo").permissions().mode() & 0o777, 0o640);
    assert!(md("null").file_type().is_char_device());
    assert_eq!(md("null").rdev(), rustix::fs::makedev(1, 3));
}
