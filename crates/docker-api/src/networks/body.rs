//! The request bodies of the network API (`POST /networks/create`,
//! `…/connect`, `…/disconnect`) and Docker's `EndpointSettings` as a
//! client sends it (also in a container create's `NetworkingConfig`),
//! with the checks dockerd makes before its network controller.

use std::collections::BTreeMap;

use http::StatusCode;
use serde::Deserialize;
use wharf_engine::model::{EndpointOptions, IpamPool, NetworkCreate};

use super::shape::is_predefined;
use crate::containers::create::nullable;
use crate::http::ApiError;

/// `POST /networks/create`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateBody {
    #[serde(deserialize_with = "nullable")]
    name: String,
    /// Always on since API 1.44; before, a duplicate only got a warning
    /// from dockerd, which Wharf does not allow.
    #[serde(deserialize_with = "nullable")]
    check_duplicate: bool,
    #[serde(deserialize_with = "nullable")]
    driver: String,
    #[serde(deserialize_with = "nullable")]
    scope: String,
    #[serde(deserialize_with = "nullable")]
    internal: bool,
    #[serde(deserialize_with = "nullable")]
    attachable: bool,
    #[serde(deserialize_with = "nullable")]
    ingress: bool,
    #[serde(rename = "EnableIPv6", deserialize_with = "nullable")]
    enable_ipv6: bool,
    #[serde(rename = "IPAM", deserialize_with = "nullable")]
    ipam: Ipam,
    #[serde(deserialize_with = "nullable")]
    options: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    labels: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Ipam {
    #[serde(deserialize_with = "nullable")]
    driver: String,
    #[serde(deserialize_with = "nullable")]
    config: Vec<Pool>,
    #[serde(deserialize_with = "nullable")]
    options: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Pool {
    #[serde(deserialize_with = "nullable")]
    subnet: String,
    #[serde(rename = "IPRange", deserialize_with = "nullable")]
    ip_range: String,
    #[serde(deserialize_with = "nullable")]
    gateway: String,
    #[serde(deserialize_with = "nullable")]
    auxiliary_addresses: BTreeMap<String, String>,
}

/// Docker's network drivers that Wharf does not have.
const OTHER_DRIVERS: [&str; 4] = ["overlay", "macvlan", "ipvlan", "transparent"];

impl CreateBody {
    /// The engine's request, after dockerd's own checks: a name, not a
    /// predefined one (403), a driver that exists (`host` and `null` only
    /// once: 403; unknown: 404 `plugin "x" not found`).
    pub fn into_create(self) -> Result<NetworkCreate, ApiError> {
        if self.name.is_empty() {
            return Err(ApiError::bad_request("invalid name: "));
        }
        if is_predefined(&self.name) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "operation is not permitted on predefined {} network ",
                    self.name
                ),
            ));
        }
        let driver = match self.driver.as_str() {
            "" | "bridge" => "bridge",
            d @ ("host" | "null") => {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!("only one instance of \"{d}\" network is allowed"),
                ))
            }
            d if OTHER_DRIVERS.contains(&d) => {
                return Err(ApiError::bad_request(format!(
                    "network driver {d} is not supported: only bridge networks can be created"
                )))
            }
            d => return Err(ApiError::not_found(format!("plugin \"{d}\" not found"))),
        };
        if !matches!(self.ipam.driver.as_str(), "" | "default") {
            let d = &self.ipam.driver;
            return Err(ApiError::not_found(format!("plugin \"{d}\" not found")));
        }
        if self.ingress {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "ingress networks need swarm mode, which this daemon does not have",
            ));
        }
        if !matches!(self.scope.as_str(), "" | "local") {
            return Err(ApiError::bad_request(format!(
                "network scope {} is not supported: only local networks can be created",
                self.scope
            )));
        }
        if let Some(p) = self
            .ipam
            .config
            .iter()
            .find(|p| !p.auxiliary_addresses.is_empty())
        {
            return Err(ApiError::bad_request(format!(
                "auxiliary addresses are not supported yet (pool {})",
                p.subnet
            )));
        }
        let _ = self.check_duplicate;
        Ok(NetworkCreate {
            name: self.name,
            driver: driver.to_string(),
            internal: self.internal,
            attachable: self.attachable,
            enable_ipv6: self.enable_ipv6,
            ipam: self
                .ipam
                .config
                .into_iter()
                .map(|p| IpamPool {
                    subnet: p.subnet,
                    gateway: p.gateway,
                    ip_range: p.ip_range,
                })
                .collect(),
            ipam_options: self.ipam.options,
            options: self.options,
            labels: self.labels,
        })
    }
}

/// Docker's `EndpointSettings` as sent by a client (the fields Wharf
/// uses; the others are accepted and ignored, as dockerd ignores the
/// operational ones).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointBody {
    #[serde(rename = "IPAMConfig")]
    ipam_config: Option<IpamConfig>,
    #[serde(deserialize_with = "nullable")]
    aliases: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    mac_address: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct IpamConfig {
    #[serde(rename = "IPv4Address", deserialize_with = "nullable")]
    ipv4_address: String,
    #[serde(rename = "IPv6Address", deserialize_with = "nullable")]
    ipv6_address: String,
}

impl EndpointBody {
    /// Settings with only a MAC address (the deprecated container-wide one).
    pub fn with_mac(mac: &str) -> EndpointBody {
        EndpointBody {
            mac_address: mac.to_string(),
            ..Default::default()
        }
    }

