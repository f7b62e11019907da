//! The docker CLI 28 driving images, volumes and the system commands
//! against a private daemon: image ls/inspect/history/tag/rm/prune, build,
//! commit, save/load, import/export, volume *, system df/prune, version,
//! info. Each scenario runs against Debian's dockerd (proving the
//! expectations) and against `wharf daemon`.

use std::fs;

use wharf_testkit::daemon::Engine;
use wharf_testkit::engine_tests;
use wharf_testkit::explain;

const IMG: &str = "wharf-test/busybox:latest";

/// images/image ls, inspect, history, tag, rm, prune.
fn images(e: &dyn Engine) {
    let id = e.import_busybox(IMG);
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    let ls = e.docker_ok(&["images"]);
    let head = ls.lines().next().unwrap_or("");
    for col in ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"] {
        assert!(head.contains(col), "images header {head:?} lacks {col}");
    }
    assert!(
        ls.lines().any(|l| l.starts_with("wharf-test/busybox ")),
        "{ls}"
    );
    let fmt = e.docker_ok(&[
        "image",
        "ls",
        "--format",
        "{{.Repository}}:{{.Tag}} {{.ID}}",
    ]);
    assert_eq!(fmt, format!("{IMG} {}\n", &id[7..19]));
    assert_eq!(
        e.docker_ok(&["images", "-q", "--no-trunc"]),
        format!("{id}\n")
    );

    assert_eq!(e.docker_ok(&["tag", IMG, "other/name:v1"]), "");
    e.docker_ok(&["image", "tag", IMG, "third:x"]);
    let tags = e.docker_ok(&["image", "inspect", "-f", "{{json .RepoTags}}", &id]);
    for t in [
        "\"wharf-test/busybox:latest\"",
        "\"other/name:v1\"",
        "\"third:x\"",
    ] {
        assert!(tags.contains(t), "{tags}");
    }
    let inspect = e.docker_ok(&["image", "inspect", "other/name:v1"]);
    let v: serde_json::Value = serde_json::from_str(&inspect).expect("JSON");
    assert_eq!(v[0]["Id"], id.as_str());
    assert_eq!(v[0]["Os"], "linux");
    assert_eq!(v[0]["Architecture"], "amd64");
    assert_eq!(v[0]["Config"]["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(v[0]["RootFS"]["Type"], "layers");
    assert!(
        v[0]["Size"].as_i64().unwrap_or(0) > 1_000_000,
        "{}",
        v[0]["Size"]
    );
    let hist = e.docker_ok(&["history", IMG]);
    assert!(
        hist.lines().next().unwrap_or("").contains("CREATED BY"),
        "{hist}"
    );
    assert_eq!(hist.lines().count(), 2, "{hist}");

    let untag = e.docker_ok(&["rmi", "other/name:v1"]);
    assert_eq!(untag, "Untagged: other/name:v1\n");
    e.docker_ok(&["image", "rm", "third:x"]);
    e.docker_ok(&["create", "--name", "user1", IMG]);
    let busy = e.docker_fails(&["rmi", IMG], "conflict");
    assert_eq!(busy.status.code(), Some(1), "{}", explain(&busy));
    e.docker_ok(&["rm", "user1"]);
    let missing = e.docker_fails(&["image", "inspect", "no/such:image"], "No such image");
    assert_eq!(missing.status.code(), Some(1), "{}", explain(&missing));

    // An untagged (dangling) image goes with `image prune`.
    let tar = wharf_testkit::images::layer_tar(&[wharf_testkit::images::Entry::file("f", b"1")]);
    let out = e.docker_input(&["import", "-"], &tar);
    assert!(out.status.success(), "{}", explain(&out));
    let dangling = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let listed = e.docker_ok(&["images", "-q", "--no-trunc", "--filter", "dangling=true"]);
    assert_eq!(listed, format!("{dangling}\n"));
    let pruned = e.docker_ok(&["image", "prune", "-f"]);
    assert!(pruned.contains(&dangling), "{pruned}");
    assert_eq!(
        e.docker_ok(&["images", "-q", "--filter", "dangling=true"]),
        ""
    );
    assert_eq!(
        e.docker_ok(&["rmi", IMG]).lines().next(),
        Some("Untagged: wharf-test/busybox:latest")
    );
    assert_eq!(e.docker_ok(&["images", "-q"]), "");
}

/// build (classic builder), commit, save/load, export/import.
fn build_commit_save(e: &dyn Engine) {
    e.import_busybox(IMG);
    let ctx = e.scratch().join("ctx");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(ctx.join("hello.txt"), "hello from the context\n").unwrap();
    fs::write(ctx.join("ignored.txt"), "never\n").unwrap();
    fs::write(ctx.join(".dockerignore"), "ignored.txt\n").unwrap();
    fs::write(
        ctx.join("Dockerfile"),
        format!(
            "FROM {IMG}\nARG WHO=nobody\nCOPY . /app/\nRUN echo \"built for $WHO\" > /built\n\
             LABEL stage=test\nCMD [\"cat\", \"/built\", \"/app/hello.txt\"]\n"
        ),
    )
    .unwrap();
    let c = ctx.to_string_lossy().into_owned();
    let out = e.docker_env(
        &["build", "-t", "built:1", "--build-arg", "WHO=tests", &c],
        &[("DOCKER_BUILDKIT", "0")],
    );
    assert!(out.status.success(), "{}", explain(&out));
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("Step 1/6 : FROM"), "{log}");
    assert!(log.contains("Successfully tagged built:1"), "{log}");
    assert_eq!(
        e.docker_ok(&["run", "--rm", "built:1"]),
        "built for tests\nhello from the context\n"
    );
    let ls = e.docker_ok(&["run", "--rm", "built:1", "ls", "/app"]);
    assert!(!ls.contains("ignored.txt"), ".dockerignore ignored: {ls}");
    assert_eq!(
        e.docker_ok(&["inspect", "-f", "{{.Config.Labels.stage}}", "built:1"]),
        "test\n"
    );
    let bad = e.scratch().join("badctx");
    fs::create_dir_all(&bad).unwrap();
    fs::write(bad.join("Dockerfile"), format!("FROM {IMG}\nRUN exit 4\n")).unwrap();
    let out = e.docker_env(
        &["build", &bad.to_string_lossy()],
        &[("DOCKER_BUILDKIT", "0")],
    );
    assert_eq!(out.status.code(), Some(4), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("returned a non-zero code: 4"),
        "{}",
        explain(&out)
    );

    e.docker_ok(&[
        "run",
        "--name",
        "tocommit",
        IMG,
        "sh",
        "-c",
        "echo committed > /c",
    ]);
    let img = e.docker_ok(&[
        "commit",
        "-c",
        "CMD [\"cat\", \"/c\"]",
        "-m",
        "a message",
        "tocommit",
        "committed:1",
    ]);
    assert!(img.trim().starts_with("sha256:"), "{img}");
    assert_eq!(e.docker_ok(&["run", "--rm", "committed:1"]), "committed\n");
    assert_eq!(
        e.docker_ok(&["inspect", "-f", "{{.Comment}}", "committed:1"]),
        "a message\n"
    );

    let exported = e.scratch().join("export.tar");
    let ex = exported.to_string_lossy().into_owned();
    e.docker_ok(&["export", "-o", &ex, "tocommit"]);
    let tar = fs::read(&exported).unwrap();
    let names: Vec<String> = tar::Archive::new(tar.as_slice())
        .entries()
        .unwrap()
        .map(|en| en.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n == "c"), "export lacks /c");
    assert!(
        names.iter().any(|n| n == "bin/busybox"),
        "export lacks busybox"
    );
    e.docker_ok(&["import", &ex, "reimported:1"]);
    assert_eq!(
        e.docker_ok(&["run", "--rm", "reimported:1", "cat", "/c"]),
        "committed\n"
    );
    let streamed = e.docker(&["export", "tocommit"]);
    assert!(streamed.status.success() && streamed.stdout.len() > 1_000_000);

    let saved = e.scratch().join("save.tar");
    let sv = saved.to_string_lossy().into_owned();
    e.docker_ok(&["save", "-o", &sv, "committed:1", "built:1"]);
    e.docker_ok(&["rm", "tocommit"]);
    e.docker_ok(&["rmi", "committed:1", "built:1"]);
    let loaded = e.docker_ok(&["load", "-i", &sv]);
    assert!(loaded.contains("Loaded image: committed:1"), "{loaded}");
    assert!(loaded.contains("Loaded image: built:1"), "{loaded}");
    assert_eq!(e.docker_ok(&["run", "--rm", "committed:1"]), "committed\n");
    let out = e.docker_input(&["load", "-q"], &fs::read(&saved).unwrap());
    assert!(out.status.success(), "{}", explain(&out));
    let piped = e.docker(&["save", IMG]);
    assert!(piped.status.success() && piped.stdout.len() > 1_000_000);
}

