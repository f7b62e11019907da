//! Archives against real Docker: a private dockerd (Debian's docker.io
//! 20.10, started by the test kit) and the docker CLI. Root only.
//!
//! - what `docker save` writes reads back with the IDs and layer diff IDs
//!   that `docker image inspect` reports;
//! - what [`write_archive`] writes, `docker load` accepts with the same ID
//!   and tags, and runs.

use std::fs;
use std::path::Path;

use serde_json::{json, Value};
use wharf_image::archive::{extract, read_dir, write_archive, SaveImage};
use wharf_image::digest::Digest;
use wharf_testkit::dockerd::Dockerd;
use wharf_testkit::images::{busybox_rootfs_tar, layer_tar, Entry};

fn dockerd() -> Dockerd {
    Dockerd::start().unwrap_or_else(|e| panic!("these tests need dockerd: {e}"))
}

/// `docker image inspect` of one image.
fn inspect(d: &Dockerd, name: &str) -> Value {
    let out = d.docker_ok(&["image", "inspect", name]);
    let v: Value = serde_json::from_str(&out).expect("inspect prints JSON");
    v[0].clone()
}

fn diff_ids(inspect: &Value) -> Vec<String> {
    inspect["RootFS"]["Layers"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| l.as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn file_digest(p: &Path) -> String {
    Digest::of(&fs::read(p).unwrap()).to_string()
}

/// busybox:latest by `docker import`, and a two-layer image built from it
/// by the classic builder, tagged twice.
fn make_docker_images(d: &Dockerd) {
    let rootfs = d.dir().join("rootfs.tar");
    fs::write(&rootfs, busybox_rootfs_tar()).unwrap();
    d.docker_ok(&["import", rootfs.to_str().unwrap(), "busybox:latest"]);
    let ctx = d.dir().join("ctx");
    fs::create_dir(&ctx).unwrap();
    fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox:latest\nRUN echo built > /built\nENV A=b\nCMD [\"cat\", \"/built\"]\n",
    )
    .unwrap();
    let out = d.docker_env(
        &[
            "build",
            "-q",
            "-t",
            "two:1",
            "-t",
            "two:2",
            ctx.to_str().unwrap(),
        ],
        &[("DOCKER_BUILDKIT", "0")],
    );
    assert!(
        out.status.success(),
        "docker build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn docker_save_reads_with_dockers_ids() {
    let d = dockerd();
    make_docker_images(&d);
    let archive = d.dir().join("saved.tar");
    d.docker_ok(&[
        "save",
        "-o",
        archive.to_str().unwrap(),
        "busybox:latest",
        "two:1",
        "two:2",
    ]);

    let dir = tempfile::tempdir().unwrap();
    extract(fs::File::open(&archive).unwrap(), dir.path()).unwrap();
    let images = read_dir(dir.path()).unwrap();
    assert_eq!(images.len(), 2);
    for (name, tags) in [
        ("busybox:latest", vec!["busybox:latest"]),
        ("two:1", vec!["two:1", "two:2"]),
    ] {
        let want = inspect(&d, name);
        let img = images
            .iter()
            .find(|i| i.repo_tags.contains(&name.to_string()))
            .unwrap_or_else(|| panic!("{name} not in the archive"));
        assert_eq!(img.id().to_string(), want["Id"], "{name}");
        let got: Vec<String> = img.layers.iter().map(|p| file_digest(p)).collect();
        assert_eq!(got, diff_ids(&want), "{name}");
        let mut got_tags = img.repo_tags.clone();
        got_tags.sort();
        assert_eq!(got_tags, tags);
    }
    assert_eq!(images[1].layers.len(), 2);
}

#[test]
fn docker_loads_and_runs_what_we_write() {
    let d = dockerd();
    let src = tempfile::tempdir().unwrap();
    let l0 = busybox_rootfs_tar();
    let l1 = layer_tar(&[
        Entry::dir("srv"),
        Entry::file("srv/msg", b"from layer two\n"),
    ]);
    let (d0, d1) = (Digest::of(&l0), Digest::of(&l1));
    fs::write(src.path().join("l0.tar"), &l0).unwrap();
    fs::write(src.path().join("l1.tar"), &l1).unwrap();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2023-11-14T22:13:20Z",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["cat", "/srv/msg"],
        },
        "rootfs": {"type": "layers", "diff_ids": [d0.to_string(), d1.to_string()]},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "wharf test"}],
    }))
    .unwrap();
    let id = Digest::of(&config);
    let images = [SaveImage {
        config,
        layers: vec![
            (d0.clone(), src.path().join("l0.tar")),
            (d1.clone(), src.path().join("l1.tar")),
        ],
        tags: vec!["wharf-made:1".into(), "localhost:5000/wharf/made:v2".into()],
    }];
    let archive = d.dir().join("ours.tar");
    write_archive(fs::File::create(&archive).unwrap(), &images).unwrap();

    let out = d.docker_ok(&["load", "-i", archive.to_str().unwrap()]);
    assert!(out.contains("Loaded image: wharf-made:1"), "{out}");
    let got = inspect(&d, "wharf-made:1");
    assert_eq!(got["Id"], id.to_string());
    assert_eq!(diff_ids(&got), [d0.to_string(), d1.to_string()]);
    let mut tags: Vec<String> = serde_json::from_value(got["RepoTags"].clone()).unwrap();
    tags.sort();
    assert_eq!(tags, ["localhost:5000/wharf/made:v2", "wharf-made:1"]);

    let out = d.docker_ok(&["run", "--rm", "--network", "none", "wharf-made:1"]);
    assert_eq!(out, "from layer two\n");
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "wharf-made:1",
        "echo",
        "hi",
    ]);
    assert_eq!(out, "hi\n");
}
