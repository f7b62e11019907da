//! A container's networks as dockerd shows them, checked against what a
//! dockerd 20.10 answered for the same states (created, running on the
//! default bridge with `-p`, on a user network with an alias, stopped).

use serde_json::json;
use wharf_engine::model::{Endpoint, PortBinding, PortMapping};

use super::*;

const ID: &str = "4789bd30e46f0000000000000000000000000000000000000000000000000000";
const UN: &str = "3a716fec03d82271ec816a034da4a754dd76a685359d3cfc381b1f392d696386";
const BR: &str = "c5a1fbc5ecc4bf9706f793241fffa885ac8c3771711f94bc544e80364399ca5a";

fn ids() -> NetIds {
    [("bridge", BR), ("un", UN)]
        .iter()
        .map(|(n, i)| (n.to_string(), i.to_string()))
        .collect()
}

fn container(mode: &str) -> Container {
    let mut c = Container {
        id: ID.into(),
        name: "web".into(),
        exposed_ports: vec!["53/udp".into(), "80/tcp".into()],
        ..Default::default()
    };
    c.options.host.network_mode = mode.into();
    c
}

fn running_on(c: &mut Container, net: &str, net_id: &str, ip: &str, aliases: &[&str]) {
    c.state.status = Status::Running;
    c.state.started_at = "2026-11-27T00:24:39.172346378Z".into();
    c.network.sandbox_id = "e2c3".into();
    c.network.sandbox_key = "/run/wharf/netns/4789bd30e46f".into();
    let options = EndpointOptions {
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    };
    let mut dns = vec!["web".to_string()];
    if net != "bridge" {
        dns.extend(options.aliases.iter().cloned());
        dns.push("4789bd30e46f".into());
    }
    c.network.endpoints.insert(
        net.into(),
        Endpoint {
            network_id: net_id.into(),
            endpoint_id: "f3f4".into(),
            ip_address: ip.into(),
            prefix_len: 16,
            gateway: "172.17.0.1".into(),
            mac_address: "02:42:ac:11:00:02".into(),
            options,
            dns_names: dns,
            host_ifname: "veth1234567".into(),
            ifname: "eth0".into(),
        },
    );
}