/// volume create/ls/inspect/rm/prune.
fn volumes(e: &dyn Engine) {
    e.import_busybox(IMG);
    assert_eq!(e.docker_ok(&["volume", "create", "vol1"]), "vol1\n");
    e.docker_ok(&["volume", "create", "--label", "team=red", "vol2"]);
    let anon = e.docker_ok(&["volume", "create"]);
    assert_eq!(anon.trim().len(), 64, "{anon}");
    let ls = e.docker_ok(&["volume", "ls"]);
    assert!(
        ls.lines().next().unwrap_or("").contains("VOLUME NAME"),
        "{ls}"
    );
    assert_eq!(ls.lines().count(), 4, "{ls}");
    let red = e.docker_ok(&["volume", "ls", "-q", "--filter", "label=team=red"]);
    assert_eq!(red, "vol2\n");
    let v = e.docker_ok(&["volume", "inspect", "vol2"]);
    let v: serde_json::Value = serde_json::from_str(&v).expect("JSON");
    assert_eq!(v[0]["Name"], "vol2");
    assert_eq!(v[0]["Driver"], "local");
    assert_eq!(v[0]["Labels"]["team"], "red");
    assert_eq!(v[0]["Scope"], "local");
    let mountpoint = v[0]["Mountpoint"].as_str().unwrap_or("").to_string();
    assert!(mountpoint.ends_with("/volumes/vol2/_data"), "{mountpoint}");
    assert_eq!(
        e.docker_ok(&["volume", "inspect", "-f", "{{.Name}} {{.Driver}}", "vol1"]),
        "vol1 local\n"
    );

    e.docker_ok(&[
        "run", "-d", "--name", "holder", "-v", "vol1:/v", IMG, "sleep", "1000",
    ]);
    let busy = e.docker_fails(&["volume", "rm", "vol1"], "volume is in use");
    assert_eq!(busy.status.code(), Some(1), "{}", explain(&busy));
    let missing = e.docker(&["volume", "inspect", "nosuchvol"]);
    assert_eq!(missing.status.code(), Some(1));
    e.docker_ok(&["rm", "-f", "holder"]);
    // Since API 1.42 prune spares named volumes unless --all is given;
    // 1.41 (dockerd 20.10) has no --all and prunes them all.
    let api = e.docker_ok(&["version", "-f", "{{.Server.APIVersion}}"]);
    let minor: u32 = api.trim().trim_start_matches("1.").parse().unwrap_or(0);
    let mut prune = vec!["volume", "prune", "-f"];
    if minor >= 42 {
        prune.push("--all");
    }
    let pruned = e.docker_ok(&prune);
    assert!(
        pruned.contains("vol2") && pruned.contains("vol1"),
        "{pruned}"
    );
    assert_eq!(e.docker_ok(&["volume", "ls", "-q"]), "");
}

