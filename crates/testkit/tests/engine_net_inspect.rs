//! The network fields of container inspect, against a dockerd with its
//! default bridge (proving what Docker fills in) and against `wharf
//! daemon`: `NetworkSettings` of a container on the default bridge with
//! published ports, of one on a user network with an alias, and of a
//! created and a stopped one. Ids are checked for their shape and put as
//! `<id>`; the sandbox key must name a namespace file under the exec root;
//! inspect is asked at API 1.41 (dockerd 20.10's, and the one
//! docker-compose 1.29 speaks); `DNSNames` (API 1.44) is left out.

use serde_json::{json, Value};
use wharf_testkit::daemon::Engine;
use wharf_testkit::engine_net_tests;
use wharf_testkit::net_scenario::{import_net_image, serve, NET_IMG};

/// `NetworkSettings` of `name` with ids and the sandbox key replaced.
fn settings(e: &dyn Engine, name: &str) -> Value {
    // API 1.41, dockerd 20.10's and docker-compose 1.29's: the short id
    // is still one of the aliases.
    let r = e.api("GET", &format!("/v1.41/containers/{name}/json"), None);
    assert_eq!(
        r.status,
        200,
        "inspect {name} on {}: {}",
        e.kind(),
        r.text()
    );
    let mut v = r.json()["NetworkSettings"].clone();
    let key = v["SandboxKey"].as_str().unwrap_or("").to_string();
    if !key.is_empty() {
        assert!(
            std::path::Path::new(&key).starts_with(e.exec_root()),
            "SandboxKey on {}: {key}",
            e.kind()
        );
        v["SandboxKey"] = json!("<sandbox>");
    }
    hide_ids(&mut v);
    // DNSNames came with API 1.44: dockerd 20.10 (1.41) has no such field.
    for ep in v["Networks"]
        .as_object_mut()
        .into_iter()
        .flat_map(|n| n.values_mut())
    {
        if let Some(ep) = ep.as_object_mut() {
            ep.remove("DNSNames");
        }
    }
    v
}

/// Replaces every string of 64 hex digits with `<id>`.
fn hide_ids(v: &mut Value) {
    match v {
        Value::String(s) if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
            *s = "<id>".into();
        }
        Value::Array(a) => a.iter_mut().for_each(hide_ids),
        Value::Object(o) => o.values_mut().for_each(hide_ids),
        _ => {}
    }
}

/// The endpoint part Docker fills for a running container.
fn endpoint(ip: &str, prefix: u8, gateway: &str, mac: &str, aliases: Value) -> Value {
    json!({
        "IPAMConfig": null, "Links": null, "Aliases": aliases, "NetworkID": "<id>",
        "EndpointID": "<id>", "Gateway": gateway, "IPAddress": ip, "IPPrefixLen": prefix,
        "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "MacAddress": mac, "DriverOpts": null
    })
}

/// The top-level fields with `ep`'s address (empty strings off the
/// default bridge), `ports` and `networks`.
fn top(ep: Option<&Value>, ports: Value, networks: Value, sandbox: bool) -> Value {
    let field = |k: &str, empty: Value| ep.map(|e| e[k].clone()).unwrap_or(empty);
    json!({
        "Bridge": "", "SandboxID": if sandbox { "<id>" } else { "" }, "HairpinMode": false,
        "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0, "Ports": ports,
        "SandboxKey": if sandbox { "<sandbox>" } else { "" },
        "SecondaryIPAddresses": null, "SecondaryIPv6Addresses": null,
        "EndpointID": field("EndpointID", json!("")), "Gateway": field("Gateway", json!("")),
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "IPAddress": field("IPAddress", json!("")), "IPPrefixLen": field("IPPrefixLen", json!(0)),
        "IPv6Gateway": "", "MacAddress": field("MacAddress", json!("")), "Networks": networks
    })
}

/// Running containers: the default bridge with ports, a user network.
fn running_settings(e: &dyn Engine) {
    import_net_image(e);
    serve(
        e,
        "ib",
        &["-p", "127.0.0.1:8081:80", "-p", "0.0.0.0:5353:53/udp"],
    );
    let ep = endpoint(
        "172.17.0.2",
        16,
        "172.17.0.1",
        "02:42:ac:11:00:02",
        Value::Null,
    );
    let ports = json!({
        "53/udp": [{"HostIp": "0.0.0.0", "HostPort": "5353"}],
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8081"}]
    });
    let want = top(Some(&ep), ports, json!({"bridge": ep}), true);
    assert_eq!(settings(e, "ib"), want, "on {}", e.kind());
    let bridge = e.docker_ok(&["network", "inspect", "-f", "{{.Id}}", "bridge"]);
    let network_id = e.inspect("ib")["NetworkSettings"]["Networks"]["bridge"]["NetworkID"].clone();
    assert_eq!(network_id, json!(bridge.trim()), "on {}", e.kind());

    e.docker_ok(&["network", "create", "--subnet", "10.86.0.0/24", "un"]);
    let args = [
        "run",
        "-d",
        "--name",
        "iu",
        "--network",
        "un",
        "--network-alias",
        "alpha",
    ];
    e.docker_ok(&[&args[..], &[NET_IMG, "sleep", "1000"]].concat());
    let short = &e.inspect("iu")["Id"].as_str().unwrap_or("")[..12].to_string();
    let ep = endpoint(
        "10.86.0.2",
        24,
        "10.86.0.1",
        "02:42:0a:56:00:02",
        json!(["alpha", short]),
    );
    let want = top(None, json!({"80/tcp": null}), json!({"un": ep}), true);
    assert_eq!(settings(e, "iu"), want, "on {}", e.kind());
}

engine_net_tests!(running_settings => engine_net_inspect_running_dockerd,
    engine_net_inspect_running_wharf);

/// A created container names its networks without addresses; a stopped
/// one has given its address back (its network and last sandbox stay
/// named).
fn idle_settings(e: &dyn Engine) {
    import_net_image(e);
    e.docker_ok(&[
        "create",
        "--name",
        "ic",
        "-p",
        "127.0.0.1:8082:80",
        NET_IMG,
        "true",
    ]);
    let empty = json!({
        "IPAMConfig": null, "Links": null, "Aliases": null, "NetworkID": "",
        "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
        "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "MacAddress": "", "DriverOpts": null
    });
    let want = top(None, json!({}), json!({"bridge": empty}), false);
    assert_eq!(settings(e, "ic"), want, "created on {}", e.kind());
    e.docker_ok(&["start", "-a", "ic"]);
    let mut stopped = empty.clone();
    stopped["NetworkID"] = json!("<id>");
    // Docker keeps the last sandbox's id and key.
    let want = top(None, json!({}), json!({"bridge": stopped}), true);
    assert_eq!(settings(e, "ic"), want, "stopped on {}", e.kind());
}

engine_net_tests!(idle_settings => engine_net_inspect_idle_dockerd,
    engine_net_inspect_idle_wharf);
