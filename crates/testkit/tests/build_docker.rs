//! The same Dockerfiles built by real docker (dockerd 20.10 from Debian,
//! classic builder) and by `wharf build` against a private `wharf daemon`
//! from the same base image give the same image config and the same
//! history; the images move between the two with `save` and `load`.

use std::path::Path;

use serde_json::Value;
use wharf_testkit::dockerd::Dockerd;
use wharf_testkit::{run_with_input, WharfRoot};

/// Dockerfiles exercising every metadata instruction and the common
/// file-changing ones.
const DOCKERFILES: &[&str] = &[
    r#"FROM busybox
ENV A=1 B="two words" \
    C=${A}x
ARG VERSION=1.0
ENV V=$VERSION
WORKDIR /srv
WORKDIR app
RUN echo "$A $B" > ab && mkdir -p /data
COPY file.txt ./
EXPOSE 80 53/udp 8000-8001
VOLUME /data ["/cache"]
LABEL one=1 "two words"="a b" version=$VERSION
USER nobody:nogroup
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD ["true"]
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo $A"]
"#,
    r#"FROM busybox AS base
SHELL ["/bin/sh", "-ec"]
RUN echo built > /built
ONBUILD RUN echo child
MAINTAINER someone@example.com
ENTRYPOINT echo entry
FROM base
CMD echo cmd
HEALTHCHECK NONE
"#,
    r#"ARG BASE=busybox
FROM $BASE AS tools
ARG FLAVOUR=plain
RUN echo "$FLAVOUR" > /flavour
FROM ${BASE}
ARG FLAVOUR
ARG UNUSED=x
RUN cat /etc/passwd > /dev/null
COPY --from=tools /flavour /etc/
ADD files.tar /opt/
ADD file.txt /opt/sub/
USER 1000:1000
WORKDIR rel
"#,
];

fn config_of(inspect: &str) -> Value {
    let v: Value = serde_json::from_str(inspect).expect("inspect prints JSON");
    v[0].clone()
}

/// The fields a user of the image sees.
fn comparable(image: &Value) -> Value {
    let mut c = image["Config"].clone();
    if let Some(o) = c.as_object_mut() {
        // The parent image id and the hostname of the build container
        // differ by construction.
        o.remove("Image");
        o.remove("Hostname");
    }
    c
}

