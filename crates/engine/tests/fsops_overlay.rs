//! Changes, export and the `cp` archive operations on a real overlay
//! snapshot of a busybox image, and the path-escape regressions: whatever
//! the container puts in its filesystem, `cp` reads and writes only inside
//! it (an outside canary directory is checked every time).

use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};

use wharf_engine::fsops::{changes, FsView, PutOptions, ViewMount};
use wharf_engine::{Change, Kind};
use wharf_image::snapshot::Snapshot;
use wharf_image::store::Store;
use wharf_testkit::images::{busybox_rootfs_tar, layer_tar, tar_files, Entry};

/// A mounted busybox snapshot in a temporary store, plus an outside
/// canary directory; unmounted and removed on drop.
struct Fixture {
    store: Store,
    snap: Snapshot,
    root: PathBuf,
    canary: PathBuf,
    vol: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.store.unmount_snapshot(&self.snap);
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let base = store.add_layer(None, &busybox_rootfs_tar()[..]).unwrap();
    let extra = layer_tar(&[
        Entry::dir("srv"),
        Entry::file("srv/keep", b"k"),
        Entry::file("srv/gone", b"g"),
        Entry::dir("opq"),
        Entry::file("opq/old", b"o"),
        Entry::file("opq/again", b"a"),
    ]);
    let top = store.add_layer(Some(&base.chain_id), &extra[..]).unwrap();
    let snap = store
        .create_snapshot_on_layer("c1", Some(&top.chain_id))
        .unwrap();
    let root = wharf_image::rootfs::mount_with_init(&snap).unwrap();
    let canary = dir.path().join("outside");
    std::fs::create_dir(&canary).unwrap();
    std::fs::write(canary.join("secret"), b"host secret").unwrap();
    let vol = dir.path().join("vol");
    std::fs::create_dir(&vol).unwrap();
    Fixture {
        store,
        snap,
        root,
        canary,
        vol,
        _dir: dir,
    }
}

impl Fixture {
    fn view(&self) -> FsView {
        FsView {
            container: "c1".into(),
            rootfs: self.root.clone(),
            mounts: vec![ViewMount {
                destination: "/data".into(),
                source: self.vol.clone(),
                rw: true,
            }],
            read_only_rootfs: false,
        }
    }

    fn lowers(&self) -> Vec<PathBuf> {
        let mut l = vec![self.snap.dir.join("init")];
        l.extend(self.snap.lowers.iter().cloned());
        l
    }

    /// The canary is as it was and nothing new appeared beside it.
    fn canary_intact(&self) {
        assert_eq!(
            std::fs::read(self.canary.join("secret")).unwrap(),
            b"host secret"
        );
        let names: Vec<_> = std::fs::read_dir(&self.canary)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["secret"]);
        let outside = self.canary.parent().unwrap();
        for n in ["pwned", "x", "f"] {
            assert!(!outside.join(n).exists(), "{n} written outside");
        }
    }
}

