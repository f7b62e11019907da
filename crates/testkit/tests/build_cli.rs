//! `wharf build` end to end, as root, through a private `wharf daemon`:
//! steps run in real containers on overlay snapshots, the cache,
//! multi-stage builds, build args, the context's limits, the errors a bad
//! Dockerfile gets, and a build whose client is killed.

use std::path::Path;

use wharf_testkit::daemon::{ApiResponse, Engine};
use wharf_testkit::WharfRoot;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A build context directory with `files` (path, contents).
fn context(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, contents) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, contents).unwrap();
    }
    dir
}

fn build(root: &WharfRoot, dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["build"];
    args.extend_from_slice(extra);
    args.push(dir.to_str().unwrap());
    root.run(&args)
}

fn config(root: &WharfRoot, name: &str) -> serde_json::Value {
    let text = root.ok(&["image", "inspect", name]);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v[0]["Config"].clone()
}

const APP: &str = r#"FROM busybox
ENV APP_HOME=/srv/app \
    GREETING="hello world"
WORKDIR $APP_HOME
COPY greeting.txt ./
RUN echo "built with $GREETING" > built.txt && test -f greeting.txt
EXPOSE 8080
LABEL org.example.name="app" version=1
USER nobody
CMD ["sh", "-c", "cat greeting.txt built.txt; id -u"]
"#;

