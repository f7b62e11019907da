//! Applying layer tars: metadata kept, entries replaced, compression,
//! whiteouts in the overlay and the flattened form. Run as root.

mod layer_util;

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use layer_util::{rich_tar, snapshot, Opts, Sandbox, TarBuf, CAP, MTIME};
use tar::EntryType;
use wharf_image::layer::{apply, sync_tree, ApplyOptions, ApplyStats};

/// The same long names written by the `tar` crate's own builder (GNU
/// `././@LongLink` records).
fn gnu_long_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let name = format!("{}/{}", "g".repeat(80), "h".repeat(80));
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(EntryType::Regular);
    h.set_mode(0o640);
    h.set_mtime(MTIME);
    h.set_size(3);
    b.append_data(&mut h, &name, &b"gnu"[..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(EntryType::Symlink);
    h.set_mode(0o777);
    h.set_mtime(MTIME);
    h.set_size(0);
    b.append_link(&mut h, "gl", format!("/{}", "z".repeat(200)))
        .unwrap();
    b.into_inner().unwrap()
}

fn md(p: &Path) -> std::fs::Metadata {
    std::fs::symlink_metadata(p).unwrap()
}

#[test]
fn layer_metadata_kept() {
    let sb = Sandbox::new();
    let stats = apply(&rich_tar()[..], &sb.root, &ApplyOptions::LAYER).unwrap();
    let r = &sb.root;
    let d = md(&r.join("d"));
    assert!(d.is_dir());
    assert_eq!((d.mode() & 0o7777, d.uid(), d.gid()), (0o1777, 10, 20));
    assert_eq!(
        d.mtime(),
        MTIME as i64 + 1,
        "dir mtime set after its contents"
    );
    let sg = md(&r.join("sg"));
    assert_eq!((sg.mode() & 0o7777, sg.gid()), (0o2750, 50));
    let f = md(&r.join("d/suid"));
    assert_eq!((f.mode() & 0o7777, f.uid(), f.gid()), (0o4755, 1000, 1000));
    assert_eq!(f.mtime(), MTIME as i64);
    assert_eq!(f.nlink(), 2);
    assert_eq!(md(&r.join("d/hl")).ino(), f.ino());
    let snap = snapshot(r);
    let x = &snap[Path::new("d/suid")].xattrs;
    assert_eq!(x["user.comment"], b"hello");
    assert_eq!(x["security.capability"], CAP);
    let s = md(&r.join("sg/sgid"));
    assert_eq!(
        (s.mode() & 0o7777, s.uid(), s.gid()),
        (0o2711, 70_000, 4_000_000)
    );
    let l = md(&r.join("d/link"));
    assert!(l.file_type().is_symlink());
    assert_eq!((l.uid(), l.gid(), l.mtime()), (5, 6, MTIME as i64 + 2));
    assert_eq!(
        std::fs::read_link(r.join("d/link")).unwrap(),
        Path::new("suid")
    );
    let c = md(&r.join("c"));
    assert_eq!(
        (c.rdev(), c.mode() & 0o7777),
        (rustix::fs::makedev(1, 3), 0o666)
    );
    assert_eq!(md(&r.join("b")).rdev(), rustix::fs::makedev(7, 0));
    use std::os::unix::fs::FileTypeExt;
    assert!(md(&r.join("b")).file_type().is_block_device());
    assert!(md(&r.join("p")).file_type().is_fifo());
    let long_dir = "long-directory-name-".repeat(4);
    let long = r.join(&long_dir).join("f".repeat(120));
    assert_eq!(std::fs::read(long).unwrap(), b"pax long name");
    assert_eq!(
        std::fs::read_link(r.join("longlink")).unwrap(),
        Path::new(&long_dir).join("t".repeat(150))
    );
    assert_eq!(md(&r.join("empty")).mode() & 0o7777, 0);
    assert_eq!(
        std::fs::read(r.join("big")).unwrap().len(),
        3 * 1024 * 1024 + 17
    );
    assert_eq!(stats.files, 14);
    assert_eq!(stats.bytes, 12 + 1 + 13 + 3 * 1024 * 1024 + 17);

    apply(&gnu_long_tar()[..], &sb.root, &ApplyOptions::LAYER).unwrap();
    let name = r.join("g".repeat(80)).join("h".repeat(80));
    assert_eq!(std::fs::read(&name).unwrap(), b"gnu");
    assert_eq!(md(&name).mode() & 0o7777, 0o640);
    assert_eq!(
        std::fs::read_link(r.join("gl")).unwrap(),
        Path::new(&format!("/{}", "z".repeat(200)))
    );
    sync_tree(&sb.root).unwrap();
    sb.assert_canary();
}

#[test]
fn layer_compressed_gzip_zstd() {
    let plain = rich_tar();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(&plain[..], 3).unwrap();
    let mut snaps = Vec::new();
    for data in [&plain, &gz, &zst] {
        let sb = Sandbox::new();
        apply(&data[..], &sb.root, &ApplyOptions::LAYER).unwrap();
        snaps.push(snapshot(&sb.root));
    }
    assert_eq!(snaps[0], snaps[1]);
    assert_eq!(snaps[0], snaps[2]);
    assert!(snaps[0].contains_key(Path::new("d/suid")));
}

#[test]
fn layer_corrupt_gzip_is_an_error() {
    let plain = TarBuf::new().file("a", b"data").finish();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let mut gz = gz.finish().unwrap();
    let n = gz.len();
    gz[n - 6] ^= 0xff; // the CRC32 in the trailer
    let sb = Sandbox::new();
    assert!(apply(&gz[..], &sb.root, &ApplyOptions::LAYER).is_err());
}

#[test]
fn layer_later_entry_replaces() {
    let sb = Sandbox::new();
    let tar = TarBuf::new()
        .file("x", b"file")
        .dir("x/")
        .file("x/child", b"c")
        .dir("y/")
        .file("y/c", b"c")
        .dir("y/sub/")
        .file("y", b"now a file")
        .dir("z/")
        .file("z/keep", b"k")
        .dir_with(
            "z/",
            &Opts {
                mode: 0o700,
                ..Opts::default()
            },
        )
        .file("f", b"one")
        .file("f", b"two")
        .symlink("s", "f")
        .symlink("s", "x")
        .file("t", b"t")
        .hardlink("h", "t")
        .file("h", b"own")
        .finish();
    let stats = apply(&tar[..], &sb.root, &ApplyOptions::LAYER).unwrap();
    let r = &sb.root;
    assert_eq!(std::fs::read(r.join("x/child")).unwrap(), b"c");
    assert_eq!(std::fs::read(r.join("y")).unwrap(), b"now a file");
    assert_eq!(std::fs::read(r.join("z/keep")).unwrap(), b"k");
    assert_eq!(md(&r.join("z")).mode() & 0o777, 0o700);
    assert_eq!(std::fs::read(r.join("f")).unwrap(), b"two");
    assert_eq!(std::fs::read_link(r.join("s")).unwrap(), Path::new("x"));
    assert_eq!(std::fs::read(r.join("t")).unwrap(), b"t");
    assert_eq!(std::fs::read(r.join("h")).unwrap(), b"own");
    assert_eq!(md(&r.join("t")).nlink(), 1);
    assert_eq!(stats.files, 17);
}

#[test]
fn layer_missing_parents_created() {
    let sb = Sandbox::new();
    let tar = TarBuf::new().file("a/b/c/file", b"deep").finish();
    apply(&tar[..], &sb.root, &ApplyOptions::LAYER).unwrap();
    assert_eq!(std::fs::read(sb.root.join("a/b/c/file")).unwrap(), b"deep");
    let a = md(&sb.root.join("a/b"));
    assert_eq!((a.mode() & 0o7777, a.uid()), (0o755, 0));
}

#[test]
fn layer_root_entry_sets_root_metadata() {
    let sb = Sandbox::new();
    let tar = TarBuf::new()
        .dir_with(
            "./",
            &Opts {
                mode: 0o750,
                mtime: MTIME + 9,
                ..Opts::default()
            },
        )
        .file("./a", b"a")
        .finish();
    apply(&tar[..], &sb.root, &ApplyOptions::LAYER).unwrap();
    let m = md(&sb.root);
    assert_eq!((m.mode() & 0o7777, m.mtime()), (0o750, MTIME as i64 + 9));
}

fn whiteout_tar() -> Vec<u8> {
    let o = Opts {
        uid: 7,
        gid: 8,
        ..Opts::default()
    };
    TarBuf::new()
        .file_with(".wh.gone", b"", &o)
        .dir("d/")
        .file("d/.wh..wh..opq", b"")
        .file("d/new", b"new")
        .file("e/.wh.old", b"")
        .file(".wh..wh.plnk/123", b"aufs hardlink store")
        .finish()
}

#[test]
fn layer_whiteouts_overlay() {
    let sb = Sandbox::new();
    let stats = apply(&whiteout_tar()[..], &sb.root, &ApplyOptions::LAYER).unwrap();
    let r = &sb.root;
    for p in ["gone", "e/old"] {
        let m = md(&r.join(p));
        use std::os::unix::fs::FileTypeExt;
        assert!(m.file_type().is_char_device(), "{p}");
        assert_eq!(m.rdev(), 0);
    }
    assert_eq!(
        (md(&r.join("gone")).uid(), md(&r.join("gone")).gid()),
        (7, 8)
    );
    let mut buf = [0u8; 4];
    let n = rustix::fs::getxattr(r.join("d"), "trusted.overlay.opaque", &mut buf[..]).unwrap();
    assert_eq!(&buf[..n], b"y");
    assert_eq!(std::fs::read(r.join("d/new")).unwrap(), b"new");
    assert!(!r.join(".wh..wh.plnk").exists());
    assert!(!r.join(".wh.gone").exists());
    assert_eq!(stats.files, 4);
}

#[test]
fn layer_whiteouts_flatten() {
    let sb = Sandbox::new();
    let lower = TarBuf::new()
        .file("gone", b"g")
        .file("keep", b"k")
        .dir("d/")
        .file("d/old", b"o")
        .file("d/sub/x", b"x")
        .dir("e/")
        .file("e/old", b"o")
        .file("e/stays", b"s")
        .finish();
    apply(&lower[..], &sb.root, &ApplyOptions::FLATTEN).unwrap();
    apply(&whiteout_tar()[..], &sb.root, &ApplyOptions::FLATTEN).unwrap();
    let names: Vec<_> = snapshot(&sb.root).into_keys().collect();
    let want: Vec<&Path> = ["d", "d/new", "e", "e/stays", "keep"]
        .iter()
        .map(Path::new)
        .collect();
    assert_eq!(names, want);
    let mut buf = [0u8; 4];
    assert!(
        rustix::fs::getxattr(sb.root.join("d"), "trusted.overlay.opaque", &mut buf[..]).is_err()
    );
}

#[test]
fn layer_plain_keeps_wh_files() {
    let sb = Sandbox::new();
    let stats = apply(&whiteout_tar()[..], &sb.root, &ApplyOptions::PLAIN).unwrap();
    let r = &sb.root;
    assert!(md(&r.join(".wh.gone")).is_file());
    assert!(md(&r.join("d/.wh..wh..opq")).is_file());
    assert!(md(&r.join(".wh..wh.plnk/123")).is_file());
    assert_eq!(
        stats,
        ApplyStats {
            files: 6,
            bytes: 3 + 19
        }
    );
}

#[test]
fn layer_apply_errors_name_the_entry() {
    let sb = Sandbox::new();
    let mut t = TarBuf::new();
    t.entry(EntryType::new(b'X'), "weird", "", b"", &Opts::default());
    let err = apply(&t.finish()[..], &sb.root, &ApplyOptions::LAYER).unwrap_err();
    assert!(err.to_string().contains("weird"), "{err}");
    let missing = sb.dir.path().join("nope");
    let err = apply(&b""[..], &missing, &ApplyOptions::LAYER).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn layer_whiteout_keeps_same_layer_entries() {
    // OCI: a whiteout hides the layers below only, not a file of its own
    // layer, whichever comes first in the tar.
    for opts in [ApplyOptions::LAYER, ApplyOptions::FLATTEN] {
        let sb = Sandbox::new();
        let tar = TarBuf::new()
            .file("x", b"mine")
            .file(".wh.x", b"")
            .file(".wh.y", b"")
            .file("y", b"mine too")
            .finish();
        apply(&tar[..], &sb.root, &opts).unwrap();
        assert_eq!(std::fs::read(sb.root.join("x")).unwrap(), b"mine");
        assert_eq!(std::fs::read(sb.root.join("y")).unwrap(), b"mine too");
    }
}

#[test]
fn layer_apply_tar_does_not_sniff() {
    // An uncompressed stream that happens to hold a gzip stream is not a tar.
    let inner = TarBuf::new().file("a", b"a").finish();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&inner).unwrap();
    let gz = gz.finish().unwrap();
    let sb = Sandbox::new();
    assert!(wharf_image::layer::apply_tar(&gz[..], &sb.root, &ApplyOptions::LAYER).is_err());
    let stats = wharf_image::layer::apply_tar(&inner[..], &sb.root, &ApplyOptions::LAYER).unwrap();
    assert_eq!(stats.files, 1);
}

#[test]
fn layer_truncated_tar_is_an_error() {
    let tar = TarBuf::new()
        .file("first", b"1")
        .file("big", &vec![7u8; 3 * 1024 * 1024])
        .finish();
    // Cut inside the second file's data, then inside its header.
    for cut in [2 * 1024 * 1024, 1024 + 100] {
        let sb = Sandbox::new();
        let err = apply(&tar[..cut], &sb.root, &ApplyOptions::LAYER).unwrap_err();
        assert!(
            matches!(err, wharf_image::layer::LayerError::Read(_)),
            "{cut}: {err:?}"
        );
    }
    // An error in an early entry stops the apply without reading on.
    let mut bad = TarBuf::new();
    bad.file("../escape", b"x");
    let mut data = bad.finish();
    data.extend(std::iter::repeat_n(0u8, 4 * 1024 * 1024));
    let sb = Sandbox::new();
    let err = apply(&data[..], &sb.root, &ApplyOptions::LAYER).unwrap_err();
    assert!(err.to_string().contains("../escape"), "{err}");
}
