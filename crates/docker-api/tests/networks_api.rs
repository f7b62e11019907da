//! The network endpoints and a container's network fields against a real
//! `wharf daemon` (in a network namespace of its own): Docker's shapes,
//! field order, filters, status codes and messages.

mod support;

use serde_json::{json, Value};
use support::{enc, show};
use wharf_testkit::daemon::{ApiResponse, Engine, WharfDaemon};

const IMG: &str = "nettest";
/// Docker's field order of a network.
const NETWORK_KEYS: [&str; 15] = [
    "Name",
    "Id",
    "Created",
    "Scope",
    "Driver",
    "EnableIPv6",
    "IPAM",
    "Internal",
    "Attachable",
    "Ingress",
    "ConfigFrom",
    "ConfigOnly",
    "Containers",
    "Options",
    "Labels",
];

fn daemon() -> WharfDaemon {
    let d = WharfDaemon::start().expect("wharf daemon starts");
    d.import_busybox(IMG);
    d
}

fn send(d: &WharfDaemon, method: &str, path: &str, body: &str) -> ApiResponse {
    d.api(method, path, Some(body.as_bytes()))
}

/// The top-level keys of a JSON object in the order of its text.
fn key_order(text: &str) -> Vec<String> {
    let keys: OrderedKeys = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    keys.0.into_iter().map(|(k, _)| k).collect()
}

/// A JSON object's keys in their order (serde_json's maps sort them).
struct OrderedKeys(Vec<(String, serde::de::IgnoredAny)>);