#[test]
fn a_build_runs_its_steps_and_the_image_runs() {
    let root = WharfRoot::new().unwrap();
    root.import_busybox("busybox");
    let ctx = context(&[
        ("Dockerfile", APP),
        ("greeting.txt", "hi from the context\n"),
    ]);
    let out = build(&root, ctx.path(), &["-t", "app:1", "-t", "app:latest"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(text.contains("Step 1/9 : FROM busybox"), "{text}");
    assert!(text.contains("Step 5/9 : RUN echo"), "{text}");
    assert!(text.contains(" ---> Running in "), "{text}");
    assert!(text.contains("Successfully built "), "{text}");
    assert!(text.contains("Successfully tagged app:1"), "{text}");
    assert!(text.contains("Successfully tagged app:latest"), "{text}");
    let out = root.run(&["run", "--rm", "app:1"]);
    assert_eq!(
        stdout(&out),
        "hi from the context\nbuilt with hello world\n65534\n",
        "{}",
        stderr(&out)
    );
    let c = config(&root, "app:1");
    assert_eq!(c["WorkingDir"], "/srv/app");
    assert_eq!(c["User"], "nobody");
    assert!(c["Env"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == "GREETING=hello world"));
    assert!(c["ExposedPorts"]["8080/tcp"].is_object());
    assert_eq!(c["Labels"]["org.example.name"], "app");
    assert!(root.snapshots().iter().all(|s| !s.starts_with("build-")));
    assert!(root.mounts().is_empty(), "{:?}", root.mounts());
}

#[test]
fn an_unchanged_rebuild_is_all_cache_and_content_not_mtime_decides() {
    let root = WharfRoot::new().unwrap();
    root.import_busybox("busybox");
    let ctx = context(&[("Dockerfile", APP), ("greeting.txt", "one\n")]);
    let first = stdout(&build(&root, ctx.path(), &["-t", "app"]));
    let id = first.lines().last().unwrap().to_string();
    let again = build(&root, ctx.path(), &["-t", "app"]);
    let again_text = stdout(&again);
    assert_eq!(again_text.matches("Using cache").count(), 8, "{again_text}");
    assert!(!again_text.contains("Running in"), "{again_text}");
    assert_eq!(again_text.lines().last().unwrap(), id);
    // A new mtime with the same content still hits the cache.
    std::fs::write(ctx.path().join("greeting.txt"), "one\n").unwrap();
    let touched = stdout(&build(&root, ctx.path(), &[]));
    assert_eq!(touched.matches("Using cache").count(), 8, "{touched}");
    // Changed content invalidates the COPY and every step after it.
    std::fs::write(ctx.path().join("greeting.txt"), "two\n").unwrap();
    let changed = stdout(&build(&root, ctx.path(), &["-t", "app"]));
    assert_eq!(changed.matches("Using cache").count(), 2, "{changed}");
    let out = root.run(&["run", "--rm", "app"]);
    assert!(stdout(&out).starts_with("two\n"), "{}", stdout(&out));
    // --no-cache runs everything again.
    let fresh = stdout(&build(&root, ctx.path(), &["--no-cache"]));
    assert_eq!(fresh.matches("Using cache").count(), 0, "{fresh}");
}

#[test]
fn multi_stage_target_and_build_args() {
    let root = WharfRoot::new().unwrap();
    root.import_busybox("busybox");
    let dockerfile = r#"ARG BASE=busybox
FROM $BASE AS builder
ARG VERSION=0.1
RUN mkdir /out && echo "version $VERSION" > /out/version
FROM scratch AS empty
COPY --from=builder /out/version /unused
FROM ${BASE}
COPY --from=builder /out /app
ARG VERSION
ENV V=$VERSION
CMD cat /app/version; echo "env $V"
"#;
    let ctx = context(&[("Dockerfile", dockerfile)]);
    let out = build(
        &root,
        ctx.path(),
        &["-t", "multi", "--build-arg", "VERSION=2.0"],
    );
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    // The unused stage is not built.
    assert!(!stdout(&out).contains("/unused"), "{}", stdout(&out));
    let run = root.run(&["run", "--rm", "multi"]);
    assert_eq!(stdout(&run), "version 2.0\nenv 2.0\n", "{}", stderr(&run));
    // --target stops at a stage; a missing one is an error.
    let out = build(&root, ctx.path(), &["-t", "b", "--target", "builder"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = root.run(&["run", "--rm", "b", "cat", "/out/version"]);
    assert_eq!(stdout(&run), "version 0.1\n");
    let out = build(&root, ctx.path(), &["--target", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "Error response from daemon: failed to reach build target nope in Dockerfile"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn dockerignore_and_context_escapes_copy_nothing_from_outside() {
    let root = WharfRoot::new().unwrap();
    root.import_busybox("busybox");
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "host secret").unwrap();
    let ctx = context(&[
        (
            "Dockerfile",
            "FROM busybox\nCOPY . /ctx/\nRUN find /ctx | sort\n",
        ),
        (".dockerignore", "*.log\n!keep.log\nbuild/**\n"),
        ("a.txt", "a"),
        ("x.log", "x"),
        ("keep.log", "k"),
        ("build/obj/o", "o"),
    ]);
    std::os::unix::fs::symlink(outside.path().join("secret"), ctx.path().join("link")).unwrap();
    let out = build(&root, ctx.path(), &["-t", "ign"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let listing = root.ok(&[
        "run",
        "--rm",
        "ign",
        "sh",
        "-c",
        "find /ctx | sort; cat /ctx/link 2>&1; true",
    ]);
    assert!(
        listing.contains("/ctx/a.txt") && listing.contains("/ctx/keep.log"),
        "{listing}"
    );
    assert!(
        !listing.contains("x.log") && !listing.contains("/ctx/build/obj"),
        "{listing}"
    );
    assert!(!listing.contains("host secret"), "{listing}");
    // A source above the context is refused, as Docker refuses it.
    let up = context(&[("Dockerfile", "FROM busybox\nCOPY ../ /up/\n")]);
    let out = build(&root, up.path(), &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("forbidden path outside the build context"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_dockerfiles_fail_as_with_docker_and_leave_nothing() {
    let root = WharfRoot::new().unwrap();
    root.import_busybox("busybox");
    // (Dockerfile, docker's message, exit code). A Dockerfile that does
    // not parse is refused before the build starts: an HTTP error, which
    // the CLI prints as `Error response from daemon: …`. A step that fails
    // ends the stream with its error; a RUN's exit code is the CLI's.
    let cases: &[(&str, &str, i32)] = &[
        (
            "FROM busybox\nRUN true\nFROBNICATE now\n",
            "Error response from daemon: dockerfile parse error on line 3: unknown instruction: FROBNICATE",
            1,
        ),
        (
            "FROM busybox\nCOPY --bogus=1 a /a\n",
            "Error response from daemon: dockerfile parse error on line 2: unknown flag: bogus",
            1,
        ),
        (
            "FROM busybox\nCOPY missing.txt /x\n",
            "COPY failed: file not found in build context or excluded by .dockerignore: stat missing.txt: file does not exist",
            1,
        ),
        (
            "FROM busybox\nRUN echo partial > /p\nRUN exit 3\n",
            "The command '/bin/sh -c exit 3' returned a non-zero code: 3",
            3,
        ),
        (
            "FROM busybox\nCOPY --from=nostage /a /b\n",
            "invalid from flag value nostage: pull access denied for nostage",
            1,
        ),
        ("FROM nosuchbase\n", "pull access denied for nosuchbase", 1),
        (
            "FROM busybox\nRUN --mount=type=cache,target=/c true\n",
            "the --mount option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled",
            1,
        ),
    ];
    for (dockerfile, expected, code) in cases {
        let ctx = context(&[("Dockerfile", dockerfile)]);
        let out = build(&root, ctx.path(), &[]);
        assert_eq!(out.status.code(), Some(*code), "{dockerfile}");
        // Each cause is said once.
        assert_eq!(
            stderr(&out).matches(expected).count(),
            1,
            "{dockerfile}: {}",
            stderr(&out)
        );
        let refused = expected.starts_with("Error response from daemon");
        assert_eq!(
            !stdout(&out).contains("Step 1/"),
            refused,
            "{dockerfile}: {}",
            stdout(&out)
        );
        assert!(
            root.mounts().is_empty(),
            "{dockerfile}: {:?}",
            root.mounts()
        );
        assert!(
            root.snapshots().iter().all(|s| !s.starts_with("build-")),
            "{dockerfile}: {:?}",
            root.snapshots()
        );
    }
}

#[test]
fn heredocs_onbuild_healthcheck_and_shell() {
    let root = WharfRoot::new().unwrap();
    root.import_busybox("busybox");
    let base = "FROM busybox\nONBUILD RUN echo triggered > /onbuild\n";
    let ctx = context(&[("Dockerfile", base)]);
    assert!(build(&root, ctx.path(), &["-t", "base"]).status.success());
    let dockerfile = "FROM base\n\
        SHELL [\"/bin/sh\", \"-ec\"]\n\
        RUN <<EOF\necho one > /h1\necho two >> /h1\nEOF\n\
        COPY <<greeting.txt /etc/\nhello $HOSTNAME_UNSET!\ngreeting.txt\n\
        HEALTHCHECK --interval=30s --retries=2 CMD wget -q localhost || exit 1\n\
        STOPSIGNAL SIGINT\n";
    let ctx = context(&[("Dockerfile", dockerfile)]);
    let out = build(&root, ctx.path(), &["-t", "doc"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("Executing 1 build trigger"),
        "{}",
        stdout(&out)
    );
    let out = root.ok(&[
        "run",
        "--rm",
        "doc",
        "cat",
        "/onbuild",
        "/h1",
        "/etc/greeting.txt",
    ]);
    assert_eq!(out, "triggered\none\ntwo\nhello !\n");
    let c = config(&root, "doc");
    assert_eq!(c["Shell"][1], "-ec");
    assert_eq!(c["Healthcheck"]["Test"][0], "CMD-SHELL");
    assert_eq!(c["Healthcheck"]["Interval"], 30_000_000_000i64);
    assert_eq!(c["Healthcheck"]["Retries"], 2);
    assert_eq!(c["StopSignal"], "SIGINT");
    assert!(
        c["OnBuild"].is_null() || c["OnBuild"].as_array().unwrap().is_empty(),
        "{c}"
    );
}

#[test]
fn a_step_that_changes_nothing_adds_no_layer_and_mount_points_stay_out() {
    let root = WharfRoot::new().unwrap();
    root.import_busybox("busybox");
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\nRUN true\nRUN echo x > /x\nWORKDIR /\nWORKDIR /new\n",
    )]);
    let out = build(&root, ctx.path(), &["-t", "lean"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = root.ok(&["image", "inspect", "lean"]);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    // busybox, RUN echo, WORKDIR /new: three layers; RUN true and WORKDIR /
    // changed nothing.
    let layers = v[0]["RootFS"]["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3, "{text}");
    // The /etc/hosts, /etc/hostname and /etc/resolv.conf the runtime mounts
    // are not in the RUN's layer.
    let out = root.ok(&["run", "--rm", "lean", "sh", "-c", "ls /x /new && echo ok"]);
    assert!(out.ends_with("ok\n"), "{out}");
    let blob = root
        .path()
        .join("blobs/sha256")
        .join(layers[1].as_str().unwrap().trim_start_matches("sha256:"));
    let mut names = Vec::new();
    for e in tar::Archive::new(std::fs::File::open(blob).unwrap())
        .entries()
        .unwrap()
    {
        names.push(e.unwrap().path().unwrap().to_string_lossy().into_owned());
    }
    assert_eq!(names, ["x"], "{names:?}");
}

#[test]
fn an_image_of_150_layers_builds_and_runs() {
    // 150 lower directories of ~100 characters each are far past the one
    // page that mount(2)'s option string allows: the snapshot is mounted
    // one layer at a time with fsconfig's lowerdir+.
    let root = WharfRoot::new().unwrap();
    root.import_busybox("busybox");
    let mut dockerfile = String::from("FROM busybox\n");
    for i in 0..150 {
        dockerfile.push_str(&format!("RUN echo {i} > /layer-{i}\n"));
    }
    let ctx = context(&[("Dockerfile", &dockerfile)]);
    let out = build(&root, ctx.path(), &["-q", "-t", "tall"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value =
        serde_json::from_str(&root.ok(&["image", "inspect", "tall"])).unwrap();
    assert_eq!(v[0]["RootFS"]["Layers"].as_array().unwrap().len(), 151);
    let out = root.ok(&[
        "run",
        "--rm",
        "tall",
        "sh",
        "-c",
        "cat /layer-0 /layer-149; ls / | grep -c layer-",
    ]);
    assert_eq!(out, "0\n149\n150\n");
}

#[test]
fn run_steps_get_no_host_network_unless_asked() {
    let root = WharfRoot::new().unwrap();
    root.import_busybox("busybox");
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\nRUN ip -o link | wc -l > /default\n\
         RUN --network=host ip -o link | wc -l > /host\n",
    )]);
    let out = build(&root, ctx.path(), &["-t", "net"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = root.ok(&["run", "--rm", "net", "cat", "/default", "/host"]);
    let counts: Vec<usize> = out.split_whitespace().map(|n| n.parse().unwrap()).collect();
    // Loopback and eth0 on the daemon's default bridge by default (see
    // build_net.rs); the host's interfaces with --network=host.
    assert_eq!(counts[0], 2, "{out}");
    assert!(counts[1] > 1, "{out}");
}

#[test]
fn a_killed_client_stops_its_build_and_leaves_nothing() {
    killed_client_stops_the_build(false);
}

/// With `-q` the daemon sends nothing (not even the response's headers)
/// until the build ends: a client killed meanwhile stops it all the same.
#[test]
fn a_killed_quiet_client_stops_its_build_too() {
    killed_client_stops_the_build(true);
}

/// A daemon told to stop (SIGTERM) kills the builds it runs, as their
/// clients' connections end: no builder or step container outlives it.
#[test]
fn a_daemon_that_stops_stops_its_builds() {
    let mut root = WharfRoot::new().unwrap();
    root.import_busybox("busybox");
    let ctx = context(&[("Dockerfile", "FROM busybox\nRUN sleep 300\n")]);
    let mut child = root
        .command(["build", "-q", ctx.path().to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let step = running_step(&root, None);
    root.daemon_mut().terminate();
    assert!(!child.wait().unwrap().success());
    // The reap may finish just after the daemon exited.
    wait_until_nothing_left(&root, &step);
}

/// The id of the build step whose container runs (its `sleep` is a
/// process of the step's cgroup): `printed` in the output, or the one
/// snapshot's (`build-<pid>-<step>`).
fn running_step(root: &WharfRoot, printed: Option<&str>) -> String {
    wait_for("the RUN step's container never ran", || {
        let step = match printed {
            Some(s) => s.to_string(),
            None => root.snapshots().first()?.rsplit('-').next()?.to_string(),
        };
        (!wharf_testkit::leaks(&step, None).is_empty()).then_some(step)
    })
}

/// Waits until a stopped build left nothing of `step`: no snapshot, mount,
/// cgroup or process.
fn wait_until_nothing_left(root: &WharfRoot, step: &str) {
    let left = || {
        let mut left = root.snapshots();
        left.extend(root.mounts());
        left.extend(wharf_testkit::leaks(step, None));
        left
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !left().is_empty() {
        let now = std::time::Instant::now();
        assert!(now < deadline, "the stopped build left {:?}", left());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Waits for `what` to hold (a hang guard, not a time limit the test
/// asserts).
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn killed_client_stops_the_build(quiet: bool) {
    use std::io::{BufRead, BufReader};
    let root = WharfRoot::new().unwrap();
    root.import_busybox("busybox");
    let ctx = context(&[("Dockerfile", "FROM busybox\nRUN sleep 300\n")]);
    let mut args = vec!["build"];
    if quiet {
        args.push("-q");
    }
    args.push(ctx.path().to_str().unwrap());
    let mut child = root
        .command(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the step's container runs (its `sleep` is a process of
    // the step's cgroup), then kill the client hard.
    let printed = (!quiet).then(|| {
        BufReader::new(child.stdout.take().unwrap())
            .lines()
            .find_map(|l| {
                l.unwrap()
                    .strip_prefix(" ---> Running in ")
                    .map(str::to_string)
            })
            .expect("the RUN step started")
    });
    let step = running_step(&root, printed.as_deref());
    assert_eq!(root.snapshots().len(), 1, "{:?}", root.snapshots());
    child.kill().unwrap();
    child.wait().unwrap();
    // As dockerd cancels a build whose client went away, the daemon kills
    // the builder and the step's container and removes its snapshot and
    // mounts, without waiting for another build.
    wait_until_nothing_left(&root, &step);
    // The daemon goes on building.
    let ok = context(&[("Dockerfile", "FROM busybox\nRUN true\n")]);
    let out = build(&root, ok.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(root.snapshots().is_empty(), "{:?}", root.snapshots());
}

/// `POST /build` of a context whose Dockerfile is `dockerfile`.
fn post_build(engine: &dyn Engine, dockerfile: &str, query: &str) -> ApiResponse {
    let tar = wharf_testkit::images::layer_tar(&[wharf_testkit::images::Entry::file(
        "Dockerfile",
        dockerfile.as_bytes(),
    )]);
    engine.api_typed(
        "POST",
        &format!("/build?{query}"),
        Some(&tar),
        "application/x-tar",
    )
}

/// What the daemon answers before a build starts, the same from dockerd
/// and from Wharf: a Dockerfile that does not parse and a `target` that
/// no stage has are each a 400 with its JSON message and no stream; a failing step is a 200 stream ending in an `errorDetail`
/// with the RUN's exit code.
fn refusals_before_the_build(engine: &dyn Engine) {
    engine.import_busybox("busybox");
    let r = post_build(engine, "FROM busybox\nFROBNICATE now\n", "");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.message().starts_with("dockerfile parse error")
            && r.message()
                .ends_with("line 2: unknown instruction: FROBNICATE"),
        "{}",
        r.text()
    );
    let r = post_build(engine, "FROM busybox AS one\nRUN true\n", "target=nope");
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.message(),
        "failed to reach build target nope in Dockerfile"
    );
    let r = post_build(engine, "FROM busybox\nRUN exit 5\n", "");
    assert_eq!(r.status, 200, "{}", r.text());
    let last: serde_json::Value =
        serde_json::from_str(r.text().trim_end().lines().last().unwrap()).unwrap();
    assert_eq!(last["errorDetail"]["code"], 5, "{}", r.text());
    assert_eq!(
        last["error"],
        "The command '/bin/sh -c exit 5' returned a non-zero code: 5"
    );
}

wharf_testkit::engine_tests!(refusals_before_the_build => refusals_before_the_build_on_dockerd, refusals_before_the_build_on_wharf);