#[test]
fn created_container_has_its_network_without_an_id_and_no_ports() {
    let mut c = container("un");
    c.options.networks.insert(
        "un".into(),
        EndpointOptions {
            aliases: vec!["al".into()],
            ..Default::default()
        },
    );
    let s = network_settings(&c, &ids(), 47);
    assert_eq!(s["Ports"], json!({}));
    assert_eq!(s["SandboxKey"], "");
    let un = &s["Networks"]["un"];
    assert_eq!(un["NetworkID"], "");
    assert_eq!(un["Aliases"], json!(["al"]));
    assert_eq!(un["IPAddress"], "");
    assert_eq!(un["IPAMConfig"], Value::Null);
    assert_eq!(keys(&s["Networks"]), vec!["un"]);
    // The engine records the mode's network at create.
    let mut d = container("default");
    d.options
        .networks
        .insert("bridge".into(), EndpointOptions::default());
    assert_eq!(
        keys(&networks_json(&d, &ids(), Shown::List)),
        vec!["bridge"]
    );
    assert_eq!(
        networks_json(&container("container:abc"), &ids(), Shown::List),
        json!({})
    );
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn running_on_the_default_bridge_fills_the_top_level_and_ports() {
    let mut c = container("default");
    running_on(&mut c, "bridge", BR, "172.17.0.2", &[]);
    c.options.host.port_bindings.insert(
        "81/udp".into(),
        vec![PortBinding {
            host_ip: "127.0.0.1".into(),
            host_port: String::new(),
        }],
    );
    c.network.ports = vec![
        PortMapping {
            container_port: 80,
            proto: "tcp".into(),
            host_ip: "0.0.0.0".into(),
            host_port: 8080,
        },
        PortMapping {
            container_port: 81,
            proto: "udp".into(),
            host_ip: "127.0.0.1".into(),
            host_port: 32769,
        },
    ];
    let s = network_settings(&c, &ids(), 47);
    assert_eq!(s["IPAddress"], "172.17.0.2");
    assert_eq!(s["Gateway"], "172.17.0.1");
    assert_eq!(s["MacAddress"], "02:42:ac:11:00:02");
    assert_eq!(s["IPPrefixLen"], 16);
    assert_eq!(s["EndpointID"], "f3f4");
    assert_eq!(s["SandboxKey"], "/run/wharf/netns/4789bd30e46f");
    assert_eq!(
        s["Ports"],
        json!({"53/udp": null, "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
               "81/udp": [{"HostIp": "127.0.0.1", "HostPort": "32769"}]})
    );
    let b = &s["Networks"]["bridge"];
    assert_eq!(b["NetworkID"], BR);
    assert_eq!(b["Aliases"], Value::Null);
    assert_eq!(b["DNSNames"], Value::Null, "no names on the default bridge");
    assert_eq!(
        port_entries(&c),
        vec![
            json!({"PrivatePort": 53, "Type": "udp"}),
            json!({"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}),
            json!({"IP": "127.0.0.1", "PrivatePort": 81, "PublicPort": 32769, "Type": "udp"}),
        ]
    );
}

#[test]
fn user_network_aliases_follow_the_api_version() {
    let mut c = container("un");
    running_on(&mut c, "un", UN, "10.77.0.3", &["alpha"]);
    let s44 = network_settings(&c, &ids(), 44);
    assert_eq!(
        s44["Networks"]["un"]["Aliases"],
        json!(["alpha", "4789bd30e46f"])
    );
    assert_eq!(
        s44["Networks"]["un"]["DNSNames"],
        json!(["web", "alpha", "4789bd30e46f"])
    );
    let s41 = network_settings(&c, &ids(), 41);
    assert_eq!(
        s41["IPAddress"], "",
        "only the default bridge fills the top level"
    );
    assert_eq!(
        s41["Networks"]["un"]["Aliases"],
        json!(["alpha", "4789bd30e46f"])
    );
    assert_eq!(s41["Networks"]["un"]["DNSNames"], Value::Null);
    let s47 = network_settings(&c, &ids(), 47);
    assert_eq!(s47["Networks"]["un"]["Aliases"], json!(["alpha"]));
    assert_eq!(
        s47["Networks"]["un"]["DNSNames"],
        json!(["web", "alpha", "4789bd30e46f"])
    );
    let listed = networks_json(&c, &ids(), Shown::List);
    assert_eq!(listed["un"]["Aliases"], Value::Null);
    assert_eq!(listed["un"]["IPAddress"], "10.77.0.3");
}

#[test]
fn stopped_container_keeps_the_network_id_but_no_addresses_or_ports() {
    let mut c = container("un");
    c.options
        .networks
        .insert("un".into(), EndpointOptions::default());
    running_on(&mut c, "un", UN, "10.77.0.3", &[]);
    c.state.status = Status::Exited;
    c.network = Default::default();
    let s = network_settings(&c, &ids(), 41);
    assert_eq!(s["Ports"], json!({}));
    let un = &s["Networks"]["un"];
    assert_eq!(un["NetworkID"], UN);
    assert_eq!(un["EndpointID"], "");
    assert_eq!(un["IPAddress"], "");
    assert_eq!(un["Aliases"], json!(["4789bd30e46f"]));
    assert!(port_entries(&c).is_empty());
}

#[test]
fn disconnected_from_its_mode_network_it_shows_the_others() {
    let mut c = container("un");
    c.options
        .networks
        .insert("other".into(), EndpointOptions::default());
    assert_eq!(network_names(&c, &ids()), vec!["other"]);
    running_on(&mut c, "other", "0e", "10.78.0.2", &[]);
    c.network.endpoints.clear();
    assert!(
        network_names(&c, &ids()).is_empty(),
        "running, attached nowhere"
    );
    assert_eq!(network_names(&container("none"), &ids()), vec!["none"]);
}

#[test]
fn networks_given_by_id_show_by_name() {
    let mut c = container("default");
    c.options
        .networks
        .insert("bridge".into(), EndpointOptions::default());
    c.options.networks.insert(
        UN[..12].into(),
        EndpointOptions {
            ipv4_address: Some("10.77.0.9".into()),
            ..Default::default()
        },
    );
    let n = networks_json(&c, &ids(), Shown::Inspect(47));
    assert_eq!(keys(&n), vec!["bridge", "un"]);
    assert_eq!(n["un"]["IPAMConfig"], json!({"IPv4Address": "10.77.0.9"}));
}
