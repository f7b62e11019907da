//! A network in Docker's shape (`GET /networks`, `GET /networks/{id}`),
//! fields in dockerd's order: serialized from structs, whose field order
//! serde keeps, so `docker network inspect` prints what dockerd prints.

use std::collections::BTreeMap;

use serde::Serialize;
use wharf_engine::model::Network;
use wharf_engine::networks::NetworkMember;

/// The networks every daemon has; they cannot be created or removed.
pub const PREDEFINED: [&str; 3] = ["bridge", "host", "none"];

/// Whether `name` is one of Docker's predefined network names (`default`
/// is how a container's mode names `bridge`).
pub fn is_predefined(name: &str) -> bool {
    PREDEFINED.contains(&name) || name == "default"
}

/// Docker's `NetworkResource`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkJson {
    name: String,
    #[serde(rename = "Id")]
    id: String,
    created: String,
    scope: &'static str,
    driver: String,
    #[serde(rename = "EnableIPv6")]
    enable_ipv6: bool,
    #[serde(rename = "IPAM")]
    ipam: Ipam,
    internal: bool,
    attachable: bool,
    ingress: bool,
    config_from: ConfigFrom,
    config_only: bool,
    containers: BTreeMap<String, MemberJson>,
    options: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Ipam {
    driver: &'static str,
    /// null on the predefined networks, the options given otherwise.
    options: Option<BTreeMap<String, String>>,
    config: Vec<IpamConfig>,
}

/// One pool; Docker leaves out what was not set.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct IpamConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    subnet: String,
    #[serde(rename = "IPRange", skip_serializing_if = "String::is_empty")]
    ip_range: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    gateway: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ConfigFrom {
    network: &'static str,
}

/// A running container on the network (inspect's `Containers`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MemberJson {
    name: String,
    #[serde(rename = "EndpointID")]
    endpoint_id: String,
    mac_address: String,
    #[serde(rename = "IPv4Address")]
    ipv4_address: String,
    #[serde(rename = "IPv6Address")]
    ipv6_address: String,
}

impl MemberJson {
    /// The entry of one member.
    pub fn of(m: &NetworkMember) -> MemberJson {
        let e = &m.endpoint;
        MemberJson {
            name: m.name.clone(),
            endpoint_id: e.endpoint_id.clone(),
            mac_address: e.mac_address.clone(),
            ipv4_address: if e.ip_address.is_empty() {
                String::new()
            } else {
                format!("{}/{}", e.ip_address, e.prefix_len)
            },
            ipv6_address: String::new(),
        }
    }
}

impl NetworkJson {
    /// `n` with `members` as its `Containers` (the list leaves them out,
    /// as dockerd does since API 1.28).
    pub fn of(n: &Network, members: &[NetworkMember]) -> NetworkJson {
        let predefined = PREDEFINED.contains(&n.name.as_str());
        NetworkJson {
            name: n.name.clone(),
            id: n.id.clone(),
            created: n.created.clone(),
            scope: "local",
            driver: n.driver.clone(),
            enable_ipv6: n.enable_ipv6,
            ipam: Ipam {
                driver: "default",
                options: (!predefined || !n.ipam_options.is_empty())
                    .then(|| n.ipam_options.clone()),
                config: n
                    .ipam
                    .iter()
                    .map(|p| IpamConfig {
                        subnet: p.subnet.clone(),
                        ip_range: p.ip_range.clone(),
                        gateway: p.gateway.clone(),
                    })
                    .collect(),
            },
            internal: n.internal,
            attachable: n.attachable,
            ingress: false,
            config_from: ConfigFrom { network: "" },
            config_only: false,
            containers: members
                .iter()
                .map(|m| (m.container_id.clone(), MemberJson::of(m)))
                .collect(),
            options: n.options.clone(),
            labels: n.labels.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_engine::model::{Endpoint, IpamPool};

    fn user_net() -> Network {
        Network {
            id: "3a71".into(),
            name: "un".into(),
            driver: "bridge".into(),
            created: "2026-11-27T00:24:29.262015416Z".into(),
            ipam: vec![IpamPool {
                subnet: "10.77.0.0/24".into(),
                gateway: "10.77.0.1".into(),
                ip_range: String::new(),
            }],
            bridge: "br-3a71".into(),
            ..Default::default()
        }
    }

    #[test]
    fn user_network_prints_in_dockerds_order() {
        let text = serde_json::to_string(&NetworkJson::of(&user_net(), &[])).unwrap();
        assert_eq!(
            text,
            concat!(
                r#"{"Name":"un","Id":"3a71","Created":"2026-11-27T00:24:29.262015416Z","#,
                r#""Scope":"local","Driver":"bridge","EnableIPv6":false,"#,
                r#""IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.77.0.0/24","Gateway":"10.77.0.1"}]},"#,
                r#""Internal":false,"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"#,
                r#""ConfigOnly":false,"Containers":{},"Options":{},"Labels":{}}"#
            )
        );
    }

    #[test]
    fn predefined_network_has_null_ipam_options_and_members_show_cidr() {
        let mut n = user_net();
        n.name = "bridge".into();
        n.ipam[0].ip_range = "10.77.0.0/28".into();
        let member = NetworkMember {
            container_id: "c0ffee".into(),
            name: "web".into(),
            endpoint: Endpoint {
                endpoint_id: "e1".into(),
                ip_address: "10.77.0.2".into(),
                prefix_len: 24,
                mac_address: "02:42:0a:4d:00:02".into(),
                ..Default::default()
            },
        };
        let v = serde_json::to_value(NetworkJson::of(&n, &[member])).unwrap();
        assert_eq!(v["IPAM"]["Options"], serde_json::Value::Null);
        assert_eq!(v["IPAM"]["Config"][0]["IPRange"], "10.77.0.0/28");
        assert_eq!(
            v["Containers"]["c0ffee"],
            serde_json::json!({"Name":"web","EndpointID":"e1","MacAddress":"02:42:0a:4d:00:02",
                "IPv4Address":"10.77.0.2/24","IPv6Address":""})
        );
        assert!(is_predefined("default") && !is_predefined("un"));
    }
}