impl<'de> serde::Deserialize<'de> for OrderedKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OrderedKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<OrderedKeys, A::Error> {
                let mut out = Vec::new();
                while let Some(kv) = m.next_entry()? {
                    out.push(kv);
                }
                Ok(OrderedKeys(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// `send`, asserting the status.
fn expect(d: &WharfDaemon, method: &str, path: &str, body: &str, status: u16) -> ApiResponse {
    let r = send(d, method, path, body);
    assert_eq!(r.status, status, "{method} {path}: {}", show(&r));
    r
}

fn names(list: &ApiResponse) -> Vec<String> {
    list.json()
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", show(list)))
        .iter()
        .map(|n| n["Name"].as_str().unwrap().to_string())
        .collect()
}

fn list_filtered(d: &WharfDaemon, filters: &str) -> Vec<String> {
    let r = d.api("GET", &format!("/networks?filters={}", enc(filters)), None);
    assert_eq!(r.status, 200, "{filters}: {}", show(&r));
    names(&r)
}

/// The refusals made before the engine, over the wire (their full table
/// is `networks::body`'s unit test): (method, path, body) → (status,
/// message).
#[test]
fn refusals_before_the_engine_reach_the_client_in_dockerds_words() {
    let d = WharfDaemon::start().expect("wharf daemon starts");
    let two = r#"{"Image":"x","NetworkingConfig":{"EndpointsConfig":{"a":{},"b":{}}}}"#;
    let bad_ip = r#"{"Image":"x","NetworkingConfig":{"EndpointsConfig":{"a":{"IPAMConfig":{"IPv4Address":"zz"}}}}}"#;
    let type_foo = format!("/networks?filters={}", enc(r#"{"type":["foo"]}"#));
    let prune_name = format!("/networks/prune?filters={}", enc(r#"{"name":["x"]}"#));
    for (method, path, body, status, message) in [
        (
            "POST",
            "/networks/create",
            r#"{"Name":"bridge"}"#,
            403,
            "operation is not permitted on predefined bridge network ",
        ),
        (
            "POST",
            "/networks/create",
            r#"{"Name":"n1","Driver":"foo"}"#,
            404,
            "plugin \"foo\" not found",
        ),
        (
            "GET",
            type_foo.as_str(),
            "",
            400,
            "invalid filter 'type=foo'",
        ),
        (
            "POST",
            prune_name.as_str(),
            "",
            400,
            "invalid filter 'name'",
        ),
        (
            "POST",
            "/v1.41/containers/create",
            two,
            400,
            "Container cannot be connected to network endpoints: a, b",
        ),
        (
            "POST",
            "/containers/create",
            bad_ip,
            400,
            "invalid IPv4 address: zz",
        ),
    ] {
        let r = send(&d, method, path, body);
        assert_eq!(
            (r.status, r.message().as_str()),
            (status, message),
            "{method} {path} {body}"
        );
    }
}

#[test]
fn predefined_networks_list_inspect_and_refuse_removal() {
    let d = WharfDaemon::start().expect("wharf daemon starts");
    let list = d.api("GET", "/networks", None);
    assert_eq!(list.status, 200, "{}", show(&list));
    let all = names(&list);
    for n in ["bridge", "host", "none"] {
        assert!(all.contains(&n.to_string()), "{all:?}");
    }
    let host = d.api("GET", "/v1.41/networks/host", None);
    assert_eq!(host.status, 200, "{}", show(&host));
    assert_eq!(key_order(&host.text()), NETWORK_KEYS);
    assert_eq!(host.json()["Driver"], "host");
    assert_eq!(host.json()["IPAM"]["Options"], Value::Null);
    let bridge = d
        .api("GET", "/networks/bridge?verbose=true&scope=local", None)
        .json();
    assert_eq!(bridge["Driver"], "bridge");
    assert_eq!(bridge["Scope"], "local");
    let missing = d.api("GET", "/networks/nope", None);
    assert_eq!(
        (missing.status, missing.message().as_str()),
        (404, "network nope not found")
    );
    let swarm = d.api("GET", "/networks/bridge?scope=swarm", None);
    assert_eq!(swarm.status, 404);
    let rm = d.api("DELETE", "/networks/host", None);
    assert_eq!(
        (rm.status, rm.message().as_str()),
        (403, "host is a pre-defined network and cannot be removed")
    );
    assert_eq!(
        list_filtered(&d, r#"{"type":["builtin"],"name":["os"]}"#),
        vec!["host"]
    );
    assert!(list_filtered(&d, r#"{"type":["custom"]}"#).is_empty());
    let prune = send(&d, "POST", "/networks/prune", "");
    assert_eq!(
        prune.json(),
        json!({"NetworksDeleted": null}),
        "{}",
        show(&prune)
    );
}

#[test]
fn user_network_create_inspect_filter_remove() {
    let d = WharfDaemon::start().expect("wharf daemon starts");
    let body = r#"{"Name":"un","CheckDuplicate":true,"Driver":"bridge","Labels":{"env":"dev"},
        "IPAM":{"Driver":"default","Config":[{"Subnet":"10.231.0.0/24","Gateway":"10.231.0.1"}],"Options":{}}}"#;
    let r = expect(&d, "POST", "/networks/create", body, 201);
    let id = r.json()["Id"].as_str().unwrap().to_string();
    assert_eq!(r.json()["Warning"], "");
    assert_eq!(id.len(), 64);
    let dup = send(&d, "POST", "/networks/create", body);
    assert_eq!(
        (dup.status, dup.message().as_str()),
        (409, "network with name un already exists")
    );
    let un = d.api("GET", &format!("/networks/{}", &id[..12]), None);
    assert_eq!(un.status, 200, "{}", show(&un));
    assert_eq!(key_order(&un.text()), NETWORK_KEYS);
    let v = un.json();
    assert_eq!(v["Name"], "un");
    assert_eq!(
        v["IPAM"]["Config"],
        json!([{"Subnet": "10.231.0.0/24", "Gateway": "10.231.0.1"}])
    );
    assert_eq!(v["IPAM"]["Options"], json!({}));
    assert_eq!(v["Containers"], json!({}));
    assert_eq!(v["Labels"], json!({"env": "dev"}));
    assert_eq!(list_filtered(&d, r#"{"type":["custom"]}"#), vec!["un"]);
    assert_eq!(list_filtered(&d, r#"{"label":["env=dev"]}"#), vec!["un"]);
    assert_eq!(
        list_filtered(&d, &format!(r#"{{"id":["{}"]}}"#, &id[..10])),
        vec!["un"]
    );
    assert_eq!(list_filtered(&d, r#"{"dangling":["true"]}"#), vec!["un"]);
    assert_eq!(
        list_filtered(&d, r#"{"driver":["bridge"],"name":["un"]}"#),
        vec!["un"]
    );
    let rm = d.api("DELETE", "/networks/un", None);
    assert_eq!(rm.status, 204, "{}", show(&rm));
    assert_eq!(d.api("GET", &format!("/networks/{id}"), None).status, 404);
    expect(
        &d,
        "POST",
        "/networks/create",
        r#"{"Name":"gone","Labels":{"k":"v"}}"#,
        201,
    );
    expect(&d, "POST", "/networks/create", r#"{"Name":"kept"}"#, 201);
    let prune = send(
        &d,
        "POST",
        &format!("/networks/prune?filters={}", enc(r#"{"label":["k=v"]}"#)),
        "",
    );
    assert_eq!(
        prune.json(),
        json!({"NetworksDeleted": ["gone"]}),
        "{}",
        show(&prune)
    );
}

fn create(d: &WharfDaemon, name: &str, body: &str) -> String {
    let body = format!(r#"{{"Image":"{IMG}","Cmd":["sleep","1000"],{body}}}"#);
    let r = expect(
        d,
        "POST",
        &format!("/containers/create?name={name}"),
        &body,
        201,
    );
    r.json()["Id"].as_str().unwrap().to_string()
}

fn start(d: &WharfDaemon, name: &str) {
    expect(d, "POST", &format!("/containers/{name}/start"), "", 204);
}

#[test]
fn container_on_a_user_network_with_alias_and_fixed_address() {
    let d = daemon();
    let net = expect(
        &d,
        "POST",
        "/networks/create",
        r#"{"Name":"un","IPAM":{"Config":[{"Subnet":"10.232.0.0/24"}]}}"#,
        201,
    );
    let net_id = net.json()["Id"].as_str().unwrap().to_string();
    let id = create(
        &d,
        "web",
        r#""HostConfig":{"NetworkMode":"un"},
        "NetworkingConfig":{"EndpointsConfig":{"un":{"Aliases":["alpha"],"IPAMConfig":{"IPv4Address":"10.232.0.9"}}}}"#,
    );
    let short = &id[..12];
    let created = d.api("GET", "/containers/web/json", None).json();
    let ep = &created["NetworkSettings"]["Networks"]["un"];
    assert_eq!(ep["NetworkID"], "", "{created}");
    assert_eq!(ep["Aliases"], json!(["alpha"]));
    assert_eq!(ep["IPAMConfig"], json!({"IPv4Address": "10.232.0.9"}));
    assert_eq!(created["NetworkSettings"]["Ports"], json!({}));
    assert_eq!(created["HostConfig"]["NetworkMode"], "un");
    start(&d, "web");
    let v = d.api("GET", "/containers/web/json", None).json();
    let s = &v["NetworkSettings"];
    let ep = &s["Networks"]["un"];
    assert_eq!(ep["IPAddress"], "10.232.0.9", "{s}");
    assert_eq!(ep["IPPrefixLen"], 24);
    assert_eq!(ep["Gateway"], "10.232.0.1");
    assert_eq!(ep["MacAddress"], "02:42:0a:e8:00:09");
    assert_eq!(ep["NetworkID"], net_id);
    assert_eq!(ep["Aliases"], json!(["alpha"]));
    assert_eq!(ep["DNSNames"], json!(["web", "alpha", short]));
    assert_eq!(
        s["IPAddress"], "",
        "only the default bridge fills the top level"
    );
    assert!(s["SandboxKey"].as_str().unwrap().ends_with(short), "{s}");
    let old = d.api("GET", "/v1.44/containers/web/json", None).json();
    assert_eq!(
        old["NetworkSettings"]["Networks"]["un"]["Aliases"],
        json!(["alpha", short])
    );
    let n = d.api("GET", "/networks/un", None).json();
    let member = &n["Containers"][&id];
    assert_eq!(member["Name"], "web", "{n}");
    assert_eq!(member["IPv4Address"], "10.232.0.9/24");
    assert_eq!(member["IPv6Address"], "");
    assert_eq!(member["EndpointID"], ep["EndpointID"]);
    for filter in [
        r#"{"network":["un"]}"#.to_string(),
        format!(r#"{{"network":["{}"]}}"#, &net_id[..8]),
    ] {
        let l = d.api(
            "GET",
            &format!("/containers/json?filters={}", enc(&filter)),
            None,
        );
        assert_eq!(
            l.json().as_array().map(Vec::len),
            Some(1),
            "{filter}: {}",
            show(&l)
        );
        assert_eq!(
            l.json()[0]["NetworkSettings"]["Networks"]["un"]["IPAddress"],
            "10.232.0.9"
        );
    }
    let busy = d.api("DELETE", "/networks/un", None);
    assert_eq!(busy.status, 403, "{}", show(&busy));
    // On the default bridge too, then off `un` and back with another alias.
    expect(
        &d,
        "POST",
        "/networks/bridge/connect",
        r#"{"Container":"web"}"#,
        200,
    );
    let two = d.api("GET", "/containers/web/json", None).json();
    let keys = support::keys(&two["NetworkSettings"]["Networks"]);
    assert_eq!(keys.into_iter().collect::<Vec<_>>(), ["bridge", "un"]);
    assert!(
        two["NetworkSettings"]["IPAddress"]
            .as_str()
            .is_some_and(|ip| !ip.is_empty()),
        "{two}"
    );
    expect(
        &d,
        "POST",
        "/networks/un/disconnect",
        r#"{"Container":"web"}"#,
        200,
    );
    let after = d.api("GET", "/containers/web/json", None).json();
    let keys = support::keys(&after["NetworkSettings"]["Networks"]);
    assert_eq!(keys.into_iter().collect::<Vec<_>>(), ["bridge"], "{after}");
    let gone = d.api("GET", "/networks/un", None).json();
    assert_eq!(gone["Containers"], json!({}), "{gone}");
    expect(
        &d,
        "POST",
        "/networks/un/connect",
        r#"{"Container":"web","EndpointConfig":{"Aliases":["beta"]}}"#,
        200,
    );
    let v = d.api("GET", "/containers/web/json", None).json();
    assert_eq!(
        v["NetworkSettings"]["Networks"]["un"]["Aliases"],
        json!(["beta"])
    );
    expect(
        &d,
        "POST",
        "/networks/un/connect",
        r#"{"Container":"web"}"#,
        403,
    );
    let nobody = send(
        &d,
        "POST",
        "/networks/un/connect",
        r#"{"Container":"nope"}"#,
    );
    assert_eq!(
        (nobody.status, nobody.message().as_str()),
        (404, "No such container: nope")
    );
    expect(&d, "POST", "/containers/web/kill", "", 204);
    expect(&d, "POST", "/containers/web/wait", "", 200);
    let prune = send(&d, "POST", "/networks/prune", "");
    assert_eq!(
        prune.json(),
        json!({"NetworksDeleted": ["un"]}),
        "as in dockerd, only running members (endpoints) keep a network: {}",
        show(&prune)
    );
}

/// A created container (dockerd 20.10 answered the same): its network's
/// entry without an id or addresses, no ports, the bindings as given.
#[test]
fn created_container_shows_its_network_without_addresses() {
    let d = daemon();
    create(
        &d,
        "pub",
        r#""ExposedPorts":{"80/tcp":{},"53/udp":{}},"MacAddress":"02:42:ac:11:00:63",
        "HostConfig":{"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"18080"}]}}"#,
    );
    let created = d.api("GET", "/containers/pub/json", None).json();
    let s = &created["NetworkSettings"];
    assert_eq!(s["Ports"], json!({}), "{s}");
    assert_eq!(
        (s["SandboxKey"].as_str(), s["IPAddress"].as_str()),
        (Some(""), Some(""))
    );
    let bridge = &s["Networks"]["bridge"];
    assert_eq!(
        (
            bridge["NetworkID"].as_str(),
            bridge["IPAddress"].as_str(),
            bridge["MacAddress"].as_str()
        ),
        (Some(""), Some(""), Some("02:42:ac:11:00:63")),
        "{s}"
    );
    assert_eq!(created["HostConfig"]["NetworkMode"], "default");
    assert_eq!(
        created["HostConfig"]["PortBindings"],
        json!({"80/tcp": [{"HostIp": "", "HostPort": "18080"}]})
    );
    let l = d.api("GET", "/containers/json?all=1", None).json();
    assert_eq!(l[0]["Ports"], json!([]), "{l}");
    assert_eq!(
        l[0]["NetworkSettings"]["Networks"]["bridge"]["MacAddress"],
        "02:42:ac:11:00:63"
    );
    let by_net = format!(
        "/containers/json?all=1&filters={}",
        enc(r#"{"network":["bridge"]}"#)
    );
    assert_eq!(
        d.api("GET", &by_net, None).json().as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn published_ports_in_inspect_list_and_filters() {
    let d = daemon();
    create(
        &d,
        "pub",
        r#""ExposedPorts":{"80/tcp":{},"53/udp":{}},
        "HostConfig":{"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"18080"}]}}"#,
    );
    start(&d, "pub");
    let s = d.api("GET", "/containers/pub/json", None).json()["NetworkSettings"].clone();
    assert_eq!(s["Ports"]["53/udp"], Value::Null, "{s}");
    assert_eq!(
        s["Ports"]["80/tcp"],
        json!([{"HostIp": "0.0.0.0", "HostPort": "18080"}])
    );
    assert!(
        s["IPAddress"].as_str().is_some_and(|ip| !ip.is_empty()),
        "{s}"
    );
    assert_eq!(s["IPAddress"], s["Networks"]["bridge"]["IPAddress"]);
    let l = d.api("GET", "/containers/json", None).json();
    assert_eq!(
        l[0]["Ports"],
        json!([{"PrivatePort": 53, "Type": "udp"},
               {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 18080, "Type": "tcp"}])
    );
    for (filter, hits) in [
        (r#"{"publish":["18080"]}"#, 1),
        (r#"{"publish":["18000-18100/tcp"]}"#, 1),
        (r#"{"publish":["80"]}"#, 0),
        (r#"{"expose":["53/udp"]}"#, 1),
        (r#"{"expose":["53"]}"#, 0),
    ] {
        let r = d.api(
            "GET",
            &format!("/containers/json?filters={}", enc(filter)),
            None,
        );
        assert_eq!(
            r.json().as_array().map(Vec::len),
            Some(hits),
            "{filter}: {}",
            show(&r)
        );
    }
    expect(&d, "POST", "/containers/pub/kill", "", 204);
    expect(&d, "POST", "/containers/pub/wait", "", 200);
    let stopped = d.api("GET", "/containers/pub/json", None).json();
    assert_eq!(stopped["NetworkSettings"]["Ports"], json!({}));
    assert_eq!(
        stopped["NetworkSettings"]["Networks"]["bridge"]["IPAddress"],
        ""
    );
    assert_eq!(
        stopped["NetworkSettings"]["Networks"]["bridge"]["NetworkID"]
            .as_str()
            .map(str::len),
        Some(64)
    );
}