fn tar_names(tar: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(tar);
    a.entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn changes_report_added_modified_deleted() {
    let f = fixture();
    assert!(changes(&f.snap.upper, &f.lowers()).unwrap().is_empty());
    std::fs::write(f.root.join("srv/new"), b"n").unwrap();
    std::fs::write(f.root.join("srv/keep"), b"changed").unwrap();
    std::fs::remove_file(f.root.join("srv/gone")).unwrap();
    std::fs::remove_dir_all(f.root.join("opq")).unwrap();
    std::fs::create_dir(f.root.join("opq")).unwrap();
    std::fs::write(f.root.join("opq/fresh"), b"f").unwrap();
    std::fs::write(f.root.join("opq/again"), b"b").unwrap();
    std::fs::create_dir_all(f.root.join("added/deep")).unwrap();
    let got = changes(&f.snap.upper, &f.lowers()).unwrap();
    let got: Vec<(u8, &str)> = got
        .iter()
        .map(|c: &Change| (c.kind, c.path.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (1, "/added"),
            (1, "/added/deep"),
            (0, "/opq"),
            (0, "/opq/again"),
            (1, "/opq/fresh"),
            (2, "/opq/old"),
            (0, "/srv"),
            (2, "/srv/gone"),
            (0, "/srv/keep"),
            (1, "/srv/new"),
        ]
    );
}

#[test]
fn export_is_the_merged_tree() {
    let f = fixture();
    std::fs::write(f.root.join("srv/new"), b"n").unwrap();
    std::fs::remove_file(f.root.join("srv/gone")).unwrap();
    let mut out = Vec::new();
    wharf_image::layer::tar_dir(&f.root, &mut out).unwrap();
    let names = tar_names(&out);
    assert!(names.contains(&"bin/busybox".to_string()));
    assert!(names.contains(&"srv/new".to_string()));
    assert!(names.contains(&"srv/keep".to_string()));
    assert!(!names.contains(&"srv/gone".to_string()));
}

#[test]
fn archive_stat_like_docker() {
    let f = fixture();
    let v = f.view();
    let s = v.stat("/bin/sh").unwrap();
    assert_eq!(
        (s.name.as_str(), s.link_target.as_str()),
        ("sh", "/bin/busybox")
    );
    assert_eq!(s.mode, (1 << 27) | 0o777);
    let s = v.stat("/etc").unwrap();
    assert_eq!((s.name.as_str(), s.mode), ("etc", (1 << 31) | 0o755));
    assert_eq!(v.stat("/etc/.").unwrap().name, ".");
    assert_eq!(v.stat("/etc/").unwrap().name, "etc");
    assert_eq!(v.stat("/").unwrap().name, "/");
    assert_eq!(v.stat("/tmp").unwrap().mode, (1 << 31) | (1 << 20) | 0o777);
    let p = v.stat("/etc/passwd").unwrap();
    assert_eq!(
        p.size,
        std::fs::metadata(f.root.join("etc/passwd")).unwrap().len() as i64
    );
    assert_eq!(p.mtime, "2023-11-14T22:13:20Z");
    let e = v.stat("/nonexist").unwrap_err();
    assert_eq!(e.kind, Kind::NotFound);
    assert_eq!(
        e.message,
        "Could not find the file /nonexist in container c1"
    );
}

#[test]
fn archive_get_names_entries_like_docker() {
    let f = fixture();
    let v = f.view();
    let get = |p: &str| {
        let mut out = Vec::new();
        v.get(p, &mut out).unwrap();
        out
    };
    let names = tar_names(&get("/etc"));
    assert_eq!(names[0], "etc/");
    assert!(names.contains(&"etc/passwd".to_string()));
    let names = tar_names(&get("/etc/."));
    assert_eq!(names[0], "./");
    assert!(names.contains(&"./passwd".to_string()));
    assert_eq!(tar_names(&get("/etc/passwd")), ["passwd"]);
    let sh = get("/bin/sh");
    let mut a = tar::Archive::new(&sh[..]);
    let e = a.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(e.header().entry_type(), tar::EntryType::Symlink);
    assert_eq!(e.link_name().unwrap().unwrap().to_str(), Some("busybox"));
    // A volume's content comes from the volume.
    std::fs::create_dir(f.vol.join("sub")).unwrap();
    std::fs::write(f.vol.join("sub/f.txt"), b"vol").unwrap();
    let files = tar_files(&get("/data"));
    assert_eq!(files["data/sub/f.txt"], b"vol");
    assert_eq!(tar_files(&get("/data/sub/f.txt"))["f.txt"], b"vol");
    // A tree holding mounts is archived with what is mounted there.
    std::fs::create_dir(f.root.join("data")).unwrap();
    let hosts = f.vol.parent().unwrap().join("hosts");
    std::fs::write(&hosts, b"127.0.0.1 c1\n").unwrap();
    let mut with_hosts = f.view();
    with_hosts.mounts.push(ViewMount {
        destination: "/etc/hosts".into(),
        source: hosts,
        rw: true,
    });
    let mut out = Vec::new();
    with_hosts.get("/etc", &mut out).unwrap();
    assert_eq!(tar_files(&out)["etc/hosts"], b"127.0.0.1 c1\n");
    let all = tar_files(&get("/"));
    assert_eq!(all["/data/sub/f.txt"], b"vol");
    assert!(all.contains_key("/bin/busybox"));
    // Long names survive (GNU long-name records).
    let long = "d".repeat(120);
    std::fs::create_dir(f.root.join("srv").join(&long)).unwrap();
    std::fs::write(f.root.join("srv").join(&long).join("f"), b"deep").unwrap();
    assert_eq!(tar_files(&get("/srv"))[&format!("srv/{long}/f")], b"deep");
    assert_eq!(v.get("/nope", Vec::new()).unwrap_err().kind, Kind::NotFound);
}

#[test]
fn archive_put_like_docker() {
    let f = fixture();
    let v = f.view();
    let tar = layer_tar(&[Entry::dir("d"), Entry::file("d/a", b"hi")]);
    v.put("/tmp", &tar[..], PutOptions::default()).unwrap();
    assert_eq!(std::fs::read(f.root.join("tmp/d/a")).unwrap(), b"hi");
    // Into a volume.
    v.put("/data", &tar[..], PutOptions::default()).unwrap();
    assert_eq!(std::fs::read(f.vol.join("d/a")).unwrap(), b"hi");
    // Owners: kept, or the given ones.
    v.put(
        "/srv",
        &tar[..],
        PutOptions {
            chown: Some((1234, 4321)),
            ..Default::default()
        },
    )
    .unwrap();
    let m = std::fs::metadata(f.root.join("srv/d/a")).unwrap();
    assert_eq!((m.uid(), m.gid()), (1234, 4321));
    let e = v
        .put("/nonexist", &tar[..], PutOptions::default())
        .unwrap_err();
    assert_eq!(
        e.message,
        "Could not find the file /nonexist in container c1"
    );
    let e = v
        .put("/etc/passwd", &tar[..], PutOptions::default())
        .unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (Kind::InvalidArgument, "extraction point is not a directory")
    );
    // noOverwriteDirNonDir.
    let file_etc = layer_tar(&[Entry::file("etc", b"x")]);
    let e = v
        .put(
            "/",
            &file_etc[..],
            PutOptions {
                no_overwrite_dir_non_dir: true,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        e.message,
        "cannot overwrite directory \"/etc\" with non-directory \"/\""
    );
    let dir_passwd = layer_tar(&[Entry::dir("passwd")]);
    let e = v
        .put(
            "/etc",
            &dir_passwd[..],
            PutOptions {
                no_overwrite_dir_non_dir: true,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        e.message,
        "cannot overwrite non-directory \"/etc/passwd\" with directory \"/etc\""
    );
    assert!(f.root.join("etc").is_dir());
    // Entries below a mount land in the mount's source.
    let spread = layer_tar(&[
        Entry::dir("data"),
        Entry::file("data/x", b"in vol"),
        Entry::file("tmp/y", b"in root"),
    ]);
    v.put("/", &spread[..], PutOptions::default()).unwrap();
    assert_eq!(std::fs::read(f.vol.join("x")).unwrap(), b"in vol");
    assert_eq!(std::fs::read(f.root.join("tmp/y")).unwrap(), b"in root");
    assert!(!f.root.join("data/x").exists());
    // A mounted file takes content, nothing else.
    let hosts = f.vol.parent().unwrap().join("hosts");
    std::fs::write(&hosts, b"old").unwrap();
    let mut with_hosts = f.view();
    with_hosts.mounts.push(ViewMount {
        destination: "/etc/hosts".into(),
        source: hosts.clone(),
        rw: true,
    });
    let new_hosts = layer_tar(&[Entry::file("hosts", b"new")]);
    with_hosts
        .put("/etc", &new_hosts[..], PutOptions::default())
        .unwrap();
    assert_eq!(std::fs::read(&hosts).unwrap(), b"new");
    let below = layer_tar(&[Entry::file("hosts/x", b"x")]);
    let e = with_hosts
        .put("/etc", &below[..], PutOptions::default())
        .unwrap_err();
    assert_eq!(e.kind, Kind::InvalidArgument, "{}", e.full_message());
    let as_dir = layer_tar(&[Entry::dir("hosts")]);
    assert!(with_hosts
        .put("/etc", &as_dir[..], PutOptions::default())
        .is_err());
    assert!(hosts.is_file());
    // Garbage is refused as bad input.
    let e = v
        .put("/tmp", &b"not a tar at all"[..], PutOptions::default())
        .unwrap_err();
    assert_eq!(e.kind, Kind::InvalidArgument, "{}", e.full_message());
    // Read-only volume and root filesystem.
    let mut ro = f.view();
    ro.mounts[0].rw = false;
    assert_eq!(
        ro.put("/data", &tar[..], PutOptions::default())
            .unwrap_err()
            .message,
        "mounted volume is marked read-only"
    );
    ro.read_only_rootfs = true;
    assert_eq!(
        ro.put("/tmp", &tar[..], PutOptions::default())
            .unwrap_err()
            .message,
        "container rootfs is marked read-only"
    );
}

#[test]
fn cp_symlink_escape_reads_stay_in_container() {
    let f = fixture();
    let v = f.view();
    // Links the container made, pointing at the host's canary.
    symlink(&f.canary, f.root.join("abs")).unwrap();
    symlink(
        "../../../../../../../../../..".to_string() + f.canary.to_str().unwrap(),
        f.root.join("rel"),
    )
    .unwrap();
    symlink(f.canary.join("secret"), f.root.join("file")).unwrap();
    for p in [
        "/abs/secret",
        "/rel/secret",
        "/abs/",
        "/file/",
        "/../../../../abs/secret",
    ] {
        let e = v.get(p, Vec::new()).unwrap_err();
        assert_eq!(e.kind, Kind::NotFound, "{p}: {}", e.full_message());
    }
    // The link itself is archived as a link, its target resolved in scope.
    let s = v.stat("/abs").unwrap();
    assert_eq!(s.link_target, f.canary.to_str().unwrap());
    // `..` cannot climb out of the root either.
    let files = {
        let mut out = Vec::new();
        v.get("/../../../etc/passwd", &mut out).unwrap();
        tar_files(&out)
    };
    assert_eq!(
        files["passwd"],
        std::fs::read(f.root.join("etc/passwd")).unwrap()
    );
    f.canary_intact();
}

#[test]
fn cp_symlink_escape_writes_stay_in_container() {
    let f = fixture();
    let v = f.view();
    symlink(&f.canary, f.root.join("abs")).unwrap();
    symlink(f.canary.parent().unwrap(), f.root.join("up")).unwrap();
    // The destination is a link to the host: it resolves inside, where it
    // does not exist.
    let tar = layer_tar(&[Entry::file("pwned", b"x")]);
    assert_eq!(
        v.put("/abs", &tar[..], PutOptions::default())
            .unwrap_err()
            .kind,
        Kind::NotFound
    );
    assert_eq!(
        v.put("/up", &tar[..], PutOptions::default())
            .unwrap_err()
            .kind,
        Kind::NotFound
    );
    // Entries climbing out of the destination are refused.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(1);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.as_old_mut().name[..7].copy_from_slice(b"../../x");
    h.set_cksum();
    b.append(&h, &b"x"[..]).unwrap();
    let climbing = b.into_inner().unwrap();
    let e = v
        .put("/tmp", &climbing[..], PutOptions::default())
        .unwrap_err();
    assert_eq!(e.kind, Kind::InvalidArgument, "{}", e.full_message());
    // A tar that plants a link and then writes through it (CVE-2018-15664
    // and tar-slip style): the write lands inside the container.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "esc", &f.canary).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_size(1);
    h.set_mode(0o644);
    b.append_data(&mut h, "esc/f", &b"x"[..]).unwrap();
    let planted = b.into_inner().unwrap();
    let _ = v.put("/tmp", &planted[..], PutOptions::default());
    // And a destination under a link that points outside through `..`.
    symlink("../../../../../../../..", f.root.join("tmp/dots")).unwrap();
    v.put("/tmp/dots", &tar[..], PutOptions::default()).unwrap();
    assert!(
        f.root.join("pwned").exists(),
        "resolved to the container's root"
    );
    f.canary_intact();
}

#[test]
fn cp_swapped_component_stays_in_container() {
    // What a racing container does to a resolved path: after resolution,
    // a directory becomes a link to the host. Every open is scoped to the
    // root, so the swap reaches the container's own files at worst.
    let f = fixture();
    let v = f.view();
    std::fs::create_dir(f.root.join("swap")).unwrap();
    std::fs::write(f.root.join("swap/secret"), b"inside").unwrap();
    let loc = v.locate(&wharf_engine::fsops::scope::clean(b"/swap/secret"));
    std::fs::rename(f.root.join("swap"), f.root.join("swap.old")).unwrap();
    symlink(&f.canary, f.root.join("swap")).unwrap();
    let root = wharf_engine::fsops::scope::open_root(&loc.root).unwrap();
    let e = wharf_engine::fsops::scope::open_in(&root, &loc.rel, rustix::fs::OFlags::RDONLY)
        .unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    assert!(Path::new(&f.canary).join("secret").exists());
    f.canary_intact();
}
