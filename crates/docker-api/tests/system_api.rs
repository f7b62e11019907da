//! `/version`, `/info`, `/events`, `/system/df` and `/volumes` over the
//! raw API, against dockerd 20.10 (API 1.41) and Wharf, and the two side
//! by side for the shapes.

mod support;

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use support::{enc, json_stream, keys, show};
use wharf_testkit::daemon::{ApiResponse, Engine, WharfDaemon};
use wharf_testkit::dockerd::Dockerd;
use wharf_testkit::engine_tests;

/// Now as Docker's `seconds.nanoseconds`.
fn now() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
}

fn volumes(e: &dyn Engine) {
    let body = json!({ "Name": "hi-vol", "Labels": { "a": "b" } }).to_string();
    let c = e.api("POST", "/v1.41/volumes/create", Some(body.as_bytes()));
    assert_eq!(c.status, 201, "{}", show(&c));
    let v = c.json();
    assert_eq!(
        keys(&v),
        [
            "CreatedAt",
            "Driver",
            "Labels",
            "Mountpoint",
            "Name",
            "Options",
            "Scope"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(
        (&v["Name"], &v["Driver"], &v["Scope"]),
        (&json!("hi-vol"), &json!("local"), &json!("local"))
    );
    assert_eq!(v["Labels"], json!({ "a": "b" }));
    assert!(
        v["Mountpoint"]
            .as_str()
            .is_some_and(|m| m.ends_with("/hi-vol/_data")),
        "{v}"
    );
    let again = e.api("POST", "/v1.41/volumes/create", Some(body.as_bytes()));
    assert_eq!(again.status, 201);
    assert_eq!(again.json()["CreatedAt"], v["CreatedAt"]);

    let anon = e.api("POST", "/v1.41/volumes/create", Some(b"{}"));
    assert_eq!(anon.status, 201, "{}", show(&anon));
    let anon_name = anon.json()["Name"].as_str().unwrap_or("").to_string();
    assert_eq!(anon_name.len(), 64, "{}", show(&anon));

    let bad = e.api(
        "POST",
        "/v1.41/volumes/create",
        Some(br#"{"Name":"bad/name"}"#),
    );
    assert_eq!(bad.status, 400, "{}", show(&bad));
    assert!(bad
        .message()
        .contains("includes invalid characters for a local volume name"));

    let ins = e.api("GET", "/v1.41/volumes/hi-vol", None);
    assert_eq!(
        (ins.status, ins.json()["Name"].clone()),
        (200, json!("hi-vol"))
    );
    let missing = e.api("GET", "/v1.41/volumes/nothere", None);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.message(), "get nothere: no such volume");

    let list = e.api("GET", "/v1.41/volumes", None);
    assert_eq!(list.status, 200);
    assert_eq!(
        keys(&list.json()),
        ["Volumes", "Warnings"].map(String::from).into()
    );
    let names = |r: &ApiResponse| -> BTreeSet<String> {
        r.json()["Volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["Name"].as_str().map(String::from))
            .collect()
    };
    assert_eq!(names(&list), [anon_name.clone(), "hi-vol".into()].into());
    let by = |f: &str| e.api("GET", &format!("/v1.41/volumes?filters={}", enc(f)), None);
    assert_eq!(
        names(&by(r#"{"name":["hi-v"]}"#)),
        ["hi-vol".to_string()].into()
    );
    assert_eq!(
        names(&by(r#"{"label":["a=b"]}"#)),
        ["hi-vol".to_string()].into()
    );
    assert_eq!(names(&by(r#"{"dangling":["true"]}"#)).len(), 2);
    assert_eq!(by(r#"{"nope":["x"]}"#).status, 400);

    let del = e.api("DELETE", &format!("/v1.41/volumes/{anon_name}"), None);
    assert_eq!(del.status, 204, "{}", show(&del));
    assert_eq!(e.api("DELETE", "/v1.41/volumes/nothere", None).status, 404);
    assert_eq!(
        e.api("DELETE", "/v1.41/volumes/nothere?force=1", None)
            .status,
        204
    );

    let prune = e.api("POST", "/v1.41/volumes/prune", None);
    assert_eq!(prune.status, 200, "{}", show(&prune));
    assert_eq!(prune.json()["VolumesDeleted"], json!(["hi-vol"]));
    assert!(prune.json()["SpaceReclaimed"].is_u64());
}

fn events(e: &dyn Engine) {
    let id = e.import_busybox("hi-ev:1");
    let since = now();
    assert_eq!(
        e.api("POST", "/v1.41/images/hi-ev:1/tag?repo=hi-ev&tag=2", None)
            .status,
        201
    );
    assert_eq!(e.api("DELETE", "/v1.41/images/hi-ev:2", None).status, 200);
    let v = e.api(
        "POST",
        "/v1.41/volumes/create",
        Some(br#"{"Name":"hi-ev-vol"}"#),
    );
    assert_eq!(v.status, 201);
    assert_eq!(
        e.api("DELETE", "/v1.41/volumes/hi-ev-vol", None).status,
        204
    );
    let until = now();
    let get = |filters: &str| {
        let mut path = format!("/v1.41/events?since={since}&until={until}");
        if !filters.is_empty() {
            path.push_str(&format!("&filters={}", enc(filters)));
        }
        let r = e.api("GET", &path, None);
        assert_eq!(r.status, 200, "{}", show(&r));
        json_stream(&r)
    };
    let all = get("");
    let actions: Vec<(String, String)> = all
        .iter()
        .map(|m| {
            (
                m["Type"].as_str().unwrap_or("").into(),
                m["Action"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("image", "tag"),
        ("image", "untag"),
        ("volume", "create"),
        ("volume", "destroy"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(actions, want, "{all:?}");
    let tag = &all[0];
    assert_eq!(
        keys(tag),
        ["Action", "Actor", "Type", "id", "scope", "status", "time", "timeNano"]
            .map(String::from)
            .into()
    );
    assert_eq!(tag["status"], "tag");
    assert_eq!(tag["id"], id.as_str());
    assert_eq!(tag["Actor"]["ID"], id.as_str());
    assert_eq!(tag["Actor"]["Attributes"]["name"], "hi-ev:2");
    assert_eq!(tag["scope"], "local");
    let nanos = tag["timeNano"].as_i64().unwrap_or(0);
    assert_eq!(tag["time"].as_i64(), Some(nanos / 1_000_000_000));
    let vol = &all[2];
    assert_eq!(
        keys(vol),
        ["Action", "Actor", "Type", "scope", "time", "timeNano"]
            .map(String::from)
            .into()
    );
    assert_eq!(
        vol["Actor"],
        json!({ "ID": "hi-ev-vol", "Attributes": { "driver": "local" } })
    );

    let only = |f: &str| -> Vec<String> {
        get(f)
            .iter()
            .map(|m| m["Action"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(only(r#"{"type":["volume"]}"#), ["create", "destroy"]);
    assert_eq!(only(r#"{"event":["untag"]}"#), ["untag"]);
    assert_eq!(only(r#"{"image":["hi-ev:2"]}"#), ["tag"]);
    assert_eq!(only(r#"{"volume":["hi-ev-vol"]}"#), ["create", "destroy"]);
    assert_eq!(only(r#"{"container":["nothere"]}"#), Vec::<String>::new());
    let bad = e.api(
        "GET",
        &format!(
            "/v1.41/events?until={until}&filters={}",
            enc(r#"{"nope":["x"]}"#)
        ),
        None,
    );
    // Docker does not check the filters' keys: an unknown one matches all.
    assert_eq!(bad.status, 200, "{}", show(&bad));
    let broken = e.api(
        "GET",
        &format!("/v1.41/events?until={until}&filters=%7Bnope"),
        None,
    );
    // 500 from dockerd 20.10, 400 (invalid parameter) from Docker 25+.
    assert!(broken.status >= 400, "{}", show(&broken));
}

fn system(e: &dyn Engine) {
    let v = e.api("GET", "/v1.41/version", None);
    assert_eq!(v.status, 200);
    let v = v.json();
    for k in [
        "Version",
        "ApiVersion",
        "MinAPIVersion",
        "GitCommit",
        "GoVersion",
        "KernelVersion",
        "BuildTime",
    ] {
        assert!(v[k].as_str().is_some_and(|s| !s.is_empty()), "{k} in {v}");
    }
    assert_eq!((&v["Os"], &v["Arch"]), (&json!("linux"), &json!("amd64")));
    assert_eq!(v["Components"][0]["Name"], "Engine");

    e.import_busybox("hi-sys:1");
    let info = e.api("GET", "/v1.41/info", None).json();
    assert_eq!(info["Images"], 1, "{info}");
    assert_eq!(info["Containers"], 0);
    assert_eq!(info["OSType"], "linux");
    assert_eq!(info["LoggingDriver"], "json-file");
    assert_eq!(info["CgroupDriver"], "cgroupfs");
    assert!(info["NCPU"].as_u64().is_some_and(|n| n > 0));
    assert!(info["MemTotal"].as_u64().is_some_and(|n| n > 0));
    assert!(info["DockerRootDir"]
        .as_str()
        .is_some_and(|d| d.starts_with('/')));

    let df = e.api("GET", "/v1.41/system/df", None);
    assert_eq!(df.status, 200, "{}", show(&df));
    let df = df.json();
    for k in [
        "LayersSize",
        "Images",
        "Containers",
        "Volumes",
        "BuildCache",
    ] {
        assert!(df.get(k).is_some(), "{k} in {df}");
    }
    assert_eq!(df["Images"][0]["RepoTags"], json!(["hi-sys:1"]));
    assert_eq!(df["Images"][0]["Containers"], 0);
    assert!(
        df["LayersSize"].as_u64().is_some_and(|n| n > 1 << 20),
        "{df}"
    );
}

engine_tests!(volumes => volumes_api_dockerd, volumes_api_wharf);
engine_tests!(events => events_api_dockerd, events_api_wharf);
engine_tests!(system => system_api_dockerd, system_api_wharf);

/// `/info`, `/version` and `/system/df` have dockerd's fields.
#[test]
fn system_shapes_match_dockerd() {
    let docker = Dockerd::start().expect("a private dockerd");
    let wharf = WharfDaemon::start().expect("a private wharf daemon");
    let get = |e: &dyn Engine, p: &str| e.api("GET", p, None).json();
    for path in ["/v1.41/info", "/v1.41/version", "/v1.41/system/df"] {
        let (d, w) = (get(&docker, path), get(&wharf, path));
        let missing: Vec<String> = keys(&d).difference(&keys(&w)).cloned().collect();
        assert!(missing.is_empty(), "{path}: wharf lacks {missing:?}");
    }
    for e in [&docker as &dyn Engine, &wharf] {
        e.import_busybox("hi-shape:1");
    }
    let (d, w) = (
        get(&docker, "/v1.41/system/df"),
        get(&wharf, "/v1.41/system/df"),
    );
    assert_eq!(keys(&d["Images"][0]), keys(&w["Images"][0]));
    let (d, w) = (
        get(&docker, "/v1.41/version"),
        get(&wharf, "/v1.41/version"),
    );
    assert_eq!(keys(&d["Components"][0]), keys(&w["Components"][0]));
    assert_eq!(
        keys(&d["Components"][0]["Details"]),
        keys(&w["Components"][0]["Details"])
    );
}

/// `GET /events` without `until` streams: its headers come before any
/// event, and an event that happens later arrives on the open stream.
fn live_events(e: &dyn Engine) {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(e.socket()).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .expect("timeout");
    let filter = enc(r#"{"type":["volume"]}"#);
    write!(
        s,
        "GET /v1.41/events?filters={filter} HTTP/1.1\r\nHost: docker\r\n\r\n"
    )
    .expect("request");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf).expect("headers before any event");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&got).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let c = e.api(
        "POST",
        "/v1.41/volumes/create",
        Some(br#"{"Name":"hi-live-vol"}"#),
    );
    assert_eq!(c.status, 201);
    while !String::from_utf8_lossy(&got).contains("\"hi-live-vol\"") {
        let n = s.read(&mut buf).expect("the event");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    assert!(text.contains("\"Action\":\"create\""), "{text}");
    assert_eq!(
        e.api("DELETE", "/v1.41/volumes/hi-live-vol", None).status,
        204
    );
}

engine_tests!(live_events => live_events_dockerd, live_events_wharf);