fn history(image_history: &str) -> Vec<(String, bool, String)> {
    let v: Value = serde_json::from_str(image_history).unwrap();
    v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let by = h["created_by"].as_str().unwrap_or("").to_string();
            // COPY and ADD name a content hash, which each builder
            // computes its own way; the rest must match.
            let by = match by.find("COPY ").or_else(|| by.find("ADD ")) {
                Some(i) => format!(
                    "{} in{}",
                    &by[..i + 4],
                    by.rsplit_once(" in").map_or("", |x| x.1)
                ),
                None => by,
            };
            (
                by,
                h["empty_layer"].as_bool().unwrap_or(false),
                h["author"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn docker_and_wharf_build_the_same_configs() {
    let docker = Dockerd::start().expect("dockerd starts");
    let wharf = WharfRoot::new().unwrap();
    // One base image in both: made by docker, moved with save and load.
    let tar = wharf_testkit::images::busybox_rootfs_tar();
    let out = run_with_input(docker.command(&["import", "-", "busybox:latest"]), &tar);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let archive = wharf.scratch().join("base.tar");
    docker.docker_ok(&["save", "-o", archive.to_str().unwrap(), "busybox:latest"]);
    wharf.ok(&["load", "-i", archive.to_str().unwrap()]);
    let docker_base = config_of(&docker.docker_ok(&["image", "inspect", "busybox"]));
    let wharf_base = config_of(&wharf.ok(&["image", "inspect", "busybox"]));
    assert_eq!(docker_base["Id"], wharf_base["Id"]);

    for (i, dockerfile) in DOCKERFILES.iter().enumerate() {
        let ctx = tempfile::tempdir().unwrap();
        std::fs::write(ctx.path().join("Dockerfile"), dockerfile).unwrap();
        std::fs::write(ctx.path().join("file.txt"), "content\n").unwrap();
        let files = wharf_testkit::images::layer_tar(&[
            wharf_testkit::images::Entry::dir("pkg"),
            wharf_testkit::images::Entry::file("pkg/readme", b"from a tar\n"),
        ]);
        std::fs::write(ctx.path().join("files.tar"), files).unwrap();
        let tag = format!("same:{i}");
        let out = docker.docker_env(
            &[
                "build",
                "-t",
                &tag,
                "--build-arg",
                "FLAVOUR=spicy",
                ctx.path().to_str().unwrap(),
            ],
            &[("DOCKER_BUILDKIT", "0")],
        );
        assert!(
            out.status.success(),
            "docker build {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        wharf.ok(&[
            "build",
            "-t",
            &tag,
            "--build-arg",
            "FLAVOUR=spicy",
            ctx.path().to_str().unwrap(),
        ]);
        if i == 2 {
            let out = wharf.ok(&[
                "run",
                "--rm",
                &tag,
                "cat",
                "/etc/flavour",
                "/opt/pkg/readme",
            ]);
            assert_eq!(out, "spicy\nfrom a tar\n");
        }
        let d = config_of(&docker.docker_ok(&["image", "inspect", &tag]));
        let w = config_of(&wharf.ok(&["image", "inspect", &tag]));
        assert_eq!(
            comparable(&d),
            comparable(&w),
            "Dockerfile {i}:\n{dockerfile}"
        );
        assert_eq!(d["Author"], w["Author"], "Dockerfile {i}");
        assert_eq!(
            d["RootFS"]["Layers"].as_array().map(Vec::len),
            w["RootFS"]["Layers"].as_array().map(Vec::len),
            "Dockerfile {i}: layer count"
        );
        let dh = history(&raw_config(&docker, &tag));
        let wh = history(&wharf_raw_config(&wharf, &tag));
        assert_eq!(dh, wh, "Dockerfile {i}: history");
    }
}

/// The image's config document as docker stores it, via `docker save`.
fn raw_config(docker: &Dockerd, tag: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("img.tar");
    docker.docker_ok(&["save", "-o", tar.to_str().unwrap(), tag]);
    config_from_archive(&tar)
}

fn wharf_raw_config(wharf: &WharfRoot, tag: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("img.tar");
    wharf.ok(&["save", "-o", tar.to_str().unwrap(), tag]);
    config_from_archive(&tar)
}

/// The config named by `manifest.json` in a docker-archive.
fn config_from_archive(tar: &Path) -> String {
    let mut files = std::collections::HashMap::new();
    let mut archive = tar::Archive::new(std::fs::File::open(tar).unwrap());
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".json") || name.starts_with("blobs/") {
            let mut s = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut s).unwrap();
            files.insert(name, s);
        }
    }
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let config = manifest[0]["Config"].as_str().unwrap();
    String::from_utf8(files[config].clone()).unwrap()
}

/// `build -q` as docker prints it: only the image id on stdout when the
/// build succeeds; when a step fails, nothing on stdout, the whole build
/// output (held back until then) and the error on stderr, and the failed
/// RUN's exit code.
#[test]
fn quiet_builds_print_like_docker() {
    let docker = Dockerd::start().expect("dockerd starts");
    let wharf = WharfRoot::new().unwrap();
    use wharf_testkit::daemon::Engine;
    docker.import_busybox("busybox");
    wharf.import_busybox("busybox");
    let ctx = tempfile::tempdir().unwrap();
    let dir = ctx.path().to_str().unwrap();
    let dockerfile = ctx.path().join("Dockerfile");
    std::fs::write(&dockerfile, "FROM busybox\nRUN echo made > /f\n").unwrap();
    let quiet = |out: &std::process::Output| {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let env = [("DOCKER_BUILDKIT", "0")];
    let (dcode, dout, _) = quiet(&docker.docker_env(&["build", "-q", dir], &env));
    let (wcode, wout, werr) = quiet(&wharf.run(&["build", "-q", dir]));
    assert_eq!((dcode, wcode), (Some(0), Some(0)), "{werr}");
    for out in [&dout, &wout] {
        assert!(
            out.starts_with("sha256:") && out.len() == 72 && out.ends_with('\n'),
            "{out:?}"
        );
    }
    std::fs::write(&dockerfile, "FROM busybox\nRUN echo said; exit 3\n").unwrap();
    let (dcode, dout, derr) = quiet(&docker.docker_env(&["build", "-q", dir], &env));
    let (wcode, wout, werr) = quiet(&wharf.run(&["build", "-q", dir]));
    assert_eq!((dcode, wcode), (Some(3), Some(3)), "{derr}\n{werr}");
    assert_eq!((dout.as_str(), wout.as_str()), ("", ""));
    for err in [&derr, &werr] {
        for part in [
            "Sending build context to Docker daemon",
            "Step 2/2 : RUN echo said; exit 3\n",
            "\nsaid\n",
            "The command '/bin/sh -c echo said; exit 3' returned a non-zero code: 3",
        ] {
            assert!(err.contains(part), "{part:?} not in {err}");
        }
    }
}
