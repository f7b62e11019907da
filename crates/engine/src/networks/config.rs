//! The networks a container is created with, resolved and checked as
//! Docker checks them, so that a start fails on nothing a create could
//! have said: every network exists, `--ip` and `--network-alias` are used
//! only where Docker allows them, and an address lies in its subnet.

use std::collections::BTreeMap;

use super::sandbox::{has_dns, mode_network};
use crate::error::{EngineError, Result};
use crate::model::{CreateOptions, EndpointOptions};
use crate::Engine;

impl Engine {
    /// `opts` with its networks keyed by name, its mode's network among
    /// them; 400 on what Docker refuses.
    pub(crate) fn resolve_networks(&self, mut opts: CreateOptions) -> Result<CreateOptions> {
        self.resolve_links(&mut opts)?;
        let mode = opts.host.network_mode.clone();
        let Some(primary) = mode_network(&mode, self.default_bridge()) else {
            // host, none, container:<x>: the mode's own entry is all a
            // client may send (the docker CLI sends `{"host": {}}`).
            let own = mode.as_str();
            for (key, o) in &opts.networks {
                if key != own && !(own.starts_with("container:") && key.is_empty()) {
                    return Err(EngineError::invalid(format!(
                        "conflicting options: network mode {own} and network {key}"
                    )));
                }
                check_endpoint(o, false)?;
            }
            opts.networks.clear();
            // Docker records the peer of `container:<name>` by its id.
            if let Some(peer) = own.strip_prefix("container:") {
                if let Ok(p) = self.container(peer) {
                    opts.host.network_mode = format!("container:{}", p.id);
                }
            }
            return Ok(opts);
        };
        let mut out: BTreeMap<String, EndpointOptions> = BTreeMap::new();
        // Docker's `default` network is `bridge` on Linux.
        let mut given: BTreeMap<String, EndpointOptions> = std::mem::take(&mut opts.networks)
            .into_iter()
            .map(|(k, o)| {
                if k == "default" {
                    ("bridge".to_string(), o)
                } else {
                    (k, o)
                }
            })
            .collect();
        if !given.contains_key(primary) {
            // The mode may name the network by id or prefix.
            let n = self.network(primary).map_err(not_found_400)?;
            let key = given
                .keys()
                .find(|k| self.network(k).is_ok_and(|x| x.id == n.id))
                .cloned();
            let o = key.and_then(|k| given.remove(&k)).unwrap_or_default();
            given.insert(primary.to_string(), o);
        }
        for (key, o) in given {
            let n = self.network(&key).map_err(not_found_400)?;
            if n.driver != "bridge" {
                return Err(EngineError::invalid(format!(
                    "container cannot be connected to network {} besides its network mode",
                    n.name
                )));
            }
            check_endpoint(&o, has_dns(&n))?;
            if let Some(a) = o.ipv4_address.as_deref().filter(|a| !a.is_empty()) {
                let pool = super::pool_of(&n)?;
                super::sandbox::check_address(&pool, a)?;
            }
            if let Some(m) = o.mac_address.as_deref().filter(|m| !m.is_empty()) {
                super::sandbox::parse_mac(m)?;
            }
            out.insert(n.name.clone(), o);
        }
        // The mode names the network as the user gave it; keep it by name.
        let n = self.network(primary).map_err(not_found_400)?;
        if primary != n.name && !matches!(mode.as_str(), "" | "default" | "bridge") {
            opts.host.network_mode = n.name.clone();
        }
        opts.networks = out;
        Ok(opts)
    }
}

/// Docker answers an unknown network at start with 404; at create a 404
/// would make the docker CLI pull the image, so it is a 400 here.
fn not_found_400(e: EngineError) -> EngineError {
    if e.kind == crate::error::Kind::NotFound {
        EngineError::invalid(e.message)
    } else {
        e
    }
}

/// Aliases and a fixed address only on user-defined networks.
pub(crate) fn check_endpoint(o: &EndpointOptions, user_defined: bool) -> Result<()> {
    if user_defined {
        return Ok(());
    }
    if !o.aliases.is_empty() {
        return Err(EngineError::invalid(
            "network-scoped alias is supported only for containers in user defined networks",
        ));
    }
    if o.ipv4_address.as_deref().is_some_and(|a| !a.is_empty()) {
        return Err(EngineError::invalid(
            "user specified IP address is supported on user defined networks only",
        ));
    }
    Ok(())
}
