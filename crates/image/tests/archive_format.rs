//! Archive reading and writing with plain types, no daemon: round trips,
//! the docker 20.10 layout with symlinked layers, OCI layouts with nested
//! indexes and compressed layers, corrupt blobs and hostile entries.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use serde_json::json;
use wharf_image::archive::{extract, read_dir, write_archive, ArchiveError, SaveImage};
use wharf_image::digest::Digest;
use wharf_testkit::images::{layer_tar, Entry};

/// A config naming `diff_ids`, as docker writes one.
fn config(diff_ids: &[Digest], cmd: &str) -> Vec<u8> {
    let ids: Vec<String> = diff_ids.iter().map(|d| d.to_string()).collect();
    serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": [cmd]},
        "rootfs": {"type": "layers", "diff_ids": ids},
    }))
    .unwrap()
}

/// Two images sharing their bottom layer, written as files in `dir`.
fn two_images(dir: &Path) -> Vec<SaveImage> {
    let l0 = layer_tar(&[Entry::dir("etc"), Entry::file("etc/hello", b"hello\n")]);
    let l1 = layer_tar(&[Entry::file("top", b"top\n"), Entry::whiteout("etc/hello")]);
    let (d0, d1) = (Digest::of(&l0), Digest::of(&l1));
    fs::write(dir.join("l0.tar"), &l0).unwrap();
    fs::write(dir.join("l1.tar"), &l1).unwrap();
    vec![
        SaveImage {
            config: config(std::slice::from_ref(&d0), "one"),
            layers: vec![(d0.clone(), dir.join("l0.tar"))],
            tags: vec!["one:latest".into(), "localhost:5000/one:v1".into()],
        },
        SaveImage {
            config: config(&[d0.clone(), d1.clone()], "two"),
            layers: vec![(d0, dir.join("l0.tar")), (d1, dir.join("l1.tar"))],
            tags: vec![],
        },
    ]
}

fn write(images: &[SaveImage]) -> Vec<u8> {
    let mut out = Vec::new();
    write_archive(&mut out, images).unwrap();
    out
}

fn unpack(archive: &[u8]) -> Result<tempfile::TempDir, ArchiveError> {
    let dir = tempfile::tempdir().unwrap();
    extract(archive, dir.path())?;
    Ok(dir)
}

fn file_digest(p: &Path) -> Digest {
    Digest::of(&fs::read(p).unwrap())
}

#[test]
fn save_then_read_gives_the_same_images() {
    let src = tempfile::tempdir().unwrap();
    let images = two_images(src.path());
    let archive = write(&images);
    assert_eq!(archive, write(&images), "archives are reproducible");
    let dir = unpack(&archive).unwrap();
    let read = read_dir(dir.path()).unwrap();
    assert_eq!(read.len(), 2);
    for (want, got) in images.iter().zip(&read) {
        assert_eq!(got.config, want.config);
        assert_eq!(got.repo_tags, want.tags);
        let got_ids: Vec<Digest> = got.layers.iter().map(|p| file_digest(p)).collect();
        let want_ids: Vec<Digest> = want.layers.iter().map(|(d, _)| d.clone()).collect();
        assert_eq!(got_ids, want_ids);
    }
}

#[test]
fn saved_archive_is_also_an_oci_layout() {
    let src = tempfile::tempdir().unwrap();
    let images = two_images(src.path());
    let dir = unpack(&write(&images)).unwrap();
    fs::remove_file(dir.path().join("manifest.json")).unwrap();
    let read = read_dir(dir.path()).unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].repo_tags, images[0].tags);
    assert_eq!(read[1].config, images[1].config);
    assert!(read[1].repo_tags.is_empty());
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    let ann = &index["manifests"][0]["annotations"];
    assert_eq!(
        ann["io.containerd.image.name"],
        "docker.io/library/one:latest"
    );
    assert_eq!(ann["org.opencontainers.image.ref.name"], "latest");
    let repos: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("repositories")).unwrap()).unwrap();
    assert!(repos["localhost:5000/one"]["v1"].is_string());
}

