//! The image commands end to end, as root, through the `wharf` CLI and a
//! private `wharf daemon` each: import, images, run, commit, export, tag,
//! rmi, history, inspect, save, load and prune. What a removed container
//! leaves is checked on the daemon's disk as soon as the command returns.

use wharf_testkit::WharfRoot;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// What removed containers must not leave on the daemon's disk the moment
/// `run --rm` or `rm` returns (dockerd deletes a container's writable
/// layer and directory before it answers): snapshots, container
/// directories and mounts.
fn leftovers(root: &WharfRoot) -> Vec<String> {
    let mut left = root.snapshots();
    for e in std::fs::read_dir(root.path().join("containers"))
        .into_iter()
        .flatten()
    {
        left.push(format!("containers/{:?}", e.unwrap().file_name()));
    }
    left.extend(root.mounts());
    left
}

fn inspect(root: &WharfRoot, name: &str) -> serde_json::Value {
    let text = root.ok(&["image", "inspect", name]);
    let v: serde_json::Value = serde_json::from_str(&text).expect("inspect prints JSON");
    v[0].clone()
}

#[test]
fn import_lists_the_image_like_docker_images() {
    let root = WharfRoot::new().unwrap();
    let id = root.import_busybox("busybox");
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    let out = root.ok(&["images"]);
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("REPOSITORY   TAG       IMAGE ID       CREATED"),
        "{out}"
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(row[0], "busybox");
    assert_eq!(row[1], "latest");
    assert_eq!(row[2], &id[7..19]);
    assert!(row.last().unwrap().ends_with("MB"), "{out}");
    assert_eq!(root.ok(&["images", "-q"]).trim(), &id[7..19]);
    let v = inspect(&root, "busybox");
    assert_eq!(v["Id"], id);
    assert_eq!(v["RepoTags"][0], "busybox:latest");
    assert_eq!(v["Config"]["Cmd"][0], "sh");
    assert_eq!(v["RootFS"]["Layers"].as_array().unwrap().len(), 1);
}

