//! Image configs written by real Docker (Debian's dockerd 20.10, classic
//! builder) read into [`ImageConfig`] and written again come back byte for
//! byte, so the image ID is unchanged. Root only (a private dockerd).

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;

use wharf_image::config::ImageConfig;
use wharf_image::digest::Digest;
use wharf_testkit::dockerd::Dockerd;
use wharf_testkit::images::busybox_rootfs_tar;

const DOCKERFILE: &str = r#"FROM busybox:latest
LABEL z="<y>" a=b
ENV PATH=/usr/local/bin:/bin A="1 && 2"
EXPOSE 80 53/udp
VOLUME /data
WORKDIR /srv
USER app
HEALTHCHECK --interval=5s --retries=3 CMD true
SHELL ["/bin/sh", "-ec"]
STOPSIGNAL SIGQUIT
ONBUILD RUN echo hi
ENTRYPOINT ["/bin/sh", "-c"]
CMD echo "a && b" > /tmp/x
"#;

/// The files of a `docker save` archive, by name.
fn saved(d: &Dockerd, image: &str) -> BTreeMap<String, Vec<u8>> {
    let out = d.dir().join(format!("{}.tar", image.replace(':', "_")));
    d.docker_ok(&["save", "-o", out.to_str().unwrap(), image]);
    let mut files = BTreeMap::new();
    let mut ar = tar::Archive::new(fs::File::open(&out).unwrap());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        files.insert(name, data);
    }
    files
}

fn config_bytes(d: &Dockerd, image: &str) -> Vec<u8> {
    let files = saved(d, image);
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let name = manifest[0]["Config"].as_str().unwrap();
    files[name].clone()
}

#[test]
fn docker_configs_round_trip_byte_for_byte() {
    let d = Dockerd::start().unwrap_or_else(|e| panic!("this test needs dockerd: {e}"));
    let rootfs = d.dir().join("rootfs.tar");
    fs::write(&rootfs, busybox_rootfs_tar()).unwrap();
    d.docker_ok(&[
        "import",
        "-c",
        "CMD [\"sh\"]",
        rootfs.to_str().unwrap(),
        "busybox:latest",
    ]);
    let ctx = d.dir().join("ctx");
    fs::create_dir(&ctx).unwrap();
    fs::write(ctx.join("Dockerfile"), DOCKERFILE).unwrap();
    let out = d.docker_env(
        &["build", "-q", "-t", "meta:1", ctx.to_str().unwrap()],
        &[("DOCKER_BUILDKIT", "0")],
    );
    assert!(
        out.status.success(),
        "docker build: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    for image in ["busybox:latest", "meta:1"] {
        let bytes = config_bytes(&d, image);
        let id = d.docker_ok(&["image", "inspect", "-f", "{{.Id}}", image]);
        assert_eq!(Digest::of(&bytes).to_string(), id.trim());
        let cfg = ImageConfig::parse(&bytes).unwrap();
        assert_eq!(
            String::from_utf8(cfg.to_json()).unwrap(),
            String::from_utf8(bytes.clone()).unwrap(),
            "{image}"
        );
        assert!(
            cfg.extra.is_empty(),
            "{image}: fields not modelled: {:?}",
            cfg.extra.keys()
        );
    }

    let cfg = ImageConfig::parse(&config_bytes(&d, "meta:1")).unwrap();
    let run = cfg.config.unwrap();
    assert_eq!(run.user, "app");
    assert_eq!(run.working_dir, "/srv");
    assert_eq!(run.shell.as_deref().unwrap(), ["/bin/sh", "-ec"]);
    assert_eq!(run.on_build.as_deref().unwrap(), ["RUN echo hi"]);
    assert_eq!(run.stop_signal, "SIGQUIT");
    let hc = run.healthcheck.unwrap();
    assert_eq!((hc.interval, hc.retries), (5_000_000_000, 3));
    assert_eq!(run.labels.unwrap()["z"], "<y>");
    assert!(run.exposed_ports.unwrap().contains_key("53/udp"));
    assert!(run.volumes.unwrap().contains_key("/data"));
}
