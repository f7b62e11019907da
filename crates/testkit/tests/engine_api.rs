//! The raw Docker Engine API through curl against a private daemon:
//! negotiation (`_ping`, versions), status codes and error bodies, bad
//! input (malformed JSON, huge bodies, bad names), the stream framing of
//! logs/exec/wait, and the archive endpoints refusing paths that climb out
//! of the container. Each scenario runs against Debian's dockerd (proving
//! the expectations) and against `wharf daemon`.

use std::fs;

use serde_json::{json, Value};
use wharf_testkit::daemon::{ApiResponse, Engine};
use wharf_testkit::engine_tests;

const IMG: &str = "wharf-test/busybox:latest";

fn body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn show(r: &ApiResponse) -> String {
    format!("{} {:?} {}", r.status, r.headers, r.text())
}

/// Creates a container from `config` named `name`; returns its id.
fn create(e: &dyn Engine, name: &str, config: Value) -> String {
    let r = e.api(
        "POST",
        &format!("/containers/create?name={name}"),
        Some(&body(&config)),
    );
    assert_eq!(r.status, 201, "{}", show(&r));
    r.json()["Id"].as_str().expect("an Id").to_string()
}

/// Splits a multiplexed stream into (stream, payload) frames.
fn frames(mut b: &[u8]) -> Vec<(u8, String)> {
    let mut out = Vec::new();
    while b.len() >= 8 {
        let len = u32::from_be_bytes([b[4], b[5], b[6], b[7]]) as usize;
        assert_eq!(&b[1..4], [0, 0, 0], "frame header {:?}", &b[..8]);
        let end = (8 + len).min(b.len());
        out.push((b[0], String::from_utf8_lossy(&b[8..end]).into_owned()));
        b = &b[end..];
    }
    assert!(b.is_empty(), "trailing bytes after the frames: {b:?}");
    out
}