    /// The engine's options; 400 with dockerd's words for an address or
    /// MAC that does not parse.
    pub fn into_options(self) -> Result<EndpointOptions, ApiError> {
        let ipam = self.ipam_config.unwrap_or_default();
        let ipv4 = ipam.ipv4_address;
        if !ipv4.is_empty() && ipv4.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(ApiError::bad_request(format!(
                "invalid IPv4 address: {ipv4}"
            )));
        }
        if !ipam.ipv6_address.is_empty() {
            return Err(ApiError::bad_request(format!(
                "invalid IPv6 address: {}: IPv6 is not supported yet",
                ipam.ipv6_address
            )));
        }
        let mac = self.mac_address;
        if !mac.is_empty() && !is_mac(&mac) {
            return Err(ApiError::bad_request(format!("invalid MAC address: {mac}")));
        }
        Ok(EndpointOptions {
            aliases: self.aliases,
            ipv4_address: (!ipv4.is_empty()).then_some(ipv4),
            mac_address: (!mac.is_empty()).then_some(mac),
        })
    }
}

/// Six hex octets separated by `:` or `-` (what `ip link` can set).
fn is_mac(s: &str) -> bool {
    let sep = if s.contains('-') { '-' } else { ':' };
    let parts: Vec<&str> = s.split(sep).collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `POST /networks/{id}/connect`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ConnectBody {
    /// Container name or id.
    #[serde(deserialize_with = "nullable")]
    pub container: String,
    /// Its settings on the network.
    #[serde(deserialize_with = "nullable")]
    pub endpoint_config: EndpointBody,
}

/// `POST /networks/{id}/disconnect`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DisconnectBody {
    /// Container name or id.
    #[serde(deserialize_with = "nullable")]
    pub container: String,
    /// Disconnect even when the container's endpoint is in a bad state.
    #[serde(deserialize_with = "nullable")]
    pub force: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(json: &str) -> Result<NetworkCreate, ApiError> {
        serde_json::from_str::<CreateBody>(json)
            .expect("body parses")
            .into_create()
    }

    #[test]
    fn create_body_maps_ipam_options_and_labels() {
        let c = create(
            r#"{"Name":"un","CheckDuplicate":true,"Driver":"bridge","Internal":true,
            "IPAM":{"Driver":"default","Config":[{"Subnet":"10.77.0.0/24","IPRange":"10.77.0.0/28",
            "Gateway":"10.77.0.1"}],"Options":{"o":"1"}},"Options":{"com.docker.network.bridge.name":"brx"},
            "Labels":{"a":"b"},"EnableIPv6":false}"#,
        )
        .unwrap();
        assert_eq!(c.name, "un");
        assert_eq!(c.driver, "bridge");
        assert!(c.internal);
        assert_eq!(c.ipam[0].subnet, "10.77.0.0/24");
        assert_eq!(c.ipam[0].ip_range, "10.77.0.0/28");
        assert_eq!(c.ipam[0].gateway, "10.77.0.1");
        assert_eq!(c.ipam_options["o"], "1");
        assert_eq!(c.options["com.docker.network.bridge.name"], "brx");
        assert_eq!(c.labels["a"], "b");
        let bare = create(r#"{"Name":"x","IPAM":null,"Labels":null,"Driver":null}"#).unwrap();
        assert_eq!(bare.driver, "bridge");
        assert!(bare.ipam.is_empty());
    }

    #[test]
    fn create_refusals_use_dockerds_words_and_codes() {
        let cases = [
            (r#"{"Name":""}"#, 400, "invalid name: "),
            (
                r#"{"Name":"bridge"}"#,
                403,
                "operation is not permitted on predefined bridge network ",
            ),
            (
                r#"{"Name":"x","Driver":"host"}"#,
                403,
                "only one instance of \"host\" network is allowed",
            ),
            (
                r#"{"Name":"x","Driver":"foo"}"#,
                404,
                "plugin \"foo\" not found",
            ),
            (
                r#"{"Name":"x","IPAM":{"Driver":"foo"}}"#,
                404,
                "plugin \"foo\" not found",
            ),
        ];
        for (body, status, message) in cases {
            let e = create(body).unwrap_err();
            assert_eq!((e.status.as_u16(), e.message.as_str()), (status, message));
        }
        assert_eq!(
            create(r#"{"Name":"x","Driver":"macvlan"}"#)
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn endpoint_settings_map_and_bad_addresses_are_400() {
        let ep = |json: &str| {
            serde_json::from_str::<EndpointBody>(json)
                .unwrap()
                .into_options()
        };
        let o = ep(
            r#"{"Aliases":["web"],"IPAMConfig":{"IPv4Address":"10.0.0.5"},
            "MacAddress":"02:42:0a:00:00:05","Links":null,"DriverOpts":null}"#,
        )
        .unwrap();
        assert_eq!(o.aliases, vec!["web"]);
        assert_eq!(o.ipv4_address.as_deref(), Some("10.0.0.5"));
        assert_eq!(o.mac_address.as_deref(), Some("02:42:0a:00:00:05"));
        assert_eq!(
            ep(r#"{"IPAMConfig":{}}"#).unwrap(),
            EndpointOptions::default()
        );
        let bad = ep(r#"{"IPAMConfig":{"IPv4Address":"zz"}}"#).unwrap_err();
        assert_eq!(
            (bad.status.as_u16(), bad.message.as_str()),
            (400, "invalid IPv4 address: zz")
        );
        assert_eq!(ep(r#"{"MacAddress":"02:42"}"#).unwrap_err().status, 400);
    }
}
