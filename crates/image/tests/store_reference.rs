//! Docker's reference grammar and normalization, case by case (the tables of
//! distribution/reference's `normalize_test.go` and `reference_test.go`).

use wharf_image::digest::Digest;
use wharf_image::reference::Reference;

const HEX: &str = "7e3b5b4a4c0f1ad1c1c1b1cd1f4b4d4f8c7bbe8c3f0b8a2b3c4d5e6f7a8b9c0d";

fn parse(s: &str) -> Reference {
    Reference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn normalizes_like_docker() {
    // input, full normalized form, familiar form
    let table = [
        ("busybox", "docker.io/library/busybox", "busybox"),
        (
            "busybox:latest",
            "docker.io/library/busybox:latest",
            "busybox:latest",
        ),
        ("library/busybox", "docker.io/library/busybox", "busybox"),
        ("docker.io/busybox", "docker.io/library/busybox", "busybox"),
        (
            "index.docker.io/busybox",
            "docker.io/library/busybox",
            "busybox",
        ),
        (
            "index.docker.io/docker/docker",
            "docker.io/docker/docker",
            "docker/docker",
        ),
        (
            "docker.io/library/foo/bar",
            "docker.io/library/foo/bar",
            "library/foo/bar",
        ),
        ("user/app:v1.2", "docker.io/user/app:v1.2", "user/app:v1.2"),
        ("localhost/name", "localhost/name", "localhost/name"),
        (
            "localhost:5000/name:tag",
            "localhost:5000/name:tag",
            "localhost:5000/name:tag",
        ),
        (
            "localhost:5000",
            "docker.io/library/localhost:5000",
            "localhost:5000",
        ),
        (
            "127.0.0.1:5000/docker/docker",
            "127.0.0.1:5000/docker/docker",
            "127.0.0.1:5000/docker/docker",
        ),
        (
            "192.168.0.1",
            "docker.io/library/192.168.0.1",
            "192.168.0.1",
        ),
        (
            "[fc00::1]:5000/docker",
            "[fc00::1]:5000/docker",
            "[fc00::1]:5000/docker",
        ),
        (
            "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
            "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
            "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
        ),
        (
            "xn--n3h.com/myimage",
            "xn--n3h.com/myimage",
            "xn--n3h.com/myimage",
        ),
        (
            "docker.io/foo_bar.baz-1/name",
            "docker.io/foo_bar.baz-1/name",
            "foo_bar.baz-1/name",
        ),
        (
            "a__b/c--d---e/f.g_h",
            "docker.io/a__b/c--d---e/f.g_h",
            "a__b/c--d---e/f.g_h",
        ),
        // An upper-case first component can only be a host name.
        ("Foo/bar", "Foo/bar", "Foo/bar"),
        (
            "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
            "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
            "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
        ),
    ];
    for (input, full, familiar) in table {
        let r = parse(input);
        assert_eq!(r.to_string(), full, "{input}");
        assert_eq!(r.familiar(), familiar, "{input}");
    }
}

#[test]
fn rejects_what_docker_rejects() {
    let bad = [
        "",
        ":",
        "https://github.com/docker/docker",
        "docker/Docker",
        "-docker",
        "-docker/docker",
        "-docker.io/docker/docker",
        "docker:///docker/docker",
        "docker.io/docker/Docker",
        "docker.io/docker///docker",
        "[fc00::1]:5000/docker/docker/",
        "a___b",
        "a..b",
        "a_-b",
        "busybox_",
        "busybox:",
        "busybox:-x",
        "busybox:.x",
        "busybox@sha256:abc",
        "busybox@md5:abc",
        "localhost:port/name",
        "foo/bar:tag:tag",
    ];
    for s in bad {
        assert!(Reference::parse(s).is_err(), "{s:?} was accepted");
    }
    let long_tag = format!("busybox:{}", "a".repeat(129));
    assert!(Reference::parse(&long_tag).is_err());
    let ok_tag = format!("busybox:{}", "a".repeat(128));
    assert!(Reference::parse(&ok_tag).is_ok());
    let long_name = format!("x/{}", "a".repeat(260));
    let err = Reference::parse(&long_name).unwrap_err().to_string();
    assert!(
        err.contains("must not be more than 255 characters"),
        "{err}"
    );
}

#[test]
fn error_messages_are_dockers() {
    let e = |s: &str| Reference::parse(s).unwrap_err().to_string();
    assert_eq!(
        e("Busybox"),
        "invalid reference format: repository name (library/Busybox) must be lowercase"
    );
    assert_eq!(
        e(HEX),
        format!("invalid repository name ({HEX}), cannot specify 64-byte hexadecimal strings")
    );
    assert_eq!(e("a..b"), "invalid reference format: a..b");
}

#[test]
fn tags_and_digests() {
    let d: Digest = format!("sha256:{HEX}").parse().unwrap();
    let r = parse(&format!("busybox@sha256:{HEX}"));
    assert_eq!(r.tag(), None);
    assert_eq!(r.digest(), Some(&d));
    assert_eq!(r.familiar(), format!("busybox@sha256:{HEX}"));
    // A digest reference gets no default tag.
    assert_eq!(r.clone().with_default_tag().tag(), None);

    let both = parse(&format!("localhost:5000/a/b:1.0@sha256:{HEX}"));
    assert_eq!(both.tag(), Some("1.0"));
    assert_eq!(both.digest(), Some(&d));
    assert_eq!(both.domain(), "localhost:5000");
    assert_eq!(both.path(), "a/b");
    assert_eq!(both.familiar_name(), "localhost:5000/a/b");
    assert_eq!(both.name(), "localhost:5000/a/b");

    let plain = parse("busybox").with_default_tag();
    assert_eq!(plain.tag(), Some("latest"));
    assert_eq!(plain.familiar(), "busybox:latest");
    assert_eq!(plain.with_tag("1.36").unwrap().familiar(), "busybox:1.36");
    assert!(plain.with_tag("bad tag").is_err());
    assert_eq!(
        plain.with_digest(&d).to_string(),
        format!("docker.io/library/busybox@sha256:{HEX}")
    );
    assert_eq!(plain.repository().to_string(), "docker.io/library/busybox");

    // The tag's ':' is told apart from a port's.
    let port = parse("host:5000/x");
    assert_eq!(port.tag(), None);
    assert_eq!(port.domain(), "host:5000");
    // Tags may contain upper case.
    assert_eq!(parse("x:Tag_1.A-b").tag(), Some("Tag_1.A-b"));
}
