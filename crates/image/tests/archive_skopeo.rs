//! skopeo (a real OCI client, no daemon) reads what [`write_archive`]
//! writes, as an OCI archive and as a docker archive, and copies it to a
//! `dir:` layout with the same config and layer digests; what skopeo writes
//! as an OCI archive or layout directory (gzip or zstd layers) loads into a
//! store with the same image ID and diff IDs. podman (no daemon either)
//! loads our archive with the same image ID.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};
use wharf_image::archive::{load, load_dir, write_archive, SaveImage};
use wharf_image::digest::Digest;
use wharf_image::store::Store;
use wharf_testkit::images::{busybox_rootfs_tar, layer_tar, Entry};

const SKOPEO: &str = "/usr/bin/skopeo";

fn skopeo_copy(from: &str, to: &str, extra: &[&str]) {
    assert!(
        Path::new(SKOPEO).exists(),
        "{SKOPEO} not found: install skopeo (tools/install-deps.sh)"
    );
    let out = Command::new(SKOPEO)
        .args(["--insecure-policy", "copy", "--quiet"])
        .args(extra)
        .args([from, to])
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo copy {from} {to}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An archive of one two-layer image tagged `skopeo-test:1` in `dir`;
/// returns its path, config and diff IDs.
fn our_archive(dir: &Path) -> (std::path::PathBuf, Vec<u8>, Digest, Digest) {
    let l0 = busybox_rootfs_tar();
    let l1 = layer_tar(&[Entry::file("hello", b"hello\n")]);
    let (d0, d1) = (Digest::of(&l0), Digest::of(&l1));
    fs::write(dir.join("l0.tar"), &l0).unwrap();
    fs::write(dir.join("l1.tar"), &l1).unwrap();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [d0.to_string(), d1.to_string()]},
    }))
    .unwrap();
    let image = SaveImage {
        config: config.clone(),
        layers: vec![
            (d0.clone(), dir.join("l0.tar")),
            (d1.clone(), dir.join("l1.tar")),
        ],
        tags: vec!["skopeo-test:1".into()],
    };
    let archive = dir.join("ours.tar");
    write_archive(fs::File::create(&archive).unwrap(), &[image]).unwrap();
    (archive, config, d0, d1)
}

#[test]
fn skopeo_copies_our_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, config, d0, d1) = our_archive(tmp.path());

    for (i, transport) in ["oci-archive", "docker-archive"].iter().enumerate() {
        let dest = tmp.path().join(format!("dir{i}"));
        skopeo_copy(
            &format!("{transport}:{}", archive.display()),
            &format!("dir:{}", dest.display()),
            &[],
        );
        let manifest: Value =
            serde_json::from_slice(&fs::read(dest.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(
            manifest["config"]["digest"],
            Digest::of(&config).to_string(),
            "{transport}: the config (image ID) is kept"
        );
        // skopeo keeps uncompressed layers as they are (no compression is
        // asked for), so the layer digests are the diff IDs.
        let layers: Vec<&str> = manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap())
            .collect();
        assert_eq!(layers, [d0.as_str(), d1.as_str()], "{transport}");
        let blob = dest.join(d1.hex());
        assert_eq!(Digest::of(&fs::read(blob).unwrap()), d1, "{transport}");
    }
}

#[test]
fn skopeo_oci_output_loads_with_the_same_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, config, d0, d1) = our_archive(tmp.path());
    let id = Digest::of(&config);
    // From the OCI side of our archive: OCI to OCI, skopeo keeps the config
    // as it is (from docker-archive it would rewrite it in Go's field order).
    let from = format!("oci-archive:{}", archive.display());
    for format in ["gzip", "zstd"] {
        let oci_tar = tmp.path().join(format!("skopeo-{format}.tar"));
        let oci_dir = tmp.path().join(format!("skopeo-{format}"));
        let compress = ["--dest-compress-format", format];
        skopeo_copy(
            &from,
            &format!("oci-archive:{}:skopeo-test:1", oci_tar.display()),
            &compress,
        );
        skopeo_copy(
            &from,
            &format!("oci:{}:skopeo-test:1", oci_dir.display()),
            &compress,
        );

        for from_dir in [false, true] {
            let root = tempfile::tempdir().unwrap();
            let store = Store::open(root.path()).unwrap();
            let loaded = if from_dir {
                load_dir(&store, &oci_dir).unwrap()
            } else {
                load(&store, fs::File::open(&oci_tar).unwrap()).unwrap()
            };
            assert_eq!(loaded.len(), 1, "{format}");
            assert_eq!(
                loaded[0].id, id,
                "{format}: the config is kept byte for byte"
            );
            assert_eq!(loaded[0].tags, ["skopeo-test:1"], "{format}");
            let img = store.image("skopeo-test:1").unwrap();
            let diff_ids: Vec<&Digest> = img.layers.iter().map(|l| &l.diff_id).collect();
            assert_eq!(
                diff_ids,
                [&d0, &d1],
                "{format}: layers decompressed to the same tars"
            );
        }
    }
}

/// `podman load` of our archive, into a private podman store (vfs driver,
/// no events, no cgroup manager, nothing mounted: removing the temporary
/// directory removes it all). Running it is not tried: podman's crun
/// sets RLIMIT_NOFILE, which root without CAP_SYS_RESOURCE may not raise here.
#[test]
fn podman_loads_our_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, config, _, _) = our_archive(tmp.path());
    let root = tmp.path().join("podman-root");
    let run = tmp.path().join("podman-run");
    let podman = |args: &[&str]| {
        let out = Command::new("/usr/bin/podman")
            .arg("--root")
            .arg(&root)
            .arg("--runroot")
            .arg(&run)
            .args(["--storage-driver", "vfs", "--events-backend", "none"])
            .args(["--cgroup-manager", "cgroupfs"])
            .args(args)
            .output()
            .expect("run /usr/bin/podman (install podman: tools/install-deps.sh)");
        assert!(
            out.status.success(),
            "podman {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let out = podman(&["load", "-i", archive.to_str().unwrap()]);
    assert!(out.contains("skopeo-test:1"), "{out}");
    let id = podman(&["image", "inspect", "--format", "{{.Id}}", "skopeo-test:1"]);
    assert_eq!(id.trim(), Digest::of(&config).hex());
}
