//! skopeo (a real OCI client, no daemon) reads what [`write_archive`]
//! writes, as an OCI archive and as a docker archive, and copies it to a
//! `dir:` layout with the same config and layer digests.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};
use wharf_image::archive::{write_archive, SaveImage};
use wharf_image::digest::Digest;
use wharf_testkit::images::{busybox_rootfs_tar, layer_tar, Entry};

const SKOPEO: &str = "/usr/bin/skopeo";

fn skopeo_copy(from: &str, to: &str) {
    assert!(
        Path::new(SKOPEO).exists(),
        "{SKOPEO} not found: install skopeo (tools/install-deps.sh)"
    );
    let out = Command::new(SKOPEO)
        .args(["--insecure-policy", "copy", "--quiet", from, to])
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo copy {from} {to}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn skopeo_copies_our_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let l0 = busybox_rootfs_tar();
    let l1 = layer_tar(&[Entry::file("hello", b"hello\n")]);
    let (d0, d1) = (Digest::of(&l0), Digest::of(&l1));
    fs::write(tmp.path().join("l0.tar"), &l0).unwrap();
    fs::write(tmp.path().join("l1.tar"), &l1).unwrap();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [d0.to_string(), d1.to_string()]},
    }))
    .unwrap();
    let image = SaveImage {
        config: config.clone(),
        layers: vec![
            (d0.clone(), tmp.path().join("l0.tar")),
            (d1.clone(), tmp.path().join("l1.tar")),
        ],
        tags: vec!["skopeo-test:1".into()],
    };
    let archive = tmp.path().join("ours.tar");
    write_archive(fs::File::create(&archive).unwrap(), &[image]).unwrap();

    for (i, transport) in ["oci-archive", "docker-archive"].iter().enumerate() {
        let dest = tmp.path().join(format!("dir{i}"));
        skopeo_copy(
            &format!("{transport}:{}", archive.display()),
            &format!("dir:{}", dest.display()),
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
