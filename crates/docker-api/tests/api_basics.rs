//! The API's frame against a real `wharf daemon`: Docker's headers on
//! every reply, version prefixes and their limits, `_ping`, unknown routes,
//! and the status codes and messages of bad requests.

use wharf_testkit::daemon::{Engine, WharfDaemon};

fn daemon() -> WharfDaemon {
    WharfDaemon::start().expect("wharf daemon starts")
}

#[test]
fn ping_answers_ok_with_dockers_headers() {
    let d = daemon();
    let r = d.api("GET", "/_ping", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "OK");
    assert_eq!(r.header("api-version"), Some("1.47"));
    assert_eq!(r.header("ostype"), Some("linux"));
    assert_eq!(r.header("docker-experimental"), Some("false"));
    assert!(r.header("server").is_some_and(|s| s.starts_with("Docker/")));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    let head = d.api("HEAD", "/v1.24/_ping", None);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("api-version"), Some("1.47"));
    assert_eq!(d.api("POST", "/_ping", None).status, 404);
}

#[test]
fn versions_outside_1_24_to_1_47_are_refused_in_dockers_words() {
    let d = daemon();
    let old = d.api("GET", "/v1.23/containers/json", None);
    assert_eq!(old.status, 400);
    assert_eq!(
        old.message(),
        "client version 1.23 is too old. Minimum supported API version is 1.24, \
         please upgrade your client to a newer version"
    );
    let new = d.api("GET", "/v1.48/containers/json", None);
    assert_eq!(new.status, 400);
    assert_eq!(
        new.message(),
        "client version 1.48 is too new. Maximum supported API version is 1.47"
    );
    assert_eq!(d.api("GET", "/v1.41/containers/json", None).status, 200);
    assert_eq!(d.api("GET", "/v1.47/containers/json", None).status, 200);
}

#[test]
fn unknown_routes_answer_page_not_found() {
    let d = daemon();
    for (method, path) in [
        ("GET", "/nope"),
        ("GET", "/v1.41/nope"),
        ("GET", "/v1.x/containers/json"),
        ("PUT", "/containers/json"),
        ("GET", "/containers/abc/bogus"),
        ("GET", "/exec/abc/bogus"),
    ] {
        let r = d.api(method, path, None);
        assert_eq!(r.status, 404, "{method} {path}");
        assert_eq!(r.message(), "page not found", "{method} {path}");
        assert_eq!(r.header("api-version"), Some("1.47"), "{method} {path}");
    }
}

#[test]
fn bad_requests_get_dockers_status_codes() {
    let d = daemon();
    let r = d.api("GET", "/containers/nope/json", None);
    assert_eq!(
        (r.status, r.message().as_str()),
        (404, "No such container: nope")
    );
    let r = d.api("POST", "/containers/create", Some(b"{bad"));
    assert_eq!(r.status, 400, "{}", r.text());
    let r = d.api("POST", "/containers/create", Some(b"[]"));
    assert_eq!(r.status, 400, "{}", r.text());
    let r = d.api("POST", "/containers/create", Some(b"{}"));
    assert_eq!(r.status, 400, "{}", r.text());
    let r = d.api(
        "POST",
        "/containers/create?name=bad/name",
        Some(br#"{"Image":"busybox","Cmd":["true"]}"#),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.message(),
        "Invalid container name (bad/name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    );
    let r = d.api(
        "POST",
        "/containers/create",
        Some(br#"{"Image":"busybox","HostConfig":{"Memory":"lots"}}"#),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let mut huge = br#"{"Image":"busybox","Env":[""#.to_vec();
    huge.extend(std::iter::repeat_n(b'a', 8 << 20));
    huge.extend_from_slice(br#""]}"#);
    let r = d.api("POST", "/containers/create", Some(&huge));
    assert_eq!(r.status, 413, "{}", r.text());
    let r = d.api("POST", "/containers/nope/wait?condition=bogus", None);
    assert_eq!(r.status, 400, "{}", r.text());
    let r = d.api(
        "GET",
        "/containers/json?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D",
        None,
    );
    assert_eq!(
        (r.status, r.message().as_str()),
        (400, "invalid filter 'bogus'")
    );
    let r = d.api("GET", "/containers/json?filters=notjson", None);
    assert_eq!(r.status, 400, "{}", r.text());
    // The daemon still serves after all of that.
    assert_eq!(d.api("GET", "/_ping", None).status, 200);
}
