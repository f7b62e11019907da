//! What a container create says about its networks: `NetworkingConfig.
//! EndpointsConfig` and the deprecated container-wide `MacAddress`,
//! mapped onto [`CreateOptions::networks`] with the checks dockerd makes
//! at create (addresses that parse; one network only before API 1.44).
//! Whether an address fits its network (`--ip` only on user networks)
//! is the engine's to say, at start.
//!
//! [`CreateOptions::networks`]: wharf_engine::model::CreateOptions::networks

use std::collections::BTreeMap;

use serde::Deserialize;
use wharf_engine::model::EndpointOptions;

use super::body::EndpointBody;
use super::endpoint::mode_network;
use crate::containers::create::nullable;
use crate::http::ApiError;

/// Docker's `NetworkingConfig`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkingBody {
    #[serde(deserialize_with = "nullable")]
    endpoints_config: BTreeMap<String, Option<EndpointBody>>,
}

impl NetworkingBody {
    /// The networks to join with their options. `mode` is the network
    /// mode as recorded (`default` when none was given), `mac` the
    /// container-wide `Config.MacAddress`, `minor` the API version.
    pub fn into_networks(
        self,
        mode: &str,
        mac: &str,
        minor: u32,
    ) -> Result<BTreeMap<String, EndpointOptions>, ApiError> {
        if minor < 44 && self.endpoints_config.len() > 1 {
            let names: Vec<&str> = self.endpoints_config.keys().map(String::as_str).collect();
            return Err(ApiError::bad_request(format!(
                "Container cannot be connected to network endpoints: {}",
                names.join(", ")
            )));
        }
        let mut out = BTreeMap::new();
        for (name, ep) in self.endpoints_config {
            let Some(ep) = ep else {
                return Err(ApiError::bad_request(format!(
                    "no EndpointSettings for {name}"
                )));
            };
            out.insert(name, ep.into_options()?);
        }
        if !mac.is_empty() {
            let main = mode_network(mode);
            let key = if out.contains_key(mode) { mode } else { main };
            let ep = out.entry(key.to_string()).or_default();
            match &ep.mac_address {
                Some(m) if m != mac => {
                    return Err(ApiError::bad_request(
                        "the container-wide MAC address must match the endpoint-specific \
                         MAC address for the main network, or be left empty",
                    ))
                }
                _ => {
                    let parsed = EndpointBody::with_mac(mac).into_options()?;
                    ep.mac_address = parsed.mac_address;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(json: &str, mode: &str, mac: &str, minor: u32) -> Result<Vec<String>, ApiError> {
        let body: NetworkingBody = serde_json::from_str(json).unwrap();
        let out = body.into_networks(mode, mac, minor)?;
        Ok(out
            .iter()
            .map(|(k, o)| {
                format!(
                    "{k} {:?} {} {}",
                    o.aliases,
                    o.ipv4_address.as_deref().unwrap_or("-"),
                    o.mac_address.as_deref().unwrap_or("-")
                )
            })
            .collect())
    }

    #[test]
    fn endpoints_config_maps_aliases_ip_and_mac() {
        let got = nets(
            r#"{"EndpointsConfig":{"un":{"Aliases":["web"],"IPAMConfig":{"IPv4Address":"10.77.0.9"},
              "MacAddress":"02:42:0a:4d:00:09"}}}"#,
            "un",
            "",
            47,
        )
        .unwrap();
        assert_eq!(got, vec![r#"un ["web"] 10.77.0.9 02:42:0a:4d:00:09"#]);
        assert!(nets(r#"{"EndpointsConfig":null}"#, "default", "", 47)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn two_networks_need_api_1_44() {
        let body = r#"{"EndpointsConfig":{"un":{},"bridge":{}}}"#;
        let e = nets(body, "un", "", 41).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.message.as_str()),
            (
                400,
                "Container cannot be connected to network endpoints: bridge, un"
            )
        );
        assert_eq!(nets(body, "un", "", 44).unwrap().len(), 2);
        let null = nets(r#"{"EndpointsConfig":{"un":null}}"#, "un", "", 47).unwrap_err();
        assert_eq!(null.message, "no EndpointSettings for un");
    }

    #[test]
    fn container_wide_mac_goes_to_the_main_network() {
        assert_eq!(
            nets("{}", "default", "02:42:ac:11:00:09", 41).unwrap(),
            vec!["bridge [] - 02:42:ac:11:00:09"]
        );
        let differs = r#"{"EndpointsConfig":{"un":{"MacAddress":"02:42:0a:00:00:01"}}}"#;
        assert!(nets(differs, "un", "02:42:0a:00:00:02", 47).is_err());
        assert!(nets("{}", "default", "zz", 47).is_err());
    }
}
