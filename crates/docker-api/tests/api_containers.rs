//! Container endpoints against a real `wharf daemon` at the HTTP level:
//! wait's early headers, attach as an upgrade with the 8-byte framing and
//! a half-close that is not a detach, detach keys, exec with its exit
//! code, logs framing, archive both ways, list filters and stats.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use wharf_testkit::daemon::{Engine, WharfDaemon};
use wharf_testkit::images::{layer_tar, Entry};

const IMG: &str = "apitest";
/// A hang is a failure, not a stuck test run.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

fn daemon() -> WharfDaemon {
    let d = WharfDaemon::start().expect("wharf daemon starts");
    d.import_busybox(IMG);
    d
}

/// Creates a container from `body` (JSON without the image) and returns its id.
fn create(d: &WharfDaemon, name: &str, body: &str) -> String {
    let body = format!(r#"{{"Image":"{IMG}",{body}}}"#);
    let r = d.api(
        "POST",
        &format!("/containers/create?name={name}"),
        Some(body.as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["Id"].as_str().unwrap().to_string()
}

fn post_ok(d: &WharfDaemon, path: &str, want: u16) {
    let r = d.api("POST", path, None);
    assert_eq!(r.status, want, "POST {path}: {}", r.text());
}

/// Sends a raw request and reads the response head; returns the
/// connection (positioned at the body) and the head.
fn raw(d: &WharfDaemon, head: &str, body: &[u8]) -> (UnixStream, String) {
    let mut s = UnixStream::connect(d.socket()).unwrap();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut got = Vec::new();
    let mut b = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut b).unwrap(), 1, "connection closed in the head");
        got.push(b[0]);
    }
    (s, String::from_utf8_lossy(&got).into_owned())
}

