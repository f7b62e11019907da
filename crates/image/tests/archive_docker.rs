//! Archives against real Docker: a private dockerd (Debian's docker.io
//! 20.10, started by the test kit) and the docker CLI. Root only.
//!
//! - what `docker save` writes loads into a store with the image IDs, layer
//!   diff IDs and tags that `docker image inspect` reports, and saved again
//!   it goes back into dockerd with the same IDs and still runs;
//! - what `save` writes from images made without Docker, `docker load`
//!   accepts with the same IDs and tags (untagged too), and runs.

use std::fs;

use serde_json::{json, Value};
use wharf_image::archive::{load, save};
use wharf_image::digest::Digest;
use wharf_image::reference::Reference;
use wharf_image::store::Store;
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

fn docker_diff_ids(inspect: &Value) -> Vec<String> {
    serde_json::from_value(inspect["RootFS"]["Layers"].clone()).unwrap_or_default()
}

fn docker_tags(inspect: &Value) -> Vec<String> {
    let mut tags: Vec<String> =
        serde_json::from_value(inspect["RepoTags"].clone()).unwrap_or_default();
    tags.sort();
    tags
}

fn store_diff_ids(store: &Store, name: &str) -> Vec<String> {
    let img = store.image(name).unwrap();
    img.layers.iter().map(|l| l.diff_id.to_string()).collect()
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
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
fn docker_save_loads_with_dockers_ids_and_goes_back() {
    let d = dockerd();
    make_docker_images(&d);
    let all = ["busybox:latest", "two:1", "two:2"];
    let want: Vec<Value> = all.iter().map(|n| inspect(&d, n)).collect();
    let archive = d.dir().join("saved.tar");
    let mut args = vec!["save", "-o", archive.to_str().unwrap()];
    args.extend(all);
    d.docker_ok(&args);

    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let loaded = load(&store, fs::File::open(&archive).unwrap()).unwrap();
    assert_eq!(loaded.len(), 2);
    for (name, want) in all.iter().zip(&want) {
        let img = store.image(name).unwrap();
        assert_eq!(img.id.to_string(), want["Id"], "{name}");
        assert_eq!(
            store_diff_ids(&store, name),
            docker_diff_ids(want),
            "{name}"
        );
        let mut tags = img.repo_tags.clone();
        tags.sort();
        assert_eq!(tags, docker_tags(want), "{name}");
        assert!(loaded
            .iter()
            .any(|l| l.id == img.id && l.tags.contains(&name.to_string())));
    }
    assert_eq!(store_diff_ids(&store, "two:1").len(), 2);

    // Back: our archive of the same names, into a dockerd that forgot them.
    let ours = d.dir().join("ours.tar");
    save(&store, &names(&all), fs::File::create(&ours).unwrap()).unwrap();
    let mut rmi = vec!["rmi"];
    rmi.extend(all);
    d.docker_ok(&rmi);
    let out = d.docker_ok(&["load", "-i", ours.to_str().unwrap()]);
    assert!(out.contains("Loaded image: two:2"), "{out}");
    for (name, want) in all.iter().zip(&want) {
        let got = inspect(&d, name);
        assert_eq!(got["Id"], want["Id"], "{name}");
        assert_eq!(docker_tags(&got), docker_tags(want), "{name}");
    }
    let out = d.docker_ok(&["run", "--rm", "--network", "none", "two:1"]);
    assert_eq!(out, "built\n");
    assert_eq!(
        d.stop(),
        Vec::<String>::new(),
        "dockerd left nothing behind"
    );
}

/// Adds `layers` and a config to `store`; returns the image ID.
fn add_image(store: &Store, layers: &[Vec<u8>], cmd: &[&str]) -> Digest {
    let mut parent: Option<Digest> = None;
    let mut diff_ids = Vec::new();
    for l in layers {
        let layer = store.add_layer(parent.as_ref(), l.as_slice()).unwrap();
        diff_ids.push(layer.diff_id.to_string());
        parent = Some(layer.chain_id);
    }
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2023-11-14T22:13:20Z",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": cmd,
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "wharf test"}],
    }))
    .unwrap();
    store.add_image(&config).unwrap()
}

#[test]
fn docker_loads_and_runs_what_we_save() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let base = busybox_rootfs_tar();
    let top = layer_tar(&[
        Entry::dir("srv"),
        Entry::file("srv/msg", b"from layer two\n"),
    ]);
    let made = add_image(&store, &[base.clone(), top], &["cat", "/srv/msg"]);
    for t in ["wharf-made:1", "localhost:5000/wharf/made:v2"] {
        store.tag(&made, &Reference::parse(t).unwrap()).unwrap();
    }
    let untagged = add_image(&store, &[base], &["echo", "untagged"]);
    let ours = root.path().join("ours.tar");
    let request = names(&[
        "wharf-made:1",
        "localhost:5000/wharf/made:v2",
        untagged.as_str(),
    ]);
    save(&store, &request, fs::File::create(&ours).unwrap()).unwrap();

    let d = dockerd();
    let out = d.docker_ok(&["load", "-i", ours.to_str().unwrap()]);
    assert!(out.contains("Loaded image: wharf-made:1"), "{out}");
    assert!(
        out.contains(&format!("Loaded image ID: {untagged}")),
        "{out}"
    );
    let got = inspect(&d, "wharf-made:1");
    assert_eq!(got["Id"], made.to_string());
    assert_eq!(
        docker_diff_ids(&got),
        store_diff_ids(&store, "wharf-made:1")
    );
    assert_eq!(
        docker_tags(&got),
        ["localhost:5000/wharf/made:v2", "wharf-made:1"]
    );
    assert_eq!(inspect(&d, untagged.as_str())["RepoTags"], json!([]));

    let out = d.docker_ok(&["run", "--rm", "--network", "none", "wharf-made:1"]);
    assert_eq!(out, "from layer two\n");
    let out = d.docker_ok(&["run", "--rm", "--network", "none", untagged.as_str()]);
    assert_eq!(out, "untagged\n");
    assert_eq!(
        d.stop(),
        Vec::<String>::new(),
        "dockerd left nothing behind"
    );
}

/// The fixture itself: a container still running when the test ends is
/// stopped with the daemon, and nothing of either is left.
#[test]
fn dockerd_fixture_leaves_nothing_behind() {
    let d = dockerd();
    let rootfs = d.dir().join("rootfs.tar");
    fs::write(&rootfs, busybox_rootfs_tar()).unwrap();
    d.docker_ok(&["import", rootfs.to_str().unwrap(), "busybox:latest"]);
    let args = [
        "run",
        "-d",
        "--network",
        "none",
        "--stop-timeout",
        "1",
        "busybox",
    ];
    let id = d.docker_ok(&[&args[..], &["sleep", "1000"]].concat());
    let out = d.docker_ok(&["inspect", "-f", "{{.State.Running}}", id.trim()]);
    assert_eq!(out.trim(), "true");
    let pid = d.docker_ok(&["inspect", "-f", "{{.State.Pid}}", id.trim()]);
    let cgroup = fs::read_to_string(format!("/proc/{}/cgroup", pid.trim())).unwrap();
    let name = d.dir().file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        cgroup.contains(&name),
        "the container is under the fixture's cgroup parent: {cgroup}"
    );
    assert_eq!(d.stop(), Vec::<String>::new());
    assert!(!std::path::Path::new(&format!("/proc/{}", pid.trim())).exists());
}