/// What `docker save` of docker 20.10 writes: `<id>/layer.tar`, the second
/// copy of a shared layer as a symlink to the first.
#[test]
fn docker_20_layout_with_symlinked_layers() {
    let layer = layer_tar(&[Entry::file("a", b"a\n")]);
    let d = Digest::of(&layer);
    let cfg = config(std::slice::from_ref(&d), "x");
    let cfg_name = format!("{}.json", Digest::of(&cfg).hex());
    let manifest = json!([
        {"Config": cfg_name, "RepoTags": ["x:1"], "Layers": ["aaa/layer.tar"]},
        {"Config": cfg_name, "RepoTags": ["x:2"], "Layers": ["bbb/layer.tar"]},
    ]);
    let tar = layer_tar(&[
        Entry::dir("aaa"),
        Entry::File("aaa/layer.tar".into(), layer, 0o644),
        Entry::dir("bbb"),
        Entry::Symlink("bbb/layer.tar".into(), "../aaa/layer.tar".into()),
        Entry::File(cfg_name.clone(), cfg.clone(), 0o644),
        Entry::file("manifest.json", manifest.to_string().as_bytes()),
    ]);
    let dir = unpack(&tar).unwrap();
    let read = read_dir(dir.path()).unwrap();
    assert_eq!(read.len(), 1, "one config: one image");
    assert_eq!(read[0].repo_tags, ["x:1", "x:2"]);
    assert_eq!(file_digest(&read[0].layers[0]), d);
}

/// An OCI layout as skopeo or buildx write it: a nested multi-platform
/// index, gzip-compressed layers, a tag-only ref name.
#[test]
fn oci_nested_index_with_gzip_layer() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = dir.path().join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let d = Digest::of(bytes);
        fs::write(blobs.join(d.hex()), bytes).unwrap();
        json!({"digest": d.to_string(), "size": bytes.len()})
    };
    let with = |mut v: serde_json::Value, mt: &str, extra: serde_json::Value| {
        v["mediaType"] = json!(mt);
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        v
    };
    let tar = layer_tar(&[Entry::file("z", b"z\n")]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let cfg = config(&[Digest::of(&tar)], "oci");
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": with(put(&cfg), "application/vnd.oci.image.config.v1+json", json!({})),
        "layers": [with(put(&gz), "application/vnd.oci.image.layer.v1.tar+gzip", json!({}))],
    });
    let m = put(manifest.to_string().as_bytes());
    let other = json!({"platform": {"architecture": "s390x", "os": "linux"}});
    let nested = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            with(put(b"{}"), "application/vnd.oci.image.manifest.v1+json", other),
            with(m, "application/vnd.oci.image.manifest.v1+json",
                 json!({"platform": {"architecture": "amd64", "os": "linux"}})),
        ],
    });
    let n = put(nested.to_string().as_bytes());
    let index = json!({
        "schemaVersion": 2,
        "manifests": [with(n, "application/vnd.oci.image.index.v1+json",
            json!({"annotations": {"org.opencontainers.image.ref.name": "latest"}}))],
    });
    fs::write(dir.path().join("index.json"), index.to_string()).unwrap();
    fs::write(
        dir.path().join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let read = read_dir(dir.path()).unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].config, cfg);
    assert!(
        read[0].repo_tags.is_empty(),
        "a bare tag names no repository"
    );
    assert_eq!(file_digest(&read[0].layers[0]), Digest::of(&gz));
}

#[test]
fn corrupt_blob_is_named() {
    let src = tempfile::tempdir().unwrap();
    let images = two_images(src.path());
    let victim = images[0].layers[0].0.clone();
    for drop_manifest_json in [false, true] {
        let dir = unpack(&write(&images)).unwrap();
        let blob = dir.path().join("blobs/sha256").join(victim.hex());
        let mut bytes = fs::read(&blob).unwrap();
        bytes[600] ^= 1;
        fs::write(&blob, &bytes).unwrap();
        if drop_manifest_json {
            fs::remove_file(dir.path().join("manifest.json")).unwrap();
        }
        let err = read_dir(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains(&victim.to_string()),
            "error names the blob: {err}"
        );
    }
}