/// version, info, system df, system prune.
fn system(e: &dyn Engine) {
    e.import_busybox(IMG);
    let v = e.docker_ok(&["version"]);
    assert!(v.contains("Client:") && v.contains("Server:"), "{v}");
    let api = e.docker_ok(&[
        "version",
        "-f",
        "{{.Server.APIVersion}} {{.Server.Os}}/{{.Server.Arch}}",
    ]);
    let (ver, plat) = api.trim().split_once(' ').unwrap_or(("", ""));
    assert!(
        ver.starts_with("1.") && ver[2..].parse::<u32>().unwrap_or(0) >= 41,
        "{api}"
    );
    assert_eq!(plat, "linux/amd64");

    e.docker_ok(&["run", "-d", "--name", "sys1", IMG, "sleep", "1000"]);
    e.docker_ok(&["run", "--name", "sys2", IMG, "true"]);
    let info = e.docker_ok(&[
        "info",
        "-f",
        "{{.Containers}} {{.ContainersRunning}} {{.ContainersStopped}} {{.Images}} {{.OSType}}",
    ]);
    assert_eq!(info, "2 1 1 1 linux\n");
    let text = e.docker_ok(&["info"]);
    for want in [
        "Server Version:",
        "Storage Driver:",
        "Cgroup Driver:",
        "Docker Root Dir:",
    ] {
        assert!(text.contains(want), "info lacks {want}: {text}");
    }
    let df = e.docker_ok(&["system", "df"]);
    let head = df.lines().next().unwrap_or("");
    for col in ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"] {
        assert!(head.contains(col), "system df header {head:?} lacks {col}");
    }
    assert!(df.lines().any(|l| l.starts_with("Images ")), "{df}");
    assert!(df.lines().any(|l| l.starts_with("Containers ")), "{df}");
    assert!(df.lines().any(|l| l.starts_with("Local Volumes ")), "{df}");
    let verbose = e.docker_ok(&["system", "df", "-v"]);
    assert!(
        verbose.contains("sys1") && verbose.contains("sys2"),
        "{verbose}"
    );

    let pruned = e.docker_ok(&["system", "prune", "-f"]);
    assert!(pruned.contains("Total reclaimed space"), "{pruned}");
    let left = e.docker_ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!(
        left, "sys1\n",
        "system prune removes stopped containers only"
    );
    assert!(
        e.docker_ok(&["images", "-q"]).trim().len() == 12,
        "a used image stays"
    );
    e.docker_ok(&["rm", "-f", "sys1"]);
}

engine_tests!(images => engine_cli_images_dockerd,
    engine_cli_images_wharf);
engine_tests!(build_commit_save => engine_cli_build_commit_save_dockerd,
    engine_cli_build_commit_save_wharf);
engine_tests!(volumes => engine_cli_volumes_dockerd,
    engine_cli_volumes_wharf);
engine_tests!(system => engine_cli_system_dockerd,
    engine_cli_system_wharf);
