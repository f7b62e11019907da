//! `POST /build` over the raw API: the classic builder's JSON stream
//! (`stream`, `aux`, `errorDetail`), tags, labels, build args, `q`, a
//! gzip context and Docker's errors; against dockerd 20.10 and Wharf.

mod support;

use std::process::Command;

use serde_json::Value;
use support::{enc, json_stream};
use wharf_testkit::daemon::{ApiResponse, Engine};
use wharf_testkit::engine_tests;
use wharf_testkit::images::{layer_tar, Entry};
use wharf_testkit::run_with_input;

/// All `stream` texts joined.
fn text(msgs: &[Value]) -> String {
    msgs.iter().filter_map(|m| m["stream"].as_str()).collect()
}

fn context(dockerfile: &str) -> Vec<u8> {
    layer_tar(&[
        Entry::file("Dockerfile", dockerfile.as_bytes()),
        Entry::file("hello.txt", b"hello from the context\n"),
    ])
}

fn build(e: &dyn Engine, query: &str, tar: &[u8]) -> ApiResponse {
    e.api_typed(
        "POST",
        &format!("/v1.41/build?{query}"),
        Some(tar),
        "application/x-tar",
    )
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut cmd = Command::new("gzip");
    cmd.arg("-c");
    run_with_input(cmd, data).stdout
}

fn builds(e: &dyn Engine) {
    e.import_busybox("hi-base:1");
    let df = "FROM hi-base:1\nARG WHO=nobody\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt; echo \"who=$WHO\"\nLABEL a=b\n";
    let q = format!(
        "t=hi-built:1&t=hi-built:2&rm=1&buildargs={}&labels={}",
        enc(r#"{"WHO":"wharf"}"#),
        enc(r#"{"built-by":"test"}"#)
    );
    let r = build(e, &q, &context(df));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let msgs = json_stream(&r);
    let out = text(&msgs);
    // dockerd counts the `labels` of the request as one more step.
    for want in [
        " : FROM hi-base:1\n",
        " : RUN cat /hello.txt; echo \"who=$WHO\"\n",
        "hello from the context\n",
        "who=wharf\n",
        "Successfully tagged hi-built:1\n",
        "Successfully tagged hi-built:2\n",
    ] {
        assert!(out.contains(want), "{want:?} missing from:\n{out}");
    }
    let id = msgs
        .iter()
        .find_map(|m| m["aux"]["ID"].as_str())
        .unwrap_or_else(|| panic!("no aux ID in {}", r.text()))
        .to_string();
    assert!(
        out.contains(&format!("Successfully built {}\n", &id[7..19])),
        "{out}"
    );
    let aux_at = msgs.iter().position(|m| m["aux"].is_object());
    let built_at = msgs.iter().position(|m| {
        m["stream"]
            .as_str()
            .is_some_and(|s| s.starts_with("Successfully built"))
    });
    assert!(
        aux_at < built_at,
        "aux before Successfully built: {}",
        r.text()
    );
    let ins = e.api("GET", "/v1.41/images/hi-built:2/json", None).json();
    assert_eq!(ins["Id"], id.as_str());
    assert_eq!(ins["Config"]["Labels"]["a"], "b");
    assert_eq!(ins["Config"]["Labels"]["built-by"], "test");

    // -q: only the ID; a gzip context is read too.
    let quiet = build(e, "q=1", &gzip(&context(df)));
    assert_eq!(quiet.status, 200, "{}", quiet.text());
    let msgs = json_stream(&quiet);
    assert_eq!(msgs.len(), 1, "{}", quiet.text());
    let line = msgs[0]["stream"].as_str().unwrap_or("");
    assert!(
        line.starts_with("sha256:") && line.ends_with('\n'),
        "{line:?}"
    );
}

fn failures(e: &dyn Engine) {
    e.import_busybox("hi-base:1");
    let r = build(
        e,
        "dockerfile=Dockerfile.fail",
        &layer_tar(&[Entry::file(
            "Dockerfile.fail",
            b"FROM hi-base:1\nRUN echo before; exit 3\n",
        )]),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let msgs = json_stream(&r);
    let last = msgs.last().cloned().unwrap_or_default();
    let want = "The command '/bin/sh -c echo before; exit 3' returned a non-zero code: 3";
    assert_eq!(last["error"], want, "{}", r.text());
    assert_eq!(last["errorDetail"]["message"], want);
    assert_eq!(last["errorDetail"]["code"], 3);
    assert!(text(&msgs).contains("before\n"), "{}", r.text());

    let missing = build(e, "dockerfile=nothere", &context("FROM hi-base:1\n"));
    assert_eq!(missing.status, 500, "{}", missing.text());
    assert_eq!(
        missing.message(),
        "Cannot locate specified Dockerfile: nothere"
    );

    // 500 from dockerd 20.10, 400 from Docker 25+ and Wharf.
    let bad_tag = build(e, "t=Bad:Tag", &context("FROM hi-base:1\n"));
    assert!(bad_tag.status >= 400, "{}", bad_tag.text());
    // Docker 25+ names the repository: "repository name (library/Bad) must…".
    let m = bad_tag.message();
    assert!(
        m.starts_with("invalid reference format: repository name")
            && m.ends_with("must be lowercase"),
        "{m}"
    );
}

engine_tests!(builds => build_api_dockerd, build_api_wharf);
engine_tests!(failures => build_failures_dockerd, build_failures_wharf);

/// One raw ustar entry (the tar crate refuses to write `..` names).
fn raw_entry(name: &str, kind: u8, link: &str, data: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    h[136..148].copy_from_slice(b"14544635200\0");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..265].copy_from_slice(b"ustar\x0000");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

/// A context cannot reach out of its directory: a Dockerfile that is a
/// symlink out of it is not found, a `..` entry is refused, and nothing
/// of the build is left under the data root.
#[test]
fn build_context_escapes_are_refused() {
    let wharf = wharf_testkit::daemon::WharfDaemon::start().expect("a private wharf daemon");
    let mut tar = raw_entry("Dockerfile", b'2', "/etc/passwd", b"");
    tar.extend(vec![0u8; 1024]);
    let r = build(&wharf, "", &tar);
    assert_eq!(r.status, 500, "{}", r.text());
    assert_eq!(
        r.message(),
        "Cannot locate specified Dockerfile: Dockerfile"
    );

    let name = format!("escape-{}", std::process::id());
    let mut tar = raw_entry("Dockerfile", b'0', "", b"FROM scratch\n");
    tar.extend(raw_entry(&format!("../../{name}"), b'0', "", b"out"));
    tar.extend(vec![0u8; 1024]);
    let r = build(&wharf, "", &tar);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.message().starts_with("failed to read the build context"),
        "{}",
        r.text()
    );
    let data = wharf.data_root();
    for dir in [data.clone(), data.join("tmp")] {
        assert!(
            !dir.join(&name).exists(),
            "{} escaped",
            dir.join(&name).display()
        );
    }
    let left: Vec<_> = std::fs::read_dir(data.join("tmp"))
        .expect("the store's tmp")
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().starts_with("build-"))
        .collect();
    assert!(left.is_empty(), "build directories left: {left:?}");
}