#[test]
fn corrupt_layer_file_on_save_is_named() {
    let src = tempfile::tempdir().unwrap();
    let images = two_images(src.path());
    fs::write(src.path().join("l1.tar"), b"rotten").unwrap();
    let err = write_archive(&mut Vec::new(), &images).unwrap_err();
    assert!(
        err.to_string().contains(&images[1].layers[1].0.to_string()),
        "{err}"
    );
}

/// Writes a tar whose entry names are taken as given (the tar crate's
/// builder refuses `..`, so the header is filled by hand).
fn raw_tar(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, link, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(*kind);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        if !link.is_empty() {
            h.as_gnu_mut().unwrap().linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn hostile_entries_are_refused_and_write_nothing_outside() {
    use tar::EntryType::{Block, Fifo, Link, Regular, Symlink};
    let parent = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("dotdot", raw_tar(&[("../escaped", Regular, "", b"x")])),
        (
            "nested dotdot",
            raw_tar(&[("a/../../escaped", Regular, "", b"x")]),
        ),
        ("absolute", raw_tar(&[("/tmp/escaped", Regular, "", b"x")])),
        ("symlink out", raw_tar(&[("l", Symlink, "../escaped", b"")])),
        (
            "symlink absolute",
            raw_tar(&[("l", Symlink, "/etc/passwd", b"")]),
        ),
        ("hardlink out", raw_tar(&[("l", Link, "../escaped", b"")])),
        (
            "hardlink absolute",
            raw_tar(&[("l", Link, "/etc/passwd", b"")]),
        ),
        ("dangling link", raw_tar(&[("l", Symlink, "nothing", b"")])),
        (
            "through a symlink",
            raw_tar(&[("d", Symlink, "..", b""), ("d/escaped", Regular, "", b"x")]),
        ),
        ("device", raw_tar(&[("dev", Block, "", b"")])),
        ("fifo", raw_tar(&[("fifo", Fifo, "", b"")])),
    ];
    for (what, tar) in cases {
        let dest = parent.path().join("dest");
        fs::create_dir(&dest).unwrap();
        let err = extract(tar.as_slice(), &dest).expect_err(what);
        assert!(
            matches!(err, ArchiveError::UnsafeEntry { .. }),
            "{what}: {err}"
        );
        let mut outside: BTreeMap<String, bool> = BTreeMap::new();
        for e in fs::read_dir(parent.path()).unwrap() {
            outside.insert(e.unwrap().file_name().to_string_lossy().into(), true);
        }
        assert_eq!(outside.keys().collect::<Vec<_>>(), ["dest"], "{what}");
        assert!(!Path::new("/tmp/escaped").exists(), "{what}");
        fs::remove_dir_all(&dest).unwrap();
    }
}

#[test]
fn not_an_archive() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        read_dir(dir.path()),
        Err(ArchiveError::UnknownFormat)
    ));
    let refer = json!([{"Config": "../../etc/passwd", "RepoTags": null, "Layers": []}]);
    fs::write(dir.path().join("manifest.json"), refer.to_string()).unwrap();
    assert!(matches!(
        read_dir(dir.path()),
        Err(ArchiveError::Missing { .. })
    ));
}

#[test]
fn index_for_another_platform_only_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": Digest::of(b"x").to_string(), "size": 1,
            "platform": {"architecture": "riscv64", "os": "linux"},
        }],
    });
    fs::write(dir.path().join("index.json"), index.to_string()).unwrap();
    let err = read_dir(dir.path()).unwrap_err();
    assert!(matches!(err, ArchiveError::NoPlatform { .. }), "{err}");
}

#[test]
fn a_tag_that_is_no_reference_is_not_written() {
    let src = tempfile::tempdir().unwrap();
    let mut images = two_images(src.path());
    images[0].tags = vec!["Not A/Name:1".into()];
    let mut out = Vec::new();
    let err = write_archive(&mut out, &images).unwrap_err();
    assert!(matches!(err, ArchiveError::Name { .. }), "{err}");
    assert_eq!(err.to_string(), "invalid image name Not A/Name:1");
}
