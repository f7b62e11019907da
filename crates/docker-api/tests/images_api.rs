//! The image endpoints over the raw API (curl on the unix socket): each
//! scenario runs against a private dockerd 20.10 (proving the
//! expectations, at API 1.41) and against `wharf daemon`; one test puts
//! the two side by side and compares the JSON shapes.

mod support;

use serde_json::Value;
use support::{enc, keys, show};
use wharf_testkit::daemon::{Engine, WharfDaemon};
use wharf_testkit::dockerd::Dockerd;
use wharf_testkit::engine_tests;

/// Imports the busybox rootfs through `POST /images/create?fromSrc=-`.
fn import(e: &dyn Engine, repo: &str, tag: &str) -> String {
    let tar = wharf_testkit::images::busybox_rootfs_tar();
    let path = format!(
        "/v1.41/images/create?fromSrc=-&repo={repo}&tag={tag}&changes={}&message=hi",
        enc("CMD [\"sh\"]")
    );
    let r = e.api_typed("POST", &path, Some(&tar), "application/x-tar");
    assert_eq!(r.status, 200, "{}", show(&r));
    let id = r.json()["status"].as_str().unwrap_or("").to_string();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{}", show(&r));
    id
}

/// List, inspect, history, tag, delete and their errors.
fn images(e: &dyn Engine) {
    let id = import(e, "hi-img", "1");
    let list = e.api("GET", "/v1.41/images/json", None);
    assert_eq!(list.status, 200);
    let mine = list.json().as_array().cloned().unwrap_or_default();
    let entry = mine
        .iter()
        .find(|i| i["Id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not listed: {}", show(&list)));
    assert_eq!(entry["RepoTags"], serde_json::json!(["hi-img:1"]));
    assert_eq!(entry["Containers"], -1);
    assert_eq!(entry["SharedSize"], -1);
    assert_eq!(entry["Size"], entry["VirtualSize"]);

    let ins = e.api("GET", "/v1.41/images/hi-img:1/json", None);
    assert_eq!(ins.status, 200, "{}", show(&ins));
    let v = ins.json();
    assert_eq!(v["Id"], id.as_str());
    assert_eq!(v["Config"]["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(v["Comment"], "hi");
    assert_eq!(v["RootFS"]["Type"], "layers");
    assert_eq!(v["RootFS"]["Layers"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["Os"], "linux");
    assert_eq!(v["RepoDigests"], serde_json::json!([]));

    let hist = e.api("GET", "/v1.41/images/hi-img:1/history", None);
    assert_eq!(hist.status, 200, "{}", show(&hist));
    let h = hist.json();
    assert_eq!(h[0]["Id"], id.as_str());
    assert_eq!(h[0]["Tags"], serde_json::json!(["hi-img:1"]));
    assert_eq!(h[0]["Comment"], "hi");

    let tag = e.api(
        "POST",
        "/v1.41/images/hi-img:1/tag?repo=hi-other&tag=2",
        None,
    );
    assert_eq!(tag.status, 201, "{}", show(&tag));
    let by_short = e.api("GET", &format!("/v1.41/images/{}/json", &id[7..19]), None);
    assert_eq!(
        by_short.json()["RepoTags"].as_array().map(Vec::len),
        Some(2)
    );
    let del = e.api("DELETE", "/v1.41/images/hi-other:2", None);
    assert_eq!(del.status, 200, "{}", show(&del));
    assert_eq!(
        del.json(),
        serde_json::json!([{ "Untagged": "hi-other:2" }])
    );

    for (method, path) in [
        ("GET", "/v1.41/images/nothere/json"),
        ("GET", "/v1.41/images/nothere/history"),
        ("DELETE", "/v1.41/images/nothere"),
        ("POST", "/v1.41/images/nothere/tag?repo=x&tag=y"),
    ] {
        let r = e.api(method, path, None);
        assert_eq!(r.status, 404, "{method} {path}: {}", show(&r));
        // dockerd 20.10's inspect prefixes "no such image: nothere: ".
        assert!(
            r.message().ends_with("No such image: nothere:latest"),
            "{path}: {}",
            show(&r)
        );
    }
    let bad = e.api(
        "GET",
        &format!("/v1.41/images/json?filters={}", enc(r#"{"nope":["x"]}"#)),
        None,
    );
    assert_eq!(bad.status, 400, "{}", show(&bad));
    assert_eq!(bad.message().to_lowercase(), "invalid filter 'nope'");

    let filtered = e.api(
        "GET",
        &format!(
            "/v1.41/images/json?filters={}",
            enc(r#"{"reference":["hi-*"]}"#)
        ),
        None,
    );
    let tags: Vec<Value> = filtered
        .json()
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| i["RepoTags"].clone())
        .collect();
    assert_eq!(
        tags,
        vec![serde_json::json!(["hi-img:1"])],
        "{}",
        show(&filtered)
    );
    let dangling = e.api(
        "GET",
        &format!(
            "/v1.41/images/json?filters={}",
            enc(r#"{"dangling":["true"]}"#)
        ),
        None,
    );
    assert_eq!(
        dangling.json(),
        serde_json::json!([]),
        "{}",
        show(&dangling)
    );

    let del = e.api("DELETE", &format!("/v1.41/images/{}", &id[7..19]), None);
    assert_eq!(del.status, 200, "{}", show(&del));
    let records = del.json();
    assert_eq!(records[0], serde_json::json!({ "Untagged": "hi-img:1" }));
    assert!(
        records
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x["Deleted"] == id.as_str())),
        "{}",
        show(&del)
    );
    let prune = e.api("POST", "/v1.41/images/prune", None);
    assert_eq!(prune.status, 200, "{}", show(&prune));
    assert_eq!(
        keys(&prune.json()),
        ["ImagesDeleted", "SpaceReclaimed"].map(String::from).into()
    );
}

/// Save (`get`) and load back, load of garbage, pull without a registry.
fn save_load(e: &dyn Engine) {
    let id = import(e, "hi-save", "1");
    let saved = e.api("GET", "/v1.41/images/hi-save:1/get", None);
    assert_eq!(saved.status, 200);
    assert_eq!(saved.header("content-type"), Some("application/x-tar"));
    assert!(
        saved.body.len() > 1 << 20,
        "archive of {} bytes",
        saved.body.len()
    );
    let many = e.api(
        "GET",
        "/v1.41/images/get?names=hi-save:1&names=hi-save",
        None,
    );
    assert_eq!(many.status, 200);
    let missing = e.api("GET", "/v1.41/images/nothere/get", None);
    assert_eq!(missing.status, 404, "{}", show(&missing));

    let del = e.api("DELETE", "/v1.41/images/hi-save:1", None);
    assert_eq!(del.status, 200, "{}", show(&del));
    let load = e.api_typed(
        "POST",
        "/v1.41/images/load?quiet=1",
        Some(&saved.body),
        "application/x-tar",
    );
    assert_eq!(load.status, 200, "{}", show(&load));
    assert_eq!(
        load.json(),
        serde_json::json!({ "stream": "Loaded image: hi-save:1\n" })
    );
    let back = e.api("GET", "/v1.41/images/hi-save:1/json", None);
    assert_eq!(back.json()["Id"], id.as_str());

    // A tag the archive brings moves from the image that had it.
    let other = import(e, "hi-save", "1");
    assert_ne!(other, id);
    let again = e.api_typed(
        "POST",
        "/v1.41/images/load?quiet=1",
        Some(&saved.body),
        "application/x-tar",
    );
    let text = again.text();
    assert_eq!(
        text.lines()
            .next()
            .and_then(|l| serde_json::from_str::<Value>(l).ok()),
        Some(serde_json::json!({
            "stream": format!("The image hi-save:1 already exists, renaming the old one with ID {other} to empty string\n")
        })),
        "{text}"
    );

    let garbage = e.api_typed(
        "POST",
        "/v1.41/images/load",
        Some(b"this is no archive"),
        "application/x-tar",
    );
    assert_eq!(garbage.status, 200, "{}", show(&garbage));
    let g = garbage.json();
    assert!(
        g["error"].is_string() && g["errorDetail"]["message"] == g["error"],
        "{g}"
    );

    let pull = e.api(
        "POST",
        "/v1.41/images/create?fromImage=nothere&tag=latest",
        None,
    );
    assert_eq!(pull.status, 500, "{}", show(&pull));
    assert!(
        pull.message().contains("registry-1.docker.io"),
        "{}",
        show(&pull)
    );
}

engine_tests!(images => images_api_dockerd, images_api_wharf);
engine_tests!(save_load => save_load_api_dockerd, save_load_api_wharf);

/// The same image imported into both daemons has the same fields in list,
/// inspect and history at API 1.41.
#[test]
fn image_shapes_match_dockerd() {
    let docker = Dockerd::start().expect("a private dockerd");
    let wharf = WharfDaemon::start().expect("a private wharf daemon");
    let engines: [&dyn Engine; 2] = [&docker, &wharf];
    let mut shapes = Vec::new();
    for e in engines {
        import(e, "hi-shape", "1");
        let list = e.api("GET", "/v1.41/images/json", None).json();
        let ins = e.api("GET", "/v1.41/images/hi-shape:1/json", None).json();
        let hist = e
            .api("GET", "/v1.41/images/hi-shape:1/history", None)
            .json();
        shapes.push((
            keys(&list[0]),
            keys(&ins),
            keys(&ins["Config"]),
            keys(&ins["ContainerConfig"]),
            keys(&ins["Metadata"]),
            keys(&hist[0]),
            ins["GraphDriver"]["Name"].clone(),
        ));
    }
    let (d, w) = (&shapes[0], &shapes[1]);
    assert_eq!(d.0, w.0, "list");
    assert_eq!(d.1, w.1, "inspect");
    assert_eq!(d.2, w.2, "inspect Config");
    assert_eq!(d.3, w.3, "inspect ContainerConfig");
    assert_eq!(d.4, w.4, "inspect Metadata");
    assert_eq!(d.5, w.5, "history");
    if docker.storage_driver() == "overlay2" {
        assert_eq!(d.6, w.6, "GraphDriver");
    }
}

/// API 1.47 drops VirtualSize, Container and ContainerConfig; deleting
/// the last tag deletes the image.
#[test]
fn image_fields_follow_the_api_version() {
    let wharf = WharfDaemon::start().expect("a private wharf daemon");
    let id = import(&wharf, "hi-ver", "1");
    let list = wharf.api("GET", "/v1.47/images/json", None).json();
    assert!(list[0].get("VirtualSize").is_none(), "{list}");
    let ins = wharf.api("GET", "/v1.47/images/hi-ver:1/json", None).json();
    for gone in ["VirtualSize", "Container", "ContainerConfig"] {
        assert!(ins.get(gone).is_none(), "{gone} in {ins}");
    }
    let del = wharf.api("POST", "/v1.47/images/hi-ver:1/tag?repo=hi-ver2", None);
    assert_eq!(del.status, 201);
    let untag = wharf.api("DELETE", "/v1.47/images/hi-ver:1", None);
    assert_eq!(untag.status, 200);
    let untag = wharf.api("DELETE", "/v1.47/images/hi-ver2", None);
    assert_eq!(untag.status, 200, "{}", show(&untag));
    let gone = wharf.api("GET", &format!("/v1.47/images/{id}/json"), None);
    assert_eq!(gone.status, 404, "{}", show(&gone));
}

/// Creates a container (not started) from `image`; returns its id.
fn create(e: &dyn Engine, name: &str, image: &str) -> String {
    let body = serde_json::json!({ "Image": image, "Cmd": ["sleep", "60"] }).to_string();
    let path = format!("/v1.41/containers/create?name={name}");
    let r = e.api("POST", &path, Some(body.as_bytes()));
    assert_eq!(r.status, 201, "{}", show(&r));
    r.json()["Id"].as_str().unwrap_or("").to_string()
}

/// Docker's conflicts for an image that containers use, and commit.
fn in_use(e: &dyn Engine) {
    let id = import(e, "hi-use", "1");
    let short = &id[7..19];
    let cid = create(e, "hi-user", "hi-use:1");
    let cshort = &cid[..12];
    let r = e.api("DELETE", "/v1.41/images/hi-use:1", None);
    assert_eq!(r.status, 409, "{}", show(&r));
    assert_eq!(
        r.message(),
        format!("conflict: unable to remove repository reference \"hi-use:1\" (must force) - container {cshort} is using its referenced image {short}")
    );
    let r = e.api("DELETE", &format!("/v1.41/images/{short}"), None);
    assert_eq!(r.status, 409, "{}", show(&r));
    assert_eq!(
        r.message(),
        format!("conflict: unable to delete {short} (must be forced) - image is being used by stopped container {cshort}")
    );

    let commit = e.api(
        "POST",
        &format!(
            "/v1.41/commit?container=hi-user&repo=hi-committed&tag=1&comment=c1&author=a1&changes={}",
            enc("ENV X=1")
        ),
        Some(b"{}"),
    );
    assert_eq!(commit.status, 201, "{}", show(&commit));
    let new_id = commit.json()["Id"].as_str().unwrap_or("").to_string();
    let ins = e
        .api("GET", "/v1.41/images/hi-committed:1/json", None)
        .json();
    assert_eq!(ins["Id"], new_id.as_str());
    assert_eq!(
        (&ins["Comment"], &ins["Author"]),
        (&serde_json::json!("c1"), &serde_json::json!("a1"))
    );
    assert_eq!(ins["Parent"], id.as_str());
    assert_eq!(ins["Container"], cid.as_str());
    assert!(
        ins["Config"]["Env"]
            .as_array()
            .is_some_and(|e| e.contains(&serde_json::json!("X=1"))),
        "{ins}"
    );
    let r = e.api("POST", "/v1.41/commit?container=nothere", Some(b"{}"));
    assert_eq!(r.status, 404, "{}", show(&r));
    assert_eq!(r.message(), "No such container: nothere");
    let r = e.api("DELETE", "/v1.41/images/hi-committed:1", None);
    assert_eq!(r.status, 200, "{}", show(&r));

    let r = e.api("POST", "/v1.41/containers/hi-user/start", None);
    assert_eq!(r.status, 204, "{}", show(&r));
    let r = e.api("DELETE", &format!("/v1.41/images/{short}?force=1"), None);
    assert_eq!(r.status, 409, "{}", show(&r));
    assert_eq!(
        r.message(),
        format!("conflict: unable to delete {short} (cannot be forced) - image is being used by running container {cshort}")
    );
    let r = e.api("DELETE", "/v1.41/images/hi-use:1?force=1", None);
    assert_eq!(r.status, 200, "{}", show(&r));
    assert_eq!(r.json(), serde_json::json!([{ "Untagged": "hi-use:1" }]));
    let still = e.api("GET", &format!("/v1.41/images/{id}/json"), None);
    assert_eq!(still.status, 200, "{}", show(&still));
    assert_eq!(still.json()["RepoTags"], serde_json::json!([]));

    let r = e.api("DELETE", "/v1.41/containers/hi-user?force=1", None);
    assert_eq!(r.status, 204, "{}", show(&r));
    let r = e.api("DELETE", &format!("/v1.41/images/{short}"), None);
    assert_eq!(r.status, 200, "{}", show(&r));
}

engine_tests!(in_use => in_use_api_dockerd, in_use_api_wharf);

/// `before`, `since`, `label`, `dangling` and `all` on the list.
fn list_filters(e: &dyn Engine) {
    let first = import(e, "hi-first", "1");
    let tar = wharf_testkit::images::busybox_rootfs_tar();
    let path = format!(
        "/v1.41/images/create?fromSrc=-&repo=hi-second&tag=1&changes={}",
        enc("LABEL team=wharf")
    );
    let r = e.api_typed("POST", &path, Some(&tar), "application/x-tar");
    assert_eq!(r.status, 200, "{}", show(&r));
    let second = r.json()["status"].as_str().unwrap_or("").to_string();
    let ids = |f: &str| -> Vec<String> {
        let r = e.api(
            "GET",
            &format!("/v1.41/images/json?filters={}", enc(f)),
            None,
        );
        assert_eq!(r.status, 200, "{f}: {}", show(&r));
        r.json()
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["Id"].as_str().map(String::from))
            .collect()
    };
    assert_eq!(ids(r#"{"before":["hi-second:1"]}"#), vec![first.clone()]);
    assert_eq!(ids(r#"{"since":["hi-first:1"]}"#), vec![second.clone()]);
    assert_eq!(ids(r#"{"label":["team=wharf"]}"#), vec![second.clone()]);
    assert_eq!(ids(r#"{"label":["team"]}"#), vec![second.clone()]);
    assert!(ids(r#"{"label":["team=other"]}"#).is_empty());
    // dockerd 20.10 lists in no particular order.
    let mut both = ids(r#"{"dangling":["false"]}"#);
    both.sort();
    let mut want = vec![first.clone(), second.clone()];
    want.sort();
    assert_eq!(both, want);
    let missing = e.api(
        "GET",
        &format!(
            "/v1.41/images/json?filters={}",
            enc(r#"{"before":["nothere"]}"#)
        ),
        None,
    );
    assert_eq!(missing.status, 404, "{}", show(&missing));
    let labels = e.api("GET", "/v1.41/images/hi-second:1/json", None).json();
    assert_eq!(
        labels["Config"]["Labels"],
        serde_json::json!({ "team": "wharf" })
    );
}

engine_tests!(list_filters => list_filters_api_dockerd, list_filters_api_wharf);