/// `_ping` (GET and HEAD), `/version`, version prefixes, unknown routes.
fn negotiation(e: &dyn Engine) {
    let r = e.api("GET", "/_ping", None);
    assert_eq!((r.status, r.text().as_str()), (200, "OK"), "{}", show(&r));
    let api = r.header("api-version").expect("Api-Version").to_string();
    let minor: u32 = api.trim_start_matches("1.").parse().expect("1.NN");
    assert!(minor >= 41, "{api}");
    assert_eq!(r.header("ostype"), Some("linux"));
    assert_eq!(r.header("docker-experimental"), Some("false"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    assert!(r.header("cache-control").unwrap_or("").contains("no-cache"));
    assert!(
        r.header("server").unwrap_or("").starts_with("Docker/"),
        "{}",
        show(&r)
    );
    let head = e.api("HEAD", "/_ping", None);
    assert_eq!(head.status, 200, "{}", show(&head));
    assert!(head.body.is_empty());
    assert_eq!(head.header("api-version"), Some(api.as_str()));

    let v = e.api("GET", "/version", None);
    assert_eq!(v.status, 200);
    let v = v.json();
    assert_eq!(v["ApiVersion"], api.as_str());
    assert_eq!(v["Os"], "linux");
    assert!(v["MinAPIVersion"]
        .as_str()
        .is_some_and(|m| m.starts_with("1.")));
    for prefix in ["/v1.24", "/v1.41", &format!("/v{api}")] {
        let r = e.api("GET", &format!("{prefix}/version"), None);
        assert_eq!(r.status, 200, "{prefix}: {}", show(&r));
        let r = e.api("GET", &format!("{prefix}/containers/json"), None);
        assert_eq!(r.status, 200, "{prefix}: {}", show(&r));
        assert_eq!(r.json(), json!([]));
    }
    let new = e.api("GET", "/v1.99/version", None);
    assert_eq!(new.status, 400, "{}", show(&new));
    assert!(
        new.message().contains("client version 1.99 is too new"),
        "{}",
        show(&new)
    );
    let old = e.api("GET", "/v1.11/version", None);
    assert_eq!(old.status, 400, "{}", show(&old));
    // 20.10 answers this one in plain text, later Dockers in JSON.
    assert!(
        old.text().contains("client version 1.11 is too old"),
        "{}",
        show(&old)
    );

    for (method, path) in [
        ("GET", "/nope"),
        ("GET", "/v1.41/nope"),
        ("POST", "/containers/nope/bogus"),
        ("DELETE", "/version"),
    ] {
        let r = e.api(method, path, None);
        assert_eq!(r.status, 404, "{method} {path}: {}", show(&r));
        assert_eq!(r.message(), "page not found", "{method} {path}");
        assert!(r
            .header("content-type")
            .unwrap_or("")
            .starts_with("application/json"));
    }
    let info = e.api("GET", "/info", None);
    assert_eq!(info.status, 200);
    assert_eq!(info.json()["OSType"], "linux");
}

/// 404, 409, 304, 400 with Docker's messages.
fn errors(e: &dyn Engine) {
    e.import_busybox(IMG);
    let r = e.api("GET", "/containers/nosuch/json", None);
    assert_eq!(r.status, 404, "{}", show(&r));
    assert_eq!(r.message(), "No such container: nosuch");
    for (method, path) in [
        ("POST", "/containers/nosuch/start"),
        ("POST", "/containers/nosuch/stop"),
        ("POST", "/containers/nosuch/kill"),
        ("POST", "/containers/nosuch/wait"),
        ("DELETE", "/containers/nosuch"),
        ("GET", "/containers/nosuch/logs?stdout=1"),
        ("GET", "/containers/nosuch/top"),
    ] {
        let r = e.api(method, path, None);
        assert_eq!(r.status, 404, "{method} {path}: {}", show(&r));
        assert!(
            r.message().contains("No such container: nosuch"),
            "{}",
            show(&r)
        );
    }
    let r = e.api("GET", "/images/no/such:image/json", None);
    assert_eq!(r.status, 404, "{}", show(&r));
    assert!(r.message().contains("No such image"), "{}", show(&r));
    let r = e.api("GET", "/volumes/nosuchvol", None);
    assert_eq!(r.status, 404, "{}", show(&r));
    let r = e.api(
        "POST",
        "/containers/create",
        Some(&body(&json!({"Image": "no/such:img"}))),
    );
    assert_eq!(r.status, 404, "{}", show(&r));
    assert_eq!(r.message(), "No such image: no/such:img");

    let cfg = json!({"Image": IMG, "Cmd": ["sleep", "1000"]});
    let id = create(e, "api1", cfg.clone());
    let dup = e.api("POST", "/containers/create?name=api1", Some(&body(&cfg)));
    assert_eq!(dup.status, 409, "{}", show(&dup));
    assert!(
        dup.message()
            .starts_with("Conflict. The container name \"/api1\" is already in use"),
        "{}",
        show(&dup)
    );
    for bad in ["a/b", "-lead", "x", "sp%20ace"] {
        let r = e.api(
            "POST",
            &format!("/containers/create?name={bad}"),
            Some(&body(&cfg)),
        );
        assert_eq!(r.status, 400, "name {bad}: {}", show(&r));
        assert!(
            r.message().starts_with("Invalid container name"),
            "{}",
            show(&r)
        );
    }
    let kill = e.api("POST", "/containers/api1/kill", None);
    assert_eq!(kill.status, 409, "{}", show(&kill));
    assert!(kill.message().contains("is not running"), "{}", show(&kill));
    let start = e.api("POST", "/containers/api1/start", None);
    assert_eq!(start.status, 204, "{}", show(&start));
    let again = e.api("POST", "/containers/api1/start", None);
    assert_eq!(again.status, 304, "{}", show(&again));
    assert!(again.body.is_empty());
    let rm = e.api("DELETE", "/containers/api1", None);
    assert_eq!(rm.status, 409, "{}", show(&rm));
    assert!(rm.message().contains("cannot remove"), "{}", show(&rm));
    let rmi = e.api("DELETE", &format!("/images/{IMG}"), None);
    assert_eq!(rmi.status, 409, "{}", show(&rmi));
    let stop = e.api("POST", "/containers/api1/stop?t=1", None);
    assert_eq!(stop.status, 204, "{}", show(&stop));
    let stop = e.api("POST", "/containers/api1/stop?t=1", None);
    assert_eq!(stop.status, 304, "{}", show(&stop));
    let exec = e.api(
        "POST",
        "/containers/api1/exec",
        Some(&body(&json!({"Cmd": ["true"]}))),
    );
    assert_eq!(exec.status, 409, "{}", show(&exec));
    let rename = e.api("POST", "/containers/api1/rename?name=bad/name", None);
    assert_eq!(rename.status, 400, "{}", show(&rename));
    let filters = e.api("GET", "/containers/json?all=1&filters=notjson", None);
    assert!(
        bad_request(e).contains(&filters.status),
        "{}",
        show(&filters)
    );
    let rm = e.api("DELETE", &format!("/containers/{id}?v=1"), None);
    assert_eq!(rm.status, 204, "{}", show(&rm));
    let vol = e.api(
        "POST",
        "/volumes/create",
        Some(&body(&json!({"Name": "bad/vol"}))),
    );
    assert_eq!(vol.status, 400, "{}", show(&vol));
}

/// Malformed JSON, unknown fields, a huge body: the right answer and the
/// daemon keeps serving.
fn bad_input(e: &dyn Engine) {
    e.import_busybox(IMG);
    let want_bad_json = bad_request(e);
    for raw in [&b"{bad"[..], b"[1,2]", b"{\"Image\": 5}", b"\xff\xfe"] {
        let r = e.api("POST", "/containers/create", Some(raw));
        assert!(want_bad_json.contains(&r.status), "{raw:?}: {}", show(&r));
        assert!(!r.message().is_empty(), "{}", show(&r));
    }
    // Unknown fields are ignored (clients newer than the daemon send them).
    let r = e.api(
        "POST",
        "/containers/create?name=unknownfields",
        Some(&body(&json!({"Image": IMG, "NoSuchField": {"x": 1}}))),
    );
    assert_eq!(r.status, 201, "{}", show(&r));
    // 64 MiB of garbage: an error, not a hang or a crash.
    let huge = vec![b'a'; 64 << 20];
    let r = e.api("POST", "/containers/create", Some(&huge));
    assert!(r.status >= 400 && r.status < 600, "{}", show(&r));
    if e.kind() == "wharf" {
        assert!(r.status < 500, "{}", show(&r));
    }
    let r = e.api("GET", "/_ping", None);
    assert_eq!(r.status, 200, "the daemon stopped serving after bad input");
    let r = e.api("GET", "/containers/unknownfields/json", None);
    assert_eq!(r.status, 200);
}

/// logs, exec and wait over the raw API: multiplexed frames without a
/// tty, raw bytes with one.
fn streams(e: &dyn Engine) {
    e.import_busybox(IMG);
    let id = create(
        e,
        "str1",
        json!({"Image": IMG, "Cmd": ["sh", "-c", "echo out; echo err >&2; exit 3"]}),
    );
    assert_eq!(
        e.api("POST", &format!("/containers/{id}/start"), None)
            .status,
        204
    );
    let w = e.api("POST", "/containers/str1/wait", None);
    assert_eq!(w.status, 200, "{}", show(&w));
    assert_eq!(w.json()["StatusCode"], 3, "{}", show(&w));
    let logs = e.api("GET", "/containers/str1/logs?stdout=1&stderr=1", None);
    assert_eq!(logs.status, 200);
    let mut got = frames(&logs.body);
    got.sort();
    assert_eq!(got, [(1, "out\n".to_string()), (2, "err\n".to_string())]);
    let only = e.api("GET", "/containers/str1/logs?stderr=1", None);
    assert_eq!(frames(&only.body), [(2, "err\n".to_string())]);
    // attach with logs=1 and stream=0 replays the log of an exited
    // container and ends.
    let replay = e.api(
        "POST",
        "/containers/str1/attach?logs=1&stream=0&stdout=1&stderr=1",
        None,
    );
    assert_eq!(replay.status, 200, "{}", show(&replay));
    let mut got = frames(&replay.body);
    got.sort();
    assert_eq!(got, [(1, "out\n".to_string()), (2, "err\n".to_string())]);

    let tty = create(
        e,
        "str2",
        json!({"Image": IMG, "Tty": true, "Cmd": ["echo", "raw"]}),
    );
    assert_eq!(
        e.api("POST", &format!("/containers/{tty}/start"), None)
            .status,
        204
    );
    let w = e.api("POST", "/containers/str2/wait?condition=not-running", None);
    assert_eq!(w.json()["StatusCode"], 0, "{}", show(&w));
    let logs = e.api("GET", "/containers/str2/logs?stdout=1", None);
    assert_eq!(logs.text(), "raw\r\n", "a tty's log is raw");

    create(e, "str3", json!({"Image": IMG, "Cmd": ["sleep", "1000"]}));
    assert_eq!(e.api("POST", "/containers/str3/start", None).status, 204);
    let ex = e.api(
        "POST",
        "/containers/str3/exec",
        Some(&body(&json!({"Cmd": ["sh", "-c", "echo x; echo y >&2; exit 9"], "AttachStdout": true, "AttachStderr": true}))),
    );
    assert_eq!(ex.status, 201, "{}", show(&ex));
    let exec_id = ex.json()["Id"].as_str().unwrap().to_string();
    let run = e.api(
        "POST",
        &format!("/exec/{exec_id}/start"),
        Some(&body(&json!({"Detach": false, "Tty": false}))),
    );
    assert_eq!(run.status, 200, "{}", show(&run));
    let mut got = frames(&run.body);
    got.sort();
    assert_eq!(got, [(1, "x\n".to_string()), (2, "y\n".to_string())]);
    let inspect = e.api("GET", &format!("/exec/{exec_id}/json"), None);
    assert_eq!(inspect.json()["ExitCode"], 9, "{}", show(&inspect));
    assert_eq!(inspect.json()["Running"], false);
    let r = e.api("GET", "/exec/nosuchexec/json", None);
    assert_eq!(r.status, 404, "{}", show(&r));
    let top = e.api("GET", "/containers/str3/top", None);
    assert_eq!(top.status, 200);
    assert!(top.json()["Titles"]
        .as_array()
        .is_some_and(|t| !t.is_empty()));
    let stats = e.api("GET", "/containers/str3/stats?stream=false", None);
    assert_eq!(stats.status, 200, "{}", show(&stats));
    assert!(stats.json()["memory_stats"].is_object(), "{}", show(&stats));
    assert_eq!(
        e.api("DELETE", "/containers/str3?force=1", None).status,
        204
    );
}

/// The archive API: stat headers, and paths that climb out of the
/// container (`..`, symlinks to host paths) stay inside it.
fn archive(e: &dyn Engine) {
    e.import_busybox(IMG);
    let host = e.scratch().join("secret-dir");
    fs::create_dir_all(&host).unwrap();
    fs::write(host.join("secret"), "host secret\n").unwrap();
    let h = host.to_string_lossy().into_owned();
    let script = format!("ln -s {h} /lnk; ln -s ../../../../../../ /up; sleep 1000");
    create(
        e,
        "arc1",
        json!({"Image": IMG, "Cmd": ["sh", "-c", script]}),
    );
    assert_eq!(e.api("POST", "/containers/arc1/start", None).status, 204);
    // Wait for the links (the script makes them before it sleeps).
    let mut ready = false;
    for _ in 0..200 {
        if e.api("HEAD", "/containers/arc1/archive?path=/up", None)
            .status
            == 200
        {
            ready = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(ready, "the container never made its links");

    let stat = e.api("HEAD", "/containers/arc1/archive?path=/etc/passwd", None);
    assert_eq!(stat.status, 200, "{}", show(&stat));
    let raw = stat
        .header("x-docker-container-path-stat")
        .expect("the stat header");
    let decoded = base64_decode(raw);
    let v: Value = serde_json::from_slice(&decoded).expect("stat JSON");
    assert_eq!(v["name"], "passwd");
    assert!(v["size"].as_i64().unwrap_or(0) > 0);
    let missing = e.api("HEAD", "/containers/arc1/archive?path=/no/such", None);
    assert_eq!(missing.status, 404, "{}", show(&missing));

    let secret = format!("{h}/secret");
    for path in [
        "/lnk/secret".to_string(),
        format!("/up{secret}"),
        format!("/../../../../../..{secret}"),
    ] {
        let r = e.api(
            "GET",
            &format!("/containers/arc1/archive?path={path}"),
            None,
        );
        assert!(
            !r.text().contains("host secret"),
            "{path} read the host's file"
        );
        assert_eq!(r.status, 404, "{path}: {}", show(&r));
    }
    // A tar planted through the links lands inside the container.
    let tar =
        wharf_testkit::images::layer_tar(&[wharf_testkit::images::Entry::file("planted", b"x")]);
    for path in ["/lnk", &format!("/up{h}")] {
        let r = e.api_typed(
            "PUT",
            &format!("/containers/arc1/archive?path={path}"),
            Some(&tar),
            "application/x-tar",
        );
        assert!(
            r.status == 200 || r.status == 404 || r.status == 400,
            "{path}: {}",
            show(&r)
        );
        assert!(
            !host.join("planted").exists(),
            "PUT to {path} wrote on the host"
        );
    }
    let climbing = raw_tar_entry(&format!("../../../../../../..{h}/climbed"), b"x");
    let r = e.api_typed(
        "PUT",
        "/containers/arc1/archive?path=/tmp",
        Some(&climbing),
        "application/x-tar",
    );
    assert!(
        !host.join("climbed").exists(),
        "a ../ entry wrote on the host: {}",
        show(&r)
    );
    assert!(r.status < 500 || e.kind() == "dockerd", "{}", show(&r));
    let r = e.api_typed(
        "PUT",
        "/containers/arc1/archive?path=/no/such/dir",
        Some(&tar),
        "application/x-tar",
    );
    assert_eq!(r.status, 404, "{}", show(&r));
    let r = e.api_typed(
        "PUT",
        "/containers/arc1/archive?path=/tmp",
        Some(b"not a tar at all"),
        "application/x-tar",
    );
    assert!((400..600).contains(&r.status), "{}", show(&r));
    assert_eq!(e.api("GET", "/_ping", None).status, 200);
    assert_eq!(
        e.api("DELETE", "/containers/arc1?force=1", None).status,
        204
    );
}

/// The status codes Docker answers for unparsable input: 400 (Docker
/// >= 23); 20.10 still said 500 for malformed JSON and filters.
fn bad_request(e: &dyn Engine) -> &'static [u16] {
    if e.kind() == "dockerd" {
        &[400, 500]
    } else {
        &[400]
    }
}

/// A tar of one file whose name is written as given, `..` included (the
/// tar crate refuses to write such names).
fn raw_tar_entry(name: &str, data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_old();
    let field = &mut h.as_old_mut().name;
    assert!(
        name.len() < field.len(),
        "{name} is too long for a tar name"
    );
    field[..name.len()].copy_from_slice(name.as_bytes());
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    b.append(&h, data).expect("an in-memory tar");
    b.into_inner().expect("an in-memory tar")
}

fn base64_decode(s: &str) -> Vec<u8> {
    let out = std::process::Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(s.as_bytes())?;
            c.wait_with_output()
        })
        .expect("base64 -d");
    out.stdout
}

engine_tests!(negotiation => engine_api_negotiation_dockerd,
    engine_api_negotiation_wharf);
engine_tests!(errors => engine_api_errors_dockerd,
    engine_api_errors_wharf);
engine_tests!(bad_input => engine_api_bad_input_dockerd,
    engine_api_bad_input_wharf);
engine_tests!(streams => engine_api_streams_dockerd,
    engine_api_streams_wharf);
engine_tests!(archive => engine_api_archive_dockerd,
    engine_api_archive_wharf);