#[test]
fn run_uses_the_image_config_and_returns_the_exit_code() {
    let root = WharfRoot::new().unwrap();
    let tar = wharf_testkit::images::busybox_rootfs_tar();
    let out = root.run_with_input(
        &[
            "import",
            "-c",
            "ENV GREETING=hello",
            "-c",
            "WORKDIR /srv/app",
            "-c",
            "USER nobody",
            "-c",
            "CMD [\"sh\", \"-c\", \"echo $GREETING from $(pwd) as $(id -u)\"]",
            "-",
            "cfg",
        ],
        &tar,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = root.run(&["run", "--rm", "cfg"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "hello from /srv/app as 65534");
    assert!(leftovers(&root).is_empty(), "{:?}", leftovers(&root));
    // The command, -e, -w and -u override the image.
    let out = root.run(&[
        "run",
        "--rm",
        "-e",
        "GREETING=hi",
        "-w",
        "/tmp",
        "-u",
        "0",
        "cfg",
        "sh",
        "-c",
        "echo $GREETING $(pwd) $(id -u); exit 7",
    ]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "hi /tmp 0");
    assert!(root.ok(&["ps", "-a", "-q"]).trim().is_empty());
    assert!(leftovers(&root).is_empty(), "{:?}", leftovers(&root));
}

#[test]
fn run_of_a_missing_image_fails_clearly() {
    let root = WharfRoot::new().unwrap();
    let out = root.run(&["run", "--rm", "nosuch:1.0", "true"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Unable to find image 'nosuch:1.0' locally"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn commit_export_and_history_of_a_container() {
    let root = WharfRoot::new().unwrap();
    root.import_busybox("busybox");
    let out = root.run(&[
        "run",
        "--name",
        "maker",
        "busybox",
        "sh",
        "-c",
        "echo data > /made; rm /bin/true",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ps = root.ok(&["ps", "-a"]);
    assert!(ps.contains("maker") && ps.contains("Exited (0)"), "{ps}");
    let id = root.ok(&[
        "commit",
        "-c",
        "CMD [\"cat\", \"/made\"]",
        "-m",
        "made a file",
        "maker",
        "made:v1",
    ]);
    assert!(id.trim().starts_with("sha256:"));
    let out = root.run(&["run", "--rm", "made:v1"]);
    assert_eq!(stdout(&out), "data\n", "{}", stderr(&out));
    // The deletion is a whiteout in the committed layer.
    let out = root.run(&["run", "--rm", "made:v1", "ls", "/bin/true"]);
    assert!(!out.status.success());
    let history = root.ok(&["history", "made:v1"]);
    let lines: Vec<&str> = history.lines().collect();
    assert!(lines[0].starts_with("IMAGE"), "{history}");
    assert!(
        lines[1].contains("made a file") && lines[1].contains(&id.trim()[7..19]),
        "{history}"
    );
    assert_eq!(lines.len(), 3, "{history}");
    let v = inspect(&root, "made:v1");
    assert_eq!(v["RootFS"]["Layers"].as_array().unwrap().len(), 2);
    assert_eq!(v["Comment"], "made a file");
    // Export: the whole filesystem of the container.
    let tar = root.scratch().join("export.tar");
    root.ok(&["export", "-o", tar.to_str().unwrap(), "maker"]);
    let mut names = Vec::new();
    let mut archive = tar::Archive::new(std::fs::File::open(&tar).unwrap());
    for e in archive.entries().unwrap() {
        names.push(e.unwrap().path().unwrap().to_string_lossy().into_owned());
    }
    assert!(
        names.iter().any(|n| n.trim_start_matches("./") == "made"),
        "{names:?}"
    );
    assert!(names
        .iter()
        .any(|n| n.trim_start_matches("./") == "bin/busybox"));
    assert!(!names
        .iter()
        .any(|n| n.trim_start_matches("./") == "bin/true"));
    root.ok(&["rm", "maker"]);
    assert!(leftovers(&root).is_empty(), "{:?}", leftovers(&root));
}

#[test]
fn tag_rmi_and_prune_follow_docker() {
    let root = WharfRoot::new().unwrap();
    let id = root.import_busybox("busybox");
    root.ok(&["tag", "busybox", "localhost:5000/tools/bb:1.0"]);
    let images = root.ok(&["images"]);
    assert!(images.contains("localhost:5000/tools/bb   1.0"), "{images}");
    // An id with two tags needs -f.
    let out = root.run(&["rmi", &id[7..19]]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("must be forced"), "{}", stderr(&out));
    let digest = format!("bb@sha256:{}", "0".repeat(64));
    let out = root.run(&["tag", "busybox", &digest]);
    assert!(stderr(&out).contains("refusing to create a tag with a digest reference"));
    let out = root.ok(&["rmi", "localhost:5000/tools/bb:1.0"]);
    assert_eq!(out.trim(), "Untagged: localhost:5000/tools/bb:1.0");
    // A container keeps its image.
    root.ok(&["run", "--name", "user", "busybox", "true"]);
    let out = root.run(&["rmi", "busybox"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("container"), "{}", stderr(&out));
    root.ok(&["rm", "user"]);
    let out = root.ok(&["rmi", "busybox"]);
    assert!(
        out.contains("Untagged: busybox:latest") && out.contains(&format!("Deleted: {id}")),
        "{out}"
    );
    assert!(root.ok(&["images", "-q"]).trim().is_empty());
    // The last rmi of an image frees its layers.
    let layers = |root: &WharfRoot| {
        std::fs::read_dir(root.path().join("layers"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert_eq!(layers(&root), 0);
    // Prune: a dangling image (imported without a name) goes, and gc
    // takes its layer; a tagged one stays.
    let dangling = root.import_busybox("");
    root.import_busybox("kept");
    let ids = root.ok(&["images", "-q"]);
    assert!(ids.contains(&dangling[7..19]), "{ids}");
    let out = root.ok(&["image", "prune", "-f"]);
    assert!(out.contains(&format!("deleted: {dangling}")), "{out}");
    assert!(!root.run(&["image", "inspect", &dangling]).status.success());
    assert!(root.run(&["image", "inspect", "kept"]).status.success());
    assert_eq!(layers(&root), 1);
}

#[test]
fn save_then_load_gives_the_same_ids_in_another_store() {
    let a = WharfRoot::new().unwrap();
    let id = a.import_busybox("busybox");
    a.ok(&["tag", "busybox", "copy:2"]);
    let archive = a.scratch().join("images.tar");
    a.ok(&["save", "-o", archive.to_str().unwrap(), "busybox", "copy:2"]);
    let b = WharfRoot::new().unwrap();
    let out = b.ok(&["load", "-i", archive.to_str().unwrap()]);
    assert!(out.contains("Loaded image: busybox:latest"), "{out}");
    assert!(out.contains("Loaded image: copy:2"), "{out}");
    let va = inspect(&a, "busybox");
    let vb = inspect(&b, "copy:2");
    assert_eq!(vb["Id"], id);
    assert_eq!(va["RootFS"], vb["RootFS"]);
    let out = b.run(&["run", "--rm", "copy:2", "echo", "loaded"]);
    assert_eq!(stdout(&out), "loaded\n", "{}", stderr(&out));
    assert!(leftovers(&b).is_empty(), "{:?}", leftovers(&b));
    // From stdin too, and a corrupt archive is refused.
    let c = WharfRoot::new().unwrap();
    let bytes = std::fs::read(&archive).unwrap();
    let out = c.run_with_input(&["load"], &bytes);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = c.run_with_input(&["load"], b"not a tar at all, not even close");
    assert!(!out.status.success());
}

#[test]
fn load_reads_an_oci_layout_directory() {
    let a = WharfRoot::new().unwrap();
    let id = a.import_busybox("busybox");
    let archive = a.scratch().join("images.tar");
    a.ok(&["save", "-o", archive.to_str().unwrap(), "busybox"]);
    // Keep only the OCI side: oci-layout, index.json, blobs.
    let layout = tempfile::tempdir().unwrap();
    tar::Archive::new(std::fs::File::open(&archive).unwrap())
        .unpack(layout.path())
        .unwrap();
    std::fs::remove_file(layout.path().join("manifest.json")).unwrap();
    let _ = std::fs::remove_file(layout.path().join("repositories"));
    let b = WharfRoot::new().unwrap();
    let out = b.ok(&["load", "-i", layout.path().to_str().unwrap()]);
    assert!(out.contains("Loaded image: busybox:latest"), "{out}");
    assert_eq!(inspect(&b, "busybox")["Id"], id);
}

#[test]
fn run_with_a_terminal_and_with_piped_stdin() {
    let root = WharfRoot::new().unwrap();
    root.import_busybox("busybox");
    // -i: our stdin reaches the container; without -i it reads nothing.
    let out = root.run_with_input(&["run", "--rm", "-i", "busybox", "cat"], b"piped\n");
    assert_eq!(stdout(&out), "piped\n", "{}", stderr(&out));
    let out = root.run_with_input(&["run", "--rm", "busybox", "cat"], b"piped\n");
    assert_eq!(stdout(&out), "");
    // -t without a terminal is refused, as docker refuses it.
    let out = root.run(&["run", "--rm", "-it", "busybox", "true"]);
    assert!(
        stderr(&out).contains("the input device is not a TTY"),
        "{}",
        stderr(&out)
    );
    // -it under a pty (util-linux `script` provides one): the container
    // gets a terminal of its own, and its exit status comes back.
    let wharf = wharf_testkit::wharf_path().unwrap();
    let line = format!(
        "{} -H {} run --rm -it busybox sh -c 'tty; echo $TERM; exit 4'",
        wharf.display(),
        root.host()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script runs");
    let text = stdout(&out);
    assert!(text.contains("/dev/pts/0"), "{text}");
    assert!(text.contains("xterm"), "{text}");
    assert_eq!(out.status.code(), Some(4), "{text}");
}