fn upgrade(d: &WharfDaemon, method_path: &str, body: &str) -> (UnixStream, String) {
    let head = format!(
        "{method_path} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    raw(d, &head, body.as_bytes())
}

/// Splits Docker's 8-byte framing into (stdout, stderr).
fn deframe(mut b: &[u8]) -> (String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    while b.len() >= 8 {
        let n = u32::from_be_bytes([b[4], b[5], b[6], b[7]]) as usize;
        let data = &b[8..8 + n];
        match b[0] {
            1 => out.extend_from_slice(data),
            2 => err.extend_from_slice(data),
            s => panic!("bad stream byte {s}"),
        }
        b = &b[8 + n..];
    }
    assert!(b.is_empty(), "trailing bytes {b:?}");
    (
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

fn read_to_end(s: &mut UnixStream) -> Vec<u8> {
    let mut v = Vec::new();
    s.read_to_end(&mut v).unwrap();
    v
}

#[test]
fn wait_sends_its_headers_before_the_container_exits() {
    let d = daemon();
    create(&d, "w1", r#""Cmd":["sleep","1000"]"#);
    post_ok(&d, "/containers/w1/start", 204);
    let (mut s, head) = raw(
        &d,
        "POST /v1.41/containers/w1/wait HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\n\r\n",
        b"",
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // The headers came while the container still runs.
    assert_eq!(d.inspect("w1")["State"]["Running"], true);
    post_ok(&d, "/containers/w1/kill", 204);
    let mut body = Vec::new();
    let mut buf = [0u8; 256];
    // Chunked: the JSON line, then the chunk's CRLF and the last chunk.
    while !String::from_utf8_lossy(&body).contains("}\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "wait's body ended early: {body:?}");
        body.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains(r#""StatusCode":137"#), "{text}");
    let r = d.api("DELETE", "/containers/w1", None);
    assert_eq!(r.status, 204, "{}", r.text());
}

#[test]
fn attach_half_close_ends_stdin_and_output_still_flows() {
    let d = daemon();
    create(
        &d,
        "a1",
        r#""Cmd":["sh","-c","cat; echo done; echo bye >&2"],"OpenStdin":true,"StdinOnce":true,"AttachStdin":true"#,
    );
    let (mut s, head) = upgrade(
        &d,
        "POST /v1.47/containers/a1/attach?stream=1&stdin=1&stdout=1&stderr=1",
        "",
    );
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/vnd.docker.multiplexed-stream"),
        "{head}"
    );
    post_ok(&d, "/containers/a1/start", 204);
    s.write_all(b"hello\n").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let (out, err) = deframe(&read_to_end(&mut s));
    assert_eq!(out, "hello\ndone\n");
    assert_eq!(err, "bye\n");
    let r = d.api("POST", "/containers/a1/wait", None);
    assert_eq!(r.json()["StatusCode"], 0, "{}", r.text());
}

#[test]
fn detach_keys_end_the_attach_and_the_container_keeps_running() {
    let d = daemon();
    create(&d, "k1", r#""Cmd":["cat"],"OpenStdin":true"#);
    post_ok(&d, "/containers/k1/start", 204);
    let (mut s, head) = upgrade(
        &d,
        "POST /v1.41/containers/k1/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-x,y",
        "",
    );
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/vnd.docker.raw-stream"),
        "{head}"
    );
    s.write_all(b"one\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while !got.ends_with(b"one\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "output ended early: {got:?}");
        got.extend_from_slice(&buf[..n]);
    }
    // ctrl-x then a plain x is not the sequence: both reach cat.
    s.write_all(&[0x18, b'x', b'\n']).unwrap();
    while !got.ends_with(b"\x18x\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "output ended early: {got:?}");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(deframe(&got).0, "one\n\u{18}x\n");
    // The whole sequence ends the attach: the daemon closes the connection.
    s.write_all(&[0x18, b'y']).unwrap();
    assert_eq!(read_to_end(&mut s), b"");
    assert_eq!(d.inspect("k1")["State"]["Running"], true);
    let r = d.api("DELETE", "/containers/k1?force=1", None);
    assert_eq!(r.status, 204, "{}", r.text());
}

#[test]
fn exec_streams_its_output_and_reports_its_exit_code() {
    let d = daemon();
    create(&d, "e1", r#""Cmd":["sleep","1000"]"#);
    post_ok(&d, "/containers/e1/start", 204);
    let r = d.api(
        "POST",
        "/containers/e1/exec",
        Some(br#"{"Cmd":["sh","-c","echo out; echo err >&2; exit 3"],"AttachStdout":true,"AttachStderr":true}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["Id"].as_str().unwrap().to_string();
    let (mut s, head) = upgrade(&d, &format!("POST /v1.41/exec/{id}/start"), "{}");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let (out, err) = deframe(&read_to_end(&mut s));
    assert_eq!((out.as_str(), err.as_str()), ("out\n", "err\n"));
    let info = d.api("GET", &format!("/exec/{id}/json"), None).json();
    assert_eq!(info["ExitCode"], 3, "{info}");
    assert_eq!(info["Running"], false, "{info}");
    assert_eq!(info["ProcessConfig"]["entrypoint"], "sh", "{info}");
    let missing = d.api("GET", "/exec/nope/json", None);
    assert_eq!(missing.status, 404, "{}", missing.text());
    d.api("DELETE", "/containers/e1?force=1", None);
}

#[test]
fn logs_are_framed_without_a_tty_and_raw_with_one() {
    let d = daemon();
    create(&d, "l1", r#""Cmd":["sh","-c","echo out; echo err >&2"]"#);
    create(&d, "l2", r#""Cmd":["echo","tty"],"Tty":true"#);
    for n in ["l1", "l2"] {
        post_ok(&d, &format!("/containers/{n}/start"), 204);
        d.api("POST", &format!("/containers/{n}/wait"), None);
    }
    let r = d.api("GET", "/containers/l1/logs?stdout=1&stderr=1", None);
    assert_eq!(r.status, 200);
    assert_eq!(deframe(&r.body), ("out\n".into(), "err\n".into()));
    let r = d.api("GET", "/containers/l1/logs?stderr=1&timestamps=1", None);
    let (_, err) = deframe(&r.body);
    assert!(err.ends_with("Z err\n"), "{err}");
    let r = d.api("GET", "/containers/l2/logs?stdout=1", None);
    assert_eq!(r.text(), "tty\r\n");
    let r = d.api("GET", "/containers/l1/logs", None);
    assert_eq!(r.status, 400, "{}", r.text());
    create(
        &d,
        "l3",
        r#""Cmd":["true"],"HostConfig":{"LogConfig":{"Type":"none","Config":{}}}"#,
    );
    let r = d.api("GET", "/containers/l3/logs?stdout=1", None);
    assert_eq!(r.status, 501, "{}", r.text());
    assert_eq!(
        r.message(),
        "configured logging driver does not support reading"
    );
}

/// The files of a tar: (name, contents).
fn untar(mut b: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    while b.len() >= 512 && b[0] != 0 {
        let name = String::from_utf8_lossy(&b[..100])
            .trim_end_matches('\0')
            .to_string();
        let size_field = String::from_utf8_lossy(&b[124..136]);
        let size =
            usize::from_str_radix(size_field.trim_matches(|c| c == '\0' || c == ' '), 8).unwrap();
        let data = b[512..512 + size].to_vec();
        out.push((name, data));
        b = &b[512 + size.div_ceil(512) * 512..];
    }
    out
}

#[test]
fn archive_put_head_and_get_round_trip() {
    let d = daemon();
    create(&d, "f1", r#""Cmd":["true"]"#);
    let tar = layer_tar(&[Entry::file("hello.txt", b"hello")]);
    let put = d.curl(&[
        "-X",
        "PUT",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        "Content-Type: application/x-tar",
        "--data-binary",
        &format!("@{}", write_tmp(&d, &tar)),
        "http://d/containers/f1/archive?path=/tmp",
    ]);
    assert_eq!(String::from_utf8_lossy(&put.stdout), "200");
    let head = d.api("HEAD", "/containers/f1/archive?path=/tmp/hello.txt", None);
    assert_eq!(head.status, 200);
    let stat = head.header("x-docker-container-path-stat").unwrap();
    let stat = base64::engine::general_purpose::URL_SAFE
        .decode(stat)
        .unwrap();
    let stat: Value = serde_json::from_slice(&stat).unwrap();
    assert_eq!(stat["name"], "hello.txt", "{stat}");
    assert_eq!(stat["size"], 5, "{stat}");
    assert!(stat["linkTarget"].is_string(), "{stat}");
    let get = d.api("GET", "/containers/f1/archive?path=/tmp/hello.txt", None);
    assert_eq!(get.status, 200);
    assert_eq!(get.header("content-type"), Some("application/x-tar"));
    let files = untar(&get.body);
    assert_eq!(files, vec![("hello.txt".to_string(), b"hello".to_vec())]);
    let missing = d.api("HEAD", "/containers/f1/archive?path=/nope", None);
    assert_eq!(missing.status, 404);
    let empty = d.api("GET", "/containers/f1/archive", None);
    assert_eq!(empty.status, 400);
}

fn write_tmp(d: &WharfDaemon, bytes: &[u8]) -> String {
    let p = d.scratch().join("upload.tar");
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn list_filters_and_stats_have_dockers_shapes() {
    let d = daemon();
    let id = create(&d, "s1", r#""Cmd":["sleep","1000"],"Labels":{"team":"a"}"#);
    create(&d, "s2", r#""Cmd":["true"]"#);
    post_ok(&d, "/containers/s1/start", 204);
    let list = |q: &str| d.api("GET", &format!("/containers/json?{q}"), None).json();
    let names = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c["Names"][0].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(list("")), vec!["/s1"]);
    assert_eq!(names(list("all=1")).len(), 2);
    assert_eq!(
        names(list(
            "all=1&filters=%7B%22label%22%3A%5B%22team%3Da%22%5D%7D"
        )),
        vec!["/s1"]
    );
    assert_eq!(
        names(list("filters=%7B%22status%22%3A%5B%22created%22%5D%7D")),
        vec!["/s2"]
    );
    let entry = &list("")[0];
    assert_eq!(entry["Id"], id);
    assert_eq!(entry["Command"], "sleep 1000");
    assert_eq!(entry["State"], "running");
    assert!(
        entry["Status"].as_str().unwrap().starts_with("Up "),
        "{entry}"
    );
    assert!(entry["Created"].is_i64(), "{entry}");
    let c = d.inspect("s1");
    assert_eq!(c["Name"], "/s1");
    assert_eq!(c["Config"]["Cmd"], serde_json::json!(["sleep", "1000"]));
    assert_eq!(c["HostConfig"]["RestartPolicy"]["Name"], "no");
    assert!(c["State"]["StartedAt"].as_str().unwrap().ends_with('Z'));
    let r = d.api(
        "GET",
        "/containers/s1/stats?stream=false&one-shot=true",
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let s = r.json();
    assert_eq!(s["name"], "/s1");
    assert_eq!(s["id"], id);
    assert_eq!(s["preread"], "0001-01-01T00:00:00Z");
    assert!(s["cpu_stats"]["cpu_usage"]["total_usage"].is_u64(), "{s}");
    assert!(s["memory_stats"]["usage"].is_u64(), "{s}");
    let top = d.api("GET", "/containers/s1/top", None).json();
    assert!(
        top["Titles"].as_array().is_some_and(|t| !t.is_empty()),
        "{top}"
    );
    d.api("DELETE", "/containers/s1?force=1", None);
}
